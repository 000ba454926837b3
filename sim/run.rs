//! One replication: a scenario and a replication index in, an [`Outcome`] out.
//! Pure: no I/O, no shared state, so replications can run on any thread.
//! istiod's compile is per run ([`compile`]); the `_with` variants take it
//! ready-made so replications share it.

use crate::istiod::Xds;
use crate::scenario::Scenario;
use crate::world::{Guard, Outcome, Picks, TraceSpec, World};

/// What istiod pushes for `spec` (once per run, shared by every replication).
/// istiod's compile (no proxies, an empty `Xds`, without Istio).
pub fn compile(spec: &Scenario) -> Xds {
    crate::istiod::compile(spec)
}

/// Simulates replication `replication` of `spec` (compiling its mesh first).
pub fn replicate(spec: &Scenario, replication: u64, progress: &mut dyn FnMut(f64)) -> Outcome {
    let xds = compile(spec);
    replicate_with(spec, &xds, replication, progress)
}

/// Simulates replication `replication` of `spec` whose proxies run `xds`.
pub fn replicate_with(
    spec: &Scenario,
    xds: &Xds,
    replication: u64,
    progress: &mut dyn FnMut(f64),
) -> Outcome {
    World::with_xds(spec, xds, replication).run(progress)
}

/// Simulates replication `replication` of `spec` within `guard`; `progress`
/// returning false stops it (see `world/guard.rs`).
pub fn replicate_guarded(
    spec: &Scenario,
    replication: u64,
    guard: &Guard,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Outcome {
    let xds = compile(spec);
    replicate_guarded_with(spec, &xds, replication, guard, progress)
}

/// [`replicate_guarded`] with an already compiled mesh.
pub fn replicate_guarded_with(
    spec: &Scenario,
    xds: &Xds,
    replication: u64,
    guard: &Guard,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Outcome {
    replicate_guarded_opts(spec, xds, replication, guard, progress, false)
}

/// [`replicate_guarded_with`], also collecting Istio's request metrics
/// (`Outcome::istio`) when `istio_metrics`; the run is otherwise identical.
pub fn replicate_guarded_opts(
    spec: &Scenario,
    xds: &Xds,
    replication: u64,
    guard: &Guard,
    progress: &mut dyn FnMut(f64) -> bool,
    istio_metrics: bool,
) -> Outcome {
    let w = World::with_xds(spec, xds, replication);
    let w = if istio_metrics {
        w.with_istio_metrics()
    } else {
        w
    };
    w.run_guarded(guard, progress)
}

/// Simulates replication `replication` while following one request step by
/// step (teaching mode). Same events and numbers as [`replicate`].
pub fn replicate_traced(spec: &Scenario, replication: u64, trace: TraceSpec) -> Outcome {
    let xds = compile(spec);
    World::with_xds(spec, &xds, replication)
        .with_trace(trace)
        .run(&mut |_| {})
}

/// Simulates replication `replication` untraced, noting which counted request
/// of load `load` failed first and which was slowest (for `--trace
/// LOAD:failed|slowest`; then [`replicate_traced`] follows it). Same events
/// and numbers as [`replicate`].
pub fn find_picks(spec: &Scenario, replication: u64, load: usize) -> Picks {
    let xds = compile(spec);
    World::with_xds(spec, &xds, replication)
        .with_picker(load)
        .run(&mut |_| {})
        .picks
        .unwrap_or_default()
}
