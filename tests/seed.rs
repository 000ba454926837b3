//! See tests/main.rs for what this module covers. Each test runs a
//! `scenarios/seed/` folder as shipped (its Simulation: seed 1, sidecars
//! on) and asserts the outcome its main file states; splits are checked
//! against binomial 99.9 % intervals.

use crate::common::{self, received, within_binomial};
use meshsim::batch::Merged;
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

fn load(folders: &[&str]) -> Scenario {
    let paths: Vec<PathBuf> = folders
        .iter()
        .map(|f| common::root().join("scenarios/seed").join(f))
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    common::load_paths(&refs, &Overrides::default())
}

struct LoadView<'a>(&'a meshsim::metrics::Recorder);

impl LoadView<'_> {
    fn code(&self, c: u16) -> u64 {
        self.0.codes.iter().find(|x| x.0 == c).map_or(0, |e| e.1)
    }
    fn flag(&self, f: &str) -> u64 {
        self.0
            .flags
            .iter()
            .filter(|(x, _)| x.to_string() == f)
            .map(|e| e.1)
            .sum()
    }
    fn count(&self) -> u64 {
        self.0.count
    }
}

/// Requests reviews v1, v2 and v3 received (Bookinfo's three versions).
fn reviews_received(m: &Merged, s: &Scenario) -> (u64, u64, u64) {
    (
        received(m, s, "default/reviews-v1"),
        received(m, s, "default/reviews-v2"),
        received(m, s, "default/reviews-v3"),
    )
}

fn load_stats<'a>(m: &'a Merged, s: &Scenario, name: &str) -> LoadView<'a> {
    let i = s.loads.iter().position(|l| l.name == name).unwrap();
    LoadView(&m.loads[i].pooled)
}

/// Seed 04: reviews 99/1 between v1 and v2, v3 none; ratings only via v2.
#[test]
fn reviews_canary_splits_99_1() {
    let s = load(&["reviews-canary"]);
    let m = common::run(&s);
    let (v1, v2, v3) = reviews_received(&m, &s);
    assert!(v1 + v2 > 15_000, "{v1} {v2}");
    assert_eq!(v3, 0);
    assert!(within_binomial(v2, v1 + v2, 0.01), "v2 {v2} of {}", v1 + v2);
    let ratings = received(&m, &s, "default/ratings-v1");
    assert!(ratings.abs_diff(v2) <= 3, "ratings {ratings} v2 {v2}");
}

/// Seed 13: reviews 75/25 between v1 and v2.
#[test]
fn reviews_75_25_splits_as_configured() {
    let s = load(&["reviews-75-25"]);
    let m = common::run(&s);
    let (v1, v2, v3) = reviews_received(&m, &s);
    assert!(v1 + v2 > 15_000, "{v1} {v2}");
    assert_eq!(v3, 0);
    assert!(within_binomial(v1, v1 + v2, 0.75), "v1 {v1} v2 {v2}");
}

/// Seed 14: jason's pages reach v2 only, everyone else's v3 only, v1 none.
#[test]
fn reviews_jason_goes_to_v2_and_the_rest_to_v3() {
    let s = load(&["reviews-jason"]);
    let m = common::run(&s);
    let (v1, v2, v3) = reviews_received(&m, &s);
    let jason = load_stats(&m, &s, "jason").count();
    let users = load_stats(&m, &s, "users").count();
    assert_eq!(v1, 0);
    assert!(jason > 1_000 && users > 10_000, "{jason} {users}");
    // One reviews call per page, a few more where productpage retried.
    assert!(
        v2 >= jason - 2 && v2 <= jason + jason / 50,
        "v2 {v2} jason {jason}"
    );
    assert!(
        v3 >= users - 10 && v3 <= users + users / 50,
        "v3 {v3} users {users}"
    );
}

/// Seeds 11 + 12: Host bookinfo.app reaches productpage (200); curl's
/// default Host is 404 NR and reaches nothing.
#[test]
fn bookinfo_gateway_routes_bookinfo_app_and_404s_the_default_host() {
    let s = load(&["bookinfo-gateway"]);
    let m = common::run(&s);
    let app = load_stats(&m, &s, "curl-bookinfo-app");
    assert!(app.count() > 5_000);
    assert_eq!(app.code(200), app.count());
    let def = load_stats(&m, &s, "curl-default-host");
    assert!(def.count() > 1_000);
    assert_eq!(def.code(404), def.count());
    assert_eq!(def.flag("NR"), def.count());
    let pp = received(&m, &s, "default/productpage-v1");
    // Loads count by intended start, pods by arrival: requests straddling
    // the window's edges (≈ 390 rps × a few ms of hops) differ by a few.
    assert!(
        pp.abs_diff(app.count()) <= 5,
        "productpage {pp} vs {}",
        app.count()
    );
}

/// The "*" variant: curl's default Host reaches productpage too.
#[test]
fn bookinfo_gateway_star_answers_any_host() {
    let s = load(&["bookinfo-gateway-star"]);
    let m = common::run(&s);
    let def = load_stats(&m, &s, "curl-default-host");
    assert!(def.count() > 1_000);
    assert_eq!(def.code(200), def.count());
    assert_eq!(def.flag("NR"), 0);
}

/// Seed 02: HTTP on 80 for uk.bookinfo.com is 301; an unlisted Host 404 NR.
#[test]
fn my_gateway_redirects_http_and_404s_unknown_hosts() {
    let s = load(&["my-gateway"]);
    let m = common::run(&s);
    let uk = load_stats(&m, &s, "uk-http");
    assert!(uk.count() > 1_000);
    assert_eq!(uk.code(301), uk.count());
    let plain = load_stats(&m, &s, "plain-http");
    assert_eq!(plain.code(404), plain.count());
    assert_eq!(plain.flag("NR"), plain.count());
}

/// Seed 03: the dev cookie goes to reviews.qa; the rest 80/20 prod/qa.
#[test]
fn bookinfo_rule_cookie_to_qa_and_80_20_otherwise() {
    let s = load(&["bookinfo-rule"]);
    let m = common::run(&s);
    let dev = load_stats(&m, &s, "dev-user").count();
    let users = load_stats(&m, &s, "users").count();
    let prod = received(&m, &s, "prod/reviews-v1");
    let qa = received(&m, &s, "qa/reviews-qa");
    assert!(dev > 2_000 && users > 20_000, "{dev} {users}");
    // Every call was answered: one reviews call per frontend request.
    assert!(
        (prod + qa).abs_diff(dev + users) <= 5,
        "{prod} + {qa} vs {dev} + {users}"
    );
    let qa_from_users = qa.saturating_sub(dev);
    assert!(
        within_binomial(prod, prod + qa_from_users, 0.8),
        "prod {prod} qa {qa} dev {dev}"
    );
}

/// Seed 05: no route names `testversion`; calls to ratings.prod spread over
/// all pods (v1 and v3) under the top-level LEAST_REQUEST.
#[test]
fn ratings_lb_spreads_over_every_pod() {
    let s = load(&["ratings-lb"]);
    let m = common::run(&s);
    let v1 = received(&m, &s, "prod/ratings-v1");
    let v3 = received(&m, &s, "prod/ratings-v3");
    let n = v1 + v3;
    assert!(n > 20_000, "{n}");
    // Two pods each: about half each (least-request over equal pods
    // balances at least as evenly as a fair coin).
    assert!(within_binomial(v1, n, 0.5), "v1 {v1} v3 {v3}");
}

/// Seed 06: reviews (imported) and echo.other (not imported: passthrough)
/// both answer every page.
#[test]
fn sidecar_scope_passes_unknown_services_through() {
    let s = load(&["sidecar-scope"]);
    let m = common::run(&s);
    let users = load_stats(&m, &s, "users");
    assert!(users.count() > 10_000);
    assert_eq!(users.code(200), users.count());
    let reviews = received(&m, &s, "bookinfo/reviews-v1");
    let echo = received(&m, &s, "other/echo");
    assert!(
        reviews.abs_diff(users.count()) <= 3 && echo.abs_diff(users.count()) <= 3,
        "{reviews} {echo} {}",
        users.count()
    );
}
