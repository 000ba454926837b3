//! Nothing silently lost: every request issued inside the measurement window
//! ends in the report exactly once — completed, failed, or in flight at the end —
//! for every load generator, Service and workload. In-flight counts are taken
//! directly from the live state at the end (not by subtraction), so the identity
//! below is a real check of the bookkeeping.

use crate::common;

/// A scenario that exercises every way a request can end: success, injected
/// 500s, queue-full 503s, app-level timeouts with retries, connection failures
/// (a Service with no pods), and requests still running at the end.
fn messy() -> String {
    format!(
        "{}---\n{}---\n{}---\n{}",
        common::app_yaml("front", 2),
        common::app_yaml("slow", 1),
        common::app_yaml("flaky", 2),
        r#"apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{name: http, port: 8080}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: front}
spec:
  workers: 2
  queue: {limit: 5, fullStatus: 503}
  script:
  - compute: {exponential: {mean: 5ms}}
  - parallel:
    - call: {host: slow, timeout: 100ms, retries: 1, onError: continue}
    - call: {host: flaky.default, retries: 2}
  - call: {host: nobody, probability: 0.1, onError: continue}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: slow}
spec:
  workers: 1
  queue: {limit: 3}
  serviceTime: {exponential: {mean: 80ms}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: flaky}
spec:
  workers: 4
  serviceTime: {constant: 3ms}
  errors: {probability: 0.2, status: 500}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://front:8080/
  open: {rate: 300, connections: 50}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: direct}
spec:
  target: http://nobody:8080/
  open: {rate: 5}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: messy}
spec: {duration: 60s, warmup: 5s, seed: 3, replications: 2}
"#
    )
}

#[test]
fn every_request_ends_exactly_once() {
    let spec = common::load_ok(&messy());
    let m = common::run(&spec);
    let mut outcomes_seen = [false; 4];
    for o in &m.outcomes {
        let streams = [
            (&o.loads, &o.loads_in_flight, "load"),
            (&o.services, &o.services_in_flight, "service"),
            (&o.workloads, &o.workloads_in_flight, "workload"),
        ];
        for (recs, in_flight, what) in streams {
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(
                    r.requests,
                    r.completed + r.failed + in_flight[i],
                    "{what} {i}: requests {} ≠ completed {} + failed {} + in flight {}",
                    r.requests,
                    r.completed,
                    r.failed,
                    in_flight[i]
                );
                assert_eq!(
                    r.count,
                    r.completed + r.failed,
                    "{what} {i}: one latency sample per finished request"
                );
                let by_code: u64 = r.codes.iter().map(|c| c.1).sum();
                assert_eq!(by_code, r.count, "{what} {i}: codes add up");
                outcomes_seen[0] |= r.completed > 0;
                outcomes_seen[1] |= r.failed > 0;
                outcomes_seen[2] |= in_flight[i] > 0;
            }
        }
        outcomes_seen[3] |= o.capacity.iter().any(|c| c.queue_full > 0);
    }
    // The scenario really exercised every ending (otherwise the check is weak).
    assert_eq!(
        outcomes_seen, [true; 4],
        "completed, failed, in flight, queue-full"
    );
    // Connection failures to a Service without pods are status 0, failed.
    let direct = &m.loads[1].pooled;
    assert!(direct.requests > 0);
    assert_eq!(direct.codes, vec![(0, direct.requests)]);
    // The timeline's last snapshot accounts for every finished request.
    for o in &m.outcomes {
        for (i, snaps) in o.timeline.loads.iter().enumerate() {
            assert_eq!(snaps.len(), meshsim::metrics::timeline::BINS + 1);
            let last = snaps.last().unwrap();
            assert_eq!(
                (last.finished, last.failed),
                (o.loads[i].count, o.loads[i].failed)
            );
            assert!(snaps.windows(2).all(|w| w[0].finished <= w[1].finished));
        }
    }
    // Merged in-flight equals the per-replication sum.
    let fl: u64 = m.outcomes.iter().map(|o| o.loads_in_flight[0]).sum();
    assert_eq!(m.loads[0].in_flight, fl);
}

#[test]
fn released_workers_honour_the_queue_limit_and_instant_answers_do_not_spin() {
    // Async server (workers released between steps), 1 worker, no waiting room:
    // of two simultaneous closed-loop requests one is served, one gets 503 at once.
    // The instant 503 must not make the closed-loop client spin at one instant.
    let yaml = format!(
        "{}---\n{}",
        common::app_yaml("api", 1),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: api}
spec:
  workers: 1
  holdWorkerDuringCalls: false
  queue: {limit: 0, fullStatus: 503}
  serviceTime: {constant: 10ms}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: two}
spec:
  target: http://api:8080/
  closed: {connections: 2}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: released}
spec: {duration: 1s}
"#
    );
    let spec = common::load_ok(&yaml);
    let m = common::run(&spec);
    let r = &m.loads[0].pooled;
    let code = |c: u16| r.codes.iter().find(|x| x.0 == c).map(|x| x.1).unwrap_or(0);
    // The served connection completes one request per 10 ms: 100 in 1 s (the last in flight).
    assert!((99..=100).contains(&code(200)), "{:?}", r.codes);
    assert!(code(503) > 0, "{:?}", r.codes);
    assert_eq!(m.capacity[0].queue_full, code(503));
    assert_eq!(r.requests, r.completed + r.failed + m.loads[0].in_flight);
}

#[test]
fn meshed_requests_end_exactly_once_with_their_flags() {
    // A load inside the mesh whose sidecar answers NR, NC, UH and a redirect
    // itself and forwards the rest: every request still ends exactly once,
    // and every finished request has exactly one flag set entry.
    let (spec, xds) = crate::mesh::local_answers();
    let m = meshsim::batch::run_all_with(&spec, &xds, &|_| {});
    common::assert_accounting(&m);
    let mut seen = std::collections::BTreeSet::new();
    for o in &m.outcomes {
        for r in &o.loads {
            let by_flags: u64 = r.flags.iter().map(|f| f.1).sum();
            assert_eq!(by_flags, r.count, "one flags entry per finished request");
            for (f, _) in &r.flags {
                seen.insert(f.to_string());
            }
        }
    }
    let want: std::collections::BTreeSet<String> = ["-", "NC", "NR", "UH"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(seen, want);
}
