//! isotope topologies read as they are (`services:` documents): every file of
//! `../shared/corpus/isotope/example-topologies/` runs unchanged, each service
//! serves exactly the requests the graph implies, and the mock service's own
//! behaviour (error counter before the script, sleeps, concurrent groups,
//! probabilities, cross-namespace and `.global` hostnames) is simulated exactly.

use crate::common;
use meshsim::batch::Merged;
use meshsim::scenario::{Overrides, Scenario};
use std::collections::BTreeMap;
use std::path::PathBuf;

const MS: u64 = 1_000_000;

fn topology(name: &str) -> PathBuf {
    common::shared()
        .join("corpus/isotope/example-topologies")
        .join(name)
}

/// A Load (`iterations` requests, one connection at a time) on `entry` and a
/// Simulation, in a second file next to the unchanged topology.
fn load_file(dir: &std::path::Path, entry: &str, iterations: u32) -> PathBuf {
    let p = dir.join("load.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: fortio}}\nspec:\n  target: http://{entry}:8080/\n  closed: {{connections: 1}}\n  iterations: {iterations}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: isotope}}\nspec: {{duration: 600s, warmup: 0s, seed: 7, replications: 1}}\n"
        ),
    )
    .unwrap();
    p
}

fn run_files(files: &[PathBuf]) -> (Scenario, Merged) {
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let spec = common::load_paths(&refs, &Overrides::default());
    let m = common::run(&spec);
    (spec, m)
}

/// Requests each service serves per request to `entry`, walked from the YAML
/// independently of meshsim (every call always made: the corpus sets no
/// probability).
fn expected_counts(text: &str, entry: &str) -> BTreeMap<String, u64> {
    let v: serde_json::Value = serde_saphyr::from_str(text).unwrap();
    let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in v["services"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap().to_string();
        let mut out = Vec::new();
        for step in s["script"].as_array().cloned().unwrap_or_default() {
            let cmds = match step.as_array() {
                Some(group) => group.clone(),
                None => vec![step],
            };
            for c in cmds {
                match &c["call"] {
                    serde_json::Value::String(t) => out.push(t.clone()),
                    serde_json::Value::Object(o) => {
                        out.push(o["service"].as_str().unwrap().to_string())
                    }
                    _ => {}
                }
            }
        }
        calls.insert(name, out);
    }
    let mut counts = BTreeMap::new();
    fn visit(
        n: &str,
        k: u64,
        calls: &BTreeMap<String, Vec<String>>,
        c: &mut BTreeMap<String, u64>,
    ) {
        *c.entry(n.to_string()).or_insert(0) += k;
        for t in &calls[n] {
            visit(t, k, calls, c);
        }
    }
    for n in calls.keys() {
        counts.insert(n.clone(), 0);
    }
    visit(entry, 1, &calls, &mut counts);
    counts
}

fn served(spec: &Scenario, m: &Merged) -> BTreeMap<String, u64> {
    spec.services
        .iter()
        .zip(&m.services)
        .map(|(s, r)| (s.name.clone(), r.pooled.completed + r.pooled.failed))
        .collect()
}

#[test]
fn every_corpus_topology_runs_unchanged_and_serves_what_its_graph_implies() {
    let cases = [
        ("1-service.yaml", "a"),
        ("10-svc_10-end.yaml", "svc-0"),
        ("10-svc_100-end.yaml", "svc-0"),
        ("10-svc_1000-end.yaml", "svc-0"),
        ("10-svc_10000-end.yaml", "svc-0"),
        ("1000-svc_5000-end.yaml", "svc-0"),
        ("canonical-2-replicas.yaml", "d"),
        ("canonical.yaml", "d"),
        ("chain-2-services-different-cluster.yaml", "a.demo1"),
        ("chain-2-services-different-namespace.yaml", "a.demo1"),
        ("chain-2-services.yaml", "a"),
        ("chain-3-services.yaml", "a"),
        ("tree-111-services.yaml", "svc-0"),
        ("tree-13-services.yaml", "d"),
    ];
    let listed: Vec<String> = std::fs::read_dir(topology(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert_eq!(
        listed.len(),
        cases.len(),
        "a topology was added: {listed:?}"
    );
    let tmp = std::env::temp_dir().join(format!("meshsim-isotope-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let n = 20;
    for (file, entry) in cases {
        let text = std::fs::read_to_string(topology(file)).unwrap();
        let load = load_file(&tmp, entry, n);
        let (spec, m) = run_files(&[topology(file), load]);
        let short = entry.split('.').next().unwrap();
        let want: BTreeMap<String, u64> = expected_counts(&text, short)
            .into_iter()
            .map(|(k, v)| (k, v * n as u64))
            .collect();
        assert_eq!(served(&spec, &m), want, "{file}");
        let l = &m.loads[0].pooled;
        assert_eq!((l.completed, l.failed), (n as u64, 0), "{file}");
    }
    std::fs::remove_dir_all(&tmp).ok();
}

fn run_graph(graph: &str, entry: &str, iterations: u32) -> (Scenario, Merged) {
    let tmp = std::env::temp_dir().join(format!(
        "meshsim-isotope-{}-{}",
        std::process::id(),
        graph.len()
    ));
    std::fs::create_dir_all(&tmp).unwrap();
    let g = tmp.join("graph.yaml");
    std::fs::write(&g, graph).unwrap();
    let load = load_file(&tmp, entry, iterations);
    let out = run_files(&[g, load]);
    std::fs::remove_dir_all(&tmp).ok();
    out
}

#[test]
fn error_rate_fails_every_nth_request_of_a_pod_before_its_script() {
    // 25 % ⇒ the 4th, 8th, … request of the (one) pod answers 500 at once:
    // no sleep, no call to b. 100 requests ⇒ exactly 25 failures, b called 75
    // times, and the failed ones take no time.
    let (spec, m) = run_graph(
        "services:\n- name: a\n  isEntrypoint: true\n  errorRate: 25%\n  script:\n  - sleep: 10ms\n  - call: b\n- name: b\n",
        "a",
        100,
    );
    let l = &m.loads[0].pooled;
    assert_eq!((l.completed, l.failed), (75, 25));
    assert_eq!(served(&spec, &m)["b"], 75);
    // Every success takes 10 ms, every failure 0: the sum is exact.
    assert_eq!(l.sum_ns, 75 * 10 * MS as u128);
}

#[test]
fn sleeps_concurrent_groups_and_probabilities_time_as_isotope_runs_them() {
    // a: [sleep 10ms ∥ call b (30 ms)] then sleep 5 ms ⇒ 35 ms exactly, with
    // one request at a time (no queueing: isotope has none anyway).
    let (_, m) = run_graph(
        "services:\n- name: a\n  script:\n  - - sleep: 10ms\n    - call: b\n  - sleep: 5ms\n- name: b\n  script: [{sleep: 30ms}]\n",
        "a",
        50,
    );
    let l = &m.loads[0].pooled;
    assert_eq!(l.completed, 50);
    assert_eq!(l.sum_ns, 50 * 35 * MS as u128);
    // probability 25 (percent): b is called for about a quarter of 4,000
    // requests (binomial, 99.9 % interval ±3.29σ = ±90).
    let (spec, m) = run_graph(
        "services:\n- name: a\n  script:\n  - call: {service: b, probability: 25}\n- name: b\n",
        "a",
        4000,
    );
    let b = served(&spec, &m)["b"] as f64;
    assert!((b - 1000.0).abs() < 90.0, "{b}");
}

#[test]
fn global_and_cross_namespace_hostnames_reach_the_named_service() {
    for file in [
        "chain-2-services-different-cluster.yaml",
        "chain-2-services-different-namespace.yaml",
    ] {
        let tmp = std::env::temp_dir().join(format!("meshsim-isotope-ns-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let load = load_file(&tmp, "a.demo1", 10);
        let (spec, m) = run_files(&[topology(file), load]);
        let b = spec
            .services
            .iter()
            .position(|s| s.name == "b" && s.namespace == "demo2")
            .unwrap();
        assert_eq!(m.services[b].pooled.completed, 10, "{file}");
        std::fs::remove_dir_all(&tmp).ok();
    }
}

#[test]
fn shipped_isotope_example_propagates_every_b_error_to_d() {
    // scenarios/examples/isotope: b fails every 100th request of its one pod;
    // each failure fails exactly one request to d (500 all the way up).
    let dir = common::root().join("scenarios/examples/isotope");
    let (spec, m) = run_files(&[dir]);
    let svc = |n: &str| {
        let i = spec.services.iter().position(|s| s.name == n).unwrap();
        &m.services[i]
    };
    let (b, d) = (svc("b"), svc("d"));
    let b_all = b.pooled.completed + b.pooled.failed + b.in_flight;
    // The counter runs from t = 0, the window starts after warm-up: ±1 per replication.
    let per_100 = b_all / 100;
    assert!(
        b.pooled.failed.abs_diff(per_100) <= 2,
        "{} vs {per_100}",
        b.pooled.failed
    );
    assert!(d.pooled.failed.abs_diff(b.pooled.failed) <= 2);
    // 1.5 calls to b per request to d ⇒ ≈ 1.5 % of d fails.
    let rate = d.pooled.failed as f64 / (d.pooled.completed + d.pooled.failed) as f64;
    assert!((0.013..0.017).contains(&rate), "{rate}");
}
