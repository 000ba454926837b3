//! The application's own timeouts, retries and `onError`: a timed-out call
//! costs timeout × tries while the server still does the work; `fail` stops
//! the script, `continue` carries on.

use super::*;

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
