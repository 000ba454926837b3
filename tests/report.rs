//! The `summary.json` contract (keys other tools rely on) and the renderers.

use crate::common;
use serde_json::Value;

fn small() -> String {
    format!(
        "{}---\n{}",
        common::server_yaml("web", 2, 2, "{exponential: {mean: 20ms}}"),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: 40}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: small}
spec: {duration: 120s, warmup: 5s, seed: 11, replications: 2}
"#
    )
}

fn check_stream(v: &Value, what: &str) {
    for k in ["requests", "completed", "failed", "in_flight"] {
        assert!(v[k].is_u64(), "{what}.{k}: {v}");
    }
    assert!(v["codes"].is_object(), "{what}.codes");
    let lat = &v["latency_ms"];
    for k in ["mean", "p50", "p90", "p99", "p999", "max"] {
        let x = lat[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}.latency_ms.{k}: {lat}"));
        // Three decimals at most.
        assert!(
            ((x * 1000.0).round() - x * 1000.0).abs() < 1e-6,
            "{what}.{k} = {x}"
        );
    }
    let ci = lat["mean_ci95"]
        .as_array()
        .expect("mean_ci95 is [low, high]");
    assert_eq!(ci.len(), 2);
    let (lo, hi, m) = (
        ci[0].as_f64().unwrap(),
        ci[1].as_f64().unwrap(),
        lat["mean"].as_f64().unwrap(),
    );
    assert!(lo <= m && m <= hi, "{what}: {lo} ≤ {m} ≤ {hi}");
    let p = |k: &str| lat[k].as_f64().unwrap();
    assert!(
        p("p50") <= p("p90")
            && p("p90") <= p("p99")
            && p("p99") <= p("p999")
            && p("p999") <= p("max")
    );
}

#[test]
fn summary_json_has_the_contract_keys() {
    let spec = common::load_ok(&small());
    let m = common::run(&spec);
    let text = meshsim::report::summary::render(&spec, &m);
    assert!(text.ends_with('\n'));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["meshsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["scenario_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(v["seed"], 11);
    assert_eq!(v["replications"], 2);
    assert_eq!(v["duration_s"], 120.0);
    check_stream(&v["loads"]["users"], "loads.users");
    check_stream(&v["services"]["web"]["default"], "services.web.default");
    let w = &v["workloads"]["default/web"];
    check_stream(w, "workloads.default/web");
    for k in ["utilisation", "queue_mean"] {
        assert!(w[k].is_f64(), "{k}");
    }
    // ρ = 40 × 0.02 / 4 workers = 0.2.
    let u = w["utilisation"].as_f64().unwrap();
    assert!((u - 0.2).abs() < 0.03, "utilisation {u}");
    // Keys are sorted at every level (byte-stable output).
    fn sorted(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                let keys: Vec<&String> = m.keys().collect();
                keys.windows(2).all(|w| w[0] < w[1]) && m.values().all(sorted)
            }
            Value::Array(a) => a.iter().all(sorted),
            _ => true,
        }
    }
    assert!(sorted(&v));
    let first_key = text.lines().nth(1).unwrap().trim();
    assert!(first_key.starts_with("\"digest\""), "{first_key}");
}

#[test]
fn terminal_summary_and_plots_render() {
    let spec = common::load_ok(&small());
    let m = common::run(&spec);
    let table = meshsim::report::table::render(&spec, &m);
    for needle in ["users", "web.default", "default/web", "util", "queue"] {
        assert!(table.contains(needle), "{needle} missing from\n{table}");
    }
    let lat = meshsim::report::plot::latency_svg(&spec, &m).unwrap();
    assert!(
        lat.starts_with("<svg")
            && lat.contains(">users</text>")
            && lat.contains(">web.default</text>")
            && lat.contains("latency by percentile")
    );
    let tl = meshsim::report::plot::timeline_svg(&spec, &m).unwrap();
    assert!(tl.contains("default/web") && tl.contains("utilisation"));
    let csv = meshsim::report::plot::timeline_csv(&spec, &m);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "t_s,kind,name,throughput_rps,failed_rps,mean_latency_ms,utilisation,queue"
    );
    // 100 bins for the load and 100 for the workload.
    assert_eq!(rows.len(), 1 + 2 * meshsim::metrics::timeline::BINS);
    // Throughput over the bins averages to the offered 40/s (±10 %, 230 s of data).
    let thr: Vec<f64> = rows[1..=100]
        .iter()
        .map(|r| r.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    let mean = thr.iter().sum::<f64>() / thr.len() as f64;
    assert!((mean - 40.0).abs() < 4.0, "{mean}");
}

#[test]
fn trace_follows_one_request_through_its_calls_without_changing_the_run() {
    let path = common::root().join("scenarios/examples/bookinfo.yaml");
    let spec = common::load_paths(&[&path], &meshsim::scenario::Overrides::default());
    let load = spec.loads.iter().position(|l| l.name == "jason").unwrap();
    let plain = meshsim::run::replicate(&spec, 0, &mut |_| {});
    let traced =
        meshsim::run::replicate_traced(&spec, 0, meshsim::world::TraceSpec { load, nth: 3 });
    // Teaching mode observes; it must not perturb (same events, same numbers).
    assert_eq!((plain.digest, plain.events), (traced.digest, traced.events));
    assert!(plain.trace.is_empty());
    let t = traced.trace.join("\n");
    for step in [
        "load jason issues GET /productpage to productpage.default:9080",
        "arrives at pod productpage-v1-0",
        "productpage-v1-0 calls GET /details/0 on details.default:9080",
        "calls GET /reviews/0 on reviews.default:9080 (try 1 of 2, app timeout 3s)",
        "kube-proxy picks pod reviews-v",
        "productpage-v1-0 answers 200",
        "load jason receives 200",
    ] {
        assert!(t.contains(step), "missing {step:?} in\n{t}");
    }
    // Calls are indented one level deeper than the page request.
    assert!(
        traced
            .trace
            .iter()
            .any(|l| l.contains("    productpage-v1-0 calls")),
        "{t}"
    );
    // Times never go backwards.
    let times: Vec<f64> = traced
        .trace
        .iter()
        .map(|l| l.trim_start().split('s').next().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{t}");
}

/// Issue 9 item 6: a constant 2 h service time was reported with p50 = p99 =
/// max = 3,601,330 ms (the histogram's 1 h range, clamped) next to a mean of
/// 7,200,000 ms. Every figure must say 2 h, within HdrHistogram's 3 digits.
#[test]
fn two_hour_latencies_are_reported_not_clamped() {
    let text = format!(
        "{}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: slow}}\nspec:\n  target: http://web:8080/\n  open: {{rate: 0.002}}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: s}}\nspec: {{duration: 12h, warmup: 0s, seed: 3}}\n",
        common::server_yaml("web", 1, 1000, "{constant: 2h}")
    );
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    let json = common::summary_json(&spec, &m);
    let lat = &json["loads"]["slow"]["latency_ms"];
    assert!(lat["samples"].as_u64().unwrap() >= 10, "{lat}");
    assert_eq!(lat["mean"].as_f64(), Some(7_200_000.0), "{lat}");
    for k in ["p50", "p99", "max"] {
        let v = lat[k].as_f64().unwrap();
        assert!(
            (v - 7_200_000.0).abs() <= 7_200_000.0 * 1e-3,
            "{k} = {v}: {lat}"
        );
    }
    assert!(lat.get("clamped_samples").is_none(), "{lat}");
}

/// The failure-propagation report joins a run's reports only when something
/// was recorded: a hand-built recorder stands in for the world's.
#[test]
fn propagation_joins_the_reports_only_when_recorded() {
    use meshsim::metrics::propagation::{Link, Node, PropagationRecorder};
    let spec = common::load_ok(&small());
    let mut m = common::run(&spec);
    let plain = meshsim::report::summary::render(&spec, &m);
    let v: Value = serde_json::from_str(&plain).unwrap();
    assert!(v.get("propagation").is_none());
    assert!(meshsim::report::propagation::files(&spec, &m).is_empty());
    assert!(!meshsim::report::table::render(&spec, &m).contains("Failure propagation"));

    let (users, web) = (Node::Load(0), Node::Service(0));
    let mut a = PropagationRecorder::default();
    for i in 0..100 {
        a.edge(users, web, if i < 10 { 2 } else { 1 }, i < 4, i < 4);
    }
    for _ in 0..4 {
        a.failure(&[
            Link::new(users, 503, "-"),
            Link::new(web, 503, "queue-full"),
        ]);
    }
    let mut b = PropagationRecorder::default();
    b.breaker_reject(
        "pod/default/users",
        "outbound|8080||web.default.svc.cluster.local",
        7_500_000_000,
    );
    m.propagation = PropagationRecorder::merge_all([&a, &b]);

    let text = meshsim::report::summary::render(&spec, &m);
    let v: Value = serde_json::from_str(&text).unwrap();
    let p = &v["propagation"];
    assert_eq!(p["failures"], 4);
    assert_eq!(
        p["chains"][0]["chain"],
        "load/users 503 ← web.default 503 queue-full"
    );
    assert_eq!(p["chains"][0]["share"], 1.0);
    let e = &p["edges"][0];
    assert_eq!(
        (e["caller"].as_str(), e["callee"].as_str()),
        (Some("load/users"), Some("web.default"))
    );
    assert_eq!(
        (e["requests"].as_u64(), e["attempts"].as_u64()),
        (Some(100), Some(110))
    );
    assert_eq!(e["amplification"], 1.1);
    assert_eq!(e["extra_load"], 10);
    assert_eq!(p["breakers"][0]["windows"][0]["replication"], 1);
    assert_eq!(p["breakers"][0]["windows"][0]["from_s"], 7.5);
    // Everything else is as it was.
    let mut without = v.clone();
    without.as_object_mut().unwrap().remove("propagation");
    assert_eq!(without, serde_json::from_str::<Value>(&plain).unwrap());

    let table = meshsim::report::table::render(&spec, &m);
    assert!(
        table.contains("load/users 503 ← web.default 503 queue-full"),
        "{table}"
    );
    let files = meshsim::report::propagation::files(&spec, &m);
    let names: Vec<&str> = files.iter().map(|f| f.0).collect();
    assert_eq!(names, ["propagation.dot", "propagation.svg"]);
    assert!(files[0].1.contains("l0 -> s0"));
    assert!(files[1].1.contains(">web.default</text>"));
}

#[test]
fn top_n_cuts_terminal_tables_to_the_busiest_rows() {
    // web gets the load; three idle servers beside it.
    let mut text = small();
    for n in ["idle-a", "idle-b", "idle-c"] {
        text = format!(
            "{}---\n{text}",
            common::server_yaml(n, 1, 1, "{exponential: {mean: 1ms}}")
        );
    }
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    assert_eq!(
        meshsim::report::table::render_top(
            &spec,
            &m,
            &meshsim::report::percentiles::default_table(),
            0
        ),
        meshsim::report::table::render(&spec, &m)
    );
    let all = meshsim::report::table::render(&spec, &m);
    assert!(all.contains("idle-b.default"));
    let top = meshsim::report::table::render_top(
        &spec,
        &m,
        &meshsim::report::percentiles::default_table(),
        1,
    );
    assert!(top.contains("  web.default ") && top.contains("  default/web "));
    assert!(!top.contains("idle-b"), "{top}");
    // Services and workloads: three idle ones summed in one line each.
    assert_eq!(
        top.matches("… 3 more with 0 requests in all").count(),
        2,
        "{top}"
    );
}
