//! `Load` (meshsim.dev/v1alpha1): a client population driving the mesh: its
//! target URL, open- or closed-loop pattern, start, stop and request count,
//! and where its traffic enters the cluster (ClusterIP, a node port, the cloud
//! load balancer, or an Ingress host through ingress-nginx).

use super::dist::dist;
use super::script::headers;
use crate::cluster::ingress::IngressSpec;
use crate::cluster::node::{Cloud, ClusterNet};
use crate::engine::SimDuration;
use crate::scenario::decode::{Cx, V};
use crate::scenario::diag::{Diagnostics, Origin};
use crate::scenario::kube::ingress::ingress_load;
use crate::scenario::object::Object;
use crate::scenario::raw::Loc;
use crate::scenario::spec::*;

/// A place in the YAML: location and path.
pub type At = (Loc, String);

/// A decoded `Load`, its target not resolved yet.
pub struct RawLoad {
    pub origin: Origin,
    /// The `open.rate`, or the `closed` mapping, for errors about the load's size.
    pub pattern_at: (Loc, String),
    pub host: String,
    pub port: Option<u16>,
    pub loc: Loc,
    pub path_in_yaml: String,
    pub load: Load,
    pub entry: RawEntry,
}

/// Load fields of the entry model: `entry`, `node`.
pub const LOAD_FIELDS: &[&str] = &["entry", "node"];

/// A load's entry before the cluster is known.
#[derive(Clone, Debug, Default)]
pub struct RawEntry {
    pub kind: EntryKind,
    pub node: Option<(String, Loc, String)>,
    pub loc: Loc,
}

pub fn load_entry(cx: &mut Cx, spec: &V) -> RawEntry {
    let mut e = RawEntry {
        loc: spec.loc(),
        ..RawEntry::default()
    };
    if let Some(k) = spec.get("entry") {
        e.kind = match cx.str(&k) {
            Some("ClusterIP") => EntryKind::ClusterIP,
            Some("NodePort") => EntryKind::NodePort,
            Some("LoadBalancer") => EntryKind::LoadBalancer,
            Some(other) => {
                cx.error(
                    &k,
                    format!("{other:?}, must be ClusterIP, NodePort or LoadBalancer"),
                );
                EntryKind::ClusterIP
            }
            None => EntryKind::ClusterIP,
        };
    }
    if let Some(n) = spec.get("node")
        && let Some(s) = cx.str(&n)
    {
        e.node = Some((s.to_string(), n.loc(), n.path.clone()));
    }
    e
}

/// `http://host:port/path`, `https://host:port/path` (port 443 unless
/// given: the connection is TLS when that port is an HTTPS/TLS port to
/// Istio, and its SNI is the host — `world/tcp_proxy.rs`), `host:port/path`,
/// or `{host, port, path}`.
fn target(cx: &mut Cx, v: &V) -> Option<(String, Option<u16>, String)> {
    if let Some(s) = v.as_str() {
        let https = s.starts_with("https://");
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .unwrap_or(s);
        if rest.contains("://") {
            cx.error(
                v,
                format!("{s:?}: only http:// and https:// targets are simulated"),
            );
            return None;
        }
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) if p > 0 => (h.to_string(), Some(p)),
                _ => {
                    cx.error(v, format!("{s:?}: port {p:?} is not a number in 1..=65535"));
                    return None;
                }
            },
            None => (hostport.to_string(), https.then_some(443)),
        };
        if host.is_empty() {
            cx.error(v, format!("{s:?}: missing host"));
            return None;
        }
        return Some((host, port, path));
    }
    if !v.is_map() {
        cx.error(
            v,
            "expected a URL (http://host:port/path) or a mapping with host, port, path",
        );
        return None;
    }
    cx.known_fields(v, &["host", "port", "path"]);
    let host = cx
        .req(v, "host")
        .and_then(|h| cx.str(&h))
        .map(str::to_string)?;
    let port = match v.get("port") {
        Some(p) => Some(cx.port(&p)?),
        None => None,
    };
    let path = v
        .get("path")
        .and_then(|p| cx.str(&p))
        .unwrap_or("/")
        .to_string();
    Some((host, port, path))
}

pub fn decode(o: &Object, cx: &mut Cx) -> Option<RawLoad> {
    cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
    let spec = cx.req(&o.node, "spec")?;
    cx.known_fields(
        &spec,
        &[
            "target",
            "method",
            "headers",
            "host",
            "requests",
            "open",
            "closed",
            "start",
            "stop",
            "iterations",
            "sidecar",
            LOAD_FIELDS[0],
            LOAD_FIELDS[1],
        ],
    );
    let entry = load_entry(cx, &spec);
    // Keep going without a target, so the rest of the spec is checked too.
    let https = spec
        .get("target")
        .and_then(|t| t.as_str().map(|s| s.starts_with("https://")))
        .unwrap_or(false);
    let tgt = cx
        .req(&spec, "target")
        .and_then(|t| target(cx, &t).map(|(h, p, path)| (h, p, path, t.loc(), t.path.clone())));
    let method = spec
        .get("method")
        .and_then(|m| cx.str(&m))
        .unwrap_or("GET")
        .to_string();
    let headers = headers(cx, &spec);
    let sidecar = spec
        .get("sidecar")
        .and_then(|v| cx.bool(&v))
        .unwrap_or(false);
    let pattern = match (spec.get("open"), spec.get("closed")) {
        (Some(op), None) => {
            cx.known_fields(&op, &["rate", "arrival", "connections"]);
            let rate = cx.req(&op, "rate").and_then(|r| cx.positive(&r));
            let arrival = match op.get("arrival") {
                None => Some(Arrival::Poisson),
                Some(a) => cx.one_of(
                    &a,
                    &[
                        ("poisson", Arrival::Poisson),
                        ("constant", Arrival::Constant),
                    ],
                ),
            };
            let connections = op
                .get("connections")
                .and_then(|c| cx.int_in(&c, 1, 1_000_000))
                .map(|c| c as u32);
            match (rate, arrival) {
                (Some(rate), Some(arrival)) => Some(LoadPattern::Open {
                    arrival,
                    rate,
                    connections,
                }),
                _ => None,
            }
        }
        (None, Some(cl)) => {
            cx.known_fields(
                &cl,
                &[
                    "connections",
                    "qps",
                    "thinkTime",
                    "uniform",
                    "jitter",
                    "noCatchUp",
                ],
            );
            let connections = cx
                .req(&cl, "connections")
                .and_then(|c| cx.int_in(&c, 1, 1_000_000))
                .map(|c| c as u32);
            let qps = cl.get("qps").and_then(|q| cx.positive(&q));
            let think = cl.get("thinkTime").and_then(|t| dist(cx, &t));
            let pacing = super::pacing::pacing_mode(cx, &cl, qps.is_some());
            connections.map(|connections| LoadPattern::Closed {
                connections,
                qps,
                think,
                pacing,
            })
        }
        (Some(_), Some(cl)) => {
            cx.error(&cl, "give either open or closed, not both");
            None
        }
        (None, None) => {
            cx.error_at(
                spec.loc(),
                "spec.open",
                "missing required field (an open-loop `open` or closed-loop `closed` pattern)",
            );
            None
        }
    };
    let start = spec
        .get("start")
        .and_then(|s| cx.duration(&s))
        .unwrap_or(SimDuration::ZERO);
    let stop = spec.get("stop").and_then(|s| cx.duration(&s));
    if let (Some(stop), Some(sv)) = (stop, spec.get("stop"))
        && stop <= start
    {
        cx.error(&sv, format!("{stop}, must be after start {start}"));
    }
    // A request count (`h2load -n`, `fortio load -n`, k6 `iterations`).
    let iterations = spec
        .get("iterations")
        .and_then(|n| cx.int_in(&n, 1, i64::MAX))
        .map(|n| n as u64);
    let (Some(pattern), Some((host, port, path, tloc, tpath))) = (pattern, tgt) else {
        return None;
    };
    // What curl sends as Host for the URL: its host, `:port` unless 80.
    let host_header = match spec.get("host") {
        Some(h) => cx.str(&h).unwrap_or_default().to_string(),
        None => match port {
            Some(443) if https => host.clone(),
            Some(p) if p != 80 => format!("{host}:{p}"),
            _ => host.clone(),
        },
    };
    let requests = request_mix(cx, &spec, &method, &path, &host_header, &headers);
    let pattern_at = spec
        .get("open")
        .and_then(|op| op.get("rate"))
        .or_else(|| spec.get("closed"))
        .map(|v| (v.loc(), v.path.clone()))
        .unwrap_or((spec.loc(), "spec".into()));
    Some(RawLoad {
        origin: o.origin.clone(),
        pattern_at,
        host,
        port,
        loc: tloc,
        path_in_yaml: tpath,
        entry,
        load: Load {
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            target: Target {
                service: 0,
                port: 0,
            },
            path,
            method,
            headers,
            host: host_header,
            requests,
            pattern,
            start,
            stop,
            iterations,
            entry: Entry::default(),
            sidecar,
        },
    })
}

/// `spec.requests: [{weight, method, path, host, headers}]`: each entry
/// overrides the load's defaults (headers: the entry's replace a default of
/// the same name). One entry or none ⇒ no mix (no draw per request).
fn request_mix(
    cx: &mut Cx,
    spec: &V,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(String, String)],
) -> Vec<RequestVariant> {
    let Some(list) = spec.get("requests") else {
        return Vec::new();
    };
    let Some(items) = cx.seq(&list) else {
        return Vec::new();
    };
    if items.is_empty() {
        cx.error(
            &list,
            "an empty request mix: give at least one entry or remove requests",
        );
    }
    let mut out = Vec::new();
    for it in &items {
        cx.known_fields(it, &["weight", "method", "path", "host", "headers"]);
        let weight = match it.get("weight") {
            Some(w) => cx.int_in(&w, 0, 1_000_000).unwrap_or(0) as u32,
            None => 1,
        };
        let s = |cx: &mut Cx, k: &str, d: &str| {
            it.get(k)
                .and_then(|v| cx.str(&v).map(str::to_string))
                .unwrap_or_else(|| d.to_string())
        };
        let mut hs: Vec<(String, String)> = headers.to_vec();
        for (k, v) in super::script::headers(cx, it) {
            hs.retain(|(n, _)| *n != k);
            hs.push((k, v));
        }
        out.push(RequestVariant {
            weight,
            method: s(cx, "method", method),
            path: s(cx, "path", path),
            host: s(cx, "host", host),
            headers: hs,
        });
    }
    if !items.is_empty() && out.iter().all(|v| v.weight == 0) {
        cx.error(&list, "every entry has weight 0: no request could be sent");
    }
    out
}

/// Resolves every load's target (a Service port, or the ingress controller's
/// for a host only an Ingress serves) and entry. Returns the loads and, for
/// each, where its pattern and target are written (for limit errors).
pub fn resolve_all(
    loads: Vec<RawLoad>,
    controller: Option<usize>,
    ingresses: &[IngressSpec],
    (services, external): (
        &[(Service, Origin, Loc)],
        &crate::scenario::resolve::ExternalHosts,
    ),
    cluster_net: &ClusterNet,
    explicit: bool,
    diags: &mut Diagnostics,
) -> (Vec<Load>, Vec<(Origin, At, At)>) {
    let resolve = |host: &str, port: Option<u16>, from_ns: &str| {
        crate::scenario::resolve::target(services, external, host, port, from_ns)
    };
    let mut out_loads = Vec::new();
    // Where each of `out_loads` is: (origin, pattern, target).
    let mut load_at: Vec<(Origin, At, At)> = Vec::new();
    for mut l in loads {
        let resolved = ingress_load(
            &mut l.load,
            &l.host,
            l.port,
            controller,
            ingresses,
            services,
            &resolve,
        )
        .unwrap_or_else(|| resolve(&l.host, l.port, &l.load.namespace));
        match resolved {
            Ok(t) => {
                let mut load = l.load;
                load.target = t;
                let mut cx = Cx::new(l.origin.clone(), diags);
                resolve_entry(
                    &mut cx,
                    cluster_net,
                    explicit,
                    &l.entry,
                    &mut load,
                    services,
                );
                out_loads.push(load);
                load_at.push((l.origin.clone(), l.pattern_at, (l.loc, l.path_in_yaml)));
            }
            Err(e) => Cx::new(l.origin.clone(), diags).error_at(l.loc, &l.path_in_yaml, e),
        }
    }
    (out_loads, load_at)
}

/// Resolves a load's entry (node names, Service type checks) once its target is known.
pub fn resolve_entry(
    cx: &mut Cx,
    net: &ClusterNet,
    explicit: bool,
    raw: &RawEntry,
    load: &mut Load,
    services: &[(Service, Origin, Loc)],
) {
    let svc = &services[load.target.service].0;
    let mut kind = raw.kind;
    if load.entry.ingress.is_some() && raw.kind == EntryKind::ClusterIP && raw.node.is_none() {
        // An Ingress host is reached from outside, through the controller's LB.
        kind = EntryKind::LoadBalancer;
    }
    load.entry.kind = kind;
    if let Some((name, loc, path)) = &raw.node {
        match net.node_ix(name) {
            Some(i) if explicit => load.entry.node = Some(i),
            _ => {
                let known: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
                let msg = if explicit {
                    format!(
                        "no node {name:?} in the Cluster (nodes: {})",
                        known.join(", ")
                    )
                } else {
                    format!("node {name:?}: nodes need a meshsim Cluster object")
                };
                cx.error_at(*loc, path, msg);
            }
        }
    }
    let key = svc.key();
    match kind {
        EntryKind::ClusterIP => {}
        EntryKind::NodePort => {
            if svc.service_type == ServiceType::ClusterIP {
                cx.error_at(
                    raw.loc,
                    "spec.entry",
                    format!("Service {key} is type ClusterIP: it has no node port"),
                );
            }
            if raw.node.is_none() {
                cx.error_at(
                    raw.loc,
                    "spec.node",
                    "entry NodePort needs the node the client connects to",
                );
            }
        }
        EntryKind::LoadBalancer => {
            if svc.service_type != ServiceType::LoadBalancer {
                cx.error_at(
                    raw.loc,
                    "spec.entry",
                    format!("Service {key} is not type LoadBalancer: it has no external IP"),
                );
            } else if net.cloud == Cloud::None {
                load.entry.pending = true;
                cx.warn_at(
                    raw.loc,
                    "spec.entry",
                    format!(
                        "Cluster has cloud: none, so LoadBalancer Service {key} keeps EXTERNAL-IP <pending> and no traffic can enter through it: every request of this load fails to connect (use entry: NodePort with a node)"
                    ),
                );
            }
            if raw.node.is_some() {
                cx.error_at(
                    raw.loc,
                    "spec.node",
                    "the cloud load balancer chooses the node; remove node or use entry: NodePort",
                );
            }
        }
    }
}
