//! A ServiceEntry's endpoints as Istio 1.28 builds its cluster from them:
//! inline `endpoints` (address, ports, weight, locality, labels) or a
//! `workloadSelector` choosing Kubernetes pods, under `resolution`
//! STATIC (EDS), DNS (STRICT_DNS) or DNS_ROUND_ROBIN (LOGICAL_DNS).
//!
//! Why a room of its own: a Service's cluster is "the ready pods of its
//! Deployments"; an entry's is a list of endpoint groups, each with its own
//! weight, locality and labels, which the world's balancer lays out
//! ([`crate::istiod::xds::Cluster::entry`]).
//!
//! Istio 1.28, re-read at the 1.28.10 tag
//! (`pilot/pkg/serviceregistry/serviceentry/conversion.go` `convertServices`,
//! `convertEndpoint`, `convertServiceEntryToInstances`,
//! `convertWorkloadInstanceToServiceInstance`;
//! `pilot/pkg/serviceregistry/kube/controller/pod.go` `getPortMap`;
//! `pilot/pkg/model/service.go` `GetLoadBalancingWeight`;
//! `pilot/pkg/networking/core/cluster.go` `convertResolution`):
//! * STATIC ⇒ EDS: every endpoint is one host at its address; the port is the
//!   endpoint's `ports[<SE port name>]` (if > 0), else the SE port's
//!   `targetPort`, else its `number`; `weight` (0 ⇒ 1,
//!   `GetLoadBalancingWeight`) is the endpoint's load-balancing weight;
//!   `locality` its locality, else its label `istio-locality` with `.` read
//!   as `/` (`GetLocalityLabel`), else the empty locality; `labels` what a
//!   DestinationRule subset selects.
//! * DNS ⇒ STRICT_DNS: each endpoint's address (or, without endpoints, the
//!   host, on the SE port's `targetPort` else its `number`) is resolved and
//!   *every* address is a host, with the endpoint's weight and locality.
//! * DNS_ROUND_ROBIN ⇒ LOGICAL_DNS: one logical host, new connections go to
//!   the first address the resolver returns (validation allows ≤ 1 endpoint).
//! * `workloadSelector` (exclusive with `endpoints`): the pods in the entry's
//!   namespace whose labels match are the endpoints, at their pod IPs, with
//!   their own node's locality and their labels (for subsets); the port is
//!   the pod's container port **named** like the SE port (the pod's port
//!   map: named TCP container ports, first wins), else `targetPort`, else
//!   `number`.
//!
//! In meshsim an address "resolves" through `Simulation.spec.externalHosts`:
//! the Service standing in for it, whose ready pods are its addresses (a
//! stand-in for a STATIC IP normally has one pod; with several, each plays
//! one host behind that address). An address with no stand-in resolves to
//! nothing (no host from it). A selected pod is found through a Service
//! that backs its Deployment (the world tracks readiness per Service port);
//! a Deployment no Service backs contributes no host (a stated gap).

use crate::cluster::selector::selects;
use crate::cluster::service::backing_deployments;
use crate::proxy::locality::Locality;
use crate::scenario::spec::istio::{Resolution, ServiceEntry, ServiceEntryPort};
use crate::scenario::spec::{DeploymentIx, Scenario, ServiceIx};
use std::collections::BTreeMap;

/// One group of hosts sharing an endpoint's attributes: the ready pods of
/// `deployments` behind Service `service` port index `port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryGroup {
    pub service: ServiceIx,
    pub port: usize,
    pub deployments: Vec<DeploymentIx>,
    /// Envoy load-balancing weight of each host (≥ 1).
    pub weight: u32,
    /// The endpoint's locality; None = each pod's node (workloadSelector).
    pub locality: Option<Locality>,
    /// What DestinationRule subsets select on.
    pub labels: BTreeMap<String, String>,
}

/// The endpoints of one ServiceEntry cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryHosts {
    pub groups: Vec<EntryGroup>,
    /// LOGICAL_DNS (`DNS_ROUND_ROBIN`): only the first ready address is used.
    pub first_only: bool,
}

/// An endpoint's locality: `locality`, else the `istio-locality` label
/// (`.` for `/`, Kubernetes labels allow no `/`), else none
/// (`conversion.go` `convertEndpoint`, `pkg/model/proxy.go` `GetLocalityLabel`).
fn endpoint_locality(locality: Option<&str>, labels: &BTreeMap<String, String>) -> Locality {
    match locality.filter(|l| !l.is_empty()) {
        Some(l) => Locality::parse(l),
        None => match labels.get("istio-locality").filter(|l| !l.is_empty()) {
            Some(l) => Locality::parse(&l.replace('.', "/")),
            None => Locality::default(),
        },
    }
}

/// The port an endpoint is reached on for SE port `p`.
fn endpoint_port(p: &ServiceEntryPort, ports: &BTreeMap<String, u16>) -> u16 {
    ports
        .get(&p.name)
        .copied()
        .filter(|&n| n > 0)
        .or(p.target_port.filter(|&n| n > 0))
        .unwrap_or(p.number)
}

/// A Service port backing Deployment `d` on `port` (target or Service
/// port), preferring `ns`; else any port backing `d`.
fn service_port_of(
    spec: &Scenario,
    d: DeploymentIx,
    port: u16,
    ns: &str,
) -> Option<(ServiceIx, usize)> {
    let mut any = None;
    let mut in_ns = None;
    for (si, s) in spec.services.iter().enumerate() {
        for (pi, p) in s.ports.iter().enumerate() {
            if !backing_deployments(s, pi, &spec.deployments).contains(&d) {
                continue;
            }
            let tp = match p.target_port {
                crate::scenario::spec::TargetPort::Number(n) => n,
                crate::scenario::spec::TargetPort::Name(_) => p.port,
            };
            if tp == port || p.port == port {
                if s.namespace == ns {
                    return Some((si, pi));
                }
                in_ns.get_or_insert((si, pi));
            }
            any.get_or_insert((si, pi));
        }
    }
    in_ns.or(any)
}

/// The endpoint groups of entry `se` for its port `port` (host `host`), or
/// None when the plain stand-in path applies (no `endpoints`, no
/// `workloadSelector`, not LOGICAL_DNS).
pub fn resolve(
    spec: &Scenario,
    se: &ServiceEntry,
    host: &str,
    port: &ServiceEntryPort,
) -> Option<EntryHosts> {
    let first_only = se.resolution == Resolution::DnsRoundRobin;
    let mut groups = Vec::new();
    if let Some(sel) = &se.workload_selector {
        for (d, dep) in spec.deployments.iter().enumerate() {
            if dep.namespace != se.meta.namespace || !selects(sel, &dep.labels) {
                continue;
            }
            // The pod's port map (`getPortMap`): named container ports.
            let mut named = BTreeMap::new();
            for c in &dep.ports {
                if let Some(n) = &c.name {
                    named.entry(n.clone()).or_insert(c.port);
                }
            }
            let tp = endpoint_port(port, &named);
            if let Some((service, pi)) = service_port_of(spec, d, tp, &se.meta.namespace) {
                groups.push(EntryGroup {
                    service,
                    port: pi,
                    deployments: vec![d],
                    weight: 1,
                    locality: None,
                    labels: dep.labels.clone(),
                });
            }
        }
    } else if !se.endpoints.is_empty() {
        for ep in &se.endpoints {
            let tp = endpoint_port(port, &ep.ports);
            let Some((service, pi)) = super::service_entry::stand_in(spec, &ep.address, tp) else {
                continue;
            };
            let s = &spec.services[service];
            groups.push(EntryGroup {
                service,
                port: pi,
                deployments: backing_deployments(s, pi, &spec.deployments),
                weight: ep.weight.max(1),
                locality: Some(endpoint_locality(ep.locality.as_deref(), &ep.labels)),
                labels: ep.labels.clone(),
            });
        }
    } else if first_only {
        let tp = endpoint_port(port, &BTreeMap::new());
        let (service, pi) = super::service_entry::stand_in(spec, host, tp)?;
        let s = &spec.services[service];
        groups.push(EntryGroup {
            service,
            port: pi,
            deployments: backing_deployments(s, pi, &spec.deployments),
            weight: 1,
            locality: Some(Locality::default()),
            labels: BTreeMap::new(),
        });
    } else {
        return None;
    }
    Some(EntryHosts { groups, first_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locality_falls_back_to_the_istio_locality_label() {
        let mut labels = BTreeMap::new();
        assert_eq!(endpoint_locality(None, &labels), Locality::default());
        labels.insert("istio-locality".to_string(), "us-east.zone-a".to_string());
        assert_eq!(
            endpoint_locality(None, &labels),
            Locality::parse("us-east/zone-a")
        );
        assert_eq!(
            endpoint_locality(Some("eu/z1"), &labels),
            Locality::parse("eu/z1")
        );
    }
}
