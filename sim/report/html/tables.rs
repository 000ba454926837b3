//! The summary tables of the HTML report, read from `summary.json`'s value
//! ([`crate::report::summary::value`]) so the page shows the very numbers the
//! file holds, printed as the file prints them. Every row carries
//! `data-kind`/`data-key` and every number cell `data-field` (its key in
//! summary.json), so tests — and readers with devtools — can find them.
//! Long tables show their busiest [`SHOWN`] rows and fold the rest into a
//! `<details>` element.

use crate::batch::MeshMerged;
use crate::report::markup::esc;
use crate::scenario::Scenario;
use serde_json::Value;
use std::fmt::Write;

/// Rows shown before the rest of a table folds away.
pub const SHOWN: usize = 40;

/// A JSON number as summary.json prints it; `–` when absent.
fn num(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => esc(s),
        _ => "–".into(),
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// `{"200": 5, "0": 1}` → `no-response:1 200:5`-style text (numeric order).
fn codes(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return String::new();
    };
    let mut c: Vec<(u64, String)> = m
        .iter()
        .map(|(k, n)| (k.parse().unwrap_or(u64::MAX), num(Some(n))))
        .collect();
    c.sort();
    c.iter()
        .map(|(k, n)| {
            if *k == 0 {
                format!("no-response:{n}")
            } else {
                format!("{k}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `{"-": 5, "UO": 2}` → `-:5 UO:2`.
fn flags(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return String::new();
    };
    m.iter()
        .map(|(k, n)| format!("{}:{}", esc(k), num(Some(n))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A fraction as a percentage with one decimal.
fn pct(v: Option<&Value>) -> String {
    match v.and_then(Value::as_f64) {
        Some(x) => format!("{:.1} %", x * 100.0),
        None => "–".into(),
    }
}

/// One column: heading, tooltip, and how to print a row's value.
struct Col<'a> {
    head: &'a str,
    tip: &'a str,
    /// Numeric (right-aligned) cell with this `data-field`.
    field: Option<&'a str>,
    cell: Box<dyn Fn(&Value) -> String + 'a>,
}

fn col<'a>(head: &'a str, tip: &'a str, path: &'a [&'a str]) -> Col<'a> {
    Col {
        head,
        tip,
        field: path.last().copied(),
        cell: Box::new(move |v| num(get(v, path))),
    }
}

fn text_col<'a>(head: &'a str, tip: &'a str, f: impl Fn(&Value) -> String + 'a) -> Col<'a> {
    Col {
        head,
        tip,
        field: None,
        cell: Box::new(f),
    }
}

/// Writes a table of `rows` (key, JSON object, weight for folding).
fn table(
    out: &mut String,
    kind: &str,
    caption: &str,
    cols: &[Col],
    rows: &[(String, &Value, u64)],
) {
    let head = |out: &mut String| {
        let _ = write!(
            out,
            "<table class=\"data\" data-table=\"{kind}\">\n<thead><tr><th>name</th>"
        );
        for c in cols {
            let cls = if c.field.is_some() {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<th{cls} title=\"{}\">{}</th>",
                esc(c.tip),
                esc(c.head)
            );
        }
        let _ = writeln!(out, "</tr></thead>\n<tbody>");
    };
    let row = |out: &mut String, key: &str, v: &Value| {
        let _ = write!(
            out,
            "<tr data-kind=\"{kind}\" data-key=\"{0}\"><th scope=\"row\">{0}</th>",
            esc(key)
        );
        for c in cols {
            match c.field {
                Some(f) => {
                    let _ = write!(
                        out,
                        "<td class=\"n\" data-field=\"{f}\">{}</td>",
                        (c.cell)(v)
                    );
                }
                None => {
                    let _ = write!(out, "<td>{}</td>", (c.cell)(v));
                }
            }
        }
        let _ = writeln!(out, "</tr>");
    };
    let _ = writeln!(out, "<h3>{}</h3>", esc(caption));
    // The busiest SHOWN in scenario order; the rest folded (same order).
    let weights: Vec<f64> = rows.iter().map(|r| r.2 as f64).collect();
    let (keep, rest) = if rows.len() > SHOWN {
        crate::report::chart::style::top_n(&weights, SHOWN)
    } else {
        ((0..rows.len()).collect(), Vec::new())
    };
    head(out);
    for &i in &keep {
        row(out, &rows[i].0, rows[i].1);
    }
    let _ = writeln!(out, "</tbody></table>");
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} more (fewer requests)</summary>",
            rest.len()
        );
        head(out);
        for &i in &rest {
            row(out, &rows[i].0, rows[i].1);
        }
        let _ = writeln!(out, "</tbody></table>\n</details>");
    }
}

/// Columns every stream table shares: counts, latency, codes, flags.
fn stream_cols<'a>() -> Vec<Col<'a>> {
    vec![
        col(
            "requests",
            "issued (loads) or received inside the measurement window",
            &["requests"],
        ),
        col("ok", "completed without a 5xx", &["completed"]),
        col("failed", "5xx or no response", &["failed"]),
        col(
            "req/s",
            "completed per simulated second",
            &["throughput_rps"],
        ),
        col("mean ms", "mean latency", &["latency_ms", "mean"]),
        text_col(
            "95 % CI",
            "95 % confidence interval of the mean",
            |v| match get(v, &["latency_ms", "mean_ci95"]) {
                Some(Value::Array(a)) if a.len() == 2 => {
                    format!("[{}, {}]", num(a.first()), num(a.get(1)))
                }
                _ => "–".into(),
            },
        ),
        col("p50", "median latency (ms)", &["latency_ms", "p50"]),
        col("p90", "ms", &["latency_ms", "p90"]),
        col("p99", "ms", &["latency_ms", "p99"]),
        col("p99.9", "ms", &["latency_ms", "p999"]),
        col("max", "ms", &["latency_ms", "max"]),
        text_col(
            "codes",
            "HTTP status: count (no-response: none came back)",
            |v| codes(v.get("codes")),
        ),
        text_col("flags", "Envoy response flags: count (- = none)", |v| {
            flags(v.get("flags"))
        }),
    ]
}

fn requests(v: &Value) -> u64 {
    v.get("requests").and_then(Value::as_u64).unwrap_or(0)
}

/// Loads, Services and workloads.
pub fn streams(out: &mut String, spec: &Scenario, sum: &Value) {
    let loads: Vec<(String, &Value, u64)> = spec
        .loads
        .iter()
        .filter_map(|l| get(sum, &["loads", &l.name]).map(|v| (l.name.clone(), v, requests(v))))
        .collect();
    if !loads.is_empty() {
        let mut cols = vec![text_col("target", "Service:port the load sends to", |v| {
            num(v.get("target"))
        })];
        cols.extend(stream_cols());
        cols.insert(
            4,
            col("in flight", "not finished at the end", &["in_flight"]),
        );
        table(out, "load", "Load generators, end to end", &cols, &loads);
    }
    let services: Vec<(String, &Value, u64)> = spec
        .services
        .iter()
        .filter_map(|s| {
            get(sum, &["services", &s.name, &s.namespace]).map(|v| (s.key(), v, requests(v)))
        })
        .collect();
    if !services.is_empty() {
        table(
            out,
            "service",
            "Services, server side (arrival at pod → response)",
            &stream_cols(),
            &services,
        );
    }
    let workloads: Vec<(String, &Value, u64)> = spec
        .deployments
        .iter()
        .filter_map(|d| get(sum, &["workloads", &d.key()]).map(|v| (d.key(), v, requests(v))))
        .collect();
    if !workloads.is_empty() {
        let mut cols = vec![
            col("pods", "replicas", &["pods"]),
            text_col("util", "busy workers / all workers", |v| {
                pct(v.get("utilisation"))
            }),
            col("queue", "time-average waiting requests", &["queue_mean"]),
            col("q-max", "longest queue seen", &["queue_max"]),
            col(
                "timeouts",
                "call tries abandoned at the caller's timeout",
                &["call_timeouts"],
            ),
        ];
        cols.extend(stream_cols());
        table(out, "workload", "Workloads", &cols, &workloads);
    }
}

/// Routes, destinations and the real split of each weighted route next to
/// its configured weights.
pub fn mesh(out: &mut String, sum: &Value, mesh: &MeshMerged) {
    let section = |key: &str| -> Vec<(String, &Value, u64)> {
        match sum.get(key) {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v, requests(v))).collect(),
            _ => Vec::new(),
        }
    };
    let routes = section("routes");
    if !routes.is_empty() {
        let mut cols = vec![text_col("share", "of its VirtualService's requests", |v| {
            pct(v.get("share"))
        })];
        cols.extend(stream_cols());
        cols.push(col(
            "attempts",
            "upstream attempts (tries and retries)",
            &["attempts"],
        ));
        cols.push(col(
            "per request",
            "attempts per request",
            &["retry_amplification"],
        ));
        cols.push(col(
            "abandoned",
            "attempts a timeout abandoned while the server kept working",
            &["abandoned_attempts"],
        ));
        table(
            out,
            "route",
            "Routes (Envoy, ns/VirtualService/route)",
            &cols,
            &routes,
        );
    }
    let dests = section("destinations");
    if !dests.is_empty() {
        let mut cols = vec![text_col("share", "of its Service's requests", |v| {
            pct(v.get("share"))
        })];
        cols.extend(stream_cols());
        cols.push(text_col(
            "Envoy counters",
            "cluster statistics under Envoy's names",
            |v| match v.get("envoy") {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, n)| format!("{} {}", esc(k), num(Some(n))))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            },
        ));
        table(
            out,
            "destination",
            "Destinations (Envoy clusters, host/subset)",
            &cols,
            &dests,
        );
    }
    if !mesh.splits.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Weighted splits: real vs configured</h3>\n<table class=\"data\" data-table=\"split\">\n<thead><tr><th>route</th><th>destination</th><th class=\"n\">real</th><th class=\"n\">configured</th><th class=\"n\">requests</th></tr></thead>\n<tbody>"
        );
        for sp in &mesh.splits {
            let total: u64 = mesh
                .splits
                .iter()
                .filter(|x| x.route == sp.route)
                .map(|x| x.requests)
                .sum();
            let real = 100.0 * sp.requests as f64 / total.max(1) as f64;
            let conf = 100.0 * sp.weight as f64 / sp.total_weight.max(1) as f64;
            let _ = writeln!(
                out,
                "<tr data-kind=\"split\" data-key=\"{} {}\"><td>{0}</td><td>{1}</td><td class=\"n\">{real:.2} %</td><td class=\"n\">{conf:.2} %</td><td class=\"n\" data-field=\"requests\">{}</td></tr>",
                esc(&sp.route),
                esc(&sp.destination),
                sp.requests
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }
}

/// Every non-empty response flag, wherever it was counted.
pub fn response_flags(out: &mut String, spec: &Scenario, sum: &Value) {
    let mut rows: Vec<(String, String, String, String, u64)> = Vec::new();
    let mut add = |level: &str, name: String, v: &Value| {
        let total = requests(v);
        if let Some(Value::Object(m)) = v.get("flags") {
            for (f, n) in m.iter().filter(|(f, _)| f.as_str() != "-") {
                let n = n.as_u64().unwrap_or(0);
                rows.push((
                    level.into(),
                    name.clone(),
                    f.clone(),
                    format!("{:.2} %", 100.0 * n as f64 / total.max(1) as f64),
                    n,
                ));
            }
        }
    };
    for l in &spec.loads {
        if let Some(v) = get(sum, &["loads", &l.name]) {
            add("load", l.name.clone(), v);
        }
    }
    for s in &spec.services {
        if let Some(v) = get(sum, &["services", &s.name, &s.namespace]) {
            add("service", s.key(), v);
        }
    }
    for key in ["routes", "destinations"] {
        if let Some(Value::Object(m)) = sum.get(key) {
            for (k, v) in m {
                add(&key[..key.len() - 1], k.clone(), v);
            }
        }
    }
    let _ = writeln!(out, "<h3>Response flags</h3>");
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">No Envoy response flags: every request that crossed a proxy got an upstream answer.</p>"
        );
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"data\" data-table=\"flags\">\n<thead><tr><th>where</th><th>name</th><th>flag</th><th class=\"n\">count</th><th class=\"n\">of its requests</th></tr></thead>\n<tbody>"
    );
    for (level, name, f, share, n) in &rows {
        let _ = writeln!(
            out,
            "<tr data-kind=\"flag\" data-key=\"{level} {0} {1}\"><td>{level}</td><td>{0}</td><td><code>{1}</code></td><td class=\"n\" data-field=\"count\">{n}</td><td class=\"n\">{share}</td></tr>",
            esc(name),
            esc(f)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
}
