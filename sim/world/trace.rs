//! Teaching mode: the life of one request, step by step.
//!
//! Why: "what happens to my request?" is the first question a person asks of a
//! mesh. A tracer follows the n-th counted request of one load generator (and
//! every call it causes) through kube-proxy's choice, network hops, the pod's
//! queue and workers, its script and its calls, and writes one line per step.
//! Only requests marked `traced` pay for it (one branch on a bool elsewhere),
//! and tracing draws no random numbers, so a traced run is the same run.
//!
//! "Follow the first failed (or the slowest) request" cannot be decided when a
//! request is issued, so it takes two runs of the same replication: a
//! [`Picker`] run, untraced, notes the ordinal of the request to follow (every
//! load request carries its ordinal among the load's counted requests), then
//! a traced run follows that ordinal. Determinism makes the second run meet
//! the very same request.

use super::World;
use crate::engine::{SimDuration, SimTime};

/// Which request to follow: the `nth` (1-based) request that load `load`
/// issues inside the measurement window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceSpec {
    pub load: usize,
    pub nth: u64,
}

/// What a [`Picker`] run found among one load's requests issued inside the
/// measurement window (ordinals are 1-based, in issue order, as
/// [`TraceSpec::nth`] counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Picks {
    /// The first request (in issue order) that completed as a failure
    /// (`metrics::is_failure`); None when none did.
    pub first_failed: Option<u64>,
    /// The slowest completed request (failures included, as the latency
    /// histogram counts them): (ordinal, latency in ns); ties go to the first
    /// issued. None when no request completed.
    pub slowest: Option<(u64, u64)>,
}

/// Notes [`Picks`] for one load while an untraced replication runs.
///
/// The ordinals live here, by request id, not in `Request`: that struct is
/// the hot path's memory (every request of every run), and only this run
/// needs them.
#[derive(Clone, Debug)]
pub(crate) struct Picker {
    load: usize,
    /// By request id: the ordinal of the counted request of `load` holding it.
    ordinals: Vec<u32>,
    pub(crate) picks: Picks,
}

impl Picker {
    /// Load `load` issued request `r`, its `ordinal`-th counted one (0 = not counted).
    pub(crate) fn issued(&mut self, r: u32, load: usize, ordinal: u32) {
        if load != self.load || ordinal == 0 {
            return;
        }
        let r = r as usize;
        if self.ordinals.len() <= r {
            self.ordinals.resize(r + 1, 0);
        }
        self.ordinals[r] = ordinal;
    }

    /// Counted request `r` of load `load` completed with `status` after
    /// `latency_ns` (called before its id can be reused).
    pub(crate) fn note(&mut self, r: u32, load: usize, latency_ns: u64, status: u16) {
        if load != self.load {
            return;
        }
        let ordinal = u64::from(self.ordinals.get(r as usize).copied().unwrap_or(0));
        let p = &mut self.picks;
        if crate::metrics::is_failure(status) && p.first_failed.is_none_or(|o| ordinal < o) {
            p.first_failed = Some(ordinal);
        }
        let slower = match p.slowest {
            None => true,
            Some((o, ns)) => latency_ns > ns || (latency_ns == ns && ordinal < o),
        };
        if slower {
            p.slowest = Some((ordinal, latency_ns));
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Tracer {
    spec: TraceSpec,
    pub(crate) lines: Vec<String>,
}

impl Tracer {
    pub(crate) fn new(spec: TraceSpec) -> Self {
        Tracer {
            spec,
            lines: Vec::new(),
        }
    }

    /// Called for every counted request a load issues (with its 1-based
    /// ordinal among that load's counted requests): true for the one to follow.
    pub(crate) fn select(&self, load: usize, ordinal: u32) -> bool {
        load == self.spec.load && u64::from(ordinal) == self.spec.nth
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

    /// Notes, for load `load`, the first failed and the slowest counted
    /// request ([`Picks`], in `Outcome::picks`); the run is otherwise identical.
    pub fn with_picker(mut self, load: usize) -> Self {
        self.picker = Some(Box::new(Picker {
            load,
            ordinals: Vec::new(),
            picks: Picks::default(),
        }));
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

    /// For a traced host pick of balancer `lb`: the hosts its outlier
    /// detector has ejected right now (so the pick skipped them), as
    /// `; outlier detection has ejected reviews-v1-0 (since 12.5s)`, or ""
    /// when none is (or `lb` is NONE). Only traced requests pay for it.
    pub(super) fn ejected_note(&self, lb: u32) -> String {
        let Some(st) = self
            .mesh
            .as_ref()
            .and_then(|m| m.lb_states.get(lb as usize))
        else {
            return String::new();
        };
        let now = self.now();
        let out: Vec<String> = st
            .ejected_since
            .iter()
            .zip(&st.pods)
            .filter_map(|(since, &pod)| {
                since.map(|t| format!("{} (for {})", self.pod_name(pod), now.saturating_since(t)))
            })
            .collect();
        if out.is_empty() {
            String::new()
        } else {
            format!("; outlier detection has ejected {}", out.join(", "))
        }
    }

    /// `reviews-v2-0` (and `on node-a` when the cluster has several nodes).
    pub(super) fn pod_name(&self, pod: u32) -> String {
        let p = &self.pods[pod as usize];
        let d = &self.spec.deployments[p.deployment as usize];
        let nodes = &self.spec.network.cluster.nodes;
        // A replacement pod has its own name (`pod_lifecycle.rs`).
        let name = match &self.life {
            Some(l) => l.name(pod).to_string(),
            None => format!("{}-{}", d.name, p.replica),
        };
        match nodes.get(self.node_of[pod as usize] as usize) {
            Some(n) if nodes.len() > 1 => format!("{name} (node {})", n.name),
            _ => name,
        }
    }
}
