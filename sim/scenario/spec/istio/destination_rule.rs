//! `DestinationRule` as istiod receives it (istio/api 1.28
//! `networking/v1alpha3/destination_rule.proto`): subsets and traffic policy —
//! load balancing, connection pool, outlier detection, client TLS.

use super::*;

#[derive(Clone, Debug, PartialEq)]
pub struct DestinationRule {
    pub meta: ObjectMeta,
    /// Resolved like VS hosts.
    pub host: String,
    pub export_to: Vec<String>,
    pub workload_selector: Option<BTreeMap<String, String>>,
    pub traffic_policy: Option<TrafficPolicy>,
    pub subsets: Vec<Subset>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subset {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub traffic_policy: Option<TrafficPolicy>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrafficPolicy {
    pub load_balancer: Option<LoadBalancer>,
    pub connection_pool: Option<ConnectionPool>,
    pub outlier_detection: Option<OutlierDetection>,
    pub tls: Option<ClientTls>,
    /// Empty inside a port-level policy.
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// `retryBudget` (top-level and subset policies; a port-level policy has
    /// none in 1.28's `PortTrafficPolicy`).
    pub retry_budget: Option<RetryBudget>,
}

/// `TrafficPolicy.RetryBudget` (istio/api `destination_rule.proto` @1.28.10,
/// new in 1.27): Envoy's `circuit_breakers.thresholds[].retry_budget`, which
/// replaces the static `max_retries`. There is no `budgetInterval` in 1.28.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// `percent` (DoubleValue, 0–100 by the CRD schema) in parts per
    /// million; None = unset (istiod's `applyRetryBudget` uses 20 %).
    pub percent: Option<Ppm>,
    /// `minRetryConcurrency` (uint32); 0 = unset (istiod uses 3).
    pub min_retry_concurrency: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PortTrafficPolicy {
    pub port: PortNumber,
    pub policy: TrafficPolicy,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadBalancer {
    pub simple: Option<SimpleLb>,
    pub consistent_hash: Option<ConsistentHash>,
    pub locality_lb_setting: Option<LocalityLbSetting>,
    pub warmup: Option<Warmup>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimpleLb {
    Unspecified,
    RoundRobin,
    /// Istio's default; the deprecated `LEAST_CONN` is read as this (with a warning).
    LeastRequest,
    Random,
    Passthrough,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistentHash {
    pub key: HashKey,
    pub algorithm: HashAlgorithm,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashKey {
    HttpHeaderName(String),
    HttpCookie {
        name: String,
        path: Option<String>,
        ttl: Option<SimDuration>,
    },
    UseSourceIp,
    HttpQueryParameterName(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// `ringHash.minimumRingSize` (or the deprecated top-level `minimumRingSize`); 0 = Envoy's 1024.
    RingHash { minimum_ring_size: u64 },
    /// `maglev.tableSize`; 0 = Envoy's 65537.
    Maglev { table_size: u64 },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalityLbSetting {
    /// `from` locality → (`to` locality → weight 1..=100, summing to 100).
    pub distribute: Vec<(String, BTreeMap<String, u32>)>,
    /// (from region, to region).
    pub failover: Vec<(String, String)>,
    pub failover_priority: Vec<String>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warmup {
    pub duration: SimDuration,
    /// `minimumPercent`, default 10 %.
    pub minimum_percent: Ppm,
    /// `aggression` × 1000, default 1000 (linear).
    pub aggression_milli: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionPool {
    pub tcp: Option<TcpSettings>,
    pub http: Option<HttpSettings>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpSettings {
    pub max_connections: Option<u32>,
    pub connect_timeout: Option<SimDuration>,
    pub max_connection_duration: Option<SimDuration>,
    pub idle_timeout: Option<SimDuration>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpSettings {
    pub http1_max_pending_requests: Option<u32>,
    pub http2_max_requests: Option<u32>,
    pub max_requests_per_connection: Option<u32>,
    pub max_retries: Option<u32>,
    pub idle_timeout: Option<SimDuration>,
    pub h2_upgrade_policy: H2UpgradePolicy,
    pub use_client_protocol: bool,
    pub max_concurrent_streams: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutlierDetection {
    pub consecutive_5xx_errors: Option<u32>,
    pub consecutive_gateway_errors: Option<u32>,
    pub consecutive_local_origin_failures: Option<u32>,
    pub split_external_local_origin_errors: bool,
    pub interval: Option<SimDuration>,
    pub base_ejection_time: Option<SimDuration>,
    pub max_ejection_percent: Option<u32>,
    pub min_health_percent: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    pub mode: ClientTlsMode,
    pub sni: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTlsMode {
    Disable,
    Simple,
    Mutual,
    IstioMutual,
}
