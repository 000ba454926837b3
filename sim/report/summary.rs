//! `summary.json`: the machine-readable contract.
//!
//! Keys are sorted (serde_json's map is a BTreeMap), floats are rounded to 3
//! decimals, and nothing depends on wall clock, host or thread count, so the
//! same scenario and seed give a byte-identical file.

use crate::batch::{Merged, Stream};
use crate::metrics::Capacity;
use crate::scenario::Scenario;
use serde_json::{Map, Value, json};

/// Rounds to 3 decimals for output.
pub fn r3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn stream_json(s: &Stream, window_secs: f64, replications: u32) -> Map<String, Value> {
    let rec = &s.pooled;
    let mut m = Map::new();
    m.insert("requests".into(), json!(rec.requests));
    m.insert("completed".into(), json!(rec.completed));
    m.insert("failed".into(), json!(rec.failed));
    m.insert("in_flight".into(), json!(s.in_flight));
    let mut codes = Map::new();
    for (c, n) in &rec.codes {
        codes.insert(c.to_string(), json!(n));
    }
    m.insert("codes".into(), Value::Object(codes));
    let span = window_secs * replications.max(1) as f64;
    m.insert(
        "throughput_rps".into(),
        r3(if span > 0.0 {
            rec.completed as f64 / span
        } else {
            0.0
        }),
    );
    let mut lat = Map::new();
    if rec.count > 0 {
        let h = &rec.hist;
        lat.insert(
            "mean".into(),
            r3(rec.sum_ns as f64 / rec.count as f64 / 1e6),
        );
        lat.insert(
            "mean_ci95".into(),
            match s.mean_ci(0.95) {
                Some((lo, hi)) => json!([r3(lo * 1e3), r3(hi * 1e3)]),
                None => Value::Null,
            },
        );
        for (k, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
            lat.insert(k.into(), r3(ms(h.value_at_quantile(q))));
        }
        lat.insert("max".into(), r3(ms(h.max())));
        lat.insert("samples".into(), json!(rec.count));
    }
    m.insert("latency_ms".into(), Value::Object(lat));
    m
}

fn capacity_json(m: &mut Map<String, Value>, c: &Capacity) {
    m.insert("pods".into(), json!(c.pods));
    m.insert("workers_per_pod".into(), json!(c.workers));
    m.insert("utilisation".into(), r3(c.utilisation()));
    m.insert("queue_mean".into(), r3(c.queue_mean()));
    m.insert("queue_max".into(), json!(c.queue_max));
    m.insert("queue_full_rejections".into(), json!(c.queue_full));
    m.insert("call_timeouts".into(), json!(c.call_timeouts));
}

/// Renders the summary as pretty JSON with a trailing newline.
pub fn render(spec: &Scenario, merged: &Merged) -> String {
    let mut top = Map::new();
    top.insert("meshsim_version".into(), json!(env!("CARGO_PKG_VERSION")));
    top.insert(
        "models".into(),
        json!("Kubernetes (kube-proxy iptables) / Istio 1.28"),
    );
    top.insert("scenario".into(), json!(spec.name));
    top.insert("scenario_sha256".into(), json!(spec.sha256));
    top.insert("seed".into(), json!(spec.run.seed));
    top.insert("replications".into(), json!(merged.replications));
    top.insert("duration_s".into(), r3(spec.run.duration.as_secs_f64()));
    top.insert("warmup_s".into(), r3(spec.run.warmup.as_secs_f64()));
    top.insert("events".into(), json!(merged.events));
    top.insert("digest".into(), json!(format!("{:016x}", merged.digest)));
    let mut loads = Map::new();
    for (l, s) in spec.loads.iter().zip(&merged.loads) {
        let mut m = stream_json(s, merged.window_secs, merged.replications);
        let svc = &spec.services[l.target.service];
        m.insert(
            "target".into(),
            json!(format!(
                "{}.{}:{}",
                svc.name, svc.namespace, svc.ports[l.target.port].port
            )),
        );
        loads.insert(l.name.clone(), Value::Object(m));
    }
    top.insert("loads".into(), Value::Object(loads));
    // services.<name>.<namespace>: nested, so `jq .services.reviews.prod` works.
    let mut services = Map::new();
    for (sv, s) in spec.services.iter().zip(&merged.services) {
        let by_ns = services
            .entry(sv.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = by_ns {
            m.insert(
                sv.namespace.clone(),
                Value::Object(stream_json(s, merged.window_secs, merged.replications)),
            );
        }
    }
    top.insert("services".into(), Value::Object(services));
    let mut workloads = Map::new();
    for ((d, s), c) in spec
        .deployments
        .iter()
        .zip(&merged.workloads)
        .zip(&merged.capacity)
    {
        let mut m = stream_json(s, merged.window_secs, merged.replications);
        capacity_json(&mut m, c);
        workloads.insert(d.key(), Value::Object(m));
    }
    top.insert("workloads".into(), Value::Object(workloads));
    top.insert("warnings".into(), json!(spec.warnings));
    top.insert("not_simulated".into(), json!(spec.not_simulated));
    let mut s = serde_json::to_string_pretty(&Value::Object(top)).expect("JSON values serialise");
    s.push('\n');
    s
}
