//! Service endpoints: for each Service port, the ready pods that serve it.
//!
//! Mirrors the EndpointSlice controller: a pod is an endpoint of a port when the
//! Service selector matches its labels and its containers expose the target port
//! (by number, or by name for named `targetPort`s).

use crate::scenario::spec::{Deployment, Service, TargetPort};
use crate::scenario::validate::selects;

/// Endpoints of one Service port, as indices into the world's pod list.
#[derive(Clone, Debug, Default)]
pub struct PortEndpoints {
    pub pods: Vec<u32>,
}

/// Which deployments back `svc`'s port `port_ix`.
pub fn backing_deployments(
    svc: &Service,
    port_ix: usize,
    deployments: &[Deployment],
) -> Vec<usize> {
    let port = &svc.ports[port_ix];
    deployments
        .iter()
        .enumerate()
        .filter(|(_, d)| d.namespace == svc.namespace && selects(&svc.selector, &d.labels))
        .filter(|(_, d)| match &port.target_port {
            // A numeric targetPort reaches the pod whether or not the container
            // declares it (containerPort is informational in Kubernetes).
            TargetPort::Number(_) => true,
            TargetPort::Name(n) => d
                .ports
                .iter()
                .any(|c| c.name.as_deref() == Some(n.as_str())),
        })
        .map(|(i, _)| i)
        .collect()
}
