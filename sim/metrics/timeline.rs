//! Fixed-bin timelines: how throughput, latency, utilisation and queue length
//! move over the run (a queue that builds shows as a ramp, not just a mean).
//!
//! Sampled by one `Sample` event per bin boundary that snapshots cumulative
//! counters, so the per-request hot path pays nothing for it.

/// Number of bins over the measurement window.
pub const BINS: usize = 100;

/// Cumulative counters of one load generator at a bin boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoadSnap {
    pub finished: u64,
    pub failed: u64,
    pub latency_sum_ns: u128,
}

/// Cumulative time integrals of one workload (all pods) at a bin boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkloadSnap {
    pub busy_ns: u128,
    pub queue_ns: u128,
}

/// Snapshots at `BINS + 1` boundaries (the first at the start of the window).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    pub bin_ns: u64,
    pub loads: Vec<Vec<LoadSnap>>,
    pub workloads: Vec<Vec<WorkloadSnap>>,
}

/// One bin of one series, as rates and averages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadPoint {
    /// Bin end, seconds since the start of the window.
    pub t: f64,
    pub throughput_rps: f64,
    pub failed_rps: f64,
    pub mean_latency_ms: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkloadPoint {
    pub t: f64,
    /// Busy workers / all workers of the workload.
    pub utilisation: f64,
    /// Time-average waiting requests over all pods.
    pub queue: f64,
}

impl Timeline {
    /// Per-bin rates of load `i`, summed over `tls` (replications) and averaged.
    pub fn load_points(tls: &[&Timeline], i: usize) -> Vec<LoadPoint> {
        let Some(first) = tls.first() else {
            return Vec::new();
        };
        let bins = first
            .loads
            .get(i)
            .map(|v| v.len().saturating_sub(1))
            .unwrap_or(0);
        let secs = first.bin_ns as f64 * 1e-9 * tls.len() as f64;
        (0..bins)
            .map(|b| {
                let (mut n, mut f, mut s) = (0u64, 0u64, 0u128);
                for tl in tls {
                    let (a, z) = (tl.loads[i][b], tl.loads[i][b + 1]);
                    n += z.finished - a.finished;
                    f += z.failed - a.failed;
                    s += z.latency_sum_ns - a.latency_sum_ns;
                }
                LoadPoint {
                    t: (b + 1) as f64 * first.bin_ns as f64 * 1e-9,
                    throughput_rps: (n - f) as f64 / secs,
                    failed_rps: f as f64 / secs,
                    mean_latency_ms: (n > 0).then(|| s as f64 / n as f64 / 1e6),
                }
            })
            .collect()
    }

    /// Per-bin utilisation and queue of workload `i` with `workers` in total.
    pub fn workload_points(tls: &[&Timeline], i: usize, workers: u64) -> Vec<WorkloadPoint> {
        let Some(first) = tls.first() else {
            return Vec::new();
        };
        let bins = first
            .workloads
            .get(i)
            .map(|v| v.len().saturating_sub(1))
            .unwrap_or(0);
        let span = first.bin_ns as f64 * tls.len() as f64;
        (0..bins)
            .map(|b| {
                let (mut busy, mut q) = (0u128, 0u128);
                for tl in tls {
                    let (a, z) = (tl.workloads[i][b], tl.workloads[i][b + 1]);
                    busy += z.busy_ns - a.busy_ns;
                    q += z.queue_ns - a.queue_ns;
                }
                WorkloadPoint {
                    t: (b + 1) as f64 * first.bin_ns as f64 * 1e-9,
                    utilisation: if workers == 0 {
                        0.0
                    } else {
                        busy as f64 / span / workers as f64
                    },
                    queue: q as f64 / span,
                }
            })
            .collect()
    }
}
