//! The cluster network once every Deployment and Service is known: pod
//! placement on nodes (warning about pods that fit none) and node-port
//! allocation (erroring on conflicts, as the API server does).

use super::decode::Cx;
use super::diag::{Diagnostics, Origin};
use super::raw::Loc;
use super::spec::*;
use crate::cluster::ingress::IngressSpec;
use crate::cluster::node::{ClusterNet, NO_NODE};
use crate::cluster::nodeport::{PortWants, allocate};
use crate::cluster::topology::place;
use std::collections::BTreeMap;

/// Placement and node ports, once deployments and services are final.
pub fn network(
    net: Option<(ClusterNet, Origin)>,
    ingresses: Vec<IngressSpec>,
    controller: Option<usize>,
    deployments: &[(Deployment, Origin, Loc)],
    services: &mut [(Service, Origin, Loc)],
    diags: &mut Diagnostics,
) -> Network {
    let explicit = net.is_some();
    let cluster = net.map(|(c, _)| c).unwrap_or_else(ClusterNet::implicit);
    let replicas: Vec<u32> = deployments.iter().map(|(d, _, _)| d.replicas).collect();
    let selectors: Vec<&BTreeMap<String, String>> = deployments
        .iter()
        .map(|(d, _, _)| &d.node_selector)
        .collect();
    let placement = place(&cluster, &replicas, &selectors);
    for ((d, origin, loc), nodes) in deployments.iter().zip(&placement) {
        let pending = nodes.iter().filter(|&&n| n == NO_NODE).count();
        if pending > 0 {
            Cx::new(origin.clone(), diags).warn_at(
                *loc,
                "spec.template.spec.nodeSelector",
                format!(
                    "{pending} of {} pods of {} fit no node (nodeSelector {:?}, maxPods): they stay Pending and are never endpoints",
                    d.replicas,
                    d.key(),
                    d.node_selector
                ),
            );
        }
    }
    // Node ports: each port of a NodePort/LoadBalancer Service, then the
    // healthCheckNodePort of LoadBalancer + Local.
    let wants: Vec<(String, PortWants)> = services
        .iter()
        .map(|(s, _, _)| {
            let mut w = Vec::new();
            if s.service_type != ServiceType::ClusterIP {
                for i in 0..s.ports.len() {
                    w.push((i, s.net.node_ports.get(i).copied().flatten()));
                }
                if s.service_type == ServiceType::LoadBalancer && s.net.local {
                    w.push((usize::MAX, s.net.health_check_node_port));
                }
            }
            (s.key(), w)
        })
        .collect();
    let (got, conflicts) = allocate(&wants);
    for (i, slot, p) in conflicts {
        let (s, origin, loc) = &services[i];
        let path = if slot == usize::MAX {
            "spec.healthCheckNodePort".to_string()
        } else {
            format!("spec.ports[{slot}].nodePort")
        };
        Cx::new(origin.clone(), diags).error_at(
            *loc,
            &path,
            format!(
                "{p}: provided port is already allocated (Service {})",
                s.key()
            ),
        );
    }
    for (i, ports) in got.into_iter().enumerate() {
        let s = &mut services[i].0;
        s.net.node_ports.resize(s.ports.len(), None);
        for (slot, p) in ports {
            if slot == usize::MAX {
                s.net.health_check_node_port = Some(p);
            } else {
                s.net.node_ports[slot] = Some(p);
            }
        }
    }
    Network {
        cluster,
        explicit,
        placement,
        ingress_controller: controller,
        ingresses,
    }
}
