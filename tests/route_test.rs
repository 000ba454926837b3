//! See tests/main.rs for what this module covers.

use crate::common;
use common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seed_dir() -> PathBuf {
    common::root().join("scenarios/seed")
}

/// Every shipped table: (folder, manifest folders). Bookinfo's workloads
/// are shared by the folders that use them.
const TABLES: &[(&str, &[&str])] = &[
    ("my-gateway", &["my-gateway"]),
    ("bookinfo-rule", &["bookinfo-rule"]),
    ("reviews-canary", &["reviews-canary"]),
    ("ratings-lb", &["ratings-lb"]),
    ("sidecar-scope", &["sidecar-scope"]),
    ("bookinfo-gateway", &["bookinfo-gateway"]),
    ("bookinfo-gateway-star", &["bookinfo-gateway-star"]),
    ("reviews-75-25", &["reviews-75-25"]),
    ("reviews-jason", &["reviews-jason"]),
    ("ratings-timeout", &["ratings-timeout"]),
    ("ratings-retries", &["ratings-retries"]),
    ("ratings-fault-delay", &["ratings-fault-delay"]),
    ("reviews-circuit-breaker", &["reviews-circuit-breaker"]),
];

fn route_test(table: &Path, manifests: &[PathBuf]) -> Output {
    Command::new(common::bin())
        .arg("route-test")
        .arg(table)
        .args(manifests)
        .output()
        .expect("run meshsim")
}

fn scratch(test: &str) -> PathBuf {
    common::scratch("rt", test)
}

fn manifests(folders: &[&str]) -> Vec<PathBuf> {
    folders.iter().map(|f| seed_dir().join(f)).collect()
}

/// Every shipped table passes (exit 0) and reaches every VirtualService
/// route of its seed file (coverage lists nothing unexercised).
#[test]
fn shipped_route_test_tables_pass_with_full_coverage() {
    for (folder, paths) in TABLES {
        let out = route_test(
            &seed_dir().join(folder).join("route-test.yaml"),
            &manifests(paths),
        );
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{folder}:\n{stdout}\n{}",
            text(&out.stderr)
        );
        assert!(!stdout.contains("FAIL"), "{folder}:\n{stdout}");
        assert!(
            !stdout.contains("not exercised"),
            "{folder}: a route no case reaches:\n{stdout}"
        );
        assert!(stdout.contains("coverage: "), "{folder}:\n{stdout}");
    }
}

/// The seed folders ship the seed files byte for byte (../shared/seed is the
/// source), and every seed situation has a folder with a table.
#[test]
fn seed_copies_are_byte_identical() {
    let mut copies = 0;
    for (folder, _) in TABLES {
        let dir = seed_dir().join(folder);
        assert!(
            dir.join("route-test.yaml").is_file(),
            "{folder}: no route-test.yaml"
        );
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.len() > 3 && name[..2].chars().all(|c| c.is_ascii_digit()) && &name[2..3] == "-"
            {
                let original = common::shared().join("seed").join(&name);
                assert_eq!(
                    std::fs::read(&p).unwrap(),
                    std::fs::read(&original).unwrap(),
                    "{folder}/{name} differs from ../shared/seed/{name}"
                );
                copies += 1;
            }
        }
    }
    // 02 ×2, 03, 04, 05, 06, 07, 08, 09, 10, 11, 12, 13, 14: every seed file.
    assert_eq!(copies, 14);
}

/// A deliberately wrong table: exit 1, each mismatch printed with what was
/// found, passing cases still pass, and the answer is explained.
#[test]
fn wrong_expectations_exit_1_and_print_each_mismatch() {
    let d = scratch("wrong");
    let table = d.join("wrong.yaml");
    std::fs::write(
        &table,
        r#"cases:
- name: jason expected on v3 (wrong)
  from: default/productpage-v1
  request: {host: "reviews:9080", path: /reviews/0, headers: {end-user: jason}}
  expect: {subset: v3}
- name: anonymous on v3 (right)
  from: default/productpage-v1
  request: {host: "reviews:9080", path: /reviews/0}
  expect: {subset: v3}
- name: expects a 404 where the route forwards (wrong)
  from: default/productpage-v1
  request: {host: "reviews:9080", path: /anything}
  expect: {status: 404, flag: NR}
"#,
    )
    .unwrap();
    let out = route_test(&table, &manifests(&["reviews-jason"]));
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("FAIL jason expected on v3 (wrong)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mismatch: subset v2 (expected v3)"),
        "{stdout}"
    );
    assert!(stdout.contains("PASS anonymous on v3 (right)"), "{stdout}");
    assert!(
        stdout.contains("mismatch: forwarded to outbound|9080|v3|reviews.default.svc.cluster.local (the upstream answers), expected a local answer 404 NR"),
        "{stdout}"
    );
    // The explanation: proxy, route key and match fields, cluster and LB.
    assert!(
        stdout.contains("proxy: sidecar of default/productpage-v1"),
        "{stdout}"
    );
    assert!(stdout.contains("default/reviews/0 matched on"), "{stdout}");
    assert!(
        stdout.contains("header end-user exact \"jason\""),
        "{stdout}"
    );
    assert!(stdout.contains("LB LEAST_REQUEST"), "{stdout}");
    assert!(stdout.contains("3 cases: 1 passed, 2 failed"), "{stdout}");
}

/// Coverage names the VirtualService routes no case reached.
#[test]
fn coverage_lists_routes_no_case_reached() {
    let d = scratch("coverage");
    let table = d.join("t.yaml");
    std::fs::write(
        &table,
        "cases:\n- from: default/productpage-v1\n  request: {host: reviews, port: 9080, headers: {end-user: jason}}\n  expect: {subset: v2}\n",
    )
    .unwrap();
    let out = route_test(&table, &manifests(&["reviews-jason"]));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("coverage: 1 of 2 VirtualService routes exercised (50 %)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not exercised: default/reviews/1"),
        "{stdout}"
    );
}

/// Weighted routes: any configured destination satisfies; `weights`
/// compares the configured split.
#[test]
fn weights_are_compared_when_given() {
    let d = scratch("weights");
    let table = d.join("t.yaml");
    std::fs::write(
        &table,
        "cases:\n- name: ok\n  from: default/productpage-v1\n  request: {host: reviews, port: 9080}\n  expect: {subset: v2, weights: {v1: 75, v2: 25}}\n- name: wrong split\n  from: default/productpage-v1\n  request: {host: reviews, port: 9080}\n  expect: {weights: {v1: 50, v2: 50}}\n- name: no such destination\n  from: default/productpage-v1\n  request: {host: reviews, port: 9080}\n  expect: {subset: v3}\n",
    )
    .unwrap();
    let out = route_test(&table, &manifests(&["reviews-75-25"]));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS ok"), "{stdout}");
    assert!(stdout.contains("mismatch: weights outbound|9080|v1|reviews.default.svc.cluster.local=75, outbound|9080|v2|reviews.default.svc.cluster.local=25 (expected v1=50, v2=50)"), "{stdout}");
    assert!(
        stdout.contains("mismatch: no configured destination satisfies the expectation"),
        "{stdout}"
    );
    assert!(stdout.contains("weight 75 (75.0 %)"), "{stdout}");
}

/// Usage errors exit 2: a misspelt field in the table (located), a proxy
/// that does not exist, a workload without a sidecar.
#[test]
fn bad_tables_and_unknown_proxies_exit_2() {
    let d = scratch("usage");
    let table = d.join("t.yaml");
    std::fs::write(
        &table,
        "cases:\n- from: default/productpage-v1\n  request: {host: reviews}\n  expect: {subsett: v2}\n",
    )
    .unwrap();
    let out = route_test(&table, &manifests(&["reviews-jason"]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("t.yaml:4:") && stderr.contains("subsett"),
        "{stderr}"
    );
    std::fs::write(
        &table,
        "cases:\n- from: default/nothing-here\n  request: {host: reviews}\n  expect: {subset: v2}\n",
    )
    .unwrap();
    let out = route_test(&table, &manifests(&["reviews-jason"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no Deployment default/nothing-here"));
    // Without the Simulation's injectNamespaces nothing has a sidecar.
    let out = route_test(&table, &[seed_dir().join("bookinfo")]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        &table,
        "cases:\n- from: default/productpage-v1\n  request: {host: reviews}\n  expect: {subset: v2}\n",
    )
    .unwrap();
    let out = route_test(&table, &[seed_dir().join("bookinfo")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no Envoy"),
        "{}",
        text(&out.stderr)
    );
}

/// validate on seed 02 warns IST0162 for exactly the three servers the
/// default gateway Service does not expose.
#[test]
fn my_gateway_warns_ist0162_for_9443_9080_2379() {
    let out = Command::new(common::bin())
        .arg("validate")
        .arg(seed_dir().join("my-gateway"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let ports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("IST0162"))
        .filter_map(|l| l.split("server port ").nth(1)?.split(' ').next())
        .collect();
    assert_eq!(ports, vec!["9443", "9080", "2379"], "{stderr}");
}

/// The tcp_proxy tables of `scenarios/istio-docs/` pass with full coverage:
/// their `tls`/`tcp` routes are explained chain by chain (SNI, server
/// names), and a connection no chain takes is closed with NR.
#[test]
fn tcp_and_tls_route_tables_pass_with_full_coverage() {
    let docs = common::root().join("scenarios/istio-docs");
    for folder in [
        "egress-gateway-tls-passthrough",
        "tcp-traffic-shifting-all-v1",
    ] {
        let dir = docs.join(folder);
        let out = route_test(&dir.join("route-test.yaml"), std::slice::from_ref(&dir));
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{folder}:\n{stdout}");
        assert!(stdout.contains("(100 %)"), "{folder}:\n{stdout}");
        assert!(stdout.contains("tcp_proxy"), "{folder}:\n{stdout}");
    }
}
