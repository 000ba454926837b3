//! `Gateway` as istiod receives it (istio/api 1.28 `networking/v1alpha3/gateway.proto`):
//! servers, their ports, hosts and TLS modes.

use super::*;

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
