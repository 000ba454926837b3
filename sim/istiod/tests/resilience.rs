//! Resilience config as istiod merges and writes it: DestinationRule blocks
//! per (port, subset) and the policies on each route (helpers from
//! `istiod/tests.rs`).

use super::*;

/// `MergeTrafficPolicy`: a matching port-level entry replaces all four
/// blocks (unset ⇒ default), a subset's blocks override one by one; route
/// policies carry the VS's timeout/retries and Istio's default elsewhere.
#[test]
fn resilience_policies_merge_as_istio_merges_them() {
    let dr = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      connectionPool: {http: {http1MaxPendingRequests: 1}}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {simple: RANDOM}
";
    let vs = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - route: [{destination: {host: ratings}}]
    timeout: 500ms
    retries: {attempts: 3, perTryTimeout: 2s}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 34}
    - {destination: {host: reviews, subset: v2}, weight: 33}
    - {destination: {host: reviews, subset: v3}, weight: 33}
";
    let spec = scenario(&[BOOKINFO], &[INJECT_DEFAULT, dr, vs]);
    let xds = compile(&spec);
    let fqdn = "reviews.default.svc.cluster.local";
    let one = |name: &str| {
        let v = cluster(&xds, name);
        assert_eq!(v.len(), 1, "{name}: {v:?}");
        v[0].clone()
    };
    let v1 = one(&format!("outbound|9080|v1|{fqdn}"));
    assert_eq!(v1.breakers.max_connections, 5);
    assert!(v1.outlier.is_some());
    assert_eq!(
        v1.lb.panic_threshold_percent, 0,
        "minHealthPercent unset ⇒ panic off"
    );
    let v2 = one(&format!("outbound|9080|v2|{fqdn}"));
    assert_eq!(v2.breakers.max_pending_requests, 1);
    assert_eq!(
        v2.breakers.max_connections,
        crate::proxy::breaker::ISTIO_UNLIMITED
    );
    assert!(
        v2.outlier.is_some(),
        "the subset sets no outlierDetection: top-level's stays"
    );
    let v3 = one(&format!("outbound|9080|v3|{fqdn}"));
    assert_eq!(v3.lb.policy, LbPolicy::Random);
    assert!(v3.outlier.is_none(), "port-level replaces every block");
    assert_eq!(
        v3.breakers.max_connections,
        crate::proxy::breaker::ISTIO_UNLIMITED
    );
    assert!(!v3.models_pool() && v1.models_pool() && v2.models_pool());
    // Route policies: the ratings VS's, and Istio's default for details.
    let p = proxy_of(&spec, &xds, "default", "productpage-v1");
    let t = table(&xds, p, 9080);
    let policy_of = |host: &str| {
        let vh = t
            .config
            .virtual_hosts()
            .iter()
            .position(|v| v.name.starts_with(host))
            .unwrap_or_else(|| panic!("no vhost {host}"));
        t.policies[vh][0].clone()
    };
    let ratings = policy_of("ratings.default");
    assert_eq!(ratings.timeout.route, Some(SimDuration::from_millis(500)));
    // perTryTimeout ≥ the route timeout is dropped at request time.
    assert_eq!(ratings.retry.num_retries, 3);
    assert_eq!(
        ratings.retry.per_try_timeout,
        Some(SimDuration::from_secs(2))
    );
    let details = policy_of("details.default");
    assert_eq!(details.timeout.route, None);
    assert_eq!(details.retry.num_retries, 2);
    assert_eq!(
        details.retry.retry_on,
        crate::istiod::resilience::istio_default_retry_on()
    );
}
