//! The failure-propagation report: where failures start and how they travel.
//!
//! [`resolve`] turns the merged [`PropagationRecorder`] (ids, nanoseconds)
//! into a [`Propagation`] (names from the scenario, seconds, top chains, per
//! node totals): the one model that every rendering reads, so the JSON
//! (`summary.json` → `propagation`, [`json`]), the terminal table
//! ([`table`]), Graphviz DOT ([`dot`]) and meshsim's own SVG drawing ([`svg`],
//! laid out by [`layout`]) cannot disagree. Pure: hand-built recorders in,
//! text out.

pub mod dot;
pub mod fold;
pub mod label;
pub mod layout;
pub mod svg;
pub mod table;

use crate::batch::Merged;
use crate::metrics::propagation::{EdgeCounts, Link, Node, PropagationRecorder};
use crate::report::round::r3;
use crate::scenario::Scenario;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How many chains the report lists (the most frequent first).
pub const TOP_CHAINS: usize = 20;

/// Display names of the graph's nodes: loads as `load/<name>`, Services as
/// `name.namespace` (the keys of `summary.json`).
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub loads: Vec<String>,
    pub services: Vec<String>,
}

impl Names {
    pub fn of(spec: &Scenario) -> Names {
        Names {
            loads: spec.loads.iter().map(|l| l.name.clone()).collect(),
            services: spec.services.iter().map(|s| s.key()).collect(),
        }
    }

    /// The node's name; an index the scenario does not have reads `service#7`
    /// (a recording bug shows, it does not panic).
    pub fn name(&self, n: Node) -> String {
        match n {
            Node::Load(i) => match self.loads.get(i as usize) {
                Some(s) => format!("load/{s}"),
                None => format!("load#{i}"),
            },
            Node::Service(i) => match self.services.get(i as usize) {
                Some(s) => s.clone(),
                None => format!("service#{i}"),
            },
        }
    }
}

/// The resolved report.
#[derive(Clone, Debug, PartialEq)]
pub struct Propagation {
    /// Heading of the drawings (the scenario's name).
    pub title: String,
    pub replications: u32,
    /// Simulated seconds of one replication (the time axis of the windows).
    pub end_s: f64,
    /// Failed load requests recorded.
    pub failures: u64,
    /// The [`TOP_CHAINS`] most frequent chains.
    pub chains: Vec<Chain>,
    /// Distinct chains in all (`chains` may show fewer).
    pub distinct_chains: usize,
    /// Every node that appears in an edge or a chain, in node order.
    pub nodes: Vec<NodeInfo>,
    /// Caller → callee edges, in node order.
    pub edges: Vec<Edge>,
    pub breakers: Vec<Breaker>,
    pub ejections: Vec<Ejected>,
}

/// A failure chain, rendered: `load/web 500 ← productpage.default 500 call-failed ← …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub text: String,
    pub count: u64,
    /// Of all failures.
    pub share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    pub node: Node,
    pub name: String,
    /// Failures whose chain starts here (loads).
    pub failures_seen: u64,
    /// Failures whose chain ends here: this node is their root cause.
    pub root_of: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub caller: Node,
    pub callee: Node,
    pub caller_name: String,
    pub callee_name: String,
    pub counts: EdgeCounts,
}

/// A breaker's rejection windows (seconds since the start of the run).
#[derive(Clone, Debug, PartialEq)]
pub struct Breaker {
    pub proxy: String,
    pub cluster: String,
    pub windows: Vec<Span>,
}

/// A host's ejections by one proxy.
#[derive(Clone, Debug, PartialEq)]
pub struct Ejected {
    pub proxy: String,
    pub cluster: String,
    pub host: String,
    pub windows: Vec<Span>,
}

/// A window in one replication. `to_s` None: still open at the end of the run;
/// `rejections` only for breakers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub replication: u32,
    pub from_s: f64,
    pub to_s: Option<f64>,
    pub rejections: Option<u64>,
}

impl Span {
    /// End of the window, an open one ending at `end_s`.
    pub fn end(&self, end_s: f64) -> f64 {
        self.to_s.unwrap_or(end_s.max(self.from_s))
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// One link as text: name, then status unless 0 (no response), then cause unless `-`.
fn link_text(names: &Names, l: &Link) -> String {
    let mut s = names.name(l.node);
    if l.status != 0 {
        s.push_str(&format!(" {}", l.status));
    }
    if !l.cause.is_empty() && l.cause != "-" {
        s.push(' ');
        s.push_str(&l.cause);
    }
    s
}

/// A chain as text, outermost first, joined by ` ← `.
pub fn chain_text(names: &Names, chain: &[Link]) -> String {
    chain
        .iter()
        .map(|l| link_text(names, l))
        .collect::<Vec<_>>()
        .join(" ← ")
}

/// The report of `rec`, or None when it holds nothing worth reporting
/// ([`PropagationRecorder::has_findings`]). `end_ns`: length of the run.
pub fn resolve(
    rec: &PropagationRecorder,
    names: &Names,
    title: &str,
    end_ns: u64,
) -> Option<Propagation> {
    if !rec.has_findings() {
        return None;
    }
    Some(resolve_all(rec, names, title, end_ns))
}

/// The report of `rec` even without findings: the service graph of a
/// healthy run (every caller → callee edge with its traffic), for the HTML
/// report.
pub fn resolve_all(
    rec: &PropagationRecorder,
    names: &Names,
    title: &str,
    end_ns: u64,
) -> Propagation {
    let failures = rec.failures();
    let mut nodes: BTreeMap<Node, NodeInfo> = BTreeMap::new();
    fn node<'a>(
        nodes: &'a mut BTreeMap<Node, NodeInfo>,
        names: &Names,
        n: Node,
    ) -> &'a mut NodeInfo {
        nodes.entry(n).or_insert_with(|| NodeInfo {
            node: n,
            name: names.name(n),
            failures_seen: 0,
            root_of: 0,
        })
    }
    let mut all: Vec<(&[Link], u64)> = rec.chains().collect();
    for (c, n) in &all {
        for l in c.iter() {
            node(&mut nodes, names, l.node);
        }
        node(&mut nodes, names, c[0].node).failures_seen += n;
        node(&mut nodes, names, c[c.len() - 1].node).root_of += n;
    }
    let mut edges = Vec::new();
    for ((a, b), e) in rec.edges() {
        node(&mut nodes, names, a);
        node(&mut nodes, names, b);
        edges.push(Edge {
            caller: a,
            callee: b,
            caller_name: names.name(a),
            callee_name: names.name(b),
            counts: *e,
        });
    }
    let distinct_chains = all.len();
    // Most frequent first; equal counts in chain order (the sort is stable).
    all.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let chains = all
        .iter()
        .take(TOP_CHAINS)
        .map(|(c, n)| Chain {
            text: chain_text(names, c),
            count: *n,
            share: *n as f64 / failures.max(1) as f64,
        })
        .collect();
    let breakers = rec
        .breakers()
        .map(|(p, c, ws)| Breaker {
            proxy: p.to_string(),
            cluster: c.to_string(),
            windows: ws
                .iter()
                .map(|w| Span {
                    replication: w.replication,
                    from_s: secs(w.from_ns),
                    to_s: Some(secs(w.to_ns)),
                    rejections: Some(w.rejections),
                })
                .collect(),
        })
        .collect();
    let ejections = rec
        .ejections()
        .map(|(p, c, h, es)| Ejected {
            proxy: p.to_string(),
            cluster: c.to_string(),
            host: h.to_string(),
            windows: es
                .iter()
                .map(|e| Span {
                    replication: e.replication,
                    from_s: secs(e.from_ns),
                    to_s: e.to_ns.map(secs),
                    rejections: None,
                })
                .collect(),
        })
        .collect();
    Propagation {
        title: title.to_string(),
        replications: rec.replications(),
        end_s: secs(end_ns),
        failures,
        chains,
        distinct_chains,
        nodes: nodes.into_values().collect(),
        edges,
        breakers,
        ejections,
    }
}

/// The service graph of a run: [`of_run`]'s report when there is one, else
/// every edge with its traffic (None for a run without calls).
pub fn graph_of_run(spec: &Scenario, merged: &Merged) -> Option<Propagation> {
    merged.propagation.edges().next()?;
    Some(resolve_all(
        &merged.propagation,
        &Names::of(spec),
        &spec.name,
        spec.run.duration.as_nanos(),
    ))
}

impl Propagation {
    /// Nothing failed, was retried, rejected or ejected: a plain service graph.
    pub fn is_healthy(&self) -> bool {
        self.failures == 0
            && self
                .edges
                .iter()
                .all(|e| e.counts.failed == 0 && e.counts.attempts <= e.counts.requests)
            && self.breakers.is_empty()
            && self.ejections.is_empty()
    }
}

/// The report of a run (None when nothing worth reporting was recorded).
pub fn of_run(spec: &Scenario, merged: &Merged) -> Option<Propagation> {
    resolve(
        &merged.propagation,
        &Names::of(spec),
        &spec.name,
        spec.run.duration.as_nanos(),
    )
}

fn span_json(s: &Span) -> Value {
    let mut m = Map::new();
    m.insert("replication".into(), json!(s.replication));
    m.insert("from_s".into(), r3(s.from_s));
    m.insert("to_s".into(), s.to_s.map_or(Value::Null, r3));
    if let Some(n) = s.rejections {
        m.insert("rejections".into(), json!(n));
    }
    Value::Object(m)
}

/// `summary.json`'s `propagation` object.
pub fn json(p: &Propagation) -> Value {
    let chains: Vec<Value> = p
        .chains
        .iter()
        .map(|c| json!({"chain": c.text, "count": c.count, "share": r3(c.share)}))
        .collect();
    let edges: Vec<Value> = p
        .edges
        .iter()
        .map(|e| {
            let c = &e.counts;
            json!({
                "caller": e.caller_name,
                "callee": e.callee_name,
                "requests": c.requests,
                "attempts": c.attempts,
                "amplification": r3(c.amplification()),
                "extra_load": c.extra_load(),
                "failed": c.failed,
                "failure_rate": r3(c.failure_rate()),
                "caused": c.caused,
                "passed_on": c.passed_on(),
            })
        })
        .collect();
    let breakers: Vec<Value> = p
        .breakers
        .iter()
        .map(|b| {
            json!({
                "proxy": b.proxy,
                "cluster": b.cluster,
                "windows": b.windows.iter().map(span_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ejections: Vec<Value> = p
        .ejections
        .iter()
        .map(|e| {
            json!({
                "proxy": e.proxy,
                "cluster": e.cluster,
                "host": e.host,
                "windows": e.windows.iter().map(span_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "failures": p.failures,
        "distinct_chains": p.distinct_chains,
        "chains": chains,
        "edges": edges,
        "breakers": breakers,
        "ejections": ejections,
    })
}

/// Files the report adds to a run's folder (`propagation.dot`, `propagation.svg`):
/// none when nothing worth reporting was recorded.
pub fn files(spec: &Scenario, merged: &Merged) -> Vec<(&'static str, String)> {
    match of_run(spec, merged) {
        Some(p) => vec![
            ("propagation.dot", dot::render(&p)),
            ("propagation.svg", svg::render(&p)),
        ],
        None => Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const S: u64 = 1_000_000_000;

    /// Bookinfo-like: load web → productpage → reviews → ratings, productpage → details.
    pub fn names() -> Names {
        Names {
            loads: vec!["web".into()],
            services: ["productpage", "reviews", "ratings", "details"]
                .iter()
                .map(|s| format!("{s}.default"))
                .collect(),
        }
    }

    pub fn bookinfo() -> PropagationRecorder {
        let (web, pp, rev, rat, det) = (
            Node::Load(0),
            Node::Service(0),
            Node::Service(1),
            Node::Service(2),
            Node::Service(3),
        );
        let mut r = PropagationRecorder::default();
        let timeout = [
            Link::new(web, 500, "-"),
            Link::new(pp, 500, "call-failed"),
            Link::new(rev, 504, "UT"),
            Link::new(rat, 0, "DI"),
        ];
        let details = [
            Link::new(web, 500, "-"),
            Link::new(pp, 500, "call-failed"),
            Link::new(det, 503, "error"),
        ];
        let overflow = [Link::new(web, 503, "-"), Link::new(pp, 503, "UO")];
        for _ in 0..60 {
            r.failure(&timeout);
        }
        for _ in 0..30 {
            r.failure(&details);
        }
        for _ in 0..10 {
            r.failure(&overflow);
        }
        for i in 0..1000 {
            r.edge(web, pp, 1, i < 100, (90..100).contains(&i));
            r.edge(pp, det, 1, i < 30, i < 30);
        }
        for i in 0..990 {
            let a = if i < 60 { 3 } else { 1 };
            r.edge(pp, rev, a, i < 60, false);
            r.edge(rev, rat, 1, i < 60, i < 60);
        }
        r.breaker_reject(
            "pod/default/web-load",
            "outbound|9080||productpage.default.svc.cluster.local",
            12 * S,
        );
        r.breaker_reject(
            "pod/default/web-load",
            "outbound|9080||productpage.default.svc.cluster.local",
            12 * S + S / 3,
        );
        r.breaker_reject(
            "pod/default/web-load",
            "outbound|9080||productpage.default.svc.cluster.local",
            40 * S,
        );
        r.ejection(
            "pod/default/reviews-v1/0",
            "outbound|9080||ratings.default.svc.cluster.local",
            "ratings-v1-0",
            20 * S,
            Some(50 * S),
        );
        r.ejection(
            "pod/default/reviews-v1/0",
            "outbound|9080||ratings.default.svc.cluster.local",
            "ratings-v1-0",
            80 * S,
            None,
        );
        r
    }

    /// A harder graph over 3 replications: two loads, a long edge, a
    /// self-loop, a cycle (auth ↔ db), a healthy edge, breakers and ejections.
    pub fn shop() -> Propagation {
        let names = Names {
            loads: vec!["web".into(), "mobile".into()],
            services: [
                "gateway",
                "productpage",
                "reviews",
                "ratings",
                "details",
                "auth",
                "cache",
                "db",
            ]
            .iter()
            .map(|s| format!("{s}.shop"))
            .collect(),
        };
        let sv = Node::Service;
        let edges = [
            (Node::Load(0), sv(0)),
            (Node::Load(1), sv(0)),
            (sv(0), sv(1)),
            (sv(0), sv(5)),
            (sv(1), sv(2)),
            (sv(1), sv(4)),
            (sv(2), sv(3)),
            (sv(1), sv(3)),
            (sv(3), sv(7)),
            (sv(5), sv(7)),
            (sv(2), sv(2)),
            (sv(7), sv(5)),
            (sv(4), sv(6)),
        ];
        let mut reps = Vec::new();
        for k in 0..3u64 {
            let mut r = PropagationRecorder::default();
            for (j, (a, b)) in edges.iter().enumerate() {
                let j = j as u64;
                for i in 0..500 + 37 * j {
                    let f = (i + j).is_multiple_of(7 + j) && j != 12;
                    let attempts = if i.is_multiple_of(11) && j % 3 == 1 {
                        3
                    } else {
                        1
                    };
                    r.edge(*a, *b, attempts, f, f && j.is_multiple_of(2));
                }
            }
            for i in 0..40 {
                r.failure(&[
                    Link::new(Node::Load(i % 2), 500, "-"),
                    Link::new(sv(0), 500, "call-failed"),
                    Link::new(sv(1), 503, "URX,UF"),
                    Link::new(sv(2), 504, "UT"),
                    Link::new(sv(3), 503, "UO"),
                ]);
                r.failure(&[
                    Link::new(Node::Load(0), 503, "-"),
                    Link::new(sv(0), 503, "UH"),
                ]);
                if i % 3 == 0 {
                    r.failure(&[
                        Link::new(Node::Load(1), 500, "-"),
                        Link::new(sv(0), 500, "call-failed"),
                        Link::new(sv(5), 500, "app-timeout"),
                        Link::new(sv(7), 0, "queue-full"),
                    ]);
                }
            }
            let (gw, pp) = (
                "pod/shop/gateway-7d9f/0",
                "outbound|8080||productpage.shop.svc.cluster.local",
            );
            for t in 0..30 {
                r.breaker_reject(gw, pp, (20 + 2 * t + k) * S);
            }
            let rev = "outbound|9080||reviews.shop.svc.cluster.local";
            r.ejection(
                "pod/shop/productpage-v1/0",
                rev,
                "reviews-v2-1",
                (30 + 5 * k) * S,
                Some((60 + k) * S),
            );
            r.ejection(
                "pod/shop/productpage-v1/1",
                rev,
                "reviews-v2-1",
                (90 + k) * S,
                None,
            );
            reps.push(r);
        }
        resolve(
            &PropagationRecorder::merge_all(&reps),
            &names,
            "shop",
            120 * S,
        )
        .unwrap()
    }

    pub fn report() -> Propagation {
        resolve(&bookinfo(), &names(), "bookinfo", 100 * S).unwrap()
    }

    #[test]
    fn chains_render_as_text_with_shares() {
        let p = report();
        assert_eq!(p.failures, 100);
        assert_eq!(p.distinct_chains, 3);
        assert_eq!(
            p.chains[0].text,
            "load/web 500 ← productpage.default 500 call-failed ← reviews.default 504 UT ← ratings.default DI"
        );
        assert_eq!((p.chains[0].count, p.chains[0].share), (60, 0.6));
        assert_eq!(
            p.chains[1].text,
            "load/web 500 ← productpage.default 500 call-failed ← details.default 503 error"
        );
        assert_eq!(
            p.chains[2].text,
            "load/web 503 ← productpage.default 503 UO"
        );
        let root: Vec<(String, u64, u64)> = p
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.failures_seen, n.root_of))
            .collect();
        assert_eq!(
            root,
            vec![
                ("load/web".into(), 100, 0),
                ("productpage.default".into(), 0, 10),
                ("reviews.default".into(), 0, 0),
                ("ratings.default".into(), 0, 60),
                ("details.default".into(), 0, 30),
            ]
        );
    }

    #[test]
    fn only_the_top_chains_are_listed() {
        let mut r = PropagationRecorder::default();
        for k in 0..25u16 {
            for _ in 0..=k {
                r.failure(&[Link::new(Node::Load(0), 500 + k, "-")]);
            }
        }
        let p = resolve(&r, &names(), "t", S).unwrap();
        assert_eq!(p.distinct_chains, 25);
        assert_eq!(p.chains.len(), TOP_CHAINS);
        assert_eq!(p.chains[0].text, "load/web 524");
        assert_eq!(p.chains[0].count, 25);
        assert_eq!(p.chains[19].count, 6);
    }

    #[test]
    fn unknown_indices_read_as_such() {
        let mut r = PropagationRecorder::default();
        r.failure(&[
            Link::new(Node::Load(3), 500, "-"),
            Link::new(Node::Service(9), 0, "UF"),
        ]);
        let p = resolve(&r, &names(), "t", S).unwrap();
        assert_eq!(p.chains[0].text, "load#3 500 ← service#9 UF");
    }

    #[test]
    fn nothing_to_report_is_none() {
        let mut r = PropagationRecorder::default();
        assert!(resolve(&r, &names(), "t", S).is_none());
        r.edge(Node::Load(0), Node::Service(0), 1, false, false);
        assert!(resolve(&r, &names(), "t", S).is_none());
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v = json(&report());
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "breakers",
                "chains",
                "distinct_chains",
                "edges",
                "ejections",
                "failures"
            ]
        );
        assert_eq!(v["chains"][0]["share"], 0.6);
        assert_eq!(v["chains"][0]["count"], 60);
        let e = &v["edges"][1]; // productpage → reviews
        assert_eq!(e["caller"], "productpage.default");
        assert_eq!(e["callee"], "reviews.default");
        assert_eq!(e["requests"], 990);
        assert_eq!(e["attempts"], 1110);
        assert_eq!(e["amplification"], 1.121);
        assert_eq!(e["extra_load"], 120);
        assert_eq!(
            (
                e["failed"].as_u64(),
                e["caused"].as_u64(),
                e["passed_on"].as_u64()
            ),
            (Some(60), Some(0), Some(60))
        );
        let w = &v["breakers"][0]["windows"];
        assert_eq!(w.as_array().unwrap().len(), 2);
        assert_eq!(w[0]["from_s"], 12.0);
        assert_eq!(w[0]["to_s"], 12.333);
        assert_eq!(w[0]["rejections"], 2);
        assert_eq!(w[0]["replication"], 0);
        let ej = &v["ejections"][0];
        assert_eq!(ej["host"], "ratings-v1-0");
        assert_eq!(ej["windows"][0]["to_s"], 50.0);
        assert!(ej["windows"][1]["to_s"].is_null());
        assert!(ej["windows"][1].get("rejections").is_none());
    }
}
