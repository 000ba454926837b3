//! `summary.json`: the machine-readable contract.
//!
//! Keys are sorted (serde_json's map is a BTreeMap), floats are rounded to 3
//! decimals, and nothing depends on wall clock, host or thread count, so the
//! same scenario and seed give a byte-identical file.

use super::percentiles::Percentile;
use crate::batch::{Merged, Stream};
use crate::metrics::Capacity;
use crate::scenario::Scenario;
use serde_json::{Map, Value, json};

pub use super::round::r3;

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn stream_json(
    s: &Stream,
    window_secs: f64,
    replications: u32,
    pct: &[Percentile],
) -> Map<String, Value> {
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
        for p in pct {
            lat.insert(p.key.clone(), r3(ms(h.value_at_quantile(p.q))));
        }
        lat.insert("max".into(), r3(ms(h.max())));
        lat.insert("samples".into(), json!(rec.count));
    }
    m.insert("latency_ms".into(), Value::Object(lat));
    if !rec.flags.is_empty() {
        m.insert("flags".into(), flags_json(rec));
    }
    m
}

/// Envoy response flags: `{"NR": n, "-": n}` (`-` = none, as in access logs).
fn flags_json(rec: &crate::metrics::Recorder) -> Value {
    let mut f = Map::new();
    for (flags, n) in &rec.flags {
        f.insert(flags.to_string(), json!(n));
    }
    Value::Object(f)
}

/// `routes.<ns>/<vs>/<route>` and `destinations.<fqdn>/<subset>` with `share`:
/// of the traffic of the route's VirtualService (`ns/vs`), and of the
/// destination's service (`fqdn`).
fn mesh_json(
    m: &crate::batch::MeshMerged,
    window_secs: f64,
    replications: u32,
    pct: &[Percentile],
) -> (Value, Value) {
    // The part before the last `/`: `ns/vs` of a route, `fqdn` of a destination.
    let group = |k: &str| -> String { k.rsplit_once('/').map_or(k, |(g, _)| g).to_string() };
    let section =
        |items: &[(String, Stream)], extra: &dyn Fn(usize, &mut Map<String, Value>)| -> Value {
            let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
            for (k, s) in items {
                *totals.entry(group(k)).or_default() += s.pooled.requests;
            }
            let mut out = Map::new();
            // Routes and destinations nothing reached are left out (a mesh
            // compiles many: every Service's default route, the catch-alls).
            for (i, (k, s)) in items
                .iter()
                .enumerate()
                .filter(|(_, (_, s))| s.pooled.requests > 0)
            {
                let mut o = stream_json(s, window_secs, replications, pct);
                extra(i, &mut o);
                o.remove("in_flight");
                let t = totals.get(&group(k)).copied().unwrap_or(0);
                o.insert(
                    "share".into(),
                    r3(if t > 0 {
                        s.pooled.requests as f64 / t as f64
                    } else {
                        0.0
                    }),
                );
                out.insert(k.clone(), Value::Object(o));
            }
            Value::Object(out)
        };
    // Routes: upstream attempts (first tries and retries) and attempts a
    // timeout abandoned while the server kept working (wasted work).
    let route_extra = |i: usize, o: &mut Map<String, Value>| {
        let attempts = m.route_attempts.get(i).copied().unwrap_or(0);
        let requests = m.routes[i].1.pooled.requests;
        o.insert("attempts".into(), json!(attempts));
        o.insert(
            "retry_amplification".into(),
            r3(if requests > 0 {
                attempts as f64 / requests as f64
            } else {
                0.0
            }),
        );
        o.insert(
            "abandoned_attempts".into(),
            json!(m.route_abandoned.get(i).copied().unwrap_or(0)),
        );
    };
    // Destinations: Envoy's cluster counters under their own names (every
    // client proxy's summed, as a Prometheus sum over pods would).
    let dest_extra = |i: usize, o: &mut Map<String, Value>| {
        let mut envoy = Map::new();
        if let Some(c) = m.cluster_stats.get(i) {
            for (name, v) in c.nonzero() {
                envoy.insert(name.into(), json!(v));
            }
        }
        if let Some(od) = m.outlier_stats.get(i) {
            for (name, v) in od.named().into_iter().filter(|(_, v)| *v > 0) {
                envoy.insert(format!("outlier_detection.{name}"), json!(v));
            }
        }
        o.insert("envoy".into(), Value::Object(envoy));
    };
    (
        section(&m.routes, &route_extra),
        section(&m.destinations, &dest_extra),
    )
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

/// Per-pod traffic (node, share of its workload's requests) and load entry
/// points: only for scenarios with a `Cluster` or an Ingress, so other
/// summaries keep their shape.
fn network_json(
    spec: &Scenario,
    merged: &Merged,
    workloads: &mut Map<String, Value>,
    loads: &mut Map<String, Value>,
) {
    let net = &spec.network;
    let mut pod = 0usize;
    for (di, d) in spec.deployments.iter().enumerate() {
        let mut pods = Map::new();
        let counts: Vec<u64> = (0..d.replicas as usize)
            .map(|r| merged.pod_requests.get(pod + r).copied().unwrap_or(0))
            .collect();
        let total: u64 = counts.iter().sum();
        for (r, n) in counts.iter().enumerate() {
            let node = net
                .placement
                .get(di)
                .and_then(|p| p.get(r))
                .and_then(|&n| net.cluster.nodes.get(n as usize))
                .map_or("<pending>".to_string(), |n| n.name.clone());
            pods.insert(
                format!("{}-{r}", d.name),
                json!({
                    "node": node,
                    "requests": n,
                    "share": r3(if total > 0 { *n as f64 / total as f64 } else { 0.0 }),
                }),
            );
        }
        pod += d.replicas as usize;
        if let Some(Value::Object(m)) = workloads.get_mut(&d.key()) {
            m.insert("pod_traffic".into(), Value::Object(pods));
        }
    }
    for l in &spec.loads {
        let mut e = Map::new();
        e.insert("kind".into(), json!(format!("{:?}", l.entry.kind)));
        if let Some(n) = l.entry.node.and_then(|n| net.cluster.nodes.get(n as usize)) {
            e.insert("node".into(), json!(n.name));
        }
        if l.entry.pending {
            e.insert("external_ip".into(), json!("<pending>"));
        }
        if let Some(h) = &l.entry.ingress {
            e.insert("ingress".into(), json!(h.matched));
            e.insert("forwarded_path".into(), json!(h.forwarded_path));
            e.insert(
                "backend".into(),
                match h.backend {
                    Some(t) => {
                        let s = &spec.services[t.service];
                        json!(format!("{}:{}", s.key(), s.ports[t.port].port))
                    }
                    None => json!(format!("controller answers {}", h.status)),
                },
            );
        }
        if let Some(Value::Object(m)) = loads.get_mut(&l.name) {
            m.insert("entry".into(), Value::Object(e));
        }
    }
}

/// Renders the summary as pretty JSON with a trailing newline.
pub fn render(spec: &Scenario, merged: &Merged) -> String {
    render_with(spec, merged, &super::percentiles::default_json())
}

/// [`render`] listing the latency percentiles `pct` (`--percentiles`).
pub fn render_with(spec: &Scenario, merged: &Merged, pct: &[Percentile]) -> String {
    let mut s = serde_json::to_string_pretty(&value_with(spec, merged, pct))
        .expect("JSON values serialise");
    s.push('\n');
    s
}

/// The summary as a JSON value (what [`render`] prints; the HTML report
/// reads its numbers from here, so the two cannot disagree).
pub fn value(spec: &Scenario, merged: &Merged) -> Value {
    value_with(spec, merged, &super::percentiles::default_json())
}

/// [`value`] listing the latency percentiles `pct`.
pub fn value_with(spec: &Scenario, merged: &Merged, pct: &[Percentile]) -> Value {
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
    if !merged.partial.is_empty() {
        // Only when the run-time guard cut the run short (exit status 3):
        // what grew, and when. Complete runs' reports are unchanged.
        top.insert("partial".into(), json!(merged.partial));
    }
    let overload = crate::report::overload::notes(spec, merged);
    if !overload.is_empty() {
        // Only when a queue grew or requests piled up unfinished: steady
        // runs' reports are unchanged.
        top.insert("overload".into(), json!(overload));
    }
    top.insert("digest".into(), json!(format!("{:016x}", merged.digest)));
    let mut loads = Map::new();
    for (l, s) in spec.loads.iter().zip(&merged.loads) {
        let mut m = stream_json(s, merged.window_secs, merged.replications, pct);
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
    // services.<name>.<namespace>: nested, so `jq .services.reviews.prod` works.
    let mut services = Map::new();
    for (sv, s) in spec.services.iter().zip(&merged.services) {
        let by_ns = services
            .entry(sv.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = by_ns {
            m.insert(
                sv.namespace.clone(),
                Value::Object(stream_json(s, merged.window_secs, merged.replications, pct)),
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
        let mut m = stream_json(s, merged.window_secs, merged.replications, pct);
        capacity_json(&mut m, c);
        workloads.insert(d.key(), Value::Object(m));
    }
    // Only for Workloads with endpoint rules: other summaries keep their shape.
    for (d, eps) in spec.deployments.iter().zip(&merged.endpoints) {
        if eps.is_empty() {
            continue;
        }
        let mut by_rule = Map::new();
        let names = std::iter::once(crate::scenario::spec::endpoint::DEFAULT_ENDPOINT)
            .chain(d.behaviour.endpoints.iter().map(|e| e.name.as_str()));
        for (name, s) in names.zip(eps) {
            by_rule.insert(
                name.to_string(),
                Value::Object(stream_json(s, merged.window_secs, merged.replications, pct)),
            );
        }
        if let Some(Value::Object(m)) = workloads.get_mut(&d.key()) {
            m.insert("endpoints".into(), Value::Object(by_rule));
        }
    }
    if spec.network.explicit || spec.network.ingress_controller.is_some() {
        network_json(spec, merged, &mut workloads, &mut loads);
    }
    if let Some(m) = &merged.mesh {
        for (l, s) in spec.loads.iter().zip(&merged.loads) {
            // Meshed runs always say which flags (or none, `-`) their loads saw.
            if s.pooled.flags.is_empty()
                && let Some(Value::Object(lm)) = loads.get_mut(&l.name)
            {
                lm.insert("flags".into(), json!({}));
            }
        }
        // Services too, as their callers' proxies saw them (world/service_flags.rs).
        for (sv, s) in spec.services.iter().zip(&merged.services) {
            if let Some(Value::Object(sm)) = top
                .get_mut("services")
                .and_then(|x| x.get_mut(&sv.name))
                .and_then(|x| x.get_mut(&sv.namespace))
                && s.pooled.flags.is_empty()
            {
                sm.insert("flags".into(), json!({}));
            }
        }
        let (routes, dests) = mesh_json(m, merged.window_secs, merged.replications, pct);
        top.insert("routes".into(), routes);
        top.insert("destinations".into(), dests);
    }
    if let Some(p) = crate::report::propagation::of_run(spec, merged) {
        // Only when failures, retries, breakers or ejections were recorded:
        // other summaries keep their shape.
        top.insert("propagation".into(), crate::report::propagation::json(&p));
    }
    if let Some(p) = crate::report::pods::json(merged) {
        // Only when pods changed during the run (Chaos Mesh experiments).
        top.insert("pods".into(), p);
    }
    if let Some(a) = crate::report::autoscale::json(spec, merged) {
        // Only with a HorizontalPodAutoscaler.
        top.insert("autoscaling".into(), a);
    }
    top.insert("loads".into(), Value::Object(loads));
    top.insert("workloads".into(), Value::Object(workloads));
    top.insert("warnings".into(), json!(spec.warnings));
    top.insert("not_simulated".into(), json!(spec.not_simulated));
    Value::Object(top)
}
