//! Replications in parallel, merged in index order.
//!
//! rayon maps replication indices to outcomes and `collect`s into a `Vec`
//! (an indexed collect keeps order whatever thread ran what), then everything is
//! merged sequentially in index order. Histogram and sum merges are exact integer
//! adds; the only float work (replication means) happens after the ordered
//! collect, so results are identical for any `RAYON_NUM_THREADS`.

use crate::istiod::Xds;
use crate::metrics::propagation::PropagationRecorder;
use crate::metrics::timeline::{BINS, LoadSnap, WorkloadSnap};
use crate::metrics::{Capacity, Recorder};
use crate::run::replicate_guarded_opts;
use crate::scenario::Scenario;
use crate::world::guard::human_bytes;
use crate::world::{Guard, Outcome, Split};
use rayon::prelude::*;
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
    /// Digest of the per-replication digests, in index order.
    pub digest: u64,
    pub window_secs: f64,
    /// Per-replication outcomes (kept for tests and per-replication reports).
    pub outcomes: Vec<Outcome>,
    /// Routing statistics pooled over replications (None without proxies).
    pub mesh: Option<MeshMerged>,
    /// Why this run is partial, in words (empty = complete): replications
    /// cut to fit the memory budget, or stopped early by the run-time guard.
    pub partial: Vec<String>,
    /// Failure propagation pooled over replications, in index order.
    pub propagation: PropagationRecorder,
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

/// Heap bytes one replication's [`Outcome`] keeps until all are merged: a
/// latency recorder per load, Service and Deployment (its histogram's counts,
/// read off a fresh recorder: 270,336 bytes at the initial bounds; staging is
/// freed by the final flush), the timeline and the per-pod counts. Checked
/// against real outcomes by `outcome_bytes_are_what_an_outcome_holds`; a
/// histogram grown by hour-long latencies holds more, which the run-time guard
/// does not see (the replication has finished by then).
pub fn outcome_bytes(spec: &Scenario) -> u64 {
    let recorders = (spec.loads.len() + spec.services.len() + spec.deployments.len()) as u64;
    let pods: u64 = spec.deployments.iter().map(|d| d.replicas as u64).sum();
    let timeline = ((BINS + 1)
        * (spec.loads.len() * std::mem::size_of::<LoadSnap>()
            + spec.deployments.len() * std::mem::size_of::<WorkloadSnap>()))
        as u64;
    recorders * Recorder::default().heap_bytes() + timeline + pods * 8
}

/// Heap bytes `o` holds (what [`outcome_bytes`] predicts), read off its parts.
/// Its failure-propagation record is counted here but not predicted: it
/// depends on how many distinct failure chains and windows the run produces.
pub fn retained_bytes(o: &Outcome) -> u64 {
    let recs: u64 = o
        .loads
        .iter()
        .chain(&o.services)
        .chain(&o.workloads)
        .map(|r| r.heap_bytes())
        .sum();
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
    let running = r.min(rayon::current_num_threads().max(1) as u64).max(1);
    Guard {
        memory_bytes: limits
            .memory_bytes
            .saturating_sub(r.saturating_mul(outcome_bytes(spec)))
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
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Istio's request metrics of replication 0 (`Outcome::istio`): the
    /// counters one real cluster would show (`report::openmetrics`).
    pub istio_metrics: bool,
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
    let r = asked.min((memory_bytes / 2 / per_outcome).max(1));
    let mut partial = Vec::new();
    if r < asked {
        partial.push(format!(
            "ran {r} of {asked} replications: each keeps {} of results until all are merged, and the memory budget is {} (--max-memory)",
            human_bytes(per_outcome),
            human_bytes(memory_bytes)
        ));
    }
    let guard = replication_guard(spec, limits, r);
    // Progress is per-mille per replication, summed; display only, never results.
    let done = AtomicU64::new(0);
    let halt = AtomicBool::new(false);
    let outcomes: Vec<Option<Outcome>> = (0..r)
        .into_par_iter()
        .map(|i| {
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
        })
        .collect();
    let ran = outcomes.iter().flatten().count() as u64;
    if ran < r {
        partial.push(format!(
            "ran {ran} of {r} replications before the wall-clock limit (--max-wall)"
        ));
    }
    let mut m = merge(spec, outcomes.into_iter().flatten().collect());
    partial.append(&mut m.partial);
    m.partial = partial;
    m
}

fn merge_streams(per_rep: Vec<(&Recorder, u64)>) -> Stream {
    let mut pooled = Recorder::default();
    let mut in_flight = 0;
    let mut means = Vec::new();
    for (rec, fl) in per_rep {
        pooled.merge(rec);
        in_flight += fl;
        if let Some(m) = rec.mean_secs() {
            means.push(m);
        }
    }
    Stream {
        pooled,
        in_flight,
        replication_means: means,
    }
}

/// Merges outcomes in index order.
pub fn merge(spec: &Scenario, outcomes: Vec<Outcome>) -> Merged {
    let n_l = spec.loads.len();
    let n_s = spec.services.len();
    let n_d = spec.deployments.len();
    let loads = (0..n_l)
        .map(|i| {
            merge_streams(
                outcomes
                    .iter()
                    .map(|o| (&o.loads[i], o.loads_in_flight[i]))
                    .collect(),
            )
        })
        .collect();
    let services = (0..n_s)
        .map(|i| {
            merge_streams(
                outcomes
                    .iter()
                    .map(|o| (&o.services[i], o.services_in_flight[i]))
                    .collect(),
            )
        })
        .collect();
    let workloads = (0..n_d)
        .map(|i| {
            merge_streams(
                outcomes
                    .iter()
                    .map(|o| (&o.workloads[i], o.workloads_in_flight[i]))
                    .collect(),
            )
        })
        .collect();
    let endpoints = (0..n_d)
        .map(|i| {
            let rules = outcomes
                .first()
                .map_or(0, |o| o.endpoints.get(i).map_or(0, Vec::len));
            (0..rules)
                .map(|k| {
                    merge_streams(
                        outcomes
                            .iter()
                            .map(|o| (&o.endpoints[i][k], o.endpoints_in_flight[i][k]))
                            .collect(),
                    )
                })
                .collect()
        })
        .collect();
    let queue_growth = (0..n_d)
        .map(|i| {
            outcomes
                .iter()
                .map(|o| (o.queue_start[i], o.queue_end[i]))
                .max_by_key(|(a, b)| b.saturating_sub(*a))
                .unwrap_or((0, 0))
        })
        .collect();
    let capacity = (0..n_d)
        .map(|i| {
            let mut c = Capacity::default();
            for o in &outcomes {
                c.merge(&o.capacity[i]);
            }
            c
        })
        .collect();
    let mesh = outcomes.first().and_then(|o| o.mesh.as_ref()).map(|first| {
        let pool = |keys: &[String], pick: &dyn Fn(&Outcome) -> Option<&Vec<Recorder>>| {
            keys.iter()
                .enumerate()
                .map(|(i, k)| {
                    let per: Vec<(&Recorder, u64)> = outcomes
                        .iter()
                        .filter_map(|o| pick(o).map(|v| (&v[i], 0)))
                        .collect();
                    (k.clone(), merge_streams(per))
                })
                .collect()
        };
        let mut splits = first.splits.clone();
        for s in &mut splits {
            s.requests = 0;
        }
        for o in &outcomes {
            if let Some(m) = &o.mesh {
                for (s, x) in splits.iter_mut().zip(&m.splits) {
                    s.requests += x.requests;
                }
            }
        }
        let meshes: Vec<&crate::world::MeshOutcome> =
            outcomes.iter().filter_map(|o| o.mesh.as_ref()).collect();
        let sum = |pick: &dyn Fn(&crate::world::MeshOutcome) -> &Vec<u64>| -> Vec<u64> {
            let mut v = vec![0; pick(first).len()];
            for m in &meshes {
                for (a, b) in v.iter_mut().zip(pick(m)) {
                    *a += b;
                }
            }
            v
        };
        let mut cluster_stats = vec![Default::default(); first.cluster_stats.len()];
        let mut outlier_stats =
            vec![crate::proxy::outlier::OutlierStats::default(); first.outlier_stats.len()];
        for m in &meshes {
            for (a, b) in cluster_stats.iter_mut().zip(&m.cluster_stats) {
                crate::proxy::breaker::ClusterStats::merge(a, b);
            }
            for (a, b) in outlier_stats.iter_mut().zip(&m.outlier_stats) {
                a.merge(b);
            }
        }
        MeshMerged {
            routes: pool(&first.route_keys, &|o| o.mesh.as_ref().map(|m| &m.routes)),
            destinations: pool(&first.dest_keys, &|o| {
                o.mesh.as_ref().map(|m| &m.destinations)
            }),
            splits,
            route_attempts: sum(&|m| &m.route_attempts),
            route_abandoned: sum(&|m| &m.route_abandoned),
            cluster_stats,
            outlier_stats,
        }
    });
    // Stopped replications, first three by index, then a count.
    let stopped: Vec<(usize, &crate::world::Stopped)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.stopped.as_ref().map(|s| (i, s)))
        .collect();
    let mut partial: Vec<String> = stopped
        .iter()
        .take(3)
        .map(|(i, s)| format!("replication {i} stopped early: {}", s.reason))
        .collect();
    if stopped.len() > 3 {
        partial.push(format!(
            "{} more replications stopped early",
            stopped.len() - 3
        ));
    }
    let propagation = PropagationRecorder::merge_all(outcomes.iter().map(|o| &o.propagation));
    let mut digest = 0u64;
    for o in &outcomes {
        digest = crate::engine::rng::mix64(digest ^ o.digest);
    }
    Merged {
        replications: outcomes.len() as u32,
        loads,
        services,
        workloads,
        endpoints,
        capacity,
        queue_growth,
        events: outcomes.iter().map(|o| o.events).sum(),
        digest,
        window_secs: outcomes.first().map(|o| o.window.secs()).unwrap_or(0.0),
        outcomes,
        mesh,
        partial,
        propagation,
    }
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
