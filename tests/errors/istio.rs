//! Istio objects: the 1.28 retry fields (`retries.backoff`,
//! `retryIgnorePreviousHosts`, MeshConfig's `defaultHttpRetryPolicy`,
//! DestinationRule `retryBudget`) checked as istiod and the CRD schema do.

use super::*;

const VS_RETRIES: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
    retries:
      attempts: 3
      backoff: BACKOFF
      retryIgnorePreviousHosts: IGNORE
";

/// `retries.backoff` is validated as istiod's `ValidateDuration` does
/// (≥ 1 ms, whole milliseconds); `retryIgnorePreviousHosts` is a boolean.
#[test]
fn retry_backoff_and_ignore_previous_hosts() {
    let vs = |b: &str, i: &str| VS_RETRIES.replace("BACKOFF", b).replace("IGNORE", i);
    assert_eq!(
        with(&vs("500us", "true")),
        "bad.yaml:11:16: document 1 (VirtualService default/web): spec.http[0].retries.backoff: duration must be greater than 1ms"
    );
    assert_eq!(
        with(&vs("1500us", "false")),
        "bad.yaml:11:16: document 1 (VirtualService default/web): spec.http[0].retries.backoff: only durations to ms precision are supported"
    );
    assert_eq!(
        with(&vs("25ms", "sometimes")),
        "bad.yaml:12:33: document 1 (VirtualService default/web): spec.http[0].retries.retryIgnorePreviousHosts: \"sometimes\", expected true or false"
    );
}

/// MeshConfig's `defaultHttpRetryPolicy` is the same `HTTPRetry`, checked
/// the same way; the location is the line inside the ConfigMap's string.
#[test]
fn mesh_default_retry_backoff() {
    let mesh = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    defaultHttpRetryPolicy:
      attempts: 2
      backoff: 0s
";
    assert_eq!(
        with(mesh),
        "bad.yaml:8:16: document 1 (ConfigMap istio-system/istio): data.mesh.defaultHttpRetryPolicy.backoff: duration must be greater than 1ms"
    );
}

const DR_BUDGET: &str = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    retryBudget:
      BUDGET
";

/// `retryBudget`: the CRD schema bounds `percent` to 0–100 and
/// `minRetryConcurrency` to a uint32 (istiod itself checks neither).
#[test]
fn retry_budget_bounds() {
    let dr = |b: &str| DR_BUDGET.replace("BUDGET", b);
    assert_eq!(
        with(&dr("percent: 150")),
        "bad.yaml:8:16: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.percent: 150: percent must be between 0 and 100"
    );
    assert_eq!(
        with(&dr("percent: -0.5")),
        "bad.yaml:8:16: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.percent: -0.5: percent must be between 0 and 100"
    );
    assert_eq!(
        with(&dr("minRetryConcurrency: -1")),
        "bad.yaml:8:28: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.minRetryConcurrency: -1, must be ≥ 0"
    );
    assert_eq!(
        with(&dr("minRetryConcurrency: 4294967296")),
        "bad.yaml:8:28: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.minRetryConcurrency: 4294967296, must be ≤ 4294967295"
    );
}
