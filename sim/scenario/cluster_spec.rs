//! Decoding of the cluster network: the meshsim `Cluster` kind, Kubernetes
//! `Ingress`, and the networking fields of Deployments, Services, Workloads
//! and Loads; then placement, node-port allocation and entry resolution.
//!
//! Kept out of `validate.rs` (which calls in with one line per hook) so the
//! networking model can grow without touching the core loader. `Cluster` is a
//! meshsim kind and strict (unknown fields are errors); Kubernetes objects
//! ignore fields meshsim does not model, as the API server's clients do.

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::raw::{Loc, Value};
use super::spec::*;
use super::validate::{Object, dist, kube_dns};
use crate::cluster::ingress::{
    BackendRef, IngressPath, IngressRule, IngressSpec, PathType, PortRef, check_regex_path, route,
};
use crate::cluster::node::{
    Cloud, ClusterNet, HOSTNAME_LABEL, HopLatency, IngressControllerSpec, NO_NODE, Node, ZONE_LABEL,
};
use crate::cluster::nodeport::{NODE_PORT_MAX, NODE_PORT_MIN, PortWants, ServiceNet, allocate};
use crate::cluster::topology::place;
use crate::engine::SimDuration;
use std::collections::BTreeMap;

/// Namespace and name of the modelled ingress-nginx controller.
pub const INGRESS_NS: &str = "ingress-nginx";
pub const INGRESS_NAME: &str = "ingress-nginx-controller";

/// Most nodes a scenario may declare (node indices are 16-bit).
const MAX_NODES: i64 = 10_000;

/// `kind: Cluster`.
pub fn cluster(o: &Object, cx: &mut Cx) -> Option<ClusterNet> {
    cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
    let spec = cx.req(&o.node, "spec")?;
    cx.known_fields(
        &spec,
        &[
            "nodes",
            "network",
            "handshake",
            "cloud",
            "ingressController",
        ],
    );
    let mut net = ClusterNet::implicit();
    net.name = o.name.clone();
    net.nodes.clear();
    net.zones.clear();
    if let Some(items) = cx.req(&spec, "nodes").and_then(|n| cx.seq(&n)) {
        for item in items {
            cx.known_fields(&item, &["name", "count", "zone", "labels", "maxPods"]);
            let Some(name) = cx.req(&item, "name").and_then(|n| cx.str(&n)) else {
                continue;
            };
            let count = item
                .get("count")
                .and_then(|c| cx.int_in(&c, 1, MAX_NODES))
                .unwrap_or(1);
            let mut labels = item
                .get("labels")
                .and_then(|l| cx.string_map(&l))
                .unwrap_or_default();
            let zone = match item.get("zone").and_then(|z| cx.scalar_string(&z)) {
                Some(z) => z,
                None => labels.get(ZONE_LABEL).cloned().unwrap_or_default(),
            };
            if !zone.is_empty() {
                labels.insert(ZONE_LABEL.to_string(), zone.clone());
            }
            let max_pods = item
                .get("maxPods")
                .and_then(|m| cx.int_in(&m, 0, u32::MAX as i64))
                .map(|m| m as u32);
            let zi = match net.zones.iter().position(|z| *z == zone) {
                Some(i) => i,
                None => {
                    net.zones.push(zone.clone());
                    net.zones.len() - 1
                }
            };
            for i in 0..count {
                let n = if count == 1 {
                    name.to_string()
                } else {
                    format!("{name}-{i}")
                };
                if net.nodes.iter().any(|x| x.name == n) {
                    cx.error(&item, format!("duplicate node name {n:?}"));
                    continue;
                }
                let mut l = labels.clone();
                l.insert(HOSTNAME_LABEL.to_string(), n.clone());
                net.nodes.push(Node {
                    name: n,
                    zone: zi as u16,
                    labels: l,
                    max_pods,
                });
            }
        }
        if net.nodes.is_empty() {
            cx.error_at(
                spec.loc(),
                "spec.nodes",
                "a Cluster needs at least one node",
            );
        } else if net.nodes.len() as i64 > MAX_NODES {
            cx.error_at(
                spec.loc(),
                "spec.nodes",
                format!("{} nodes, at most {MAX_NODES}", net.nodes.len()),
            );
        }
    }
    if let Some(n) = spec.get("network") {
        cx.known_fields(&n, &["sameNode", "sameZone", "crossZone", "external"]);
        let mut lat = HopLatency::zero();
        for (key, slot) in [
            ("sameNode", &mut lat.same_node),
            ("sameZone", &mut lat.same_zone),
            ("crossZone", &mut lat.cross_zone),
            ("external", &mut lat.external),
        ] {
            if let Some(d) = n.get(key).and_then(|d| dist(cx, &d)) {
                *slot = d;
            }
        }
        net.latency = lat;
    }
    if let Some(h) = spec.get("handshake").and_then(|h| dist(cx, &h)) {
        net.handshake = h;
    }
    if let Some(c) = spec.get("cloud") {
        net.cloud = cx
            .one_of(&c, &[("none", Cloud::None), ("generic", Cloud::Generic)])
            .unwrap_or(Cloud::Generic);
    }
    if let Some(ic) = spec.get("ingressController") {
        cx.known_fields(&ic, &["replicas", "externalTrafficPolicy"]);
        let replicas = ic
            .get("replicas")
            .and_then(|r| cx.int_in(&r, 1, 10_000))
            .unwrap_or(1) as u32;
        let local = ic
            .get("externalTrafficPolicy")
            .and_then(|p| traffic_policy(cx, &p))
            .unwrap_or(false);
        net.ingress_controller = IngressControllerSpec { replicas, local };
    }
    Some(net)
}

/// `Cluster` / `Local` → is Local.
fn traffic_policy(cx: &mut Cx, v: &V) -> Option<bool> {
    cx.one_of(v, &[("Cluster", false), ("Local", true)])
}

/// The pod template's `nodeSelector`.
pub fn node_selector(cx: &mut Cx, template: Option<&V>) -> BTreeMap<String, String> {
    template
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("nodeSelector"))
        .and_then(|n| cx.string_map(&n))
        .unwrap_or_default()
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

/// Load fields of the entry model: `entry`, `node`.
pub const LOAD_FIELDS: &[&str] = &["entry", "node"];

/// A load's entry before the cluster is known.
#[derive(Clone, Debug, Default)]
pub struct RawEntry {
    pub kind: EntryKind,
    pub node: Option<(String, Loc, String)>,
    pub loc: Loc,
}

pub fn load_entry(cx: &mut Cx, spec: &V) -> RawEntry {
    let mut e = RawEntry {
        loc: spec.loc(),
        ..RawEntry::default()
    };
    if let Some(k) = spec.get("entry") {
        e.kind = match cx.str(&k) {
            Some("ClusterIP") => EntryKind::ClusterIP,
            Some("NodePort") => EntryKind::NodePort,
            Some("LoadBalancer") => EntryKind::LoadBalancer,
            Some(other) => {
                cx.error(
                    &k,
                    format!("{other:?}, must be ClusterIP, NodePort or LoadBalancer"),
                );
                EntryKind::ClusterIP
            }
            None => EntryKind::ClusterIP,
        };
    }
    if let Some(n) = spec.get("node")
        && let Some(s) = cx.str(&n)
    {
        e.node = Some((s.to_string(), n.loc(), n.path.clone()));
    }
    e
}

/// `networking.k8s.io/v1` `Ingress`. None when it is for another controller.
pub fn ingress(o: &Object, cx: &mut Cx) -> Option<IngressSpec> {
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

/// `s` quoted, cut to its first 80 characters (a huge pattern would drown the message).
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &s[..end], s.len()),
    }
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

/// Resolves a load's entry (node names, Service type checks) once its target is known.
pub fn resolve_entry(
    cx: &mut Cx,
    net: &ClusterNet,
    explicit: bool,
    raw: &RawEntry,
    load: &mut Load,
    services: &[(Service, Origin, Loc)],
) {
    let svc = &services[load.target.service].0;
    let mut kind = raw.kind;
    if load.entry.ingress.is_some() && raw.kind == EntryKind::ClusterIP && raw.node.is_none() {
        // An Ingress host is reached from outside, through the controller's LB.
        kind = EntryKind::LoadBalancer;
    }
    load.entry.kind = kind;
    if let Some((name, loc, path)) = &raw.node {
        match net.node_ix(name) {
            Some(i) if explicit => load.entry.node = Some(i),
            _ => {
                let known: Vec<&str> = net.nodes.iter().map(|n| n.name.as_str()).collect();
                let msg = if explicit {
                    format!(
                        "no node {name:?} in the Cluster (nodes: {})",
                        known.join(", ")
                    )
                } else {
                    format!("node {name:?}: nodes need a meshsim Cluster object")
                };
                cx.error_at(*loc, path, msg);
            }
        }
    }
    let key = svc.key();
    match kind {
        EntryKind::ClusterIP => {}
        EntryKind::NodePort => {
            if svc.service_type == ServiceType::ClusterIP {
                cx.error_at(
                    raw.loc,
                    "spec.entry",
                    format!("Service {key} is type ClusterIP: it has no node port"),
                );
            }
            if raw.node.is_none() {
                cx.error_at(
                    raw.loc,
                    "spec.node",
                    "entry NodePort needs the node the client connects to",
                );
            }
        }
        EntryKind::LoadBalancer => {
            if svc.service_type != ServiceType::LoadBalancer {
                cx.error_at(
                    raw.loc,
                    "spec.entry",
                    format!("Service {key} is not type LoadBalancer: it has no external IP"),
                );
            } else if net.cloud == Cloud::None {
                load.entry.pending = true;
                cx.warn_at(
                    raw.loc,
                    "spec.entry",
                    format!(
                        "Cluster has cloud: none, so LoadBalancer Service {key} keeps EXTERNAL-IP <pending> and no traffic can enter through it: every request of this load fails to connect (use entry: NodePort with a node)"
                    ),
                );
            }
            if raw.node.is_some() {
                cx.error_at(
                    raw.loc,
                    "spec.node",
                    "the cloud load balancer chooses the node; remove node or use entry: NodePort",
                );
            }
        }
    }
}

/// Placement and node ports, once deployments and services are final.
pub fn network(
    net: Option<(ClusterNet, Origin)>,
    ingresses: Vec<IngressSpec>,
    controller: Option<usize>,
    deployments: &[(Deployment, Origin, Loc)],
    services: &mut [(Service, Origin, Loc)],
    diags: &mut Diagnostics,
) -> Network {
    let explicit = net.is_some();
    let cluster = net.map(|(c, _)| c).unwrap_or_else(ClusterNet::implicit);
    let replicas: Vec<u32> = deployments.iter().map(|(d, _, _)| d.replicas).collect();
    let selectors: Vec<&BTreeMap<String, String>> = deployments
        .iter()
        .map(|(d, _, _)| &d.node_selector)
        .collect();
    let placement = place(&cluster, &replicas, &selectors);
    for ((d, origin, loc), nodes) in deployments.iter().zip(&placement) {
        let pending = nodes.iter().filter(|&&n| n == NO_NODE).count();
        if pending > 0 {
            Cx::new(origin.clone(), diags).warn_at(
                *loc,
                "spec.template.spec.nodeSelector",
                format!(
                    "{pending} of {} pods of {} fit no node (nodeSelector {:?}, maxPods): they stay Pending and are never endpoints",
                    d.replicas,
                    d.key(),
                    d.node_selector
                ),
            );
        }
    }
    // Node ports: each port of a NodePort/LoadBalancer Service, then the
    // healthCheckNodePort of LoadBalancer + Local.
    let wants: Vec<(String, PortWants)> = services
        .iter()
        .map(|(s, _, _)| {
            let mut w = Vec::new();
            if s.service_type != ServiceType::ClusterIP {
                for i in 0..s.ports.len() {
                    w.push((i, s.net.node_ports.get(i).copied().flatten()));
                }
                if s.service_type == ServiceType::LoadBalancer && s.net.local {
                    w.push((usize::MAX, s.net.health_check_node_port));
                }
            }
            (s.key(), w)
        })
        .collect();
    let (got, conflicts) = allocate(&wants);
    for (i, slot, p) in conflicts {
        let (s, origin, loc) = &services[i];
        let path = if slot == usize::MAX {
            "spec.healthCheckNodePort".to_string()
        } else {
            format!("spec.ports[{slot}].nodePort")
        };
        Cx::new(origin.clone(), diags).error_at(
            *loc,
            &path,
            format!(
                "{p}: provided port is already allocated (Service {})",
                s.key()
            ),
        );
    }
    for (i, ports) in got.into_iter().enumerate() {
        let s = &mut services[i].0;
        s.net.node_ports.resize(s.ports.len(), None);
        for (slot, p) in ports {
            if slot == usize::MAX {
                s.net.health_check_node_port = Some(p);
            } else {
                s.net.node_ports[slot] = Some(p);
            }
        }
    }
    Network {
        cluster,
        explicit,
        placement,
        ingress_controller: controller,
        ingresses,
    }
}
