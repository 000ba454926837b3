//! Assertions evaluated on a merged run.
//!
//! **What is compared.** By default the point estimate — the number printed
//! in `summary.json` (k6 compares its thresholds the same way). Why the
//! default: a gate on the point estimate answers "did this run meet the
//! SLO", and does not fail merely because a short run is uncertain.
//! `--assert-on ci` compares the pessimistic end of the 95 % interval
//! instead (the upper bound for `<`/`≤`, the lower for `>`/`≥`; `==`/`!=`
//! keep the point): a pass then says "met the SLO with 95 % confidence",
//! which is what capacity planning wants, at the price of failing when the
//! run is too short to tell.
//!
//! **The interval.** With R ≥ 2 replications: the quantity is computed on
//! each replication alone (its own summary), and the Student-t half-width of
//! those R values is put around the pooled point estimate (so the interval
//! always contains the printed number). With one replication only the mean
//! latency has one (batch means, `latency_ms.mean_ci95`'s half-width);
//! anything else compares its point estimate and says so.
//!
//! **Derived and absent values.** `error_rate` is failed ÷ (completed +
//! failed) when the summary has no such field; a `codes`, `flags` or `envoy`
//! counter absent from its map is 0 (summaries list only what happened). A
//! route or destination no traffic reached is absent, and an assertion on it
//! fails saying so. An SLO (`loads.web: latency ≤ 250ms for ≥ 99%`) is the
//! fraction of the stream's finished requests (completed and failed, as
//! Istio's `istio_request_duration_milliseconds` counts every response
//! code) whose latency is within the threshold, read off the merged
//! HdrHistogram (3 significant digits); pair it with an `error_rate`
//! assertion for failures.

use super::assert::{Assertion, FieldKind, Op, Path};
use super::check::{Named, close_matches};
use crate::batch::{Merged, Reducer};
use crate::metrics::Recorder;
use crate::scenario::Scenario;
use serde_json::Value;

/// Which number an assertion compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Basis {
    /// The point estimate (the number in summary.json).
    #[default]
    Point,
    /// The pessimistic end of its 95 % confidence interval.
    Ci,
}

/// The outcome of one assertion.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub text: String,
    pub source: String,
    pub passed: bool,
    /// The point estimate (None when it could not be computed).
    pub point: Option<f64>,
    /// 95 % interval around the point, when there is one.
    pub interval: Option<(f64, f64)>,
    /// What was compared with the limit.
    pub compared: Option<f64>,
    /// The verdict in words: values with units, or why there is no value.
    pub detail: String,
}

/// A run's summary and its merged streams.
pub struct Subject<'a> {
    spec: &'a Scenario,
    merged: &'a Merged,
    json: Value,
}

impl<'a> Subject<'a> {
    pub fn new(spec: &'a Scenario, merged: &'a Merged) -> Self {
        let json = serde_json::from_str(&crate::report::summary::render(spec, merged))
            .expect("summary.json parses");
        Subject { spec, merged, json }
    }
}

/// Each replication's own value of every assertion of `named` (None: it
/// cannot be evaluated on that replication): what their intervals and
/// each replication's own verdict are made of. A run that evaluates
/// `named` registers it in its `batch::Keep`.
pub fn reducer<'a>(spec: &'a Scenario, named: &'a [Named]) -> Reducer<'a> {
    let texts: Vec<&str> = named.iter().map(|n| n.text.as_str()).collect();
    Reducer::new(format!("assertions {texts:?}"), move |o| {
        let one = crate::batch::merge(spec, vec![o.clone()]);
        let json = serde_json::from_str(&crate::report::summary::render(spec, &one))
            .expect("summary.json parses");
        named
            .iter()
            .map(|n| measure(spec, &one, &json, &n.assertion).ok())
            .collect()
    })
}

/// Whether each replication alone passes every assertion of `named` (its
/// point estimates: one replication has no interval but the mean's).
pub fn replication_passes(spec: &Scenario, merged: &Merged, named: &[Named]) -> Vec<bool> {
    if named.is_empty() {
        return vec![true; merged.replications as usize];
    }
    merged
        .per_replication(&reducer(spec, named))
        .iter()
        .map(|vals| {
            named
                .iter()
                .zip(vals)
                .all(|(n, v)| v.is_some_and(|v| n.assertion.op().holds(v, n.assertion.limit())))
        })
        .collect()
}

/// The recorder behind a stream path (`loads.web`, `services.reviews.default`, …).
fn stream<'m>(spec: &Scenario, m: &'m Merged, p: &Path) -> Result<&'m Recorder, String> {
    let p0: Vec<&str> = p.0.iter().map(String::as_str).collect();
    let found = match p0.as_slice() {
        ["loads", name] => spec
            .loads
            .iter()
            .position(|l| l.name == *name)
            .map(|i| &m.loads[i].pooled),
        ["services", name, ns] => spec
            .services
            .iter()
            .position(|x| x.name == *name && x.namespace == *ns)
            .map(|i| &m.services[i].pooled),
        ["workloads", key] => spec
            .deployments
            .iter()
            .position(|d| d.key() == *key)
            .map(|i| &m.workloads[i].pooled),
        ["routes", key] => m.mesh.as_ref().and_then(|x| {
            x.routes
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, s)| &s.pooled)
        }),
        ["destinations", key] => m.mesh.as_ref().and_then(|x| {
            x.destinations
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, s)| &s.pooled)
        }),
        _ => None,
    };
    found.ok_or_else(|| format!("{p}: no such stream in this run"))
}

/// The number at `path` in a summary (with derived `error_rate` and absent
/// counters read as 0).
pub fn lookup(json: &Value, path: &Path) -> Result<f64, String> {
    let mut cur = json;
    for (i, seg) in path.0.iter().enumerate() {
        let here = Path(path.0[..i].to_vec());
        let Some(obj) = cur.as_object() else {
            return Err(format!("{here} is a number; nothing is below it"));
        };
        match obj.get(seg) {
            Some(v) => cur = v,
            None => {
                let last = i + 1 == path.0.len();
                if last && seg == "error_rate" {
                    let n = |k: &str| obj.get(k).and_then(Value::as_f64);
                    if let (Some(c), Some(f)) = (n("completed"), n("failed")) {
                        return if c + f > 0.0 {
                            Ok(f / (c + f))
                        } else {
                            Err(format!("{here}: no finished requests, so no error rate"))
                        };
                    }
                }
                let counter_map = |k: &str| matches!(k, "flags" | "codes" | "envoy");
                if last && i > 0 && counter_map(&path.0[i - 1]) {
                    return Ok(0.0);
                }
                if i + 2 == path.0.len() && counter_map(seg) && obj.contains_key("requests") {
                    return Ok(0.0);
                }
                let keys: Vec<String> = obj.keys().cloned().collect();
                let what = if i == 1 && matches!(path.0[0].as_str(), "routes" | "destinations") {
                    format!(
                        "no traffic reached {seg:?} (or it does not exist) in this run; {}",
                        close_matches(seg, &keys)
                    )
                } else {
                    format!("no {seg:?} in summary.json; {}", close_matches(seg, &keys))
                };
                let at = if here.0.is_empty() {
                    String::new()
                } else {
                    format!("{here}: ")
                };
                return Err(format!("{at}{what}"));
            }
        }
    }
    match cur {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{path}: not a number")),
        Value::Null => Err(format!("{path}: no value (no samples)")),
        _ => Err(format!("{path}: a section, not a number")),
    }
}

/// The fraction of `rec`'s finished requests with latency `op` `ms`.
fn fraction_within(rec: &Recorder, op: Op, ms: f64) -> Result<f64, String> {
    let n = rec.hist.len();
    if n == 0 {
        return Err("no finished requests".into());
    }
    let t = (ms * 1e6).round().max(0.0) as u64;
    let t = if op == Op::Lt { t.saturating_sub(1) } else { t };
    Ok(rec.hist.count_between(0, t) as f64 / n as f64)
}

/// The assertion's quantity on one (merged or single-replication) result.
fn measure(spec: &Scenario, m: &Merged, json: &Value, a: &Assertion) -> Result<f64, String> {
    match a {
        Assertion::Threshold { path, .. } => lookup(json, path),
        Assertion::Slo {
            stream: p,
            latency_op,
            threshold_ms,
            ..
        } => fraction_within(stream(spec, m, p)?, *latency_op, *threshold_ms),
    }
}

/// How a quantity of `a` reads: `83.0 ms`, `0.27 %`, `1,234`.
pub fn show(a: &Assertion, v: f64) -> String {
    let kind = match a {
        Assertion::Slo { .. } => FieldKind::Fraction,
        Assertion::Threshold { path, .. } => FieldKind::of(path),
    };
    match kind {
        FieldKind::Millis => format!("{} ms", sig(v)),
        FieldKind::Seconds => format!("{} s", sig(v)),
        FieldKind::Fraction => format!("{} %", sig(v * 100.0)),
        FieldKind::Plain => sig(v),
    }
}

/// Four significant digits, no exponent for everyday magnitudes.
fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Evaluates every assertion on `subject`.
pub fn evaluate(subject: &mut Subject, named: &[Named], basis: Basis) -> Vec<Verdict> {
    // Each replication's own values, for the intervals (R ≥ 2).
    let per_rep = (subject.merged.replications >= 2 && !named.is_empty()).then(|| {
        subject
            .merged
            .per_replication(&reducer(subject.spec, named))
    });
    named
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let values: Option<Vec<f64>> = per_rep
                .as_ref()
                .map(|p| p.iter().filter_map(|v| v[i]).collect());
            evaluate_one(subject, n, basis, values)
        })
        .collect()
}

/// `values`: the assertion's value on each replication (those that have
/// one), when there are ≥ 2 replications.
fn evaluate_one(subject: &Subject, n: &Named, basis: Basis, values: Option<Vec<f64>>) -> Verdict {
    let a = &n.assertion;
    let point = match measure(subject.spec, subject.merged, &subject.json, a) {
        Ok(v) => v,
        Err(e) => {
            return Verdict {
                text: n.text.clone(),
                source: n.source.clone(),
                passed: false,
                point: None,
                interval: None,
                compared: None,
                detail: format!("cannot evaluate: {e}"),
            };
        }
    };
    let interval = if let Some(values) = values {
        crate::metrics::stats::mean_ci(&values, 0.95).map(|(lo, hi)| {
            let half = (hi - lo) / 2.0;
            (point - half, point + half)
        })
    } else {
        match a {
            Assertion::Threshold { path, .. }
                if path.0.len() >= 2 && path.0[path.0.len() - 2..] == ["latency_ms", "mean"] =>
            {
                let mut ci = path.clone();
                *ci.0.last_mut().expect("non-empty") = "mean_ci95".into();
                let bound = |i: usize| {
                    let mut cur = &subject.json;
                    for s in &ci.0 {
                        cur = cur.get(s)?;
                    }
                    cur.get(i)?.as_f64()
                };
                bound(0)
                    .zip(bound(1))
                    .map(|(lo, hi)| (point - (hi - lo) / 2.0, point + (hi - lo) / 2.0))
            }
            _ => None,
        }
    };
    let op = a.op();
    let (compared, how) = match (basis, interval, op.bad_side()) {
        (Basis::Point, _, _) => (point, "point estimate".to_string()),
        (Basis::Ci, Some((_, hi)), 1) => (hi, format!("upper 95 % bound {}", show(a, hi))),
        (Basis::Ci, Some((lo, _)), -1) => (lo, format!("lower 95 % bound {}", show(a, lo))),
        (Basis::Ci, Some(_), _) => (point, "point estimate (== and != have no side)".into()),
        (Basis::Ci, None, _) => (
            point,
            "point estimate: no interval with one replication (use --replications ≥ 2)".into(),
        ),
    };
    let passed = op.holds(compared, a.limit());
    let ci = interval
        .map(|(lo, hi)| format!(", 95 % CI [{}, {}]", show(a, lo), show(a, hi)))
        .unwrap_or_default();
    Verdict {
        text: n.text.clone(),
        source: n.source.clone(),
        passed,
        point: Some(point),
        interval,
        compared: Some(compared),
        detail: format!(
            "{}{ci}; compared the {how} with {} {}",
            show(a, point),
            op,
            show(a, a.limit())
        ),
    }
}

/// The verdicts as terminal lines: `PASS text: detail`, failures first
/// marked, then a count.
pub fn render(verdicts: &[Verdict]) -> String {
    let mut s = String::new();
    for v in verdicts {
        s.push_str(&format!(
            "{} {} ({}): {}\n",
            if v.passed { "PASS" } else { "FAIL" },
            v.text,
            v.source,
            v.detail
        ));
    }
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    s.push_str(&format!(
        "assertions: {} passed, {failed} failed\n",
        verdicts.len() - failed
    ));
    s
}
