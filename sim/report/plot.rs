//! Pictures, for where a person would rather look than read: latency
//! distributions (percentile curves on a log axis) and timelines of throughput,
//! latency, utilisation and queue length. SVG via plotters, drawn from the same
//! data the CSV carries, so the data (not the pixels) is what tests pin.

use crate::batch::Merged;
use crate::metrics::timeline::Timeline;
use crate::scenario::Scenario;
use plotters::prelude::*;
use std::fmt::Write;

/// A plotting failure (plotters' own error, rendered).
#[derive(Debug, thiserror::Error)]
#[error("plot {what}: {message}")]
pub struct PlotError {
    pub what: &'static str,
    pub message: String,
}

fn perr<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> PlotError {
    move |e| PlotError {
        what,
        message: e.to_string(),
    }
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Quantile levels of the percentile curve: 0 … 99.99 %, denser in the tail.
fn levels() -> Vec<f64> {
    let mut v: Vec<f64> = (0..=90).map(|i| i as f64 / 100.0).collect();
    v.extend((1..=9).map(|i| 0.90 + i as f64 / 100.0));
    v.extend([0.995, 0.999, 0.9995, 0.9999]);
    v
}

/// Percentile curves of every load generator and Service: x = percentile
/// (as "nines"), y = latency in ms (log).
pub fn latency_svg(spec: &Scenario, m: &Merged) -> Result<String, PlotError> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let named = spec
        .loads
        .iter()
        .map(|l| format!("load {}", l.name))
        .zip(&m.loads)
        .chain(
            spec.services
                .iter()
                .map(|s| format!("svc {}", s.key()))
                .zip(&m.services),
        );
    for (name, s) in named {
        let h = &s.pooled.hist;
        if s.pooled.count == 0 {
            continue;
        }
        let pts = levels()
            .into_iter()
            .map(|q| {
                let nines = -(1.0 - q).max(1e-4).log10();
                (nines, (h.value_at_quantile(q) as f64 / 1e6).max(1e-3))
            })
            .collect();
        series.push((name, pts));
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(perr("latency"))?;
        let ymax = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .fold(1e-3f64, f64::max)
            * 1.5;
        let ymin = series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .fold(f64::MAX, f64::min)
            .min(ymax / 10.0)
            .max(1e-3)
            / 1.5;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} — latency by percentile", spec.name),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..4f64, (ymin..ymax).log_scale())
            .map_err(perr("latency"))?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .x_labels(5)
            .x_label_formatter(&|x| match x.round() as i64 {
                0 => "p0".into(),
                1 => "p90".into(),
                2 => "p99".into(),
                3 => "p99.9".into(),
                _ => "p99.99".into(),
            })
            .draw()
            .map_err(perr("latency"))?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(perr("latency"))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(perr("latency"))?;
        root.present().map_err(perr("latency"))?;
    }
    Ok(out)
}

fn timelines(m: &Merged) -> Vec<&Timeline> {
    m.outcomes.iter().map(|o| &o.timeline).collect()
}

/// Four stacked panels over time: throughput, mean latency (per load), utilisation
/// and queue length (per workload).
pub fn timeline_svg(spec: &Scenario, m: &Merged) -> Result<String, PlotError> {
    let tls = timelines(m);
    let loads: Vec<_> = (0..spec.loads.len())
        .map(|i| Timeline::load_points(&tls, i))
        .collect();
    let deps: Vec<_> = spec
        .deployments
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Timeline::workload_points(&tls, i, d.replicas as u64 * d.behaviour.workers as u64)
        })
        .collect();
    let tmax = loads
        .iter()
        .flatten()
        .map(|p| p.t)
        .chain(deps.iter().flatten().map(|p| p.t))
        .fold(1e-9f64, f64::max);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 1000)).into_drawing_area();
        root.fill(&WHITE).map_err(perr("timeline"))?;
        let panels = root.split_evenly((4, 1));
        type Ser = Vec<(String, Vec<(f64, f64)>)>;
        let load_names: Vec<String> = spec.loads.iter().map(|l| l.name.clone()).collect();
        let dep_names: Vec<String> = spec.deployments.iter().map(|d| d.key()).collect();
        let thr: Ser = load_names
            .iter()
            .cloned()
            .zip(
                loads
                    .iter()
                    .map(|ps| ps.iter().map(|p| (p.t, p.throughput_rps)).collect()),
            )
            .collect();
        let lat: Ser = load_names
            .iter()
            .cloned()
            .zip(loads.iter().map(|ps| {
                ps.iter()
                    .filter_map(|p| p.mean_latency_ms.map(|l| (p.t, l)))
                    .collect()
            }))
            .collect();
        let util: Ser = dep_names
            .iter()
            .cloned()
            .zip(
                deps.iter()
                    .map(|ps| ps.iter().map(|p| (p.t, p.utilisation * 100.0)).collect()),
            )
            .collect();
        let queue: Ser = dep_names
            .iter()
            .cloned()
            .zip(
                deps.iter()
                    .map(|ps| ps.iter().map(|p| (p.t, p.queue)).collect()),
            )
            .collect();
        let specs: [(&str, &Ser); 4] = [
            ("completed requests/s (non-5xx), per load", &thr),
            ("mean latency (ms), per load", &lat),
            ("utilisation (%), per workload", &util),
            ("waiting requests (time average), per workload", &queue),
        ];
        // Pod events (deaths, endpoint changes) as vertical lines, labelled
        // in the top panel; none without lifecycle events.
        let warm = spec.run.warmup.as_secs_f64();
        let marks: Vec<(f64, String)> = crate::report::pods::marks(m)
            .into_iter()
            .map(|(t, l)| (t - warm, l))
            .filter(|(t, _)| (0.0..=tmax).contains(t))
            .collect();
        for (panel, (area, (title, ser))) in panels.iter().zip(specs).enumerate() {
            let ymax = ser
                .iter()
                .flat_map(|s| s.1.iter().map(|p| p.1))
                .fold(0f64, f64::max)
                .max(1e-9)
                * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..tmax, 0f64..ymax)
                .map_err(perr("timeline"))?;
            chart
                .configure_mesh()
                .x_desc("simulated time since warm-up (s)")
                .draw()
                .map_err(perr("timeline"))?;
            for (i, (name, pts)) in ser.iter().enumerate() {
                let c = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                    .map_err(perr("timeline"))?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
            for (k, (x, label)) in marks.iter().enumerate() {
                let red = RGBColor(200, 30, 30);
                chart
                    .draw_series(LineSeries::new(
                        vec![(*x, 0.0), (*x, ymax)],
                        red.mix(0.6).stroke_width(1),
                    ))
                    .map_err(perr("timeline"))?;
                if panel == 0 {
                    let y = ymax * (0.92 - 0.08 * (k % 8) as f64);
                    chart
                        .draw_series(std::iter::once(Text::new(
                            label.clone(),
                            (*x, y),
                            ("sans-serif", 11).into_font().color(&red),
                        )))
                        .map_err(perr("timeline"))?;
                }
            }
            if !ser.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(perr("timeline"))?;
            }
        }
        root.present().map_err(perr("timeline"))?;
    }
    Ok(out)
}

/// The timeline as CSV (the data behind `timeline.svg`): one row per bin and series.
pub fn timeline_csv(spec: &Scenario, m: &Merged) -> String {
    let tls = timelines(m);
    let mut s =
        String::from("t_s,kind,name,throughput_rps,failed_rps,mean_latency_ms,utilisation,queue\n");
    for (i, l) in spec.loads.iter().enumerate() {
        for p in Timeline::load_points(&tls, i) {
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
        for p in Timeline::workload_points(&tls, i, w) {
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
