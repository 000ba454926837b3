//! Two proxy details at run time.
//!
//! DestinationRule `consistentHash.useSourceIp`: Envoy hashes
//! the downstream connection's address (`xxHash64` of the IP), so every
//! request of one client lands on one backend pod. Backend `web` is three
//! Deployments (web-0, web-1, web-2, one pod each, so each counts apart);
//! two loads with sidecars (sources 192.0.2.1 and 192.0.2.2) call it at
//! 100/s and 10/s for 10 s.

use crate::common::{self, code, load_rec, received};

fn yaml(hash: &str) -> String {
    let mut y = String::new();
    for i in 0..3 {
        y += &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{i}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web, idx: \"{i}\"}}}}\n  template:\n    metadata: {{labels: {{app: web, idx: \"{i}\"}}}}\n    spec:\n      containers: [{{name: web, image: web, ports: [{{containerPort: 8080}}]}}]\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Workload\nmetadata: {{name: web-{i}}}\nspec:\n  workers: 100\n  serviceTime: {{constant: 1ms}}\n---\n"
        );
    }
    y += "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 8080}]\n---\n";
    for (name, rate) in [("a", 100), ("b", 10)] {
        y += &format!(
            "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: {name}}}\nspec:\n  target: http://web:8080/\n  sidecar: true\n  open: {{rate: {rate}, arrival: constant}}\n---\n"
        );
    }
    y += "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: hash}\nspec:\n  duration: 10s\n  warmup: 0s\n  seed: 1\n  mesh: {injectNamespaces: [default]}\n---\n";
    y += &format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: web}}\nspec:\n  host: web\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {{{hash}}}\n"
    );
    y
}

fn per_pod(hash: &str) -> [u64; 3] {
    let s = common::load_ok(&yaml(hash));
    let m = common::run(&s);
    assert_eq!(code(load_rec(&m, &s, "a"), 200), 1000);
    assert_eq!(code(load_rec(&m, &s, "b"), 200), 100);
    for o in &m.outcomes {
        for (i, r) in o.loads.iter().enumerate() {
            assert_eq!(r.requests, r.completed + r.failed + o.loads_in_flight[i]);
        }
    }
    [0, 1, 2].map(|i| received(&m, &s, &format!("default/web-{i}")))
}

/// Each source sticks to one pod: the pods' counts are the loads' totals
/// (1000 and 100), not a spread; with a header key the loads never send
/// (`x-user` absent), Envoy draws a random hash per request and spreads.
#[test]
fn use_source_ip_pins_each_client_to_one_pod() {
    let mut per = per_pod("useSourceIp: true");
    per.sort_unstable();
    assert!(per == [0, 100, 1000] || per == [0, 0, 1100], "{per:?}");
    let spread = per_pod("httpHeaderName: x-user");
    assert!(
        spread.iter().all(|&n| (250..=500).contains(&n)),
        "{spread:?}"
    );
}

/// `mesh.proxy.responseLatency` (opt-in): every proxy the answer passes on
/// its way back adds one draw — here the server's inbound sidecar and the
/// client's sidecar, 1 ms each, so every request takes exactly 2 ms longer
/// than without it (the request path's `latency` is unchanged).
#[test]
fn response_latency_adds_one_draw_per_proxy_on_the_way_back() {
    let base = format!(
        "{}---\n{}",
        common::server_yaml("web", 1, 100, "{constant: 10ms}"),
        "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: users}\nspec:\n  target: http://web:8080/\n  sidecar: true\n  open: {rate: 10, arrival: constant}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: rl}\nspec:\n  duration: 10s\n  warmup: 0s\n  seed: 1\n  mesh:\n    injectNamespaces: [default]\n    proxy: {latency: {constant: 1ms}PLUS}\n"
    );
    let run = |extra: &str| {
        let s = common::load_ok(&base.replace("PLUS", extra));
        let m = common::run(&s);
        let r = load_rec(&m, &s, "users");
        assert_eq!(code(r, 200), 100);
        common::latency_range(r)
    };
    let (lo0, hi0) = run("");
    let (lo1, hi1) = run(", responseLatency: {constant: 1ms}");
    // (Histogram resolution: 3 significant digits.)
    assert!((lo1 - lo0 - 0.002).abs() < 0.00005, "{lo0} → {lo1}");
    assert!((hi1 - hi0 - 0.002).abs() < 0.00005, "{hi0} → {hi1}");
}
