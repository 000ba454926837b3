//! See tests/main.rs for what this module covers.
//!
//! Overload said out loud (`sim/report/overload.rs`): a deliberately
//! overloaded server is reported with its queue growth, offered rate and
//! capacity; M/M/4 at ρ = 0.9 never is.

use crate::common;
use meshsim::report::overload;
use meshsim::scenario::Overrides;

/// One pod, one worker, 10 ms per request (capacity 100 rps), Poisson 150 rps.
fn overloaded() -> String {
    format!(
        "{}---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: users}}
spec: {{target: \"http://web:8080/\", open: {{rate: 150}}}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: t}}
spec: {{duration: 60s, warmup: 5s, seed: 1}}
",
        common::server_yaml("web", 1, 1, "{constant: 10ms}")
    )
}

#[test]
fn an_overloaded_server_is_reported_with_its_rates() {
    let spec = common::load_ok(&overloaded());
    let m = common::run(&spec);
    let notes = overload::notes(&spec, &m);
    // ≈ 50 rps of excess over 55 s of window: ≈ 2,750 more waiting at the end.
    let q = &notes[0];
    assert!(q.starts_with("default/web: queue grew "), "{notes:?}");
    assert!(q.contains("offered ≈ 150 rps, capacity ≈ "), "{q}");
    assert!(
        q.contains(" rps — results describe a transient, not a steady state"),
        "{q}"
    );
    let cap: f64 = q
        .split("capacity ≈ ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (cap - 100.0).abs() < 2.0,
        "capacity {cap} (1 worker × 10 ms = 100 rps): {q}"
    );
    let (q0, q1) = m.queue_growth[0];
    assert!(q0 > 100 && q1 > q0 + 2_000, "{q0} → {q1}");
    // The load and the workload still hold far more than 1 % of their requests.
    assert!(notes.iter().any(|n| n.starts_with("load users: ")
        && n.contains("still in flight at the end — its percentiles exclude unfinished requests")));
    // summary.json and the terminal say it too.
    let v = common::summary_json(&spec, &m);
    assert_eq!(v["overload"][0].as_str(), Some(q.as_str()));
    let table = meshsim::report::table::render(&spec, &m);
    assert!(table.contains(&format!("OVERLOAD: {q}")), "{table}");
}

fn mm4_notes(seed: u64) -> Vec<String> {
    let path = common::root().join("scenarios/queueing/mm4.yaml");
    let spec = common::load_paths(
        &[&path],
        &Overrides {
            seed: Some(seed),
            ..Overrides::default()
        },
    );
    let m = common::run(&spec);
    overload::notes(&spec, &m)
}

#[test]
fn mm4_at_rho_0_9_is_not_overloaded() {
    assert_eq!(mm4_notes(1), Vec::<String>::new());
}

#[test]
#[ignore = "20 full M/M/4 runs: cargo test --release -- --ignored"]
fn mm4_at_rho_0_9_is_never_overloaded_over_20_seeds() {
    for seed in 1..=20 {
        assert_eq!(mm4_notes(seed), Vec::<String>::new(), "seed {seed}");
    }
}

#[test]
fn a_scenario_without_load_warns_that_nothing_arrives() {
    let text = format!(
        "{}---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: t}}
spec: {{duration: 10s}}
",
        common::server_yaml("web", 1, 1, "{constant: 10ms}")
    );
    let spec = common::load_ok(&text);
    assert!(
        spec.warnings.iter().any(
            |w| w.contains("Simulation t): spec: no Load in the scenario: nothing will arrive")
        ),
        "{:?}",
        spec.warnings
    );
}
