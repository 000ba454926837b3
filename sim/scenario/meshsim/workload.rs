//! `Workload` (meshsim.dev/v1alpha1): how the pods of a Deployment serve a
//! request (workers, queue, script of compute and calls, injected errors,
//! connection pool), and which Deployments it describes.

use super::dist::dist;
use super::endpoints::{RawEndpoint, endpoints};
use super::script::{RawStep, status, steps};
use crate::engine::rng::Chance;
use crate::scenario::decode::{Cx, V};
use crate::scenario::diag::{Diagnostics, Origin};
use crate::scenario::kube::deployment::default_behaviour;
use crate::scenario::object::Object;
use crate::scenario::raw::Loc;
use crate::scenario::spec::{Behaviour, Deployment, ErrorInjection, ErrorTrigger};
use std::collections::BTreeMap;

/// A decoded `Workload`, not yet matched to its Deployments.
pub struct RawWorkload {
    pub origin: Origin,
    /// What names its Deployment (`spec.deployment`, `spec.selector` or
    /// `metadata.name`) and where, for errors about the match.
    pub names_at: (Loc, String),
    pub name: String,
    pub namespace: String,
    pub deployment: Option<String>,
    pub selector: Option<BTreeMap<String, String>>,
    pub behaviour: Behaviour,
    pub script: RawScripts,
}

/// A Workload's default script and its endpoint rules, calls unresolved.
#[derive(Clone, Debug, Default)]
pub struct RawScripts {
    pub steps: Vec<RawStep>,
    pub endpoints: Vec<RawEndpoint>,
}

/// Workload fields of the connection model: `poolSize`, `notReadyReplicas`.
pub const WORKLOAD_FIELDS: &[&str] = &["poolSize", "notReadyReplicas"];

pub fn workload_net(cx: &mut Cx, spec: &V, b: &mut Behaviour) {
    b.pool_size = spec
        .get("poolSize")
        .and_then(|p| cx.int_in(&p, 1, 100_000))
        .map(|p| p as u32);
    b.not_ready = spec
        .get("notReadyReplicas")
        .and_then(|p| cx.int_in(&p, 0, i32::MAX as i64))
        .unwrap_or(0) as u32;
}

pub fn decode(o: &Object, cx: &mut Cx) -> Option<RawWorkload> {
    cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
    let spec = cx.req(&o.node, "spec")?;
    cx.known_fields(
        &spec,
        &[
            "deployment",
            "selector",
            "workers",
            "queue",
            "holdWorkerDuringCalls",
            "onSigterm",
            "serviceTime",
            "script",
            "errors",
            "endpoints",
            WORKLOAD_FIELDS[0],
            WORKLOAD_FIELDS[1],
        ],
    );
    let mut beh = default_behaviour();
    workload_net(cx, &spec, &mut beh);
    beh.source = Some(format!("{}/{}", o.namespace, o.name));
    if let Some(w) = spec.get("workers") {
        beh.workers = cx.int_in(&w, 1, 1_000_000).unwrap_or(1) as u32;
    }
    if let Some(q) = spec.get("queue") {
        cx.known_fields(&q, &["limit", "fullStatus"]);
        beh.queue_limit = q
            .get("limit")
            .and_then(|l| cx.int_in(&l, 0, u32::MAX as i64))
            .map(|x| x as u32);
        if let Some(s) = q.get("fullStatus") {
            beh.queue_full_status = status(cx, &s).unwrap_or(503);
        }
    }
    if let Some(h) = spec.get("holdWorkerDuringCalls") {
        beh.hold_worker_during_calls = cx.bool(&h).unwrap_or(true);
    }
    if let Some(e) = spec.get("errors") {
        beh.error = errors(cx, &e);
    }
    if let Some(v) = spec.get("onSigterm") {
        beh.drain_on_sigterm = cx
            .one_of(&v, &[("exit", false), ("drain", true)])
            .unwrap_or(false);
    }
    let mut script = Vec::new();
    match (spec.get("serviceTime"), spec.get("script")) {
        (Some(st), Some(sc)) => {
            cx.error(
                &sc,
                "give either serviceTime (one compute step) or script, not both",
            );
            let _ = st;
        }
        (Some(st), None) => {
            if let Some(d) = dist(cx, &st) {
                script.push(RawStep::Compute(d));
            }
        }
        (None, Some(sc)) => script = steps(cx, &sc),
        (None, None) => cx.error_at(
            spec.loc(),
            "spec.serviceTime",
            "missing required field (or give a script)",
        ),
    }
    let endpoints = spec
        .get("endpoints")
        .map(|e| endpoints(cx, &e))
        .unwrap_or_default();
    let deployment = spec
        .get("deployment")
        .and_then(|d| cx.str(&d))
        .map(str::to_string);
    let selector = spec.get("selector").and_then(|s| cx.string_map(&s));
    if deployment.is_some() && selector.is_some() {
        cx.error_at(
            spec.loc(),
            "spec.selector",
            "give either deployment or selector, not both",
        );
    }
    let names_at = ["deployment", "selector"]
        .iter()
        .find_map(|k| spec.get(k))
        .or_else(|| o.node.get("metadata").and_then(|m| m.get("name")))
        .map(|v| (v.loc(), v.path.clone()))
        .unwrap_or((o.node.loc(), "metadata.name".into()));
    Some(RawWorkload {
        origin: o.origin.clone(),
        names_at,
        name: o.name.clone(),
        namespace: o.namespace.clone(),
        deployment,
        selector,
        behaviour: beh,
        script: RawScripts {
            steps: script,
            endpoints,
        },
    })
}

/// Gives each Deployment its Workload's behaviour (matched by
/// `spec.deployment`, `spec.selector` or the Workload's name, in its namespace)
/// and warns about Deployments no Workload describes (except the modelled
/// ingress controller, `controller`). Returns each deployment's script, calls
/// not resolved yet, and where it was written.
pub fn attach(
    workloads: Vec<RawWorkload>,
    deployments: &mut [(Deployment, Origin, Loc)],
    controller: Option<usize>,
    diags: &mut Diagnostics,
) -> Vec<Option<(RawScripts, Origin)>> {
    let mut claimed: Vec<Option<String>> = vec![None; deployments.len()];
    let mut scripts: Vec<Option<(RawScripts, Origin)>> = vec![None; deployments.len()];
    for w in workloads {
        let mut cx = Cx::new(w.origin.clone(), diags);
        let matches: Vec<usize> = deployments
            .iter()
            .enumerate()
            .filter(|(_, (d, _, _))| {
                d.namespace == w.namespace
                    && match (&w.deployment, &w.selector) {
                        (Some(n), _) => &d.name == n,
                        (None, Some(sel)) => sel.iter().all(|(k, v)| d.labels.get(k) == Some(v)),
                        (None, None) => d.name == w.name,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        if matches.is_empty() {
            let what = match (&w.deployment, &w.selector) {
                (Some(n), _) => format!("deployment {n:?}"),
                (None, Some(sel)) => format!("selector {sel:?}"),
                (None, None) => format!(
                    "a Deployment named {:?} (set spec.deployment or spec.selector)",
                    w.name
                ),
            };
            cx.error_at(
                w.names_at.0,
                &w.names_at.1,
                format!(
                    "no Deployment in namespace {:?} matches {what}",
                    w.namespace
                ),
            );
            continue;
        }
        for i in matches {
            if let Some(prev) = &claimed[i] {
                cx.error_at(
                    w.names_at.0,
                    &w.names_at.1,
                    format!(
                        "Deployment {} is already described by Workload {prev}",
                        deployments[i].0.key()
                    ),
                );
                continue;
            }
            claimed[i] = Some(format!("{}/{}", w.namespace, w.name));
            deployments[i].0.behaviour = w.behaviour.clone();
            scripts[i] = Some((w.script.clone(), w.origin.clone()));
        }
    }
    for (i, (d, origin, loc)) in deployments.iter().enumerate() {
        // The modelled ingress-nginx controller and Istio's gateways
        // (synthesised or declared) are proxies, not apps: no Workload expected.
        let synthesised =
            d.behaviour.source.as_deref() == Some(crate::scenario::istio::ingress_gateway::SOURCE);
        let gateway = d
            .labels
            .get("istio")
            .is_some_and(|v| v == "ingressgateway" || v == "egressgateway");
        if claimed[i].is_none() && controller != Some(i) && !synthesised && !gateway {
            Cx::new(origin.clone(), diags).warn_at(
                *loc,
                "",
                format!(
                    "no meshsim Workload describes Deployment {}: its pods answer at once (1 worker, zero service time)",
                    d.key()
                ),
            );
        }
    }
    scripts
}

/// `errors`: `probability` (each request independently) or `every` (the N-th,
/// 2N-th, … request of each pod), answered with `status` (500) after the
/// script, or at once when `beforeScript` is true.
pub(crate) fn errors(cx: &mut Cx, e: &V) -> Option<ErrorInjection> {
    cx.known_fields(e, &["probability", "every", "status", "beforeScript"]);
    let trigger = match (e.get("probability"), e.get("every")) {
        (Some(p), None) => cx
            .probability(&p)
            .map(|p| ErrorTrigger::Chance(Chance::from_probability(p))),
        (None, Some(n)) => cx
            .int_in(&n, 1, u32::MAX as i64)
            .map(|n| ErrorTrigger::Every(n as u32)),
        (Some(_), Some(n)) => {
            cx.error(&n, "give either probability or every, not both");
            None
        }
        (None, None) => {
            cx.error_at(
                e.loc(),
                &format!("{}.probability", e.path),
                "missing required field (or give every)",
            );
            None
        }
    };
    let st = e.get("status").map(|s| status(cx, &s)).unwrap_or(Some(500));
    let before_script = e
        .get("beforeScript")
        .and_then(|b| cx.bool(&b))
        .unwrap_or(false);
    Some(ErrorInjection {
        trigger: trigger?,
        status: st?,
        before_script,
    })
}
