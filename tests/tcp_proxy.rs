//! tcp_proxy's own answers (sim/world/tcp_proxy.rs): a TCP port's cluster
//! with `tcp.maxConnections` refuses the connection over the limit (UO,
//! `upstream_cx_overflow`, no response, no queue), and a TLS passthrough
//! gateway closes a connection whose SNI no chain names (NR).

use crate::common::{self, code, flagged, load_rec, received};
use meshsim::proxy::breaker::ClusterCounter;

const ECHO: &str = "
apiVersion: v1
kind: Service
metadata: {name: tcp-echo}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo}
spec:
  replicas: 1
  selector: {matchLabels: {app: tcp-echo}}
  template:
    metadata: {labels: {app: tcp-echo}}
    spec:
      containers: [{name: echo, image: tcp-echo, ports: [{containerPort: 9000}]}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: tcp-echo}
spec:
  workers: 100
  serviceTime: {constant: 1s}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 2}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: nc}
spec:
  target: {host: tcp-echo, port: 9000, path: /}
  sidecar: true
  open: {rate: 10, arrival: constant}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: tcp-breaker}
spec:
  duration: 65s
  warmup: 5s
  seed: 1
  mesh:
    injectNamespaces: [default]
";

/// 10 connections/s, each held 1 s, `maxConnections: 2`: about two a
/// second get through; the rest are closed by the client's sidecar before
/// any pod sees them — status 0 (no response), flag UO, one
/// `upstream_cx_overflow` each.
#[test]
fn max_connections_closes_the_overflow_with_uo() {
    let s = common::load_texts(&[("echo.yaml", ECHO)]).expect("loads");
    let m = common::run(&s);
    let nc = load_rec(&m, &s, "nc");
    let (ok, uo) = (code(nc, 200), flagged(nc, "UO"));
    assert_eq!(ok + uo + m.loads[0].in_flight, nc.requests, "{nc:?}");
    assert_eq!(code(nc, 0), uo, "UO connections get no response");
    assert!((100..=140).contains(&ok), "{ok} connections got through");
    assert!(uo > 400, "{uo} refused");
    assert_eq!(received(&m, &s, "default/tcp-echo"), nc.requests - uo);
    let mm = m.mesh.as_ref().expect("mesh");
    let d = mm
        .destinations
        .iter()
        .position(|(k, _)| k == "tcp-echo.default.svc.cluster.local/-")
        .expect("destination");
    let st = &mm.cluster_stats[d];
    assert_eq!(st.get(ClusterCounter::UpstreamCxOverflow), uo);
    assert_eq!(st.get(ClusterCounter::UpstreamRqPendingOverflow), 0);
}

/// A client that reaches the egress gateway's PASSTHROUGH server with an
/// SNI no `tls` route names: no filter chain, the gateway closes the
/// connection (status 0, NR) and edition.cnn.com sees nothing.
#[test]
fn passthrough_gateway_closes_an_unknown_sni_with_nr() {
    let dir = common::root().join("scenarios/istio-docs/egress-gateway-tls-passthrough");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let scenario = read("scenario.yaml").replace(
        "  target: https://edition.cnn.com/politics\n  sidecar: true",
        "  target: https://istio-egressgateway.istio-system/politics\n  host: www.cnn.com",
    );
    let files = [
        ("egress-gateway.yaml", read("egress-gateway.yaml")),
        ("external.yaml", read("external.yaml")),
        ("service-entry.yaml", read("service-entry.yaml")),
        ("gateway.yaml", read("gateway.yaml")),
        ("scenario.yaml", scenario),
    ];
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let s = common::load_texts(&refs).expect("loads");
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(sleep.requests, 600);
    assert_eq!(code(sleep, 0), 600);
    assert_eq!(flagged(sleep, "NR"), 600);
    assert_eq!(received(&m, &s, "istio-system/istio-egressgateway"), 600);
    assert_eq!(received(&m, &s, "external/cnn"), 0);
}
