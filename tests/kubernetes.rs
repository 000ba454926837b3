//! See tests/main.rs for what this module covers.
//!
//! Traffic shares are checked with a chi-square goodness-of-fit test (or a
//! binomial normal interval for two outcomes) at 99.9 %, with fixed seeds, so a
//! failure means the model is wrong, not bad luck (1 in 1000 per assertion).

use crate::common;
use meshsim::batch::Merged;
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

/// 99.9 % critical values of chi-square with 1..=5 degrees of freedom.
const CHI2_999: [f64; 5] = [10.83, 13.82, 16.27, 18.47, 20.52];
/// Two-sided 99.9 % normal quantile.
const Z_999: f64 = 3.29;

fn scenario(files: &[&str]) -> Scenario {
    let paths: Vec<PathBuf> = files.iter().map(|f| common::root().join(f)).collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    common::load_paths(&refs, &Overrides::default())
}

/// Requests that arrived at each pod of `deployment`, summed over replications.
fn pod_counts(spec: &Scenario, m: &Merged, deployment: &str) -> Vec<u64> {
    per_replication(spec, m, deployment)
        .into_iter()
        .fold(Vec::new(), |acc, r| {
            if acc.is_empty() {
                r
            } else {
                acc.iter().zip(&r).map(|(a, b)| a + b).collect()
            }
        })
}

fn per_replication(spec: &Scenario, m: &Merged, deployment: &str) -> Vec<Vec<u64>> {
    let mut off = 0usize;
    for d in &spec.deployments {
        if d.name == deployment {
            return m
                .outcomes
                .iter()
                .map(|o| o.pod_requests[off..off + d.replicas as usize].to_vec())
                .collect();
        }
        off += d.replicas as usize;
    }
    panic!("no deployment {deployment}")
}

/// Asserts `counts` fit `probs` (chi-square, 99.9 %). Zero-probability cells
/// must be exactly zero.
fn assert_shares(counts: &[u64], probs: &[f64]) {
    assert_eq!(counts.len(), probs.len());
    let n: u64 = counts.iter().sum();
    assert!(n > 1000, "too few requests: {counts:?}");
    let mut chi2 = 0.0;
    let mut cells = 0;
    for (&c, &p) in counts.iter().zip(probs) {
        if p == 0.0 {
            assert_eq!(c, 0, "{counts:?} vs {probs:?}");
            continue;
        }
        let e = n as f64 * p;
        chi2 += (c as f64 - e).powi(2) / e;
        cells += 1;
    }
    let crit = CHI2_999[cells - 2];
    assert!(
        chi2 < crit,
        "{counts:?} vs {probs:?}: chi2 = {chi2:.2} ≥ {crit}"
    );
}

/// Binomial 99.9 % interval for a share.
fn assert_binomial(k: u64, n: u64, p: f64) {
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let d = (k as f64 - n as f64 * p).abs();
    assert!(
        d <= Z_999 * sd,
        "{k}/{n} vs p = {p}: off by {d:.1} > {:.1}",
        Z_999 * sd
    );
}

fn load_ix(spec: &Scenario, name: &str) -> usize {
    spec.loads
        .iter()
        .position(|l| l.name == name)
        .expect("load")
}

#[test]
fn clusterip_spreads_new_connections_uniformly_over_ready_pods() {
    let spec = scenario(&["scenarios/kubernetes/clusterip.yaml"]);
    let m = common::run(&spec);
    let c = pod_counts(&spec, &m, "web");
    // web-3 fails readiness: not an endpoint.
    assert_shares(&c, &[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0]);
}

#[test]
fn two_keepalive_connections_leave_at_least_two_of_four_pods_idle() {
    let spec = scenario(&["scenarios/kubernetes/keepalive-pinning.yaml"]);
    let m = common::run(&spec);
    assert_eq!(m.outcomes.len(), 10);
    let mut three_idle = 0;
    for dep in ["web", "api"] {
        for r in per_replication(&spec, &m, dep) {
            let busy = r.iter().filter(|&&n| n > 0).count();
            assert!((1..=2).contains(&busy), "{dep}: {r:?}");
            three_idle += usize::from(busy == 1);
        }
    }
    // Both connections on one pod has probability 1/4 per pool: seen, but rarely.
    assert!(three_idle < 15, "{three_idle}");
    // Every request still served.
    let li = load_ix(&spec, "via-caller");
    assert_eq!(m.loads[li].pooled.failed, 0);
}

#[test]
fn without_a_pool_callers_spread_over_all_pods() {
    let text =
        std::fs::read_to_string(common::root().join("scenarios/kubernetes/keepalive-pinning.yaml"))
            .unwrap()
            .replace("  poolSize: 2 ", "  # no pool ")
            .replace("  replications: 10", "  replications: 1");
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    assert_shares(&pod_counts(&spec, &m, "api"), &[0.25; 4]);
}

#[test]
fn nodeport_cluster_uses_every_ready_endpoint() {
    let spec = scenario(&["scenarios/kubernetes/nodeport-cluster.yaml"]);
    let web = spec.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(
        web.net.node_ports,
        vec![Some(30000)],
        "lowest free node port"
    );
    let m = common::run(&spec);
    assert_shares(&pod_counts(&spec, &m, "web"), &[1.0 / 3.0; 3]);
}

#[test]
fn nodeport_local_uses_node_local_pods_and_drops_elsewhere() {
    let spec = scenario(&["scenarios/kubernetes/nodeport-local.yaml"]);
    let m = common::run(&spec);
    let c = pod_counts(&spec, &m, "web");
    // web-0 and web-2 are on a-0, web-1 on b-0.
    assert_eq!(c[1], 0, "{c:?}");
    assert_binomial(c[0], c[0] + c[2], 0.5);
    let dropped = &m.loads[load_ix(&spec, "to-a-1")].pooled;
    assert!(dropped.requests > 1000);
    assert_eq!(
        dropped.failed, dropped.requests,
        "a node without a local pod drops"
    );
    assert_eq!(dropped.codes, vec![(0, dropped.requests)]);
}

#[test]
fn loadbalancer_cluster_is_even_over_pods() {
    let spec = scenario(&["scenarios/kubernetes/loadbalancer-cluster.yaml"]);
    let m = common::run(&spec);
    assert_shares(&pod_counts(&spec, &m, "web"), &[1.0 / 3.0; 3]);
}

#[test]
fn loadbalancer_local_share_is_node_share_over_pods_on_node() {
    let spec = scenario(&["scenarios/kubernetes/loadbalancer-local.yaml"]);
    let web = spec.services.iter().find(|s| s.name == "web").unwrap();
    assert!(web.net.health_check_node_port.is_some());
    let m = common::run(&spec);
    // a-0 (web-0, web-2) and b-0 (web-1) pass the health check; a-1 does not.
    assert_shares(&pod_counts(&spec, &m, "web"), &[0.25, 0.5, 0.25]);
}

#[test]
fn loadbalancer_without_cloud_stays_pending() {
    let text = std::fs::read_to_string(
        common::root().join("scenarios/kubernetes/loadbalancer-local.yaml"),
    )
    .unwrap()
    .replace("cloud: generic", "cloud: none");
    let spec = common::load_ok(&text);
    assert!(
        spec.warnings
            .iter()
            .any(|w| w.contains("EXTERNAL-IP <pending>")),
        "{:?}",
        spec.warnings
    );
    let m = common::run(&spec);
    let l = &m.loads[0].pooled;
    assert!(l.requests > 1000);
    assert_eq!(l.failed, l.requests);
    assert_eq!(pod_counts(&spec, &m, "web"), vec![0, 0, 0]);
}

#[test]
fn seed_ingress_routes_hello_world_to_web_round_robin() {
    let seed = common::shared().join("seed/01-kubernetes-ingress.yaml");
    let dir = common::root().join("scenarios/kubernetes/ingress");
    assert_eq!(
        std::fs::read(&seed).unwrap(),
        std::fs::read(dir.join("01-kubernetes-ingress.yaml")).unwrap(),
        "the scenario's copy of the seed Ingress must stay verbatim"
    );
    // The shared seed file itself, unchanged, plus the rest of the scenario.
    let spec = common::load_paths(&[&seed, &dir.join("web.yaml")], &Overrides::default());
    let whole = common::load_paths(&[&dir], &Overrides::default());
    assert_eq!(whole.loads, spec.loads);
    let l = &spec.loads[load_ix(&spec, "browser")];
    let hop = l
        .entry
        .ingress
        .as_ref()
        .expect("goes through the ingress controller");
    let web = &spec.services[hop.backend.expect("routed").service];
    assert_eq!((web.name.as_str(), web.ports[0].port), ("web", 8080));
    assert_eq!(
        hop.forwarded_path, "/",
        "rewrite-target /$1 with no capture group"
    );
    assert_eq!(hop.matched.as_deref(), Some("default/example-ingress"));
    assert!(spec.not_simulated.iter().all(|n| !n.contains("Ingress")));
    let m = common::run(&spec);
    let c = pod_counts(&spec, &m, "web");
    assert_shares(&c, &[1.0 / 3.0; 3]);
    // Round robin per controller pod: 2 controllers ⇒ counts differ by ≤ 2.
    let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
    assert!(hi - lo <= 2, "{c:?}");
    let u = &m.loads[load_ix(&spec, "unknown-host")].pooled;
    assert_eq!(u.codes, vec![(404, u.completed)]);
    assert!(u.completed > 100);
    let b = &m.loads[load_ix(&spec, "browser")].pooled;
    assert_eq!(b.failed, 0);
}

const CLUSTER: &str = r#"
apiVersion: meshsim.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  nodes:
  - {name: a, zone: z1}
  - {name: b, zone: z2}
  network:
    external: {constant: 1ms}
    crossZone: {constant: 3ms}
  handshake: {constant: 500us}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: s}
spec: {duration: 10s, seed: 4}
"#;

fn one_pod_on(node: &str) -> String {
    common::server_yaml("web", 1, 1, "{constant: 10ms}")
        .replace(
            "    spec: {containers:",
            &format!("    spec: {{nodeSelector: {{kubernetes.io/hostname: {node}}}, containers:"),
        )
        .replace(
            "  selector: {app: web}\n",
            "  selector: {app: web}\n  type: NodePort\n",
        )
}

#[test]
fn hop_latencies_add_up_exactly() {
    // Enter at b, pod on a: request = external 1 + cross-zone 3 + handshake 0.5;
    // response = cross-zone 3 + external 1; service 10 ⇒ 18.5 ms every time.
    let text = format!(
        "{}---\n{CLUSTER}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: l}}\nspec:\n  target: http://web:8080/\n  entry: NodePort\n  node: b\n  open: {{rate: 20, arrival: constant}}\n",
        one_pod_on("a")
    );
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    let r = &m.loads[0].pooled;
    assert!(r.count > 150);
    assert_eq!(
        r.sum_ns,
        r.count as u128 * 18_500_000,
        "{}",
        r.sum_ns / r.count as u128
    );
}

#[test]
fn without_a_cluster_hops_take_no_time() {
    let text = format!(
        "{}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: l}}\nspec:\n  target: http://web:8080/\n  open: {{rate: 20, arrival: constant}}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: s}}\nspec: {{duration: 10s}}\n",
        common::server_yaml("web", 1, 1, "{constant: 10ms}")
    );
    let spec = common::load_ok(&text);
    assert!(!spec.network.explicit);
    let m = common::run(&spec);
    let r = &m.loads[0].pooled;
    assert_eq!(r.sum_ns, r.count as u128 * 10_000_000);
}

#[test]
fn session_affinity_client_ip_pins_one_client_to_one_pod() {
    let base = common::server_yaml("web", 4, 4, "{constant: 1ms}");
    let load = "---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: l}\nspec:\n  target: http://web:8080/\n  open: {rate: 100}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 30s, seed: 2}\n";
    let sticky = base.replace(
        "  selector: {app: web}\n  ports",
        "  selector: {app: web}\n  sessionAffinity: ClientIP\n  ports",
    );
    let spec = common::load_ok(&format!("{sticky}{load}"));
    let c = pod_counts(&spec, &common::run(&spec), "web");
    assert_eq!(c.iter().filter(|&&n| n > 0).count(), 1, "{c:?}");
    // A timeout shorter than the gap between connections lets them spread again.
    let short = sticky.replace(
        "  sessionAffinity: ClientIP\n",
        "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 1}}\n",
    );
    let slow = load
        .replace("open: {rate: 100}", "open: {rate: 0.4, arrival: constant}")
        .replace("duration: 30s", "duration: 4000s");
    let spec = common::load_ok(&format!("{short}{slow}"));
    assert_shares(&pod_counts(&spec, &common::run(&spec), "web"), &[0.25; 4]);
}

#[test]
fn pods_spread_over_zones_then_nodes_and_selector_can_leave_pods_pending() {
    let text = format!(
        "{}---\n{CLUSTER}",
        common::server_yaml("web", 3, 1, "{constant: 1ms}")
    );
    let spec = common::load_ok(&text);
    assert_eq!(spec.network.placement, vec![vec![0, 1, 0]]);
    let pending = format!(
        "{}---\n{CLUSTER}",
        common::server_yaml("web", 2, 1, "{constant: 1ms}").replace(
            "    spec: {containers:",
            "    spec: {nodeSelector: {disk: ssd}, containers:"
        )
    );
    let spec = common::load_ok(&pending);
    assert!(
        spec.warnings.iter().any(|w| w.contains("stay Pending")),
        "{:?}",
        spec.warnings
    );
}

fn errors_of(text: &str) -> String {
    match common::load_texts(&[("t.yaml", text)]) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_network_input_is_a_located_error() {
    let sim = "---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 1s}\n";
    let e = errors_of(&format!(
        "apiVersion: meshsim.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: c}}\nspec:\n  nodes: [{{name: a, zonee: z}}]\n  cloud: aws\n{sim}"
    ));
    assert!(
        e.contains("t.yaml:5:") && e.contains("did you mean \"zone\""),
        "{e}"
    );
    assert!(e.contains("\"aws\", must be none or generic"), "{e}");
    let svc = common::server_yaml("web", 1, 1, "{constant: 1ms}");
    let e = errors_of(&format!(
        "{}{sim}",
        svc.replace(
            "  selector: {app: web}\n  ports: [{name: http, port: 8080}]",
            "  selector: {app: web}\n  externalTrafficPolicy: Local\n  ports: [{name: http, port: 8080, nodePort: 80}]"
        )
    ));
    assert!(
        e.contains("externalTrafficPolicy: may only be set when type is NodePort"),
        "{e}"
    );
    assert!(e.contains("nodePort: 80, must be in 30000..=32767"), "{e}");
    let np = svc.replace(
        "  selector: {app: web}\n",
        "  selector: {app: web}\n  type: NodePort\n",
    );
    let e = errors_of(&format!(
        "{np}{sim}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: l}}\nspec:\n  target: http://web:8080/\n  entry: NodePort\n  open: {{rate: 1}}\n"
    ));
    assert!(e.contains("entry NodePort needs the node"), "{e}");
    let e = errors_of(&format!(
        "{np}---\n{CLUSTER}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: l}}\nspec:\n  target: http://web:8080/\n  entry: LoadBalancer\n  node: x\n  open: {{rate: 1}}\n"
    ));
    assert!(e.contains("no node \"x\" in the Cluster"), "{e}");
    assert!(e.contains("is not type LoadBalancer"), "{e}");
    let dup = format!(
        "{}---\n{}{sim}",
        np.replace("port: 8080}]", "port: 8080, nodePort: 30001}]"),
        common::server_yaml("api", 1, 1, "{constant: 1ms}")
            .replace(
                "  selector: {app: api}\n",
                "  selector: {app: api}\n  type: NodePort\n"
            )
            .replace("port: 8080}]", "port: 8080, nodePort: 30001}]")
    );
    assert!(errors_of(&dup).contains("30001: provided port is already allocated"));
    let ing = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n  - host: 10.0.0.1\n    http:\n      paths:\n      - path: foo\n        pathType: Prefix\n        backend: {service: {name: web, port: {number: 8080}}}\n      - path: /\n        backend: {service: {name: web, port: {number: 8080}}}\n";
    let e = errors_of(&format!("{ing}{sim}"));
    assert!(e.contains("must be a DNS name"), "{e}");
    assert!(e.contains("\"foo\": must be an absolute path"), "{e}");
    assert!(
        e.contains("paths[1].pathType: missing required field"),
        "{e}"
    );
}

#[test]
fn ingress_regex_paths_nginx_cannot_share_are_located_errors() {
    let sim = "---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 1s}\n";
    let svc = common::server_yaml("web", 1, 1, "{constant: 1ms}");
    let ing = |path: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  annotations: {{nginx.ingress.kubernetes.io/use-regex: \"true\"}}\nspec:\n  rules:\n  - http:\n      paths:\n      - path: '{path}'\n        pathType: ImplementationSpecific\n        backend: {{service: {{name: web, port: {{number: 8080}}}}}}\n---\n{svc}{sim}"
        )
    };
    for (path, says) in [
        ("/a(?=b)", "a lookahead at byte 2"),
        ("/a(?<!b)", "a negative lookbehind at byte 2"),
        ("/(a)\\1", "a backreference at byte 4"),
    ] {
        let e = errors_of(&ing(path));
        assert!(e.contains("t.yaml:10:"), "{path}: {e}");
        assert!(e.contains(says) && e.contains("RE2"), "{path}: {e}");
    }
    let deep = format!("/{}a{}", "(".repeat(5_000), ")".repeat(5_000));
    let e = errors_of(&ing(&deep));
    assert!(
        e.contains("t.yaml:10:") && e.contains("deeper than 100 levels"),
        "{e}"
    );
    assert!(
        e.contains("… (10002 bytes)"),
        "the pattern is shortened: {e}"
    );
    let big = "/(\\w{100}){100}";
    let e = errors_of(&ing(big));
    assert!(e.contains("t.yaml:10:") && e.contains("size limit"), "{e}");
}

#[test]
fn network_runs_are_deterministic() {
    let spec = scenario(&["scenarios/kubernetes/loadbalancer-local.yaml"]);
    let a = common::run(&spec);
    let b = common::run(&spec);
    assert_eq!(a.digest, b.digest);
    assert_eq!(
        meshsim::report::summary::render(&spec, &a),
        meshsim::report::summary::render(&spec, &b)
    );
}

#[test]
fn every_request_ends_exactly_once_through_the_network() {
    // Hops, handshakes, pools, drops and the ingress proxy must not lose or
    // double-count a request (short runs so some are still in flight).
    let seed = common::shared().join("seed/01-kubernetes-ingress.yaml");
    let ov = Overrides {
        duration: Some(meshsim::engine::SimDuration::from_millis(2_003)),
        ..Overrides::default()
    };
    let mut specs = Vec::new();
    for f in [
        "keepalive-pinning.yaml",
        "nodeport-local.yaml",
        "loadbalancer-local.yaml",
        "ingress/web.yaml",
    ] {
        let p = common::root().join("scenarios/kubernetes").join(f);
        let mut paths = vec![p.as_path()];
        if f.starts_with("ingress/") {
            paths.insert(0, seed.as_path());
        }
        specs.push(common::load_paths(&paths, &ov));
    }
    for spec in &specs {
        let m = common::run(spec);
        for o in &m.outcomes {
            for (recs, fl) in [
                (&o.loads, &o.loads_in_flight),
                (&o.services, &o.services_in_flight),
                (&o.workloads, &o.workloads_in_flight),
            ] {
                for (r, f) in recs.iter().zip(fl.iter()) {
                    assert_eq!(r.requests, r.completed + r.failed + f, "{}", spec.name);
                }
            }
        }
    }
}

#[test]
fn internal_traffic_policy_local_keeps_calls_on_the_node() {
    // 2 web pods spread over nodes a and b; a client on node b only reaches
    // the pod on b.
    let web = common::server_yaml("web", 2, 1, "{constant: 1ms}").replace(
        "  selector: {app: web}\n  ports",
        "  selector: {app: web}\n  internalTrafficPolicy: Local\n  ports",
    );
    let load = "---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: l}\nspec:\n  target: http://web:8080/\n  node: b\n  open: {rate: 50}\n";
    let spec = common::load_ok(&format!("{web}---\n{CLUSTER}{load}"));
    assert_eq!(spec.network.placement, vec![vec![0, 1]]);
    let m = common::run(&spec);
    let c = pod_counts(&spec, &m, "web");
    assert!(c[0] == 0 && c[1] > 300, "{c:?}");
}

#[test]
fn a_full_pool_queues_calls_and_timeouts_abandon_waiters() {
    // One keep-alive connection, a slow backend, a short call timeout: calls
    // wait for the connection; waiters that time out are never sent.
    let text = format!(
        "{}---\n{}",
        common::server_yaml("slow", 1, 8, "{constant: 50ms}"),
        common::server_yaml("front", 1, 100, "{constant: 1ms}")
            .replace("  workers: 100\n  serviceTime: {constant: 1ms}\n", "  workers: 100\n  poolSize: 1\n  script:\n  - call: {host: slow, port: 8080, timeout: 120ms}\n")
    ) + "---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: l}\nspec:\n  target: http://front:8080/\n  open: {rate: 40}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec: {duration: 60s, seed: 5}\n";
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    let l = &m.loads[0].pooled;
    let slow = &m.workloads[spec
        .deployments
        .iter()
        .position(|d| d.name == "slow")
        .unwrap()]
    .pooled;
    // One connection serialises calls: at most 20/s reach the slow pod.
    assert!(
        slow.requests as f64 <= 20.0 * 60.0 * 1.01,
        "{}",
        slow.requests
    );
    assert!(l.failed > 0 && l.completed > 0, "{:?}", l.codes);
    for o in &m.outcomes {
        assert_eq!(
            o.loads[0].requests,
            o.loads[0].completed + o.loads[0].failed + o.loads_in_flight[0]
        );
    }
}
