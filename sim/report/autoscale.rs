//! What the HorizontalPodAutoscalers did (`world/autoscale.rs`): an
//! `autoscaling` section of summary.json, a terminal block and the replica
//! series of the timeline plot — all only when the scenario has an HPA, so
//! other reports keep their shape.
//!
//! Replication 0's syncs, like the pod events (each replication draws its
//! own traffic split, so later syncs may differ between replications).

use crate::batch::Merged;
use crate::report::round::r3;
use crate::scenario::Scenario;
use crate::world::autoscale::HpaTrace;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Replication 0's HPA traces (empty without an HPA).
pub fn traces(m: &Merged) -> &[HpaTrace] {
    m.outcomes.first().map_or(&[], |o| &o.autoscale[..])
}

fn secs(t: crate::engine::SimTime) -> Value {
    r3(t.0 as f64 * 1e-9)
}

/// `autoscaling`: one entry per HPA with its spec, the replica trajectory
/// (`replicas`: each change) and every sync; None without an HPA.
pub fn json(spec: &Scenario, m: &Merged) -> Option<Value> {
    let tr = traces(m);
    if tr.is_empty() {
        return None;
    }
    let list: Vec<Value> = tr
        .iter()
        .zip(&spec.autoscalers)
        .map(|(t, a)| {
            let traj: Vec<Value> = t
                .trajectory()
                .iter()
                .map(|(at, n)| json!({"t_s": secs(*at), "replicas": n}))
                .collect();
            let syncs: Vec<Value> = t
                .syncs
                .iter()
                .map(|s| {
                    json!({
                        "t_s": secs(s.at),
                        "current": s.current,
                        "desired": s.desired,
                        "cpu_utilization_pct": s.utilization,
                        "pods": {"ready": s.pods[0], "unready": s.pods[1], "missing": s.pods[2], "ignored": s.pods[3]},
                        "reason": s.reason,
                    })
                })
                .collect();
            json!({
                "name": t.name,
                "deployment": spec.deployments[t.deployment].key(),
                "min_replicas": a.spec.min,
                "max_replicas": a.spec.max,
                "target_cpu_utilization_pct": a.spec.target_cpu,
                "behavior": if a.spec.behavior.is_some() { "spec.behavior" } else { "legacy (no behavior)" },
                "pod_cpu_request_milli": a.pod_request.as_ref().ok(),
                "metric_error": a.pod_request.as_ref().err(),
                "replicas": traj,
                "syncs": syncs,
            })
        })
        .collect();
    Some(json!({"replication": 0, "autoscalers": list}))
}

/// The terminal block: one line per HPA with its trajectory.
pub fn table(spec: &Scenario, m: &Merged) -> String {
    let mut out = String::new();
    let tr = traces(m);
    if tr.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nAutoscaling (replication 0):");
    for (t, a) in tr.iter().zip(&spec.autoscalers) {
        let steps: Vec<String> = t
            .trajectory()
            .iter()
            .map(|(at, n)| format!("{n} at {:.0} s", at.0 as f64 * 1e-9))
            .collect();
        let _ = writeln!(
            out,
            "  HPA {} → {} (replicas {}–{}, cpu target {}%): {}",
            t.name,
            spec.deployments[t.deployment].key(),
            a.spec.min,
            a.spec.max,
            a.spec.target_cpu,
            steps.join(" → ")
        );
        if let Err(e) = &a.pod_request {
            let _ = writeln!(out, "    never scaled: {e} (FailedGetResourceMetric)");
        }
    }
    out
}

/// An HPA's name, its replica count and its Deployment's Ready pods as
/// (t, n) step points.
pub type HpaSeries = (String, Vec<(f64, f64)>, Vec<(f64, f64)>);

/// Per HPA: its name, the replica count (step) and the Ready pods of its
/// Deployment, from 0 to `end_s`, on the timeline's axis (minus `warm`).
pub fn series(spec: &Scenario, m: &Merged, end_s: f64, warm: f64) -> Vec<HpaSeries> {
    let events = crate::report::pods::events(m);
    traces(m)
        .iter()
        .map(|t| {
            let step = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
                let mut out = Vec::new();
                for (i, &(x, y)) in pts.iter().enumerate() {
                    if i > 0 {
                        out.push((x - warm, pts[i - 1].1));
                    }
                    out.push((x - warm, y));
                }
                if let Some(&(_, y)) = pts.last() {
                    out.push((end_s - warm, y));
                }
                out.retain(|p| p.0 >= 0.0);
                out
            };
            let traj: Vec<(f64, f64)> = t
                .trajectory()
                .iter()
                .map(|(at, n)| (at.0 as f64 * 1e-9, f64::from(*n)))
                .collect();
            let dep = spec.deployments[t.deployment].key();
            let mut ready = f64::from(t.initial);
            let mut pts = vec![(0.0, ready)];
            for e in events.iter().filter(|e| e.workload == dep) {
                let d = match e.what {
                    "ready" => 1.0,
                    "unready" => -1.0,
                    _ => continue,
                };
                ready += d;
                pts.push((e.at.0 as f64 * 1e-9, ready));
            }
            (t.name.clone(), step(&traj), step(&pts))
        })
        .collect()
}
