//! Istio `Sidecar`: which services a workload's proxy knows (egress hosts) and
//! its outbound policy. Rules of istiod 1.28 `validateSidecar`,
//! `validateSidecarEgressPortBindAndCaptureMode`,
//! `validateSidecarOutboundTrafficPolicy` (istio/istio
//! `pkg/config/validation/validation.go` @1.28.10; reference §12). Ingress
//! listeners are validated for their ports only and not simulated.

use super::hosts::{self, fields, list, obj, opt_str, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::spec::istio::*;
use std::collections::BTreeSet;

pub fn decode(o: &Object, cx: &mut Cx) -> Option<Sidecar> {
    fields(cx, &o.node, hosts::OBJECT_FIELDS);
    let spec = cx.req(&o.node, "spec")?;
    obj(
        cx,
        &spec,
        &[
            "workloadSelector",
            "ingress",
            "egress",
            "outboundTrafficPolicy",
            "inboundConnectionPool",
        ],
    )?;
    if ![
        "egress",
        "ingress",
        "outboundTrafficPolicy",
        "inboundConnectionPool",
    ]
    .iter()
    .any(|k| spec.has(k))
    {
        cx.error(&spec, "sidecar: empty configuration provided");
    }
    let workload_selector = spec
        .get("workloadSelector")
        .and_then(|w| hosts::workload_selector(cx, &w, "labels"));
    let egress_v = list(cx, &spec, "egress");
    let mut ports = BTreeSet::new();
    let mut egress = Vec::new();
    for (i, e) in egress_v.iter().enumerate() {
        if obj(cx, e, &["port", "bind", "captureMode", "hosts"]).is_none() {
            continue;
        }
        let port = e.get("port").and_then(|p| sidecar_port(cx, &p));
        if port.is_none() && !e.has("port") && i + 1 != egress_v.len() {
            cx.error(e, "sidecar: the egress listener with empty port should be the last listener in the list");
        }
        if let Some(p) = &port
            && !ports.insert(p.number)
        {
            cx.error(
                e,
                format!(
                    "sidecar: ports on egress listeners must be unique: {}",
                    p.number
                ),
            );
        }
        let hs = string_list(cx, e, "hosts");
        if hs.is_empty() {
            cx.error(e, "sidecar: egress listener must contain at least one host");
        }
        let mut seen = BTreeSet::new();
        let mut out_hosts = Vec::new();
        for (h, at) in &hs {
            if !seen.insert(h.clone()) {
                cx.warn(at, format!("duplicate egress host {h:?}"));
            }
            if let Some(g) = hosts::namespaced_host(cx, at, h, false) {
                out_hosts.push(g);
            }
        }
        if hs.len() > 1 && hs.iter().any(|(h, _)| h == "*/*") {
            cx.warn(
                e,
                "egress host */* makes the other hosts of this listener redundant",
            );
        }
        let bind = opt_str(cx, e, "bind");
        if let (Some(b), Some(at)) = (&bind, e.get("bind"))
            && !hosts::is_ip(b)
            && !b.starts_with("unix://")
        {
            cx.error(
                &at,
                format!("{b:?}: sidecar: bind must be an IP address or unix:// path"),
            );
        }
        egress.push(EgressListener {
            port,
            bind,
            hosts: out_hosts,
        });
    }
    let ingress_v = list(cx, &spec, "ingress");
    let mut in_ports = BTreeSet::new();
    for i in &ingress_v {
        match i.get("port") {
            None => cx.error(i, "sidecar: ingress listener must have a port"),
            Some(p) => {
                if let Some(sp) = sidecar_port(cx, &p)
                    && !in_ports.insert(sp.number)
                {
                    cx.error(
                        &p,
                        format!(
                            "sidecar: ports on ingress listeners must be unique: {}",
                            sp.number
                        ),
                    );
                }
            }
        }
    }
    let outbound_traffic_policy = match spec.get("outboundTrafficPolicy") {
        Some(p) => outbound(cx, &p),
        None => None,
    };
    Some(Sidecar {
        meta: super::meta(o),
        workload_selector,
        egress,
        ingress_listeners: ingress_v.len(),
        outbound_traffic_policy,
    })
}

fn sidecar_port(cx: &mut Cx, p: &V) -> Option<SidecarPort> {
    obj(cx, p, &["number", "protocol", "name", "targetPort"])?;
    let number = cx.req(p, "number").and_then(|n| cx.port(&n))?;
    let protocol = p.get("protocol").and_then(|x| hosts::protocol(cx, &x));
    Some(SidecarPort {
        number,
        protocol,
        name: opt_str(cx, p, "name"),
    })
}

/// `outboundTrafficPolicy` (Sidecar and MeshConfig): `mode`, and
/// `egressProxy` only with ALLOW_ANY.
pub fn outbound(cx: &mut Cx, p: &V) -> Option<OutboundMode> {
    obj(cx, p, &["mode", "egressProxy"])?;
    let mode = match p.get("mode") {
        Some(m) => cx.one_of(
            &m,
            &[
                ("REGISTRY_ONLY", OutboundMode::RegistryOnly),
                ("ALLOW_ANY", OutboundMode::AllowAny),
            ],
        )?,
        None => OutboundMode::AllowAny,
    };
    if let Some(e) = p.get("egressProxy")
        && mode != OutboundMode::AllowAny
    {
        cx.error(
            &e,
            "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode",
        );
    }
    Some(mode)
}
