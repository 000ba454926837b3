//! What happened to pods during the run (`world/pod_lifecycle.rs`): a
//! `pods` section of summary.json and a terminal table, both only when the
//! scenario had lifecycle events — other reports keep their shape.
//!
//! Events are replication 0's (each replication draws its own mode choices
//! and jitter; the first one is the one `--trace` follows too).

use crate::batch::Merged;
use crate::world::pod_lifecycle::{PodEvent, PodRestarts};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Replication 0's events (empty without lifecycle).
pub fn events(m: &Merged) -> &[PodEvent] {
    m.outcomes.first().map_or(&[], |o| &o.pod_events[..])
}

/// `pods`: `{"events": [{"t_s", "workload", "pod", "event", "detail"}],
/// "replication": 0}`; None without events.
pub fn json(m: &Merged) -> Option<Value> {
    let ev = events(m);
    if ev.is_empty() {
        return None;
    }
    let list: Vec<Value> = ev
        .iter()
        .map(|e| {
            json!({
                "t_s": crate::report::round::r3(e.at.0 as f64 * 1e-9),
                "workload": e.workload,
                "pod": e.pod,
                "event": e.what,
                "detail": e.detail,
            })
        })
        .collect();
    let mut v = json!({"replication": 0, "events": list});
    let restarts = restarts(m);
    if !restarts.is_empty() {
        // Only when a container restarted: older reports keep their shape.
        let r: Vec<Value> = restarts
            .iter()
            .map(|r| json!({"workload": r.workload, "pod": r.pod, "restarts": r.restarts}))
            .collect();
        v["restarts"] = Value::Array(r);
    }
    Some(v)
}

/// Replication 0's container restarts per pod (pods that restarted).
pub fn restarts(m: &Merged) -> &[PodRestarts] {
    m.outcomes.first().map_or(&[], |o| &o.pod_restarts[..])
}

/// The terminal table: one line per event.
pub fn table(m: &Merged) -> String {
    let ev = events(m);
    let mut out = String::new();
    if ev.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nPod events (replication 0):");
    let _ = writeln!(
        out,
        "  {:>10}  {:<28} {:<18} detail",
        "t (s)", "pod", "event"
    );
    for e in ev {
        let _ = writeln!(
            out,
            "  {:>10.3}  {:<28} {:<18} {}",
            e.at.0 as f64 * 1e-9,
            e.pod,
            e.what,
            e.detail
        );
    }
    let r = restarts(m);
    if !r.is_empty() {
        let list: Vec<String> = r
            .iter()
            .map(|r| format!("{} ×{}", r.pod, r.restarts))
            .collect();
        let _ = writeln!(out, "  Container restarts: {}", list.join(" · "));
    }
    out
}

/// Times (s) of events worth marking on the timeline plot: deaths and
/// endpoint changes, with a short label.
pub fn marks(m: &Merged) -> Vec<(f64, String)> {
    events(m)
        .iter()
        .filter(|e| {
            matches!(
                e.what,
                "died"
                    | "endpoint-removed"
                    | "endpoint-added"
                    | "delayed"
                    | "unreachable"
                    | "partitioned"
                    | "scaled"
            )
        })
        .map(|e| {
            let what = match e.what {
                "died" => "died",
                "endpoint-removed" => "out",
                "endpoint-added" => "in",
                "unreachable" => "lost",
                "partitioned" => "cut",
                "scaled" => "scaled",
                _ => "delay",
            };
            (e.at.0 as f64 * 1e-9, format!("{} {what}", e.pod))
        })
        .collect()
}
