//! Graceful pod termination: what happens between a controller's delete
//! and the pod's end, when its Deployment has a `preStop` hook or its app
//! drains on SIGTERM (`Workload.spec.onSigterm: drain`).
//!
//! Why a room of its own: it is the one thing that makes a deleted pod
//! linger, and the reason rolling updates fail requests or not.
//!
//! # The sequence (kubelet `killContainer`, `pkg/kubelet/kuberuntime/kuberuntime_container.go`)
//! * Deletion: the pod is terminating. The endpoints controller drops it
//!   at once (a terminating pod is no ready endpoint); kube-proxy and the
//!   sidecars learn after the endpoint propagation delay, as with any
//!   readiness change. The ReplicaSet no longer counts it
//!   (`FilterActivePods`) and creates its replacement now.
//! * The `preStop` hook runs (the app still serves whatever arrives).
//! * SIGTERM when the hook ends (or the grace period does). An app that
//!   exits on SIGTERM (`onSigterm: exit`, the default) dies now: its
//!   requests are reset. A draining app (`drain`) stops accepting
//!   connections (new ones are refused) and finishes what it has; the
//!   container exits when its last request is answered.
//! * SIGKILL at `terminationGracePeriodSeconds` after the deletion (plus
//!   the kubelet's one-off 2 s when the hook used the whole grace period,
//!   `minimumGracePeriodInSeconds`): what is still in flight is reset.
//!
//! Not simulated: the istio-proxy sidecar's own SIGTERM handling
//! (`terminationDrainDuration`): the pod's network side stays up until
//! the app's container ends. A pod-kill (Chaos Mesh's `gracePeriod` 0)
//! and an eviction from a lost node end the pod at once.

use super::World;
use super::life_step::Step;
use super::replicaset::Cause;
use crate::engine::{SimDuration, SimTime};

/// Kubelet's extra time when `preStop` used the whole grace period
/// (`minimumGracePeriodInSeconds`).
const HOOK_OVERRUN: SimDuration = SimDuration::from_secs(2);

/// Where a terminating pod is (`PodLife::terminating`).
pub(super) const PRE_STOP: u8 = 1;
pub(super) const DRAINING: u8 = 2;

impl World<'_> {
    /// Deletes `p` gracefully when its pods linger (a preStop hook, an app
    /// that drains); false when it would die at once (the caller kills it).
    pub(super) fn terminate(&mut self, p: u32, why: &str) -> bool {
        let d = self.dep_of[p as usize] as usize;
        let t = self
            .spec
            .chaos
            .termination
            .get(d)
            .copied()
            .unwrap_or_default();
        let drain = self.spec.deployments[d].behaviour.drain_on_sigterm;
        if (t.pre_stop == SimDuration::ZERO) && !drain {
            return false;
        }
        let now = self.now();
        let hook = if t.pre_stop >= t.grace {
            t.grace
        } else {
            t.pre_stop
        };
        let kill = if t.pre_stop >= t.grace && t.pre_stop != SimDuration::ZERO {
            t.grace + HOOK_OVERRUN
        } else {
            t.grace
        };
        let l = self.life.as_mut().expect("lifecycle");
        let pl = &mut l.pods[p as usize];
        pl.terminating = PRE_STOP;
        pl.kill_at = now + kill;
        let epoch = pl.epoch;
        let detail = format!("{why}: preStop {}, grace period {}", t.pre_stop, t.grace);
        self.pod_event(p, "terminating", detail);
        self.set_ready(p, false, "pod terminating");
        self.at_or_now(now + hook, Step::Sigterm { pod: p, epoch });
        true
    }

    fn at_or_now(&mut self, at: SimTime, step: Step) {
        if at < self.end {
            self.schedule_step(at, step);
        }
    }

    /// The app container gets SIGTERM.
    pub(super) fn on_sigterm(&mut self, p: u32) {
        let d = self.dep_of[p as usize] as usize;
        if !self.spec.deployments[d].behaviour.drain_on_sigterm {
            self.end_terminating(p, "exited on SIGTERM");
            return;
        }
        let l = self.life.as_mut().expect("lifecycle");
        let pl = &mut l.pods[p as usize];
        pl.terminating = DRAINING;
        pl.app_up = false;
        let (epoch, kill_at) = (pl.epoch, pl.kill_at);
        self.pod_event(
            p,
            "sigterm",
            "the app stops accepting connections and finishes its requests".into(),
        );
        if self.idle(p) {
            self.end_terminating(p, "exited: its last request answered");
        } else {
            let at = kill_at.max(self.now());
            self.at_or_now(at, Step::Kill { pod: p, epoch });
        }
    }

    fn idle(&self, p: u32) -> bool {
        let pod = &self.pods[p as usize];
        pod.busy == 0 && pod.queue.is_empty()
    }

    /// A worker of `p` became free (server.rs, only with a lifecycle).
    pub(super) fn worker_freed(&mut self, p: u32) {
        let pl = &self.life.as_ref().expect("lifecycle").pods[p as usize];
        if pl.terminating == DRAINING && self.idle(p) {
            let epoch = pl.epoch;
            let now = self.now();
            self.schedule_step(now, Step::Kill { pod: p, epoch });
        }
    }

    /// The grace period is over, or a draining app answered its last
    /// request.
    pub(super) fn on_kill(&mut self, p: u32) {
        let pl = &self.life.as_ref().expect("lifecycle").pods[p as usize];
        if pl.terminating != DRAINING {
            return;
        }
        let why = if self.idle(p) {
            "exited: its last request answered"
        } else {
            "killed at the grace period (SIGKILL)"
        };
        self.end_terminating(p, why);
    }

    /// The pod ends; a ReplicaSet that lacked a free slot for a
    /// replacement creates it now.
    fn end_terminating(&mut self, p: u32, why: &str) {
        self.kill_pod(p, why);
        let rs = self.dep_of[p as usize] as usize;
        self.replica_set_sync(rs, Cause::Controller);
    }
}
