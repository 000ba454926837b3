//! `propagation.svg`: meshsim draws the failure graph itself, so a report is
//! complete without Graphviz installed. Loads at the top, callees below their
//! callers ([`super::layout`]); edge colour is the failure rate of the edge,
//! width its share of all failures, solid where the callee caused failures and
//! dashed where it only passed them on; boxes of root causes are red. Below:
//! a legend, the most frequent chains, and a timeline of when breakers
//! rejected and hosts were ejected. Text widths are estimated (no font
//! metrics): generously, so nothing is cut off. Coordinates are printed with
//! one decimal, so the file is byte-stable.

mod pen;
mod timeline;

use super::Propagation;
use super::dot::{count, edge_label, node_label, pct};
use super::label::{self, Segment};
use super::layout::{self, Graph, Rect};
use crate::metrics::propagation::Node;
use pen::Svg;
use std::fmt::Write;
use timeline::{Row, timeline};

const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const MARGIN: f64 = 30.0;
const NAME_PX: f64 = 13.0;
const SMALL_PX: f64 = 11.0;
const LINE: f64 = 14.0;
const GREY: &str = "#9e9e9e";
const BREAKER: &str = "#c62828";
const EJECTED: &str = "#6a1b9a";
/// Timeline rows drawn at most (the rest are in summary.json).
const MAX_ROWS: usize = 30;
/// Chains listed under the graph.
const LISTED_CHAINS: usize = 5;
/// Nodes drawn at most; a larger graph is folded ([`super::fold::busiest`]).
const MAX_NODES: usize = 24;

/// Estimated width of `s` at `px` (sans-serif; ~0.62 em per character).
fn text_w(s: &str, px: f64, bold: bool) -> f64 {
    s.chars().count() as f64 * px * if bold { 0.66 } else { 0.62 }
}

/// Edge colour by failure rate: grey without failures, amber → dark red at 50 % and more.
pub fn rate_colour(rate: f64) -> String {
    if rate <= 0.0 {
        return GREY.to_string();
    }
    let t = (rate / 0.5).clamp(0.0, 1.0).sqrt();
    let (a, b) = ((245.0, 166.0, 35.0), (183.0, 28.0, 28.0));
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// Stroke width by share of all failures through the edge (of the busiest edge).
fn stroke(failed: u64, max_failed: u64) -> f64 {
    if failed == 0 {
        1.2
    } else {
        1.8 + 5.2 * failed as f64 / max_failed.max(1) as f64
    }
}

/// Renders the SVG: the whole graph, or its busiest part when it has more
/// than [`MAX_NODES`] nodes (the subtitle then says what was left out).
pub fn render(p: &Propagation) -> String {
    match super::fold::busiest(p, MAX_NODES) {
        Some((folded, note)) => draw(&folded, Some(&note)),
        None => draw(p, None),
    }
}

fn draw(p: &Propagation, note: Option<&str>) -> String {
    // Node boxes and the graph's layout.
    let labels: Vec<Vec<String>> = p.nodes.iter().map(|n| node_label(n, p.failures)).collect();
    let sizes: Vec<(f64, f64)> = labels
        .iter()
        .map(|ls| {
            let w = ls
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        text_w(s, NAME_PX, true)
                    } else {
                        text_w(s, SMALL_PX, false)
                    }
                })
                .fold(0.0, f64::max);
            (
                w.max(90.0) + 24.0,
                18.0 + NAME_PX + (ls.len() - 1) as f64 * LINE,
            )
        })
        .collect();
    let index = |n: Node| p.nodes.iter().position(|x| x.node == n).unwrap_or(0);
    let edge_labels: Vec<Vec<String>> = p.edges.iter().map(edge_label).collect();
    let label_sizes: Vec<(f64, f64)> = edge_labels
        .iter()
        .map(|ls| {
            let w = ls
                .iter()
                .map(|l| text_w(l, SMALL_PX, false))
                .fold(0.0, f64::max);
            (w + 10.0, ls.len() as f64 * 13.0 + 6.0)
        })
        .collect();
    let g = Graph {
        sizes,
        edges: p
            .edges
            .iter()
            .map(|e| (index(e.caller), index(e.callee)))
            .collect(),
        labels: label_sizes.clone(),
        sources: (0..p.nodes.len())
            .filter(|&i| matches!(p.nodes[i].node, Node::Load(_)))
            .collect(),
    };
    let lay = layout::layout(&g);

    // Edge labels, placed in layout coordinates: the most failing edge first,
    // clear of the boxes, of earlier labels and, where possible, of other edges.
    let segments: Vec<Vec<Segment>> = lay
        .routes
        .iter()
        .map(|r| r.points.windows(2).map(|w| (w[0], w[1])).collect())
        .collect();
    let mut order: Vec<usize> = (0..p.edges.len()).collect();
    // Failing edges last, so they are drawn on top of healthy ones.
    order.sort_by_key(|&i| (p.edges[i].counts.failed, i));
    let mut placed: Vec<Option<(Rect, Vec<String>)>> = vec![None; p.edges.len()];
    let mut avoid = lay.boxes.clone();
    for &i in order.iter().rev() {
        let ls = edge_labels[i].clone();
        let (w, h) = label_sizes[i];
        let others: Vec<Segment> = segments
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        let r = label::place_label(&lay.routes[i], (w, h), &avoid, &others);
        avoid.push(r);
        placed[i] = Some((r, ls));
    }
    // The graph's extent, labels included (a label beside an outer edge may stick out).
    let (min_x, max_x, max_y) = avoid
        .iter()
        .fold((0.0f64, lay.width, lay.height), |(a, b, c), r| {
            (a.min(r.left()), b.max(r.right()), c.max(r.bottom()))
        });
    let graph_w = max_x - min_x;

    // Everything below the graph, to size the canvas.
    let subtitle = format!(
        "{} failed requests seen by the loads · {} replication{} · {:.0} s simulated each",
        count(p.failures),
        p.replications,
        if p.replications == 1 { "" } else { "s" },
        p.end_s
    );
    let legend: [(&str, &str); 6] = [
        (
            "colour",
            "failure rate of the edge (grey: none; amber → red at 50 %)",
        ),
        ("width", "the edge's share of all failures"),
        (
            "solid",
            "failures caused at the callee (its own error or its proxy's reply)",
        ),
        ("dashed", "failures the callee only passed on from deeper"),
        ("red box", "root cause: failure chains end here"),
        (
            "×1.25",
            "attempts per request (retries), + the extra attempts",
        ),
    ];
    let chains: Vec<String> = p
        .chains
        .iter()
        .take(LISTED_CHAINS)
        .map(|c| format!("{:>6}  {:>5}  {}", pct(c.share), count(c.count), c.text))
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    for b in &p.breakers {
        rows.push(Row {
            label: format!("breaker of {} for {}", b.proxy, b.cluster),
            colour: BREAKER,
            windows: &b.windows,
        });
    }
    for e in &p.ejections {
        rows.push(Row {
            label: format!("{} ejected by {} ({})", e.host, e.proxy, e.cluster),
            colour: EJECTED,
            windows: &e.windows,
        });
    }
    let hidden = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    let text_block_w = legend
        .iter()
        .map(|(_, v)| 80.0 + text_w(v, SMALL_PX, false))
        .chain(chains.iter().map(|c| text_w(c, SMALL_PX, false)))
        .chain(rows.iter().map(|r| text_w(&r.label, SMALL_PX, false)))
        .chain([
            text_w(&subtitle, 12.0, false),
            note.map_or(0.0, |n| text_w(n, 12.0, false)),
            text_w(&p.title, 18.0, true) + 200.0,
        ])
        .fold(600.0, f64::max);
    let width = (graph_w.max(text_block_w) + 2.0 * MARGIN).ceil();
    // The graph centred; layout coordinates + (gx, gy) = picture coordinates.
    let gx = ((width - graph_w) / 2.0).floor() - min_x;
    let gy = if note.is_some() { 92.0 } else { 76.0 };
    let moved = |(x, y): (f64, f64)| (x + gx, y + gy);
    let shift = |r: &Rect| Rect {
        x: r.x + gx,
        y: r.y + gy,
        ..*r
    };

    // The body first: the height is known only at its end.
    let mut s = Svg { out: String::new() };
    s.text(
        MARGIN,
        32.0,
        18.0,
        "start",
        " font-weight=\"bold\"",
        &if p.is_healthy() {
            format!("{} — service graph", p.title)
        } else {
            format!("{} — failure propagation", p.title)
        },
    );
    s.text(MARGIN, 54.0, 12.0, "start", " fill=\"#555555\"", &subtitle);
    if let Some(n) = note {
        s.text(MARGIN, 70.0, 12.0, "start", " fill=\"#555555\"", n);
    }

    // Edges, then boxes over their ends, then labels over everything.
    let max_failed = p.edges.iter().map(|e| e.counts.failed).max().unwrap_or(0);
    let _ = writeln!(s.out, "<g id=\"edges\">");
    for &i in &order {
        let c = &p.edges[i].counts;
        let pts: Vec<(f64, f64)> = lay.routes[i].points.iter().map(|&q| moved(q)).collect();
        let dashed = c.failed > 0 && c.caused == 0;
        s.arrow(
            &pts,
            &rate_colour(c.failure_rate()),
            stroke(c.failed, max_failed),
            dashed,
        );
    }
    let _ = writeln!(s.out, "</g>\n<g id=\"nodes\">");
    for ((n, b), ls) in p.nodes.iter().zip(&lay.boxes).zip(&labels) {
        let b = shift(b);
        let (fill, edge, rx) = match n.node {
            Node::Load(_) => ("#dbe9f6", "#2f6fab", b.h / 2.0),
            Node::Service(_) if n.root_of > 0 => ("#f9d6d5", "#c62828", 6.0),
            Node::Service(_) => ("#f4f4f4", "#777777", 6.0),
        };
        s.rect(&b, rx, fill, edge, " stroke-width=\"1.5\"");
        let mut y = b.top() + 9.0 + NAME_PX;
        for (k, l) in ls.iter().enumerate() {
            if k == 0 {
                s.text(b.x, y, NAME_PX, "middle", " font-weight=\"bold\"", l);
                y += LINE + 1.0;
            } else {
                s.text(b.x, y, SMALL_PX, "middle", " fill=\"#444444\"", l);
                y += LINE;
            }
        }
    }
    let _ = writeln!(s.out, "</g>\n<g id=\"labels\">");
    for &i in order.iter().rev() {
        let Some((r, ls)) = &placed[i] else { continue };
        let r = shift(r);
        let e = &p.edges[i];
        let colour = if e.counts.failed > 0 {
            rate_colour(e.counts.failure_rate())
        } else {
            "#555555".to_string()
        };
        s.rect(
            &r,
            3.0,
            "#ffffff",
            &colour,
            " stroke-width=\"0.8\" fill-opacity=\"0.92\"",
        );
        for (k, l) in ls.iter().enumerate() {
            s.text(
                r.x,
                r.top() + 13.0 + k as f64 * 13.0,
                SMALL_PX,
                "middle",
                &format!(" fill=\"{colour}\""),
                l,
            );
        }
    }
    let _ = writeln!(s.out, "</g>");

    // Legend and chains, left-aligned under the graph.
    let mut y = gy + max_y + 40.0;
    let _ = writeln!(s.out, "<g id=\"legend\">");
    s.text(
        MARGIN,
        y,
        13.0,
        "start",
        " font-weight=\"bold\"",
        "How to read",
    );
    y += 8.0;
    for (k, (key, text)) in legend.iter().enumerate() {
        let yy = y + 16.0 * (k as f64 + 1.0);
        let sample = (MARGIN, yy - 4.0);
        match *key {
            "colour" => {
                for (j, rate) in [0.0, 0.02, 0.1, 0.25, 0.5].iter().enumerate() {
                    let x = sample.0 + j as f64 * 12.0;
                    let _ = writeln!(
                        s.out,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"11\" height=\"8\" fill=\"{}\"/>",
                        sample.1 - 4.0,
                        rate_colour(*rate)
                    );
                }
            }
            "width" => {
                s.line(sample, (sample.0 + 26.0, sample.1), GREY, 1.2, "");
                s.line(
                    (sample.0 + 34.0, sample.1),
                    (sample.0 + 60.0, sample.1),
                    BREAKER,
                    6.0,
                    "",
                );
            }
            "solid" => s.line(sample, (sample.0 + 60.0, sample.1), BREAKER, 2.5, ""),
            "dashed" => s.line(
                sample,
                (sample.0 + 60.0, sample.1),
                "#ef8f00",
                2.5,
                " stroke-dasharray=\"7 4\"",
            ),
            "red box" => s.rect(
                &Rect {
                    x: sample.0 + 30.0,
                    y: sample.1,
                    w: 60.0,
                    h: 12.0,
                },
                3.0,
                "#f9d6d5",
                "#c62828",
                "",
            ),
            _ => s.text(
                sample.0 + 30.0,
                yy,
                SMALL_PX,
                "middle",
                " font-weight=\"bold\"",
                key,
            ),
        }
        s.text(MARGIN + 76.0, yy, SMALL_PX, "start", "", text);
    }
    y += 16.0 * legend.len() as f64 + 30.0;
    let _ = writeln!(s.out, "</g>");
    if !chains.is_empty() {
        let _ = writeln!(s.out, "<g id=\"chains\">");
        let heading = if p.distinct_chains > chains.len() {
            format!(
                "Most frequent failure chains ({} of {})",
                chains.len(),
                p.distinct_chains
            )
        } else {
            "Failure chains".to_string()
        };
        s.text(MARGIN, y, 13.0, "start", " font-weight=\"bold\"", &heading);
        for c in &chains {
            y += 16.0;
            s.text(MARGIN, y, SMALL_PX, "start", " xml:space=\"preserve\"", c);
        }
        y += 30.0;
        let _ = writeln!(s.out, "</g>");
    }
    if !rows.is_empty() {
        y = timeline(&mut s, p, &rows, hidden, y, width);
    }
    let height = (y + MARGIN).ceil();
    let mut out = String::with_capacity(s.out.len() + 400);
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"{FONT}\">"
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
    );
    out.push_str(&s.out);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::timeline::tick_step;
    use super::*;
    use crate::metrics::propagation::{Link, PropagationRecorder};
    use crate::report::propagation::resolve;
    use crate::report::propagation::tests::{S, names, report, shop};

    /// Checks that every tag is closed in order (a well-formedness check for
    /// the subset of XML we write: no comments, no CDATA), and counts tags.
    fn tags(svg: &str) -> std::collections::BTreeMap<String, usize> {
        let mut stack: Vec<String> = Vec::new();
        let mut counts = std::collections::BTreeMap::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let j = rest[i..].find('>').expect("unclosed tag") + i;
            let tag = &rest[i + 1..j];
            rest = &rest[j + 1..];
            if tag.starts_with('?') {
                continue;
            }
            assert!(!tag.contains('<'), "{tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "closing {name}");
                continue;
            }
            let name = tag
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
            *counts.entry(name.clone()).or_insert(0) += 1;
            if !tag.ends_with('/') {
                stack.push(name);
            }
            // Attribute values are quoted and balanced.
            assert_eq!(tag.matches('"').count() % 2, 0, "{tag}");
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert!(rest.trim().is_empty());
        counts
    }

    #[test]
    fn bookinfo_svg_is_well_formed_with_one_shape_per_thing() {
        let p = report();
        let svg = render(&p);
        let t = tags(&svg);
        assert_eq!(t["svg"], 1);
        // 4 edges: one polyline and one arrowhead each.
        assert_eq!(t["polyline"], 4);
        assert_eq!(t["polygon"], 4);
        for g in ["edges", "nodes", "labels", "legend", "chains", "windows"] {
            assert!(svg.contains(&format!("<g id=\"{g}\">")), "{g}");
        }
        assert!(svg.contains(">ratings.default</text>"));
        assert!(svg.contains(">root of 60 failures (60.0 %)</text>"));
        assert!(svg.contains(">×1.12 attempts (+120)</text>"));
        assert!(svg.contains("ratings-v1-0 ejected by pod/default/reviews-v1/0"));
        assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns="));
        // Same input, same bytes.
        assert_eq!(svg, render(&p));
    }

    /// The boxes and edge labels of the graph (the `rect`s between the node
    /// group and the legend), as rectangles.
    fn graph_rects(svg: &str) -> Vec<Rect> {
        let part = svg.split("<g id=\"nodes\">").nth(1).unwrap();
        let part = part.split("<g id=\"legend\">").next().unwrap();
        part.lines()
            .filter(|l| l.starts_with("<rect "))
            .map(|line| {
                let attr = |k: &str| -> f64 {
                    let i = line.find(&format!(" {k}=\"")).unwrap() + k.len() + 3;
                    line[i..].split('"').next().unwrap().parse().unwrap()
                };
                let (x, y, w, h) = (attr("x"), attr("y"), attr("width"), attr("height"));
                Rect {
                    x: x + w / 2.0,
                    y: y + h / 2.0,
                    w,
                    h,
                }
            })
            .collect()
    }

    fn canvas(svg: &str) -> (f64, f64) {
        let head = svg.lines().nth(1).unwrap();
        let num = |k: &str| -> f64 {
            let i = head.find(&format!(" {k}=\"")).unwrap() + k.len() + 3;
            head[i..].split('"').next().unwrap().parse().unwrap()
        };
        (num("width"), num("height"))
    }

    fn assert_readable(svg: &str, boxes_and_labels: usize) {
        let rects = graph_rects(svg);
        assert_eq!(rects.len(), boxes_and_labels);
        for (i, a) in rects.iter().enumerate() {
            for b in &rects[i + 1..] {
                assert!(!a.overlaps(b, 0.0), "{a:?} overlaps {b:?}");
            }
        }
        let (w, h) = canvas(svg);
        for r in &rects {
            assert!(
                r.left() >= 0.0 && r.right() <= w && r.top() >= 0.0 && r.bottom() <= h,
                "{r:?} outside {w}×{h}"
            );
        }
    }

    #[test]
    fn bookinfo_boxes_and_labels_do_not_overlap() {
        assert_readable(&render(&report()), 5 + 4);
    }

    #[test]
    fn a_graph_with_a_cycle_a_self_loop_and_a_long_edge_stays_readable() {
        let p = shop();
        let svg = render(&p);
        let t = tags(&svg);
        assert_eq!(t["polyline"], 13);
        assert_eq!(t["polygon"], 13);
        assert_readable(&svg, 10 + 13);
        assert!(svg.contains("simulated seconds, replications overlaid"));
        // 90 breaker windows (30 per replication), 6 ejections.
        let windows = svg.split("<g id=\"windows\">").nth(1).unwrap();
        assert_eq!(windows.matches(&format!("fill=\"{BREAKER}\"")).count(), 90);
        assert_eq!(windows.matches(&format!("fill=\"{EJECTED}\"")).count(), 6);
    }

    #[test]
    fn only_windows_or_only_a_load_still_draw() {
        let mut r = PropagationRecorder::default();
        r.breaker_reject("p", "c", 5 * S);
        let p = resolve(&r, &names(), "t", 10 * S).unwrap();
        let svg = render(&p);
        tags(&svg);
        assert!(!svg.contains("<polyline"));
        assert!(svg.contains("breaker of p for c"));
        let mut r = PropagationRecorder::default();
        r.failure(&[Link::new(Node::Load(0), 0, "-")]);
        let svg = render(&resolve(&r, &names(), "t", 10 * S).unwrap());
        tags(&svg);
        assert_readable(&svg, 1);
        assert!(!svg.contains("<g id=\"windows\">"));
    }

    #[test]
    fn colours_and_ticks() {
        assert_eq!(rate_colour(0.0), GREY);
        assert_eq!(rate_colour(0.5), "#b71c1c");
        assert_eq!(rate_colour(0.9), "#b71c1c");
        assert_eq!(tick_step(100.0), 20.0);
        assert_eq!(tick_step(7.0), 1.0);
        assert_eq!(tick_step(3600.0), 500.0);
    }
}
