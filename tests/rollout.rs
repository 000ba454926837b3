//! See tests/main.rs for what this module covers.
//!
//! Each test runs a shipped `scenarios/chaos/` folder (rolling-update,
//! node-drain, zone-loss) and checks the outcome its header states: the pod
//! timeline exactly (replication 0, fixed seed), the failure counts for that
//! seed, and the accounting invariant. Contrasts are the same folder with
//! one line edited.

use crate::chaos::{assert_accounting, ev, load, timeline};
use crate::common;

#[test]
fn rolling_update_with_max_unavailable_0_replaces_one_pod_every_six_seconds() {
    let m = common::run(&load("rolling-update", &[]));
    assert_accounting(&m);
    let t = timeline(&m);
    let mut want = Vec::new();
    // Step k (0..4): a new pod created at 30 + 6k s, Ready 6 s later, then
    // the newest old pod deleted and the next new pod created.
    for k in 0..4u64 {
        let at = 30_000 + 6_000 * k;
        let new = format!("web-r2-{k}");
        let old = format!("web-{}", 3 - k);
        want.push(ev(at + 2_000, &new, "started"));
        want.push(ev(at + 5_000, &new, "listening"));
        want.push(ev(at + 6_000, &new, "ready"));
        want.push(ev(at + 6_000, &old, "died"));
        want.push(ev(at + 7_000, &old, "endpoint-removed"));
    }
    let kept: Vec<_> = t
        .iter()
        .filter(|e| ["started", "listening", "ready", "died", "endpoint-removed"].contains(&e.2))
        .cloned()
        .collect();
    assert_eq!(kept, want, "{t:?}");
    assert_eq!(t[0], ev(30_000, "web-r2", "scaled"));
    assert_eq!(t[1], ev(30_000, "web-r2-0", "created"));
    assert_eq!(t.iter().filter(|e| e.2 == "created").count(), 4);
    // The replica counts, as `kubectl get rs -w` shows them.
    let scaled: Vec<(u64, String, String)> = m.outcomes[0]
        .pod_events
        .iter()
        .filter(|e| e.what == "scaled")
        .map(|e| (e.at.0 / 1_000_000, e.pod.clone(), e.detail.clone()))
        .collect();
    let mut want = vec![(30_000, "web-r2".to_string(), "replicas 0 → 1".to_string())];
    for k in 0..4u64 {
        let at = 36_000 + 6_000 * k;
        want.push((at, "web".into(), format!("replicas {} → {}", 4 - k, 3 - k)));
        if k < 3 {
            want.push((
                at,
                "web-r2".into(),
                format!("replicas {} → {}", k + 1, k + 2),
            ));
        }
    }
    assert_eq!(scaled, want);
    // Four deletions, each refused for its endpoint's second (≈ 300/4.5),
    // plus the requests on the deleted pods.
    let users = &m.loads[0].pooled;
    assert_eq!(users.failed, 312);
    let web = &m.workloads[0].pooled;
    assert_eq!(web.failed, 13, "resets of what was on the deleted pods");
}

#[test]
fn rolling_update_with_max_unavailable_1_is_faster_but_overloads_three_pods() {
    let spec = load(
        "rolling-update",
        &[("app.yaml", "maxUnavailable: 0}", "maxUnavailable: 1}")],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    let t = timeline(&m);
    let died: Vec<_> = t.iter().filter(|e| e.2 == "died").cloned().collect();
    assert_eq!(
        died,
        vec![
            ev(30_000, "web-3", "died"),
            ev(36_000, "web-2", "died"),
            ev(36_000, "web-1", "died"),
            ev(42_000, "web-0", "died"),
        ]
    );
    let created: Vec<_> = t.iter().filter(|e| e.2 == "created").cloned().collect();
    assert_eq!(
        created,
        vec![
            ev(30_000, "web-r2-0", "created"),
            ev(30_000, "web-r2-1", "created"),
            ev(36_000, "web-r2-2", "created"),
            ev(36_000, "web-r2-3", "created"),
        ]
    );
    assert!(t.contains(&ev(42_000, "web-r2-3", "ready")), "{t:?}");
    // Twice the failures of maxUnavailable 0: 3 pods at 100 % for 6 s
    // queue up, and the deletions reset those queues.
    assert_eq!(m.loads[0].pooled.failed, 610);
    assert_eq!(m.workloads[0].pooled.failed, 216);
}

#[test]
fn node_drain_evicts_both_pods_and_replaces_them_on_the_other_nodes() {
    let m = common::run(&load("node-drain", &[]));
    assert_accounting(&m);
    let mut want = vec![
        ev(30_000, "web-0", "died"),
        ev(30_000, "web-0", "unready"),
        ev(30_000, "web-3", "died"),
        ev(30_000, "web-3", "unready"),
        ev(30_000, "web-4", "created"),
        ev(30_000, "web-5", "created"),
        ev(31_000, "web-0", "endpoint-removed"),
        ev(31_000, "web-3", "endpoint-removed"),
    ];
    for (t, what) in [
        (32_000, "started"),
        (35_000, "listening"),
        (36_000, "ready"),
        (37_000, "endpoint-added"),
    ] {
        want.push(ev(t, "web-4", what));
        want.push(ev(t, "web-5", what));
    }
    assert_eq!(timeline(&m), want);
    let details: Vec<&str> = m.outcomes[0]
        .pod_events
        .iter()
        .filter(|e| e.what == "created")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(details, vec!["on node-1", "on node-2"]);
    assert_eq!(m.loads[0].pooled.failed, 122, "116 refused + 6 reset");
    assert_eq!(m.workloads[0].pooled.failed, 6);
}

#[test]
fn zone_loss_without_locality_makes_a_third_of_the_requests_wait_for_the_connect_timeout() {
    let m = common::run(&load("zone-loss", &[]));
    assert_accounting(&m);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "api-2", "unreachable"),
            ev(80_000, "api-2", "unready"),
            ev(81_000, "api-2", "endpoint-removed"),
        ]
    );
    // Retried after UF: no failure but the one request in flight on api-2.
    let (a, b) = (&m.loads[0].pooled, &m.loads[1].pooled);
    assert_eq!((a.failed, b.failed), (1, 0));
    // Those sent to api-2 from 30 s until the ejection at ≈ 40 s (≈ 1/3 ×
    // 200/s × 10 s) took 10 s more: the mean is ≈ 680 × 10 s / 18 000.
    for l in [a, b] {
        let mean = l.mean_secs().expect("requests");
        assert!((0.3..0.5).contains(&mean), "mean {mean}");
    }
}

#[test]
fn zone_loss_with_locality_keeps_each_client_in_its_zone() {
    let spec = load(
        "zone-loss",
        &[("destination-rule.yaml", "enabled: false", "enabled: true")],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    for l in &m.loads {
        assert_eq!(l.pooled.failed, 0);
        let mean = l.pooled.mean_secs().expect("requests");
        assert!(mean < 0.02, "nothing waits for a connect timeout: {mean}");
    }
}

// ---------------------------------------------------------------------------
// Chaos Mesh partition and validation of `Simulation.spec.events`.

fn sim(events: &str) -> String {
    format!(
        "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: s}}\nspec:\n  duration: 20s\n  warmup: 0s\n  seed: 1\n{events}"
    )
}

fn errors_of(events: &str) -> String {
    let base = common::server_yaml("web", 2, 4, "{constant: 10ms}");
    match common::load_texts(&[("app.yaml", &base), ("sim.yaml", &sim(events))]) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_timed_events_are_located_errors() {
    let e = errors_of("  events:\n  - {at: 5s, scale: {deployment: nope, replicas: 3}}\n");
    assert!(
        e.contains("sim.yaml:9:") && e.contains("spec.events[0].scale.deployment"),
        "{e}"
    );
    assert!(
        e.contains("\"nope\" is no Deployment (known: default/web)"),
        "{e}"
    );
    let e = errors_of(
        "  events:\n  - {at: 5s, scale: {deployment: web, replicas: 3}, drain: {node: node}}\n",
    );
    assert!(e.contains("give exactly one of scale, rollout"), "{e}");
    let e = errors_of("  events:\n  - {at: 5s, drain: {node: n9}}\n");
    assert!(
        e.contains("\"n9\" is no node of the Cluster (nodes: node)"),
        "{e}"
    );
    let e = errors_of("  events:\n  - {at: 5s, workload: {deployment: web}}\n");
    assert!(e.contains("give serviceTimeScale or errors"), "{e}");
    assert_eq!(
        errors_of("  events:\n  - {at: 5s, scale: {deployment: web, replicas: 3}}\n"),
        ""
    );
}

#[test]
fn scaling_up_creates_pods_in_empty_slots_and_down_deletes_the_newest() {
    let base = common::server_yaml("web", 2, 4, "{constant: 10ms}");
    let load = "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: u}\nspec: {target: 'http://web:8080/', open: {rate: 50}}\n";
    let events = "  lifecycle: {endpointDelay: 1s, containerStart: 1s}\n  events:\n  - {at: 5s, scale: {deployment: web, replicas: 4}}\n  - {at: 12s, scale: {deployment: web, replicas: 1}}\n";
    let s = common::load_texts(&[
        ("app.yaml", &base),
        ("l.yaml", load),
        ("sim.yaml", &sim(events)),
    ])
    .expect("valid");
    // Slots: the largest scale (4) plus the default maxSurge (25 %: 1).
    assert_eq!(s.deployments[0].replicas, 5);
    let m = common::run(&s);
    assert_accounting(&m);
    let t = timeline(&m);
    let died: Vec<_> = t.iter().filter(|e| e.2 == "died").cloned().collect();
    // Newest first: web-3, web-2 (created at 5 s), then web-1.
    assert_eq!(
        died,
        vec![
            ev(12_000, "web-3", "died"),
            ev(12_000, "web-2", "died"),
            ev(12_000, "web-1", "died"),
        ]
    );
    assert!(t.contains(&ev(5_000, "web-2", "created")), "{t:?}");
    assert!(t.contains(&ev(7_000, "web-3", "endpoint-added")), "{t:?}");
}

#[test]
fn a_partition_from_everything_makes_connections_time_out() {
    let base = common::server_yaml("web", 2, 4, "{constant: 10ms}");
    let load = "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: u}\nspec: {target: 'http://web:8080/', open: {rate: 100, arrival: constant}}\n";
    let chaos = "apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChaos\nmetadata: {name: cut, annotations: {meshsim.dev/start: 5s}}\nspec:\n  action: partition\n  direction: both\n  mode: one\n  duration: 4s\n  selector: {labelSelectors: {app: web}}\n";
    let s = common::load_texts(&[
        ("app.yaml", &base),
        ("l.yaml", load),
        ("sim.yaml", &sim("")),
        ("chaos.yaml", chaos),
    ])
    .expect("valid");
    assert!(s.not_simulated.is_empty(), "{:?}", s.not_simulated);
    let m = common::run(&s);
    assert_accounting(&m);
    let t = timeline(&m);
    assert_eq!(
        t.iter().filter(|e| e.2 == "partitioned").count(),
        1,
        "{t:?}"
    );
    // kube-proxy's picks that land on the cut pod during its 4 s (≈ half of
    // 400; 190 with seed 1) wait for the kernel's 127 s connect timeout:
    // in flight when the 20 s run ends; nothing fails.
    let u = &m.loads[0].pooled;
    assert_eq!(m.outcomes[0].loads_in_flight[0], 190);
    assert_eq!(u.failed, 0);
}

#[test]
fn a_workload_event_injects_errors_from_its_time_on() {
    // The same app, with no rollout: from 30 s on web answers every request
    // with 503 (a deployment that had no errors at the start: the server
    // must check them from then on).
    let spec = load(
        "rolling-update",
        &[(
            "events.yaml",
            "    rollout:\n      deployment: web\n      labels: {version: v2}",
            "    workload:\n      deployment: web\n      errors: {probability: 1, status: 503}",
        )],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    let web = &m.workloads[0].pooled;
    let codes: Vec<u16> = web.codes.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, vec![200, 503]);
    // 60 of the run's 90 s fail: 2/3 of ≈ 27,000 Poisson arrivals (a
    // 99.9 % band is ± 0.01 around 2/3; the requests on the pods at 30 s
    // make it a hair less).
    let share = web.failed as f64 / web.requests as f64;
    assert!((0.655..0.677).contains(&share), "{share}");
}

#[test]
fn a_prestop_sleep_removes_the_refusals_of_a_rolling_update_with_a_draining_app() {
    let hook = "        lifecycle:\n          preStop:\n            exec: {command: [\"/bin/sh\", \"-c\", \"sleep 5\"]}\n";
    for (edits, refused, step) in [
        (vec![], 0u64, "sigterm at +5 s"),
        (vec![("app.yaml", hook, "")], 299, "sigterm at once"),
    ] {
        let m = common::run(&load("graceful-rollout", &edits));
        assert_accounting(&m);
        let users = &m.loads[0].pooled;
        // 27 230 arrivals in 90 s; 18 still in flight at the end.
        assert_eq!(
            (
                users.requests,
                users.failed,
                m.outcomes[0].loads_in_flight[0]
            ),
            (27_230, refused, 18),
            "{step}"
        );
        // The old pods: deleted at 36, 42, 48, 54 s; SIGTERM after the
        // hook; each exits when its last request is answered, none is
        // killed and no request is reset.
        let t = timeline(&m);
        let delay = if refused == 0 { 5_000 } else { 0 };
        for (k, pod) in ["web-3", "web-2", "web-1", "web-0"].iter().enumerate() {
            let at = 36_000 + 6_000 * k as u64;
            assert!(t.contains(&ev(at, pod, "terminating")), "{step} {t:?}");
            assert!(
                t.contains(&ev(at + 1_000, pod, "endpoint-removed")),
                "{step}"
            );
            assert!(t.contains(&ev(at + delay, pod, "sigterm")), "{step} {t:?}");
        }
        let died: Vec<&String> = m.outcomes[0]
            .pod_events
            .iter()
            .filter(|e| e.what == "died")
            .map(|e| &e.detail)
            .collect();
        assert_eq!(died.len(), 4);
        assert!(
            died.iter()
                .all(|d| *d == "exited: its last request answered"),
            "{died:?}"
        );
    }
}

#[test]
fn termination_settings_are_read_and_validated_as_the_api_server_does() {
    let dir = crate::chaos::folder("graceful-rollout");
    let app = std::fs::read_to_string(dir.join("app.yaml")).unwrap();
    let events = std::fs::read_to_string(dir.join("events.yaml")).unwrap();
    let load = |from: &str, to: &str| {
        let a = app.replace(from, to);
        assert_ne!(a, app, "{from:?} not found");
        common::load_texts(&[("app.yaml", &a), ("events.yaml", &events)])
    };
    let exec = "exec: {command: [\"/bin/sh\", \"-c\", \"sleep 5\"]}";
    let err = |from: &str, to: &str| load(from, to).err().map(|e| e.to_string()).unwrap();
    let e = err(
        exec,
        "exec: {command: [sleep, \"5\"]}\n            sleep: {seconds: 5}",
    );
    assert!(
        e.contains("app.yaml:") && e.contains("must specify exactly one handler"),
        "{e}"
    );
    let e = err(
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriodSeconds: -1",
    );
    assert!(e.contains("terminationGracePeriodSeconds"), "{e}");
    // The sleep handler; both ReplicaSets (web, web-r2) inherit it.
    let s = load(exec, "sleep: {seconds: 7}").unwrap();
    let t = &s.chaos.termination;
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.pre_stop.as_nanos() == 7_000_000_000));
    assert!(t.iter().all(|t| t.grace.as_nanos() == 30_000_000_000));
    // An httpGet hook is accepted, listed as not simulated, and instant.
    let s = load(exec, "httpGet: {path: /quit, port: 8080}").unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("preStop httpGet: not simulated"))
    );
    assert!(
        s.chaos
            .termination
            .iter()
            .all(|t| t.pre_stop.as_nanos() == 0)
    );
}
