//! `meshsim sweep`: one scenario run at every value of a field (addressed
//! like `--set`), the knee read off p99 and error rate against the value.
//!
//! Why the scenario is read once and patched per point: every point is the
//! same files plus one `--set`, validated as the file would be, so an
//! invalid value is a located error before anything is simulated. Why the
//! same seed at every point: meshsim's streams are keyed by (purpose,
//! entity) names, so the same seed gives common random numbers — the
//! arrivals and service draws of unchanged entities repeat, and the curve
//! moves with the value, not with noise.
//!
//! Points run in parallel on the rayon pool (each runs its replications in
//! parallel too, `batch.rs`) and are collected in grid order; results are
//! identical for any thread count. A point keeps of each replication only
//! what it reports ([`point_keep`]: the loads' p99s, the assertions'
//! values), not its outcome, so memory does not grow with points ×
//! replications.

use super::check::{AssertError, Named};
use super::eval::{Basis, Subject, Verdict, evaluate};
use crate::batch::{Keep, Merged, Quantiles, Section};
use crate::report::round::r3;
use crate::scenario::set::SetArg;
use crate::scenario::{LoadError, Overrides, Scenario, SourceFile};
use crate::world::Guard;
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::str::FromStr;

/// `--param PATH=10,20,40` or `PATH=10..100:10` (inclusive, step).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub target: String,
    /// As given to `--set` (integers stay integers).
    pub values: Vec<String>,
}

fn num_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// `A..B:STEP` (step default 1) → the values, or None if `s` is no range.
fn range(s: &str) -> Option<Result<Vec<f64>, String>> {
    let (a, rest) = s.split_once("..")?;
    let (b, step) = rest.split_once(':').unwrap_or((rest, "1"));
    let p = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{t:?} is not a number"))
    };
    Some((|| {
        let (a, b, step) = (p(a)?, p(b)?, p(step)?);
        if step <= 0.0 || b < a {
            return Err(format!("{s:?}: need LO ≤ HI and STEP > 0"));
        }
        let n = ((b - a) / step + 1e-9).floor() as usize + 1;
        if n > 10_000 {
            return Err(format!("{s:?}: {n} points; at most 10,000"));
        }
        Ok((0..n).map(|i| a + step * i as f64).collect())
    })())
}

impl FromStr for Param {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let set: SetArg = s.parse()?;
        let values: Vec<String> = match range(&set.value) {
            Some(r) => r?.into_iter().map(num_text).collect(),
            None => set
                .value
                .split(',')
                .map(|v| {
                    let v = v.trim();
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .map(|_| v.to_string())
                        .ok_or_else(|| format!("{v:?} is not a number (a sweep plots numbers)"))
                })
                .collect::<Result<_, _>>()?,
        };
        if values.is_empty() {
            return Err(format!("{s:?}: no values"));
        }
        Ok(Param {
            target: set.target,
            values,
        })
    }
}

/// `--find-min PATH=LO..HI`: an integer range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub target: String,
    pub lo: i64,
    pub hi: i64,
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let set: SetArg = s.parse()?;
        let bad = || format!("{:?}: expected LO..HI, whole numbers, LO < HI", set.value);
        let (a, b) = set.value.split_once("..").ok_or_else(bad)?;
        let (lo, hi) = (
            a.trim().parse::<i64>().map_err(|_| bad())?,
            b.trim().parse::<i64>().map_err(|_| bad())?,
        );
        if lo >= hi {
            return Err(bad());
        }
        Ok(Span {
            target: set.target,
            lo,
            hi,
        })
    }
}

/// Why a sweep cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("at {target}={value}:\n{error}")]
    Load {
        target: String,
        value: String,
        error: LoadError,
    },
    #[error("--assert {text:?}: {error}")]
    Assert { text: String, error: AssertError },
    #[error(
        "--find-min/--find-max need at least one assertion (--assert or Simulation.spec.assertions)"
    )]
    NoAssertions,
}

/// What every point shares: the files, overrides, assertions and limits.
pub struct Setup<'a> {
    pub name: String,
    pub sources: &'a [SourceFile],
    pub overrides: Overrides,
    pub asserts: Vec<String>,
    pub basis: Basis,
    /// Memory budget of the whole sweep (points share it).
    pub limits: Guard,
}

/// One load's numbers at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadPoint {
    pub name: String,
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
    pub error_rate: Option<f64>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// 95 % interval of the pooled p99 from replications (sectioning over
    /// the per-replication p99s, lower bound at least 0); None with one
    /// replication.
    pub p99_ci_ms: Option<(f64, f64)>,
}

/// One value of the swept field.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub value: String,
    pub x: f64,
    pub loads: Vec<LoadPoint>,
    pub verdicts: Vec<Verdict>,
    /// Whether each replication alone passes every assertion.
    pub replication_passes: Vec<bool>,
    pub partial: Vec<String>,
}

impl Point {
    /// Every assertion holds on the merged result (true without assertions).
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// The scenario at `target=value`, with its assertions checked.
pub fn load_point(
    setup: &Setup,
    target: &str,
    value: &str,
) -> Result<(Scenario, Vec<Named>), SweepError> {
    let mut ov = setup.overrides.clone();
    ov.sets.push(SetArg {
        target: target.to_string(),
        value: value.to_string(),
    });
    let err = |error| SweepError::Load {
        target: target.to_string(),
        value: value.to_string(),
        error,
    };
    let spec =
        crate::scenario::from_sources(setup.name.clone(), setup.sources, &ov).map_err(err)?;
    let named = super::check::of_scenario(&spec).map_err(|d| err(LoadError::Invalid(d)))?;
    let named = super::gate::with_cli(&spec, named, &setup.asserts)
        .map_err(|(text, error)| SweepError::Assert { text, error })?;
    Ok((spec, named))
}

/// What a point reports of each replication: its loads' p99 (the p99
/// interval) and, with assertions, their values (intervals, each
/// replication's own verdict). Registered in the point's `batch::Keep`.
fn p99s(spec: &Scenario) -> Quantiles {
    Quantiles::new(spec, &[0.99])
}

/// What a point's merge keeps: replication 0's outcome and the values
/// [`point_of`] reads of every replication ([`p99s`], the assertions').
pub fn point_keep<'a>(spec: &'a Scenario, named: &'a [Named]) -> Keep<'a> {
    let keep = Keep::first().with(p99s(spec).reducer());
    if named.is_empty() {
        keep
    } else {
        keep.with(super::eval::reducer(spec, named))
    }
}

fn load_points(spec: &Scenario, m: &Merged) -> Vec<LoadPoint> {
    let qs = p99s(spec);
    let p99_values = m.per_replication(&qs.reducer());
    spec.loads
        .iter()
        .zip(&m.loads)
        .enumerate()
        .map(|(i, (l, s))| {
            let r = &s.pooled;
            let q = |q: f64| (r.count > 0).then(|| r.hist.value_at_quantile(q) as f64 / 1e6);
            let p99 = q(0.99);
            // The interval of the printed (pooled) p99, as `run
            // --percentile-ci` gives it: sectioning around it over the
            // replications' own p99s, never below 0.
            let per_rep = qs.column(&p99_values, Section::Loads, i, 0.99);
            let p99_ci_ms = crate::report::percentile_ci::interval_of(r, &per_rep, 0.99);
            let finished = r.completed + r.failed;
            LoadPoint {
                name: l.name.clone(),
                requests: r.requests,
                completed: r.completed,
                failed: r.failed,
                error_rate: (finished > 0).then(|| r.failed as f64 / finished as f64),
                mean_ms: (r.count > 0).then(|| r.sum_ns as f64 / r.count as f64 / 1e6),
                p50_ms: q(0.5),
                p99_ms: p99,
                p99_ci_ms,
            }
        })
        .collect()
}

/// Runs one point: all replications (within `setup.limits`), pooled
/// verdicts, and each replication's own pass/fail (point estimates: one
/// replication has no interval but the mean's).
pub fn run_one(setup: &Setup, value: &str, spec: &Scenario, named: &[Named]) -> Point {
    run_point(setup, value, spec, named, &setup.limits)
}

fn run_point(
    setup: &Setup,
    value: &str,
    spec: &Scenario,
    named: &[Named],
    limits: &Guard,
) -> Point {
    // Only what the point reports is kept of each replication (not every
    // outcome: memory would grow with points × replications).
    let opts = crate::batch::RunOptions {
        istio_metrics: false,
        keep: point_keep(spec, named),
    };
    let xds = crate::run::compile(spec);
    let merged = crate::batch::run_all_opts(spec, &xds, limits, &|_| true, &opts);
    point_of(setup, value, spec, named, &merged)
}

/// A point's figures from its merged replications (run here, or merged from
/// the partials of a sharded sweep, `shard.rs`).
pub fn point_of(
    setup: &Setup,
    value: &str,
    spec: &Scenario,
    named: &[Named],
    merged: &Merged,
) -> Point {
    let mut subject = Subject::new(spec, merged);
    let verdicts = evaluate(&mut subject, named, setup.basis);
    let replication_passes = super::eval::replication_passes(spec, merged, named);
    Point {
        value: value.to_string(),
        x: value.parse().unwrap_or(f64::NAN),
        loads: load_points(spec, merged),
        verdicts,
        replication_passes,
        partial: merged.partial.clone(),
    }
}

/// Runs every value of `param`; `progress(done, total)` after each point.
pub fn sweep(
    setup: &Setup,
    param: &Param,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Point>, SweepError> {
    // Every point loads (and its assertions check) before any simulates.
    let loaded: Vec<(Scenario, Vec<Named>)> = param
        .values
        .iter()
        .map(|v| load_point(setup, &param.target, v))
        .collect::<Result<_, _>>()?;
    let total = loaded.len();
    let running = total.min(rayon::current_num_threads().max(1)) as u64;
    let limits = Guard {
        memory_bytes: setup.limits.memory_bytes / running.max(1),
        ..setup.limits
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    Ok(loaded
        .par_iter()
        .zip(param.values.par_iter())
        .map(|((spec, named), v)| {
            let p = run_point(setup, v, spec, named, &limits);
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            p
        })
        .collect())
}

/// The sweep as CSV: one row per point and load.
pub fn csv(target: &str, points: &[Point]) -> String {
    let mut s = format!(
        "# {target}\nvalue,load,requests,completed,failed,error_rate,mean_ms,p50_ms,p99_ms,p99_ci_lo_ms,p99_ci_hi_ms,passed,partial\n"
    );
    let f = |x: Option<f64>| x.map(|x| format!("{x:.3}")).unwrap_or_default();
    let f6 = |x: Option<f64>| x.map(|x| format!("{x:.6}")).unwrap_or_default();
    for p in points {
        for l in &p.loads {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                p.value,
                l.name,
                l.requests,
                l.completed,
                l.failed,
                f6(l.error_rate),
                f(l.mean_ms),
                f(l.p50_ms),
                f(l.p99_ms),
                f(l.p99_ci_ms.map(|c| c.0)),
                f(l.p99_ci_ms.map(|c| c.1)),
                if p.verdicts.is_empty() {
                    ""
                } else if p.passed() {
                    "true"
                } else {
                    "false"
                },
                !p.partial.is_empty()
            ));
        }
    }
    s
}

/// One point as JSON.
pub fn point_json(p: &Point) -> Value {
    let opt = |x: Option<f64>| x.map(r3).unwrap_or(Value::Null);
    let mut loads = Map::new();
    for l in &p.loads {
        loads.insert(
            l.name.clone(),
            json!({
                "requests": l.requests,
                "completed": l.completed,
                "failed": l.failed,
                "error_rate": l.error_rate.map(|e| json!((e * 1e6).round() / 1e6)).unwrap_or(Value::Null),
                "mean_ms": opt(l.mean_ms),
                "p50_ms": opt(l.p50_ms),
                "p99_ms": opt(l.p99_ms),
                "p99_ci95_ms": l.p99_ci_ms.map(|(a, b)| json!([r3(a), r3(b)])).unwrap_or(Value::Null),
            }),
        );
    }
    let mut o = Map::new();
    o.insert("value".into(), json!(p.value));
    o.insert("loads".into(), Value::Object(loads));
    if !p.verdicts.is_empty() {
        o.insert("passed".into(), json!(p.passed()));
        o.insert(
            "assertions".into(),
            Value::Array(
                p.verdicts
                    .iter()
                    .map(|v| json!({"assertion": v.text, "passed": v.passed, "detail": v.detail}))
                    .collect(),
            ),
        );
        o.insert("replication_passes".into(), json!(p.replication_passes));
    }
    if !p.partial.is_empty() {
        o.insert("partial".into(), json!(p.partial));
    }
    Value::Object(o)
}

/// sweep.json: the grid's points, and `find` when bisecting.
pub fn json(spec: &Scenario, target: &str, points: &[Point], find: Option<Value>) -> String {
    let mut top = Map::new();
    top.insert("meshsim_version".into(), json!(env!("CARGO_PKG_VERSION")));
    top.insert("scenario".into(), json!(spec.name));
    top.insert("seed".into(), json!(spec.run.seed));
    top.insert("replications".into(), json!(spec.run.replications));
    top.insert("param".into(), json!(target));
    top.insert(
        "points".into(),
        Value::Array(points.iter().map(point_json).collect()),
    );
    if let Some(f) = find {
        top.insert("find".into(), f);
    }
    let mut s = serde_json::to_string_pretty(&Value::Object(top)).expect("JSON values serialise");
    s.push('\n');
    s
}

/// The points as a terminal table.
pub fn table(target: &str, points: &[Point]) -> String {
    let mut s = format!(
        "{:>12}  {:<16} {:>9} {:>8} {:>10} {:>10} {:>24}  {}\n",
        target.rsplit('.').next().unwrap_or(target),
        "load",
        "requests",
        "errors",
        "mean ms",
        "p99 ms",
        "p99 95 % CI",
        "assertions"
    );
    for p in points {
        for l in &p.loads {
            let ci = l
                .p99_ci_ms
                .map(|(a, b)| format!("[{a:.2}, {b:.2}]"))
                .unwrap_or_else(|| "-".into());
            s.push_str(&format!(
                "{:>12}  {:<16} {:>9} {:>7.3}% {:>10} {:>10} {:>24}  {}\n",
                p.value,
                l.name,
                l.requests,
                l.error_rate.unwrap_or(0.0) * 100.0,
                l.mean_ms.map(|x| format!("{x:.2}")).unwrap_or("-".into()),
                l.p99_ms.map(|x| format!("{x:.2}")).unwrap_or("-".into()),
                ci,
                match (p.verdicts.is_empty(), p.passed(), p.partial.is_empty()) {
                    (_, _, false) => "partial",
                    (true, _, _) => "",
                    (false, true, _) => "pass",
                    (false, false, _) => "FAIL",
                }
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_lists_and_ranges() {
        let p: Param = "Load/web.spec.open.rate=10,20, 40".parse().unwrap();
        assert_eq!(p.target, "Load/web.spec.open.rate");
        assert_eq!(p.values, ["10", "20", "40"]);
        let p: Param = "Deployment/web.spec.replicas=10..100:10".parse().unwrap();
        assert_eq!(p.values.len(), 10);
        assert_eq!(p.values[9], "100");
        let p: Param = "Load/web.spec.open.rate=0.5..1.5:0.5".parse().unwrap();
        assert_eq!(p.values, ["0.5", "1", "1.5"]);
        assert!("Load/web.spec.open.rate=a,b".parse::<Param>().is_err());
        assert!("Load/web.spec.open.rate=5..1".parse::<Param>().is_err());
        let s: Span = "Workload/server.spec.workers=1..16".parse().unwrap();
        assert_eq!((s.lo, s.hi), (1, 16));
        assert!("Workload/server.spec.workers=3..3".parse::<Span>().is_err());
        assert!(
            "Workload/server.spec.workers=1.5..3"
                .parse::<Span>()
                .is_err()
        );
    }
}
