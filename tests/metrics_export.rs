//! See tests/main.rs for what this module covers.
//!
//! The scenario is built so its series are known before running it:
//! * `users` (with a sidecar) → `web` (sidecar): one `source` series (200, `-`)
//!   and one `destination` series (200, `mutual_tls`);
//! * `outside` (no sidecar) → `web`: one `destination` series (source
//!   `unknown`, `none`), no source report (no client proxy);
//! * `bad` (sidecar) → `gone`, whose VirtualService aborts every request
//!   with 503: one `source` series (503, `FI`), nothing at `gone`.
//!
//! 4 series; 100 s simulated = ⌈100 / 15⌉ = 7 scrape steps, 8 timestamps
//! (0 … 105 s); each series has 1 counter sample + 20 buckets + count + sum
//! per timestamp: 4 × 8 × 23 = 736 samples, 4 × 23 = 92 TSDB series.

use crate::common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const START: u64 = 1_796_083_200; // 2026-12-01T00:00:00Z, the default
const SERIES: u64 = 4;
const TIMESTAMPS: u64 = 8;
const SAMPLES_PER_TIMESTAMP: u64 = 1 + 20 + 2;

fn scenario(dir: &Path) {
    let mut s = common::server_yaml("web", 2, 4, "{constant: 5ms}");
    s.push_str("---\n");
    s.push_str(&common::server_yaml("gone", 1, 4, "{constant: 5ms}"));
    s.push_str(
        "---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: gone}
spec:
  hosts: [gone]
  http:
  - fault: {abort: {percentage: {value: 100}, httpStatus: 503}}
    route: [{destination: {host: gone}}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  sidecar: true
  open: {rate: 20}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: outside}
spec:
  target: http://web:8080/
  open: {rate: 5}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: bad}
spec:
  target: http://gone:8080/
  sidecar: true
  open: {rate: 3}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: om}
spec:
  duration: 100s
  seed: 11
  mesh: {injectNamespaces: [default]}
",
    );
    std::fs::write(dir.join("scenario.yaml"), s).unwrap();
}

fn scratch(test: &str) -> PathBuf {
    let d = common::scratch("om", test);
    scenario(&d);
    d
}

/// Runs the scenario in `dir` into `dir/out` with `threads` rayon threads.
fn run(dir: &Path, out: &str, threads: &str, extra: &[&str]) -> String {
    let o = Command::new(common::bin())
        .args([
            "run",
            "scenario.yaml",
            "-q",
            "--istio-metrics",
            "--out",
            out,
        ])
        .args(extra)
        .env("RAYON_NUM_THREADS", threads)
        .current_dir(dir)
        .output()
        .expect("run meshsim");
    assert!(
        o.status.success(),
        "meshsim failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(dir.join(out).join("metrics.om")).expect("metrics.om written")
}

/// (metric name, labels, value, timestamp) of each sample line.
fn samples(om: &str) -> Vec<(String, BTreeMap<String, String>, u64, u64)> {
    om.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (name, rest) = l.split_once('{').expect("labels");
            let (labels, vals) = rest.rsplit_once("} ").expect("values");
            let mut m = BTreeMap::new();
            for pair in labels.split("\",") {
                let (k, v) = pair.split_once("=\"").expect("label pair");
                m.insert(k.to_string(), v.trim_end_matches('"').to_string());
            }
            let (v, t) = vals.split_once(' ').expect("timestamp");
            (name.to_string(), m, v.parse().unwrap(), t.parse().unwrap())
        })
        .collect()
}

/// The last `istio_requests_total` of the series whose labels include `want`.
fn total(s: &[(String, BTreeMap<String, String>, u64, u64)], want: &[(&str, &str)]) -> u64 {
    let hits: Vec<u64> = s
        .iter()
        .filter(|(n, l, _, t)| {
            n == "istio_requests_total"
                && *t == START + 105
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|x| x.2)
        .collect();
    assert_eq!(hits.len(), 1, "one series with {want:?}");
    hits[0]
}

fn load_requests(dir: &Path, out: &str, load: &str) -> u64 {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(out).join("summary.json")).unwrap())
            .unwrap();
    j["loads"][load]["requests"].as_u64().expect("requests")
}

#[test]
fn metrics_om_holds_istios_series_with_the_runs_counts() {
    let d = scratch("series");
    let om = run(&d, "a", "2", &["--hgrm"]);
    assert!(om.ends_with("# EOF\n"));
    let s = samples(&om);
    assert_eq!(s.len() as u64, SERIES * TIMESTAMPS * SAMPLES_PER_TIMESTAMP);
    // Families contiguous: every counter sample before every histogram sample.
    let first_hist = s
        .iter()
        .position(|x| x.0 != "istio_requests_total")
        .unwrap();
    assert_eq!(first_hist as u64, SERIES * TIMESTAMPS);
    // Each series time-ordered, 15 s apart, from the start.
    for w in s[..first_hist].windows(2) {
        if w[0].1 == w[1].1 {
            assert_eq!(w[1].3, w[0].3 + 15);
            assert!(w[1].2 >= w[0].2, "counters never fall");
        } else {
            assert_eq!(w[1].3, START);
        }
    }
    // Warm-up is 0 here, so the loads' counts are the whole run's.
    let users = load_requests(&d, "a", "users");
    let outside = load_requests(&d, "a", "outside");
    let bad = load_requests(&d, "a", "bad");
    assert!(
        users > 1_800 && outside > 400 && bad > 250,
        "{users} {outside} {bad}"
    );
    let src = |w: &str, c: &str| {
        total(
            &s,
            &[
                ("reporter", "source"),
                ("source_workload", w),
                ("response_code", c),
            ],
        )
    };
    assert_eq!(src("users", "200"), users);
    assert_eq!(src("bad", "503"), bad);
    let dst = |w: &str, pol: &str| {
        total(
            &s,
            &[
                ("reporter", "destination"),
                ("source_workload", w),
                ("connection_security_policy", pol),
            ],
        )
    };
    assert_eq!(dst("users", "mutual_tls"), users);
    assert_eq!(dst("unknown", "none"), outside);
    // The abort: a local reply of bad's sidecar, upstream unknown.
    let aborted = s
        .iter()
        .find(|x| x.1.get("source_workload").map(String::as_str) == Some("bad"))
        .unwrap();
    assert_eq!(aborted.1["response_flags"], "FI");
    assert_eq!(aborted.1["destination_workload"], "unknown");
    assert_eq!(
        aborted.1["destination_service"],
        "gone.default.svc.cluster.local"
    );
    // users → web as Istio labels it.
    let l = &s
        .iter()
        .find(|x| {
            x.1["reporter"] == "source"
                && x.1.get("source_workload").map(String::as_str) == Some("users")
        })
        .unwrap()
        .1;
    assert_eq!(l["destination_workload"], "web");
    assert_eq!(l["destination_service_name"], "web");
    assert_eq!(
        l["destination_principal"],
        "spiffe://cluster.local/ns/default/sa/default"
    );
    assert_eq!(l["connection_security_policy"], "unknown");
    assert_eq!(l["source_cluster"], "Kubernetes");
    assert_eq!(l["request_protocol"], "http");
    // Every request of web took 5 ms at the server: the `le="5.0"` bucket
    // holds them all, `le="1.0"` none; `_sum` = 5 × count.
    let at_end = |name: &str, le: Option<&str>| {
        s.iter()
            .find(|x| {
                x.0 == name
                    && x.3 == START + 105
                    && x.1["reporter"] == "destination"
                    && x.1["connection_security_policy"] == "none"
                    && x.1.get("le").map(String::as_str) == le
            })
            .unwrap()
            .2
    };
    let b = "istio_request_duration_milliseconds_bucket";
    assert_eq!(at_end(b, Some("1.0")), 0);
    assert_eq!(at_end(b, Some("5.0")), outside);
    assert_eq!(at_end(b, Some("+Inf")), outside);
    assert_eq!(
        at_end("istio_request_duration_milliseconds_count", None),
        outside
    );
    assert_eq!(
        at_end("istio_request_duration_milliseconds_sum", None),
        5 * outside
    );
}

/// `--hgrm`: one file per load, holding the load's pooled histogram (the one
/// summary.json's percentiles come from).
#[test]
fn hgrm_per_load_holds_the_loads_histogram() {
    let d = scratch("hgrm");
    run(&d, "a", "2", &["--hgrm"]);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("a").join("summary.json")).unwrap())
            .unwrap();
    for load in ["users", "outside", "bad"] {
        let t = std::fs::read_to_string(d.join("a").join(format!("{load}.hgrm"))).unwrap();
        let samples = j["loads"][load]["latency_ms"]["samples"].as_u64().unwrap();
        assert!(
            t.contains(&format!("Total count    = {samples:12}]")),
            "{load}: {samples} samples"
        );
        let p50 = j["loads"][load]["latency_ms"]["p50"].as_f64().unwrap();
        let line = t
            .lines()
            .skip(2)
            .find(|l| {
                let q = l
                    .split_whitespace()
                    .nth(1)
                    .and_then(|q| q.parse::<f64>().ok());
                q.is_some_and(|q| q >= 0.5)
            })
            .unwrap();
        let v: f64 = line.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            (v - p50).abs() <= 0.001 * p50 + 0.001,
            "{load}: {v} vs p50 {p50}"
        );
    }
}

#[test]
fn metrics_om_is_byte_identical_for_any_thread_count() {
    let d = scratch("determinism");
    let a = run(&d, "one", "1", &["--replications", "3"]);
    let b = run(&d, "four", "4", &["--replications", "3"]);
    assert!(a == b, "metrics.om differs between 1 and 4 threads");
    // Replication 0's counters: the same as a single-replication run.
    let c = run(&d, "single", "2", &[]);
    assert!(a == c, "metrics.om is replication 0's");
    // --metrics-start moves every timestamp and nothing else.
    let e = run(
        &d,
        "later",
        "2",
        &["--metrics-start", "2026-12-01T01:00:00Z"],
    );
    let shifted: String = a
        .lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((head, t)) if !l.starts_with('#') => {
                format!("{head} {}\n", t.parse::<u64>().unwrap() + 3600)
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert!(e == shifted, "--metrics-start shifts the timestamps only");
}

/// `promtool` (Debian's `prometheus` package; `.ci/run` installs it).
fn promtool(args: &[&str]) -> String {
    let o = Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool must be installed (apt-get install prometheus; .ci/run does)");
    assert!(
        o.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Issue 13 item 6: Prometheus backfills the file; its blocks hold exactly
/// the samples and time range the run implies.
#[test]
fn promtool_backfills_metrics_om() {
    let d = scratch("promtool");
    run(&d, "a", "2", &[]);
    let file = d.join("a").join("metrics.om");
    let tsdb = d.join("tsdb");
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        file.to_str().unwrap(),
        tsdb.to_str().unwrap(),
    ]);
    let list = promtool(&["tsdb", "list", tsdb.to_str().unwrap()]);
    // BLOCK ULID, MIN TIME, MAX TIME, DURATION, NUM SAMPLES, NUM CHUNKS, NUM SERIES, SIZE
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(!rows.is_empty(), "no block: {list}");
    let num = |r: &Vec<&str>, i: usize| r[i].parse::<u64>().unwrap();
    let samples: u64 = rows.iter().map(|r| num(r, 4)).sum();
    let min = rows.iter().map(|r| num(r, 1)).min().unwrap();
    let max = rows.iter().map(|r| num(r, 2)).max().unwrap();
    assert_eq!(samples, SERIES * TIMESTAMPS * SAMPLES_PER_TIMESTAMP); // 736
    assert_eq!(min, START * 1000);
    // A block's max time is exclusive: the last sample (105 s) + 1 ms.
    assert_eq!(max, (START + 105) * 1000 + 1);
    if rows.len() == 1 {
        assert_eq!(num(&rows[0], 6), SERIES * (20 + 3)); // 92
    }
}

/// `--percentiles`: summary.json and the terminal list exactly those, with
/// the same values as the default list where they overlap.
#[test]
fn percentiles_flag_lists_the_asked_percentiles() {
    let d = scratch("percentiles");
    let o = Command::new(common::bin())
        .args([
            "run",
            "scenario.yaml",
            "--out",
            "p",
            "--percentiles",
            "50,99.99",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("      p50    p99.99  codes"), "{table}");
    assert!(!table.contains("p99 "));
    run(&d, "default", "2", &[]);
    let read = |dir: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(dir).join("summary.json")).unwrap())
            .unwrap()
    };
    let (p, def) = (read("p"), read("default"));
    let lat = &p["loads"]["users"]["latency_ms"];
    let keys: Vec<&str> = lat
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with('p'))
        .collect();
    assert_eq!(keys, ["p50", "p9999"]);
    assert_eq!(lat["p50"], def["loads"]["users"]["latency_ms"]["p50"]);
    // Every server takes 5 ms: p99.99 of web's Service is 5 ms too (3 digits).
    let svc = &p["services"]["web"]["default"]["latency_ms"];
    assert!((svc["p9999"].as_f64().unwrap() - 5.0).abs() < 0.01, "{svc}");
    assert!(def["loads"]["users"]["latency_ms"]["p999"].is_number());
}
