//! The cluster's controllers for meshsim's timed events
//! (`Simulation.spec.events`, `scenario/spec/events.rs`) and Chaos Mesh
//! `partition`: the Deployment controller rolling a new ReplicaSet, the
//! ReplicaSet controller creating and deleting pods, `kubectl drain`, a
//! lost node or zone, and network partitions.
//!
//! Why one room: all of these create pods in slots that were empty, delete
//! pods without an in-place replacement, or make pods unreachable — the
//! things `pod_lifecycle.rs` (restarts in place) does not do. Rare events;
//! nothing here runs without a timed event or a partition.
//!
//! # The Deployment controller (kubernetes `pkg/controller/deployment/rolling.go`)
//! On a rollout, and whenever a pod of the Deployment changes readiness
//! (the controller's informers), `sync` runs `rolloutRolling`:
//! `reconcileNewReplicaSet` scales the new ReplicaSet up to at most
//! `replicas + maxSurge` pods in all ReplicaSets (`NewRSNewReplicas`), then
//! `reconcileOldReplicaSets` scales old ones down by at most
//! `allPods − (replicas − maxUnavailable) − newRSUnavailable`: first their
//! unavailable pods (`cleanupUnhealthyReplicas`), then available ones while
//! more than `replicas − maxUnavailable` are available
//! (`scaleDownOldReplicaSetsForRollingUpdate`). maxSurge rounds up,
//! maxUnavailable down, and both 0 means maxUnavailable 1
//! (`ResolveFenceposts`). `minReadySeconds` is 0: available = Ready.
//! The controller reacts at once (no informer or queue latency). `Recreate`
//! scales every old ReplicaSet to 0, then the new one up.
//!
//! # The ReplicaSet controller (`pkg/controller/replicaset`)
//! Below its count it creates pods (the scheduler picks a node as
//! `cluster/topology.rs` does, among nodes not cordoned and not lost);
//! above it deletes not-Ready pods first, then the newest
//! (`getPodsToDelete`'s ranking, abridged). A deleted pod dies at once, as
//! with PodChaos pod-kill: an app that exits on SIGTERM without a preStop
//! hook, so its endpoint stays listed for the propagation delay and
//! connections to it are refused meanwhile.
//!
//! # Nodes
//! `drain`: cordon, then evict every pod on the node (the ReplicaSets
//! create replacements on other nodes). `loseNode` / `loseZone`: the nodes
//! stop answering — requests at their pods end at once as resets (a stated
//! shortcut: a real client waits for its own timeout), new connections to
//! them fail after the connect timeout; `nodeMonitorGracePeriod` later the
//! pods are marked unready, `unreachableToleration` after that evicted.
//!
//! # Partitions
//! A request between the two sides of an active partition (or to a pod of
//! a lost node) fails after the connect timeout: Envoy's `connect_timeout`
//! for a client proxy (Istio's 10 s unless a DestinationRule sets it), the
//! kernel's SYN retries otherwise (`tcp_syn_retries` 6: 127 s). A request
//! on a kept-alive connection is treated the same (a shortcut: really it
//! would wait for the caller's timeout). Responses already on their way
//! arrive.

use super::World;
use super::pod_lifecycle::Step;
use crate::cluster::node::{NO_NODE, NodeIx};
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::Scenario;
use crate::scenario::spec::chaos::Mode;
use crate::scenario::spec::events::{EventKind, Strategy};
use crate::workload::load::NONE;

/// Linux's connect timeout with `tcp_syn_retries` 6: 1+2+4+…+64 s.
const SYN_RETRIES_TIMEOUT: SimDuration = SimDuration::from_secs(127);

/// A timed step (carried by `Step::Timed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimedStep {
    /// Event `i` of the plan happens.
    Event(u32),
    /// The Deployment controller syncs rollable `r`.
    Sync(u32),
    /// The node lifecycle controller marks node `n` NotReady.
    NotReady(NodeIx),
    /// Pods of lost node `n` are evicted.
    Evict(NodeIx),
}

/// One active partition.
#[derive(Clone, Debug)]
struct Cut {
    action: u32,
    /// Sorted pod slots of each side; `None` = everything.
    a: Vec<u32>,
    b: Option<Vec<u32>>,
}

pub(super) struct TimedRt {
    /// Per rollable: desired replicas and how many of its ReplicaSets exist.
    desired: Vec<u32>,
    revisions: Vec<usize>,
    /// Per deployment (ReplicaSet): its `spec.replicas`, and the count
    /// last reported in the pod timeline.
    want: Vec<u32>,
    shown: Vec<u32>,
    /// Per deployment: its rollable (NONE = none).
    rollable_of: Vec<u32>,
    sync_pending: Vec<bool>,
    cordoned: Vec<bool>,
    lost: Vec<bool>,
    /// Per pod slot: when its pod was created (newest are deleted first).
    created: Vec<SimTime>,
    cuts: Vec<Cut>,
}

impl TimedRt {
    pub(super) fn new(spec: &Scenario, n_pods: usize) -> Self {
        let plan = &spec.chaos.timed;
        let mut rollable_of = vec![NONE; spec.deployments.len()];
        for (i, r) in plan.rollables.iter().enumerate() {
            for &d in &r.replica_sets {
                rollable_of[d] = i as u32;
            }
        }
        let nodes = spec.network.cluster.nodes.len();
        TimedRt {
            desired: plan.rollables.iter().map(|r| r.replicas).collect(),
            revisions: vec![1; plan.rollables.len()],
            want: if plan.initial.is_empty() {
                spec.deployments.iter().map(|d| d.replicas).collect()
            } else {
                plan.initial.clone()
            },
            shown: if plan.initial.is_empty() {
                spec.deployments.iter().map(|d| d.replicas).collect()
            } else {
                plan.initial.clone()
            },
            rollable_of,
            sync_pending: vec![false; plan.rollables.len()],
            cordoned: vec![false; nodes],
            lost: vec![false; nodes],
            created: vec![SimTime::ZERO; n_pods],
            cuts: Vec::new(),
        }
    }
}

impl World<'_> {
    fn timed(&mut self) -> &mut TimedRt {
        &mut self.life.as_mut().expect("lifecycle").timed
    }

    /// Schedules every timed event (from `init_lifecycle`).
    pub(super) fn init_timed(&mut self) {
        for (i, e) in self.spec.chaos.timed.events.iter().enumerate() {
            let at = SimTime(e.at.as_nanos());
            if at < self.end {
                self.schedule_step(at, Step::Timed(TimedStep::Event(i as u32)));
            }
        }
    }

    pub(super) fn on_timed(&mut self, t: TimedStep) {
        match t {
            TimedStep::Event(i) => self.timed_event(i as usize),
            TimedStep::Sync(r) => {
                self.timed().sync_pending[r as usize] = false;
                self.deployment_sync(r as usize);
            }
            TimedStep::NotReady(n) => {
                for p in self.pods_on(n) {
                    self.set_ready(p, false, "node NotReady (node lifecycle controller)");
                }
            }
            TimedStep::Evict(n) => {
                let pods = self.pods_on(n);
                for &p in &pods {
                    self.delete_pod(p, "evicted: node unreachable");
                }
                self.replace_deleted(&pods);
            }
        }
    }

    /// Live, non-exempt pods on node `n`, in slot order.
    fn pods_on(&self, n: NodeIx) -> Vec<u32> {
        let l = self.life.as_ref().expect("lifecycle");
        (0..self.pods.len() as u32)
            .filter(|&p| self.node_of[p as usize] == n)
            .filter(|&p| !l.pods[p as usize].absent && !l.pods[p as usize].exempt)
            .collect()
    }

    fn timed_event(&mut self, i: usize) {
        let e = &self.spec.chaos.timed.events[i];
        match &e.kind {
            EventKind::Scale { rollable, replicas } => {
                self.timed().desired[*rollable] = *replicas;
                self.deployment_sync(*rollable);
            }
            EventKind::Rollout { rollable, .. } => {
                self.timed().revisions[*rollable] += 1;
                self.deployment_sync(*rollable);
            }
            EventKind::Serve {
                replica_sets,
                serving,
            } => {
                for &d in replica_sets {
                    let spec = &self.spec.deployments[d];
                    if let Some(x) = serving.service_time_scale {
                        let b = &spec.behaviour;
                        let script = crate::scenario::events::scale_script(&b.script, x);
                        let mut eps = b.endpoints.clone();
                        for ep in &mut eps {
                            ep.script = crate::scenario::events::scale_script(&ep.script, x);
                        }
                        self.deps[d].program =
                            crate::workload::script::Program::compile_all(&script, &eps);
                    }
                    if let Some(err) = serving.errors {
                        self.deps[d].error = err;
                        // The server checks errors only on deployments
                        // marked `rare` (world.rs): this one now is.
                        self.deps[d].rare |= err.is_some();
                    }
                }
            }
            EventKind::Drain { nodes } => {
                let mut gone = Vec::new();
                for &n in nodes {
                    self.timed().cordoned[n as usize] = true;
                    for p in self.pods_on(n) {
                        self.delete_pod(p, "evicted (kubectl drain)");
                        gone.push(p);
                    }
                }
                self.replace_deleted(&gone);
            }
            EventKind::Lose { nodes } => {
                let now = self.now();
                let lc = &self.spec.chaos.lifecycle;
                let (grace, tol) = (lc.node_monitor_grace, lc.unreachable_toleration);
                for &n in nodes {
                    let t = self.timed();
                    t.cordoned[n as usize] = true;
                    t.lost[n as usize] = true;
                    for p in self.pods_on(n) {
                        self.life.as_mut().expect("lifecycle").pods[p as usize].unreachable = true;
                        self.pod_event(p, "unreachable", "its node is lost".into());
                        self.reset_pod(p, 0, "node lost");
                    }
                    if now + grace < self.end {
                        self.schedule_step(now + grace, Step::Timed(TimedStep::NotReady(n)));
                    }
                    if now + grace + tol < self.end {
                        self.schedule_step(now + grace + tol, Step::Timed(TimedStep::Evict(n)));
                    }
                }
            }
        }
    }

    /// The ReplicaSets of the deleted pods create replacements.
    fn replace_deleted(&mut self, pods: &[u32]) {
        let mut deps: Vec<usize> = pods
            .iter()
            .map(|&p| self.dep_of[p as usize] as usize)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        for d in deps {
            self.replica_set_sync(d);
        }
    }

    /// A pod's Ready condition changed: its Deployment's controller syncs
    /// (at the same instant, after what is happening now).
    pub(super) fn availability_changed(&mut self, p: u32) {
        let d = self.dep_of[p as usize] as usize;
        let now = self.now();
        let t = self.timed();
        let r = t.rollable_of[d];
        if r == NONE || t.sync_pending[r as usize] || t.revisions[r as usize] < 2 {
            return;
        }
        t.sync_pending[r as usize] = true;
        self.schedule_step(now, Step::Timed(TimedStep::Sync(r)));
    }

    fn live(&self, rs: usize) -> u32 {
        let l = self.life.as_ref().expect("lifecycle");
        (0..self.pods.len())
            .filter(|&p| self.dep_of[p] as usize == rs && !l.pods[p].absent)
            .count() as u32
    }

    /// Ready pods of a ReplicaSet (`status.availableReplicas`, minReadySeconds 0).
    fn available(&self, rs: usize) -> u32 {
        let l = self.life.as_ref().expect("lifecycle");
        (0..self.pods.len())
            .filter(|&p| self.dep_of[p] as usize == rs && !l.pods[p].absent && self.pods[p].ready)
            .count() as u32
    }

    /// `rolloutRolling` (rolling.go), repeated until nothing changes: the
    /// real controller's next sync follows its own ReplicaSet updates.
    fn deployment_sync(&mut self, r: usize) {
        let ro = &self.spec.chaos.timed.rollables[r];
        let strategy = ro.strategy;
        for _ in 0..64 {
            let t = self.timed();
            let desired = t.desired[r];
            let sets: Vec<usize> = ro.replica_sets[..t.revisions[r]].to_vec();
            let (new, olds) = sets.split_last().expect("one ReplicaSet at least");
            let new = *new;
            let mut changed = false;
            let want = |w: &World, rs: usize| w.life.as_ref().expect("lifecycle").timed.want[rs];
            let all: u32 = sets.iter().map(|&s| want(self, s)).sum();
            match strategy {
                Strategy::Recreate => {
                    for &o in olds {
                        if want(self, o) > 0 {
                            self.timed().want[o] = 0;
                            changed = true;
                        }
                    }
                    let old_live: u32 = olds.iter().map(|&o| self.live(o)).sum();
                    if !changed && old_live == 0 && want(self, new) != desired {
                        self.timed().want[new] = desired;
                        changed = true;
                    }
                }
                Strategy::Rolling { .. } => {
                    let (surge, unavailable) = strategy.fenceposts(desired);
                    // reconcileNewReplicaSet
                    let w_new = want(self, new);
                    if w_new > desired {
                        self.timed().want[new] = desired;
                        changed = true;
                    } else if w_new < desired && all < desired + surge {
                        let up = (desired + surge - all).min(desired - w_new);
                        self.timed().want[new] = w_new + up;
                        changed = true;
                    }
                    // reconcileOldReplicaSets
                    let old_count: u32 = olds.iter().map(|&o| want(self, o)).sum();
                    if !changed && old_count > 0 {
                        let min_available = desired - unavailable.min(desired);
                        let new_unavailable = want(self, new).saturating_sub(self.available(new));
                        let max_down =
                            i64::from(all) - i64::from(min_available) - i64::from(new_unavailable);
                        if max_down > 0 {
                            let max_down = max_down as u32;
                            // cleanupUnhealthyReplicas (oldest first)
                            let mut cleaned = 0;
                            for &o in olds {
                                if cleaned >= max_down {
                                    break;
                                }
                                let (w, a) = (want(self, o), self.available(o));
                                if w == 0 || w == a {
                                    continue;
                                }
                                let n = (max_down - cleaned).min(w.saturating_sub(a));
                                self.timed().want[o] = w - n;
                                cleaned += n;
                            }
                            // scaleDownOldReplicaSetsForRollingUpdate
                            let avail: u32 = sets.iter().map(|&s| self.available(s)).sum();
                            let mut down = 0;
                            if avail > min_available {
                                let total = avail - min_available;
                                for &o in olds {
                                    if down >= total {
                                        break;
                                    }
                                    let w = want(self, o);
                                    if w == 0 {
                                        continue;
                                    }
                                    let n = w.min(total - down);
                                    self.timed().want[o] = w - n;
                                    down += n;
                                }
                            }
                            changed = cleaned + down > 0;
                        }
                    }
                }
            }
            for &s in &sets {
                self.replica_set_sync(s);
            }
            if !changed {
                return;
            }
        }
    }

    /// The ReplicaSet controller: creates or deletes pods of `rs` until it
    /// runs `want[rs]`.
    fn replica_set_sync(&mut self, rs: usize) {
        let want = self.timed().want[rs];
        let was = self.timed().shown[rs];
        if was != want {
            // The timeline says when replicas changed (on the ReplicaSet's
            // first slot, named after the ReplicaSet).
            self.timed().shown[rs] = want;
            if let Some(first) =
                (0..self.pods.len() as u32).find(|&p| self.dep_of[p as usize] as usize == rs)
            {
                let name = self.spec.deployments[rs].name.clone();
                self.pod_event_of(first, name, "scaled", format!("replicas {was} → {want}"));
            }
        }
        let live = self.live(rs);
        if live > want {
            let mut mine: Vec<u32> = {
                let l = self.life.as_ref().expect("lifecycle");
                (0..self.pods.len() as u32)
                    .filter(|&p| {
                        self.dep_of[p as usize] as usize == rs && !l.pods[p as usize].absent
                    })
                    .collect()
            };
            // Not Ready first, then the newest, then the highest slot.
            let created = self.timed().created.clone();
            mine.sort_by_key(|&p| {
                (
                    self.pods[p as usize].ready,
                    std::cmp::Reverse(created[p as usize]),
                    std::cmp::Reverse(p),
                )
            });
            for &p in mine.iter().take((live - want) as usize) {
                self.delete_pod(p, "deleted (ReplicaSet scaled down)");
            }
        } else {
            for _ in live..want {
                if !self.create_pod(rs) {
                    break;
                }
            }
        }
    }

    /// A pod of `rs` is created in its first empty slot, on the node the
    /// scheduler picks. False when no slot or node is left.
    fn create_pod(&mut self, rs: usize) -> bool {
        let l = self.life.as_ref().expect("lifecycle");
        let Some(p) = (0..self.pods.len() as u32)
            .find(|&p| self.dep_of[p as usize] as usize == rs && l.pods[p as usize].absent)
        else {
            return false;
        };
        let Some(node) = self.schedule(rs) else {
            return false;
        };
        let now = self.now();
        self.node_of[p as usize] = node;
        let d = &self.spec.deployments[rs];
        let l = self.life.as_mut().expect("lifecycle");
        let name = format!("{}-{}", d.name, l.next_name[rs]);
        l.next_name[rs] += 1;
        l.timed.created[p as usize] = now;
        let pl = &mut l.pods[p as usize];
        pl.absent = false;
        pl.unreachable = false;
        pl.epoch += 1;
        pl.name = name;
        let node_name = self.spec.network.cluster.nodes[node as usize].name.clone();
        self.pod_event(p, "created", format!("on {node_name}"));
        self.restart_later(p, super::pod_lifecycle::Part::Pod, SimDuration::ZERO);
        true
    }

    /// The default scheduler's outcome for identical pods (topology.rs):
    /// among schedulable nodes matching the template's `nodeSelector` with
    /// room, the fewest pods of this ReplicaSet in the zone, then on the
    /// node, then in total, then file order.
    fn schedule(&self, rs: usize) -> Option<NodeIx> {
        let net = &self.spec.network.cluster;
        let l = self.life.as_ref().expect("lifecycle");
        let sel = &self.spec.deployments[rs].node_selector;
        let mut total = vec![0u32; net.nodes.len()];
        let mut mine = vec![0u32; net.nodes.len()];
        let mut zone = vec![0u32; net.zones.len()];
        for p in 0..self.pods.len() {
            let n = self.node_of[p];
            if l.pods[p].absent || n == NO_NODE {
                continue;
            }
            total[n as usize] += 1;
            if self.dep_of[p] as usize == rs {
                mine[n as usize] += 1;
                zone[net.nodes[n as usize].zone as usize] += 1;
            }
        }
        (0..net.nodes.len())
            .filter(|&i| !l.timed.cordoned[i])
            .filter(|&i| {
                sel.iter()
                    .all(|(k, v)| net.nodes[i].labels.get(k) == Some(v))
            })
            .filter(|&i| net.nodes[i].max_pods.is_none_or(|m| total[i] < m))
            .min_by_key(|&i| (zone[net.nodes[i].zone as usize], mine[i], total[i], i))
            .map(|i| i as NodeIx)
    }

    /// A pod is deleted and dies at once; its slot is empty afterwards.
    pub(super) fn delete_pod(&mut self, p: u32, why: &str) {
        self.pod_event(p, "died", why.to_string());
        let l = self.life.as_mut().expect("lifecycle");
        l.retire(p);
        l.pods[p as usize].absent = true;
        self.reset_pod(p, 0, why);
        self.set_ready(p, false, "pod deleted");
    }

    // -----------------------------------------------------------------
    // Partitions and unreachable pods.

    /// Partition `a` starts between `chosen` and its target.
    pub(super) fn partition_start(&mut self, a: u32, chosen: &[u32]) {
        let act = &self.spec.chaos.actions[a as usize];
        let b = act.target.as_ref().map(|t| {
            let l = self.life.as_mut().expect("lifecycle");
            let mut cands: Vec<u32> = (0..l.pods.len() as u32)
                .filter(|&p| !l.pods[p as usize].exempt && !l.pods[p as usize].absent)
                .filter(|&p| t.deployments.contains(&(self.dep_of[p as usize] as usize)))
                .collect();
            let n = cands.len() as u64;
            let rng = &mut l.mode_rng[a as usize];
            let ceil_pct = |p: u64| (n * p).div_ceil(100);
            let k = match t.mode {
                Mode::One => 1.min(n),
                Mode::All => n,
                Mode::Fixed(k) => u64::from(k).min(n),
                Mode::FixedPercent(p) => ceil_pct(u64::from(p)),
                Mode::RandomMaxPercent(p) => {
                    ceil_pct(crate::engine::rng::below(rng, u64::from(p) + 1))
                }
            };
            if k < n {
                for i in 0..k as usize {
                    let j = i + crate::engine::rng::below(rng, n - i as u64) as usize;
                    cands.swap(i, j);
                }
                cands.truncate(k as usize);
            }
            cands.sort_unstable();
            cands
        });
        for &p in chosen {
            let peers = match &b {
                None => "everything".to_string(),
                Some(b) => b
                    .iter()
                    .map(|&q| self.life.as_ref().expect("lifecycle").name(q).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            self.pod_event(p, "partitioned", format!("from {peers}"));
        }
        self.timed().cuts.push(Cut {
            action: a,
            a: chosen.to_vec(),
            b,
        });
    }

    pub(super) fn partition_end(&mut self, a: u32) {
        self.timed().cuts.retain(|c| c.action != a);
    }

    /// A request reaches `pod` across a partition or on a lost node: it
    /// fails after the connect timeout. True when that is the case.
    pub(super) fn cut_off(&mut self, r: u32, pod: u32) -> bool {
        let l = self.life.as_ref().expect("lifecycle");
        // Runs on every arrival while pods can change: reads one field of
        // the request here, the rest only when the request is cut off.
        let client = self.requests.items[r as usize].client;
        let n_loads = self.spec.loads.len() as u32;
        let from = (client >= n_loads).then(|| client - n_loads);
        let has = |v: &[u32], p: u32| v.binary_search(&p).is_ok();
        let cut = l.pods[pod as usize].unreachable
            || from.is_some_and(|f| l.pods[f as usize].unreachable)
            || l.timed.cuts.iter().any(|c| {
                let across = |x: u32, y: Option<u32>| {
                    has(&c.a, x)
                        && match (&c.b, y) {
                            (None, _) => true,
                            (Some(b), Some(y)) => has(b, y),
                            (Some(_), None) => false,
                        }
                };
                across(pod, from) || from.is_some_and(|f| across(f, Some(pod)))
            });
        if !cut {
            return false;
        }
        let q = self.requests.items[r as usize];
        let timeout = match q.origin {
            super::Origin::Attempt { .. } if q.lb != NONE => {
                let m = self.mesh.as_ref().expect("mesh");
                let c = m.lb_states[q.lb as usize].cluster;
                self.xds.clusters[c as usize].pool.connect_timeout
            }
            _ => SYN_RETRIES_TIMEOUT,
        };
        if q.traced {
            let msg = format!(
                "{} is unreachable (partition or lost node): the connection fails after {timeout}",
                self.pod_name(pod)
            );
            self.trace_log(r, msg);
        }
        let svc = q.target.service as u32;
        let c = self.chain(
            crate::metrics::propagation::Node::Service(svc),
            0,
            "connect timeout (unreachable)",
            NONE,
        );
        self.requests.items[r as usize].chain = c;
        let at = self.now() + timeout;
        self.q
            .schedule(at, super::Event::Respond { req: r, status: 0 });
        true
    }
}
