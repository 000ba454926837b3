//! One replication: a scenario and a replication index in, an [`Outcome`] out.
//! Pure: no I/O, no shared state, so replications can run on any thread.

use crate::scenario::Scenario;
use crate::world::{Guard, Outcome, TraceSpec, World};

/// Simulates replication `replication` of `spec`.
pub fn replicate(spec: &Scenario, replication: u64, progress: &mut dyn FnMut(f64)) -> Outcome {
    World::new(spec, replication).run(progress)
}

/// Simulates replication `replication` of `spec` within `guard`; `progress`
/// returning false stops it (see `world/guard.rs`).
pub fn replicate_guarded(
    spec: &Scenario,
    replication: u64,
    guard: &Guard,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Outcome {
    World::new(spec, replication).run_guarded(guard, progress)
}

/// Simulates replication `replication` while following one request step by
/// step (teaching mode). Same events and numbers as [`replicate`].
pub fn replicate_traced(spec: &Scenario, replication: u64, trace: TraceSpec) -> Outcome {
    World::new(spec, replication)
        .with_trace(trace)
        .run(&mut |_| {})
}
