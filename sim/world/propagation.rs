//! Failure propagation at run time: why each failed response failed, as a
//! chain of links back to its root cause, and per caller → callee edge how
//! many requests, attempts, failures caused and passed on
//! ([`crate::metrics::propagation`] aggregates, `report::propagation` draws).
//!
//! Why chains are interned cons cells: a failure's chain is its answerer's
//! link prepended to the chain of the failure that caused it (a server's
//! `onError fail` to its failed call's, a proxy's `URX` to the upstream's
//! 5xx). Interning (link, next) makes prepending O(log n) with no copying,
//! and the table holds only the distinct chains a run produces, so a run
//! with millions of failures keeps a few hundred cells. Edges are counted in
//! a small per-caller table (sorted by callee) and handed to the recorder at
//! the end, so the hot path pays a binary search, not a map insert.

use super::World;
use crate::metrics::is_failure;
use crate::metrics::propagation::{EdgeCounts, Link, Node, PropagationRecorder};
use crate::proxy::flags::ResponseFlags;
use crate::workload::load::NONE;
use std::collections::BTreeMap;

/// (node, status, cause, next chain cell).
type Cell = (Node, u16, u32, u32);

/// Run-time failure-propagation state of one replication.
#[derive(Default)]
pub(super) struct PropRt {
    cells: Vec<Cell>,
    cell_ix: BTreeMap<Cell, u32>,
    causes: Vec<String>,
    cause_ix: BTreeMap<String, u32>,
    /// Failed load requests per chain (the load's own link first).
    failures: BTreeMap<u32, u64>,
    /// Per caller (loads, then services): (callee service, counts), sorted by callee.
    edges: Vec<Vec<(u32, EdgeCounts)>>,
}

impl PropRt {
    pub fn new(loads: usize, services: usize) -> PropRt {
        PropRt {
            edges: vec![Vec::new(); loads + services],
            ..Default::default()
        }
    }

    fn cause(&mut self, c: &str) -> u32 {
        if let Some(&i) = self.cause_ix.get(c) {
            return i;
        }
        let i = self.causes.len() as u32;
        self.causes.push(c.to_string());
        self.cause_ix.insert(c.to_string(), i);
        i
    }

    /// The chain `node status cause ← next` (interned).
    pub fn link(&mut self, node: Node, status: u16, cause: &str, next: u32) -> u32 {
        let cell = (node, status, self.cause(cause), next);
        if let Some(&i) = self.cell_ix.get(&cell) {
            return i;
        }
        let i = self.cells.len() as u32;
        self.cells.push(cell);
        self.cell_ix.insert(cell, i);
        i
    }

    /// Whether chain `c` is a root cause (one link).
    pub fn is_root(&self, c: u32) -> bool {
        c == NONE || self.cells[c as usize].3 == NONE
    }

    fn links(&self, mut c: u32) -> Vec<Link> {
        let mut out = Vec::new();
        while c != NONE {
            let (node, status, cause, next) = self.cells[c as usize];
            out.push(Link::new(node, status, &self.causes[cause as usize]));
            c = next;
        }
        out
    }

    fn caller_ix(&self, n: Node, loads: usize) -> usize {
        match n {
            Node::Load(l) => l as usize,
            Node::Service(s) => loads + s as usize,
        }
    }

    /// The recorder of this replication, with breaker windows and ejections
    /// added by the caller.
    pub fn into_recorder(self, loads: usize) -> PropagationRecorder {
        let mut rec = PropagationRecorder::default();
        for (&c, &n) in &self.failures {
            rec.failures_n(&self.links(c), n);
        }
        for (i, list) in self.edges.iter().enumerate() {
            let caller = if i < loads {
                Node::Load(i as u32)
            } else {
                Node::Service((i - loads) as u32)
            };
            for (callee, counts) in list {
                rec.add_edge(caller, Node::Service(*callee), counts);
            }
        }
        rec
    }
}

/// Envoy's flag string of a failure's cause (`-` when none).
pub(super) fn flags_cause(f: ResponseFlags) -> String {
    if f.is_empty() {
        "-".to_string()
    } else {
        f.to_string()
    }
}

impl World<'_> {
    /// Chain `node status cause ← next`.
    pub(super) fn chain(&mut self, node: Node, status: u16, cause: &str, next: u32) -> u32 {
        self.prop.link(node, status, cause, next)
    }

    /// One downstream request `caller` → service `callee` ended with
    /// `status` after `attempts` upstream attempts; `chain` says why it failed.
    pub(super) fn record_edge(
        &mut self,
        caller: Node,
        callee: u32,
        attempts: u32,
        status: u16,
        chain: u32,
    ) {
        let failed = is_failure(status);
        let caused = failed && self.prop.is_root(chain);
        let i = self.prop.caller_ix(caller, self.spec.loads.len());
        let list = &mut self.prop.edges[i];
        // Sorted by callee: a caller with a hundred callees (isotope's
        // fan-outs) pays a binary search, not a scan, per response.
        let p = match list.binary_search_by_key(&callee, |e| e.0) {
            Ok(p) => p,
            Err(p) => {
                list.insert(p, (callee, EdgeCounts::default()));
                p
            }
        };
        let e = &mut list[p].1;
        e.requests += 1;
        e.attempts += u64::from(attempts);
        e.failed += u64::from(failed);
        e.caused += u64::from(caused);
    }

    /// A load's request failed with `status`, because of `chain`.
    pub(super) fn record_failure(&mut self, load: u32, status: u16, chain: u32) {
        let c = self.chain(Node::Load(load), status, "-", chain);
        *self.prop.failures.entry(c).or_default() += 1;
    }

    /// The replication's recorder: chains, edges, breaker windows, ejections.
    pub(super) fn propagation_outcome(&mut self) -> PropagationRecorder {
        let prop = std::mem::take(&mut self.prop);
        let mut rec = prop.into_recorder(self.spec.loads.len());
        let from = self.window.from.0;
        if let Some(m) = &self.mesh {
            for &(client, cluster, t) in &m.rejections {
                if t.0 >= from {
                    let who = self.client_name(client);
                    rec.breaker_reject(&who, &self.xds.clusters[cluster as usize].name, t.0);
                }
            }
            for &(client, cluster, pod, a, b) in &m.ejections {
                if b.is_none_or(|b| b.0 >= from) {
                    let who = self.client_name(client);
                    let host = self.pod_name(pod);
                    let c = &self.xds.clusters[cluster as usize].name;
                    rec.ejection(&who, c, &host, a.0, b.map(|b| b.0));
                }
            }
        }
        rec
    }
}
