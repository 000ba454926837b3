//! `propagation.dot`: the failure graph for Graphviz (`dot -Tpng`), for those
//! who want to restyle or combine it. Same model as the SVG meshsim draws
//! itself; nodes are loads and Services, edge labels carry requests, failure
//! rate, caused vs passed on and retry amplification, and edges where failures
//! are caused are red.

use super::{Edge, NodeInfo, Propagation};
use crate::metrics::propagation::Node;
use std::fmt::Write;

/// A DOT double-quoted string (`"` and `\` escaped, newlines as `\n`).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

pub use crate::report::round::count;

/// A rate as a percentage with one decimal (two below 1 %, so a small rate
/// does not read as 0.0 %).
pub fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p > 0.0 && p < 1.0 {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

/// The lines of an edge's label (shared with the SVG).
pub fn edge_label(e: &Edge) -> Vec<String> {
    let c = &e.counts;
    let mut lines = vec![format!("{} req", count(c.requests))];
    if c.failed > 0 {
        lines[0].push_str(&format!(" · {} failed", pct(c.failure_rate())));
        lines.push(format!(
            "caused {} · passed on {}",
            count(c.caused),
            count(c.passed_on())
        ));
    }
    if c.attempts > c.requests {
        lines.push(format!(
            "×{:.2} attempts (+{})",
            c.amplification(),
            count(c.extra_load())
        ));
    } else if c.attempts < c.requests {
        // Requests the caller's proxy answered itself (fault abort, breaker
        // overflow, no healthy host) or reset before any attempt.
        lines.push(format!(
            "{} never sent upstream",
            count(c.requests - c.attempts)
        ));
    }
    lines
}

/// The lines of a node's label (shared with the SVG).
pub fn node_label(n: &NodeInfo, failures: u64) -> Vec<String> {
    let mut lines = vec![n.name.clone()];
    if n.root_of > 0 {
        lines.push(format!(
            "root of {} failures ({})",
            count(n.root_of),
            pct(n.root_of as f64 / failures.max(1) as f64)
        ));
    }
    if n.failures_seen > 0 {
        lines.push(format!("{} failed", count(n.failures_seen)));
    }
    lines
}

fn node_id(n: Node) -> String {
    match n {
        Node::Load(i) => format!("l{i}"),
        Node::Service(i) => format!("s{i}"),
    }
}

/// Renders the graph as DOT (deterministic: nodes and edges in node order).
pub fn render(p: &Propagation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph propagation {{");
    let _ = writeln!(
        out,
        "  label={};",
        quote(&format!(
            "{} — failure propagation: {} failed requests, {} replication{}",
            p.title,
            count(p.failures),
            p.replications,
            if p.replications == 1 { "" } else { "s" }
        ))
    );
    let _ = writeln!(out, "  labelloc=t;");
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", fontname=\"Helvetica\"];"
    );
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");
    for n in &p.nodes {
        let mut attrs = vec![format!(
            "label={}",
            quote(&node_label(n, p.failures).join("\n"))
        )];
        match n.node {
            Node::Load(_) => {
                attrs.push("shape=ellipse".into());
                attrs.push("fillcolor=\"#dbe9f6\"".into());
            }
            Node::Service(_) if n.root_of > 0 => attrs.push("fillcolor=\"#f9d6d5\"".into()),
            Node::Service(_) => {}
        }
        let _ = writeln!(out, "  {} [{}];", node_id(n.node), attrs.join(", "));
    }
    for e in &p.edges {
        let c = &e.counts;
        let color = if c.caused > 0 {
            "#c62828"
        } else if c.failed > 0 {
            "#ef8f00"
        } else {
            "#9e9e9e"
        };
        let width = 1.0 + 4.0 * c.failure_rate().min(1.0);
        let _ = writeln!(
            out,
            "  {} -> {} [label={}, color=\"{color}\", fontcolor=\"{color}\", penwidth={width:.2}];",
            node_id(e.caller),
            node_id(e.callee),
            quote(&edge_label(e).join("\n"))
        );
    }
    let _ = writeln!(out, "}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::propagation::tests::report;

    #[test]
    fn bookinfo_dot_is_exact() {
        let want = r##"digraph propagation {
  label="bookinfo — failure propagation: 100 failed requests, 1 replication";
  labelloc=t;
  rankdir=TB;
  node [shape=box, style="rounded,filled", fillcolor="#f4f4f4", fontname="Helvetica"];
  edge [fontname="Helvetica", fontsize=10];
  l0 [label="load/web\n100 failed", shape=ellipse, fillcolor="#dbe9f6"];
  s0 [label="productpage.default\nroot of 10 failures (10.0 %)", fillcolor="#f9d6d5"];
  s1 [label="reviews.default"];
  s2 [label="ratings.default\nroot of 60 failures (60.0 %)", fillcolor="#f9d6d5"];
  s3 [label="details.default\nroot of 30 failures (30.0 %)", fillcolor="#f9d6d5"];
  l0 -> s0 [label="1,000 req · 10.0 % failed\ncaused 10 · passed on 90", color="#c62828", fontcolor="#c62828", penwidth=1.40];
  s0 -> s1 [label="990 req · 6.1 % failed\ncaused 0 · passed on 60\n×1.12 attempts (+120)", color="#ef8f00", fontcolor="#ef8f00", penwidth=1.24];
  s0 -> s3 [label="1,000 req · 3.0 % failed\ncaused 30 · passed on 0", color="#c62828", fontcolor="#c62828", penwidth=1.12];
  s1 -> s2 [label="990 req · 6.1 % failed\ncaused 60 · passed on 0", color="#c62828", fontcolor="#c62828", penwidth=1.24];
}
"##;
        assert_eq!(render(&report()), want);
    }

    #[test]
    fn cycles_and_self_loops_are_plain_edges() {
        let d = render(&crate::report::propagation::tests::shop());
        assert_eq!(d.lines().filter(|l| l.contains(" -> ")).count(), 13);
        assert!(d.contains("  s2 -> s2 [label=\"2,610 req"), "{d}");
        assert!(d.contains("  s7 -> s5 ["));
        assert!(d.contains("  s5 -> s7 ["));
        assert!(d.contains("  s6 [label=\"cache.shop\"];"));
        assert!(d.contains("  l1 [label=\"load/mobile\\n102 failed\", shape=ellipse"));
    }

    #[test]
    fn quotes_and_counts() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(pct(0.004), "0.40 %");
        assert_eq!(pct(0.0), "0.0 %");
        assert_eq!(pct(0.25), "25.0 %");
    }

    #[test]
    fn edge_labels_say_retries_or_requests_never_sent() {
        use crate::metrics::propagation::{EdgeCounts, Node};
        let edge = |requests, attempts, failed, caused| Edge {
            caller: Node::Service(0),
            callee: Node::Service(1),
            caller_name: "frontend".into(),
            callee_name: "backend".into(),
            counts: EdgeCounts {
                requests,
                attempts,
                failed,
                caused,
            },
        };
        // Half aborted by the caller's proxy (FI): never reached the callee.
        assert_eq!(
            edge_label(&edge(10, 5, 5, 5)),
            [
                "10 req · 50.0 % failed",
                "caused 5 · passed on 0",
                "5 never sent upstream"
            ]
        );
        assert_eq!(
            edge_label(&edge(100, 125, 0, 0)),
            ["100 req", "×1.25 attempts (+25)"]
        );
        assert_eq!(edge_label(&edge(7, 7, 0, 0)), ["7 req"]);
    }
}
