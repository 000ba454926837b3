//! Opt-in result files for other tools' users (issue #13 items 4 and 6):
//! `--fortio` (fortio's `-json` shape), `--istio-csv` (metrics.om as a
//! table), `--percentile-ci` (intervals that contain their percentile).

use crate::common;
use serde_json::Value;
use std::process::Command;

fn run(out: &std::path::Path, flags: &[&str]) {
    let st = Command::new(common::bin())
        .arg("run")
        .arg(common::root().join("scenarios/examples/bookinfo-mesh"))
        .args([
            "--duration",
            "60s",
            "--replications",
            "3",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .args(flags)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
}

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn fortio_json_istio_csv_and_percentile_intervals() {
    let out = std::env::temp_dir().join(format!("meshsim-exports-{}", std::process::id()));
    run(
        &out,
        &[
            "--fortio",
            "--istio-csv",
            "--istio-metrics",
            "--percentile-ci",
        ],
    );
    let summary = read_json(&out.join("summary.json"));
    let users = &summary["loads"]["users"];

    // fortio: its field names, in its Go structs' order, and numbers that
    // agree with summary.json.
    let text = std::fs::read_to_string(out.join("users.fortio.json")).unwrap();
    let order = [
        "RunType",
        "Labels",
        "StartTime",
        "RequestedQPS",
        "RequestedDuration",
        "ActualQPS",
        "ActualDuration",
        "NumThreads",
        "Version",
        "DurationHistogram",
        "ErrorsDurationHistogram",
        "Exactly",
        "Jitter",
        "Uniform",
        "NoCatchUp",
        "RunID",
        "AccessLoggerInfo",
        "ID",
        "RetCodes",
        "IPCountMap",
        "URL",
        "NumConnections",
        "SocketCount",
        "AbortOn",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| {
            text.find(&format!("\n  \"{k}\":"))
                .unwrap_or_else(|| panic!("{k}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "fortio's field order");
    let f: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(f["RunType"], "HTTP");
    assert_eq!(f["RequestedQPS"], "30");
    assert_eq!(f["RequestedDuration"], "50s");
    assert_eq!(f["StartTime"], "2026-12-01T00:00:10Z");
    assert_eq!(f["ActualDuration"], 150_000_000_000u64);
    let h = &f["DurationHistogram"];
    let count = h["Count"].as_u64().unwrap();
    assert_eq!(count, users["latency_ms"]["samples"].as_u64().unwrap());
    let data = h["Data"].as_array().unwrap();
    let in_buckets: u64 = data.iter().map(|b| b["Count"].as_u64().unwrap()).sum();
    assert_eq!(in_buckets, count);
    assert_eq!(data.last().unwrap()["Percent"], 100.0);
    assert_eq!(data[0]["Start"], h["Min"]);
    assert_eq!(data.last().unwrap()["End"], h["Max"]);
    let calls = users["completed"].as_u64().unwrap() + users["failed"].as_u64().unwrap();
    let qps = f["ActualQPS"].as_f64().unwrap();
    assert!((qps * 150.0 - calls as f64).abs() < 1e-6, "{qps}");
    assert_eq!(f["RetCodes"]["200"], users["codes"]["200"]);
    let p99 = h["Percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Percentile"] == 99.0)
        .unwrap();
    let p99_s = p99["Value"].as_f64().unwrap();
    assert!((p99_s * 1e3 - users["latency_ms"]["p99"].as_f64().unwrap()).abs() < 1e-3);

    // istio.csv: per series the last cumulative count is metrics.om's last sample.
    let csv = std::fs::read_to_string(out.join("istio.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let total_col = header.iter().position(|h| *h == "requests_total").unwrap();
    let step_col = header.iter().position(|h| *h == "requests").unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let steps = rows.iter().filter(|r| r[0] == "15").count();
    assert!(steps > 0 && rows.len().is_multiple_of(steps));
    let per_series = rows.len() / steps; // 60 s = 4 steps of 15 s
    assert_eq!(per_series, 4);
    let om = std::fs::read_to_string(out.join("metrics.om")).unwrap();
    let om_last: Vec<u64> = om
        .lines()
        .filter(|l| l.starts_with("istio_requests_total{"))
        .collect::<Vec<_>>()
        .chunks(per_series + 1)
        .map(|c| {
            c.last()
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let csv_last: Vec<u64> = rows
        .chunks(per_series)
        .map(|c| c.last().unwrap()[total_col].parse().unwrap())
        .collect();
    assert_eq!(csv_last, om_last);
    let step_sum: u64 = rows
        .iter()
        .map(|r| r[step_col].parse::<u64>().unwrap())
        .sum();
    assert_eq!(step_sum, csv_last.iter().sum::<u64>());

    // Every percentile interval contains its percentile.
    let mut checked = 0;
    for section in ["loads", "workloads"] {
        for (_, v) in summary[section].as_object().unwrap() {
            let lat = &v["latency_ms"];
            for k in ["p50", "p90", "p99", "p999"] {
                if let Some(ci) = lat.get(format!("{k}_ci95")).and_then(Value::as_array) {
                    let p = lat[k].as_f64().unwrap();
                    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
                    assert!(lo <= p && p <= hi && lo >= 0.0, "{k}: {p} [{lo}, {hi}]");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 20, "{checked}");

    // Without the flags: none of it, and summary.json has no interval keys.
    run(&out, &[]);
    let plain = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(!plain.contains("_ci95\": [") || !plain.contains("p99_ci95"));
    assert!(!out.join("users.fortio.json").exists() && !out.join("istio.csv").exists());
    let _ = std::fs::remove_dir_all(&out);
}
