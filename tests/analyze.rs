//! See tests/main.rs for what this module covers.

use meshsim::scenario::{self, Overrides, Scenario, SourceFile};

fn load(files: &[(&str, &str)]) -> Scenario {
    let src: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    let ov = Overrides {
        manifests_only: true,
        ..Overrides::default()
    };
    match scenario::from_sources("analyze".into(), &src, &ov) {
        Ok(s) => s,
        Err(e) => panic!("should load:\n{e}"),
    }
}

fn with_code<'a>(s: &'a Scenario, code: &str) -> Vec<&'a String> {
    s.warnings.iter().filter(|w| w.contains(code)).collect()
}

const GATEWAY_POD: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: edge, namespace: gw}
spec:
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec: {containers: [{name: envoy, image: x, ports: [{name: web, containerPort: 8081}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: gw}
spec:
  type: LoadBalancer
  selector: {app: edge}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: alt, port: 81, targetPort: web}
";

const GATEWAY: &str = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: gw}
spec:
  selector: {app: edge}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 8081, name: http-target, protocol: HTTP}
    hosts: ['*']
  - port: {number: 9443, name: https, protocol: HTTPS}
    hosts: ['*']
    tls: {mode: SIMPLE, credentialName: c}
";

/// IST0162: a server port that is neither a port nor a targetPort (named
/// targetPorts resolved) of the gateway pods' Service, located at the
/// server's `port.number`.
#[test]
fn gateway_port_not_on_service_is_ist0162_at_the_port() {
    let s = load(&[("pod.yaml", GATEWAY_POD), ("gw.yaml", GATEWAY)]);
    let w = with_code(&s, "IST0162");
    assert_eq!(w.len(), 1, "{:?}", s.warnings);
    assert!(
        w[0].starts_with("gw.yaml:11:20:")
            && w[0].contains("spec.servers[2].port.number")
            && w[0].contains("server port 9443")
            && w[0].contains("gw/edge (80→8080, 81→8081)"),
        "{}",
        w[0]
    );
}

/// With no gateway Deployment, a Gateway on `istio: ingressgateway` is checked
/// against Istio's default Service (15021, 80→8080, 443→8443); a selector
/// nothing matches is IST0101.
#[test]
fn default_ingress_gateway_service_and_missing_workload() {
    let gw = "apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 9080, name: http-wildcard, protocol: HTTP}
    hosts: ['*']
  - port: {number: 2379, name: mongo, protocol: MONGO}
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: typo}
spec:
  selector: {istio: ingresstypo}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
";
    let s = load(&[("gw.yaml", gw)]);
    let ports: Vec<bool> = ["port 9080", "port 2379", "port 80 "]
        .iter()
        .map(|p| with_code(&s, "IST0162").iter().any(|w| w.contains(p)))
        .collect();
    assert_eq!(ports, vec![true, true, false], "{:?}", s.warnings);
    let missing = with_code(&s, "IST0101");
    assert_eq!(missing.len(), 1, "{:?}", s.warnings);
    assert!(
        missing[0].contains("(Gateway default/typo)") && missing[0].contains("istio=ingresstypo")
    );
}

const VS_HEAD: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
";

/// IST0130/IST0131: a route after a catch-all; a match block identical to an
/// earlier one; a route whose every match repeats earlier ones.
#[test]
fn shadowed_routes_and_duplicate_matches() {
    let vs = format!(
        "{VS_HEAD}  - match: [{{headers: {{end-user: {{exact: jason}}}}}}]
    route: [{{destination: {{host: reviews, subset: v2}}}}]
  - match:
    - {{uri: {{prefix: /a}}}}
    - name: again
      headers: {{end-user: {{exact: jason}}}}
    route: [{{destination: {{host: reviews, subset: v1}}}}]
  - match: [{{uri: {{prefix: /a}}}}]
    route: [{{destination: {{host: reviews, subset: v3}}}}]
  - route: [{{destination: {{host: reviews, subset: v3}}}}]
  - route: [{{destination: {{host: reviews, subset: v1}}}}]
"
    );
    let s = load(&[("vs.yaml", &vs)]);
    let ineffective = with_code(&s, "IST0131");
    assert_eq!(ineffective.len(), 2, "{:?}", s.warnings);
    assert!(
        ineffective
            .iter()
            .any(|w| w.contains("spec.http[1].match[1]")
                && w.contains("route 1 match 1 is never used: route 0"))
    );
    assert!(
        ineffective
            .iter()
            .any(|w| w.contains("spec.http[2].match[0]"))
    );
    let unreachable = with_code(&s, "IST0130");
    assert_eq!(unreachable.len(), 2, "{:?}", s.warnings);
    assert!(
        unreachable
            .iter()
            .any(|w| w.contains("route 2 is never used: every match block"))
    );
    assert!(
        unreachable
            .iter()
            .any(|w| w.contains("route 4 is never used: route 3 before it matches every request"))
    );
}

/// IST0101 for a missing gateway and an undefined subset (the collector's
/// reference checks), with the code in the message.
#[test]
fn missing_gateway_and_subset_are_ist0101() {
    let vs = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [reviews.example.com]
  gateways: [nowhere]
  http:
  - route: [{destination: {host: reviews, subset: v9}}]
";
    let s = load(&[("vs.yaml", vs)]);
    let w = with_code(&s, "IST0101 ReferencedResourceNotFound");
    assert!(
        w.iter()
            .any(|w| w.contains("gateway default/nowhere does not exist")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("subset \"v9\"") && w.contains("503 (NC)")),
        "{w:?}"
    );
}

/// IST0109: two mesh-bound VirtualServices for one host (short name and FQDN
/// alike); the first by file order wins and each message says so; one bound
/// only to a gateway takes no part.
#[test]
fn conflicting_mesh_hosts_name_the_winner() {
    let a = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-a}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
";
    let b = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-b}
spec:
  hosts: [other, reviews.default.svc.cluster.local]
  gateways: [mesh]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge-only}
spec:
  hosts: [reviews]
  gateways: [g]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: g}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
";
    let s = load(&[("a.yaml", a), ("b.yaml", b)]);
    let w = with_code(&s, "IST0109");
    assert_eq!(w.len(), 2, "{:?}", s.warnings);
    assert!(
        w[0].starts_with("a.yaml:5:") && w[0].contains("this one wins"),
        "{}",
        w[0]
    );
    assert!(
        w[1].starts_with("b.yaml:5:")
            && w[1].contains("spec.hosts[1]")
            && w[1].contains("default/reviews-a wins in sidecars"),
        "{}",
        w[1]
    );
    assert!(!w.iter().any(|x| x.contains("edge-only")));
}
