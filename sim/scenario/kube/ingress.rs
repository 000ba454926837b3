//! `Ingress` (networking.k8s.io/v1) for ingress-nginx: rules, paths and
//! backends, and the controller meshsim adds (a Deployment and a LoadBalancer
//! Service) when a load's host is served by an Ingress rather than a Service.
//! An Ingress for another class is read and ignored, as that controller would.

use crate::cluster::ingress::{
    BackendRef, IngressPath, IngressRule, IngressSpec, PathType, PortRef, check_regex_path, route,
};
use crate::cluster::node::ClusterNet;
use crate::cluster::nodeport::ServiceNet;
use crate::scenario::decode::{Cx, V};
use crate::scenario::diag::{Origin, shorten};
use crate::scenario::object::Object;
use crate::scenario::raw::Loc;
use crate::scenario::resolve::kube_dns;
use crate::scenario::spec::*;
use std::collections::BTreeMap;

/// Namespace and name of the modelled ingress-nginx controller.
pub const INGRESS_NS: &str = "ingress-nginx";
pub const INGRESS_NAME: &str = "ingress-nginx-controller";

/// `networking.k8s.io/v1` `Ingress`. None when it is for another controller.
pub fn decode(o: &Object, cx: &mut Cx) -> Option<IngressSpec> {
    let annotations = o
        .node
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| cx.string_map(&a))
        .unwrap_or_default();
    let spec = cx.req(&o.node, "spec")?;
    let class = spec
        .get("ingressClassName")
        .and_then(|c| cx.str(&c))
        .map(str::to_string)
        .or_else(|| annotations.get("kubernetes.io/ingress.class").cloned());
    let backend = |cx: &mut Cx, b: &V| -> Option<BackendRef> {
        let Some(svc) = b.get("service") else {
            if b.has("resource") {
                cx.error(
                    b,
                    "resource backends are not simulated; use a service backend",
                );
            } else {
                cx.error_at(
                    b.loc(),
                    &format!("{}.service", b.path),
                    "missing required field",
                );
            }
            return None;
        };
        let name = cx.req(&svc, "name").and_then(|n| cx.str(&n))?.to_string();
        let port = cx.req(&svc, "port")?;
        let port = match (port.get("number"), port.get("name")) {
            (Some(n), None) => PortRef::Number(cx.port(&n)?),
            (None, Some(n)) => PortRef::Name(cx.str(&n)?.to_string()),
            _ => {
                cx.error(&port, "exactly one of number or name is required");
                return None;
            }
        };
        Some(BackendRef {
            service: name,
            port,
        })
    };
    let default_backend = spec.get("defaultBackend").and_then(|b| backend(cx, &b));
    let mut rules = Vec::new();
    let use_regex = annotations
        .get("nginx.ingress.kubernetes.io/use-regex")
        .is_some_and(|v| v == "true");
    let rewrite_target = annotations
        .get("nginx.ingress.kubernetes.io/rewrite-target")
        .cloned();
    for r in spec
        .get("rules")
        .and_then(|r| cx.seq(&r))
        .unwrap_or_default()
    {
        let host = r.get("host").and_then(|h| cx.str(&h)).map(str::to_string);
        if let (Some(h), Some(hv)) = (&host, r.get("host")) {
            let bad_wildcard = h.contains('*') && (!h.starts_with("*.") || h[2..].contains('*'));
            if bad_wildcard || h.parse::<std::net::IpAddr>().is_ok() || h.is_empty() {
                cx.error(
                    &hv,
                    format!(
                        "{h:?}: must be a DNS name (a wildcard only as the first label), not an IP"
                    ),
                );
            }
        }
        let mut paths = Vec::new();
        if let Some(http) = r.get("http") {
            for p in cx
                .req(&http, "paths")
                .and_then(|p| cx.seq(&p))
                .unwrap_or_default()
            {
                let path_type = match cx.req(&p, "pathType").and_then(|t| cx.str(&t)) {
                    Some("Exact") => PathType::Exact,
                    Some("Prefix") => PathType::Prefix,
                    Some("ImplementationSpecific") => PathType::ImplementationSpecific,
                    Some(other) => {
                        cx.error(
                            &p.get("pathType").unwrap_or(p.clone()),
                            format!("{other:?}, must be Exact, Prefix or ImplementationSpecific"),
                        );
                        continue;
                    }
                    None => continue,
                };
                let path = p
                    .get("path")
                    .and_then(|x| cx.str(&x))
                    .unwrap_or("/")
                    .to_string();
                if path_type != PathType::ImplementationSpecific && !path.starts_with('/') {
                    cx.error(
                        &p.get("path").unwrap_or(p.clone()),
                        format!("{path:?}: must be an absolute path"),
                    );
                    continue;
                }
                if (use_regex || rewrite_target.is_some())
                    && let Err(e) = check_regex_path(&path)
                {
                    cx.error(
                        &p.get("path").unwrap_or(p.clone()),
                        format!(
                            "{}: not a regular expression meshsim can match (use-regex/rewrite-target make Ingress paths regexes): {e}",
                            shorten(&path)
                        ),
                    );
                    continue;
                }
                let Some(b) = cx.req(&p, "backend").and_then(|b| backend(cx, &b)) else {
                    continue;
                };
                paths.push(IngressPath {
                    path,
                    path_type,
                    backend: b,
                });
            }
        }
        rules.push(IngressRule { host, paths });
    }
    if rules.is_empty() && default_backend.is_none() {
        cx.error_at(
            spec.loc(),
            "spec",
            "either defaultBackend or rules must be specified",
        );
    }
    if class.as_deref().is_some_and(|c| c != "nginx") {
        return None;
    }
    Some(IngressSpec {
        name: o.name.clone(),
        namespace: o.namespace.clone(),
        rules,
        default_backend,
        rewrite_target,
        use_regex,
    })
}

fn is_service_host(host: &str, from_ns: &str, services: &[(Service, Origin, Loc)]) -> bool {
    kube_dns(host, from_ns).is_some_and(|(n, ns)| {
        services
            .iter()
            .any(|(s, _, _)| s.name == n && s.namespace == ns)
    })
}

/// Adds the ingress-nginx controller (Deployment + LoadBalancer Service) when
/// some load's host is not a Service but is served by an Ingress. Returns the
/// controller's deployment index.
pub fn add_ingress_controller(
    net: &ClusterNet,
    ingresses: &mut [IngressSpec],
    hosts: &[(&str, &str)],
    deployments: &mut Vec<(Deployment, Origin, Loc)>,
    services: &mut Vec<(Service, Origin, Loc)>,
    behaviour: Behaviour,
) -> Option<usize> {
    ingresses.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let needed = !ingresses.is_empty()
        && hosts
            .iter()
            .any(|(h, ns)| !is_service_host(h, ns, services));
    if !needed {
        return None;
    }
    let origin = Origin {
        file: "(ingress-nginx, modelled by meshsim)".into(),
        document: 0,
        object: None,
    };
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/name".to_string(),
        "ingress-nginx".to_string(),
    );
    labels.insert(
        "app.kubernetes.io/component".to_string(),
        "controller".to_string(),
    );
    deployments.push((
        Deployment {
            name: INGRESS_NAME.into(),
            namespace: INGRESS_NS.into(),
            replicas: net.ingress_controller.replicas,
            labels: labels.clone(),
            node_selector: BTreeMap::new(),
            ports: vec![ContainerPort {
                name: Some("http".into()),
                port: 80,
            }],
            behaviour: Behaviour {
                source: Some("ingress-nginx (proxy)".into()),
                ..behaviour
            },
        },
        origin.clone(),
        Loc::default(),
    ));
    services.push((
        Service {
            name: INGRESS_NAME.into(),
            namespace: INGRESS_NS.into(),
            selector: labels,
            ports: vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: TargetPort::Name("http".into()),
                app_protocol: None,
            }],
            service_type: ServiceType::LoadBalancer,
            net: ServiceNet {
                local: net.ingress_controller.local,
                node_ports: vec![None],
                health_check_node_port: None,
                affinity: None,
                internal_local: false,
            },
        },
        origin,
        Loc::default(),
    ));
    Some(deployments.len() - 1)
}

type Resolver<'r> = &'r dyn Fn(&str, Option<u16>, &str) -> Result<Target, String>;

/// A load whose host is not a Service goes to the ingress controller: its
/// target becomes the controller's port 80 and `entry.ingress` says where the
/// controller sends it. None = not an Ingress load (resolve as a Service).
pub fn ingress_load(
    load: &mut Load,
    host: &str,
    port: Option<u16>,
    controller: Option<usize>,
    ingresses: &[IngressSpec],
    services: &[(Service, Origin, Loc)],
    resolve: Resolver,
) -> Option<Result<Target, String>> {
    controller?;
    if is_service_host(host, &load.namespace, services) {
        return None;
    }
    if port.is_some_and(|p| p != 80) {
        return Some(Err(format!(
            "host {host:?} is neither a Service nor served on port {} by the ingress controller (port 80)",
            port.unwrap_or(0)
        )));
    }
    let hop = match route(ingresses, host, &load.path) {
        None => IngressHop {
            backend: None,
            status: 404,
            forwarded_path: load.path.clone(),
            matched: None,
        },
        Some(r) => {
            let ing = &ingresses[r.ingress];
            let port = match &r.backend.port {
                PortRef::Number(n) => Some(*n),
                PortRef::Name(name) => services
                    .iter()
                    .find(|(s, _, _)| s.name == r.backend.service && s.namespace == ing.namespace)
                    .and_then(|(s, _, _)| {
                        s.ports
                            .iter()
                            .find(|p| p.name.as_deref() == Some(name.as_str()))
                            .map(|p| p.port)
                    }),
            };
            let backend =
                port.and_then(|p| resolve(&r.backend.service, Some(p), &ing.namespace).ok());
            IngressHop {
                status: if backend.is_some() { 200 } else { 503 },
                backend,
                forwarded_path: r.forwarded_path,
                matched: Some(format!("{}/{}", ing.namespace, ing.name)),
            }
        }
    };
    load.entry.ingress = Some(hop);
    Some(resolve(INGRESS_NAME, Some(80), INGRESS_NS))
}
