//! The terminal view of the propagation report, printed after the summary
//! tables: the most frequent failure chains (root cause last), the call edges
//! with retry amplification and caused vs passed-on failures, and when
//! breakers rejected and hosts were ejected.

use super::dot::{count, pct};
use super::{Propagation, Span};
use std::fmt::Write;

/// Windows listed per breaker or host (the rest are counted).
const WINDOWS_SHOWN: usize = 6;

fn windows(ws: &[Span], replications: u32) -> String {
    let mut parts: Vec<String> = ws
        .iter()
        .take(WINDOWS_SHOWN)
        .map(|w| {
            let rep = if replications > 1 {
                format!("r{} ", w.replication)
            } else {
                String::new()
            };
            let to = match w.to_s {
                Some(t) => format!("{t:.1} s"),
                None => "end".to_string(),
            };
            let n = match w.rejections {
                Some(1) => " (1 rejection)".to_string(),
                Some(n) => format!(" ({} rejections)", count(n)),
                None => String::new(),
            };
            format!("{rep}{:.1}–{to}{n}", w.from_s)
        })
        .collect();
    if ws.len() > WINDOWS_SHOWN {
        parts.push(format!("… {} more", ws.len() - WINDOWS_SHOWN));
    }
    parts.join(", ")
}

/// Renders the tables (starting with a blank line, as the summary's sections do).
pub fn render(p: &Propagation) -> String {
    let mut out = String::new();
    if p.failures > 0 {
        let _ = writeln!(
            out,
            "\nFailure propagation: {} failed requests at the loads, {} distinct chain{} (outermost first, root cause last)",
            count(p.failures),
            p.distinct_chains,
            if p.distinct_chains == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "  {:>9} {:>8}  chain", "failures", "share");
        for c in &p.chains {
            let _ = writeln!(
                out,
                "  {:>9} {:>8}  {}",
                count(c.count),
                pct(c.share),
                c.text
            );
        }
        if p.distinct_chains > p.chains.len() {
            let shown: u64 = p.chains.iter().map(|c| c.count).sum();
            let _ = writeln!(
                out,
                "  {:>9} {:>8}  … {} more chains (summary.json lists the top {})",
                count(p.failures - shown),
                pct((p.failures - shown) as f64 / p.failures as f64),
                p.distinct_chains - p.chains.len(),
                p.chains.len()
            );
        }
    }
    if !p.edges.is_empty() {
        let names: Vec<String> = p
            .edges
            .iter()
            .map(|e| format!("{} → {}", e.caller_name, e.callee_name))
            .collect();
        let w = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(28);
        let _ = writeln!(
            out,
            "\nCalls, caller → callee (ampl. = upstream attempts ÷ requests, below 1 when the caller's proxy answered some itself; failed = caused at the callee + passed on from deeper)"
        );
        let _ = writeln!(
            out,
            "  {:<w$} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "edge",
            "requests",
            "attempts",
            "ampl.",
            "extra",
            "failed",
            "fail %",
            "caused",
            "passed-on"
        );
        for (e, name) in p.edges.iter().zip(&names) {
            let c = &e.counts;
            // `{:<w$}` pads by chars, so the arrow does not shift the columns.
            let _ = writeln!(
                out,
                "  {name:<w$} {:>9} {:>9} {:>6.2} {:>8} {:>8} {:>8} {:>8} {:>9}",
                c.requests,
                c.attempts,
                c.amplification(),
                c.extra_load(),
                c.failed,
                pct(c.failure_rate()),
                c.caused,
                c.passed_on()
            );
        }
    }
    if !p.breakers.is_empty() {
        let _ = writeln!(
            out,
            "\nCircuit breakers: when they rejected (simulated s since the start; rejections < 1 s apart form one window)"
        );
        for b in &p.breakers {
            let _ = writeln!(
                out,
                "  {} → {}: {}",
                b.proxy,
                b.cluster,
                windows(&b.windows, p.replications)
            );
        }
    }
    if !p.ejections.is_empty() {
        let _ = writeln!(
            out,
            "\nOutlier ejections: when hosts were out (simulated s since the start; `end`: still ejected)"
        );
        for e in &p.ejections {
            let _ = writeln!(
                out,
                "  {} ejected by {} ({}): {}",
                e.host,
                e.proxy,
                e.cluster,
                windows(&e.windows, p.replications)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::propagation::PropagationRecorder;
    use crate::report::propagation::resolve;
    use crate::report::propagation::tests::{S, bookinfo, names, report};

    #[test]
    fn bookinfo_table_reads_right() {
        let t = render(&report());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "");
        assert!(lines[1].starts_with(
            "Failure propagation: 100 failed requests at the loads, 3 distinct chains"
        ));
        assert_eq!(
            lines[3],
            "         60   60.0 %  load/web 500 ← productpage.default 500 call-failed ← reviews.default 504 UT ← ratings.default DI"
        );
        let edge = lines
            .iter()
            .find(|l| l.contains("productpage.default → reviews.default"))
            .unwrap();
        let cols: Vec<&str> = edge.split_whitespace().collect();
        assert_eq!(
            cols[3..],
            ["990", "1110", "1.12", "120", "60", "6.1", "%", "0", "60"]
        );
        // Columns line up: every edge row is as wide as the header (in chars).
        let head = lines
            .iter()
            .position(|l| l.trim_start().starts_with("edge "))
            .unwrap();
        let width = lines[head].chars().count();
        for l in &lines[head + 1..head + 5] {
            assert_eq!(l.chars().count(), width, "{l}");
        }
        assert!(t.contains(
            "  pod/default/web-load → outbound|9080||productpage.default.svc.cluster.local: 12.0–12.3 s (2 rejections), 40.0–40.0 s (1 rejection)\n"
        ));
        assert!(t.contains(
            "  ratings-v1-0 ejected by pod/default/reviews-v1/0 (outbound|9080||ratings.default.svc.cluster.local): 20.0–50.0 s, 80.0–end\n"
        ));
    }

    #[test]
    fn replications_are_named_and_long_lists_cut() {
        let mut rs: Vec<PropagationRecorder> = Vec::new();
        for k in 0..2 {
            let mut r = bookinfo();
            for i in 0..10 {
                r.breaker_reject("p", "c", (100 + 10 * i + k) * S);
            }
            rs.push(r);
        }
        let m = PropagationRecorder::merge_all(&rs);
        let t = render(&resolve(&m, &names(), "b", 300 * S).unwrap());
        let line = t.lines().find(|l| l.starts_with("  p → c: ")).unwrap();
        assert_eq!(
            line,
            "  p → c: r0 100.0–100.0 s (1 rejection), r0 110.0–110.0 s (1 rejection), r0 120.0–120.0 s (1 rejection), r0 130.0–130.0 s (1 rejection), r0 140.0–140.0 s (1 rejection), r0 150.0–150.0 s (1 rejection), … 14 more"
        );
        assert!(t.contains("200 failed requests"));
    }
}
