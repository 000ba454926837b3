//! Axes: a value range, where a value lands on it, and ticks a person can
//! read. Linear ranges start at zero for non-negative data and end on a
//! round number; log ranges run between powers of ten (chosen automatically
//! when the positive values span two decades or more — a queue of 95 next to
//! one of 20,000 — so the small series is not a flat line at the bottom).

/// How an axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
    /// Log when the positive values span ≥ [`LOG_SPAN`], else linear.
    Auto,
}

/// Ratio of the largest to the smallest positive value from which
/// [`Scale::Auto`] draws a log axis (two decades).
pub const LOG_SPAN: f64 = 100.0;

/// Decades a log axis spans at most (values below its floor sit on it).
pub const MAX_DECADES: i32 = 5;

/// A resolved axis: its range, scale and ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    /// Labelled ticks (value, text).
    pub ticks: Vec<(f64, String)>,
    /// Unlabelled grid lines (log axes: 2…9 × each power of ten).
    pub minor: Vec<f64>,
}

impl Range {
    /// The range of `values` (non-finite ones ignored) under `scale`.
    pub fn auto(values: &[f64], scale: Scale) -> Range {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let min_pos = finite
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let log = match scale {
            Scale::Linear => false,
            Scale::Log => min_pos.is_finite(),
            Scale::Auto => min_pos.is_finite() && max / min_pos >= LOG_SPAN,
        };
        if log {
            return Range::log(min_pos, max);
        }
        if !max.is_finite() {
            return Range::linear(0.0, 1.0);
        }
        let lo = if min >= 0.0 { 0.0 } else { min };
        Range::linear(lo, max)
    }

    /// Linear from `lo` to a round number at or above `hi`.
    pub fn linear(lo: f64, hi: f64) -> Range {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice_step((hi - lo) / 5.0);
        let lo = (lo / step).floor() * step;
        let hi = (hi / step - 1e-9).ceil() * step;
        let n = ((hi - lo) / step).round() as i64;
        let ticks = (0..=n)
            .map(|i| {
                let v = lo + i as f64 * step;
                (v, fmt_num(v, step))
            })
            .collect();
        Range {
            lo,
            hi,
            log: false,
            ticks,
            minor: Vec::new(),
        }
    }

    /// Log from the power of ten at or below `min_pos` to the one at or above `max`.
    pub fn log(min_pos: f64, max: f64) -> Range {
        let b = max.log10().ceil() as i32;
        // At most MAX_DECADES: a near-zero minimum (a 1 µs answer next to
        // 10 s ones) would squash everything else into the top.
        let a = (min_pos.log10().floor() as i32).max(b - MAX_DECADES);
        let b = b.max(a + 1);
        // At most ~8 labels: every k-th power beyond that.
        let every = ((b - a) as usize).div_ceil(8).max(1) as i32;
        let ticks = (a..=b)
            .filter(|e| (e - a) % every == 0)
            .map(|e| {
                let v = 10f64.powi(e);
                (v, fmt_num(v, v))
            })
            .collect();
        let minor = if every == 1 {
            (a..b)
                .flat_map(|e| (2..=9).map(move |k| k as f64 * 10f64.powi(e)))
                .collect()
        } else {
            Vec::new()
        };
        Range {
            lo: 10f64.powi(a),
            hi: 10f64.powi(b),
            log: true,
            ticks,
            minor,
        }
    }

    /// Linear from `lo` to exactly `hi` (a time axis ends where the data
    /// does), ticks at round numbers inside.
    pub fn tight(lo: f64, hi: f64) -> Range {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let mut r = Range::linear(lo, hi);
        r.hi = hi;
        r.ticks.retain(|t| t.0 <= hi + 1e-9);
        r
    }

    /// A fixed range with the caller's ticks (e.g. percentiles on a nines axis).
    pub fn fixed(lo: f64, hi: f64, ticks: Vec<(f64, String)>) -> Range {
        Range {
            lo,
            hi,
            log: false,
            ticks,
            minor: Vec::new(),
        }
    }

    /// Where `v` lands, 0 at `lo` and 1 at `hi`, clamped (a zero on a log
    /// axis sits on its floor).
    pub fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.lo);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        f.clamp(0.0, 1.0)
    }
}

/// 1, 2 or 5 × a power of ten, at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let k = if m <= 1.0 + 1e-9 {
        1.0
    } else if m <= 2.0 + 1e-9 {
        2.0
    } else if m <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// `v` as a tick label with the digits `step` needs: `0.001`, `2.5`, `40`,
/// `20k`, `1.5M` (k from 10,000 on).
pub fn fmt_num(v: f64, step: f64) -> String {
    let a = v.abs();
    let (d, suffix) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let s = (step.abs() / d).max(1e-12);
    let decimals = (0..=6)
        .find(|k| {
            let x = s * 10f64.powi(*k);
            (x - x.round()).abs() < 1e-6 * x.max(1.0)
        })
        .unwrap_or(6) as usize;
    let mut t = format!("{:.*}", decimals, v / d);
    if t == "-0" {
        t = "0".into();
    }
    t + suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round() {
        let r = Range::auto(&[0.0, 3.7, 97.0], Scale::Auto);
        assert!(!r.log);
        assert_eq!((r.lo, r.hi), (0.0, 100.0));
        let labels: Vec<&str> = r.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "20", "40", "60", "80", "100"]);
        let small = Range::auto(&[0.012, 0.034], Scale::Linear);
        assert_eq!(small.ticks[1].1, "0.01");
    }

    #[test]
    fn two_decades_make_a_log_axis() {
        let r = Range::auto(&[0.0, 95.0, 20_000.0], Scale::Auto);
        assert!(r.log);
        assert_eq!((r.lo, r.hi), (10.0, 100_000.0));
        let labels: Vec<&str> = r.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["10", "100", "1000", "10k", "100k"]);
        // Zero sits on the floor; 100 is a quarter of the way up.
        assert_eq!(r.frac(0.0), 0.0);
        assert!((r.frac(100.0) - 0.25).abs() < 1e-12);
        assert!(!Range::auto(&[20.0, 95.0], Scale::Auto).log);
        // At most five decades below the top.
        assert_eq!(Range::auto(&[1e-6, 9_000.0], Scale::Log).lo, 0.1);
        let t = Range::tight(0.0, 115.0);
        assert_eq!((t.hi, t.ticks.last().unwrap().1.as_str()), (115.0, "100"));
    }

    #[test]
    fn labels_carry_the_digits_the_step_needs() {
        assert_eq!(fmt_num(0.001, 0.001), "0.001");
        assert_eq!(fmt_num(2.5, 0.5), "2.5");
        assert_eq!(fmt_num(25_000.0, 5_000.0), "25k");
        assert_eq!(fmt_num(1_500_000.0, 500_000.0), "1.5M");
    }
}
