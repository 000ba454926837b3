//! Envoy response flags per Service, as the caller's proxy saw them
//! (issue #10 item 7: `summary.json` counts `flags` per load, service, route
//! and destination).
//!
//! Why here and not where the server records: a request that fails before a
//! destination is chosen (NR, NC, UO, DI, FI, UH) never reaches a pod of the
//! Service, yet it was a request *to* that Service. So the count is taken
//! where the answer reaches the caller — a load, an app's call, or a
//! gateway's passthrough request — keyed by the Service the request
//! targeted, with the flags its proxy set (`-` when none); where a
//! gateway's router answers its downstream (an ingress gateway's stream to
//! the backend Service); and where an app's own call timeout abandons the
//! request (`DC`: its sidecar resets the stream). These are the places
//! `propagation`'s caller → callee edges count requests, so a Service's
//! flag counts add up to the requests of the edges into it. A request is counted when it started inside the
//! measurement window, as loads count theirs, so for a Service only loads
//! call, its flags equal the loads' exactly (tests/service_flags.rs).
//!
//! The counts live in the Service recorder's `flags` (the server-side
//! recorder's counts are untouched); a paired workload's copy drops them
//! (world/twin.rs), so workloads keep their shape. Only with a mesh.

use super::{Origin, Request, World};
use crate::proxy::flags::ResponseFlags;

impl World<'_> {
    /// The answer to `req` reached its origin (mesh only; `req` is the
    /// request's record as it completed).
    pub(super) fn service_flags_on_complete(&mut self, req: &Request) {
        let caller_side = match req.origin {
            Origin::Load { .. } | Origin::Call { .. } => true,
            Origin::Proxy { parent } => self.is_gateway(self.requests.items[parent as usize].pod),
            _ => false,
        };
        if caller_side && self.window.contains(req.start) {
            self.rec_svc[req.target.service].count_flags(req.flags);
        }
    }

    /// A gateway's router answered its downstream `down` for `service` with
    /// `flags` (called only for streams that started inside the window).
    /// Counted when `down` targeted another Service (an ingress gateway's
    /// own); an egress gateway's downstream already targeted `service` and
    /// is counted where its caller gets the answer (one request, one count).
    pub(super) fn service_flags_at_gateway(
        &mut self,
        down: u32,
        service: usize,
        flags: ResponseFlags,
    ) {
        if self.requests.items[down as usize].target.service != service {
            self.rec_svc[service].count_flags(flags);
        }
    }

    /// An app's call to `service` timed out (its request, started at
    /// `start`, is abandoned): its proxy reset the stream (`DC` with the
    /// flags it had, `proxied`) or, without a proxy, no flag.
    pub(super) fn service_flags_on_app_timeout(
        &mut self,
        service: usize,
        start: crate::engine::SimTime,
        flags: Option<ResponseFlags>,
    ) {
        if self.mesh.is_none() || !self.window.contains(start) {
            return;
        }
        let f = flags.map_or(ResponseFlags::NONE, |f| {
            f.with(crate::proxy::flags::ResponseFlag::DownstreamConnectionTermination)
        });
        self.rec_svc[service].count_flags(f);
    }
}
