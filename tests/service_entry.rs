//! ServiceEntry `endpoints` and `workloadSelector` at run time, under each
//! resolution as Istio 1.28 builds the cluster (`sim/istiod/entry_endpoints.rs`):
//! STATIC endpoints with weights and labels (subsets), DNS (every address
//! of the host) vs DNS_ROUND_ROBIN (LOGICAL_DNS: the first address only,
//! also as pods die), and a `workloadSelector` choosing Kubernetes pods.
//! The outside world: stand-in Services named by `Simulation.spec.externalHosts`
//! (`10.0.0.1` → api-a, `10.0.0.2` → api-b, `api.example.com` → api-dns,
//! whose three pods are Deployments dns-0, dns-1, dns-2 so each counts
//! apart). A client with a sidecar calls at 100/s for 10 s (1000 requests).

use crate::common::{self, code, load_rec, received};
use meshsim::scenario::Scenario;

fn app(name: &str, labels: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: external}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{{labels}}}}}\n  template:\n    metadata: {{labels: {{{labels}}}}}\n    spec:\n      containers: [{{name: api, image: api, ports: [{{containerPort: 80}}]}}]\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Workload\nmetadata: {{name: {name}, namespace: external}}\nspec:\n  workers: 100\n  serviceTime: {{constant: 1ms}}\n---\n"
    )
}

fn service(name: &str, sel: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: external}}\nspec:\n  selector: {{{sel}}}\n  ports: [{{name: http, port: 80}}]\n---\n"
    )
}

/// The world, a client calling `target`, the Istio objects `istio`, and
/// `extra` (lifecycle and the like) in the Simulation's spec.
fn scenario(target: &str, istio: &str, extra: &str) -> Scenario {
    // The app's DNS answer for the workloadSelector entry's host.
    let legacy = if target.contains("legacy.internal") {
        "    legacy.internal: legacy.default\n"
    } else {
        ""
    };
    let mut y = String::new();
    y += &app("api-a", "app: api-a");
    y += &service("api-a", "app: api-a");
    y += &app("api-b", "app: api-b");
    y += &service("api-b", "app: api-b");
    for i in 0..3 {
        y += &app(&format!("dns-{i}"), &format!("app: api-dns, idx: \"{i}\""));
    }
    y += &service("api-dns", "app: api-dns");
    y += &format!(
        "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: client}}\nspec:\n  target: {target}\n  sidecar: true\n  open: {{rate: 100, arrival: constant}}\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: se}}\nspec:\n  duration: 10s\n  warmup: 0s\n  seed: 1\n{extra}  externalHosts:\n    10.0.0.1: api-a.external\n    10.0.0.2: api-b.external\n    api.example.com: api-dns.external\n{legacy}  mesh: {{injectNamespaces: [default]}}\n---\n"
    );
    y += istio;
    common::load_texts(&[("se.yaml", &y)]).unwrap_or_else(|e| panic!("{e}"))
}

fn entry(resolution: &str, endpoints: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: api}}\nspec:\n  hosts: [api.example.com]\n  ports: [{{number: 80, name: http, protocol: HTTP}}]\n  location: MESH_EXTERNAL\n  resolution: {resolution}\n{endpoints}"
    )
}

const ROUND_ROBIN: &str = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api}\nspec:\n  host: api.example.com\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n";

/// Every request the client issued ended exactly once, and every Service
/// and workload's count adds up (the accounting invariant).
fn accounted(m: &meshsim::batch::Merged) {
    for o in &m.outcomes {
        for (i, r) in o.loads.iter().enumerate() {
            assert_eq!(r.requests, r.completed + r.failed + o.loads_in_flight[i]);
        }
        for (recs, fl) in [
            (&o.services, &o.services_in_flight),
            (&o.workloads, &o.workloads_in_flight),
        ] {
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.requests, r.completed + r.failed + fl[i]);
            }
        }
    }
}

fn dns_pods(m: &meshsim::batch::Merged, s: &Scenario) -> [u64; 3] {
    [0, 1, 2].map(|i| received(m, s, &format!("external/dns-{i}")))
}

/// STATIC endpoints with weights 3 and 1 under ROUND_ROBIN: Envoy's
/// weighted round robin (EDF) splits exactly 750 / 250; the host's own
/// stand-in (api.example.com) gets nothing — the endpoints are the hosts.
#[test]
fn service_entry_static_endpoints_weights() {
    let eps =
        "  endpoints:\n  - {address: 10.0.0.1, weight: 3}\n  - {address: 10.0.0.2, weight: 1}\n";
    let s = scenario(
        "http://api.example.com/",
        &(entry("STATIC", eps) + ROUND_ROBIN),
        "",
    );
    let m = common::run(&s);
    accounted(&m);
    let c = load_rec(&m, &s, "client");
    assert_eq!(code(c, 200), 1000);
    assert_eq!(received(&m, &s, "external/api-a"), 750);
    assert_eq!(received(&m, &s, "external/api-b"), 250);
    assert_eq!(dns_pods(&m, &s), [0, 0, 0]);
}

/// A DestinationRule subset selects endpoints by their `labels`: a route to
/// subset v2 reaches only the endpoint labelled version=v2.
#[test]
fn service_entry_subset_selects_endpoint_labels() {
    let eps = "  endpoints:\n  - {address: 10.0.0.1, labels: {version: v1}}\n  - {address: 10.0.0.2, labels: {version: v2}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api}\nspec:\n  host: api.example.com\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: api}\nspec:\n  hosts: [api.example.com]\n  http:\n  - route:\n    - destination: {host: api.example.com, subset: v2}\n";
    let s = scenario("http://api.example.com/", &entry("STATIC", eps), "");
    let m = common::run(&s);
    accounted(&m);
    assert_eq!(code(load_rec(&m, &s, "client"), 200), 1000);
    assert_eq!(received(&m, &s, "external/api-a"), 0);
    assert_eq!(received(&m, &s, "external/api-b"), 1000);
}

/// DNS (STRICT_DNS) balances over every address the host resolves to;
/// DNS_ROUND_ROBIN (LOGICAL_DNS) sends every new connection to the first.
#[test]
fn service_entry_dns_vs_dns_round_robin() {
    let s = scenario(
        "http://api.example.com/",
        &(entry("DNS", "") + ROUND_ROBIN),
        "",
    );
    let m = common::run(&s);
    accounted(&m);
    let per = dns_pods(&m, &s);
    assert_eq!(per.iter().sum::<u64>(), 1000);
    assert!(per.iter().all(|&n| (333..=334).contains(&n)), "{per:?}");
    let s = scenario(
        "http://api.example.com/",
        &(entry("DNS_ROUND_ROBIN", "") + ROUND_ROBIN),
        "",
    );
    let m = common::run(&s);
    accounted(&m);
    assert_eq!(dns_pods(&m, &s), [1000, 0, 0]);
}

/// LOGICAL_DNS with pods changing: dns-0 (the first address) is killed at
/// 5 s; once its endpoint is gone (1 s later) the first address is dns-1.
/// The requests of that second (98 of 100) fail to connect — the only
/// host is dead and the default retries on connect-failure find no other
/// (503 UF, URX) — then everything lands on dns-1; dns-2 never sees a
/// request.
#[test]
fn service_entry_logical_dns_follows_the_first_ready_address() {
    let chaos = "---\napiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata:\n  name: kill-dns-0\n  namespace: external\n  annotations: {meshsim.dev/start: 5s}\nspec:\n  action: pod-kill\n  mode: all\n  selector:\n    namespaces: [external]\n    labelSelectors: {idx: \"0\"}\n";
    let s = scenario(
        "http://api.example.com/",
        &(entry("DNS_ROUND_ROBIN", "") + ROUND_ROBIN + chaos),
        "  lifecycle: {endpointDelay: 1s, containerStart: 30s, appStartup: 1s}\n",
    );
    let m = common::run(&s);
    accounted(&m);
    let c = load_rec(&m, &s, "client");
    assert_eq!(dns_pods(&m, &s), [500, 402, 0]);
    // ≈ 1 s × 100/s: connect failures, retried on the same (only) host.
    assert_eq!(code(c, 503), 98);
    assert_eq!(common::flagged(c, "UF"), 98);
    assert_eq!(common::flagged(c, "URX"), 98);
}

/// `workloadSelector`: the entry's endpoints are the selected pods of the
/// entry's namespace (here `legacy`, 2 pods, reached through its Service's
/// endpoints); a call to legacy.internal lands on them. (The app's DNS
/// answer for legacy.internal — Istio's DNS proxy in a real mesh — is
/// played by `externalHosts: {legacy.internal: legacy.default}`.)
#[test]
fn service_entry_workload_selector_selects_pods() {
    let legacy = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: legacy}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: legacy}}\n  template:\n    metadata: {labels: {app: legacy}}\n    spec:\n      containers: [{name: legacy, image: legacy, ports: [{containerPort: 8080}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: legacy}\nspec:\n  selector: {app: legacy}\n  ports: [{name: http, port: 8080}]\n---\napiVersion: meshsim.dev/v1alpha1\nkind: Workload\nmetadata: {name: legacy}\nspec:\n  workers: 10\n  serviceTime: {constant: 1ms}\n---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: legacy}\nspec:\n  hosts: [legacy.internal]\n  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  workloadSelector: {labels: {app: legacy}}\n";
    let s = scenario("http://legacy.internal/", legacy, "");
    let m = common::run(&s);
    accounted(&m);
    assert_eq!(code(load_rec(&m, &s, "client"), 200), 1000);
    assert_eq!(received(&m, &s, "default/legacy"), 1000);
}
