//! Envoy circuit breakers: the `ResourceManager` of one cluster (one
//! `outbound|port|subset|host`) in one client proxy, plus the cluster
//! counters they bump under Envoy's own names.
//!
//! Why counters and not a state machine: Envoy's "circuit breaker" is four
//! gauges compared with four limits at the moment a resource is wanted
//! (`source/common/upstream/resource_manager_impl.h`: `canCreate()` is
//! `count < max`); nothing opens or half-opens. Each client proxy has its
//! own set, never coordinated with other proxies, so N clients with
//! `maxConnections: 1` can hold N connections (reference §4).
//!
//! Where each limit is checked (Envoy 1.36, the Envoy Istio 1.28 ships):
//! * `max_pending_requests`: when a stream must wait for a connection
//!   (`conn_pool_base.cc` `newStreamImpl`); overflow ⇒ 503 `UO`,
//!   `upstream_rq_pending_overflow` ([`crate::proxy::conn_pool`]).
//! * `max_requests`: when a stream is attached to a ready connection
//!   (`attachStreamToClient`); overflow ⇒ 503 `UO` and, per the pinned fact
//!   "`http2MaxRequests` overflow", the **same** `upstream_rq_pending_overflow`
//!   counter (there is no `upstream_rq_overflow`).
//! * `max_connections`: when the pool wants a new connection
//!   (`tryCreateNewConnection`); over the limit the stream stays pending and
//!   `upstream_cx_overflow` is bumped; a host with no connection at all
//!   still gets one.
//! * `max_retries` (or the retry budget): when the router schedules a retry
//!   (`retry_state_impl.cc` `shouldRetry`); overflow ⇒ the retry is skipped,
//!   `upstream_rq_retry_overflow`, flag `UO` added ([`crate::proxy::retry`]).
//!
//! Istio's mapping (`pilot/pkg/networking/core/cluster_traffic_policy.go`
//! `applyConnectionPool`, `getDefaultCircuitBreakerThresholds`,
//! `applyRetryBudget` @1.28.10) lives in [`Thresholds::istio`]: every limit
//! defaults to 2^32−1 (Envoy's own 1024/1024/1024/3 never apply in Istio),
//! and a 0 in the DR means "unset".

/// 2^32−1: Istio's "unlimited" for every threshold.
pub const ISTIO_UNLIMITED: u64 = u32::MAX as u64;

/// Envoy's defaults (`resource_manager_impl`/cluster proto), for clusters
/// Istio did not write (never, in practice; kept for tests and contrast).
pub const ENVOY_DEFAULT_MAX_CONNECTIONS: u64 = 1024;
pub const ENVOY_DEFAULT_MAX_PENDING_REQUESTS: u64 = 1024;
pub const ENVOY_DEFAULT_MAX_REQUESTS: u64 = 1024;
pub const ENVOY_DEFAULT_MAX_RETRIES: u64 = 3;

/// Envoy `RetryBudget` (`circuit_breakers.thresholds[].retry_budget`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// `budget_percent` in parts per million of (active + pending requests);
    /// Istio default 20 % = 200 000.
    pub budget_ppm: u64,
    /// `min_retry_concurrency`; Istio default 3.
    pub min_retry_concurrency: u64,
}

/// Inert config: one `circuit_breakers.thresholds` entry (priority DEFAULT;
/// Istio writes only that one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub max_connections: u64,
    pub max_pending_requests: u64,
    pub max_requests: u64,
    pub max_retries: u64,
    /// Replaces `max_retries` when set (Envoy `RetryBudgetImpl`).
    pub retry_budget: Option<RetryBudget>,
}

impl Default for Thresholds {
    /// Istio's defaults when the DR has no `connectionPool`.
    fn default() -> Self {
        Thresholds::istio_default()
    }
}

/// The DR fields that feed the thresholds, as primitives (0 = unset, as in
/// Istio's proto).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IstioConnectionPool {
    /// `tcp.maxConnections`.
    pub max_connections: u32,
    /// `http.http1MaxPendingRequests`.
    pub http1_max_pending_requests: u32,
    /// `http.http2MaxRequests`.
    pub http2_max_requests: u32,
    /// `http.maxRetries`.
    pub max_retries: u32,
    /// `trafficPolicy.retryBudget` present: (`percent` × 10 000 ppm or None
    /// = 20 %, `minRetryConcurrency` or 0 = 3).
    pub retry_budget: Option<(Option<u64>, u32)>,
}

impl Thresholds {
    /// `getDefaultCircuitBreakerThresholds` @1.28.10: all four at 2^32−1,
    /// `track_remaining: true`.
    pub const fn istio_default() -> Thresholds {
        Thresholds {
            max_connections: ISTIO_UNLIMITED,
            max_pending_requests: ISTIO_UNLIMITED,
            max_requests: ISTIO_UNLIMITED,
            max_retries: ISTIO_UNLIMITED,
            retry_budget: None,
        }
    }

    /// Envoy's own defaults (a cluster without `circuit_breakers`).
    pub const fn envoy_default() -> Thresholds {
        Thresholds {
            max_connections: ENVOY_DEFAULT_MAX_CONNECTIONS,
            max_pending_requests: ENVOY_DEFAULT_MAX_PENDING_REQUESTS,
            max_requests: ENVOY_DEFAULT_MAX_REQUESTS,
            max_retries: ENVOY_DEFAULT_MAX_RETRIES,
            retry_budget: None,
        }
    }

    /// Istio's `applyConnectionPool` + `applyRetryBudget`: a field > 0
    /// replaces the default, 0 leaves 2^32−1.
    pub fn istio(pool: &IstioConnectionPool) -> Thresholds {
        let pick = |v: u32| {
            if v > 0 { v as u64 } else { ISTIO_UNLIMITED }
        };
        Thresholds {
            max_connections: pick(pool.max_connections),
            max_pending_requests: pick(pool.http1_max_pending_requests),
            max_requests: pick(pool.http2_max_requests),
            max_retries: pick(pool.max_retries),
            retry_budget: pool.retry_budget.map(|(ppm, min)| RetryBudget {
                budget_ppm: ppm.unwrap_or(200_000),
                min_retry_concurrency: if min > 0 { min as u64 } else { 3 },
            }),
        }
    }
}

/// A limited resource of the manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Connections,
    PendingRequests,
    Requests,
    Retries,
}

/// The outcome of asking for a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Taken: the gauge was incremented; release it later.
    Ok,
    /// At the limit: 503 `UO` (for connections: stay pending instead).
    Overflow(Resource),
}

/// Envoy `ResourceManagerImpl`: current gauges against [`Thresholds`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceManager {
    limits: Thresholds,
    connections: u64,
    pending_requests: u64,
    requests: u64,
    retries: u64,
}

impl ResourceManager {
    pub fn new(limits: Thresholds) -> ResourceManager {
        ResourceManager {
            limits,
            connections: 0,
            pending_requests: 0,
            requests: 0,
            retries: 0,
        }
    }

    pub fn limits(&self) -> &Thresholds {
        &self.limits
    }

    /// Current gauge of `r`.
    pub fn count(&self, r: Resource) -> u64 {
        match r {
            Resource::Connections => self.connections,
            Resource::PendingRequests => self.pending_requests,
            Resource::Requests => self.requests,
            Resource::Retries => self.retries,
        }
    }

    /// The limit of `r` right now (the retry budget depends on the load:
    /// `max(budget% × (requests + pending), min_retry_concurrency)`, the
    /// product truncated as Envoy's `double → uint64_t` cast does;
    /// `resource_manager_impl.h` `RetryBudgetImpl::max`).
    pub fn max(&self, r: Resource) -> u64 {
        match r {
            Resource::Connections => self.limits.max_connections,
            Resource::PendingRequests => self.limits.max_pending_requests,
            Resource::Requests => self.limits.max_requests,
            Resource::Retries => match self.limits.retry_budget {
                None => self.limits.max_retries,
                Some(b) => {
                    let active = (self.requests + self.pending_requests) as u128;
                    let budget = (b.budget_ppm as u128 * active / 1_000_000) as u64;
                    budget.max(b.min_retry_concurrency)
                }
            },
        }
    }

    /// `canCreate()`: `count < max`.
    pub fn can_create(&self, r: Resource) -> bool {
        self.count(r) < self.max(r)
    }

    /// `remaining_*` gauge (Istio sets `track_remaining: true`).
    pub fn remaining(&self, r: Resource) -> u64 {
        self.max(r).saturating_sub(self.count(r))
    }

    /// Checks and, if allowed, takes one unit of `r`.
    pub fn try_admit(&mut self, r: Resource) -> Admit {
        if self.can_create(r) {
            self.inc(r);
            Admit::Ok
        } else {
            Admit::Overflow(r)
        }
    }

    /// `try_admit(Requests)`: the `max_requests` check of `attachStreamToClient`.
    pub fn try_admit_request(&mut self) -> Admit {
        self.try_admit(Resource::Requests)
    }

    /// `try_admit(PendingRequests)`: the `max_pending_requests` check.
    pub fn try_admit_pending(&mut self) -> Admit {
        self.try_admit(Resource::PendingRequests)
    }

    /// Takes one unit without checking (Envoy increments connections even
    /// when it creates the "at least one per host" connection over the limit).
    pub fn inc(&mut self, r: Resource) {
        *self.slot(r) += 1;
    }

    /// Releases one unit. Releasing more than was taken is a caller bug; it
    /// saturates at 0 (debug builds assert).
    pub fn dec(&mut self, r: Resource) {
        let s = self.slot(r);
        debug_assert!(*s > 0, "released {r:?} that was not taken");
        *s = s.saturating_sub(1);
    }

    fn slot(&mut self, r: Resource) -> &mut u64 {
        match r {
            Resource::Connections => &mut self.connections,
            Resource::PendingRequests => &mut self.pending_requests,
            Resource::Requests => &mut self.requests,
            Resource::Retries => &mut self.retries,
        }
    }
}

/// Cluster counters this module family bumps, under Envoy's stat names
/// (`envoy/upstream/upstream.h` `ALL_CLUSTER_TRAFFIC_STATS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClusterCounter {
    UpstreamCxTotal,
    UpstreamCxOverflow,
    UpstreamCxConnectFail,
    UpstreamCxDestroy,
    UpstreamCxIdleTimeout,
    UpstreamCxMaxRequests,
    UpstreamRqTotal,
    UpstreamRqPendingTotal,
    UpstreamRqPendingOverflow,
    UpstreamRqPendingFailureEject,
    UpstreamRqTimeout,
    UpstreamRqPerTryTimeout,
    UpstreamRqRetry,
    UpstreamRqRetrySuccess,
    UpstreamRqRetryOverflow,
    UpstreamRqRetryLimitExceeded,
    UpstreamRqRetryBackoffExponential,
    /// tcp_proxy ran out of `max_connect_attempts` (`tcp_proxy.cc`
    /// `onConnectMaxAttempts`).
    UpstreamCxConnectAttemptsExceeded,
}

impl ClusterCounter {
    pub const ALL: [ClusterCounter; 18] = [
        ClusterCounter::UpstreamCxTotal,
        ClusterCounter::UpstreamCxOverflow,
        ClusterCounter::UpstreamCxConnectFail,
        ClusterCounter::UpstreamCxDestroy,
        ClusterCounter::UpstreamCxIdleTimeout,
        ClusterCounter::UpstreamCxMaxRequests,
        ClusterCounter::UpstreamRqTotal,
        ClusterCounter::UpstreamRqPendingTotal,
        ClusterCounter::UpstreamRqPendingOverflow,
        ClusterCounter::UpstreamRqPendingFailureEject,
        ClusterCounter::UpstreamRqTimeout,
        ClusterCounter::UpstreamRqPerTryTimeout,
        ClusterCounter::UpstreamRqRetry,
        ClusterCounter::UpstreamRqRetrySuccess,
        ClusterCounter::UpstreamRqRetryOverflow,
        ClusterCounter::UpstreamRqRetryLimitExceeded,
        ClusterCounter::UpstreamRqRetryBackoffExponential,
        ClusterCounter::UpstreamCxConnectAttemptsExceeded,
    ];

    /// Envoy's stat name (after `cluster.<name>.`).
    pub fn as_str(self) -> &'static str {
        use ClusterCounter::*;
        match self {
            UpstreamCxTotal => "upstream_cx_total",
            UpstreamCxOverflow => "upstream_cx_overflow",
            UpstreamCxConnectFail => "upstream_cx_connect_fail",
            UpstreamCxDestroy => "upstream_cx_destroy",
            UpstreamCxIdleTimeout => "upstream_cx_idle_timeout",
            UpstreamCxMaxRequests => "upstream_cx_max_requests",
            UpstreamRqTotal => "upstream_rq_total",
            UpstreamRqPendingTotal => "upstream_rq_pending_total",
            UpstreamRqPendingOverflow => "upstream_rq_pending_overflow",
            UpstreamRqPendingFailureEject => "upstream_rq_pending_failure_eject",
            UpstreamRqTimeout => "upstream_rq_timeout",
            UpstreamRqPerTryTimeout => "upstream_rq_per_try_timeout",
            UpstreamRqRetry => "upstream_rq_retry",
            UpstreamRqRetrySuccess => "upstream_rq_retry_success",
            UpstreamRqRetryOverflow => "upstream_rq_retry_overflow",
            UpstreamRqRetryLimitExceeded => "upstream_rq_retry_limit_exceeded",
            UpstreamRqRetryBackoffExponential => "upstream_rq_retry_backoff_exponential",
            UpstreamCxConnectAttemptsExceeded => "upstream_cx_connect_attempts_exceeded",
        }
    }
}

/// One cluster's counters in one proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterStats([u64; ClusterCounter::ALL.len()]);

impl ClusterStats {
    pub fn inc(&mut self, c: ClusterCounter) {
        self.0[c as usize] += 1;
    }
    pub fn get(&self, c: ClusterCounter) -> u64 {
        self.0[c as usize]
    }
    /// Non-zero counters as (Envoy name, value), in declaration order.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ClusterCounter::ALL
            .into_iter()
            .filter(|c| self.get(*c) > 0)
            .map(|c| (c.as_str(), self.get(c)))
    }
    /// Adds another proxy's counters (exact, order-independent).
    pub fn merge(&mut self, o: &ClusterStats) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += b;
        }
    }
    /// What was counted since `base` (an earlier snapshot of these counters),
    /// as Prometheus' `increase()` over a window.
    pub fn since(&self, base: &ClusterStats) -> ClusterStats {
        let mut out = self.clone();
        for (a, b) in out.0.iter_mut().zip(base.0.iter()) {
            *a = a.saturating_sub(*b);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_mapping_table() {
        // (DR fields, expected (cx, pending, rq, retries))
        let u = ISTIO_UNLIMITED;
        let cases = [
            (IstioConnectionPool::default(), (u, u, u, u)),
            (
                IstioConnectionPool {
                    max_connections: 100,
                    ..Default::default()
                },
                (100, u, u, u),
            ),
            (
                IstioConnectionPool {
                    max_connections: 1,
                    http1_max_pending_requests: 1,
                    http2_max_requests: 7,
                    max_retries: 2,
                    retry_budget: None,
                },
                (1, 1, 7, 2),
            ),
            // 0 means unset, not "no queue".
            (
                IstioConnectionPool {
                    http1_max_pending_requests: 0,
                    max_retries: 0,
                    ..Default::default()
                },
                (u, u, u, u),
            ),
        ];
        for (pool, (cx, p, rq, rt)) in cases {
            let t = Thresholds::istio(&pool);
            assert_eq!(
                (
                    t.max_connections,
                    t.max_pending_requests,
                    t.max_requests,
                    t.max_retries
                ),
                (cx, p, rq, rt),
                "{pool:?}"
            );
        }
        assert_eq!(Thresholds::default(), Thresholds::istio_default());
        assert_eq!(Thresholds::envoy_default().max_retries, 3);
    }

    #[test]
    fn can_create_is_count_below_max() {
        let mut rm = ResourceManager::new(Thresholds {
            max_requests: 2,
            ..Thresholds::istio_default()
        });
        assert_eq!(rm.try_admit_request(), Admit::Ok);
        assert_eq!(rm.remaining(Resource::Requests), 1);
        assert_eq!(rm.try_admit_request(), Admit::Ok);
        assert_eq!(rm.try_admit_request(), Admit::Overflow(Resource::Requests));
        assert_eq!(rm.count(Resource::Requests), 2, "overflow takes nothing");
        rm.dec(Resource::Requests);
        assert_eq!(rm.try_admit_request(), Admit::Ok);
        // The other gauges are independent.
        assert_eq!(rm.try_admit_pending(), Admit::Ok);
        assert_eq!(rm.count(Resource::PendingRequests), 1);
    }

    #[test]
    fn retry_budget_scales_with_active_and_pending_requests() {
        // 20 % of (active + pending), never below min_retry_concurrency 3.
        let t = Thresholds::istio(&IstioConnectionPool {
            max_retries: 1, // ignored once a budget is set
            retry_budget: Some((None, 0)),
            ..Default::default()
        });
        assert_eq!(
            t.retry_budget,
            Some(RetryBudget {
                budget_ppm: 200_000,
                min_retry_concurrency: 3
            })
        );
        let mut rm = ResourceManager::new(t);
        assert_eq!(rm.max(Resource::Retries), 3, "min concurrency with no load");
        for _ in 0..24 {
            rm.inc(Resource::Requests);
        }
        assert_eq!(rm.max(Resource::Retries), 4, "20% of 24 = 4.8, truncated");
        for _ in 0..6 {
            rm.inc(Resource::PendingRequests);
        }
        assert_eq!(rm.max(Resource::Retries), 6, "pending count too");
        for _ in 0..6 {
            assert_eq!(rm.try_admit(Resource::Retries), Admit::Ok);
        }
        assert_eq!(
            rm.try_admit(Resource::Retries),
            Admit::Overflow(Resource::Retries)
        );
    }

    #[test]
    fn counters_render_envoy_names() {
        let mut s = ClusterStats::default();
        s.inc(ClusterCounter::UpstreamRqPendingOverflow);
        s.inc(ClusterCounter::UpstreamRqPendingOverflow);
        s.inc(ClusterCounter::UpstreamRqRetryOverflow);
        let v: Vec<_> = s.nonzero().collect();
        assert_eq!(
            v,
            vec![
                ("upstream_rq_pending_overflow", 2),
                ("upstream_rq_retry_overflow", 1)
            ]
        );
        let mut t = ClusterStats::default();
        t.merge(&s);
        t.merge(&s);
        assert_eq!(t.get(ClusterCounter::UpstreamRqPendingOverflow), 4);
        for (i, c) in ClusterCounter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }
}
