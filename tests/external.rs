//! External hosts and ServiceEntry at run time: istio.io's "Accessing
//! external services" (scenarios/istio-docs/egress-httpbin): REGISTRY_ONLY
//! vs ALLOW_ANY, a ServiceEntry for httpbin.org, and a VirtualService
//! timeout on it. httpbin.org is played by a stand-in Service
//! (`Simulation.spec.externalHosts`) answering /delay/5 after 5 s; sleep
//! calls it once a second from its own sidecar.

use crate::common::{self, code, flagged, latency_range, load_rec, mesh_rec, received};
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::root().join("scenarios/istio-docs/egress-httpbin")
}

/// The folder without the files in `drop`.
fn without(drop: &[&str]) -> Scenario {
    let files = [
        "external.yaml",
        "mesh-config.yaml",
        "service-entry.yaml",
        "virtual-service.yaml",
        "scenario.yaml",
    ];
    common::load_without(&dir(), &files, drop)
}

const HTTPBIN: &str = "external/httpbin";

/// As shipped: the VirtualService's 3 s timeout fires before httpbin.org's
/// 5 s answer: 504 UT at 3.0 s, and the server still does the work.
#[test]
fn external_service_entry_with_timeout_gives_504_at_3s() {
    let s = common::load_paths(&[&dir()], &Overrides::default());
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    let done = sleep.count;
    assert!(done >= 60, "{done}");
    assert_eq!(code(sleep, 504), done);
    let (lo, hi) = latency_range(sleep);
    // (Histogram resolution: 3 significant digits.)
    assert!(lo >= 2.99 && hi < 3.01, "{lo}–{hi} s");
    let route = mesh_rec(&m, "default/httpbin-ext/0");
    assert_eq!(flagged(route, "UT"), done);
    assert_eq!(mesh_rec(&m, "httpbin.org/-").count, done);
    // Each abandoned request still reached httpbin.org.
    assert!(received(&m, &s, HTTPBIN) >= done);
}

/// The ServiceEntry alone: httpbin.org is in the registry, the answer
/// arrives after 5 s (200).
#[test]
fn external_service_entry_without_timeout_gives_200_at_5s() {
    let s = without(&["virtual-service.yaml"]);
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert!(sleep.count >= 60);
    assert_eq!(code(sleep, 200), sleep.count);
    let (lo, hi) = latency_range(sleep);
    assert!(lo >= 4.99 && hi < 5.01, "{lo}–{hi} s");
    assert_eq!(mesh_rec(&m, "httpbin.org/-").count, sleep.count);
}

/// REGISTRY_ONLY without a ServiceEntry: the `block_all` virtual host
/// answers 502 at once, httpbin.org is never reached. Under ALLOW_ANY the
/// same request passes to its original destination (PassthroughCluster).
#[test]
fn external_host_unknown_to_the_registry() {
    let s = without(&["service-entry.yaml", "virtual-service.yaml"]);
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert!(sleep.count >= 60);
    assert_eq!(code(sleep, 502), sleep.count);
    assert!(latency_range(sleep).1 < 1e-6, "answered at once");
    assert_eq!(received(&m, &s, HTTPBIN), 0);

    let s = without(&[
        "service-entry.yaml",
        "virtual-service.yaml",
        "mesh-config.yaml",
    ]);
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    // No Service port 80 is in the registry, so no listener: the request
    // leaves for its original destination (the passthrough path).
    assert_eq!(code(sleep, 200), sleep.count);
    assert!(received(&m, &s, HTTPBIN) >= sleep.count);
}

/// A stand-in that is no Service is a located error.
#[test]
fn external_hosts_must_name_a_service() {
    let text = std::fs::read_to_string(dir().join("scenario.yaml")).unwrap();
    let bad = text.replace(
        "httpbin.org: httpbin.external",
        "httpbin.org: nope.external",
    );
    let ext = std::fs::read_to_string(dir().join("external.yaml")).unwrap();
    let err = common::load_texts(&[("external.yaml", &ext), ("scenario.yaml", &bad)])
        .expect_err("an error")
        .to_string();
    assert!(
        err.contains("spec.externalHosts.httpbin.org")
            && err.contains("\"nope.external\" is no Service"),
        "{err}"
    );
}
