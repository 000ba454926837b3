//! Envoy's tcp_proxy in a sidecar or gateway: what happens to a connection
//! that reaches an L4 listener (`ListenerKind::Tcp`) — Istio's outbound
//! listener for a TCP/TLS port, a gateway's TCP server or TLS passthrough.
//!
//! A meshsim request on such a listener is **one downstream connection**:
//! loads and calls open one per request unless they keep connections alive,
//! and with a sidecar the app's connection *is* the tcp_proxy's downstream
//! (a load's keep-alive connections are not reused past the proxy: each
//! request still picks its chain, cluster and host, as if every request were
//! a fresh connection — istio.io's TCP tasks use one `nc` per message, so
//! per-connection and per-request agree there). Per connection
//! (`source/common/tcp_proxy/tcp_proxy.cc`, Envoy 1.36 as Istio 1.28 ships):
//! 1. filter chain: destination, then SNI ([`crate::proxy::filter_chain`]);
//!    none ⇒ the connection is closed, flag `NR`;
//! 2. the chain's tcp_proxy picks a weighted cluster
//!    (`WeightedClusterUtil::pickCluster`); a cluster that does not exist
//!    (undefined subset) ⇒ `NC` (`downstream_cx_no_route`);
//! 3. `establishUpstreamConnection`: the cluster's `max_connections`
//!    (DestinationRule `tcp.maxConnections`) is checked **before** the pool
//!    — full ⇒ closed, `UO`, `upstream_cx_overflow` (no pending queue, no
//!    per-worker leeway: the check is the cluster's, not the pool's);
//! 4. the load balancer picks a host (the same balancer, outlier detector
//!    and pool as the HTTP router: `router.rs` runs the connection as a
//!    stream with a policy of its own, [`TCP_POLICY`]); no host ⇒ `UH`;
//! 5. connect failure ⇒ `UF` and, since Istio writes no
//!    `max_connect_attempts` (`pilot/pkg/networking/core/networkfilter.go`
//!    @1.28.10; Envoy's default 1), no second attempt: `onConnectMaxAttempts`
//!    adds `URX` and bumps `upstream_cx_connect_attempts_exceeded`.
//!
//! No HTTP on the way: no route timeout, no retries, no fault injection, no
//! mirrors, no header routing, no rewrites — the app's bytes (meshsim's HTTP
//! status) pass through unchanged. A connection tcp_proxy closes itself has
//! no response: status 0 with the flag. The outlier detector hears
//! `LocalOriginConnectFailed` or `LocalOriginConnectSuccessFinal` (a 200
//! without `splitExternalLocalOriginErrors`), never an HTTP status.
//!
//! TLS: the client's SNI is the host it dialled (the request's authority
//! without port) when the port it dialled is TLS to Istio (Service port
//! `https`/`tls` by name or appProtocol, ServiceEntry `protocol: TLS|HTTPS`;
//! a Load's `https://` URL defaults to 443); a plain connection has none.
//! Passthrough forwards the ClientHello, so the next proxy (an egress
//! gateway's PASSTHROUGH server) sees the same SNI.
//!
//! Stats: a chain built from a VirtualService `tcp`/`tls` route counts under
//! `routes.<ns>/<vs>/<index>`, its cluster under `destinations`, the weighted
//! pick under the route's splits — as HTTP routes do.

use super::sidecar::{RouteResult, Routed};
use super::{Request, World};
use crate::engine::SimTime;
use crate::istiod::xds::{ClusterKind, ListenerKind, RoutePolicy};
use crate::proxy::breaker::{ClusterCounter, Resource};
use crate::proxy::filter_chain;
use crate::proxy::flags::{ResponseFlag, ResponseFlags};
use crate::proxy::retry::RetryPolicy;
use crate::scenario::spec::Target;
use crate::workload::load::NONE;
use std::sync::LazyLock;

/// The router policy key of a tcp_proxy stream (no route table behind it).
pub(super) const TCP_POLICY_KEY: (u32, u32, u32) = (NONE, NONE, NONE);

/// What a tcp_proxy connection gets from the router: no timeout, no retry
/// (one connect attempt), no fault, no mirror.
pub(super) static TCP_POLICY: LazyLock<RoutePolicy> = LazyLock::new(|| RoutePolicy {
    retry: RetryPolicy::disabled(),
    ..RoutePolicy::default()
});

/// The downstream's view of a tcp_proxy connection that ended with
/// (`status`, `flags`): tcp_proxy's own failures close the connection
/// (status 0), a connect failure also ran out of connect attempts (`URX`);
/// the upstream's answer passes through as it is.
pub(super) fn tcp_reply(status: u16, mut flags: ResponseFlags) -> (u16, ResponseFlags) {
    if flags.is_empty() {
        return (status, flags);
    }
    if flags.contains(ResponseFlag::UpstreamConnectionFailure) {
        flags.insert(ResponseFlag::UpstreamRetryLimitExceeded);
    }
    (0, flags)
}

impl World<'_> {
    /// The SNI of connection `req`: its host when the port it dialled is
    /// TLS to Istio, else None (see the module docs).
    fn tls_sni(&self, req: &Request) -> Option<String> {
        let spec = self.spec;
        let t = req.target;
        let svc = &spec.services[t.service];
        let m = self.mesh.as_ref()?;
        let authority = &*m.attrs[req.attrs as usize].authority;
        let host = match authority.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        }
        .to_ascii_lowercase();
        let mut tls = crate::istiod::sidecar::is_tls_port(svc, t.port);
        if !tls && crate::istiod::service_entry::is_stand_in(spec, t.service) {
            let port = svc.ports[t.port].port;
            tls = crate::istiod::service_entry::find(spec, &host, port)
                .is_some_and(|se| crate::istiod::service_entry::is_tls(se.port));
        }
        tls.then_some(host)
    }

    /// tcp_proxy of the proxy of `client` (proxy `pi`, its listener `li`)
    /// for connection `r` (see the module docs); `start` decides whether
    /// the stats count it. The result is applied as an HTTP route's is.
    pub(super) fn route_tcp(
        &mut self,
        r: u32,
        client: u32,
        (pi, li): (u32, usize),
        start: SimTime,
        who: &str,
    ) -> RouteResult {
        let xds = self.xds;
        let ListenerKind::Tcp { routes } = &xds.proxies[pi as usize].listeners[li].kind else {
            unreachable!("route_tcp needs a tcp_proxy listener");
        };
        let req = self.requests.items[r as usize];
        let sni = self.tls_sni(&req);
        let chain = filter_chain::select(
            routes.len(),
            |i| (routes[i].destination, &routes[i].sni[..]),
            req.target.service,
            sni.as_deref(),
        );
        let sni_note = sni
            .as_deref()
            .map_or("no SNI (plain TCP)".to_string(), |s| format!("SNI {s}"));
        let Some(ci) = chain else {
            if req.traced {
                let msg = format!(
                    "{who}: tcp_proxy listener, {sni_note}: no filter chain matches → connection closed (NR)"
                );
                self.trace_log(r, msg);
            }
            return local(NONE, NONE, ResponseFlag::NoRouteFound);
        };
        let tr = &routes[ci];
        let counted = self.window.contains(start);
        let m = self.mesh.as_mut().expect("tcp_proxy needs the mesh");
        let wi = filter_chain::pick_weighted(&tr.clusters, &mut m.route_rng[client as usize]);
        let (route, splits) = &m.tcp_ix[pi as usize][li][ci];
        let route = *route;
        let cix = tr.clusters[wi].0;
        let dest = m.dest_ix[cix as usize];
        if counted {
            if route != NONE {
                m.rec_route[route as usize].requests += 1;
            }
            if let Some(&s) = splits.get(wi) {
                m.splits[s as usize].requests += 1;
            }
            m.rec_dest[dest as usize].requests += 1;
        }
        let cluster = &xds.clusters[cix as usize];
        if req.traced {
            let by = match (&tr.key, tr.sni.is_empty()) {
                (Some(k), true) => format!("route {k}"),
                (Some(k), false) => format!("route {k} (server names {})", tr.sni.join(", ")),
                (None, true) => "the default chain".to_string(),
                (None, false) => format!("the chain for {}", tr.sni.join(", ")),
            };
            let split = if tr.clusters.len() > 1 {
                let total: u64 = tr.clusters.iter().map(|&(_, w)| u64::from(w)).sum();
                format!(
                    ", weighted pick {} of {total} (per connection)",
                    tr.clusters[wi].1
                )
            } else {
                String::new()
            };
            let msg = format!(
                "{who}: tcp_proxy listener, {sni_note}: filter chain {by} → cluster {}{split}",
                cluster.name
            );
            self.trace_log(r, msg);
        }
        let (service, port) = match &cluster.kind {
            ClusterKind::Service { service, port, .. } => (*service, *port),
            ClusterKind::Passthrough => {
                return RouteResult {
                    routed: Routed::Passthrough,
                    route,
                    dest,
                };
            }
            ClusterKind::BlackHole => return local(route, dest, ResponseFlag::NoHealthyUpstream),
            ClusterKind::Missing => {
                if req.traced {
                    let msg = format!(
                        "cluster {} does not exist → connection closed (NC)",
                        cluster.name
                    );
                    self.trace_log(r, msg);
                }
                return local(route, dest, ResponseFlag::NoClusterFound);
            }
        };
        let lb = self.balancer_for(client, cix, service, port);
        if lb != NONE {
            let now = self.now();
            let m = self.mesh.as_mut().expect("mesh");
            let st = &mut m.lb_states[lb as usize];
            if !st.rm.can_create(Resource::Connections) {
                st.stats.inc(ClusterCounter::UpstreamCxOverflow);
                let (c, cl) = (st.client, st.cluster);
                let max = st.rm.max(Resource::Connections);
                m.rejections.push((c, cl, now));
                if req.traced {
                    let msg = format!(
                        "cluster {}: maxConnections {max} reached → connection closed (UO), upstream_cx_overflow",
                        cluster.name
                    );
                    self.trace_log(r, msg);
                }
                return local(route, dest, ResponseFlag::UpstreamOverflow);
            }
        }
        RouteResult {
            routed: Routed::Upstream {
                cluster: cix,
                target: Target { service, port },
                lb,
                attrs: req.attrs,
                headers: req.headers,
                policy: TCP_POLICY_KEY,
            },
            route,
            dest,
        }
    }
}

/// tcp_proxy closes the connection itself with `flag`.
fn local(route: u32, dest: u32, flag: ResponseFlag) -> RouteResult {
    RouteResult {
        routed: Routed::Local {
            status: 0,
            flags: flag.into(),
        },
        route,
        dest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_replies_close_the_connection_and_connect_failures_run_out_of_attempts() {
        let uf: ResponseFlags = ResponseFlag::UpstreamConnectionFailure.into();
        let (s, f) = tcp_reply(503, uf);
        assert_eq!(s, 0);
        assert_eq!(f.to_string(), "UF,URX");
        let (s, f) = tcp_reply(503, ResponseFlag::NoHealthyUpstream.into());
        assert_eq!((s, f.to_string().as_str()), (0, "UH"));
        assert_eq!(
            tcp_reply(200, ResponseFlags::NONE),
            (200, ResponseFlags::NONE)
        );
        assert_eq!(
            tcp_reply(503, ResponseFlags::NONE),
            (503, ResponseFlags::NONE)
        );
    }
}
