//! The ingress-nginx proxy hop: a controller pod forwarding to a backend pod.
//!
//! Requests that enter through an Ingress reach an ingress-nginx controller
//! pod like any other request (kube-proxy / node port / cloud LB, see
//! [`connection`](super::connection)). Instead of a script, the controller
//! proxies: the route was matched when the scenario was built
//! (`cluster::ingress`), and the upstream request goes straight to a backend
//! pod, round robin per (controller pod, backend) over the ready endpoints, on
//! warm keep-alive connections — no kube-proxy, no handshake. The upstream
//! answer (or 502 when no response came) becomes the controller's answer.
//!
//! The Istio hops are its siblings: `sidecar.rs` and `gateway.rs` (see the
//! module docs of `world`).

use super::{Origin, Request, World};

impl World<'_> {
    /// The ingress controller pod `pod` forwards `r` (see `cluster::ingress`):
    /// round robin over the backend's ready endpoints, on warm keep-alive
    /// upstream connections (no kube-proxy, no handshake).
    pub(super) fn proxy(&mut self, r: u32, pod: u32) {
        let parent = self.requests.items[r as usize];
        let hop = match parent.origin {
            Origin::Load { load, .. } => self.spec.loads[load as usize].entry.ingress.as_ref(),
            _ => None,
        };
        let Some(hop) = hop else {
            self.server_done(r, 404);
            return;
        };
        let Some(t) = hop.backend else {
            let st = hop.status;
            self.server_done(r, st);
            return;
        };
        let eps = &self.endpoints[t.service][t.port];
        if eps.is_empty() {
            self.server_done(r, 503);
            return;
        }
        let slot = match self.rr.iter().position(|e| e.0 == pod && e.1 == t) {
            Some(i) => i,
            None => {
                self.rr.push((pod, t, 0));
                self.rr.len() - 1
            }
        };
        let k = self.rr[slot].2;
        self.rr[slot].2 = k.wrapping_add(1);
        let backend = eps[k as usize % eps.len()];
        let now = self.now();
        let client = (self.spec.loads.len() + pod as usize) as u32;
        let origin = Origin::Proxy { parent: r };
        let child = self.requests.insert(Request {
            pod: backend,
            depth: parent.depth.saturating_add(1),
            headers: parent.headers,
            traced: parent.traced,
            // Without a mesh `attrs` is the line after `rewrite-target`.
            attrs: match (parent.origin, &self.mesh) {
                (Origin::Load { load, .. }, None) => self.ep.ingress_line(load as usize),
                _ => parent.attrs,
            },
            ..Request::new(origin, t, client, self.node_of[pod as usize], now)
        });
        if parent.traced {
            let svc = &self.spec.services[t.service];
            let msg = format!(
                "ingress-nginx on {} routes to {}.{}:{}, round robin → pod {} (keep-alive upstream)",
                self.pod_name(pod),
                svc.name,
                svc.namespace,
                svc.ports[t.port].port,
                self.pod_name(backend)
            );
            self.trace_log(r, msg);
        }
        self.dispatch(child, false);
    }
    /// The upstream answer to the controller's request on behalf of `parent`
    /// arrives: the controller answers `parent` with it.
    pub(super) fn proxy_response(&mut self, parent: u32, status: u16) {
        if self.is_gateway(self.requests.items[parent as usize].pod) {
            self.gateway_response(parent, status);
            return;
        }
        // nginx answers 502 when the upstream connection fails.
        self.server_done(parent, if status == 0 { 502 } else { status })
    }
}
