//! The inbound sidecar's own retry: a request reaches a pod whose
//! istio-proxy runs but whose app container does not listen (killed,
//! restarting, starting up).
//!
//! Why a room of its own: this is the one retry a *server's* Envoy makes,
//! and it decides what a dead app behind a live sidecar looks like to
//! clients. Istio 1.28 gives every non-gRPC inbound HTTP route
//! `retry_on: reset-before-request`, `num_retries: 2`, hard-coded, none
//! when the port's protocol `IsGRPC()` (gRPC or gRPC-Web) — istio/istio
//! tag 1.28.10 `pilot/pkg/networking/core/route/route.go`
//! `BuildDefaultHTTPInboundRoute`, `pkg/config/protocol/instance.go`
//! (`istiod::resilience::inbound_retry_policy`).
//! Envoy retries a connection failure under it — the request was never
//! sent — with its default jittered back-off (envoyproxy/envoy
//! `source/common/router/retry_state_impl.cc` `wouldRetryFromReset`:
//! `RETRY_ON_RESET_BEFORE_REQUEST && !upstream_request_started` ⇒
//! `RetryWithBackoff`; base 25 ms: waits in [0, 25) then [0, 50) ms). So:
//! * the app listens again within the back-off ⇒ the request is served,
//!   only later;
//! * it does not ⇒ after 2 retries the inbound Envoy answers 503 with
//!   `UF,URX` in its own log (on a gRPC port: at once, `UF`);
//! * the whole pod dies meanwhile ⇒ the connection is reset (status 0).
//!
//! A request the app was already serving when it died was sent: not
//! retried (503 `UC`, `pod_reset.rs`).

use super::World;
use super::life_step::Step;
use crate::engine::rng::SimRng;
use crate::istiod::resilience::inbound_retry_policy;
use crate::proxy::flags::ResponseFlag;
use crate::proxy::protocol::Protocol;
use crate::proxy::retry::JitteredBackoff;
use crate::workload::load::NONE;

impl World<'_> {
    /// Whether the Service port request `r` targets is a gRPC (or
    /// gRPC-Web) port.
    fn grpc_port(&self, r: u32) -> bool {
        let t = self.requests.items[r as usize].target;
        matches!(
            self.spec.services[t.service].ports[t.port].protocol(),
            Protocol::Grpc | Protocol::GrpcWeb
        )
    }

    /// `r` found `pod`'s app not listening behind a live sidecar; `tried`
    /// retries were made. Schedules the next retry, or answers 503.
    pub(super) fn inbound_refused(&mut self, r: u32, pod: u32, tried: u32) {
        let policy = inbound_retry_policy(self.grpc_port(r));
        if tried < policy.num_retries {
            let mut b = JitteredBackoff::new(policy.backoff_base, policy.backoff_max);
            let l = self.life.as_mut().expect("lifecycle");
            let rng: &mut SimRng = &mut l.inbound_rng[pod as usize];
            let mut wait = b.next_backoff(rng);
            for _ in 0..tried {
                wait = b.next_backoff(rng);
            }
            if self.requests.items[r as usize].traced {
                let msg = format!(
                    "{}'s inbound sidecar cannot connect to the app (refused): retry {} of {} (reset-before-request) in {wait}",
                    self.pod_name(pod),
                    tried + 1,
                    policy.num_retries
                );
                self.trace_log(r, msg);
            }
            let at = self.now() + wait;
            self.schedule_step(
                at,
                Step::InboundRetry {
                    req: r,
                    pod,
                    tried: tried + 1,
                },
            );
            return;
        }
        let (cause, msg) = if policy.num_retries > 0 {
            (
                "UF,URX inbound sidecar: app not listening",
                "its inbound sidecar's retries (reset-before-request ×2) all fail to connect: it answers 503 (UF,URX)",
            )
        } else {
            (
                "UF inbound sidecar: app not listening",
                "its inbound sidecar cannot connect (gRPC port: no inbound retry): it answers 503 (UF)",
            )
        };
        if self.requests.items[r as usize].traced {
            let msg = format!("{} is not listening: {msg}", self.pod_name(pod));
            self.trace_log(r, msg);
        }
        self.answer_here(r, 503, cause);
    }

    /// The inbound sidecar's back-off for `r` is over.
    pub(super) fn on_inbound_retry(&mut self, r: u32, pod: u32, tried: u32) {
        let pl = &self.life.as_ref().expect("lifecycle").pods[pod as usize];
        if !pl.sidecar_up {
            // The pod (or its sidecar) died meanwhile: the connection resets.
            let q = &mut self.requests.items[r as usize];
            if matches!(q.origin, super::Origin::Attempt { .. }) {
                q.flags.insert(ResponseFlag::UpstreamConnectionTermination);
            }
            if q.traced {
                let msg = format!(
                    "{}'s sidecar is gone: the connection is reset",
                    self.pod_name(pod)
                );
                self.trace_log(r, msg);
            }
            return self.answer_here(r, 0, "connection reset (pod died)");
        }
        if !pl.app_up {
            return self.inbound_refused(r, pod, tried);
        }
        if self.requests.items[r as usize].traced {
            let msg = format!(
                "{}'s inbound sidecar retries: the app listens again",
                self.pod_name(pod)
            );
            self.trace_log(r, msg);
        }
        self.arrive_at_pod(r, pod);
    }

    /// Ends `r` at its pod's Service with `status` because of `cause`
    /// (nothing reached the app: not counted server-side).
    pub(super) fn answer_here(&mut self, r: u32, status: u16, cause: &str) {
        let svc = self.requests.items[r as usize].target.service as u32;
        let node = crate::metrics::propagation::Node::Service(svc);
        let c = self.chain(node, status, cause, NONE);
        self.requests.items[r as usize].chain = c;
        self.respond(r, status);
    }
}
