//! Replications in parallel, merged in index order as they finish.
//!
//! Replications start in index order on the rayon pool (`spawn_fifo`); each
//! finished outcome goes to a shared [`merge::Merger`], which folds in every
//! outcome whose predecessors are all folded in, then drops it (issue #12
//! item 3: memory flat in the number of replications). Histogram and sum
//! merges are exact integer adds and per-replication means are pushed in
//! index order, so results are identical for any `RAYON_NUM_THREADS`.

mod keep;
mod merge;
pub use keep::{Keep, Kept, Quantiles, Reducer, Section, Values};
pub use merge::Merger;

use crate::istiod::Xds;
use crate::metrics::propagation::PropagationRecorder;
use crate::metrics::timeline::{BINS, LoadSnap, PooledTimeline, WorkloadSnap};
use crate::metrics::{Capacity, Recorder};
use crate::run::replicate_guarded_opts;
use crate::scenario::Scenario;
use crate::world::guard::human_bytes;
use crate::world::{Guard, Outcome, Split};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Merged results of all replications.
#[derive(Clone, Debug)]
pub struct Merged {
    pub replications: u32,
    pub loads: Vec<Stream>,
    pub services: Vec<Stream>,
    pub workloads: Vec<Stream>,
    /// Per workload with endpoint rules: per rule (`[0]` = default), pooled.
    pub endpoints: Vec<Vec<Stream>>,
    pub capacity: Vec<Capacity>,
    /// Per workload: (waiting at the window's start, at its end) of the
    /// replication whose queue grew the most (`report::overload`).
    pub queue_growth: Vec<(u64, u64)>,
    pub events: u64,
    /// Requests simulated over all replications, warm-up included: every
    /// load request, call, retry attempt and mirrored copy (`--timing`'s
    /// requests; a zero-time call runs inline and costs no event).
    pub requests_created: u64,
    /// Digest of the per-replication digests, in index order.
    pub digest: u64,
    pub window_secs: f64,
    /// Per-replication outcomes, in index order: all of them when the run
    /// keeps them ([`Keep::outcomes`]: tests, diff), else replication 0's
    /// alone (what the reports' one-cluster views read).
    pub outcomes: Vec<Outcome>,
    /// The values of the reducers the run registered ([`Keep`]), per
    /// replication; read with [`Merged::per_replication`].
    pub kept: Kept,
    /// Routing statistics pooled over replications (None without proxies).
    pub mesh: Option<MeshMerged>,
    /// Why this run is partial, in words (empty = complete): replications
    /// cut to fit the memory budget, or stopped early by the run-time guard.
    pub partial: Vec<String>,
    /// Failure propagation pooled over replications, in index order.
    pub propagation: PropagationRecorder,
    /// Timelines summed over replications (`report::plot`).
    pub timeline: PooledTimeline,
    /// Requests each pod received, summed over replications (pods in
    /// Deployment order, then replica order).
    pub pod_requests: Vec<u64>,
}

/// `routes`, `destinations` and route splits, pooled over replications.
#[derive(Clone, Debug)]
pub struct MeshMerged {
    pub routes: Vec<(String, Stream)>,
    pub destinations: Vec<(String, Stream)>,
    pub splits: Vec<Split>,
    /// Per route (aligned with `routes`): upstream attempts, and attempts
    /// abandoned by a timeout while the server kept working.
    pub route_attempts: Vec<u64>,
    pub route_abandoned: Vec<u64>,
    /// Per destination (aligned with `destinations`): Envoy's cluster and
    /// outlier-detection counters summed over client proxies.
    pub cluster_stats: Vec<crate::proxy::breaker::ClusterStats>,
    pub outlier_stats: Vec<crate::proxy::outlier::OutlierStats>,
}

/// One measured stream pooled over replications.
#[derive(Clone, Debug)]
pub struct Stream {
    pub pooled: Recorder,
    pub in_flight: u64,
    /// Mean latency of each replication (seconds), in index order.
    pub replication_means: Vec<f64>,
}

/// Runs every replication of `spec` (on the rayon pool) and merges them.
/// `progress` receives the overall fraction done (may be called from any thread).
/// istiod runs once per run: every replication shares the compiled config.
pub fn run_all(spec: &Scenario, progress: &(dyn Fn(f64) + Sync)) -> Merged {
    let xds = crate::run::compile(spec);
    run_all_with(spec, &xds, progress)
}

/// As [`run_all`] with an already compiled mesh.
pub fn run_all_with(spec: &Scenario, xds: &Xds, progress: &(dyn Fn(f64) + Sync)) -> Merged {
    run_all_guarded_with(spec, xds, &Guard::NONE, &|f| {
        progress(f);
        true
    })
}

/// Heap bytes one replication's [`Outcome`] holds whatever its latencies:
/// a recorder per load, Service and Deployment (the struct; its histogram
/// adds a 2 KiB page per range of latencies it holds, `metrics::hist`), the
/// timeline and the per-pod counts. Checked against real outcomes by
/// `outcome_bytes_are_what_an_outcome_holds`. Merged outcomes are dropped
/// unless the run keeps them ([`Keep::outcomes`]).
pub fn outcome_bytes(spec: &Scenario) -> u64 {
    let recorders = (spec.loads.len() + spec.services.len() + spec.deployments.len()) as u64;
    let pods: u64 = spec.deployments.iter().map(|d| d.replicas as u64).sum();
    let timeline = ((BINS + 1)
        * (spec.loads.len() * std::mem::size_of::<LoadSnap>()
            + spec.deployments.len() * std::mem::size_of::<WorkloadSnap>()))
        as u64;
    recorders * std::mem::size_of::<Recorder>() as u64 + timeline + pods * 8
}

/// Heap bytes `o` holds (what [`outcome_bytes`] predicts plus its
/// histograms' pages), read off its parts. Its failure-propagation record is
/// counted here but not predicted: it depends on how many distinct failure
/// chains and windows the run produces.
pub fn retained_bytes(o: &Outcome) -> u64 {
    let recs: u64 = [&o.loads, &o.services, &o.workloads]
        .iter()
        .map(|v| (v.capacity() * std::mem::size_of::<Recorder>()) as u64)
        .sum::<u64>()
        + o.loads
            .iter()
            .chain(&o.services)
            .chain(&o.workloads)
            .map(|r| r.heap_bytes())
            .sum::<u64>();
    let timeline: u64 = o
        .timeline
        .loads
        .iter()
        .map(|v| (v.capacity() * std::mem::size_of::<LoadSnap>()) as u64)
        .chain(
            o.timeline
                .workloads
                .iter()
                .map(|v| (v.capacity() * std::mem::size_of::<WorkloadSnap>()) as u64),
        )
        .sum();
    recs + timeline + o.pod_requests.capacity() as u64 * 8 + o.propagation.heap_bytes()
}

/// The guard of one replication when `r` replications run within `limits`:
/// the budget left after their results, shared by those running at once.
pub fn replication_guard(spec: &Scenario, limits: &Guard, r: u64) -> Guard {
    replication_guard_opts(spec, limits, r, &RunOptions::default())
}

/// Outcomes a run of `r` replications holds at once: all of them when it
/// keeps them, else replication 0's plus those finished while an earlier
/// one still runs (about one per thread).
fn held(r: u64, opts: &RunOptions) -> u64 {
    let threads = rayon::current_num_threads().max(1) as u64;
    if opts.keep.outcomes {
        r
    } else {
        r.min(threads + 1)
    }
}

/// [`replication_guard`] of a run made with `opts`.
pub fn replication_guard_opts(spec: &Scenario, limits: &Guard, r: u64, opts: &RunOptions) -> Guard {
    let held = held(r, opts);
    let running = r.min(rayon::current_num_threads().max(1) as u64).max(1);
    Guard {
        memory_bytes: limits
            .memory_bytes
            .saturating_sub(held.saturating_mul(outcome_bytes(spec)))
            / running,
        ..*limits
    }
}

/// [`run_all`] within `limits`: `memory_bytes` is for the whole run.
///
/// Half the budget may hold finished replications' outcomes: if all `R` do
/// not fit, only the first `K` that do are run (deterministically) and the
/// run is marked partial. The rest is shared by the replications running at
/// once (`min(R, rayon threads)`), each guarded by the world's run-time check
/// (`world/guard.rs`). `progress` returning false (the binary's wall-clock
/// limit) stops every running replication and starts no new one.
pub fn run_all_guarded(
    spec: &Scenario,
    limits: &Guard,
    progress: &(dyn Fn(f64) -> bool + Sync),
) -> Merged {
    let xds = crate::run::compile(spec);
    run_all_guarded_with(spec, &xds, limits, progress)
}

/// [`run_all_guarded`] with an already compiled mesh.
pub fn run_all_guarded_with(
    spec: &Scenario,
    xds: &Xds,
    limits: &Guard,
    progress: &(dyn Fn(f64) -> bool + Sync),
) -> Merged {
    run_all_opts(spec, xds, limits, progress, &RunOptions::default())
}

/// What a run collects beyond `summary.json`'s figures.
#[derive(Clone, Debug)]
pub struct RunOptions<'a> {
    /// Istio's request metrics of replication 0 (`Outcome::istio`): the
    /// counters one real cluster would show (`report::openmetrics`).
    pub istio_metrics: bool,
    /// What the merge keeps of each replication, as its readers declared
    /// (`keep.rs`). The default keeps every outcome (tests read them).
    pub keep: Keep<'a>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            istio_metrics: false,
            keep: Keep::all(),
        }
    }
}

/// Outcomes finished but not yet merged (a later index finished first), and
/// the merger they wait for.
struct Pending<'a> {
    merger: Merger<'a>,
    /// Index of the next outcome to merge.
    next: u64,
    /// Finished outcomes with index ≥ `next`, with their reducers' values
    /// (`None`: skipped, halted).
    waiting: std::collections::BTreeMap<u64, Option<(Outcome, Vec<Values>)>>,
}

impl Pending<'_> {
    /// Replication `i` is over: merges it and every waiting successor.
    fn finish(&mut self, i: u64, o: Option<(Outcome, Vec<Values>)>) {
        self.waiting.insert(i, o);
        while let Some(o) = self.waiting.remove(&self.next) {
            if let Some((o, values)) = o {
                self.merger.add_reduced(o, values);
            }
            self.next += 1;
        }
    }
}

/// [`run_all_guarded_with`] collecting what `opts` asks for.
pub fn run_all_opts(
    spec: &Scenario,
    xds: &Xds,
    limits: &Guard,
    progress: &(dyn Fn(f64) -> bool + Sync),
    opts: &RunOptions,
) -> Merged {
    let memory_bytes = limits.memory_bytes;
    let asked = spec.run.replications.max(1) as u64;
    let per_outcome = outcome_bytes(spec).max(1);
    let mut r = asked;
    while r > 1 && held(r, opts).saturating_mul(per_outcome) > memory_bytes / 2 {
        r -= 1;
    }
    let mut partial = Vec::new();
    if r < asked {
        partial.push(format!(
            "ran {r} of {asked} replications: each keeps {} of results until all are merged, and the memory budget is {} (--max-memory)",
            human_bytes(per_outcome),
            human_bytes(memory_bytes)
        ));
    }
    let guard = replication_guard_opts(spec, limits, r, opts);
    // Progress is per-mille per replication, summed; display only, never results.
    let done = AtomicU64::new(0);
    let halt = AtomicBool::new(false);
    let pending = std::sync::Mutex::new(Pending {
        merger: Merger::new(spec, opts.keep.clone()),
        next: 0,
        waiting: Default::default(),
    });
    let run_one = |i: u64| -> Option<Outcome> {
        if halt.load(Ordering::Relaxed) {
            return None;
        }
        let mut last = 0u64;
        let mut cb = |f: f64| {
            let now = (f * 1000.0) as u64;
            let add = now.saturating_sub(last);
            last = now;
            let total = done.fetch_add(add, Ordering::Relaxed) + add;
            if !progress(total as f64 / (1000 * r) as f64) {
                halt.store(true, Ordering::Relaxed);
            }
            !halt.load(Ordering::Relaxed)
        };
        let istio = opts.istio_metrics && i == 0;
        let o = replicate_guarded_opts(spec, xds, i, &guard, &mut cb, istio);
        let add = 1000u64.saturating_sub(last);
        let total = done.fetch_add(add, Ordering::Relaxed) + add;
        if !progress(total as f64 / (1000 * r) as f64) {
            halt.store(true, Ordering::Relaxed);
        }
        Some(o)
    };
    // Started in index order (FIFO), merged as soon as their predecessors are.
    rayon::scope_fifo(|s| {
        for i in 0..r {
            let (run_one, pending) = (&run_one, &pending);
            s.spawn_fifo(move |_| {
                // Reduced here, in parallel; merged in index order.
                let o = run_one(i).map(|o| {
                    let values = opts.keep.reduce(&o);
                    (o, values)
                });
                pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .finish(i, o);
            });
        }
    });
    let pending = pending.into_inner().unwrap_or_else(|e| e.into_inner());
    let ran = pending.merger.replications() as u64;
    if ran < r {
        partial.push(format!(
            "ran {ran} of {r} replications before the wall-clock limit (--max-wall)"
        ));
    }
    let mut m = pending.merger.finish();
    partial.append(&mut m.partial);
    m.partial = partial;
    m
}

/// Merges outcomes in index order (keeping them all in [`Merged::outcomes`]).
pub fn merge(spec: &Scenario, outcomes: Vec<Outcome>) -> Merged {
    merge_keeping(spec, outcomes, Keep::all())
}

/// Merges outcomes in index order, keeping what `keep` asks.
pub fn merge_keeping(
    spec: &Scenario,
    outcomes: impl IntoIterator<Item = Outcome>,
    keep: Keep,
) -> Merged {
    let mut m = Merger::new(spec, keep);
    for o in outcomes {
        m.add(o);
    }
    m.finish()
}

impl Stream {
    /// 95 % (or `level`) interval of the printed mean latency (over all
    /// requests) in seconds, centred on it: sectioning with the replication
    /// means as sections when R > 1, the batch means (20 batches) when R = 1
    /// (`metrics::stats::sectioning_ci`). Batches and replications hold
    /// different numbers of requests, so the mean of their means is not the
    /// printed mean; an interval around it need not contain the printed
    /// number (issue #13.4: `48.5 ±21.3` for [30.3, 72.9]).
    pub fn mean_ci(&self, level: f64) -> Option<(f64, f64)> {
        let overall = self.pooled.mean_secs()?;
        if self.replication_means.len() > 1 {
            crate::metrics::stats::sectioning_ci(overall, &self.replication_means, level)
        } else {
            crate::metrics::stats::sectioning_ci(overall, &self.pooled.batch_means(), level)
        }
    }
}
