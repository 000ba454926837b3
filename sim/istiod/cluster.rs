//! Envoy clusters `outbound|<port>|<subset>|<fqdn>`: which Deployments are
//! their endpoints and which load balancer they run, as one client proxy
//! sees them.
//!
//! Why per client: the DestinationRule that applies to a host depends on who
//! asks (istio/istio 1.28 `pilot/pkg/model/push_context.go`
//! `destinationRule(proxyNameSpace, service)`: a rule in the client's own
//! namespace — whose `workloadSelector`, if any, selects the client — wins,
//! then one in the Service's namespace exported to the client, then one in
//! the root namespace exported to it; exact hosts before wildcards, the most
//! specific wildcard first). So one cluster *name* can carry different
//! policies for different clients. [`Clusters`] therefore deduplicates by
//! full content, not by name: two entries with the same name differ in
//! policy or endpoints, and each route names the one its proxy was built with.
//!
//! Policy merge per block (`pilot/pkg/networking/core/cluster_traffic_policy.go`
//! `MergeTrafficPolicy`): the top-level policy, overridden by its
//! `portLevelSettings` entry for the cluster's port, then — for a subset
//! cluster — each block the subset sets replaces that block wholesale, then
//! the subset's own port-level entry. Only `loadBalancer` shapes [`Cluster`].

use super::host;
use super::resilience;
use super::xds::{Cluster, ClusterIx, ClusterKind};
use crate::cluster::selector::selects;
use crate::cluster::service::backing_deployments;
use crate::proxy::lb::hash_policy::HashPolicy;
use crate::proxy::lb::{LbConfig, LbPolicy, maglev, ring_hash};
use crate::proxy::locality::LocalityPolicy;
use crate::scenario::spec::istio::{
    ConnectionPool, DestinationRule, H2UpgradePolicy, HashAlgorithm, HashKey, LoadBalancer,
    SimpleLb, TrafficPolicy,
};
use crate::scenario::spec::{Scenario, ServiceIx};
use std::collections::BTreeMap;

/// `PassthroughCluster` (ALLOW_ANY's original-destination cluster).
pub const PASSTHROUGH: &str = "PassthroughCluster";
/// `BlackHoleCluster` (REGISTRY_ONLY's TCP catch-all).
pub const BLACK_HOLE: &str = "BlackHoleCluster";

/// The proxy a cluster is built for.
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// `outbound|<port>|<subset>|<host>`.
pub fn name(port: u16, subset: Option<&str>, host: &str) -> String {
    format!("outbound|{port}|{}|{host}", subset.unwrap_or(""))
}

/// The Service whose FQDN is `host`.
pub fn service_by_host(spec: &Scenario, host: &str) -> Option<ServiceIx> {
    spec.services
        .iter()
        .position(|s| host::fqdn(s).eq_ignore_ascii_case(host))
}

/// The DestinationRule for `host` (a Service in `svc_ns`) as `client` sees it.
///
/// istio/istio 1.28 `pilot/pkg/model/push_context.go` `destinationRule`:
/// the client's namespace (its rules need no export; one whose
/// `workloadSelector` selects the client beats the selector-less ones),
/// then the Service's namespace and then the root namespace, each only with
/// rules exported to the client; a client *in* the root namespace looks in
/// the Service's namespace first. Within a namespace the most specific host
/// wins (`MostSpecificHostMatch`: exact, then the longest wildcard), and
/// several selector-less rules for that host are merged as
/// `mergeDestinationRule` does: the first top-level `trafficPolicy`, subsets
/// by name, first wins.
pub fn destination_rule(
    spec: &Scenario,
    client: Client,
    svc_ns: &str,
    host: &str,
) -> Option<DestinationRule> {
    let ist = &spec.istio;
    let root = ist.mesh.root_namespace.as_str();
    let tiers: Vec<(&str, bool)> = if client.namespace == root {
        vec![(svc_ns, false), (root, true)]
    } else {
        vec![(client.namespace, true), (svc_ns, false), (root, false)]
    };
    let mut seen: Vec<&str> = Vec::new();
    for (ns, local) in tiers {
        if seen.contains(&ns) {
            continue;
        }
        seen.push(ns);
        let local = local || ns == client.namespace;
        let candidates: Vec<&DestinationRule> = ist
            .destination_rules
            .iter()
            .filter(|dr| {
                dr.meta.namespace == ns
                    && host::covers(&dr.host, host)
                    && if local {
                        dr.workload_selector
                            .as_ref()
                            .is_none_or(|sel| selects(sel, client.labels))
                    } else {
                        dr.workload_selector.is_none()
                            && host::exported_to(
                                &dr.export_to,
                                &dr.meta.namespace,
                                client.namespace,
                            )
                    }
            })
            .collect();
        let Some(best) = candidates
            .iter()
            .map(|dr| dr.host.to_ascii_lowercase())
            .min_by_key(|h| (h.starts_with('*'), usize::MAX - h.len()))
        else {
            continue;
        };
        let same: Vec<&DestinationRule> = candidates
            .into_iter()
            .filter(|dr| dr.host.eq_ignore_ascii_case(&best))
            .collect();
        if let Some(sel) = same.iter().find(|dr| dr.workload_selector.is_some()) {
            return Some((*sel).clone());
        }
        let mut merged = same[0].clone();
        for dr in &same[1..] {
            if merged.traffic_policy.is_none() {
                merged.traffic_policy.clone_from(&dr.traffic_policy);
            }
            for sub in &dr.subsets {
                if !merged.subsets.iter().any(|x| x.name == sub.name) {
                    merged.subsets.push(sub.clone());
                }
            }
        }
        return Some(merged);
    }
    None
}

/// The `loadBalancer` block in force for (port, subset) after the per-block merge.
pub fn effective_lb<'d>(
    dr: &'d DestinationRule,
    port: u16,
    subset: Option<&str>,
) -> Option<&'d LoadBalancer> {
    effective(dr, port, subset, |p| p.load_balancer.as_ref())
}

/// One block of the traffic policy in force for (port, subset), as Istio's
/// `MergeTrafficPolicy` builds it (`pilot/pkg/networking/util/util.go`
/// @1.28.10): a `portLevelSettings` entry for the port replaces **all four**
/// blocks (`loadBalancer`, `connectionPool`, `outlierDetection`, `tls`) —
/// "port level policies do not inherit", an unset block there means the
/// default; then a subset's blocks override one by one, and a subset's own
/// port-level entry again replaces all four.
pub fn effective<'d, T>(
    dr: &'d DestinationRule,
    port: u16,
    subset: Option<&str>,
    get: impl Fn(&'d TrafficPolicy) -> Option<&'d T>,
) -> Option<&'d T> {
    let port_level = |p: &'d TrafficPolicy| p.port_level_settings.iter().find(|s| s.port == port);
    let level = |p: &'d TrafficPolicy| match port_level(p) {
        Some(pl) => get(&pl.policy),
        None => get(p),
    };
    let top = dr.traffic_policy.as_ref().and_then(level);
    match subset
        .and_then(|s| dr.subsets.iter().find(|x| x.name == s))
        .and_then(|s| s.traffic_policy.as_ref())
    {
        None => top,
        Some(sp) => match port_level(sp) {
            Some(pl) => get(&pl.policy),
            None => get(sp).or(top),
        },
    }
}

/// Istio's `applyLoadBalancer`: (kind is passthrough, Envoy policy, hash).
pub fn lb_config(lb: Option<&LoadBalancer>) -> (bool, LbConfig, Option<HashPolicy>) {
    let mut cfg = LbConfig::default();
    let Some(lb) = lb else {
        return (false, cfg, None);
    };
    let mut passthrough = false;
    cfg.policy = match lb.simple {
        None | Some(SimpleLb::Unspecified) | Some(SimpleLb::LeastRequest) => {
            LbPolicy::LEAST_REQUEST
        }
        Some(SimpleLb::RoundRobin) => LbPolicy::RoundRobin,
        Some(SimpleLb::Random) => LbPolicy::Random,
        Some(SimpleLb::Passthrough) => {
            passthrough = true;
            LbPolicy::LEAST_REQUEST
        }
    };
    let mut hash = None;
    if let Some(ch) = &lb.consistent_hash {
        cfg.policy = match ch.algorithm {
            HashAlgorithm::RingHash { minimum_ring_size } => LbPolicy::RingHash {
                minimum_ring_size: if minimum_ring_size == 0 {
                    ring_hash::DEFAULT_MIN_RING_SIZE
                } else {
                    minimum_ring_size
                },
                maximum_ring_size: ring_hash::DEFAULT_MAX_RING_SIZE,
            },
            HashAlgorithm::Maglev { table_size } => LbPolicy::Maglev {
                table_size: if table_size == 0 {
                    maglev::DEFAULT_TABLE_SIZE
                } else {
                    table_size
                },
            },
        };
        hash = Some(match &ch.key {
            HashKey::HttpHeaderName(n) => HashPolicy::Header {
                name: n.to_ascii_lowercase(),
            },
            HashKey::HttpCookie { name, path, ttl } => HashPolicy::Cookie {
                name: name.clone(),
                path: path.clone().unwrap_or_default(),
                ttl: *ttl,
            },
            HashKey::UseSourceIp => HashPolicy::SourceIp,
            HashKey::HttpQueryParameterName(n) => HashPolicy::QueryParameter { name: n.clone() },
        });
    }
    (passthrough, cfg, hash)
}

/// A cluster of no Service (passthrough, black hole, missing).
pub fn special(name: &str, kind: ClusterKind, stats_key: &str) -> Cluster {
    Cluster::new(name, kind, stats_key)
}

/// The cluster a route to (`host`, `subset`, `port`) names, as `client` has it.
/// An unknown host, a port the Service lacks, or a subset no DestinationRule
/// visible to the client defines gives a [`ClusterKind::Missing`] cluster.
pub fn outbound(
    spec: &Scenario,
    client: Client,
    host: &str,
    subset: Option<&str>,
    port: u16,
) -> Cluster {
    let cname = name(port, subset, host);
    let stats_key = format!("{host}/{}", subset.unwrap_or("-"));
    let missing = || special(&cname, ClusterKind::Missing, &stats_key);
    // (Service, port index, namespace the DestinationRule lookup uses).
    let mut entry = None;
    let (si, pi, dr_ns) = match service_by_host(spec, host) {
        Some(si) => {
            let svc = &spec.services[si];
            let Some(pi) = svc.ports.iter().position(|p| p.port == port) else {
                return missing();
            };
            (si, pi, svc.namespace.clone())
        }
        None => {
            let Some(se) = super::service_entry::find(spec, host, port) else {
                return missing();
            };
            if se.entry.resolution == crate::scenario::spec::istio::Resolution::None {
                return special(&cname, ClusterKind::Passthrough, &stats_key);
            }
            entry = super::entry_endpoints::resolve(spec, se.entry, host, se.port);
            let first = match &entry {
                Some(e) => e.groups.first().map(|g| (g.service, g.port)),
                None => super::service_entry::stand_in(spec, host, port),
            };
            match first {
                Some((si, pi)) => (si, pi, se.entry.meta.namespace.clone()),
                // DNS resolves to nothing: no host (503 UH).
                None => return special(&cname, ClusterKind::BlackHole, &stats_key),
            }
        }
    };
    let svc = &spec.services[si];
    let dr = destination_rule(spec, client, &dr_ns, host);
    let dr = dr.as_ref();
    let labels = match subset {
        None => None,
        Some(s) => match dr.and_then(|d| d.subsets.iter().find(|x| x.name == s)) {
            Some(x) => Some(&x.labels),
            None => return missing(),
        },
    };
    let deployments = backing_deployments(svc, pi, &spec.deployments)
        .into_iter()
        .filter(|&d| labels.is_none_or(|l| l.is_empty() || selects(l, &spec.deployments[d].labels)))
        .collect();
    // A ServiceEntry's endpoints: a subset selects on the endpoints' labels.
    if let Some(e) = &mut entry {
        e.groups
            .retain(|g| labels.is_none_or(|l| l.is_empty() || selects(l, &g.labels)));
        if e.groups.is_empty() {
            return special(&cname, ClusterKind::BlackHole, &stats_key);
        }
    }
    let (si, pi, deployments) = match &entry {
        Some(e) => (
            e.groups[0].service,
            e.groups[0].port,
            e.groups[0].deployments.clone(),
        ),
        None => (si, pi, deployments),
    };
    let (passthrough, mut lb, hash) = lb_config(dr.and_then(|d| effective_lb(d, port, subset)));
    let pool = dr.and_then(|d| effective(d, port, subset, |p| p.connection_pool.as_ref()));
    let od = dr.and_then(|d| effective(d, port, subset, |p| p.outlier_detection.as_ref()));
    let outlier = resilience::outlier_detection(od).map(|(cfg, panic)| {
        // Istio writes `minHealthPercent` (0 = panic off) into the
        // cluster's `healthy_panic_threshold` when outlier detection is set.
        lb.panic_threshold_percent = panic;
        cfg
    });
    let locality = locality_policy(
        dr.and_then(|d| effective_lb(d, port, subset)),
        outlier.is_some(),
    );
    Cluster {
        name: cname,
        locality: if passthrough { None } else { locality },
        kind: if passthrough {
            ClusterKind::Passthrough
        } else {
            ClusterKind::Service {
                service: si,
                port: pi,
                deployments,
            }
        },
        lb,
        hash,
        stats_key,
        breakers: resilience::circuit_breakers(
            pool,
            dr.and_then(|d| resilience::effective_retry_budget(d, port, subset)),
        ),
        pool: resilience::upstream_pool(pool, upstream_http2(spec, si, pi, pool)),
        outlier,
        entry: entry.map(Box::new),
    }
}

/// The locality setting in force (`GetLocalityLbSetting` @1.28.9: the DR's
/// `localityLbSetting` unless `enabled: false`, else MeshConfig's, enabled by
/// default and not read by meshsim), kept only when it changes Envoy's
/// config: `distribute`, or failover when the cluster has outlier detection
/// (`applyLocalityLoadBalancer`, `cluster_traffic_policy.go` @1.28.9).
pub fn locality_policy(lb: Option<&LoadBalancer>, outlier: bool) -> Option<LocalityPolicy> {
    let s = lb.and_then(|l| l.locality_lb_setting.as_ref());
    if s.is_some_and(|s| s.enabled == Some(false)) {
        return None;
    }
    let mut p = LocalityPolicy {
        outlier_detection: outlier,
        ..Default::default()
    };
    if let Some(s) = s {
        p.distribute = s
            .distribute
            .iter()
            .map(|(from, to)| {
                let to = to.iter().map(|(k, v)| (k.clone(), *v)).collect();
                (from.clone(), to)
            })
            .collect();
        p.failover.clone_from(&s.failover);
        p.failover_priority.clone_from(&s.failover_priority);
    }
    p.is_active().then_some(p)
}

/// Whether the cluster speaks HTTP/2 upstream (`setUpstreamProtocol`,
/// `shouldH2Upgrade`): HTTP2/gRPC/gRPC-Web ports always; an HTTP/1.1 port
/// when MeshConfig or the DR's `h2UpgradePolicy` says `UPGRADE` (the DR
/// wins, `useClientProtocol` keeps the client's HTTP/1.1). meshsim's apps
/// and loads speak HTTP/1.1, so a sniffed port stays HTTP/1.1.
fn upstream_http2(spec: &Scenario, si: usize, pi: usize, pool: Option<&ConnectionPool>) -> bool {
    use crate::proxy::protocol::Protocol;
    let proto = spec.services[si].ports[pi].protocol();
    if matches!(proto, Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb) {
        return true;
    }
    if proto != Protocol::Http {
        return false;
    }
    let http = pool.and_then(|c| c.http.as_ref());
    if http.is_some_and(|h| h.use_client_protocol) {
        return false;
    }
    match http.map(|h| h.h2_upgrade_policy) {
        Some(H2UpgradePolicy::Upgrade) => true,
        Some(H2UpgradePolicy::DoNotUpgrade) => false,
        _ => spec.istio.mesh.h2_upgrade_policy == H2UpgradePolicy::Upgrade,
    }
}

/// Every cluster the compiled config references, deduplicated by content.
#[derive(Debug, Default)]
pub struct Clusters {
    list: Vec<Cluster>,
}

impl Clusters {
    /// The id of `c`, adding it if no identical cluster exists.
    pub fn intern(&mut self, c: Cluster) -> ClusterIx {
        match self.list.iter().position(|x| *x == c) {
            Some(i) => i as ClusterIx,
            None => {
                self.list.push(c);
                (self.list.len() - 1) as ClusterIx
            }
        }
    }

    /// The clusters sorted by name (stable: same-name variants keep their
    /// creation order) and, per interned id, its final index.
    pub fn finish(self) -> (Vec<Cluster>, Vec<ClusterIx>) {
        let mut order: Vec<usize> = (0..self.list.len()).collect();
        order.sort_by(|&a, &b| self.list[a].name.cmp(&self.list[b].name));
        let mut remap = vec![0; self.list.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old] = new as ClusterIx;
        }
        let mut list: Vec<Option<Cluster>> = self.list.into_iter().map(Some).collect();
        let sorted = order
            .iter()
            .map(|&i| list[i].take().expect("each once"))
            .collect();
        (sorted, remap)
    }
}
