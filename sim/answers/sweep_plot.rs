//! sweep.svg: p99 latency and error rate of every load against the swept
//! value — where the curve bends (the knee) is the capacity. Drawn with the
//! report's plotters setup (`report/plot.rs`); points marked, the p99's
//! 95 % interval as error bars when there are replications.

use super::sweep::Point;
use crate::report::plot::PlotError;

fn perr<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> PlotError {
    move |e| PlotError {
        what,
        message: e.to_string(),
    }
}

/// One colour per point series (matplotlib's tab10, as the report's charts).
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
use plotters::prelude::*;

/// A point of a curve: x, y and y's interval.
type Marked = (f64, f64, Option<(f64, f64)>);

/// Two panels over the swept value: p99 (ms) and error rate (%).
pub fn svg(title: &str, target: &str, points: &[Point]) -> Result<String, PlotError> {
    let xs: Vec<f64> = points
        .iter()
        .map(|p| p.x)
        .filter(|x| x.is_finite())
        .collect();
    let (xmin, xmax) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let pad = ((xmax - xmin) * 0.05).max(0.5);
    let (x0, x1) = if xs.is_empty() {
        (0.0, 1.0)
    } else {
        (xmin - pad, xmax + pad)
    };
    let names: Vec<String> = points
        .first()
        .map(|p| p.loads.iter().map(|l| l.name.clone()).collect())
        .unwrap_or_default();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 700)).into_drawing_area();
        root.fill(&WHITE).map_err(perr("sweep"))?;
        let root = root
            .titled(&format!("{title}: sweep of {target}"), ("sans-serif", 18))
            .map_err(perr("sweep"))?;
        let panels = root.split_evenly((2, 1));
        type Get = fn(&super::sweep::LoadPoint) -> Option<(f64, Option<(f64, f64)>)>;
        let p99: Get = |l| l.p99_ms.map(|v| (v, l.p99_ci_ms));
        let err: Get = |l| l.error_rate.map(|e| (e * 100.0, None));
        // The error panel spans at least 0–1 % (an all-zero curve stays readable).
        for (area, (caption, get, floor)) in panels.iter().zip([
            ("p99 latency (ms), per load", p99, 1e-9),
            ("error rate (%), per load", err, 1.0),
        ]) {
            let ymax = points
                .iter()
                .flat_map(|p| p.loads.iter())
                .filter_map(get)
                .map(|(v, ci)| ci.map_or(v, |c| c.1.max(v)))
                .fold(0f64, f64::max)
                .max(floor)
                * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(caption, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, 0f64..ymax)
                .map_err(perr("sweep"))?;
            chart
                .configure_mesh()
                .x_desc(target)
                .draw()
                .map_err(perr("sweep"))?;
            for (i, name) in names.iter().enumerate() {
                let c = PALETTE[i % PALETTE.len()];
                let pts: Vec<Marked> = points
                    .iter()
                    .filter_map(|p| {
                        let l = p.loads.get(i)?;
                        get(l).map(|(v, ci)| (p.x, v, ci))
                    })
                    .filter(|(x, _, _)| x.is_finite())
                    .collect();
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|(x, y, _)| (*x, *y)),
                        c.stroke_width(2),
                    ))
                    .map_err(perr("sweep"))?
                    .label(name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(
                        pts.iter()
                            .map(|(x, y, _)| Circle::new((*x, *y), 4, c.filled())),
                    )
                    .map_err(perr("sweep"))?;
                chart
                    .draw_series(pts.iter().filter_map(|(x, _, ci)| {
                        ci.map(|(lo, hi)| {
                            PathElement::new(vec![(*x, lo.max(0.0)), (*x, hi)], c.stroke_width(1))
                        })
                    }))
                    .map_err(perr("sweep"))?;
            }
            if !names.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()
                    .map_err(perr("sweep"))?;
            }
        }
        root.present().map_err(perr("sweep"))?;
    }
    Ok(out)
}
