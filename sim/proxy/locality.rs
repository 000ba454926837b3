//! Locality load balancing as Istio 1.28 configures it and Envoy runs it:
//! which **priority** each endpoint gets relative to the client proxy, which
//! **locality weights** `distribute` writes, and how Envoy spreads load over
//! priorities (overprovisioning factor 1.4, spillover, panic).
//!
//! Why pure and here: istiod decides the priorities per client proxy when it
//! builds the endpoint assignment (`pilot/pkg/xds/endpoints/endpoint_builder.go`
//! @1.28.9 `BuildClusterLoadAssignment` → `loadbalancer.ApplyLocalityLoadBalancer`),
//! and Envoy's load split over priorities is a function of per-priority health
//! only; the world applies these answers in its balancers
//! ([`crate::proxy::lb::prioritized`]).
//!
//! Istio (`pilot/pkg/networking/core/loadbalancer/loadbalancer.go` and
//! `pilot/pkg/networking/util/util.go` `LbPriority`, `LocalityMatch` @1.28.9):
//! * the setting is the DestinationRule's `localityLbSetting` (unless
//!   `enabled: false`), else MeshConfig's, which is **enabled by default**
//!   (`pkg/config/mesh/mesh.go` `DefaultMeshConfig`);
//! * `distribute` (the first entry whose `from` matches the client) sets the
//!   weight of every locality group a `to` matches: the group's endpoint
//!   weight × the `to` weight ÷ the total of all groups that `to` matched,
//!   rounded up; groups no `to` matches lose their endpoints. Priorities stay 0.
//! * otherwise, **only when the cluster has outlier detection**
//!   ("Failover should only be applied with outlier detection, or traffic
//!   will never failover"): `failoverPriority` labels first (an endpoint's
//!   priority is `n − j` for the first label `j` whose value differs from the
//!   client's, 0 when all match), then — when `failover` is set or no
//!   `failoverPriority` is — region/zone/subzone: 0 same locality, 1 same
//!   zone, 2 same region, 3 other region, 4 when a `failover` entry exists for
//!   the client's region and the endpoint is not in its `to` region; the
//!   label priority × 5 + that; then compacted to 0..N.
//!
//! Envoy (`source/common/upstream/load_balancer_impl.cc`
//! `LoadBalancerBase::recalculatePerPriorityState`, `distributeLoad`,
//! `recalculatePerPriorityPanic`, `recalculateLoadInTotalPanic`;
//! `source/extensions/retry/priority/previous_priorities/previous_priorities.cc`):
//! a priority's health is `min(100, 140 × healthy ÷ hosts)`; the load (of
//! 100) goes to priorities in order, each taking `health × 100 ÷ total` where
//! total = `min(100, Σ health)`; the rounding rest goes to the first priority
//! with any health. With Σ health = 100 no priority panics; otherwise a
//! priority whose healthy share is below the panic threshold picks among all
//! its hosts, and when every priority panics the load follows host counts.
//! No health at all and panic threshold 0 ⇒ everything to priority 0 (which
//! then has no host: 503 UH).

use std::collections::BTreeMap;

/// Envoy's default overprovisioning factor (percent); Istio does not change it.
pub const OVERPROVISIONING: u64 = 140;

/// Node label of the region (Kubernetes well-known).
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// Node label of the zone (Kubernetes well-known).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// Node label of the sub-zone (Istio's own).
pub const SUBZONE_LABEL: &str = "topology.istio.io/subzone";

/// Where a proxy or an endpoint runs: `region/zone/subzone`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Locality {
    pub region: String,
    pub zone: String,
    pub subzone: String,
}

impl Locality {
    /// `region/zone/subzone`, any suffix left out (`label.SplitLocalityLabel`).
    pub fn parse(s: &str) -> Locality {
        let mut it = s.splitn(3, '/');
        Locality {
            region: it.next().unwrap_or("").to_string(),
            zone: it.next().unwrap_or("").to_string(),
            subzone: it.next().unwrap_or("").to_string(),
        }
    }

    /// From Kubernetes node labels (region, zone, Istio's subzone).
    pub fn of_labels(labels: &BTreeMap<String, String>) -> Locality {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        Locality {
            region: get(REGION_LABEL),
            zone: get(ZONE_LABEL),
            subzone: get(SUBZONE_LABEL),
        }
    }

    /// Istio's `util.LocalityMatch`: does this locality match the rule
    /// `region[/zone[/subzone]]` (`*` matches anything; a missing part too)?
    pub fn matches(&self, rule: &str) -> bool {
        let r = Locality::parse(rule);
        (r.region == "*" || r.region == self.region)
            && (r.zone == "*" || r.zone.is_empty() || r.zone == self.zone)
            && (r.subzone == "*" || r.subzone.is_empty() || r.subzone == self.subzone)
    }
}

impl std::fmt::Display for Locality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.region, self.zone, self.subzone)
    }
}

/// Istio's `util.LbPriority`: 0 same subzone, 1 same zone, 2 same region, 3 other.
pub fn lb_priority(proxy: &Locality, ep: &Locality) -> u32 {
    if proxy.region != ep.region {
        3
    } else if proxy.zone != ep.zone {
        2
    } else if proxy.subzone != ep.subzone {
        1
    } else {
        0
    }
}

/// The locality setting a cluster carries (istiod), applied per client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalityPolicy {
    /// `distribute`: (from, [(to, weight)]).
    pub distribute: Vec<(String, Vec<(String, u32)>)>,
    /// `failover`: (from region, to region).
    pub failover: Vec<(String, String)>,
    /// `failoverPriority` labels (`label` or `label=value`).
    pub failover_priority: Vec<String>,
    /// The cluster has outlier detection (Istio's `enableFailover`).
    pub outlier_detection: bool,
}

impl LocalityPolicy {
    /// Does this setting change anything in Envoy? (No distribute and no
    /// outlier detection ⇒ every endpoint stays in priority 0, unweighted.)
    pub fn is_active(&self) -> bool {
        !self.distribute.is_empty() || self.outlier_detection
    }

    /// Envoy's `locality_weighted_lb_config` (`applyLocalityLoadBalancer`):
    /// with `distribute`, or failover with explicit `failover` /
    /// `failoverPriority` entries.
    pub fn locality_weighted(&self) -> bool {
        !self.distribute.is_empty()
            || (self.outlier_detection
                && (!self.failover.is_empty() || !self.failover_priority.is_empty()))
    }
}

/// One endpoint as istiod sees it: its locality and its labels (pod labels
/// plus the topology labels Istio adds).
#[derive(Clone, Copy, Debug)]
pub struct EndpointView<'a> {
    pub locality: &'a Locality,
    pub labels: &'a BTreeMap<String, String>,
}

/// Istio's answer for one endpoint, relative to one client proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Envoy priority (0 = preferred).
    pub priority: u32,
    /// Weight of the endpoint's locality group (`load_balancing_weight` of its
    /// `LocalityLbEndpoints`): the number of its endpoints unless
    /// `distribute` set it.
    pub locality_weight: u32,
    /// False: `distribute` removed the endpoint's locality (no `to` matched).
    pub kept: bool,
}

/// Priorities and locality weights of `eps` for a client at `proxy` with
/// `proxy_labels` (see the module docs).
pub fn assign(
    policy: &LocalityPolicy,
    proxy: &Locality,
    proxy_labels: &BTreeMap<String, String>,
    eps: &[EndpointView],
) -> Vec<Placement> {
    // Locality groups (Istio's LocalityLbEndpoints), their sizes.
    let mut groups: Vec<&Locality> = eps.iter().map(|e| e.locality).collect();
    groups.sort();
    groups.dedup();
    let group_of = |l: &Locality| groups.iter().position(|g| *g == l).unwrap_or(0);
    let mut size = vec![0u32; groups.len()];
    for e in eps {
        size[group_of(e.locality)] += 1;
    }
    let mut out: Vec<Placement> = eps
        .iter()
        .map(|e| Placement {
            priority: 0,
            locality_weight: size[group_of(e.locality)],
            kept: true,
        })
        .collect();
    if let Some((_, to)) = policy.distribute.iter().find(|(f, _)| proxy.matches(f)) {
        // applyLocalityWeights (Go ranges over the `to` map in random order;
        // here in the order written, so a group two rules match takes the first).
        let mut weight: Vec<Option<u32>> = vec![None; groups.len()];
        for (rule, w) in to {
            let matched: Vec<usize> = (0..groups.len())
                .filter(|&g| weight[g].is_none() && groups[g].matches(rule))
                .collect();
            let total: u32 = matched.iter().map(|&g| size[g]).sum();
            for g in matched {
                let v = (u64::from(size[g]) * u64::from(*w)).div_ceil(u64::from(total.max(1)));
                weight[g] = Some(v as u32);
            }
        }
        for (e, p) in eps.iter().zip(out.iter_mut()) {
            match weight[group_of(e.locality)] {
                Some(w) if w > 0 => p.locality_weight = w,
                _ => p.kept = false,
            }
        }
        return out;
    }
    if !policy.outlier_detection {
        return out;
    }
    let by_labels = !policy.failover_priority.is_empty() && !proxy_labels.is_empty();
    if by_labels {
        let n = policy.failover_priority.len() as u32;
        for (e, p) in eps.iter().zip(out.iter_mut()) {
            for (j, l) in policy.failover_priority.iter().enumerate() {
                let (name, want) = match l.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (l.as_str(), None),
                };
                let mine = want.or(proxy_labels.get(name).map(String::as_str));
                if mine != e.labels.get(name).map(String::as_str) {
                    p.priority = n - j as u32;
                    break;
                }
            }
        }
        compact(&mut out);
    }
    if !by_labels || !policy.failover.is_empty() {
        for (e, p) in eps.iter().zip(out.iter_mut()) {
            let mut pr = lb_priority(proxy, e.locality);
            if pr == 3
                && let Some((_, to)) = policy.failover.iter().find(|(f, _)| *f == proxy.region)
                && e.locality.region != *to
            {
                pr = 4;
            }
            p.priority = p.priority * 5 + pr;
        }
        compact(&mut out);
    }
    out
}

/// Renumbers priorities to 0..N without gaps, keeping their order.
fn compact(ps: &mut [Placement]) {
    let mut used: Vec<u32> = ps.iter().map(|p| p.priority).collect();
    used.sort_unstable();
    used.dedup();
    for p in ps {
        p.priority = used.binary_search(&p.priority).unwrap_or(0) as u32;
    }
}

/// Health of one priority: (healthy hosts, hosts).
pub type Health = (u32, u32);

/// A priority's availability (`min(100, 140 × healthy ÷ hosts)`).
pub fn availability((healthy, hosts): Health) -> u32 {
    if hosts == 0 {
        0
    } else {
        (OVERPROVISIONING * u64::from(healthy) / u64::from(hosts)).min(100) as u32
    }
}

/// Envoy's split of load over priorities and which priorities panic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriorityLoad {
    /// Percent of requests per priority (sums to 100).
    pub load: Vec<u32>,
    /// Per priority: picks among all its hosts (panic mode).
    pub panic: Vec<bool>,
}

/// `distributeLoad` over availabilities `avail` (excluded ones count 0); None
/// when nothing is available.
fn distribute(avail: &[u32]) -> Option<Vec<u32>> {
    let total = avail.iter().sum::<u32>().min(100);
    if total == 0 {
        return None;
    }
    let mut rest = 100u32;
    let mut load: Vec<u32> = avail
        .iter()
        .map(|&a| {
            let l = (a * 100 / total).min(rest);
            rest -= l;
            l
        })
        .collect();
    if let Some(first) = avail.iter().position(|&a| a > 0) {
        load[first] += rest;
    }
    Some(load)
}

/// Envoy's per-priority load and panic flags for `health` (one entry per
/// priority) and the cluster's panic threshold (percent; 0 = never).
pub fn priority_load(health: &[Health], panic_threshold: u32) -> PriorityLoad {
    let n = health.len();
    let avail: Vec<u32> = health.iter().map(|&h| availability(h)).collect();
    let total = avail.iter().sum::<u32>().min(100);
    let mut out = PriorityLoad {
        load: distribute(&avail).unwrap_or_else(|| vec![0; n]),
        panic: vec![false; n],
    };
    if n == 0 {
        return out;
    }
    if total == 0 && panic_threshold == 0 {
        out.load[0] = 100;
        return out;
    }
    if total < 100 {
        for (i, &(healthy, hosts)) in health.iter().enumerate() {
            // isHostSetInPanic: healthy% < threshold (an empty set too).
            out.panic[i] = if hosts == 0 {
                panic_threshold > 0
            } else {
                u64::from(healthy) * 100 < u64::from(panic_threshold) * u64::from(hosts)
            };
        }
        if out.panic.iter().all(|&p| p) {
            // recalculateLoadInTotalPanic: by host counts.
            let hosts: u32 = health.iter().map(|h| h.1).sum();
            if hosts > 0 {
                let mut rest = 100;
                for (i, h) in health.iter().enumerate() {
                    out.load[i] = (100 * h.1).checked_div(hosts).unwrap_or(0);
                    rest -= out.load[i];
                }
                if let Some(first) = health.iter().position(|h| h.1 > 0) {
                    out.load[first] += rest;
                }
            }
        }
    }
    out
}

/// The load with the priorities in `excluded` (bit i = priority i) taken out,
/// as the `previous_priorities` retry plugin computes it; None when nothing
/// is left (Envoy then resets and uses the original load).
pub fn load_excluding(health: &[Health], excluded: u64) -> Option<Vec<u32>> {
    let avail: Vec<u32> = health
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            if i < 64 && excluded & (1 << i) != 0 {
                0
            } else {
                availability(h)
            }
        })
        .collect();
    distribute(&avail)
}

/// `LoadBalancerBase::choosePriority`: the priority whose cumulative load
/// first exceeds `draw % 100`.
pub fn choose_priority(load: &[u32], draw: u64) -> usize {
    let x = (draw % 100) as u32;
    let mut acc = 0;
    for (i, &l) in load.iter().enumerate() {
        acc += l;
        if x < acc {
            return i;
        }
    }
    0
}

/// Envoy's effective weight of a locality (`effectiveLocalityWeight`):
/// its weight × `min(1, 1.4 × healthy ÷ hosts)`.
pub fn effective_locality_weight(weight: u32, (healthy, hosts): Health) -> f64 {
    if hosts == 0 {
        return 0.0;
    }
    let ratio = (OVERPROVISIONING as f64 / 100.0) * f64::from(healthy) / f64::from(hosts);
    f64::from(weight) * ratio.min(1.0)
}

#[cfg(test)]
#[path = "locality/tests.rs"]
mod tests;
