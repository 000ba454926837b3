//! istiod's translation of the resilience fields of VirtualServices,
//! DestinationRules and MeshConfig into the Envoy-shaped policies of
//! [`crate::proxy`] (`retry`, `timeout`, `breaker`, `conn_pool`, `outlier`,
//! `fault`, `mirror`).
//!
//! Why here: these are config-generation decisions Istio makes once per
//! route or cluster (defaults, "0 means unset", the default retry policy,
//! the inbound retry policy), not per request. Keeping them pure and
//! table-tested means the world only applies Envoy's behaviour.
//!
//! Sources (istio/istio @1.28.10): `pilot/pkg/networking/core/route/retry/
//! retry.go` (`DefaultPolicy`, `DefaultConsistentHashPolicy`,
//! `ConvertPolicy`, `parseRetryOn`), `pilot/pkg/networking/core/route/
//! route.go` (`BuildDefaultHTTPInboundRoute`, `setTimeout`, `TranslateFault`,
//! `MirrorPercent`), `pilot/pkg/networking/core/cluster_traffic_policy.go`
//! (`applyConnectionPool`, `applyOutlierDetection`, `applyRetryBudget`),
//! `pkg/config/mesh/mesh.go` (`ConnectTimeout: 10s`).
//! The fields are read from the validated spec types (istio/api
//! `networking/v1alpha3/virtual_service.proto` `HTTPRetry`,
//! `destination_rule.proto` `TrafficPolicy.RetryBudget` @1.28.10).

use crate::engine::time::SimDuration;
use crate::proxy::breaker::{IstioConnectionPool, Thresholds};
use crate::proxy::conn_pool::{DEFAULT_H2_MAX_CONCURRENT_STREAMS, PoolConfig, PoolProtocol};
use crate::proxy::fault::{AbortCode, FaultAbort, FaultConfig, FaultDelay, FractionalPercent};
use crate::proxy::mirror::MirrorPolicy;
use crate::proxy::outlier::{IstioOutlierDetection, OutlierConfig, istio_outlier_config};
use crate::proxy::retry::{
    DEFAULT_BACKOFF_BASE, ISTIO_HOST_SELECTION_MAX_ATTEMPTS, RetryOn, RetryPolicy,
};
use crate::proxy::timeout::TimeoutPolicy;
use crate::scenario::spec::istio::{
    AbortError, ConnectionPool, Destination, DestinationRule, Fault, Mirror, OutlierDetection,
    PortNumber, Retries, RetryBudget, TrafficPolicy,
};

/// MeshConfig `connectTimeout` default (cluster `connect_timeout`).
pub const DEFAULT_CONNECT_TIMEOUT: SimDuration = SimDuration::from_secs(10);
/// Envoy's upstream pool idle timeout when the DR sets none.
pub const DEFAULT_IDLE_TIMEOUT: SimDuration = SimDuration::from_secs(3600);

/// Istio 1.28's default outbound `retry_on` (no 503 since 1.24).
pub fn istio_default_retry_on() -> RetryOn {
    RetryOn::CONNECT_FAILURE
        .union(RetryOn::REFUSED_STREAM)
        .union(RetryOn::GRPC_UNAVAILABLE)
        .union(RetryOn::GRPC_CANCELLED)
        .union(RetryOn::RETRIABLE_STATUS_CODES)
}

/// `DefaultPolicy` (or `DefaultConsistentHashPolicy`, without the
/// `previous_hosts` predicate, when the route hashes).
pub fn default_retry_policy(consistent_hash: bool) -> RetryPolicy {
    RetryPolicy {
        num_retries: 2,
        retry_on: istio_default_retry_on(),
        retriable_status_codes: Vec::new(),
        per_try_timeout: None,
        backoff_base: DEFAULT_BACKOFF_BASE,
        backoff_max: SimDuration(DEFAULT_BACKOFF_BASE.0 * 10),
        previous_hosts: !consistent_hash,
        host_selection_max_attempts: ISTIO_HOST_SELECTION_MAX_ATTEMPTS,
        previous_priorities: false,
    }
}

/// Status codes Go's `net/http.StatusText` knows (`parseRetryOn` keeps only these).
const GO_STATUS_CODES: &[u16] = &[
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

/// `parseRetryOn`: tokens ⇒ bits, integers Go knows as status codes ⇒
/// retriable codes (and `retriable-status-codes` added if missing).
/// Unknown tokens are returned for the caller to report (validation rejects them).
pub fn parse_retry_on<S: AsRef<str>>(tokens: &[S]) -> (RetryOn, Vec<u16>, Vec<String>) {
    let mut on = RetryOn::NONE;
    let mut codes = Vec::new();
    let mut unknown = Vec::new();
    for t in tokens.iter().flat_map(|t| t.as_ref().split(',')) {
        let t = t.trim();
        if t.is_empty() {
            continue;
        }
        match (t.parse::<u16>(), RetryOn::token(t)) {
            (Ok(c), _) if GO_STATUS_CODES.contains(&c) => codes.push(c),
            (_, Some(b)) => on = on.union(b),
            _ => unknown.push(t.to_string()),
        }
    }
    if !codes.is_empty() {
        on = on.union(RetryOn::RETRIABLE_STATUS_CODES);
    }
    (on, codes, unknown)
}

/// `ConvertPolicy` for an outbound/gateway route: the VS's `retries`, else
/// MeshConfig `defaultHttpRetryPolicy`, else Istio's default. `attempts: 0`
/// ⇒ no retry policy at all ([`RetryPolicy::disabled`]). `consistent_hash`:
/// the route has one destination whose DR hashes (`LookupHash`).
pub fn retry_policy(
    vs: Option<&Retries>,
    mesh_default: Option<&Retries>,
    consistent_hash: bool,
) -> RetryPolicy {
    let mut out = default_retry_policy(consistent_hash);
    let Some(r) = vs.or(mesh_default) else {
        return out;
    };
    if r.attempts == 0 {
        return RetryPolicy::disabled();
    }
    out.num_retries = r.attempts;
    if !r.retry_on.is_empty() {
        let (on, codes, _) = parse_retry_on(&r.retry_on);
        out.retry_on = on;
        out.retriable_status_codes = codes;
    }
    out.per_try_timeout = r.per_try_timeout.filter(|d| *d > SimDuration::ZERO);
    out.previous_priorities = r.retry_remote_localities == Some(true);
    // Set ⇒ honoured either way: `true` puts `previous_hosts` back on a
    // hashing route, `false` removes it from any route.
    if let Some(ignore) = r.retry_ignore_previous_hosts {
        out.previous_hosts = ignore;
    }
    // `RetryBackOff{base_interval}` without `max_interval`: Envoy's max is 10×.
    if let Some(b) = r.backoff.filter(|b| *b > SimDuration::ZERO) {
        out.backoff_base = b;
        out.backoff_max = SimDuration(b.0.saturating_mul(10));
    }
    out
}

/// `BuildDefaultHTTPInboundRoute`: 2 retries on `reset-before-request`, no
/// back-off or predicate override; none on gRPC ports. Not configurable in 1.28.
pub fn inbound_retry_policy(grpc_port: bool) -> RetryPolicy {
    if grpc_port {
        return RetryPolicy::disabled();
    }
    RetryPolicy {
        num_retries: 2,
        retry_on: RetryOn::RESET_BEFORE_REQUEST,
        ..RetryPolicy::disabled()
    }
}

/// `setTimeout` + the retry policy's per-try timeout.
pub fn timeout_policy(vs_timeout: Option<SimDuration>, retry: &RetryPolicy) -> TimeoutPolicy {
    TimeoutPolicy::istio(vs_timeout, retry.per_try_timeout)
}

/// `applyConnectionPool` + `applyRetryBudget` thresholds. `retry_budget` is
/// the cluster's own policy's `retryBudget` (the caller picks it: istiod does
/// not merge budgets into subset or port-level policies, reference §3). A
/// budget applies even without a `connectionPool` (istiod substitutes an
/// empty one); unset `percent` ⇒ 20 %, `minRetryConcurrency` 0 ⇒ 3.
pub fn circuit_breakers(
    pool: Option<&ConnectionPool>,
    retry_budget: Option<&RetryBudget>,
) -> Thresholds {
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let http = pool.and_then(|p| p.http.as_ref());
    Thresholds::istio(&IstioConnectionPool {
        max_connections: tcp.and_then(|t| t.max_connections).unwrap_or(0),
        http1_max_pending_requests: http.and_then(|h| h.http1_max_pending_requests).unwrap_or(0),
        http2_max_requests: http.and_then(|h| h.http2_max_requests).unwrap_or(0),
        max_retries: http.and_then(|h| h.max_retries).unwrap_or(0),
        retry_budget: retry_budget
            .map(|b| (b.percent.map(|p| p.0 as u64), b.min_retry_concurrency)),
    })
}

/// The `retryBudget` istiod applies to the cluster of (`dr`, service `port`,
/// `subset`). `MergeSubsetTrafficPolicy` (`pilot/pkg/networking/util/
/// util.go` @1.28.10) copies no budget into a port-level or a merged policy:
/// the top-level budget reaches the default cluster and subsets without a
/// `trafficPolicy`; a subset's own budget only when the DR has no top-level
/// `trafficPolicy`; a matching `portLevelSettings` entry (top-level for the
/// former, the subset's for the latter) leaves none (reference §3).
pub fn effective_retry_budget<'a>(
    dr: &'a DestinationRule,
    port: PortNumber,
    subset: Option<&str>,
) -> Option<&'a RetryBudget> {
    let own = |tp: &'a TrafficPolicy| {
        let port_level = tp.port_level_settings.iter().any(|p| p.port == port);
        tp.retry_budget.as_ref().filter(|_| !port_level)
    };
    let sub = subset
        .and_then(|n| dr.subsets.iter().find(|s| s.name == n))
        .and_then(|s| s.traffic_policy.as_ref());
    match (dr.traffic_policy.as_ref(), sub) {
        (top, None) => top.and_then(own),
        (None, Some(s)) => own(s),
        (Some(_), Some(_)) => None,
    }
}

/// Upstream pool settings of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamPool {
    pub pool: PoolConfig,
    pub connect_timeout: SimDuration,
    /// None = idle connections never close.
    pub idle_timeout: Option<SimDuration>,
}

/// Pool config of a cluster whose upstream protocol is `http2` or not.
pub fn upstream_pool(pool: Option<&ConnectionPool>, http2: bool) -> UpstreamPool {
    let tcp = pool.and_then(|p| p.tcp.as_ref());
    let http = pool.and_then(|p| p.http.as_ref());
    let protocol = if http2 {
        PoolProtocol::Http2 {
            max_concurrent_streams: http
                .and_then(|h| h.max_concurrent_streams)
                .filter(|m| *m > 0)
                .unwrap_or(DEFAULT_H2_MAX_CONCURRENT_STREAMS),
        }
    } else {
        PoolProtocol::Http1
    };
    // http.idleTimeout, else tcp.idleTimeout; 0s disables.
    let idle = http
        .and_then(|h| h.idle_timeout)
        .or_else(|| tcp.and_then(|t| t.idle_timeout))
        .unwrap_or(DEFAULT_IDLE_TIMEOUT);
    UpstreamPool {
        pool: PoolConfig {
            protocol,
            max_requests_per_connection: http
                .and_then(|h| h.max_requests_per_connection)
                .filter(|m| *m > 0),
        },
        connect_timeout: tcp
            .and_then(|t| t.connect_timeout)
            .filter(|d| *d > SimDuration::ZERO)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        idle_timeout: (idle > SimDuration::ZERO).then_some(idle),
    }
}

/// `applyOutlierDetection`: None when the DR has no `outlierDetection`
/// (then the cluster has no detector and Envoy's 50 % panic threshold stays).
pub fn outlier_detection(od: Option<&OutlierDetection>) -> Option<(OutlierConfig, u32)> {
    let od = od?;
    Some(istio_outlier_config(&IstioOutlierDetection {
        consecutive_5xx_errors: od.consecutive_5xx_errors,
        consecutive_gateway_errors: od.consecutive_gateway_errors,
        consecutive_local_origin_failures: od.consecutive_local_origin_failures,
        split_external_local_origin_errors: od.split_external_local_origin_errors,
        interval: od.interval,
        base_ejection_time: od.base_ejection_time,
        max_ejection_percent: od.max_ejection_percent,
        min_health_percent: od.min_health_percent,
    }))
}

/// Istio's gRPC status names (`SupportedGRPCStatus`).
pub fn grpc_status_code(name: &str) -> Option<u32> {
    crate::scenario::istio::virtual_service::route_policy::GRPC_CODES
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u32)
}

/// `TranslateFault`: percentages already in ppm in the spec (absent ⇒ 0 ⇒
/// never); an abort without an error type is dropped, as Istio drops it.
pub fn fault_config(f: &Fault) -> FaultConfig {
    let ppm = |p: u32| FractionalPercent {
        numerator: p.min(1_000_000),
        denominator: 1_000_000,
    };
    FaultConfig {
        delay: f.delay.as_ref().map(|d| FaultDelay {
            fixed_delay: d.fixed_delay,
            percentage: ppm(d.percentage.0),
        }),
        abort: f.abort.as_ref().and_then(|a| {
            let code = match &a.error {
                AbortError::HttpStatus(s) => AbortCode::Http(*s),
                AbortError::GrpcStatus(n) => AbortCode::Grpc(grpc_status_code(n)?),
                AbortError::Unspecified => return None,
            };
            Some(FaultAbort {
                code,
                percentage: ppm(a.percentage.0),
            })
        }),
    }
}

/// `TranslateRequestMirrorPolicy` for every mirror of a route; a 0 %
/// mirror gets no policy. The spec's percentage is already "absent ⇒ 100 %".
pub fn mirror_policies(mirrors: &[Mirror]) -> Vec<MirrorPolicy<Destination>> {
    mirrors
        .iter()
        .filter(|m| m.percentage.0 > 0)
        .map(|m| MirrorPolicy {
            cluster: m.destination.clone(),
            fraction_ppm: m.percentage.0.min(1_000_000),
            disable_shadow_host_suffix_append: true,
            trace_sampled: false,
        })
        .collect()
}

#[cfg(test)]
#[path = "resilience/tests.rs"]
mod tests;
