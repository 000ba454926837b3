//! A decoded isotope graph → the documents its converter would generate
//! (istio/tools `isotope/convert/pkg/kubernetes/kubernetes.go`: `makeDeployment`,
//! `makeService`) plus one meshsim `Workload` per node for the mock service's
//! behaviour. Every node carries the location of the isotope line it stands
//! for, so errors found later point into the topology file.

use super::{Call, Command, PORT, PORT_NAME, Service, Step};
use crate::scenario::object::MESHSIM_API;
use crate::scenario::raw::{Loc, Node, Value};

/// Headers the mock service forwards on every call (`srv/header.go`).
const FORWARDED: &[&str] = &[
    "x-request-id",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "x-ot-span-context",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "traceparent",
    "tracestate",
    "x-cloud-trace-context",
    "grpc-trace-bin",
];

/// Go's HTTP server runs a goroutine per request: meshsim's largest pool.
const UNBOUNDED_WORKERS: i64 = 1_000_000;

/// The Deployment, Service and Workload of every node, in graph order.
pub fn objects(g: &super::Graph) -> Vec<Node> {
    let mut out = Vec::with_capacity(3 * g.services.len());
    for s in &g.services {
        out.push(deployment(s));
        out.push(service(s));
        out.push(workload(s));
    }
    out
}

struct B {
    loc: Loc,
}

impl B {
    fn node(&self, value: Value) -> Node {
        Node {
            value,
            loc: self.loc,
            key: self.loc,
        }
    }
    fn s(&self, s: &str) -> Node {
        self.node(Value::Str(s.to_string()))
    }
    fn i(&self, n: i64) -> Node {
        self.node(Value::Int(n))
    }
    fn map(&self, entries: Vec<(&str, Node)>) -> Node {
        self.node(Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ))
    }
    fn seq(&self, items: Vec<Node>) -> Node {
        self.node(Value::Seq(items))
    }
    fn strings(&self, kv: &[(String, String)]) -> Node {
        self.node(Value::Map(
            kv.iter().map(|(k, v)| (k.clone(), self.s(v))).collect(),
        ))
    }
    fn metadata(&self, s: &Service, labels: Option<Node>) -> Node {
        let mut m = vec![("name", self.s(&s.name))];
        if let Some(ns) = &s.namespace {
            m.push(("namespace", self.s(ns)));
        }
        if let Some(l) = labels {
            m.push(("labels", l));
        }
        self.map(m)
    }
}

/// `role: service` + `extra` + the node's own labels, later keys winning
/// (`combineLabels`).
fn labels(s: &Service, extra: (&str, &str)) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| {
        if let Some(e) = out.iter_mut().find(|(ek, _)| ek == k) {
            e.1 = v.to_string();
        } else {
            out.push((k.to_string(), v.to_string()));
        }
    };
    put("role", "service");
    put(extra.0, extra.1);
    for (k, v) in &s.labels {
        put(k, v);
    }
    out
}

fn deployment(s: &Service) -> Node {
    let b = B { loc: s.loc };
    let pod_labels = labels(s, ("name", &s.name));
    b.map(vec![
        ("apiVersion", b.s("apps/v1")),
        ("kind", b.s("Deployment")),
        (
            "metadata",
            b.metadata(s, Some(b.strings(&labels(s, ("app", &s.name))))),
        ),
        (
            "spec",
            b.map(vec![
                ("replicas", b.i(s.replicas)),
                (
                    "selector",
                    b.map(vec![("matchLabels", b.map(vec![("name", b.s(&s.name))]))]),
                ),
                (
                    "template",
                    b.map(vec![
                        ("metadata", b.map(vec![("labels", b.strings(&pod_labels))])),
                        (
                            "spec",
                            b.map(vec![(
                                "containers",
                                b.seq(vec![b.map(vec![
                                    ("name", b.s("mock-service")),
                                    ("image", b.s("tahler/isotope-service:1")),
                                    (
                                        "ports",
                                        b.seq(vec![
                                            b.map(vec![("containerPort", b.i(PORT as i64))]),
                                        ]),
                                    ),
                                ])]),
                            )]),
                        ),
                    ]),
                ),
            ]),
        ),
    ])
}

fn service(s: &Service) -> Node {
    let b = B { loc: s.loc };
    b.map(vec![
        ("apiVersion", b.s("v1")),
        ("kind", b.s("Service")),
        (
            "metadata",
            b.metadata(s, Some(b.strings(&labels(s, ("app", &s.name))))),
        ),
        (
            "spec",
            b.map(vec![
                ("selector", b.map(vec![("name", b.s(&s.name))])),
                (
                    "ports",
                    b.seq(vec![b.map(vec![
                        ("name", b.s(PORT_NAME)),
                        ("port", b.i(PORT as i64)),
                    ])]),
                ),
            ]),
        ),
    ])
}

fn workload(s: &Service) -> Node {
    let b = B { loc: s.loc };
    let mut spec = vec![
        ("workers", b.i(UNBOUNDED_WORKERS)),
        (
            "script",
            b.seq(s.script.iter().map(|st| step(&b, st)).collect()),
        ),
    ];
    if let Some(n) = s.error_every {
        spec.push((
            "errors",
            b.map(vec![
                ("every", b.i(n as i64)),
                ("status", b.i(500)),
                ("beforeScript", b.node(Value::Bool(true))),
            ]),
        ));
    }
    b.map(vec![
        ("apiVersion", b.s(MESHSIM_API)),
        ("kind", b.s("Workload")),
        ("metadata", b.metadata(s, None)),
        ("spec", b.map(spec)),
    ])
}

fn step(b: &B, st: &Step) -> Node {
    match st {
        Step::One(c) => command(c),
        // isotope allows single commands per member: one step per branch.
        Step::Concurrent(cs) => b.map(vec![(
            "parallel",
            b.seq(cs.iter().map(|c| b.seq(vec![command(c)])).collect()),
        )]),
    }
}

fn command(c: &Command) -> Node {
    match c {
        Command::Sleep { loc, text } => {
            let b = B { loc: *loc };
            b.map(vec![("compute", b.map(vec![("constant", b.s(text))]))])
        }
        Command::Call(call) => b_call(call),
    }
}

fn b_call(c: &Call) -> Node {
    let b = B { loc: c.loc };
    let mut m = vec![("host", b.s(&c.host)), ("port", b.i(c.port))];
    m.push((
        "forwardHeaders",
        b.seq(FORWARDED.iter().map(|h| b.s(h)).collect()),
    ));
    if !c.headers.is_empty() {
        m.push(("headers", b.strings(&c.headers)));
    }
    if c.probability > 0 && c.probability < 100 {
        m.push((
            "probability",
            b.node(Value::Float(c.probability as f64 / 100.0)),
        ));
    }
    b.map(vec![("call", b.map(m))])
}
