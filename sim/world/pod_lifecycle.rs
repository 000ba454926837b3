//! Pods that change during a run: Chaos Mesh experiments kill them, pause
//! them, kill one of their containers or delay their packets; the
//! Deployment replaces a deleted pod; readiness changes reach kube-proxy and
//! every sidecar's balancer only after the endpoint propagation delay.
//!
//! Why a room of its own: everything here is rare (a handful of events per
//! run) and must never cost the hot path anything when no experiment exists
//! — `World::life` is `None` then, and every hook elsewhere is one branch.
//!
//! What happens to the requests on a dying pod: `pod_reset.rs`. What each
//! Chaos Mesh action does: `chaos_mesh.rs`; the kubelet's probes:
//! `probe.rs`; timed events and controllers: `rollout.rs`; the HPA:
//! `autoscale.rs`. This file holds the pod state they share, the step
//! schedule, container deaths and restarts, readiness and endpoints.
//!
//! # Timeline of a replacement (reference §1, "Probes")
//! deleted → `containerStart` later the containers run → `appStartup` later
//! the app listens. Without a readiness probe the pod is Ready as soon as
//! its containers run (so it can get connections it refuses while the app
//! starts); with one, at the first probe (`initialDelaySeconds`, then every
//! `periodSeconds`) that finds the app listening. The endpoint joins after
//! `endpointDelay`. A replacement reuses the deleted pod's slot (its
//! statistics and random streams) under a new name
//! (`<deployment>-<replicas + n>`), on the same node.

use super::life_step::{Part, Step};
use super::{Event, World};
use crate::cluster::node::NO_NODE;
use crate::cluster::service::backing_deployments;
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::chaos::Container;

/// netem delay on a pod's egress.
#[derive(Clone, Copy, Debug)]
pub(super) struct NetDelay {
    pub(super) latency: SimDuration,
    pub(super) jitter: SimDuration,
    /// 0–1.
    pub(super) rho: f64,
    pub(super) last: f64,
}

#[derive(Clone, Debug)]
pub(super) struct PodLife {
    pub(super) epoch: u32,
    /// The app container accepts connections.
    pub(super) app_up: bool,
    /// The pod's network side answers: its sidecar runs (with one), or the
    /// pod exists and is not paused (without one).
    pub(super) sidecar_up: bool,
    pub(super) has_sidecar: bool,
    /// A pod-failure holds it (pause images).
    pub(super) failing: bool,
    pub(super) name: String,
    /// The name of the pod whose endpoint kube-proxy lists for this slot
    /// (a deleted pod's until its removal propagates).
    listed: String,
    /// The kubelet's restart back-off per container (app, istio-proxy):
    /// restarts in the current streak, and when the last one was decided
    /// (`flowcontrol.Backoff` entry: backoff, lastUpdate).
    pub(super) backoff: [(u32, SimTime); 2],
    /// Container restarts of this pod (its status' `restartCount`).
    pub(super) restart_count: u32,
    pub(super) delay: Option<NetDelay>,
    /// `namespace/deployment`.
    workload: String,
    /// Not affected by experiments (gateway, ingress controller, pending,
    /// a pod the HPA created unscheduled).
    pub(super) exempt: bool,
    /// No pod in this slot: a ReplicaSet below its slot count or a deleted
    /// pod not replaced (`rollout.rs`), an HPA slot not created yet or
    /// deleted by a scale-down (`autoscale.rs`).
    pub(super) absent: bool,
    /// Its node is lost: packets to and from it vanish.
    pub(super) unreachable: bool,
    /// When the pod was created (None: before the run): its `startTime`.
    pub(super) created: Option<SimTime>,
    /// When its containers first ran since it was created (None: before
    /// the run, or Pending when `created` is set).
    pub(super) running: Option<SimTime>,
    /// Its Ready condition's last transition (None: before the run).
    pub(super) ready_at: Option<SimTime>,
    /// Deleted but not ended yet (`termination.rs`: RUNNING, PRE_STOP,
    /// DRAINING), and when SIGKILL comes.
    pub(super) terminating: u8,
    pub(super) kill_at: SimTime,
}

/// One thing that happened to a pod (summary.json `pods.events`, the
/// terminal table, the timeline plot).
#[derive(Clone, Debug, PartialEq, Eq)]
/// Read back by `answers::partial` (its `what` is a `&'static str`).
#[derive(serde::Serialize)]
pub struct PodEvent {
    pub at: SimTime,
    /// `namespace/deployment`.
    pub workload: String,
    pub pod: String,
    /// died, started, listening, ready, unready, endpoint-removed,
    /// endpoint-added, chaos-start, chaos-end, delayed, undelayed; from
    /// `rollout.rs`: created (in an empty slot), unreachable, partitioned,
    /// scaled (`pod` is then the ReplicaSet).
    pub what: &'static str,
    pub detail: String,
}

/// Run-time lifecycle state (None in `World` without experiments).
pub(super) struct LifeRt {
    pub(super) pods: Vec<PodLife>,
    steps: Vec<Step>,
    /// Per experiment: the pods it acts on (chosen at its start).
    pub(super) chosen: Vec<Vec<u32>>,
    pub(super) mode_rng: Vec<SimRng>,
    pub(super) netem_rng: Vec<SimRng>,
    /// Per pod: its inbound sidecar's retry back-off draws.
    pub(super) inbound_rng: Vec<SimRng>,
    /// Per deployment: the (service, port) pairs its pods back.
    backs: Vec<Vec<(usize, usize)>>,
    /// service → port → every placed pod behind it (balancer host sets).
    pub(super) all: Vec<Vec<Vec<u32>>>,
    pub(super) next_name: Vec<u32>,
    events: Vec<PodEvent>,
    /// Timed events, controllers, partitions (`rollout.rs`).
    pub(super) timed: super::rollout::TimedRt,
    /// Per pod: its probe workers (`probe.rs`).
    pub(super) probes: Vec<super::probe::PodProbes>,
    /// Restart counts of deleted pods.
    restarts: Vec<PodRestarts>,
}

/// How often the kubelet restarted a pod's containers (its
/// `restartCount`, summed over containers).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PodRestarts {
    /// `namespace/deployment`.
    pub workload: String,
    pub pod: String,
    pub restarts: u32,
}

impl LifeRt {
    /// Pod `p` is deleted (pod-kill, and every controller's delete): its
    /// containers stop (pending steps of the old epoch go stale), the
    /// delays an experiment injected go with it (an experiment acts on the
    /// pods it found), its restart count goes to the report's list and its
    /// back-off is forgotten, so a new pod in the slot starts afresh.
    pub(super) fn retire(&mut self, p: u32) {
        let pl = &mut self.pods[p as usize];
        pl.epoch += 1;
        pl.app_up = false;
        pl.sidecar_up = false;
        pl.failing = false;
        pl.delay = None;
        pl.terminating = 0;
        pl.backoff = [(0, SimTime::ZERO); 2];
        if pl.restart_count > 0 {
            let r = PodRestarts {
                workload: pl.workload.clone(),
                pod: pl.name.clone(),
                restarts: pl.restart_count,
            };
            pl.restart_count = 0;
            self.restarts.push(r);
        }
    }

    /// The events in time order and the restart counts (pods that
    /// restarted at least once; deleted pods first, then in slot order).
    pub(super) fn finish(mut self) -> (Vec<PodEvent>, Vec<PodRestarts>) {
        for p in &self.pods {
            if p.restart_count > 0 {
                self.restarts.push(PodRestarts {
                    workload: p.workload.clone(),
                    pod: p.name.clone(),
                    restarts: p.restart_count,
                });
            }
        }
        (self.events, self.restarts)
    }
    pub(super) fn name(&self, pod: u32) -> &str {
        &self.pods[pod as usize].name
    }
}

/// Kubelet's restart back-off for the n-th restart of a streak (1-based):
/// the first is immediate, then 10 s doubling to 5 min —
/// kubernetes/kubernetes `pkg/kubelet/kubelet.go` (`backOffPeriod` 10 s,
/// `MaxContainerBackOff` 300 s), `kuberuntime_manager.go` `doBackOff`
/// (`IsInBackOffSince` the container's exit, then `Next`),
/// `client-go/util/flowcontrol/backoff.go` (doubling, capped).
fn backoff(n: u32) -> SimDuration {
    if n <= 1 {
        return SimDuration::ZERO;
    }
    let secs = 10u64.saturating_mul(1 << (n - 2).min(10)).min(300);
    SimDuration::from_secs(secs)
}

impl World<'_> {
    /// Builds the lifecycle state and schedules every experiment (only when
    /// the scenario has one).
    pub(super) fn init_lifecycle(&mut self, f: &RngFactory) {
        let plan = &self.spec.chaos;
        if !plan.is_active() && self.spec.autoscalers.is_empty() {
            return;
        }
        let spec = self.spec;
        let initial = super::replicaset::initial_replicas(spec);
        let mut pods = Vec::with_capacity(self.pods.len());
        for (i, p) in self.pods.iter().enumerate() {
            let d = &spec.deployments[p.deployment as usize];
            let has_sidecar = spec.istio.has_sidecar(p.deployment as usize);
            let absent = p.replica >= initial[p.deployment as usize];
            // An absent slot is not exempt: the pod later created in it
            // (scale, rollout, HPA) is subject to experiments like any other.
            let exempt = (self.node_of[i] == NO_NODE && !absent)
                || p.deployment == self.ingress_ctrl
                || self.is_gateway(i as u32);
            pods.push(PodLife {
                epoch: 0,
                app_up: !absent,
                sidecar_up: !absent,
                has_sidecar,
                failing: false,
                name: format!("{}-{}", d.name, p.replica),
                listed: format!("{}-{}", d.name, p.replica),
                workload: format!("{}/{}", d.namespace, d.name),
                backoff: [(0, SimTime::ZERO); 2],
                restart_count: 0,
                delay: None,
                exempt,
                absent,
                unreachable: false,
                created: None,
                running: None,
                ready_at: None,
                terminating: 0,
                kill_at: SimTime::ZERO,
            });
        }
        let mut backs = vec![Vec::new(); spec.deployments.len()];
        let mut all = Vec::new();
        for (si, s) in spec.services.iter().enumerate() {
            let mut ports = Vec::new();
            for pi in 0..s.ports.len() {
                let deps = backing_deployments(s, pi, &spec.deployments);
                let mut v = Vec::new();
                for &d in &deps {
                    backs[d].push((si, pi));
                    v.extend(
                        (0..self.pods.len() as u32)
                            .filter(|&p| self.dep_of[p as usize] == d as u32)
                            .filter(|&p| {
                                self.node_of[p as usize] != NO_NODE || pods[p as usize].absent
                            }),
                    );
                }
                v.sort_unstable();
                ports.push(v);
            }
            all.push(ports);
        }
        let mode_rng = plan
            .actions
            .iter()
            .map(|a| f.of(Purpose::Chaos, &a.key))
            .collect();
        let netem_rng = pods
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let p = &self.pods[i];
                let d = &spec.deployments[p.deployment as usize];
                f.of(
                    Purpose::Chaos,
                    &format!("netem/{}/{}/{}", d.namespace, d.name, p.replica),
                )
            })
            .collect();
        let exempt: Vec<bool> = pods.iter().map(|p| p.exempt).collect();
        let inbound_rng = (0..pods.len())
            .map(|i| {
                let p = &self.pods[i];
                let d = &spec.deployments[p.deployment as usize];
                let key = format!("inbound/{}/{}/{}", d.namespace, d.name, p.replica);
                f.of(Purpose::RetryBackoff, &key)
            })
            .collect();
        self.life = Some(Box::new(LifeRt {
            pods,
            steps: Vec::new(),
            chosen: vec![Vec::new(); plan.actions.len()],
            mode_rng,
            netem_rng,
            inbound_rng,
            backs,
            all,
            next_name: initial,
            events: Vec::new(),
            timed: super::rollout::TimedRt::new(spec),
            probes: Vec::new(),
            restarts: Vec::new(),
        }));
        if !plan.probes.is_empty() {
            let probes = self.init_probes(f, &exempt);
            self.life.as_mut().expect("lifecycle").probes = probes;
        }
        for (i, a) in plan.actions.iter().enumerate() {
            let at = SimTime(a.start.as_nanos());
            if at < self.end {
                self.schedule_step(at, Step::ChaosStart(i as u32));
            }
        }
        self.init_timed();
    }

    pub(super) fn schedule_step(&mut self, at: SimTime, step: Step) {
        let l = self.life.as_mut().expect("lifecycle");
        l.steps.push(step);
        let ix = l.steps.len() as u32 - 1;
        self.q.schedule(at, Event::Lifecycle { step: ix });
    }

    pub(super) fn pod_event(&mut self, pod: u32, what: &'static str, detail: String) {
        let name = self.life.as_ref().expect("lifecycle").pods[pod as usize]
            .name
            .clone();
        self.pod_event_of(pod, name, what, detail);
    }

    pub(super) fn pod_event_of(
        &mut self,
        pod: u32,
        name: String,
        what: &'static str,
        detail: String,
    ) {
        let at = self.now();
        let d = &self.spec.deployments[self.dep_of[pod as usize] as usize];
        let workload = format!("{}/{}", d.namespace, d.name);
        let l = self.life.as_mut().expect("lifecycle");
        l.events.push(PodEvent {
            at,
            workload,
            pod: name,
            what,
            detail,
        });
    }

    /// A lifecycle step fires.
    pub(super) fn on_lifecycle(&mut self, ix: u32) {
        let step = self.life.as_ref().expect("lifecycle").steps[ix as usize];
        let epoch_ok = |w: &World, pod: u32, epoch: u32| {
            w.life.as_ref().expect("lifecycle").pods[pod as usize].epoch == epoch
        };
        match step {
            Step::ChaosStart(a) => self.chaos_start(a),
            Step::ChaosEnd(a) => self.chaos_end(a),
            Step::Started { pod, epoch, what } if epoch_ok(self, pod, epoch) => {
                self.started(pod, what)
            }
            Step::Listening { pod, epoch } if epoch_ok(self, pod, epoch) => {
                let l = self.life.as_mut().expect("lifecycle");
                l.pods[pod as usize].app_up = true;
                self.pod_event(pod, "listening", "the app accepts connections".into());
            }
            Step::Endpoint { pod, present } => self.apply_endpoint(pod, present),
            Step::Timed(t) => self.on_timed(t),
            Step::ProbeTick { pod, epoch, kind } if epoch_ok(self, pod, epoch) => {
                self.probe_tick(pod, kind, epoch)
            }
            Step::ProbeTimeout {
                pod,
                kind,
                generation,
            } => self.probe_timeout(pod, kind, generation),
            Step::InboundRetry { req, pod, tried } => self.on_inbound_retry(req, pod, tried),
            Step::Sigterm { pod, epoch } if epoch_ok(self, pod, epoch) => self.on_sigterm(pod),
            Step::Kill { pod, epoch } if epoch_ok(self, pod, epoch) => self.on_kill(pod),
            _ => {} // stale: the pod died or restarted again since
        }
    }

    /// The kubelet kills the app container (a failed liveness or startup
    /// probe, `probe.rs`) and restarts it after its back-off.
    pub(super) fn app_container_died(&mut self, p: u32, detail: String) {
        self.container_died(p, Container::App, detail);
    }

    /// Container `c` of `p` exited: its requests end, the pod is not
    /// ready, and the kubelet restarts the container after its back-off.
    pub(super) fn container_died(&mut self, p: u32, c: Container, detail: String) {
        let now = self.now();
        let l = self.life.as_mut().expect("lifecycle");
        let pl = &mut l.pods[p as usize];
        pl.epoch += 1;
        // `doBackOff`: in back-off for `backoff` after the exit; the
        // streak starts again once the exit comes more than 2 × 5 min
        // after the last restart (`hasExpired`).
        let (n, last) = &mut pl.backoff[c as usize];
        if *n > 0 && now.saturating_since(*last) > SimDuration::from_secs(600) {
            *n = 0;
        }
        *n += 1;
        let wait = backoff(*n);
        *last = now + wait;
        let sidecar_lives = pl.has_sidecar && c == Container::App;
        match c {
            Container::App => pl.app_up = false,
            // The app keeps running, unreachable: iptables sends every
            // connection to the dead Envoy's port.
            Container::Sidecar => pl.sidecar_up = false,
        }
        let part = match c {
            Container::App => Part::App,
            Container::Sidecar => Part::Sidecar,
        };
        self.pod_event(p, "died", detail.clone());
        // With the sidecar alive the inbound Envoy answers 503 for what it
        // was forwarding; otherwise the connections are reset.
        self.reset_pod(p, if sidecar_lives { 503 } else { 0 }, &detail);
        self.set_ready(p, false, "container not running");
        if wait > SimDuration::ZERO {
            let msg = format!("CrashLoopBackOff: restarted in {wait}");
            self.pod_event(p, "back-off", msg);
        }
        self.restart_later(p, part, wait);
    }

    pub(super) fn restart_later(&mut self, p: u32, what: Part, wait: SimDuration) {
        let at = self.now() + wait + self.spec.chaos.lifecycle.container_start;
        let epoch = self.life.as_ref().expect("lifecycle").pods[p as usize].epoch;
        if at < self.end {
            self.schedule_step(
                at,
                Step::Started {
                    pod: p,
                    epoch,
                    what,
                },
            );
        }
    }

    /// Containers run again: the app listens after its startup time; the
    /// pod is Ready at once without a readiness probe, else at the first
    /// probe that finds the app listening.
    fn started(&mut self, p: u32, what: Part) {
        let now = self.now();
        let dep = self.dep_of[p as usize] as usize;
        let probes = self.spec.chaos.probes.get(dep).copied().unwrap_or_default();
        let l = self.life.as_mut().expect("lifecycle");
        let pl = &mut l.pods[p as usize];
        if pl.created.is_some() && pl.running.is_none() {
            pl.running = Some(now);
        }
        let epoch = pl.epoch;
        if pl.failing {
            // The pause containers run: nothing listens. Ready only when no
            // container has a readiness probe (the sidecar has one).
            let ready = probes.readiness.is_none() && probes.startup.is_none() && !pl.has_sidecar;
            self.pod_event(p, "started", "pause containers".into());
            if ready {
                self.set_ready(p, true, "no readiness probe: running counts as ready");
            }
            return;
        }
        pl.sidecar_up = true;
        if what != Part::Pod {
            pl.restart_count += 1; // `restartCount` counts started containers
        }
        let detail = match what {
            Part::Pod => "containers running",
            Part::App => "app container restarted",
            Part::Sidecar => "istio-proxy restarted",
        };
        self.pod_event(p, "started", detail.into());
        // A restarted sidecar finds its app listening already.
        let listen = if what == Part::Sidecar {
            now
        } else {
            now + self.spec.chaos.lifecycle.app_startup
        };
        if listen == now {
            self.life.as_mut().expect("lifecycle").pods[p as usize].app_up = true;
        } else if listen < self.end {
            self.schedule_step(listen, Step::Listening { pod: p, epoch });
        }
        if probes.any() {
            self.probes_started(p, epoch, what);
        }
        if probes.readiness.is_none() && probes.startup.is_none() {
            self.set_ready(p, true, "no readiness probe: running counts as ready");
        }
    }

    /// The pod's Ready condition changes: the endpoint follows after the
    /// propagation delay.
    pub(super) fn set_ready(&mut self, p: u32, ready: bool, why: &str) {
        if self.pods[p as usize].ready == ready {
            return;
        }
        if ready && self.life.as_ref().expect("lifecycle").pods[p as usize].terminating != 0 {
            return; // a terminating pod is no endpoint again
        }
        self.pods[p as usize].ready = ready;
        let now = self.now();
        self.life.as_mut().expect("lifecycle").pods[p as usize].ready_at = Some(now);
        let what = if ready { "ready" } else { "unready" };
        self.pod_event(p, what, why.to_string());
        self.availability_changed(p);
        let at = self.now() + self.spec.chaos.lifecycle.endpoint_delay;
        if at < self.end {
            self.schedule_step(
                at,
                Step::Endpoint {
                    pod: p,
                    present: ready,
                },
            );
        }
    }

    /// kube-proxy and every client proxy's balancer see the pod (or stop
    /// seeing it) behind each Service it backs.
    fn apply_endpoint(&mut self, p: u32, present: bool) {
        let dep = self.dep_of[p as usize] as usize;
        let backs = self.life.as_ref().expect("lifecycle").backs[dep].clone();
        let mut changed = false;
        for &(s, port) in &backs {
            let eps = &mut self.endpoints[s][port];
            match (eps.binary_search(&p), present) {
                (Err(i), true) => {
                    eps.insert(i, p);
                    changed = true;
                }
                (Ok(i), false) => {
                    eps.remove(i);
                    changed = true;
                }
                _ => continue,
            }
            let svc = &self.spec.services[s];
            if svc.service_type == crate::scenario::spec::ServiceType::LoadBalancer {
                self.lb_nodes[s][port] = crate::cluster::load_balancer::healthy_nodes(
                    self.spec.network.cluster.nodes.len(),
                    svc.net.local,
                    &self.endpoints[s][port],
                    &self.node_of,
                );
            }
            if let Some(m) = &mut self.mesh {
                m.endpoints_changed(self.xds, s, port, &self.endpoints[s][port]);
            }
        }
        if changed {
            let pl = &mut self.life.as_mut().expect("lifecycle").pods[p as usize];
            let (what, detail, name) = if present {
                pl.listed = pl.name.clone();
                (
                    "endpoint-added",
                    "kube-proxy and sidecars send to it",
                    pl.name.clone(),
                )
            } else {
                (
                    "endpoint-removed",
                    "kube-proxy and sidecars stop sending to it",
                    pl.listed.clone(),
                )
            };
            self.pod_event_of(p, name, what, detail.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loop_backoff_doubles_to_five_minutes() {
        let s: Vec<u64> = (1..=8)
            .map(|n| backoff(n).as_nanos() / 1_000_000_000)
            .collect();
        assert_eq!(s, vec![0, 10, 20, 40, 80, 160, 300, 300]);
    }
}
