//! `Simulation.spec.events`: meshsim's own timed events, for what no Chaos
//! Mesh experiment says (spec types: `spec/events.rs`).
//!
//! ```yaml
//! events:
//! - {at: 30s, scale: {deployment: web, replicas: 5}}
//! - {at: 30s, rollout: {deployment: web, labels: {version: v2}}}
//! - {at: 30s, workload: {deployment: web, serviceTimeScale: 2, errors: {probability: 0.1}}}
//! - {at: 30s, drain: {node: node-a}}
//! - {at: 30s, loseNode: {node: node-a}}
//! - {at: 30s, loseZone: {zone: zone-a}}
//! ```
//!
//! Why a collector beside Chaos Mesh's: events name Deployments, nodes and
//! zones, known only once every object is read; and a rollout adds a
//! ReplicaSet (one more `Scenario::deployments` entry) before Chaos Mesh
//! selectors are resolved, so an experiment may select the new pods.
//! The rolling-update parameters come from the Deployment itself
//! (`spec.strategy`, read here), as `kubectl apply` of a new template would
//! use them.

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::object::Object;
use super::raw::Loc;
use super::spec::Scenario;
use super::spec::events::*;
use crate::cluster::node::{NO_NODE, NodeIx};
use crate::engine::SimDuration;
use std::collections::BTreeMap;

/// Where a value was written: (location, YAML path).
type At = (Loc, String);

enum RawKind {
    Scale(At, String, u32),
    Rollout {
        dep: (At, String),
        labels: BTreeMap<String, String>,
        name: Option<(At, String)>,
        serving: Serving,
    },
    Serve((At, String), Serving),
    Drain(At, String),
    LoseNode(At, String),
    LoseZone(At, String),
}

struct RawEvent {
    at: SimDuration,
    kind: RawKind,
}

/// Collects `Simulation.spec.events` and the Deployments' strategies.
#[derive(Default)]
pub struct Collector {
    origin: Option<Origin>,
    raws: Vec<RawEvent>,
    /// (namespace, name) → strategy.
    strategies: BTreeMap<(String, String), Strategy>,
}

fn at_of(v: &V) -> At {
    (v.loc(), v.path.clone())
}

/// `maxSurge` / `maxUnavailable`: an integer or "N%".
fn int_or_percent(cx: &mut Cx, v: &V) -> Option<IntOrPercent> {
    if let Some(s) = v.as_str() {
        if let Some(p) = s.strip_suffix('%')
            && let Ok(n) = p.parse::<u32>()
        {
            return Some(IntOrPercent::Percent(n));
        }
        cx.error(
            v,
            format!("{s:?}, expected an integer or a percentage (\"25%\")"),
        );
        return None;
    }
    cx.int_in(v, 0, i64::from(i32::MAX))
        .map(|n| IntOrPercent::Int(n as u32))
}

/// `serviceTimeScale` and `errors` of a `workload` or `rollout` event.
fn serving(cx: &mut Cx, v: &V) -> Serving {
    let mut s = Serving::default();
    if let Some(x) = v.get("serviceTimeScale") {
        s.service_time_scale = cx.positive(&x);
    }
    if let Some(e) = v.get("errors") {
        s.errors = Some(if e.as_str() == Some("none") {
            None
        } else {
            super::meshsim::workload::errors(cx, &e)
        });
    }
    s
}

fn name_field(cx: &mut Cx, v: &V, key: &str) -> Option<(At, String)> {
    let f = cx.req(v, key)?;
    let s = cx.str(&f)?.to_string();
    Some((at_of(&f), s))
}

impl Collector {
    /// `spec.strategy` of a Deployment (RollingUpdate 25 % / 25 % by default).
    pub fn deployment(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = o.node.get("spec") else {
            return;
        };
        let mut st = Strategy::default();
        if let Some(s) = spec.get("strategy") {
            let kind = s
                .get("type")
                .and_then(|t| cx.one_of(&t, &[("RollingUpdate", false), ("Recreate", true)]));
            if kind == Some(true) {
                st = Strategy::Recreate;
            } else if let Some(r) = s.get("rollingUpdate") {
                let Strategy::Rolling {
                    mut max_surge,
                    mut max_unavailable,
                } = st
                else {
                    unreachable!("the default is rolling")
                };
                if let Some(v) = r.get("maxSurge") {
                    max_surge = int_or_percent(cx, &v).unwrap_or(max_surge);
                }
                if let Some(v) = r.get("maxUnavailable") {
                    max_unavailable = int_or_percent(cx, &v).unwrap_or(max_unavailable);
                }
                // apps/v1 validation: "may not be 0 when `maxSurge` is 0".
                if max_surge.scaled(100, true) == 0 && max_unavailable.scaled(100, false) == 0 {
                    let v = r.get("maxUnavailable").unwrap_or(r.clone());
                    cx.error(&v, "may not be 0 when `maxSurge` is 0 (the API server rejects this Deployment)");
                }
                st = Strategy::Rolling {
                    max_surge,
                    max_unavailable,
                };
            }
        }
        if let Some(m) = spec.get("minReadySeconds")
            && cx.int(&m).is_some_and(|n| n > 0)
        {
            cx.warn(
                &m,
                "not simulated: a pod counts as available as soon as it is Ready",
            );
        }
        self.strategies
            .insert((o.namespace.clone(), o.name.clone()), st);
    }

    /// `Simulation.spec.events`.
    pub fn simulation(&mut self, o: &Object, cx: &mut Cx) {
        let Some(list) = o.node.get("spec").and_then(|s| s.get("events")) else {
            return;
        };
        self.origin = Some(o.origin.clone());
        self.raws.clear();
        for e in cx.seq(&list).unwrap_or_default() {
            const ACTIONS: [&str; 6] = [
                "scale", "rollout", "workload", "drain", "loseNode", "loseZone",
            ];
            let mut known = vec!["at"];
            known.extend(ACTIONS);
            cx.known_fields(&e, &known);
            let at = cx.req(&e, "at").and_then(|v| cx.duration(&v));
            let given: Vec<&str> = ACTIONS.iter().copied().filter(|a| e.has(a)).collect();
            if given.len() != 1 {
                cx.error(
                    &e,
                    format!(
                        "give exactly one of {} (found {})",
                        ACTIONS.join(", "),
                        if given.is_empty() {
                            "none".into()
                        } else {
                            given.join(", ")
                        }
                    ),
                );
                continue;
            }
            let v = e.get(given[0]).expect("given");
            let kind = match given[0] {
                "scale" => {
                    cx.known_fields(&v, &["deployment", "replicas"]);
                    let d = name_field(cx, &v, "deployment");
                    let r = cx
                        .req(&v, "replicas")
                        .and_then(|r| cx.int_in(&r, 0, 100_000));
                    match (d, r) {
                        (Some((at, d)), Some(r)) => Some(RawKind::Scale(at, d, r as u32)),
                        _ => None,
                    }
                }
                "rollout" => {
                    cx.known_fields(
                        &v,
                        &[
                            "deployment",
                            "labels",
                            "replicaSet",
                            "serviceTimeScale",
                            "errors",
                        ],
                    );
                    let dep = name_field(cx, &v, "deployment");
                    let labels = cx
                        .req(&v, "labels")
                        .and_then(|l| cx.string_map(&l))
                        .unwrap_or_default();
                    let name = v.get("replicaSet").and_then(|n| {
                        let s = cx.str(&n)?.to_string();
                        Some((at_of(&n), s))
                    });
                    let serving = serving(cx, &v);
                    dep.map(|dep| RawKind::Rollout {
                        dep,
                        labels,
                        name,
                        serving,
                    })
                }
                "workload" => {
                    cx.known_fields(&v, &["deployment", "serviceTimeScale", "errors"]);
                    let dep = name_field(cx, &v, "deployment");
                    let s = serving(cx, &v);
                    if s == Serving::default() {
                        cx.error(
                            &v,
                            "give serviceTimeScale or errors (nothing changes otherwise)",
                        );
                    }
                    dep.map(|d| RawKind::Serve(d, s))
                }
                "drain" | "loseNode" => {
                    cx.known_fields(&v, &["node"]);
                    name_field(cx, &v, "node").map(|(at, n)| {
                        if given[0] == "drain" {
                            RawKind::Drain(at, n)
                        } else {
                            RawKind::LoseNode(at, n)
                        }
                    })
                }
                _ => {
                    cx.known_fields(&v, &["zone"]);
                    name_field(cx, &v, "zone").map(|(at, z)| RawKind::LoseZone(at, z))
                }
            };
            if let (Some(at), Some(kind)) = (at, kind) {
                self.raws.push(RawEvent { at, kind });
            }
        }
    }

    /// Resolves every event; adds each rollout's ReplicaSet to the
    /// scenario's deployments and the pod slots scaling needs.
    pub fn finish(self, s: &mut Scenario, diags: &mut Diagnostics) -> TimedPlan {
        let mut plan = TimedPlan::default();
        let Some(origin) = self.origin else {
            return plan;
        };
        if self.raws.is_empty() {
            return plan;
        }
        let mut cx = Cx::new(origin, diags);
        let mut raws = self.raws;
        // Same-time events keep their file order.
        raws.sort_by_key(|r| r.at);
        // The Deployment a name means ("web" in default, or "ns/web").
        let find = |s: &Scenario, name: &str| -> Option<usize> {
            let (ns, n) = name.split_once('/').unwrap_or(("default", name));
            s.deployments
                .iter()
                .position(|d| d.namespace == ns && d.name == n)
        };
        let node_of_name = |s: &Scenario, name: &str| -> Option<NodeIx> {
            s.network
                .cluster
                .nodes
                .iter()
                .position(|n| n.name == name)
                .map(|i| i as NodeIx)
        };
        let n_original = s.deployments.len();
        let mut rollable_of: BTreeMap<usize, usize> = BTreeMap::new();
        let strategies = self.strategies;
        let rollable = |s: &Scenario,
                        plan: &mut TimedPlan,
                        of: &mut BTreeMap<usize, usize>,
                        d: usize|
         -> usize {
            *of.entry(d).or_insert_with(|| {
                let dep = &s.deployments[d];
                // With an HPA, `replicas` was raised to its maxReplicas
                // (kube/hpa.rs): the Deployment starts at the HPA's initial.
                let hpa = s.autoscalers.iter().find(|a| a.deployment == d);
                plan.rollables.push(Rollable {
                    name: dep.key(),
                    replica_sets: vec![d],
                    strategy: strategies
                        .get(&(dep.namespace.clone(), dep.name.clone()))
                        .copied()
                        .unwrap_or_default(),
                    replicas: hpa.map_or(dep.replicas, |a| a.initial),
                });
                plan.rollables.len() - 1
            })
        };
        let unknown_dep = |cx: &mut Cx, at: &At, name: &str, s: &Scenario| {
            let known: Vec<String> = s.deployments[..n_original.min(s.deployments.len())]
                .iter()
                .map(|d| d.key())
                .collect();
            cx.error_at(
                at.0,
                &at.1,
                format!("{name:?} is no Deployment (known: {})", known.join(", ")),
            );
        };
        for r in raws {
            let kind = match r.kind {
                RawKind::Scale(at, name, replicas) => {
                    let d = find(s, &name).filter(|&d| d < n_original);
                    if let Some(a) =
                        d.and_then(|d| s.autoscalers.iter().find(|a| a.deployment == d))
                    {
                        // The API server accepts the write; the HPA sets
                        // its own count again at its next sync.
                        cx.warn_at(
                            at.0,
                            &at.1,
                            format!(
                                "{name:?} is scaled by HorizontalPodAutoscaler {}: it sets its own replica count again at its next sync (simulated so)",
                                a.name
                            ),
                        );
                    }
                    match d {
                        Some(d) => EventKind::Scale {
                            rollable: rollable(s, &mut plan, &mut rollable_of, d),
                            replicas,
                        },
                        None => {
                            unknown_dep(&mut cx, &at, &name, s);
                            continue;
                        }
                    }
                }
                RawKind::Rollout {
                    dep: (at, name),
                    labels,
                    name: rs_name,
                    serving,
                } => {
                    let Some(d) = find(s, &name).filter(|&d| d < n_original) else {
                        unknown_dep(&mut cx, &at, &name, s);
                        continue;
                    };
                    let ri = rollable(s, &mut plan, &mut rollable_of, d);
                    let revision = plan.rollables[ri].replica_sets.len() + 1;
                    let base = plan.rollables[ri].replica_sets.last().copied().unwrap_or(d);
                    let mut new = s.deployments[base].clone();
                    let (rs_at, rs) = match rs_name {
                        Some((a, n)) => (a, n),
                        None => (at.clone(), format!("{}-r{revision}", s.deployments[d].name)),
                    };
                    if s.deployments
                        .iter()
                        .any(|x| x.namespace == new.namespace && x.name == rs)
                    {
                        cx.error_at(
                            rs_at.0,
                            &rs_at.1,
                            format!("{rs:?}: a Deployment or ReplicaSet of that name exists (give replicaSet: <name>)"),
                        );
                        continue;
                    }
                    // The selector must keep matching: labels it uses may not change.
                    let selector_keys: Vec<&String> = s.deployments[d].labels.keys().collect();
                    let _ = selector_keys;
                    new.name = rs;
                    new.labels.extend(labels);
                    if let Some(x) = serving.service_time_scale {
                        new.behaviour.script = scale_script(&new.behaviour.script, x);
                        for e in &mut new.behaviour.endpoints {
                            e.script = scale_script(&e.script, x);
                        }
                    }
                    if let Some(e) = serving.errors {
                        new.behaviour.error = e;
                    }
                    let injection = s.istio.injection.get(base).cloned();
                    let ix = s.deployments.len();
                    s.deployments.push(new);
                    if let Some(i) = injection {
                        s.istio.injection.push(i);
                    }
                    s.network.placement.push(Vec::new());
                    plan.rollables[ri].replica_sets.push(ix);
                    EventKind::Rollout {
                        rollable: ri,
                        replica_set: ix,
                    }
                }
                RawKind::Serve((at, name), serving) => {
                    let Some(d) = find(s, &name).filter(|&d| d < n_original) else {
                        unknown_dep(&mut cx, &at, &name, s);
                        continue;
                    };
                    // Every ReplicaSet of the Deployment so far.
                    let sets = rollable_of
                        .get(&d)
                        .map(|&ri| plan.rollables[ri].replica_sets.clone())
                        .unwrap_or_else(|| vec![d]);
                    EventKind::Serve {
                        replica_sets: sets,
                        serving,
                    }
                }
                RawKind::Drain(at, n) | RawKind::LoseNode(at, n)
                    if node_of_name(s, &n).is_none() =>
                {
                    let known: Vec<&str> = s
                        .network
                        .cluster
                        .nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect();
                    cx.error_at(
                        at.0,
                        &at.1,
                        format!(
                            "{n:?} is no node of the Cluster (nodes: {})",
                            known.join(", ")
                        ),
                    );
                    continue;
                }
                RawKind::Drain(_, n) => EventKind::Drain {
                    nodes: vec![node_of_name(s, &n).expect("checked")],
                },
                RawKind::LoseNode(_, n) => EventKind::Lose {
                    nodes: vec![node_of_name(s, &n).expect("checked")],
                },
                RawKind::LoseZone(at, z) => {
                    let c = &s.network.cluster;
                    let Some(zi) = c.zones.iter().position(|x| *x == z) else {
                        cx.error_at(
                            at.0,
                            &at.1,
                            format!(
                                "{z:?} is no zone of the Cluster (zones: {})",
                                c.zones.join(", ")
                            ),
                        );
                        continue;
                    };
                    EventKind::Lose {
                        nodes: (0..c.nodes.len())
                            .filter(|&i| c.nodes[i].zone as usize == zi)
                            .map(|i| i as NodeIx)
                            .collect(),
                    }
                }
            };
            let name = match &kind {
                EventKind::Scale { rollable, replicas } => {
                    format!("scale {} to {replicas}", plan.rollables[*rollable].name)
                }
                EventKind::Rollout {
                    rollable,
                    replica_set,
                } => format!(
                    "rollout {} to {}",
                    plan.rollables[*rollable].name, s.deployments[*replica_set].name
                ),
                EventKind::Serve { replica_sets, .. } => {
                    format!(
                        "workload change of {}",
                        s.deployments[replica_sets[0]].key()
                    )
                }
                EventKind::Drain { nodes } => {
                    format!("drain {}", s.network.cluster.nodes[nodes[0] as usize].name)
                }
                EventKind::Lose { nodes } => format!(
                    "lose {}",
                    nodes
                        .iter()
                        .map(|&n| s.network.cluster.nodes[n as usize].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if r.at >= s.run.duration {
                let (loc, path) = (Loc::default(), "spec.events".to_string());
                cx.warn_at(
                    loc,
                    &path,
                    format!(
                        "{name}: at {} is after the run ends ({})",
                        r.at, s.run.duration
                    ),
                );
            }
            plan.events.push(TimedEvent {
                at: r.at,
                name,
                kind,
            });
        }
        // Pod slots: each ReplicaSet of a Deployment may need as many pods
        // as the Deployment's largest desired count (plus its surge).
        plan.initial = s.deployments.iter().map(|d| d.replicas).collect();
        for (i, ro) in plan.rollables.iter().enumerate() {
            let d = ro.replica_sets[0];
            let mut most = ro.replicas;
            for a in s.autoscalers.iter().filter(|a| a.deployment == d) {
                most = most.max(a.spec.max);
            }
            for e in &plan.events {
                if let EventKind::Scale { rollable, replicas } = e.kind
                    && rollable == i
                {
                    most = most.max(replicas);
                }
            }
            let (surge, _) = ro.strategy.fenceposts(most);
            let slots = most + surge;
            for (k, &rs) in ro.replica_sets.iter().enumerate() {
                plan.initial[rs] = if k == 0 { ro.replicas } else { 0 };
                s.deployments[rs].replicas = slots;
                let p = &mut s.network.placement;
                while p.len() <= rs {
                    p.push(Vec::new());
                }
                p[rs].resize(slots as usize, NO_NODE);
            }
        }
        plan
    }
}

/// A script with every compute step's draw scaled by `x`.
pub fn scale_script(steps: &[super::spec::Step], x: f64) -> Vec<super::spec::Step> {
    use super::spec::Step;
    steps
        .iter()
        .map(|st| match st {
            Step::Compute(d) => Step::Compute(d.scaled(x)),
            Step::Parallel(bs) => Step::Parallel(bs.iter().map(|b| scale_script(b, x)).collect()),
            Step::Choice(bs) => {
                Step::Choice(bs.iter().map(|(w, b)| (*w, scale_script(b, x))).collect())
            }
            other => other.clone(),
        })
        .collect()
}
