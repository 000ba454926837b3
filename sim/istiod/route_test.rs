//! `meshsim route-test`: Envoy's `router_check_tool` idea at the Istio level.
//! A table of requests (from a workload's sidecar, a Load's sidecar or a
//! gateway) with expected outcomes is run through the **same** compiled
//! config ([`super::compile`]) and the **same** decision code
//! ([`crate::proxy::route::decide`], rewrites and header operations) the
//! simulation uses — there is no second router — and every answer is
//! explained: proxy, listener, virtual host, VirtualService route (the Xds
//! `route_keys`), the match fields, the destinations with their configured
//! weights, cluster, subset and the load-balancing policy in force.
//!
//! Weighted routes: a test passes when *any* configured destination
//! satisfies the expectation (routing is a draw); `expect.weights` compares
//! the configured weights instead. Coverage lists the VirtualService routes
//! no case reached, like `router_check_tool --coverage`.

mod render;
pub mod table;

pub use render::render;

pub use table::{Case, Expect, From, Table, TestRequest};

use super::xds::{Cluster, ClusterKind, ListenerKind, OutboundPolicy, ProxyKind, Xds};
use crate::cluster::selector::selects;
use crate::engine::rng::{Purpose, RngFactory};
use crate::proxy::request::Request;
use crate::proxy::route::describe::describe_match;
use crate::proxy::route::{self, RouteAction, RouteDecision};
use crate::scenario::spec::istio::HttpAction;
use crate::scenario::spec::{Scenario, TargetPort};

/// A case that cannot be run as written (exit status 2, like a usage error).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteTestError {
    #[error("{at}: case {case:?}: {what}")]
    UnknownFrom {
        case: String,
        at: String,
        what: String,
    },
}

/// Where a request ends according to the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Forwarded to one of these (configured weights; `chosen` = the draw).
    Forward(Vec<Candidate>),
    /// Answered by the proxy itself (`status` None = connection closed or refused).
    Local {
        status: Option<u16>,
        flag: Option<&'static str>,
        location: Option<String>,
        why: String,
    },
}

/// One configured destination of the matched route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub cluster: String,
    pub weight: u32,
    /// Destination service FQDN (None for PassthroughCluster/BlackHoleCluster).
    pub service: Option<String>,
    /// `""` = no subset.
    pub subset: String,
    pub port: Option<u16>,
    /// `:path` and `:authority` after rewrites and header operations.
    pub path: String,
    pub authority: String,
    /// `LEAST_REQUEST`, …, with the hash key when consistent hashing.
    pub lb: String,
    /// A cluster that answers locally: Missing ⇒ 503 NC, BlackHole ⇒ 503 UH.
    pub local: Option<(u16, &'static str)>,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseOutcome {
    pub name: String,
    pub source: String,
    pub answer: Answer,
    /// How the answer came about, one step a line.
    pub explanation: Vec<String>,
    /// Empty = passed.
    pub mismatches: Vec<String>,
    /// The VirtualService route reached (`ns/vs/route`), if any.
    pub route_key: Option<String>,
}

/// One VirtualService HTTP route and how the table covered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteCoverage {
    pub key: String,
    /// Cases that reached it.
    pub cases: usize,
    /// Present in some proxy's route table.
    pub pushed: bool,
}

impl RouteCoverage {
    /// Route `key`'s coverage: how many of `cases` reached it.
    fn of(key: String, pushed: bool, cases: &[CaseOutcome]) -> Self {
        let n = cases
            .iter()
            .filter(|c| c.route_key.as_deref() == Some(key.as_str()))
            .count();
        RouteCoverage {
            key,
            cases: n,
            pushed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub cases: Vec<CaseOutcome>,
    pub coverage: Vec<RouteCoverage>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| !c.mismatches.is_empty())
            .count()
    }
    pub fn uncovered(&self) -> impl Iterator<Item = &RouteCoverage> {
        self.coverage.iter().filter(|c| c.cases == 0)
    }
}

/// Runs every case of `table` against `xds` (compiled from `spec`).
pub fn run(spec: &Scenario, xds: &Xds, table: &Table) -> Result<Report, RouteTestError> {
    let mut cases = Vec::new();
    for c in &table.cases {
        cases.push(run_case(spec, xds, c)?);
    }
    let mut coverage: Vec<RouteCoverage> = Vec::new();
    for vs in &spec.istio.virtual_services {
        for (i, hr) in vs.http.iter().enumerate() {
            if matches!(hr.action, HttpAction::Delegate(_)) {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                vs.meta.namespace,
                vs.meta.name,
                hr.name.clone().unwrap_or_else(|| i.to_string())
            );
            let pushed = xds
                .route_tables
                .iter()
                .any(|t| t.route_keys.iter().flatten().any(|k| *k == key));
            coverage.push(RouteCoverage::of(key, pushed, &cases));
        }
    }
    // `tcp` and `tls` routes: pushed when some tcp_proxy chain carries the key.
    for vs in &spec.istio.virtual_services {
        let l4 = (0..vs.tcp.len())
            .map(|i| super::sidecar::l4_key(vs, "tcp", i))
            .chain((0..vs.tls.len()).map(|i| super::sidecar::l4_key(vs, "tls", i)));
        for key in l4 {
            let pushed = xds.proxies.iter().flat_map(|p| &p.listeners).any(|l| {
                matches!(&l.kind, ListenerKind::Tcp { routes }
                    if routes.iter().any(|r| r.key.as_deref() == Some(key.as_str())))
            });
            coverage.push(RouteCoverage::of(key, pushed, &cases));
        }
    }
    Ok(Report { cases, coverage })
}

fn unknown(c: &Case, what: String) -> RouteTestError {
    RouteTestError::UnknownFrom {
        case: c.name.clone(),
        at: c.source.clone(),
        what,
    }
}

fn lb_name(cl: &Cluster) -> String {
    let p = cl.lb.policy.name();
    match &cl.hash {
        Some(h) => format!("{p} (hash {h:?})"),
        None => p.to_string(),
    }
}

fn run_case(spec: &Scenario, xds: &Xds, c: &Case) -> Result<CaseOutcome, RouteTestError> {
    let deployment = |key: &str| spec.deployments.iter().position(|d| d.key() == key);
    let (proxy_ix, gateway_deployment) = match &c.from {
        From::Workload(k) | From::Gateway(k) => {
            let d = deployment(k).ok_or_else(|| unknown(c, format!("no Deployment {k}")))?;
            let p = xds.deployment_proxy.get(d).copied().flatten().ok_or_else(|| {
                unknown(
                    c,
                    format!("{k} has no Envoy (no sidecar injected and no Gateway selects it): its calls go through kube-proxy, which does not route by VirtualService"),
                )
            })?;
            (p, matches!(c.from, From::Gateway(_)).then_some(d))
        }
        From::Load(n) => {
            let l = spec
                .loads
                .iter()
                .position(|l| &l.name == n)
                .ok_or_else(|| unknown(c, format!("no Load named {n:?}")))?;
            let p = xds.load_proxy.get(l).copied().flatten().ok_or_else(|| {
                unknown(c, format!("Load {n} runs outside the mesh (no `sidecar: true`): no Envoy routes its requests"))
            })?;
            (p, None)
        }
    };
    let proxy = &xds.proxies[proxy_ix as usize];
    if let (Some(_), ProxyKind::Sidecar) = (gateway_deployment, proxy.kind) {
        return Err(unknown(
            c,
            format!(
                "{} is a sidecar, not a gateway: use `from: {}`",
                proxy.owner, proxy.owner
            ),
        ));
    }
    let mut explanation = Vec::new();
    let r = &c.request;
    let mut request = Request::new(&r.method, &r.scheme, &r.host, &r.path);
    for (k, v) in &r.headers {
        request = request.with_header(k, v);
    }
    // The listener: a gateway binds the gateway Service port's targetPort.
    let mut port = r.port;
    match gateway_deployment {
        Some(d) => {
            let dep = &spec.deployments[d];
            let target = spec
                .services
                .iter()
                .filter(|s| s.namespace == dep.namespace && selects(&s.selector, &dep.labels))
                .flat_map(|s| s.ports.iter().map(move |p| (s, p)))
                .find(|(_, p)| p.port == r.port)
                .and_then(|(s, p)| {
                    let t = match &p.target_port {
                        TargetPort::Number(n) => Some(*n),
                        TargetPort::Name(n) => dep
                            .ports
                            .iter()
                            .find(|c| c.name.as_deref() == Some(n.as_str()))
                            .map(|c| c.port),
                    }?;
                    Some((format!("{}/{}", s.namespace, s.name), t))
                });
            explanation.push(format!("proxy: gateway {}", proxy.owner));
            match target {
                Some((svc, t)) => {
                    explanation.push(format!("Service {svc} port {} → pod port {t}", r.port));
                    port = t;
                }
                None => explanation.push(format!(
                    "no Service of the gateway exposes port {}: dialling the pod port directly",
                    r.port
                )),
            }
        }
        None => explanation.push(format!(
            "proxy: sidecar of {} (outbound policy {})",
            proxy.owner,
            match proxy.outbound {
                OutboundPolicy::AllowAny => "ALLOW_ANY",
                OutboundPolicy::RegistryOnly => "REGISTRY_ONLY",
            }
        )),
    }
    let mut route_key = None;
    let listener = proxy.listeners.iter().find(|l| l.port == port);
    let answer = match listener.map(|l| &l.kind) {
        None => {
            let (status, why) = match (proxy.kind, proxy.outbound) {
                (ProxyKind::Gateway, _) => (
                    None,
                    format!("no listener on port {port}: connection refused"),
                ),
                (ProxyKind::Sidecar, OutboundPolicy::AllowAny) => {
                    explanation.push(format!(
                        "no outbound listener on port {port}: ALLOW_ANY sends it to PassthroughCluster"
                    ));
                    let cand = Candidate {
                        cluster: "PassthroughCluster".into(),
                        weight: 1,
                        service: None,
                        subset: String::new(),
                        port: Some(port),
                        path: request.path_and_query.to_string(),
                        authority: request.authority.to_string(),
                        lb: "ORIGINAL_DST".into(),
                        local: None,
                    };
                    return Ok(finish(c, Answer::Forward(vec![cand]), explanation, None));
                }
                (ProxyKind::Sidecar, OutboundPolicy::RegistryOnly) => (
                    None,
                    format!(
                        "no outbound listener on port {port}: REGISTRY_ONLY sends it to BlackHoleCluster (connection closed)"
                    ),
                ),
            };
            Answer::Local {
                status,
                flag: None,
                location: None,
                why,
            }
        }
        Some(ListenerKind::Closed) => Answer::Local {
            status: None,
            flag: None,
            location: None,
            why: format!(
                "listener {port} has no filter chain (no bound tcp route): connection closed"
            ),
        },
        Some(ListenerKind::Tcp { routes }) => {
            // The chain as Envoy picks it (`proxy::filter_chain`): the
            // destination Service the host names, then SNI = the host when
            // the listener routes by SNI (a client speaks TLS to it).
            let host = r
                .host
                .split(':')
                .next()
                .unwrap_or(&r.host)
                .to_ascii_lowercase();
            let dest = spec.services.iter().position(|s| {
                host == s.name || host.starts_with(&format!("{}.{}", s.name, s.namespace))
            });
            let by_sni = routes.iter().any(|t| !t.sni.is_empty());
            let sni = by_sni.then_some(host.as_str());
            let chain = crate::proxy::filter_chain::select(
                routes.len(),
                |i| (routes[i].destination, &routes[i].sni[..]),
                dest.unwrap_or(usize::MAX),
                sni,
            );
            let sni_note = sni.map_or("no SNI".to_string(), |h| format!("SNI {h}"));
            match chain {
                None => Answer::Local {
                    status: None,
                    flag: Some("NR"),
                    location: None,
                    why: format!(
                        "listener {port}: tcp_proxy, {sni_note}: no filter chain matches: connection closed"
                    ),
                },
                Some(ci) => {
                    let route = &routes[ci];
                    route_key = route.key.clone();
                    explanation.push(format!(
                        "listener {port}: tcp_proxy, {sni_note}: filter chain {}{} (weighted cluster per connection)",
                        route.key.as_deref().unwrap_or("default"),
                        if route.sni.is_empty() {
                            String::new()
                        } else {
                            format!(" on server names {}", route.sni.join(", "))
                        }
                    ));
                    let cands = route
                        .clusters
                        .iter()
                        .map(|&(ci, w)| candidate(spec, &xds.clusters[ci as usize], w, &request))
                        .collect();
                    Answer::Forward(cands)
                }
            }
        }
        Some(ListenerKind::Http {
            routes,
            terminates_tls,
        }) => {
            let table = &xds.route_tables[*routes as usize];
            let config = &table.config;
            explanation.push(format!(
                "listener {port}: HTTP{}, route table {:?}",
                if *terminates_tls {
                    " (TLS terminated here)"
                } else {
                    ""
                },
                config.name()
            ));
            let mut rng = RngFactory::new(0, 0).of(Purpose::Behaviour, &c.name);
            let decision = route::decide(config, &request, &mut rng);
            let vhost_line = |vi: usize| {
                let vh = &config.virtual_hosts()[vi];
                let mut d: Vec<&str> = vh.domains.iter().map(String::as_str).take(4).collect();
                if vh.domains.len() > 4 {
                    d.push("…");
                }
                format!(
                    "virtual host {:?} for Host {:?} (domains {})",
                    vh.name,
                    r.host,
                    d.join(", ")
                )
            };
            match decision {
                RouteDecision::NoVirtualHost => Answer::Local {
                    status: Some(404),
                    flag: Some("NR"),
                    location: None,
                    why: format!(
                        "no virtual host of {:?} matches Host {:?}",
                        config.name(),
                        r.host
                    ),
                },
                RouteDecision::TlsRedirect { vhost, location } => {
                    explanation.push(vhost_line(vhost));
                    Answer::Local {
                        status: Some(301),
                        flag: None,
                        location: Some(location),
                        why: "the virtual host requires TLS (Gateway tls.httpsRedirect): 301 to https".into(),
                    }
                }
                RouteDecision::NoRoute { vhost } => {
                    explanation.push(vhost_line(vhost));
                    Answer::Local {
                        status: Some(404),
                        flag: Some("NR"),
                        location: None,
                        why: "no route of the virtual host matches".into(),
                    }
                }
                RouteDecision::Redirect {
                    vhost,
                    route,
                    status,
                    location,
                } => {
                    explanation.push(vhost_line(vhost));
                    route_key = Some(table.route_keys[vhost][route].clone());
                    explanation.push(route_line(table, vhost, route));
                    Answer::Local {
                        status: Some(status),
                        flag: None,
                        location: Some(location),
                        why: "the route redirects".into(),
                    }
                }
                RouteDecision::DirectResponse {
                    vhost,
                    route,
                    status,
                } => {
                    explanation.push(vhost_line(vhost));
                    route_key = Some(table.route_keys[vhost][route].clone());
                    explanation.push(route_line(table, vhost, route));
                    Answer::Local {
                        status: Some(status),
                        flag: None,
                        location: None,
                        why: "the route answers directly (directResponse)".into(),
                    }
                }
                RouteDecision::Forward {
                    vhost,
                    route,
                    cluster,
                } => {
                    explanation.push(vhost_line(vhost));
                    route_key = Some(table.route_keys[vhost][route].clone());
                    explanation.push(route_line(table, vhost, route));
                    let rt = &config.virtual_hosts()[vhost].routes[route];
                    let RouteAction::Forward { clusters, .. } = &rt.action else {
                        unreachable!("decide forwards only on forwarding routes")
                    };
                    let mut cands = Vec::new();
                    for (wi, wc) in clusters.clusters().iter().enumerate() {
                        if wc.weight == 0 && clusters.clusters().len() > 1 {
                            continue;
                        }
                        let mut req = request.clone();
                        route::apply_rewrite(rt, &mut req);
                        route::apply_request_headers(rt, wi, &mut req);
                        let ci = table.clusters[vhost][route][wi];
                        let mut cand = candidate(spec, &xds.clusters[ci as usize], wc.weight, &req);
                        if clusters.clusters().len() == 1 {
                            cand.weight = 100;
                        }
                        if wi == cluster && clusters.clusters().len() > 1 {
                            explanation.push(format!(
                                "weighted pick (one draw, as in the simulation): {}",
                                cand.cluster
                            ));
                        }
                        cands.push(cand);
                    }
                    Answer::Forward(cands)
                }
            }
        }
    };
    Ok(finish(c, answer, explanation, route_key))
}

fn candidate(spec: &Scenario, cl: &Cluster, weight: u32, req: &Request) -> Candidate {
    let parts: Vec<&str> = cl.name.split('|').collect();
    let (service, port, local) = match &cl.kind {
        ClusterKind::Service { service, port, .. } => {
            let s = &spec.services[*service];
            (
                Some(format!("{}.{}.svc.cluster.local", s.name, s.namespace)),
                s.ports.get(*port).map(|p| p.port),
                None,
            )
        }
        ClusterKind::Missing => (
            parts.get(3).map(|s| s.to_string()),
            parts.get(1).and_then(|p| p.parse().ok()),
            Some((503, "NC")),
        ),
        ClusterKind::BlackHole => (None, None, Some((503, "UH"))),
        ClusterKind::Passthrough => (None, None, None),
    };
    Candidate {
        cluster: cl.name.clone(),
        weight,
        service,
        subset: parts.get(2).map(|s| s.to_string()).unwrap_or_default(),
        port,
        path: req.path_and_query.to_string(),
        authority: req.authority.to_string(),
        lb: lb_name(cl),
        local,
    }
}

fn route_line(table: &super::xds::RouteTable, vhost: usize, route: usize) -> String {
    let r = &table.config.virtual_hosts()[vhost].routes[route];
    format!(
        "route {route} {} matched on {}",
        table.route_keys[vhost][route],
        describe_match(&r.matcher)
    )
}

fn service_is(fqdn: &str, want: &str) -> bool {
    fqdn.eq_ignore_ascii_case(want) || fqdn.starts_with(&format!("{want}."))
}

/// What about `cand` differs from `e` (destination fields only).
fn destination_diffs(e: &Expect, cand: &Candidate) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(x) = &e.cluster
        && *x != cand.cluster
    {
        d.push(format!("cluster {} (expected {x})", cand.cluster));
    }
    if let Some(x) = &e.service
        && !cand.service.as_deref().is_some_and(|s| service_is(s, x))
    {
        d.push(format!(
            "service {} (expected {x})",
            cand.service.as_deref().unwrap_or("(none)")
        ));
    }
    if let Some(x) = &e.subset
        && *x != cand.subset
    {
        d.push(format!(
            "subset {} (expected {})",
            show_subset(&cand.subset),
            show_subset(x)
        ));
    }
    if let Some(x) = e.port
        && Some(x) != cand.port
    {
        d.push(format!(
            "port {} (expected {x})",
            cand.port.map_or("(none)".into(), |p| p.to_string())
        ));
    }
    if let Some(x) = &e.path
        && *x != cand.path
    {
        d.push(format!("path {:?} (expected {x:?})", cand.path));
    }
    if let Some(x) = &e.authority
        && *x != cand.authority
    {
        d.push(format!("authority {:?} (expected {x:?})", cand.authority));
    }
    if let Some(x) = &e.lb
        && !cand.lb.starts_with(x.as_str())
    {
        d.push(format!("load balancer {} (expected {x})", cand.lb));
    }
    match (cand.local, e.status, &e.flag) {
        (Some((s, f)), es, ef) => {
            if es.is_some_and(|x| x != s) || ef.as_ref().is_some_and(|x| x != f) {
                d.push(format!("local answer {s} {f}"));
            } else if es.is_none() && ef.is_none() && (e.cluster.is_none() || e.service.is_some()) {
                d.push(format!(
                    "local answer {s} {f} (cluster {} is not built)",
                    cand.cluster
                ));
            }
        }
        (None, Some(_), _) | (None, _, Some(_)) => d.push(format!(
            "forwarded to {} (the upstream answers), expected a local answer{}{}",
            cand.cluster,
            e.status.map_or(String::new(), |s| format!(" {s}")),
            e.flag.as_ref().map_or(String::new(), |f| format!(" {f}"))
        )),
        _ => {}
    }
    d
}

fn show_subset(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}

fn finish(
    c: &Case,
    answer: Answer,
    mut explanation: Vec<String>,
    route_key: Option<String>,
) -> CaseOutcome {
    let e = &c.expect;
    let mut mismatches = Vec::new();
    match &answer {
        Answer::Forward(cands) => {
            let total: u64 = cands.iter().map(|c| c.weight as u64).sum();
            for cand in cands {
                let share = if cands.len() > 1 {
                    format!(
                        " weight {} ({:.1} %)",
                        cand.weight,
                        cand.weight as f64 * 100.0 / total.max(1) as f64
                    )
                } else {
                    String::new()
                };
                let local = cand
                    .local
                    .map(|(s, f)| format!("; not built: {s} {f}"))
                    .unwrap_or_default();
                explanation.push(format!(
                    "→ {}{share}: service {}, subset {}, port {}, LB {}{local}{}",
                    cand.cluster,
                    cand.service.as_deref().unwrap_or("(original destination)"),
                    show_subset(&cand.subset),
                    cand.port.map_or("-".into(), |p| p.to_string()),
                    cand.lb,
                    if cand.path != c.request.path || cand.authority != c.request.host {
                        format!("; sent as {} {}", cand.authority, cand.path)
                    } else {
                        String::new()
                    }
                ));
            }
            if e.location.is_some() {
                mismatches.push("expected a redirect, but the request is forwarded".to_string());
            }
            let diffs: Vec<Vec<String>> = cands.iter().map(|cd| destination_diffs(e, cd)).collect();
            if !diffs.iter().any(Vec::is_empty) {
                if cands.len() == 1 {
                    mismatches.extend(diffs.into_iter().flatten());
                } else {
                    mismatches.push(format!(
                        "no configured destination satisfies the expectation: {}",
                        cands
                            .iter()
                            .zip(&diffs)
                            .map(|(cd, d)| format!("{} → {}", cd.cluster, d.join(", ")))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
            }
            if let Some(want) = &e.weights {
                let got = |k: &str| -> u64 {
                    cands
                        .iter()
                        .filter(|cd| {
                            cd.subset == k
                                || cd.cluster == k
                                || cd.service.as_deref().is_some_and(|s| service_is(s, k))
                        })
                        .map(|cd| cd.weight as u64)
                        .sum()
                };
                let configured: Vec<String> = cands
                    .iter()
                    .map(|cd| format!("{}={}", cd.cluster, cd.weight))
                    .collect();
                let wsum: u64 = want.values().map(|w| *w as u64).sum();
                if want.iter().any(|(k, w)| got(k) != *w as u64) || wsum != total {
                    mismatches.push(format!(
                        "weights {} (expected {})",
                        configured.join(", "),
                        want.iter()
                            .map(|(k, w)| format!("{k}={w}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Answer::Local {
            status,
            flag,
            location,
            why,
        } => {
            let shown = match status {
                Some(s) => format!("{s}{}", flag.map(|f| format!(" {f}")).unwrap_or_default()),
                None => "no response".into(),
            };
            explanation.push(format!(
                "→ local answer {shown}{}: {why}",
                location
                    .as_ref()
                    .map(|l| format!(" Location {l}"))
                    .unwrap_or_default()
            ));
            let dest = e.cluster.is_some()
                || e.service.is_some()
                || e.subset.is_some()
                || e.port.is_some()
                || e.path.is_some()
                || e.authority.is_some()
                || e.weights.is_some()
                || e.lb.is_some();
            if dest {
                mismatches.push(format!(
                    "answered locally ({shown}), expected the request to be forwarded"
                ));
            }
            if let Some(x) = e.status
                && *status != (x != 0).then_some(x)
            {
                mismatches.push(format!("status {shown} (expected {x})"));
            }
            if let Some(x) = &e.flag
                && Some(x.as_str()) != *flag
            {
                mismatches.push(format!("flag {} (expected {x})", flag.unwrap_or("(none)")));
            }
            if let Some(x) = &e.location
                && Some(x) != location.as_ref()
            {
                mismatches.push(format!(
                    "location {} (expected {x})",
                    location.as_deref().unwrap_or("(none)")
                ));
            }
        }
    }
    CaseOutcome {
        name: c.name.clone(),
        source: c.source.clone(),
        answer,
        explanation,
        mismatches,
        route_key,
    }
}
