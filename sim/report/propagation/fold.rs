//! Folding a large service graph to what a picture can show.
//!
//! Why: a 1,000-service mesh (isotope's `1000-svc_5000-end.yaml`) drew a
//! graph 96,800 px wide, which no reader can follow, in `propagation.svg` and
//! in the HTML report. A picture keeps the loads and the services on the
//! edges that matter most — the most failing first, then the busiest — up to
//! a node budget, and says in its subtitle how much it left out; the complete
//! graph stays in `propagation.dot` and `summary.json`, which are for
//! machines and lose nothing.

use super::{Edge, Propagation};
use crate::metrics::propagation::Node;
use std::collections::BTreeSet;

/// The subgraph of `p` drawn when it has more than `max_nodes` nodes, and the
/// sentence saying what was left out; `None` when everything fits.
///
/// Loads are always kept (they are the graph's sources and few). Then edges
/// are taken by (failed requests, requests) descending, ties in the report's
/// edge order, each adding its missing ends while the node budget allows; at
/// the end every edge between kept nodes is drawn, so a kept node shows all
/// its traffic to other kept nodes. Nodes and edges keep their order in `p`,
/// so the layout of the folded graph is as deterministic as the full one.
pub fn busiest(p: &Propagation, max_nodes: usize) -> Option<(Propagation, String)> {
    if p.nodes.len() <= max_nodes {
        return None;
    }
    let mut kept: BTreeSet<Node> = p
        .nodes
        .iter()
        .filter(|n| matches!(n.node, Node::Load(_)))
        .map(|n| n.node)
        .take(max_nodes)
        .collect();
    let mut ranked: Vec<usize> = (0..p.edges.len()).collect();
    ranked.sort_by_key(|&i| {
        let c = &p.edges[i].counts;
        (
            std::cmp::Reverse(c.failed),
            std::cmp::Reverse(c.requests),
            i,
        )
    });
    for i in ranked {
        let e = &p.edges[i];
        let missing = [e.caller, e.callee]
            .iter()
            .filter(|n| !kept.contains(n))
            .collect::<BTreeSet<_>>()
            .len();
        if kept.len() + missing <= max_nodes {
            kept.insert(e.caller);
            kept.insert(e.callee);
        }
        if kept.len() == max_nodes {
            break;
        }
    }
    let nodes: Vec<_> = p
        .nodes
        .iter()
        .filter(|n| kept.contains(&n.node))
        .cloned()
        .collect();
    let edges: Vec<Edge> = p
        .edges
        .iter()
        .filter(|e| kept.contains(&e.caller) && kept.contains(&e.callee))
        .cloned()
        .collect();
    let note = format!(
        "Showing {} of {} nodes and {} of {} edges: the most failing, then the busiest (all of them in propagation.dot and summary.json)",
        nodes.len(),
        p.nodes.len(),
        edges.len(),
        p.edges.len()
    );
    Some((
        Propagation {
            nodes,
            edges,
            ..p.clone()
        },
        note,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::propagation::EdgeCounts;
    use crate::report::propagation::NodeInfo;

    /// A load calling a chain of services s0 → s1 → … with `requests[i]` on
    /// edge i, and `failed[i]` of them failing.
    fn chain(requests: &[u64], failed: &[u64]) -> Propagation {
        let mut nodes = vec![NodeInfo {
            node: Node::Load(0),
            name: "web".into(),
            failures_seen: 0,
            root_of: 0,
        }];
        let mut edges = Vec::new();
        for (i, (&r, &f)) in requests.iter().zip(failed).enumerate() {
            nodes.push(NodeInfo {
                node: Node::Service(i as u32),
                name: format!("s{i}"),
                failures_seen: 0,
                root_of: 0,
            });
            let caller = if i == 0 {
                Node::Load(0)
            } else {
                Node::Service(i as u32 - 1)
            };
            edges.push(Edge {
                caller,
                callee: Node::Service(i as u32),
                caller_name: String::new(),
                callee_name: String::new(),
                counts: EdgeCounts {
                    requests: r,
                    attempts: r,
                    failed: f,
                    caused: f,
                },
            });
        }
        Propagation {
            title: "t".into(),
            replications: 1,
            end_s: 1.0,
            failures: failed.iter().sum(),
            chains: Vec::new(),
            distinct_chains: 0,
            nodes,
            edges,
            breakers: Vec::new(),
            ejections: Vec::new(),
        }
    }

    #[test]
    fn a_graph_that_fits_is_not_folded() {
        assert!(busiest(&chain(&[5, 4, 3], &[0, 0, 0]), 4).is_none());
    }

    #[test]
    fn failing_edges_come_before_busy_ones_and_loads_are_kept() {
        // web→s0 (10), s0→s1 (9), s1→s2 (1 request, 1 failed), s2→s3 (8).
        let p = chain(&[10, 9, 1, 8], &[0, 0, 1, 0]);
        let (q, note) = busiest(&p, 3).unwrap();
        let names: Vec<&str> = q.nodes.iter().map(|n| n.name.as_str()).collect();
        // The load, then the failing edge's two ends; web→s0 no longer fits.
        assert_eq!(names, ["web", "s1", "s2"]);
        assert_eq!(q.edges.len(), 1);
        assert_eq!(q.edges[0].counts.failed, 1);
        assert_eq!(
            note,
            "Showing 3 of 5 nodes and 1 of 4 edges: the most failing, then the busiest (all of them in propagation.dot and summary.json)"
        );
        // Without failures the busiest path from the load is kept.
        let (q, _) = busiest(&chain(&[10, 9, 1, 8], &[0; 4]), 3).unwrap();
        let names: Vec<&str> = q.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["web", "s0", "s1"]);
        assert_eq!(q.edges.len(), 2);
    }

    #[test]
    fn every_edge_between_kept_nodes_is_drawn_and_the_budget_holds() {
        let p = chain(&[7; 60], &[0; 60]);
        let (q, _) = busiest(&p, 40).unwrap();
        assert_eq!(q.nodes.len(), 40);
        // A chain: 40 kept consecutive nodes carry 39 edges.
        assert_eq!(q.edges.len(), 39);
        assert!(q.edges.iter().all(|e| {
            q.nodes.iter().any(|n| n.node == e.caller) && q.nodes.iter().any(|n| n.node == e.callee)
        }));
    }

    #[test]
    fn the_picture_of_a_large_graph_is_folded_and_says_so() {
        let p = chain(&[7; 60], &[0; 60]);
        let svg = crate::report::propagation::svg::render(&p);
        assert!(svg.contains("Showing 24 of 61 nodes and 23 of 60 edges"));
        // One box per drawn node: 24, not 61.
        let boxes = svg.matches("stroke-width=\"1.5\"").count();
        assert_eq!(boxes, 24);
        // A graph that fits carries no note.
        let small = crate::report::propagation::svg::render(&chain(&[7; 5], &[0; 5]));
        assert!(!small.contains("Showing"));
    }
}
