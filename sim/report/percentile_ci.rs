//! `--percentile-ci`: 95 % intervals for the latency percentiles of
//! summary.json (`latency_ms.p99_ci95: [lo, hi]` next to `p99`) and of the
//! terminal tables, because capacity is planned on p99 and a percentile
//! without its uncertainty invites reading noise as signal.
//!
//! The interval is for the printed number: the percentile of the histogram
//! pooled over all replications, and it always contains it. Its spread
//! comes from sections of the data, taken around the pooled value
//! (sectioning, `metrics::stats::sectioning_ci`; a lower bound below 0 is
//! raised to 0, so with a heavy tail it is asymmetric):
//! - with ≥ 2 replications, the same percentile of each replication alone
//!   (independent by construction);
//! - with one replication, the percentile of each of the run's 20 time
//!   batches after warm-up (batch quantiles, `metrics::batch_quantiles`,
//!   which says why and when it is `null`: a batch needs ≥ 10/(1 − q)
//!   samples, 1,000 per batch for p99), adjacent pairs averaged into 10
//!   sections ([`GROUP`]).
//!
//! How honest it is (M/M/4 at ρ = 0.9, exact Erlang-C p99, 200 seeds,
//! `percentile_ci_coverage_over_seeds`): with ~1 M requests in the run the
//! 95 % p99 interval covered the exact value in 94.5 % of runs (p50: 97 %);
//! with ~100 k requests only 81.5 % (p50: 98 %): batches of 1,400 s are short against that queue's
//! correlation time, so a short run of a heavily loaded queue gets too
//! narrow an interval. Replications (independent by construction) have no
//! such weakness: prefer `--replications` when the interval matters.
//!
//! Loads, Services and workloads get it; only when asked, so other
//! summaries keep their shape (the batch histograms are kept only then:
//! `Scenario::batch_quantiles`, which `--percentile-ci` sets).

use crate::batch::{Merged, Quantiles, Section, Values};
use crate::metrics::Recorder;
use crate::metrics::stats::sectioning_ci;
use crate::report::percentiles::Percentile;
use crate::scenario::Scenario;
use crate::world::Outcome;
use serde_json::{Value, json};

/// The interval (ms) of the `q` percentile of `pooled`, from the
/// replications' `per_rep` (those with a finished request), or from the
/// time batches of the one replication that has any.
pub fn interval(pooled: &Recorder, per_rep: &[&Recorder], q: f64) -> Option<(f64, f64)> {
    interval_at(pooled, per_rep, q, 0.95)
}

/// [`interval`] at confidence `level` (tests check a 99.9 % one).
pub fn interval_at(
    pooled: &Recorder,
    per_rep: &[&Recorder],
    q: f64,
    level: f64,
) -> Option<(f64, f64)> {
    interval_grouped(pooled, per_rep, q, level, GROUP)
}

/// Adjacent time batches averaged into one section for a single run (20
/// batches → 10 sections): the averages of neighbours carry the batches'
/// lag correlation into the spread (batch quantiles of a queue near
/// saturation are positively correlated, which makes 20 separate ones too
/// narrow). On M/M/4 at ρ = 0.9 over 200 seeds (tests/percentile_ci.rs),
/// p99 coverage with ~1 M requests per run: 20 sections 0.930, 10 sections
/// 0.945, 5 sections 0.935; with ~100 k: 0.725, 0.815, 0.900.
pub const GROUP: usize = 2;

/// [`interval_at`] with `group` adjacent batch quantiles averaged per
/// section (single runs only; the coverage test compares groupings).
pub fn interval_grouped(
    pooled: &Recorder,
    per_rep: &[&Recorder],
    q: f64,
    level: f64,
    group: usize,
) -> Option<(f64, f64)> {
    let ms: Values = per_rep
        .iter()
        .map(|r| (r.count > 0).then(|| r.hist.value_at_quantile(q) as f64 / 1e6))
        .collect();
    let one_run = per_rep.iter().find(|r| r.count > 0).copied();
    sections_ci(pooled, &ms, one_run, q, level, group)
}

/// [`interval`] from each replication's `q` percentile in ms (None: the
/// replication finished no request), as [`quantiles`] keeps them; a single
/// run's time batches are not among them, so it has none (sweeps use it).
pub fn interval_of(pooled: &Recorder, per_rep_ms: &[Option<f64>], q: f64) -> Option<(f64, f64)> {
    sections_ci(pooled, per_rep_ms, None, q, 0.95, GROUP)
}

/// The one rule behind every interval here: sections are the replications'
/// own percentiles, or — when only one replication has any — `one_run`'s
/// time batches, `group` adjacent ones averaged per section.
fn sections_ci(
    pooled: &Recorder,
    per_rep_ms: &[Option<f64>],
    one_run: Option<&Recorder>,
    q: f64,
    level: f64,
    group: usize,
) -> Option<(f64, f64)> {
    if pooled.count == 0 {
        return None;
    }
    let mut sections: Vec<f64> = per_rep_ms.iter().flatten().copied().collect();
    if sections.len() == 1 {
        // One run: its time batches are the sections.
        let batches = one_run?.batch_q.as_ref()?.sections_ms(q)?;
        sections = batches
            .chunks(group.max(1))
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect();
    }
    let ms = pooled.hist.value_at_quantile(q) as f64 / 1e6;
    // A latency is never negative: the bound at 0 only adds coverage.
    sectioning_ci(ms, &sections, level).map(|(lo, hi)| (lo.max(0.0), hi))
}

/// What [`annotate`] and [`table`] read of each replication: a run that
/// annotates registers `quantiles(…).reducer()` in its `batch::Keep`.
pub fn quantiles(spec: &Scenario, pct: &[Percentile]) -> Quantiles {
    Quantiles::new(spec, &pct.iter().map(|p| p.q).collect::<Vec<_>>())
}

fn r3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// Each stream's interval source: its pooled recorder, its per-replication
/// percentiles, and (a single replication) that replication's recorder,
/// whose time batches are then the sections.
struct Sources<'m> {
    m: &'m Merged,
    qs: Quantiles,
    values: std::borrow::Cow<'m, [Values]>,
}

impl<'m> Sources<'m> {
    fn new(spec: &Scenario, m: &'m Merged, pct: &[Percentile]) -> Self {
        let qs = quantiles(spec, pct);
        let values = m.per_replication(&qs.reducer());
        Sources { m, qs, values }
    }

    fn interval(
        &self,
        section: Section,
        i: usize,
        pooled: &Recorder,
        q: f64,
    ) -> Option<(f64, f64)> {
        let per_rep = self.qs.column(&self.values, section, i, q);
        // Replication 0's outcome is always kept (batch::Keep).
        let one_run = (self.m.replications == 1)
            .then(|| self.m.outcomes.first())
            .flatten()
            .map(|o| stream(o, section, i));
        sections_ci(pooled, &per_rep, one_run, q, 0.95, GROUP)
    }
}

fn stream(o: &Outcome, section: Section, i: usize) -> &Recorder {
    match section {
        Section::Loads => &o.loads[i],
        Section::Services => &o.services[i],
        Section::Workloads => &o.workloads[i],
    }
}

fn annotate_one(
    v: &mut Value,
    pooled: &Recorder,
    ci: &dyn Fn(f64) -> Option<(f64, f64)>,
    pct: &[Percentile],
) {
    let Some(Value::Object(lat)) = v.get_mut("latency_ms") else {
        return;
    };
    if pooled.count == 0 {
        return;
    }
    for p in pct {
        let ci = ci(p.q).map_or(Value::Null, |(lo, hi)| json!([r3(lo), r3(hi)]));
        lat.insert(format!("{}_ci95", p.key), ci);
    }
}

/// Adds `<key>_ci95` to every load's, Service's and workload's `latency_ms`
/// in `summary` (the value `report::summary::value_with` built).
pub fn annotate(spec: &Scenario, m: &Merged, pct: &[Percentile], summary: &mut Value) {
    let src = &Sources::new(spec, m, pct);
    let ci = |section, i, pooled| move |q| src.interval(section, i, pooled, q);
    for (i, (l, s)) in spec.loads.iter().zip(&m.loads).enumerate() {
        if let Some(v) = summary.get_mut("loads").and_then(|x| x.get_mut(&l.name)) {
            annotate_one(v, &s.pooled, &ci(Section::Loads, i, &s.pooled), pct);
        }
    }
    for (i, (sv, s)) in spec.services.iter().zip(&m.services).enumerate() {
        if let Some(v) = summary
            .get_mut("services")
            .and_then(|x| x.get_mut(&sv.name))
            .and_then(|x| x.get_mut(&sv.namespace))
        {
            annotate_one(v, &s.pooled, &ci(Section::Services, i, &s.pooled), pct);
        }
    }
    for (i, (d, s)) in spec.deployments.iter().zip(&m.workloads).enumerate() {
        if let Some(v) = summary
            .get_mut("workloads")
            .and_then(|x| x.get_mut(d.key()))
        {
            annotate_one(v, &s.pooled, &ci(Section::Workloads, i, &s.pooled), pct);
        }
    }
}
/// The terminal's percentile intervals (`--percentile-ci` only, i.e. when
/// `spec.batch_quantiles` is set; empty otherwise): one row per load,
/// Service and workload, `[lo, hi]` under each percentile column (`-`
/// where there is no interval); under `--top N` (`top` > 0) the N busiest
/// of each kind.
pub fn table(spec: &Scenario, m: &Merged, pct: &[Percentile], top: usize) -> String {
    use crate::report::round::sig3;
    use std::fmt::Write;
    if spec.batch_quantiles.is_empty() {
        return String::new();
    }
    let src = Sources::new(spec, m, pct);
    let how = if m.replications > 1 {
        format!("sections: the {} replications", m.replications)
    } else {
        "sections: the run's time batches".to_string()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nPercentile 95 % intervals (ms; [lo, hi] around the percentile printed above; {how})"
    );
    let cols: String = pct.iter().map(|p| format!(" {:>21}", p.label)).collect();
    let _ = writeln!(out, "  {:<28}{cols}", "name");
    let mut row = |name: &str, section: Section, i: usize, pooled: &Recorder| {
        if pooled.count == 0 {
            return;
        }
        let cells: String = pct
            .iter()
            .map(|p| {
                let c = src
                    .interval(section, i, pooled, p.q)
                    .map_or("-".to_string(), |(lo, hi)| {
                        format!("[{}, {}]", sig3(lo), sig3(hi))
                    });
                format!(" {c:>21}")
            })
            .collect();
        // A name longer than the column gets its own line.
        if name.chars().count() > 28 {
            let _ = writeln!(out, "  {name}\n  {:<28}{cells}", "");
        } else {
            let _ = writeln!(out, "  {name:<28}{cells}");
        }
    };
    // The `top` busiest of a kind (all when 0), in table order.
    let busiest = |streams: &[crate::batch::Stream]| -> Vec<bool> {
        let mut by: Vec<usize> = (0..streams.len()).collect();
        by.sort_by_key(|&i| std::cmp::Reverse(streams[i].pooled.requests));
        let mut keep = vec![top == 0; streams.len()];
        for &i in by.iter().take(top) {
            keep[i] = true;
        }
        keep
    };
    let keep = busiest(&m.loads);
    for (i, (l, s)) in spec.loads.iter().zip(&m.loads).enumerate() {
        if keep[i] {
            row(&format!("load {}", l.name), Section::Loads, i, &s.pooled);
        }
    }
    let keep = busiest(&m.services);
    for (i, (sv, s)) in spec.services.iter().zip(&m.services).enumerate() {
        if keep[i] {
            let name = format!("service {}", sv.key());
            row(&name, Section::Services, i, &s.pooled);
        }
    }
    let keep = busiest(&m.workloads);
    for (i, (d, s)) in spec.deployments.iter().zip(&m.workloads).enumerate() {
        if keep[i] {
            let name = format!("workload {}", d.key());
            row(&name, Section::Workloads, i, &s.pooled);
        }
    }
    out
}
