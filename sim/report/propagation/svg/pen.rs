//! The few SVG shapes `propagation.svg` is drawn with (text, box, line, arrow),
//! each written as one line with one-decimal coordinates so the file is
//! byte-stable across runs and machines.

use super::super::layout::Rect;
use crate::report::markup::esc;
use std::fmt::Write;

pub(super) struct Svg {
    pub(super) out: String,
}

impl Svg {
    pub(super) fn text(&mut self, x: f64, y: f64, px: f64, anchor: &str, extra: &str, s: &str) {
        let _ = writeln!(
            self.out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{px}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
            esc(s)
        );
    }
    pub(super) fn rect(&mut self, r: &Rect, rx: f64, fill: &str, stroke: &str, extra: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\"{extra}/>",
            r.left(),
            r.top(),
            r.w,
            r.h
        );
    }
    pub(super) fn line(&mut self, a: (f64, f64), b: (f64, f64), colour: &str, w: f64, extra: &str) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"{w:.1}\"{extra}/>",
            a.0, a.1, b.0, b.1
        );
    }
    /// A polyline ending in an arrowhead at its last point.
    pub(super) fn arrow(&mut self, pts: &[(f64, f64)], colour: &str, w: f64, dashed: bool) {
        let n = pts.len();
        let (p, q) = (pts[n - 2], pts[n - 1]);
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let head = (7.0 + 1.6 * w).min(len * 0.8);
        let half = head * 0.45;
        let base = (q.0 - ux * head, q.1 - uy * head);
        let mut line: Vec<(f64, f64)> = pts[..n - 1].to_vec();
        line.push(base);
        let d: Vec<String> = line.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let dash = if dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        let _ = writeln!(
            self.out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{w:.1}\" stroke-linejoin=\"round\"{dash}/>",
            d.join(" ")
        );
        let (l, r) = (
            (base.0 - uy * half, base.1 + ux * half),
            (base.0 + uy * half, base.1 - ux * half),
        );
        let _ = writeln!(
            self.out,
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"{colour}\"/>",
            q.0, q.1, l.0, l.1, r.0, r.1
        );
    }
}
