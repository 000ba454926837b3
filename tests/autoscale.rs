//! See tests/main.rs for what this module covers.
//!
//! The expected trajectories are worked out here from the controller's
//! algorithm (sim/cluster/hpa.rs cites it) with the scenario's numbers:
//! 25 ms of CPU per request, 10 requests/s from 0 s and 10 more from 60 s,
//! 250m requested per pod, a 50 % target, syncs every 15 s.

use crate::chaos::{assert_accounting, load};
use crate::common;
use meshsim::batch::Merged;
use meshsim::world::autoscale::{HpaTrace, Sync};

const REQUEST_MILLI: u64 = 250;
const TARGET: u64 = 50;
/// CPU the load uses, milli-cores: rate × 25 ms.
const BEFORE: u64 = 10 * 25;
const AFTER: u64 = 20 * 25;

fn trace(m: &Merged) -> &HpaTrace {
    &m.outcomes[0].autoscale[0]
}

/// `Σ usage × 100 / Σ request` over `pods` pods (integer percent).
fn util(milli: u64, pods: u64) -> u32 {
    (milli * 100 / (pods * REQUEST_MILLI)) as u32
}

fn secs(s: &Sync) -> u64 {
    s.at.0 / 1_000_000_000
}

/// (t, current, desired, utilisation, [ready, unready, missing, ignored]).
type Row = (u64, u32, u32, Option<u32>, [u32; 4]);

fn rows(t: &HpaTrace) -> Vec<Row> {
    t.syncs
        .iter()
        .map(|s| (secs(s), s.current, s.desired, s.utilization, s.pods))
        .collect()
}

#[test]
fn hpa_step_follows_the_controllers_algorithm_sync_by_sync() {
    let spec = load("hpa-step", &[]);
    let m = common::run(&spec);
    assert_accounting(&m);
    let t = trace(&m);
    // Before the step: 250m of 2 × 250m = 50 % ⇒ ratio 1.0 ⇒ stay.
    assert_eq!(util(BEFORE, 2), 50);
    // The window [60, 75): 500m ⇒ 100 % ⇒ ratio 2.0 ⇒ ceil(2.0 × 2) = 4,
    // within the legacy limit max(2 × 2, 4) = 4.
    let up = (f64::from(util(AFTER, 2)) / TARGET as f64 * 2.0).ceil() as u32;
    assert_eq!((util(AFTER, 2), up), (100, 4));
    let mut want: Vec<Row> = [15, 30, 45, 60]
        .iter()
        .map(|&s| (s, 2, 2, Some(util(BEFORE, 2)), [2, 0, 0, 0]))
        .collect();
    want.push((75, 2, up, Some(util(AFTER, 2)), [2, 0, 0, 0]));
    // 90 s: web-2 and web-3 run since 76 s, no metric window yet ⇒
    // missing, 0 % on a scale-up: (500 + 0) / 1000 = 50 % ⇒ 1.0 ⇒ stay.
    // The reported utilisation is the ready pods' alone.
    want.push((90, 4, 4, Some(util(AFTER, 2)), [2, 0, 2, 0]));
    let got = rows(t);
    assert_eq!(got[..6], want[..]);
    // 105 s: the new pods Ready at 96 s, less than one window ago (CPU
    // initialisation): unready. Their share of [97, 105) is random, so the
    // old pods' utilisation is, but every value stays at 4 (see app.yaml).
    let (at, cur, des, u, pods) = got[6];
    assert_eq!((at, cur, des, pods), (105, 4, 4, [2, 2, 0, 0]));
    assert!((46..=100).contains(&u.unwrap()), "{u:?}");
    // 120 s on: all four counted, 500m of 1000m = 50 % ⇒ stay.
    for &(at, cur, des, u, pods) in &got[7..] {
        assert_eq!(
            (cur, des, u, pods),
            (4, 4, Some(util(AFTER, 4)), [4, 0, 0, 0]),
            "at {at} s"
        );
    }
    assert_eq!(
        got.len(),
        11,
        "syncs at 15, 30, …, 165 s (180 s is the end)"
    );
    let traj: Vec<(u64, u32)> = t
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 4)]);
    // The pods' own timeline: created at the decision, Ready at 76 + 20 s
    // (the first probe at or after the app listens), listed 1 s later.
    let ev: Vec<(u64, String, &str)> = m.outcomes[0]
        .pod_events
        .iter()
        .map(|e| (e.at.0 / 1_000_000, e.pod.clone(), e.what))
        .collect();
    let e = |t: u64, p: &str, w: &'static str| (t, p.to_string(), w);
    assert_eq!(
        ev,
        vec![
            e(75_000, "hpa/default/web", "scaled"),
            e(75_000, "web-2", "created"),
            e(75_000, "web-3", "created"),
            e(76_000, "web-2", "started"),
            e(76_000, "web-3", "started"),
            // Both apps listen, then each pod's readiness probe (a kubelet
            // probe event of its own, due at the same instant) passes.
            e(96_000, "web-2", "listening"),
            e(96_000, "web-3", "listening"),
            e(96_000, "web-2", "ready"),
            e(96_000, "web-3", "ready"),
            e(97_000, "web-2", "endpoint-added"),
            e(97_000, "web-3", "endpoint-added"),
        ]
    );
    // New connections reach the new pods from 97 s: 83 s × 20/s, a quarter
    // each (kube-proxy's uniform pick); the unused slots get nothing.
    let pods = &m.outcomes[0].pod_requests;
    for &n in &pods[2..4] {
        assert!(common::within_binomial(n, 83 * 20, 0.25), "{n} of 1660");
    }
    assert!(pods[4..].iter().all(|&n| n == 0), "{pods:?}");
    assert_eq!(pods.iter().sum::<u64>(), 3000);
}

#[test]
fn pinned_keep_alive_connections_never_reach_the_new_pods_though_the_hpa_is_content() {
    // The same run with keep-alive pools: every connection was opened to
    // web-0 or web-1 and stays there.
    let open = "open: {rate: 10, arrival: constant}";
    let pooled = "open: {rate: 10, arrival: constant, connections: 4}";
    let spec = load("hpa-step", &[("app.yaml", open, pooled)]);
    let m = common::run(&spec);
    assert_accounting(&m);
    let pods = &m.outcomes[0].pod_requests;
    assert_eq!(pods[2..].iter().sum::<u64>(), 0, "{pods:?}");
    // The HPA sees 2 pods at 100 % and 2 idle: 50 % on average, on target.
    let t = trace(&m);
    let traj: Vec<(u64, u32)> = t
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 4)]);
    let last = t.syncs.last().unwrap();
    assert_eq!(
        (last.utilization, last.pods),
        (Some(util(AFTER, 4)), [4, 0, 0, 0])
    );
}

#[test]
fn a_scale_up_policy_of_one_pod_per_minute_paces_the_trajectory() {
    let hpa = "      target: {type: Utilization, averageUtilization: 50}\n";
    let with = "      target: {type: Utilization, averageUtilization: 50}\n  behavior:\n    scaleUp:\n      policies: [{type: Pods, value: 1, periodSeconds: 60}]\n";
    let spec = load("hpa-step", &[("hpa.yaml", hpa, with)]);
    let m = common::run(&spec);
    assert_accounting(&m);
    // 75 s: want 4, at most 2 + 1 = 3. 90–120 s: the pod added at 75 s is
    // within the 60 s period ⇒ the limit stays 3 whatever the metric says
    // (120 s: 500m / 750m = 66 % ⇒ ceil(1.32 × 3) = 4, limited). 135 s: the
    // event is exactly 60 s old, not within ⇒ 3 + 1 = 4. 150 s on: web-3
    // missing then unready, the rest at 500m / 750m ⇒ never above 4.
    assert_eq!(util(AFTER, 3), 66);
    let traj: Vec<(u64, u32)> = trace(&m)
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 3), (135, 4)]);
    let s120 = &trace(&m).syncs[7];
    assert_eq!(
        (
            secs(s120),
            s120.utilization,
            s120.desired,
            s120.reason.as_str()
        ),
        (120, Some(66), 3, "ScaleUpLimit")
    );
}

#[test]
fn a_container_without_a_cpu_request_blocks_scaling_as_in_kubernetes() {
    let req = "        resources:\n          requests: {cpu: 250m}\n";
    let spec = load("hpa-step", &[("app.yaml", req, "")]);
    assert!(
        spec.warnings
            .iter()
            .any(|w| w.contains("missing request for cpu in container \"web\"")),
        "{:?}",
        spec.warnings
    );
    let m = common::run(&spec);
    let t = trace(&m);
    assert_eq!(t.trajectory().len(), 1, "never scales");
    assert!(t.syncs.iter().all(|s| s.desired == 2
        && s.utilization.is_none()
        && s.reason.starts_with("FailedGetResourceMetric")));
}

#[test]
fn the_injected_sidecars_request_counts_in_the_utilisation() {
    let labels = "metadata: {labels: {app: web}}";
    let injected = "metadata: {labels: {app: web, sidecar.istio.io/inject: \"true\"}}";
    let spec = load("hpa-step", &[("app.yaml", labels, injected)]);
    assert_eq!(spec.autoscalers[0].pod_request, Ok(250 + 100));
    let m = common::run(&spec);
    assert_accounting(&m);
    // 500m of 2 × 350m = 71 % ⇒ 1.42 ⇒ ceil(2.84) = 3 at 75 s (not 4).
    let s75 = &trace(&m).syncs[4];
    assert_eq!((s75.utilization, s75.desired), (Some(71), 3));
    let traj: Vec<(u64, u32)> = trace(&m)
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 3)]);
}

#[test]
fn hpa_section_appears_only_with_an_hpa() {
    let spec = load("hpa-step", &[]);
    let m = common::run(&spec);
    let s = meshsim::report::summary::value(&spec, &m);
    let a = &s["autoscaling"]["autoscalers"][0];
    assert_eq!(a["name"], "default/web");
    assert_eq!(a["replicas"][1]["t_s"], 75.0);
    assert_eq!(a["replicas"][1]["replicas"], 4);
    let plain = load("pod-kill-readiness", &[]);
    let m = common::run(&plain);
    let s = meshsim::report::summary::value(&plain, &m);
    assert!(s.get("autoscaling").is_none());
}

#[test]
fn scale_down_waits_for_the_five_minute_window_then_deletes_the_newest_pods() {
    // The step stops at 120 s; the run lasts 480 s.
    let step = "  start: 60s\n";
    let stops = "  start: 60s\n  stop: 120s\n";
    let spec = load(
        "hpa-step",
        &[
            ("app.yaml", step, stops),
            ("app.yaml", "duration: 180s", "duration: 480s"),
        ],
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    let t = trace(&m);
    // From 135 s the window holds 250m of 1000m = 25 % ⇒ 0.5 ⇒ ceil(0.5 × 4)
    // = 2; without `behavior` the highest recommendation of the last 300 s
    // (4, last at 120 s; `Before(cutoff)` is strict) holds until 435 s.
    assert_eq!(util(BEFORE, 4), 25);
    let s135 = t.syncs.iter().find(|s| secs(s) == 135).unwrap();
    assert_eq!(
        (s135.utilization, s135.desired, s135.reason.as_str()),
        (Some(25), 4, "ScaleDownStabilized")
    );
    let traj: Vec<(u64, u32)> = t
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 4), (435, 2)]);
    // The ReplicaSet deletes the most recently Ready pods: web-3 and web-2
    // (Ready at 96 s; web-0 and web-1 were Ready before the run).
    let ev: Vec<(u64, String, &str)> = m.outcomes[0]
        .pod_events
        .iter()
        .filter(|e| e.at.0 >= 435_000_000_000)
        .map(|e| (e.at.0 / 1_000_000, e.pod.clone(), e.what))
        .collect();
    let e = |t: u64, p: &str, w: &'static str| (t, p.to_string(), w);
    assert_eq!(
        ev,
        vec![
            e(435_000, "hpa/default/web", "scaled"),
            e(435_000, "web-3", "died"),
            e(435_000, "web-3", "unready"),
            e(435_000, "web-2", "died"),
            e(435_000, "web-2", "unready"),
            e(436_000, "web-3", "endpoint-removed"),
            e(436_000, "web-2", "endpoint-removed"),
        ]
    );
    // What kube-proxy still sends them for the 1 s of propagation is
    // refused: about half of 10/s for 1 s (never more than the arrivals).
    let failed: u64 = m.loads.iter().map(|l| l.pooled.failed).sum();
    assert!((1..=10).contains(&failed), "failed {failed}");
}

fn hpa_error(hpa: &str) -> Vec<String> {
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: sim}\nspec: {duration: 10s}\n";
    match common::load_texts(&[
        ("sim.yaml", sim),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        ("bad.yaml", hpa),
    ]) {
        Ok(_) => panic!("should be invalid"),
        Err(meshsim::scenario::LoadError::Invalid(d)) => {
            d.errors().map(|d| d.to_string()).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn invalid_hpas_are_located_errors() {
    let head = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n";
    let min_over_max = format!("{head}  minReplicas: 5\n  maxReplicas: 3\n");
    assert_eq!(
        hpa_error(&min_over_max),
        vec![
            "bad.yaml:6:16: document 1 (HorizontalPodAutoscaler default/web): spec.minReplicas: 5, must be ≤ maxReplicas (3)"
        ]
    );
    let no_max = head.to_string();
    assert_eq!(
        hpa_error(&no_max),
        vec![
            "bad.yaml:4:1: document 1 (HorizontalPodAutoscaler default/web): spec.maxReplicas: missing required field"
        ]
    );
    let policy = format!(
        "{head}  maxReplicas: 3\n  behavior:\n    scaleUp:\n      policies: [{{type: Pod, value: 1, periodSeconds: 15}}]\n"
    );
    let e = hpa_error(&policy);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("spec.behavior.scaleUp.policies[0].type: \"Pod\", must be Pods or Percent"),
        "{e:?}"
    );
    // Pod slots up to maxReplicas exist from the start: meshsim's pod limit applies.
    let huge = format!("{head}  maxReplicas: 200000\n");
    let e = hpa_error(&huge);
    assert_eq!(
        e,
        vec![
            "bad.yaml:3:18: document 1 (HorizontalPodAutoscaler default/web): metadata.name: maxReplicas 200000: the scenario would hold 200000 pods, above meshsim's limit of 100000"
        ]
    );
    let old = head.replace("autoscaling/v2", "autoscaling/v2beta1") + "  maxReplicas: 3\n";
    let e = hpa_error(&old);
    assert!(e[0].contains("meshsim reads autoscaling/v2"), "{e:?}");
}

/// The scenario's pod timeline from `from` ms on, without the probe-driven
/// `listening` / `started` lines.
fn controller_events(m: &Merged, from: u64) -> Vec<(u64, String, &'static str, String)> {
    m.outcomes[0]
        .pod_events
        .iter()
        .filter(|e| e.at.0 / 1_000_000 >= from && !["listening", "started"].contains(&e.what))
        .map(|e| (e.at.0 / 1_000_000, e.pod.clone(), e.what, e.detail.clone()))
        .collect()
}

#[test]
fn an_hpa_scale_during_a_rollout_is_shared_in_proportion_between_old_and_new() {
    let m = common::run(&load("hpa-rollout", &[]));
    assert_accounting(&m);
    let t = trace(&m);
    // 75 s: web-0/web-1 at 100 %, web-r2-0 (running since 66 s) missing ⇒
    // 0 % on a scale-up: (500m + 0) / 750m = 66 % ⇒ ceil(1.33 × 3) = 4.
    let s75 = t.syncs.iter().find(|s| secs(s) == 75).unwrap();
    assert_eq!(
        (s75.current, s75.desired, s75.utilization, s75.pods),
        (2, 4, Some(util(AFTER, 2)), [2, 0, 1, 0])
    );
    let traj: Vec<(u64, u32)> = t
        .trajectory()
        .iter()
        .map(|(at, n)| (at.0 / 1_000_000_000, *n))
        .collect();
    assert_eq!(traj, vec![(0, 2), (75, 4)]);
    let e = |t: u64, p: &str, w: &'static str, d: &str| (t, p.to_string(), w, d.to_string());
    let on = "on node";
    let hpa = "by the ReplicaSet (HPA scale-up)";
    let down = "deleted (ReplicaSet scaled down)";
    let r = |a: u32, b: u32| format!("replicas {a} → {b}");
    let kp = "kube-proxy and sidecars send to it";
    let gone = "kube-proxy and sidecars stop sending to it";
    assert_eq!(
        controller_events(&m, 0),
        vec![
            e(65_000, "web-r2", "scaled", &r(0, 1)),
            e(65_000, "web-r2-0", "created", on),
            e(
                75_000,
                "hpa/default/web",
                "scaled",
                "2 → 4: cpu 100% of 50% target (2 ready, 0 unready, 1 missing)"
            ),
            // scale(): (4 + 1) − 3 = 2 to add; web round(2 × 5 / 3) − 2 = 1,
            // web-r2 round(1 × 5 / 3) − 1 = 1: an old-template pod too.
            e(75_000, "web", "scaled", &r(2, 3)),
            e(75_000, "web-2", "created", hpa),
            e(75_000, "web-r2", "scaled", &r(1, 2)),
            e(75_000, "web-r2-1", "created", hpa),
            // web-r2-0 Ready: maxScaledDown = 5 − 3 − 1 = 1, spent on the
            // old set's unhealthy pod (cleanupUnhealthyReplicas), which the
            // ReplicaSet deletes first (not Ready < Ready).
            e(86_000, "web-r2-0", "ready", "readiness probe passed"),
            e(86_000, "web", "scaled", &r(3, 2)),
            e(86_000, "web-2", "died", down),
            e(86_000, "web-r2", "scaled", &r(2, 3)),
            e(86_000, "web-r2-2", "created", on),
            e(87_000, "web-r2-0", "endpoint-added", kp),
            e(96_000, "web-r2-1", "ready", "readiness probe passed"),
            e(96_000, "web", "scaled", &r(2, 1)),
            e(96_000, "web-1", "died", down),
            e(96_000, "web-1", "unready", "pod deleted"),
            e(96_000, "web-r2", "scaled", &r(3, 4)),
            e(96_000, "web-r2-3", "created", on),
            e(97_000, "web-r2-1", "endpoint-added", kp),
            e(97_000, "web-1", "endpoint-removed", gone),
            e(107_000, "web-r2-2", "ready", "readiness probe passed"),
            e(107_000, "web", "scaled", &r(1, 0)),
            e(107_000, "web-0", "died", down),
            e(107_000, "web-0", "unready", "pod deleted"),
            e(108_000, "web-r2-2", "endpoint-added", kp),
            e(108_000, "web-0", "endpoint-removed", gone),
            e(117_000, "web-r2-3", "ready", "readiness probe passed"),
            e(118_000, "web-r2-3", "endpoint-added", kp),
        ]
    );
    // Refused while a deleted pod's endpoint propagates (web-1, web-0:
    // 1 s each at 20/s on 2–3 endpoints), plus one reset in flight.
    let failed: Vec<u64> = m.loads.iter().map(|l| l.pooled.failed).collect();
    assert_eq!(failed, vec![7, 9]);
}

#[test]
fn a_scale_event_on_an_hpa_deployment_warns_and_the_hpa_sets_its_count_again() {
    let events =
        "appStartup: 20s}\n  events:\n  - {at: 100s, scale: {deployment: web, replicas: 1}}";
    let spec = load("hpa-step", &[("app.yaml", "appStartup: 20s}", events)]);
    assert!(
        spec.warnings.iter().any(|w| w.contains(
            "\"web\" is scaled by HorizontalPodAutoscaler default/web: it sets its own replica count again at its next sync"
        )),
        "{:?}",
        spec.warnings
    );
    let m = common::run(&spec);
    assert_accounting(&m);
    let t = trace(&m);
    // 105 s: current 1 is below minReplicas 2: clamped without metrics.
    let s105 = t.syncs.iter().find(|s| secs(s) == 105).unwrap();
    assert_eq!((s105.current, s105.desired), (1, 2));
    let e = |t: u64, p: &str, w: &'static str| (t, p.to_string(), w);
    let got: Vec<(u64, String, &'static str)> = controller_events(&m, 100_000)
        .into_iter()
        .filter(|x| x.0 <= 105_000)
        .map(|(t, p, w, _)| (t, p, w))
        .collect();
    // The ReplicaSet keeps the pod Ready longest: web-3 and web-2 (Ready
    // at 96 s, tied: the higher slot first), then web-1 (web-0 and web-1
    // were Ready before the run).
    assert_eq!(
        got,
        vec![
            e(100_000, "web", "scaled"),
            e(100_000, "web-3", "died"),
            e(100_000, "web-3", "unready"),
            e(100_000, "web-2", "died"),
            e(100_000, "web-2", "unready"),
            e(100_000, "web-1", "died"),
            e(100_000, "web-1", "unready"),
            e(101_000, "web-3", "endpoint-removed"),
            e(101_000, "web-2", "endpoint-removed"),
            e(101_000, "web-1", "endpoint-removed"),
            e(105_000, "hpa/default/web", "scaled"),
            e(105_000, "web", "scaled"),
            e(105_000, "web-4", "created"),
        ]
    );
}
