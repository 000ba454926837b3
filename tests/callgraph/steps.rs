//! Script steps: sequential calls add up, a parallel group takes its longest
//! branch, and a call's `probability` thins calls binomially.

use super::*;

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
