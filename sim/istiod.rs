//! istiod: compiles the scenario's Istio config and Kubernetes Services into
//! the Envoy config each simulated proxy runs ([`xds::Xds`]).
//!
//! Why a separate stage: Istio decides a great deal at *config-generation*
//! time, per proxy, not per request — which VirtualServices a sidecar sees
//! (`exportTo`, the `Sidecar` resource's egress hosts), which match blocks
//! survive (`sourceLabels`, `sourceNamespace`, `gateways`, `port`), how several
//! VirtualServices for one host merge (first wins in sidecars, concatenated at
//! gateways), which DestinationRule applies (client namespace, service
//! namespace, root namespace) and which subsets exist. Doing that once, here,
//! as pure functions from the validated [`crate::scenario::Scenario`] to
//! Envoy-shaped data ([`crate::proxy`]), keeps the per-request path in the
//! world down to Envoy's own decisions: virtual host, first matching route,
//! weighted pick, load balancer. `meshsim route-test` runs the same compiled
//! tables without simulating, so there is exactly one router.
//!
//! Sources are cited where each rule is implemented (istio/istio 1.28.x
//! `pilot/pkg/networking/core/{httproute.go,gateway.go,cluster.go}`,
//! `pilot/pkg/model/{virtualservice.go,push_context.go,sidecar.go}`).

pub mod cluster;
pub mod entry_endpoints;
pub mod host;
pub mod resilience;
pub mod route;
pub mod route_test;
pub mod service_entry;
pub mod xds;

pub use xds::Xds;
pub mod gateway;
pub mod sidecar;

use crate::proxy::route::{
    Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, WeightedClusters,
};
use crate::scenario::spec::Scenario;
use crate::scenario::spec::istio::RouteDestination;
use cluster::Clusters;
use route::{Built, RouteCx};
use xds::{ClusterIx, ClusterKind, ListenerKind, OutboundPolicy, RouteTable, RouteTableIx};

/// Compiles the scenario's mesh: every proxy's listeners and route tables and
/// the clusters they name. Pure and deterministic (same scenario ⇒ same Xds).
///
/// Proxies, in this order: per Deployment (scenario order) a gateway proxy
/// when some Gateway's selector selects its pod labels, else a sidecar when
/// it is injected; then per Load with `sidecar: true` a sidecar (namespace =
/// the load's, labels `app: <load name>`).
pub fn compile(spec: &Scenario) -> Xds {
    let mut push = Push::default();
    let mut proxies = Vec::new();
    let mut deployment_proxy = Vec::with_capacity(spec.deployments.len());
    for (i, d) in spec.deployments.iter().enumerate() {
        let owner = format!("{}/{}", d.namespace, d.name);
        let p = if gateway::selecting(spec, &d.labels).next().is_some() {
            if d.behaviour.source.as_deref()
                == Some(crate::scenario::istio::ingress_gateway::SOURCE)
            {
                push.notes.push(format!(
                    "added {owner} (Istio's default ingress gateway: a Gateway selects istio: ingressgateway and no Deployment has that label): LoadBalancer Service ports status-port 15021→15021, http2 80→8080, https 443→8443"
                ));
            }
            Some(gateway::build(spec, i, owner, &mut push))
        } else if spec.istio.has_sidecar(i) {
            Some(sidecar::build(
                spec,
                owner,
                &d.namespace,
                &d.labels,
                &mut push,
            ))
        } else {
            None
        };
        deployment_proxy.push(p.map(|p| {
            proxies.push(p);
            (proxies.len() - 1) as xds::ProxyIx
        }));
    }
    let mut load_proxy = Vec::with_capacity(spec.loads.len());
    for l in &spec.loads {
        load_proxy.push(l.sidecar.then(|| {
            let labels = std::collections::BTreeMap::from([("app".to_string(), l.name.clone())]);
            let owner = format!("{}/{}", l.namespace, l.name);
            proxies.push(sidecar::build(
                spec,
                owner,
                &l.namespace,
                &labels,
                &mut push,
            ));
            (proxies.len() - 1) as xds::ProxyIx
        }));
    }
    let Push {
        clusters,
        mut tables,
        notes,
    } = push;
    let (clusters, remap) = clusters.finish();
    for t in &mut tables {
        for c in t.clusters.iter_mut().flatten().flatten() {
            *c = remap[*c as usize];
        }
        for m in t
            .policies
            .iter_mut()
            .flatten()
            .flat_map(|p| p.mirrors.iter_mut())
        {
            m.cluster = remap[m.cluster as usize];
        }
    }
    for p in &mut proxies {
        for l in &mut p.listeners {
            if let ListenerKind::Tcp { routes } = &mut l.kind {
                for (c, _) in routes.iter_mut().flat_map(|r| r.clusters.iter_mut()) {
                    *c = remap[*c as usize];
                }
            }
        }
    }
    Xds {
        proxies,
        deployment_proxy,
        load_proxy,
        route_tables: tables,
        clusters,
        notes,
    }
}

/// What a compile accumulates: clusters, shared route tables, notes.
#[derive(Debug, Default)]
pub struct Push {
    pub clusters: Clusters,
    tables: Vec<RouteTable>,
    pub notes: Vec<String>,
}

impl Push {
    /// Starts route table `name`.
    pub fn table(&self, name: &str) -> TableBuilder {
        TableBuilder {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// Builds the table (sharing an identical one) and returns its index.
    pub fn intern_table(&mut self, t: TableBuilder, ignore_port: bool) -> RouteTableIx {
        let config = match RouteConfiguration::new(&t.name, t.vhosts, ignore_port) {
            Ok(c) => c,
            Err(e) => {
                // Domains are deduplicated while building, so Envoy's NACK
                // cannot happen; keep a usable empty table if it ever does.
                self.notes.push(format!("{e}: route table left empty"));
                RouteConfiguration::new(&t.name, Vec::new(), ignore_port).expect("empty table")
            }
        };
        let table = RouteTable {
            clusters: if config.virtual_hosts().is_empty() {
                Vec::new()
            } else {
                t.clusters
            },
            route_keys: if config.virtual_hosts().is_empty() {
                Vec::new()
            } else {
                t.keys
            },
            policies: if config.virtual_hosts().is_empty() {
                Vec::new()
            } else {
                t.policies
            },
            config,
        };
        match self.tables.iter().position(|x| *x == table) {
            Some(i) => i as RouteTableIx,
            None => {
                self.tables.push(table);
                (self.tables.len() - 1) as RouteTableIx
            }
        }
    }
}

/// A route table under construction; a domain goes to the first virtual host
/// that claims it (Istio's `vhdomains` dedupe).
#[derive(Debug, Default)]
pub struct TableBuilder {
    name: String,
    vhosts: Vec<VirtualHost>,
    clusters: Vec<Vec<Vec<ClusterIx>>>,
    keys: Vec<Vec<String>>,
    policies: Vec<Vec<xds::RoutePolicy>>,
    used: Vec<String>,
}

impl TableBuilder {
    /// Adds a virtual host with the domains not yet taken; false (and nothing
    /// added) when every domain is taken.
    pub fn vhost(
        &mut self,
        name: &str,
        domains: Vec<String>,
        require_tls: bool,
        routes: &[Built],
    ) -> bool {
        let domains: Vec<String> = domains
            .into_iter()
            .map(|d| d.to_ascii_lowercase())
            .filter(|d| !self.used.contains(d))
            .fold(Vec::new(), |mut v, d| {
                if !v.contains(&d) {
                    v.push(d);
                }
                v
            });
        if domains.is_empty() {
            return false;
        }
        self.used.extend(domains.iter().cloned());
        self.vhosts.push(VirtualHost {
            name: name.to_string(),
            domains,
            routes: routes.iter().map(|b| b.route.clone()).collect(),
            require_tls,
        });
        self.clusters
            .push(routes.iter().map(|b| b.clusters.clone()).collect());
        self.keys
            .push(routes.iter().map(|b| b.key.clone()).collect());
        self.policies
            .push(routes.iter().map(|b| b.policy.clone()).collect());
        true
    }
}

/// The sidecar catch-all route: `allow_any` → PassthroughCluster, or
/// `block_all` → 502 (`pilot/pkg/networking/util` `BuildCatchAllVirtualHost`).
fn catch_all(outbound: OutboundPolicy, push: &mut Push) -> Built {
    match outbound {
        OutboundPolicy::AllowAny => {
            let c = cluster::special(
                cluster::PASSTHROUGH,
                ClusterKind::Passthrough,
                cluster::PASSTHROUGH,
            );
            Built {
                route: Route {
                    name: "allow_any".into(),
                    matcher: RouteMatch::any(),
                    action: RouteAction::Forward {
                        clusters: WeightedClusters::single(cluster::PASSTHROUGH),
                        rewrite: Default::default(),
                    },
                    request_headers: Default::default(),
                },
                clusters: vec![push.clusters.intern(c)],
                key: "allow_any".into(),
                // `BuildCatchAllVirtualHost`: no retry policy, timeout 0.
                policy: xds::RoutePolicy::default(),
            }
        }
        OutboundPolicy::RegistryOnly => Built {
            route: Route {
                name: "block_all".into(),
                matcher: RouteMatch::any(),
                action: RouteAction::DirectResponse {
                    status: 502,
                    body: None,
                },
                request_headers: Default::default(),
            },
            clusters: Vec::new(),
            key: "block_all".into(),
            policy: xds::RoutePolicy::default(),
        },
    }
}

/// A cluster as a tcp_proxy uses it: each downstream connection gets an
/// upstream connection of its own, closed with it (Envoy's TCP pool serves
/// one tcp_proxy session per connection), so the pool is modelled with one
/// stream per connection. Istio writes no `max_connect_attempts`
/// (`networkfilter.go` @1.28.10): Envoy's default of 1, no connect retry.
fn for_tcp(mut c: xds::Cluster) -> xds::Cluster {
    if matches!(c.kind, ClusterKind::Service { .. }) {
        c.pool.pool.max_requests_per_connection = Some(1);
    }
    c
}

/// Weighted clusters of a `tcp`/`tls` route (zero weights dropped).
fn l4_clusters(cx: &RouteCx, dests: &[RouteDestination], push: &mut Push) -> Vec<(ClusterIx, u32)> {
    dests
        .iter()
        .filter(|d| d.weight > 0 || dests.len() == 1)
        .map(|d| {
            let host = &d.destination.host;
            let port = d
                .destination
                .port
                .or_else(|| {
                    let si = cluster::service_by_host(cx.spec, host)?;
                    match cx.spec.services[si].ports.as_slice() {
                        [only] => Some(only.port),
                        _ => None,
                    }
                })
                .unwrap_or(cx.port);
            let c = cluster::outbound(
                cx.spec,
                cx.client,
                host,
                d.destination.subset.as_deref(),
                port,
            );
            (push.clusters.intern(for_tcp(c)), d.weight.max(1))
        })
        .collect()
}

#[cfg(test)]
mod tests;
