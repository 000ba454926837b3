//! Confidence intervals: Student-t quantiles and the interval recipes.
//!
//! Why batch means: waiting times in a loaded queue are strongly autocorrelated,
//! so the naive i.i.d. standard error is far too small; the means of long
//! consecutive batches are close to independent (Law & Kelton ch. 9). With
//! several replications, replication means are independent by construction.
//!
//! Why sectioning: the printed estimate (the mean over all requests, a
//! percentile of the pooled histogram) is not the mean of the batch or
//! replication estimates, so an interval built around the latter need not
//! contain it. Sectioning (Asmussen & Glynn, *Stochastic Simulation*, §III.5a)
//! centres the interval on the overall estimate and takes its spread from the
//! sections' deviations from *that* estimate: every interval printed is for
//! the number printed next to it.
//!
//! Student-t quantiles come from `statrs` (a maintained crate), not a
//! hand-written incomplete beta.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The `p` quantile of Student's t with `df` degrees of freedom (p in (0, 1),
/// df > 0; NaN otherwise).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) if p > 0.0 && p < 1.0 => t.inverse_cdf(p),
        _ => f64::NAN,
    }
}

/// CDF of Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| d.cdf(t))
}

/// Two-sided `level` interval for the mean of `xs` treated as i.i.d. (batch or
/// replication means). `None` with fewer than two values.
pub fn mean_ci(xs: &[f64], level: f64) -> Option<(f64, f64)> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let m = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(0.5 + level / 2.0, (n - 1) as f64) * (var / n as f64).sqrt();
    Some((m - half, m + half))
}

/// Sectioning: the two-sided `level` interval for `overall` (the estimate
/// from all the data) whose spread comes from the section estimates
/// `sections` (per batch or per replication): `overall ± t · S/√n` with
/// `S² = Σ (θᵢ − overall)² / (n − 1)`. Contains `overall` by construction.
/// `None` with fewer than two sections.
pub fn sectioning_ci(overall: f64, sections: &[f64], level: f64) -> Option<(f64, f64)> {
    let n = sections.len();
    if n < 2 {
        return None;
    }
    let ss = sections
        .iter()
        .map(|x| (x - overall) * (x - overall))
        .sum::<f64>();
    let half =
        t_quantile(0.5 + level / 2.0, (n - 1) as f64) * (ss / (n - 1) as f64 / n as f64).sqrt();
    Some((overall - half, overall + half))
}

/// A paired comparison: replication `r` of the base against replication `r`
/// of the change (common random numbers), differences `dᵣ = cᵣ − bᵣ`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Mean of the base values.
    pub base: f64,
    /// Mean of the changed values.
    pub changed: f64,
    /// `changed − base`.
    pub delta: f64,
    /// Paired-t interval of `delta` (None with fewer than two pairs).
    pub delta_ci: Option<(f64, f64)>,
    /// `delta / base` (None when the base mean is 0).
    pub relative: Option<f64>,
    /// Interval of `relative` (delta method for a ratio of means, centred on
    /// `relative`; None with fewer than two pairs or a zero base).
    pub relative_ci: Option<(f64, f64)>,
}

impl Paired {
    /// The paired comparison of `base[r]` with `changed[r]` (equal lengths,
    /// at least one pair). Identical inputs give exactly zero everywhere.
    pub fn of(base: &[f64], changed: &[f64], level: f64) -> Paired {
        let n = base.len().min(changed.len());
        let nf = n as f64;
        let d: Vec<f64> = (0..n).map(|r| changed[r] - base[r]).collect();
        let b = base[..n].iter().sum::<f64>() / nf;
        let c = changed[..n].iter().sum::<f64>() / nf;
        let delta = d.iter().sum::<f64>() / nf;
        let t = (n >= 2).then(|| t_quantile(0.5 + level / 2.0, (n - 1) as f64));
        let delta_ci = t.map(|t| {
            let var = d.iter().map(|x| (x - delta) * (x - delta)).sum::<f64>() / (nf - 1.0);
            let half = t * (var / nf).sqrt();
            (delta - half, delta + half)
        });
        let relative = (b != 0.0).then(|| delta / b);
        // R̂ = d̄ / b̄; Var(R̂) ≈ Σ (dᵣ − R̂ bᵣ)² / ((n − 1) n b̄²).
        let relative_ci = match (t, relative) {
            (Some(t), Some(q)) => {
                let ss = (0..n)
                    .map(|r| {
                        let e = d[r] - q * base[r];
                        e * e
                    })
                    .sum::<f64>();
                let half = t * (ss / (nf - 1.0) / nf).sqrt() / b.abs();
                Some((q - half, q + half))
            }
            _ => None,
        };
        Paired {
            base: b,
            changed: c,
            delta,
            delta_ci,
            relative,
            relative_ci,
        }
    }

    /// The same figures for two *independent* samples (no pairing: different
    /// seeds): Welch's interval of `changed − base` (Welch–Satterthwaite
    /// degrees of freedom) and the delta-method interval of the ratio of
    /// independent means for `relative`. What one gets without common
    /// random numbers; `meshsim diff --independent` reports it.
    pub fn unpaired(base: &[f64], changed: &[f64], level: f64) -> Paired {
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let var = |x: &[f64], m: f64| {
            x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
        };
        let (nb, nc) = (base.len() as f64, changed.len() as f64);
        let (b, c) = (mean(base), mean(changed));
        let delta = c - b;
        let relative = (b != 0.0).then(|| delta / b);
        let (mut delta_ci, mut relative_ci) = (None, None);
        if base.len() >= 2 && changed.len() >= 2 {
            let (sb, sc) = (var(base, b) / nb, var(changed, c) / nc);
            let df = if sb + sc > 0.0 {
                (sb + sc) * (sb + sc) / (sb * sb / (nb - 1.0) + sc * sc / (nc - 1.0))
            } else {
                nb + nc - 2.0
            };
            let t = t_quantile(0.5 + level / 2.0, df);
            let half = t * (sb + sc).sqrt();
            delta_ci = Some((delta - half, delta + half));
            if let Some(q) = relative {
                // Var(c̄/b̄) ≈ (sc + (c̄/b̄)² sb) / b̄².
                let ratio = c / b;
                let h = t * (sc + ratio * ratio * sb).sqrt() / b.abs();
                relative_ci = Some((q - h, q + h));
            }
        }
        Paired {
            base: b,
            changed: c,
            delta,
            delta_ci,
            relative,
            relative_ci,
        }
    }

    /// Whether the interval of the difference excludes 0 (None: no interval).
    pub fn significant(&self) -> Option<bool> {
        self.delta_ci.map(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Standard table values (and R's qt to 1e-9 where given).
        assert!((t_quantile(0.975, 19.0) - 2.093_024_054).abs() < 1e-8);
        assert!((t_quantile(0.9995, 19.0) - 3.883_405_853).abs() < 1e-8);
        assert!((t_quantile(0.975, 1.0) - 12.706_204_736).abs() < 1e-8);
        assert!((t_quantile(0.975, 2.0) - 4.302_652_730).abs() < 1e-8);
        assert!((t_quantile(0.975, 4.0) - 2.776_445_105).abs() < 1e-8);
        assert!((t_quantile(0.975, 1000.0) - 1.962_339_081).abs() < 1e-8);
        assert!((t_quantile(0.025, 9.0) + 2.262_157_163).abs() < 1e-8);
        assert!((t_cdf(2.262_157_163, 9.0) - 0.975).abs() < 1e-9);
        assert!(t_quantile(1.0, 5.0).is_nan() && t_quantile(0.5, 0.0).is_nan());
    }

    #[test]
    fn ci_of_constant_is_a_point_and_needs_two_values() {
        assert_eq!(mean_ci(&[2.0, 2.0, 2.0], 0.95), Some((2.0, 2.0)));
        assert_eq!(mean_ci(&[1.0], 0.95), None);
        let (lo, hi) = mean_ci(&[1.0, 2.0, 3.0, 4.0], 0.95).unwrap();
        assert!(lo < 2.5 && hi > 2.5);
    }

    #[test]
    fn sectioning_centres_on_the_overall_estimate() {
        // Sections 1, 2, 3, 4 around an overall estimate of 3 (unequal
        // section sizes): S² = (4 + 1 + 0 + 1) / 3 = 2, half = t₃ · √(2/4).
        let (lo, hi) = sectioning_ci(3.0, &[1.0, 2.0, 3.0, 4.0], 0.95).unwrap();
        let half = 3.182_446_305 * 0.5f64.sqrt();
        assert!((lo - (3.0 - half)).abs() < 1e-8 && (hi - (3.0 + half)).abs() < 1e-8);
        assert_eq!(sectioning_ci(3.0, &[3.0], 0.95), None);
    }

    #[test]
    fn paired_differences() {
        // A no-op change: every figure exactly 0.
        let b = [10.0, 12.0, 11.0];
        let p = Paired::of(&b, &b, 0.95);
        assert_eq!(p.delta, 0.0);
        assert_eq!(p.delta_ci, Some((0.0, 0.0)));
        assert_eq!(p.relative, Some(0.0));
        assert_eq!(p.relative_ci, Some((0.0, 0.0)));
        assert_eq!(p.significant(), Some(false));
        // d = 1, 2, 3: mean 2, sd 1, half = t₂ · 1/√3 = 2.484.
        let c = [11.0, 14.0, 14.0];
        let p = Paired::of(&b, &c, 0.95);
        assert_eq!((p.base, p.changed, p.delta), (11.0, 13.0, 2.0));
        let (lo, hi) = p.delta_ci.unwrap();
        let half = 4.302_652_730 / 3f64.sqrt();
        assert!((lo - (2.0 - half)).abs() < 1e-8 && (hi - (2.0 + half)).abs() < 1e-8);
        // [−0.484, 4.484] covers 0: not significant with three pairs.
        assert_eq!(p.significant(), Some(false));
        let p4 = Paired::of(&[10.0, 12.0, 11.0, 10.0], &[12.0, 14.0, 14.0, 12.0], 0.95);
        assert_eq!(p4.significant(), Some(true), "{:?}", p4.delta_ci);
        // R̂ = 2/11; residuals d − R̂b = 1 − 20/11, 2 − 24/11, 3 − 22/11.
        let q = 2.0 / 11.0;
        let ss: f64 = [(1.0, 10.0), (2.0, 12.0), (3.0, 11.0)]
            .iter()
            .map(|(d, b)| (d - q * b) * (d - q * b))
            .sum();
        let rhalf = 4.302_652_730 * (ss / 2.0 / 3.0).sqrt() / 11.0;
        let (rlo, rhi) = p.relative_ci.unwrap();
        assert!((rlo - (q - rhalf)).abs() < 1e-8 && (rhi - (q + rhalf)).abs() < 1e-8);
        // Unpaired (Welch): b var 1, c var 3 (means 11, 13); se² = 1/3 + 1;
        // df = (4/3)² / ((1/9 + 1) / 2) = 3.2.
        let u = Paired::unpaired(&b, &c, 0.95);
        let (lo, hi) = u.delta_ci.unwrap();
        let half = t_quantile(0.975, 3.2) * (4.0f64 / 3.0).sqrt();
        assert!((lo - (2.0 - half)).abs() < 1e-9 && (hi - (2.0 + half)).abs() < 1e-9);
        // Fractional degrees of freedom fall between the whole ones.
        let t32 = t_quantile(0.975, 3.2);
        assert!(
            t_quantile(0.975, 4.0) < t32 && t32 < t_quantile(0.975, 3.0),
            "{t32}"
        );
        assert!(hi - lo > p.delta_ci.map(|(a, b)| b - a).unwrap());
        // One pair: a difference, no interval.
        let p = Paired::of(&[1.0], &[2.0], 0.95);
        assert_eq!((p.delta, p.delta_ci, p.significant()), (1.0, None, None));
    }
}
