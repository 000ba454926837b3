//! How a Deployment's pods stop when they are deleted: the pod's
//! `terminationGracePeriodSeconds` and its app container's `preStop`
//! sleep (read by `scenario/termination.rs`, run by `world/termination.rs`).

use crate::engine::SimDuration;

/// Kubernetes' default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE: SimDuration = SimDuration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termination {
    /// `terminationGracePeriodSeconds`: SIGKILL this long after deletion.
    pub grace: SimDuration,
    /// How long the app container's `preStop` hook runs (0: none).
    pub pre_stop: SimDuration,
}

impl Default for Termination {
    fn default() -> Self {
        Termination {
            grace: DEFAULT_GRACE,
            pre_stop: SimDuration::ZERO,
        }
    }
}
