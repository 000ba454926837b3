//! `Sidecar` as istiod receives it (istio/api 1.28 `networking/v1alpha3/sidecar.proto`):
//! the egress listeners that narrow what a proxy sees.

use super::*;

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
