//! Istio's configuration side: the five networking.istio.io kinds (Gateway,
//! VirtualService, DestinationRule, ServiceEntry, Sidecar) decoded with
//! istiod 1.28's validation, MeshConfig, who gets a sidecar, and the kinds
//! meshsim reads but does not simulate, grouped by whether they change traffic.
//!
//! The loader calls [`Collector::object`] for every object and
//! [`Collector::finish`] once the Kubernetes part is built. One file per kind
//! under `istio/`; shared host/name/duration checks in `istio/hosts.rs`.

pub mod analyze;
pub mod destination_rule;
pub mod gateway;
pub mod hosts;
pub mod ingress_gateway;
pub mod injection;
pub mod mesh_config;
pub mod service_entry;
pub mod sidecar;
pub mod virtual_service;

use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::object::{MESHSIM_API, Object};
use super::raw::{Loc, Value};
use super::spec::Scenario;
use super::spec::istio::*;
use injection::PodTemplate;
use std::collections::BTreeMap;

/// The apiVersions Istio 1.28 serves for its networking kinds.
pub const API_VERSIONS: &[&str] = &[
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];

const KINDS: &[&str] = &[
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "Sidecar",
];

/// Kinds that change traffic in Istio but are not simulated (reported as such).
const CHANGES_TRAFFIC: &[&str] = &[
    "AuthorizationPolicy",
    "PeerAuthentication",
    "RequestAuthentication",
    "EnvoyFilter",
    "WasmPlugin",
    "WorkloadEntry",
    "WorkloadGroup",
    "ProxyConfig",
    "HTTPRoute",
    "GRPCRoute",
    "TCPRoute",
    "TLSRoute",
    "UDPRoute",
];

/// Is `o` one of the Istio networking kinds decoded here?
pub fn is_istio(o: &Object) -> bool {
    KINDS.contains(&o.kind.as_str()) && o.api_version.starts_with("networking.istio.io/")
}

/// What an unsimulated kind does in Istio.
pub fn traffic_effect(api_version: &str, kind: &str) -> TrafficEffect {
    let gateway_api = api_version.starts_with("gateway.networking.k8s.io/") && kind == "Gateway";
    if gateway_api || CHANGES_TRAFFIC.contains(&kind) {
        TrafficEffect::ChangesTraffic
    } else {
        TrafficEffect::NoTrafficEffect
    }
}

/// The object's name, namespace and `file:line`.
pub fn meta(o: &Object) -> ObjectMeta {
    ObjectMeta {
        name: o.name.clone(),
        namespace: o.namespace.clone(),
        source: format!("{}:{}", o.origin.file, o.node.loc().line),
    }
}

/// A reference from a VirtualService checked once every object is read.
struct Ref {
    origin: Origin,
    loc: Loc,
    path: String,
    what: RefKind,
}

enum RefKind {
    /// (resolved host, subset)
    Subset(String, String),
    /// `ns/name`
    Gateway(String),
}

/// Where a decoded object and its parts are, for warnings raised once
/// every object is read (the analyzers in `istio/analyze.rs`).
struct Located {
    origin: Origin,
    /// The object as a whole (its `metadata.name`, else the document).
    at: (Loc, String),
    /// Gateway: each server's `port.number`; VirtualService: each host.
    parts: Vec<(Loc, String)>,
}

/// Collects Istio objects and the Kubernetes facts injection needs.
#[derive(Default)]
pub struct Collector {
    config: IstioConfig,
    pods: BTreeMap<(String, String), PodTemplate>,
    refs: Vec<Ref>,
    /// Parallel to `config.gateways` / `config.virtual_services`.
    gateway_locs: Vec<Located>,
    vs_locs: Vec<Located>,
}

/// The object's location and those of the list items `spec.<list>[i].<field…>`.
fn located(o: &Object, list: &str, field: &[&str]) -> Located {
    let at = o
        .node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .map(|n| (n.loc(), n.path.clone()))
        .unwrap_or((o.node.loc(), String::new()));
    let parts = o
        .node
        .get("spec")
        .map(|spec| {
            quiet_seq(&spec, list)
                .into_iter()
                .map(|item| {
                    let v = walk(&item, field).unwrap_or(item);
                    (v.loc(), v.path.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    Located {
        origin: o.origin.clone(),
        at,
        parts,
    }
}

impl Collector {
    /// Some Gateway selects Istio's default ingress gateway (see
    /// [`ingress_gateway`]): the loader adds it if no Deployment is one.
    pub fn wants_default_ingress_gateway(&self) -> bool {
        ingress_gateway::wanted(&self.config.gateways)
    }

    /// Reads one object. Returns true when the object is Istio's (or the
    /// MeshConfig ConfigMap) and the Kubernetes dispatch must skip it.
    pub fn object(&mut self, o: &Object, cx: &mut Cx) -> bool {
        if is_istio(o) {
            if !API_VERSIONS.contains(&o.api_version.as_str()) {
                let at = o.node.get("apiVersion").unwrap_or(o.node.clone());
                cx.error(
                    &at,
                    format!(
                        "{:?}: Istio 1.28 serves {} as {}",
                        o.api_version,
                        o.kind,
                        API_VERSIONS.join(", ")
                    ),
                );
                return true;
            }
            let c = &mut self.config;
            match o.kind.as_str() {
                "Gateway" => {
                    if let Some(g) = gateway::decode(o, cx) {
                        self.gateway_locs
                            .push(located(o, "servers", &["port", "number"]));
                        c.gateways.push(g);
                    }
                }
                "VirtualService" => {
                    if let Some(vs) = virtual_service::decode(o, cx) {
                        self.refs.extend(vs_refs(o, &vs));
                        self.vs_locs.push(located(o, "hosts", &[]));
                        c.virtual_services.push(vs);
                    }
                }
                "DestinationRule" => c.destination_rules.extend(destination_rule::decode(o, cx)),
                "ServiceEntry" => c.service_entries.extend(service_entry::decode(o, cx)),
                _ => c.sidecars.extend(sidecar::decode(o, cx)),
            }
            return true;
        }
        if mesh_config::is_mesh_configmap(o) {
            if let Some(m) = mesh_config::from_configmap(o, cx) {
                self.config.mesh = m;
            }
            return true;
        }
        match (o.api_version.as_str(), o.kind.as_str()) {
            (MESHSIM_API, "Simulation") => self.simulation(o, cx),
            (_, "IstioOperator") if o.api_version.starts_with("install.istio.io/") => {
                if let Some(m) = mesh_config::from_istio_operator(o, cx) {
                    self.config.mesh = m;
                }
                self.unsimulated(o);
            }
            ("v1", "Namespace") => {
                let labels = quiet_map(&o.node, &["metadata", "labels"]);
                self.config.namespace_labels.insert(o.name.clone(), labels);
            }
            (_, "Deployment") => {
                let t = ["spec", "template"];
                let host_network = walk(&o.node, &["spec", "template", "spec", "hostNetwork"])
                    .is_some_and(|v| v.node.value == Value::Bool(true));
                self.pods.insert(
                    (o.namespace.clone(), o.name.clone()),
                    PodTemplate {
                        labels: quiet_map(&o.node, &[t[0], t[1], "metadata", "labels"]),
                        annotations: quiet_map(&o.node, &[t[0], t[1], "metadata", "annotations"]),
                        host_network,
                    },
                );
            }
            (MESHSIM_API, _) | (_, "Service") | ("networking.k8s.io/v1", "Ingress") => {}
            _ => self.unsimulated(o),
        }
        false
    }

    /// `Simulation.spec.mesh`: `injectNamespaces: [ns, …]`, `proxy: {latency,
    /// workers, responseLatency}`.
    fn simulation(&mut self, o: &Object, cx: &mut Cx) {
        let Some(m) = o.node.get("spec").and_then(|s| s.get("mesh")) else {
            return;
        };
        if cx.map(&m).is_none() {
            return;
        }
        cx.known_fields(&m, &["injectNamespaces", "proxy"]);
        if let Some(p) = m.get("proxy")
            && cx.map(&p).is_some()
        {
            cx.known_fields(&p, &["latency", "workers", "responseLatency"]);
            self.config.proxy.latency = p
                .get("latency")
                .and_then(|l| super::meshsim::dist::dist(cx, &l));
            self.config.proxy.response_latency = p
                .get("responseLatency")
                .and_then(|l| super::meshsim::dist::dist(cx, &l));
            self.config.proxy.workers = p
                .get("workers")
                .and_then(|w| cx.int_in(&w, 1, 1_000_000))
                .map(|w| w as u32);
        }
        for (ns, at) in hosts::string_list(cx, &m, "injectNamespaces") {
            if hosts::is_dns1123_label(&ns) {
                self.config.inject_namespaces.push(ns);
            } else {
                cx.error(&at, format!("{ns:?} is not a valid namespace"));
            }
        }
    }

    fn unsimulated(&mut self, o: &Object) {
        self.config.unsimulated.push(Unsimulated {
            kind: o.kind.clone(),
            object: format!(
                "{}: document {} ({})",
                o.origin.file,
                o.origin.document,
                o.origin.object.as_deref().unwrap_or(&o.kind)
            ),
            effect: traffic_effect(&o.api_version, &o.kind),
        });
    }

    /// Cross-references (warnings) and injection, once every object is read.
    pub fn finish(mut self, s: &mut Scenario, diags: &mut Diagnostics) {
        let c = &mut self.config;
        for ns in &c.inject_namespaces {
            // As `kubectl label namespace NS istio-injection=enabled --overwrite`.
            c.namespace_labels
                .entry(ns.clone())
                .or_default()
                .insert("istio-injection".into(), "enabled".into());
        }
        let none = BTreeMap::new();
        c.injection = s
            .deployments
            .iter()
            .map(|d| {
                let pod = self
                    .pods
                    .get(&(d.namespace.clone(), d.name.clone()))
                    .cloned()
                    .unwrap_or_default();
                let ns = c.namespace_labels.get(&d.namespace).unwrap_or(&none);
                injection::injected(ns, &pod, &d.namespace)
            })
            .collect();
        for r in &self.refs {
            let mut cx = Cx::new(r.origin.clone(), diags);
            match &r.what {
                // Any DestinationRule for the host counts here (namespace
                // visibility and exportTo are the compile step's lookup).
                RefKind::Subset(host, subset) => {
                    let defined = c.destination_rules.iter().any(|dr| {
                        hosts::covers(&dr.host, host)
                            && dr.subsets.iter().any(|x| &x.name == subset)
                    });
                    if !defined {
                        cx.warn_at(
                            r.loc,
                            &r.path,
                            format!("IST0101 ReferencedResourceNotFound: subset {subset:?} of {host} is defined by no DestinationRule: Envoy has no such cluster and answers 503 (NC)"),
                        );
                    }
                }
                RefKind::Gateway(g) => {
                    let exists = c
                        .gateways
                        .iter()
                        .any(|gw| format!("{}/{}", gw.meta.namespace, gw.meta.name) == *g);
                    if !exists {
                        cx.warn_at(r.loc, &r.path, format!("IST0101 ReferencedResourceNotFound: gateway {g} does not exist: this VirtualService binds nothing there"));
                    }
                }
            }
        }
        self.analyze(s, diags);
        s.istio = self.config;
    }

    /// `istioctl analyze`'s cross-object checks ([`analyze`]) as located warnings.
    fn analyze(&self, s: &Scenario, diags: &mut Diagnostics) {
        let c = &self.config;
        let part = |l: &Located, i: usize| l.parts.get(i).cloned().unwrap_or(l.at.clone());
        let found = analyze::gateway_ports(&c.gateways, &s.deployments, &s.services);
        for u in &found.unexposed {
            let l = &self.gateway_locs[u.gateway];
            let (loc, path) = part(l, u.server);
            Cx::new(l.origin.clone(), diags).warn_at(loc, &path, u.message());
        }
        for n in &found.no_workload {
            let l = &self.gateway_locs[n.gateway];
            Cx::new(l.origin.clone(), diags).warn_at(l.at.0, &l.at.1, n.message());
        }
        for conflict in analyze::mesh_host_conflicts(&c.virtual_services) {
            for &i in &conflict.virtual_services {
                let vs = &c.virtual_services[i];
                let l = &self.vs_locs[i];
                let hi = vs
                    .hosts
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(&conflict.host))
                    .unwrap_or(usize::MAX);
                let (loc, path) = part(l, hi);
                Cx::new(l.origin.clone(), diags).warn_at(
                    loc,
                    &path,
                    conflict.message(&c.virtual_services, i),
                );
            }
        }
    }
}

/// Where a VirtualService names subsets and gateways.
fn vs_refs(o: &Object, vs: &VirtualService) -> Vec<Ref> {
    let mut out = Vec::new();
    let Some(spec) = o.node.get("spec") else {
        return out;
    };
    let mut push = |v: &V, what: RefKind| {
        out.push(Ref {
            origin: o.origin.clone(),
            loc: v.loc(),
            path: v.path.clone(),
            what,
        });
    };
    for g in quiet_seq(&spec, "gateways") {
        if let Some(name) = g.as_str()
            && name != "mesh"
            && let Some(r) = vs
                .gateways
                .iter()
                .find(|x| x.ends_with(&format!("/{}", name.split('/').next_back().unwrap_or(name))))
        {
            push(&g, RefKind::Gateway(r.clone()));
        }
    }
    for kind in ["http", "tcp", "tls"] {
        for r in quiet_seq(&spec, kind) {
            let mut dests: Vec<V> = quiet_seq(&r, "route")
                .iter()
                .filter_map(|d| d.get("destination"))
                .collect();
            dests.extend(r.get("mirror"));
            dests.extend(
                quiet_seq(&r, "mirrors")
                    .iter()
                    .filter_map(|m| m.get("destination")),
            );
            for d in dests {
                if let (Some(h), Some(sub)) = (
                    d.get("host").and_then(|h| h.as_str().map(str::to_string)),
                    d.get("subset"),
                ) && let Some(s) = sub.as_str()
                {
                    push(
                        &sub,
                        RefKind::Subset(hosts::resolve_host(&h, &o.namespace), s.to_string()),
                    );
                }
            }
        }
    }
    out
}

fn walk<'a>(v: &V<'a>, path: &[&str]) -> Option<V<'a>> {
    let mut cur = v.clone();
    for k in path {
        cur = cur.get(k)?;
    }
    Some(cur)
}

/// A string map read without reporting (the Kubernetes decoder reports).
fn quiet_map(v: &V, path: &[&str]) -> BTreeMap<String, String> {
    let mut d = Diagnostics::default();
    let mut cx = Cx::new(Origin::default(), &mut d);
    walk(v, path)
        .and_then(|m| cx.string_map(&m))
        .unwrap_or_default()
}

fn quiet_seq<'a>(v: &V<'a>, key: &str) -> Vec<V<'a>> {
    let mut d = Diagnostics::default();
    let mut cx = Cx::new(Origin::default(), &mut d);
    v.get(key)
        .and_then(|s| match s.node.value {
            Value::Seq(_) => cx.seq(&s),
            _ => None,
        })
        .unwrap_or_default()
}

/// The unsimulated objects as listed to the user: grouped, each group once.
pub fn unsimulated_listing(u: &[Unsimulated]) -> Vec<String> {
    let mut out = Vec::new();
    for (effect, title) in [
        (
            TrafficEffect::ChangesTraffic,
            "not simulated — changes traffic in Istio",
        ),
        (
            TrafficEffect::NoTrafficEffect,
            "not simulated — no traffic effect",
        ),
    ] {
        let items: Vec<&Unsimulated> = u.iter().filter(|x| x.effect == effect).collect();
        if items.is_empty() {
            continue;
        }
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for i in &items {
            *kinds.entry(i.kind.as_str()).or_default() += 1;
        }
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push(format!("{title}: {}", list.join(", ")));
    }
    out
}
