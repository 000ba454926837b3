//! Replications in parallel, merged in index order.
//!
//! rayon maps replication indices to outcomes and `collect`s into a `Vec`
//! (an indexed collect keeps order whatever thread ran what), then everything is
//! merged sequentially in index order. Histogram and sum merges are exact integer
//! adds; the only float work (replication means) happens after the ordered
//! collect, so results are identical for any `RAYON_NUM_THREADS`.

use crate::istiod::Xds;
use crate::metrics::{Capacity, Recorder};
use crate::run::replicate_with;
use crate::scenario::Scenario;
use crate::world::{Outcome, Split};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Merged results of all replications.
#[derive(Clone, Debug)]
pub struct Merged {
    pub replications: u32,
    pub loads: Vec<Stream>,
    pub services: Vec<Stream>,
    pub workloads: Vec<Stream>,
    pub capacity: Vec<Capacity>,
    pub events: u64,
    /// Digest of the per-replication digests, in index order.
    pub digest: u64,
    pub window_secs: f64,
    /// Per-replication outcomes (kept for tests and per-replication reports).
    pub outcomes: Vec<Outcome>,
    /// Routing statistics pooled over replications (None without proxies).
    pub mesh: Option<MeshMerged>,
}

/// `routes`, `destinations` and route splits, pooled over replications.
#[derive(Clone, Debug)]
pub struct MeshMerged {
    pub routes: Vec<(String, Stream)>,
    pub destinations: Vec<(String, Stream)>,
    pub splits: Vec<Split>,
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
    let r = spec.run.replications.max(1) as u64;
    // Progress is per-mille per replication, summed; display only, never results.
    let done = AtomicU64::new(0);
    let outcomes: Vec<Outcome> = (0..r)
        .into_par_iter()
        .map(|i| {
            let mut last = 0u64;
            let mut cb = |f: f64| {
                let now = (f * 1000.0) as u64;
                let add = now.saturating_sub(last);
                last = now;
                let total = done.fetch_add(add, Ordering::Relaxed) + add;
                progress(total as f64 / (1000 * r) as f64);
            };
            let o = replicate_with(spec, xds, i, &mut cb);
            let add = 1000u64.saturating_sub(last);
            let total = done.fetch_add(add, Ordering::Relaxed) + add;
            progress(total as f64 / (1000 * r) as f64);
            o
        })
        .collect();
    merge(spec, outcomes)
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
        MeshMerged {
            routes: pool(&first.route_keys, &|o| o.mesh.as_ref().map(|m| &m.routes)),
            destinations: pool(&first.dest_keys, &|o| {
                o.mesh.as_ref().map(|m| &m.destinations)
            }),
            splits,
        }
    });
    let mut digest = 0u64;
    for o in &outcomes {
        digest = crate::engine::rng::mix64(digest ^ o.digest);
    }
    Merged {
        replications: outcomes.len() as u32,
        loads,
        services,
        workloads,
        capacity,
        events: outcomes.iter().map(|o| o.events).sum(),
        digest,
        window_secs: outcomes.first().map(|o| o.window.secs()).unwrap_or(0.0),
        outcomes,
        mesh,
    }
}

impl Stream {
    /// 95 % (or `level`) interval of the mean latency in seconds: t-based on
    /// replication means when R > 1, batch means (20 batches) when R = 1.
    pub fn mean_ci(&self, level: f64) -> Option<(f64, f64)> {
        if self.replication_means.len() > 1 {
            crate::metrics::stats::mean_ci(&self.replication_means, level)
        } else {
            crate::metrics::stats::mean_ci(&self.pooled.batch_means(), level)
        }
    }
}
