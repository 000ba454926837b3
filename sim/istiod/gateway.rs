//! A gateway proxy's listeners: the servers of every Gateway selecting its
//! pods, merged per port, with the VirtualServices bound to them.
//!
//! Why it differs from a sidecar: a gateway routes only what its servers
//! admit — a VirtualService reaches it by naming the Gateway in `gateways`
//! and having a host inside a server's `hosts` — several VirtualServices for
//! one host are *merged* instead of the first winning, and unknown hosts get
//! 404 (no outbound policy applies).
//!
//! Rules (istio/istio 1.28 `pilot/pkg/networking/core/gateway.go`
//! `buildGatewayHTTPRouteConfig`,
//! `pilot/pkg/model/gateway.go` `MergeGateways`):
//! * proxy = a Deployment whose pod labels some Gateway's `selector` selects
//!   (any namespace); servers of all such Gateways merged per port;
//! * listener port = the server's `port.number` when it is a port of the
//!   gateway's Service, translated to that port's `targetPort` (80 ⇒ 8080 on
//!   `istio-ingressgateway`); otherwise the number as-is (analyzer IST0162);
//! * HTTP / HTTPS-terminated (`SIMPLE`, `MUTUAL`, …) servers: one route table
//!   per port; per server, for each VirtualService bound to its Gateway
//!   (`ns/name`, exported to the gateway's namespace), each VS host
//!   intersecting a server host (`ns/host`: `*`, `.` = the Gateway's
//!   namespace, or the VS's namespace) gives a virtual host named by the
//!   narrower of the two; routes of all VirtualServices for one host are
//!   concatenated and catch-alls moved behind the others keeping order
//!   (`route.SortVHostRoutes`);
//! * `tls.httpsRedirect` sets `require_tls` on the server's virtual hosts and
//!   adds a route-less one for each server host no VirtualService covered
//!   (301 to https before any route matching);
//! * no virtual host at all ⇒ `blackhole:<port>`: domain `*`, no routes
//!   (every request 404 NR);
//! * L4 servers (TCP/MONGO/…, TLS, HTTPS with PASSTHROUGH) ⇒ tcp_proxy
//!   chains by SNI ([`tcp_listener`]); none ⇒ `Closed`.

use super::Push;
use super::cluster::Client;
use super::host;
use super::route::{Built, RouteCx, http_routes, is_catch_all};
use super::sidecar::ordered_virtual_services;
use super::xds::{Listener, ListenerKind, OutboundPolicy, Proxy, ProxyKind, TcpRoute};
use crate::cluster::selector::selects;
use crate::scenario::spec::istio::{
    Gateway, L4Match, Protocol, Server, ServerTlsMode, VirtualService,
};
use crate::scenario::spec::{DeploymentIx, Scenario, TargetPort};
use std::collections::BTreeMap;

/// The Gateways whose selector selects pods with `labels`.
pub fn selecting<'s>(
    spec: &'s Scenario,
    labels: &'s BTreeMap<String, String>,
) -> impl Iterator<Item = &'s Gateway> + 's {
    spec.istio
        .gateways
        .iter()
        .filter(move |g| selects(&g.selector, labels))
}

/// The port the gateway pod listens on for server port `number`.
pub fn listener_port(spec: &Scenario, d: DeploymentIx, number: u16) -> u16 {
    let dep = &spec.deployments[d];
    let svc = spec
        .services
        .iter()
        .filter(|s| s.namespace == dep.namespace && selects(&s.selector, &dep.labels))
        .find_map(|s| s.ports.iter().find(|p| p.port == number));
    match svc.map(|p| &p.target_port) {
        Some(TargetPort::Number(t)) => *t,
        Some(TargetPort::Name(n)) => dep
            .ports
            .iter()
            .find(|c| c.name.as_deref() == Some(n.as_str()))
            .map_or(number, |c| c.port),
        None => number,
    }
}

fn terminates_tls(s: &Server) -> Option<bool> {
    match (s.port.protocol, s.tls.as_ref().map(|t| t.mode)) {
        (p, _) if p.is_http() => Some(false),
        (
            Protocol::Https,
            None
            | Some(
                ServerTlsMode::Simple
                | ServerTlsMode::Mutual
                | ServerTlsMode::IstioMutual
                | ServerTlsMode::OptionalMutual,
            ),
        ) => Some(true),
        _ => None,
    }
}

/// Builds the gateway proxy of Deployment `d`.
pub fn build(spec: &Scenario, d: DeploymentIx, owner: String, push: &mut Push) -> Proxy {
    let dep = &spec.deployments[d];
    let client = Client {
        namespace: &dep.namespace,
        labels: &dep.labels,
    };
    let mut by_port: BTreeMap<u16, Vec<(&Gateway, &Server)>> = BTreeMap::new();
    for g in selecting(spec, &dep.labels) {
        for s in &g.servers {
            by_port
                .entry(listener_port(spec, d, s.port.number))
                .or_default()
                .push((g, s));
        }
    }
    let mut listeners = Vec::new();
    for (port, servers) in by_port {
        let kind = match terminates_tls(servers[0].1) {
            Some(tls) => http_listener(spec, client, port, &servers, tls, push),
            None => tcp_listener(spec, client, &servers, push),
        };
        listeners.push(Listener { port, kind });
    }
    Proxy {
        kind: ProxyKind::Gateway,
        owner,
        listeners,
        outbound: OutboundPolicy::AllowAny,
    }
}

fn gateway_name(g: &Gateway) -> String {
    format!("{}/{}", g.meta.namespace, g.meta.name)
}

fn http_listener(
    spec: &Scenario,
    client: Client,
    port: u16,
    servers: &[(&Gateway, &Server)],
    tls: bool,
    push: &mut Push,
) -> ListenerKind {
    // domain → (require_tls, routes), in first-seen order.
    let mut vhosts: Vec<(String, bool, Vec<Built>)> = Vec::new();
    for (g, s) in servers {
        if terminates_tls(s).is_none() {
            continue; // an L4 server merged onto an HTTP port: not served here
        }
        let gw = [gateway_name(g)];
        let redirect = s.tls.as_ref().is_some_and(|t| t.https_redirect);
        let cx = RouteCx {
            spec,
            client,
            gateways: &gw,
            port: s.port.number,
        };
        let vss =
            ordered_virtual_services(spec, client.namespace, |vs| vs.gateways.contains(&gw[0]));
        for vs in vss {
            // `host.NamesForNamespace(server.Hosts, vs.Namespace).Intersection(vs.Hosts)`.
            let mut domains: Vec<String> = Vec::new();
            for e in &s.hosts {
                for h in &vs.hosts {
                    if host::admits(e, &g.meta.namespace, &vs.meta.namespace, h) {
                        let d = host::narrower(h, &e.host).to_ascii_lowercase();
                        if !domains.contains(&d) {
                            domains.push(d);
                        }
                    }
                }
            }
            if domains.is_empty() {
                continue;
            }
            let routes = http_routes(&cx, vs, &mut push.clusters);
            if routes.is_empty() {
                continue;
            }
            for dom in domains {
                match vhosts.iter_mut().find(|(d, _, _)| *d == dom) {
                    Some((_, tls, r)) => {
                        r.extend(routes.iter().cloned());
                        *tls |= redirect;
                    }
                    None => vhosts.push((dom, redirect, routes.clone())),
                }
            }
        }
        // httpsRedirect: every server host redirects, with or without routes.
        if redirect {
            for h in &s.hosts {
                let dom = h.host.to_ascii_lowercase();
                match vhosts.iter_mut().find(|(d, _, _)| *d == dom) {
                    Some((_, tls, _)) => *tls = true,
                    None => vhosts.push((dom, true, Vec::new())),
                }
            }
        }
    }
    let mut table = push.table(&format!("http.{port}"));
    if vhosts.is_empty() {
        // `blackhole:<port>`: domain `*`, no routes ⇒ every request 404 NR.
        table.vhost(&format!("blackhole:{port}"), vec!["*".into()], false, &[]);
    }
    for (dom, require_tls, routes) in vhosts {
        // SortVHostRoutes: catch-alls last, order otherwise kept.
        let (mut sorted, catch): (Vec<Built>, Vec<Built>) = routes
            .into_iter()
            .partition(|b| !is_catch_all(&b.route.matcher));
        sorted.extend(catch);
        table.vhost(&format!("{dom}:{port}"), vec![dom], require_tls, &sorted);
    }
    ListenerKind::Http {
        routes: push.intern_table(table, true),
        terminates_tls: tls,
    }
}

/// `l4SingleMatch` (`gateway.go` @1.28.10): at a gateway an L4 match
/// checks only `port` (against the server's) and `gateways`; source labels
/// and namespace are not consulted.
fn gw_l4_match(m: &L4Match, server_port: u16, gw: &str) -> bool {
    m.port.is_none_or(|p| p == server_port)
        && (m.gateways.is_empty() || m.gateways.iter().any(|g| g == gw))
}

/// The tcp_proxy chains of the L4 servers on one gateway port
/// (`gateway.go` `createGatewayTCPFilterChainOpts` @1.28.10), in server
/// order:
/// * `tls.mode` PASSTHROUGH: one chain per bound VirtualService `tls`
///   match, on its `sniHosts` (`buildGatewayNetworkFiltersFromTLSRoutes`;
///   a repeated SNI host on the port skips the later match);
/// * AUTO_PASSTHROUGH: one chain per Service port (and DestinationRule
///   subset) the server's hosts cover, on SNI
///   `outbound_.<port>_.<subset>_.<host>` (`builtAutoPassthroughFilterChains`);
/// * no `tls` (TCP, MONGO, …) or a terminating mode: the first bound
///   VirtualService's first `tcp` route whose matches fit
///   (`buildGatewayNetworkFiltersFromTCPRoutes`), any SNI (a terminating
///   server matches its own hosts as SNI).
///
/// A VirtualService is bound when it names the Gateway and one of its hosts
/// matches a server host (`pickMatchingGatewayHosts`). No chain at all ⇒
/// `Closed`.
fn tcp_listener(
    spec: &Scenario,
    client: Client,
    servers: &[(&Gateway, &Server)],
    push: &mut Push,
) -> ListenerKind {
    let mut routes: Vec<TcpRoute> = Vec::new();
    let mut snis: Vec<String> = Vec::new();
    for (g, s) in servers {
        let gw = [gateway_name(g)];
        let mode = s.tls.as_ref().map(|t| t.mode);
        let cx = RouteCx {
            spec,
            client,
            gateways: &gw,
            port: s.port.number,
        };
        if mode == Some(ServerTlsMode::AutoPassthrough) {
            routes.extend(auto_passthrough(&cx, s, push));
            continue;
        }
        let vss =
            ordered_virtual_services(spec, client.namespace, |vs| vs.gateways.contains(&gw[0]));
        let bound = |vs: &VirtualService| {
            vs.hosts.iter().any(|h| {
                s.hosts
                    .iter()
                    .any(|e| host::admits(e, &g.meta.namespace, &vs.meta.namespace, h))
            })
        };
        if mode == Some(ServerTlsMode::Passthrough) {
            for vs in vss.iter().filter(|vs| bound(vs)) {
                for (i, r) in vs.tls.iter().enumerate() {
                    for m in &r.matches {
                        if !gw_l4_match(&m.l4, s.port.number, &gw[0]) {
                            continue;
                        }
                        let sni: Vec<String> =
                            m.sni_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
                        if sni.iter().any(|h| snis.contains(h)) {
                            continue; // `CheckDuplicates`: skipped, RecordRejectedConfig
                        }
                        snis.extend(sni.iter().cloned());
                        routes.push(TcpRoute {
                            destination: None,
                            sni,
                            clusters: super::l4_clusters(&cx, &r.route, push),
                            key: Some(super::sidecar::l4_key(vs, "tls", i)),
                        });
                    }
                }
            }
            continue;
        }
        let chosen = vss.iter().filter(|vs| bound(vs)).find_map(|vs| {
            vs.tcp.iter().enumerate().find_map(|(i, r)| {
                let hit = r.matches.is_empty()
                    || r.matches
                        .iter()
                        .any(|m| gw_l4_match(m, s.port.number, &gw[0]));
                hit.then_some((*vs, i, r))
            })
        });
        if let Some((vs, i, r)) = chosen {
            let sni = match mode {
                Some(_) => s
                    .hosts
                    .iter()
                    .map(|h| h.host.to_ascii_lowercase())
                    .collect(),
                None => Vec::new(),
            };
            routes.push(TcpRoute {
                destination: None,
                sni,
                clusters: super::l4_clusters(&cx, &r.route, push),
                key: Some(super::sidecar::l4_key(vs, "tcp", i)),
            });
        }
    }
    if routes.is_empty() {
        ListenerKind::Closed
    } else {
        ListenerKind::Tcp { routes }
    }
}

/// AUTO_PASSTHROUGH chains: every in-mesh Service port the server's hosts
/// cover, and each DestinationRule subset of it, by SNI
/// `outbound_.<port>_.<subset>_.<fqdn>` (`model.BuildDNSSrvSubsetKey`).
fn auto_passthrough(cx: &RouteCx, s: &Server, push: &mut Push) -> Vec<TcpRoute> {
    let spec = cx.spec;
    let mut out = Vec::new();
    for (si, svc) in spec.services.iter().enumerate() {
        if super::service_entry::is_stand_in(spec, si) {
            continue;
        }
        let fqdn = host::fqdn(svc);
        if !s.hosts.iter().any(|h| host::covers(&h.host, &fqdn)) {
            continue;
        }
        let dr = super::cluster::destination_rule(spec, cx.client, &svc.namespace, &fqdn);
        let subsets: Vec<String> = dr
            .map(|d| d.subsets.iter().map(|x| x.name.clone()).collect())
            .unwrap_or_default();
        for p in &svc.ports {
            for subset in std::iter::once(None).chain(subsets.iter().map(Some)) {
                let c = super::cluster::outbound(
                    spec,
                    cx.client,
                    &fqdn,
                    subset.map(|x| x.as_str()),
                    p.port,
                );
                let c = super::for_tcp(c);
                out.push(TcpRoute {
                    destination: None,
                    sni: vec![format!(
                        "outbound_.{}_.{}_.{fqdn}",
                        p.port,
                        subset.map_or("", |x| x.as_str())
                    )],
                    clusters: vec![(push.clusters.intern(c), 1)],
                    key: None,
                });
            }
        }
    }
    out
}
