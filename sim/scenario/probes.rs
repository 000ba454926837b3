//! Reads a container's `readinessProbe`, `livenessProbe` and
//! `startupProbe` (Kubernetes `core/v1` `Probe`), with the API server's
//! defaults and validation (`pkg/apis/core/validation/validation.go`
//! `validateProbe`: thresholds ≥ 1, periodSeconds and timeoutSeconds ≥ 1,
//! exactly one handler; liveness and startup probes need
//! successThreshold 1, `validateLivenessProbe` / `validateStartupProbe`).

use super::decode::{Cx, V};
use super::spec::probe::{Probe, ProbeKind, Probes};
use crate::engine::SimDuration;

const HANDLERS: [(&str, ProbeKind); 4] = [
    ("httpGet", ProbeKind::HttpGet),
    ("tcpSocket", ProbeKind::TcpSocket),
    ("exec", ProbeKind::Exec),
    ("grpc", ProbeKind::Grpc),
];

fn int(cx: &mut Cx, p: &V, key: &str, default: i64, min: i64) -> i64 {
    p.get(key)
        .and_then(|v| cx.int_in(&v, min, 1 << 31))
        .unwrap_or(default)
}

/// One probe; None when it is invalid (reported on `cx`).
fn probe(cx: &mut Cx, p: &V, which: &str) -> Option<Probe> {
    let found: Vec<ProbeKind> = HANDLERS
        .iter()
        .filter(|(k, _)| p.has(k))
        .map(|&(_, kind)| kind)
        .collect();
    let kind = match found[..] {
        [k] => k,
        [] => {
            cx.error(p, "needs one handler (httpGet, tcpSocket, exec or grpc)");
            return None;
        }
        _ => {
            cx.error(p, "may not specify more than one handler");
            return None;
        }
    };
    let secs = |s: i64| SimDuration::from_secs(s as u64);
    let success = int(cx, p, "successThreshold", 1, 1);
    if success != 1 && which != "readinessProbe" {
        let at = p.get("successThreshold").expect("set when not 1");
        cx.error(&at, format!("must be 1 for a {which}"));
    }
    Some(Probe {
        kind,
        initial_delay: secs(int(cx, p, "initialDelaySeconds", 0, 0)),
        period: secs(int(cx, p, "periodSeconds", 10, 1)),
        timeout: secs(int(cx, p, "timeoutSeconds", 1, 1)),
        success_threshold: success as u32,
        failure_threshold: int(cx, p, "failureThreshold", 3, 1) as u32,
    })
}

/// Adds the probes `c` (one container of a pod template) declares to
/// `into`, keeping those an earlier container declared.
pub fn container(cx: &mut Cx, c: &V, into: &mut Probes) {
    for (key, slot) in [
        ("readinessProbe", &mut into.readiness),
        ("livenessProbe", &mut into.liveness),
        ("startupProbe", &mut into.startup),
    ] {
        if let Some(p) = c.get(key) {
            let read = probe(cx, &p, key);
            if slot.is_none() {
                *slot = read;
            }
        }
    }
}
