//! Locality load balancing end to end: istio.io's "Locality failover" task
//! (scenarios/istio-docs/locality-failover*), `distribute` weights, failover
//! without outlier detection, and `retryRemoteLocalities`. HelloWorld runs in
//! four localities (region1/zone1, region1/zone2, region2/zone3,
//! region3/zone4), one pod each; sleep calls it from region1/zone1 at 10/s
//! for 60 s (600 requests).

use crate::common::{self, code, load_rec, mesh_rec, received};
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

const FILES: [&str; 4] = [
    "helloworld.yaml",
    "destination-rule.yaml",
    "workloads.yaml",
    "scenario.yaml",
];
const Z1: &str = "sample/helloworld-region1.zone1";
const Z2: &str = "sample/helloworld-region1.zone2";
const Z3: &str = "sample/helloworld-region2.zone3";
const Z4: &str = "sample/helloworld-region3.zone4";
const DEST: &str = "helloworld.sample.svc.cluster.local/-";

fn dir(folder: &str) -> PathBuf {
    common::root().join("scenarios/istio-docs").join(folder)
}

/// The folder's files, each passed through `edit(name, text)`.
fn load_edited(folder: &str, edit: &dyn Fn(&str, String) -> String) -> Scenario {
    common::load_edited(&dir(folder), &FILES, edit)
}

/// Drains (503 on every request) the HelloWorld of `locality` too.
fn drain(text: String, locality: &str) -> String {
    let head = format!(
        "metadata: {{name: helloworld-{locality}, namespace: sample}}\nspec:\n  workers: 4\n  serviceTime: {{lognormal: {{mean: 2ms, cv: 0.5}}}}\n"
    );
    assert!(text.contains(&head), "{locality}");
    text.replace(
        &head,
        &format!("{head}  errors: {{probability: 1, status: 503}}\n"),
    )
}

fn per_locality(m: &meshsim::batch::Merged, s: &Scenario) -> [u64; 4] {
    [Z1, Z2, Z3, Z4].map(|k| received(m, s, k))
}

/// Envoy counter `name` of the helloworld cluster, summed over client proxies.
fn envoy(m: &meshsim::batch::Merged, name: &str) -> u64 {
    let mm = m.mesh.as_ref().expect("mesh");
    let i = mm
        .destinations
        .iter()
        .position(|(k, _)| k == DEST)
        .expect("destination");
    if let Some(od) = name.strip_prefix("outlier_detection.") {
        let named = mm.outlier_stats[i].named();
        return named.iter().find(|(k, _)| *k == od).map_or(0, |e| e.1);
    }
    mm.cluster_stats[i]
        .nonzero()
        .find(|(k, _)| *k == name)
        .map_or(0, |e| e.1)
}

/// The page's rule under Istio 1.28: the ejection of 1 of 4 hosts (25 %)
/// exceeds the default maxEjectionPercent 10 %, which Envoy ≥ 1.28 enforces
/// strictly; region1.zone1 stays in priority 0 and every request fails.
#[test]
fn locality_failover_page_rule_never_ejects_under_1_28() {
    let s = common::load_paths(&[&dir("locality-failover")], &Overrides::default());
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(sleep.count, 600);
    assert_eq!(code(sleep, 503), 600);
    assert_eq!(per_locality(&m, &s), [600, 0, 0, 0]);
    assert_eq!(envoy(&m, "outlier_detection.ejections_enforced_total"), 0);
    assert!(envoy(&m, "outlier_detection.ejections_overflow") >= 600);
}

/// With maxEjectionPercent 100 the page's sequence happens: after the
/// drains of region1.zone1 and region1.zone2 one call fails at each and
/// the rest land in region2.zone3 (priority 2 by `failover: region1 →
/// region2`), none in region3.zone4.
#[test]
fn locality_failover_with_max_ejection_percent_reaches_region2_zone3() {
    let s = common::load_paths(&[&dir("locality-failover-mep")], &Overrides::default());
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!((code(sleep, 200), code(sleep, 503)), (598, 2));
    assert_eq!(per_locality(&m, &s), [1, 1, 598, 0]);
    assert_eq!(envoy(&m, "outlier_detection.ejections_enforced_total"), 2);
}

/// The page's first step (nothing drained): every call stays in
/// region1.zone1; and its last (region2.zone3 drained as well): region3.zone4.
#[test]
fn locality_failover_first_and_last_steps() {
    let healthy = load_edited("locality-failover", &|f, t| {
        if f == "workloads.yaml" {
            t.replace(
                "  errors: {probability: 1, status: 503}     # drained\n",
                "",
            )
        } else {
            t
        }
    });
    let m = common::run(&healthy);
    assert_eq!(code(load_rec(&m, &healthy, "sleep"), 200), 600);
    assert_eq!(per_locality(&m, &healthy), [600, 0, 0, 0]);
    let last = load_edited("locality-failover-mep", &|f, t| {
        if f == "workloads.yaml" {
            drain(t, "region2.zone3")
        } else {
            t
        }
    });
    let m = common::run(&last);
    assert_eq!(code(load_rec(&m, &last, "sleep"), 503), 3);
    assert_eq!(per_locality(&m, &last), [1, 1, 1, 597]);
}

/// Without outlier detection Istio applies no failover priorities: the
/// cluster is one priority and ROUND_ROBIN spreads over all four regions,
/// the drained pod's quarter failing.
#[test]
fn locality_failover_needs_outlier_detection() {
    let s = load_edited("locality-failover", &|f, t| {
        if f == "destination-rule.yaml" {
            let cut = t.find("    outlierDetection:").expect("outlierDetection");
            t[..cut].to_string()
        } else {
            t
        }
    });
    let m = common::run(&s);
    assert_eq!(per_locality(&m, &s), [150, 150, 150, 150]);
    assert_eq!(code(load_rec(&m, &s, "sleep"), 503), 150);
}

/// `distribute` (no outlier detection needed): from region1/zone1, 80 % to
/// its own zone and 20 % to region1/zone2; the other regions get nothing
/// (their localities are dropped). Envoy's locality EDF makes it exact.
#[test]
fn locality_distribute_weights() {
    let s = load_edited("locality-failover", &|f, t| match f {
        "destination-rule.yaml" => {
            let cut = t.find("        failover:").expect("failover");
            let head = t[..cut].replace("        enabled: true\n", "");
            format!(
                "{head}        distribute:\n        - from: region1/zone1/*\n          to:\n            \"region1/zone1/*\": 80\n            \"region1/zone2/*\": 20\n"
            )
        }
        "workloads.yaml" => t.replace(
            "  errors: {probability: 1, status: 503}     # drained\n",
            "",
        ),
        _ => t,
    });
    let m = common::run(&s);
    assert_eq!(per_locality(&m, &s), [480, 120, 0, 0]);
}

/// `retryRemoteLocalities` (Envoy's previous_priorities, update frequency
/// 2): with the page's rule nothing is ejected, so priority 0 keeps
/// failing; retries on 5xx go to region1.zone1 until two attempts were made
/// there, then the third leaves for region1.zone2 and succeeds. Without the
/// flag all three attempts stay in region1.zone1 (503 URX).
#[test]
fn locality_retry_remote_localities() {
    let vs = |remote: bool| {
        format!(
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: helloworld, namespace: sample}}\nspec:\n  hosts: [helloworld.sample.svc.cluster.local]\n  http:\n  - route:\n    - destination: {{host: helloworld.sample.svc.cluster.local}}\n    retries: {{attempts: 2, retryOn: 5xx, retryRemoteLocalities: {remote}}}\n"
        )
    };
    for remote in [true, false] {
        let s = load_edited("locality-failover", &|f, t| {
            if f == "destination-rule.yaml" {
                t + &vs(remote)
            } else {
                t
            }
        });
        let m = common::run(&s);
        let sleep = load_rec(&m, &s, "sleep");
        let route = mesh_rec(&m, "sample/helloworld/0");
        if remote {
            assert_eq!(code(sleep, 200), 600);
            assert_eq!(per_locality(&m, &s), [1200, 600, 0, 0]);
        } else {
            assert_eq!(code(sleep, 503), 600);
            assert_eq!(per_locality(&m, &s), [1800, 0, 0, 0]);
            assert_eq!(common::flagged(route, "URX"), 600);
        }
    }
}

/// Locality LB with pods changing during a run (Chaos Mesh pod-kill of
/// region1.zone1's only pod at 20 s; endpoint propagation 1 s, containers
/// start 2 s after deletion, the app listens 8 s later, a readiness probe
/// every 2 s). istiod recomputes the client's assignment from the endpoints
/// now in EDS, so once the killed pod's endpoint is gone region1.zone2 is
/// priority 0 (compacted), and when the replacement is ready region1.zone1
/// takes everything back. region2/region3 never see a request; without
/// locality priorities ROUND_ROBIN would give each region a quarter.
#[test]
fn locality_follows_pods_killed_during_the_run() {
    let s = load_edited("locality-failover", &|f, t| {
        match f {
        "workloads.yaml" => t.replace(
            "  errors: {probability: 1, status: 503}     # drained\n",
            "",
        ),
        "helloworld.yaml" => t.replacen(
            "ports: [{containerPort: 5000}]}",
            "ports: [{containerPort: 5000}], readinessProbe: {httpGet: {path: /hello, port: 5000}, initialDelaySeconds: 1, periodSeconds: 2}}",
            1,
        ),
        "scenario.yaml" => t.replace(
            "  mesh:\n",
            "  lifecycle: {endpointDelay: 1s, containerStart: 2s, appStartup: 8s}\n  mesh:\n",
        ) + "---\napiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata:\n  name: kill-zone1\n  namespace: sample\n  annotations: {meshsim.dev/start: 20s}\nspec:\n  action: pod-kill\n  mode: all\n  selector:\n    namespaces: [sample]\n    labelSelectors: {version: region1.zone1}\n",
        _ => t,
    }
    });
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(sleep.count, 600);
    // 0–20 s and from ≈ 32 s (replacement ready + 1 s) in region1.zone1;
    // 21–32 s in region1.zone2.
    assert_eq!(per_locality(&m, &s), [480, 110, 0, 0]);
    // 20–21 s: the endpoint is still listed, the pod is gone: connections
    // fail (UF), the default retries (connect-failure) stay in priority 0
    // — its only host is not ejected (1 of 4 hosts is more than the
    // default maxEjectionPercent 10 %) — and run out (URX).
    assert_eq!(code(sleep, 503), 10);
    assert_eq!(common::flagged(sleep, "UF"), 10);
    assert_eq!(common::flagged(sleep, "URX"), 10);
    assert_eq!(code(sleep, 200), 590);
}
