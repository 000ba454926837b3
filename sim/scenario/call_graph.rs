//! The call graph: which deployments a script's calls reach, and the check
//! that every cycle in it is bounded (a call on it has `maxDepth`), since an
//! unbounded one would recurse forever.

use super::decode::Cx;
use super::diag::{Diagnostics, Origin};
use super::meshsim::script::{RawCall, resolve_steps};
use super::meshsim::workload::RawScripts;
use super::raw::Loc;
use super::spec::Endpoint;
use super::spec::{Deployment, Service};
use crate::cluster::selector::selects;
use std::collections::BTreeMap;

/// One call-graph edge: a call in `from`'s script reaches `to`'s pods.
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// The call has `maxDepth`, so a cycle through it ends.
    pub bounded: bool,
    pub loc: Loc,
    pub path: String,
}

/// Resolves every script's calls against the Services (a host that does not
/// resolve is an error at the call) and returns the call graph: an edge from a
/// deployment to each deployment the called Service selects.
pub fn resolve_calls(
    scripts: &[Option<(RawScripts, Origin)>],
    deployments: &mut [(Deployment, Origin, Loc)],
    (services, external): (&[(Service, Origin, Loc)], &super::resolve::ExternalHosts),
    diags: &mut Diagnostics,
) -> Vec<Edge> {
    let mut edges: Vec<Edge> = Vec::new();
    for (i, slot) in scripts.iter().enumerate() {
        let Some((script, origin)) = slot else {
            continue;
        };
        let ns = deployments[i].0.namespace.clone();
        let mut cx = Cx::new(origin.clone(), diags);
        let mut resolve =
            |rc: &RawCall| match super::resolve::target(services, external, &rc.host, rc.port, &ns)
            {
                Ok(t) => {
                    let svc = &services[t.service].0;
                    for (j, (d, _, _)) in deployments.iter().enumerate() {
                        if d.namespace == svc.namespace && selects(&svc.selector, &d.labels) {
                            edges.push(Edge {
                                from: i,
                                to: j,
                                bounded: rc.max_depth.is_some(),
                                loc: rc.loc,
                                path: rc.path_in_yaml.clone(),
                            });
                        }
                    }
                    let mut c = rc.call.clone();
                    c.target = t;
                    Some(c)
                }
                Err(e) => {
                    cx.error_at(rc.loc, &rc.path_in_yaml, e);
                    None
                }
            };
        let resolved = resolve_steps(&script.steps, &mut resolve);
        let endpoints: Vec<Endpoint> = script
            .endpoints
            .iter()
            .map(|e| Endpoint {
                name: e.name.clone(),
                method: e.method.clone(),
                path: e.path.clone(),
                script: resolve_steps(&e.steps, &mut resolve),
            })
            .collect();
        deployments[i].0.behaviour.endpoints = endpoints;
        deployments[i].0.behaviour.script = resolved;
    }
    edges
}

/// An unbounded cycle (no call on it has `maxDepth`) would recurse forever.
/// The error names one actual cycle (in call order, the shortest through the
/// lowest-indexed member of each strongly connected component) and points at
/// its first call.
pub fn check_cycles(
    deployments: &[(Deployment, Origin, Loc)],
    edges: &[Edge],
    scripts: &[Option<(RawScripts, Origin)>],
    diags: &mut Diagnostics,
) {
    use petgraph::algo::tarjan_scc;
    use petgraph::graph::DiGraph;
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..deployments.len()).map(|i| g.add_node(i)).collect();
    for e in edges.iter().filter(|e| !e.bounded) {
        g.add_edge(nodes[e.from], nodes[e.to], ());
    }
    for scc in tarjan_scc(&g) {
        let cyclic = scc.len() > 1 || scc.iter().any(|&n| g.contains_edge(n, n));
        if !cyclic {
            continue;
        }
        let mut members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
        members.sort();
        let first = members[0];
        let cycle = shortest_cycle(first, &members, edges);
        let mut names: Vec<String> = cycle.iter().map(|&i| deployments[i].0.key()).collect();
        names.push(deployments[first].0.key());
        let next = cycle.get(1).copied().unwrap_or(first);
        let call = edges
            .iter()
            .find(|e| !e.bounded && e.from == first && e.to == next);
        let origin = scripts[first]
            .as_ref()
            .map(|s| s.1.clone())
            .unwrap_or_else(|| deployments[first].1.clone());
        let (loc, path) = match call {
            Some(e) => (e.loc, e.path.as_str()),
            None => (deployments[first].2, "spec.script"),
        };
        Cx::new(origin, diags).error_at(
            loc,
            path,
            format!(
                "unbounded call cycle {}: set maxDepth on a call in the cycle",
                names.join(" → ")
            ),
        );
    }
}

/// The shortest cycle from `start` back to itself over unbounded edges between
/// `members` (breadth-first, lower indices first, so the choice is deterministic).
/// Returns the nodes in call order, starting with `start`, without repeating it.
fn shortest_cycle(start: usize, members: &[usize], edges: &[Edge]) -> Vec<usize> {
    let succ = |u: usize| -> Vec<usize> {
        let mut v: Vec<usize> = edges
            .iter()
            .filter(|e| !e.bounded && e.from == u && members.binary_search(&e.to).is_ok())
            .map(|e| e.to)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(u) = queue.pop_front() {
        for v in succ(u) {
            if v == start {
                let mut path = vec![u];
                let mut x = u;
                while x != start {
                    x = prev[&x];
                    path.push(x);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(v) {
                e.insert(u);
                queue.push_back(v);
            }
        }
    }
    vec![start]
}
