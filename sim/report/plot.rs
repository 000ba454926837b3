//! Pictures, for where a person would rather look than read: latency
//! distributions (percentile spectra on HdrHistogram's log `1/(1−p)` axis)
//! and timelines of throughput, latency, errors, utilisation and queue
//! length, with breaker and ejection windows shaded. Drawn by [`super::chart`]
//! from the same data the CSV carries, so the data (not the pixels) is what
//! tests pin. At most [`style::TOP`] series per panel, chosen by traffic;
//! the rest are folded into one "other" series.

use crate::batch::{Merged, Stream};
use crate::report::chart::axis::{Range, Scale};
use crate::report::chart::style::{self, OTHER, TOP};
use crate::report::chart::{self, Axis, Band, Figure, Panel, Series};
use crate::scenario::Scenario;
use std::fmt::Write;

/// A plotting failure. (The charts are drawn by meshsim itself and cannot
/// fail today; kept so callers need not change if a renderer can.)
#[derive(Debug, thiserror::Error)]
#[error("plot {what}: {message}")]
pub struct PlotError {
    pub what: &'static str,
    pub message: String,
}

/// Nines drawn at most: p99.999.
const MAX_NINES: f64 = 5.0;
/// Step of the percentile curves in nines (50 points per decade of 1/(1−p)).
const NINES_STEP: f64 = 0.02;

/// Seed, replications, duration and the scenario's hash: under every title,
/// so a picture pasted elsewhere still says what run it shows.
pub fn subtitle(spec: &Scenario, m: &Merged) -> String {
    format!(
        "meshsim {} · seed {} · {} replication{} × {} (warm-up {}) · scenario sha256 {}",
        env!("CARGO_PKG_VERSION"),
        spec.run.seed,
        m.replications,
        if m.replications == 1 { "" } else { "s" },
        spec.run.duration,
        spec.run.warmup,
        spec.sha256.get(..12).unwrap_or(&spec.sha256)
    )
}

/// The percentile label of `nines` (= log10 1/(1−p)): 0 → `0%`, 2 → `99%`.
fn nines_label(n: i32) -> String {
    match n {
        0 => "0%".into(),
        1 => "90%".into(),
        n => format!("99.{}%", "9".repeat((n - 2) as usize)).replace("99.%", "99%"),
    }
}

/// The percentile curve of `s`: x = log10 1/(1−p) up to the resolution its
/// sample count supports (and [`MAX_NINES`]), y = latency in ms.
fn spectrum(s: &Stream, hist: &crate::metrics::Hist) -> Vec<(f64, f64)> {
    let n = s.pooled.count.max(hist.len());
    let top = (n.max(1) as f64).log10().min(MAX_NINES);
    let steps = (top / NINES_STEP).floor() as usize;
    let mut pts: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let x = i as f64 * NINES_STEP;
            let q = 1.0 - 10f64.powf(-x);
            (x, hist.value_at_quantile(q) as f64 / 1e6)
        })
        .collect();
    if top > steps as f64 * NINES_STEP {
        pts.push((top, hist.max() as f64 / 1e6));
    }
    pts
}

/// A spectrum panel of `streams` (name, stream): the [`TOP`] busiest, the
/// rest pooled into "other" (their histograms added).
fn spectrum_panel(title: &str, kind: &str, streams: &[(String, &Stream)]) -> Panel {
    let live: Vec<&(String, &Stream)> =
        streams.iter().filter(|(_, s)| s.pooled.count > 0).collect();
    let weights: Vec<f64> = live.iter().map(|(_, s)| s.pooled.count as f64).collect();
    let (keep, rest) = style::top_n(&weights, TOP);
    let mut series: Vec<Series> = keep
        .iter()
        .enumerate()
        .map(|(i, &k)| Series {
            name: live[k].0.clone(),
            points: spectrum(live[k].1, &live[k].1.pooled.hist),
            style: style::style(i),
        })
        .collect();
    if let Some(&first) = rest.first() {
        let mut h = live[first].1.pooled.hist.clone();
        for &r in &rest[1..] {
            // Exact integer adds, slot by slot.
            h.add(&live[r].1.pooled.hist);
        }
        series.push(Series {
            name: format!("other ({} {kind}, pooled)", rest.len()),
            points: spectrum(live[first].1, &h),
            style: OTHER,
        });
    }
    let xmax = series
        .iter()
        .flat_map(|s| s.points.last().map(|p| p.0))
        .fold(2.0f64, f64::max)
        .ceil()
        .min(MAX_NINES);
    let ticks = (0..=xmax as i32)
        .map(|n| (n as f64, nines_label(n)))
        .collect();
    Panel {
        title: title.to_string(),
        x: Axis {
            label: "percentile (log scale of 1/(1−p), as HdrHistogram plots)".into(),
            scale: Scale::Linear,
            fixed: Some(Range::fixed(0.0, xmax, ticks)),
        },
        y: Axis::new("latency (ms)", Scale::Log),
        series,
        bands: Vec::new(),
    }
}

/// Latency by percentile: end to end per load generator, and server side
/// per Service.
pub fn latency_svg(spec: &Scenario, m: &Merged) -> Result<String, PlotError> {
    let loads: Vec<(String, &Stream)> = spec
        .loads
        .iter()
        .map(|l| l.name.clone())
        .zip(&m.loads)
        .collect();
    let services: Vec<(String, &Stream)> = spec
        .services
        .iter()
        .map(|s| s.key())
        .zip(&m.services)
        .collect();
    let mut panels = vec![spectrum_panel(
        "end to end, per load generator",
        "loads",
        &loads,
    )];
    if !services.is_empty() {
        panels.push(spectrum_panel(
            "server side (arrival at pod → response), per Service",
            "services",
            &services,
        ));
    }
    Ok(chart::render(&Figure {
        title: format!("{} — latency by percentile", spec.name),
        subtitle: subtitle(spec, m),
        width: 960.0,
        plot_h: 260.0,
        panels,
    }))
}

/// Series of one panel from per-entity point lists, the [`TOP`] heaviest
/// drawn and the rest folded by `fold` (bin by bin, over their values).
fn folded(
    names: &[String],
    weights: &[f64],
    values: &[Vec<(f64, f64)>],
    fold: &dyn Fn(&[usize], usize) -> f64,
    kind: &str,
) -> Vec<Series> {
    let (keep, rest) = style::top_n(weights, TOP);
    let mut out: Vec<Series> = keep
        .iter()
        .enumerate()
        .map(|(i, &k)| Series {
            name: names[k].clone(),
            points: values[k].clone(),
            style: style::style(i),
        })
        .collect();
    if let Some(&first) = rest.first() {
        let points = (0..values[first].len())
            .map(|b| (values[first][b].0, fold(&rest, b)))
            .collect();
        out.push(Series {
            name: format!("other ({} {kind})", rest.len()),
            points,
            style: OTHER,
        });
    }
    out
}

/// Pod events of replication 0 (deaths, endpoints leaving and joining,
/// network delay starting) as instants on the timeline's axis, one band per
/// kind of event; none without Chaos Mesh experiments.
fn pod_bands(m: &Merged, warm: f64) -> Vec<Band> {
    let marks = crate::report::pods::marks(m);
    let kinds: [(&str, &str, &'static str); 5] = [
        (" scaled", "HPA changed replicas", "#1565c0"),
        (" died", "pod died", "#b71c1c"),
        (" out", "endpoint removed", "#ef6c00"),
        (" in", "endpoint added", "#2e7d32"),
        (" delay", "network delay starts", "#455a64"),
    ];
    kinds
        .iter()
        .filter_map(|(suffix, label, colour)| {
            let spans: Vec<(f64, f64)> = marks
                .iter()
                .filter(|(t, l)| l.ends_with(suffix) && *t >= warm)
                .map(|(t, _)| (t - warm, t - warm))
                .collect();
            (!spans.is_empty()).then(|| Band {
                label: format!("{label} (replication 0)"),
                colour,
                spans,
            })
        })
        .collect()
}

/// Breaker-rejection and ejection windows of replication 0, on the
/// timeline's axis (seconds since warm-up): the run's timed events.
fn event_bands(spec: &Scenario, m: &Merged) -> Vec<Band> {
    let warm = spec.run.warmup.as_secs_f64();
    let mut bands = pod_bands(m, warm);
    let Some(p) = crate::report::propagation::of_run(spec, m) else {
        return bands;
    };
    let end = p.end_s;
    let clip = |w: &crate::report::propagation::Span| -> Option<(f64, f64)> {
        let (a, z) = (w.from_s - warm, w.end(end) - warm);
        (w.replication == 0 && z >= 0.0).then_some((a.max(0.0), z))
    };
    let breakers: Vec<(f64, f64)> = p
        .breakers
        .iter()
        .flat_map(|b| b.windows.iter().filter_map(clip))
        .collect();
    if !breakers.is_empty() {
        bands.push(Band {
            label: "circuit breaker rejecting (replication 0)".into(),
            colour: "#c62828",
            spans: breakers,
        });
    }
    let ejections: Vec<(f64, f64)> = p
        .ejections
        .iter()
        .flat_map(|e| e.windows.iter().filter_map(clip))
        .collect();
    if !ejections.is_empty() {
        bands.push(Band {
            label: "host ejected by outlier detection (replication 0)".into(),
            colour: "#6a1b9a",
            spans: ejections,
        });
    }
    bands
}

/// Stacked panels over time: throughput, mean latency and errors (per load),
/// utilisation and queue length (per workload); timed events shaded.
pub fn timeline_svg(spec: &Scenario, m: &Merged) -> Result<String, PlotError> {
    let loads: Vec<_> = (0..spec.loads.len())
        .map(|i| m.timeline.load_points(i))
        .collect();
    let workers: Vec<f64> = spec
        .deployments
        .iter()
        .map(|d| d.replicas as f64 * d.behaviour.workers as f64)
        .collect();
    let deps: Vec<_> = (0..spec.deployments.len())
        .map(|i| m.timeline.workload_points(i, workers[i] as u64))
        .collect();
    let load_names: Vec<String> = spec.loads.iter().map(|l| l.name.clone()).collect();
    let dep_names: Vec<String> = spec.deployments.iter().map(|d| d.key()).collect();
    let load_w: Vec<f64> = m.loads.iter().map(|s| s.pooled.requests as f64).collect();
    let thr: Vec<Vec<(f64, f64)>> = loads
        .iter()
        .map(|ps| ps.iter().map(|p| (p.t, p.throughput_rps)).collect())
        .collect();
    let err: Vec<Vec<(f64, f64)>> = loads
        .iter()
        .map(|ps| ps.iter().map(|p| (p.t, p.failed_rps)).collect())
        .collect();
    let lat: Vec<Vec<(f64, f64)>> = loads
        .iter()
        .map(|ps| {
            ps.iter()
                .map(|p| (p.t, p.mean_latency_ms.unwrap_or(f64::NAN)))
                .collect()
        })
        .collect();
    let util: Vec<Vec<(f64, f64)>> = deps
        .iter()
        .map(|ps| ps.iter().map(|p| (p.t, p.utilisation * 100.0)).collect())
        .collect();
    let queue: Vec<Vec<(f64, f64)>> = deps
        .iter()
        .map(|ps| ps.iter().map(|p| (p.t, p.queue)).collect())
        .collect();
    let sum = |v: &Vec<Vec<(f64, f64)>>| {
        let v = v.clone();
        move |rest: &[usize], b: usize| rest.iter().map(|&i| v[i][b].1).sum::<f64>()
    };
    // "other" latency: the mean over all their finished requests in the bin.
    let lat_other = |rest: &[usize], b: usize| {
        let (mut n, mut s) = (0.0, 0.0);
        for &i in rest {
            let p = &loads[i][b];
            let k = p.throughput_rps + p.failed_rps;
            if let Some(l) = p.mean_latency_ms {
                n += k;
                s += k * l;
            }
        }
        if n > 0.0 { s / n } else { f64::NAN }
    };
    // "other" utilisation: busy workers over all their workers.
    let util_other = |rest: &[usize], b: usize| {
        let w: f64 = rest.iter().map(|&i| workers[i]).sum();
        let busy: f64 = rest.iter().map(|&i| util[i][b].1 * workers[i]).sum();
        if w > 0.0 { busy / w } else { 0.0 }
    };
    let bands = event_bands(spec, m);
    let tmax = thr
        .iter()
        .chain(&util)
        .flat_map(|ps| ps.last().map(|p| p.0))
        .fold(0.0, f64::max);
    let x = || Axis {
        label: "simulated time since warm-up (s)".into(),
        scale: Scale::Linear,
        fixed: Some(Range::tight(0.0, tmax)),
    };
    // Workloads ranked by the panel's own quantity: the busiest and the
    // longest queues are the ones a reader looks for.
    let mean_of = |v: &Vec<Vec<(f64, f64)>>| -> Vec<f64> {
        v.iter()
            .map(|ps| ps.iter().map(|p| p.1).sum::<f64>() / ps.len().max(1) as f64)
            .collect()
    };
    let panel = |title: &str, ylabel: &str, scale: Scale, series: Vec<Series>| Panel {
        title: title.to_string(),
        x: x(),
        y: Axis::new(ylabel, scale),
        series,
        bands: bands.clone(),
    };
    let mut panels = vec![
        panel(
            "completed requests/s (non-5xx), per load",
            "requests/s",
            Scale::Auto,
            folded(&load_names, &load_w, &thr, &sum(&thr), "loads"),
        ),
        panel(
            "mean latency, per load",
            "ms",
            Scale::Auto,
            folded(&load_names, &load_w, &lat, &lat_other, "loads"),
        ),
        panel(
            "failed requests/s (5xx or no response), per load",
            "requests/s",
            Scale::Auto,
            folded(&load_names, &load_w, &err, &sum(&err), "loads"),
        ),
    ];
    if !spec.deployments.is_empty() {
        panels.push(panel(
            "utilisation, per workload (the busiest)",
            "% of workers busy",
            Scale::Linear,
            folded(&dep_names, &mean_of(&util), &util, &util_other, "workloads"),
        ));
        panels.push(panel(
            "waiting requests (time average), per workload (the longest queues)",
            "requests queued",
            Scale::Auto,
            folded(
                &dep_names,
                &mean_of(&queue),
                &queue,
                &sum(&queue),
                "workloads",
            ),
        ));
    }
    if !spec.autoscalers.is_empty() {
        // Only with an HPA: what it asked for against what serves.
        let (end, warm) = (
            spec.run.duration.as_secs_f64(),
            spec.run.warmup.as_secs_f64(),
        );
        let mut series = Vec::new();
        for (i, (name, reps, ready)) in crate::report::autoscale::series(spec, m, end, warm)
            .into_iter()
            .enumerate()
        {
            series.push(Series {
                name: format!("{name}: replicas (HPA)"),
                points: reps,
                style: style::style(2 * i),
            });
            series.push(Series {
                name: format!("{name}: Ready pods"),
                points: ready,
                style: style::style(2 * i + 1),
            });
        }
        panels.push(panel(
            "replicas the HPA set, and Ready pods, per autoscaled workload",
            "pods",
            Scale::Linear,
            series,
        ));
    }
    Ok(chart::render(&Figure {
        title: format!("{} — over time", spec.name),
        subtitle: subtitle(spec, m),
        width: 960.0,
        plot_h: 170.0,
        panels,
    }))
}

/// The timeline as CSV (the data behind `timeline.svg`): one row per bin and series.
pub fn timeline_csv(spec: &Scenario, m: &Merged) -> String {
    let mut s =
        String::from("t_s,kind,name,throughput_rps,failed_rps,mean_latency_ms,utilisation,queue\n");
    for (i, l) in spec.loads.iter().enumerate() {
        for p in m.timeline.load_points(i) {
            let lat = p
                .mean_latency_ms
                .map(|x| format!("{x:.3}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "{:.3},load,{},{:.3},{:.3},{lat},,",
                p.t, l.name, p.throughput_rps, p.failed_rps
            );
        }
    }
    for (i, d) in spec.deployments.iter().enumerate() {
        let w = d.replicas as u64 * d.behaviour.workers as u64;
        for p in m.timeline.workload_points(i, w) {
            let _ = writeln!(
                s,
                "{:.3},workload,{},,,,{:.4},{:.3}",
                p.t,
                d.key(),
                p.utilisation,
                p.queue
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_are_labelled_as_percentiles() {
        let l: Vec<String> = (0..=5).map(nines_label).collect();
        assert_eq!(l, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    }
}
