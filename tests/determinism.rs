//! Same scenario + seed ⇒ byte-identical report, with 1 thread or N; streams
//! are independent, so changing one entity leaves the others' numbers alone.

use crate::common;
use meshsim::report::summary;
use std::process::Command;

fn two_services(replicas_b: u32) -> String {
    format!(
        "{}---\n{}---\n{}",
        common::server_yaml("a", 2, 2, "{exponential: {mean: 50ms}}"),
        common::server_yaml("b", replicas_b, 1, "{lognormal: {mean: 20ms, cv: 1.5}}"),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: to-a}
spec:
  target: http://a:8080/
  open: {rate: 50}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: to-b}
spec:
  target: http://b:8080/
  closed: {connections: 3, thinkTime: {exponential: {mean: 10ms}}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: det}
spec: {duration: 300s, warmup: 10s, seed: 7, replications: 3}
"#
    )
}

#[test]
fn same_seed_gives_byte_identical_summary() {
    let spec = common::load_ok(&two_services(2));
    let a = summary::render(&spec, &common::run(&spec));
    let b = summary::render(&spec, &common::run(&spec));
    assert_eq!(a, b);
    let mut other = spec.clone();
    other.run.seed = 8;
    let c = summary::render(&other, &common::run(&other));
    assert_ne!(a, c, "a different seed must give different numbers");
}

#[test]
fn replication_digests_are_reproducible_one_by_one() {
    // Replication k simulated alone equals replication k inside a batch.
    let spec = common::load_ok(&two_services(2));
    let m = common::run(&spec);
    for (k, o) in m.outcomes.iter().enumerate() {
        let alone = meshsim::run::replicate(&spec, k as u64, &mut |_| {});
        assert_eq!(alone.digest, o.digest, "replication {k}");
        assert_eq!(alone.events, o.events);
    }
    assert_ne!(m.outcomes[0].digest, m.outcomes[1].digest);
}

#[test]
fn adding_a_pod_elsewhere_leaves_other_streams_untouched() {
    // Load `to-a` only reaches deployment a; b's replica count must not change
    // a single number of a's (one RNG stream per (purpose, entity name)).
    let s2 = common::load_ok(&two_services(2));
    let s3 = common::load_ok(&two_services(3));
    let m2 = common::run(&s2);
    let m3 = common::run(&s3);
    let a2 = &m2.loads[0].pooled;
    let a3 = &m3.loads[0].pooled;
    assert_eq!(
        (a2.sum_ns, a2.count, a2.requests),
        (a3.sum_ns, a3.count, a3.requests)
    );
    assert_eq!(m2.workloads[0].pooled.sum_ns, m3.workloads[0].pooled.sum_ns);
    // ... while b's numbers do change.
    assert_ne!(m2.loads[1].pooled.sum_ns, m3.loads[1].pooled.sum_ns);
}

fn run_binary(threads: &str, out: &std::path::Path, scenario: &std::path::Path) -> Vec<u8> {
    let st = Command::new(common::bin())
        .args([
            "run",
            "--quiet",
            "--replications",
            "4",
            "--duration",
            "20000s",
            "--out",
        ])
        .arg(out)
        .arg(scenario)
        .env("RAYON_NUM_THREADS", threads)
        .status()
        .expect("spawn meshsim");
    assert!(st.success());
    std::fs::read(out.join("summary.json")).expect("summary.json written")
}

#[test]
fn one_thread_and_two_threads_give_identical_files() {
    // rayon's global pool reads RAYON_NUM_THREADS once per process: spawn the binary.
    let dir = std::env::temp_dir().join(format!("meshsim-det-{}", std::process::id()));
    let scenario = common::root().join("scenarios/queueing/mm4.yaml");
    let one = run_binary("1", &dir.join("t1"), &scenario);
    let two = run_binary("2", &dir.join("t2"), &scenario);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(one, two);
    let text = String::from_utf8(one).unwrap();
    assert!(text.contains("\"replications\": 4"));
}
