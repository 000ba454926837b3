//! The compiled mesh: every proxy's listeners and route tables, and every
//! Envoy cluster they reference, as inert data indexed densely so the world
//! never looks anything up by name on the request path.
//!
//! Shape (the contract between `istiod` and `world`):
//! * a **proxy** exists for each Deployment with an injected sidecar, for each
//!   gateway Deployment (Istio's `istio-ingressgateway`, synthesised when a
//!   Gateway selects `istio: ingressgateway` and the scenario has none), and for
//!   each Load that runs inside the mesh;
//! * a proxy's **listeners** are keyed by the port a connection is addressed
//!   to: for a sidecar's outbound side, the destination Service port (Envoy's
//!   `0.0.0.0_<port>` listener with route table `"<port>"`); for a gateway, the
//!   port its pod listens on (the Gateway server's `port.number` resolved to
//!   the gateway Service's `targetPort`);
//! * a route table is a [`crate::proxy::route::RouteConfiguration`] plus, for
//!   every (virtual host, route, weighted cluster), the dense [`ClusterIx`] it
//!   names, and the route's stats key;
//! * a **cluster** is `outbound|<port>|<subset>|<fqdn>` with the Deployments
//!   whose ready pods are its endpoints (the world keeps readiness), its load
//!   balancer config and hash policy; a route naming a subset no
//!   DestinationRule defines points at a cluster of kind [`ClusterKind::Missing`]
//!   (Envoy has no such cluster: 503 NC).

use crate::istiod::resilience::UpstreamPool;
use crate::proxy::breaker::Thresholds;
use crate::proxy::fault::FaultConfig;
use crate::proxy::lb::LbConfig;
use crate::proxy::lb::hash_policy::HashPolicy;
use crate::proxy::locality::LocalityPolicy;
use crate::proxy::mirror::MirrorPolicy;
use crate::proxy::outlier::OutlierConfig;
use crate::proxy::retry::RetryPolicy;
use crate::proxy::route::RouteConfiguration;
use crate::proxy::timeout::TimeoutPolicy;
use crate::scenario::spec::{DeploymentIx, ServiceIx};

/// Index into [`Xds::proxies`].
pub type ProxyIx = u32;
/// Index into [`Xds::clusters`].
pub type ClusterIx = u32;
/// Index into [`Xds::route_tables`].
pub type RouteTableIx = u32;

/// Everything istiod pushed, for one scenario (identical in every replication).
#[derive(Clone, Debug, Default)]
pub struct Xds {
    pub proxies: Vec<Proxy>,
    /// Per Deployment (scenario order): its sidecar or gateway proxy, if any.
    pub deployment_proxy: Vec<Option<ProxyIx>>,
    /// Per Load (scenario order): its sidecar when the load runs in the mesh.
    pub load_proxy: Vec<Option<ProxyIx>>,
    /// Route tables, shared by proxies whose config is identical.
    pub route_tables: Vec<RouteTable>,
    /// Every cluster any route or listener references, sorted by name.
    /// Deduplicated by *content*, not by name: the DestinationRule that
    /// applies depends on the client's namespace (and `workloadSelector`), so
    /// one name can appear more than once with different policies or
    /// endpoints; each route names the variant its proxy was built with
    /// (see `istiod/cluster.rs`).
    pub clusters: Vec<Cluster>,
    /// Things istiod did that a user should know once (e.g. "synthesised
    /// istio-system/istio-ingressgateway: no such Deployment in the scenario").
    pub notes: Vec<String>,
}

/// One Envoy instance's config.
#[derive(Clone, Debug, PartialEq)]
pub struct Proxy {
    pub kind: ProxyKind,
    /// `namespace/name` of the Deployment (or Load) it belongs to.
    pub owner: String,
    /// Listeners sorted by port.
    pub listeners: Vec<Listener>,
    /// What an HTTP request to a host/port this proxy does not know does.
    pub outbound: OutboundPolicy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// An injected sidecar: outbound routing for its app, plus the inbound hop.
    Sidecar,
    /// A gateway (Envoy is the app): routes what arrives on its listeners.
    Gateway,
}

/// `outboundTrafficPolicy.mode` as it applies to one proxy (Sidecar resource,
/// else MeshConfig; default ALLOW_ANY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutboundPolicy {
    /// Unknown destinations go to `PassthroughCluster` (original destination).
    #[default]
    AllowAny,
    /// Unknown HTTP gets 502 from the `block_all` virtual host; unknown TCP
    /// goes to `BlackHoleCluster` (connection closed, UH).
    RegistryOnly,
}

/// One listener (for a sidecar: the outbound listener for one port).
#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    pub port: u16,
    pub kind: ListenerKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ListenerKind {
    /// HTTP connection manager with this route table.
    Http {
        routes: RouteTableIx,
        /// Gateway only: TLS terminated here (HTTPS SIMPLE/MUTUAL): costs a
        /// handshake on a new connection.
        terminates_tls: bool,
    },
    /// tcp_proxy: the first matching route per destination, weighted clusters
    /// chosen per connection.
    Tcp { routes: Vec<TcpRoute> },
    /// No filter chain matches (e.g. a gateway MONGO/TCP server with no bound
    /// `tcp` route): the connection is closed.
    Closed,
}

/// One tcp_proxy filter chain of a listener: what it matches (destination,
/// SNI) and where it sends the connection (`world/tcp_proxy.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpRoute {
    /// Destination Service this chain serves (sidecars: one chain per
    /// destination IP); `None` = any (gateways, catch-all).
    pub destination: Option<ServiceIx>,
    /// Filter chain `server_names` (TLS SNI, lowercase; `*.x` wildcards);
    /// empty = any connection, TLS or not.
    pub sni: Vec<String>,
    /// (cluster, weight); one entry = 100 %.
    pub clusters: Vec<(ClusterIx, u32)>,
    /// Stats key `namespace/virtual-service/index` of the VirtualService
    /// `tcp`/`tls` route (summary.json `routes`); None for Istio's default
    /// chains (the Service's own cluster, passthrough, blackhole).
    pub key: Option<String>,
}

/// A route table and the dense cluster ids its routes name.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteTable {
    pub config: RouteConfiguration,
    /// `[vhost][route][weighted cluster]` → cluster; parallel to `config`.
    pub clusters: Vec<Vec<Vec<ClusterIx>>>,
    /// `[vhost][route]` → stats key `namespace/virtual-service/route-name-or-index`
    /// (`default` for the default route of a Service without a VirtualService,
    /// `allow_any` / `block_all` for the catch-all virtual hosts).
    pub route_keys: Vec<Vec<String>>,
    /// `[vhost][route]` → the route's timeouts, retries, fault and mirrors.
    pub policies: Vec<Vec<RoutePolicy>>,
}

/// What Istio writes on one Envoy route besides matching and destinations
/// (`route.go` `translateRoute`: `setTimeout`, `retry.ConvertPolicy`,
/// `TranslateFault`, `TranslateRequestMirrorPolicy`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoutePolicy {
    pub timeout: TimeoutPolicy,
    /// [`RetryPolicy::disabled`] on routes Istio writes none for (the
    /// `allow_any` passthrough, redirects, direct responses).
    pub retry: RetryPolicy,
    pub fault: Option<FaultConfig>,
    /// Mirror targets (dense cluster ids).
    pub mirrors: Vec<MirrorPolicy<ClusterIx>>,
}

/// One Envoy cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// `outbound|<port>|<subset>|<fqdn>`, `PassthroughCluster`, `BlackHoleCluster`.
    pub name: String,
    pub kind: ClusterKind,
    pub lb: LbConfig,
    /// Consistent-hash key source (DestinationRule `consistentHash`).
    pub hash: Option<HashPolicy>,
    /// Reporting key: `<service fqdn>/<subset or "-">` (summary.json `destinations`).
    pub stats_key: String,
    /// Circuit-breaker limits (`connectionPool`; Istio's 2^32−1 when unset).
    pub breakers: Thresholds,
    /// Upstream connection pool (protocol, per-connection limits, timeouts).
    pub pool: UpstreamPool,
    /// `outlierDetection` (None = no detector).
    pub outlier: Option<OutlierConfig>,
    /// Locality load balancing, when it changes anything (a `distribute`, or
    /// failover under outlier detection); the world applies it per client
    /// proxy ([`crate::proxy::locality`]).
    pub locality: Option<LocalityPolicy>,
    /// A ServiceEntry's endpoints (`endpoints`, `workloadSelector`,
    /// LOGICAL_DNS): the balancer's hosts are these groups' pods; `kind`
    /// names the first group (the request's target in reports). None = the
    /// pods of `kind`.
    pub entry: Option<Box<super::entry_endpoints::EntryHosts>>,
}

impl Cluster {
    /// A cluster with Envoy's defaults as Istio writes them: least-request
    /// balancing, no hash, no connection-pool limits, no outlier detection.
    pub fn new(name: &str, kind: ClusterKind, stats_key: &str) -> Cluster {
        Cluster {
            name: name.to_string(),
            kind,
            lb: LbConfig::default(),
            hash: None,
            stats_key: stats_key.to_string(),
            breakers: Thresholds::default(),
            pool: crate::istiod::resilience::upstream_pool(None, false),
            outlier: None,
            locality: None,
            entry: None,
        }
    }

    /// Whether connections can be the constraint: some connection-pool
    /// limit is set, so the world models the pool connection by connection.
    /// Otherwise Envoy's pool never makes a request wait or fail, and the
    /// world treats it as warm (no per-connection state, no handshake).
    pub fn models_pool(&self) -> bool {
        let b = &self.breakers;
        let unlimited = crate::proxy::breaker::ISTIO_UNLIMITED;
        b.max_connections < unlimited
            || b.max_pending_requests < unlimited
            || b.max_requests < unlimited
            || self.pool.pool.max_requests_per_connection.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterKind {
    /// EDS over a Kubernetes Service: the ready pods of `deployments` behind
    /// `service`'s port `port` (an index into its ports), i.e. the Service's
    /// endpoints restricted to the subset's labels.
    Service {
        service: ServiceIx,
        port: usize,
        deployments: Vec<DeploymentIx>,
    },
    /// Original destination: the request goes where the app sent it
    /// (kube-proxy is not involved for the proxy's own connection; the
    /// destination is the ClusterIP target the app dialled).
    Passthrough,
    /// No endpoints ever: the connection is closed (UH).
    BlackHole,
    /// Named by a route but not built (undefined subset or port): 503 NC.
    Missing,
}
