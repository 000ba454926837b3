//! Edge labels placed on a finished layout: greedily along their edge where
//! they overlap no box and no earlier label, and if possible cross no other
//! edge. Apart from `layout.rs` because it reads only the routes and boxes a
//! layout returns, and the SVG places labels after laying out.

use super::layout::{Kind, Rect, Route};

/// A line segment.
pub type Segment = ((f64, f64), (f64, f64));

/// Whether segment `s` passes through `r` (Liang–Barsky clipping).
pub fn crosses(s: Segment, r: &Rect) -> bool {
    let ((x0, y0), (x1, y1)) = s;
    let (dx, dy) = (x1 - x0, y1 - y0);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, x0 - r.left()),
        (dx, r.right() - x0),
        (-dy, y0 - r.top()),
        (dy, r.bottom() - y0),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                lo = lo.max(t);
            } else {
                hi = hi.min(t);
            }
        }
    }
    lo <= hi
}

/// Places a label of `size` on `route` where it overlaps none of `avoid`
/// (boxes and earlier labels) and, if it can, crosses none of `lines` (the
/// other edges). Candidates: centred on each segment near the callee, near
/// the caller, then in between; then the same points with the label beside
/// the line (right, then left). The first candidate clear of both wins, else
/// the first clear of `avoid`, else the middle of the first segment.
pub fn place_label(route: &Route, size: (f64, f64), avoid: &[Rect], lines: &[Segment]) -> Rect {
    let at = |(x, y): (f64, f64)| Rect {
        x,
        y,
        w: size.0,
        h: size.1,
    };
    let segs: Vec<Segment> = match route.kind {
        // The vertical run of a back edge; beside a self-loop.
        Kind::Back => vec![(route.points[1], route.points[2])],
        Kind::SelfLoop => {
            // Beside the loop (where the layout kept room), else above or below it.
            let (x, y) = route.points[1];
            let beside = at((x + 6.0 + size.0 / 2.0, y + 8.0));
            let above = at((x, y - 10.0 - size.1 / 2.0));
            let below = at((x, y + 26.0 + size.1 / 2.0));
            return [beside, above, below]
                .into_iter()
                .find(|r| !avoid.iter().any(|o| r.overlaps(o, 3.0)))
                .unwrap_or(beside);
        }
        Kind::Down => route.points.windows(2).map(|w| (w[0], w[1])).collect(),
    };
    let lerp = |(a, b): Segment, t: f64| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
    let side = size.0 / 2.0 + 6.0;
    let mut candidates = Vec::new();
    for dx in [0.0, side, -side] {
        for &seg in &segs {
            for t in [0.7, 0.3, 0.5, 0.8, 0.2, 0.6, 0.4] {
                let (x, y) = lerp(seg, t);
                candidates.push(at((x + dx, y)));
            }
        }
    }
    let free = |r: &Rect| !avoid.iter().any(|o| r.overlaps(o, 3.0));
    let clear = |r: &Rect| {
        let padded = Rect {
            w: r.w + 4.0,
            h: r.h + 4.0,
            ..*r
        };
        !lines.iter().any(|l| crosses(*l, &padded))
    };
    candidates
        .iter()
        .find(|r| free(r) && clear(r))
        .or_else(|| candidates.iter().find(|r| free(r)))
        .copied()
        .unwrap_or_else(|| at(lerp(segs[0], 0.5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cross_rectangles_they_pass_through() {
        let r = Rect {
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        };
        assert!(crosses(((-20.0, 0.0), (20.0, 0.0)), &r));
        assert!(crosses(((-20.0, -20.0), (20.0, 20.0)), &r));
        assert!(crosses(((1.0, 1.0), (2.0, 2.0)), &r), "inside");
        assert!(!crosses(((-20.0, 6.0), (20.0, 6.0)), &r));
        assert!(!crosses(((-20.0, 0.0), (-6.0, 0.0)), &r));
        assert!(
            !crosses(((-20.0, 8.0), (8.0, -20.0)), &r),
            "passes the corner"
        );
    }
}
