//! See tests/main.rs for what this module covers.
//!
//! `Load.spec.iterations: N` is `h2load -n N`, `fortio load -n N`, k6's
//! `iterations`: exactly N requests per replication (warm-up included), then
//! the load stops; with `stop`, whichever comes first. Every number below is
//! read from the rendered summary.json, as a user would read it.

use crate::common;
use serde_json::Value;

/// One Service `web` (2 pods × 2 workers, `service_time`), one Load `client`
/// with the given spec lines, and a Simulation.
fn scenario(service_time: &str, load: &str, sim: &str) -> String {
    format!(
        "{}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: client}}\nspec:\n  target: http://web:8080/\n{load}---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: count}}\nspec: {sim}\n",
        common::server_yaml("web", 2, 2, service_time)
    )
}

/// summary.json's `loads.client` of the scenario.
fn client(yaml: &str) -> Value {
    let spec = common::load_ok(yaml);
    let v = common::summary_json(&spec, &common::run(&spec));
    v["loads"]["client"].clone()
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// requests = completed + failed + in flight: each request ends once.
fn ends_once(v: &Value) {
    assert_eq!(
        n(v, "requests"),
        n(v, "completed") + n(v, "failed") + n(v, "in_flight"),
        "{v}"
    );
}

#[test]
fn closed_loop_one_connection_sends_exactly_n() {
    // h2load -n1000 -c1 against a 1 ms server: done after ≈ 1 s of a 60 s run.
    let c = client(&scenario(
        "{constant: 1ms}",
        "  closed: {connections: 1}\n  iterations: 1000\n",
        "{duration: 60s, seed: 4}",
    ));
    assert_eq!(
        (n(&c, "requests"), n(&c, "completed"), n(&c, "in_flight")),
        (1000, 1000, 0)
    );
    ends_once(&c);
    assert_eq!(c["codes"]["200"], 1000);
    // One at a time: every latency is the 1 ms service time.
    assert_eq!(c["latency_ms"]["max"].as_f64(), Some(1.0));
    // Without iterations the same connection sends one per ms for 60 s.
    let c = client(&scenario(
        "{constant: 1ms}",
        "  closed: {connections: 1}\n",
        "{duration: 60s, seed: 4}",
    ));
    assert_eq!(n(&c, "requests"), 60_000);
}

#[test]
fn closed_loop_many_connections_share_the_count() {
    // 8 connections with think time: the count is over all of them, and the
    // sends other connections had scheduled after the N-th are dropped.
    let c = client(&scenario(
        "{exponential: {mean: 5ms}}",
        "  closed: {connections: 8, thinkTime: {exponential: {mean: 3ms}}}\n  iterations: 1000\n",
        "{duration: 60s, seed: 9, replications: 1}",
    ));
    assert_eq!((n(&c, "requests"), n(&c, "completed")), (1000, 1000));
    ends_once(&c);
    // Fewer iterations than connections: only 20 connections ever send.
    let c = client(&scenario(
        "{constant: 2ms}",
        "  closed: {connections: 50}\n  iterations: 20\n",
        "{duration: 10s}",
    ));
    assert_eq!((n(&c, "requests"), n(&c, "completed")), (20, 20));
    // Per replication: two replications send 1000 each.
    let c = client(&scenario(
        "{constant: 1ms}",
        "  closed: {connections: 3}\n  iterations: 1000\n",
        "{duration: 30s, replications: 2}",
    ));
    assert_eq!((n(&c, "requests"), n(&c, "completed")), (2000, 2000));
}

#[test]
fn open_loop_issues_n_arrivals() {
    // fortio load -qps 100 -n 1000: Poisson arrivals, new connection each.
    let c = client(&scenario(
        "{constant: 1ms}",
        "  open: {rate: 100}\n  iterations: 1000\n",
        "{duration: 60s, seed: 2}",
    ));
    assert_eq!((n(&c, "requests"), n(&c, "completed")), (1000, 1000));
    ends_once(&c);
    // Over a keep-alive pool of 2 connections with a slow server, arrivals
    // queue at the client; they still count as issued, once.
    let c = client(&scenario(
        "{constant: 50ms}",
        "  open: {rate: 100, connections: 2, arrival: constant}\n  iterations: 300\n",
        "{duration: 20s}",
    ));
    assert_eq!(n(&c, "requests"), 300);
    ends_once(&c);
    // 2 connections serve 40/s: 300 arrivals over 3 s drain by 7.5 s < 20 s.
    assert_eq!(n(&c, "completed"), 300);
}

#[test]
fn iterations_and_stop_whichever_comes_first() {
    // Constant 100/s from t = 0: arrivals at 0, 10 ms, … so `stop: 5s` alone
    // gives 500.
    let run = |load: &str| {
        client(&scenario(
            "{constant: 1ms}",
            &format!("  open: {{rate: 100, arrival: constant}}\n{load}"),
            "{duration: 30s}",
        ))
    };
    let stop_first = run("  stop: 5s\n  iterations: 1000\n");
    assert_eq!(n(&stop_first, "requests"), 500);
    let count_first = run("  stop: 5s\n  iterations: 200\n");
    assert_eq!(n(&count_first, "requests"), 200);
    let exactly = run("  stop: 5s\n  iterations: 500\n");
    assert_eq!(n(&exactly, "requests"), 500);
    // The run's end stops a load as `stop` does.
    let end_first = run("  iterations: 100000\n");
    assert_eq!(n(&end_first, "requests"), 3000);
    // Closed loop: 1 connection, 10 ms server ⇒ 100/s; stop at 2 s ⇒ 200.
    let closed = |load: &str| {
        client(&scenario(
            "{constant: 10ms}",
            &format!("  closed: {{connections: 1}}\n{load}"),
            "{duration: 30s}",
        ))
    };
    assert_eq!(
        n(&closed("  stop: 2s\n  iterations: 1000\n"), "requests"),
        200
    );
    assert_eq!(n(&closed("  stop: 2s\n  iterations: 50\n"), "requests"), 50);
}

#[test]
fn warm_up_requests_count_towards_iterations() {
    // 100/s constant from 0, warm-up 1 s: requests 0..99 are warm-up, so of
    // 300 iterations the report counts the 200 issued after it.
    let c = client(&scenario(
        "{constant: 1ms}",
        "  open: {rate: 100, arrival: constant}\n  iterations: 300\n",
        "{duration: 30s, warmup: 1s}",
    ));
    assert_eq!((n(&c, "requests"), n(&c, "completed")), (200, 200));
}

#[test]
fn unfinished_iterations_at_the_end_are_in_flight_once() {
    // A slow server: the run ends long before 100 requests were sent.
    let c = client(&scenario(
        "{constant: 1s}",
        "  closed: {connections: 8}\n  iterations: 100\n",
        "{duration: 10s}",
    ));
    // At most 4 served per second (2 pods × 2 workers): far from 100 by 10 s,
    // and each of the 8 connections still waits for its last answer.
    ends_once(&c);
    assert_eq!(n(&c, "in_flight"), 8);
    assert!(n(&c, "requests") <= 8 + 4 * 9, "{c}");
    assert_eq!(n(&c, "completed"), n(&c, "requests") - 8);
}
