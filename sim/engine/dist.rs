//! Duration distributions: service and think times, network hop and handshake
//! latencies. Generic (no HTTP), hence in the kernel.
//!
//! Parameterised the way people measure services (a mean, a coefficient of
//! variation, a table of percentiles) rather than by textbook parameters, and
//! converted to integer nanoseconds exactly once per draw.

use crate::engine::SimDuration;
use crate::engine::rng::{SimRng, unit_f64};
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal};

/// A distribution of durations, validated (all parameters finite and positive).
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Constant(SimDuration),
    /// Exponential with this mean (seconds).
    Exponential {
        mean: f64,
    },
    /// Log-normal with this mean (seconds) and coefficient of variation.
    LogNormal {
        mean: f64,
        cv: f64,
    },
    /// Gamma with this mean (seconds) and shape k; integer k is Erlang-k.
    Gamma {
        mean: f64,
        shape: f64,
    },
    /// Piecewise-linear inverse CDF through (quantile, seconds) points, sorted by
    /// quantile, first at 0 and last at 1, non-decreasing in seconds.
    Empirical {
        points: Vec<(f64, f64)>,
    },
}

impl Dist {
    /// The exact mean in seconds.
    pub fn mean_secs(&self) -> f64 {
        match self {
            Dist::Constant(d) => d.as_secs_f64(),
            Dist::Exponential { mean }
            | Dist::LogNormal { mean, .. }
            | Dist::Gamma { mean, .. } => *mean,
            Dist::Empirical { points } => points
                .windows(2)
                .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
                .sum(),
        }
    }

    /// The same shape with every duration multiplied by `x` (> 0): a
    /// slower or faster version of a service.
    pub fn scaled(&self, x: f64) -> Dist {
        match self {
            Dist::Constant(d) => Dist::Constant(SimDuration::from_secs_f64(d.as_secs_f64() * x)),
            Dist::Exponential { mean } => Dist::Exponential { mean: mean * x },
            Dist::LogNormal { mean, cv } => Dist::LogNormal {
                mean: mean * x,
                cv: *cv,
            },
            Dist::Gamma { mean, shape } => Dist::Gamma {
                mean: mean * x,
                shape: *shape,
            },
            Dist::Empirical { points } => Dist::Empirical {
                points: points.iter().map(|&(q, s)| (q, s * x)).collect(),
            },
        }
    }

    /// Builds the sampler (precomputes whatever the draws need).
    pub fn sampler(&self) -> Sampler {
        match self {
            Dist::Constant(d) => Sampler::Constant(*d),
            Dist::Exponential { mean } => Sampler::Exponential(*mean),
            Dist::LogNormal { mean, cv } => {
                let s2 = (1.0 + cv * cv).ln();
                Sampler::LogNormal {
                    mu: mean.ln() - s2 / 2.0,
                    sigma: s2.sqrt(),
                }
            }
            Dist::Gamma { mean, shape } => match Gamma::new(*shape, mean / shape) {
                Ok(g) => Sampler::Gamma(g),
                // Unreachable for validated parameters; degrade to the mean.
                Err(_) => Sampler::Constant(SimDuration::from_secs_f64(*mean)),
            },
            Dist::Empirical { points } => Sampler::Empirical(points.clone()),
        }
    }
}

/// A ready-to-draw distribution.
#[derive(Clone, Debug)]
pub enum Sampler {
    Constant(SimDuration),
    Exponential(f64),
    LogNormal { mu: f64, sigma: f64 },
    Gamma(Gamma<f64>),
    Empirical(Vec<(f64, f64)>),
}

impl Sampler {
    /// One draw. A constant draws nothing from the generator.
    ///
    /// The constant case is inlined at every call site (hop latencies of a
    /// stated network are usually constants: three draws per request on an
    /// isotope mesh); the others stay one out-of-line call.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            Sampler::Constant(d) => *d,
            _ => self.draw(rng),
        }
    }

    #[inline(never)]
    fn draw(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            Sampler::Constant(d) => *d,
            Sampler::Exponential(mean) => {
                let x: f64 = Exp1.sample(rng);
                SimDuration::from_secs_f64(x * mean)
            }
            Sampler::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                SimDuration::from_secs_f64((mu + sigma * z).exp())
            }
            Sampler::Gamma(g) => SimDuration::from_secs_f64(g.sample(rng)),
            Sampler::Empirical(points) => {
                let u = unit_f64(rng);
                let i = points
                    .partition_point(|p| p.0 <= u)
                    .clamp(1, points.len() - 1);
                let (q0, x0) = points[i - 1];
                let (q1, x1) = points[i];
                let t = if q1 > q0 { (u - q0) / (q1 - q0) } else { 0.0 };
                SimDuration::from_secs_f64(x0 + t * (x1 - x0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};

    fn sample_mean(d: &Dist, n: usize) -> (f64, f64) {
        let s = d.sampler();
        let mut r = RngFactory::new(3, 0).of(Purpose::ServiceTime, "t");
        let xs: Vec<f64> = (0..n).map(|_| s.sample(&mut r).as_secs_f64()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn means_and_cvs_match_parameters() {
        // 200k draws: standard error of the mean is sd/447; 5 SE bounds below.
        let n = 200_000;
        let (m, sd) = sample_mean(&Dist::Exponential { mean: 2.0 }, n);
        assert!((m - 2.0).abs() < 5.0 * 2.0 / 447.0, "{m}");
        assert!((sd - 2.0).abs() < 0.05, "{sd}");
        let (m, sd) = sample_mean(&Dist::LogNormal { mean: 0.1, cv: 0.5 }, n);
        assert!((m - 0.1).abs() < 5.0 * 0.05 / 447.0, "{m}");
        assert!((sd / m - 0.5).abs() < 0.02, "{sd}");
        let (m, sd) = sample_mean(
            &Dist::Gamma {
                mean: 1.0,
                shape: 4.0,
            },
            n,
        );
        assert!((m - 1.0).abs() < 5.0 * 0.5 / 447.0, "{m}");
        assert!((sd - 0.5).abs() < 0.01, "{sd}");
        let e = Dist::Empirical {
            points: vec![(0.0, 0.0), (0.5, 1.0), (1.0, 3.0)],
        };
        assert!((e.mean_secs() - 1.25).abs() < 1e-12);
        let (m, _) = sample_mean(&e, n);
        assert!((m - 1.25).abs() < 0.01, "{m}");
        let s = Dist::Constant(SimDuration::from_millis(7)).sampler();
        let mut r = RngFactory::new(3, 0).of(Purpose::ServiceTime, "t");
        assert!((0..10).all(|_| s.sample(&mut r) == SimDuration::from_millis(7)));
    }
}
