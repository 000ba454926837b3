//! What workloads do: request-handling scripts and the clients (load generators) that drive the mesh.

/// Distributions live in the kernel ([`crate::engine::dist`]): they know no
/// HTTP, and the cluster's hop latencies draw from them too.
pub use crate::engine::dist;
pub mod load;
pub mod pacing;
pub mod script;
