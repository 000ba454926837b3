//! ServiceEntry hosts in a sidecar's config: which (host, port) pairs a proxy
//! knows, and the cluster `outbound|<port>|<subset>|<host>` each names.
//!
//! Why: a host outside the Kubernetes registry (`httpbin.org`) is unknown to a
//! sidecar unless a ServiceEntry adds it — then it gets a virtual host on the
//! entry's port (domains `host` and `host:port`, `httproute.go`
//! `generateVirtualHostDomains` @1.28.9) and a cluster, and a VirtualService
//! may route it; without one, `ALLOW_ANY` passes the request to its original
//! destination and `REGISTRY_ONLY` answers 502 (`block_all`).
//!
//! The outside world in meshsim: `Simulation.spec.externalHosts` maps a host
//! to a Service standing in for it (its pods play the external servers, its
//! Workload their behaviour; kube-proxy's pick among them plays DNS for an
//! app without a sidecar, as the original destination does for
//! PassthroughCluster). The stand-in is not part of Istio's registry. A
//! ServiceEntry's cluster (`cluster.go` `convertResolution` @1.28.9):
//! * `resolution: NONE` — ORIGINAL_DST for sidecars: the request goes where
//!   the app dialled (PassthroughCluster's path), under the entry's name;
//! * `DNS`, `DNS_ROUND_ROBIN`, `STATIC` — the resolved addresses are the
//!   stand-in's ready pods, balanced by the cluster's policy (DestinationRule
//!   looked up in the entry's namespace like a Service's). Simplifications:
//!   `DNS_ROUND_ROBIN` (LOGICAL_DNS: only the first address) is balanced as
//!   `DNS`; `endpoints` addresses, weights and localities and
//!   `workloadSelector` are not mapped onto pods — the stand-in's pods are the
//!   endpoints; a host with no stand-in resolves to nothing (503 UH);
//! * `DYNAMIC_DNS` and wildcard hosts build no sidecar cluster (ambient only
//!   in 1.28). TCP and TLS ports get tcp_proxy chains (`sidecar.rs`): an
//!   entry has no address here, so a TLS port's chain matches SNI = the
//!   host, as Istio's for an address-less entry bound to `0.0.0.0`.

use super::host;
use crate::proxy::protocol::{Protocol, Transport, convert_protocol};
use crate::scenario::spec::istio::{Resolution, ServiceEntry, ServiceEntryPort};
use crate::scenario::spec::{Scenario, ServiceIx};

/// One (host, port) a ServiceEntry adds to a proxy's view.
#[derive(Clone, Copy, Debug)]
pub struct SeHost<'s> {
    pub entry: &'s ServiceEntry,
    pub host: &'s str,
    pub port: &'s ServiceEntryPort,
}

/// HTTP routing for this ServiceEntry port (`protocol`, else the name's
/// prefix; unnamed/unknown ports are sniffed, HTTP for meshsim's traffic).
pub fn is_http(p: &ServiceEntryPort) -> bool {
    match p.protocol {
        Some(proto) => proto.is_http(),
        None => {
            let proto = convert_protocol(u32::from(p.number), &p.name, Transport::Tcp, None);
            proto.is_http() || proto == Protocol::Unsupported
        }
    }
}

/// TLS to Istio (`HTTPS`/`TLS`, or such a name prefix): chains by SNI.
pub fn is_tls(p: &ServiceEntryPort) -> bool {
    use crate::scenario::spec::istio::Protocol as P;
    match p.protocol {
        Some(proto) => matches!(proto, P::Https | P::Tls),
        None => matches!(
            convert_protocol(u32::from(p.number), &p.name, Transport::Tcp, None),
            Protocol::Https | Protocol::Tls
        ),
    }
}

/// The ServiceEntry (host, port) pairs a proxy in `ns` sees: exported to
/// `ns`, admitted by `imports(namespace, host)` (its Sidecar's egress hosts), not
/// wildcard, not `DYNAMIC_DNS`, and not a Kubernetes Service's name (the
/// Service wins the host).
pub fn visible<'s>(
    spec: &'s Scenario,
    ns: &str,
    imports: impl Fn(&str, &str) -> bool,
) -> Vec<SeHost<'s>> {
    let mut out = Vec::new();
    for se in &spec.istio.service_entries {
        if se.resolution == Resolution::DynamicDns
            || !host::exported_to(&se.export_to, &se.meta.namespace, ns)
        {
            continue;
        }
        for h in &se.hosts {
            if h.starts_with('*')
                || spec
                    .services
                    .iter()
                    .any(|s| host::fqdn(s).eq_ignore_ascii_case(h))
                || !imports(&se.meta.namespace, h)
                || out.iter().any(|x: &SeHost| x.host.eq_ignore_ascii_case(h))
            {
                continue;
            }
            for p in &se.ports {
                out.push(SeHost {
                    entry: se,
                    host: h,
                    port: p,
                });
            }
        }
    }
    out
}

/// The first ServiceEntry defining `host` with port `port`.
pub fn find<'s>(spec: &'s Scenario, host: &str, port: u16) -> Option<SeHost<'s>> {
    spec.istio.service_entries.iter().find_map(|se| {
        let h = se.hosts.iter().find(|h| h.eq_ignore_ascii_case(host))?;
        let p = se.ports.iter().find(|p| p.number == port)?;
        Some(SeHost {
            entry: se,
            host: h,
            port: p,
        })
    })
}

/// The only port of the ServiceEntry defining `host` (a route destination
/// without `port`).
pub fn only_port(spec: &Scenario, host: &str) -> Option<u16> {
    spec.istio.service_entries.iter().find_map(|se| {
        se.hosts.iter().find(|h| h.eq_ignore_ascii_case(host))?;
        match se.ports.as_slice() {
            [only] => Some(only.number),
            _ => None,
        }
    })
}

/// The Service standing in for external host `host`, and its port index for
/// `port` (that number, else its only port).
pub fn stand_in(spec: &Scenario, host: &str, port: u16) -> Option<(ServiceIx, usize)> {
    let h = host.to_ascii_lowercase();
    let &(_, si) = spec.external_hosts.iter().find(|(x, _)| *x == h)?;
    let ports = &spec.services[si].ports;
    let pi = ports
        .iter()
        .position(|p| p.port == port)
        .or((ports.len() == 1).then_some(0))?;
    Some((si, pi))
}

/// Is Service `si` a stand-in for an external host (so not in Istio's registry)?
pub fn is_stand_in(spec: &Scenario, si: ServiceIx) -> bool {
    spec.external_hosts.iter().any(|&(_, s)| s == si)
}
