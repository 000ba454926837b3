//! Hand-built compiled meshes (`Xds`) for the world's mesh tests: the shape
//! istiod produces, written out so the world is tested on its own.

use meshsim::istiod::xds::*;
use meshsim::proxy::lb::{LbConfig, LbPolicy};
use meshsim::proxy::route::*;
use meshsim::scenario::Scenario;

pub fn dep(s: &Scenario, name: &str) -> usize {
    s.deployments
        .iter()
        .position(|d| d.name == name)
        .unwrap_or_else(|| panic!("no deployment {name}"))
}

pub fn svc(s: &Scenario, name: &str) -> usize {
    s.services
        .iter()
        .position(|d| d.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// `outbound|<port>|<subset>|<svc>.<ns>.svc.cluster.local` over `deps`.
pub fn cluster(
    s: &Scenario,
    service: &str,
    port: u16,
    subset: &str,
    deps: &[&str],
    policy: LbPolicy,
) -> Cluster {
    let si = svc(s, service);
    let fqdn = format!("{service}.{}.svc.cluster.local", s.services[si].namespace);
    let kind = ClusterKind::Service {
        service: si,
        port: 0,
        deployments: deps.iter().map(|d| dep(s, d)).collect(),
    };
    let stats = format!("{fqdn}/{}", if subset.is_empty() { "-" } else { subset });
    Cluster {
        lb: LbConfig {
            policy,
            ..LbConfig::default()
        },
        ..Cluster::new(&format!("outbound|{port}|{subset}|{fqdn}"), kind, &stats)
    }
}

pub fn special(name: &str, kind: ClusterKind) -> Cluster {
    Cluster::new(name, kind, &format!("{name}/-"))
}

/// A forwarding route to weighted clusters `(cluster index, weight)`.
pub fn forward(xds: &Xds, name: &str, m: RouteMatch, to: &[(u32, u32)]) -> (Route, Vec<u32>) {
    let wcs = to
        .iter()
        .map(|&(c, w)| WeightedCluster {
            name: xds.clusters[c as usize].name.clone(),
            weight: w,
            request_headers: HeaderOps::default(),
            host_rewrite: None,
        })
        .collect();
    (
        Route {
            name: name.to_string(),
            matcher: m,
            action: RouteAction::Forward {
                clusters: WeightedClusters::new(wcs).expect("weights"),
                rewrite: Rewrite::default(),
            },
            request_headers: HeaderOps::default(),
        },
        to.iter().map(|c| c.0).collect(),
    )
}

pub fn local(name: &str, m: RouteMatch, action: RouteAction) -> (Route, Vec<u32>) {
    (
        Route {
            name: name.to_string(),
            matcher: m,
            action,
            request_headers: HeaderOps::default(),
        },
        Vec::new(),
    )
}

pub fn prefix(p: &str) -> RouteMatch {
    RouteMatch::path(PathMatch::Prefix(p.to_string()))
}

pub fn header(m: RouteMatch, name: &str, value: &str) -> RouteMatch {
    let mut m = m;
    m.headers.push(HeaderMatcher {
        name: name.to_string(),
        spec: HeaderMatchSpec::Value(meshsim::proxy::matcher::StringMatcher::exact(value)),
        invert_match: false,
        treat_missing_header_as_empty: false,
    });
    m
}

/// A route table with one virtual host; route keys `<vs>/<route name>`.
pub fn table(
    vs: &str,
    vhost: &str,
    domains: &[&str],
    routes: Vec<(Route, Vec<u32>)>,
) -> RouteTable {
    let keys = vec![
        routes
            .iter()
            .map(|(r, _)| format!("{vs}/{}", r.name))
            .collect(),
    ];
    let clusters = vec![routes.iter().map(|(_, c)| c.clone()).collect()];
    let policies = vec![routes.iter().map(|_| RoutePolicy::default()).collect()];
    let vh = VirtualHost {
        name: vhost.to_string(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        routes: routes.into_iter().map(|(r, _)| r).collect(),
        require_tls: false,
    };
    RouteTable {
        config: RouteConfiguration::new(vhost, vec![vh], true).expect("table"),
        clusters,
        route_keys: keys,
        policies,
    }
}

pub fn proxy(kind: ProxyKind, owner: &str, listeners: &[(u16, u32)]) -> Proxy {
    Proxy {
        kind,
        owner: owner.to_string(),
        listeners: listeners
            .iter()
            .map(|&(port, routes)| Listener {
                port,
                kind: ListenerKind::Http {
                    routes,
                    terminates_tls: false,
                },
            })
            .collect(),
        outbound: OutboundPolicy::AllowAny,
    }
}

/// An empty mesh sized for `s` (no proxy attached yet).
pub fn empty(s: &Scenario) -> Xds {
    Xds {
        deployment_proxy: vec![None; s.deployments.len()],
        load_proxy: vec![None; s.loads.len()],
        ..Xds::default()
    }
}
