//! The cluster's controllers for meshsim's timed events
//! (`Simulation.spec.events`, `scenario/spec/events.rs`) and Chaos Mesh
//! `partition`: the Deployment controller rolling a new ReplicaSet,
//! `kubectl drain`, a lost node or zone, and network partitions.
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
//! A change of `spec.replicas` (an HPA, a `scale` event) is a scaling
//! event, handled first: `deployment_scale.rs`.
//!
//! # The ReplicaSet controller (`replicaset.rs`)
//! It creates and deletes pods for every ReplicaSet. A deleted pod dies at
//! once, as with PodChaos pod-kill: an app that exits on SIGTERM without a
//! preStop hook, so its endpoint stays listed for the propagation delay
//! and connections to it are refused meanwhile.
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
use super::life_step::{Step, TimedStep};
use super::replicaset::Cause;
use crate::cluster::node::NodeIx;
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::Scenario;
use crate::scenario::spec::chaos::Mode;
use crate::scenario::spec::events::{EventKind, Rollable, Strategy};
use crate::workload::load::NONE;

/// Linux's connect timeout with `tcp_syn_retries` 6: 1+2+4+…+64 s.
const SYN_RETRIES_TIMEOUT: SimDuration = SimDuration::from_secs(127);

/// One active partition.
#[derive(Clone, Debug)]
struct Cut {
    action: u32,
    /// Sorted pod slots of each side; `None` = everything.
    a: Vec<u32>,
    b: Option<Vec<u32>>,
}

pub(super) struct TimedRt {
    /// The Deployments whose ReplicaSets the controllers manage: the timed
    /// events' (`TimedPlan::rollables`), then each HPA's not among them.
    rollables: Vec<Rollable>,
    /// Per rollable: desired replicas and how many of its ReplicaSets exist.
    pub(super) desired: Vec<u32>,
    revisions: Vec<usize>,
    /// Per deployment (ReplicaSet): its `spec.replicas`, and the count
    /// last reported in the pod timeline (only for the timed events'
    /// ReplicaSets, `announce`: an HPA's changes are its own events).
    pub(super) want: Vec<u32>,
    pub(super) shown: Vec<u32>,
    pub(super) announce: Vec<bool>,
    /// Per deployment (ReplicaSet): its `desired-replicas` and
    /// `max-replicas` annotations (`deployment_scale.rs`).
    pub(super) annot: Vec<(u32, u32)>,
    /// Per deployment: its rollable (NONE = none).
    pub(super) rollable_of: Vec<u32>,
    sync_pending: Vec<bool>,
    pub(super) cordoned: Vec<bool>,
    lost: Vec<bool>,
    cuts: Vec<Cut>,
}

impl TimedRt {
    pub(super) fn new(spec: &Scenario) -> Self {
        let plan = &spec.chaos.timed;
        let mut rollables = plan.rollables.clone();
        let mut announce = vec![false; spec.deployments.len()];
        for r in &rollables {
            for &d in &r.replica_sets {
                announce[d] = true;
            }
        }
        let initial = super::replicaset::initial_replicas(spec);
        for a in &spec.autoscalers {
            if !rollables
                .iter()
                .any(|r| r.replica_sets.contains(&a.deployment))
            {
                rollables.push(Rollable {
                    name: spec.deployments[a.deployment].key(),
                    replica_sets: vec![a.deployment],
                    strategy: Strategy::default(),
                    replicas: a.initial,
                });
            }
        }
        let mut rollable_of = vec![NONE; spec.deployments.len()];
        for (i, r) in rollables.iter().enumerate() {
            for &d in &r.replica_sets {
                rollable_of[d] = i as u32;
            }
        }
        let nodes = spec.network.cluster.nodes.len();
        let mut annot = vec![(0, 0); spec.deployments.len()];
        for r in &rollables {
            let n = r.replicas;
            annot[r.replica_sets[0]] = (n, n + r.strategy.fenceposts(n).0);
        }
        TimedRt {
            annot,
            desired: rollables.iter().map(|r| r.replicas).collect(),
            revisions: vec![1; rollables.len()],
            sync_pending: vec![false; rollables.len()],
            rollables,
            want: initial.clone(),
            shown: initial,
            announce,
            rollable_of,
            cordoned: vec![false; nodes],
            lost: vec![false; nodes],
            cuts: Vec::new(),
        }
    }

    /// The ReplicaSets of `rs`'s Deployment (`getIndirectlyRelatedPods`'
    /// owners): `rs` alone when no controller knows it.
    pub(super) fn related(&self, rs: usize) -> Vec<usize> {
        match self.rollable_of.get(rs) {
            Some(&r) if r != NONE => self.rollables[r as usize].replica_sets.clone(),
            _ => vec![rs],
        }
    }

    pub(super) fn strategy(&self, r: usize) -> Strategy {
        self.rollables[r].strategy
    }

    /// The pod slots of every ReplicaSet of rollable `r` (those an HPA of
    /// the Deployment sees).
    pub(super) fn replica_sets(&self, r: usize) -> &[usize] {
        &self.rollables[r].replica_sets
    }
}

impl World<'_> {
    pub(super) fn timed(&mut self) -> &mut TimedRt {
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
                self.deployment_sync(r as usize, Cause::Controller);
            }
            TimedStep::NotReady(n) => {
                for p in self.pods_on(n) {
                    self.set_ready(p, false, "node NotReady (node lifecycle controller)");
                }
            }
            TimedStep::Evict(n) => {
                let pods = self.pods_on(n);
                for &p in &pods {
                    self.kill_pod(p, "evicted: node unreachable");
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
            .filter(|&p| {
                let pl = &l.pods[p as usize];
                !pl.absent && !pl.exempt && pl.terminating == 0
            })
            .collect()
    }

    fn timed_event(&mut self, i: usize) {
        let e = &self.spec.chaos.timed.events[i];
        match &e.kind {
            EventKind::Scale { rollable, replicas } => {
                self.timed().desired[*rollable] = *replicas;
                self.deployment_sync(*rollable, Cause::Controller);
            }
            EventKind::Rollout { rollable, .. } => {
                let t = self.timed();
                t.revisions[*rollable] += 1;
                let new = t.rollables[*rollable].replica_sets[t.revisions[*rollable] - 1];
                self.annotate(*rollable, new);
                self.deployment_sync(*rollable, Cause::Controller);
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
            self.replica_set_sync(d, Cause::Controller);
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

    /// `syncDeployment`: a scaling event's `scale()`
    /// (`deployment_scale.rs`), else `rolloutRolling` (rolling.go) or
    /// `rolloutRecreate`, repeated until nothing changes: the real
    /// controller's next sync follows its own ReplicaSet updates.
    pub(super) fn deployment_sync(&mut self, r: usize, cause: Cause) {
        let strategy = self.timed().rollables[r].strategy;
        for _ in 0..64 {
            let t = self.timed();
            let desired = t.desired[r];
            let sets: Vec<usize> = t.rollables[r].replica_sets[..t.revisions[r]].to_vec();
            let (new, olds) = sets.split_last().expect("one ReplicaSet at least");
            let new = *new;
            let before: Vec<u32> = sets.iter().map(|&s| self.timed().want[s]).collect();
            if self.scaling_event(r, &sets) && self.scale(r, &sets) {
                // `sync()`: the sizes change in proportion; the rollout
                // goes on at the next sync.
                for &s in &sets {
                    self.replica_set_sync(s, cause);
                }
                continue;
            }
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
            for (&s, &b) in sets.iter().zip(&before) {
                if self.timed().want[s] != b {
                    self.annotate(r, s);
                }
            }
            for &s in &sets {
                self.replica_set_sync(s, cause);
            }
            if !changed {
                return;
            }
        }
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
