//! Per-batch latency quantiles of one replication, for `--percentile-ci`
//! on a single run (issue #13 item 4: percentiles get intervals too).
//!
//! Method: batch quantiles with sectioning (Law & Kelton, *Simulation
//! Modeling and Analysis*, §9.5.3's batch-means idea applied to quantiles,
//! as Alexopoulos et al.'s batch-quantile method; the centring on the
//! estimate from all the data is Asmussen & Glynn's sectioning,
//! `metrics::stats::sectioning_ci`). The measurement window is cut into the
//! same [`super::BATCHES`] equal slices of simulated time that the mean's
//! batch means use; each batch's `q` quantile is taken from a histogram of
//! that batch alone, and the interval is `overall ± t₁₉ · S/√n` around the
//! quantile of the whole run (the printed number), with `S` the batch
//! quantiles' spread around it. Why batches: one run's latencies are
//! strongly autocorrelated (a queue stays long for a while), so no i.i.d.
//! order-statistic interval is honest; quantiles of long consecutive
//! batches are close to independent. Why sectioning: a batch's sample
//! quantile is biased (low, for a tail quantile of a small batch), so the
//! mean of the batch quantiles is not the printed p99; deviations from the
//! overall quantile carry that bias into `S` (the interval widens rather
//! than missing its centre).
//!
//! Memory and cost: each batch's quantiles are read at its end from what
//! the recorder's histogram gained since the previous end (a copy of the
//! histogram then, whose pages are reused: about twice a recorder's
//! histogram, not one histogram per batch), plus the quantile values of each
//! batch. Recording a latency never looks at any of it, so runs without
//! `--percentile-ci` run exactly the same instructions per request.
//!
//! Which batch a latency falls in: the one in which its request finished
//! (the batch ends are the timeline samples at every twentieth of the
//! window, `world/outcome.rs`; the mean's batch means use the start time).
//! Every counted sample is in exactly one batch, so the batches' union is
//! the pooled histogram.
//!
//! Known weakness, and the rule: a batch quantile is noise when the batch
//! holds few samples beyond it. With fewer than [`TAIL_SAMPLES`]`/(1 − q)`
//! samples in any non-empty batch (p99: 1,000 per batch, so 20,000 in the
//! window) or fewer than [`MIN_BATCHES`] non-empty batches, the interval is
//! `null`, never a made-up width. Batches of a twentieth of the window can
//! still be short against the correlation time of a queue near saturation
//! (ρ → 1): the interval is then too narrow; more replications (whose
//! intervals need no batching) are the remedy.

use super::Hist;

/// Samples a batch needs beyond its quantile: ≥ `TAIL_SAMPLES / (1 − q)`
/// samples for a `q` batch quantile to be used.
pub const TAIL_SAMPLES: f64 = 10.0;
/// Non-empty batches needed for an interval.
pub const MIN_BATCHES: usize = 10;

/// The quantiles `qs` of each time batch of one recorder's latencies.
#[derive(Clone, Debug, Default)]
pub struct BatchQuantiles {
    qs: Vec<f64>,
    /// The recorder's histogram when the last batch ended, and its count.
    prev: Hist,
    prev_n: u64,
    /// Samples of each closed (non-empty) batch.
    samples: Vec<u64>,
    /// Per closed batch, its value (ns) at each of `qs`: `values[b * qs.len() + j]`.
    values: Vec<u64>,
}

impl BatchQuantiles {
    pub fn new(qs: &[f64]) -> Self {
        BatchQuantiles {
            qs: qs.to_vec(),
            ..Default::default()
        }
    }

    /// A batch ends; `hist` (`n` samples) is the recorder's histogram now.
    pub fn close(&mut self, hist: &Hist, n: u64) {
        let new = n - self.prev_n;
        if new == 0 {
            return;
        }
        for &q in &self.qs {
            self.values
                .push(hist.value_at_quantile_since(&self.prev, new, q));
        }
        self.samples.push(new);
        self.prev.copy_from(hist);
        self.prev_n = n;
    }

    /// The closed batches' `q` quantiles in ms, when `q` is one of the
    /// tracked quantiles and the rule of the module doc holds.
    pub fn sections_ms(&self, q: f64) -> Option<Vec<f64>> {
        let j = self.qs.iter().position(|&x| x == q)?;
        let need = TAIL_SAMPLES / (1.0 - q).max(f64::MIN_POSITIVE);
        if self.samples.len() < MIN_BATCHES || self.samples.iter().any(|&n| (n as f64) < need) {
            return None;
        }
        let k = self.qs.len();
        Some(
            (0..self.samples.len())
                .map(|b| self.values[b * k + j] as f64 / 1e6)
                .collect(),
        )
    }

    /// Closed batches (non-empty ones).
    pub fn batches(&self) -> usize {
        self.samples.len()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> u64 {
        self.prev.heap_bytes()
            + ((self.qs.capacity() + self.values.capacity() + self.samples.capacity()) * 8) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_what_the_histogram_gained() {
        let mut h = Hist::default();
        let mut b = BatchQuantiles::new(&[0.5, 0.99]);
        // 20 batches of 2,000 samples: 1..=2000 µs, shifted by 1 ms per batch.
        let mut n = 0;
        for batch in 0..20u64 {
            for i in 1..=2000u64 {
                h.record(i * 1000 + batch * 1_000_000);
                n += 1;
            }
            b.close(&h, n);
            b.close(&h, n); // nothing new: no batch
        }
        assert_eq!(b.batches(), 20);
        assert_eq!(b.samples.iter().sum::<u64>(), 40_000);
        let p50 = b.sections_ms(0.5).unwrap();
        // Batch k alone: its p50 is 1 ms + k ms (HdrHistogram's highest
        // equivalent of 1000 µs is 1000.4 µs).
        for (k, v) in p50.iter().enumerate() {
            let mut one = Hist::default();
            for i in 1..=2000u64 {
                one.record(i * 1000 + k as u64 * 1_000_000);
            }
            assert_eq!(*v, one.value_at_quantile(0.5) as f64 / 1e6, "batch {k}");
        }
        assert!((p50[0] - 1.0).abs() < 0.001, "{p50:?}");
        // p99 needs 1,000 samples per batch: 2,000 is enough.
        let p99 = b.sections_ms(0.99).unwrap();
        assert_eq!(p99.len(), 20);
        assert!((p99[19] - 20.98).abs() < 0.02, "{}", p99[19]);
        // Not a tracked quantile.
        assert_eq!(b.sections_ms(0.9), None);
        // p99.9 needs 10,000 per batch.
        let mut c = BatchQuantiles::new(&[0.999]);
        let mut h = Hist::default();
        for batch in 1..=20u64 {
            for i in 1..=2000u64 {
                h.record(i);
            }
            c.close(&h, batch * 2000);
        }
        assert_eq!(c.batches(), 20);
        assert_eq!(c.sections_ms(0.999), None);
    }
}
