//! Istio's configuration as istiod receives it: validated, defaulted where Istio
//! defaults, and inert. Nothing here routes; a later compile step ("istiod")
//! turns these into per-proxy Envoy config and the world simulates that.
//!
//! Shapes follow istio/api 1.28 (`networking/v1alpha3/*.proto`, `mesh/v1alpha1/config.proto`)
//! field by field, so a reader can hold a manifest next to the type. Percentages are
//! parts per million and weights integers, so nothing compares floats for equality.
//!
//! One file per Istio kind (`virtual_service`, `destination_rule`, `gateway`,
//! `service_entry`, `sidecar`), re-exported here so that `spec::istio::*` names
//! every type; this file keeps what they share (object metadata, percentages,
//! `StringMatch`, protocols) and the mesh-wide settings.

mod destination_rule;
mod gateway;
mod service_entry;
mod sidecar;
mod virtual_service;

pub use destination_rule::*;
pub use gateway::*;
pub use service_entry::*;
pub use sidecar::*;
pub use virtual_service::*;

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
