//! Measurements of one replication and their exact merge.
//!
//! Latencies go into histograms with HdrHistogram's slots (3 significant
//! digits, nanoseconds; [`hist`]) for percentiles; the mean comes from exact integer sums, never from the histogram.
//! Each recorder also keeps per-batch sums over 20 equal slices of the
//! measurement window, for batch-means confidence intervals of a single run.

pub mod batch_quantiles;
pub mod hist;
pub mod istio;
pub mod propagation;
pub mod stats;
pub mod timeline;
mod wire;

use crate::engine::SimTime;
pub use hist::Hist;

/// Number of time batches for batch-means intervals.
pub const BATCHES: usize = 20;

/// Latency and outcome counts of one request stream (a load, a Service, a workload).
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// Latencies in HdrHistogram's slots (3 significant digits, any u64 of
    /// nanoseconds), held in pages allocated on first use ([`Hist`]): an
    /// empty recorder holds no heap, one whose latencies lie within a factor
    /// of 1.19 holds 2 KiB. Its statistics are HdrHistogram's, bit for bit.
    pub hist: Hist,
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
    /// (Envoy response flags, count), sorted; recorded only for requests a
    /// simulated proxy handled (empty without a mesh).
    pub flags: Vec<(crate::proxy::flags::ResponseFlags, u64)>,
    /// Per-batch latency quantiles, only under `--percentile-ci`
    /// ([`batch_quantiles`]; None otherwise). Taken at batch ends from
    /// `hist`, so recording a latency never looks at it.
    /// Not merged (replications give their own intervals) and not in partials.
    pub batch_q: Option<Box<batch_quantiles::BatchQuantiles>>,
}

/// Whether a status counts as failed: 5xx, or no response at all (0).
#[inline]
pub fn is_failure(status: u16) -> bool {
    status == 0 || status >= 500
}

/// Maps a start time to its batch of the window `[from, to)`.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
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
    /// An empty recorder that also keeps the `qs` quantiles of each time
    /// batch when `qs` is non-empty (`Scenario::batch_quantiles`).
    pub fn with_batch_quantiles(qs: &[f64]) -> Recorder {
        Recorder {
            batch_q: (!qs.is_empty()).then(|| Box::new(batch_quantiles::BatchQuantiles::new(qs))),
            ..Recorder::default()
        }
    }

    /// A finished request that started (was issued or arrived) at `start`.
    #[inline(always)]
    pub fn record(&mut self, batch: usize, latency_ns: u64, status: u16) {
        self.hist.record(latency_ns.max(1));
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

    /// A time batch ends (`--percentile-ci` only): its quantiles are those
    /// of what the histogram gained since the last batch ended.
    pub fn close_batch(&mut self) {
        if let Some(q) = &mut self.batch_q {
            q.close(&self.hist, self.count);
        }
    }

    /// The replication is over: its last time batch ends, and the histogram
    /// gives back what growing left unused ([`Recorder::shrink_to_fit`]).
    pub fn finish(&mut self) {
        self.close_batch();
        self.shrink_to_fit();
    }

    /// Gives back what growing the histogram left unused (its counts are
    /// always complete: nothing is staged), as `Vec::shrink_to_fit` does.
    pub fn shrink_to_fit(&mut self) {
        self.hist.shrink();
    }

    /// Heap bytes this recorder holds: its histogram's pages
    /// ([`Hist::heap_bytes`]), the status codes and response flags. An empty
    /// recorder holds none; one sample costs one 2 KiB page (checked by
    /// `recorder_heap_bytes_are_what_it_holds`).
    pub fn heap_bytes(&self) -> u64 {
        self.hist.heap_bytes()
            + (self.codes.capacity() * std::mem::size_of::<(u16, u64)>()
                + self.flags.capacity()
                    * std::mem::size_of::<(crate::proxy::flags::ResponseFlags, u64)>())
                as u64
            + self.batch_q.as_ref().map_or(0, |q| q.heap_bytes())
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
        self.hist.add(&o.hist);
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
        for &(f, n) in &o.flags {
            self.count_flags_n(f, n);
        }
    }

    /// One more finished request with response flags `f` (`-` when empty).
    pub fn count_flags(&mut self, f: crate::proxy::flags::ResponseFlags) {
        self.count_flags_n(f, 1);
    }

    fn count_flags_n(&mut self, f: crate::proxy::flags::ResponseFlags, n: u64) {
        match self.flags.binary_search_by_key(&f, |e| e.0) {
            Ok(i) => self.flags[i].1 += n,
            Err(i) => self.flags.insert(i, (f, n)),
        }
    }
}

/// Capacity figures of one workload (all its pods) over the window.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #12 item 3: a recorder costs what it holds (it was 270,336
    /// bytes empty and 337,984 in use, for any latencies).
    #[test]
    fn recorder_heap_bytes_are_what_it_holds() {
        let mut r = Recorder::default();
        assert_eq!(r.heap_bytes(), 0);
        r.record(0, 1_000_000, 200);
        // One 2 KiB page (values ×1 … ×1.19 of 1 ms), one status code
        // (a `Vec`'s first allocation holds 4).
        assert_eq!(r.heap_bytes(), 2_048 + 4 * 16);
        for ns in 900_000..1_100_000 {
            r.record(0, ns, 200);
        }
        // 0.9 … 1.1 ms spans three pages (42, 43, 44), grown to room for 4
        // until the replication ends.
        assert_eq!(r.heap_bytes(), 4 * 2_048 + 4 * 16);
        r.shrink_to_fit();
        assert_eq!(r.heap_bytes(), 3 * 2_048 + 4 * 16);
    }

    #[test]
    fn merged_recorders_have_the_statistics_of_one() {
        let (mut a, mut b, mut all) = (
            Recorder::default(),
            Recorder::default(),
            Recorder::default(),
        );
        for i in 1..10_000u64 {
            let ns = i * i * 37 % 5_000_000_007;
            all.record((i % 20) as usize, ns, if i % 7 == 0 { 503 } else { 200 });
            if i % 2 == 0 {
                a.record((i % 20) as usize, ns, if i % 7 == 0 { 503 } else { 200 });
            } else {
                b.record((i % 20) as usize, ns, if i % 7 == 0 { 503 } else { 200 });
            }
        }
        let mut m = Recorder::default();
        m.merge(&a);
        m.merge(&b);
        assert_eq!(m.hist, all.hist);
        assert_eq!(
            m.hist.value_at_quantile(0.99),
            all.hist.value_at_quantile(0.99)
        );
        assert_eq!(
            (m.sum_ns, m.count, m.failed),
            (all.sum_ns, all.count, all.failed)
        );
        assert_eq!(m.codes, all.codes);
        assert_eq!(m.batch_sum_ns, all.batch_sum_ns);
    }

    /// Issue 9 item 6: a 2 h latency was clamped to the 1 h range (p50 = p99
    /// = max = 3,601,330 ms while the mean said 7,200,000 ms).
    #[test]
    fn hour_long_latencies_are_not_clamped() {
        let two_hours = 7_200_000_000_000u64;
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for _ in 0..10 {
            a.record(0, two_hours, 200);
            b.record(0, 1_000_000, 200);
        }
        let mut m = Recorder::default();
        m.merge(&b);
        m.merge(&a);
        for r in [&a, &m] {
            let h = &r.hist;
            let within = |v: u64| h.equivalent(v, two_hours);
            assert!(within(h.max()), "max {}", h.max());
            assert!(within(h.value_at_quantile(0.99)));
        }
        assert!(a.hist.equivalent(a.hist.value_at_quantile(0.5), two_hours));
        assert!(m.hist.equivalent(m.hist.value_at_quantile(0.5), 1_000_000));
        // The longest latency a u64 clock can hold is held too.
        let mut r = Recorder::default();
        r.record(0, u64::MAX, 200);
        assert!(r.hist.equivalent(r.hist.max(), u64::MAX));
        assert_eq!(r.hist.to_hdr().max(), r.hist.max());
    }
}
