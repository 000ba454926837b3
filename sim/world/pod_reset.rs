//! The requests on a pod that dies, or that is not listening (Chaos Mesh
//! experiments, `pod_lifecycle.rs`): how each ends, exactly once.
//!
//! Why a room of its own: the lifecycle decides *when* a pod dies; this
//! file decides what that means for everything in flight on it — the one
//! place that walks the live executions and requests of a pod.
//!
//! # What a dying pod does to the requests on it
//! Each request ends exactly once (the accounting invariant):
//! * at the pod (queued, computing, waiting on its calls): answered at once
//!   as a connection reset — status 0 to a client without a proxy; a client
//!   proxy's attempt sees Envoy's `UC` (upstream connection termination,
//!   503, retried only under `reset`, not under Istio's default `retryOn`).
//!   When only the app container died and the pod's sidecar lives, the
//!   inbound Envoy answers `503` itself (its upstream reset mid-request: UC
//!   in its own log), so the client's proxy sees a plain 503.
//!   The server side records these with that status.
//! * its own calls in flight: abandoned (the caller is gone; the callee
//!   finishes the work, as with an app timeout), and their client-proxy
//!   streams reset (`DC`).
//! * on the way to the pod, or sent later while the endpoint is still
//!   listed: connection refused — status 0, `UF` for a client proxy (retried
//!   under `connect-failure`, which Istio's default `retryOn` has); with a
//!   live sidecar and a dead app, the inbound Envoy retries
//!   (`inbound_retry.rs`: `reset-before-request`, 2, Envoy's back-off) and
//!   answers 503 (`UF,URX` in its own log) unless the app listens again
//!   meanwhile. Neither is counted server-side (nothing reached the app).
//! * a response already on its way back arrives.
//!

use super::{Origin, World};
use crate::engine::SimDuration;
use crate::engine::rng::unit_f64;
use crate::proxy::flags::ResponseFlag;
use crate::workload::load::NONE;
use crate::workload::script::Op;

impl World<'_> {
    /// A request arrives at `pod`: false when the pod serves it; true when
    /// it was answered here (refused) or handed to the inbound sidecar's
    /// retry (`inbound_retry.rs`).
    pub(super) fn refused_at(&mut self, r: u32, pod: u32) -> bool {
        if self.cut_off(r, pod) {
            return true;
        }
        let Some(l) = &self.life else { return false };
        let pl = &l.pods[pod as usize];
        if pl.app_up && pl.sidecar_up {
            return false;
        }
        if pl.has_sidecar && pl.sidecar_up {
            self.inbound_refused(r, pod, 0);
            return true;
        }
        if self.requests.items[r as usize].traced {
            let msg = format!(
                "{} is not listening: connection refused",
                self.pod_name(pod)
            );
            self.trace_log(r, msg);
        }
        self.answer_here(r, 0, "connection refused");
        true
    }

    /// Extra egress delay of `pod` (NetworkChaos delay), drawn per packet
    /// train: netem's correlated uniform jitter.
    pub(super) fn egress_delay(&mut self, pod: u32) -> SimDuration {
        let Some(l) = &mut self.life else {
            return SimDuration::ZERO;
        };
        let Some(d) = &mut l.pods[pod as usize].delay else {
            return SimDuration::ZERO;
        };
        if d.jitter == SimDuration::ZERO {
            return d.latency;
        }
        let u = unit_f64(&mut l.netem_rng[pod as usize]);
        let x = (1.0 - d.rho) * u + d.rho * d.last;
        d.last = x;
        let j = d.jitter.as_nanos() as f64 * (2.0 * x - 1.0);
        let ns = (d.latency.as_nanos() as f64 + j).max(0.0);
        SimDuration::from_nanos(ns.round() as u64)
    }

    /// Ends everything in flight on `pod`: its executions stop, requests at
    /// it are answered with `status` (0 = reset, `UC` for a client proxy;
    /// 503 = the inbound sidecar's answer), its calls are abandoned and its
    /// pinned connections forgotten.
    pub(super) fn reset_pod(&mut self, pod: u32, status: u16, why: &str) {
        let now = self.now();
        let mut free = vec![false; self.execs.items.len()];
        for &i in &self.execs.free {
            free[i as usize] = true;
        }
        let queued: Vec<u32> = {
            let mut q: Vec<u32> = self.pods[pod as usize].queue.iter().copied().collect();
            q.sort_unstable();
            q
        };
        let mine: Vec<u32> = (0..self.execs.items.len() as u32)
            .filter(|&e| !free[e as usize])
            .filter(|&e| {
                let ex = &self.execs.items[e as usize];
                ex.pod == pod && !ex.dead
            })
            .collect();
        for e in mine {
            let ex = self.execs.items[e as usize];
            if let Some(cs) = ex.call {
                let q = cs.outstanding as usize;
                if self.requests.items[q].live
                    && matches!(self.requests.items[q].origin, Origin::Call { exec, .. } if exec == e)
                {
                    self.requests.items[q].origin = Origin::Abandoned;
                    let stream = self.requests.items[q].stream;
                    if stream != NONE {
                        self.reset_stream(stream);
                    }
                }
                self.execs.items[e as usize].call = None;
            }
            let dep = self.dep_of[pod as usize] as usize;
            let computing = matches!(self.deps[dep].program.ops[ex.pc as usize], Op::Compute(_))
                && queued.binary_search(&e).is_err();
            if computing {
                // Its ComputeDone is pending: freed when it pops.
                self.execs.items[e as usize].dead = true;
            } else {
                self.execs.remove(e);
            }
        }
        let p = &mut self.pods[pod as usize];
        p.touch(now);
        p.queue.clear();
        p.busy = 0;
        p.admissions_waiting = 0;
        // Requests at the pod end now, each exactly once.
        let at: Vec<u32> = (0..self.requests.items.len() as u32)
            .filter(|&r| {
                let q = &self.requests.items[r as usize];
                q.live && q.at_server && q.pod == pod
            })
            .collect();
        for r in at {
            let q = &mut self.requests.items[r as usize];
            if status == 0 && matches!(q.origin, Origin::Attempt { .. }) {
                q.flags.insert(ResponseFlag::UpstreamConnectionTermination);
            }
            let traced = q.traced;
            if traced {
                let msg = format!(
                    "{} dies ({why}): the request is {}",
                    self.pod_name(pod),
                    if status == 0 {
                        "reset (no response)".to_string()
                    } else {
                        format!("answered {status} by the inbound sidecar (UC)")
                    }
                );
                self.trace_log(r, msg);
            }
            let cause = if status == 0 {
                "connection reset (pod died)"
            } else {
                "UC inbound sidecar: app container died"
            };
            let svc = self.requests.items[r as usize].target.service as u32;
            let c = self.chain(
                crate::metrics::propagation::Node::Service(svc),
                status,
                cause,
                NONE,
            );
            self.requests.items[r as usize].chain = c;
            self.server_done(r, status);
        }
        // Idle keep-alive connections to it are closed (the kernel sends FIN).
        for l in &mut self.loads {
            for c in &mut l.conns {
                if c.pod == pod {
                    c.pod = NONE;
                }
            }
        }
        self.forget_pod(pod);
        self.probes_dropped(pod);
    }
}
