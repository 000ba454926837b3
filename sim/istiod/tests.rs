//! Compiles real manifests (Istio's Bookinfo, the seed files) and routes
//! requests through the compiled tables with the same `decide` the world runs.

use super::xds::*;
use super::*;
use crate::engine::SimDuration;
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::proxy::lb::LbPolicy;
use crate::proxy::request::Request;
use crate::proxy::route::{RouteDecision, decide};
use crate::scenario::{Overrides, SourceFile, from_sources};
use std::path::PathBuf;

fn shared(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const BOOKINFO: &str = "corpus/istio/samples/bookinfo/platform/kube/bookinfo.yaml";
const SUBSETS: &str = "corpus/istio/samples/bookinfo/networking/destination-rule-all.yaml";
const INJECT_DEFAULT: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels: {istio-injection: enabled}\n";

/// Bookinfo in an injected `default` namespace plus the given shared files and texts.
fn scenario(shared_files: &[&str], texts: &[&str]) -> Scenario {
    let mut src: Vec<SourceFile> = shared_files
        .iter()
        .map(|f| SourceFile {
            path: f.to_string(),
            text: shared(f),
        })
        .collect();
    for (i, t) in texts.iter().enumerate() {
        src.push(SourceFile {
            path: format!("extra-{i}.yaml"),
            text: t.to_string(),
        });
    }
    let ov = Overrides {
        duration: Some(SimDuration::from_secs(10)),
        ..Default::default()
    };
    match from_sources("istiod-test".into(), &src, &ov) {
        Ok(s) => s,
        Err(e) => panic!("scenario should load:\n{e}"),
    }
}

fn rng() -> SimRng {
    RngFactory::new(7, 0).of(Purpose::Behaviour, "istiod-test")
}

fn proxy_of<'x>(spec: &Scenario, xds: &'x Xds, ns: &str, name: &str) -> &'x Proxy {
    let d = spec
        .deployments
        .iter()
        .position(|d| d.namespace == ns && d.name == name)
        .unwrap_or_else(|| panic!("no deployment {ns}/{name}"));
    &xds.proxies
        [xds.deployment_proxy[d].unwrap_or_else(|| panic!("{ns}/{name} has no proxy")) as usize]
}

fn table<'x>(xds: &'x Xds, p: &Proxy, port: u16) -> &'x RouteTable {
    match p.listeners.iter().find(|l| l.port == port).map(|l| &l.kind) {
        Some(ListenerKind::Http { routes, .. }) => &xds.route_tables[*routes as usize],
        other => panic!("port {port}: {other:?}"),
    }
}

/// Where `req` goes: the cluster name, or the local decision.
fn route(
    xds: &Xds,
    t: &RouteTable,
    req: &Request,
    rng: &mut SimRng,
) -> Result<String, RouteDecision> {
    match decide(&t.config, req, rng) {
        RouteDecision::Forward {
            vhost,
            route,
            cluster,
        } => {
            let ix = t.clusters[vhost][route][cluster];
            Ok(xds.clusters[ix as usize].name.clone())
        }
        other => Err(other),
    }
}

fn cluster<'x>(xds: &'x Xds, name: &str) -> Vec<&'x Cluster> {
    xds.clusters.iter().filter(|c| c.name == name).collect()
}

#[test]
fn seed_14_jason_to_v2_others_to_v3() {
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/14-vs-reviews-jason.yaml"],
        &[INJECT_DEFAULT],
    );
    let xds = compile(&spec);
    let pp = proxy_of(&spec, &xds, "default", "productpage-v1");
    assert_eq!(pp.kind, ProxyKind::Sidecar);
    let t = table(&xds, pp, 9080);
    let mut r = rng();
    let jason = Request::get("reviews:9080", "/reviews/0").with_header("end-user", "jason");
    assert_eq!(
        route(&xds, t, &jason, &mut r).unwrap(),
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
    for who in ["bob", ""] {
        let req =
            Request::get("reviews.default.svc.cluster.local", "/").with_header("end-user", who);
        assert_eq!(
            route(&xds, t, &req, &mut r).unwrap(),
            "outbound|9080|v3|reviews.default.svc.cluster.local"
        );
    }
    // Stats keys name the VirtualService and the route index.
    let vi = crate::proxy::route::select_virtual_host_index(&t.config, "reviews").unwrap();
    assert_eq!(t.route_keys[vi], ["default/reviews/0", "default/reviews/1"]);
    // v2's endpoints are reviews-v2 only.
    let v2 = cluster(&xds, "outbound|9080|v2|reviews.default.svc.cluster.local");
    assert_eq!(v2.len(), 1);
    let ClusterKind::Service { deployments, .. } = &v2[0].kind else {
        panic!("{:?}", v2[0].kind)
    };
    let names: Vec<&str> = deployments
        .iter()
        .map(|&d| spec.deployments[d].name.as_str())
        .collect();
    assert_eq!(names, ["reviews-v2"]);
    // A service without a VirtualService keeps its default route.
    assert_eq!(
        route(&xds, t, &Request::get("ratings:9080", "/x"), &mut r).unwrap(),
        "outbound|9080||ratings.default.svc.cluster.local"
    );
    // Unknown host: allow_any → PassthroughCluster.
    assert_eq!(
        route(&xds, t, &Request::get("example.com", "/"), &mut r).unwrap(),
        "PassthroughCluster"
    );
}

/// Draws `n` requests and counts per cluster name.
fn split(
    xds: &Xds,
    t: &RouteTable,
    req: &Request,
    n: u32,
) -> std::collections::BTreeMap<String, u32> {
    let mut r = rng();
    let mut out = std::collections::BTreeMap::new();
    for _ in 0..n {
        *out.entry(route(xds, t, req, &mut r).unwrap()).or_default() += 1;
    }
    out
}

#[test]
fn seed_13_weights_75_25() {
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/13-vs-reviews-weighted-75-25.yaml"],
        &[INJECT_DEFAULT],
    );
    let xds = compile(&spec);
    let t = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    let vi = crate::proxy::route::select_virtual_host_index(&t.config, "reviews").unwrap();
    let crate::proxy::route::RouteAction::Forward { clusters, .. } =
        &t.config.virtual_hosts()[vi].routes[0].action
    else {
        panic!()
    };
    let w: Vec<(&str, u32)> = clusters
        .clusters()
        .iter()
        .map(|c| (c.name.as_str(), c.weight))
        .collect();
    assert_eq!(
        w,
        [
            ("outbound|9080|v1|reviews.default.svc.cluster.local", 75),
            ("outbound|9080|v2|reviews.default.svc.cluster.local", 25)
        ]
    );
    // 20,000 draws: v1 share within 99.9 % of 0.75 (σ = 0.0031, ±3.3σ).
    let n = 20_000;
    let c = split(&xds, t, &Request::get("reviews", "/"), n);
    let v1 = c["outbound|9080|v1|reviews.default.svc.cluster.local"] as f64 / n as f64;
    assert!((v1 - 0.75).abs() < 0.0102, "{v1}");
}

#[test]
fn seed_04_canary_99_1() {
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/04-vs-reviews-canary-99-1.yaml"],
        &[INJECT_DEFAULT],
    );
    let xds = compile(&spec);
    let t = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    let n = 100_000;
    let c = split(&xds, t, &Request::get("reviews", "/"), n);
    assert_eq!(c.len(), 2, "{c:?}");
    let small = *c.values().min().unwrap() as f64 / n as f64;
    // 1 %: σ = 0.000315, 99.9 % ±0.00104.
    assert!((small - 0.01).abs() < 0.00104, "{c:?}");
}

#[test]
fn seeds_11_12_default_ingress_gateway_synthesised_and_routes() {
    let spec = scenario(
        &[
            BOOKINFO,
            SUBSETS,
            "seed/11-gateway-bookinfo.yaml",
            "seed/12-vs-bookinfo.yaml",
        ],
        &[INJECT_DEFAULT],
    );
    let gi = spec
        .deployments
        .iter()
        .position(|d| d.namespace == "istio-system" && d.name == "istio-ingressgateway")
        .expect("istio-ingressgateway synthesised");
    assert!(!spec.istio.has_sidecar(gi));
    let svc = spec
        .services
        .iter()
        .find(|s| s.name == "istio-ingressgateway")
        .expect("its Service");
    let ports: Vec<(u16, &crate::scenario::spec::TargetPort)> =
        svc.ports.iter().map(|p| (p.port, &p.target_port)).collect();
    use crate::scenario::spec::TargetPort::Number;
    assert_eq!(
        ports,
        [
            (15021, &Number(15021)),
            (80, &Number(8080)),
            (443, &Number(8443))
        ]
    );
    assert_eq!(
        svc.service_type,
        crate::scenario::spec::ServiceType::LoadBalancer
    );
    let xds = compile(&spec);
    assert_eq!(xds.notes.len(), 1, "{:?}", xds.notes);
    let gw = proxy_of(&spec, &xds, "istio-system", "istio-ingressgateway");
    assert_eq!(gw.kind, ProxyKind::Gateway);
    assert_eq!(
        gw.listeners.iter().map(|l| l.port).collect::<Vec<_>>(),
        [8080]
    );
    let t = table(&xds, gw, 8080);
    let mut r = rng();
    assert_eq!(
        route(
            &xds,
            t,
            &Request::get("bookinfo.app", "/productpage"),
            &mut r
        )
        .unwrap(),
        "outbound|9080||productpage.default.svc.cluster.local"
    );
    assert_eq!(
        route(
            &xds,
            t,
            &Request::get("bookinfo.app:80", "/api/v1/products/1"),
            &mut r
        )
        .unwrap(),
        "outbound|9080||productpage.default.svc.cluster.local"
    );
    assert!(matches!(
        route(&xds, t, &Request::get("bookinfo.app", "/foo"), &mut r),
        Err(RouteDecision::NoRoute { .. })
    ));
    assert_eq!(
        route(&xds, t, &Request::get("10.0.0.1", "/productpage"), &mut r),
        Err(RouteDecision::NoVirtualHost)
    );
    // Sidecars do not get the gateway-bound VirtualService.
    let pp = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    assert_eq!(
        route(
            &xds,
            pp,
            &Request::get("bookinfo.app", "/productpage"),
            &mut r
        )
        .unwrap(),
        "PassthroughCluster"
    );
}

#[test]
fn seed_03_cookie_to_qa_port_7777() {
    let qa = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: qa}\nspec:\n  selector: {app: reviews}\n  ports: [{name: http, port: 7777}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: prod}\nspec:\n  selector: {app: reviews}\n  ports: [{name: http, port: 9080}]\n";
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/03-vs-bookinfo-rule.yaml"],
        &[INJECT_DEFAULT, qa],
    );
    let xds = compile(&spec);
    let pp = proxy_of(&spec, &xds, "default", "productpage-v1");
    let t = table(&xds, pp, 9080);
    let mut r = rng();
    let req = Request::get("reviews.prod.svc.cluster.local:9080", "/")
        .with_header("cookie", "user=dev-123");
    assert_eq!(
        route(&xds, t, &req, &mut r).unwrap(),
        "outbound|7777||reviews.qa.svc.cluster.local"
    );
    // /reviews/ → 80/20 prod/qa; qa's port defaults to its only port.
    let c = split(&xds, t, &Request::get("reviews.prod", "/reviews/1"), 1000);
    assert_eq!(
        c.keys().collect::<Vec<_>>(),
        [
            "outbound|7777||reviews.qa.svc.cluster.local",
            "outbound|9080||reviews.prod.svc.cluster.local"
        ]
    );
    // uk.bookinfo.com is no Service but bound to mesh: a virtual host of its
    // own on 9080, the port of the VS's Service host reviews.prod.
    assert_eq!(
        route(
            &xds,
            t,
            &Request::get("uk.bookinfo.com", "/").with_header("cookie", "user=dev-123"),
            &mut r
        )
        .unwrap(),
        "outbound|7777||reviews.qa.svc.cluster.local"
    );
    // On 7777 (reviews.qa's port) the VS names no Service with that port:
    // Istio's selectVirtualServices leaves it out, qa keeps its default route.
    let t7 = table(&xds, pp, 7777);
    let req = Request::get("uk.bookinfo.com", "/").with_header("cookie", "user=dev-123");
    assert_eq!(route(&xds, t7, &req, &mut r).unwrap(), "PassthroughCluster");
    assert_eq!(
        route(&xds, t7, &Request::get("reviews.qa", "/"), &mut r).unwrap(),
        "outbound|7777||reviews.qa.svc.cluster.local"
    );
}

#[test]
fn seed_05_lb_policies_per_subset() {
    let ratings = "apiVersion: v1\nkind: Service\nmetadata: {name: ratings, namespace: prod}\nspec:\n  selector: {app: ratings}\n  ports: [{name: http, port: 9080}]\n";
    let vs = "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: r, namespace: prod}\nspec:\n  hosts: [ratings]\n  http:\n  - match: [{headers: {x-test: {exact: '1'}}}]\n    route: [{destination: {host: ratings, subset: testversion}}]\n  - route: [{destination: {host: ratings}}]\n";
    let spec = scenario(
        &[BOOKINFO, "seed/05-dr-bookinfo-ratings.yaml"],
        &[INJECT_DEFAULT, ratings, vs],
    );
    let xds = compile(&spec);
    let top = cluster(&xds, "outbound|9080||ratings.prod.svc.cluster.local");
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].lb.policy, LbPolicy::LEAST_REQUEST);
    let sub = cluster(
        &xds,
        "outbound|9080|testversion|ratings.prod.svc.cluster.local",
    );
    assert_eq!(sub.len(), 1);
    assert_eq!(sub[0].lb.policy, LbPolicy::RoundRobin);
    // The DR lives in `default`; the Service in `prod`: found via the client's namespace.
    let ClusterKind::Service { deployments, .. } = &sub[0].kind else {
        panic!()
    };
    assert!(deployments.is_empty(), "no ratings v3 in bookinfo");
}

#[test]
fn seed_06_sidecar_scopes_other_namespaces_away() {
    let other = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio-injection: enabled}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: client, namespace: bookinfo}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: client}}\n  template:\n    metadata: {labels: {app: client}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 9080}]}]}\n";
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/06-sidecar-default.yaml"],
        &[INJECT_DEFAULT, other],
    );
    let xds = compile(&spec);
    let client = proxy_of(&spec, &xds, "bookinfo", "client");
    // No Service of `default` is imported: no 9080 listener at all.
    assert!(client.listeners.is_empty(), "{:?}", client.listeners);
    // A proxy in `default` (no Sidecar there, none in istio-system) sees everything.
    let pp = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    let mut r = rng();
    assert_eq!(
        route(&xds, pp, &Request::get("reviews", "/"), &mut r).unwrap(),
        "outbound|9080||reviews.default.svc.cluster.local"
    );
}

#[test]
fn sidecar_scoped_service_falls_to_allow_any() {
    let extra = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio-injection: enabled}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: client, namespace: bookinfo}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: client}}\n  template:\n    metadata: {labels: {app: client}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 9080}]}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: client, namespace: bookinfo}\nspec:\n  selector: {app: client}\n  ports: [{name: http, port: 9080}]\n";
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/06-sidecar-default.yaml"],
        &[INJECT_DEFAULT, extra],
    );
    let xds = compile(&spec);
    let t = table(&xds, proxy_of(&spec, &xds, "bookinfo", "client"), 9080);
    let mut r = rng();
    assert_eq!(
        route(&xds, t, &Request::get("client", "/"), &mut r).unwrap(),
        "outbound|9080||client.bookinfo.svc.cluster.local"
    );
    // reviews.default is not imported: unknown ⇒ the allow_any catch-all.
    assert_eq!(
        route(
            &xds,
            t,
            &Request::get("reviews.default.svc.cluster.local", "/"),
            &mut r
        )
        .unwrap(),
        "PassthroughCluster"
    );
    let vi = crate::proxy::route::select_virtual_host_index(&t.config, "reviews.default").unwrap();
    assert_eq!(t.route_keys[vi], ["allow_any"]);
}

#[test]
fn undefined_subset_is_a_missing_cluster() {
    let vs = "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: v9}}]\n";
    let spec = scenario(&[BOOKINFO, SUBSETS], &[INJECT_DEFAULT, vs]);
    let xds = compile(&spec);
    let t = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    let name = route(&xds, t, &Request::get("reviews", "/"), &mut rng()).unwrap();
    assert_eq!(name, "outbound|9080|v9|reviews.default.svc.cluster.local");
    assert_eq!(cluster(&xds, &name)[0].kind, ClusterKind::Missing);
}

#[test]
fn registry_only_blocks_unknown_hosts_with_502() {
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n";
    let spec = scenario(&[BOOKINFO, SUBSETS], &[INJECT_DEFAULT, mesh]);
    let xds = compile(&spec);
    let pp = proxy_of(&spec, &xds, "default", "productpage-v1");
    assert_eq!(pp.outbound, OutboundPolicy::RegistryOnly);
    let t = table(&xds, pp, 9080);
    assert_eq!(
        route(&xds, t, &Request::get("example.com", "/"), &mut rng()),
        Err(RouteDecision::DirectResponse {
            vhost: t.config.virtual_hosts().len() - 1,
            route: 0,
            status: 502
        })
    );
    assert!(route(&xds, t, &Request::get("details", "/"), &mut rng()).is_ok());
}

#[test]
fn seed_02_my_gateway_listeners() {
    let gw = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: my-gateway, namespace: some-config-namespace}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: my-gateway-controller}}\n  template:\n    metadata: {labels: {app: my-gateway-controller}}\n    spec: {containers: [{name: c, image: x}]}\n";
    let spec = scenario(
        &[
            BOOKINFO,
            SUBSETS,
            "seed/02-gateway-my-gateway.yaml",
            "seed/03-vs-bookinfo-rule.yaml",
        ],
        &[INJECT_DEFAULT, gw],
    );
    let xds = compile(&spec);
    assert!(xds.notes.is_empty(), "{:?}", xds.notes);
    let p = proxy_of(&spec, &xds, "some-config-namespace", "my-gateway");
    let ports: Vec<u16> = p.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, [80, 443, 2379, 9080, 9443]);
    let mut r = rng();
    // 80: httpsRedirect ⇒ 301 to https for uk/eu.bookinfo.com.
    let t80 = table(&xds, p, 80);
    assert_eq!(
        route(
            &xds,
            t80,
            &Request::get("uk.bookinfo.com", "/reviews/1"),
            &mut r
        ),
        Err(RouteDecision::TlsRedirect {
            vhost: 0,
            location: "https://uk.bookinfo.com/reviews/1".into()
        })
    );
    // 443: TLS terminated, bookinfo-rule bound for uk.bookinfo.com.
    let ListenerKind::Http { terminates_tls, .. } = p.listeners[1].kind else {
        panic!()
    };
    assert!(terminates_tls);
    let t443 = table(&xds, p, 443);
    let req =
        Request::new("GET", "https", "uk.bookinfo.com", "/").with_header("cookie", "user=dev-123");
    assert_eq!(
        route(&xds, t443, &req, &mut r).unwrap(),
        "outbound|7777||reviews.qa.svc.cluster.local"
    );
    // 9080 `*`: the VS's hosts that intersect `*` each get a virtual host.
    let t9080 = table(&xds, p, 9080);
    let domains: Vec<&str> = t9080
        .config
        .virtual_hosts()
        .iter()
        .flat_map(|v| v.domains.iter().map(|d| d.as_str()))
        .collect();
    assert_eq!(
        domains,
        [
            "reviews.prod.svc.cluster.local",
            "uk.bookinfo.com",
            "eu.bookinfo.com"
        ]
    );
    // 9443: only VSs in bookinfo-namespace (bookinfo-rule is there) with *.bookinfo.com.
    let t9443 = table(&xds, p, 9443);
    assert_eq!(t9443.config.virtual_hosts().len(), 2);
    // MONGO 2379: no tcp route bound ⇒ closed.
    assert_eq!(p.listeners[2].kind, ListenerKind::Closed);
}

#[test]
fn seed_02_without_virtual_service_is_404_everywhere() {
    let gw = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: my-gateway, namespace: some-config-namespace}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: my-gateway-controller}}\n  template:\n    metadata: {labels: {app: my-gateway-controller}}\n    spec: {containers: [{name: c, image: x}]}\n";
    let spec = scenario(&[BOOKINFO, "seed/02-gateway-my-gateway.yaml"], &[gw]);
    let xds = compile(&spec);
    let p = proxy_of(&spec, &xds, "some-config-namespace", "my-gateway");
    let t = table(&xds, p, 9080);
    assert_eq!(t.config.virtual_hosts().len(), 1);
    assert_eq!(t.config.virtual_hosts()[0].name, "blackhole:9080");
    assert_eq!(
        route(&xds, t, &Request::get("anything", "/"), &mut rng()),
        Err(RouteDecision::NoRoute { vhost: 0 })
    );
    // httpsRedirect without a VirtualService still redirects.
    assert!(matches!(
        route(
            &xds,
            table(&xds, p, 80),
            &Request::get("eu.bookinfo.com", "/"),
            &mut rng()
        ),
        Err(RouteDecision::TlsRedirect { .. })
    ));
    // No sidecars anywhere (default namespace not injected).
    assert_eq!(xds.proxies.len(), 1);
}

#[test]
fn compile_is_deterministic_and_clusters_sorted() {
    let spec = scenario(
        &[
            BOOKINFO,
            SUBSETS,
            "seed/11-gateway-bookinfo.yaml",
            "seed/12-vs-bookinfo.yaml",
            "seed/14-vs-reviews-jason.yaml",
        ],
        &[INJECT_DEFAULT],
    );
    let a = compile(&spec);
    let b = compile(&spec);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(a.clusters.windows(2).all(|w| w[0].name <= w[1].name));
    // Identical sidecar configs share one route table per port (the
    // sidecars also see the gateway's Service ports 80, 15021: HTTP; 443: TCP).
    let mut per_port: std::collections::BTreeMap<u16, std::collections::BTreeSet<u32>> =
        Default::default();
    for p in a.proxies.iter().filter(|p| p.kind == ProxyKind::Sidecar) {
        for l in &p.listeners {
            if let ListenerKind::Http { routes, .. } = l.kind {
                per_port.entry(l.port).or_default().insert(routes);
            }
        }
    }
    assert_eq!(
        per_port.keys().copied().collect::<Vec<_>>(),
        [80, 9080, 15021]
    );
    assert!(per_port.values().all(|t| t.len() == 1), "{per_port:?}");
}

const CLIENT_IN_BOOKINFO: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio-injection: enabled}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: client, namespace: bookinfo}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: client}}\n  template:\n    metadata: {labels: {app: client}}\n    spec: {containers: [{name: c, image: x}]}\n";

#[test]
fn destination_rule_per_client_namespace_gives_distinct_clusters() {
    let dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews-local, namespace: bookinfo}\nspec:\n  host: reviews.default.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {httpHeaderName: x-user}\n";
    let spec = scenario(
        &[BOOKINFO, SUBSETS],
        &[INJECT_DEFAULT, CLIENT_IN_BOOKINFO, dr],
    );
    let xds = compile(&spec);
    let name = "outbound|9080||reviews.default.svc.cluster.local";
    let variants = cluster(&xds, name);
    assert_eq!(variants.len(), 2, "{variants:?}");
    // Each client's route names its own variant.
    let pick = |ns: &str, d: &str| {
        let t = table(&xds, proxy_of(&spec, &xds, ns, d), 9080);
        let vi =
            crate::proxy::route::select_virtual_host_index(&t.config, "reviews.default").unwrap();
        &xds.clusters[t.clusters[vi][0][0] as usize]
    };
    let from_default = pick("default", "productpage-v1");
    assert_eq!(from_default.lb.policy, LbPolicy::LEAST_REQUEST);
    assert_eq!(from_default.hash, None);
    let from_bookinfo = pick("bookinfo", "client");
    assert_eq!(from_bookinfo.lb.policy, LbPolicy::RING_HASH);
    assert_eq!(
        from_bookinfo.hash,
        Some(crate::proxy::lb::hash_policy::HashPolicy::Header {
            name: "x-user".into()
        })
    );
    assert_eq!(from_default.name, from_bookinfo.name);
}

#[test]
fn delegate_virtual_service_merges_matches() {
    let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: root}\nspec:\n  hosts: [reviews]\n  http:\n  - match: [{uri: {prefix: /api}}]\n    delegate: {name: child}\n  - route: [{destination: {host: reviews, subset: v1}}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: child}\nspec:\n  http:\n  - match: [{uri: {prefix: /api/v2}}]\n    route: [{destination: {host: reviews, subset: v2}}]\n  - route: [{destination: {host: reviews, subset: v3}}]\n";
    let spec = scenario(&[BOOKINFO, SUBSETS], &[INJECT_DEFAULT, vs]);
    let xds = compile(&spec);
    let t = table(
        &xds,
        proxy_of(&spec, &xds, "default", "productpage-v1"),
        9080,
    );
    let mut r = rng();
    let go = |p: &str, r: &mut SimRng| route(&xds, t, &Request::get("reviews", p), r).unwrap();
    assert_eq!(
        go("/api/v2/x", &mut r),
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
    // The child's catch-all ANDed with the root's /api prefix.
    assert_eq!(
        go("/api/other", &mut r),
        "outbound|9080|v3|reviews.default.svc.cluster.local"
    );
    assert_eq!(
        go("/elsewhere", &mut r),
        "outbound|9080|v1|reviews.default.svc.cluster.local"
    );
    let vi = crate::proxy::route::select_virtual_host_index(&t.config, "reviews").unwrap();
    assert_eq!(
        t.route_keys[vi],
        ["default/child/0", "default/child/1", "default/root/1"]
    );
}

#[test]
fn source_labels_and_port_select_blocks_per_proxy() {
    let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - match: [{sourceLabels: {app: productpage}}]\n    route: [{destination: {host: reviews, subset: v2}}]\n  - match: [{port: 1234}]\n    route: [{destination: {host: reviews, subset: v3}}]\n  - route: [{destination: {host: reviews, subset: v1}}]\n";
    let spec = scenario(&[BOOKINFO, SUBSETS], &[INJECT_DEFAULT, vs]);
    let xds = compile(&spec);
    let mut r = rng();
    let via = |d: &str, r: &mut SimRng| {
        let t = table(&xds, proxy_of(&spec, &xds, "default", d), 9080);
        route(&xds, t, &Request::get("reviews", "/"), r).unwrap()
    };
    assert_eq!(
        via("productpage-v1", &mut r),
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
    assert_eq!(
        via("details-v1", &mut r),
        "outbound|9080|v1|reviews.default.svc.cluster.local"
    );
}

#[test]
fn load_with_sidecar_gets_a_proxy() {
    let load = "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: fortio, namespace: default}\nspec:\n  target: {host: reviews, port: 9080}\n  open: {rate: 10}\n  sidecar: true\n";
    let spec = scenario(
        &[BOOKINFO, SUBSETS, "seed/14-vs-reviews-jason.yaml"],
        &[INJECT_DEFAULT, load],
    );
    assert!(spec.loads[0].sidecar);
    let xds = compile(&spec);
    let p = &xds.proxies[xds.load_proxy[0].expect("load proxy") as usize];
    assert_eq!(p.owner, "default/fortio");
    let t = table(&xds, p, 9080);
    let req = Request::get("reviews", "/").with_header("end-user", "jason");
    assert_eq!(
        route(&xds, t, &req, &mut rng()).unwrap(),
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
}

#[path = "tests/resilience.rs"]
mod resilience;

mod tcp;
