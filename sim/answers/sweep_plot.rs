//! sweep.svg: p99 latency and error rate of every load against the swept
//! value — where the curve bends (the knee) is the capacity.
//!
//! Drawn with meshsim's own charts (`report/chart.rs`, as every other plot):
//! each load a colour *and* a dash, the legend beside the data, a log
//! latency axis when the p99s span two decades (a knee from 50 ms to 9 s
//! flattens everything before it on a linear one), at most
//! [`style::TOP`](crate::report::chart::style::TOP) loads (the busiest; the
//! rest are counted in the subtitle and are in sweep.csv). The p99's 95 %
//! interval over replications is the thin dotted pair of lines in the
//! load's colour (no lower line where that end is ≤ 0). Values at which an
//! assertion fails are shaded red, so the knee and the verdict read together.

use super::sweep::Point;
use crate::report::chart::axis::{Range, Scale};
use crate::report::chart::style::{self, Style, TOP};
use crate::report::chart::{self, Axis, Band, Figure, Panel, Series};
use crate::report::plot::PlotError;

/// The p99 interval's lines: thin, dotted, in the load's colour.
fn interval_style(s: Style) -> Style {
    Style {
        colour: s.colour,
        dash: "2 3",
        width: 1.0,
    }
}

/// Two panels over the swept value: p99 (ms) and error rate (%).
pub fn svg(title: &str, target: &str, points: &[Point]) -> Result<String, PlotError> {
    let names: Vec<String> = points
        .first()
        .map(|p| p.loads.iter().map(|l| l.name.clone()).collect())
        .unwrap_or_default();
    let requests: Vec<f64> = (0..names.len())
        .map(|i| {
            points
                .iter()
                .filter_map(|p| p.loads.get(i))
                .map(|l| l.requests as f64)
                .sum()
        })
        .collect();
    let (keep, rest) = style::top_n(&requests, TOP);
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
    let x_axis = || Axis {
        label: target.to_string(),
        scale: Scale::Linear,
        fixed: xmin.is_finite().then(|| Range::linear(xmin, xmax)),
    };
    let curve = |i: usize, get: &dyn Fn(&super::sweep::LoadPoint) -> Option<f64>| {
        points
            .iter()
            .filter(|p| p.x.is_finite())
            .map(|p| (p.x, p.loads.get(i).and_then(get).unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
    };
    let mut p99 = Vec::new();
    let mut errors = Vec::new();
    for (k, &i) in keep.iter().enumerate() {
        let st = style::style(k);
        p99.push(Series {
            name: format!("{} p99", names[i]),
            points: curve(i, &|l| l.p99_ms),
            style: st,
        });
        // A lower end at or below 0 bounds nothing: a gap, not a line on the floor.
        let lo = curve(i, &|l| l.p99_ci_ms.map(|c| c.0).filter(|v| *v > 0.0));
        let hi = curve(i, &|l| l.p99_ci_ms.map(|c| c.1));
        if lo.iter().any(|q| q.1.is_finite()) {
            let mut band = lo;
            band.push((f64::NAN, f64::NAN));
            band.extend(hi);
            p99.push(Series {
                name: format!("{} p99, 95 % interval", names[i]),
                points: band,
                style: interval_style(st),
            });
        }
        errors.push(Series {
            name: names[i].clone(),
            points: curve(i, &|l| l.error_rate.map(|e| e * 100.0)),
            style: st,
        });
    }
    // The error panel spans at least 0–1 % (an all-zero curve stays readable).
    let err_max = errors
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.1))
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    let reps = points
        .first()
        .map_or(0, |p| p.replication_passes.len().max(1));
    let mut notes = vec![format!(
        "{} values × {reps} replication{}, pooled per value",
        points.len(),
        if reps == 1 { "" } else { "s" }
    )];
    let judged = points.iter().any(|p| !p.verdicts.is_empty());
    let fails: Vec<f64> = points
        .iter()
        .filter(|p| judged && !(p.passed() && p.partial.is_empty()) && p.x.is_finite())
        .map(|p| p.x)
        .collect();
    if judged {
        notes.push(format!(
            "assertions hold at {} of {}",
            points.len() - fails.len(),
            points.len()
        ));
    }
    if reps > 1 {
        notes.push("dotted: p99's 95 % interval".into());
    }
    if !rest.is_empty() {
        notes.push(format!("{} quieter loads in sweep.csv only", rest.len()));
    }
    let bands = || {
        if fails.is_empty() {
            return Vec::new();
        }
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        // Each failing value's share of the axis: halfway to its neighbours.
        let spans = fails
            .iter()
            .map(|&x| {
                let k = sorted.partition_point(|v| *v < x);
                let lo = if k == 0 { x } else { (sorted[k - 1] + x) / 2.0 };
                let hi = sorted.get(k + 1).map_or(x, |n| (x + n) / 2.0);
                (lo, hi)
            })
            .collect();
        vec![Band {
            label: "assertions fail".into(),
            colour: "#c62828",
            spans,
        }]
    };
    Ok(chart::render(&Figure {
        title: format!("{title}: sweep of {target}"),
        subtitle: notes.join(" · "),
        width: 960.0,
        plot_h: 240.0,
        panels: vec![
            Panel {
                title: "p99 latency per load".into(),
                x: x_axis(),
                y: Axis::new("p99 latency (ms)", Scale::Auto),
                series: p99,
                bands: bands(),
            },
            Panel {
                title: "error rate per load".into(),
                x: x_axis(),
                y: Axis {
                    label: "failed ÷ finished (%)".into(),
                    scale: Scale::Linear,
                    fixed: Some(Range::linear(0.0, err_max)),
                },
                series: errors,
                bands: bands(),
            },
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::super::eval::Verdict;
    use super::super::sweep::LoadPoint;
    use super::*;

    fn point(x: f64, p99: [f64; 2], ci_lo: f64, passed: bool) -> Point {
        let load = |name: &str, p99: f64, requests: u64| LoadPoint {
            name: name.into(),
            requests,
            completed: requests,
            failed: 0,
            error_rate: Some(0.002),
            mean_ms: Some(p99 / 3.0),
            p50_ms: Some(p99 / 4.0),
            p99_ms: Some(p99),
            p99_ci_ms: Some((ci_lo, p99 * 1.5)),
        };
        Point {
            value: format!("{x}"),
            x,
            loads: vec![load("web", p99[0], 1000), load("api", p99[1], 10)],
            verdicts: vec![Verdict {
                text: "loads.web.latency_ms.p99 < 100ms".into(),
                source: "--assert".into(),
                passed,
                point: Some(p99[0]),
                interval: None,
                compared: Some(p99[0]),
                detail: String::new(),
            }],
            replication_passes: vec![passed, passed],
            partial: Vec::new(),
        }
    }

    #[test]
    fn failing_values_are_shaded_and_curves_are_told_apart() {
        let pts = [
            point(10.0, [20.0, 5.0], 10.0, true),
            point(20.0, [40.0, 6.0], -3.0, true),
            point(40.0, [4000.0, 7.0], 1000.0, false),
        ];
        let svg = svg("demo", "Load/web.spec.open.rate", &pts).unwrap();
        assert!(svg.contains(">demo: sweep of Load/web.spec.open.rate</text>"));
        assert!(
            svg.contains("3 values × 2 replications, pooled per value · assertions hold at 2 of 3")
        );
        // p99 from 5 ms to 4 s: a log axis.
        assert!(svg.contains("p99 latency (ms) (log)"));
        // Two loads: different colours and dashes, the busier first.
        assert!(svg.contains(">web p99</text>") && svg.contains(">api p99</text>"));
        assert!(svg.contains("stroke=\"#0072b2\"") && svg.contains("stroke=\"#d55e00\""));
        assert!(svg.contains("stroke-dasharray=\"9 4\""));
        // The failing value (40) is shaded from halfway to 20, in both panels.
        assert_eq!(
            svg.matches("fill=\"#c62828\" fill-opacity=\"0.16\"")
                .count(),
            2
        );
        // A lower interval end ≤ 0 (at 20) leaves a gap: each load's lower
        // line falls apart into two lone points (dots); the upper lines stay whole.
        assert_eq!(svg.matches("<circle").count(), 4);
    }
}
