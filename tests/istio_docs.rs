//! See tests/main.rs for what this module covers. Each test runs a
//! `scenarios/istio-docs/` folder as shipped (the docs' own YAML, linked
//! from ../shared/corpus, on Bookinfo's app model from
//! scenarios/seed/bookinfo) and asserts the outcome the istio.io page
//! reports (../shared/corpus/istio.io-docs/EXPECTATIONS.md), as Istio 1.28
//! produces it. scenarios/istio-docs/README.md maps each doc outcome to its
//! test.
//!
//! Bookinfo's app timing (scenarios/seed/bookinfo/bookinfo.yaml):
//! productpage → reviews 3 s per try, 2 tries, a failed call still renders
//! the page (200, reviews section in error: `onError: continue`); reviews v2
//! → ratings 10 s; reviews v1 never calls ratings. Latency bounds below are
//! the configured delays and timeouts plus Bookinfo's compute (≤ 100 ms per
//! page in these runs), with the histogram's 0.1 % resolution.

use crate::common::{
    self, code, flagged, latency_quantile, latency_range, load_rec, mesh_rec, received,
};
use meshsim::batch::Merged;
use meshsim::metrics::Recorder;
use meshsim::metrics::stats::mean_ci;
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

fn dir(folder: &str) -> PathBuf {
    common::root().join("scenarios/istio-docs").join(folder)
}

fn load(folder: &str) -> Scenario {
    common::load_paths(&[&dir(folder)], &Overrides::default())
}

/// Some files of `folder`, each passed through `edit(name, text)`.
fn load_edited(folder: &str, files: &[&str], edit: &dyn Fn(&str, String) -> String) -> Scenario {
    common::load_edited(&dir(folder), files, edit)
}

fn call_timeouts(m: &Merged, s: &Scenario, key: &str) -> u64 {
    m.capacity[common::deployment(s, key)].call_timeouts
}

fn workload<'a>(m: &'a Merged, s: &Scenario, key: &str) -> &'a Recorder {
    &m.workloads[common::deployment(s, key)].pooled
}

/// Fault injection, 7 s ratings delay for jason: productpage's 3 s × 2 tries
/// expire first, so jason's page is a 200 at ≈ 6 s with the reviews section
/// failed; reviews v2 (10 s) would have waited. Everyone else is on reviews
/// v1 and never calls ratings.
#[test]
fn fault_injection_delay_fails_jasons_reviews_at_6s_and_spares_the_rest() {
    let s = load("fault-injection-delay");
    let m = common::run(&s);
    let jason = load_rec(&m, &s, "jason");
    let pages = jason.count;
    assert!(pages > 250, "{pages}");
    assert_eq!(code(jason, 200), pages, "the page itself is fine");
    let (min, max) = latency_range(jason);
    assert!(min >= 6.0 && max < 6.1, "jason's pages took {min}–{max} s");
    // Both reviews tries of every page were reset by productpage at 3 s.
    let reviews = mesh_rec(&m, "default/reviews/0");
    assert_eq!(flagged(reviews, "DC"), reviews.count);
    assert!(
        reviews.count.abs_diff(2 * pages) <= 4,
        "{} tries",
        reviews.count
    );
    // Two app timeouts per page, give or take the pages straddling the
    // window's edges (0.5 pages/s × 6 s at each end).
    let gave_up = call_timeouts(&m, &s, "default/productpage-v1");
    assert!(
        gave_up.abs_diff(2 * pages) <= 12,
        "{gave_up} app timeouts, {pages} pages"
    );
    // reviews v2 still got ratings' answer after 7 s (to nobody).
    let ratings = mesh_rec(&m, "default/ratings/0");
    assert_eq!(
        flagged(ratings, "DI"),
        ratings.count,
        "every jason call delayed"
    );
    let v2 = workload(&m, &s, "default/reviews-v2");
    let p50 = latency_quantile(v2, 0.5);
    assert!((7.0..7.1).contains(&p50), "reviews-v2 p50 {p50} s");
    assert!(code(v2, 200) * 100 >= v2.count * 99, "{:?}", v2.codes);
    // Others: reviews v1, no ratings call, no error, no delay.
    let users = load_rec(&m, &s, "users");
    assert!(users.count > 5_000);
    assert_eq!(code(users, 200), users.count);
    assert!(latency_range(users).1 < 0.2);
    let v1 = received(&m, &s, "default/reviews-v1");
    assert!(v1.abs_diff(users.count) <= 3, "v1 {v1}");
    // (± pages straddling the warm-up edge: the call starts a few ms later.)
    let v1_route = mesh_rec(&m, "default/reviews/1").count;
    assert!(
        v1_route.abs_diff(users.count) <= 3,
        "{v1_route} vs {}",
        users.count
    );
    assert_eq!(flagged(mesh_rec(&m, "default/reviews/1"), "DC"), 0);
}

/// The page's remedy: with jason on reviews v3 (2.5 s for ratings) and a
/// delay under 2.5 s the page works, ≈ 2 s slower; with the 7 s delay v3
/// gives up on ratings at 2.5 s itself, before productpage's 3 s, so the
/// reviews section is there (without ratings) at ≈ 2.5 s.
#[test]
fn fault_injection_delay_on_reviews_v3_below_2_5s_keeps_the_page_working() {
    let files = [
        "bookinfo.yaml",
        "destination-rule-all.yaml",
        "scenario.yaml",
        "virtual-service-ratings-test-delay.yaml",
        "virtual-service-reviews-test-v2.yaml",
    ];
    for (delay, page) in [("2s", 2.0), ("7s", 2.5)] {
        let s = load_edited("fault-injection-delay", &files, &|name, t| match name {
            "virtual-service-reviews-test-v2.yaml" => t.replace("subset: v2", "subset: v3"),
            "virtual-service-ratings-test-delay.yaml" => {
                t.replace("fixedDelay: 7s", &format!("fixedDelay: {delay}"))
            }
            _ => t,
        });
        let m = common::run(&s);
        let jason = load_rec(&m, &s, "jason");
        assert_eq!(code(jason, 200), jason.count);
        assert_eq!(received(&m, &s, "default/reviews-v2"), 0, "{delay}");
        let p50 = latency_quantile(jason, 0.5);
        assert!((page..page + 0.1).contains(&p50), "{delay}: p50 {p50} s");
        let reviews = mesh_rec(&m, "default/reviews/0");
        assert_eq!(
            flagged(reviews, "DC"),
            0,
            "{delay}: productpage never gives up"
        );
        let ratings = mesh_rec(&m, "default/ratings/0");
        let reset = flagged(ratings, "DC");
        if delay == "2s" {
            // Only ratings' own tail (> 0.5 s: ≈ 0.9 %) trips v3's 2.5 s.
            assert!(reset * 50 < ratings.count, "{reset} of {}", ratings.count);
        } else {
            assert_eq!(reset, ratings.count, "v3 resets every delayed call");
        }
    }
}

/// Fault injection, abort 500 for jason: reviews v2's sidecar answers 500
/// (FI) at once, ratings never sees the request, reviews shows "ratings
/// unavailable" and the page loads as fast as anyone's.
#[test]
fn fault_injection_abort_is_immediate_and_only_for_jason() {
    let s = load("fault-injection-abort");
    let m = common::run(&s);
    let jason = load_rec(&m, &s, "jason");
    let users = load_rec(&m, &s, "users");
    assert!(jason.count > 1_000 && users.count > 5_000);
    assert_eq!(code(jason, 200), jason.count);
    assert_eq!(code(users, 200), users.count);
    assert!(latency_range(jason).1 < 0.2, "immediate");
    let (mj, mu) = (jason.mean_secs().unwrap(), users.mean_secs().unwrap());
    assert!((mj - mu).abs() < 0.005, "jason {mj} s vs users {mu} s");
    let ratings = mesh_rec(&m, "default/ratings/0");
    assert_eq!(code(ratings, 500), ratings.count);
    assert_eq!(flagged(ratings, "FI"), ratings.count);
    assert!(
        ratings.count.abs_diff(jason.count) <= 3,
        "one abort per page"
    );
    assert_eq!(received(&m, &s, "default/ratings-v1"), 0, "a local reply");
    assert_eq!(
        mesh_rec(&m, "default/ratings/1").requests,
        0,
        "v1 calls nobody"
    );
}

/// request-timeouts 01 + 02: reviews v2, ratings delayed 2 s by the
/// deprecated integer `percent: 100` — still honoured when `percentage` is
/// absent. The page works, ≈ 2 s slower than with 01 alone.
#[test]
fn request_timeouts_2s_delay_makes_the_page_2s_slower() {
    let folder = "request-timeouts-delay";
    let s = load(folder);
    let m = common::run(&s);
    let users = load_rec(&m, &s, "users");
    assert!(users.count > 1_000);
    assert_eq!(code(users, 200), users.count);
    let ratings = mesh_rec(&m, "default/ratings/0");
    assert_eq!(flagged(ratings, "DI"), ratings.count, "percent: 100 ⇒ all");
    // Only ratings' rare tail (> 1 s, ≈ 0.75 %) pushes a try past 3 s.
    let reviews = mesh_rec(&m, "default/reviews/0");
    assert!(flagged(reviews, "DC") * 50 < reviews.count);
    // The same scenario without 02.
    let base_files = [
        "01-virtual-service-reviews-v2.yaml",
        "bookinfo.yaml",
        "destination-rule-all.yaml",
        "scenario.yaml",
    ];
    let base = load_edited(folder, &base_files, &|_, t| t);
    let bm = common::run(&base);
    let before = latency_quantile(load_rec(&bm, &base, "users"), 0.5);
    let after = latency_quantile(users, 0.5);
    // Medians of ≈ 20 ms page times over > 1,000 pages move by ≪ 20 ms.
    assert!(
        (after - before - 2.0).abs() < 0.02,
        "median {before} s → {after} s"
    );
}

/// request-timeouts 02 + 03: reviews' route timeout 0.5 s ends each try
/// 504 UT; productpage tries twice, so the page returns in ≈ 1 s with
/// reviews unavailable — productpage's own 3 s never comes into play.
#[test]
fn request_timeouts_half_second_route_timeout_gives_the_page_in_1s() {
    let s = load("request-timeouts-timeout");
    let m = common::run(&s);
    let users = load_rec(&m, &s, "users");
    let pages = users.count;
    assert!(pages > 1_000);
    assert_eq!(code(users, 200), pages);
    let (min, max) = latency_range(users);
    assert!(min >= 1.0 && max < 1.1, "pages took {min}–{max} s");
    let reviews = mesh_rec(&m, "default/reviews/0");
    assert_eq!(code(reviews, 504), reviews.count);
    assert_eq!(flagged(reviews, "UT"), reviews.count);
    assert!(reviews.count.abs_diff(2 * pages) <= 4, "{}", reviews.count);
    assert_eq!(call_timeouts(&m, &s, "default/productpage-v1"), 0);
    // reviews v2 still spends its 2 s on each abandoned try.
    let p50 = latency_quantile(workload(&m, &s, "default/reviews-v2"), 0.5);
    assert!((2.0..2.1).contains(&p50), "reviews-v2 p50 {p50} s");
}

/// The page's note: a route timeout above productpage's 3 s has no visible
/// effect — the tighter timeout wins. 03 with `timeout: 4s` and 02's delay
/// raised to 7 s: productpage resets each try at 3 s (DC), the route timer
/// never fires, the page is 200 at ≈ 6 s.
#[test]
fn request_timeouts_route_timeout_above_3s_is_never_reached() {
    let files = [
        "02-virtual-service-ratings-delay-2s.yaml",
        "03-virtual-service-reviews-v2-timeout.yaml",
        "bookinfo.yaml",
        "destination-rule-all.yaml",
        "scenario.yaml",
    ];
    let s = load_edited("request-timeouts-timeout", &files, &|name, t| {
        let out = match name {
            "02-virtual-service-ratings-delay-2s.yaml" => {
                t.replace("fixedDelay: 2s", "fixedDelay: 7s")
            }
            "03-virtual-service-reviews-v2-timeout.yaml" => {
                t.replace("timeout: 0.5s", "timeout: 4s")
            }
            // 6 s pages: fewer of them, so productpage's 16 workers never queue.
            _ => t.replace("open: {rate: 2}", "open: {rate: 0.5}"),
        };
        assert!(
            name == "bookinfo.yaml" || name == "destination-rule-all.yaml" || out != t,
            "{name} changed shape"
        );
        out
    });
    let m = common::run(&s);
    let users = load_rec(&m, &s, "users");
    assert!(users.count > 200);
    assert_eq!(code(users, 200), users.count);
    let (min, max) = latency_range(users);
    assert!(min >= 6.0 && max < 6.1, "pages took {min}–{max} s");
    let reviews = mesh_rec(&m, "default/reviews/0");
    assert_eq!(flagged(reviews, "UT"), 0);
    assert_eq!(flagged(reviews, "DC"), reviews.count);
}

/// mirroring 05: everything to v1; v2 sees nothing.
#[test]
fn mirroring_before_06_only_v1_receives() {
    let s = load("mirroring-all-v1");
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert!(sleep.count > 10_000);
    assert_eq!(code(sleep, 200), sleep.count);
    assert!(received(&m, &s, "default/httpbin-v1").abs_diff(sleep.count) <= 2);
    assert_eq!(received(&m, &s, "default/httpbin-v2"), 0);
}

/// mirroring 06: every request also reaches v2 (mirrorPercentage 100), fire
/// and forget — the caller's latency is that of 05 within the CIs, and the
/// caller's sidecar reports only the v1 destination.
#[test]
fn mirroring_copies_every_request_to_v2_and_the_caller_does_not_notice() {
    let s = load("mirroring");
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(code(sleep, 200), sleep.count);
    let (v1, v2) = (
        received(&m, &s, "default/httpbin-v1"),
        received(&m, &s, "default/httpbin-v2"),
    );
    assert!(v1.abs_diff(sleep.count) <= 2, "v1 {v1}");
    assert!(v2.abs_diff(v1) <= 2, "v1 {v1} v2 {v2}");
    let dests: Vec<&str> = m
        .mesh
        .as_ref()
        .unwrap()
        .destinations
        .iter()
        .filter(|d| d.1.pooled.requests > 0)
        .map(|d| d.0.as_str())
        .collect();
    assert_eq!(dests, ["httpbin.default.svc.cluster.local/v1"]);
    let base = load("mirroring-all-v1");
    let bm = common::run(&base);
    let b = load_rec(&bm, &base, "sleep");
    let (lo, hi) = mean_ci(&sleep.batch_means(), 0.95).unwrap();
    let (blo, bhi) = mean_ci(&b.batch_means(), 0.95).unwrap();
    assert!(
        lo <= bhi && blo <= hi,
        "mirror [{lo}, {hi}] s vs 05 [{blo}, {bhi}] s"
    );
}

/// The mirroring folder's DestinationRule is 05's, verbatim.
#[test]
fn mirroring_destination_rule_is_05s_second_document() {
    let ours =
        std::fs::read_to_string(dir("mirroring").join("destination-rule-httpbin.yaml")).unwrap();
    let doc = common::shared().join("corpus/istio.io-docs/mirroring/05-httpbin-all-to-v1.yaml");
    let theirs = std::fs::read_to_string(doc).unwrap();
    let dr = theirs.split("---\n").nth(1).unwrap();
    assert!(dr.contains("kind: DestinationRule"));
    let body = &ours[ours.find("apiVersion").unwrap()..];
    assert_eq!(body, dr);
}

/// `--trace jason` tells the delay story step by step: the DI delay at
/// reviews v2's sidecar, productpage giving up twice (its sidecar resets the
/// stream, DC), the page at ≈ 6 s, and reviews v2's answer after 7 s to nobody.
#[test]
fn fault_injection_delay_trace_shows_each_step() {
    let out = std::env::temp_dir().join(format!("meshsim-docs-trace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = std::process::Command::new(common::bin())
        .args(["run", "-q", "--trace", "jason", "--out"])
        .arg(&out)
        .arg(dir("fault-injection-delay"))
        .output()
        .expect("run meshsim");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let trace = std::fs::read_to_string(out.join("trace.txt")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    let count = |s: &str| trace.matches(s).count();
    assert_eq!(count("fault filter: delay 7s injected (DI)"), 2, "{trace}");
    assert_eq!(count("the caller's app timeout fires"), 2, "{trace}");
    assert_eq!(
        count("resets the abandoned try's stream after 3s (DC, no response)"),
        2,
        "{trace}"
    );
    assert_eq!(
        count("the call failed for good → onError continue"),
        1,
        "{trace}"
    );
    assert!(trace.contains("load jason receives 200: 6.0"), "{trace}");
    assert_eq!(
        count("the abandoned try finishes with 200 after 7.0"),
        2,
        "{trace}"
    );
}

/// The accounting invariant for a run: every request a load, Service or
/// workload saw is completed, failed (with its flag counted once) or in
/// flight at the end — exactly once.
fn assert_accounted(m: &Merged) {
    for o in &m.outcomes {
        for (i, r) in o.loads.iter().enumerate() {
            assert_eq!(r.requests, r.completed + r.failed + o.loads_in_flight[i]);
            let by_flags: u64 = r.flags.iter().map(|f| f.1).sum();
            assert_eq!(by_flags, r.count, "one flags entry per finished request");
        }
        for (recs, fl) in [
            (&o.services, &o.services_in_flight),
            (&o.workloads, &o.workloads_in_flight),
        ] {
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.requests, r.completed + r.failed + fl[i]);
            }
        }
    }
}

/// TCP Traffic Shifting, all to v1: the ingress gateway's tcp_proxy chain on
/// 31400 (route 0 of VirtualService tcp-echo) sends every connection to
/// subset v1; v2 sees none. 10 connections/s for 100 s; the last second's
/// ten are still open at the end (each lasts 1 s).
#[test]
fn tcp_traffic_shifting_all_v1_sends_every_connection_to_v1() {
    let s = load("tcp-traffic-shifting-all-v1");
    let m = common::run(&s);
    let nc = load_rec(&m, &s, "nc");
    assert_eq!(nc.requests, 1000);
    assert_eq!(code(nc, 200), 990);
    assert_eq!(received(&m, &s, "default/tcp-echo-v1"), 1000);
    assert_eq!(received(&m, &s, "default/tcp-echo-v2"), 0);
    assert_eq!(mesh_rec(&m, "default/tcp-echo/0").requests, 1000);
    let v1 = mesh_rec(&m, "tcp-echo.default.svc.cluster.local/v1");
    assert_eq!((v1.requests, code(v1, 200)), (1000, 990));
    let mm = m.mesh.as_ref().expect("mesh");
    assert!(
        mm.destinations
            .iter()
            .all(|(k, r)| k != "tcp-echo.default.svc.cluster.local/v2" || r.pooled.requests == 0)
    );
    assert_accounted(&m);
}

/// TCP Traffic Shifting, 80/20: the weighted cluster is picked per
/// connection, so v2's share of 1,000 connections is binomial around 20 %
/// (inside the 99.9 % interval, 158–242); at seed 1 exactly 197.
#[test]
fn tcp_traffic_shifting_20_v2_splits_connections_binomially() {
    let s = load("tcp-traffic-shifting");
    let m = common::run(&s);
    let nc = load_rec(&m, &s, "nc");
    assert_eq!(nc.requests, 1000);
    assert_eq!(code(nc, 200), 990);
    let v1 = received(&m, &s, "default/tcp-echo-v1");
    let v2 = received(&m, &s, "default/tcp-echo-v2");
    assert_eq!(v1 + v2, 1000);
    assert!(
        common::within_binomial(v2, 1000, 0.2),
        "v2 got {v2} of 1000"
    );
    assert_eq!((v1, v2), (803, 197));
    let key = "tcp-echo.default.svc.cluster.local/v2";
    assert_eq!(mesh_rec(&m, key).requests, 197);
    let mm = m.mesh.as_ref().expect("mesh");
    let split = mm
        .splits
        .iter()
        .find(|x| x.route == "default/tcp-echo/0" && x.destination == key)
        .expect("the route's v2 split");
    assert_eq!(
        (split.weight, split.total_weight, split.requests),
        (20, 100, 197)
    );
    // No HTTP on the way: no retries, no local replies.
    assert_eq!(common::route_attempts(&m, "default/tcp-echo/0"), 990);
    let route = mesh_rec(&m, "default/tcp-echo/0");
    assert!(
        route.flags.iter().all(|(f, _)| f.is_empty()),
        "{:?}",
        route.flags
    );
    assert_accounted(&m);
}

/// Egress Gateways, HTTPS with TLS passthrough: sleep's sidecar routes SNI
/// edition.cnn.com by `tls` route 0 to the egress gateway's subset, whose
/// PASSTHROUGH server routes it by `tls` route 1 to edition.cnn.com — every
/// one of the 600 connections, nobody terminating TLS, no local reply.
#[test]
fn egress_gateway_tls_passthrough_carries_every_connection() {
    let s = load("egress-gateway-tls-passthrough");
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!((sleep.requests, code(sleep, 200)), (600, 600));
    let vs = "default/direct-cnn-through-egress-gateway";
    assert_eq!(mesh_rec(&m, &format!("{vs}/0")).requests, 600);
    assert_eq!(mesh_rec(&m, &format!("{vs}/1")).requests, 600);
    let gw = "istio-egressgateway.istio-system.svc.cluster.local/cnn";
    assert_eq!(code(mesh_rec(&m, gw), 200), 600);
    assert_eq!(code(mesh_rec(&m, "edition.cnn.com/-"), 200), 600);
    assert_eq!(received(&m, &s, "istio-system/istio-egressgateway"), 600);
    assert_eq!(received(&m, &s, "external/cnn"), 600);
    assert_accounted(&m);
}

/// The same with a client SNI no chain knows: sleep's sidecar has only the
/// SNI chain for edition.cnn.com on 443 (plus the catch-all passthrough),
/// so a connection to the stand-in under another name passes through to
/// its original destination, bypassing the gateway (ALLOW_ANY); the
/// gateway, whose only chain is edition.cnn.com, would close it (NR).
#[test]
fn egress_gateway_tls_passthrough_other_sni_bypasses_the_gateway() {
    let s = load_edited(
        "egress-gateway-tls-passthrough",
        &[
            "egress-gateway.yaml",
            "external.yaml",
            "service-entry.yaml",
            "gateway.yaml",
            "scenario.yaml",
        ],
        &|f, t| {
            if f == "scenario.yaml" {
                t.replace(
                    "target: https://edition.cnn.com/politics",
                    "target: https://edition.cnn.com/politics\n  host: www.cnn.com",
                )
            } else {
                t
            }
        },
    );
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(code(sleep, 200), 600);
    assert_eq!(received(&m, &s, "istio-system/istio-egressgateway"), 0);
    assert_eq!(received(&m, &s, "external/cnn"), 600);
    assert_accounted(&m);
}
