//! Envoy load balancers: which upstream host of a cluster gets the next
//! request. Config ([`LbConfig`]) is inert; a [`LoadBalancer`] is the state
//! built from it for one cluster of one proxy (Envoy keeps one per worker;
//! reference §3 says to model one per proxy).
//!
//! The host set is passed per call as a slice of [`HostView`]s (the world owns
//! hosts; the balancer stores indices into that slice). When membership,
//! health or weights change the caller calls [`LoadBalancer::refresh`], as
//! Envoy's priority-set callbacks rebuild schedulers and rings; between
//! refreshes only `active_requests` may change.
//!
//! A pick reads only each host's weight and requests in flight ([`PickHosts`]):
//! health and addresses were taken into account when the balancer was built.
//! So a pick takes any [`PickHosts`] — a `[HostView]` slice in the tables of
//! tests, or [`LiveHosts`], the world's own per-host arrays, which costs the
//! world no `Vec<HostView>` per pick (it did until session 6: one allocation
//! and a pass over every host per request through a sidecar).
//!
//! Which hosts are candidates (Envoy `LoadBalancerBase::isHostSetInPanic`,
//! `source/common/upstream/load_balancer_impl.cc`): the healthy ones, unless
//! fewer than `healthy_panic_threshold` percent (default **50**) are healthy —
//! then *all* hosts ("panic mode", traffic goes to unhealthy hosts too). A
//! threshold of 0 disables panic: no healthy host ⇒ no host (503 UH). Istio
//! leaves Envoy's 50 % alone unless the DR has `outlierDetection`; then it
//! writes `minHealthPercent` (default 0, i.e. panic **off**) into
//! `healthy_panic_threshold`, and 0 whenever the service sends unhealthy
//! endpoints (`pilot/pkg/networking/core/cluster_traffic_policy.go`
//! `applyOutlierDetection`). Choosing the threshold is istiod's job; the
//! balancer takes it as [`LbConfig::panic_threshold_percent`].
//!
//! Files: [`edf`] (Envoy's EDF scheduler), [`round_robin`], [`least_request`],
//! [`random`], [`ring_hash`], [`maglev`], [`hash_policy`] (request hash keys).

pub mod edf;
pub mod hash_policy;
pub mod least_request;
pub mod maglev;
pub mod prioritized;
pub mod random;
pub mod ring_hash;
pub mod round_robin;

use crate::engine::rng::SimRng;
pub use least_request::LeastRequest;
pub use maglev::Maglev;
pub use random::RandomLb;
pub use ring_hash::RingHash;
pub use round_robin::RoundRobin;

/// What a balancer sees of one upstream host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostView<'a> {
    /// `ip:port` (Envoy `address()->asString()`), the consistent-hash key.
    pub address: &'a str,
    /// Envoy load-balancing weight (≥ 1).
    pub weight: u32,
    /// Requests in flight to this host from this proxy (`rq_active`).
    pub active_requests: u32,
    pub healthy: bool,
}

impl<'a> HostView<'a> {
    pub fn new(address: &'a str) -> HostView<'a> {
        HostView {
            address,
            weight: 1,
            active_requests: 0,
            healthy: true,
        }
    }
}

/// What a pick reads of the host set, by index in the order the balancer was
/// built or refreshed with.
pub trait PickHosts {
    /// Requests in flight to host `i` from this proxy (`rq_active`).
    fn active_requests(&self, i: usize) -> u32;
    /// Envoy load-balancing weight of host `i` (≥ 1).
    fn weight(&self, i: usize) -> u32;
}

impl PickHosts for [HostView<'_>] {
    #[inline]
    fn active_requests(&self, i: usize) -> u32 {
        self[i].active_requests
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self[i].weight
    }
}

/// As the slice (table tests hold their hosts in a `Vec`).
impl PickHosts for Vec<HostView<'_>> {
    #[inline]
    fn active_requests(&self, i: usize) -> u32 {
        self.as_slice().active_requests(i)
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.as_slice().weight(i)
    }
}

/// The hosts as the world keeps them: per host its requests in flight and
/// weight (empty = all 1), and optionally the membership the balancer was
/// built over (`members[i]` = the host at balancer index `i`).
#[derive(Clone, Copy, Debug)]
pub struct LiveHosts<'a> {
    pub active: &'a [u32],
    pub weights: &'a [u32],
    pub members: Option<&'a [u32]>,
}

impl LiveHosts<'_> {
    #[inline]
    fn host(&self, i: usize) -> usize {
        match self.members {
            None => i,
            Some(m) => m[i] as usize,
        }
    }
}

impl PickHosts for LiveHosts<'_> {
    #[inline]
    fn active_requests(&self, i: usize) -> u32 {
        self.active[self.host(i)]
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.weights.get(self.host(i)).copied().unwrap_or(1)
    }
}

/// Hosts `start..` of another host set, re-indexed from 0 (a priority or
/// locality group's slice of the hosts).
pub struct Offset<'h, H: ?Sized> {
    pub hosts: &'h H,
    pub start: usize,
}

impl<H: PickHosts + ?Sized> PickHosts for Offset<'_, H> {
    #[inline]
    fn active_requests(&self, i: usize) -> u32 {
        self.hosts.active_requests(self.start + i)
    }
    #[inline]
    fn weight(&self, i: usize) -> u32 {
        self.hosts.weight(self.start + i)
    }
}

/// The outcome of a pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pick {
    /// Index into the host slice.
    Host(usize),
    /// No candidate host: 503, flag UH.
    NoHealthyUpstream,
}

/// Envoy's default `healthy_panic_threshold` (percent).
pub const DEFAULT_PANIC_THRESHOLD: u32 = 50;

/// The hosts a balancer picks among (Envoy `HostsSource`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HostSource {
    /// Slice indices; empty with `all` set means "every host, in order".
    indices: Vec<u32>,
    all: bool,
    len: usize,
    panic: bool,
}

impl HostSource {
    pub fn new(hosts: &[HostView], panic_threshold_percent: u32) -> HostSource {
        let healthy = hosts.iter().filter(|h| h.healthy).count();
        let n = hosts.len();
        // healthy% < threshold ⇒ panic (isHostSetInPanic), threshold 0 ⇒ never.
        let panic = n > 0
            && panic_threshold_percent > 0
            && healthy * 100 < panic_threshold_percent as usize * n;
        if healthy == n || panic {
            return HostSource {
                indices: Vec::new(),
                all: true,
                len: n,
                panic,
            };
        }
        let indices: Vec<u32> = (0..n as u32)
            .filter(|&i| hosts[i as usize].healthy)
            .collect();
        HostSource {
            len: indices.len(),
            indices,
            all: false,
            panic: false,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when picking among all hosts because too few are healthy.
    pub fn in_panic(&self) -> bool {
        self.panic
    }
    /// Slice index of the `i`-th candidate.
    #[inline]
    pub fn get(&self, i: usize) -> usize {
        if self.all {
            i
        } else {
            self.indices[i] as usize
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).map(|i| self.get(i))
    }
    /// Do all candidates have the same weight? (Envoy `hostWeightsAreEqual`.)
    pub fn weights_equal(&self, hosts: &[HostView]) -> bool {
        let mut it = self.iter().map(|i| hosts[i].weight);
        match it.next() {
            Some(w) => it.all(|x| x == w),
            None => true,
        }
    }
}

/// `loadBalancer.simple` / `consistentHash` as Envoy cluster config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LbPolicy {
    RoundRobin,
    /// Envoy defaults: `choice_count` 2, `active_request_bias` 1.0.
    LeastRequest {
        choice_count: u32,
    },
    Random,
    RingHash {
        minimum_ring_size: u64,
        maximum_ring_size: u64,
    },
    Maglev {
        table_size: u64,
    },
}

impl LbPolicy {
    pub const LEAST_REQUEST: LbPolicy = LbPolicy::LeastRequest { choice_count: 2 };
    /// Envoy defaults (1024, 8M).
    pub const RING_HASH: LbPolicy = LbPolicy::RingHash {
        minimum_ring_size: ring_hash::DEFAULT_MIN_RING_SIZE,
        maximum_ring_size: ring_hash::DEFAULT_MAX_RING_SIZE,
    };
    pub const MAGLEV: LbPolicy = LbPolicy::Maglev {
        table_size: maglev::DEFAULT_TABLE_SIZE,
    };

    /// The policy as Istio's `loadBalancer.simple` / `consistentHash` names it.
    pub fn name(&self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "ROUND_ROBIN",
            LbPolicy::LeastRequest { .. } => "LEAST_REQUEST",
            LbPolicy::Random => "RANDOM",
            LbPolicy::RingHash { .. } => "RING_HASH",
            LbPolicy::Maglev { .. } => "MAGLEV",
        }
    }

    /// Consistent-hash policies use the request's hash key.
    pub fn uses_hash(&self) -> bool {
        matches!(self, LbPolicy::RingHash { .. } | LbPolicy::Maglev { .. })
    }
}

/// A cluster's load-balancing config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbConfig {
    pub policy: LbPolicy,
    pub panic_threshold_percent: u32,
}

impl Default for LbConfig {
    /// Istio's default policy (LEAST_REQUEST) with Envoy's panic threshold.
    fn default() -> Self {
        LbConfig {
            policy: LbPolicy::LEAST_REQUEST,
            panic_threshold_percent: DEFAULT_PANIC_THRESHOLD,
        }
    }
}

/// A cluster's balancer state.
#[derive(Clone, Debug)]
pub enum LoadBalancer {
    RoundRobin(RoundRobin),
    LeastRequest(LeastRequest),
    Random(RandomLb),
    RingHash(RingHash),
    Maglev(Maglev),
}

impl LoadBalancer {
    /// Builds the state for `hosts`. Round robin draws its start offset from
    /// `rng` (Envoy seeds each LB instance with one random draw).
    pub fn new(config: &LbConfig, hosts: &[HostView], rng: &mut SimRng) -> LoadBalancer {
        let t = config.panic_threshold_percent;
        match config.policy {
            LbPolicy::RoundRobin => LoadBalancer::RoundRobin(RoundRobin::new(hosts, t, rng)),
            LbPolicy::LeastRequest { choice_count } => {
                LoadBalancer::LeastRequest(LeastRequest::new(hosts, t, choice_count))
            }
            LbPolicy::Random => LoadBalancer::Random(RandomLb::new(hosts, t)),
            LbPolicy::RingHash {
                minimum_ring_size,
                maximum_ring_size,
            } => LoadBalancer::RingHash(RingHash::new(
                hosts,
                t,
                minimum_ring_size,
                maximum_ring_size,
            )),
            LbPolicy::Maglev { table_size } => {
                LoadBalancer::Maglev(Maglev::new(hosts, t, table_size))
            }
        }
    }

    /// Rebuild after membership / health / weight changes.
    pub fn refresh(&mut self, hosts: &[HostView]) {
        match self {
            LoadBalancer::RoundRobin(lb) => lb.refresh(hosts),
            LoadBalancer::LeastRequest(lb) => lb.refresh(hosts),
            LoadBalancer::Random(lb) => lb.refresh(hosts),
            LoadBalancer::RingHash(lb) => lb.refresh(hosts),
            LoadBalancer::Maglev(lb) => lb.refresh(hosts),
        }
    }

    /// Picks a host. `hash` is the request's hash key (consistent-hash
    /// policies only); without one they use a random hash, as Envoy's
    /// `ThreadAwareLoadBalancerBase::LoadBalancerImpl::chooseHost` does.
    ///
    /// `hosts` must be the slice the balancer was last built/refreshed with
    /// (same length and order); only `active_requests` may differ.
    pub fn pick<H: PickHosts + ?Sized>(
        &mut self,
        hosts: &H,
        hash: Option<u64>,
        rng: &mut SimRng,
    ) -> Pick {
        self.pick_attempt(hosts, hash, 0, rng)
    }

    /// As [`LoadBalancer::pick`] for retry host selection attempt `attempt`
    /// (Envoy's `chooseHost(hash, attempt)`: consistent-hash balancers move to
    /// another host for `attempt > 0`; the others simply pick again).
    pub fn pick_attempt<H: PickHosts + ?Sized>(
        &mut self,
        hosts: &H,
        hash: Option<u64>,
        attempt: u32,
        rng: &mut SimRng,
    ) -> Pick {
        use rand::Rng;
        match self {
            LoadBalancer::RoundRobin(lb) => lb.pick(hosts),
            LoadBalancer::LeastRequest(lb) => lb.pick(hosts, rng),
            LoadBalancer::Random(lb) => lb.pick(rng),
            LoadBalancer::RingHash(lb) => lb.pick(hash.unwrap_or_else(|| rng.next_u64()), attempt),
            LoadBalancer::Maglev(lb) => lb.pick(hash.unwrap_or_else(|| rng.next_u64()), attempt),
        }
    }
}

#[cfg(test)]
mod tests;
