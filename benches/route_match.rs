//! Routing one request through a sidecar-like route table: virtual host
//! lookup among N services (each with the domain variants Istio emits), then
//! first-match over a Bookinfo-like route list (header match, prefix, regex,
//! catch-all split 75/25), plus the weighted pick. Also a rewrite.
//!
//! `cargo bench --bench route_match` (not run in CI).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshsim::engine::rng::{Purpose, RngFactory};
use meshsim::proxy::matcher::{Pattern, StringMatcher};
use meshsim::proxy::request::Request;
use meshsim::proxy::route::{
    HeaderMatchSpec, HeaderMatcher, HeaderOps, PathMatch, Rewrite, Route, RouteAction,
    RouteConfiguration, RouteMatch, VirtualHost, WeightedCluster, WeightedClusters, apply_rewrite,
    decide,
};
use std::hint::black_box;
use std::time::Duration;

fn forward(clusters: &[(&str, u32)], rewrite: Rewrite) -> RouteAction {
    RouteAction::Forward {
        clusters: WeightedClusters::new(
            clusters
                .iter()
                .map(|(n, w)| WeightedCluster {
                    name: n.to_string(),
                    weight: *w,
                    request_headers: HeaderOps::default(),
                    host_rewrite: None,
                })
                .collect(),
        )
        .expect("weights"),
        rewrite,
    }
}

fn routes() -> Vec<Route> {
    let mut jason = RouteMatch::any();
    jason.headers.push(HeaderMatcher {
        name: "end-user".into(),
        spec: HeaderMatchSpec::Value(StringMatcher::exact("jason")),
        invert_match: false,
        treat_missing_header_as_empty: false,
    });
    let r = |name: &str, matcher: RouteMatch, action: RouteAction| Route {
        name: name.into(),
        matcher,
        action,
        request_headers: HeaderOps::default(),
    };
    vec![
        r("jason", jason, forward(&[("v2", 1)], Rewrite::default())),
        r(
            "api",
            RouteMatch::path(PathMatch::Regex(
                Pattern::new("/api/v[0-9]+/.*").expect("re"),
            )),
            forward(&[("v1", 1)], Rewrite::default()),
        ),
        r(
            "static",
            RouteMatch::path(PathMatch::Prefix("/static".into())),
            forward(
                &[("v1", 1)],
                Rewrite {
                    prefix: Some("/assets".into()),
                    ..Rewrite::default()
                },
            ),
        ),
        r(
            "split",
            RouteMatch::any(),
            forward(&[("v1", 75), ("v2", 25)], Rewrite::default()),
        ),
    ]
}

fn config(n: usize) -> RouteConfiguration {
    let vhosts = (0..n)
        .map(|i| {
            let svc = format!("svc{i}");
            VirtualHost {
                name: format!("{svc}.default.svc.cluster.local:9080"),
                domains: vec![
                    format!("{svc}.default.svc.cluster.local"),
                    svc.clone(),
                    format!("{svc}.default.svc"),
                    format!("{svc}.default"),
                    format!("10.96.{}.{}", i / 250, i % 250),
                ],
                routes: routes(),
                require_tls: false,
            }
        })
        .collect();
    RouteConfiguration::new("9080", vhosts, true).expect("unique domains")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("route_match");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    for n in [1usize, 100, 1000] {
        let cfg = config(n);
        let host = format!("svc{}:9080", n / 2);
        let reqs = [
            (
                "header_first",
                Request::get(&host, "/reviews/1").with_header("end-user", "jason"),
            ),
            ("regex", Request::get(&host, "/api/v2/users?x=1")),
            ("catch_all_split", Request::get(&host, "/productpage")),
        ];
        for (name, req) in &reqs {
            g.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                let mut r = RngFactory::new(1, 0).of(Purpose::Behaviour, "bench/route");
                b.iter(|| black_box(decide(&cfg, black_box(req), &mut r)));
            });
        }
    }
    let cfg = config(1);
    let route = &cfg.virtual_hosts()[0].routes[2];
    g.bench_function("prefix_rewrite", |b| {
        let req = Request::get("svc0", "/static/app.js?v=3");
        b.iter(|| {
            let mut q = req.clone();
            black_box(apply_rewrite(route, &mut q));
            q
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
