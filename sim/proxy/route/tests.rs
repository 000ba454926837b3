//! Table tests for `proxy::route`: every matcher kind, domain order, first
//! match, weighted split, rewrites, redirects and header operations.

use super::*;
use crate::engine::rng::{Purpose, RngFactory};
use crate::proxy::matcher::StringMatcher;

fn fwd(cluster: &str) -> RouteAction {
    RouteAction::Forward {
        clusters: WeightedClusters::single(cluster),
        rewrite: Rewrite::default(),
    }
}

fn route(name: &str, matcher: RouteMatch, action: RouteAction) -> Route {
    Route {
        name: name.to_string(),
        matcher,
        action,
        request_headers: HeaderOps::default(),
    }
}

fn vh(name: &str, domains: &[&str]) -> VirtualHost {
    VirtualHost {
        name: name.to_string(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        routes: vec![route("all", RouteMatch::any(), fwd(name))],
        require_tls: false,
    }
}

fn header(name: &str, spec: HeaderMatchSpec) -> HeaderMatcher {
    HeaderMatcher {
        name: name.to_string(),
        spec,
        invert_match: false,
        treat_missing_header_as_empty: false,
    }
}

fn rng() -> SimRng {
    RngFactory::new(7, 0).of(Purpose::Behaviour, "route-test")
}

#[test]
fn domain_order_exact_suffix_prefix_default() {
    let cfg = RouteConfiguration::new(
        "80",
        vec![
            vh("exact", &["api.foo.com", "Reviews"]),
            vh("suffix-short", &["*.foo.com"]),
            vh("suffix-long", &["*-bar.foo.com"]),
            vh("prefix-short", &["api.*"]),
            vh("prefix-long", &["api.bar.*"]),
            vh("default", &["*"]),
        ],
        false,
    )
    .unwrap();
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        ("api.foo.com", "exact"),
        ("API.FOO.COM", "exact"),
        ("reviews", "exact"),
        ("x.foo.com", "suffix-short"),
        ("x-bar.foo.com", "suffix-long"),
        ("bar.foo.com", "suffix-short"),   // "-bar.foo.com" needs a char before '-'
        (".foo.com", "default"),           // wildcard must cover ≥ 1 char
        ("api.bar.foo.com", "suffix-short"), // suffix beats prefix
        ("api.bar.io", "prefix-long"),
        ("api.x.io", "prefix-short"),
        ("api.", "default"),
        ("reviews:9080", "default"),       // port kept: no exact match
        ("other", "default"),
    ];
    for (host, want) in cases {
        let got = select_virtual_host(&cfg, host).map(|v| v.name.as_str());
        assert_eq!(got, Some(*want), "{host}");
    }
}

#[test]
fn port_ignored_when_configured_and_no_default_means_none() {
    let cfg = RouteConfiguration::new("80", vec![vh("r", &["reviews", "10.0.0.1", "[::1]"])], true)
        .unwrap();
    for (host, want) in [
        ("reviews", Some("r")),
        ("reviews:9080", Some("r")),
        ("10.0.0.1:80", Some("r")),
        ("[::1]:8080", Some("r")),
        ("[::1]", Some("r")),
        ("ratings:9080", None),
    ] {
        assert_eq!(
            select_virtual_host(&cfg, host).map(|v| v.name.as_str()),
            want,
            "{host}"
        );
    }
    assert_eq!(port_start("[::1]"), None);
    assert_eq!(port_start("a:1"), Some(1));
    assert_eq!(
        decide(&cfg, &Request::get("nope", "/"), &mut rng()),
        RouteDecision::NoVirtualHost
    );
}

#[test]
fn duplicate_domains_rejected() {
    let e = RouteConfiguration::new("80", vec![vh("a", &["x"]), vh("b", &["X"])], true);
    assert!(matches!(e, Err(RouteConfigError::DuplicateDomain { .. })));
    let e = RouteConfiguration::new("80", vec![vh("a", &["a.*.com"])], true);
    assert!(matches!(e, Err(RouteConfigError::BadWildcard { .. })));
}

#[test]
fn path_matchers() {
    let re = PathMatch::Regex(Pattern::new("/api/v[0-9]+/.*").unwrap());
    let ic = |p: PathMatch| RouteMatch {
        case_sensitive: false,
        ..RouteMatch::path(p)
    };
    #[rustfmt::skip]
    let cases: Vec<(RouteMatch, &str, bool)> = vec![
        (RouteMatch::path(PathMatch::Prefix("/foo".into())), "/foobar", true),
        (RouteMatch::path(PathMatch::Prefix("/foo".into())), "/FOO", false),
        (ic(PathMatch::Prefix("/foo".into())), "/FOObar", true),
        (RouteMatch::path(PathMatch::Exact("/login".into())), "/login", true),
        (RouteMatch::path(PathMatch::Exact("/login".into())), "/login?next=/x", true),
        (RouteMatch::path(PathMatch::Exact("/login".into())), "/login/", false),
        (ic(PathMatch::Exact("/login".into())), "/LOGIN", true),
        (RouteMatch::path(re.clone()), "/api/v1/users", true),
        (RouteMatch::path(re.clone()), "/api/v1/users?x=1", true),
        (RouteMatch::path(re.clone()), "/xapi/v1/users", false),
        (ic(re.clone()), "/API/v1/users", false), // case_sensitive does not touch regex
        (RouteMatch::path(PathMatch::Prefix("/a?".into())), "/a?b", false), // query is not path
    ];
    for (m, path, want) in &cases {
        assert_eq!(m.matches(&Request::get("h", path)), *want, "{m:?} {path}");
    }
}

#[test]
fn header_matchers_present_invert_missing() {
    use HeaderMatchSpec::*;
    let jason = Value(StringMatcher::exact("jason"));
    let inv = |mut h: HeaderMatcher| {
        h.invert_match = true;
        h
    };
    let missing_empty = |mut h: HeaderMatcher| {
        h.treat_missing_header_as_empty = true;
        h
    };
    let with = Request::get("h", "/").with_header("end-user", "jason");
    let other = Request::get("h", "/").with_header("end-user", "mike");
    let none = Request::get("h", "/");
    let multi = Request::get("h", "/")
        .with_header("x", "a")
        .with_header("x", "b");
    #[rustfmt::skip]
    let cases: Vec<(HeaderMatcher, &Request, bool)> = vec![
        (header("end-user", jason.clone()), &with, true),
        (header("end-user", jason.clone()), &other, false),
        (header("end-user", jason.clone()), &none, false),
        (header("end-user", Value(StringMatcher::prefix("ja"))), &with, true),
        (header("end-user", Value(StringMatcher::regex("j.*n").unwrap())), &with, true),
        (header("end-user", Value(StringMatcher::regex("j").unwrap())), &with, false),
        (header("end-user", Present(true)), &with, true),
        (header("end-user", Present(true)), &none, false),
        (header("end-user", Present(false)), &none, true),
        (inv(header("end-user", Present(true))), &none, true),
        (inv(header("end-user", Present(true))), &with, false),
        (inv(header("end-user", jason.clone())), &other, true),
        (inv(header("end-user", jason.clone())), &with, false),
        // Envoy: a missing header fails even an inverted matcher …
        (inv(header("end-user", jason.clone())), &none, false),
        // … unless treated as empty (Istio withoutHeaders).
        (missing_empty(inv(header("end-user", jason.clone()))), &none, true),
        (missing_empty(header("end-user", Value(StringMatcher::exact("")))), &none, true),
        // Repeated headers are joined with ','.
        (header("x", Value(StringMatcher::exact("a,b"))), &multi, true),
        // Pseudo-headers: authority keeps its port.
        (header(":authority", Value(StringMatcher::exact("h"))), &with, true),
        (header(":method", Value(StringMatcher::exact("GET"))), &with, true),
        (header(":scheme", Value(StringMatcher::exact("https"))), &with, false),
    ];
    for (m, req, want) in &cases {
        assert_eq!(m.matches(req), *want, "{m:?} on {req:?}");
    }
    let port = Request::get("reviews:9080", "/");
    assert!(!header(":authority", Value(StringMatcher::exact("reviews"))).matches(&port));
}

#[test]
fn query_parameter_matchers() {
    let q = |name: &str, m: Option<StringMatcher>| QueryParameterMatcher {
        name: name.to_string(),
        matcher: m,
    };
    let r = Request::get("h", "/p?debug&user=dev-1&user=x");
    assert!(q("debug", None).matches(&r));
    assert!(q("debug", Some(StringMatcher::exact(""))).matches(&r));
    assert!(q("user", Some(StringMatcher::exact("dev-1"))).matches(&r));
    assert!(!q("user", Some(StringMatcher::exact("x"))).matches(&r)); // first value only
    assert!(q("user", Some(StringMatcher::prefix("dev"))).matches(&r));
    assert!(q("user", Some(StringMatcher::regex("dev-[0-9]").unwrap())).matches(&r));
    assert!(!q("missing", None).matches(&r));
}

#[test]
fn first_match_wins_and_no_route_is_nr() {
    let mut v = vh("reviews", &["reviews"]);
    let mut jason = RouteMatch::any();
    jason.headers.push(header(
        "end-user",
        HeaderMatchSpec::Value(StringMatcher::exact("jason")),
    ));
    v.routes = vec![
        route("jason", jason, fwd("v2")),
        route(
            "login",
            RouteMatch::path(PathMatch::Exact("/login".into())),
            fwd("login"),
        ),
        route(
            "rest",
            RouteMatch::path(PathMatch::Prefix("/r".into())),
            fwd("v3"),
        ),
    ];
    let cfg = RouteConfiguration::new("9080", vec![v], true).unwrap();
    let mut r = rng();
    let d = |req: Request, r: &mut SimRng| decide(&cfg, &req, r);
    assert_eq!(
        d(
            Request::get("reviews", "/login").with_header("end-user", "jason"),
            &mut r
        ),
        RouteDecision::Forward {
            vhost: 0,
            route: 0,
            cluster: 0
        }
    );
    assert_eq!(
        d(Request::get("reviews:9080", "/login"), &mut r),
        RouteDecision::Forward {
            vhost: 0,
            route: 1,
            cluster: 0
        }
    );
    assert_eq!(
        d(Request::get("reviews", "/reviews/1"), &mut r),
        RouteDecision::Forward {
            vhost: 0,
            route: 2,
            cluster: 0
        }
    );
    assert_eq!(
        d(Request::get("reviews", "/x"), &mut r),
        RouteDecision::NoRoute { vhost: 0 }
    );
    let (i, rt) = match_route(&cfg.virtual_hosts[0], &Request::get("reviews", "/rx")).unwrap();
    assert_eq!((i, rt.name.as_str()), (2, "rest"));
}

fn split(weights: &[u32]) -> WeightedClusters {
    WeightedClusters::new(
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| WeightedCluster {
                name: format!("c{i}"),
                weight: w,
                request_headers: HeaderOps::default(),
                host_rewrite: None,
            })
            .collect(),
    )
    .unwrap()
}

#[test]
fn weighted_walk_is_cumulative_and_skips_zero() {
    let w = split(&[75, 0, 25]);
    assert_eq!(w.total_weight(), 100);
    assert_eq!(pick_weighted_at(&w, 0), 0);
    assert_eq!(pick_weighted_at(&w, 74), 0);
    assert_eq!(pick_weighted_at(&w, 75), 2);
    assert_eq!(pick_weighted_at(&w, 99), 2);
    // Weights need not sum to 100 (Istio ≥ 1.15).
    let w = split(&[1, 2]);
    assert_eq!(
        (0..3).map(|r| pick_weighted_at(&w, r)).collect::<Vec<_>>(),
        vec![0, 1, 1]
    );
    assert!(WeightedClusters::new(vec![]).is_none());
    let zero = |n: &str| WeightedCluster {
        name: n.into(),
        weight: 0,
        request_headers: HeaderOps::default(),
        host_rewrite: None,
    };
    assert!(WeightedClusters::new(vec![zero("a"), zero("b")]).is_none());
}

#[test]
fn single_cluster_draws_nothing() {
    use rand::Rng;
    let (mut a, mut b) = (rng(), rng());
    assert_eq!(pick_weighted(&WeightedClusters::single("x"), &mut a), 0);
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn split_75_25_within_binomial_999_interval() {
    let w = split(&[75, 25]);
    let mut r = rng();
    let n = 100_000u32;
    let hits = (0..n).filter(|_| pick_weighted(&w, &mut r) == 0).count() as f64;
    // 99.9 % two-sided: z = 3.2905; sd = sqrt(n p (1-p)).
    let (mean, sd) = (n as f64 * 0.75, (n as f64 * 0.75 * 0.25).sqrt());
    assert!((hits - mean).abs() < 3.2905 * sd, "hits={hits} mean={mean}");
}

#[test]
fn redirect_and_direct_response() {
    let mut v = vh("gw", &["*"]);
    v.routes = vec![
        route(
            "https",
            RouteMatch::path(PathMatch::Prefix("/secure".into())),
            RouteAction::Redirect(Redirect {
                scheme: Some("https".into()),
                host: None,
                port: None,
                path: None,
                code: 301,
            }),
        ),
        route(
            "moved",
            RouteMatch::path(PathMatch::Prefix("/old".into())),
            RouteAction::Redirect(Redirect {
                scheme: None,
                host: Some("new.example.com".into()),
                port: Some(8080),
                path: Some("/new".into()),
                code: 302,
            }),
        ),
        route(
            "teapot",
            RouteMatch::any(),
            RouteAction::DirectResponse {
                status: 418,
                body: None,
            },
        ),
    ];
    let cfg = RouteConfiguration::new("80", vec![v], true).unwrap();
    let mut r = rng();
    assert_eq!(
        decide(
            &cfg,
            &Request::get("bookinfo.com:80", "/secure/x?a=1"),
            &mut r
        ),
        RouteDecision::Redirect {
            vhost: 0,
            route: 0,
            status: 301,
            location: "https://bookinfo.com/secure/x?a=1".into()
        }
    );
    assert_eq!(
        decide(&cfg, &Request::get("a.com", "/old/page?q=2"), &mut r),
        RouteDecision::Redirect {
            vhost: 0,
            route: 1,
            status: 302,
            location: "http://new.example.com:8080/new?q=2".into()
        }
    );
    assert_eq!(
        decide(&cfg, &Request::get("a.com", "/"), &mut r),
        RouteDecision::DirectResponse {
            vhost: 0,
            route: 2,
            status: 418
        }
    );
}

fn rewriting(matcher: RouteMatch, rewrite: Rewrite) -> Route {
    route(
        "rw",
        matcher,
        RouteAction::Forward {
            clusters: WeightedClusters::single("c"),
            rewrite,
        },
    )
}

#[test]
fn rewrites_prefix_regex_host() {
    let prefix = |p: &str| Rewrite {
        prefix: Some(p.to_string()),
        ..Rewrite::default()
    };
    #[rustfmt::skip]
    let cases: Vec<(Route, &str, &str, &str)> = vec![
        // (route, request path, rewritten :path, authority)
        (rewriting(RouteMatch::path(PathMatch::Prefix("/reviews".into())), prefix("/v1/reviews")),
            "/reviews/1?x=2", "/v1/reviews/1?x=2", "h"),
        (rewriting(RouteMatch::path(PathMatch::Prefix("/api/".into())), prefix("/")),
            "/api/users", "/users", "h"),
        (rewriting(RouteMatch { case_sensitive: false, ..RouteMatch::path(PathMatch::Prefix("/API".into())) }, prefix("/x")),
            "/api/a", "/x/a", "h"),
        (rewriting(RouteMatch::path(PathMatch::Exact("/login".into())), prefix("/auth/login")),
            "/login?next=1", "/auth/login?next=1", "h"),
        (rewriting(RouteMatch::path(PathMatch::Regex(Pattern::new("/u/.*").unwrap())), prefix("/users")),
            "/u/42", "/users", "h"),
        (rewriting(RouteMatch::any(), Rewrite {
            regex: Some(RegexRewrite::new("^/service/([^/]+)(/.*)$", "\\2/instance/\\1").unwrap()),
            ..Rewrite::default() }),
            "/service/foo/v1/api?q=1", "/v1/api/instance/foo?q=1", "h"),
        (rewriting(RouteMatch::any(), Rewrite {
            regex: Some(RegexRewrite::new("o", "0").unwrap()), ..Rewrite::default() }),
            "/foo/bo", "/f00/b0", "h"),
        (rewriting(RouteMatch::any(), Rewrite { host: Some("new-host".into()), ..Rewrite::default() }),
            "/same", "/same", "new-host"),
    ];
    for (rt, path, want_path, want_host) in &cases {
        let mut req = Request::get("h", path);
        let changed = apply_rewrite(rt, &mut req);
        assert_eq!(&*req.path_and_query, *want_path, "{path}");
        assert_eq!(&*req.authority, *want_host, "{path}");
        assert_eq!(changed, path != want_path);
        if changed {
            assert_eq!(req.header("x-envoy-original-path"), Some(*path));
        }
    }
    // `$` in an RE2 substitution is literal.
    let rr = RegexRewrite::new("a", "$x").unwrap();
    let mut req = Request::get("h", "/a");
    apply_rewrite(
        &rewriting(
            RouteMatch::any(),
            Rewrite {
                regex: Some(rr),
                ..Rewrite::default()
            },
        ),
        &mut req,
    );
    assert_eq!(&*req.path_and_query, "/$x");
}

#[test]
fn header_ops_destination_then_route() {
    let ops = |set: &[(&str, &str)], add: &[(&str, &str)], remove: &[&str]| HeaderOps {
        set: set
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        add: add
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    };
    let clusters = WeightedClusters::new(vec![WeightedCluster {
        name: "c".into(),
        weight: 1,
        request_headers: ops(&[("x-who", "dest"), ("x-dest", "1")], &[], &["x-drop"]),
        host_rewrite: Some("dest-host".into()),
    }])
    .unwrap();
    let rt = Route {
        name: "r".into(),
        matcher: RouteMatch::any(),
        action: RouteAction::Forward {
            clusters,
            rewrite: Rewrite::default(),
        },
        request_headers: ops(&[("x-who", "route")], &[("x-list", "b")], &[]),
    };
    let mut req = Request::get("h", "/")
        .with_header("x-drop", "y")
        .with_header("x-list", "a");
    apply_request_headers(&rt, 0, &mut req);
    assert_eq!(req.header("x-who"), Some("route")); // route-level applied last
    assert_eq!(req.header("x-dest"), Some("1"));
    assert_eq!(req.header("x-drop"), None);
    assert_eq!(req.header_joined("x-list").as_deref(), Some("a,b"));
    assert_eq!(&*req.authority, "dest-host");
}

#[test]
fn require_tls_redirects_plain_text_before_route_matching() {
    let mut v = vh("bookinfo", &["bookinfo.com"]);
    v.require_tls = true;
    v.routes.clear(); // Istio emits no routes for an httpsRedirect-only server
    let cfg = RouteConfiguration::new("80", vec![v], true).unwrap();
    let mut r = rng();
    assert_eq!(
        decide(
            &cfg,
            &Request::get("bookinfo.com:80", "/productpage?u=1"),
            &mut r
        ),
        RouteDecision::TlsRedirect {
            vhost: 0,
            location: "https://bookinfo.com:80/productpage?u=1".into()
        }
    );
    let tls = Request::new("GET", "https", "bookinfo.com", "/productpage");
    assert_eq!(
        decide(&cfg, &tls, &mut r),
        RouteDecision::NoRoute { vhost: 0 }
    );
}
