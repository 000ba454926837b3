//! `meshsim sweep --find-min/--find-max PATH=LO..HI`: the smallest (largest)
//! whole value of a field that still passes every assertion — "how many
//! replicas", "how much load".
//!
//! Bisection assumes the verdict is monotone in the value (more replicas
//! never fail what fewer passed). Every probe runs all replications with
//! the same seed (common random numbers: each replication sees the same
//! arrivals and draws at every value), so the answer moves with the value,
//! not with noise. The answer is bisected twice over: on the pooled result
//! (the answer printed) and on each replication alone, whose R answers give
//! a Student-t 95 % interval — how much the answer itself depends on the
//! random streams. Probes are cached, so the R + 1 bisections share runs.

use super::sweep::{Point, Setup, Span, SweepError, load_point};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Smallest or largest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Min,
    Max,
}

/// The bisection's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub direction: Direction,
    pub span: Span,
    /// On the pooled result; None if no value in the span passes.
    pub answer: Option<i64>,
    /// Each replication's own answer (None: none in the span passes).
    pub per_replication: Vec<Option<i64>>,
    /// Mean and 95 % t-interval of the per-replication answers that exist.
    pub mean: Option<f64>,
    pub interval: Option<(f64, f64)>,
    /// Every value probed, in increasing order.
    pub probes: Vec<(i64, Point)>,
}

/// Bisects a monotone predicate over `lo..=hi`.
pub fn bisect<E>(
    lo: i64,
    hi: i64,
    dir: Direction,
    mut pass: impl FnMut(i64) -> Result<bool, E>,
) -> Result<Option<i64>, E> {
    let (good_end, bad_end) = match dir {
        Direction::Min => (hi, lo),
        Direction::Max => (lo, hi),
    };
    if !pass(good_end)? {
        return Ok(None);
    }
    if pass(bad_end)? {
        return Ok(Some(bad_end));
    }
    // Invariant: `bad` fails, `good` passes.
    let (mut bad, mut good) = (bad_end, good_end);
    while (good - bad).abs() > 1 {
        let mid = bad + (good - bad) / 2;
        if pass(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(Some(good))
}

/// Runs the bisections; `progress(probes so far)` after each new probe.
pub fn find(
    setup: &Setup,
    span: &Span,
    direction: Direction,
    progress: &dyn Fn(usize),
) -> Result<Found, SweepError> {
    let mut cache: BTreeMap<i64, Point> = BTreeMap::new();
    let probe = |v: i64, cache: &mut BTreeMap<i64, Point>| -> Result<(), SweepError> {
        if cache.contains_key(&v) {
            return Ok(());
        }
        let value = v.to_string();
        let (spec, named) = load_point(setup, &span.target, &value)?;
        if named.is_empty() {
            return Err(SweepError::NoAssertions);
        }
        let p = super::sweep::run_one(setup, &value, &spec, &named);
        cache.insert(v, p);
        progress(cache.len());
        Ok(())
    };
    let answer = bisect(span.lo, span.hi, direction, |v| {
        probe(v, &mut cache)?;
        Ok::<_, SweepError>(cache[&v].passed() && cache[&v].partial.is_empty())
    })?;
    let reps = cache
        .values()
        .next()
        .map(|p| p.replication_passes.len())
        .unwrap_or(0);
    let mut per_replication = Vec::new();
    for r in 0..reps {
        per_replication.push(bisect(span.lo, span.hi, direction, |v| {
            probe(v, &mut cache)?;
            Ok::<_, SweepError>(cache[&v].replication_passes[r])
        })?);
    }
    let values: Vec<f64> = per_replication
        .iter()
        .flatten()
        .map(|&v| v as f64)
        .collect();
    let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
    let interval = crate::metrics::stats::mean_ci(&values, 0.95);
    Ok(Found {
        direction,
        span: span.clone(),
        answer,
        per_replication,
        mean,
        interval,
        probes: cache.into_iter().collect(),
    })
}

impl Found {
    /// The answer in words.
    pub fn render(&self) -> String {
        let what = match self.direction {
            Direction::Min => "smallest",
            Direction::Max => "largest",
        };
        let span = format!("{}..{}", self.span.lo, self.span.hi);
        let mut s = match self.answer {
            Some(a) => format!(
                "{what} {} in {span} that passes every assertion: {a}\n",
                self.span.target
            ),
            None => format!(
                "no value of {} in {span} passes every assertion\n",
                self.span.target
            ),
        };
        let each: Vec<String> = self
            .per_replication
            .iter()
            .map(|a| a.map_or("none".into(), |a| a.to_string()))
            .collect();
        s.push_str(&format!(
            "  per replication (same seeds at every value): {}",
            each.join(", ")
        ));
        match (self.mean, self.interval) {
            (Some(m), Some((lo, hi))) => s.push_str(&format!(
                "; mean {m:.2}, 95 % t-interval [{lo:.2}, {hi:.2}]\n"
            )),
            (Some(m), None) => s.push_str(&format!("; mean {m:.2} (no interval: one answer)\n")),
            _ => s.push('\n'),
        }
        s
    }

    /// The `find` section of sweep.json.
    pub fn json(&self) -> Value {
        json!({
            "direction": match self.direction { Direction::Min => "min", Direction::Max => "max" },
            "param": self.span.target,
            "range": [self.span.lo, self.span.hi],
            "answer": self.answer,
            "per_replication": self.per_replication,
            "mean": self.mean.map(crate::report::round::r3),
            "ci95": self.interval.map(|(a, b)| json!([crate::report::round::r3(a), crate::report::round::r3(b)])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_both_ends_and_counts_probes() {
        for k in 1..=16 {
            let mut probes = 0;
            let a = bisect(1, 16, Direction::Min, |v| {
                probes += 1;
                Ok::<_, ()>(v >= k)
            });
            assert_eq!(a, Ok(Some(k)));
            assert!(probes <= 6, "{k}: {probes}");
            let a = bisect(1, 16, Direction::Max, |v| Ok::<_, ()>(v <= k));
            assert_eq!(a, Ok(Some(k)));
        }
        assert_eq!(
            bisect(1, 16, Direction::Min, |_| Ok::<_, ()>(false)),
            Ok(None)
        );
        assert_eq!(
            bisect(1, 16, Direction::Max, |_| Ok::<_, ()>(false)),
            Ok(None)
        );
    }
}
