//! See tests/main.rs for what this module covers: outlier detection end to
//! end — a DestinationRule's `outlierDetection` ejecting a failing pod from
//! the client proxy's balancer (Istio 1.28 → Envoy 1.36, reference §5).

use crate::common::{self, code, load_rec, received};

/// `web`: two healthy pods and one that answers 503 to everything; the
/// meshed `curl` (100 rps, Istio's default retry policy: a 503 is not
/// retried). `consecutive5xxErrors: 1`, `interval: 1s`,
/// `baseEjectionTime: 30s`, `maxEjectionPercent: 100`.
const SCENARIO: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web-good}
spec:
  replicas: 2
  selector: {matchLabels: {app: web, v: good}}
  template:
    metadata: {labels: {app: web, v: good}}
    spec: {containers: [{name: app, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web-bad}
spec:
  replicas: 1
  selector: {matchLabels: {app: web, v: bad}}
  template:
    metadata: {labels: {app: web, v: bad}}
    spec: {containers: [{name: app, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: web-good}
spec:
  workers: 64
  serviceTime: {constant: 1ms}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: web-bad}
spec:
  workers: 64
  serviceTime: {constant: 1ms}
  errors: {probability: 1.0, status: 503}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: curl}
spec:
  target: http://web:8080/
  sidecar: true
  open: {rate: 100}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: od}
spec:
  duration: 300s
  seed: 1
  mesh: {injectNamespaces: [default]}
"#;

/// Envoy ejects the bad pod at its first 503 for 30 s, then (each time it
/// comes back and fails its first request again) for 60 s, 90 s, 120 s —
/// ejection time = base × the host's back-off, and the back-off only decays
/// while the host stays healthy. Over 300 s that is 4 ejections (t ≈ 0,
/// 31, 92, 183 s), so the curl sees ≈ 4 × 503, not a third of its requests.
#[test]
fn outlier_detection_takes_an_always_failing_pod_out_of_the_balancer() {
    let s = common::load_ok(SCENARIO);
    let m = common::run(&s);
    let curl = load_rec(&m, &s, "curl");
    assert!(curl.count > 29_000, "{}", curl.count);
    let bad = received(&m, &s, "default/web-bad");
    let failed = code(curl, 503);
    let mo = m.outcomes[0].mesh.as_ref().expect("mesh");
    let d = mo
        .dest_keys
        .iter()
        .position(|k| k == "web.default.svc.cluster.local/-")
        .expect("destination");
    let ejections = mo.outlier_stats[d].ejections_enforced_total;
    assert!((3..=5).contains(&ejections), "{ejections} ejections");
    assert!(
        bad <= 10 && failed <= 10,
        "the ejected pod still got {bad} requests ({failed} × 503 of {})",
        curl.count
    );
}
