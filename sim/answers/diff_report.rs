//! `meshsim diff`'s outputs: the terminal table and `diff.json`.
//!
//! Every change is printed with its 95 % paired interval — absolute
//! (`+19.800 [+18.010, +21.590]`) and relative (`+38.0 % [+34.5, +41.5]`) —
//! and a verdict: `significant` when the absolute interval excludes 0, `not
//! significant` when it covers 0, `identical` when every replication gave
//! the same value on both sides, and `no interval` with one replication.
//! Error rates are shown in % and their changes in percentage points (pp).

use super::diff::{Diff, Metric};
use serde_json::{Map, Value, json};
use std::fmt::Write;

/// The verdict word of one figure.
pub fn verdict(m: &Metric) -> &'static str {
    let p = &m.paired;
    match p.significant() {
        _ if p.delta == 0.0 && p.delta_ci.is_none_or(|c| c == (0.0, 0.0)) => "identical",
        Some(true) => "significant",
        Some(false) => "not significant",
        None => "no interval",
    }
}

/// Display scale and unit of a figure's change: error rates in % (pp).
fn scale(key: &str) -> (f64, &'static str) {
    if key == "error_rate" {
        (100.0, " pp")
    } else {
        (1.0, "")
    }
}

fn label(key: &str) -> String {
    match key {
        "throughput_rps" => "throughput rps".into(),
        "error_rate" => "error rate %".into(),
        "mean_ms" => "latency mean ms".into(),
        k => format!("latency {} ms", k.trim_end_matches("_ms")),
    }
}

fn change(m: &Metric) -> (String, String) {
    let p = &m.paired;
    let (k, unit) = scale(&m.key);
    let abs = match p.delta_ci {
        Some((lo, hi)) => format!("{:+.3}{unit} [{:+.3}, {:+.3}]", p.delta * k, lo * k, hi * k),
        None => format!("{:+.3}{unit}", p.delta * k),
    };
    let rel = match (p.relative, p.relative_ci) {
        (Some(r), Some((lo, hi))) => {
            // Enough decimals to show the interval's width (+20.00 % [19.96, 20.04]).
            let w = (hi - lo) * 100.0;
            let d = if w >= 1.0 || w == 0.0 {
                1
            } else if w >= 0.1 {
                2
            } else {
                3
            };
            format!(
                "{:+.d$} % [{:+.d$}, {:+.d$}]",
                r * 100.0,
                lo * 100.0,
                hi * 100.0
            )
        }
        (Some(r), None) => format!("{:+.1} %", r * 100.0),
        (None, _) => "-".into(),
    };
    (abs, rel)
}

/// The terminal table (after a header the caller writes). `all`: also the
/// figures that did not change at all.
pub fn table(d: &Diff, all: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  {:<18} {:>12} {:>12}  {:<34} {:<26} verdict",
        "", "base", "changed", "change", "relative"
    );
    let mut hidden = 0usize;
    for e in &d.entities {
        let shown: Vec<&Metric> = e
            .metrics
            .iter()
            .filter(|m| all || verdict(m) != "identical")
            .collect();
        hidden += e.metrics.len() - shown.len();
        if shown.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{} {}", singular(e.section), e.name);
        for m in shown {
            let (k, _) = scale(&m.key);
            let (abs, rel) = change(m);
            let _ = writeln!(
                s,
                "  {:<18} {:>12.3} {:>12.3}  {abs:<34} {rel:<26} {}",
                label(&m.key),
                m.paired.base * k,
                m.paired.changed * k,
                verdict(m)
            );
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            s,
            "({hidden} figures identical in every replication not shown; --all shows them)"
        );
    }
    for x in &d.only_base {
        let _ = writeln!(s, "only in base: {x}");
    }
    for x in &d.only_changed {
        let _ = writeln!(s, "only in changed: {x}");
    }
    let n = d.significant();
    let _ = writeln!(
        s,
        "{n} significant change{} at {:.0} % ({} over {} replications)",
        if n == 1 { "" } else { "s" },
        d.level * 100.0,
        if d.paired {
            "paired t"
        } else {
            "Welch t, independent seeds"
        },
        d.replications
    );
    s
}

fn singular(section: &str) -> &str {
    match section {
        "loads" => "load",
        "services" => "service",
        "workloads" => "workload",
        "routes" => "route",
        "destinations" => "destination",
        s => s,
    }
}

fn pair(c: Option<(f64, f64)>) -> Value {
    c.map_or(Value::Null, |(lo, hi)| json!([lo, hi]))
}

/// `diff.json`: `meta` (seed, sides, …) plus per section, entity and figure
/// `{base, changed, delta, delta_ci95, relative, relative_ci95, verdict}`.
pub fn json(d: &Diff, meta: Map<String, Value>) -> String {
    let mut top = meta;
    top.insert("replications".into(), json!(d.replications));
    top.insert("level".into(), json!(d.level));
    top.insert("paired".into(), json!(d.paired));
    top.insert("significant".into(), json!(d.significant()));
    for section in ["loads", "services", "workloads", "routes", "destinations"] {
        let mut sec = Map::new();
        for e in d.entities.iter().filter(|e| e.section == section) {
            let mut figs = Map::new();
            for m in &e.metrics {
                let p = &m.paired;
                figs.insert(
                    m.key.clone(),
                    json!({
                        "base": p.base,
                        "changed": p.changed,
                        "delta": p.delta,
                        "delta_ci95": pair(p.delta_ci),
                        "relative": p.relative,
                        "relative_ci95": pair(p.relative_ci),
                        "verdict": verdict(m),
                    }),
                );
            }
            sec.insert(e.name.clone(), Value::Object(figs));
        }
        if !sec.is_empty() {
            top.insert(section.into(), Value::Object(sec));
        }
    }
    top.insert("only_in_base".into(), json!(d.only_base));
    top.insert("only_in_changed".into(), json!(d.only_changed));
    let mut s = serde_json::to_string_pretty(&Value::Object(top)).expect("JSON of plain values");
    s.push('\n');
    s
}
