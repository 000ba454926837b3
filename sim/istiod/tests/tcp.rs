//! Gateway tcp_proxy chains: AUTO_PASSTHROUGH's SNI names per Service port
//! and subset; PASSTHROUGH's chains per `tls` match, a repeated SNI skipped.

use super::*;

const GW: &str = "
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: east-west, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ['*.local']
    tls: {mode: AUTO_PASSTHROUGH}
  - port: {number: 9443, name: tls-pt, protocol: TLS}
    hosts: ['*.example.com']
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default}
spec:
  hosts: [a.example.com]
  gateways: [east-west]
  tls:
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: reviews, port: {number: 9080}, subset: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: again, namespace: default}
spec:
  hosts: [a.example.com]
  gateways: [east-west]
  tls:
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: ratings, port: {number: 9080}}}]
";

fn chains(p: &Proxy, port: u16) -> &[crate::istiod::xds::TcpRoute] {
    match &p
        .listeners
        .iter()
        .find(|l| l.port == port)
        .expect("listener")
        .kind
    {
        ListenerKind::Tcp { routes } => routes,
        other => panic!("{other:?}"),
    }
}

#[test]
fn auto_passthrough_and_passthrough_chains() {
    let spec = scenario(&[BOOKINFO, SUBSETS], &[INJECT_DEFAULT, GW]);
    let xds = compile(&spec);
    let p = proxy_of(&spec, &xds, "istio-system", "istio-ingressgateway");
    let auto = chains(p, 15443);
    let sni = "outbound_.9080_.v2_.reviews.default.svc.cluster.local";
    let c = auto
        .iter()
        .find(|t| t.sni == [sni.to_string()])
        .expect("a chain per service port and subset");
    assert_eq!(
        xds.clusters[c.clusters[0].0 as usize].name,
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
    assert!(
        auto.iter()
            .any(|t| t.sni == ["outbound_.9080_._.ratings.default.svc.cluster.local".to_string()])
    );
    let pt = chains(p, 9443);
    assert_eq!(pt.len(), 1, "the repeated SNI a.example.com is skipped");
    assert_eq!(pt[0].sni, ["a.example.com".to_string()]);
    assert_eq!(pt[0].key.as_deref(), Some("default/a/0"));
    assert_eq!(
        xds.clusters[pt[0].clusters[0].0 as usize].name,
        "outbound|9080|v2|reviews.default.svc.cluster.local"
    );
}

/// A Service port's `appProtocol` decides its protocol before the name
/// (`ConvertProtocol`): `tcp-web` + `http` gets HTTP routing, `http-db` + `tcp`
/// a tcp_proxy listener, as in a sidecar of Istio 1.28.
#[test]
fn app_protocol_beats_the_port_name() {
    let svc = "
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  selector: {app: db}
  ports:
  - {name: tcp-web, port: 8081, appProtocol: http}
  - {name: http-db, port: 5432, appProtocol: tcp}
  - {name: http-plain, port: 8082}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: db}]
";
    let spec = scenario(&[BOOKINFO], &[INJECT_DEFAULT, svc]);
    let ports = &spec
        .services
        .iter()
        .find(|s| s.name == "db")
        .expect("db")
        .ports;
    assert_eq!(ports[0].app_protocol.as_deref(), Some("http"));
    let xds = compile(&spec);
    let p = proxy_of(&spec, &xds, "default", "productpage-v1");
    let kind = |port: u16| {
        &p.listeners
            .iter()
            .find(|l| l.port == port)
            .expect("listener")
            .kind
    };
    assert!(
        matches!(kind(8081), ListenerKind::Http { .. }),
        "{:?}",
        kind(8081)
    );
    assert!(
        matches!(kind(5432), ListenerKind::Tcp { .. }),
        "{:?}",
        kind(5432)
    );
    assert!(
        matches!(kind(8082), ListenerKind::Http { .. }),
        "{:?}",
        kind(8082)
    );
}
