//! Measurements of one replication and their exact merge.
//!
//! Latencies go into HdrHistograms (3 significant digits, nanoseconds) for
//! percentiles; the mean comes from exact integer sums, never from the histogram.
//! Each recorder also keeps per-batch sums over 20 equal slices of the
//! measurement window, for batch-means confidence intervals of a single run.

pub mod istio;
pub mod propagation;
pub mod stats;
pub mod timeline;
mod wire;

use crate::engine::SimTime;
use hdrhistogram::Histogram;

/// Number of time batches for batch-means intervals.
pub const BATCHES: usize = 20;

/// Initial bounds of every recorder's histogram: 1 ns … 1 h, 3 significant
/// digits. The histogram resizes itself (`auto`) when a longer latency
/// arrives, so percentiles of hour-long requests are not clamped; the slot
/// layout below does not depend on the upper bound, so staging is unchanged.
const HIST_LOW: u64 = 1;
const HIST_HIGH: u64 = 3_600_000_000_000;
const HIST_SIGFIG: u8 = 3;

/// The slot layout HdrHistogram derives from those bounds (`new_with_bounds`):
/// unit magnitude 0 (low = 1), 2 × 10³ → 2048 sub-buckets (magnitude 11), so a
/// value's bucket is how far its highest set bit lies above bit 10, and its
/// slot is `(bucket + 1) · 1024 + (value >> bucket) − 1024`. Checked against
/// the library in `staged_counts_equal_direct_recording`.
const SUB_BUCKET_MAG: u32 = 11;
const SUB_BUCKET_HALF: usize = 1 << (SUB_BUCKET_MAG - 1);

/// HdrHistogram's slot index of `v` (≥ 1) for the bounds above.
#[inline]
fn hdr_slot(v: u64) -> usize {
    let bucket = (64 - SUB_BUCKET_MAG) - (v | ((1 << SUB_BUCKET_MAG) - 1)).leading_zeros();
    ((bucket as usize + 1) * SUB_BUCKET_HALF) + (v >> bucket) as usize - SUB_BUCKET_HALF
}

/// The lowest value that falls into `slot` (inverse of [`hdr_slot`]).
fn hdr_slot_value(slot: usize) -> u64 {
    let bucket = (slot / SUB_BUCKET_HALF).saturating_sub(1);
    let sub = if slot < 2 * SUB_BUCKET_HALF {
        slot
    } else {
        slot % SUB_BUCKET_HALF + SUB_BUCKET_HALF
    };
    (sub as u64) << bucket
}

/// Latency and outcome counts of one request stream (a load, a Service, a workload).
///
/// `hist` is complete only after [`Recorder::flush`]; the `World` flushes at the
/// end of a replication and [`Recorder::merge`] flushes (and reads the other
/// side's staged counts), so every `Outcome` and merged stream is complete.
#[derive(Clone, Debug)]
pub struct Recorder {
    pub hist: Histogram<u64>,
    /// Counts recorded but not yet in `hist`, slot for slot in the histogram's
    /// own layout (empty until the first record). Why: `Histogram::record` is an
    /// out-of-line call of ~60 instructions and was the biggest single cost of
    /// the event loop (3 records per request); a slot computation and a `u16`
    /// increment here is ~10. `u16`: a quarter of the memory of `hist`'s `u64`
    /// counts (~66 KiB, of which a run touches a few 4 KiB buckets), because the
    /// loads of these counters were the loop's main cache-miss stalls; a slot
    /// that fills up spills into `hist` (once per 65 536 records of one slot).
    /// Moving them over adds the same counts to the same slots, so every
    /// statistic of `hist` (counts, min, max, quantiles, mean) is unchanged.
    staged: Vec<u16>,
    /// Whether `staged` holds any count.
    staged_any: bool,
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
    /// Latencies the histogram could not hold and recorded as its highest
    /// value (only if growing it failed; reports say so when non-zero).
    pub clamped: u64,
    /// (Envoy response flags, count), sorted; recorded only for requests a
    /// simulated proxy handled (empty without a mesh).
    pub flags: Vec<(crate::proxy::flags::ResponseFlags, u64)>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            hist: {
                let mut h = Histogram::new_with_bounds(HIST_LOW, HIST_HIGH, HIST_SIGFIG)
                    .expect("valid bounds");
                h.auto(true);
                h
            },
            staged: Vec::new(),
            staged_any: false,
            sum_ns: 0,
            count: 0,
            batch_sum_ns: [0; BATCHES],
            batch_count: [0; BATCHES],
            requests: 0,
            completed: 0,
            failed: 0,
            codes: Vec::new(),
            clamped: 0,
            flags: Vec::new(),
        }
    }
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
    /// A finished request that started (was issued or arrived) at `start`.
    #[inline(always)]
    pub fn record(&mut self, batch: usize, latency_ns: u64, status: u16) {
        let v = latency_ns.max(1);
        match self.staged.get_mut(hdr_slot(v)) {
            Some(c) if *c < u16::MAX => {
                *c += 1;
                self.staged_any = true;
            }
            _ => self.record_cold(v),
        }
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

    /// First record (allocates `staged`), a full slot (its counts plus this
    /// one go to `hist`) and values past the last slot (straight into `hist`,
    /// which grows to hold them).
    #[cold]
    #[inline(never)]
    fn record_cold(&mut self, v: u64) {
        if self.staged.is_empty() {
            self.staged = vec![0; self.hist.distinct_values()];
        }
        let slot = hdr_slot(v);
        match self.staged.get_mut(slot) {
            Some(c) if *c == u16::MAX => {
                self.clamped += record_n(&mut self.hist, hdr_slot_value(slot), u16::MAX as u64 + 1);
                *c = 0;
            }
            Some(c) => {
                *c += 1;
                self.staged_any = true;
            }
            None => self.clamped += record_n(&mut self.hist, v, 1),
        }
    }

    /// Moves the staged counts into `hist`.
    pub fn flush(&mut self) {
        if self.staged_any {
            self.clamped += add_staged(&mut self.hist, &self.staged);
            self.staged_any = false;
        }
        // Freed, not zeroed: a finished replication keeps only `hist` (a
        // replication's outcome is held until all are merged; see
        // `heap_bytes`). The next record allocates it again.
        self.staged = Vec::new();
    }

    /// Heap bytes this recorder holds: the histogram's `u64` counts, the
    /// staged `u16` counts (none after `flush`) and the status codes. Read off
    /// the data structures, not estimated: at the initial bounds (1 ns … 1 h,
    /// 3 digits) the histogram has 33,792 counts = 270,336 bytes, and a
    /// recorder in use adds 67,584 staged bytes until flushed (checked by
    /// `recorder_heap_bytes_are_the_histogram_and_staging`).
    pub fn heap_bytes(&self) -> u64 {
        (self.hist.distinct_values() * 8
            + self.staged.capacity() * 2
            + self.codes.capacity() * std::mem::size_of::<(u16, u64)>()) as u64
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
        self.flush();
        if self.hist.add(&o.hist).is_err() {
            // Growing failed: add slot by slot, clamping what does not fit.
            for v in o.hist.iter_recorded() {
                self.clamped += record_n(&mut self.hist, v.value_iterated_to(), v.count_at_value());
            }
        }
        self.clamped += o.clamped;
        if o.staged_any {
            self.clamped += add_staged(&mut self.hist, &o.staged);
        }
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

/// Adds staged slot counts to `hist` (recording each slot's lowest value).
/// Returns the count that had to be clamped.
fn add_staged(hist: &mut Histogram<u64>, staged: &[u16]) -> u64 {
    let mut clamped = 0;
    for (slot, &n) in staged.iter().enumerate() {
        if n > 0 {
            clamped += record_n(hist, hdr_slot_value(slot), n as u64);
        }
    }
    clamped
}

/// Records `n` × `v`, growing `hist`; if it cannot grow, clamps to its
/// highest value and returns `n` (the count clamped), else 0.
fn record_n(hist: &mut Histogram<u64>, v: u64, n: u64) -> u64 {
    match hist.record_n(v, n) {
        Ok(()) => 0,
        Err(_) => {
            hist.saturating_record_n(v, n);
            n
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
    use crate::engine::rng::{Purpose, RngFactory};
    use rand::Rng;

    fn direct() -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(HIST_LOW, HIST_HIGH, HIST_SIGFIG).unwrap();
        h.auto(true);
        h
    }

    #[test]
    fn recorder_heap_bytes_are_the_histogram_and_staging() {
        let mut r = Recorder::default();
        assert_eq!(r.heap_bytes(), 270_336);
        r.record(0, 1_000, 200);
        assert_eq!(r.heap_bytes(), 270_336 + 67_584 + 4 * 16);
        r.flush();
        assert_eq!(r.heap_bytes(), 270_336 + 4 * 16);
    }

    #[test]
    fn staged_counts_equal_direct_recording() {
        let mut rng = RngFactory::new(5, 0).of(Purpose::Behaviour, "hist");
        let mut rec = Recorder::default();
        let mut other = Recorder::default();
        let mut want = direct();
        let mut values: Vec<u64> = vec![0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096];
        values.extend([
            HIST_HIGH - 1,
            HIST_HIGH,
            HIST_HIGH + 1,
            u64::MAX / 3,
            u64::MAX,
        ]);
        for b in 0..64 {
            let p = 1u64 << b;
            values.extend([p - 1, p, p + 1]);
        }
        for _ in 0..200_000 {
            // Log-uniform over 1 ns … ~10 h, so every bucket gets values.
            let bits = rng.next_u32() % 46;
            values.push(rng.next_u64() >> (63 - bits));
        }
        for (i, &v) in values.iter().enumerate() {
            want.record(v.max(1)).unwrap();
            if i % 3 == 0 {
                other.record(0, v, 200);
            } else {
                rec.record(0, v, 200);
            }
        }
        // Unflushed on both sides: merge must see the staged counts of both.
        let mut merged = Recorder::default();
        merged.merge(&rec);
        merged.merge(&other);
        assert_eq!(merged.hist, want);
        assert_eq!(merged.hist.max(), want.max());
        assert_eq!(merged.hist.min(), want.min());
        assert_eq!(merged.hist.mean(), want.mean());
        assert_eq!(
            merged.hist.value_at_quantile(0.99),
            want.value_at_quantile(0.99)
        );
        assert_eq!(merged.clamped, 0);
        rec.flush();
        other.flush();
        rec.hist.add(&other.hist).unwrap();
        assert_eq!(rec.hist, want);
        for slot in 0..want.distinct_values() {
            assert_eq!(hdr_slot(hdr_slot_value(slot)), slot);
            let v = hdr_slot_value(slot);
            assert_eq!(want.lowest_equivalent(v), v, "slot {slot}");
        }
    }

    #[test]
    fn a_full_staged_slot_spills_into_the_histogram() {
        let mut rec = Recorder::default();
        rec.record(0, 5_000, 200);
        let slot = hdr_slot(5_000);
        rec.staged[slot] = u16::MAX - 1;
        rec.record(0, 5_000, 200); // reaches u16::MAX
        rec.record(0, 5_000, 200); // spills
        rec.flush();
        rec.record(0, 5_000, 200);
        rec.flush();
        assert_eq!(rec.hist.count_at(5_000), u16::MAX as u64 + 2);
        assert!(rec.staged.iter().all(|&c| c == 0));
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
            assert_eq!(r.clamped, 0);
        }
        assert!(a.hist.equivalent(a.hist.value_at_quantile(0.5), two_hours));
        assert!(m.hist.equivalent(m.hist.value_at_quantile(0.5), 1_000_000));
        // The longest latency a u64 clock can hold is held too.
        let mut r = Recorder::default();
        r.record(0, u64::MAX, 200);
        r.flush();
        assert_eq!(r.clamped, 0);
        assert!(r.hist.equivalent(r.hist.max(), u64::MAX));
    }
}
