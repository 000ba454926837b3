//! What workloads do: service-time distributions, request-handling scripts and
//! the clients (load generators) that drive the mesh.

pub mod dist;
pub mod load;
pub mod script;
