//! `--baseline old/summary.json`: this run against a saved one, failing on a
//! regression beyond the runs' uncertainty.
//!
//! For every load of the baseline (end-to-end numbers, what users feel):
//! * **mean latency** regresses when `new − old` exceeds the half-width of
//!   the 95 % interval of the difference, √(h_old² + h_new²), from each
//!   summary's `mean_ci95` (independent runs: the variances add). An
//!   improvement never fails.
//! * **error rate** (failed ÷ finished) regresses when `new − old` exceeds
//!   1.96 · √(p_old(1−p_old)/n_old + p_new(1−p_new)/n_new), the normal
//!   two-proportion interval. It treats requests as independent, which
//!   failures in bursts are not, so it is quick to flag; state the gate as
//!   an explicit `error_rate` assertion where bursts are expected.
//! * **p99** is shown with its change but not gated: summary.json has no
//!   interval for percentiles yet.
//!
//! A load of the baseline missing from this run fails (a renamed load must
//! not silently drop out of the comparison). Same seed on both sides gives
//! common random numbers for entities that did not change, which makes real
//! differences easier to see; the intervals above do not assume it.

use super::eval::Verdict;
use serde_json::Value;

/// The baseline file is not a meshsim summary.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("not a meshsim summary.json (no `loads` section)")]
    NotASummary,
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

fn half_width(v: &Value) -> Option<f64> {
    let ci = v.get("latency_ms")?.get("mean_ci95")?;
    Some((ci.get(1)?.as_f64()? - ci.get(0)?.as_f64()?) / 2.0)
}

fn verdict(text: String, passed: bool, detail: String) -> Verdict {
    Verdict {
        text,
        source: "--baseline".into(),
        passed,
        point: None,
        interval: None,
        compared: None,
        detail,
    }
}

/// Checks that `text` is a summary a run can be compared with (before
/// simulating, so a wrong path costs nothing).
pub fn check(text: &str) -> Result<(), BaselineError> {
    let v: Value = serde_json::from_str(text)?;
    match v.get("loads") {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(BaselineError::NotASummary),
    }
}

/// Compares `new` against `old` (both summary.json texts).
pub fn compare(old: &str, new: &str) -> Result<Vec<Verdict>, BaselineError> {
    let old: Value = serde_json::from_str(old)?;
    let new: Value = serde_json::from_str(new)?;
    let (Some(ol), Some(nl)) = (
        old.get("loads").and_then(Value::as_object),
        new.get("loads").and_then(Value::as_object),
    ) else {
        return Err(BaselineError::NotASummary);
    };
    let mut out = Vec::new();
    for (name, o) in ol {
        let Some(n) = nl.get(name) else {
            out.push(verdict(
                format!("baseline: loads.{name}"),
                false,
                "in the baseline but not in this run".into(),
            ));
            continue;
        };
        // Mean latency.
        let text = format!("baseline: loads.{name}.latency_ms.mean");
        match (
            num(o, &["latency_ms", "mean"]),
            num(n, &["latency_ms", "mean"]),
        ) {
            (Some(a), Some(b)) => {
                let h = (half_width(o).unwrap_or(0.0).powi(2)
                    + half_width(n).unwrap_or(0.0).powi(2))
                .sqrt();
                let d = b - a;
                let passed = d <= h;
                out.push(verdict(
                    text,
                    passed,
                    format!(
                        "{a:.3} → {b:.3} ms ({}{:.3} ms, 95 % CI of the change ±{h:.3}){}",
                        if d >= 0.0 { "+" } else { "" },
                        d,
                        if passed { "" } else { ": a regression" }
                    ),
                ));
            }
            _ => out.push(verdict(
                text,
                true,
                "no latency samples on one side; not compared".into(),
            )),
        }
        // Error rate.
        let rate = |v: &Value| {
            let c = num(v, &["completed"])?;
            let f = num(v, &["failed"])?;
            (c + f > 0.0).then(|| (f / (c + f), c + f))
        };
        let text = format!("baseline: loads.{name}.error_rate");
        match (rate(o), rate(n)) {
            (Some((p0, n0)), Some((p1, n1))) => {
                let h = 1.96 * (p0 * (1.0 - p0) / n0 + p1 * (1.0 - p1) / n1).sqrt();
                let d = p1 - p0;
                let passed = d <= h;
                out.push(verdict(
                    text,
                    passed,
                    format!(
                        "{:.3} % → {:.3} % (±{:.3} points at 95 %){}",
                        p0 * 100.0,
                        p1 * 100.0,
                        h * 100.0,
                        if passed { "" } else { ": a regression" }
                    ),
                ));
            }
            _ => out.push(verdict(
                text,
                true,
                "no finished requests on one side".into(),
            )),
        }
        if let (Some(a), Some(b)) = (
            num(o, &["latency_ms", "p99"]),
            num(n, &["latency_ms", "p99"]),
        ) {
            out.push(verdict(
                format!("baseline: loads.{name}.latency_ms.p99"),
                true,
                format!("{a:.3} → {b:.3} ms (shown, not gated: no interval for percentiles)"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(mean: f64, ci: (f64, f64), completed: u64, failed: u64) -> String {
        format!(
            r#"{{"loads": {{"web": {{"completed": {completed}, "failed": {failed},
               "latency_ms": {{"mean": {mean}, "mean_ci95": [{}, {}], "p99": 90.0}}}}}}}}"#,
            ci.0, ci.1
        )
    }

    #[test]
    fn a_change_inside_the_noise_passes_and_one_beyond_it_fails() {
        let old = summary(50.0, (48.0, 52.0), 10_000, 10);
        // +2 ms with half-widths 2 and 2: √8 = 2.83 → within.
        let v = compare(&old, &summary(52.0, (50.0, 54.0), 10_000, 10)).unwrap();
        assert!(v.iter().all(|v| v.passed), "{v:?}");
        // +3 ms: beyond 2.83 → a regression.
        let v = compare(&old, &summary(53.0, (51.0, 55.0), 10_000, 10)).unwrap();
        assert!(!v[0].passed && v[0].detail.contains("+3.000 ms"), "{v:?}");
        // Faster by any amount passes.
        let v = compare(&old, &summary(10.0, (9.0, 11.0), 10_000, 10)).unwrap();
        assert!(v[0].passed);
        // Errors 0.1 % → 0.25 % of 10,000: 1.96·√(1.0e-7 + 2.5e-7) = 0.116
        // points < 0.15 → fails.
        let v = compare(&old, &summary(50.0, (48.0, 52.0), 10_000, 25)).unwrap();
        assert!(!v[1].passed, "{:?}", v[1]);
        // 0.1 % → 0.15 %: within.
        let v = compare(&old, &summary(50.0, (48.0, 52.0), 10_000, 15)).unwrap();
        assert!(v[1].passed, "{:?}", v[1]);
    }

    #[test]
    fn a_missing_load_fails_and_junk_is_refused() {
        let old = summary(50.0, (48.0, 52.0), 100, 0);
        let v = compare(&old, r#"{"loads": {}}"#).unwrap();
        assert_eq!(v.len(), 1);
        assert!(!v[0].passed);
        assert!(matches!(
            compare("{}", &old),
            Err(BaselineError::NotASummary)
        ));
        assert!(matches!(compare("nope", &old), Err(BaselineError::Json(_))));
    }
}
