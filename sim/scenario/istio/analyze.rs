//! `istioctl analyze`-style cross-object checks: what Istio accepts and then
//! fails (or quietly ignores) at run time, found before anything is simulated.
//!
//! Why here and pure: these need the whole scenario (Gateways with the
//! Deployments and Services behind them, every VirtualService at once), so
//! they run when the Istio collector finishes; each is a function from the
//! spec to named findings, and [`super::Collector::finish`] turns findings
//! into located warnings with the IST code in the message. Checks that need
//! only one object (an earlier catch-all route, IST0130/IST0131) live in that
//! kind's decoder, where the YAML locations are; the references the collector
//! resolves (a missing gateway, an undefined subset: IST0101) live in
//! `istio.rs`.
//!
//! Sources (istio/istio 1.28.10): `pkg/config/analysis/analyzers/gateway/gateway.go`
//! (IngressGatewayPortAnalyzer: IST0162 when a server's `port.number` is neither
//! a `port` nor a `targetPort` of a Service selecting the gateway pods; IST0101
//! when the selector matches no pod), `analyzers/virtualservice/conflictingmeshgatewayhosts.go`
//! (IST0109: two mesh-bound VirtualServices define one host and a namespace
//! sees both), `pkg/config/analysis/msg/messages.yaml` (codes and wording).

use crate::cluster::selector::selects;
use crate::scenario::spec::istio::{Gateway, VirtualService};
use crate::scenario::spec::{Deployment, Service, TargetPort};

/// Istio's default ingress gateway Service ports (name, port, targetPort;
/// reference "Pinned facts: Gateways installed"). The loader adds that
/// Deployment and Service (`super::ingress_gateway`) when a Gateway selects
/// it and the scenario has none, so this is only the fallback when a check
/// runs on Gateways without it.
const DEFAULT_INGRESS_PORTS: [(&str, u16, u16); 3] = [
    ("status-port", 15021, 15021),
    ("http2", 80, 8080),
    ("https", 443, 8443),
];

/// A Gateway server whose port no Service of the gateway pods exposes (IST0162).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnexposedServerPort {
    pub gateway: usize,
    pub server: usize,
    pub port: u16,
    /// `selector k=v,…` of the Gateway, for the message.
    pub selector: String,
    /// The Services consulted, `ns/name (80→8080, …)`, or Istio's default
    /// ingress gateway Service when the scenario declares none.
    pub services: Vec<String>,
}

/// A Gateway whose selector matches no Deployment (IST0101).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayWithoutWorkload {
    pub gateway: usize,
    pub selector: String,
}

/// What the gateway checks found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayFindings {
    pub unexposed: Vec<UnexposedServerPort>,
    pub no_workload: Vec<GatewayWithoutWorkload>,
}

fn selector_text(g: &Gateway) -> String {
    g.selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// IST0162 and IST0101 for every Gateway with a selector.
///
/// The gateway pods are the Deployments whose pod labels the selector
/// matches (any namespace, as istiod does without
/// `PILOT_SCOPE_GATEWAY_TO_NAMESPACE`); their Services are those in the pod's
/// namespace whose selector matches the pod labels. A named `targetPort` is
/// resolved through the Deployment's container ports. When no Deployment
/// matches but the selector picks Istio's default ingress gateway
/// (`istio: ingressgateway`), that install's Service (15021, 80→8080,
/// 443→8443) is used, since meshsim adds the gateway itself.
pub fn gateway_ports(
    gateways: &[Gateway],
    deployments: &[Deployment],
    services: &[Service],
) -> GatewayFindings {
    let mut out = GatewayFindings::default();
    for (gi, g) in gateways.iter().enumerate() {
        if g.selector.is_empty() {
            continue;
        }
        let pods: Vec<&Deployment> = deployments
            .iter()
            .filter(|d| selects(&g.selector, &d.labels))
            .collect();
        // (port, targetPort) pairs of every Service in front of the pods.
        let mut exposed: Vec<(u16, Option<u16>)> = Vec::new();
        let mut described: Vec<String> = Vec::new();
        if pods.is_empty() {
            if selects(&g.selector, &super::ingress_gateway::labels()) {
                exposed.extend(DEFAULT_INGRESS_PORTS.iter().map(|&(_, p, t)| (p, Some(t))));
                described.push(
                    "istio-system/istio-ingressgateway, Istio's default install (15021, 80→8080, 443→8443)"
                        .into(),
                );
            } else {
                out.no_workload.push(GatewayWithoutWorkload {
                    gateway: gi,
                    selector: selector_text(g),
                });
                continue;
            }
        }
        for d in &pods {
            for s in services
                .iter()
                .filter(|s| s.namespace == d.namespace && selects(&s.selector, &d.labels))
            {
                let mut ports = Vec::new();
                for p in &s.ports {
                    let target = match &p.target_port {
                        TargetPort::Number(n) => Some(*n),
                        TargetPort::Name(n) => d
                            .ports
                            .iter()
                            .find(|c| c.name.as_deref() == Some(n.as_str()))
                            .map(|c| c.port),
                    };
                    exposed.push((p.port, target));
                    ports.push(match target {
                        Some(t) if t != p.port => format!("{}→{t}", p.port),
                        _ => p.port.to_string(),
                    });
                }
                let name = format!("{}/{} ({})", s.namespace, s.name, ports.join(", "));
                if !described.contains(&name) {
                    described.push(name);
                }
            }
        }
        for (si, srv) in g.servers.iter().enumerate() {
            let n = srv.port.number;
            if !exposed.iter().any(|&(p, t)| p == n || t == Some(n)) {
                out.unexposed.push(UnexposedServerPort {
                    gateway: gi,
                    server: si,
                    port: n,
                    selector: selector_text(g),
                    services: described.clone(),
                });
            }
        }
    }
    out
}

impl UnexposedServerPort {
    pub fn message(&self) -> String {
        let via = if self.services.is_empty() {
            "no Service selects the gateway pods".to_string()
        } else {
            format!("the gateway pods' Services: {}", self.services.join("; "))
        };
        format!(
            "IST0162 GatewayPortNotDefinedOnService: server port {} is neither a port nor a targetPort of a Service selecting the gateway pods ({}; {via}); the listener exists but no traffic reaches it through the Service — add the port to the gateway Service to use it",
            self.port, self.selector
        )
    }
}

impl GatewayWithoutWorkload {
    pub fn message(&self) -> String {
        format!(
            "IST0101 ReferencedResourceNotFound: referenced selector not found: {:?} selects no Deployment's pods, so no gateway proxy serves this Gateway",
            self.selector
        )
    }
}

/// Mesh-bound VirtualServices that define one host (IST0109).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshHostConflict {
    /// The resolved host (lowercase).
    pub host: String,
    /// Indices into the VirtualService list, file order; the first wins in
    /// sidecars (file order stands in for `creationTimestamp`).
    pub virtual_services: Vec<usize>,
}

/// Namespaces a VirtualService is visible in: `None` = all (`exportTo`
/// absent or `*`), else the names (`.` = its own namespace).
fn visible_in(vs: &VirtualService) -> Option<Vec<String>> {
    if vs.export_to.is_empty() || vs.export_to.iter().any(|e| e == "*") {
        return None;
    }
    Some(
        vs.export_to
            .iter()
            .map(|e| {
                if e == "." {
                    vs.meta.namespace.clone()
                } else {
                    e.clone()
                }
            })
            .collect(),
    )
}

fn see_each_other(a: &VirtualService, b: &VirtualService) -> bool {
    match (visible_in(a), visible_in(b)) {
        (None, _) | (_, None) => true,
        (Some(x), Some(y)) => x.iter().any(|n| y.contains(n)),
    }
}

/// IST0109: VirtualServices bound to `mesh` (explicitly, or by naming no
/// gateway) that define the same host and are visible together in some
/// namespace. Delegates (no hosts) take no part.
pub fn mesh_host_conflicts(vss: &[VirtualService]) -> Vec<MeshHostConflict> {
    let mut by_host: Vec<MeshHostConflict> = Vec::new();
    for (i, vs) in vss.iter().enumerate() {
        if !vs.gateways.iter().any(|g| g == "mesh") {
            continue;
        }
        for h in &vs.hosts {
            let h = h.to_ascii_lowercase();
            match by_host.iter_mut().find(|c| c.host == h) {
                Some(c) => {
                    if !c.virtual_services.contains(&i) {
                        c.virtual_services.push(i);
                    }
                }
                None => by_host.push(MeshHostConflict {
                    host: h,
                    virtual_services: vec![i],
                }),
            }
        }
    }
    by_host
        .into_iter()
        .filter_map(|mut c| {
            let all = c.virtual_services.clone();
            c.virtual_services.retain(|&i| {
                all.iter()
                    .any(|&j| j != i && see_each_other(&vss[i], &vss[j]))
            });
            (c.virtual_services.len() > 1).then_some(c)
        })
        .collect()
}

impl MeshHostConflict {
    /// The message for member `me` of the conflict.
    pub fn message(&self, vss: &[VirtualService], me: usize) -> String {
        let names: Vec<String> = self
            .virtual_services
            .iter()
            .map(|&i| {
                let m = &vss[i].meta;
                format!("{}/{} ({})", m.namespace, m.name, m.source)
            })
            .collect();
        let first = &vss[self.virtual_services[0]].meta;
        let verdict = if self.virtual_services[0] == me {
            "this one wins in sidecars (first by file order, standing in for creationTimestamp); the others' routes for this host are ignored there".to_string()
        } else {
            format!(
                "{}/{} wins in sidecars (first by file order, standing in for creationTimestamp); this one's routes for this host are ignored there",
                first.namespace, first.name
            )
        };
        format!(
            "IST0109 ConflictingMeshGatewayVirtualServiceHosts: the VirtualServices {} associated with the mesh gateway define the same host {}: {verdict}; merge them into one VirtualService",
            names.join(", "),
            self.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::spec::istio::*;
    use crate::scenario::spec::{ContainerPort, ServicePort, ServiceType};
    use std::collections::BTreeMap;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn gateway(sel: &[(&str, &str)], ports: &[u16]) -> Gateway {
        Gateway {
            meta: ObjectMeta::default(),
            selector: labels(sel),
            servers: ports
                .iter()
                .map(|&n| Server {
                    port: ServerPort {
                        number: n,
                        name: format!("p{n}"),
                        protocol: Protocol::Http,
                    },
                    hosts: vec![],
                    tls: None,
                    bind: None,
                    name: None,
                })
                .collect(),
        }
    }

    fn deployment(ns: &str, l: &[(&str, &str)]) -> Deployment {
        Deployment {
            name: "gw".into(),
            namespace: ns.into(),
            replicas: 1,
            labels: labels(l),
            node_selector: BTreeMap::new(),
            ports: vec![ContainerPort {
                name: Some("web".into()),
                port: 8081,
            }],
            behaviour: crate::scenario::kube::deployment::default_behaviour(),
        }
    }

    fn service(ns: &str, sel: &[(&str, &str)], ports: &[(u16, TargetPort)]) -> Service {
        Service {
            name: "gw".into(),
            namespace: ns.into(),
            selector: labels(sel),
            ports: ports
                .iter()
                .map(|(p, t)| ServicePort {
                    name: None,
                    port: *p,
                    target_port: t.clone(),
                    app_protocol: None,
                })
                .collect(),
            service_type: ServiceType::LoadBalancer,
            net: Default::default(),
        }
    }

    #[test]
    fn ports_targets_named_targets_and_the_default_gateway() {
        let gws = [gateway(&[("app", "gw")], &[80, 8080, 8081, 9000])];
        let deps = [deployment("gw-ns", &[("app", "gw")])];
        let svcs = [service(
            "gw-ns",
            &[("app", "gw")],
            &[
                (80, TargetPort::Number(8080)),
                (81, TargetPort::Name("web".into())),
            ],
        )];
        let f = gateway_ports(&gws, &deps, &svcs);
        let ports: Vec<u16> = f.unexposed.iter().map(|u| u.port).collect();
        assert_eq!(ports, vec![9000]);
        assert!(f.unexposed[0].message().starts_with("IST0162"));
        // A Service in another namespace does not count.
        let other = [service(
            "elsewhere",
            &[("app", "gw")],
            &[(9000, TargetPort::Number(9000))],
        )];
        let f = gateway_ports(&gws, &deps, &other);
        assert_eq!(f.unexposed.len(), 4);
        // No Deployment: the default ingress gateway's Service stands in.
        let def = [gateway(&[("istio", "ingressgateway")], &[80, 8443, 9080])];
        let f = gateway_ports(&def, &[], &[]);
        assert_eq!(
            f.unexposed.iter().map(|u| u.port).collect::<Vec<_>>(),
            vec![9080]
        );
        // A selector nothing matches.
        let f = gateway_ports(&[gateway(&[("istio", "typo")], &[80])], &[], &[]);
        assert_eq!(f.no_workload.len(), 1);
        assert!(f.no_workload[0].message().starts_with("IST0101"));
    }

    fn vs(
        ns: &str,
        name: &str,
        hosts: &[&str],
        gateways: &[&str],
        export: &[&str],
    ) -> VirtualService {
        VirtualService {
            meta: ObjectMeta {
                name: name.into(),
                namespace: ns.into(),
                source: format!("{name}.yaml:1"),
            },
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            gateways: gateways.iter().map(|s| s.to_string()).collect(),
            export_to: export.iter().map(|s| s.to_string()).collect(),
            http: vec![],
            tcp: vec![],
            tls: vec![],
        }
    }

    #[test]
    fn mesh_conflicts_respect_gateways_and_export_to() {
        let r = "reviews.default.svc.cluster.local";
        let list = [
            vs("default", "a", &[r], &["mesh"], &[]),
            vs("default", "b", &[r], &["mesh"], &[]),
            vs("default", "ingress-only", &[r], &["default/gw"], &[]),
            vs(
                "x",
                "private-x",
                &["ratings.x.svc.cluster.local"],
                &["mesh"],
                &["."],
            ),
            vs(
                "y",
                "private-y",
                &["ratings.x.svc.cluster.local"],
                &["mesh"],
                &["."],
            ),
        ];
        let c = mesh_host_conflicts(&list);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].virtual_services, vec![0, 1]);
        assert!(c[0].message(&list, 0).contains("this one wins"));
        assert!(c[0].message(&list, 1).contains("default/a wins"));
    }
}
