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
        pool(tls).load_points(i)
    }

    /// Per-bin utilisation and queue of workload `i` with `workers` in total.
    pub fn workload_points(tls: &[&Timeline], i: usize, workers: u64) -> Vec<WorkloadPoint> {
        pool(tls).workload_points(i, workers)
    }

    /// Per-bin rates of load `i` of this timeline, the sum of `reps`
    /// replications' snapshots.
    fn load_points_of(&self, i: usize, reps: usize) -> Vec<LoadPoint> {
        let Some(snaps) = self.loads.get(i) else {
            return Vec::new();
        };
        let secs = self.bin_ns as f64 * 1e-9 * reps as f64;
        snaps
            .windows(2)
            .enumerate()
            .map(|(b, w)| {
                let (a, z) = (w[0], w[1]);
                let n = z.finished - a.finished;
                let f = z.failed - a.failed;
                let s = z.latency_sum_ns - a.latency_sum_ns;
                LoadPoint {
                    t: (b + 1) as f64 * self.bin_ns as f64 * 1e-9,
                    throughput_rps: (n - f) as f64 / secs,
                    failed_rps: f as f64 / secs,
                    mean_latency_ms: (n > 0).then(|| s as f64 / n as f64 / 1e6),
                }
            })
            .collect()
    }

    /// Per-bin utilisation and queue of workload `i` (the sum of `reps`
    /// replications' snapshots) with `workers` in total.
    fn workload_points_of(&self, i: usize, workers: u64, reps: usize) -> Vec<WorkloadPoint> {
        let Some(snaps) = self.workloads.get(i) else {
            return Vec::new();
        };
        let span = self.bin_ns as f64 * reps as f64;
        snaps
            .windows(2)
            .enumerate()
            .map(|(b, w)| {
                let busy = w[1].busy_ns - w[0].busy_ns;
                let q = w[1].queue_ns - w[0].queue_ns;
                WorkloadPoint {
                    t: (b + 1) as f64 * self.bin_ns as f64 * 1e-9,
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

fn pool(tls: &[&Timeline]) -> PooledTimeline {
    let mut p = PooledTimeline::default();
    for t in tls {
        p.add(t);
    }
    p
}

/// Timelines of several replications summed snapshot by snapshot (integer
/// adds), so the per-bin figures over all of them are those of
/// [`Timeline::load_points`] on the separate timelines, without keeping them.
#[derive(Clone, Debug, Default)]
pub struct PooledTimeline {
    pub sum: Timeline,
    pub replications: usize,
}

impl PooledTimeline {
    /// Adds one replication's timeline.
    pub fn add(&mut self, t: &Timeline) {
        if self.replications == 0 {
            self.sum = t.clone();
        } else {
            add_series(&mut self.sum.loads, &t.loads, |a, b| {
                a.finished += b.finished;
                a.failed += b.failed;
                a.latency_sum_ns += b.latency_sum_ns;
            });
            add_series(&mut self.sum.workloads, &t.workloads, |a, b| {
                a.busy_ns += b.busy_ns;
                a.queue_ns += b.queue_ns;
            });
        }
        self.replications += 1;
    }

    /// [`Timeline::load_points`] over the pooled replications.
    pub fn load_points(&self, i: usize) -> Vec<LoadPoint> {
        if self.replications == 0 {
            return Vec::new();
        }
        self.sum.load_points_of(i, self.replications)
    }

    /// [`Timeline::workload_points`] over the pooled replications.
    pub fn workload_points(&self, i: usize, workers: u64) -> Vec<WorkloadPoint> {
        if self.replications == 0 {
            return Vec::new();
        }
        self.sum.workload_points_of(i, workers, self.replications)
    }

    /// Heap bytes held (the summed snapshots).
    pub fn heap_bytes(&self) -> u64 {
        let l: usize = self
            .sum
            .loads
            .iter()
            .map(|v| v.capacity() * size_of::<LoadSnap>())
            .sum();
        let w: usize = self
            .sum
            .workloads
            .iter()
            .map(|v| v.capacity() * size_of::<WorkloadSnap>())
            .sum();
        (l + w) as u64
    }
}

fn add_series<T>(acc: &mut [Vec<T>], x: &[Vec<T>], add: impl Fn(&mut T, &T)) {
    for (a, b) in acc.iter_mut().zip(x) {
        for (p, q) in a.iter_mut().zip(b) {
            add(p, q);
        }
    }
}
