//! See tests/main.rs for what this module covers.
//!
//! fortio's closed-loop pacing (`periodic/periodic.go`) end to end, with
//! constant service times so every count and mean below is exact. The
//! send-time arithmetic of each mode is unit-tested in `sim/workload/pacing.rs`.

use crate::common;

fn scenario(service_ms: u32, workers: u32, closed: &str) -> String {
    format!(
        "{}---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: fortio}}
spec: {{target: \"http://web:8080/\", closed: {closed}}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: t}}
spec: {{duration: 60s, warmup: 0s, seed: 3}}
",
        common::server_yaml("web", 1, workers, &format!("{{constant: {service_ms}ms}}"))
    )
}

/// (requests issued, mean latency in ms) of the load.
fn run(text: &str) -> (u64, f64) {
    let spec = common::load_ok(text);
    let m = common::run(&spec);
    let l = &m.loads[0].pooled;
    (l.requests, l.sum_ns as f64 / l.count as f64 / 1e6)
}

#[test]
fn a_late_connection_catches_up_unless_no_catch_up() {
    // 10 qps on one connection (slots every 100 ms), each answer takes 150 ms:
    // every slot is missed. fortio catches up — sends at once — so requests
    // go back to back: 0, 150, 300 … ms ⇒ 400 in 60 s.
    assert_eq!(run(&scenario(150, 1, "{connections: 1, qps: 10}")).0, 400);
    // -nocatchup skips the missed slot: 0, 200, 400 … ms ⇒ 300.
    assert_eq!(
        run(&scenario(
            150,
            1,
            "{connections: 1, qps: 10, noCatchUp: true}"
        ))
        .0,
        300
    );
}

#[test]
fn on_time_connections_keep_the_schedule_and_uniform_staggers_them() {
    // 2 connections, 20 qps: each sends every 100 ms. One worker, 40 ms each.
    // Default: both connections send together, one waits 40 ms ⇒ mean 60 ms.
    let (n, mean) = run(&scenario(40, 1, "{connections: 2, qps: 20}"));
    assert_eq!(n, 1200);
    assert!((mean - 60.0).abs() < 1e-9, "{mean}");
    // -uniform: connection 1 starts 1/20 s = 50 ms later: nobody waits.
    let (n, mean) = run(&scenario(40, 1, "{connections: 2, qps: 20, uniform: true}"));
    assert_eq!(n, 1200);
    assert!((mean - 40.0).abs() < 1e-9, "{mean}");
}

#[test]
fn jitter_moves_sends_but_keeps_the_rate() {
    // ±10 % on each 100 ms wait: the count stays 600 ± 1 per connection.
    let (n, _) = run(&scenario(10, 4, "{connections: 1, qps: 10, jitter: true}"));
    assert!((599..=601).contains(&n), "{n}");
    // With one connection and 10 ms answers nothing queues: mean exactly 10 ms.
    let (_, mean) = run(&scenario(10, 4, "{connections: 1, qps: 10, jitter: true}"));
    assert!((mean - 10.0).abs() < 1e-9, "{mean}");
}

#[test]
fn pacing_flags_need_qps() {
    let text = scenario(10, 1, "{connections: 1, uniform: true}");
    let Err(err) = common::load_texts(&[("t.yaml", &text)]) else {
        panic!("uniform without qps must be invalid");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("spec.closed.uniform: uniform paces a qps schedule: set closed.qps"),
        "{msg}"
    );
}
