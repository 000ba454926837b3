//! The HorizontalPodAutoscaler controller during a run: it measures each
//! pod's CPU, syncs every 15 s, and the Deployment's ReplicaSet creates or
//! deletes pods to match (`cluster/hpa.rs` decides; this file measures and
//! applies).
//!
//! Why a room of its own: like the lifecycle, it is rare (one event per
//! 15 s) and must cost nothing without an HPA: `World::hpa` is `None` then
//! and the one hook on the hot path (a compute step's CPU) is one branch.
//!
//! # What the controller sees
//! * CPU: the pod's `compute` steps only — time a worker is held waiting on
//!   calls is not CPU — as the rate over metrics-server's 15 s window
//!   ending at the sync (metric timestamp = the sync, window = 15 s),
//!   rounded up to milli-cores per pod. The syncs fall on multiples of 15 s
//!   (the first at 15 s), so each window is one whole bin of the meter; a
//!   compute step counts into the bins it overlaps when it starts. The
//!   sidecar's own CPU is not modelled (its request still counts).
//! * A pod has no metric (missing) until its containers have run for one
//!   whole window; it is Pending (ignored) until they run; its `startTime`
//!   is its creation; pods that exist when the run starts are old (past
//!   the 5 min initialisation, Ready long since).
//! * `currentReplicas` is the Deployment's `spec.replicas` (a pod-kill
//!   replacement does not change it; a timed `scale` event does).
//! * Its pods are those of every ReplicaSet of the Deployment (the
//!   selector matches old and new during a rollout).
//!
//! # How new pods get traffic
//! A pod the HPA creates starts like a Chaos Mesh replacement
//! (`pod_lifecycle.rs`): `containerStart`, `appStartup`, the readiness
//! probe, then `endpointDelay` until kube-proxy and the sidecars list it.
//! From then on only *new* connections can reach it: a load's keep-alive
//! connections (`connections: N`, a closed loop) and callers' pooled
//! connections stay pinned to the pods they were opened to, so without a
//! client sidecar the new pods get nothing from them until those pods die
//! — as with real HTTP/1.1 keep-alive behind kube-proxy. A client Envoy
//! balances each request over the endpoints it knows, so meshed clients
//! spread onto new pods as soon as the endpoint arrives.
//!
//! # What a scale changes
//! The HPA writes the Deployment's `spec.replicas` (the scale
//! subresource) and nothing else: the Deployment controller
//! (`rollout.rs`, `deployment_scale.rs` during a rollout) sizes the
//! ReplicaSets and the ReplicaSet controller (`replicaset.rs`) creates
//! pods or deletes the lowest-ranked ones (`ActivePodsWithRanks`). A
//! deleted pod goes as a pod-kill's does: at once, its in-flight requests
//! reset, its endpoint listed until the removal propagates.

use super::World;
use super::replicaset::Cause;
use crate::cluster::hpa::{self, Decision, History, PodSample};
use crate::cluster::node::NO_NODE;
use crate::engine::{SimDuration, SimTime};

/// One sync of one HPA.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sync {
    pub at: SimTime,
    /// `spec.replicas` before the sync.
    pub current: u32,
    pub desired: u32,
    /// The cpu utilisation it computed (None: no usable metric).
    pub utilization: Option<u32>,
    /// Pods filed as ready, unready, missing and ignored.
    pub pods: [u32; 4],
    /// Why the answer differs from the metric's proposal, or its error.
    pub reason: String,
}

/// Everything one HPA did in a replication.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HpaTrace {
    /// `namespace/name`.
    pub name: String,
    pub deployment: usize,
    pub initial: u32,
    pub syncs: Vec<Sync>,
}

impl HpaTrace {
    /// (time, replicas) from the start: the initial count, then each change.
    pub fn trajectory(&self) -> Vec<(SimTime, u32)> {
        let mut out = vec![(SimTime::ZERO, self.initial)];
        for s in &self.syncs {
            if s.desired != s.current {
                out.push((s.at, s.desired));
            }
        }
        out
    }
}

struct HpaState {
    history: History,
    /// Its Deployment's rollable (`rollout.rs`): `spec.replicas` lives there.
    rollable: usize,
    /// The pod slots of its Deployment (every ReplicaSet's).
    slots: Vec<u32>,
    trace: HpaTrace,
}

/// Run-time HPA state (None in `World` without an HPA).
pub(super) struct HpaRt {
    /// Per pod: CPU-ns of compute steps per metric window k
    /// (`[15 k s, 15 (k + 1) s)`); None for pods no HPA measures.
    cpu: Vec<Option<Vec<u64>>>,
    hpas: Vec<HpaState>,
}

const WINDOW_NS: u64 = hpa::METRIC_WINDOW.0;

impl HpaRt {
    pub(super) fn traces(self) -> Vec<HpaTrace> {
        self.hpas.into_iter().map(|h| h.trace).collect()
    }

    /// A compute step of `pod` runs until `end` for `d`: its CPU, spread
    /// over the windows it overlaps.
    #[inline]
    pub(super) fn compute(&mut self, pod: u32, end: SimTime, d: SimDuration) {
        let Some(bins) = &mut self.cpu[pod as usize] else {
            return;
        };
        let (mut a, z) = (end.0 - d.0, end.0);
        while a < z {
            let k = (a / WINDOW_NS) as usize;
            let edge = (k as u64 + 1) * WINDOW_NS;
            let part = z.min(edge) - a;
            if bins.len() <= k {
                bins.resize(k + 1, 0);
            }
            bins[k] += part;
            a += part;
        }
    }

    /// Milli-cores of `pod` over the window ending at `now` (rounded up, as
    /// `Quantity.MilliValue`).
    fn usage(&self, pod: u32, now: SimTime) -> u64 {
        let k = (now.0 / WINDOW_NS).saturating_sub(1) as usize;
        let ns = self.cpu[pod as usize]
            .as_ref()
            .and_then(|b| b.get(k).copied())
            .unwrap_or(0);
        (u128::from(ns) * 1000).div_ceil(u128::from(WINDOW_NS)) as u64
    }
}

impl World<'_> {
    /// Schedules the first sync and fills the meters (only with an HPA).
    pub(super) fn init_autoscale(&mut self) {
        let spec = self.spec;
        if spec.autoscalers.is_empty() {
            return;
        }
        let n = self.pods.len();
        let mut cpu = vec![None; n];
        let mut hpas = Vec::new();
        for a in &spec.autoscalers {
            let t = &self.life.as_ref().expect("lifecycle").timed;
            let rollable = t.rollable_of[a.deployment] as usize;
            let sets = t.replica_sets(rollable);
            let slots: Vec<u32> = (0..n as u32)
                .filter(|&p| sets.contains(&(self.dep_of[p as usize] as usize)))
                .collect();
            for &p in &slots {
                cpu[p as usize] = Some(Vec::new());
            }
            hpas.push(HpaState {
                history: History::default(),
                rollable,
                slots,
                trace: HpaTrace {
                    name: a.name.clone(),
                    deployment: a.deployment,
                    initial: a.initial,
                    syncs: Vec::new(),
                },
            });
        }
        self.hpa = Some(Box::new(HpaRt { cpu, hpas }));
        let first = SimTime(hpa::SYNC_PERIOD.0);
        if first < self.end {
            self.q.schedule(first, super::Event::Autoscale);
        }
    }

    /// The controller syncs every HPA (in file order), then the next sync.
    pub(super) fn on_autoscale(&mut self) {
        let now = self.now();
        let n = self.hpa.as_ref().expect("hpa").hpas.len();
        for i in 0..n {
            self.sync_one(i, now);
        }
        let next = now + hpa::SYNC_PERIOD;
        if next < self.end {
            self.q.schedule(next, super::Event::Autoscale);
        }
    }

    /// What the controller sees of `pod` (None: no pod in the slot).
    fn hpa_sample(&self, pod: u32, request: u64, now: SimTime) -> Option<PodSample> {
        let l = &self.life.as_ref().expect("lifecycle").pods[pod as usize];
        if l.absent {
            return None;
        }
        // Pending, or being deleted (`DeletionTimestamp`): ignored.
        let pending = self.node_of[pod as usize] == NO_NODE
            || (l.created.is_some() && l.running.is_none())
            || l.terminating != 0;
        let has_metric = !pending && l.running.is_none_or(|r| r + hpa::METRIC_WINDOW <= now);
        let h = self.hpa.as_ref().expect("hpa");
        Some(PodSample {
            pending,
            usage_milli: has_metric.then(|| h.usage(pod, now)),
            request_milli: request,
            ready: self.pods[pod as usize].ready,
            start: l.created,
            ready_since: l.ready_at,
        })
    }

    fn sync_one(&mut self, i: usize, now: SimTime) {
        let a = &self.spec.autoscalers[i];
        let h = &self.hpa.as_ref().expect("hpa").hpas[i];
        let rollable = h.rollable;
        let current = self.life.as_ref().expect("lifecycle").timed.desired[rollable];
        let metric = match &a.pod_request {
            Err(e) => Err(e.clone()),
            Ok(req) => {
                let samples: Vec<PodSample> = h
                    .slots
                    .iter()
                    .filter_map(|&p| self.hpa_sample(p, *req, now))
                    .collect();
                hpa::resource_replicas(current, a.spec.target_cpu, &samples, now)
            }
        };
        let h = &mut self.hpa.as_mut().expect("hpa").hpas[i];
        let d: Decision = hpa::desired_replicas(&mut h.history, &a.spec, now, current, metric);
        let p = d.proposal;
        h.trace.syncs.push(Sync {
            at: now,
            current,
            desired: d.desired,
            utilization: p.map(|p| p.utilization),
            pods: p.map_or([0; 4], |p| [p.ready, p.unready, p.missing, p.ignored]),
            reason: d.reason.clone(),
        });
        if d.desired == current {
            return;
        }
        let why = match p {
            Some(p) => format!(
                "cpu {}% of {}% target ({} ready, {} unready, {} missing)",
                p.utilization, a.spec.target_cpu, p.ready, p.unready, p.missing
            ),
            None => d.reason.clone(),
        };
        let limited = if p.is_some() && !d.reason.is_empty() {
            format!("; {}", d.reason)
        } else {
            String::new()
        };
        let slots = h.slots.clone();
        let name = a.name.clone();
        self.pod_event_of(
            slots[0],
            format!("hpa/{name}"),
            "scaled",
            format!("{current} → {}: {why}{limited}", d.desired),
        );
        // The scale subresource: the Deployment controller and the
        // ReplicaSet controller do the rest (`rollout.rs`, `replicaset.rs`).
        self.timed().desired[rollable] = d.desired;
        self.deployment_sync(rollable, Cause::Hpa);
    }
}
