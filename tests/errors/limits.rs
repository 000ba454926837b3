//! Limits: valid for Kubernetes, too big or endless for a simulation — a clean
//! error naming the limit; legal extremes still run.

use super::*;

#[test]
fn absurd_rate_is_a_clean_error() {
    let text = LOAD.replace("rate: 10", "rate: 1e12");
    assert_eq!(
        with(&text),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: 1,000,000,000,000 requests/s is above meshsim's limit of 1,000,000,000 (one request per nanosecond)"
    );
    let text = LOAD.replace("rate: 10", "rate: 1e8");
    assert_eq!(
        with(&text),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: 100,000,000 requests/s for 10s is 1,000,000,000 requests per replication, above meshsim's limit of 100,000,000: lower the rate or the duration"
    );
}

#[test]
fn too_many_pods() {
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 200_000, 1, "{constant: 1ms}"),
        ),
    ]);
    assert_eq!(
        e,
        "web.yaml:1:1: document 1 (Deployment default/web): spec.replicas: 200,000 pods so far in the scenario, above meshsim's limit of 100,000"
    );
}

#[test]
fn call_tree_explosion() {
    let web = common::server_yaml("web", 1, 1, "x").replace(
        "  serviceTime: x\n",
        "  script:\n  - call: {host: web, maxDepth: 40}\n  - call: {host: web, maxDepth: 40}\n",
    );
    let e = the_error(&[("sim.yaml", SIM), ("web.yaml", &web), ("load.yaml", LOAD)]);
    assert_eq!(
        e,
        "load.yaml:5:11: document 1 (Load default/users): spec.target: one request to this target can cause up to 2,199,023,255,551 requests downstream (calls × retries × maxDepth), above meshsim's limit of 1,000,000"
    );
}

/// A closed loop against pods that answer in zero time must still finish
/// (the world charges the client 1 ms per instant answer).
#[test]
fn closed_loop_against_instant_answers_terminates() {
    let closed = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  closed:
    connections: 2
";
    let zero = common::server_yaml("web", 1, 1, "{constant: 0s}");
    let s = common::load_texts(&[
        ("sim.yaml", SIM),
        ("web.yaml", &zero),
        ("load.yaml", closed),
    ])
    .unwrap();
    let l = &common::run(&s).loads[0].pooled;
    assert!(l.completed > 1000, "{l:?}");
}

#[test]
fn too_many_replications() {
    let sim = SIM.replace("duration: 10s", "duration: 10s, replications: 100000");
    let e = the_error(&[
        ("sim.yaml", &sim),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        (
            "api.yaml",
            &common::server_yaml("api", 1, 1, "{constant: 1ms}"),
        ),
    ]);
    assert_eq!(
        e,
        "sim.yaml:4:37: document 1 (Simulation sim): spec.replications: 100,000 replications × 4 loads, Services and Deployments = 400,000 latency histograms, above meshsim's limit of 200,000 (a run that checks each replication keeps all of them): run at most 50,000 replications"
    );
}

/// Legal extremes that must simply run: no pods, a million workers.
#[test]
fn extremes_that_validate_also_run() {
    for (replicas, workers) in [(0, 1), (1, 1_000_000), (3, 1)] {
        let yaml = format!(
            "{SIM}---\n{}---\n{}",
            common::server_yaml("web", replicas, workers, "{constant: 1ms}"),
            LOAD.replace("rate: 10", "rate: 1000")
        );
        let s = common::load_ok(&yaml);
        let m = common::run(&s);
        let l = &m.loads[0].pooled;
        assert!(l.requests > 5_000, "{replicas} {workers}: {l:?}");
        if replicas == 0 {
            assert_eq!(l.failed, l.requests);
        }
    }
}
