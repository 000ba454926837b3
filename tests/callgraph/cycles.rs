//! Call cycles: bounded by `maxDepth` they run and stop at the depth; unbounded
//! they are an error naming the cycle in call order.

use super::*;

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
