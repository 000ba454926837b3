//! `Service` (v1): type, selector, ports and target ports, and the fields of
//! the kube-proxy model (externalTrafficPolicy, internalTrafficPolicy, node
//! ports, healthCheckNodePort, session affinity). Errors where the API server
//! rejects the Service; an `ExternalName` Service is listed, not simulated.

use crate::cluster::nodeport::{NODE_PORT_MAX, NODE_PORT_MIN, ServiceNet};
use crate::engine::SimDuration;
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::raw::{Loc, Value};
use crate::scenario::spec::{Service, ServicePort, ServiceType, TargetPort};
use std::collections::BTreeSet;

/// A decoded `Service`.
pub enum Decoded {
    /// Simulated, with where its selector and ports are written.
    Service(Service, ServiceLocs),
    /// `type: ExternalName`: a DNS alias, not simulated.
    ExternalName,
}

/// Where a Service's selector and target ports are, so warnings about them
/// point at the right line.
#[derive(Default)]
pub struct ServiceLocs {
    pub selector: Loc,
    pub target_ports: Vec<Loc>,
}

pub fn decode(o: &Object, cx: &mut Cx) -> Option<Decoded> {
    let spec = cx.req(&o.node, "spec")?;
    let service_type = match spec.get("type") {
        None => ServiceType::ClusterIP,
        Some(t) => {
            match cx.str(&t) {
                Some("ClusterIP") => ServiceType::ClusterIP,
                Some("NodePort") => ServiceType::NodePort,
                Some("LoadBalancer") => ServiceType::LoadBalancer,
                Some("ExternalName") => return Some(Decoded::ExternalName),
                Some(other) => {
                    cx.error(&t, format!("{other:?}, must be one of ClusterIP, NodePort, LoadBalancer, ExternalName"));
                    ServiceType::ClusterIP
                }
                None => ServiceType::ClusterIP,
            }
        }
    };
    let selector = spec
        .get("selector")
        .and_then(|s| cx.string_map(&s))
        .unwrap_or_default();
    let mut locs = ServiceLocs {
        selector: spec.get("selector").map(|s| s.loc()).unwrap_or(spec.loc()),
        target_ports: Vec::new(),
    };
    let mut ports = Vec::new();
    let mut names = BTreeSet::new();
    if let Some(ps) = spec.get("ports").and_then(|p| cx.seq(&p)) {
        let many = ps.len() > 1;
        for p in ps {
            let Some(port) = cx.req(&p, "port").and_then(|v| cx.port(&v)) else {
                continue;
            };
            let name = p.get("name").and_then(|n| cx.scalar_string(&n));
            match &name {
                None if many => cx.error_at(
                    p.loc(),
                    &format!("{}.name", p.path),
                    "missing required field: every port of a Service with more than one port needs a name",
                ),
                Some(n) if !names.insert(n.clone()) => cx.error(
                    &p.get("name").unwrap_or(p.clone()),
                    format!("duplicate port name {n:?}"),
                ),
                _ => {}
            }
            let target_port = match p.get("targetPort") {
                None => TargetPort::Number(port),
                Some(t) => match &t.node.value {
                    Value::Int(_) => cx
                        .port(&t)
                        .map(TargetPort::Number)
                        .unwrap_or(TargetPort::Number(port)),
                    Value::Str(s) => match s.parse::<u16>() {
                        Ok(n) if n > 0 => TargetPort::Number(n),
                        _ => TargetPort::Name(s.clone()),
                    },
                    _ => {
                        cx.error(&t, "expected a port number or a container port name");
                        TargetPort::Number(port)
                    }
                },
            };
            locs.target_ports
                .push(p.get("targetPort").map(|t| t.loc()).unwrap_or(p.loc()));
            let app_protocol = p.get("appProtocol").and_then(|a| cx.scalar_string(&a));
            ports.push(ServicePort {
                name,
                port,
                target_port,
                app_protocol,
            });
        }
    }
    Some(Decoded::Service(
        Service {
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            selector,
            ports,
            net: service_net(cx, &spec, service_type),
            service_type,
        },
        locs,
    ))
}

/// `Cluster` / `Local` → is Local.
pub fn traffic_policy(cx: &mut Cx, v: &V) -> Option<bool> {
    cx.one_of(v, &[("Cluster", false), ("Local", true)])
}

/// `Service.spec`: externalTrafficPolicy, nodePorts, healthCheckNodePort,
/// sessionAffinity. Errors where the API server rejects the Service.
pub fn service_net(cx: &mut Cx, spec: &V, ty: ServiceType) -> ServiceNet {
    let external = matches!(ty, ServiceType::NodePort | ServiceType::LoadBalancer);
    let mut net = ServiceNet::default();
    if let Some(p) = spec.get("externalTrafficPolicy") {
        let local = traffic_policy(cx, &p).unwrap_or(false);
        if !external {
            cx.error(&p, "may only be set when type is NodePort or LoadBalancer");
        }
        net.local = local;
    }
    if let Some(p) = spec.get("internalTrafficPolicy") {
        net.internal_local = traffic_policy(cx, &p).unwrap_or(false);
    }
    if let Some(Value::Seq(items)) = spec.get("ports").map(|p| &p.node.value) {
        for (i, n) in items.iter().enumerate() {
            let pv = V {
                node: n,
                path: format!("spec.ports[{i}]"),
            };
            let np = pv.get("nodePort").and_then(|v| {
                let p = cx.int_in(&v, NODE_PORT_MIN as i64, NODE_PORT_MAX as i64)? as u16;
                if !external {
                    cx.error(&v, "may only be set when type is NodePort or LoadBalancer");
                    return None;
                }
                Some(p)
            });
            net.node_ports.push(np);
        }
    }
    if let Some(h) = spec.get("healthCheckNodePort") {
        let p = cx.int_in(&h, NODE_PORT_MIN as i64, NODE_PORT_MAX as i64);
        if !(ty == ServiceType::LoadBalancer && net.local) {
            cx.error(
                &h,
                "may only be set when type is LoadBalancer and externalTrafficPolicy is Local",
            );
        }
        net.health_check_node_port = p.map(|p| p as u16);
    }
    let affinity = match spec.get("sessionAffinity") {
        None => false,
        Some(a) => cx
            .one_of(&a, &[("None", false), ("ClientIP", true)])
            .unwrap_or(false),
    };
    let timeout = spec
        .get("sessionAffinityConfig")
        .and_then(|c| c.get("clientIP"))
        .and_then(|c| c.get("timeoutSeconds"))
        .and_then(|t| {
            let s = cx.int_in(&t, 1, 86_400)?;
            if !affinity {
                cx.error(&t, "may only be set when sessionAffinity is ClientIP");
            }
            Some(s)
        })
        .unwrap_or(10_800);
    if affinity {
        net.affinity = Some(SimDuration::from_secs(timeout as u64));
    }
    net
}
