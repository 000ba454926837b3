//! `Deployment` (apps/v1): replicas, the pod template's labels, container
//! ports and `nodeSelector`. How its pods serve requests comes from a meshsim
//! `Workload`; fields meshsim does not model are ignored, as the API server's
//! clients do.

use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::spec::{Behaviour, ContainerPort, Deployment};
use std::collections::BTreeMap;

pub fn decode(o: &Object, cx: &mut Cx) -> Option<Deployment> {
    let spec = cx.req(&o.node, "spec")?;
    let replicas = match spec.get("replicas") {
        Some(r) => cx.int_in(&r, 0, i32::MAX as i64).unwrap_or(1) as u32,
        None => 1,
    };
    let template = cx.req(&spec, "template");
    let labels = template
        .as_ref()
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .and_then(|l| cx.string_map(&l))
        .unwrap_or_default();
    if let Some(sel) = cx.req(&spec, "selector")
        && let Some(ml) = sel.get("matchLabels").and_then(|m| cx.string_map(&m))
        && ml.iter().any(|(k, v)| labels.get(k) != Some(v))
    {
        cx.error(
            &sel,
            "`selector` does not match template `labels` (the API server rejects this Deployment)",
        );
    }
    let mut ports = Vec::new();
    if let Some(containers) = template
        .as_ref()
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(|c| cx.seq(&c))
    {
        for c in containers {
            if let Some(ps) = c.get("ports").and_then(|p| cx.seq(&p)) {
                for p in ps {
                    let Some(port) = cx.req(&p, "containerPort").and_then(|v| cx.port(&v)) else {
                        continue;
                    };
                    let name = p.get("name").and_then(|n| cx.str(&n)).map(str::to_string);
                    ports.push(ContainerPort { name, port });
                }
            }
        }
    }
    Some(Deployment {
        name: o.name.clone(),
        namespace: o.namespace.clone(),
        replicas,
        node_selector: node_selector(cx, template.as_ref()),
        labels,
        ports,
        behaviour: default_behaviour(),
    })
}

/// The pod template's `nodeSelector`.
pub fn node_selector(cx: &mut Cx, template: Option<&V>) -> BTreeMap<String, String> {
    template
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("nodeSelector"))
        .and_then(|n| cx.string_map(&n))
        .unwrap_or_default()
}

/// How a pod no `Workload` describes serves: one worker, at once.
pub fn default_behaviour() -> Behaviour {
    Behaviour {
        source: None,
        workers: 1,
        queue_limit: None,
        queue_full_status: 503,
        hold_worker_during_calls: true,
        script: Vec::new(),
        endpoints: Vec::new(),
        error: None,
        pool_size: None,
        not_ready: 0,
        drain_on_sigterm: false,
    }
}
