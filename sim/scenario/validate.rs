//! Raw documents → a validated [`Scenario`].
//!
//! The error/warning line follows the real systems: what the Kubernetes API
//! server or Istio's webhook would reject is an error; what they accept and then
//! fails at run time (a Service whose selector matches no pod) is a warning, and
//! is simulated faithfully. meshsim's own kinds are strict: unknown fields are
//! errors, because a typo there would silently change the experiment.

use super::cluster_spec;
use super::decode::{Cx, V};
use super::diag::{Diagnostics, Origin};
use super::raw::{Document, Loc, Value};
use super::spec::*;
use crate::engine::SimDuration;
use crate::engine::rng::Chance;
use crate::workload::dist::Dist;
use std::collections::{BTreeMap, BTreeSet};

/// The API group of meshsim's own kinds.
pub const MESHSIM_API: &str = "meshsim.dev/v1alpha1";

/// Kinds meshsim reads but does not simulate yet (listed, not failed).
const KNOWN_NOT_SIMULATED: &[&str] = &[
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "Sidecar",
    "IngressClass",
    "PeerAuthentication",
    "AuthorizationPolicy",
    "RequestAuthentication",
    "EnvoyFilter",
    "Telemetry",
    "WasmPlugin",
    "WorkloadEntry",
    "WorkloadGroup",
    "ProxyConfig",
    "HTTPRoute",
    "TCPRoute",
    "TLSRoute",
    "GRPCRoute",
    "GatewayClass",
    "ReferenceGrant",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Pod",
    "Job",
    "CronJob",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "Endpoints",
    "EndpointSlice",
    "StorageClass",
    "LimitRange",
    "ResourceQuota",
    "Kiali",
    "IstioOperator",
    "MeshConfig",
];

/// One Kubernetes-style object found in the input.
pub struct Object<'a> {
    pub origin: Origin,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub node: V<'a>,
}

/// One input file, already read.
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// Run settings given on the command line; they win over the `Simulation` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub duration: Option<SimDuration>,
    /// `meshsim validate`: manifests alone, as `istioctl validate -f` checks
    /// them; a missing run duration is not an error (a placeholder is used).
    pub manifests_only: bool,
    /// `-n/--namespace`: where objects without `metadata.namespace` go (as
    /// `kubectl apply -n`); an object naming another namespace is an error.
    pub namespace: Option<String>,
}

/// Collects the objects of every document, reporting syntax errors and
/// documents that are not objects.
fn collect_objects<'a>(
    docs: &'a [(String, Vec<Document>)],
    diags: &mut Diagnostics,
    ns: Option<&str>,
) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    for (file, documents) in docs {
        for d in documents {
            let origin = Origin {
                file: file.clone(),
                document: d.index,
                object: None,
            };
            let v = V::root(&d.root, "");
            push_object(origin, v, diags, &mut out, false, ns);
        }
    }
    out
}

fn push_object<'a>(
    mut origin: Origin,
    v: V<'a>,
    diags: &mut Diagnostics,
    out: &mut Vec<Object<'a>>,
    in_list: bool,
    default_ns: Option<&str>,
) {
    let mut cx = Cx::new(origin.clone(), diags);
    if !v.is_map() {
        cx.error(
            &v,
            format!(
                "{} is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)",
                v.node.value.type_name()
            ),
        );
        return;
    }
    let kind = v.get("kind").and_then(|k| k.as_str()).map(str::to_string);
    let api = v
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .map(str::to_string);
    let (Some(kind), Some(api)) = (kind, api) else {
        let missing = if v.get("kind").and_then(|k| k.as_str()).is_none() {
            "kind"
        } else {
            "apiVersion"
        };
        if let Some(k) = v.get(missing) {
            // Present but not a string.
            cx.str(&k);
            return;
        }
        let p = if v.path.is_empty() {
            missing.to_string()
        } else {
            format!("{}.{missing}", v.path)
        };
        cx.error_at(
            v.loc(),
            &p,
            "missing required field (every document must be a Kubernetes object with apiVersion and kind)",
        );
        return;
    };
    if kind == "List" && !in_list {
        if let Some(items) = v.get("items")
            && let Some(items) = cx.seq(&items)
        {
            for item in items {
                push_object(origin.clone(), item, diags, out, true, default_ns);
            }
        }
        return;
    }
    let meta = v.get("metadata");
    let name = meta
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let namespace = meta
        .as_ref()
        .and_then(|m| m.get("namespace"))
        .and_then(|n| n.as_str())
        .unwrap_or(default_ns.unwrap_or("default"))
        .to_string();
    let (k, ns, n) = (shown(&kind), shown(&namespace), shown(&name));
    origin.object = Some(if name.is_empty() {
        k
    } else if matches!(kind.as_str(), "Namespace" | "Simulation" | "Cluster") {
        format!("{k} {n}")
    } else {
        format!("{k} {ns}/{n}")
    });
    let mut cx = Cx::new(origin.clone(), diags);
    if let (Some(want), Some(at)) = (default_ns, meta.as_ref().and_then(|m| m.get("namespace")))
        && at.as_str().is_some_and(|got| got != want)
    {
        cx.error(&at, format!("{namespace:?} does not match the namespace {want:?} given with -n (kubectl refuses it too)"));
    }
    if let Some(m) = &meta {
        for key in ["name", "namespace"] {
            if let Some(x) = m.get(key) {
                // Present but not a string.
                if x.as_str().is_none() {
                    cx.str(&x);
                }
            }
        }
    }
    if name.is_empty() {
        match &meta {
            Some(m) if !m.has("generateName") => cx.error_at(
                m.loc(),
                &format!("{}metadata.name", prefix(&v)),
                "missing required field",
            ),
            None => cx.error_at(
                v.loc(),
                &format!("{}metadata", prefix(&v)),
                "missing required field",
            ),
            _ => {}
        }
    }
    out.push(Object {
        origin,
        api_version: api,
        kind,
        name,
        namespace,
        node: v,
    });
}

/// A kind or name as written, quoted and escaped when it is not plain text,
/// so that a diagnostic stays one readable line.
fn shown(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-._:/@+~".contains(c))
    {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// Kubernetes object names: the API server rejects anything else. A Service
/// name is an RFC 1035 label (it becomes a DNS name), a Namespace an RFC 1123
/// label, other objects an RFC 1123 subdomain.
fn check_name(o: &Object, cx: &mut Cx) {
    let label = |s: &str, first_letter: bool| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && (b[0].is_ascii_lowercase() || (!first_letter && b[0].is_ascii_digit()))
            && b[b.len() - 1] != b'-'
    };
    let meta = o.node.get("metadata");
    let name_ok = match o.kind.as_str() {
        "Service" => label(&o.name, true),
        "Namespace" => label(&o.name, false),
        _ => o.name.len() <= 253 && o.name.split('.').all(|p| label(p, false)),
    };
    if !o.name.is_empty()
        && !name_ok
        && let Some(n) = meta.as_ref().and_then(|m| m.get("name"))
    {
        let rule = match o.kind.as_str() {
            "Service" => {
                "lowercase letters, digits and '-', starting with a letter, at most 63 characters"
            }
            "Namespace" => "lowercase letters, digits and '-', at most 63 characters",
            _ => "lowercase letters, digits, '-' and '.', at most 253 characters",
        };
        // The API server rejects it, so meshsim does too.
        cx.error(
            &n,
            format!(
                "{:?} is not a valid {} name ({rule}); the API server would reject it",
                o.name, o.kind
            ),
        );
    }
    if let Some(ns) = meta.as_ref().and_then(|m| m.get("namespace"))
        && ns.as_str().is_some_and(|s| !label(s, false))
    {
        cx.error(
            &ns,
            format!(
                "{:?} is not a valid namespace (lowercase letters, digits and '-', at most 63 characters); the API server would reject it",
                o.namespace
            ),
        );
    }
}

fn prefix(v: &V) -> String {
    if v.path.is_empty() {
        String::new()
    } else {
        format!("{}.", v.path)
    }
}

/// Parses every file and validates the whole scenario.
pub fn build(
    name: String,
    sha256: String,
    files: &[SourceFile],
    overrides: &Overrides,
) -> Result<Scenario, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut docs = Vec::new();
    let mut syntax_errors = false;
    for f in files {
        let (d, errors) = super::raw::parse_file(&f.text);
        for e in errors {
            syntax_errors = true;
            let mut cx = Cx::new(
                Origin {
                    file: f.path.clone(),
                    document: e.document,
                    object: e.object,
                },
                &mut diags,
            );
            cx.error_at(e.loc, "", format!("invalid YAML: {}", e.message));
        }
        docs.push((f.path.clone(), d));
    }
    let objects = collect_objects(&docs, &mut diags, overrides.namespace.as_deref());
    let mut b = Builder::default();
    // Duplicates: the API server refuses a second object with the same kind/namespace/name.
    let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for o in &objects {
        if o.name.is_empty() {
            continue;
        }
        let ns = if matches!(o.kind.as_str(), "Namespace" | "Simulation" | "Cluster") {
            String::new()
        } else {
            o.namespace.clone()
        };
        let key = (o.kind.clone(), ns, o.name.clone());
        let here = format!("{}:{}", o.origin.file, o.node.loc().line);
        if let Some(first) = seen.get(&key) {
            let mut cx = Cx::new(o.origin.clone(), &mut diags);
            // Only an error where meshsim would have to pick one: a duplicate
            // of a kind it does not read yet is reported and ignored.
            let simulated = o.api_version == MESHSIM_API
                || matches!(
                    o.kind.as_str(),
                    "Namespace" | "Deployment" | "Service" | "Ingress"
                )
                || super::istio::is_istio(o);
            let at = o
                .node
                .get("metadata")
                .and_then(|m| m.get("name"))
                .map(|n| n.loc())
                .unwrap_or(o.node.loc());
            let path = format!("{}metadata.name", prefix(&o.node));
            let msg = format!(
                "duplicate {} {:?}: already defined at {first}",
                shown(&o.kind),
                o.name
            );
            if simulated {
                cx.error_at(at, &path, msg);
            } else {
                cx.warn_at(at, &path, format!("{msg} (not simulated yet; ignored)"));
            }
        } else {
            seen.insert(key, here);
        }
    }
    let mut istio = super::istio::Collector::default();
    for o in &objects {
        let mut cx = Cx::new(o.origin.clone(), &mut diags);
        let is_meshsim = o.api_version == MESHSIM_API;
        if o.api_version.starts_with("meshsim.dev/") && !is_meshsim {
            cx.error_at(
                o.node
                    .get("apiVersion")
                    .map(|a| a.loc())
                    .unwrap_or(o.node.loc()),
                &format!("{}apiVersion", prefix(&o.node)),
                format!("{:?}, this meshsim reads {MESHSIM_API}", o.api_version),
            );
            continue;
        }
        if is_meshsim
            || matches!(
                o.kind.as_str(),
                "Namespace" | "Deployment" | "Service" | "Ingress"
            )
        {
            check_name(o, &mut cx);
        }
        if istio.object(o, &mut cx) {
            continue;
        }
        match (is_meshsim, o.kind.as_str()) {
            (true, "Simulation") => b.simulation(o, &mut cx),
            (true, "Workload") => b.workload(o, &mut cx),
            (true, "Load") => b.load(o, &mut cx),
            (true, "Cluster") => b.cluster(o, &mut cx),
            (true, other) => cx.error_at(
                o.node.get("kind").map(|k| k.loc()).unwrap_or(o.node.loc()),
                &format!("{}kind", prefix(&o.node)),
                format!("{other:?} is not a meshsim kind (Simulation, Workload, Load, Cluster)"),
            ),
            (false, "Namespace") => {
                b.namespaces.insert(o.name.clone());
            }
            (false, "Deployment") => b.deployment(o, &mut cx),
            (false, "Service") => b.service(o, &mut cx),
            (false, "Ingress") if o.api_version == "networking.k8s.io/v1" => {
                b.ingresses.extend(cluster_spec::ingress(o, &mut cx))
            }
            (false, k) => {
                let what = if KNOWN_NOT_SIMULATED.contains(&k) {
                    "not simulated yet"
                } else {
                    "unknown kind, not simulated"
                };
                b.not_simulated.push(format!(
                    "{}: document {} ({}): {what}",
                    o.origin.file,
                    o.origin.document,
                    o.origin.object.as_deref().unwrap_or(k)
                ));
            }
        }
    }
    // Cross-references need every object: after a syntax error some are
    // missing, and "does not resolve" errors would be noise.
    let scenario = if syntax_errors {
        None
    } else {
        b.finish(name, sha256, overrides, &mut diags).map(|mut s| {
            istio.finish(&mut s, &mut diags);
            s
        })
    };
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    let mut s = scenario.expect("no errors means a scenario was built");
    s.warnings = diags.warnings().map(|d| d.to_string()).collect();
    Ok(s)
}

// === Builder: per-kind decoding, then cross-references ===

#[derive(Default)]
struct Builder {
    namespaces: BTreeSet<String>,
    sim: Option<(SimSpec, Origin)>,
    deployments: Vec<(Deployment, Origin, Loc)>,
    services: Vec<(Service, Origin, Loc)>,
    workloads: Vec<RawWorkload>,
    loads: Vec<RawLoad>,
    not_simulated: Vec<String>,
    cluster: Option<(crate::cluster::node::ClusterNet, Origin)>,
    ingresses: Vec<crate::cluster::ingress::IngressSpec>,
    /// Where each Service's selector and ports are, by (namespace, name), so
    /// warnings about them point at the right line.
    service_locs: BTreeMap<(String, String), ServiceLocs>,
}

#[derive(Default)]
struct ServiceLocs {
    selector: Loc,
    target_ports: Vec<Loc>,
}

#[derive(Default)]
struct SimSpec {
    duration: Option<SimDuration>,
    warmup: Option<SimDuration>,
    seed: Option<u64>,
    replications: Option<u32>,
    /// Where a missing duration is reported: `spec:` (or the object).
    loc: Loc,
    /// `spec.duration` was written (even if invalid, already reported).
    duration_given: bool,
    /// Where `spec.warmup` is.
    warmup_loc: Loc,
    /// Where `spec.replications` is (else `spec:`).
    replications_loc: Loc,
}

/// A place in the YAML: location and path.
type At = (Loc, String);

/// A call whose host is not resolved yet.
#[derive(Clone, Debug)]
struct RawCall {
    host: String,
    port: Option<u16>,
    loc: Loc,
    path_in_yaml: String,
    call: Call,
    max_depth: Option<u32>,
}

#[derive(Clone, Debug)]
enum RawStep {
    Compute(Dist),
    Call(Box<RawCall>),
    Parallel(Vec<Vec<RawStep>>),
}

struct RawWorkload {
    origin: Origin,
    /// What names its Deployment (`spec.deployment`, `spec.selector` or
    /// `metadata.name`) and where, for errors about the match.
    names_at: (Loc, String),
    name: String,
    namespace: String,
    deployment: Option<String>,
    selector: Option<BTreeMap<String, String>>,
    behaviour: Behaviour,
    script: Vec<RawStep>,
}

struct RawLoad {
    origin: Origin,
    /// The `open.rate`, or the `closed` mapping, for errors about the load's size.
    pattern_at: (Loc, String),
    host: String,
    port: Option<u16>,
    loc: Loc,
    path_in_yaml: String,
    load: Load,
    entry: cluster_spec::RawEntry,
}

impl Builder {
    fn cluster(&mut self, o: &Object, cx: &mut Cx) {
        if let Some((_, prev)) = &self.cluster {
            let msg = format!(
                "a scenario has one Cluster; another is in {} document {}",
                prev.file, prev.document
            );
            cx.error_at(o.node.loc(), "", msg);
        } else if let Some(c) = cluster_spec::cluster(o, cx) {
            self.cluster = Some((c, o.origin.clone()));
        }
    }

    fn simulation(&mut self, o: &Object, cx: &mut Cx) {
        let spec = cx.req(&o.node, "spec");
        if let Some(prev) = &self.sim {
            cx.error_at(
                o.node.loc(),
                "",
                format!(
                    "a scenario has one Simulation; another is in {} document {}",
                    prev.1.file, prev.1.document
                ),
            );
            return;
        }
        let mut s = SimSpec {
            loc: spec.as_ref().map(|v| v.loc()).unwrap_or(o.node.loc()),
            ..Default::default()
        };
        cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
        if let Some(spec) = spec {
            cx.known_fields(
                &spec,
                &["duration", "warmup", "seed", "replications", "mesh"],
            );
            s.duration_given = spec.has("duration");
            s.duration = spec.get("duration").and_then(|v| cx.positive_duration(&v));
            s.warmup = spec.get("warmup").and_then(|v| cx.duration(&v));
            s.warmup_loc = spec.get("warmup").map(|v| v.loc()).unwrap_or(s.loc);
            s.replications_loc = spec.get("replications").map(|v| v.loc()).unwrap_or(s.loc);
            s.seed = spec
                .get("seed")
                .and_then(|v| cx.int_in(&v, 0, i64::MAX))
                .map(|x| x as u64);
            s.replications = spec
                .get("replications")
                .and_then(|v| cx.int_in(&v, 1, 100_000))
                .map(|x| x as u32);
        }
        self.sim = Some((s, o.origin.clone()));
    }

    fn deployment(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
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
            cx.error(&sel, "`selector` does not match template `labels` (the API server rejects this Deployment)");
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
                        let Some(port) = cx.req(&p, "containerPort").and_then(|v| cx.port(&v))
                        else {
                            continue;
                        };
                        let name = p.get("name").and_then(|n| cx.str(&n)).map(str::to_string);
                        ports.push(ContainerPort { name, port });
                    }
                }
            }
        }
        self.deployments.push((
            Deployment {
                name: o.name.clone(),
                namespace: o.namespace.clone(),
                replicas,
                node_selector: cluster_spec::node_selector(cx, template.as_ref()),
                labels,
                ports,
                behaviour: default_behaviour(),
            },
            o.origin.clone(),
            o.node.loc(),
        ));
    }

    fn service(&mut self, o: &Object, cx: &mut Cx) {
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        let service_type = match spec.get("type") {
            None => ServiceType::ClusterIP,
            Some(t) => match cx.str(&t) {
                Some("ClusterIP") => ServiceType::ClusterIP,
                Some("NodePort") => ServiceType::NodePort,
                Some("LoadBalancer") => ServiceType::LoadBalancer,
                Some("ExternalName") => {
                    self.not_simulated.push(format!(
                        "{}: document {} ({}): ExternalName Service, not simulated",
                        o.origin.file,
                        o.origin.document,
                        o.origin.object.as_deref().unwrap_or("")
                    ));
                    return;
                }
                Some(other) => {
                    cx.error(&t, format!("{other:?}, must be one of ClusterIP, NodePort, LoadBalancer, ExternalName"));
                    ServiceType::ClusterIP
                }
                None => ServiceType::ClusterIP,
            },
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
                ports.push(ServicePort {
                    name,
                    port,
                    target_port,
                });
            }
        }
        self.service_locs
            .insert((o.namespace.clone(), o.name.clone()), locs);
        self.services.push((
            Service {
                name: o.name.clone(),
                namespace: o.namespace.clone(),
                selector,
                ports,
                net: cluster_spec::service_net(cx, &spec, service_type),
                service_type,
            },
            o.origin.clone(),
            o.node.loc(),
        ));
    }

    fn workload(&mut self, o: &Object, cx: &mut Cx) {
        cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        cx.known_fields(
            &spec,
            &[
                "deployment",
                "selector",
                "workers",
                "queue",
                "holdWorkerDuringCalls",
                "serviceTime",
                "script",
                "errors",
                cluster_spec::WORKLOAD_FIELDS[0],
                cluster_spec::WORKLOAD_FIELDS[1],
            ],
        );
        let mut beh = default_behaviour();
        cluster_spec::workload_net(cx, &spec, &mut beh);
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
            cx.known_fields(&e, &["probability", "status"]);
            let p = cx.req(&e, "probability").and_then(|p| cx.probability(&p));
            let st = e.get("status").map(|s| status(cx, &s)).unwrap_or(Some(500));
            if let (Some(p), Some(st)) = (p, st) {
                beh.error = Some(ErrorInjection {
                    chance: Chance::from_probability(p),
                    status: st,
                });
            }
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
        self.workloads.push(RawWorkload {
            origin: o.origin.clone(),
            names_at,
            name: o.name.clone(),
            namespace: o.namespace.clone(),
            deployment,
            selector,
            behaviour: beh,
            script,
        });
    }

    fn load(&mut self, o: &Object, cx: &mut Cx) {
        cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
        let Some(spec) = cx.req(&o.node, "spec") else {
            return;
        };
        cx.known_fields(
            &spec,
            &[
                "target",
                "method",
                "headers",
                "open",
                "closed",
                "start",
                "stop",
                cluster_spec::LOAD_FIELDS[0],
                cluster_spec::LOAD_FIELDS[1],
            ],
        );
        let entry = cluster_spec::load_entry(cx, &spec);
        // Keep going without a target, so the rest of the spec is checked too.
        let tgt = cx
            .req(&spec, "target")
            .and_then(|t| target(cx, &t).map(|(h, p, path)| (h, p, path, t.loc(), t.path.clone())));
        let method = spec
            .get("method")
            .and_then(|m| cx.str(&m))
            .unwrap_or("GET")
            .to_string();
        let headers = headers(cx, &spec);
        let pattern = match (spec.get("open"), spec.get("closed")) {
            (Some(op), None) => {
                cx.known_fields(&op, &["rate", "arrival", "connections"]);
                let rate = cx.req(&op, "rate").and_then(|r| cx.positive(&r));
                let arrival = match op.get("arrival") {
                    None => Some(Arrival::Poisson),
                    Some(a) => cx.one_of(
                        &a,
                        &[
                            ("poisson", Arrival::Poisson),
                            ("constant", Arrival::Constant),
                        ],
                    ),
                };
                let connections = op
                    .get("connections")
                    .and_then(|c| cx.int_in(&c, 1, 1_000_000))
                    .map(|c| c as u32);
                match (rate, arrival) {
                    (Some(rate), Some(arrival)) => Some(LoadPattern::Open {
                        arrival,
                        rate,
                        connections,
                    }),
                    _ => None,
                }
            }
            (None, Some(cl)) => {
                cx.known_fields(&cl, &["connections", "qps", "thinkTime"]);
                let connections = cx
                    .req(&cl, "connections")
                    .and_then(|c| cx.int_in(&c, 1, 1_000_000))
                    .map(|c| c as u32);
                let qps = cl.get("qps").and_then(|q| cx.positive(&q));
                let think = cl.get("thinkTime").and_then(|t| dist(cx, &t));
                connections.map(|connections| LoadPattern::Closed {
                    connections,
                    qps,
                    think,
                })
            }
            (Some(_), Some(cl)) => {
                cx.error(&cl, "give either open or closed, not both");
                None
            }
            (None, None) => {
                cx.error_at(
                    spec.loc(),
                    "spec.open",
                    "missing required field (an open-loop `open` or closed-loop `closed` pattern)",
                );
                None
            }
        };
        let start = spec
            .get("start")
            .and_then(|s| cx.duration(&s))
            .unwrap_or(SimDuration::ZERO);
        let stop = spec.get("stop").and_then(|s| cx.duration(&s));
        if let (Some(stop), Some(sv)) = (stop, spec.get("stop"))
            && stop <= start
        {
            cx.error(&sv, format!("{stop}, must be after start {start}"));
        }
        let (Some(pattern), Some((host, port, path, tloc, tpath))) = (pattern, tgt) else {
            return;
        };
        let pattern_at = spec
            .get("open")
            .and_then(|op| op.get("rate"))
            .or_else(|| spec.get("closed"))
            .map(|v| (v.loc(), v.path.clone()))
            .unwrap_or((spec.loc(), "spec".into()));
        self.loads.push(RawLoad {
            origin: o.origin.clone(),
            pattern_at,
            host,
            port,
            loc: tloc,
            path_in_yaml: tpath,
            entry,
            load: Load {
                name: o.name.clone(),
                namespace: o.namespace.clone(),
                target: Target {
                    service: 0,
                    port: 0,
                },
                path,
                method,
                headers,
                pattern,
                start,
                stop,
                entry: Entry::default(),
            },
        });
    }

    fn finish(
        self,
        name: String,
        sha256: String,
        ov: &Overrides,
        diags: &mut Diagnostics,
    ) -> Option<Scenario> {
        let Builder {
            namespaces: _,
            sim,
            mut deployments,
            services,
            workloads,
            loads,
            not_simulated,
            cluster,
            mut ingresses,
            service_locs,
        } = self;
        // --- run settings
        let (sim, sim_origin) = match sim {
            Some((s, o)) => (s, Some(o)),
            None => (SimSpec::default(), None),
        };
        let duration = ov.duration.or(sim.duration).or_else(|| {
            let after_warmup = sim.warmup.unwrap_or(SimDuration::ZERO) + SimDuration::from_secs(1);
            (ov.manifests_only && !sim.duration_given).then_some(after_warmup)
        });
        let run = match duration {
            Some(duration) => {
                let warmup = sim.warmup.unwrap_or(SimDuration::ZERO);
                if warmup >= duration
                    && let Some(o) = &sim_origin
                {
                    let from = if ov.duration.is_some() {
                        " (--duration)"
                    } else {
                        ""
                    };
                    Cx::new(o.clone(), diags).error_at(
                        sim.warmup_loc,
                        "spec.warmup",
                        format!("{warmup}, must be shorter than duration {duration}{from}"),
                    );
                }
                Some(RunSettings {
                    duration,
                    warmup,
                    seed: ov.seed.or(sim.seed).unwrap_or(1),
                    replications: ov.replications.or(sim.replications).unwrap_or(1),
                })
            }
            None if sim.duration_given => None, // invalid, already reported
            None => {
                let origin = sim_origin.clone().unwrap_or(Origin {
                    file: "(scenario)".into(),
                    document: 0,
                    object: None,
                });
                Cx::new(origin, diags).error_at(
                    sim.loc,
                    "spec.duration",
                    "missing required field: give a Simulation object with spec.duration, or --duration",
                );
                None
            }
        };

        // --- ingress-nginx controller (only when a load goes through an Ingress)
        let cluster_net = cluster
            .as_ref()
            .map(|c| c.0.clone())
            .unwrap_or_else(crate::cluster::node::ClusterNet::implicit);
        let hosts: Vec<(&str, &str)> = loads
            .iter()
            .map(|l| (l.host.as_str(), l.load.namespace.as_str()))
            .collect();
        let mut services = services;
        let controller = cluster_spec::add_ingress_controller(
            &cluster_net,
            &mut ingresses,
            &hosts,
            &mut deployments,
            &mut services,
            default_behaviour(),
        );

        // --- workloads → deployments
        let mut claimed: Vec<Option<String>> = vec![None; deployments.len()];
        let service_index: Vec<(String, String)> = services
            .iter()
            .map(|(s, _, _)| (s.name.clone(), s.namespace.clone()))
            .collect();
        let mut scripts: Vec<Option<(Vec<RawStep>, Origin)>> = vec![None; deployments.len()];
        for w in workloads {
            let mut cx = Cx::new(w.origin.clone(), diags);
            let matches: Vec<usize> = deployments
                .iter()
                .enumerate()
                .filter(|(_, (d, _, _))| {
                    d.namespace == w.namespace
                        && match (&w.deployment, &w.selector) {
                            (Some(n), _) => &d.name == n,
                            (None, Some(sel)) => {
                                sel.iter().all(|(k, v)| d.labels.get(k) == Some(v))
                            }
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
            if claimed[i].is_none() && controller != Some(i) {
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

        // --- services: selectors and target ports
        for (s, origin, loc) in &services {
            let pods: Vec<&Deployment> = deployments
                .iter()
                .map(|(d, _, _)| d)
                .filter(|d| d.namespace == s.namespace && selects(&s.selector, &d.labels))
                .collect();
            let mut cx = Cx::new(origin.clone(), diags);
            let locs = service_locs.get(&(s.namespace.clone(), s.name.clone()));
            let sel_loc = locs.map(|l| l.selector).unwrap_or(*loc);
            if s.selector.is_empty() {
                cx.warn_at(sel_loc, "spec.selector", "Service has no selector: meshsim creates no endpoints for it (connections fail)");
            } else if pods.is_empty() {
                cx.warn_at(
                    sel_loc,
                    "spec.selector",
                    format!(
                        "selector {:?} matches no pod: connections to this Service fail",
                        s.selector
                    ),
                );
            }
            for (pi, p) in s.ports.iter().enumerate() {
                if let TargetPort::Name(n) = &p.target_port
                    && !pods.is_empty()
                    && !pods
                        .iter()
                        .any(|d| d.ports.iter().any(|c| c.name.as_deref() == Some(n)))
                {
                    cx.warn_at(
                            locs.and_then(|l| l.target_ports.get(pi).copied()).unwrap_or(*loc),
                            &format!("spec.ports[{pi}].targetPort"),
                            format!("no selected container has a port named {n:?}: those pods are not endpoints of this port"),
                        );
                }
            }
        }

        // --- resolve calls and loads
        let resolve = |host: &str, port: Option<u16>, from_ns: &str| -> Result<Target, String> {
            let (name, ns) = kube_dns(host, from_ns).ok_or_else(|| {
                format!("host {host:?} is not a Kubernetes Service name (name, name.namespace or name.namespace.svc.cluster.local)")
            })?;
            let si = service_index
                .iter()
                .position(|(n, s)| *n == name && *s == ns)
                .ok_or_else(|| {
                    format!(
                        "host {host:?} does not resolve: no Service {name:?} in namespace {ns:?}"
                    )
                })?;
            let svc = &services[si].0;
            let pi = match port {
                Some(p) => svc
                    .ports
                    .iter()
                    .position(|sp| sp.port == p)
                    .ok_or_else(|| {
                        format!(
                            "Service {}/{} has no port {p} (ports: {})",
                            ns,
                            name,
                            svc.ports
                                .iter()
                                .map(|p| p.port.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?,
                None if svc.ports.len() == 1 => 0,
                None => {
                    return Err(format!(
                        "Service {ns}/{name} has {} ports: give the port",
                        svc.ports.len()
                    ));
                }
            };
            Ok(Target {
                service: si,
                port: pi,
            })
        };

        let mut out_loads = Vec::new();
        // Where each of `out_loads` is: (origin, pattern, target).
        let mut load_at: Vec<(Origin, At, At)> = Vec::new();
        for mut l in loads {
            let resolved = cluster_spec::ingress_load(
                &mut l.load,
                &l.host,
                l.port,
                controller,
                &ingresses,
                &services,
                &resolve,
            )
            .unwrap_or_else(|| resolve(&l.host, l.port, &l.load.namespace));
            match resolved {
                Ok(t) => {
                    let mut load = l.load;
                    load.target = t;
                    let mut cx = Cx::new(l.origin.clone(), diags);
                    cluster_spec::resolve_entry(
                        &mut cx,
                        &cluster_net,
                        cluster.is_some(),
                        &l.entry,
                        &mut load,
                        &services,
                    );
                    out_loads.push(load);
                    load_at.push((l.origin.clone(), l.pattern_at, (l.loc, l.path_in_yaml)));
                }
                Err(e) => Cx::new(l.origin.clone(), diags).error_at(l.loc, &l.path_in_yaml, e),
            }
        }

        // Call graph edges for cycle detection: deployment → deployment, with the
        // bound flag and where the call is written.
        let mut edges: Vec<Edge> = Vec::new();
        for (i, slot) in scripts.iter().enumerate() {
            let Some((script, origin)) = slot else {
                continue;
            };
            let ns = deployments[i].0.namespace.clone();
            let mut cx = Cx::new(origin.clone(), diags);
            let resolved = resolve_steps(script, &mut |rc: &RawCall| match resolve(
                &rc.host, rc.port, &ns,
            ) {
                Ok(t) => {
                    let svc = &services[t.service].0;
                    for (j, (d, _, _)) in deployments.iter().enumerate() {
                        if d.namespace == svc.namespace && selects(&svc.selector, &d.labels) {
                            edges.push(Edge {
                                from: i,
                                to: j,
                                bounded: rc.max_depth.is_some(),
                                loc: rc.loc,
                                path: rc.path_in_yaml.clone(),
                            });
                        }
                    }
                    let mut c = rc.call.clone();
                    c.target = t;
                    Some(c)
                }
                Err(e) => {
                    cx.error_at(rc.loc, &rc.path_in_yaml, e);
                    None
                }
            });
            deployments[i].0.behaviour.script = resolved;
        }
        check_cycles(&deployments, &edges, &scripts, diags);
        let network = cluster_spec::network(
            cluster,
            ingresses,
            controller,
            &deployments,
            &mut services,
            diags,
        );

        if diags.has_errors() {
            return None;
        }
        let run = run?;
        let dep_at: Vec<(Origin, Loc)> = deployments
            .iter()
            .map(|(_, o, l)| (o.clone(), *l))
            .collect();
        let scenario = Scenario {
            name,
            sha256,
            run,
            deployments: deployments.into_iter().map(|(d, _, _)| d).collect(),
            services: services.into_iter().map(|(s, _, _)| s).collect(),
            loads: out_loads,
            not_simulated,
            warnings: Vec::new(),
            network,
            istio: Default::default(),
        };
        // What would not fit in a run (memory, time) is an error too.
        for p in super::limits::check(&scenario) {
            use super::limits::Subject;
            let (origin, loc, path) = match p.subject {
                Subject::Load(i) => (load_at[i].0.clone(), load_at[i].1.0, load_at[i].1.1.clone()),
                Subject::LoadTarget(i) => {
                    (load_at[i].0.clone(), load_at[i].2.0, load_at[i].2.1.clone())
                }
                Subject::Deployment(i) => {
                    (dep_at[i].0.clone(), dep_at[i].1, "spec.replicas".into())
                }
                Subject::Run => match &sim_origin {
                    Some(o) => (o.clone(), sim.replications_loc, "spec.replications".into()),
                    None => (
                        Origin {
                            file: "(scenario)".into(),
                            document: 0,
                            object: None,
                        },
                        Loc::default(),
                        "--replications".into(),
                    ),
                },
            };
            Cx::new(origin, diags).error_at(loc, &path, p.message);
        }
        if diags.has_errors() {
            return None;
        }
        Some(scenario)
    }
}

fn resolve_steps(steps: &[RawStep], f: &mut dyn FnMut(&RawCall) -> Option<Call>) -> Vec<Step> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            RawStep::Compute(d) => out.push(Step::Compute(d.clone())),
            RawStep::Call(rc) => {
                if let Some(mut c) = f(rc) {
                    c.max_depth = rc.max_depth;
                    out.push(Step::Call(c));
                }
            }
            RawStep::Parallel(branches) => out.push(Step::Parallel(
                branches.iter().map(|b| resolve_steps(b, f)).collect(),
            )),
        }
    }
    out
}

/// One call-graph edge: a call in `from`'s script reaches `to`'s pods.
struct Edge {
    from: usize,
    to: usize,
    /// The call has `maxDepth`, so a cycle through it ends.
    bounded: bool,
    loc: Loc,
    path: String,
}

/// An unbounded cycle (no call on it has `maxDepth`) would recurse forever.
/// The error names one actual cycle (in call order, the shortest through the
/// lowest-indexed member of each strongly connected component) and points at
/// its first call.
fn check_cycles(
    deployments: &[(Deployment, Origin, Loc)],
    edges: &[Edge],
    scripts: &[Option<(Vec<RawStep>, Origin)>],
    diags: &mut Diagnostics,
) {
    use petgraph::algo::tarjan_scc;
    use petgraph::graph::DiGraph;
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..deployments.len()).map(|i| g.add_node(i)).collect();
    for e in edges.iter().filter(|e| !e.bounded) {
        g.add_edge(nodes[e.from], nodes[e.to], ());
    }
    for scc in tarjan_scc(&g) {
        let cyclic = scc.len() > 1 || scc.iter().any(|&n| g.contains_edge(n, n));
        if !cyclic {
            continue;
        }
        let mut members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
        members.sort();
        let first = members[0];
        let cycle = shortest_cycle(first, &members, edges);
        let mut names: Vec<String> = cycle.iter().map(|&i| deployments[i].0.key()).collect();
        names.push(deployments[first].0.key());
        let next = cycle.get(1).copied().unwrap_or(first);
        let call = edges
            .iter()
            .find(|e| !e.bounded && e.from == first && e.to == next);
        let origin = scripts[first]
            .as_ref()
            .map(|s| s.1.clone())
            .unwrap_or_else(|| deployments[first].1.clone());
        let (loc, path) = match call {
            Some(e) => (e.loc, e.path.as_str()),
            None => (deployments[first].2, "spec.script"),
        };
        Cx::new(origin, diags).error_at(
            loc,
            path,
            format!(
                "unbounded call cycle {}: set maxDepth on a call in the cycle",
                names.join(" → ")
            ),
        );
    }
}

/// The shortest cycle from `start` back to itself over unbounded edges between
/// `members` (breadth-first, lower indices first, so the choice is deterministic).
/// Returns the nodes in call order, starting with `start`, without repeating it.
fn shortest_cycle(start: usize, members: &[usize], edges: &[Edge]) -> Vec<usize> {
    let succ = |u: usize| -> Vec<usize> {
        let mut v: Vec<usize> = edges
            .iter()
            .filter(|e| !e.bounded && e.from == u && members.binary_search(&e.to).is_ok())
            .map(|e| e.to)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(u) = queue.pop_front() {
        for v in succ(u) {
            if v == start {
                let mut path = vec![u];
                let mut x = u;
                while x != start {
                    x = prev[&x];
                    path.push(x);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(v) {
                e.insert(u);
                queue.push_back(v);
            }
        }
    }
    vec![start]
}

/// Kubernetes Service selection: every selector label present with equal value.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Kubernetes DNS for Services, from a client in `from_ns`:
/// `name` → (name, from_ns); `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` → (name, ns).
pub fn kube_dns(host: &str, from_ns: &str) -> Option<(String, String)> {
    let host = host.trim_end_matches('.');
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some((name.to_string(), from_ns.to_string())),
        [name, ns] | [name, ns, "svc"] | [name, ns, "svc", "cluster", "local"] => {
            Some((name.to_string(), ns.to_string()))
        }
        _ => None,
    }
}

fn default_behaviour() -> Behaviour {
    Behaviour {
        source: None,
        workers: 1,
        queue_limit: None,
        queue_full_status: 503,
        hold_worker_during_calls: true,
        script: Vec::new(),
        error: None,
        pool_size: None,
        not_ready: 0,
    }
}

/// The `headers` map of a Load or a call; names lower-cased as HTTP/2 sends them.
fn headers(cx: &mut Cx, parent: &V) -> Vec<(String, String)> {
    parent
        .get("headers")
        .and_then(|h| cx.string_map(&h))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

fn status(cx: &mut Cx, v: &V) -> Option<u16> {
    cx.int_in(v, 100, 599).map(|s| s as u16)
}

/// `http://host:port/path`, `host:port/path`, or `{host, port, path}`.
fn target(cx: &mut Cx, v: &V) -> Option<(String, Option<u16>, String)> {
    if let Some(s) = v.as_str() {
        let rest = s.strip_prefix("http://").unwrap_or(s);
        if rest.contains("://") {
            cx.error(v, format!("{s:?}: only http:// targets are simulated"));
            return None;
        }
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) if p > 0 => (h.to_string(), Some(p)),
                _ => {
                    cx.error(v, format!("{s:?}: port {p:?} is not a number in 1..=65535"));
                    return None;
                }
            },
            None => (hostport.to_string(), None),
        };
        if host.is_empty() {
            cx.error(v, format!("{s:?}: missing host"));
            return None;
        }
        return Some((host, port, path));
    }
    if !v.is_map() {
        cx.error(
            v,
            "expected a URL (http://host:port/path) or a mapping with host, port, path",
        );
        return None;
    }
    cx.known_fields(v, &["host", "port", "path"]);
    let host = cx
        .req(v, "host")
        .and_then(|h| cx.str(&h))
        .map(str::to_string)?;
    let port = match v.get("port") {
        Some(p) => Some(cx.port(&p)?),
        None => None,
    };
    let path = v
        .get("path")
        .and_then(|p| cx.str(&p))
        .unwrap_or("/")
        .to_string();
    Some((host, port, path))
}

/// A distribution: `{constant: 10ms}`, `{exponential: {mean: 1s}}`,
/// `{lognormal: {mean: 100ms, cv: 0.5}}`, `{gamma: {mean: 1s, shape: 2}}`,
/// `{erlang: {mean: 1s, k: 3}}`, `{empirical: {0: 1ms, 50: 10ms, 100: 80ms}}`.
pub fn dist(cx: &mut Cx, v: &V) -> Option<Dist> {
    let entries = cx.map(v)?;
    if entries.len() != 1 {
        cx.error(v, "a distribution has exactly one key: constant, exponential, lognormal, gamma, erlang or empirical");
        return None;
    }
    let (k, p) = &entries[0];
    let mean = |cx: &mut Cx, p: &V| {
        cx.req(p, "mean")
            .and_then(|m| cx.positive_duration(&m))
            .map(|d| d.as_secs_f64())
    };
    match k.as_str() {
        "constant" => cx.duration(p).map(Dist::Constant),
        "exponential" => {
            cx.known_fields(p, &["mean"]);
            mean(cx, p).map(|mean| Dist::Exponential { mean })
        }
        "lognormal" => {
            cx.known_fields(p, &["mean", "cv"]);
            let m = mean(cx, p);
            let cv = cx.req(p, "cv").and_then(|c| cx.positive(&c));
            Some(Dist::LogNormal { mean: m?, cv: cv? })
        }
        "gamma" => {
            cx.known_fields(p, &["mean", "shape"]);
            let m = mean(cx, p);
            let shape = cx.req(p, "shape").and_then(|c| cx.positive(&c));
            Some(Dist::Gamma {
                mean: m?,
                shape: shape?,
            })
        }
        "erlang" => {
            cx.known_fields(p, &["mean", "k"]);
            let m = mean(cx, p);
            let k = cx.req(p, "k").and_then(|c| cx.int_in(&c, 1, 10_000));
            Some(Dist::Gamma {
                mean: m?,
                shape: k? as f64,
            })
        }
        "empirical" => {
            let entries = cx.map(p)?;
            let mut pts = Vec::new();
            for (key, val) in &entries {
                let q = match key.parse::<f64>() {
                    Ok(q) if (0.0..=100.0).contains(&q) => q / 100.0,
                    _ => {
                        cx.error(
                            val,
                            format!("percentile key {key:?} must be a number in 0..=100"),
                        );
                        return None;
                    }
                };
                pts.push((q, cx.duration(val)?.as_secs_f64()));
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if pts.first().map(|p| p.0) != Some(0.0) || pts.last().map(|p| p.0) != Some(1.0) {
                cx.error(
                    p,
                    "an empirical table needs the 0 and 100 percentiles (minimum and maximum)",
                );
                return None;
            }
            if pts.windows(2).any(|w| w[1].1 < w[0].1) {
                cx.error(p, "percentile values must not decrease");
                return None;
            }
            Some(Dist::Empirical { points: pts })
        }
        other => {
            cx.error_at(
                p.loc(),
                &p.path,
                format!("unknown distribution {other:?}; use constant, exponential, lognormal, gamma, erlang or empirical"),
            );
            None
        }
    }
}

fn steps(cx: &mut Cx, v: &V) -> Vec<RawStep> {
    let Some(items) = cx.seq(v) else {
        return Vec::new();
    };
    items.iter().filter_map(|i| step(cx, i)).collect()
}

fn step(cx: &mut Cx, v: &V) -> Option<RawStep> {
    let entries = cx.map(v)?;
    if entries.len() != 1 {
        cx.error(v, "a step has exactly one key: compute, call or parallel");
        return None;
    }
    let (k, body) = &entries[0];
    match k.as_str() {
        "compute" => dist(cx, body).map(RawStep::Compute),
        "call" => call(cx, body).map(|c| RawStep::Call(Box::new(c))),
        "parallel" => {
            let branches = cx.seq(body)?;
            let mut out = Vec::new();
            for b in branches {
                match &b.node.value {
                    Value::Seq(_) => out.push(steps(cx, &b)),
                    _ => out.push(step(cx, &b).into_iter().collect()),
                }
            }
            Some(RawStep::Parallel(out))
        }
        other => {
            cx.error_at(
                body.loc(),
                &body.path,
                format!("unknown step {other:?}; use compute, call or parallel"),
            );
            None
        }
    }
}

fn call(cx: &mut Cx, v: &V) -> Option<RawCall> {
    cx.known_fields(
        v,
        &[
            "host",
            "port",
            "path",
            "method",
            "forwardHeaders",
            "headers",
            "probability",
            "timeout",
            "retries",
            "onError",
            "errorStatus",
            "maxDepth",
        ],
    );
    let host_v = cx.req(v, "host");
    let host = host_v.as_ref().and_then(|h| cx.str(h)).map(str::to_string);
    let port = v.get("port").and_then(|p| cx.port(&p));
    let path = v
        .get("path")
        .and_then(|p| cx.str(&p))
        .unwrap_or("/")
        .to_string();
    let method = v
        .get("method")
        .and_then(|p| cx.str(&p))
        .unwrap_or("GET")
        .to_string();
    let forward_headers = v
        .get("forwardHeaders")
        .and_then(|f| cx.seq(&f))
        .map(|xs| {
            xs.iter()
                .filter_map(|x| cx.str(x))
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let headers = headers(cx, v);
    let chance = v
        .get("probability")
        .and_then(|p| cx.probability(&p))
        .map(Chance::from_probability)
        .unwrap_or(Chance::ALWAYS);
    let timeout = v.get("timeout").and_then(|t| cx.positive_duration(&t));
    let retries = v
        .get("retries")
        .and_then(|r| cx.int_in(&r, 0, 100))
        .unwrap_or(0) as u32;
    let error_status = v
        .get("errorStatus")
        .and_then(|s| status(cx, &s))
        .unwrap_or(500);
    let on_error = match v.get("onError") {
        None => OnError::Fail(error_status),
        Some(o) => cx
            .one_of(
                &o,
                &[
                    ("fail", OnError::Fail(error_status)),
                    ("continue", OnError::Continue),
                ],
            )
            .unwrap_or(OnError::Fail(error_status)),
    };
    let max_depth = v
        .get("maxDepth")
        .and_then(|d| cx.int_in(&d, 1, 1000))
        .map(|d| d as u32);
    Some(RawCall {
        host: host?,
        port,
        loc: host_v.as_ref().map(|h| h.loc()).unwrap_or(v.loc()),
        path_in_yaml: host_v.map(|h| h.path).unwrap_or(v.path.clone()),
        call: Call {
            target: Target {
                service: 0,
                port: 0,
            },
            path,
            method,
            forward_headers,
            headers,
            chance,
            timeout,
            retries,
            on_error,
            max_depth: None,
        },
        max_depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_dns_forms() {
        assert_eq!(
            kube_dns("reviews", "default"),
            Some(("reviews".into(), "default".into()))
        );
        assert_eq!(
            kube_dns("reviews.prod", "default"),
            Some(("reviews".into(), "prod".into()))
        );
        assert_eq!(
            kube_dns("reviews.prod.svc.cluster.local", "x"),
            Some(("reviews".into(), "prod".into()))
        );
        assert_eq!(kube_dns("a.b.c", "x"), None);
        assert_eq!(kube_dns("", "x"), None);
    }
}
