//! See tests/main.rs for what this module covers.
//!
//! Kubelet probe semantics on the shipped `scenarios/chaos/` folders with
//! one probe added or changed, timelines asserted exactly (the cascade
//! itself is in tests/chaos.rs), and the inbound sidecar's
//! `reset-before-request` retry on container-kill.

use crate::chaos::{assert_accounting, ev, load, timeline};
use crate::common;
use serde_json::Value;

/// pod-kill-readiness (the replacement web-3 runs at 32 s and listens at
/// 40 s) with a startupProbe every 2 s allowing `failures` failures.
fn with_startup_probe(failures: u32) -> meshsim::batch::Merged {
    let probe = format!(
        "        startupProbe:\n          httpGet: {{path: /healthz, port: 8080}}\n          periodSeconds: 2\n          failureThreshold: {failures}\n        readinessProbe:\n"
    );
    let spec = load(
        "pod-kill-readiness",
        &[("app.yaml", "        readinessProbe:\n", &probe)],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    m
}

/// A startup probe too short for an 8 s start: it fails twice (32, 34 s),
/// the kubelet restarts the container (at once the first time), and again
/// and again with CrashLoopBackOff (10 s, then 20 s, then 40 s): the pod
/// never becomes ready, and the readiness probe never runs.
#[test]
fn a_startup_probe_shorter_than_the_start_crash_loops_for_ever() {
    let m = with_startup_probe(2);
    let t: Vec<_> = timeline(&m).into_iter().filter(|e| e.0 >= 32_000).collect();
    assert_eq!(
        t,
        vec![
            ev(32_000, "web-3", "started"),
            ev(34_000, "web-3", "died"),
            ev(36_000, "web-3", "started"),
            ev(38_000, "web-3", "died"),
            ev(38_000, "web-3", "back-off"),
            ev(50_000, "web-3", "started"),
            ev(52_000, "web-3", "died"),
            ev(52_000, "web-3", "back-off"),
            ev(74_000, "web-3", "started"),
            ev(76_000, "web-3", "died"),
            ev(76_000, "web-3", "back-off"),
        ]
    );
    let o = &m.outcomes[0];
    assert!(
        o.pod_events
            .iter()
            .filter(|e| e.what == "died" && e.pod == "web-3")
            .all(|e| e
                .detail
                .starts_with("startup probe failed 2× (connection refused"))
    );
    let counts: Vec<(&str, u32)> = o
        .pod_restarts
        .iter()
        .map(|r| (r.pod.as_str(), r.restarts))
        .collect();
    // The fourth restart (due at 118 s) is after the end of the run.
    assert_eq!(counts, vec![("web-3", 3)]);
}

/// Enough failures allowed (5 × 2 s): the startup probe passes at 40 s, the
/// first tick after the app listens; only then does the readiness probe
/// (initialDelaySeconds 5, every 2 s from 37 s) count: ready at 41 s.
#[test]
fn a_startup_probe_gates_readiness_until_it_passes() {
    let m = with_startup_probe(5);
    let t: Vec<_> = timeline(&m).into_iter().filter(|e| e.0 >= 32_000).collect();
    assert_eq!(
        t,
        vec![
            ev(32_000, "web-3", "started"),
            ev(40_000, "web-3", "listening"),
            ev(40_000, "web-3", "startup-passed"),
            ev(41_000, "web-3", "ready"),
            ev(42_000, "web-3", "endpoint-added"),
        ]
    );
    assert!(m.outcomes[0].pod_restarts.is_empty());
}

/// Failure chains of replication 0's run, as summary.json has them.
fn chains(spec: &meshsim::scenario::Scenario, m: &meshsim::batch::Merged) -> Vec<(String, u64)> {
    let text = meshsim::report::summary::render(spec, m);
    let v: Value = serde_json::from_str(&text).expect("json");
    v["propagation"]["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .map(|c| {
            (
                c["chain"].as_str().expect("chain").to_string(),
                c["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// container-kill (web-0's app dies at 30 s behind its live sidecar): the
/// requests that reach the dead app are retried twice by the inbound
/// Envoy (reset-before-request) before it answers 503 `UF,URX`; those it
/// was serving were sent, so they are not retried (503 `UC`).
#[test]
fn the_inbound_sidecar_retries_a_dead_app_before_answering_503() {
    let spec = load("container-kill", &[]);
    let m = common::run(&spec);
    assert_accounting(&m);
    let c = chains(&spec, &m);
    let find = |s: &str| c.iter().find(|(k, _)| k.ends_with(s)).map(|x| x.1);
    assert_eq!(
        find("web.default 503 UF,URX inbound sidecar: app not listening"),
        Some(154)
    );
    let uc = find("web.default 503 UC inbound sidecar: app container died").unwrap_or(0);
    assert!((5..=30).contains(&uc), "UC {uc}");
}

/// On a gRPC port Istio configures no inbound retry: the inbound Envoy
/// answers 503 `UF` at once.
#[test]
fn no_inbound_retry_on_a_grpc_port() {
    let spec = load(
        "container-kill",
        &[(
            "app.yaml",
            "ports: [{name: http, port: 8080}]",
            "ports: [{name: grpc, port: 8080}]",
        )],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    let c = chains(&spec, &m);
    assert!(c.iter().all(|(k, _)| !k.contains("URX")), "{c:?}");
    let uf = c
        .iter()
        .find(|(k, _)| k.ends_with("web.default 503 UF inbound sidecar: app not listening"))
        .map_or(0, |x| x.1);
    assert!(uf > 100, "{c:?}");
}

/// A probe with two handlers, or a liveness probe with successThreshold 2,
/// is rejected as the API server rejects it, with file, line and path.
#[test]
fn invalid_probes_are_located_errors() {
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 10s}\n";
    let dep = |probe: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: web\n{probe}"
        )
    };
    let err =
        |probe: &str| match common::load_texts(&[("app.yaml", &dep(probe)), ("sim.yaml", sim)]) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
    let e = err(
        "        livenessProbe:\n          httpGet: {path: /, port: 8080}\n          tcpSocket: {port: 8080}\n",
    );
    assert!(
        e.contains("app.yaml:11:9: document 1 (Deployment default/web): spec.template.spec.containers[0].livenessProbe: may not specify more than one handler"),
        "{e}"
    );
    let e = err(
        "        startupProbe:\n          exec: {command: [true]}\n          successThreshold: 2\n",
    );
    assert!(
        e.contains("app.yaml:13:29: document 1 (Deployment default/web): spec.template.spec.containers[0].startupProbe.successThreshold: must be 1 for a startupProbe"),
        "{e}"
    );
    let e = err("        readinessProbe:\n          periodSeconds: 5\n");
    assert!(e.contains("readinessProbe: needs one handler"), "{e}");
    assert!(e.contains("app.yaml:11:9"), "{e}");
    let ok = err(
        "        readinessProbe:\n          grpc: {port: 8080}\n          successThreshold: 2\n",
    );
    assert_eq!(ok, "");
}
