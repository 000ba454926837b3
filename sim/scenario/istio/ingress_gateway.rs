//! Istio's default ingress gateway, added to a scenario that routes through
//! it without declaring it.
//!
//! Why: a Gateway with `selector: {istio: ingressgateway}` (Bookinfo's
//! `bookinfo-gateway`) presumes the `istio-ingressgateway` that `istioctl
//! install` (default profile) creates. Scenario files written against a real
//! cluster do not contain it, yet traffic must reach a pod through a
//! LoadBalancer/NodePort chain. So the loader adds it as an ordinary
//! Deployment + Service *before* placement and node ports are computed (the
//! world then treats it like any Deployment), exactly as installed
//! (reference "Pinned facts: Gateways installed"): Deployment
//! `istio-system/istio-ingressgateway`, labels `app: istio-ingressgateway`,
//! `istio: ingressgateway`, 1 replica; LoadBalancer Service ports
//! `status-port` 15021→15021, `http2` 80→8080, `https` 443→8443.

use crate::cluster::nodeport::ServiceNet;
use crate::cluster::selector::selects;
use crate::scenario::diag::Origin;
use crate::scenario::raw::Loc;
use crate::scenario::spec::istio::Gateway;
use crate::scenario::spec::*;
use std::collections::BTreeMap;

pub const NAME: &str = "istio-ingressgateway";
pub const NAMESPACE: &str = "istio-system";
/// `Behaviour::source` of the synthesised Deployment (how istiod recognises it).
pub const SOURCE: &str = "istio-ingressgateway (Istio's default ingress gateway, added by meshsim)";

/// Pod labels of the default ingress gateway.
pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), NAME.to_string()),
        ("istio".to_string(), "ingressgateway".to_string()),
    ])
}

/// Whether some Gateway selects the default ingress gateway's pods.
pub fn wanted(gateways: &[Gateway]) -> bool {
    let l = labels();
    gateways
        .iter()
        .any(|g| g.selector.contains_key("istio") && selects(&g.selector, &l))
}

/// Adds the Deployment and Service when `wanted` and no Deployment carries
/// `istio: ingressgateway`. Returns whether it did.
pub fn add(
    wanted: bool,
    deployments: &mut Vec<(Deployment, Origin, Loc)>,
    services: &mut Vec<(Service, Origin, Loc)>,
    behaviour: Behaviour,
) -> bool {
    let exists = deployments
        .iter()
        .any(|(d, _, _)| d.labels.get("istio").is_some_and(|v| v == "ingressgateway"));
    if !wanted || exists {
        return false;
    }
    let origin = Origin {
        file: "(istio-ingressgateway, Istio's default install, added by meshsim)".into(),
        document: 0,
        object: None,
    };
    let ports = [
        ("status-port", 15021, 15021),
        ("http2", 80, 8080),
        ("https", 443, 8443),
    ];
    deployments.push((
        Deployment {
            name: NAME.into(),
            namespace: NAMESPACE.into(),
            replicas: 1,
            labels: labels(),
            node_selector: BTreeMap::new(),
            ports: ports
                .iter()
                .map(|&(n, _, t)| ContainerPort {
                    name: Some(n.into()),
                    port: t,
                })
                .collect(),
            behaviour: Behaviour {
                source: Some(SOURCE.into()),
                ..behaviour
            },
        },
        origin.clone(),
        Loc::default(),
    ));
    services.push((
        Service {
            name: NAME.into(),
            namespace: NAMESPACE.into(),
            selector: labels(),
            ports: ports
                .iter()
                .map(|&(n, p, t)| ServicePort {
                    name: Some(n.into()),
                    port: p,
                    target_port: TargetPort::Number(t),
                    app_protocol: None,
                })
                .collect(),
            service_type: ServiceType::LoadBalancer,
            net: ServiceNet {
                local: false,
                node_ports: vec![None; ports.len()],
                health_check_node_port: None,
                affinity: None,
                internal_local: false,
            },
        },
        origin,
        Loc::default(),
    ));
    true
}
