//! meshsim's own line charts, drawn straight to SVG (as `propagation.svg`
//! is): full control over what makes a plot readable at any size — legends
//! beside the data rather than on it, colour *and* dash per series
//! ([`style`]), log axes where values span decades ([`axis`]), tick labels
//! with the digits their step needs, a title naming the scenario, nothing
//! clipped (margins are computed from the labels), and shaded bands for
//! timed events. Coordinates are printed with one decimal, so the bytes are
//! deterministic. No element ids: several charts can be inlined in one HTML
//! page.

pub mod axis;
pub mod style;

use crate::report::markup::{esc, shorten, text_w};
use axis::{Range, Scale};
use std::fmt::Write;
use style::Style;

const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Legend names are shortened to this many characters (full name in a tooltip).
const NAME_MAX: usize = 44;
const TICK_PX: f64 = 11.0;
const LEGEND_ROW: f64 = 17.0;

/// One line. A NaN `y` is a gap (e.g. a bin in which nothing completed).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
}

/// Timed events: shaded x-spans (an instant, `from == to`, is a vertical line).
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub label: String,
    pub colour: &'static str,
    pub spans: Vec<(f64, f64)>,
}

/// An axis request: label, scale, or a fixed range with its own ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    pub fixed: Option<Range>,
}

impl Axis {
    pub fn new(label: &str, scale: Scale) -> Axis {
        Axis {
            label: label.to_string(),
            scale,
            fixed: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
}

/// Panels stacked vertically under one title.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub title: String,
    pub subtitle: String,
    pub width: f64,
    /// Height of each panel's plotting area.
    pub plot_h: f64,
    pub panels: Vec<Panel>,
}

fn range_of(axis: &Axis, values: impl Iterator<Item = f64>) -> Range {
    match &axis.fixed {
        Some(r) => r.clone(),
        None => Range::auto(&values.collect::<Vec<_>>(), axis.scale),
    }
}

/// Legend rows of a panel: (style or band colour, name).
fn legend_rows(p: &Panel) -> Vec<(Option<Style>, &'static str, String)> {
    let mut rows: Vec<(Option<Style>, &'static str, String)> = p
        .series
        .iter()
        .map(|s| (Some(s.style), s.style.colour, s.name.clone()))
        .collect();
    rows.extend(p.bands.iter().map(|b| (None, b.colour, b.label.clone())));
    rows
}

/// Renders the figure as a standalone SVG document (starts with `<svg`).
pub fn render(f: &Figure) -> String {
    let ranges: Vec<(Range, Range)> = f
        .panels
        .iter()
        .map(|p| {
            let xs = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
            let ys = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1));
            (range_of(&p.x, xs), range_of(&p.y, ys))
        })
        .collect();
    // One left margin and one legend width for all panels, so they align.
    let tick_w = ranges
        .iter()
        .flat_map(|(_, y)| y.ticks.iter().map(|t| text_w(&t.1, TICK_PX)))
        .fold(0.0, f64::max);
    let left = 14.0 + 12.0 + tick_w + 8.0;
    let legend_w = f
        .panels
        .iter()
        .flat_map(|p| legend_rows(p).into_iter().map(|r| r.2))
        .map(|n| text_w(&shorten(&n, NAME_MAX), TICK_PX) + 44.0)
        .fold(120.0, f64::max)
        .min(f.width * 0.4);
    let plot_w = (f.width - left - legend_w - 24.0).max(200.0);
    let width = left + plot_w + legend_w + 24.0;
    let mut body = String::new();
    let mut y = 30.0;
    let _ = writeln!(
        body,
        "<text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"18\" font-weight=\"bold\" fill=\"#222\">{}</text>",
        left,
        esc(&f.title)
    );
    if !f.subtitle.is_empty() {
        y += 18.0;
        let _ = writeln!(
            body,
            "<text x=\"{left:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"#555\">{}</text>",
            esc(&f.subtitle)
        );
    }
    y += 14.0;
    for (p, (xr, yr)) in f.panels.iter().zip(&ranges) {
        let rows = legend_rows(p);
        let plot_h = f.plot_h.max(rows.len() as f64 * LEGEND_ROW + 4.0);
        y += 18.0;
        let _ = writeln!(
            body,
            "<g class=\"panel\">\n<text x=\"{left:.1}\" y=\"{y:.1}\" font-size=\"14\" font-weight=\"bold\" fill=\"#333\">{}</text>",
            esc(&p.title)
        );
        let top = y + 10.0;
        panel(
            &mut body,
            p,
            xr,
            yr,
            (left, top, plot_w, plot_h),
            &rows,
            left + plot_w + 30.0,
        );
        let _ = writeln!(body, "</g>");
        y = top + plot_h + 46.0;
    }
    let height = y.ceil();
    let mut out = String::with_capacity(body.len() + 300);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONT}\">"
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
    );
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

/// One panel: grid, bands, lines, frame, ticks, axis labels and legend.
fn panel(
    out: &mut String,
    p: &Panel,
    xr: &Range,
    yr: &Range,
    (x0, y0, w, h): (f64, f64, f64, f64),
    rows: &[(Option<Style>, &'static str, String)],
    legend_x: f64,
) {
    let px = |v: f64| x0 + xr.frac(v) * w;
    let py = |v: f64| y0 + h - yr.frac(v) * h;
    // Grid: minor (log axes), then major.
    for &v in &yr.minor {
        let _ = writeln!(
            out,
            "<line x1=\"{x0:.1}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#f0f0f0\"/>",
            py(v),
            x0 + w
        );
    }
    for (v, _) in &yr.ticks {
        let _ = writeln!(
            out,
            "<line x1=\"{x0:.1}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#dddddd\"/>",
            py(*v),
            x0 + w
        );
    }
    for (v, _) in &xr.ticks {
        let _ = writeln!(
            out,
            "<line x1=\"{0:.1}\" y1=\"{y0:.1}\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#dddddd\"/>",
            px(*v),
            y0 + h
        );
    }
    // Timed events behind the lines.
    for b in &p.bands {
        for &(a, z) in &b.spans {
            let (xa, xz) = (px(a), px(z));
            if xz - xa < 1.5 {
                let _ = writeln!(
                    out,
                    "<line x1=\"{xa:.1}\" y1=\"{y0:.1}\" x2=\"{xa:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-opacity=\"0.7\"/>",
                    y0 + h,
                    b.colour
                );
            } else {
                let _ = writeln!(
                    out,
                    "<rect x=\"{xa:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\" fill-opacity=\"0.16\"/>",
                    xz - xa,
                    b.colour
                );
            }
        }
    }
    for s in &p.series {
        let dash = if s.style.dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{}\"", s.style.dash)
        };
        // Split at gaps; a lone point is drawn as a dot.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, v) in &s.points {
            if v.is_finite() && x.is_finite() {
                runs.last_mut().expect("non-empty").push((px(x), py(v)));
            } else if !runs.last().expect("non-empty").is_empty() {
                runs.push(Vec::new());
            }
        }
        let _ = writeln!(out, "<g><title>{}</title>", esc(&s.name));
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if run.len() == 1 {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{}\"/>",
                    run[0].0, run[0].1, s.style.colour
                );
                continue;
            }
            let pts: Vec<String> = run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{dash} stroke-linejoin=\"round\" points=\"{}\"/>",
                s.style.colour,
                s.style.width,
                pts.join(" ")
            );
        }
        let _ = writeln!(out, "</g>");
    }
    if p.series.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#777\" text-anchor=\"middle\">no data</text>",
            x0 + w / 2.0,
            y0 + h / 2.0
        );
    }
    let _ = writeln!(
        out,
        "<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"none\" stroke=\"#444\"/>"
    );
    // Tick labels.
    for (v, t) in &yr.ticks {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{TICK_PX}\" fill=\"#333\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            py(*v) + 4.0,
            esc(t)
        );
    }
    for (v, t) in &xr.ticks {
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{TICK_PX}\" fill=\"#333\" text-anchor=\"middle\">{}</text>",
            px(*v),
            y0 + h + 15.0,
            esc(t)
        );
    }
    let ylabel = if yr.log {
        format!("{} (log)", p.y.label)
    } else {
        p.y.label.clone()
    };
    let (lx, ly) = (14.0, y0 + h / 2.0);
    let _ = writeln!(
        out,
        "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"12\" fill=\"#333\" text-anchor=\"middle\" transform=\"rotate(-90 {lx:.1} {ly:.1})\">{}</text>",
        esc(&ylabel)
    );
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#333\" text-anchor=\"middle\">{}</text>",
        x0 + w / 2.0,
        y0 + h + 32.0,
        esc(&p.x.label)
    );
    // Legend, beside the plot.
    for (i, (st, colour, name)) in rows.iter().enumerate() {
        let ry = y0 + 8.0 + i as f64 * LEGEND_ROW;
        match st {
            Some(s) => {
                let dash = if s.dash.is_empty() {
                    String::new()
                } else {
                    format!(" stroke-dasharray=\"{}\"", s.dash)
                };
                let _ = writeln!(
                    out,
                    "<line x1=\"{legend_x:.1}\" y1=\"{ry:.1}\" x2=\"{:.1}\" y2=\"{ry:.1}\" stroke=\"{colour}\" stroke-width=\"{}\"{dash}/>",
                    legend_x + 30.0,
                    s.width
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{legend_x:.1}\" y=\"{:.1}\" width=\"30\" height=\"10\" fill=\"{colour}\" fill-opacity=\"0.3\"/>",
                    ry - 5.0
                );
            }
        }
        let short = shorten(name, NAME_MAX);
        let tip = if short != *name {
            format!("<title>{}</title>", esc(name))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{TICK_PX}\" fill=\"#222\">{tip}{}</text>",
            legend_x + 36.0,
            ry + 4.0,
            esc(&short)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(series: Vec<Series>) -> Figure {
        Figure {
            title: "t <&>".into(),
            subtitle: "sub".into(),
            width: 900.0,
            plot_h: 200.0,
            panels: vec![Panel {
                title: "p".into(),
                x: Axis::new("x", Scale::Linear),
                y: Axis::new("y", Scale::Auto),
                series,
                bands: vec![Band {
                    label: "event".into(),
                    colour: "#c62828",
                    spans: vec![(1.0, 1.0), (2.0, 3.0)],
                }],
            }],
        }
    }

    #[test]
    fn draws_escaped_titles_dashed_lines_gaps_and_bands() {
        let svg = render(&fig(vec![
            Series {
                name: "a<b>".into(),
                points: vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 2.0), (3.0, 3.0)],
                style: style::style(1),
            },
            Series {
                name: "c".into(),
                points: vec![(0.0, 1.0), (3.0, 2.0)],
                style: style::style(0),
            },
        ]));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(">t &lt;&amp;&gt;</text>"));
        assert!(svg.contains(">a&lt;b&gt;</text>"));
        // The gap splits series a: one dot, one polyline; c: one polyline.
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("stroke-dasharray=\"9 4\"").count(), 2); // line + legend
        assert!(svg.contains("fill-opacity=\"0.16\"")); // the 2–3 band
        assert!(!svg.contains(" id=\""));
        assert!(render(&fig(vec![])).contains(">no data</text>"));
    }

    #[test]
    fn the_legend_sits_beside_the_plot() {
        let svg = render(&fig(vec![Series {
            name: "only".into(),
            points: vec![(0.0, 1.0), (3.0, 2.0)],
            style: style::style(0),
        }]));
        // The frame's right edge, then the legend's swatch to its right.
        let frame = svg.lines().find(|l| l.contains("stroke=\"#444\"")).unwrap();
        let num = |l: &str, k: &str| -> f64 {
            let i = l.find(k).unwrap() + k.len();
            l[i..].split('"').next().unwrap().parse().unwrap()
        };
        let right = num(frame, "x=\"") + num(frame, "width=\"");
        let swatch = svg
            .lines()
            .rfind(|l| l.starts_with("<line") && l.contains("#0072b2"))
            .unwrap();
        assert!(num(swatch, "x1=\"") > right + 10.0, "{swatch} vs {right}");
    }
}
