//! Held vs released workers (`holdWorkerDuringCalls`): who stays busy during
//! a call, who saturates, and the queue limit for both.

use super::*;

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
