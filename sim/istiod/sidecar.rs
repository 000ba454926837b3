//! A sidecar's outbound config: one listener per Service port number, an HTTP
//! route table per HTTP-family port, tcp_proxy routes per TCP port.
//!
//! Why per proxy: what a sidecar knows is scoped — by the `Sidecar` resource
//! that selects it (egress hosts `ns/host`), by each object's `exportTo`, and
//! by the VirtualServices bound to `mesh` — and which VirtualService claims a
//! host is decided once, at push time, not per request.
//!
//! Rules (istio/istio 1.28):
//! * Sidecar resource: the one in the proxy's namespace whose
//!   `workloadSelector` selects it, else the namespace's selector-less one,
//!   else the root namespace's (`pilot/pkg/model/sidecar.go`,
//!   `push_context.go` `getSidecarScope`); without one everything is visible.
//! * VirtualService order (`push_context.go` `SelectVirtualServices` over the
//!   index built by `initVirtualServices`): private to the proxy's namespace
//!   (`exportTo: .`), then exported to it by name, then public; within each,
//!   creation order (file order here). For a host claimed by several, the
//!   first wins (`httproute.go` `BuildSidecarVirtualHostWrapper`: a later
//!   VirtualService's duplicate domains are skipped).
//! * Virtual hosts (`BuildSidecarVirtualHostWrapper`,
//!   `separateVSHostsAndServices`, `buildSidecarOutboundHTTPRouteConfig`): per
//!   VirtualService host that is a Service with this port — or a Service a
//!   wildcard host matches — a virtual host with the Service's domains
//!   ([`host::sidecar_domains`]); a host that is no Service gets a virtual
//!   host of its own name, on this port only when the VirtualService also
//!   names a Service with this port, else on port 80 only
//!   (`httproute.go` `selectVirtualServices`, `route.go`
//!   `buildSidecarVirtualHostsForVirtualService`); every other Service with this port gets the
//!   default route (`default`, `prefix: /` → `outbound|<port>||<fqdn>`); a
//!   domain already taken is skipped; last, the catch-all `allow_any`
//!   (→ `PassthroughCluster`) or `block_all` (502) per the outbound policy.
//!   A VirtualService with no route for this proxy and port claims nothing
//!   (`BuildSidecarVirtualHostWrapper` only removes the Services of built
//!   wrappers). Simplification: a wildcard host claims every Service it
//!   matches that no earlier virtual host took (Istio assigns each Service
//!   to its most specific wildcard VirtualService).
//! * Protocol per Service port: `convert_protocol`; sniffed ports are HTTP for
//!   meshsim's HTTP traffic; a port number that is HTTP for any visible
//!   Service is an HTTP listener.

use super::Push;
use super::cluster::{self, Client};
use super::host;
use super::route::{RouteCx, http_routes};
use super::service_entry::{self, SeHost};
use super::xds::{ClusterKind, Listener, ListenerKind, OutboundPolicy, Proxy, ProxyKind, TcpRoute};
use crate::cluster::selector::selects;
use crate::proxy::protocol::Protocol;
use crate::proxy::route::{Route, RouteAction, RouteMatch, WeightedClusters};
use crate::scenario::spec::istio::{L4Match, OutboundMode, Sidecar, VirtualService};
use crate::scenario::spec::{Scenario, Service, ServiceIx};
use std::collections::BTreeMap;

/// The `Sidecar` resource that applies to a proxy in `ns` with `labels`.
pub fn sidecar_resource<'s>(
    spec: &'s Scenario,
    ns: &str,
    labels: &BTreeMap<String, String>,
) -> Option<&'s Sidecar> {
    let all = &spec.istio.sidecars;
    all.iter()
        .find(|s| {
            s.meta.namespace == ns
                && s.workload_selector
                    .as_ref()
                    .is_some_and(|sel| selects(sel, labels))
        })
        .or_else(|| {
            all.iter()
                .find(|s| s.meta.namespace == ns && s.workload_selector.is_none())
        })
        .or_else(|| {
            all.iter().find(|s| {
                s.meta.namespace == spec.istio.mesh.root_namespace && s.workload_selector.is_none()
            })
        })
}

/// Does the Sidecar resource import `host` from namespace `ns`?
fn imports(sc: Option<&Sidecar>, ns: &str, host: &str) -> bool {
    let Some(sc) = sc else {
        return true;
    };
    sc.egress.iter().any(|e| {
        e.hosts
            .iter()
            .any(|h| host::admits(h, &sc.meta.namespace, ns, host))
    })
}

/// VirtualServices in the order a proxy in `ns` sees them.
pub fn ordered_virtual_services<'s>(
    spec: &'s Scenario,
    ns: &str,
    bound: impl Fn(&VirtualService) -> bool,
) -> Vec<&'s VirtualService> {
    let mut v: Vec<(u8, &VirtualService)> = spec
        .istio
        .virtual_services
        .iter()
        .filter(|vs| !vs.is_delegate() && bound(vs))
        .filter(|vs| host::exported_to(&vs.export_to, &vs.meta.namespace, ns))
        .map(|vs| {
            let e = &vs.export_to;
            let tier = if e.iter().any(|x| x == ".") && vs.meta.namespace == ns {
                0
            } else if e.iter().any(|x| x == ns) {
                1
            } else {
                2
            };
            (tier, vs)
        })
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v.into_iter().map(|(_, vs)| vs).collect()
}

/// Does an L4 (`tcp`/`tls`) match block select this proxy and port?
pub fn l4_selects(
    m: &L4Match,
    vs_gateways: &[String],
    gateways: &[String],
    client: Client,
    port: u16,
) -> bool {
    let gws = if m.gateways.is_empty() {
        vs_gateways
    } else {
        &m.gateways
    };
    gws.iter().any(|g| gateways.contains(g))
        && (m.source_labels.is_empty() || selects(&m.source_labels, client.labels))
        && m.source_namespace
            .as_ref()
            .is_none_or(|n| n == client.namespace)
        && m.port.is_none_or(|p| p == port)
}

fn is_http_port(svc: &Service, pi: usize) -> bool {
    let proto = svc.ports[pi].protocol();
    proto.is_http() || proto == Protocol::Unsupported
}

/// Builds the sidecar proxy of a workload in `ns` with pod `labels`.
pub fn build(
    spec: &Scenario,
    owner: String,
    ns: &str,
    labels: &BTreeMap<String, String>,
    push: &mut Push,
) -> Proxy {
    let client = Client {
        namespace: ns,
        labels,
    };
    let sc = sidecar_resource(spec, ns, labels);
    let mode = sc
        .and_then(|s| s.outbound_traffic_policy)
        .unwrap_or(spec.istio.mesh.outbound_traffic_policy);
    let outbound = match mode {
        OutboundMode::AllowAny => OutboundPolicy::AllowAny,
        OutboundMode::RegistryOnly => OutboundPolicy::RegistryOnly,
    };
    // Stand-ins for external hosts are not in Istio's registry.
    let services: Vec<ServiceIx> = (0..spec.services.len())
        .filter(|&i| {
            let s = &spec.services[i];
            !service_entry::is_stand_in(spec, i) && imports(sc, &s.namespace, &host::fqdn(s))
        })
        .collect();
    let ses = service_entry::visible(spec, ns, |n, h| imports(sc, n, h));
    let mesh = ["mesh".to_string()];
    let vss: Vec<&VirtualService> = ordered_virtual_services(spec, ns, |vs| {
        vs.gateways.iter().any(|g| g == "mesh")
            && vs.hosts.iter().any(|h| imports(sc, &vs.meta.namespace, h))
    });
    // Port number → is HTTP.
    let mut ports: BTreeMap<u16, bool> = BTreeMap::new();
    for &si in &services {
        let s = &spec.services[si];
        for (pi, p) in s.ports.iter().enumerate() {
            *ports.entry(p.port).or_default() |= is_http_port(s, pi);
        }
    }
    for se in &ses {
        *ports.entry(se.port.number).or_default() |= service_entry::is_http(se.port);
    }
    let mut listeners = Vec::new();
    for (&port, &http) in &ports {
        let cx = RouteCx {
            spec,
            client,
            gateways: &mesh,
            port,
        };
        let with_port: Vec<ServiceIx> = services
            .iter()
            .copied()
            .filter(|&si| spec.services[si].ports.iter().any(|p| p.port == port))
            .collect();
        let kind = if http {
            let se_port: Vec<SeHost> = ses
                .iter()
                .copied()
                .filter(|x| x.port.number == port && service_entry::is_http(x.port))
                .collect();
            http_listener(&cx, (&with_port, &se_port), &vss, outbound, push)
        } else {
            let se_port: Vec<SeHost> = ses
                .iter()
                .copied()
                .filter(|x| x.port.number == port && !service_entry::is_http(x.port))
                .collect();
            tcp_listener(&cx, (&with_port, &se_port), &vss, outbound, push)
        };
        listeners.push(Listener { port, kind });
    }
    Proxy {
        kind: ProxyKind::Sidecar,
        owner,
        listeners,
        outbound,
    }
}

fn http_listener(
    cx: &RouteCx,
    (with_port, ses): (&[ServiceIx], &[SeHost]),
    vss: &[&VirtualService],
    outbound: OutboundPolicy,
    push: &mut Push,
) -> ListenerKind {
    let spec = cx.spec;
    let port = cx.port;
    let mut table = push.table(&port.to_string());
    let mut claimed = vec![false; spec.services.len()];
    let mut se_claimed = vec![false; ses.len()];
    for vs in vss {
        let routes = http_routes(cx, vs, &mut push.clusters);
        if routes.is_empty() {
            continue;
        }
        let mut concrete = Vec::new();
        let mut wild = Vec::new();
        for h in &vs.hosts {
            if h.starts_with('*') {
                wild.push(h);
            } else {
                concrete.push(h);
            }
        }
        let mut hosts: Vec<String> = Vec::new();
        let mut svcs: Vec<ServiceIx> = Vec::new();
        // ServiceEntry hosts with this port: like Services (`host`, `host:port`).
        let mut se_hosts: Vec<usize> = Vec::new();
        for h in concrete {
            match with_port
                .iter()
                .find(|&&si| host::fqdn(&spec.services[si]).eq_ignore_ascii_case(h))
            {
                Some(&si) => svcs.push(si),
                None => match ses.iter().position(|x| x.host.eq_ignore_ascii_case(h)) {
                    Some(i) => se_hosts.push(i),
                    None => hosts.push(h.clone()),
                },
            }
        }
        for h in wild {
            let m: Vec<ServiceIx> = with_port
                .iter()
                .copied()
                .filter(|&si| host::intersects(h, &host::fqdn(&spec.services[si])))
                .collect();
            if m.is_empty() {
                hosts.push(h.clone());
            }
            svcs.extend(m);
        }
        // Only HTTP ports of the matched Services make virtual hosts; with
        // none, the VirtualService's other hosts appear on port 80 only
        // (`buildSidecarVirtualHostsForVirtualService`'s port-80 case and
        // `selectVirtualServices` for other ports).
        svcs.retain(|&si| {
            let s = &spec.services[si];
            s.ports
                .iter()
                .position(|p| p.port == port)
                .is_some_and(|pi| is_http_port(s, pi))
        });
        if svcs.is_empty() && se_hosts.is_empty() && port != 80 {
            continue;
        }
        for h in hosts {
            table.vhost(&format!("{h}:{port}"), vec![h.clone()], false, &routes);
        }
        for i in se_hosts {
            let h = ses[i].host;
            let domains = vec![h.to_string(), format!("{h}:{port}")];
            if table.vhost(&format!("{h}:{port}"), domains, false, &routes) {
                se_claimed[i] = true;
            }
        }
        for si in svcs {
            let s = &spec.services[si];
            let domains = host::sidecar_domains(s, cx.client.namespace);
            if table.vhost(
                &format!("{}:{port}", host::fqdn(s)),
                domains,
                false,
                &routes,
            ) {
                claimed[si] = true;
            }
        }
    }
    for &si in with_port {
        if claimed[si] {
            continue;
        }
        let s = &spec.services[si];
        let fqdn = host::fqdn(s);
        let c = cluster::outbound(spec, cx.client, &fqdn, None, port);
        let built = super::route::Built {
            route: Route {
                name: "default".into(),
                matcher: RouteMatch::any(),
                action: RouteAction::Forward {
                    clusters: WeightedClusters::single(&c.name),
                    rewrite: Default::default(),
                },
                request_headers: Default::default(),
            },
            policy: super::route::default_route_policy(spec, c.hash.is_some()),
            clusters: vec![push.clusters.intern(c)],
            key: "default".into(),
        };
        table.vhost(
            &format!("{fqdn}:{port}"),
            host::sidecar_domains(s, cx.client.namespace),
            false,
            &[built],
        );
    }
    for (i, se) in ses.iter().enumerate() {
        if se_claimed[i] {
            continue;
        }
        let c = cluster::outbound(spec, cx.client, se.host, None, port);
        let built = super::route::Built {
            route: Route {
                name: "default".into(),
                matcher: RouteMatch::any(),
                action: RouteAction::Forward {
                    clusters: WeightedClusters::single(&c.name),
                    rewrite: Default::default(),
                },
                request_headers: Default::default(),
            },
            policy: super::route::default_route_policy(spec, c.hash.is_some()),
            clusters: vec![push.clusters.intern(c)],
            key: "default".into(),
        };
        let h = se.host;
        table.vhost(
            &format!("{h}:{port}"),
            vec![h.to_string(), format!("{h}:{port}")],
            false,
            &[built],
        );
    }
    let catch_all = super::catch_all(outbound, push);
    table.vhost(
        catch_all.key.as_str(),
        vec!["*".into()],
        false,
        std::slice::from_ref(&catch_all),
    );
    ListenerKind::Http {
        routes: push.intern_table(table, true),
        terminates_tls: false,
    }
}

/// Is this Service port TLS to Istio (`https`/`tls`: a client speaks TLS on
/// it, so the sidecar's chains match on SNI)?
pub fn is_tls_port(svc: &Service, pi: usize) -> bool {
    matches!(svc.ports[pi].protocol(), Protocol::Https | Protocol::Tls)
}

/// Stats key of a VirtualService's `tcp`/`tls` route `i`: `ns/vs/i`, or
/// `ns/vs/tcp.i` / `ns/vs/tls.i` when the VirtualService has routes of
/// another kind too (their indices would collide).
pub fn l4_key(vs: &VirtualService, kind: &str, i: usize) -> String {
    let kinds = usize::from(!vs.http.is_empty())
        + usize::from(!vs.tcp.is_empty())
        + usize::from(!vs.tls.is_empty());
    let (ns, name) = (&vs.meta.namespace, &vs.meta.name);
    if kinds > 1 {
        format!("{ns}/{name}/{kind}.{i}")
    } else {
        format!("{ns}/{name}/{i}")
    }
}

/// The chains of one destination host on a TLS port
/// (`tls.go` `buildSidecarOutboundTLSFilterChainOpts` @1.28.10): per
/// VirtualService `tls` match selecting this proxy, a chain on its
/// `sniHosts` (a repeated SNI/subnet set is skipped: the first wins); with
/// none, the host's own cluster — matched by destination when the host has
/// an address (a Service's ClusterIP), else by SNI = the hostname (a
/// ServiceEntry without `addresses`, bound to `0.0.0.0`).
fn tls_chains(
    cx: &RouteCx,
    (host, destination): (&str, Option<ServiceIx>),
    configs: &[&VirtualService],
    push: &mut Push,
) -> Vec<TcpRoute> {
    let mut out = Vec::new();
    let mut seen: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for vs in configs {
        for (i, r) in vs.tls.iter().enumerate() {
            for m in &r.matches {
                if !l4_selects(&m.l4, &vs.gateways, cx.gateways, cx.client, cx.port) {
                    continue;
                }
                let hash = (m.sni_hosts.clone(), m.l4.destination_subnets.clone());
                if seen.contains(&hash) {
                    continue;
                }
                seen.push(hash);
                out.push(TcpRoute {
                    destination,
                    sni: m.sni_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
                    clusters: super::l4_clusters(cx, &r.route, push),
                    key: Some(l4_key(vs, "tls", i)),
                });
            }
        }
    }
    if out.is_empty() {
        let c = super::for_tcp(cluster::outbound(cx.spec, cx.client, host, None, cx.port));
        out.push(TcpRoute {
            destination,
            sni: match destination {
                Some(_) => Vec::new(),
                None => vec![host.to_ascii_lowercase()],
            },
            clusters: vec![(push.clusters.intern(c), 1)],
            key: None,
        });
    }
    out
}

/// The chain of one destination host on an opaque TCP port
/// (`tls.go` `buildSidecarOutboundTCPFilterChainOpts` @1.28.10): the first
/// VirtualService `tcp` route with no match, or with a selecting match
/// (`matchTCP`: port, sourceLabels, sourceNamespace, gateways); else the
/// host's own cluster. `destinationSubnets` need addresses meshsim does
/// not model: such a match is treated as matching.
fn tcp_chain(
    cx: &RouteCx,
    (host, destination): (&str, Option<ServiceIx>),
    configs: &[&VirtualService],
    push: &mut Push,
) -> TcpRoute {
    let chosen = configs.iter().find_map(|vs| {
        vs.tcp.iter().enumerate().find_map(|(i, r)| {
            let hit = r.matches.is_empty()
                || r.matches
                    .iter()
                    .any(|m| l4_selects(m, &vs.gateways, cx.gateways, cx.client, cx.port));
            hit.then_some((*vs, i, r))
        })
    });
    match chosen {
        Some((vs, i, r)) => TcpRoute {
            destination,
            sni: Vec::new(),
            clusters: super::l4_clusters(cx, &r.route, push),
            key: Some(l4_key(vs, "tcp", i)),
        },
        None => {
            let c = super::for_tcp(cluster::outbound(cx.spec, cx.client, host, None, cx.port));
            TcpRoute {
                destination,
                sni: Vec::new(),
                clusters: vec![(push.clusters.intern(c), 1)],
                key: None,
            }
        }
    }
}

fn tcp_listener(
    cx: &RouteCx,
    (with_port, ses): (&[ServiceIx], &[SeHost]),
    vss: &[&VirtualService],
    outbound: OutboundPolicy,
    push: &mut Push,
) -> ListenerKind {
    let spec = cx.spec;
    let mut routes = Vec::new();
    // VirtualServices naming `host` (`getConfigsForHost`).
    let configs = |host: &str| -> Vec<&VirtualService> {
        vss.iter()
            .copied()
            .filter(|vs| vs.hosts.iter().any(|h| host::covers(h, host)))
            .collect()
    };
    for &si in with_port {
        let s = &spec.services[si];
        let fqdn = host::fqdn(s);
        let pi = s.ports.iter().position(|p| p.port == cx.port);
        let tls = pi.is_some_and(|pi| is_tls_port(s, pi));
        let cf = configs(&fqdn);
        if tls {
            routes.extend(tls_chains(cx, (&fqdn, Some(si)), &cf, push));
        } else {
            routes.push(tcp_chain(cx, (&fqdn, Some(si)), &cf, push));
        }
    }
    // ServiceEntry hosts: no address in meshsim, so bound to 0.0.0.0 —
    // TLS ones by SNI; an opaque TCP one by the stand-in it resolves to.
    for se in ses {
        let cf = configs(se.host);
        if service_entry::is_tls(se.port) {
            routes.extend(tls_chains(cx, (se.host, None), &cf, push));
        } else {
            let dest = service_entry::stand_in(spec, se.host, cx.port).map(|(si, _)| si);
            routes.push(tcp_chain(cx, (se.host, dest), &cf, push));
        }
    }
    let fallback = match outbound {
        OutboundPolicy::AllowAny => cluster::special(
            cluster::PASSTHROUGH,
            ClusterKind::Passthrough,
            cluster::PASSTHROUGH,
        ),
        OutboundPolicy::RegistryOnly => cluster::special(
            cluster::BLACK_HOLE,
            ClusterKind::BlackHole,
            cluster::BLACK_HOLE,
        ),
    };
    routes.push(TcpRoute {
        destination: None,
        sni: Vec::new(),
        clusters: vec![(push.clusters.intern(fallback), 1)],
        key: None,
    });
    ListenerKind::Tcp { routes }
}
