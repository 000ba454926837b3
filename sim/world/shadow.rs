//! Envoy's request mirroring ("shadowing", `shadow_policies` in the route
//! Istio writes from `mirror`/`mirrors`/`mirrorPercentage`): when the router
//! starts, each mirror drawn for this request gets a copy, sent to a host of
//! the mirror's cluster picked by this proxy's balancer, fire and forget —
//! the response is discarded and the caller never waits for it, but the copy
//! is real load on the mirror target (counted there, `Origin::Mirror`).
//!
//! Why a file of its own: the router (`router.rs`) owns attempts, timeouts
//! and retries of the one request the caller waits for; a mirror takes part
//! in none of that. Which mirrors fire is `proxy::mirror`'s pure decision.

use super::{Origin, Request, World};
use crate::istiod::xds::ClusterIx;
use crate::proxy::mirror::{self, MirrorPolicy};
use crate::scenario::spec::Target;

/// What a mirror copies of the downstream request: the client proxy, the
/// interned request attributes and headers, and the request itself.
pub(super) struct Copy {
    pub client: u32,
    pub attrs: u32,
    pub headers: u32,
    pub down: u32,
}

impl World<'_> {
    /// Mirrors of the route (`shadow_policies`): fire-and-forget copies to
    /// their clusters, Host unchanged (Istio 1.28 sets
    /// `disable_shadow_host_suffix_append`).
    pub(super) fn shadow(&mut self, mirrors: &[MirrorPolicy<ClusterIx>], copy: Copy) {
        let Copy {
            client,
            attrs,
            headers,
            down,
        } = copy;
        let m = self.mesh.as_mut().expect("mesh");
        let chosen = mirror::mirrors_for_request(mirrors, &mut m.mirror_rng[client as usize]);
        let now = self.now();
        let xds = self.xds;
        for i in chosen {
            let cix = mirrors[i].cluster;
            let c = &xds.clusters[cix as usize];
            let crate::istiod::xds::ClusterKind::Service { service, port, .. } = c.kind else {
                continue; // a mirror to a cluster with no endpoints goes nowhere
            };
            let lbi = self.balancer_for(client, cix, service, port);
            let m = self.mesh.as_mut().expect("mesh");
            let src = self.requests.items[down as usize].client;
            let Some((host, pod, _)) = super::sidecar::pick(m, lbi, c, attrs, (client, src), 0)
            else {
                continue;
            };
            let down_req = self.requests.items[down as usize];
            let from = self.proxy_node(client, down_req.from);
            let target = Target { service, port };
            let r = self.requests.insert(Request {
                pod,
                depth: down_req.depth.saturating_add(1),
                headers,
                attrs,
                lb: lbi,
                lb_host: host,
                ..Request::new(Origin::Mirror, target, client, from, now)
            });
            if down_req.traced {
                let msg = format!(
                    "mirror to {}: a copy goes to {} (response discarded)",
                    c.name,
                    self.pod_name(pod)
                );
                self.trace_log(down, msg);
            }
            self.dispatch(r, false);
        }
    }
}
