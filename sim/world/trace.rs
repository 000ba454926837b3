//! Teaching mode: the life of one request, step by step.
//!
//! Why: "what happens to my request?" is the first question a person asks of a
//! mesh. A tracer follows the n-th counted request of one load generator (and
//! every call it causes) through kube-proxy's choice, network hops, the pod's
//! queue and workers, its script and its calls, and writes one line per step.
//! Only requests marked `traced` pay for it (one branch on a bool elsewhere),
//! and tracing draws no random numbers, so a traced run is the same run.

use super::World;
use crate::engine::{SimDuration, SimTime};

/// Which request to follow: the `nth` (1-based) request that load `load`
/// issues inside the measurement window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceSpec {
    pub load: usize,
    pub nth: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Tracer {
    spec: TraceSpec,
    seen: u64,
    pub(crate) lines: Vec<String>,
}

impl Tracer {
    pub(crate) fn new(spec: TraceSpec) -> Self {
        Tracer {
            spec,
            seen: 0,
            lines: Vec::new(),
        }
    }

    /// Called for every counted request a load issues: true for the one to follow.
    pub(crate) fn select(&mut self, load: usize) -> bool {
        if load != self.spec.load || self.seen >= self.spec.nth {
            return false;
        }
        self.seen += 1;
        self.seen == self.spec.nth
    }

    /// One step at `now`, indented by call depth.
    pub(crate) fn log(&mut self, now: SimTime, depth: u16, msg: String) {
        let indent = "  ".repeat(depth as usize);
        // Fixed microsecond precision keeps the column aligned.
        let t = SimDuration(now.0).as_secs_f64();
        self.lines.push(format!("{t:>14.6}s  {indent}{msg}"));
    }
}

impl World<'_> {
    /// Follows one request step by step (see this module); the run is otherwise identical.
    pub fn with_trace(mut self, spec: TraceSpec) -> Self {
        self.trace = Some(Box::new(Tracer::new(spec)));
        self
    }

    /// Logs a step of traced request `r`.
    pub(super) fn trace_log(&mut self, r: u32, msg: String) {
        let now = self.now();
        let depth = self.requests.items[r as usize].depth;
        if let Some(t) = &mut self.trace {
            t.log(now, depth, msg);
        }
    }

    /// `reviews-v2-0` (and `on node-a` when the cluster has several nodes).
    pub(super) fn pod_name(&self, pod: u32) -> String {
        let p = &self.pods[pod as usize];
        let d = &self.spec.deployments[p.deployment as usize];
        let nodes = &self.spec.network.cluster.nodes;
        match nodes.get(self.node_of[pod as usize] as usize) {
            Some(n) if nodes.len() > 1 => format!("{}-{} (node {})", d.name, p.replica, n.name),
            _ => format!("{}-{}", d.name, p.replica),
        }
    }
}
