//! HorizontalPodAutoscalers as validated data: each resolved to the
//! Deployment it scales, its bounds and rules defaulted as the API server
//! and the controller default them (`cluster/hpa.rs` says where from).
//!
//! Inert: the world (`world/autoscale.rs`) runs the controller. Empty when
//! the scenario has no HPA, and then nothing about the run changes.

use super::DeploymentIx;
use crate::cluster::hpa::Spec;

/// One HPA, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Autoscaler {
    /// `namespace/name` of the HPA.
    pub name: String,
    pub deployment: DeploymentIx,
    pub spec: Spec,
    /// The Deployment's `spec.replicas` when the run starts (the pod slots
    /// beyond it are created by the HPA: `Deployment::replicas` is raised
    /// to max(initial, maxReplicas) so every pod the run may have exists).
    pub initial: u32,
    /// Σ `resources.requests.cpu` over a pod's containers in milli-cores
    /// (the injected `istio-proxy`'s included), or the controller's error
    /// when a container has none: the metric is unavailable and the HPA
    /// never scales (`FailedGetResourceMetric`), as in Kubernetes.
    pub pod_request: Result<u64, String>,
}
