//! The kubelet's prober: each container probe of each pod, run every
//! `periodSeconds`, counted against its thresholds, and acted on —
//! readiness moves the pod's Ready condition (the endpoint follows after
//! the propagation delay, `pod_lifecycle.rs`), liveness and startup
//! failures restart the app container with CrashLoopBackOff.
//!
//! Why a room of its own: this is what turns overload into an outage. An
//! `httpGet` (or `grpc`) probe is an HTTP request the app's workers serve
//! like any other: it waits in the pod's FIFO queue behind the traffic, and
//! when no worker takes it within `timeoutSeconds` the kubelet counts a
//! failure. An overloaded pod therefore fails liveness, is restarted
//! (losing its in-flight requests), and its load lands on fewer pods.
//!
//! # Semantics (kubernetes/kubernetes `pkg/kubelet/prober/worker.go`)
//! * `doProbe`: no probe before `initialDelaySeconds` after the container
//!   started; until the startup probe has succeeded only the startup probe
//!   runs, afterwards it stops; readiness and liveness wait for it.
//! * A result changes the probe's state only after `failureThreshold`
//!   (`successThreshold`) equal results in a row (`resultRun`); the run
//!   count survives container restarts except after a liveness or startup
//!   failure, which puts the worker on hold until the new container.
//! * `prober_manager.go` `UpdatePodStatus`: a running, started container
//!   without a readiness probe is ready; with one, ready once it succeeded
//!   (initial value Failure). Liveness starts at Success, startup Unknown.
//! * The timer: the kubelet's ticker runs from the worker's creation;
//!   meshsim aligns a (re)started container's probes to its start plus
//!   `initialDelaySeconds` (then every `periodSeconds`), and gives the pods
//!   running when the run begins a random phase in `[0, periodSeconds)`
//!   (whole milliseconds)
//!   (their own stream: `Purpose::Chaos`, `probe/<ns>/<name>/<replica>/<kind>`).
//! * A probe is synchronous in the kubelet (a tick arriving while one
//!   waits is dropped): meshsim skips a tick while the previous probe waits.
//!
//! # How each kind is served
//! * `httpGet`, `grpc`: a free worker answers at once (a health handler
//!   costs no service time in meshsim); otherwise the probe joins the FIFO
//!   queue (refused with the queue-full status when the queue is full —
//!   a failure) and passes if a worker takes it before `timeoutSeconds`.
//!   With Istio the injector rewrites it to pilot-agent (port 15020), which
//!   forwards it to the app: the sidecar must run as well.
//! * `tcpSocket`: passes while the app listens (the kernel accepts the
//!   connection however busy the workers are).
//! * `exec`: meshsim cannot run the command: passes while the app listens.
//! * A probe of a container that is not listening fails at once
//!   (connection refused).

use super::life_step::{Part, Step};
use super::{Exec, World};
use crate::engine::SimDuration;
use crate::engine::rng::{Purpose, RngFactory, below};
use crate::scenario::spec::probe::Probe;
use crate::workload::load::NONE;

/// Probe slots: readiness, liveness, startup (as `Probes::get`).
const READINESS: u8 = 0;
const LIVENESS: u8 = 1;
const STARTUP: u8 = 2;
const NAMES: [&str; 3] = ["readiness", "liveness", "startup"];

/// One probe worker's state (`worker.go`: lastResult, resultRun, onHold).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Worker {
    last: Option<bool>,
    run: u32,
    on_hold: bool,
    /// Generation of the probe in flight (a queued waiter or a timeout
    /// of an older one is stale).
    generation: u32,
    waiting: bool,
}

/// A pod's probe workers.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PodProbes {
    w: [Worker; 3],
    /// The startup probe has succeeded (or there is none).
    started: bool,
}

impl World<'_> {
    fn probe_spec(&self, pod: u32, kind: u8) -> Option<Probe> {
        let dep = self.dep_of[pod as usize] as usize;
        let p = self.spec.chaos.probes.get(dep)?;
        p.get(kind as usize).copied()
    }

    /// The probe workers of every pod, and the first ticks of the pods
    /// that run when the run begins (already started and Ready).
    pub(super) fn init_probes(&mut self, f: &RngFactory, exempt: &[bool]) -> Vec<PodProbes> {
        let mut out = vec![PodProbes::default(); self.pods.len()];
        for pod in 0..self.pods.len() as u32 {
            let i = pod as usize;
            // notReadyReplicas pods fail readiness for the whole run.
            if exempt[i] || !self.pods[i].ready {
                continue;
            }
            out[i].started = true;
            if let Some(r) = self.probe_spec(pod, READINESS) {
                out[i].w[READINESS as usize].last = Some(true);
                out[i].w[READINESS as usize].run = r.success_threshold;
            }
            for kind in [READINESS, LIVENESS] {
                let Some(p) = self.probe_spec(pod, kind) else {
                    continue;
                };
                let pd = &self.pods[i];
                let d = &self.spec.deployments[pd.deployment as usize];
                let key = format!(
                    "probe/{}/{}/{}/{}",
                    d.namespace, d.name, pd.replica, NAMES[kind as usize]
                );
                let ms = below(
                    &mut f.of(Purpose::Chaos, &key),
                    p.period.as_nanos() / 1_000_000,
                );
                let at = crate::engine::SimTime::ZERO + SimDuration::from_millis(ms);
                if at < self.end {
                    self.schedule_step(
                        at,
                        Step::ProbeTick {
                            pod,
                            epoch: 0,
                            kind,
                        },
                    );
                }
            }
        }
        out
    }

    /// The containers of `pod` (re)started: its probes run from now plus
    /// their initial delay. A new pod (`Part::Pod`) gets new workers.
    pub(super) fn probes_started(&mut self, pod: u32, epoch: u32, what: Part) {
        let now = self.now();
        let no_startup = self.probe_spec(pod, STARTUP).is_none();
        let l = self.life.as_mut().expect("lifecycle");
        let st = &mut l.probes[pod as usize];
        if what == Part::Pod {
            *st = PodProbes::default();
        }
        for w in &mut st.w {
            w.on_hold = false;
            w.waiting = false;
            w.generation = w.generation.wrapping_add(1);
        }
        if what != Part::Sidecar {
            st.started = no_startup;
        }
        for kind in [STARTUP, READINESS, LIVENESS] {
            if let Some(p) = self.probe_spec(pod, kind) {
                let at = now + p.initial_delay;
                if at < self.end {
                    self.schedule_step(at, Step::ProbeTick { pod, epoch, kind });
                }
            }
        }
    }

    /// `pod`'s containers died (`pod_reset.rs`): a probe waiting in its
    /// queue is gone with it, neither passed nor failed (the worker resumes
    /// with the next container, as `doProbe` does on a new container ID).
    pub(super) fn probes_dropped(&mut self, pod: u32) {
        if let Some(st) = self
            .life
            .as_mut()
            .and_then(|l| l.probes.get_mut(pod as usize))
        {
            for w in &mut st.w {
                w.waiting = false;
            }
        }
    }

    /// A probe's period comes round (stale ticks never reach here).
    pub(super) fn probe_tick(&mut self, pod: u32, kind: u8, epoch: u32) {
        let p = self.probe_spec(pod, kind).expect("a tick has its probe");
        let next = self.now() + p.period;
        if next < self.end {
            self.schedule_step(next, Step::ProbeTick { pod, epoch, kind });
        }
        let l = self.life.as_mut().expect("lifecycle");
        let st = &mut l.probes[pod as usize];
        let w = &mut st.w[kind as usize];
        if w.on_hold || w.waiting || (kind == STARTUP) == st.started {
            return;
        }
        let pl = &l.pods[pod as usize];
        let reachable = pl.app_up && (pl.sidecar_up || !pl.has_sidecar);
        if !reachable {
            return self.probe_result(pod, kind, false, "connection refused");
        }
        if !p.kind.served_by_workers() {
            return self.probe_result(pod, kind, true, "");
        }
        let dep = self.dep_of[pod as usize] as usize;
        let limit = self.deps[dep].queue_limit;
        let now = self.now();
        let pd = &mut self.pods[pod as usize];
        if pd.has_free_worker() {
            return self.probe_result(pod, kind, true, "");
        }
        if limit.is_some_and(|l| pd.admissions_waiting >= l) {
            return self.probe_result(pod, kind, false, "queue full");
        }
        // Behind the traffic: a waiter no request owns.
        let l = self.life.as_mut().expect("lifecycle");
        let w = &mut l.probes[pod as usize].w[kind as usize];
        w.generation = w.generation.wrapping_add(1);
        w.waiting = true;
        let generation = w.generation;
        let e = self.execs.insert(Exec {
            req: NONE,
            pod,
            pc: 0,
            parent: NONE,
            root: NONE,
            pending: generation,
            holds_worker: false,
            fail: u16::from(kind),
            fail_chain: NONE,
            call: None,
            traced: false,
            dead: false,
        });
        let pd = &mut self.pods[pod as usize];
        pd.admissions_waiting += 1;
        pd.enqueue(now, e);
        let at = now + p.timeout;
        self.schedule_step(
            at,
            Step::ProbeTimeout {
                pod,
                kind,
                generation,
            },
        );
    }

    /// A worker took queued probe `e` (server.rs `release_worker`): it
    /// passes if the kubelet still waits for it. The worker is free again
    /// at once.
    pub(super) fn probe_dequeued(&mut self, e: u32) {
        let ex = self.execs.items[e as usize];
        self.execs.remove(e);
        let pd = &mut self.pods[ex.pod as usize];
        pd.admissions_waiting -= 1;
        let kind = ex.fail as u8;
        let l = self.life.as_mut().expect("lifecycle");
        let w = &mut l.probes[ex.pod as usize].w[kind as usize];
        if w.waiting && w.generation == ex.pending {
            w.waiting = false;
            self.probe_result(ex.pod, kind, true, "");
        }
    }

    /// `timeoutSeconds` after a queued probe was sent.
    pub(super) fn probe_timeout(&mut self, pod: u32, kind: u8, generation: u32) {
        let l = self.life.as_mut().expect("lifecycle");
        let w = &mut l.probes[pod as usize].w[kind as usize];
        if w.waiting && w.generation == generation {
            w.waiting = false;
            self.probe_result(pod, kind, false, "timed out waiting for a worker");
        }
    }

    /// One probe result, counted as `doProbe` counts it.
    fn probe_result(&mut self, pod: u32, kind: u8, ok: bool, why: &str) {
        let p = self.probe_spec(pod, kind).expect("probe");
        let l = self.life.as_mut().expect("lifecycle");
        let w = &mut l.probes[pod as usize].w[kind as usize];
        if w.last == Some(ok) {
            w.run += 1;
        } else {
            w.last = Some(ok);
            w.run = 1;
        }
        let threshold = if ok {
            p.success_threshold
        } else {
            p.failure_threshold
        };
        if w.run < threshold {
            return;
        }
        let run = w.run;
        match (kind, ok) {
            (READINESS, true) => self.set_ready(pod, true, "readiness probe passed"),
            (READINESS, false) => {
                let msg = format!("readiness probe failed {run}× ({why})");
                self.set_ready(pod, false, &msg)
            }
            (STARTUP, true) => {
                l.probes[pod as usize].started = true;
                self.pod_event(pod, "startup-passed", "startup probe passed".into());
                if self.probe_spec(pod, READINESS).is_none() {
                    self.set_ready(pod, true, "startup probe passed, no readiness probe");
                }
            }
            (LIVENESS, true) => {}
            (_, false) => {
                w.on_hold = true;
                w.run = 0;
                let detail = format!(
                    "{} probe failed {run}× ({why}, timeout {}): the kubelet restarts the app container",
                    NAMES[kind as usize],
                    SimDuration::from_nanos(p.timeout.as_nanos()),
                );
                self.app_container_died(pod, detail);
            }
            _ => unreachable!("probe kinds are 0..3"),
        }
    }
}
