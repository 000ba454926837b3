//! `VirtualService` as istiod receives it (istio/api 1.28
//! `networking/v1alpha3/virtual_service.proto`): HTTP, TCP and TLS routes,
//! their matches, destinations and policies (retries, faults, mirrors, rewrites).

use super::*;

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
