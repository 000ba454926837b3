//! The timeline under the failure graph: when each breaker rejected and each
//! host was ejected, one row per breaker or (proxy, host), replications
//! overlaid, on a simulated-seconds axis with 1-2-5 ticks.

use super::super::layout::Rect;
use super::super::{Propagation, Span};
use super::pen::Svg;
use super::{MARGIN, SMALL_PX};
use std::fmt::Write;

/// A tick step of 1, 2 or 5 × 10^k giving at most ~8 ticks over `span`.
pub(super) fn tick_step(span: f64) -> f64 {
    let raw = (span / 8.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// A row of the timeline: label, colour, windows.
pub(super) struct Row<'a> {
    pub(super) label: String,
    pub(super) colour: &'static str,
    pub(super) windows: &'a [Span],
}

/// The breaker and ejection timeline; returns the y below it.
pub(super) fn timeline(
    s: &mut Svg,
    p: &Propagation,
    rows: &[Row],
    hidden: usize,
    mut y: f64,
    width: f64,
) -> f64 {
    let _ = writeln!(s.out, "<g id=\"windows\">");
    let reps = if p.replications > 1 {
        ", replications overlaid"
    } else {
        ""
    };
    s.text(
        MARGIN,
        y,
        13.0,
        "start",
        " font-weight=\"bold\"",
        &format!("When breakers rejected and hosts were ejected (simulated seconds{reps})"),
    );
    let end = rows
        .iter()
        .flat_map(|r| r.windows.iter().map(|w| w.end(p.end_s)))
        .fold(p.end_s, f64::max)
        .max(1e-9);
    let (x0, x1) = (MARGIN, width - MARGIN);
    let xs = |t: f64| x0 + (x1 - x0) * (t / end).clamp(0.0, 1.0);
    let step = tick_step(end);
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let ticks: Vec<f64> = (0..)
        .map(|k| step * k as f64)
        .take_while(|t| *t <= end + 1e-9)
        .collect();
    y += 10.0;
    let opacity = if p.replications > 1 { 0.45 } else { 0.85 };
    for r in rows {
        y += 16.0;
        s.text(x0, y, SMALL_PX, "start", " fill=\"#333333\"", &r.label);
        y += 5.0;
        // Track, grid marks through it, then the windows over both.
        let track = Rect {
            x: (x0 + x1) / 2.0,
            y: y + 6.0,
            w: x1 - x0,
            h: 12.0,
        };
        s.rect(&track, 0.0, "#f2f2f2", "none", "");
        for &t in &ticks {
            s.line(
                (xs(t), track.top()),
                (xs(t), track.bottom()),
                "#cccccc",
                0.6,
                "",
            );
        }
        for w in r.windows {
            let (a, b) = (xs(w.from_s), xs(w.end(p.end_s)));
            let bar = Rect {
                x: (a + b) / 2.0,
                y: track.y,
                w: (b - a).max(2.0),
                h: 12.0,
            };
            s.rect(
                &bar,
                0.0,
                r.colour,
                "none",
                &format!(" fill-opacity=\"{opacity}\""),
            );
        }
        y += 14.0;
    }
    // The time axis under the rows.
    s.line((x0, y + 4.0), (x1, y + 4.0), "#999999", 0.8, "");
    for &t in &ticks {
        let x = xs(t);
        s.line((x, y + 4.0), (x, y + 8.0), "#999999", 0.8, "");
        s.text(
            x,
            y + 19.0,
            10.0,
            "middle",
            " fill=\"#555555\"",
            &format!("{t:.decimals$}"),
        );
    }
    y += 22.0;
    if hidden > 0 {
        y += 16.0;
        s.text(
            x0,
            y,
            SMALL_PX,
            "start",
            " fill=\"#555555\"",
            &format!("… and {hidden} more (summary.json)"),
        );
    }
    let _ = writeln!(s.out, "</g>");
    y
}
