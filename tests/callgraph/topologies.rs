//! Shipped call graphs: Bookinfo within its app timeouts, its ratings delays
//! as the istio.io tasks describe them, and isotope's canonical topology.

use super::*;

#[test]
fn bookinfo_call_graph_reaches_every_service_within_its_app_timeouts() {
    let path = common::root().join("scenarios/examples/bookinfo.yaml");
    let spec = common::load_paths(&[path.as_path()], &Overrides::default());
    let m = common::run(&spec);
    let w = |key: &str| workload(&spec, &m, key);
    for key in [
        "default/productpage-v1",
        "default/details-v1",
        "default/reviews-v1",
        "default/reviews-v2",
        "default/reviews-v3",
        "default/ratings-v1",
    ] {
        assert!(
            w(key).requests > 1000,
            "{key} got {} requests",
            w(key).requests
        );
    }
    // productpage calls details and reviews once each (plus reviews retries).
    let pp = w("default/productpage-v1").requests;
    let details = w("default/details-v1").requests;
    assert!(details.abs_diff(pp) <= 10, "{details} vs {pp}");
    let reviews: u64 = ["v1", "v2", "v3"]
        .iter()
        .map(|v| w(&format!("default/reviews-{v}")).requests)
        .sum();
    assert!(reviews >= pp - 10);
    // kube-proxy spreads reviews calls evenly over the three versions.
    for v in ["v1", "v2", "v3"] {
        let n = w(&format!("default/reviews-{v}")).requests as f64;
        let sd = (reviews as f64 * (2.0 / 9.0)).sqrt();
        assert!(
            (n - reviews as f64 / 3.0).abs() < 5.0 * sd,
            "reviews-{v}: {n}"
        );
    }
    // reviews v1 never calls ratings: ratings' requests are exactly v2's + v3's
    // (both call it once per request), up to those in flight at the end.
    let ratings = w("default/ratings-v1").requests;
    let v23 = w("default/reviews-v2").requests + w("default/reviews-v3").requests;
    assert!(ratings <= v23 && v23 - ratings <= 10, "{ratings} vs {v23}");
    // App timeouts bound latency: ratings answers reviews-v3 within 2.5 s and
    // v2 within 10 s, reviews answers productpage within 3 s × 2 tries, details
    // within 3 s: a page never takes longer than 3 + 6 s plus productpage's own
    // compute (≤ 50 ms here).
    let page = load(&spec, &m, "users");
    assert!(page.hist.max() < 9_050 * MS, "{}", page.hist.max());
    assert!(w("default/reviews-v3").hist.max() < 2_500 * MS + 100 * MS);
    // Every page answers 200: failures of reviews and ratings are shown in the
    // page, not returned (onError: continue).
    assert_eq!(page.failed, 0);
    assert!(page.completed > 1000);
    // Some ratings calls are slow enough to trip v3's 2.5 s timeout, so v3's
    // latency is capped while ratings' tail is longer.
    assert!(w("default/ratings-v1").hist.max() > 2_500 * MS);
}

/// bookinfo.yaml with only reviews `version` left running and ratings taking
/// a constant `ratings` (the istio.io fault-injection and request-timeout
/// tasks delay ratings with a VirtualService; here the delay is ratings' own
/// service time, which productpage and reviews cannot tell apart).
fn bookinfo_variant(version: &str, ratings: &str) -> (Scenario, Merged) {
    let path = common::root().join("scenarios/examples/bookinfo.yaml");
    let mut text = std::fs::read_to_string(path).unwrap();
    for v in ["v1", "v2", "v3"].into_iter().filter(|v| *v != version) {
        let from = format!(
            "  name: reviews-{v}\n  labels:\n    app: reviews\n    version: {v}\nspec:\n  replicas: 1\n"
        );
        assert!(text.contains(&from), "bookinfo.yaml changed: {from}");
        text = text.replace(&from, &from.replace("replicas: 1", "replicas: 0"));
    }
    let tail =
        "serviceTime: {empirical: {0: 1ms, 50: 3ms, 99: 30ms, 99.5: 2s, 99.9: 8s, 100: 12s}}";
    assert!(text.contains(tail), "bookinfo.yaml changed: ratings");
    text = text.replace(tail, &format!("serviceTime: {{constant: {ratings}}}"));
    text = text.replace("duration: 600s", "duration: 120s");
    run_text(&text)
}

#[test]
fn bookinfo_ratings_delays_play_out_as_the_istio_docs_describe() {
    // Reviews v2 waits 10 s for ratings, so a 7 s delay is tolerated there —
    // but productpage gives up on reviews after 3 s, twice: the page takes
    // ≈ 6 s and shows reviews as unavailable (still a 200 page).
    let (spec, m) = bookinfo_variant("v2", "7s");
    let page = load(&spec, &m, "jason");
    assert!(page.count > 5);
    assert!(page.hist.min() >= 6_000 * MS && page.hist.max() < 6_100 * MS);
    assert_eq!(page.failed, 0);
    let pp = dep(&spec, "default/productpage-v1");
    let pages = m.workloads[pp].pooled.count;
    let timeouts = m.capacity[pp].call_timeouts;
    assert!(
        timeouts.abs_diff(2 * pages) <= 20,
        "{timeouts} vs {pages} pages"
    );
    // reviews v2 itself answers fine after ≈ 7 s: nobody is listening anymore.
    let v2 = workload(&spec, &m, "default/reviews-v2");
    assert!(v2.hist.min() >= 7_000 * MS && v2.failed == 0);
    assert_eq!(
        m.capacity[dep(&spec, "default/reviews-v2")].call_timeouts,
        0
    );

    // All traffic on reviews v3 and a delay under its 2.5 s: the page works,
    // about 2 s slower.
    let (spec, m) = bookinfo_variant("v3", "2s");
    let page = load(&spec, &m, "users");
    assert!(page.hist.min() >= 2_000 * MS && page.hist.max() < 2_100 * MS);
    assert_eq!(
        m.capacity[dep(&spec, "default/reviews-v3")].call_timeouts,
        0
    );
    assert_eq!(
        m.capacity[dep(&spec, "default/productpage-v1")].call_timeouts,
        0
    );

    // v3 with the 7 s delay: v3 gives up at 2.5 s and answers without ratings,
    // within productpage's 3 s, so the page takes ≈ 2.5 s.
    let (spec, m) = bookinfo_variant("v3", "7s");
    let page = load(&spec, &m, "users");
    assert!(page.hist.min() >= 2_500 * MS && page.hist.max() < 2_600 * MS);
    assert_eq!(
        m.capacity[dep(&spec, "default/productpage-v1")].call_timeouts,
        0
    );
    assert!(m.capacity[dep(&spec, "default/reviews-v3")].call_timeouts > 100);
}

#[test]
fn isotope_canonical_keeps_its_call_structure() {
    let path = common::root().join("scenarios/examples/isotope-canonical.yaml");
    let spec = common::load_paths(&[path.as_path()], &Overrides::default());
    let m = common::run(&spec);
    let n = |k: &str| workload(&spec, &m, k).completed;
    let d = n("default/d");
    assert!(d > 1000);
    // d → [a ∥ c], then b; c → a, then b.
    assert_eq!(n("default/a"), 2 * d);
    assert_eq!(n("default/b"), 2 * d);
    assert_eq!(n("default/c"), d);
    assert_eq!(load(&spec, &m, "fortio").failed, 0);
}
