//! The run-time resource guard (issue #9 item 3): a scenario that validates
//! but grows without bound stops cleanly, says what grew, keeps its books.

use crate::common;
use meshsim::batch::{outcome_bytes, retained_bytes, run_all_guarded};
use meshsim::world::Guard;

/// 1 pod, 1 worker, 10 ms per request, offered 5,000 requests/s: the queue
/// grows by ~4,900 requests a second for 10 minutes.
fn overloaded(load: &str) -> String {
    let rest = format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: users}}
spec:
  target: http://web:8080/
  {load}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: overloaded}}
spec: {{duration: 600s, seed: 1, replications: 2}}
"#
    );
    format!(
        "{}---\n{rest}",
        common::server_yaml("web", 1, 1, "{constant: 10ms}")
    )
}

#[test]
fn an_overloaded_open_loop_stops_at_the_memory_budget_and_says_what_grew() {
    let spec = common::load_ok(&overloaded("open: {rate: 5000}"));
    let limits = Guard {
        memory_bytes: 64 << 20,
        ..Guard::NONE
    };
    let m = run_all_guarded(&spec, &limits, &|_| true);
    assert_eq!(m.replications, 2);
    let stop = m.outcomes[0].stopped.as_ref().expect("the guard trips");
    assert!(
        stop.reason.starts_with("default/web: ")
            && stop
                .reason
                .contains(" requests queued — offered load exceeds capacity at t = "),
        "{}",
        stop.reason
    );
    assert!(m.partial[0].starts_with("replication 0 stopped early: default/web: "));
    // Stopped long before the end, and the counts cover the time that ran.
    assert!(stop.at.0 < 600_000_000_000);
    assert!(m.outcomes[0].window.to.0 <= stop.at.0 + 1);
    common::assert_accounting(&m);
    // Deterministic: the same budget stops at the same event.
    let again = run_all_guarded(&spec, &limits, &|_| true);
    assert_eq!(
        (again.digest, again.events, &again.partial),
        (m.digest, m.events, &m.partial)
    );
    // The summary says so.
    let json = meshsim::report::summary::render(&spec, &m);
    assert!(json.contains("\"partial\": ["), "{json}");
}

#[test]
fn a_closed_loop_without_qps_meets_the_request_limit() {
    // 1,000 connections answered in 10 ms by 1 worker: a request every 10 ms
    // per connection is the only pacing; the per-load request limit stops it.
    let spec = common::load_ok(&overloaded("closed: {connections: 1000}"));
    let limits = Guard {
        max_load_requests: 20_000,
        ..Guard::NONE
    };
    let m = run_all_guarded(&spec, &limits, &|_| true);
    let stop = m.outcomes[0]
        .stopped
        .as_ref()
        .expect("the request limit trips");
    assert!(
        stop.reason.starts_with("load default/users: ")
            && stop.reason.contains("requests issued by t = ")
            && stop
                .reason
                .contains("above meshsim's limit of 20.0 k per replication"),
        "{}",
        stop.reason
    );
    common::assert_accounting(&m);
}

#[test]
fn replications_that_do_not_fit_the_budget_are_cut_deterministically() {
    let spec = common::load_ok(&overloaded("open: {rate: 10}"));
    let per = outcome_bytes(&spec);
    // Room for the results of one replication only (half the budget holds results).
    let limits = Guard {
        memory_bytes: 3 * per,
        ..Guard::NONE
    };
    let m = run_all_guarded(&spec, &limits, &|_| true);
    assert_eq!(m.replications, 1);
    assert!(
        m.partial[0].starts_with("ran 1 of 2 replications: each keeps "),
        "{:?}",
        m.partial
    );
}

#[test]
fn outcome_bytes_are_what_an_outcome_holds() {
    let spec = common::load_ok(&overloaded("open: {rate: 10}"));
    let m = common::run(&spec);
    let o = &m.outcomes[0];
    let real = retained_bytes(o);
    let predicted = outcome_bytes(&spec);
    // 3 recorder structs + timeline + pods, plus the histograms' pages
    // (2 KiB each, as many as the latencies need).
    let pages: u64 = o
        .loads
        .iter()
        .chain(&o.services)
        .chain(&o.workloads)
        .map(|r| r.hist.heap_bytes())
        .sum();
    let fixed = real - pages - o.propagation.heap_bytes();
    assert!(
        fixed <= predicted + predicted / 20 && predicted <= fixed + fixed / 20,
        "predicted {predicted} bytes, an outcome holds {fixed} besides {pages} of pages"
    );
    assert!(
        pages > 0 && pages <= 3 * 64 * 1024,
        "{pages} bytes of pages"
    );
}

#[test]
fn a_false_progress_answer_stops_the_run() {
    let spec = common::load_ok(&overloaded("open: {rate: 5000}"));
    let m = run_all_guarded(&spec, &Guard::NONE, &|_| false);
    assert!(m.replications >= 1);
    assert!(
        m.partial
            .iter()
            .any(|p| p.contains("by the caller (wall-clock limit)")),
        "{:?}",
        m.partial
    );
    common::assert_accounting(&m);
}
