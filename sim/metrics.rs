//! Measurements of one replication and their exact merge.
//!
//! Latencies go into HdrHistograms (3 significant digits, nanoseconds) for
//! percentiles; the mean comes from exact integer sums, never from the histogram.
//! Each recorder also keeps per-batch sums over 20 equal slices of the
//! measurement window, for batch-means confidence intervals of a single run.

pub mod stats;
pub mod timeline;

use crate::engine::SimTime;
use hdrhistogram::Histogram;

/// Number of time batches for batch-means intervals.
pub const BATCHES: usize = 20;

/// Latency and outcome counts of one request stream (a load, a Service, a workload).
#[derive(Clone, Debug)]
pub struct Recorder {
    pub hist: Histogram<u64>,
    pub sum_ns: u128,
    pub count: u64,
    pub batch_sum_ns: [u128; BATCHES],
    pub batch_count: [u64; BATCHES],
    /// Requests counted (issued or received inside the measurement window).
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
    /// (status, count), sorted by status; 0 = no HTTP response (connection failure).
    pub codes: Vec<(u16, u64)>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            hist: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
            sum_ns: 0,
            count: 0,
            batch_sum_ns: [0; BATCHES],
            batch_count: [0; BATCHES],
            requests: 0,
            completed: 0,
            failed: 0,
            codes: Vec::new(),
        }
    }
}

/// Whether a status counts as failed: 5xx, or no response at all (0).
#[inline]
pub fn is_failure(status: u16) -> bool {
    status == 0 || status >= 500
}

/// Maps a start time to its batch of the window `[from, to)`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub from: SimTime,
    pub to: SimTime,
}

impl Window {
    #[inline]
    pub fn contains(&self, t: SimTime) -> bool {
        t >= self.from && t < self.to
    }
    #[inline]
    pub fn batch(&self, t: SimTime) -> usize {
        let span = (self.to.0 - self.from.0).max(1);
        let off = t.0.saturating_sub(self.from.0);
        // Same value as the u128 formula below; a 64-bit division whenever
        // `off * BATCHES` fits (offsets under 29 years), instead of `__udivti3`.
        let b = match off.checked_mul(BATCHES as u64) {
            Some(x) => x / span,
            None => (off as u128 * BATCHES as u128 / span as u128).min(BATCHES as u128) as u64,
        };
        (b as usize).min(BATCHES - 1)
    }
    pub fn secs(&self) -> f64 {
        (self.to.0 - self.from.0) as f64 * 1e-9
    }
}

impl Recorder {
    /// A finished request that started (was issued or arrived) at `start`.
    #[inline]
    pub fn record(&mut self, batch: usize, latency_ns: u64, status: u16) {
        self.hist.saturating_record(latency_ns.max(1));
        self.sum_ns += latency_ns as u128;
        self.count += 1;
        self.batch_sum_ns[batch] += latency_ns as u128;
        self.batch_count[batch] += 1;
        if is_failure(status) {
            self.failed += 1;
        } else {
            self.completed += 1;
        }
        match self.codes.iter_mut().find(|c| c.0 == status) {
            Some(c) => c.1 += 1,
            None => {
                self.codes.push((status, 1));
                self.codes.sort_unstable();
            }
        }
    }

    pub fn in_flight(&self) -> u64 {
        self.requests - self.completed - self.failed
    }

    pub fn mean_secs(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns as f64 / self.count as f64 * 1e-9)
    }

    /// Batch means in seconds (empty batches skipped).
    pub fn batch_means(&self) -> Vec<f64> {
        (0..BATCHES)
            .filter(|&b| self.batch_count[b] > 0)
            .map(|b| self.batch_sum_ns[b] as f64 / self.batch_count[b] as f64 * 1e-9)
            .collect()
    }

    /// Exact merge (integer adds), so the result is independent of merge order.
    pub fn merge(&mut self, o: &Recorder) {
        self.hist.add(&o.hist).expect("same bounds");
        self.sum_ns += o.sum_ns;
        self.count += o.count;
        for b in 0..BATCHES {
            self.batch_sum_ns[b] += o.batch_sum_ns[b];
            self.batch_count[b] += o.batch_count[b];
        }
        self.requests += o.requests;
        self.completed += o.completed;
        self.failed += o.failed;
        for &(s, n) in &o.codes {
            match self.codes.iter_mut().find(|c| c.0 == s) {
                Some(c) => c.1 += n,
                None => self.codes.push((s, n)),
            }
        }
        self.codes.sort_unstable();
    }
}

/// Capacity figures of one workload (all its pods) over the window.
#[derive(Clone, Debug, Default)]
pub struct Capacity {
    pub pods: u32,
    pub workers: u32,
    pub busy_ns: u128,
    pub queue_ns: u128,
    pub queue_max: u32,
    pub queue_full: u64,
    /// Call tries abandoned at their application timeout (caller side).
    pub call_timeouts: u64,
    pub window_ns: u128,
}

impl Capacity {
    pub fn utilisation(&self) -> f64 {
        let cap = self.workers as u128 * self.pods as u128 * self.window_ns;
        if cap == 0 {
            0.0
        } else {
            self.busy_ns as f64 / cap as f64
        }
    }
    /// Time-average number of waiting requests, summed over pods.
    pub fn queue_mean(&self) -> f64 {
        if self.window_ns == 0 {
            0.0
        } else {
            self.queue_ns as f64 / self.window_ns as f64
        }
    }
    pub fn merge(&mut self, o: &Capacity) {
        self.pods = o.pods;
        self.workers = o.workers;
        self.busy_ns += o.busy_ns;
        self.queue_ns += o.queue_ns;
        self.queue_max = self.queue_max.max(o.queue_max);
        self.queue_full += o.queue_full;
        self.call_timeouts += o.call_timeouts;
        self.window_ns += o.window_ns;
    }
}
