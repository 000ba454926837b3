//! The vocabulary of the pod lifecycle's schedule: which step an
//! `Event::Lifecycle` carries ([`Step`]), which containers a (re)start
//! brings back ([`Part`]), and the timed events' own steps ([`TimedStep`]).
//!
//! Why a file of its own: every lifecycle room (`pod_lifecycle.rs` holds the
//! state and the dispatch, `probe.rs`, `rollout.rs`, `replicaset.rs`,
//! `termination.rs`, `chaos_mesh.rs`, `inbound_retry.rs` schedule steps)
//! names these; kept beside the dispatcher they made every room and the
//! dispatcher import each other.

use crate::cluster::node::NodeIx;

/// A scheduled lifecycle step (`Event::Lifecycle` carries its index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Experiment `a` starts / its duration is over.
    ChaosStart(u32),
    ChaosEnd(u32),
    /// Containers of `pod` run again (stale unless `epoch` matches).
    Started {
        pod: u32,
        epoch: u32,
        what: Part,
    },
    /// The app of `pod` accepts connections.
    Listening {
        pod: u32,
        epoch: u32,
    },
    /// A readiness change of `pod` reaches kube-proxy and the sidecars.
    Endpoint {
        pod: u32,
        present: bool,
    },
    /// meshsim's own timed events and the controllers they wake
    /// (`rollout.rs`).
    Timed(TimedStep),
    /// Probe `kind` of `pod` is due (`probe.rs`; stale unless `epoch`
    /// matches).
    ProbeTick {
        pod: u32,
        epoch: u32,
        kind: u8,
    },
    /// The inbound sidecar of `pod` retries request `req`
    /// (`inbound_retry.rs`), its `tried`-th retry.
    InboundRetry {
        req: u32,
        pod: u32,
        tried: u32,
    },
    /// A terminating pod's app gets SIGTERM / is killed or has drained
    /// (`termination.rs`; stale unless `epoch` matches).
    Sigterm {
        pod: u32,
        epoch: u32,
    },
    Kill {
        pod: u32,
        epoch: u32,
    },
    /// A queued probe's `timeoutSeconds` is over.
    ProbeTimeout {
        pod: u32,
        kind: u8,
        generation: u32,
    },
}

/// Which containers a (re)start brings back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Pod,
    App,
    Sidecar,
}

/// A timed step (carried by `Step::Timed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimedStep {
    /// Event `i` of the plan happens.
    Event(u32),
    /// The Deployment controller syncs rollable `r`.
    Sync(u32),
    /// The node lifecycle controller marks node `n` NotReady.
    NotReady(NodeIx),
    /// Pods of lost node `n` are evicted.
    Evict(NodeIx),
}
