//! `meshsim diff` (issue #13 item 3): common random numbers make a no-op
//! change exactly zero, leave unrelated entities untouched, and give paired
//! intervals that cover 0 when only the random streams change.

use crate::common;
use meshsim::answers::diff::{Diff, compare};
use meshsim::scenario::{Overrides, Scenario};
use std::process::Command;

fn diff_of(base: &Scenario, changed: &Scenario, paired: bool) -> Diff {
    let pct = meshsim::report::percentiles::default_json();
    compare(
        base,
        &common::run(base),
        changed,
        &common::run(changed),
        &pct,
        0.95,
        paired,
    )
}

/// A client → web (3 pods) scenario whose Deployment and Workload are named
/// `web-{tag}` (the Service `web` selects them by label, so the model is the
/// same for any tag; only the pods' stream keys differ).
fn renamed(tag: &str, seed: u64, replications: u32) -> Scenario {
    common::load_ok(&format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{tag}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: web-{tag}}}
spec:
  workers: 2
  serviceTime: {{lognormal: {{mean: 20ms, cv: 1.5}}}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: client}}
spec:
  target: http://web:8080/
  open: {{rate: 150}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: renamed}}
spec: {{duration: 30s, warmup: 2s, seed: {seed}, replications: {replications}}}
"#
    ))
}

fn clusterip(sets: &[&str]) -> Scenario {
    let ov = Overrides {
        replications: Some(5),
        sets: sets.iter().map(|s| s.parse().unwrap()).collect(),
        ..Overrides::default()
    };
    common::load_paths(
        &[&common::root().join("scenarios/kubernetes/clusterip.yaml")],
        &ov,
    )
}

#[test]
fn a_no_op_change_gives_every_delta_exactly_zero() {
    // Setting a field to the value it has: the same model, the same streams.
    let base = clusterip(&[]);
    let same = clusterip(&["Deployment/web.spec.replicas=4"]);
    let d = diff_of(&base, &same, true);
    assert_eq!(d.replications, 5);
    let figures: Vec<_> = d.entities.iter().flat_map(|e| &e.metrics).collect();
    // load, Service, workload × (throughput, error rate, mean, 4 percentiles).
    assert_eq!(figures.len(), 21);
    for m in figures {
        let p = &m.paired;
        assert_eq!(p.delta, 0.0, "{}", m.key);
        assert_eq!(p.delta_ci, Some((0.0, 0.0)), "{}", m.key);
        assert!(p.relative.is_none_or(|r| r == 0.0), "{}", m.key);
        assert!(p.relative_ci.is_none_or(|c| c == (0.0, 0.0)), "{}", m.key);
        assert_eq!(meshsim::answers::diff_report::verdict(m), "identical");
    }
    assert_eq!(d.significant(), 0);
}

#[test]
fn an_unrelated_entity_leaves_every_other_figure_identical() {
    // Bookinfo behind sidecars, plus an app of its own (named to sort first,
    // so every dense index shifts): not one of Bookinfo's figures moves.
    let dir = common::root().join("scenarios/examples/bookinfo-mesh");
    let extra =
        std::env::temp_dir().join(format!("meshsim-diff-extra-{}.yaml", std::process::id()));
    std::fs::write(
        &extra,
        format!(
            "{}---\n{}",
            common::server_yaml("aaa-extra", 2, 2, "{exponential: {mean: 10ms}}"),
            "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: aaa-extra-load}\n\
             spec:\n  target: http://aaa-extra:8080/\n  open: {rate: 50}\n"
        ),
    )
    .unwrap();
    let ov = Overrides {
        replications: Some(2),
        duration: Some(meshsim::engine::SimDuration::from_secs(40)),
        ..Overrides::default()
    };
    let base = common::load_paths(&[&dir], &ov);
    let changed = common::load_paths(&[&dir, &extra], &ov);
    let _ = std::fs::remove_file(&extra);
    let d = diff_of(&base, &changed, true);
    let figures: Vec<_> = d.entities.iter().flat_map(|e| &e.metrics).collect();
    assert!(figures.len() > 100, "{}", figures.len());
    for e in &d.entities {
        for m in &e.metrics {
            assert_eq!(
                m.paired.delta_ci,
                Some((0.0, 0.0)),
                "{} {} {}",
                e.section,
                e.name,
                m.key
            );
        }
    }
    assert!(d.only_base.is_empty());
    assert!(d.only_changed.contains(&"loads aaa-extra-load".to_string()));
    assert!(
        d.only_changed
            .contains(&"workloads default/aaa-extra".to_string())
    );
}

#[test]
fn a_real_change_is_significant_and_the_binary_says_so() {
    // 200 → 220 rps: throughput +10 % (its interval holds 10 %), exit 5.
    let out = std::env::temp_dir().join(format!("meshsim-diff-{}", std::process::id()));
    let scen = common::root().join("scenarios/kubernetes/clusterip.yaml");
    let run = |extra: &[&str]| {
        let mut c = Command::new(common::bin());
        c.arg("diff")
            .arg(&scen)
            .args(["--replications", "5", "--quiet", "--out"]);
        c.arg(&out).arg("--").args(extra);
        let st = c.status().unwrap();
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("diff.json")).unwrap()).unwrap();
        (st.code(), j)
    };
    let (code, j) = run(&["--set", "Load/client.spec.open.rate=220"]);
    assert_eq!(code, Some(5));
    let t = &j["loads"]["client"]["throughput_rps"];
    assert_eq!(t["verdict"], "significant");
    let (lo, hi) = (
        t["relative_ci95"][0].as_f64().unwrap(),
        t["relative_ci95"][1].as_f64().unwrap(),
    );
    assert!(lo < 0.1 && 0.1 < hi, "[{lo}, {hi}]");
    let r = t["relative"].as_f64().unwrap();
    assert!(lo <= r && r <= hi);
    assert_eq!(j["changed"]["sets"][0], "Load/client.spec.open.rate=220");
    // No change: exit 0, every delta exactly 0 in the file too.
    let (code, j) = run(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(j["significant"], 0);
    for (_, fig) in j["loads"]["client"].as_object().unwrap() {
        assert_eq!(fig["delta"], 0.0);
        assert_eq!(fig["verdict"], "identical");
    }
    // An option after `--` other than --set is a usage error.
    let st = Command::new(common::bin())
        .arg("diff")
        .arg(&scen)
        .args(["--quiet", "--out"])
        .arg(&out)
        .args(["--", "--seed", "3"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn pairing_narrows_the_interval() {
    // The same stream-only change compared paired (common random numbers)
    // and as two independent runs (Welch): the paired interval of the mean
    // latency is narrower, because arrivals are shared.
    let a = renamed("a", 1, 10);
    let b = renamed("b", 1, 10);
    let mut b2 = b.clone();
    b2.run.seed = 2;
    let width = |d: &Diff| {
        let m = d.entities[0]
            .metrics
            .iter()
            .find(|m| m.key == "mean_ms")
            .unwrap();
        let (lo, hi) = m.paired.delta_ci.unwrap();
        hi - lo
    };
    let paired = width(&diff_of(&a, &b, true));
    let independent = width(&diff_of(&a, &b2, false));
    assert!(paired < independent, "{paired} vs {independent}");
}

/// Over 100 seeds, a change that only renames the server's Deployment (so
/// only its pods' random streams change; the model is the same) must have a
/// paired 95 % interval covering 0 in ≥ 90 % of seeds, for the load's mean
/// and p99 latency. Measured: see README "What-if diffs".
#[test]
#[ignore]
fn stream_only_change_covers_zero_in_ninety_percent_of_seeds() {
    let mut covered = [0usize; 3];
    let keys = ["mean_ms", "p99_ms", "throughput_rps"];
    for seed in 1..=100 {
        let d = diff_of(&renamed("a", seed, 10), &renamed("b", seed, 10), true);
        let load = d.entities.iter().find(|e| e.section == "loads").unwrap();
        for (i, k) in keys.iter().enumerate() {
            let m = load.metrics.iter().find(|m| m.key == *k).unwrap();
            if m.paired.significant() == Some(false) {
                covered[i] += 1;
            }
        }
    }
    eprintln!(
        "covered 0 of 100 seeds: mean {}, p99 {}, throughput {}",
        covered[0], covered[1], covered[2]
    );
    for (k, c) in keys.iter().zip(covered) {
        assert!(c >= 90, "{k}: {c}/100");
    }
}
