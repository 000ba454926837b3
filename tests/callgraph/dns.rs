//! Call hosts resolve with Kubernetes DNS from the caller's namespace.

use super::*;

#[test]
fn call_hosts_resolve_with_kubernetes_dns_from_the_callers_namespace() {
    let text = [
        app("reviews", "default", "{workers: 10, serviceTime: {constant: 1ms}}"),
        app("reviews", "prod", "{workers: 10, serviceTime: {constant: 1ms}}"),
        // From default: the short name is default/reviews; the rest are prod.
        app(
            "front",
            "default",
            "{script: [{call: {host: reviews}}, {call: {host: reviews.prod}}, {call: {host: reviews.prod.svc, port: 8080}}, {call: {host: reviews.prod.svc.cluster.local.}}]}",
        ),
        // From prod: the short name is prod/reviews.
        app("front", "prod", "{script: [{call: {host: reviews}}]}"),
        closed("d", "front:8080", ""),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: p, namespace: prod}
spec: {target: "front:8080", closed: {connections: 1}}
---
"#
        .to_string(),
        sim("1s", "0s"),
    ]
    .concat();
    let (spec, m) = run_text(&text);
    let fd = workload(&spec, &m, "default/front").requests;
    let fp = workload(&spec, &m, "prod/front").requests;
    assert!(fd > 100 && fp > 100);
    // Each default/front request: 1 ms + 1 ms + 1 ms + 1 ms sequential calls.
    all_exactly(workload(&spec, &m, "default/front"), 4 * MS);
    assert_eq!(workload(&spec, &m, "default/reviews").requests, fd);
    assert_eq!(workload(&spec, &m, "prod/reviews").requests, 3 * fd + fp);

    // A short name does not reach another namespace.
    let bad = [
        app("reviews", "prod", "{serviceTime: {constant: 1ms}}"),
        app("front", "default", "{script: [{call: {host: reviews}}]}"),
        app(
            "other",
            "default",
            "{script: [{call: {host: reviews.prod.cluster}}]}",
        ),
        closed("d", "front:8080", ""),
        sim("1s", "0s"),
    ]
    .concat();
    let e = load_err(&bad);
    assert!(
        e.contains(
            r#"host "reviews" does not resolve: no Service "reviews" in namespace "default""#
        ),
        "{e}"
    );
    assert!(
        e.contains(r#"host "reviews.prod.cluster" is not a Kubernetes Service name"#),
        "{e}"
    );
}
