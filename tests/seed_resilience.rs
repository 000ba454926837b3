//! See tests/main.rs for what this module covers. The seed's resilience
//! files (07 timeout, 08 retries, 10 fault delay) run as shipped in
//! `scenarios/seed/ratings-*` (seed 1, one replication), plus variants of
//! 08's `retryOn` built from the same files. Fractions are checked against
//! binomial 99.9 % intervals of the probabilities the ratings service time
//! implies (scenarios/seed/ratings-apps/ratings-slow.yaml):
//! P(S > 2 s) = 5 % + 1 % × (3 − 2)/(3 − 0.02), P(S > 10 s) = 5 % × 2/9.

use crate::common::{
    self, code, flagged, latency_between, latency_range, load_rec, mesh_rec, received,
    route_attempts, within_binomial,
};
use meshsim::batch::Merged;
use meshsim::scenario::{Overrides, Scenario};

/// P(a ratings answer takes longer than 2 s).
const P_OVER_2S: f64 = 0.05 + 0.01 * (3.0 - 2.0) / (3.0 - 0.02);
/// P(a ratings answer takes longer than 10 s).
const P_OVER_10S: f64 = 0.05 * 2.0 / 9.0;
/// The ratings route of the seed VirtualServices (one route, index 0).
const ROUTE: &str = "default/ratings/0";

fn load(folder: &str) -> Scenario {
    let p = common::root().join("scenarios/seed").join(folder);
    common::load_paths(&[&p], &Overrides::default())
}

fn call_timeouts(m: &Merged, s: &Scenario, key: &str) -> u64 {
    m.capacity[common::deployment(s, key)].call_timeouts
}

/// Seed 07: a ratings call slower than 10 s ends 504 UT at 10 s — for a
/// caller that would wait longer (the meshed curl). Bookinfo's reviews v2
/// gives up at 10 s itself, and its timer was armed first: the app wins,
/// its sidecar logs DC (status 0), never 504.
#[test]
fn ratings_timeout_504s_at_10s_unless_reviews_gives_up_first() {
    let s = load("ratings-timeout");
    let m = common::run(&s);
    let curl = load_rec(&m, &s, "curl");
    let n = curl.count;
    assert!(n > 25_000, "{n}");
    let (c504, c200) = (code(curl, 504), code(curl, 200));
    assert_eq!(c200 + c504, n, "only 200 and 504: {:?}", curl.codes);
    assert!(within_binomial(c504, n, P_OVER_10S), "504 {c504} of {n}");
    assert_eq!(flagged(curl, "UT"), c504, "every 504 is the route timeout");
    // Nobody waits past the timeout (histogram resolution 0.1 %).
    let (_, max) = latency_range(curl);
    assert!((10.0..10.02).contains(&max), "curl max {max} s");
    // Every 504 sits at 10 s; 200s that took 9.99–10 s themselves share the
    // band (P = 5 % × 0.01/9 ≈ 5.6e-5, ≈ 1.6 expected).
    let at_10s = latency_between(curl, 9.99, 10.02);
    assert!(
        at_10s >= c504 && at_10s - c504 <= 10,
        "{at_10s} at 10 s, {c504} × 504"
    );
    // The server never knows: the abandoned calls run to their end (≤ 12 s).
    let ratings = &m.workloads[common::deployment(&s, "default/ratings-v1")].pooled;
    assert!(latency_range(ratings).1 > 11.0, "ratings max");

    // reviews v2 → ratings: the app's 10 s timeout fires first.
    let users = load_rec(&m, &s, "users");
    assert_eq!(code(users, 200), users.count, "reviews still answers 200");
    assert!(latency_range(users).1 < 10.1);
    let gave_up = call_timeouts(&m, &s, "default/reviews-v2");
    assert!(
        gave_up > 0 && within_binomial(gave_up, users.count, P_OVER_10S),
        "reviews-v2 gave up {gave_up} times of {}",
        users.count
    );
    let route = mesh_rec(&m, ROUTE);
    // Every UT on the route is the curl's; reviews' slow calls are DC, status 0.
    assert!(
        flagged(route, "UT").abs_diff(c504) <= 2,
        "UT {} curl 504 {c504}",
        flagged(route, "UT")
    );
    assert_eq!(flagged(route, "DC"), code(route, 0));
    assert!(
        code(route, 0).abs_diff(gave_up) <= 10,
        "route DC {} vs reviews-v2 timeouts {gave_up} (edges: calls of the warm-up's last 10 s)",
        code(route, 0)
    );
}

/// Seed 08: attempts 3, perTryTimeout 2 s, no retryOn. A slow attempt ends
/// 504 UT at 2 s and is NOT retried: Istio 1.28's default retryOn
/// (connect-failure, refused-stream, unavailable, cancelled,
/// retriable-status-codes) does not cover a per-try timeout.
#[test]
fn ratings_retries_per_try_timeout_is_504_and_not_retried() {
    let s = load("ratings-retries");
    let m = common::run(&s);
    let curl = load_rec(&m, &s, "curl");
    let n = curl.count;
    assert!(n > 25_000, "{n}");
    let c504 = code(curl, 504);
    assert_eq!(code(curl, 200) + c504, n, "{:?}", curl.codes);
    assert!(within_binomial(c504, n, P_OVER_2S), "504 {c504} of {n}");
    assert_eq!(flagged(curl, "UT"), c504);
    assert_eq!(flagged(curl, "URX"), 0, "no retry ran, none was exhausted");
    let (_, max) = latency_range(curl);
    assert!((2.0..2.01).contains(&max), "curl max {max} s");
    // One attempt per request: the route's streams and the pods' arrivals.
    let route = mesh_rec(&m, ROUTE);
    assert_eq!(route_attempts(&m, ROUTE), route.count, "no retries");
    let ratings = received(&m, &s, "default/ratings-v1");
    assert!(
        ratings.abs_diff(route.requests) <= 3,
        "{ratings} vs {}",
        route.requests
    );
    // reviews v2 gets its 504 at 2 s, long before its own 10 s.
    let users = load_rec(&m, &s, "users");
    assert_eq!(code(users, 200), users.count);
    assert!(latency_range(users).1 < 2.1);
    assert_eq!(call_timeouts(&m, &s, "default/reviews-v2"), 0);
    // The abandoned attempts still occupy ratings for up to 12 s.
    let rv = &m.workloads[common::deployment(&s, "default/ratings-v1")].pooled;
    assert!(latency_range(rv).1 > 11.0);
}

/// Seed 08's files with `retryOn` set: the folder as shipped, the
/// VirtualService replaced by `retries` with this `retryOn`.
fn retries_variant(retry_on: &str) -> Scenario {
    let dir = common::root().join("scenarios/seed/ratings-retries");
    let mut files = Vec::new();
    for name in [
        "destination-rule-all.yaml",
        "ratings-slow.yaml",
        "reviews-v2.yaml",
        "scenario.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        files.push((name.to_string(), text));
    }
    let vs = std::fs::read_to_string(dir.join("08-vs-ratings-retries.yaml")).unwrap();
    let vs = vs.replace(
        "      perTryTimeout: 2s\n",
        &format!("      perTryTimeout: 2s\n      retryOn: {retry_on}\n"),
    );
    assert!(vs.contains("retryOn"), "08 changed shape:\n{vs}");
    files.push(("08-retry-on.yaml".into(), vs));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    common::load_texts(&refs).unwrap_or_else(|e| panic!("{retry_on}:\n{e}"))
}

/// With a `retryOn` that covers per-try timeouts (`5xx`, `gateway-error`,
/// `reset`) a slow attempt is retried after 2 s: every slow attempt but a
/// fourth is followed by another, the latency steps by multiples of 2 s and
/// almost nothing fails. Tokens that do not cover them (`connect-failure`,
/// a status code) leave seed 08's behaviour: one attempt, 504 UT at 2 s.
#[test]
fn ratings_retries_retry_per_try_timeouts_only_with_5xx_gateway_error_or_reset() {
    let cases: &[(&str, bool)] = &[
        ("5xx", true),
        ("gateway-error,connect-failure,refused-stream", true),
        ("reset", true),
        ("connect-failure,refused-stream", false),
        ("\"504\"", false),
    ];
    let p = P_OVER_2S;
    for &(retry_on, retried) in cases {
        let s = retries_variant(retry_on);
        let m = common::run(&s);
        let route = mesh_rec(&m, ROUTE);
        let attempts = route_attempts(&m, ROUTE);
        let curl = load_rec(&m, &s, "curl");
        let n = curl.count;
        let c504 = code(curl, 504);
        if !retried {
            assert_eq!(attempts, route.count, "{retry_on}: no retries");
            assert!(within_binomial(c504, n, p), "{retry_on}: 504 {c504} of {n}");
            continue;
        }
        // Each attempt is slow with probability p, and each slow one (bar a
        // 4th) is retried: retries ~ Binomial(attempts, p).
        let retries = attempts - route.count;
        assert!(
            within_binomial(retries, attempts, p),
            "{retry_on}: {retries} retries of {attempts} attempts"
        );
        // Four slow attempts in a row: p⁴ n ≈ 0.2 expected.
        assert!(c504 <= 2, "{retry_on}: {c504} × 504");
        assert_eq!(flagged(curl, "UT"), c504, "{retry_on}");
        // k slow attempts first ⇒ k × 2 s + back-offs (< 25, 50 ms) + a
        // fast answer: latency bands at multiples of 2 s.
        let one = latency_between(curl, 2.0, 4.0);
        let two = latency_between(curl, 4.0, 6.0);
        assert!(
            within_binomial(one, n, p * (1.0 - p)),
            "{retry_on}: {one} requests in [2 s, 4 s) of {n}"
        );
        assert!(
            within_binomial(two, n, p * p * (1.0 - p)),
            "{retry_on}: {two} requests in [4 s, 6 s) of {n}"
        );
        assert!(latency_range(curl).1 < 8.2, "{retry_on}");
    }
}

/// Seed 10: `percentage.value: 0.1` is 0.1 % (not 10 %): that share of
/// ratings requests is held 5 s (flag DI) and then served normally.
#[test]
fn ratings_fault_delay_holds_0_1_percent_of_requests_for_5s() {
    let s = load("ratings-fault-delay");
    let m = common::run(&s);
    let route = mesh_rec(&m, ROUTE);
    let n = route.count;
    assert!(n > 80_000, "{n}");
    let di = flagged(route, "DI");
    assert!(within_binomial(di, n, 0.001), "DI {di} of {n}");
    assert_eq!(code(route, 200), n, "a delay is not an error");
    for load in ["curl", "users"] {
        let r = load_rec(&m, &s, load);
        assert_eq!(code(r, 200), r.count, "{load}");
        // ratings answers within 50 ms: a request of 5 s or more was delayed,
        // and a delayed one takes 5 s plus its usual time.
        let slow = latency_between(r, 4.0, 60.0);
        assert_eq!(latency_between(r, 5.0, 5.1), slow, "{load}");
        assert!(latency_range(r).1 < 5.1, "{load}");
        assert!(
            within_binomial(slow, r.count, 0.001),
            "{load}: {slow} of {}",
            r.count
        );
    }
    // The curl's own sidecar injected its delays: its DI count is its slow count.
    let curl = load_rec(&m, &s, "curl");
    assert_eq!(flagged(curl, "DI"), latency_between(curl, 5.0, 5.1));
}

/// Seed 09: `maxConnections: 100` binds only on subset v1's cluster. Through
/// a route to v1, 150 closed connections get 100 upstream connections: by
/// Little's law 1,000 requests/s and 150 ms each (100 ms of service, the rest
/// pending in the client's Envoy), nothing fails. Without that route (the
/// default route's cluster has no limit): 100 ms and 1,500/s.
#[test]
fn reviews_circuit_breaker_limits_concurrency_only_through_subset_v1() {
    let s = load("reviews-circuit-breaker");
    let m = common::run(&s);
    let window = s.run.duration.as_secs_f64() - s.run.warmup.as_secs_f64();
    let r = load_rec(&m, &s, "client");
    let mean_ms = r.sum_ns as f64 / r.count as f64 / 1e6;
    let rate = r.count as f64 / window;
    assert_eq!(
        r.failed, 0,
        "over the limit requests wait, they do not fail"
    );
    assert!((149.0..151.0).contains(&mean_ms), "mean {mean_ms} ms");
    assert!((990.0..1010.0).contains(&rate), "rate {rate}/s");
    let mesh = m.mesh.as_ref().expect("mesh");
    let d = mesh
        .destinations
        .iter()
        .position(|(k, _)| k == "reviews.default.svc.cluster.local/v1")
        .expect("subset v1 destination");
    let c = &mesh.cluster_stats[d];
    let get = |name: &str| c.nonzero().find(|(n, _)| *n == name).map_or(0, |(_, v)| v);
    assert!(get("upstream_cx_overflow") > 1_000, "{:?}", c);
    assert!(get("upstream_rq_pending_total") > 1_000, "{:?}", c);
    assert_eq!(get("upstream_rq_pending_overflow"), 0);

    // Without the route to v1: the default cluster carries no limit.
    let dir = common::root().join("scenarios/seed/reviews-circuit-breaker");
    let mut files = Vec::new();
    for name in [
        "09-dr-reviews-circuit-breaker.yaml",
        "apps.yaml",
        "scenario.yaml",
    ] {
        files.push((name, std::fs::read_to_string(dir.join(name)).unwrap()));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let s2 = common::load_texts(&refs).expect("loads without the VirtualService");
    let m2 = common::run(&s2);
    let r2 = load_rec(&m2, &s2, "client");
    let mean2 = r2.sum_ns as f64 / r2.count as f64 / 1e6;
    assert!((99.0..101.0).contains(&mean2), "mean {mean2} ms");
    assert!(r2.count as f64 / window > 1_480.0);
}
