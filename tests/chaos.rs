//! See tests/main.rs for what this module covers.
//!
//! Each test runs a shipped `scenarios/chaos/` folder as a user would and
//! checks the outcome its header states: the pod timeline exactly (the
//! events of replication 0, deterministic for the seed), failure counts
//! against their expected value, and the accounting invariant (every
//! request ends exactly once) through the failures. Contrasts are the same
//! folder with one line edited.

use crate::common;
use meshsim::batch::Merged;
use meshsim::scenario::{self, Overrides, Scenario};
use std::path::PathBuf;

pub(crate) fn folder(name: &str) -> PathBuf {
    common::root().join("scenarios").join("chaos").join(name)
}

/// The folder's YAML files with each `(file, from, to)` edit applied.
pub(crate) fn load(name: &str, edits: &[(&str, &str, &str)]) -> Scenario {
    let dir = folder(name);
    let sources = common::folder_sources(&dir, &[], edits);
    match scenario::from_sources(name.into(), &sources, &Overrides::default()) {
        Ok(s) => s,
        Err(e) => panic!("{name} should be valid:\n{e}"),
    }
}

/// Replication 0's pod events as (t in ms, pod, event).
pub(crate) fn timeline(m: &Merged) -> Vec<(u64, String, &'static str)> {
    m.outcomes[0]
        .pod_events
        .iter()
        .map(|e| (e.at.0 / 1_000_000, e.pod.clone(), e.what))
        .collect()
}

pub(crate) fn ev(t_ms: u64, pod: &str, what: &'static str) -> (u64, String, &'static str) {
    (t_ms, pod.to_string(), what)
}

/// (Here first; autoscale, probes and rollout import it from this module.)
pub(crate) use crate::common::assert_accounting;

/// |observed − expected| ≤ 4 √expected (Poisson counts).
pub(crate) fn near(observed: u64, expected: f64) -> bool {
    (observed as f64 - expected).abs() <= 4.0 * expected.sqrt()
}

#[test]
fn pod_kill_without_readiness_probe_sends_traffic_to_a_pod_that_is_not_listening() {
    let spec = load("pod-kill-no-probe", &[]);
    let m = common::run_checked(&spec);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "web-0", "chaos-start"),
            ev(30_000, "web-0", "died"),
            ev(30_000, "web-0", "unready"),
            ev(30_000, "web-3", "created"),
            ev(31_000, "web-0", "endpoint-removed"),
            ev(32_000, "web-3", "started"),
            ev(32_000, "web-3", "ready"),
            ev(33_000, "web-3", "endpoint-added"),
            ev(40_000, "web-3", "listening"),
        ]
    );
    let users = &m.loads[0].pooled;
    // 1/3 of 150/s refused for 1 s (old endpoint) + 7 s (new one, not
    // listening), plus the few requests in flight on web-0 at 30 s.
    let refused = users.failed;
    assert!(near(refused, 150.0 * 8.0 / 3.0), "failed {refused}");
    assert_eq!(
        users.codes.iter().find(|c| c.0 == 0).map(|c| c.1),
        Some(refused)
    );
    // Nothing fails outside [30 s, 40 s]: the server side saw only the
    // resets of what was on web-0.
    let web = &m.services[0].pooled;
    assert!(web.failed <= 10, "server-side failures {}", web.failed);
}

#[test]
fn pod_kill_with_readiness_probe_fails_only_while_the_endpoint_propagates() {
    let spec = load("pod-kill-readiness", &[]);
    let m = common::run_checked(&spec);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "web-0", "chaos-start"),
            ev(30_000, "web-0", "died"),
            ev(30_000, "web-0", "unready"),
            ev(30_000, "web-3", "created"),
            ev(31_000, "web-0", "endpoint-removed"),
            ev(32_000, "web-3", "started"),
            ev(40_000, "web-3", "listening"),
            ev(41_000, "web-3", "ready"),
            ev(42_000, "web-3", "endpoint-added"),
        ]
    );
    let failed = m.loads[0].pooled.failed;
    assert!(near(failed, 150.0 / 3.0), "failed {failed}");
    // The probe's period decides when the pod returns: with periodSeconds 1
    // it is Ready at 40 s (the probe at 5 s + 3 × 1 s after the start).
    let spec = load(
        "pod-kill-readiness",
        &[("app.yaml", "periodSeconds: 2", "periodSeconds: 1")],
    );
    let m = common::run(&spec);
    let t = timeline(&m);
    assert!(t.contains(&ev(40_000, "web-3", "ready")), "{t:?}");
    assert!(t.contains(&ev(41_000, "web-3", "endpoint-added")), "{t:?}");
}

#[test]
fn a_longer_propagation_delay_means_more_refused_connections() {
    let spec = load(
        "pod-kill-readiness",
        &[("app.yaml", "endpointDelay: 1s", "endpointDelay: 5s")],
    );
    let m = common::run_checked(&spec);
    let t = timeline(&m);
    assert!(
        t.contains(&ev(35_000, "web-0", "endpoint-removed")),
        "{t:?}"
    );
    let failed = m.loads[0].pooled.failed;
    assert!(near(failed, 150.0 * 5.0 / 3.0), "failed {failed}");
}

// ---------------------------------------------------------------------------
// Validation: located errors and "not simulated" lines.

fn errors_of(docs: &str) -> String {
    let base = common::app_yaml("web", 2);
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 10s}\n";
    match common::load_texts(&[("app.yaml", &base), ("sim.yaml", sim), ("chaos.yaml", docs)]) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn pod_failure_without_duration_and_container_kill_without_names_are_located_errors() {
    let e = errors_of(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: pf}\nspec:\n  action: pod-failure\n  mode: one\n  selector: {labelSelectors: {app: web}}\n",
    );
    assert!(
        e.contains("chaos.yaml:4:1: document 1 (PodChaos default/pf): spec.duration"),
        "{e}"
    );
    assert!(e.contains("spec.duration"), "{e}");
    assert!(e.contains("PodChaos default/pf"), "{e}");
    let e = errors_of(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: ck}\nspec:\n  action: container-kill\n  mode: all\n  selector: {labelSelectors: {app: web}}\n",
    );
    assert!(e.contains("spec.containerNames"), "{e}");
    let e = errors_of(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: ck}\nspec:\n  action: container-kill\n  containerNames: [nginx]\n  mode: fixed-percent\n  value: \"150\"\n  selector: {labelSelectors: {app: web}}\n",
    );
    assert!(e.contains("spec.value"), "{e}");
    assert!(e.contains("must be an integer in 1..=100"), "{e}");
    let e = errors_of(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: ck}\nspec:\n  action: container-kill\n  containerNames: [nginx]\n  mode: one\n  selector: {labelSelectors: {app: web}}\n",
    );
    assert!(e.contains("spec.containerNames"), "{e}");
    assert!(e.contains("no container \"nginx\""), "{e}");
    // A well-formed experiment loads.
    let ok = errors_of(
        "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: pk}\nspec:\n  action: pod-kill\n  mode: fixed\n  value: \"1\"\n  selector: {labelSelectors: {app: web}}\n",
    );
    assert_eq!(ok, "");
}

#[test]
fn actions_meshsim_cannot_model_are_listed_as_not_simulated() {
    let base = common::app_yaml("web", 2);
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 10s}\n";
    let chaos = "apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChaos\nmetadata: {name: lossy}\nspec:\n  action: loss\n  mode: all\n  selector: {labelSelectors: {app: web}}\n  loss: {loss: '25'}\n---\napiVersion: chaos-mesh.org/v1alpha1\nkind: StressChaos\nmetadata: {name: cpu}\nspec:\n  mode: one\n  selector: {labelSelectors: {app: web}}\n  stressors: {cpu: {workers: 1}}\n";
    let s = common::load_texts(&[
        ("app.yaml", &base),
        ("sim.yaml", sim),
        ("chaos.yaml", chaos),
    ])
    .expect("valid");
    let lines = s.not_simulated.join("\n");
    assert!(
        lines.contains("NetworkChaos loss: not simulated — packet loss"),
        "{lines}"
    );
    assert!(
        lines.contains("StressChaos (CPU/memory stress): not simulated"),
        "{lines}"
    );
    assert!(!s.chaos.is_active(), "nothing to run");
    assert_eq!(
        s.chaos.not_simulated.len(),
        2,
        "meshsim validate lists them"
    );
    assert!(s.istio.unsimulated.is_empty(), "not Istio's to list");
}

// ---------------------------------------------------------------------------
// With sidecars: UC is final, UF is retried.

/// A count in a recorder's flags (absent = 0).
fn flag(r: &meshsim::metrics::Recorder, f: &str) -> u64 {
    common::flagged(r, f)
}

#[test]
fn pod_kill_behind_sidecars_fails_only_the_requests_in_flight_as_uc() {
    let spec = load("pod-kill-mesh", &[]);
    let m = common::run_checked(&spec);
    let t = timeline(&m);
    assert_eq!(t[1], ev(30_000, "web-0", "died"));
    assert!(
        t.contains(&ev(31_000, "web-0", "endpoint-removed")),
        "{t:?}"
    );
    assert!(t.contains(&ev(42_000, "web-3", "endpoint-added")), "{t:?}");
    let users = &m.loads[0].pooled;
    // ≈ 10 in flight on web-0 (150/s ÷ 3 × 200 ms), each 503 UC.
    assert!((2..=30).contains(&users.failed), "failed {}", users.failed);
    assert_eq!(flag(users, "UC"), users.failed);
    assert_eq!(common::code(users, 503), users.failed);
    assert_eq!(flag(users, "UF"), 0, "refused connections were retried");
    // Connect failures during the 1 s propagation, each retried once on
    // another pod. Not 150/3 = 50 of them: Istio's default LEAST_REQUEST
    // (power of two choices) favours the host with the fewest requests in
    // flight, and a pod that refuses at once has none — it is picked
    // whenever one of the two candidates: 1 − (2/3)² = 5/9 of 150/s.
    let mesh = m.mesh.as_ref().expect("mesh");
    let d = mesh
        .destinations
        .iter()
        .position(|(k, _)| k == "web.default.svc.cluster.local/-")
        .expect("web's destination");
    let dest = &mesh.destinations[d].1.pooled;
    let retries =
        mesh.cluster_stats[d].get(meshsim::proxy::breaker::ClusterCounter::UpstreamRqRetry);
    assert!(near(retries, 150.0 * 5.0 / 9.0), "retries {retries}");
    assert_eq!(dest.failed, users.failed);
}

#[test]
fn container_kill_app_vs_istio_proxy() {
    let spec = load("container-kill", &[]);
    let m = common::run_checked(&spec);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "web-0", "chaos-start"),
            ev(30_000, "web-0", "died"),
            ev(30_000, "web-0", "unready"),
            ev(31_000, "web-0", "endpoint-removed"),
            ev(31_000, "web-0", "started"),
            ev(31_000, "web-0", "ready"),
            ev(32_000, "web-0", "endpoint-added"),
            ev(33_000, "web-0", "listening"),
            ev(60_000, "web-1", "chaos-start"),
            ev(60_000, "web-1", "died"),
            ev(60_000, "web-1", "unready"),
            ev(61_000, "web-1", "endpoint-removed"),
            ev(61_000, "web-1", "started"),
            ev(61_000, "web-1", "ready"),
            ev(62_000, "web-1", "endpoint-added"),
        ]
    );
    let users = &m.loads[0].pooled;
    // App killed: ≈ 10 in flight + the requests sent to a live sidecar with
    // a dead app for 2 s: plain 503s (no client flag), after the inbound
    // sidecar's 2 reset-before-request retries (≤ 75 ms). Quick 503s keep
    // the pod's in-flight count near 0, so LEAST_REQUEST picks it whenever
    // it is one of its two candidates: 5/9 of 150/s, not 1/3. Sidecar
    // killed: ≈ 10 UC.
    let uc = flag(users, "UC");
    let plain = common::code(users, 503) - uc;
    assert!(
        near(plain, 10.0 + 150.0 * 2.0 * 5.0 / 9.0),
        "plain 503s {plain}"
    );
    assert!((2..=30).contains(&uc), "UC {uc}");
    assert_eq!(users.failed, plain + uc);
    assert_eq!(flag(users, "UF"), 0);
}

#[test]
fn network_delay_slows_a_third_of_the_requests_for_thirty_seconds() {
    let spec = load("network-delay", &[]);
    let m = common::run_checked(&spec);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "web-2", "chaos-start"),
            ev(30_000, "web-2", "delayed"),
            ev(60_000, "web-2", "chaos-end"),
            ev(60_000, "web-2", "undelayed"),
        ]
    );
    let users = &m.loads[0].pooled;
    assert_eq!(users.failed, 0);
    // 20 ms exponential service: above 90 ms only when delayed (plus the
    // e^-4.5 ≈ 1 % tail of the undelayed: ≈ 130 of 13 500).
    let slow = common::latency_between(users, 0.090, 1e9);
    assert!(near(slow, 1500.0 + 0.011 * 12_000.0), "slow {slow}");
}

// ---------------------------------------------------------------------------
// pod-failure and the selector modes, as variants of pod-kill-no-probe.

#[test]
fn pod_failure_without_probes_keeps_a_paused_pod_in_the_service() {
    // Pause images: nothing listens; with no readiness probe and no
    // sidecar the running pause container counts as Ready, so the endpoint
    // comes back at 33 s and every connection to it is refused until the
    // experiment ends at 50 s and the app listens again (52 s + 8 s).
    let spec = load(
        "pod-kill-no-probe",
        &[(
            "podchaos.yaml",
            "action: pod-kill",
            "action: pod-failure\n  duration: 20s",
        )],
    );
    let m = common::run_checked(&spec);
    assert_eq!(
        timeline(&m),
        vec![
            ev(30_000, "web-0", "chaos-start"),
            ev(30_000, "web-0", "died"),
            ev(30_000, "web-0", "unready"),
            ev(31_000, "web-0", "endpoint-removed"),
            ev(32_000, "web-0", "started"),
            ev(32_000, "web-0", "ready"),
            ev(33_000, "web-0", "endpoint-added"),
            ev(50_000, "web-0", "chaos-end"),
            ev(50_000, "web-0", "unready"),
            ev(51_000, "web-0", "endpoint-removed"),
            ev(52_000, "web-0", "started"),
            ev(52_000, "web-0", "ready"),
            ev(53_000, "web-0", "endpoint-added"),
            ev(60_000, "web-0", "listening"),
        ]
    );
    // Refused: 1 s + 18 s + 7 s with the pod listed and deaf, a third each.
    let failed = m.loads[0].pooled.failed;
    assert!(near(failed, 150.0 * 26.0 / 3.0), "failed {failed}");
}

#[test]
fn selector_modes_pick_as_chaos_mesh_does() {
    let died = |edit: &str| -> usize {
        let spec = load(
            "pod-kill-readiness",
            &[("podchaos.yaml", "mode: one", edit)],
        );
        let m = common::run(&spec);
        assert_accounting(&m);
        m.outcomes[0]
            .pod_events
            .iter()
            .filter(|e| e.what == "died")
            .count()
    };
    assert_eq!(died("mode: all"), 3);
    assert_eq!(died("mode: fixed\n  value: \"2\""), 2);
    assert_eq!(
        died("mode: fixed\n  value: \"7\""),
        3,
        "all when fewer match"
    );
    // ceil(3 × 50 / 100) = 2; ceil(3 × 34 / 100) = 2; ceil(3 × 33 / 100) = 1.
    assert_eq!(died("mode: fixed-percent\n  value: \"50\""), 2);
    assert_eq!(died("mode: fixed-percent\n  value: \"34\""), 2);
    assert_eq!(died("mode: fixed-percent\n  value: \"33\""), 1);
    // `pods` narrows the candidates to the named pods.
    let spec = load(
        "pod-kill-readiness",
        &[(
            "podchaos.yaml",
            "    labelSelectors:\n      app: web",
            "    pods:\n      default: [web-2]",
        )],
    );
    let m = common::run(&spec);
    assert_eq!(timeline(&m)[1], ev(30_000, "web-2", "died"));
    assert!(timeline(&m).contains(&ev(30_000, "web-3", "created")));
}

#[test]
fn every_pod_dead_means_no_endpoint_at_all() {
    // mode all: for 1 s every connection is refused, then the Service has
    // no endpoint (kube-proxy rejects: status 0) until 42 s.
    let spec = load(
        "pod-kill-readiness",
        &[("podchaos.yaml", "mode: one", "mode: all")],
    );
    let m = common::run_checked(&spec);
    let failed = m.loads[0].pooled.failed;
    assert!(near(failed, 150.0 * 12.0), "failed {failed}");
    assert_eq!(common::code(&m.loads[0].pooled, 0), failed);
}

#[test]
fn a_second_container_kill_waits_for_crash_loop_back_off() {
    // The second experiment kills web-0's app again at 60 s: its second
    // restart waits kubelet's 10 s back-off (the first was immediate), so
    // the container runs at 71 s and listens at 73 s.
    let spec = load(
        "container-kill",
        &[
            ("kill-sidecar.yaml", "[istio-proxy]", "[web]"),
            ("kill-sidecar.yaml", "default: [web-1]", "default: [web-0]"),
        ],
    );
    let m = common::run_checked(&spec);
    let t: Vec<_> = timeline(&m).into_iter().filter(|e| e.0 >= 60_000).collect();
    assert_eq!(
        t,
        vec![
            ev(60_000, "web-0", "chaos-start"),
            ev(60_000, "web-0", "died"),
            ev(60_000, "web-0", "unready"),
            ev(60_000, "web-0", "back-off"),
            ev(61_000, "web-0", "endpoint-removed"),
            ev(71_000, "web-0", "started"),
            ev(71_000, "web-0", "ready"),
            ev(72_000, "web-0", "endpoint-added"),
            ev(73_000, "web-0", "listening"),
        ]
    );
}

// ---------------------------------------------------------------------------
// Accounting through deaths in a call graph.

/// Pods die while their scripts compute, wait in the queue, wait on calls
/// (pooled and not, parallel branches, app timeouts and retries), with and
/// without sidecars: every request still ends exactly once.
fn call_graph(mesh: bool) -> String {
    let sidecar = if mesh {
        "  mesh: {injectNamespaces: [default]}\n"
    } else {
        ""
    };
    format!(
        "{}---\n{}---\n{}---\n{}{sidecar}",
        common::app_yaml("front", 3),
        common::app_yaml("mid", 2),
        common::app_yaml("back", 2),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: front}
spec:
  workers: 4
  queue: {limit: 20}
  poolSize: 4
  script:
  - compute: {exponential: {mean: 5ms}}
  - parallel:
    - call: {host: mid, timeout: 300ms, retries: 1, onError: continue}
    - call: {host: back, retries: 2}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: mid}
spec:
  workers: 2
  holdWorkerDuringCalls: false
  script:
  - compute: {exponential: {mean: 20ms}}
  - call: {host: back}
  - compute: {constant: 5ms}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: back}
spec:
  workers: 4
  serviceTime: {exponential: {mean: 30ms}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://front:8080/
  open: {rate: 120, connections: 30}
---
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata: {name: kill-front, annotations: {meshsim.dev/start: 12s}}
spec: {action: pod-kill, mode: one, selector: {labelSelectors: {app: front}}}
---
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata: {name: kill-mid, annotations: {meshsim.dev/start: 15s}}
spec: {action: pod-kill, mode: all, selector: {labelSelectors: {app: mid}}}
---
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata: {name: pause-back, annotations: {meshsim.dev/start: 20s}}
spec: {action: pod-failure, duration: 5s, mode: one, selector: {labelSelectors: {app: back}}}
---
apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata: {name: app-back, annotations: {meshsim.dev/start: 28s}}
spec: {action: container-kill, containerNames: [app], mode: all, selector: {labelSelectors: {app: back}}}
---
apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata: {name: slow-mid, annotations: {meshsim.dev/start: 5s}}
spec: {action: delay, mode: one, selector: {labelSelectors: {app: mid}}, delay: {latency: 50ms, jitter: 20ms}, duration: 30s}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: deaths}
spec:
  duration: 40s
  warmup: 5s
  seed: 11
  replications: 3
"#
    )
}

#[test]
fn every_request_ends_exactly_once_through_deaths_in_a_call_graph() {
    for mesh in [false, true] {
        let spec = common::load_ok(&call_graph(mesh));
        let m = common::run(&spec);
        assert_accounting(&m);
        for o in &m.outcomes {
            let died = o.pod_events.iter().filter(|e| e.what == "died").count();
            // front: 1, mid: 2 (the delayed one too), back: 1 paused + 2 killed.
            assert_eq!(died, 6, "mesh {mesh}");
            assert!(o.loads[0].failed > 0, "mesh {mesh}: deaths cost requests");
            assert!(o.loads[0].completed > 3000, "mesh {mesh}");
        }
    }
}

// ---------------------------------------------------------------------------
// The liveness cascade (scenarios/chaos/liveness-cascade).

/// The restarts of the cascade, exactly (seed 7): web-0 is killed at 60 s;
/// the survivors fail their queued httpGet liveness probes 3 × 5 s later
/// and restart, the load lands on whoever is left, and CrashLoopBackOff
/// (10, 20, 40, 80 s between restarts of a container, plus the 2 s
/// container start) keeps pods out ever longer.
#[test]
fn liveness_probes_queued_behind_traffic_turn_one_pod_kill_into_a_cascade() {
    let spec = load("liveness-cascade", &[]);
    let m = common::run_checked(&spec);
    let restarts: Vec<_> = timeline(&m)
        .into_iter()
        .filter(|e| matches!(e.2, "died" | "back-off" | "started" | "created"))
        .collect();
    assert_eq!(
        restarts,
        vec![
            ev(60_000, "web-0", "died"),
            ev(60_000, "web-3", "created"),
            ev(62_000, "web-3", "started"),
            ev(75_120, "web-2", "died"),
            ev(77_120, "web-2", "started"),
            ev(79_069, "web-1", "died"),
            ev(81_069, "web-1", "started"),
            ev(93_000, "web-3", "died"),
            ev(95_000, "web-3", "started"),
            ev(98_120, "web-2", "died"),
            ev(98_120, "web-2", "back-off"),
            ev(110_120, "web-2", "started"),
            ev(112_069, "web-1", "died"),
            ev(112_069, "web-1", "back-off"),
            ev(116_000, "web-3", "died"),
            ev(116_000, "web-3", "back-off"),
            ev(124_069, "web-1", "started"),
            ev(128_000, "web-3", "started"),
            ev(131_120, "web-2", "died"),
            ev(131_120, "web-2", "back-off"),
            ev(145_069, "web-1", "died"),
            ev(145_069, "web-1", "back-off"),
            ev(149_000, "web-3", "died"),
            ev(149_000, "web-3", "back-off"),
            ev(153_120, "web-2", "started"),
            ev(167_069, "web-1", "started"),
            ev(171_000, "web-3", "started"),
            ev(174_120, "web-2", "died"),
            ev(174_120, "web-2", "back-off"),
            ev(188_069, "web-1", "died"),
            ev(188_069, "web-1", "back-off"),
            ev(192_000, "web-3", "died"),
            ev(192_000, "web-3", "back-off"),
            ev(216_120, "web-2", "started"),
            ev(230_069, "web-1", "started"),
            ev(234_000, "web-3", "started"),
            ev(237_120, "web-2", "died"),
            ev(237_120, "web-2", "back-off"),
            ev(251_069, "web-1", "died"),
            ev(251_069, "web-1", "back-off"),
            ev(255_000, "web-3", "died"),
            ev(255_000, "web-3", "back-off"),
        ]
    );
    // Each death was the kubelet's (liveness), after 3 queued probes timed out.
    let o = &m.outcomes[0];
    let liveness = o
        .pod_events
        .iter()
        .filter(|e| e.what == "died" && e.detail.starts_with("liveness probe failed 3×"))
        .count();
    assert_eq!(liveness, 15);
    let counts: Vec<(&str, u32)> = o
        .pod_restarts
        .iter()
        .map(|r| (r.pod.as_str(), r.restarts))
        .collect();
    // The last deaths' 80 s back-offs outlast the run: 4 restarts each.
    assert_eq!(counts, vec![("web-3", 4), ("web-1", 4), ("web-2", 4)]);
    // More than half of all requests fail, every one a reset or refusal.
    let users = &m.loads[0].pooled;
    assert!(
        users.failed * 2 > users.requests,
        "failed {} of {}",
        users.failed,
        users.requests
    );
    assert_eq!(common::code(users, 0), users.failed);
}

/// The same with the livenessProbe as `tcpSocket`: the kernel answers it
/// however long the queue is, so nobody restarts; only the kill's own
/// requests fail (the rest are served, slowly).
#[test]
fn a_tcp_liveness_probe_does_not_cascade() {
    let spec = load(
        "liveness-cascade",
        &[(
            "app.yaml",
            "        livenessProbe:\n          httpGet: {path: /healthz, port: 8080}",
            "        livenessProbe:\n          tcpSocket: {port: 8080}",
        )],
    );
    let m = common::run_checked(&spec);
    let o = &m.outcomes[0];
    assert!(o.pod_restarts.is_empty(), "{:?}", o.pod_restarts);
    let died = o.pod_events.iter().filter(|e| e.what == "died").count();
    assert_eq!(died, 1, "only the pod-kill");
    let users = &m.loads[0].pooled;
    assert!(users.failed < 300, "failed {}", users.failed);
}
