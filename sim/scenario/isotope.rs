//! isotope's `MockServiceGraph`, read as it is.
//!
//! [isotope](https://github.com/istio/tools/tree/master/isotope) (istio/tools)
//! describes a mock microservice graph in one kind-less YAML document
//! (`defaults:` + `services:`; `kind: MockServiceGraph` is allowed and ignored,
//! as isotope's parser ignores it). Its converter turns the graph into a
//! Deployment and a Service per node, all running one generic mock service that
//! reads the graph; people run topologies by handing the file to that
//! converter. meshsim does the converter's job in memory: each graph document
//! becomes the objects the converter generates (Deployment `name=<svc>`,
//! container port 8080; Service port 8080 named `http-web`) plus a `Workload`
//! that behaves as the mock service does, and those go through the same
//! decoding and validation as hand-written manifests. Every generated node
//! carries the location of the isotope line it came from, so any later error
//! points at the user's topology file.
//!
//! The mock service's behaviour, from istio/tools `isotope/service/pkg/srv`
//! (handler.go, executable.go, request.go) at 0f2e902f, which
//! `../shared/corpus/isotope/FORMAT.md` describes:
//! * per pod, a request counter: when `errorRate` = p > 0 the counter's
//!   N-th request (N = 10000 / ⌊p·10000⌋, integer division) answers 500 at once,
//!   without running the script, and the counter restarts (Workload
//!   `errors: {every: N, beforeScript: true}`); a rate with ⌊p·10000⌋ = 0 makes
//!   the real service divide by zero, so it is an error here;
//! * one goroutine per request (Go's HTTP server): no worker limit, so a sleep
//!   never queues (`workers` = meshsim's maximum); sleeps use no CPU;
//! * steps in order; a `call` is `GET http://<hostname>` (default
//!   `<service>:8080`), made with probability `probability`/100 (0 = always);
//!   any non-200 answer or connection error makes the node answer 500 (a
//!   concurrent group first waits for all its members): meshsim's default
//!   `onError: fail` with status 500; no timeouts, no retries;
//! * 200 with `responseSize` bytes otherwise. Sizes take no time (no bandwidth
//!   model): read, checked, and said once.
//!
//! Not mapped, and said once per graph: `cluster` (all clusters' services run
//! in one cluster; a `<svc>.global` hostname — Istio's old multicluster DNS —
//! reaches that service in its namespace, without cross-cluster latency),
//! `type: grpc` (the converter names the port `http-web` either way, so Istio
//! treats it as HTTP), payload sizes.

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::raw::{Document, Loc, Node, Value};
use crate::engine::time::parse_duration;

mod emit;
#[cfg(test)]
mod tests;

/// The mock service's port (isotope `consts.ServicePort`) and its name.
pub const PORT: u16 = 8080;
pub const PORT_NAME: &str = "http-web";

/// Whether a document is an isotope graph: `kind: MockServiceGraph`, or no
/// `kind` and a top-level `services:`.
pub fn is_graph(root: &Node) -> bool {
    let Value::Map(m) = &root.value else {
        return false;
    };
    let kind = m.iter().find(|(k, _)| k == "kind").map(|(_, v)| &v.value);
    match kind {
        Some(Value::Str(k)) => k == "MockServiceGraph",
        Some(_) => false,
        None => m.iter().any(|(k, _)| k == "services"),
    }
}

/// Replaces every isotope graph among `docs` by the objects it stands for,
/// reporting the graph's own mistakes located in the topology file.
/// Services that name no namespace land in `default_ns` (`-n`) or `default`,
/// as `kubectl apply` of the converter's output places them.
pub fn expand_documents(
    file: &str,
    docs: Vec<Document>,
    default_ns: Option<&str>,
    diags: &mut Diagnostics,
) -> Vec<Document> {
    if !docs.iter().any(|d| is_graph(&d.root)) {
        return docs;
    }
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        if !is_graph(&d.root) {
            out.push(d);
            continue;
        }
        let origin = Origin {
            file: file.to_string(),
            document: d.index,
            object: Some("MockServiceGraph".into()),
        };
        let mut cx = Cx::new(origin, diags);
        if let Some(graph) = decode(
            &mut cx,
            &V::root(&d.root, ""),
            default_ns.unwrap_or("default"),
        ) {
            for root in emit::objects(&graph) {
                out.push(Document {
                    index: d.index,
                    root,
                });
            }
        }
    }
    out
}

/// A decoded graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub services: Vec<Service>,
}

/// One node of the graph, defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub loc: Loc,
    pub name: String,
    pub namespace: Option<String>,
    pub replicas: i64,
    /// isotope's `errorRate` as its counter period: every N-th request fails.
    pub error_every: Option<u32>,
    pub labels: Vec<(String, String)>,
    pub script: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    One(Command),
    Concurrent(Vec<Command>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Sleep { loc: Loc, text: String },
    Call(Call),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub loc: Loc,
    pub service: String,
    /// The address dialled (`hostname`, else `<service>:8080`): host and
    /// port (80 when the hostname names none: `http://host`).
    pub host: String,
    pub port: i64,
    pub headers: Vec<(String, String)>,
    /// Percent 1..=100; 0 = always.
    pub probability: i64,
}

/// The fields isotope's parser reads; anything else it ignores (e.g.
/// `numRbacPolicies`), and so does meshsim, with a note.
const GRAPH_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "defaults", "services"];
const DEFAULT_FIELDS: &[&str] = &[
    "type",
    "numReplicas",
    "errorRate",
    "responseSize",
    "requestSize",
    "script",
];
const SERVICE_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "cluster",
    "type",
    "numReplicas",
    "isEntrypoint",
    "errorRate",
    "responseSize",
    "script",
    "labels",
];
const CALL_FIELDS: &[&str] = &["service", "hostname", "extra-header", "size", "probability"];

/// Inherited values (`defaults:`), decoded once, as isotope's `withGlobalDefaults`.
struct Defaults {
    grpc: bool,
    replicas: i64,
    error_every: Option<u32>,
    script: Vec<Step>,
}

fn ignored(cx: &mut Cx, v: &V, known: &[&str]) {
    if let Value::Map(m) = &v.node.value {
        for (k, n) in m {
            if !known.contains(&k.as_str()) {
                let at = V {
                    node: n,
                    path: if v.path.is_empty() {
                        k.clone()
                    } else {
                        format!("{}.{k}", v.path)
                    },
                };
                cx.note(&at, "ignored: isotope's parser has no such field");
            }
        }
    }
}

pub fn decode(cx: &mut Cx, root: &V, default_ns: &str) -> Option<Graph> {
    ignored(cx, root, GRAPH_FIELDS);
    let mut sized = false;
    let list = cx.req(root, "services")?;
    let items = cx.seq(&list)?;
    // Names first: a call may name a service defined after it.
    let mut names: Vec<(String, String)> = Vec::new();
    for it in &items {
        let name = it.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let ns = it
            .get("namespace")
            .and_then(|n| n.as_str())
            .map(str::to_string);
        names.push((
            name.to_string(),
            ns.unwrap_or_else(|| default_ns.to_string()),
        ));
    }
    let defaults = match root.get("defaults") {
        None => Defaults {
            grpc: false,
            replicas: 1,
            error_every: None,
            script: Vec::new(),
        },
        Some(d) => {
            ignored(cx, &d, DEFAULT_FIELDS);
            sized |= check_sizes(cx, &d, &["responseSize", "requestSize"]);
            Defaults {
                grpc: d.get("type").and_then(|t| service_type(cx, &t)) == Some(true),
                replicas: d
                    .get("numReplicas")
                    .and_then(|r| cx.int_in(&r, 0, i32::MAX as i64))
                    .unwrap_or(1),
                error_every: d.get("errorRate").and_then(|e| error_rate(cx, &e)),
                script: d
                    .get("script")
                    .map(|s| script(cx, &s, &names, &mut sized))
                    .unwrap_or_default(),
            }
        }
    };
    let mut services = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut clusters: Vec<String> = Vec::new();
    let mut grpc = false;
    for (i, it) in items.iter().enumerate() {
        let Some(_) = cx.map(it) else { continue };
        ignored(cx, it, SERVICE_FIELDS);
        sized |= check_sizes(cx, it, &["responseSize"]);
        let name = match it.get("name") {
            Some(n) => match cx.str(&n) {
                Some("") | None => {
                    cx.error(
                        &n,
                        "services must have a name (isotope's parser refuses an empty one)",
                    );
                    continue;
                }
                Some(s) => s.to_string(),
            },
            None => {
                cx.error_at(
                    it.loc(),
                    &format!("{}.name", it.path),
                    "missing required field (services must have a name)",
                );
                continue;
            }
        };
        if seen.contains(&names[i].0.as_str()) {
            let at = it.get("name").expect("read above");
            cx.error(
                &at,
                format!("duplicate service name {name:?}: calls name services by name alone"),
            );
            continue;
        }
        seen.push(&names[i].0);
        if let Some(c) = it.get("cluster").and_then(|c| cx.str(&c))
            && !clusters.iter().any(|x| x == c)
        {
            clusters.push(c.to_string());
        }
        grpc |= match it.get("type") {
            Some(t) => service_type(cx, &t) == Some(true),
            None => defaults.grpc,
        };
        let namespace = it
            .get("namespace")
            .and_then(|n| cx.str(&n))
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let replicas = match it.get("numReplicas") {
            Some(r) => cx.int_in(&r, 0, i32::MAX as i64).unwrap_or(1),
            None => defaults.replicas,
        };
        let error_every = match it.get("errorRate") {
            Some(e) => error_rate(cx, &e),
            None => defaults.error_every,
        };
        let labels = it
            .get("labels")
            .and_then(|l| cx.string_map(&l))
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let script = match it.get("script") {
            Some(s) => script(cx, &s, &names, &mut sized),
            None => defaults.script.clone(),
        };
        services.push(Service {
            loc: it.loc(),
            name,
            namespace,
            replicas,
            error_every,
            labels,
            script,
        });
    }
    if clusters.len() > 1 {
        cx.note(
            &list,
            format!(
                "services of {} clusters ({}) run in one simulated cluster: isotope's converter emits one cluster's services per run; `.global` hostnames reach the named service, without cross-cluster latency",
                clusters.len(),
                clusters.join(", ")
            ),
        );
    }
    if sized {
        cx.note(
            &list,
            "request and response sizes take no time: meshsim has no bandwidth model",
        );
    }
    if grpc {
        cx.note(
            &list,
            "type: grpc simulated as HTTP: isotope's converter names every Service port http-web, so Istio treats it as HTTP",
        );
    }
    Some(Graph { services })
}

/// `type`: true for grpc, false for http.
fn service_type(cx: &mut Cx, v: &V) -> Option<bool> {
    cx.one_of(v, &[("http", false), ("grpc", true)])
}

/// isotope's `errorRate` (a `pct.Percentage`: "5%" or a fraction in [0, 1])
/// as the mock service's counter period N = 10000 / ⌊p·10000⌋ (`handler.go`,
/// truncating as Go's `uint64(float)` does).
fn error_rate(cx: &mut Cx, v: &V) -> Option<u32> {
    let p = match &v.node.value {
        Value::Str(s) => {
            let Some(i) = s.find('%') else {
                cx.error(v, format!("{s:?} is not a percentage (isotope reads \"5%\" or a fraction such as 0.05)"));
                return None;
            };
            match s[..i].trim().parse::<f64>() {
                Ok(f) => f / 100.0,
                Err(_) => {
                    cx.error(v, format!("{s:?} is not a percentage (isotope reads \"5%\" or a fraction such as 0.05)"));
                    return None;
                }
            }
        }
        _ => cx.number(v)?,
    };
    if !(0.0..=1.0).contains(&p) {
        cx.error(v, format!("{p} is outside 0–100 % (isotope refuses it)"));
        return None;
    }
    if p == 0.0 {
        return None;
    }
    let per_10k = (p * 10000.0) as u64;
    if per_10k == 0 {
        cx.error(
            v,
            "isotope's mock service cannot run a rate below 0.01 %: it computes 10000 / ⌊rate·10000⌋ and divides by zero",
        );
        return None;
    }
    let every = 10000 / per_10k;
    let effective = 1.0 / every as f64;
    if (effective - p).abs() > 1e-9 * p.max(1e-12) && (effective - p).abs() / p > 0.001 {
        cx.note(
            v,
            format!(
                "isotope fails every {every}th request of a pod (10000 / ⌊{p}·10000⌋): {:.4} %, not {:.4} %",
                effective * 100.0,
                p * 100.0
            ),
        );
    }
    Some(every as u32)
}

/// Byte sizes are read and checked (a bare integer or "1 KB", "16KiB"), then
/// said to take no time.
fn check_sizes(cx: &mut Cx, v: &V, keys: &[&str]) -> bool {
    let mut any = false;
    for k in keys {
        if let Some(s) = v.get(k) {
            any |= byte_size(cx, &s).is_some_and(|n| n > 0);
        }
    }
    any
}

fn byte_size(cx: &mut Cx, v: &V) -> Option<u64> {
    let n = match &v.node.value {
        Value::Int(i) if *i >= 0 => Some(*i as u64),
        Value::UInt(u) => Some(*u),
        Value::Str(s) => crate::engine::size::parse_bytes(s).ok(),
        _ => None,
    };
    if n.is_none() {
        cx.error(
            v,
            "not a byte size (isotope reads 128, \"1 KB\", \"16KiB\")",
        );
    }
    n
}

fn script(cx: &mut Cx, v: &V, names: &[(String, String)], sized: &mut bool) -> Vec<Step> {
    let Some(items) = cx.seq(v) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for it in items {
        match &it.node.value {
            Value::Seq(_) => {
                let members = cx.seq(&it).unwrap_or_default();
                let mut cmds = Vec::new();
                for m in members {
                    if matches!(m.node.value, Value::Seq(_)) {
                        cx.error(
                            &m,
                            "concurrent commands may not be nested (isotope refuses it)",
                        );
                        continue;
                    }
                    if let Some(c) = command(cx, &m, names, sized) {
                        cmds.push(c);
                    }
                }
                out.push(Step::Concurrent(cmds));
            }
            _ => {
                if let Some(c) = command(cx, &it, names, sized) {
                    out.push(Step::One(c));
                }
            }
        }
    }
    out
}

fn command(cx: &mut Cx, v: &V, names: &[(String, String)], sized: &mut bool) -> Option<Command> {
    let entries = cx.map(v)?;
    if entries.len() != 1 {
        cx.error(v, "a command has exactly one key: sleep or call");
        return None;
    }
    let (k, body) = &entries[0];
    match k.as_str() {
        "sleep" => {
            let text = cx.str(body)?;
            if let Err(e) = parse_duration(text) {
                cx.error(body, e);
                return None;
            }
            Some(Command::Sleep {
                loc: body.loc(),
                text: text.to_string(),
            })
        }
        "call" => call(cx, body, names, sized).map(Command::Call),
        other => {
            cx.error(
                body,
                format!("unknown command {other:?}; isotope has sleep and call"),
            );
            None
        }
    }
}

fn call(cx: &mut Cx, v: &V, names: &[(String, String)], sized: &mut bool) -> Option<Call> {
    let (service, service_v, hostname, headers, probability) = match &v.node.value {
        Value::Str(s) => (s.clone(), v.clone(), None, Vec::new(), 0),
        Value::Map(_) => {
            ignored(cx, v, CALL_FIELDS);
            let sv = cx.req(v, "service")?;
            let service = cx.str(&sv)?.to_string();
            let hostname = v
                .get("hostname")
                .and_then(|h| cx.str(&h))
                .filter(|h| !h.is_empty())
                .map(str::to_string);
            let headers = v
                .get("extra-header")
                .and_then(|h| cx.string_map(&h))
                .map(|m| m.into_iter().collect())
                .unwrap_or_default();
            if let Some(s) = v.get("size") {
                *sized |= byte_size(cx, &s).is_some_and(|n| n > 0);
            }
            let probability = match v.get("probability") {
                Some(p) => {
                    let n = cx.int(&p)?;
                    if !(0..=100).contains(&n) {
                        cx.error(&p, "probability outside [0, 100] (isotope refuses it)");
                        return None;
                    }
                    n
                }
                None => 0,
            };
            (service, sv, hostname, headers, probability)
        }
        _ => {
            cx.error(v, "a call names a service, or is a mapping with service:");
            return None;
        }
    };
    let Some((_, ns)) = names.iter().find(|(n, _)| *n == service) else {
        cx.error(
            &service_v,
            format!("cannot call undefined service {service:?} (isotope refuses it)"),
        );
        return None;
    };
    // `<svc>.global[:port]` (Istio's old multicluster DNS): the named service
    // in its own namespace, as the multicluster setup made it reachable.
    let (host, port) = match hostname {
        None => (service.clone(), PORT as i64),
        Some(h) => {
            let (host, port) = match h.rsplit_once(':') {
                Some((host, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
                    (host.to_string(), p.parse().unwrap_or(i64::MAX))
                }
                _ => (h.clone(), 80),
            };
            if host.ends_with(".global") {
                (format!("{service}.{ns}"), port)
            } else {
                (host, port)
            }
        }
    };
    Some(Call {
        loc: service_v.loc(),
        service,
        host,
        port,
        headers,
        probability,
    })
}
