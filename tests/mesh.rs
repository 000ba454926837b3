//! The mesh at run time: sidecars and gateways applying Envoy's decisions
//! (`proxy::*`) over a compiled mesh. The meshes here are built by hand
//! (`xds_builder`) so the world is tested independently of istiod.

mod xds_builder;

use crate::common;
use meshsim::batch::{Merged, run_all_with};
use meshsim::istiod::xds::{ClusterKind, ProxyKind, Xds};
use meshsim::proxy::lb::LbPolicy;
use meshsim::proxy::route::{Redirect, RouteAction, RouteMatch};
use meshsim::scenario::Scenario;
use xds_builder::*;

/// reviews v1/v2/v3 (one pod each) behind Service reviews:9080, and a
/// productpage that calls reviews forwarding `end-user`.
fn bookinfo(load: &str, sim: &str) -> String {
    let mut y = String::new();
    for v in ["v1", "v2", "v3"] {
        y.push_str(&format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: reviews-{v}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: reviews, version: {v}}}}}
  template:
    metadata: {{labels: {{app: reviews, version: {v}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 9080}}]}}]}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: reviews-{v}}}
spec: {{workers: 8, serviceTime: {{exponential: {{mean: 2ms}}}}}}
---
"#
        ));
    }
    y.push_str(
        r#"apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: productpage}
spec:
  replicas: 1
  selector: {matchLabels: {app: productpage}}
  template:
    metadata: {labels: {app: productpage}}
    spec: {containers: [{name: app, image: x, ports: [{containerPort: 9080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: productpage}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: productpage}
spec:
  workers: 64
  script:
  - compute: {constant: 1ms}
  - call: {host: reviews, port: 9080, forwardHeaders: [end-user], onError: continue}
---
"#,
    );
    y.push_str(load);
    y.push_str("---\n");
    y.push_str(sim);
    y
}

const SIM: &str = r#"apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: mesh}
spec: {duration: 40s, warmup: 2s, seed: 11, replications: 2}
"#;

fn run(spec: &Scenario, xds: &Xds) -> Merged {
    run_all_with(spec, xds, &|_| {})
}

/// Requests each deployment received (window, all replications).
fn received(m: &Merged, spec: &Scenario, name: &str) -> u64 {
    m.workloads[dep(spec, name)].pooled.requests
}

/// The sidecar of productpage routes reviews with `routes` (built over the
/// clusters v1, v2, v3 = 0, 1, 2).
fn productpage_mesh(
    spec: &Scenario,
    routes: impl Fn(&Xds) -> Vec<(meshsim::proxy::route::Route, Vec<u32>)>,
) -> Xds {
    let mut x = empty(spec);
    for v in ["v1", "v2", "v3"] {
        let c = cluster(
            spec,
            "reviews",
            9080,
            v,
            &[&format!("reviews-{v}")],
            LbPolicy::LEAST_REQUEST,
        );
        x.clusters.push(c);
    }
    let r = routes(&x);
    x.route_tables.push(table(
        "default/reviews",
        "reviews.default.svc.cluster.local:9080",
        &[
            "reviews.default.svc.cluster.local",
            "reviews",
            "reviews.default",
        ],
        r,
    ));
    x.proxies.push(proxy(
        ProxyKind::Sidecar,
        "default/productpage",
        &[(9080, 0)],
    ));
    x.deployment_proxy[dep(spec, "productpage")] = Some(0);
    x
}

/// |observed − n p| within the binomial 99.9 % interval (z = 3.29).
fn within_binomial(observed: u64, n: u64, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (observed as f64 - mean).abs() <= 3.29 * sd
}

#[test]
fn weighted_split_75_25_is_measured_at_the_destinations() {
    let load = r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://productpage:9080/productpage
  open: {rate: 200}
"#;
    let spec = common::load_ok(&bookinfo(load, SIM));
    let xds = productpage_mesh(&spec, |x| {
        vec![forward(x, "0", prefix("/"), &[(0, 75), (1, 25)])]
    });
    let m = run(&spec, &xds);
    let (v1, v2, v3) = (
        received(&m, &spec, "reviews-v1"),
        received(&m, &spec, "reviews-v2"),
        received(&m, &spec, "reviews-v3"),
    );
    let n = v1 + v2;
    assert!(n > 10_000, "{n}");
    assert_eq!(v3, 0, "v3 has no weight");
    assert!(within_binomial(v1, n, 0.75), "v1 {v1} of {n}");
    // The summary's destinations and the split agree with the pods.
    let mesh = m.mesh.as_ref().expect("meshed run");
    let d = |k: &str| {
        mesh.destinations
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, s)| s.pooled.requests)
            .unwrap()
    };
    let v1d = d("reviews.default.svc.cluster.local/v1");
    let v2d = d("reviews.default.svc.cluster.local/v2");
    assert!(within_binomial(v1d, v1d + v2d, 0.75), "{v1d} {v2d}");
    assert_eq!(mesh.splits.len(), 2);
    assert_eq!(mesh.splits[0].requests + mesh.splits[1].requests, v1d + v2d);
    let summary = meshsim::report::summary::render(&spec, &m);
    assert!(summary.contains("\"routes\""), "routes section");
    assert!(summary.contains("\"default/reviews/0\""));
    assert!(summary.contains("\"share\""));
    let table = meshsim::report::table::render(&spec, &m);
    assert!(table.contains("configured 75.00 %"), "{table}");
}

#[test]
fn header_routing_sends_jason_to_v2_only() {
    let load = r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://productpage:9080/productpage
  open: {rate: 200}
  requests:
  - {weight: 1, headers: {end-user: jason}}
  - {weight: 3}
"#;
    let spec = common::load_ok(&bookinfo(load, SIM));
    let xds = productpage_mesh(&spec, |x| {
        vec![
            forward(
                x,
                "jason",
                header(RouteMatch::any(), "end-user", "jason"),
                &[(1, 1)],
            ),
            forward(x, "rest", prefix("/"), &[(2, 1)]),
        ]
    });
    let m = run(&spec, &xds);
    let (v1, v2, v3) = (
        received(&m, &spec, "reviews-v1"),
        received(&m, &spec, "reviews-v2"),
        received(&m, &spec, "reviews-v3"),
    );
    assert_eq!(v1, 0);
    assert!(within_binomial(v2, v2 + v3, 0.25), "v2 {v2} v3 {v3}");
    // Every request v2 saw carried end-user: jason; none of v3's did.
    for o in &m.outcomes {
        let v2h = &o.headers_received[dep(&spec, "reviews-v2")];
        assert!(
            v2h.iter()
                .all(|(h, _)| h.contains(&("end-user".into(), "jason".into())))
        );
        let v3h = &o.headers_received[dep(&spec, "reviews-v3")];
        assert!(v3h.iter().all(|(h, _)| h.is_empty()), "{v3h:?}");
    }
}

/// A load with its own sidecar sending a mix that ends every way Envoy
/// answers: forwarded (200), 404 NR (unknown host), 503 NC (missing
/// cluster), 503 UH (no endpoints), 301 redirect.
pub fn local_answers() -> (Scenario, Xds) {
    let load = r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: fortio}
spec:
  target: http://reviews:9080/ok
  open: {rate: 300}
  requests:
  - {weight: 4}
  - {weight: 1, host: nowhere.example}
  - {weight: 1, path: /nc}
  - {weight: 1, path: /uh}
  - {weight: 1, path: /old}
"#;
    let spec = common::load_ok(&bookinfo(load, SIM));
    let mut x = empty(&spec);
    x.clusters.push(cluster(
        &spec,
        "reviews",
        9080,
        "v1",
        &["reviews-v1"],
        LbPolicy::RoundRobin,
    ));
    x.clusters.push(special(
        "outbound|9080|v9|reviews.default.svc.cluster.local",
        ClusterKind::Missing,
    ));
    x.clusters.push(cluster(
        &spec,
        "reviews",
        9080,
        "none",
        &[],
        LbPolicy::RoundRobin,
    ));
    let routes = vec![
        forward(&x, "nc", prefix("/nc"), &[(1, 1)]),
        forward(&x, "uh", prefix("/uh"), &[(2, 1)]),
        local(
            "old",
            prefix("/old"),
            RouteAction::Redirect(Redirect {
                scheme: None,
                host: None,
                port: None,
                path: Some("/new".into()),
                code: 301,
            }),
        ),
        forward(&x, "ok", prefix("/"), &[(0, 1)]),
    ];
    x.route_tables.push(table(
        "default/reviews",
        "reviews.default.svc.cluster.local:9080",
        &["reviews", "reviews.default.svc.cluster.local"],
        routes,
    ));
    x.proxies
        .push(proxy(ProxyKind::Sidecar, "default/fortio", &[(9080, 0)]));
    x.load_proxy[0] = Some(0);
    (spec, x)
}

#[test]
fn local_answers_carry_envoy_flags() {
    let (spec, xds) = local_answers();
    let m = run(&spec, &xds);
    let l = &m.loads[0].pooled;
    let flag = |f: &str| {
        l.flags
            .iter()
            .find(|(x, _)| x.to_string() == f)
            .map_or(0, |e| e.1)
    };
    let code = |c: u16| l.codes.iter().find(|x| x.0 == c).map_or(0, |e| e.1);
    assert_eq!(flag("NR"), code(404));
    assert_eq!(flag("NC") + flag("UH"), code(503));
    assert!(flag("NC") > 0 && flag("UH") > 0 && code(301) > 0);
    assert_eq!(flag("-"), code(200) + code(301));
    let n = l.count;
    assert!(
        within_binomial(code(200), n, 0.5),
        "200s {} of {n}",
        code(200)
    );
    for c in [301, 404] {
        assert!(within_binomial(code(c), n, 0.125), "{c}: {}", code(c));
    }
    // Only forwarded requests reach a pod.
    assert_eq!(received(&m, &spec, "reviews-v1"), code(200));
    let summary = meshsim::report::summary::render(&spec, &m);
    assert!(summary.contains("\"NR\""));
    assert!(summary.contains("\"NC\""));
}

/// Bookinfo's entry through a synthesized ingress gateway.
fn gateway_scenario() -> (Scenario, Xds) {
    let gw = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  replicas: 2
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway}}
    spec: {containers: [{name: istio-proxy, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  type: LoadBalancer
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: curl}
spec:
  target: http://istio-ingressgateway.istio-system/productpage
  entry: LoadBalancer
  open: {rate: 100}
  requests:
  - {weight: 1, host: bookinfo.app}
  - {weight: 1}
"#;
    let spec = common::load_ok(&bookinfo(gw, SIM));
    let mut x = empty(&spec);
    x.clusters.push(cluster(
        &spec,
        "productpage",
        9080,
        "",
        &["productpage"],
        LbPolicy::RoundRobin,
    ));
    let r = vec![forward(&x, "0", prefix("/productpage"), &[(0, 1)])];
    x.route_tables.push(table(
        "default/bookinfo",
        "bookinfo.app:80",
        &["bookinfo.app"],
        r,
    ));
    x.proxies.push(proxy(
        ProxyKind::Gateway,
        "istio-system/istio-ingressgateway",
        &[(8080, 0)],
    ));
    x.deployment_proxy[dep(&spec, "istio-ingressgateway")] = Some(0);
    (spec, x)
}

#[test]
fn gateway_routes_by_host_and_curls_default_host_is_404_nr() {
    let (spec, xds) = gateway_scenario();
    assert_eq!(spec.loads[0].host, "istio-ingressgateway.istio-system");
    let m = run(&spec, &xds);
    let l = &m.loads[0].pooled;
    let code = |c: u16| l.codes.iter().find(|x| x.0 == c).map_or(0, |e| e.1);
    let nr = l
        .flags
        .iter()
        .find(|(f, _)| f.to_string() == "NR")
        .map_or(0, |e| e.1);
    assert_eq!(nr, code(404));
    assert_eq!(code(200) + code(404), l.count, "{:?}", l.codes);
    assert!(within_binomial(code(404), l.count, 0.5));
    assert_eq!(received(&m, &spec, "productpage"), code(200));
    // productpage calls reviews through kube-proxy (no sidecar): still fine.
    assert!(received(&m, &spec, "reviews-v1") > 0);
}

#[test]
fn saturated_gateway_queues_on_its_workers() {
    let (mut spec, xds) = gateway_scenario();
    spec.istio.proxy.latency = Some(meshsim::engine::dist::Dist::Constant(
        meshsim::engine::SimDuration::from_millis(15),
    ));
    spec.istio.proxy.workers = Some(1);
    // 100/s over 2 gateway pods of one 15 ms worker each: ρ = 0.75, queues.
    let m = run(&spec, &xds);
    let c = &m.capacity[dep(&spec, "istio-ingressgateway")];
    assert_eq!(c.workers, 1);
    assert!(
        c.utilisation() > 0.6 && c.utilisation() < 0.9,
        "{}",
        c.utilisation()
    );
    assert!(c.queue_max > 0);
    let l = &m.loads[0].pooled;
    // Every answer took at least the gateway's 15 ms.
    assert!(l.hist.min() >= 14_900_000, "{}", l.hist.min()); // 3 significant digits
}

/// A fast and a slow version behind one cluster, balanced by `policy`.
fn balance(policy: LbPolicy) -> (Scenario, Merged) {
    let load = r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: fortio}
spec:
  target: http://reviews:9080/
  closed: {connections: 16}
"#;
    let mut spec = common::load_ok(&bookinfo(load, SIM));
    // v3 is slow (50 ms per request).
    let v3 = dep(&spec, "reviews-v3");
    spec.deployments[v3].behaviour.script = vec![meshsim::scenario::spec::Step::Compute(
        meshsim::engine::dist::Dist::Constant(meshsim::engine::SimDuration::from_millis(50)),
    )];
    let mut x = empty(&spec);
    x.clusters.push(cluster(
        &spec,
        "reviews",
        9080,
        "",
        &["reviews-v1", "reviews-v2", "reviews-v3"],
        policy,
    ));
    let r = vec![forward(&x, "0", prefix("/"), &[(0, 1)])];
    x.route_tables
        .push(table("default/reviews", "reviews", &["reviews"], r));
    x.proxies
        .push(proxy(ProxyKind::Sidecar, "default/fortio", &[(9080, 0)]));
    x.load_proxy[0] = Some(0);
    let m = run(&spec, &x);
    (spec, m)
}

#[test]
fn round_robin_gives_exact_thirds_and_least_request_avoids_the_slow_pod() {
    let (spec, rr) = balance(LbPolicy::RoundRobin);
    let counts: Vec<u64> = ["reviews-v1", "reviews-v2", "reviews-v3"]
        .iter()
        .map(|d| received(&rr, &spec, d))
        .collect();
    let total: u64 = counts.iter().sum();
    for c in &counts {
        // Exact thirds: per replication at most one off (where the window cuts).
        assert!((*c as i64 * 3 - total as i64).abs() <= 3 * 2, "{counts:?}");
    }
    let (spec, lr) = balance(LbPolicy::LEAST_REQUEST);
    let slow = received(&lr, &spec, "reviews-v3");
    let all: u64 = ["reviews-v1", "reviews-v2", "reviews-v3"]
        .iter()
        .map(|d| received(&lr, &spec, d))
        .sum();
    // Two random choices, fewer active requests wins: the slow pod, which
    // holds its requests ~25× longer, gets far less than a third.
    assert!((slow as f64) < 0.2 * all as f64, "slow {slow} of {all}");
    // And the whole load is faster than under round robin.
    assert!(lr.loads[0].pooled.mean_secs() < rr.loads[0].pooled.mean_secs());
}

#[test]
fn meshed_runs_are_identical_on_1_and_n_threads() {
    let (spec, xds) = local_answers();
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("pool")
    };
    let one = pool(1).install(|| meshsim::report::summary::render(&spec, &run(&spec, &xds)));
    let four = pool(4).install(|| meshsim::report::summary::render(&spec, &run(&spec, &xds)));
    assert_eq!(one, four);
    let m = run(&spec, &xds);
    for (k, o) in m.outcomes.iter().enumerate() {
        let alone = meshsim::run::replicate_with(&spec, &xds, k as u64, &mut |_| {});
        assert_eq!(alone.digest, o.digest);
    }
}

/// Bookinfo as a user writes it: injection on, the ingress gateway istiod
/// synthesises, a Gateway + VirtualService for `bookinfo.app`, reviews 75/25
/// by DestinationRule subsets — compiled by istiod, simulated by the world.
fn istio_bookinfo() -> String {
    let istio = r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["bookinfo.app"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["bookinfo.app"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews, subset: v2}, weight: 25}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: curl}
spec:
  target: http://istio-ingressgateway.istio-system:80/productpage
  entry: LoadBalancer
  open: {rate: 200}
  requests:
  - {weight: 1, host: bookinfo.app}
  - {weight: 1}
"#;
    let sim = r#"apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: bookinfo-istio}
spec:
  duration: 30s
  warmup: 2s
  seed: 5
  replications: 2
  mesh:
    injectNamespaces: [default]
    proxy: {latency: {constant: 200us}}
"#;
    bookinfo(istio, sim)
}

#[test]
fn istio_bookinfo_through_the_gateway_with_sidecars() {
    let spec = common::load_ok(&istio_bookinfo());
    let m = common::run(&spec);
    let l = &m.loads[0].pooled;
    let code = |c: u16| l.codes.iter().find(|x| x.0 == c).map_or(0, |e| e.1);
    let flag = |f: &str| {
        l.flags
            .iter()
            .find(|(x, _)| x.to_string() == f)
            .map_or(0, |e| e.1)
    };
    // curl's default Host (the gateway's address) has no virtual host: 404 NR.
    assert_eq!(flag("NR"), code(404));
    assert!(within_binomial(code(404), l.count, 0.5), "{:?}", l.codes);
    assert_eq!(code(200) + code(404), l.count, "{:?}", l.codes);
    // productpage's sidecar splits reviews 75/25 over the subsets.
    let (v1, v2, v3) = (
        received(&m, &spec, "reviews-v1"),
        received(&m, &spec, "reviews-v2"),
        received(&m, &spec, "reviews-v3"),
    );
    assert_eq!(v3, 0);
    assert!(within_binomial(v1, v1 + v2, 0.75), "v1 {v1} v2 {v2}");
    assert!(v1 + v2 >= code(200) - 10, "every page called reviews");
    // Every request pays the gateway hop (200 µs); a page pays four
    // (gateway, productpage inbound, its outbound, reviews inbound) + 1 ms compute.
    assert!(l.hist.min() >= 199_000, "{}", l.hist.min());
    assert!(l.hist.max() >= 1_790_000, "{}", l.hist.max());
    let mesh = m.mesh.as_ref().expect("meshed");
    assert!(
        mesh.routes
            .iter()
            .any(|(k, s)| k.starts_with("default/reviews") && s.pooled.requests > 0)
    );
}

#[test]
fn a_request_through_two_sidecars_costs_few_events() {
    // A load with its own sidecar → reviews-v1 with a sidecar, 100 µs per
    // proxy hop: arrival, one Deliver (outbound + inbound summed), one
    // ComputeDone; the way back takes no time (no event).
    let load = r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: fortio}
spec:
  target: http://reviews:9080/
  open: {rate: 500}
"#;
    let mut spec = common::load_ok(&bookinfo(load, SIM));
    spec.istio.proxy.latency = Some(meshsim::engine::dist::Dist::Constant(
        meshsim::engine::SimDuration(100_000),
    ));
    let mut x = empty(&spec);
    x.clusters.push(cluster(
        &spec,
        "reviews",
        9080,
        "v1",
        &["reviews-v1"],
        LbPolicy::LEAST_REQUEST,
    ));
    let r = vec![forward(&x, "0", prefix("/"), &[(0, 1)])];
    x.route_tables
        .push(table("default/reviews", "reviews", &["reviews"], r));
    x.proxies
        .push(proxy(ProxyKind::Sidecar, "default/fortio", &[(9080, 0)]));
    x.proxies
        .push(proxy(ProxyKind::Sidecar, "default/reviews-v1", &[]));
    x.load_proxy[0] = Some(0);
    x.deployment_proxy[dep(&spec, "reviews-v1")] = Some(1);
    let m = run(&spec, &x);
    let l = &m.loads[0].pooled;
    // Every answer took both hops (200 µs) plus the service time.
    assert!(l.hist.min() >= 199_000, "{}", l.hist.min());
    // Whole-run events (warm-up included) per whole-run request.
    let issued = 500.0 * 40.0 * m.replications as f64;
    let per = m.events as f64 / issued;
    assert!(per < 3.2, "{per} events per request");
}
