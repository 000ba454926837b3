//! `ServiceEntry` as istiod receives it (istio/api 1.28
//! `networking/v1alpha3/service_entry.proto`), with its inline `WorkloadEntry` endpoints.

use super::*;

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
