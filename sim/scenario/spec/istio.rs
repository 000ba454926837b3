//! Istio's configuration as istiod receives it: validated, defaulted where Istio
//! defaults, and inert. Nothing here routes; a later compile step ("istiod")
//! turns these into per-proxy Envoy config and the world simulates that.
//!
//! Shapes follow istio/api 1.28 (`networking/v1alpha3/*.proto`, `mesh/v1alpha1/config.proto`)
//! field by field, so a reader can hold a manifest next to the type. Percentages are
//! parts per million and weights integers, so nothing compares floats for equality.

use crate::engine::SimDuration;
use std::collections::BTreeMap;

/// Every Istio object of a scenario plus the mesh-wide settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IstioConfig {
    /// In input order (file order stands in for `creationTimestamp`).
    pub gateways: Vec<Gateway>,
    pub virtual_services: Vec<VirtualService>,
    pub destination_rules: Vec<DestinationRule>,
    pub service_entries: Vec<ServiceEntry>,
    pub sidecars: Vec<Sidecar>,
    pub mesh: MeshConfig,
    /// Labels of each `kind: Namespace` object, by namespace name.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Namespaces the `Simulation`'s `mesh.injectNamespaces` labels
    /// `istio-injection=enabled` (without editing the user's files).
    pub inject_namespaces: Vec<String>,
    /// `Simulation.spec.mesh.proxy`: what each simulated Envoy hop costs.
    pub proxy: ProxyCost,
    /// Per `Scenario::deployments` index: does the injector give its pods a sidecar?
    pub injection: Vec<Injection>,
    /// Objects read but not simulated, each with what it would do in Istio.
    pub unsimulated: Vec<Unsimulated>,
}

impl IstioConfig {
    /// Whether deployment `ix` runs with an Envoy sidecar.
    pub fn has_sidecar(&self, ix: usize) -> bool {
        self.injection.get(ix).is_some_and(|i| i.injected())
    }
}

/// The cost of one proxy hop (client outbound, server inbound, gateway).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProxyCost {
    /// Latency added per hop (None = zero: no event).
    pub latency: Option<crate::engine::dist::Dist>,
    /// CPU budget of each gateway pod: routing holds a worker for the latency
    /// draw, so a saturated gateway queues (None = unbounded).
    pub workers: Option<u32>,
    /// Latency added per proxy hop on the **response** path (client
    /// sidecar or gateway, server sidecar); None = none (no draw, no event).
    pub response_latency: Option<crate::engine::dist::Dist>,
}

/// Where an Istio object came from, for messages and for ordering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    /// `file:line` of the object.
    pub source: String,
}

/// A kind meshsim reads but does not simulate, and whether that matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsimulated {
    pub kind: String,
    /// `Kind namespace/name` with file and document.
    pub object: String,
    pub effect: TrafficEffect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrafficEffect {
    /// In Istio it changes what happens to requests (AuthorizationPolicy ⇒ 403 …).
    ChangesTraffic,
    /// No effect on traffic (Telemetry, ServiceAccount, ConfigMaps …).
    NoTrafficEffect,
}

/// The injector's decision for one pod template (pinned facts: sidecar injection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    /// Namespace label `istio-injection=enabled` (or `mesh.injectNamespaces`).
    NamespaceEnabled,
    /// Namespace label `istio.io/rev`, no `istio-injection` label.
    NamespaceRevision,
    /// Unlabeled namespace, pod label `sidecar.istio.io/inject=true`.
    PodLabelTrue,
    /// Unlabeled namespace, pod label `istio.io/rev`.
    PodRevision,
    /// `istio-injection` has a value other than `enabled` (e.g. `disabled`).
    NamespaceDisabled,
    /// Pod label (or, where the webhook is called, annotation) `sidecar.istio.io/inject=false`.
    PodOptOut,
    /// `hostNetwork: true`.
    HostNetwork,
    /// kube-system, kube-public, kube-node-lease, local-path-storage.
    IgnoredNamespace,
    /// No webhook selector matches (unlabeled namespace, no pod label).
    NotSelected,
}

impl Injection {
    pub fn injected(self) -> bool {
        matches!(
            self,
            Injection::NamespaceEnabled
                | Injection::NamespaceRevision
                | Injection::PodLabelTrue
                | Injection::PodRevision
        )
    }
}

/// Parts per million of requests (Istio `Percent` × 10,000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ppm(pub u32);

impl Ppm {
    pub const ALL: Ppm = Ppm(1_000_000);
}

// ===== MeshConfig =====

/// Mesh-wide settings (the `istio` ConfigMap's `mesh` key, or IstioOperator `spec.meshConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct MeshConfig {
    pub outbound_traffic_policy: OutboundMode,
    /// `defaultHttpRetryPolicy`: replaces Istio's built-in default route retry policy.
    pub default_http_retry_policy: Option<Retries>,
    pub root_namespace: String,
    pub h2_upgrade_policy: H2UpgradePolicy,
    /// Where it was read (`file:line`), None = Istio's defaults.
    pub source: Option<String>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            outbound_traffic_policy: OutboundMode::AllowAny,
            default_http_retry_policy: None,
            root_namespace: "istio-system".into(),
            h2_upgrade_policy: H2UpgradePolicy::DoNotUpgrade,
            source: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutboundMode {
    /// Unknown destinations go to the PassthroughCluster.
    #[default]
    AllowAny,
    /// Unknown destinations: 502 from `block_all` (HTTP) or the BlackHoleCluster.
    RegistryOnly,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum H2UpgradePolicy {
    #[default]
    Default,
    DoNotUpgrade,
    Upgrade,
}

// ===== Shared =====

/// Istio's `StringMatch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StringMatch {
    Exact(String),
    Prefix(String),
    /// RE2 syntax, whole-string match; validated with the `regex` crate.
    Regex(String),
}

/// A port selector (`PortSelector`).
pub type PortNumber = u16;

/// Application protocol of a Gateway server or ServiceEntry port (`protocol.Instance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Http2,
    Https,
    Grpc,
    GrpcWeb,
    Tcp,
    Tls,
    Mongo,
    Redis,
    Mysql,
    Udp,
}

impl Protocol {
    /// HTTP-family: gets HTTP routing.
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Protocol::Http | Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb
        )
    }
}

// ===== VirtualService =====

#[derive(Clone, Debug, PartialEq)]
pub struct VirtualService {
    pub meta: ObjectMeta,
    /// Resolved: short names completed in the VS's namespace; FQDNs and wildcards verbatim.
    pub hosts: Vec<String>,
    /// `ns/name` of each Gateway, or `mesh`. Absent in the manifest ⇒ `["mesh"]`.
    pub gateways: Vec<String>,
    /// Empty = exported everywhere (the default `*`).
    pub export_to: Vec<String>,
    pub http: Vec<HttpRoute>,
    pub tcp: Vec<TcpRoute>,
    pub tls: Vec<TlsRoute>,
}

impl VirtualService {
    /// A delegate VirtualService (no hosts): only reachable from a root's `delegate`.
    pub fn is_delegate(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRoute {
    pub name: Option<String>,
    /// Any one matching is enough; empty = matches everything.
    pub matches: Vec<HttpMatchRequest>,
    pub action: HttpAction,
    pub rewrite: Option<HttpRewrite>,
    pub timeout: Option<SimDuration>,
    pub retries: Option<Retries>,
    pub fault: Option<Fault>,
    /// `mirror` (+ `mirrorPercentage`) or `mirrors`.
    pub mirrors: Vec<Mirror>,
    pub headers: Headers,
}

/// What an HTTP route does with a matched request.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpAction {
    Route(Vec<HttpRouteDestination>),
    Redirect(HttpRedirect),
    DirectResponse(DirectResponse),
    Delegate(Delegate),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpMatchRequest {
    pub name: Option<String>,
    pub uri: Option<StringMatch>,
    pub scheme: Option<StringMatch>,
    pub method: Option<StringMatch>,
    pub authority: Option<StringMatch>,
    /// Lowercased header name → match (an empty mapping `{}` = present).
    pub headers: BTreeMap<String, Option<StringMatch>>,
    pub without_headers: BTreeMap<String, Option<StringMatch>>,
    pub query_params: BTreeMap<String, Option<StringMatch>>,
    pub port: Option<PortNumber>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    /// `ns/name` or `mesh`; empty = the VS's gateways.
    pub gateways: Vec<String>,
    pub ignore_uri_case: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Resolved like VS hosts.
    pub host: String,
    pub subset: Option<String>,
    pub port: Option<PortNumber>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRouteDestination {
    pub destination: Destination,
    /// As written (istiod passes weights through; Envoy normalises). A single
    /// destination without `weight` counts as 100.
    pub weight: u32,
    pub headers: Headers,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    pub request: HeaderOperations,
    pub response: HeaderOperations,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderOperations {
    pub set: BTreeMap<String, String>,
    pub add: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRedirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<RedirectPort>,
    pub scheme: Option<String>,
    /// Default 301.
    pub redirect_code: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectPort {
    Number(PortNumber),
    FromProtocolDefault,
    FromRequestPort,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectResponse {
    pub status: u16,
    /// Body length in bytes (the content is not simulated).
    pub body_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegate {
    pub name: String,
    /// Defaults to the root VirtualService's namespace.
    pub namespace: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRewrite {
    /// Replaces the matched prefix (or the whole path for exact/regex matches).
    pub uri: Option<String>,
    pub authority: Option<String>,
    /// `uriRegexRewrite`: (match, rewrite).
    pub uri_regex_rewrite: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retries {
    pub attempts: u32,
    pub per_try_timeout: Option<SimDuration>,
    /// Comma-separated tokens, validated (`5xx`, `gateway-error`, a status code …).
    pub retry_on: Vec<String>,
    pub retry_remote_localities: Option<bool>,
    /// `retryIgnorePreviousHosts` (BoolValue): None = Istio's default (the
    /// `previous_hosts` predicate unless the route hashes); Some(true) puts the
    /// predicate on even when it hashes, Some(false) removes it.
    pub retry_ignore_previous_hosts: Option<bool>,
    /// `backoff`: Envoy's base retry interval (max = 10×); None = 25 ms.
    /// Validated ≥ 1 ms at millisecond precision, like every Istio Duration.
    pub backoff: Option<SimDuration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub delay: Option<FaultDelay>,
    pub abort: Option<FaultAbort>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultDelay {
    pub fixed_delay: SimDuration,
    /// Absent ⇒ 0 (never fires; pinned fact "Fault without percentage").
    pub percentage: Ppm,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultAbort {
    pub error: AbortError,
    /// Absent ⇒ 0 (never fires).
    pub percentage: Ppm,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbortError {
    HttpStatus(u16),
    GrpcStatus(String),
    /// Accepted with a warning: no error type given.
    Unspecified,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    pub destination: Destination,
    /// Absent ⇒ 100 %.
    pub percentage: Ppm,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TcpRoute {
    pub matches: Vec<L4Match>,
    pub route: Vec<RouteDestination>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TlsRoute {
    pub matches: Vec<TlsMatch>,
    pub route: Vec<RouteDestination>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L4Match {
    pub destination_subnets: Vec<String>,
    pub port: Option<PortNumber>,
    pub source_labels: BTreeMap<String, String>,
    pub gateways: Vec<String>,
    pub source_namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsMatch {
    pub sni_hosts: Vec<String>,
    pub l4: L4Match,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteDestination {
    pub destination: Destination,
    pub weight: u32,
}

// ===== DestinationRule =====

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

// ===== Gateway =====

#[derive(Clone, Debug, PartialEq)]
pub struct Gateway {
    pub meta: ObjectMeta,
    /// Pod labels of the gateway workload (`istio: ingressgateway`).
    pub selector: BTreeMap<String, String>,
    pub servers: Vec<Server>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Server {
    pub port: ServerPort,
    pub hosts: Vec<GatewayHost>,
    pub tls: Option<ServerTls>,
    pub bind: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPort {
    pub number: PortNumber,
    pub name: String,
    pub protocol: Protocol,
}

/// `ns/host` of a Gateway server (or Sidecar egress): which VirtualServices may bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayHost {
    /// `*` (any), `.` (the Gateway's own namespace, kept as `.`), or a namespace.
    pub namespace: String,
    /// FQDN, `*` or `*.suffix`.
    pub host: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTls {
    pub https_redirect: bool,
    pub mode: ServerTlsMode,
    pub credential_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTlsMode {
    Passthrough,
    Simple,
    Mutual,
    AutoPassthrough,
    IstioMutual,
    OptionalMutual,
}

// ===== ServiceEntry =====

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceEntry {
    pub meta: ObjectMeta,
    pub hosts: Vec<String>,
    pub addresses: Vec<String>,
    pub ports: Vec<ServiceEntryPort>,
    pub location: Location,
    pub resolution: Resolution,
    pub endpoints: Vec<WorkloadEntry>,
    pub workload_selector: Option<BTreeMap<String, String>>,
    pub export_to: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntryPort {
    pub number: PortNumber,
    pub protocol: Option<Protocol>,
    pub name: String,
    pub target_port: Option<PortNumber>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    MeshExternal,
    MeshInternal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    None,
    Static,
    Dns,
    DnsRoundRobin,
    /// Wildcard hosts resolved per request by the proxy's dynamic forward proxy.
    DynamicDns,
}

/// An endpoint of a ServiceEntry (inline `WorkloadEntry`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadEntry {
    pub address: String,
    /// Port name → target port.
    pub ports: BTreeMap<String, PortNumber>,
    pub labels: BTreeMap<String, String>,
    /// 0 = unset (Envoy's 1).
    pub weight: u32,
    pub locality: Option<String>,
    pub network: Option<String>,
}

// ===== Sidecar =====

#[derive(Clone, Debug, PartialEq)]
pub struct Sidecar {
    pub meta: ObjectMeta,
    /// None = the namespace-wide default Sidecar.
    pub workload_selector: Option<BTreeMap<String, String>>,
    pub egress: Vec<EgressListener>,
    /// `ingress` listeners are read and validated but not simulated.
    pub ingress_listeners: usize,
    pub outbound_traffic_policy: Option<OutboundMode>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EgressListener {
    pub port: Option<SidecarPort>,
    pub bind: Option<String>,
    /// `ns/host`: namespace `*`, `.` (the Sidecar's own), or a name.
    pub hosts: Vec<GatewayHost>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SidecarPort {
    pub number: PortNumber,
    pub protocol: Option<Protocol>,
    pub name: Option<String>,
}
