//! meshsim's own timed events (`Simulation.spec.events`): what no Chaos
//! Mesh experiment says — scale a Deployment, roll it to a new pod
//! template, change how a workload serves, drain a node, lose a node or a
//! zone — as validated data.
//!
//! Why ReplicaSets are deployments here: a rollout creates a ReplicaSet
//! with a new pod template (new labels, e.g. `version: v2`), and every
//! part of meshsim that cares about pods (Service selectors, DestinationRule
//! subsets, reports) already works per pod template. So the loader adds the
//! new ReplicaSet as one more entry of `Scenario::deployments`, with its
//! pods absent until the Deployment controller scales it up
//! (`sim/world/rollout.rs`).

use crate::cluster::node::NodeIx;
use crate::engine::SimDuration;
use crate::scenario::spec::ErrorInjection;

/// An absolute count or a percentage of the desired replicas (Kubernetes
/// `IntOrString` for `maxSurge` / `maxUnavailable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(u32),
    Percent(u32),
}

impl IntOrPercent {
    /// `intstr.GetScaledValueFromIntOrPercent`: a percentage of `total`,
    /// rounded up or down.
    pub fn scaled(self, total: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let x = u64::from(p) * u64::from(total);
                (if round_up { x.div_ceil(100) } else { x / 100 }) as u32
            }
        }
    }
}

/// `spec.strategy` of a Deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `RollingUpdate` (the default; 25 % / 25 %).
    Rolling {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
    /// `Recreate`: every old pod is deleted before a new one is created.
    Recreate,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy::Rolling {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        }
    }
}

impl Strategy {
    /// `deploymentutil.ResolveFenceposts`: (maxSurge rounded up,
    /// maxUnavailable rounded down; 1 when both are 0).
    pub fn fenceposts(self, desired: u32) -> (u32, u32) {
        match self {
            Strategy::Rolling {
                max_surge,
                max_unavailable,
            } => {
                let s = max_surge.scaled(desired, true);
                let u = max_unavailable.scaled(desired, false);
                if s == 0 && u == 0 { (0, 1) } else { (s, u) }
            }
            Strategy::Recreate => (0, desired),
        }
    }
}

/// One Deployment whose ReplicaSets change during the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollable {
    /// `namespace/name` of the Deployment.
    pub name: String,
    /// Its ReplicaSets as `Scenario::deployments` indexes, oldest first
    /// (the first is the Deployment's own entry).
    pub replica_sets: Vec<usize>,
    pub strategy: Strategy,
    /// `spec.replicas` at the start.
    pub replicas: u32,
}

/// How a workload's pods serve from a time on (`workload` event).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Serving {
    /// Every compute step's draw multiplied by this (None = unchanged).
    pub service_time_scale: Option<f64>,
    /// Injected errors from now on (`Some(None)` = none any more).
    pub errors: Option<Option<ErrorInjection>>,
}

/// What happens at an event's time.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// `scale`: the Deployment's `spec.replicas` becomes this.
    Scale { rollable: usize, replicas: u32 },
    /// `rollout`: the pod template changes; `replica_set` (a
    /// `Scenario::deployments` index) is the new ReplicaSet.
    Rollout { rollable: usize, replica_set: usize },
    /// `workload`: how the pods of these ReplicaSets serve changes.
    Serve {
        replica_sets: Vec<usize>,
        serving: Serving,
    },
    /// `drain`: `kubectl drain` — cordon, then evict every pod.
    Drain { nodes: Vec<NodeIx> },
    /// `loseNode` / `loseZone`: the nodes stop answering.
    Lose { nodes: Vec<NodeIx> },
}

/// One event, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedEvent {
    pub at: SimDuration,
    /// `drain node-a`, `rollout default/web` (for the pod timeline).
    pub name: String,
    pub kind: EventKind,
}

/// Every timed event of the run (empty: nothing of this happens).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimedPlan {
    pub events: Vec<TimedEvent>,
    pub rollables: Vec<Rollable>,
    /// Per `Scenario::deployments` entry: pods running at the start (the
    /// other `replicas − initial` slots are absent until created). Empty
    /// when no event exists.
    pub initial: Vec<u32>,
}

impl TimedPlan {
    pub fn is_active(&self) -> bool {
        !self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        let s = Strategy::default();
        // 25 % of 3: surge ceil(0.75) = 1, unavailable floor(0.75) = 0.
        assert_eq!(s.fenceposts(3), (1, 0));
        assert_eq!(s.fenceposts(10), (3, 2));
        let zero = Strategy::Rolling {
            max_surge: IntOrPercent::Int(0),
            max_unavailable: IntOrPercent::Percent(10),
        };
        // Both 0 after scaling: maxUnavailable becomes 1.
        assert_eq!(zero.fenceposts(4), (0, 1));
    }
}
