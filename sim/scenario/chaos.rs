//! Chaos Mesh experiments (`chaos-mesh.org/v1alpha1`), read unchanged, and
//! the lifecycle timings of `Simulation.spec.lifecycle`.
//!
//! Why a collector like Istio's: an experiment names pods by namespace and
//! labels, so it can only be resolved once every Deployment is known (and,
//! for `containerNames: [istio-proxy]`, once sidecar injection is decided).
//! The loader calls [`Collector::object`] for every object and
//! [`Collector::finish`] after Istio's.
//!
//! Fields follow chaos-mesh/chaos-mesh `api/v1alpha1` (read at commit
//! 608b61e7): `podchaos_types.go` (`action` pod-kill | pod-failure |
//! container-kill, `duration` — "required when the action is
//! PodFailureAction" —, `gracePeriod`), `podchaos_webhook.go`
//! (container-kill without `containerNames` is invalid), `selector.go`
//! (`mode` one | all | fixed | fixed-percent | random-max-percent, `value`,
//! `selector.namespaces` — defaulting to the experiment's own namespace,
//! `DefaultNamespace` —, `labelSelectors`, `pods`), `networkchaos_types.go`
//! (`action` netem | delay | loss | duplicate | corrupt | partition |
//! bandwidth; `delay.latency`, `jitter`, `correlation`; `direction` to |
//! from | both, default to; `target`), and for `partition`
//! `controllers/chaosimpl/networkchaos/partition/impl.go` (DROP towards the
//! target's pods, or everything without a target). Chaos Mesh starts an experiment when it is
//! created: meshsim reads the start from the annotation
//! `meshsim.dev/start` (default 0 s).
//!
//! What meshsim cannot model faithfully is listed as not simulated (never a
//! silent no-op): packet loss, duplication, corruption, bandwidth, netem,
//! and every other Chaos Mesh kind (StressChaos, IOChaos, HTTPChaos, …).
//! meshsim's own timed events (`Simulation.spec.events`): `events.rs`.

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::object::{Object, prefix};
use super::raw::Loc;
use super::spec::Scenario;
use super::spec::chaos::*;
use super::spec::probe::Probes;
use super::spec::termination::Termination;
use crate::engine::SimDuration;
use std::collections::BTreeMap;

/// The apiVersion Chaos Mesh serves.
pub const API_VERSION: &str = "chaos-mesh.org/v1alpha1";
/// The annotation meshsim reads an experiment's start time from.
pub const START_ANNOTATION: &str = "meshsim.dev/start";

/// An experiment before its selector is resolved.
struct Raw {
    origin: Origin,
    at: (Loc, String),
    kind_name: String,
    namespace: String,
    start: SimDuration,
    duration: Option<SimDuration>,
    kind: RawKind,
    mode: Mode,
    namespaces: Vec<String>,
    labels: BTreeMap<String, String>,
    pods: Option<Vec<(String, String, Loc, String)>>,
    /// partition: the target's (namespaces, labels, mode).
    target: Option<(Vec<String>, BTreeMap<String, String>, Mode)>,
}

enum RawKind {
    Known(ChaosKind),
    /// container-kill: the names, where they are.
    Containers(Vec<String>, Loc, String),
}

/// A pod template's app container names, probes, and termination (with
/// whether the template declared any of it).
type Template = (Vec<String>, Probes, (Termination, bool));

/// Collects experiments, lifecycle settings and the probe facts of
/// Deployments.
#[derive(Default)]
pub struct Collector {
    raws: Vec<Raw>,
    lifecycle: Option<Lifecycle>,
    /// (namespace, deployment) → (app container names, probes).
    templates: BTreeMap<(String, String), Template>,
    not_simulated: Vec<String>,
    /// `Simulation.spec.events` and the Deployments' strategies.
    events: super::events::Collector,
}

impl Collector {
    /// Reads what this collector needs from `o`; true when `o` is a Chaos
    /// Mesh object (consumed here), false otherwise.
    pub fn object(&mut self, o: &Object, cx: &mut Cx) -> bool {
        match o.kind.as_str() {
            "Deployment" => {
                self.deployment(o, cx);
                self.events.deployment(o, cx);
                return false;
            }
            "Simulation" if o.api_version == super::object::MESHSIM_API => {
                self.events.simulation(o, cx);
                if let Some(l) = o.node.get("spec").and_then(|s| s.get("lifecycle")) {
                    self.lifecycle = Some(lifecycle(&l, cx));
                }
                return false;
            }
            _ => {}
        }
        if !o.api_version.starts_with("chaos-mesh.org/") {
            return false;
        }
        if o.api_version != API_VERSION {
            let at = o.node.get("apiVersion").unwrap_or(o.node.clone());
            cx.error(
                &at,
                format!("{:?}: Chaos Mesh serves {API_VERSION}", o.api_version),
            );
            return true;
        }
        match o.kind.as_str() {
            "PodChaos" => self.pod_chaos(o, cx),
            "NetworkChaos" => self.network_chaos(o, cx),
            other => {
                let what = match other {
                    "StressChaos" => {
                        "StressChaos (CPU/memory stress): not simulated — meshsim has no CPU or memory model; a slower Workload serviceTime is the nearest experiment"
                    }
                    "Schedule" | "Workflow" => {
                        "a Chaos Mesh Schedule/Workflow: not simulated — write each experiment as its own object with meshsim.dev/start"
                    }
                    _ => "this Chaos Mesh kind is not simulated",
                };
                self.not_simulated.push(o.note_line(what));
            }
        }
        true
    }

    fn deployment(&mut self, o: &Object, cx: &mut Cx) {
        let Some(containers) = o
            .node
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"))
            .and_then(|s| s.get("containers"))
        else {
            return;
        };
        let mut names = Vec::new();
        let mut probes = Probes::default();
        let pod_spec = o
            .node
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"));
        let mut term = Termination::default();
        let mut notes = Vec::new();
        if let Some(ps) = &pod_spec {
            super::termination::pod(cx, ps, &mut term);
        }
        let list = match &containers.node.value {
            super::raw::Value::Seq(_) => cx.seq(&containers).unwrap_or_default(),
            _ => Vec::new(),
        };
        for c in list {
            let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if name == "istio-proxy" {
                continue;
            }
            names.push(name.to_string());
            super::probes::container(cx, &c, &mut probes);
            super::termination::container(cx, &c, &mut term, &mut notes);
        }
        for n in notes {
            self.not_simulated.push(o.note_line(&n));
        }
        let declared = term != Termination::default();
        self.templates.insert(
            (o.namespace.clone(), o.name.clone()),
            (names, probes, (term, declared)),
        );
    }

    /// Fields shared by PodChaos and NetworkChaos: start, duration, mode, selector.
    fn common(&mut self, o: &Object, cx: &mut Cx, spec: &V, kind: RawKind) {
        let at = o
            .node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .map(|n| (n.loc(), n.path.clone()))
            .unwrap_or((o.node.loc(), String::new()));
        let start = o
            .node
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(START_ANNOTATION))
            .and_then(|v| cx.duration(&v))
            .unwrap_or(SimDuration::ZERO);
        let duration = spec.get("duration").and_then(|v| cx.positive_duration(&v));
        let mode = mode_of(cx, spec);
        let selector = cx.req(spec, "selector");
        let (mut namespaces, labels, pods) = selector
            .as_ref()
            .map(|sel| selector_of(cx, sel))
            .unwrap_or_default();
        // `DefaultNamespace`: an empty list means the experiment's namespace.
        if namespaces.is_empty() {
            namespaces.push(o.namespace.clone());
        }
        if spec.has("remoteCluster") {
            let v = spec.get("remoteCluster").expect("has");
            cx.error(&v, "not simulated: meshsim models one cluster");
        }
        let (Some(mode), Some(_)) = (mode, selector) else {
            return;
        };
        self.raws.push(Raw {
            origin: o.origin.clone(),
            at,
            kind_name: format!("{} {}/{}", o.kind, o.namespace, o.name),
            namespace: o.namespace.clone(),
            start,
            duration,
            kind,
            mode,
            namespaces,
            labels,
            pods,
            target: None,
        });
    }

    fn pod_chaos(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        // `Default action: pod-kill` (podchaos_types.go).
        let action = match spec.get("action") {
            Some(a) => cx.one_of(
                &a,
                &[("pod-kill", 0), ("pod-failure", 1), ("container-kill", 2)],
            ),
            None => Some(0),
        };
        let Some(action) = action else { return };
        if action == 1 && !spec.has("duration") {
            cx.error_at(
                spec.loc(),
                &format!("{}spec.duration", prefix(&o.node)),
                "missing required field: pod-failure needs a duration (podchaos_types.go: \"It is required when the action is PodFailureAction\")",
            );
            return;
        }
        if let Some(g) = spec.get("gracePeriod")
            && cx.int(&g).is_some_and(|g| g > 0)
        {
            cx.warn(
                &g,
                "gracePeriod is not simulated: the pod is deleted at once (as with the default 0)",
            );
        }
        let kind = match action {
            0 => RawKind::Known(ChaosKind::PodKill),
            1 => RawKind::Known(ChaosKind::PodFailure),
            _ => {
                let names = spec.get("containerNames");
                let list: Vec<String> = names
                    .as_ref()
                    .map(|n| {
                        cx.seq(n)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|v| cx.str(v).map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if list.is_empty() {
                    // podchaos_webhook.go: "the name of container is required on container-kill action".
                    cx.error_at(
                        names.as_ref().map_or(spec.loc(), |n| n.loc()),
                        &format!("{}spec.containerNames", prefix(&o.node)),
                        "the name of container is required on container-kill action (podchaos_webhook.go)",
                    );
                    return;
                }
                let n = names.expect("non-empty");
                RawKind::Containers(list, n.loc(), n.path.clone())
            }
        };
        self.common(o, cx, &spec, kind);
    }

    fn network_chaos(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        // `Default action: delay` (networkchaos_types.go).
        let action = spec
            .get("action")
            .and_then(|a| cx.str(&a).map(str::to_string))
            .unwrap_or_else(|| "delay".into());
        let why = match action.as_str() {
            "delay" => None,
            "loss" => Some(
                "packet loss: meshsim has no TCP (retransmissions and their latency are not modelled)",
            ),
            "duplicate" => Some("packet duplication: meshsim has no TCP"),
            "corrupt" => Some("packet corruption: meshsim has no TCP"),
            "bandwidth" => Some("bandwidth limits: meshsim has no bytes or bandwidth"),
            "netem" => Some(
                "netem (combined delay/loss/duplicate/corrupt): split it; delay alone is simulated",
            ),
            "partition" => None,
            _ => {
                let a = spec.get("action").expect("an unknown action was written");
                cx.error(
                    &a,
                    format!(
                        "{action:?}, must be one of netem, delay, loss, duplicate, corrupt, partition, bandwidth"
                    ),
                );
                return;
            }
        };
        if let Some(why) = why {
            self.not_simulated
                .push(o.note_line(&format!("NetworkChaos {action}: not simulated — {why}")));
            return;
        }
        if action == "partition" {
            self.partition(o, cx, &spec);
            return;
        }
        for unsupported in ["target", "externalTargets", "device", "targetDevice"] {
            if let Some(v) = spec.get(unsupported) {
                cx.error(
                    &v,
                    "not simulated: meshsim delays every packet the selected pods send",
                );
            }
        }
        if let Some(d) = spec.get("direction")
            && cx.str(&d).is_some_and(|s| s != "to")
        {
            cx.error(
                &d,
                "not simulated: meshsim models direction \"to\" only (the default: the selected pods' egress)",
            );
        }
        let Some(delay) = cx.req(&spec, "delay") else {
            return;
        };
        let latency = cx.req(&delay, "latency").and_then(|v| cx.duration(&v));
        let jitter = delay
            .get("jitter")
            .and_then(|v| cx.duration(&v))
            .unwrap_or(SimDuration::ZERO);
        let correlation = match delay.get("correlation") {
            Some(c) => {
                let s = cx.scalar_string(&c).unwrap_or_default();
                match s.parse::<f64>() {
                    Ok(x) if (0.0..=100.0).contains(&x) => x,
                    _ => {
                        cx.error(&c, format!("{s:?}, must be a number in 0..=100 (percent)"));
                        0.0
                    }
                }
            }
            None => 0.0,
        };
        if delay.has("reorder") {
            let r = delay.get("reorder").expect("has");
            cx.error(&r, "not simulated: meshsim has no packets to reorder");
        }
        let Some(latency) = latency else { return };
        let kind = RawKind::Known(ChaosKind::Delay {
            latency,
            jitter,
            correlation,
        });
        self.common(o, cx, &spec, kind);
    }

    /// `partition` (partition/impl.go): iptables DROP on the selected pods'
    /// OUTPUT (`to`), INPUT (`from`) or both, towards the target's pods, or
    /// all traffic when there is no target and no `externalTargets`.
    fn partition(&mut self, o: &Object, cx: &mut Cx, spec: &V) {
        for unsupported in ["externalTargets", "device", "targetDevice"] {
            if let Some(v) = spec.get(unsupported) {
                cx.error(
                    &v,
                    "not simulated: meshsim partitions pods from pods (target) or from everything",
                );
            }
        }
        if let Some(d) = spec.get("direction") {
            // kubebuilder: Enum=to;from;both. A TCP connection needs packets
            // both ways, so each direction breaks it the same way.
            cx.one_of(&d, &[("to", ()), ("from", ()), ("both", ())]);
        }
        let target = spec.get("target").and_then(|t| {
            let mode = mode_of(cx, &t);
            let sel = cx.req(&t, "selector")?;
            let (mut namespaces, labels, pods) = selector_of(cx, &sel);
            if let Some(p) = sel.get("pods").filter(|_| pods.is_some()) {
                cx.error(
                    &p,
                    "not simulated in a partition target: select by labelSelectors",
                );
            }
            if namespaces.is_empty() {
                namespaces.push(o.namespace.clone());
            }
            Some((namespaces, labels, mode?))
        });
        let n = self.raws.len();
        self.common(o, cx, spec, RawKind::Known(ChaosKind::Partition));
        if self.raws.len() > n {
            self.raws[n].target = target;
        }
    }

    /// Resolves every experiment against the scenario's Deployments.
    pub fn finish(mut self, s: &mut Scenario, diags: &mut Diagnostics) {
        // Rollouts add their ReplicaSets first: selectors may match them.
        let timed = std::mem::take(&mut self.events).finish(s, diags);
        s.not_simulated.extend(self.not_simulated.iter().cloned());
        let mut plan = ChaosPlan {
            lifecycle: self.lifecycle.unwrap_or_default(),
            not_simulated: self.not_simulated,
            timed,
            ..ChaosPlan::default()
        };
        for r in self.raws {
            let mut cx = Cx::new(r.origin.clone(), diags);
            let deployments: Vec<usize> = s
                .deployments
                .iter()
                .enumerate()
                .filter(|(_, d)| r.namespaces.contains(&d.namespace))
                .filter(|(_, d)| r.labels.iter().all(|(k, v)| d.labels.get(k) == Some(v)))
                .map(|(i, _)| i)
                .collect();
            let pods = r.pods.as_ref().map(|list| {
                let mut out = Vec::new();
                for (ns, name, loc, path) in list {
                    let found = deployments.iter().find_map(|&di| {
                        let d = &s.deployments[di];
                        let idx = name.strip_prefix(&format!("{}-", d.name))?;
                        let r: u32 = idx.parse().ok()?;
                        (d.namespace == *ns && r < d.replicas).then_some((di, r))
                    });
                    match found {
                        Some(p) => out.push(p),
                        None => cx.error_at(
                            *loc,
                            path,
                            format!(
                                "no pod {ns}/{name} among the selected ones (meshsim names pods <deployment>-<index>, e.g. reviews-v1-0)"
                            ),
                        ),
                    }
                }
                out
            });
            if deployments.is_empty() {
                cx.warn_at(
                    r.at.0,
                    &r.at.1,
                    format!(
                        "{}: the selector matches no pod (Chaos Mesh fails the experiment: \"cannot generate objects from empty list\")",
                        r.kind_name
                    ),
                );
                continue;
            }
            let kind = match r.kind {
                RawKind::Known(k) => k,
                RawKind::Containers(names, loc, path) => {
                    let sidecar = names.iter().any(|n| n == "istio-proxy");
                    let app = names.iter().any(|n| n != "istio-proxy");
                    if sidecar && app {
                        cx.error_at(
                            loc,
                            &path,
                            "meshsim kills one container per experiment: write one PodChaos for istio-proxy and one for the app container",
                        );
                        continue;
                    }
                    let mut ok = true;
                    for &di in &deployments {
                        let d = &s.deployments[di];
                        let known = self
                            .templates
                            .get(&(d.namespace.clone(), d.name.clone()))
                            .map(|t| t.0.clone())
                            .unwrap_or_default();
                        for n in &names {
                            let fine = if n == "istio-proxy" {
                                s.istio.has_sidecar(di)
                            } else {
                                known.contains(n)
                            };
                            if !fine {
                                ok = false;
                                cx.error_at(
                                    loc,
                                    &path,
                                    format!(
                                        "pods of {}/{} have no container {n:?} (containers: {}{})",
                                        d.namespace,
                                        d.name,
                                        known.join(", "),
                                        if s.istio.has_sidecar(di) {
                                            ", istio-proxy"
                                        } else {
                                            ""
                                        }
                                    ),
                                );
                            }
                        }
                    }
                    if !ok {
                        continue;
                    }
                    ChaosKind::ContainerKill(if sidecar {
                        Container::Sidecar
                    } else {
                        Container::App
                    })
                }
            };
            if r.start >= s.run.duration {
                cx.warn_at(
                    r.at.0,
                    &r.at.1,
                    format!(
                        "{}: starts at {} ({START_ANNOTATION}), after the run ends ({})",
                        r.kind_name, r.start, s.run.duration
                    ),
                );
            }
            let key = format!("chaos/{}", r.kind_name.replace(' ', "/"));
            let _ = &r.namespace;
            let target = r.target.map(|(namespaces, labels, mode)| PartitionTarget {
                deployments: s
                    .deployments
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| namespaces.contains(&d.namespace))
                    .filter(|(_, d)| labels.iter().all(|(k, v)| d.labels.get(k) == Some(v)))
                    .map(|(i, _)| i)
                    .collect(),
                mode,
            });
            plan.actions.push(ChaosAction {
                name: r.kind_name,
                key,
                start: r.start,
                duration: r.duration,
                kind,
                mode: r.mode,
                deployments,
                pods,
                target,
            });
        }
        let mut probes: Vec<Probes> = s
            .deployments
            .iter()
            .map(|d| {
                self.templates
                    .get(&(d.namespace.clone(), d.name.clone()))
                    .map(|t| t.1)
                    .unwrap_or_default()
            })
            .collect();
        // A new ReplicaSet's pods keep the template's probes.
        for r in &plan.timed.rollables {
            let first = probes[r.replica_sets[0]];
            for &rs in &r.replica_sets {
                probes[rs] = first;
            }
        }
        if probes.iter().any(Probes::any) {
            plan.probes = probes;
        }
        let mut term: Vec<(Termination, bool)> = s
            .deployments
            .iter()
            .map(|d| {
                self.templates
                    .get(&(d.namespace.clone(), d.name.clone()))
                    .map(|t| t.2)
                    .unwrap_or_default()
            })
            .collect();
        for r in &plan.timed.rollables {
            let first = term[r.replica_sets[0]];
            for &rs in &r.replica_sets {
                term[rs] = first;
            }
        }
        if term.iter().any(|t| t.1) {
            plan.termination = term.into_iter().map(|t| t.0).collect();
        }
        s.chaos = plan;
    }
}

/// `mode` and `value` of a selector spec (`selector.go`).
fn mode_of(cx: &mut Cx, spec: &V) -> Option<Mode> {
    if !spec.has("mode") {
        cx.req(spec, "mode");
    }
    let m = spec.get("mode")?;
    let mode = cx.one_of(
        &m,
        &[
            ("one", 0),
            ("all", 1),
            ("fixed", 2),
            ("fixed-percent", 3),
            ("random-max-percent", 4),
        ],
    )?;
    let value = |cx: &mut Cx, lo: i64, hi: i64| -> Option<u32> {
        let v = cx.req(spec, "value")?;
        let s = cx.scalar_string(&v)?;
        match s.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n as u32),
            _ => {
                cx.error(&v, format!("{s:?}, must be an integer in {lo}..={hi}"));
                None
            }
        }
    };
    Some(match mode {
        0 => Mode::One,
        1 => Mode::All,
        2 => Mode::Fixed(value(cx, 1, i64::from(u32::MAX))?),
        3 => Mode::FixedPercent(value(cx, 1, 100)?),
        _ => Mode::RandomMaxPercent(value(cx, 1, 100)?),
    })
}

/// A selector's (namespaces, labelSelectors, pods); the selectors meshsim
/// cannot evaluate are errors.
type Selected = (
    Vec<String>,
    BTreeMap<String, String>,
    Option<Vec<(String, String, Loc, String)>>,
);

fn selector_of(cx: &mut Cx, sel: &V) -> Selected {
    let mut namespaces = Vec::new();
    let mut labels = BTreeMap::new();
    let mut pods = None;
    for unsupported in [
        "fieldSelectors",
        "expressionSelectors",
        "annotationSelectors",
        "nodes",
        "nodeSelectors",
        "podPhaseSelectors",
    ] {
        if let Some(v) = sel.get(unsupported) {
            cx.error(
                &v,
                "not simulated: meshsim selects pods by namespaces, labelSelectors and pods only",
            );
        }
    }
    if let Some(ns) = sel.get("namespaces") {
        for n in cx.seq(&ns).unwrap_or_default() {
            if let Some(s) = cx.str(&n) {
                namespaces.push(s.to_string());
            }
        }
    }
    if let Some(l) = sel.get("labelSelectors") {
        labels = cx.string_map(&l).unwrap_or_default();
    }
    if let Some(p) = sel.get("pods") {
        let mut list = Vec::new();
        for (ns, names) in cx.map(&p).unwrap_or_default() {
            for n in cx.seq(&names).unwrap_or_default() {
                if let Some(s) = cx.str(&n) {
                    list.push((ns.clone(), s.to_string(), n.loc(), n.path.clone()));
                }
            }
        }
        pods = Some(list);
    }
    (namespaces, labels, pods)
}

/// `Simulation.spec.lifecycle` (strict, like every meshsim field).
fn lifecycle(v: &V, cx: &mut Cx) -> Lifecycle {
    let mut l = Lifecycle::default();
    cx.known_fields(
        v,
        &[
            "endpointDelay",
            "containerStart",
            "appStartup",
            "nodeMonitorGracePeriod",
            "unreachableToleration",
        ],
    );
    if let Some(d) = v
        .get("nodeMonitorGracePeriod")
        .and_then(|d| cx.duration(&d))
    {
        l.node_monitor_grace = d;
    }
    if let Some(d) = v.get("unreachableToleration").and_then(|d| cx.duration(&d)) {
        l.unreachable_toleration = d;
    }
    if let Some(d) = v.get("endpointDelay").and_then(|d| cx.duration(&d)) {
        l.endpoint_delay = d;
    }
    if let Some(d) = v.get("containerStart").and_then(|d| cx.duration(&d)) {
        l.container_start = d;
    }
    if let Some(d) = v.get("appStartup").and_then(|d| cx.duration(&d)) {
        l.app_startup = d;
    }
    l
}
