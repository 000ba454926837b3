//! Raw documents → a validated [`Scenario`]: the orchestration.
//!
//! The error/warning line follows the real systems: what the Kubernetes API
//! server or Istio's webhook would reject is an error; what they accept and then
//! fails at run time (a Service whose selector matches no pod) is a warning, and
//! is simulated faithfully. meshsim's own kinds are strict: unknown fields are
//! errors, because a typo there would silently change the experiment.
//!
//! Loading runs in three phases: every document becomes an [`Object`]
//! ([`super::object`]); each object is decoded by its kind's file, chosen in
//! one place (`decode_object`, a match on API group and kind:
//! [`super::kube`] for Kubernetes kinds, [`super::meshsim`] for meshsim's);
//! then the cross-object checks run once every object is known (workloads to
//! deployments, Service selectors, host resolution, the call graph, placement
//! and node ports, run limits).

use super::call_graph;
use super::decode::Cx;
use super::diag::{Diagnostics, Origin};
use super::kube::deployment::{self, default_behaviour};
use super::kube::ingress;
use super::kube::service::{self, ServiceLocs};
use super::meshsim::cluster;
use super::meshsim::load::{self, RawLoad};
use super::meshsim::simulation::{self, SimSpec};
use super::meshsim::workload::{self, RawWorkload};
use super::network;
use super::object::{check_name, collect_objects, prefix, shown};
use super::raw::Loc;
use super::selectors;
use super::spec::*;
use crate::cluster::ingress::IngressSpec;
use crate::cluster::node::ClusterNet;
use std::collections::{BTreeMap, BTreeSet};

// Moved to their own files; re-exported so that paths under `validate` stay valid.
pub use super::meshsim::dist::dist;
pub use super::meshsim::simulation::Overrides;
pub use super::object::Object;
pub use super::resolve::kube_dns;
pub use crate::cluster::selector::selects;

pub use super::object::MESHSIM_API;

/// Kinds meshsim reads but does not simulate yet: listed in the report as
/// "not simulated yet" (any other unmatched kind is "unknown kind, not
/// simulated"); never an error. Matched by kind alone, any apiVersion.
const KNOWN_NOT_SIMULATED: &[&str] = &[
    // Istio networking kinds under another apiVersion than networking.istio.io/*
    // (those are decoded by istio.rs).
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "ServiceEntry",
    "Sidecar",
    // Kubernetes networking.
    "IngressClass",
    // Istio security, extensions, workloads and install.
    "PeerAuthentication",
    "AuthorizationPolicy",
    "RequestAuthentication",
    "EnvoyFilter",
    "Telemetry",
    "WasmPlugin",
    "WorkloadEntry",
    "WorkloadGroup",
    "ProxyConfig",
    // Gateway API.
    "HTTPRoute",
    "TCPRoute",
    "TLSRoute",
    "GRPCRoute",
    "GatewayClass",
    "ReferenceGrant",
    // Kubernetes workloads, config, RBAC, policy and cluster objects.
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
    // Add-ons and install-time objects.
    "Kiali",
    "IstioOperator",
    "MeshConfig",
];

/// Kinds of other groups than meshsim's that meshsim simulates (matched by
/// kind alone, any apiVersion; Ingress is decoded only as
/// networking.k8s.io/v1). Together with meshsim's own kinds
/// these get the API server's name checks, and a duplicate is an error rather
/// than a warning. A kind that starts being simulated moves here from
/// [`KNOWN_NOT_SIMULATED`].
const SIMULATED_KINDS: &[&str] = &[
    "Namespace",
    "Deployment",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
];

/// The API group of meshsim's own kinds.
const MESHSIM_GROUP: &str = "meshsim.dev";

fn is_simulated(o: &Object) -> bool {
    o.api_version == MESHSIM_API
        || SIMULATED_KINDS.contains(&o.kind.as_str())
        || super::istio::is_istio(o)
}

/// The API group of an apiVersion: `apps/v1` → `apps`, `v1` → `""` (core).
fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// One input file, already read.
pub struct SourceFile {
    pub path: String,
    pub text: String,
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
        // An isotope topology becomes the objects its converter generates.
        let d = super::isotope::expand_documents(
            &f.path,
            d,
            overrides.namespace.as_deref(),
            &mut diags,
        );
        docs.push((f.path.clone(), d));
    }
    let default_ns = overrides.namespace.as_deref().unwrap_or("default");
    for (target, msg) in super::set::apply(&mut docs, &overrides.sets, default_ns) {
        let origin = Origin {
            file: "--set".into(),
            document: 0,
            object: None,
        };
        Cx::new(origin, &mut diags).error_at(Loc::default(), &target, msg);
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
            let simulated = is_simulated(o);
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
    let mut chaos = super::chaos::Collector::default();
    let mut hpas = super::kube::hpa::Collector::default();
    for o in &objects {
        let mut cx = Cx::new(o.origin.clone(), &mut diags);
        if o.api_version.starts_with("meshsim.dev/") && o.api_version != MESHSIM_API {
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
        if is_simulated(o) {
            check_name(o, &mut cx);
        }
        // Istio kinds (and the MeshConfig ConfigMap, Namespace labels) are
        // collected by `istio.rs`, one file per kind under `istio/`; Chaos
        // Mesh's by `chaos.rs`, first, so Istio does not list them as
        // unsimulated.
        if chaos.object(o, &mut cx) || hpas.object(o, &mut cx) || istio.object(o, &mut cx) {
            continue;
        }
        decode_object(&mut b, o, &mut cx);
    }
    // Cross-references need every object: after a syntax error some are
    // missing, and "does not resolve" errors would be noise.
    let scenario = if syntax_errors {
        None
    } else {
        b.finish(
            name,
            sha256,
            overrides,
            istio.wants_default_ingress_gateway(),
            &mut diags,
        )
        .map(|mut s| {
            istio.finish(&mut s, &mut diags);
            hpas.finish(&mut s, &mut diags);
            chaos.finish(&mut s, &mut diags);
            s
        })
    };
    if overrides.strict {
        diags.promote_warnings();
    }
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    let mut s = scenario.expect("no errors means a scenario was built");
    s.warnings = diags.warnings().map(|d| d.to_string()).collect();
    Ok(s)
}

/// Decodes one object by its (API group, kind): the one place a kind is wired
/// in. Each kind's file decodes an [`Object`] into a value (`decode(o, cx)`),
/// reporting through `cx`; this match keeps the value in the [`Builder`] for
/// the cross-object phase. Anything unmatched is listed as not simulated.
///
/// To add a kind (e.g. `istio/virtual_service.rs`): one arm here,
/// `("networking.istio.io", "VirtualService") => b.virtual_services.extend(istio::virtual_service::decode(o, cx)),`
/// a `Builder` field for the values, its use in `finish`, and the kind's name
/// moved from `KNOWN_NOT_SIMULATED` to `SIMULATED_KINDS` (name checks,
/// duplicates are errors).
fn decode_object(b: &mut Builder, o: &Object, cx: &mut Cx) {
    match (group(&o.api_version), o.kind.as_str()) {
        // meshsim.dev/v1alpha1 (other versions were rejected before).
        (MESHSIM_GROUP, "Simulation") => {
            let previous = b.sim.as_ref().map(|s| &s.1);
            if let Some(s) = simulation::decode(o, cx, previous) {
                b.sim = Some((s, o.origin.clone()));
            }
        }
        (MESHSIM_GROUP, "Workload") => b.workloads.extend(workload::decode(o, cx)),
        (MESHSIM_GROUP, "Load") => b.loads.extend(load::decode(o, cx)),
        (MESHSIM_GROUP, "Cluster") => {
            let previous = b.cluster.as_ref().map(|c| &c.1);
            if let Some(c) = cluster::decode(o, cx, previous) {
                b.cluster = Some((c, o.origin.clone()));
            }
        }
        // A `meshsim route-test` table (sim/istiod/route_test/table.rs): kept
        // beside the manifests it tests, so a folder stays loadable; no
        // effect on validate or run.
        (MESHSIM_GROUP, "RouteTest") => {}
        (MESHSIM_GROUP, other) => cx.error_at(
            o.node.get("kind").map(|k| k.loc()).unwrap_or(o.node.loc()),
            &format!("{}kind", prefix(&o.node)),
            format!(
                "{other:?} is not a meshsim kind (Simulation, Workload, Load, Cluster, RouteTest)"
            ),
        ),
        // Kubernetes.
        (_, "Namespace") => {
            b.namespaces.insert(o.name.clone());
        }
        (_, "Deployment") => {
            if let Some(d) = deployment::decode(o, cx) {
                b.deployments.push((d, o.origin.clone(), o.node.loc()));
            }
        }
        (_, "Service") => match service::decode(o, cx) {
            Some(service::Decoded::Service(s, locs)) => {
                b.service_locs
                    .insert((o.namespace.clone(), o.name.clone()), locs);
                b.services.push((s, o.origin.clone(), o.node.loc()));
            }
            Some(service::Decoded::ExternalName) => {
                b.note_not_simulated(o, "ExternalName Service, not simulated")
            }
            None => {}
        },
        ("networking.k8s.io", "Ingress") if o.api_version == "networking.k8s.io/v1" => {
            b.ingresses.extend(ingress::decode(o, cx))
        }
        (_, kind) => {
            let what = if KNOWN_NOT_SIMULATED.contains(&kind) {
                "not simulated yet"
            } else {
                "unknown kind, not simulated"
            };
            b.note_not_simulated(o, what);
        }
    }
}

// === Builder: what the kinds decoded, then the cross-object phase ===

/// Every decoded object, kept until all are known.
#[derive(Default)]
struct Builder {
    namespaces: BTreeSet<String>,
    sim: Option<(SimSpec, Origin)>,
    deployments: Vec<(Deployment, Origin, Loc)>,
    services: Vec<(Service, Origin, Loc)>,
    workloads: Vec<RawWorkload>,
    loads: Vec<RawLoad>,
    not_simulated: Vec<String>,
    cluster: Option<(ClusterNet, Origin)>,
    ingresses: Vec<IngressSpec>,
    /// Where each Service's selector and ports are, by (namespace, name), so
    /// warnings about them point at the right line.
    service_locs: BTreeMap<(String, String), ServiceLocs>,
}

impl Builder {
    /// Lists `o` in the report as read but not simulated.
    fn note_not_simulated(&mut self, o: &Object, what: &str) {
        self.not_simulated.push(format!(
            "{}: document {} ({}): {what}",
            o.origin.file,
            o.origin.document,
            o.origin.object.as_deref().unwrap_or(&o.kind)
        ));
    }

    fn finish(
        self,
        name: String,
        sha256: String,
        ov: &Overrides,
        default_ingress_gateway: bool,
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
        let run = simulation::run_settings(&sim, sim_origin.as_ref(), ov, diags);
        // Only for an otherwise valid run: with errors nothing runs anyway.
        if loads.is_empty()
            && !diags.has_errors()
            && let Some(o) = &sim_origin
        {
            Cx::new(o.clone(), diags).warn_at(
                sim.loc,
                "spec",
                "no Load in the scenario: nothing will arrive, every count will be 0 (add a meshsim.dev/v1alpha1 Load)",
            );
        }

        // --- ingress-nginx controller (only when a load goes through an Ingress)
        let cluster_net = cluster
            .as_ref()
            .map(|c| c.0.clone())
            .unwrap_or_else(ClusterNet::implicit);
        let hosts: Vec<(&str, &str)> = loads
            .iter()
            .map(|l| (l.host.as_str(), l.load.namespace.as_str()))
            .collect();
        let mut services = services;
        let controller = ingress::add_ingress_controller(
            &cluster_net,
            &mut ingresses,
            &hosts,
            &mut deployments,
            &mut services,
            default_behaviour(),
        );
        // --- Istio's default ingress gateway (a Gateway selects it, none declared)
        super::istio::ingress_gateway::add(
            default_ingress_gateway,
            &mut deployments,
            &mut services,
            default_behaviour(),
        );

        // --- workloads → deployments
        let scripts = workload::attach(workloads, &mut deployments, controller, diags);

        // --- services: selectors and target ports
        selectors::check_services(&services, &deployments, &service_locs, diags);

        // --- hosts outside the cluster and their stand-in Services
        let external = resolve_external_hosts(&sim, sim_origin.as_ref(), &services, diags);
        // --- resolve loads and calls; the call graph
        let (out_loads, load_at) = load::resolve_all(
            loads,
            controller,
            &ingresses,
            (&services, &external),
            &cluster_net,
            cluster.is_some(),
            diags,
        );
        let edges =
            call_graph::resolve_calls(&scripts, &mut deployments, (&services, &external), diags);
        call_graph::check_cycles(&deployments, &edges, &scripts, diags);
        let network = network::network(
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
            chaos: Default::default(),
            autoscalers: Vec::new(),
            external_hosts: external,
            batch_quantiles: Vec::new(),
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
                // A value given with --replications is the flag's, not the file's.
                Subject::Run => match &sim_origin {
                    Some(o) if ov.replications.is_none() => {
                        (o.clone(), sim.replications_loc, "spec.replications".into())
                    }
                    _ => (
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

/// `Simulation.spec.externalHosts`: each host → the Service (`name.namespace`)
/// standing in for it; a name that is no Service is an error at the entry.
fn resolve_external_hosts(
    sim: &SimSpec,
    origin: Option<&Origin>,
    services: &[(Service, Origin, Loc)],
    diags: &mut Diagnostics,
) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (host, svc, at) in &sim.external_hosts {
        let found = super::resolve::kube_dns(svc, "default").and_then(|(n, ns)| {
            services
                .iter()
                .position(|(s, _, _)| s.name == n && s.namespace == ns)
        });
        match (found, origin) {
            (Some(i), _) => out.push((host.clone(), i)),
            (None, Some(o)) => Cx::new(o.clone(), diags).error_at(
                *at,
                &format!("spec.externalHosts.{host}"),
                format!("{svc:?} is no Service (give name.namespace of the Service standing in for {host})"),
            ),
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_groups() {
        let table = [
            ("v1", ""),
            ("apps/v1", "apps"),
            ("networking.k8s.io/v1", "networking.k8s.io"),
            ("networking.istio.io/v1beta1", "networking.istio.io"),
            ("meshsim.dev/v1alpha1", MESHSIM_GROUP),
            ("", ""),
        ];
        for (api, want) in table {
            assert_eq!(group(api), want, "{api}");
        }
    }
}
