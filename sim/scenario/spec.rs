//! The validated scenario: immutable, fully defaulted, cross-referenced by index.
//!
//! Nothing downstream re-checks an invariant or sees an `Option` that validation
//! could have resolved: if a `Scenario` exists, it can be simulated.

pub mod autoscale;
pub mod chaos;
pub mod endpoint;
pub mod events;
pub mod istio;
pub mod probe;
pub mod termination;

pub use endpoint::{Endpoint, PathMatch};

use crate::cluster::service::{PodTemplateView, ServiceView};
use crate::engine::SimDuration;
use crate::engine::dist::Dist;
use crate::engine::rng::Chance;
use std::collections::BTreeMap;

/// Index into `Scenario::deployments`.
pub type DeploymentIx = usize;
/// Index into `Scenario::services`.
pub type ServiceIx = usize;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short name (file stem of the first path), used for the default report folder.
    pub name: String,
    /// SHA-256 over every input file's length and bytes, in load order.
    pub sha256: String,
    pub run: RunSettings,
    pub deployments: Vec<Deployment>,
    pub services: Vec<Service>,
    pub loads: Vec<Load>,
    /// Objects read but not simulated (kinds meshsim does not model yet).
    pub not_simulated: Vec<String>,
    /// Warnings found while loading (already rendered with their location).
    pub warnings: Vec<String>,
    /// Nodes, placement and ingress (`sim/scenario/network.rs`).
    pub network: Network,
    /// Istio objects, mesh settings and who has a sidecar (`spec/istio.rs`).
    pub istio: istio::IstioConfig,
    /// Chaos Mesh experiments and lifecycle timings (`spec/chaos.rs`; empty:
    /// every pod runs, ready or not, for the whole run).
    pub chaos: chaos::ChaosPlan,
    /// HorizontalPodAutoscalers (`spec/autoscale.rs`; empty: replica counts
    /// never change).
    pub autoscalers: Vec<autoscale::Autoscaler>,
    /// `Simulation.spec.externalHosts`: hosts outside the cluster (lower
    /// case) and the Service standing in for each (its pods play the
    /// external servers; kube-proxy's pick among them plays DNS).
    pub external_hosts: Vec<(String, ServiceIx)>,
    /// Latency quantiles each replication also estimates per time batch,
    /// for single-run percentile intervals (`--percentile-ci` sets them;
    /// `metrics::batch_quantiles`). Empty (the default): recorders keep
    /// nothing more.
    pub batch_quantiles: Vec<f64>,
}

/// The cluster network of a scenario: nodes, where pods run, the ingress
/// controller. Without a `Cluster` object: one implicit node, zero latency.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub cluster: crate::cluster::node::ClusterNet,
    /// Whether a `Cluster` object was given.
    pub explicit: bool,
    /// Node of each replica of each deployment (`NO_NODE` = Pending).
    pub placement: Vec<Vec<crate::cluster::node::NodeIx>>,
    /// The modelled ingress-nginx controller Deployment, when a Load uses an Ingress.
    pub ingress_controller: Option<DeploymentIx>,
    pub ingresses: Vec<crate::cluster::ingress::IngressSpec>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            cluster: crate::cluster::node::ClusterNet::implicit(),
            explicit: false,
            placement: Vec::new(),
            ingress_controller: None,
            ingresses: Vec::new(),
        }
    }
}

/// How a load's connections enter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryKind {
    /// An in-cluster client through the Service's ClusterIP.
    #[default]
    ClusterIP,
    /// An outside client connecting to `<node>:<nodePort>`.
    NodePort,
    /// An outside client connecting to the cloud load balancer's external IP.
    LoadBalancer,
}

/// Where a load's requests enter the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// ClusterIP: the client's node (None = outside, e.g. the implicit node's
    /// zero-latency neighbour); NodePort: the receiving node.
    pub node: Option<crate::cluster::node::NodeIx>,
    /// LoadBalancer with `cloud: none`: the external IP is pending.
    pub pending: bool,
    /// Requests for an Ingress host: what the ingress controller does with them.
    pub ingress: Option<IngressHop>,
}

/// The ingress controller's routing decision for one load (fixed host + path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressHop {
    /// None = answered by the controller itself with `status`.
    pub backend: Option<Target>,
    /// 404 (no rule matched) or 503 (backend Service missing).
    pub status: u16,
    pub forwarded_path: String,
    /// `namespace/name` of the Ingress that matched.
    pub matched: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSettings {
    /// Arrivals stop and the run ends at this time.
    pub duration: SimDuration,
    /// Requests issued before this time are simulated but not counted.
    pub warmup: SimDuration,
    pub seed: u64,
    pub replications: u32,
    /// `Simulation.spec.assertions` as written (parsed and checked by
    /// `answers::check`; empty without).
    pub assertions: Vec<AssertionSource>,
}

/// One assertion of the `Simulation` object, with where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionSource {
    pub text: String,
    pub origin: super::diag::Origin,
    pub loc: super::raw::Loc,
    /// YAML path: `spec.assertions[0]`.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    pub replicas: u32,
    /// Pod template labels.
    pub labels: BTreeMap<String, String>,
    /// Pod template `nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    pub ports: Vec<ContainerPort>,
    pub behaviour: Behaviour,
}

impl Deployment {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl PodTemplateView for Deployment {
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }
    fn has_port_named(&self, name: &str) -> bool {
        self.ports.iter().any(|c| c.name.as_deref() == Some(name))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
}

/// How one pod of a workload serves a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Behaviour {
    /// Name of the `Workload` object that described it (None = defaulted).
    pub source: Option<String>,
    /// Servers per pod, each taking one request at a time from one FIFO queue.
    pub workers: u32,
    /// Maximum number of waiting requests per pod (None = unbounded).
    pub queue_limit: Option<u32>,
    /// Status answered when the queue is full.
    pub queue_full_status: u16,
    /// Thread-per-request servers keep the worker while waiting on calls.
    pub hold_worker_during_calls: bool,
    /// The default script: requests no endpoint rule matches.
    pub script: Vec<Step>,
    /// Endpoint rules (`spec.endpoints`), each with its own script; empty =
    /// every request runs `script`.
    pub endpoints: Vec<Endpoint>,
    /// After the script, answer `status` with this probability.
    pub error: Option<ErrorInjection>,
    /// Keep-alive connections per destination when calling without a sidecar
    /// (None = a new connection per call).
    pub pool_size: Option<u32>,
    /// The last N replicas never pass their readiness probe (not endpoints).
    pub not_ready: u32,
    /// On SIGTERM the app stops accepting connections and finishes the
    /// requests it has (`onSigterm: drain`) instead of exiting at once
    /// (`exit`, the default: a process without a SIGTERM handler).
    pub drain_on_sigterm: bool,
}

/// An application's own errors (`Workload.spec.errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorInjection {
    pub trigger: ErrorTrigger,
    pub status: u16,
    /// Decide when the request starts (no compute, no calls: isotope's mock
    /// service) instead of after the script (the request costs its work).
    pub before_script: bool,
}

/// Which requests fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorTrigger {
    /// Each request independently, with this probability.
    Chance(Chance),
    /// Every N-th request a pod serves (a per-pod counter: the N-th, 2N-th, …),
    /// as isotope's mock service does.
    Every(u32),
}

/// One step of a request-handling script.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Occupy a worker for a service-time draw.
    Compute(Dist),
    /// Call another Service and wait for the answer.
    Call(Call),
    /// Run every branch concurrently and wait for all of them.
    Parallel(Vec<Vec<Step>>),
    /// Run exactly one branch, drawn by weight (weights ≥ 0, not all 0).
    Choice(Vec<(u32, Vec<Step>)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub target: Target,
    /// The host as the script names it (`reviews:9080`, `reviews`): the
    /// request's `:authority`, which a client sidecar routes on.
    pub authority: String,
    pub path: String,
    pub method: String,
    /// Incoming request headers copied onto the call (e.g. `end-user`).
    pub forward_headers: Vec<String>,
    /// Constant headers the call adds (lowercased names; isotope's `extra-header`).
    /// They replace a forwarded header of the same name.
    pub headers: Vec<(String, String)>,
    /// Probability that the call is made at all.
    pub chance: Chance,
    /// Application-level timeout per try (None = wait forever).
    pub timeout: Option<SimDuration>,
    /// Application-level retries after a failed try (timeout, 5xx, connection failure).
    pub retries: u32,
    pub on_error: OnError,
    /// Skip the call when the request is already this many calls deep (bounds cycles).
    pub max_depth: Option<u32>,
}

/// What the caller does when a call finally fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Stop the script and answer this status.
    Fail(u16),
    /// Carry on (Bookinfo's productpage shows "reviews unavailable" and answers 200).
    Continue,
}

/// A resolved `host:port`: a Service and one of its ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub service: ServiceIx,
    pub port: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub selector: BTreeMap<String, String>,
    pub ports: Vec<ServicePort>,
    pub service_type: ServiceType,
    /// Node ports, externalTrafficPolicy, session affinity.
    pub net: crate::cluster::nodeport::ServiceNet,
}

impl Service {
    /// `name.namespace`, the key of `summary.json`'s `services` map.
    pub fn key(&self) -> String {
        format!("{}.{}", self.name, self.namespace)
    }
}

impl ServiceView for Service {
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn selector(&self) -> &BTreeMap<String, String> {
        &self.selector
    }
    fn target_port_name(&self, port_ix: usize) -> Option<&str> {
        match &self.ports[port_ix].target_port {
            TargetPort::Number(_) => None,
            TargetPort::Name(n) => Some(n),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub target_port: TargetPort,
    /// `appProtocol` (Kubernetes 1.20+): when set, Istio takes the port's
    /// protocol from it instead of the name's prefix.
    pub app_protocol: Option<String>,
}

impl ServicePort {
    /// The protocol Istio gives this port (`ConvertProtocol` on its
    /// `appProtocol`, else its name; TCP transport).
    pub fn protocol(&self) -> crate::proxy::protocol::Protocol {
        use crate::proxy::protocol::{Transport, convert_protocol};
        convert_protocol(
            u32::from(self.port),
            self.name.as_deref().unwrap_or(""),
            Transport::Tcp,
            self.app_protocol.as_deref(),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub name: String,
    pub namespace: String,
    pub target: Target,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// The Host header (`:authority`): `spec.host`, else what curl sends for
    /// the target URL (its host, with `:port` unless the port is 80).
    pub host: String,
    /// Request mix (`spec.requests`), each entry already merged with the
    /// load's defaults; empty = every request is (method, path, host, headers).
    pub requests: Vec<RequestVariant>,
    pub pattern: LoadPattern,
    pub start: SimDuration,
    /// None = until the end of the run.
    pub stop: Option<SimDuration>,
    /// `spec.iterations`: the load issues this many requests in total (warm-up
    /// included, per replication) and then stops, like `h2load -n`, `fortio
    /// load -n` or k6's `iterations`; with `stop`, whichever comes first.
    /// None = no count limit.
    pub iterations: Option<u64>,
    /// How its connections enter the cluster.
    pub entry: Entry,
    /// `spec.sidecar: true`: the load runs inside the mesh with its own Envoy
    /// sidecar (namespace = the load's, pod labels `app: <load name>`), so
    /// VirtualServices route its requests (default false: outside the mesh).
    pub sidecar: bool,
}

/// One entry of a load's request mix, chosen per request with probability
/// `weight / Σ weights`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVariant {
    pub weight: u32,
    pub method: String,
    pub path: String,
    pub host: String,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoadPattern {
    /// Requests arrive on their own schedule whatever the responses do; latency
    /// is measured from the intended send time (no coordinated omission).
    Open {
        arrival: Arrival,
        /// Requests per second.
        rate: f64,
        /// Keep-alive pool size; None = a new connection per request.
        connections: Option<u32>,
    },
    /// N connections, each sending its next request when the previous answered
    /// (after think time; with `qps`, on fortio's per-connection schedule), like
    /// `fortio load -c N -qps Q`.
    Closed {
        connections: u32,
        /// Total requests per second over all connections (None = as fast as possible).
        qps: Option<f64>,
        think: Option<Dist>,
        /// fortio's `-uniform`, `-jitter`, `-nocatchup` (with `qps` only).
        pacing: PacingMode,
    },
}

/// How a closed loop with `qps` keeps its schedule (`workload::pacing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacingMode {
    /// Connection k starts k/qps after the load's start (`-uniform`).
    pub uniform: bool,
    /// ±10 % on each positive wait (`-jitter`).
    pub jitter: bool,
    /// Skip missed slots instead of catching up (`-nocatchup`).
    pub no_catch_up: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    Poisson,
    Constant,
}
