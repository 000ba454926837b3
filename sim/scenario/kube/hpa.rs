//! `HorizontalPodAutoscaler` (`autoscaling/v2`, and `autoscaling/v1`'s
//! `targetCPUUtilizationPercentage`), read unchanged.
//!
//! Why a collector (like Chaos Mesh's): an HPA names its Deployment by
//! name, and the CPU its metric divides by is the pods' requests — the
//! Deployment's containers and, once injection is decided, the
//! `istio-proxy` sidecar's. So it resolves after Istio's collector.
//!
//! What is simulated: `Resource` metrics on `cpu` with a `Utilization`
//! target (the common HPA, and v1's only kind), `minReplicas`,
//! `maxReplicas`, `behavior`. Every other metric (memory, `Pods`,
//! `Object`, `External`, `ContainerResource`, `AverageValue` targets) is
//! listed as not simulated; an HPA left with no metric is not simulated.
//! Validation follows the API server (`pkg/apis/autoscaling/validation`):
//! `maxReplicas` ≥ 1, 1 ≤ `minReplicas` ≤ `maxReplicas`,
//! `averageUtilization` ≥ 1, policy `value` ≥ 1 and `periodSeconds` in
//! 1..=1800, `stabilizationWindowSeconds` in 0..=3600.
//!
//! The sidecar's request: Istio's default `global.proxy.resources.requests.cpu`
//! is 100m; the pod annotation `sidecar.istio.io/proxyCPU` overrides it.

use crate::cluster::hpa::{self, Behavior, Policy, PolicyKind, Rules, Select, Spec};
use crate::engine::SimDuration;
use crate::scenario::decode::{Cx, V};
use crate::scenario::diag::{Diagnostics, Origin};
use crate::scenario::object::Object;
use crate::scenario::raw::Loc;
use crate::scenario::spec::Scenario;
use crate::scenario::spec::autoscale::Autoscaler;
use std::collections::BTreeMap;

/// Istio's default sidecar CPU request (milli-cores).
pub const SIDECAR_CPU_MILLI: u64 = 100;
/// The pod annotation that sets the sidecar's CPU request.
pub const PROXY_CPU_ANNOTATION: &str = "sidecar.istio.io/proxyCPU";

/// A Deployment's containers: (name, cpu request in milli-cores), and the
/// sidecar request its annotation sets.
#[derive(Clone, Debug, Default)]
struct Template {
    containers: Vec<(String, Option<u64>)>,
    proxy_cpu: Option<u64>,
}

/// An HPA before its target is resolved.
struct Raw {
    origin: Origin,
    at: (Loc, String),
    name: String,
    namespace: String,
    target_kind: String,
    target: String,
    spec: Spec,
}

#[derive(Default)]
pub struct Collector {
    raws: Vec<Raw>,
    templates: BTreeMap<(String, String), Template>,
    not_simulated: Vec<String>,
}

/// A Kubernetes CPU quantity in milli-cores, rounded up as
/// `Quantity.MilliValue` does: `250m`, `0.5`, `1`, `1.5`.
pub fn cpu_milli(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a CPU quantity meshsim reads (e.g. 250m, 0.5, 2)");
    let (num, scale) = match s.strip_suffix('m') {
        Some(n) => (n, 1u64),
        None => (s, 1000u64),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 9 {
        return Err(bad());
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    // The fraction in units of 10^-9, then scaled and rounded up.
    let f: u64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    let nano = u128::from(f) * u128::from(scale);
    let milli = u128::from(whole) * u128::from(scale) + nano.div_ceil(1_000_000_000);
    u64::try_from(milli).map_err(|_| bad())
}

impl Collector {
    /// Reads Deployments' containers (returns false: others decode them)
    /// and HPAs (true: consumed here).
    pub fn object(&mut self, o: &Object, cx: &mut Cx) -> bool {
        if o.kind == "Deployment" {
            self.deployment(o, cx);
            return false;
        }
        if o.kind != "HorizontalPodAutoscaler" || !o.api_version.starts_with("autoscaling/") {
            return false;
        }
        match o.api_version.as_str() {
            "autoscaling/v1" | "autoscaling/v2" | "autoscaling/v2beta2" => self.hpa(o, cx),
            other => {
                let at = o.node.get("apiVersion").unwrap_or(o.node.clone());
                cx.error(
                    &at,
                    format!("{other:?}: meshsim reads autoscaling/v2 (and v1, v2beta2)"),
                );
            }
        }
        true
    }

    fn deployment(&mut self, o: &Object, cx: &mut Cx) {
        let Some(t) = o.node.get("spec").and_then(|s| s.get("template")) else {
            return;
        };
        let mut tpl = Template::default();
        if let Some(a) = t
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(PROXY_CPU_ANNOTATION))
            && let Some(s) = cx.scalar_string(&a)
        {
            match cpu_milli(&s) {
                Ok(m) => tpl.proxy_cpu = Some(m),
                Err(e) => cx.error(&a, e),
            }
        }
        let list = t
            .get("spec")
            .and_then(|s| s.get("containers"))
            .filter(|c| matches!(c.node.value, crate::scenario::raw::Value::Seq(_)))
            .and_then(|c| cx.seq(&c))
            .unwrap_or_default();
        for c in list {
            let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let cpu = c
                .get("resources")
                .and_then(|r| r.get("requests"))
                .and_then(|r| r.get("cpu"))
                .and_then(|v| {
                    let s = cx.scalar_string(&v)?;
                    cpu_milli(&s).map_err(|e| cx.error(&v, e)).ok()
                });
            tpl.containers.push((name.to_string(), cpu));
        }
        self.templates
            .insert((o.namespace.clone(), o.name.clone()), tpl);
    }

    fn hpa(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        let at = o
            .node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .map(|n| (n.loc(), n.path.clone()))
            .unwrap_or((o.node.loc(), String::new()));
        let Some(r) = cx.req(&spec, "scaleTargetRef") else {
            return;
        };
        let kind = cx
            .req(&r, "kind")
            .and_then(|k| cx.str(&k).map(str::to_string));
        let target = cx
            .req(&r, "name")
            .and_then(|k| cx.str(&k).map(str::to_string));
        let max = cx
            .req(&spec, "maxReplicas")
            .and_then(|v| cx.int_in(&v, 1, i32::MAX as i64));
        let min = match spec.get("minReplicas") {
            Some(v) => cx.int_in(&v, 1, i32::MAX as i64),
            None => Some(1),
        };
        if let (Some(lo), Some(hi), Some(v)) = (min, max, spec.get("minReplicas"))
            && lo > hi
        {
            cx.error(&v, format!("{lo}, must be ≤ maxReplicas ({hi})"));
        }
        let target_cpu = if o.api_version == "autoscaling/v1" {
            match spec.get("targetCPUUtilizationPercentage") {
                Some(v) => cx.int_in(&v, 1, i32::MAX as i64).map(|x| x as u32),
                None => Some(hpa::DEFAULT_CPU_UTILIZATION),
            }
        } else {
            self.metrics(o, cx, &spec)
        };
        let behavior = spec.get("behavior").map(|b| behavior(cx, &b));
        let (Some(kind), Some(target), Some(max), Some(min)) = (kind, target, max, min) else {
            return;
        };
        let Some(target_cpu) = target_cpu else {
            self.not_simulated.push(o.note_line("HorizontalPodAutoscaler without a cpu Utilization metric: not simulated (meshsim measures CPU only)",
            ));
            return;
        };
        let Some(behavior) = behavior.map_or(Some(None), |b| b.map(Some)) else {
            return;
        };
        self.raws.push(Raw {
            origin: o.origin.clone(),
            at,
            name: format!("{}/{}", o.namespace, o.name),
            namespace: o.namespace.clone(),
            target_kind: kind,
            target,
            spec: Spec {
                min: min as u32,
                max: max as u32,
                target_cpu,
                behavior,
            },
        });
    }

    /// v2 `spec.metrics`: the cpu Utilization target (80 when the list is
    /// empty or absent); None when no metric meshsim can simulate is left.
    fn metrics(&mut self, o: &Object, cx: &mut Cx, spec: &V) -> Option<u32> {
        let Some(list) = spec.get("metrics").and_then(|m| cx.seq(&m)) else {
            return Some(hpa::DEFAULT_CPU_UTILIZATION);
        };
        if list.is_empty() {
            return Some(hpa::DEFAULT_CPU_UTILIZATION);
        }
        let mut cpu = None;
        for m in list {
            let ty = m.get("type").and_then(|t| t.as_str()).unwrap_or("");
            let res = m.get("resource");
            let name = res
                .as_ref()
                .and_then(|r| r.get("name"))
                .and_then(|n| n.as_str().map(str::to_string));
            let t = res.as_ref().and_then(|r| r.get("target"));
            let tty = t
                .as_ref()
                .and_then(|t| t.get("type"))
                .and_then(|n| n.as_str().map(str::to_string));
            if ty == "Resource"
                && name.as_deref() == Some("cpu")
                && tty.as_deref() == Some("Utilization")
            {
                let v = t.as_ref().and_then(|t| cx.req(t, "averageUtilization"));
                let u = v
                    .and_then(|v| cx.int_in(&v, 1, i32::MAX as i64))
                    .map(|x| x as u32);
                // Several cpu metrics: the controller takes the largest
                // proposal, which is the lowest target's.
                cpu = match (cpu, u) {
                    (Some(a), Some(b)) => Some(b.min(a)),
                    (a, b) => a.or(b),
                };
            } else {
                let what = match (ty, name.as_deref(), tty.as_deref()) {
                    ("Resource", Some(n), Some(t)) => format!("{n} {t}"),
                    (t, _, _) => t.to_string(),
                };
                self.not_simulated.push(o.note_line(&format!("HorizontalPodAutoscaler metric {what:?}: not simulated (meshsim measures CPU utilisation only)"),
                ));
            }
        }
        cpu
    }

    /// Resolves each HPA to its Deployment, raises that Deployment's pod
    /// slots to `maxReplicas` and places them, and fixes each pod's CPU
    /// request. Runs after Istio's collector (sidecar injection).
    pub fn finish(self, s: &mut Scenario, diags: &mut Diagnostics) {
        s.not_simulated.extend(self.not_simulated);
        let mut taken: BTreeMap<usize, String> = BTreeMap::new();
        let mut at = Vec::new();
        for r in self.raws {
            let mut cx = Cx::new(r.origin.clone(), diags);
            if r.target_kind != "Deployment" {
                s.not_simulated.push(format!(
                    "{}: document {} (HorizontalPodAutoscaler {}): scaleTargetRef kind {:?}: not simulated (meshsim scales Deployments)",
                    r.origin.file, r.origin.document, r.name, r.target_kind
                ));
                continue;
            }
            let Some(d) = s
                .deployments
                .iter()
                .position(|d| d.namespace == r.namespace && d.name == r.target)
            else {
                cx.warn_at(
                    r.at.0,
                    &r.at.1,
                    format!(
                        "HorizontalPodAutoscaler {}: no Deployment {}/{} (the controller reports FailedGetScale and never scales): not simulated",
                        r.name, r.namespace, r.target
                    ),
                );
                continue;
            };
            if let Some(first) = taken.get(&d) {
                cx.warn_at(
                    r.at.0,
                    &r.at.1,
                    format!(
                        "HorizontalPodAutoscaler {}: Deployment {}/{} already has {first} (Kubernetes refuses to scale with both: AmbiguousSelector); only {first} is simulated",
                        r.name, r.namespace, r.target
                    ),
                );
                continue;
            }
            taken.insert(d, r.name.clone());
            let dep = &s.deployments[d];
            let tpl = self
                .templates
                .get(&(dep.namespace.clone(), dep.name.clone()))
                .cloned()
                .unwrap_or_default();
            let pod_request = pod_request(&tpl, s.istio.has_sidecar(d), &dep.name);
            if let Err(e) = &pod_request {
                cx.warn_at(
                    r.at.0,
                    &r.at.1,
                    format!(
                        "HorizontalPodAutoscaler {}: {e}: the cpu utilisation cannot be computed, so it never scales (FailedGetResourceMetric, as in Kubernetes)",
                        r.name
                    ),
                );
            }
            let initial = dep.replicas;
            at.push((r.origin.clone(), r.at.clone()));
            s.autoscalers.push(Autoscaler {
                name: r.name,
                deployment: d,
                spec: r.spec,
                initial,
                pod_request,
            });
        }
        if s.autoscalers.is_empty() {
            return;
        }
        let mut pods: u64 = s.deployments.iter().map(|d| u64::from(d.replicas)).sum();
        for (a, (origin, (loc, path))) in s.autoscalers.iter().zip(&at) {
            let d = &mut s.deployments[a.deployment];
            pods += u64::from(a.spec.max.saturating_sub(d.replicas));
            if pods > crate::scenario::limits::MAX_PODS {
                Cx::new(origin.clone(), diags).error_at(
                    *loc,
                    path,
                    format!(
                        "maxReplicas {}: the scenario would hold {pods} pods, above meshsim's limit of {}",
                        a.spec.max,
                        crate::scenario::limits::MAX_PODS
                    ),
                );
                return;
            }
            d.replicas = d.replicas.max(a.spec.max);
        }
        // The slots the HPA may fill are placed as the scheduler would
        // place that many replicas (`cluster/topology.rs`).
        let replicas: Vec<u32> = s.deployments.iter().map(|d| d.replicas).collect();
        let selectors: Vec<&BTreeMap<String, String>> =
            s.deployments.iter().map(|d| &d.node_selector).collect();
        s.network.placement =
            crate::cluster::topology::place(&s.network.cluster, &replicas, &selectors);
    }
}

/// `calculatePodRequests`: Σ over the pod's containers; the first one
/// without a cpu request is the controller's error.
fn pod_request(t: &Template, sidecar: bool, deployment: &str) -> Result<u64, String> {
    let mut sum = 0;
    for (name, cpu) in &t.containers {
        match cpu {
            Some(m) => sum += m,
            None => {
                return Err(format!(
                    "missing request for cpu in container {name:?} of the pods of Deployment {deployment}"
                ));
            }
        }
    }
    let listed = t.containers.iter().any(|(n, _)| n == "istio-proxy");
    if sidecar && !listed {
        sum += t.proxy_cpu.unwrap_or(SIDECAR_CPU_MILLI);
    }
    Ok(sum)
}

/// `spec.behavior` with the API server's defaults for what it leaves out;
/// None after an error.
fn behavior(cx: &mut Cx, b: &V) -> Option<Behavior> {
    cx.known_fields(b, &["scaleUp", "scaleDown"]);
    let up = rules(cx, b.get("scaleUp"), Rules::default_up())?;
    let down = rules(cx, b.get("scaleDown"), Rules::default_down())?;
    Some(Behavior { up, down })
}

fn rules(cx: &mut Cx, v: Option<V>, mut r: Rules) -> Option<Rules> {
    let Some(v) = v else { return Some(r) };
    cx.known_fields(
        &v,
        &[
            "stabilizationWindowSeconds",
            "selectPolicy",
            "policies",
            "tolerance",
        ],
    );
    let mut ok = true;
    if let Some(w) = v.get("stabilizationWindowSeconds") {
        match cx.int_in(&w, 0, 3600) {
            Some(s) => r.window = SimDuration::from_secs(s as u64),
            None => ok = false,
        }
    }
    if let Some(p) = v.get("selectPolicy") {
        match cx.one_of(
            &p,
            &[
                ("Max", Select::Max),
                ("Min", Select::Min),
                ("Disabled", Select::Disabled),
            ],
        ) {
            Some(s) => r.select = s,
            None => ok = false,
        }
    }
    if v.has("tolerance") {
        let t = v.get("tolerance").expect("has");
        cx.warn(
            &t,
            "tolerance (alpha, HPAConfigurableTolerance) is not simulated: the controller's 0.1 applies",
        );
    }
    if let Some(list) = v.get("policies").and_then(|p| cx.seq(&p)) {
        let mut ps = Vec::new();
        for p in list {
            let kind = cx.req(&p, "type").and_then(|t| {
                cx.one_of(
                    &t,
                    &[("Pods", PolicyKind::Pods), ("Percent", PolicyKind::Percent)],
                )
            });
            let value = cx
                .req(&p, "value")
                .and_then(|x| cx.int_in(&x, 1, i32::MAX as i64));
            let period = cx
                .req(&p, "periodSeconds")
                .and_then(|x| cx.int_in(&x, 1, 1800));
            match (kind, value, period) {
                (Some(kind), Some(value), Some(period)) => ps.push(Policy {
                    kind,
                    value: value as u32,
                    period: SimDuration::from_secs(period as u64),
                }),
                _ => ok = false,
            }
        }
        r.policies = ps;
    }
    ok.then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_round_up_to_milli_cores() {
        let got: Vec<u64> = ["250m", "0.5", "1", "1.5", "0.0001", "100m", ".25"]
            .iter()
            .map(|s| cpu_milli(s).unwrap())
            .collect();
        assert_eq!(got, vec![250, 500, 1000, 1500, 1, 100, 250]);
        assert!(cpu_milli("1Gi").is_err());
        assert!(cpu_milli("m").is_err());
    }

    #[test]
    fn pod_request_sums_containers_and_the_injected_sidecar() {
        let t = Template {
            containers: vec![("app".into(), Some(250)), ("log".into(), Some(50))],
            proxy_cpu: None,
        };
        assert_eq!(pod_request(&t, false, "web"), Ok(300));
        assert_eq!(pod_request(&t, true, "web"), Ok(400));
        let t2 = Template {
            proxy_cpu: Some(500),
            ..t.clone()
        };
        assert_eq!(pod_request(&t2, true, "web"), Ok(800));
        let t3 = Template {
            containers: vec![("app".into(), Some(250)), ("log".into(), None)],
            proxy_cpu: None,
        };
        let e = pod_request(&t3, false, "web").unwrap_err();
        assert!(
            e.contains("missing request for cpu in container \"log\""),
            "{e}"
        );
    }
}
