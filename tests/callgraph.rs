//! See tests/main.rs for what this module covers.
//!
//! Call graphs with constant service times and one closed-loop connection per
//! load have no queueing and no randomness, so every latency below is exact to
//! the nanosecond: a test states the arithmetic and checks the whole histogram
//! (minimum = maximum = expected).

use crate::common;
use meshsim::batch::Merged;
use meshsim::metrics::Recorder;
use meshsim::scenario::{Overrides, Scenario};

// === scenario text helpers ===

/// Deployment + Service (port 8080) + Workload `name` in `ns`; `workload` is
/// the Workload's `spec` as a YAML flow mapping.
fn app(name: &str, ns: &str, workload: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 8080}}]}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: {name}, namespace: {ns}}}
spec: {workload}
---
"#
    )
}

/// A closed-loop load with one connection (no queueing at the client).
fn closed(name: &str, target: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: {name}}}
spec: {{target: "{target}", closed: {{connections: 1{extra}}}}}
---
"#
    )
}

fn open(name: &str, target: &str, rate: f64, arrival: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: {name}}}
spec: {{target: "{target}", open: {{rate: {rate}, arrival: {arrival}}}}}
---
"#
    )
}

fn sim(duration: &str, warmup: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: t}}
spec: {{duration: {duration}, warmup: {warmup}, seed: 7}}
"#
    )
}

// === result helpers ===

fn dep(spec: &Scenario, key: &str) -> usize {
    spec.deployments
        .iter()
        .position(|d| d.key() == key)
        .unwrap_or_else(|| panic!("no deployment {key}"))
}

fn load<'m>(spec: &Scenario, m: &'m Merged, name: &str) -> &'m Recorder {
    let i = spec
        .loads
        .iter()
        .position(|l| l.name == name)
        .unwrap_or_else(|| panic!("no load {name}"));
    &m.loads[i].pooled
}

fn workload<'m>(spec: &Scenario, m: &'m Merged, key: &str) -> &'m Recorder {
    &m.workloads[dep(spec, key)].pooled
}

const MS: u64 = 1_000_000;

/// Every recorded latency is exactly `ns`, and there are some.
#[track_caller]
fn all_exactly(r: &Recorder, ns: u64) {
    assert!(r.count > 0, "nothing recorded");
    assert_eq!(r.sum_ns, r.count as u128 * ns as u128, "mean ≠ {ns} ns");
    // The histogram keeps 3 significant digits: min/max equal within that.
    let (lo, hi) = (r.hist.min(), r.hist.max());
    assert!(
        r.hist.equivalent(lo, hi) && r.hist.equivalent(lo, ns),
        "latencies span {lo}..{hi} ns, expected all {ns}"
    );
}

fn codes(r: &Recorder) -> Vec<(u16, u64)> {
    r.codes.clone()
}

fn run_text(text: &str) -> (Scenario, Merged) {
    let spec = common::load_ok(text);
    let m = common::run(&spec);
    (spec, m)
}

// === sequential and parallel steps ===

#[test]
fn sequential_calls_add_up_and_parallel_groups_take_the_longest_branch() {
    let text = [
        app("x", "default", "{workers: 10, serviceTime: {constant: 100ms}}"),
        // (not `y`: YAML 1.1, like Kubernetes' parser, reads a bare y as true)
        app("u", "default", "{workers: 10, serviceTime: {constant: 200ms}}"),
        app("z", "default", "{workers: 10, serviceTime: {constant: 250ms}}"),
        // 10 + 100 + 200 + 5 = 315 ms
        app(
            "seq",
            "default",
            "{script: [{compute: {constant: 10ms}}, {call: {host: x}}, {call: {host: u}}, {compute: {constant: 5ms}}]}",
        ),
        // 10 + max(100, 200) + 5 = 215 ms
        app(
            "par",
            "default",
            "{script: [{compute: {constant: 10ms}}, {parallel: [{call: {host: x}}, {call: {host: u}}]}, {compute: {constant: 5ms}}]}",
        ),
        // max(100 + 200, 250) = 300 ms: a branch may itself be a sequence
        app(
            "nested",
            "default",
            "{script: [{parallel: [[{call: {host: x}}, {call: {host: u}}], {call: {host: z}}]}]}",
        ),
        // a group inside a group: max(100, max(200, 250) + 100) = 350 ms
        app(
            "deep",
            "default",
            "{script: [{parallel: [{call: {host: x}}, [{parallel: [{call: {host: u}}, {call: {host: z}}]}, {call: {host: x}}]]}]}",
        ),
        closed("seq", "seq:8080", ""),
        closed("par", "par:8080", ""),
        closed("nested", "nested:8080", ""),
        closed("deep", "deep:8080", ""),
        sim("60s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    all_exactly(load(&spec, &m, "seq"), 315 * MS);
    all_exactly(load(&spec, &m, "par"), 215 * MS);
    all_exactly(load(&spec, &m, "nested"), 300 * MS);
    all_exactly(load(&spec, &m, "deep"), 350 * MS);
    // The callees saw their own constant time, never a queue (10 workers each).
    all_exactly(workload(&spec, &m, "default/x"), 100 * MS);
    all_exactly(workload(&spec, &m, "default/u"), 200 * MS);
    all_exactly(workload(&spec, &m, "default/z"), 250 * MS);
    // Server-side latency of a caller includes its calls.
    all_exactly(workload(&spec, &m, "default/seq"), 315 * MS);
}

#[test]
fn call_probability_thins_calls_binomially() {
    let text = [
        app("x", "default", "{workers: 100, serviceTime: {constant: 1ms}}"),
        app("never", "default", "{serviceTime: {constant: 1ms}}"),
        app(
            "front",
            "default",
            "{workers: 100, script: [{call: {host: x, probability: 0.25}}, {call: {host: never, probability: 0}}, {compute: {constant: 1ms}}]}",
        ),
        open("poisson", "front:8080", 200.0, "poisson"),
        sim("500s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let n = workload(&spec, &m, "default/front").requests as f64;
    let x = workload(&spec, &m, "default/x").requests as f64;
    assert!(n > 90_000.0, "{n}");
    // Binomial(n, 0.25): 5 standard deviations.
    let sd = (n * 0.25 * 0.75).sqrt();
    assert!((x - 0.25 * n).abs() < 5.0 * sd, "x got {x} of {n} calls");
    assert_eq!(workload(&spec, &m, "default/never").requests, 0);
    // A skipped call costs nothing: latency is 1 ms or 2 ms, never in between.
    let f = load(&spec, &m, "poisson");
    // (The histogram's buckets are 0.1 % wide: stay clear of both values.)
    assert_eq!(f.hist.count_between(1_010_000, 1_990_000), 0);
    assert_eq!(f.sum_ns % 1_000_000, 0);
}

// === headers ===

#[test]
fn forward_headers_copies_only_the_named_incoming_headers_hop_by_hop() {
    let text = [
        app("ratings", "default", "{serviceTime: {constant: 1ms}}"),
        app("audit", "default", "{serviceTime: {constant: 1ms}}"),
        // reviews forwards end-user (any case) to ratings; to audit it forwards
        // nothing but sets a constant end-user (isotope's extra-header).
        app(
            "reviews",
            "default",
            "{script: [{call: {host: ratings, forwardHeaders: [End-User]}}, {call: {host: audit, headers: {End-User: system}}}]}",
        ),
        app(
            "productpage",
            "default",
            r#"{script: [{call: {host: reviews, forwardHeaders: [end-user, x-request-id], headers: {x-b3-sampled: "1"}}}]}"#,
        ),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: jason}
spec:
  target: productpage:8080
  headers: {end-user: jason, cookie: "session=1", X-Request-Id: abc}
  closed: {connections: 1}
---
"#
        .to_string(),
        closed("anonymous", "productpage:8080", ""),
        sim("10s", "0s"),
    ]
    .concat();
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    let o = &m.outcomes[0];
    let seen = |key: &str| -> Vec<Vec<(String, String)>> {
        o.headers_received[dep(&spec, key)]
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    };
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let none = h(&[]);
    // Header names are case-insensitive (stored lowercased).
    assert_eq!(
        seen("default/productpage"),
        vec![
            none.clone(),
            h(&[
                ("cookie", "session=1"),
                ("end-user", "jason"),
                ("x-request-id", "abc")
            ])
        ]
    );
    // Constant headers are added to forwarded ones.
    assert_eq!(
        seen("default/reviews"),
        vec![
            h(&[
                ("end-user", "jason"),
                ("x-b3-sampled", "1"),
                ("x-request-id", "abc")
            ]),
            h(&[("x-b3-sampled", "1")]),
        ]
    );
    // Each hop forwards only what it names: x-request-id stops at reviews.
    assert_eq!(
        seen("default/ratings"),
        vec![none, h(&[("end-user", "jason")])]
    );
    // A constant header replaces the incoming one of the same name.
    assert_eq!(seen("default/audit"), vec![h(&[("end-user", "system")])]);
}

// === timeouts, retries, errors ===

#[test]
fn a_timed_out_call_costs_timeout_times_tries_and_the_server_still_does_the_work() {
    let text = [
        app("slow", "default", "{workers: 100, serviceTime: {constant: 10s}}"),
        app("quick", "default", "{workers: 100, serviceTime: {constant: 1s}}"),
        // 3 s per try, 1 retry: gives up after 6 s and carries on (Bookinfo's productpage).
        app(
            "twice",
            "default",
            "{workers: 100, script: [{call: {host: slow, timeout: 3s, retries: 1, onError: continue}}]}",
        ),
        // 3 tries, then fail with the configured status.
        app(
            "thrice",
            "default",
            "{workers: 100, script: [{call: {host: slow, timeout: 3s, retries: 2, errorStatus: 504}}]}",
        ),
        // A callee faster than the timeout is simply waited for.
        app(
            "in-time",
            "default",
            "{workers: 100, script: [{call: {host: quick, timeout: 3s, retries: 1}}]}",
        ),
        closed("twice", "twice:8080", ""),
        closed("thrice", "thrice:8080", ""),
        closed("in-time", "in-time:8080", ""),
        sim("300s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let twice = load(&spec, &m, "twice");
    all_exactly(twice, 6_000 * MS);
    assert_eq!(codes(twice), vec![(200, twice.count)]);
    let thrice = load(&spec, &m, "thrice");
    all_exactly(thrice, 9_000 * MS);
    assert_eq!(codes(thrice), vec![(504, thrice.count)]);
    all_exactly(load(&spec, &m, "in-time"), 1_000 * MS);
    // Sent at 0, 1, …, 299 s; the last answer would come at the end (300 s).
    assert_eq!(workload(&spec, &m, "default/quick").requests, 300);
    assert_eq!(workload(&spec, &m, "default/quick").completed, 299);

    // Every try reached slow: tries leave twice and thrice every 3 s, back to
    // back, from t = 0 to 297 s: 100 each.
    let slow = workload(&spec, &m, "default/slow");
    assert_eq!(slow.requests, 200);
    // Abandoned tries are still served in full: 10 s each, no failures; those
    // that arrived in the last 10 s are still in flight.
    all_exactly(slow, 10_000 * MS);
    assert_eq!(slow.failed, 0);
    assert_eq!(slow.completed, 2 * 97, "tries arriving at 0..=288 s finish");
    assert_eq!(m.workloads[dep(&spec, "default/slow")].in_flight, 6);
    // The callers count the tries they gave up on: 100 tries each, all timing
    // out, but the last one's timer would fire at 300 s, the end of the run.
    assert_eq!(m.capacity[dep(&spec, "default/twice")].call_timeouts, 99);
    assert_eq!(m.capacity[dep(&spec, "default/thrice")].call_timeouts, 99);
    assert_eq!(m.capacity[dep(&spec, "default/in-time")].call_timeouts, 0);
}

#[test]
fn on_error_fail_stops_the_script_and_continue_carries_on() {
    let text = [
        app(
            "bad",
            "default",
            "{workers: 10, serviceTime: {constant: 10ms}, errors: {probability: 1, status: 503}}",
        ),
        app("ok", "default", "{workers: 10, serviceTime: {constant: 100ms}}"),
        // No Service endpoints at all: the connection fails (status 0).
        r#"apiVersion: v1
kind: Service
metadata: {name: ghost}
spec: {selector: {app: ghost}, ports: [{name: http, port: 8080}]}
---
"#
        .to_string(),
        // default onError is fail with 500; the compute after the call never runs.
        app(
            "fail",
            "default",
            "{script: [{call: {host: bad}}, {compute: {constant: 1s}}]}",
        ),
        app(
            "fail502",
            "default",
            "{script: [{call: {host: bad, onError: fail, errorStatus: 502}}, {compute: {constant: 1s}}]}",
        ),
        app(
            "carry-on",
            "default",
            "{script: [{call: {host: bad, onError: continue}}, {compute: {constant: 1s}}]}",
        ),
        // A failed branch waits for its siblings (like isotope), then fails the request.
        app(
            "group",
            "default",
            "{script: [{parallel: [{call: {host: bad}}, {call: {host: ok}}]}, {compute: {constant: 1s}}]}",
        ),
        app(
            "refused",
            "default",
            "{script: [{call: {host: ghost, retries: 3}}, {compute: {constant: 1s}}]}",
        ),
        closed("fail", "fail:8080", ""),
        closed("fail502", "fail502:8080", ""),
        closed("carry-on", "carry-on:8080", ""),
        closed("group", "group:8080", ""),
        closed("refused", "refused:8080", ", qps: 10"),
        sim("20s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let r = load(&spec, &m, "fail");
    all_exactly(r, 10 * MS);
    assert_eq!(codes(r), vec![(500, r.count)]);
    let r = load(&spec, &m, "fail502");
    all_exactly(r, 10 * MS);
    assert_eq!(codes(r), vec![(502, r.count)]);
    let r = load(&spec, &m, "carry-on");
    all_exactly(r, 1_010 * MS);
    assert_eq!(codes(r), vec![(200, r.count)]);
    let r = load(&spec, &m, "group");
    all_exactly(r, 100 * MS);
    assert_eq!(codes(r), vec![(500, r.count)]);
    // A refused connection fails at once, retries included; the caller answers 500.
    let r = load(&spec, &m, "refused");
    assert_eq!(codes(r), vec![(500, r.count)]);
    assert_eq!(r.sum_ns, 0, "refused calls take no time");
    assert_eq!(r.count, 200);
}

// === held vs released workers ===

#[test]
fn parallel_computes_share_a_held_worker_and_queue_for_released_ones() {
    // [parallel [compute 100 ms, compute 100 ms], compute 10 ms], one request a second.
    let run = |workers: u32, hold: bool| {
        let text = [
            app(
                "s",
                "default",
                &format!(
                    "{{workers: {workers}, holdWorkerDuringCalls: {hold}, script: [{{parallel: [{{compute: {{constant: 100ms}}}}, {{compute: {{constant: 100ms}}}}]}}, {{compute: {{constant: 10ms}}}}]}}"
                ),
            ),
            open("steady", "s:8080", 1.0, "constant"),
            sim("100s", "0s"),
        ]
        .concat();
        let (spec, m) = run_text(&text);
        all_exactly(
            load(&spec, &m, "steady"),
            if workers == 1 && !hold { 210 } else { 110 } * MS,
        );
        m.capacity[0].utilisation()
    };
    // Released: each branch needs a worker; with one they run one after the other.
    assert!((run(1, false) - 0.21).abs() < 1e-9);
    assert!((run(2, false) - 0.105).abs() < 1e-9);
    // Held: the branches run under the request's one worker, with no CPU
    // contention between them (an admitted simplification, see lib.rs).
    assert!((run(1, true) - 0.11).abs() < 1e-9);
}

/// front (10 workers or 1): 100 ms of compute, then a 900 ms call to back.
fn hold_scenario(hold: bool, workers: u32, rate: f64) -> String {
    [
        app("back", "default", "{workers: 1000, serviceTime: {constant: 900ms}}"),
        app(
            "front",
            "default",
            &format!(
                "{{workers: {workers}, holdWorkerDuringCalls: {hold}, script: [{{compute: {{constant: 100ms}}}}, {{call: {{host: back}}}}]}}"
            ),
        ),
        open("steady", "front:8080", rate, "constant"),
        sim("1000s", "100s"),
    ]
    .concat()
}

#[test]
fn held_workers_stay_busy_during_calls_and_released_ones_do_not() {
    // Constant arrivals every 0.5 s, no queueing: the window [100 s, 1000 s)
    // holds 1800 requests. Held: each occupies a front worker 1.0 s →
    // 1800 s / (10 × 900 s) = 20 %. Released: 0.1 s each → 2 %. back: 0.9 s
    // on 1000 workers → 0.18 % either way. Latency 1.0 s either way.
    for (hold, util) in [(true, 0.20), (false, 0.02)] {
        let (spec, m) = run_text(&hold_scenario(hold, 10, 2.0));
        let f = dep(&spec, "default/front");
        let b = dep(&spec, "default/back");
        assert!(
            (m.capacity[f].utilisation() - util).abs() < 1e-6,
            "hold={hold}: {}",
            m.capacity[f].utilisation()
        );
        assert!((m.capacity[b].utilisation() - 0.0018).abs() < 1e-6);
        assert_eq!(m.capacity[f].queue_max, 0);
        all_exactly(load(&spec, &m, "steady"), 1_000 * MS);
    }
}

#[test]
fn a_held_worker_saturates_where_a_released_one_keeps_up() {
    // One front worker, a request every 0.8 s. Released, it is busy 0.1 s per
    // request: latency stays 1.0 s. Held, it is busy 1.0 s per request: more
    // than the 0.8 s between arrivals, so the queue grows without bound.
    let (spec, m) = run_text(&hold_scenario(false, 1, 1.25));
    all_exactly(load(&spec, &m, "steady"), 1_000 * MS);
    let f = dep(&spec, "default/front");
    assert!((m.capacity[f].utilisation() - 0.125).abs() < 1e-6);

    let (spec, m) = run_text(&hold_scenario(true, 1, 1.25));
    let f = dep(&spec, "default/front");
    assert!(m.capacity[f].utilisation() > 0.999);
    assert!(m.capacity[f].queue_max > 100, "{}", m.capacity[f].queue_max);
    let mean = load(&spec, &m, "steady").mean_secs().unwrap();
    assert!(mean > 50.0, "held mean latency {mean}");
}

// === cycles ===

#[test]
fn a_cycle_with_max_depth_runs_and_stops_at_the_depth() {
    let text = [
        // a → b → a → b, then b's call is skipped: depth counts calls, the
        // load's request is depth 0.
        app(
            "a",
            "default",
            "{workers: 10, script: [{compute: {constant: 1ms}}, {call: {host: b}}]}",
        ),
        app(
            "b",
            "default",
            "{workers: 10, script: [{compute: {constant: 1ms}}, {call: {host: a, maxDepth: 3}}]}",
        ),
        // A self-call bounded at depth 3: s, s, s, s.
        app(
            "s",
            "default",
            "{workers: 10, script: [{compute: {constant: 1ms}}, {call: {host: s, maxDepth: 3}}]}",
        ),
        closed("ab", "a:8080", ""),
        closed("self", "s:8080", ""),
        sim("1s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let ab = load(&spec, &m, "ab");
    all_exactly(ab, 4 * MS);
    assert_eq!(ab.requests, 250);
    assert_eq!(workload(&spec, &m, "default/a").requests, 500);
    assert_eq!(workload(&spec, &m, "default/b").requests, 500);
    let s = load(&spec, &m, "self");
    all_exactly(s, 4 * MS);
    assert_eq!(s.requests, 250);
    assert_eq!(workload(&spec, &m, "default/s").requests, 1000);
}

fn load_err(text: &str) -> String {
    match common::load_texts(&[("graph.yaml", text)]) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_unbounded_cycle_is_an_error_naming_the_cycle_in_call_order() {
    // Deployments in order a, b, c; calls a → c → b → a.
    let text = [
        app("a", "default", "{script: [{call: {host: c}}]}"),
        app(
            "b",
            "default",
            "{script: [{compute: {constant: 1ms}}, {call: {host: a}}]}",
        ),
        app("c", "default", "{script: [{call: {host: b}}]}"),
        app("s", "default", "{script: [{call: {host: s}}]}"),
        // bounded: fine
        app("p", "default", "{script: [{call: {host: q}}]}"),
        app("q", "default", "{script: [{call: {host: p, maxDepth: 5}}]}"),
        closed("l", "a:8080", ""),
        sim("1s", "0s"),
    ]
    .concat();
    let e = load_err(&text);
    assert!(
        e.contains("unbounded call cycle default/a → default/c → default/b → default/a"),
        "{e}"
    );
    assert!(
        e.contains("unbounded call cycle default/s → default/s"),
        "{e}"
    );
    assert!(!e.contains("default/p"), "a bounded cycle is fine: {e}");
    // The error points at the first call of the cycle, in a's script.
    assert!(e.contains("spec.script[0].call"), "{e}");
    assert_eq!(e.matches("unbounded call cycle").count(), 2, "{e}");
}

// === DNS ===

#[test]
fn call_hosts_resolve_with_kubernetes_dns_from_the_callers_namespace() {
    let text = [
        app("reviews", "default", "{workers: 10, serviceTime: {constant: 1ms}}"),
        app("reviews", "prod", "{workers: 10, serviceTime: {constant: 1ms}}"),
        // From default: the short name is default/reviews; the rest are prod.
        app(
            "front",
            "default",
            "{script: [{call: {host: reviews}}, {call: {host: reviews.prod}}, {call: {host: reviews.prod.svc, port: 8080}}, {call: {host: reviews.prod.svc.cluster.local.}}]}",
        ),
        // From prod: the short name is prod/reviews.
        app("front", "prod", "{script: [{call: {host: reviews}}]}"),
        closed("d", "front:8080", ""),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: p, namespace: prod}
spec: {target: "front:8080", closed: {connections: 1}}
---
"#
        .to_string(),
        sim("1s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let fd = workload(&spec, &m, "default/front").requests;
    let fp = workload(&spec, &m, "prod/front").requests;
    assert!(fd > 100 && fp > 100);
    // Each default/front request: 1 ms + 1 ms + 1 ms + 1 ms sequential calls.
    all_exactly(workload(&spec, &m, "default/front"), 4 * MS);
    assert_eq!(workload(&spec, &m, "default/reviews").requests, fd);
    assert_eq!(workload(&spec, &m, "prod/reviews").requests, 3 * fd + fp);

    // A short name does not reach another namespace.
    let bad = [
        app("reviews", "prod", "{serviceTime: {constant: 1ms}}"),
        app("front", "default", "{script: [{call: {host: reviews}}]}"),
        app(
            "other",
            "default",
            "{script: [{call: {host: reviews.prod.cluster}}]}",
        ),
        closed("d", "front:8080", ""),
        sim("1s", "0s"),
    ]
    .concat();
    let e = load_err(&bad);
    assert!(
        e.contains(
            r#"host "reviews" does not resolve: no Service "reviews" in namespace "default""#
        ),
        "{e}"
    );
    assert!(
        e.contains(r#"host "reviews.prod.cluster" is not a Kubernetes Service name"#),
        "{e}"
    );
}

// === Bookinfo ===

#[test]
fn bookinfo_call_graph_reaches_every_service_within_its_app_timeouts() {
    let path = common::root().join("scenarios/examples/bookinfo.yaml");
    let spec = common::load_paths(&[path.as_path()], &Overrides::default());
    let m = common::run(&spec);
    let w = |key: &str| workload(&spec, &m, key);
    for key in [
        "default/productpage-v1",
        "default/details-v1",
        "default/reviews-v1",
        "default/reviews-v2",
        "default/reviews-v3",
        "default/ratings-v1",
    ] {
        assert!(
            w(key).requests > 1000,
            "{key} got {} requests",
            w(key).requests
        );
    }
    // productpage calls details and reviews once each (plus reviews retries).
    let pp = w("default/productpage-v1").requests;
    let details = w("default/details-v1").requests;
    assert!(details.abs_diff(pp) <= 10, "{details} vs {pp}");
    let reviews: u64 = ["v1", "v2", "v3"]
        .iter()
        .map(|v| w(&format!("default/reviews-{v}")).requests)
        .sum();
    assert!(reviews >= pp - 10);
    // kube-proxy spreads reviews calls evenly over the three versions.
    for v in ["v1", "v2", "v3"] {
        let n = w(&format!("default/reviews-{v}")).requests as f64;
        let sd = (reviews as f64 * (2.0 / 9.0)).sqrt();
        assert!(
            (n - reviews as f64 / 3.0).abs() < 5.0 * sd,
            "reviews-{v}: {n}"
        );
    }
    // reviews v1 never calls ratings: ratings' requests are exactly v2's + v3's
    // (both call it once per request), up to those in flight at the end.
    let ratings = w("default/ratings-v1").requests;
    let v23 = w("default/reviews-v2").requests + w("default/reviews-v3").requests;
    assert!(ratings <= v23 && v23 - ratings <= 10, "{ratings} vs {v23}");
    // App timeouts bound latency: ratings answers reviews-v3 within 2.5 s and
    // v2 within 10 s, reviews answers productpage within 3 s × 2 tries, details
    // within 3 s: a page never takes longer than 3 + 6 s plus productpage's own
    // compute (≤ 50 ms here).
    let page = load(&spec, &m, "users");
    assert!(page.hist.max() < 9_050 * MS, "{}", page.hist.max());
    assert!(w("default/reviews-v3").hist.max() < 2_500 * MS + 100 * MS);
    // Every page answers 200: failures of reviews and ratings are shown in the
    // page, not returned (onError: continue).
    assert_eq!(page.failed, 0);
    assert!(page.completed > 1000);
    // Some ratings calls are slow enough to trip v3's 2.5 s timeout, so v3's
    // latency is capped while ratings' tail is longer.
    assert!(w("default/ratings-v1").hist.max() > 2_500 * MS);
}

// === isotope ===

#[test]
fn isotope_canonical_keeps_its_call_structure() {
    let path = common::root().join("scenarios/examples/isotope-canonical.yaml");
    let spec = common::load_paths(&[path.as_path()], &Overrides::default());
    let m = common::run(&spec);
    let n = |k: &str| workload(&spec, &m, k).completed;
    let d = n("default/d");
    assert!(d > 1000);
    // d → [a ∥ c], then b; c → a, then b.
    assert_eq!(n("default/a"), 2 * d);
    assert_eq!(n("default/b"), 2 * d);
    assert_eq!(n("default/c"), d);
    assert_eq!(load(&spec, &m, "fortio").failed, 0);
}

#[test]
fn queue_limit_bounds_admissions_for_released_workers_too() {
    // 1 worker, 1 s per request, a request every 0.5 s, at most 2 waiting:
    // half the requests are turned away with 503, held or released alike
    // (no calls, so the two modes must agree exactly).
    let mut outs = Vec::new();
    for hold in [true, false] {
        let text = [
            app(
                "s",
                "default",
                &format!(
                    "{{workers: 1, holdWorkerDuringCalls: {hold}, queue: {{limit: 2}}, serviceTime: {{constant: 1s}}}}"
                ),
            ),
            open("steady", "s:8080", 2.0, "constant"),
            sim("100s", "0s"),
        ]
        .concat();
        let (spec, m) = run_text(&text);
        let c = &m.capacity[0];
        assert_eq!(c.queue_max, 2, "hold={hold}");
        let r = load(&spec, &m, "steady");
        assert!(c.queue_full >= 95, "hold={hold}: {} rejected", c.queue_full);
        assert_eq!(
            codes(r).iter().find(|c| c.0 == 503).map(|c| c.1),
            Some(c.queue_full)
        );
        outs.push((codes(r), r.sum_ns, c.busy_ns, c.queue_ns));
    }
    assert_eq!(outs[0], outs[1]);
}

/// bookinfo.yaml with only reviews `version` left running and ratings taking
/// a constant `ratings` (the istio.io fault-injection and request-timeout
/// tasks delay ratings with a VirtualService; here the delay is ratings' own
/// service time, which productpage and reviews cannot tell apart).
fn bookinfo_variant(version: &str, ratings: &str) -> (Scenario, Merged) {
    let path = common::root().join("scenarios/examples/bookinfo.yaml");
    let mut text = std::fs::read_to_string(path).unwrap();
    for v in ["v1", "v2", "v3"].into_iter().filter(|v| *v != version) {
        let from = format!(
            "  name: reviews-{v}\n  labels:\n    app: reviews\n    version: {v}\nspec:\n  replicas: 1\n"
        );
        assert!(text.contains(&from), "bookinfo.yaml changed: {from}");
        text = text.replace(&from, &from.replace("replicas: 1", "replicas: 0"));
    }
    let tail =
        "serviceTime: {empirical: {0: 1ms, 50: 3ms, 99: 30ms, 99.5: 2s, 99.9: 8s, 100: 12s}}";
    assert!(text.contains(tail), "bookinfo.yaml changed: ratings");
    text = text.replace(tail, &format!("serviceTime: {{constant: {ratings}}}"));
    text = text.replace("duration: 600s", "duration: 120s");
    run_text(&text)
}

#[test]
fn bookinfo_ratings_delays_play_out_as_the_istio_docs_describe() {
    // Reviews v2 waits 10 s for ratings, so a 7 s delay is tolerated there —
    // but productpage gives up on reviews after 3 s, twice: the page takes
    // ≈ 6 s and shows reviews as unavailable (still a 200 page).
    let (spec, m) = bookinfo_variant("v2", "7s");
    let page = load(&spec, &m, "jason");
    assert!(page.count > 5);
    assert!(page.hist.min() >= 6_000 * MS && page.hist.max() < 6_100 * MS);
    assert_eq!(page.failed, 0);
    let pp = dep(&spec, "default/productpage-v1");
    let pages = m.workloads[pp].pooled.count;
    let timeouts = m.capacity[pp].call_timeouts;
    assert!(
        timeouts.abs_diff(2 * pages) <= 20,
        "{timeouts} vs {pages} pages"
    );
    // reviews v2 itself answers fine after ≈ 7 s: nobody is listening anymore.
    let v2 = workload(&spec, &m, "default/reviews-v2");
    assert!(v2.hist.min() >= 7_000 * MS && v2.failed == 0);
    assert_eq!(
        m.capacity[dep(&spec, "default/reviews-v2")].call_timeouts,
        0
    );

    // All traffic on reviews v3 and a delay under its 2.5 s: the page works,
    // about 2 s slower.
    let (spec, m) = bookinfo_variant("v3", "2s");
    let page = load(&spec, &m, "users");
    assert!(page.hist.min() >= 2_000 * MS && page.hist.max() < 2_100 * MS);
    assert_eq!(
        m.capacity[dep(&spec, "default/reviews-v3")].call_timeouts,
        0
    );
    assert_eq!(
        m.capacity[dep(&spec, "default/productpage-v1")].call_timeouts,
        0
    );

    // v3 with the 7 s delay: v3 gives up at 2.5 s and answers without ratings,
    // within productpage's 3 s, so the page takes ≈ 2.5 s.
    let (spec, m) = bookinfo_variant("v3", "7s");
    let page = load(&spec, &m, "users");
    assert!(page.hist.min() >= 2_500 * MS && page.hist.max() < 2_600 * MS);
    assert_eq!(
        m.capacity[dep(&spec, "default/productpage-v1")].call_timeouts,
        0
    );
    assert!(m.capacity[dep(&spec, "default/reviews-v3")].call_timeouts > 100);
}
