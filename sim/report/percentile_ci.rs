//! `--percentile-ci`: 95 % intervals for the latency percentiles of
//! summary.json (`latency_ms.p99_ci95: [lo, hi]` next to `p99`), because
//! capacity is planned on p99 and a percentile without its uncertainty
//! invites reading noise as signal.
//!
//! The interval is for the printed number: the percentile of the histogram
//! pooled over all replications. Its spread comes from the same percentile
//! of each replication alone, taken around the pooled value (sectioning,
//! `metrics::stats::sectioning_ci`), so the interval always contains the
//! printed percentile (a lower bound below 0 is raised to 0, so with few
//! replications and a heavy tail it is asymmetric). Needs ≥ 2 replications (`null` otherwise: one run's
//! requests are too correlated for an i.i.d. order-statistic interval, and
//! per-batch histograms would cost 20 × the memory). Loads, Services and
//! workloads get it; only when asked, so other summaries keep their shape.

use crate::batch::{Merged, Quantiles, Section, Values};
use crate::metrics::Recorder;
use crate::metrics::stats::sectioning_ci;
use crate::report::percentiles::Percentile;
use crate::scenario::Scenario;
use serde_json::{Value, json};

/// The interval (ms) of the `q` percentile of `pooled`, from the
/// replications' `per_rep` (those with a finished request).
pub fn interval(pooled: &Recorder, per_rep: &[&Recorder], q: f64) -> Option<(f64, f64)> {
    let ms: Values = per_rep
        .iter()
        .map(|r| (r.count > 0).then(|| r.hist.value_at_quantile(q) as f64 / 1e6))
        .collect();
    interval_of(pooled, &ms, q)
}

/// [`interval`] from each replication's `q` percentile in ms (None: the
/// replication finished no request), as [`quantiles`] keeps them.
pub fn interval_of(pooled: &Recorder, per_rep_ms: &[Option<f64>], q: f64) -> Option<(f64, f64)> {
    if pooled.count == 0 {
        return None;
    }
    let sections: Vec<f64> = per_rep_ms.iter().flatten().copied().collect();
    let ms = pooled.hist.value_at_quantile(q) as f64 / 1e6;
    // A latency is never negative: the bound at 0 only adds coverage.
    sectioning_ci(ms, &sections, 0.95).map(|(lo, hi)| (lo.max(0.0), hi))
}

/// What [`annotate`] reads of each replication: a run that annotates
/// registers `quantiles(…).reducer()` in its `batch::Keep`.
pub fn quantiles(spec: &Scenario, pct: &[Percentile]) -> Quantiles {
    Quantiles::new(spec, &pct.iter().map(|p| p.q).collect::<Vec<_>>())
}

fn r3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn annotate_one(
    v: &mut Value,
    pooled: &Recorder,
    per_rep: &dyn Fn(f64) -> Values,
    pct: &[Percentile],
) {
    let Some(Value::Object(lat)) = v.get_mut("latency_ms") else {
        return;
    };
    if pooled.count == 0 {
        return;
    }
    for p in pct {
        let ci = interval_of(pooled, &per_rep(p.q), p.q)
            .map_or(Value::Null, |(lo, hi)| json!([r3(lo), r3(hi)]));
        lat.insert(format!("{}_ci95", p.key), ci);
    }
}

/// Adds `<key>_ci95` to every load's, Service's and workload's `latency_ms`
/// in `summary` (the value `report::summary::value_with` built).
pub fn annotate(spec: &Scenario, m: &Merged, pct: &[Percentile], summary: &mut Value) {
    let qs = quantiles(spec, pct);
    let values = m.per_replication(&qs.reducer());
    let (qs, values) = (&qs, &values[..]);
    let per = |section: Section, i: usize| move |q: f64| qs.column(values, section, i, q);
    for (i, (l, s)) in spec.loads.iter().zip(&m.loads).enumerate() {
        if let Some(v) = summary.get_mut("loads").and_then(|x| x.get_mut(&l.name)) {
            annotate_one(v, &s.pooled, &per(Section::Loads, i), pct);
        }
    }
    for (i, (sv, s)) in spec.services.iter().zip(&m.services).enumerate() {
        if let Some(v) = summary
            .get_mut("services")
            .and_then(|x| x.get_mut(&sv.name))
            .and_then(|x| x.get_mut(&sv.namespace))
        {
            annotate_one(v, &s.pooled, &per(Section::Services, i), pct);
        }
    }
    for (i, (d, s)) in spec.deployments.iter().zip(&m.workloads).enumerate() {
        if let Some(v) = summary
            .get_mut("workloads")
            .and_then(|x| x.get_mut(d.key()))
        {
            annotate_one(v, &s.pooled, &per(Section::Workloads, i), pct);
        }
    }
}
