//! The cluster changing during a run, as validated data: Chaos Mesh
//! experiments resolved to the pods they may select, and the lifecycle
//! timings (endpoint propagation, pod start) the world applies.
//!
//! Inert: the world (`sim/world/pod_lifecycle.rs`) turns it into events. A
//! scenario without Chaos Mesh objects has an empty plan and the world
//! schedules nothing, so its results are exactly those of a run before
//! lifecycle existed.

use crate::engine::SimDuration;

/// Lifecycle timings (`Simulation.spec.lifecycle`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// From a pod's readiness change (or deletion) to the moment kube-proxy
    /// and every sidecar's balancer see it. Not a Kubernetes constant: the
    /// kubelet's status update, the EndpointSlice controller, kube-proxy's
    /// iptables sync (`--iptables-min-sync-period`, 1 s by default) and
    /// istiod's EDS debounce (100 ms quiet period, reference §1) in series;
    /// meshsim's default is 1 s.
    pub endpoint_delay: SimDuration,
    /// From a pod's creation (the Deployment replacing a deleted pod) or a
    /// container's restart to its containers running. Default 1 s (image
    /// already on the node).
    pub container_start: SimDuration,
    /// From the containers running to the app accepting connections.
    /// Default 0 s.
    pub app_startup: SimDuration,
    /// From a node going silent to the node lifecycle controller marking it
    /// NotReady and its pods unready (`--node-monitor-grace-period`: 50 s in
    /// current Kubernetes, 40 s in older releases).
    pub node_monitor_grace: SimDuration,
    /// From then to the pods' eviction (the `node.kubernetes.io/unreachable`
    /// toleration the DefaultTolerationSeconds admission plugin adds:
    /// 300 s); the ReplicaSet then creates replacements elsewhere.
    pub unreachable_toleration: SimDuration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            endpoint_delay: SimDuration::from_secs(1),
            container_start: SimDuration::from_secs(1),
            app_startup: SimDuration::ZERO,
            node_monitor_grace: SimDuration::from_secs(50),
            unreachable_toleration: SimDuration::from_secs(300),
        }
    }
}

/// How many of the selected pods an experiment acts on (Chaos Mesh
/// `SelectorMode`, `api/v1alpha1/selector.go`; picked as
/// `pkg/selector/generic/mode.go` `FilterObjectsByMode` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    One,
    All,
    /// `fixed`: this many (all when fewer match).
    Fixed(u32),
    /// `fixed-percent`: ceil(count × p / 100).
    FixedPercent(u32),
    /// `random-max-percent`: p' uniform in 0..=p, then ceil(count × p' / 100).
    RandomMaxPercent(u32),
}

/// Which container `container-kill` kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// The application container (any container that is not `istio-proxy`).
    App,
    /// The injected `istio-proxy` sidecar.
    Sidecar,
}

/// What an experiment does to each pod it acts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChaosKind {
    /// `PodChaos` `pod-kill`: the pod is deleted (no grace period by
    /// default), its Deployment creates a replacement.
    PodKill,
    /// `PodChaos` `pod-failure`: every container's image becomes the pause
    /// image for `duration`, then is restored.
    PodFailure,
    /// `PodChaos` `container-kill`: the container is killed and the kubelet
    /// restarts it in the same pod.
    ContainerKill(Container),
    /// `NetworkChaos` `delay`: netem on the pod's egress.
    Delay {
        latency: SimDuration,
        jitter: SimDuration,
        /// Percent, 0–100.
        correlation: f64,
    },
    /// `NetworkChaos` `partition`: iptables drop between the selected pods
    /// and the target's (every peer without a target). TCP needs both
    /// directions, so `to`, `from` and `both` all break every connection
    /// between them: new connections fail after the connect timeout.
    Partition,
}

/// A `NetworkChaos` `target` (a `PodSelector`: selector, mode, value).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionTarget {
    pub deployments: Vec<usize>,
    pub mode: Mode,
}

/// One experiment, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosAction {
    /// `PodChaos default/kill-one` (for events and reports).
    pub name: String,
    /// RNG stream key of the mode's choice: `chaos/<kind>/<ns>/<name>`.
    pub key: String,
    /// `metadata.annotations["meshsim.dev/start"]` (default 0 s: Chaos Mesh
    /// starts an experiment when it is created).
    pub start: SimDuration,
    /// `spec.duration` (None = one-shot / until the end of the run).
    pub duration: Option<SimDuration>,
    pub kind: ChaosKind,
    pub mode: Mode,
    /// Deployments whose pods the selector matches (namespaces and label
    /// selectors); pods are chosen among their running pods at `start`.
    pub deployments: Vec<usize>,
    /// `selector.pods`: only these pods (deployment, replica slot).
    pub pods: Option<Vec<(usize, u32)>>,
    /// `partition` only: the other side (None = every peer, as Chaos Mesh
    /// drops all of the pods' traffic without a target).
    pub target: Option<PartitionTarget>,
}

/// Everything of the run's lifecycle (empty: nothing changes during the run).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChaosPlan {
    pub actions: Vec<ChaosAction>,
    pub lifecycle: Lifecycle,
    /// Per deployment: its app container's probes (empty when no
    /// Deployment declares one).
    pub probes: Vec<super::probe::Probes>,
    /// Per deployment: how its pods stop when deleted (empty when no
    /// Deployment declares a grace period or a preStop hook: the defaults).
    pub termination: Vec<super::termination::Termination>,
    /// Chaos Mesh objects or actions read but not simulated, one line each
    /// (also in `Scenario::not_simulated`; `meshsim validate` lists them).
    pub not_simulated: Vec<String>,
    /// meshsim's own timed events (`Simulation.spec.events`).
    pub timed: super::events::TimedPlan,
}

impl ChaosPlan {
    /// Whether anything can change during the run: an experiment, or a
    /// probe the kubelet runs.
    pub fn is_active(&self) -> bool {
        !self.actions.is_empty() || self.timed.is_active() || !self.probes.is_empty()
    }
}
