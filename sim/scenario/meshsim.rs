//! meshsim's own kinds (`meshsim.dev/v1alpha1`), one file each, for what the
//! Kubernetes API does not say: how a workload serves (`Workload`), what load
//! arrives (`Load`), how long to run (`Simulation`) and the nodes and network
//! (`Cluster`). Strict: unknown fields are errors. Plus the value shapes they
//! share (distributions, scripts). Wired in by `validate::decode_object`.

pub mod cluster;
pub mod dist;
pub mod endpoints;
pub mod load;
pub mod pacing;
pub mod script;
pub mod simulation;
pub mod workload;
