//! Overload said out loud: when a run describes a transient (a queue that
//! grew through the window, requests piling up unfinished), the report says
//! so instead of printing percentiles as if they were a steady state.
//!
//! Two findings, each only when it is large — so a stable system's ordinary
//! fluctuations never trigger them (M/M/4 at ρ = 0.9 has P(queue ≥ 100)
//! ≈ 0.79 · 0.9^96 ≈ 3·10⁻⁵):
//! * **queue grew**: a workload's waiting requests (all pods) at the end of
//!   the window exceed those at its start by at least 100 and by at least 1 %
//!   of the requests it received in the window (the replication with the
//!   largest growth is quoted). The note gives the offered rate (requests ÷
//!   window) and the capacity pods × workers ÷ (busy time per request served
//!   in the window, the warm-up's backlog included), the numbers that say why.
//! * **in flight**: a load or workload still has more than 1 % of its
//!   window's requests (and at least 100) unfinished at the end: its
//!   percentiles describe only the requests that finished.
//!
//! Rendered as `overload` in `summary.json` (absent when empty, so other
//! reports keep their shape) and as `OVERLOAD:` lines atop the terminal table.

use crate::batch::{Merged, Stream};
use crate::report::round::{count, sig3 as rate};
use crate::scenario::Scenario;

fn in_flight_note(name: &str, s: &Stream) -> Option<String> {
    let (n, req) = (s.in_flight, s.pooled.requests);
    (n >= 100 && n * 100 > req).then(|| {
        format!(
            "{name}: {} of {} requests ({:.1} %) still in flight at the end — its percentiles exclude unfinished requests",
            count(n),
            count(req),
            n as f64 * 100.0 / req.max(1) as f64
        )
    })
}

/// What the report must say about overload (empty for a steady state).
pub fn notes(spec: &Scenario, m: &Merged) -> Vec<String> {
    let mut out = Vec::new();
    let span = m.window_secs * m.replications.max(1) as f64;
    for (di, d) in spec.deployments.iter().enumerate() {
        let (Some(s), Some(c)) = (m.workloads.get(di), m.capacity.get(di)) else {
            continue;
        };
        let (q0, q1) = m.queue_growth.get(di).copied().unwrap_or((0, 0));
        let per_rep = s.pooled.requests / m.replications.max(1) as u64;
        let grew = q1.saturating_sub(q0);
        if grew >= 100 && grew * 100 >= per_rep {
            let offered = if span > 0.0 {
                s.pooled.requests as f64 / span
            } else {
                0.0
            };
            // Work done in the window: its own finished requests plus the
            // backlog it inherited from the warm-up (≈; ignores the few in
            // service at either edge).
            let served = s.pooled.count + q0 * m.replications.max(1) as u64;
            let capacity = if c.busy_ns > 0 && served > 0 {
                let per_req_s = c.busy_ns as f64 / 1e9 / served as f64;
                format!("{} rps", rate((c.pods * c.workers) as f64 / per_req_s))
            } else {
                "unknown".into()
            };
            out.push(format!(
                "{}: queue grew {} → {}; offered ≈ {} rps, capacity ≈ {capacity} — results describe a transient, not a steady state; percentiles exclude unfinished requests",
                d.key(),
                count(q0),
                count(q1),
                rate(offered)
            ));
        }
    }
    for (l, s) in spec.loads.iter().zip(&m.loads) {
        out.extend(in_flight_note(&format!("load {}", l.name), s));
    }
    for (d, s) in spec.deployments.iter().zip(&m.workloads) {
        out.extend(in_flight_note(&d.key(), s));
    }
    out
}
