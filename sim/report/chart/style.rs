//! How series tell apart: a colour *and* a dash pattern each (readable in
//! grey print and by colour-blind readers), and at most [`TOP`] of them per
//! plot — the rest folded into one "other" series, so a 1,000-service run
//! draws ten legible lines instead of a legend that runs off the image.

/// Series drawn individually by default; the rest become "other".
pub const TOP: usize = 8;

/// Okabe–Ito's colour-blind-safe palette (yellow swapped for brown, which
/// reads on white).
const COLOURS: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#8c564b",
];

/// Solid, dashed, dotted, dash-dot (SVG `stroke-dasharray`; empty = solid).
const DASHES: [&str; 4] = ["", "9 4", "2 3", "10 3 2 3"];

/// A line's look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub colour: &'static str,
    pub dash: &'static str,
    pub width: f64,
}

/// The style of the `i`-th series: neighbours differ in colour and dash;
/// 8 × 4 → no two of the first 8 look alike, nor of the first 40 (lcm 8, 5).
pub fn style(i: usize) -> Style {
    Style {
        colour: COLOURS[i % COLOURS.len()],
        dash: DASHES[i % DASHES.len()],
        width: 2.0,
    }
}

/// The folded "other" series: grey, fine dots.
pub const OTHER: Style = Style {
    colour: "#8a8a8a",
    dash: "1 3",
    width: 2.0,
};

/// Which items to draw: the `top` heaviest by `weight` (ties: earlier
/// first), kept in their original order, and the indices of the rest (to
/// fold into "other"). `top` = 0 keeps everything.
pub fn top_n(weights: &[f64], top: usize) -> (Vec<usize>, Vec<usize>) {
    if top == 0 || weights.len() <= top + 1 {
        // Folding one series into "other" hides a name and saves nothing.
        return ((0..weights.len()).collect(), Vec::new());
    }
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
    let mut keep: Vec<usize> = order[..top].to_vec();
    let mut rest: Vec<usize> = order[top..].to_vec();
    keep.sort_unstable();
    rest.sort_unstable();
    (keep, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_eight_styles_differ_in_colour_and_neighbours_in_dash() {
        for i in 0..8 {
            for j in 0..8 {
                if i != j {
                    assert_ne!(style(i).colour, style(j).colour);
                }
            }
            assert_ne!(style(i).dash, style(i + 1).dash);
        }
    }

    #[test]
    fn top_n_keeps_the_heaviest_in_order() {
        let (keep, rest) = top_n(&[5.0, 1.0, 9.0, 1.0, 7.0], 2);
        assert_eq!(keep, [2, 4]);
        assert_eq!(rest, [0, 1, 3]);
        // One left over: drawn, not folded.
        assert_eq!(top_n(&[1.0, 2.0, 3.0], 2).1, Vec::<usize>::new());
        assert_eq!(top_n(&[1.0, 2.0, 3.0], 0).0, [0, 1, 2]);
    }
}
