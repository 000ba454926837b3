//! See tests/main.rs for what this module covers.
//!
//! Istio's own validation fixtures (`pkg/config/validation/testdata/crds/`,
//! copied from istio/istio master) through meshsim's Istio decoders, one
//! document at a time with its `_err` key stripped; the seed's Istio files
//! with Bookinfo; and the error/warning line of each rule meshsim ports.
//!
//! Where master and 1.28 differ, 1.28 wins:
//! * `destinationrule-valid.yaml` document 4 (`connectionPool.http.http2KeepAlive`):
//!   the field does not exist in istio/api 1.28 (`destination_rule.proto`
//!   @1.28.10), so it is an unknown field: accepted with a warning (the API server
//!   prunes it), never used.
//!
//! * `serviceentry-valid.yaml` document 1 writes `addresses: [1.2.3.4, 001:db8::]`:
//!   in a YAML 1.2 flow list `001:db8::]` is an implicit `001:db8:` key with a null
//!   value (Go's yaml reads a string); the ServiceEntry decoder reads such a
//!   one-key, null-valued mapping back as `001:db8::`.
//!
//! Every other fixture means the same in 1.28.

use crate::common;
use meshsim::engine::SimDuration;
use meshsim::scenario::spec::istio::*;
use meshsim::scenario::{self, LoadError, Overrides, Scenario, SourceFile};
use std::collections::BTreeMap;

fn ov() -> Overrides {
    Overrides {
        duration: Some(SimDuration::from_secs(10)),
        ..Default::default()
    }
}

fn load(files: &[(&str, String)]) -> Result<Scenario, LoadError> {
    let src: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.to_string(),
            text: t.clone(),
        })
        .collect();
    scenario::from_sources("istio".into(), &src, &ov())
}

/// The documents of a fixture file, `_err` lines removed, comment-only ones dropped.
fn documents(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for doc in text.split("\n---") {
        let invalid = doc.lines().any(|l| l.starts_with("_err:"));
        let kept: Vec<&str> = doc.lines().filter(|l| !l.starts_with("_err:")).collect();
        if kept.iter().any(|l| l.starts_with("kind:")) {
            out.push((kept.join("\n") + "\n", invalid));
        }
    }
    out
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid_accepted: usize,
    valid_rejected: usize,
    invalid_accepted: usize,
    invalid_rejected: usize,
}

#[test]
fn istio_validation_fixtures_per_kind() {
    let dir = common::shared().join("corpus/istio/pkg/config/validation/testdata/crds");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut problems = Vec::new();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        let file = p.file_name().unwrap().to_string_lossy().into_owned();
        for (i, (doc, invalid)) in documents(&text).into_iter().enumerate() {
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind: "))
                .unwrap()
                .trim()
                .to_string();
            let r = load(&[(&format!("{file}#{i}"), doc)]);
            let c = counts.entry(kind.clone()).or_default();
            match (invalid, &r) {
                (false, Ok(_)) => c.valid_accepted += 1,
                (false, Err(e)) => {
                    c.valid_rejected += 1;
                    problems.push(format!("{file} document {i} is valid but rejected:\n{e}"));
                }
                (true, Ok(_)) => {
                    c.invalid_accepted += 1;
                    if kind == "DestinationRule" || kind == "ServiceEntry" {
                        problems.push(format!("{file} document {i} is invalid but accepted"));
                    }
                }
                (true, Err(_)) => c.invalid_rejected += 1,
            }
        }
    }
    for (k, c) in &counts {
        eprintln!("{k}: {c:?}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Per kind: (valid accepted, invalid rejected, invalid accepted). Only
    // DestinationRule and ServiceEntry are checked by meshsim; the other kinds
    // are listed as not simulated, so their invalid documents load.
    let got: Vec<(String, usize, usize, usize)> = counts
        .iter()
        .map(|(k, c)| {
            (
                k.clone(),
                c.valid_accepted,
                c.invalid_rejected,
                c.invalid_accepted,
            )
        })
        .collect();
    let want: Vec<(String, usize, usize, usize)> = [
        ("AuthorizationPolicy", 2, 0, 2),
        ("DestinationRule", 4, 3, 0),
        ("EnvoyFilter", 5, 0, 3),
        ("PeerAuthentication", 2, 0, 6),
        ("ProxyConfig", 2, 0, 2),
        ("RequestAuthentication", 1, 0, 20),
        ("ServiceEntry", 5, 12, 0),
        ("Telemetry", 3, 0, 4),
        ("WasmPlugin", 4, 0, 15),
        ("WorkloadEntry", 5, 0, 7),
        ("WorkloadGroup", 2, 0, 3),
    ]
    .iter()
    .map(|(k, a, b, c)| (k.to_string(), *a, *b, *c))
    .collect();
    assert_eq!(got, want);
}

/// The master-only `http2KeepAlive` is an unknown field in 1.28: a warning.
#[test]
fn master_only_fields_warn_in_1_28() {
    let y = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy:\n    connectionPool:\n      http: {http2KeepAlive: {interval: 15s, timeout: 5s}}\n";
    let w = warnings_of(y);
    assert!(
        w.iter()
            .any(|x| x.contains("http2KeepAlive") && x.contains("not in Istio 1.28")),
        "{w:?}"
    );
}

fn corpus(rel: &str) -> (String, String) {
    let p = common::shared().join("corpus/istio").join(rel);
    (rel.to_string(), std::fs::read_to_string(&p).unwrap())
}

/// Every seed Istio file loads unchanged next to Bookinfo and its subsets.
#[test]
fn every_seed_istio_file_loads_with_bookinfo() {
    let bookinfo = corpus("samples/bookinfo/platform/kube/bookinfo.yaml");
    let subsets = corpus("samples/bookinfo/networking/destination-rule-all.yaml");
    let seed = common::shared().join("seed");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        if !text.contains("networking.istio.io") {
            continue;
        }
        n += 1;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let mut files = vec![(name.as_str(), text.clone())];
        files.push((bookinfo.0.as_str(), bookinfo.1.clone()));
        // 05 and 09 define their own DestinationRules for hosts the subsets file has.
        if !name.starts_with("05-") && !name.starts_with("09-") {
            files.push((subsets.0.as_str(), subsets.1.clone()));
        }
        match load(&files) {
            Ok(s) => {
                let c = &s.istio;
                let objects = c.gateways.len()
                    + c.virtual_services.len()
                    + c.destination_rules.len()
                    + c.sidecars.len();
                assert!(objects >= 1, "{name}: no Istio object decoded");
                assert!(
                    !s.warnings
                        .iter()
                        .any(|w| w.contains("defined by no DestinationRule")),
                    "{name}: {:?}",
                    s.warnings
                );
            }
            Err(e) => panic!("{name} should load:\n{e}"),
        }
    }
    assert_eq!(n, 13);
}

fn errors_of(yaml: &str) -> Vec<String> {
    match load(&[("t.yaml", yaml.to_string())]) {
        Ok(_) => Vec::new(),
        Err(LoadError::Invalid(d)) => d.errors().map(|e| e.to_string()).collect(),
        Err(e) => panic!("{e}"),
    }
}

fn warnings_of(yaml: &str) -> Vec<String> {
    match load(&[("t.yaml", yaml.to_string())]) {
        Ok(s) => s.warnings,
        Err(e) => panic!("should load:\n{e}"),
    }
}

fn vs(http: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: r}}\nspec:\n  hosts: [reviews]\n  http:\n{http}"
    )
}

/// What istiod rejects is a located error (file:line:col, document, kind/name, path).
#[test]
fn istiod_rejections_are_located_errors() {
    let cases: &[(&str, String, &str)] = &[
        (
            "negative weight",
            vs("  - route:\n    - destination: {host: a}\n      weight: -1\n    - destination: {host: b}\n      weight: 101\n"),
            "t.yaml:9:15: document 1 (VirtualService default/r): spec.http[0].route[0].weight: weight -1 < 0",
        ),
        (
            "all-zero weights",
            vs("  - route:\n    - destination: {host: a}\n      weight: 0\n    - destination: {host: b}\n      weight: 0\n"),
            "total destination weight = 0",
        ),
        (
            "bad regex",
            vs("  - match:\n    - uri: {regex: \"a(\"}\n    route:\n    - destination: {host: a}\n"),
            "Istio uses RE2 style regex",
        ),
        (
            "bad duration",
            vs("  - timeout: 0.5ms\n    route:\n    - destination: {host: a}\n"),
            "duration must be greater than 1ms",
        ),
        (
            "perTryTimeout below 1ms",
            vs("  - retries: {attempts: 2, perTryTimeout: 100us}\n    route:\n    - destination: {host: a}\n"),
            "duration must be greater than 1ms",
        ),
        (
            "retryOn tokens are not trimmed",
            vs("  - retries: {attempts: 2, retryOn: \"5xx, reset\"}\n    route:\n    - destination: {host: a}\n"),
            "\" reset\" is not a valid retryOn policy",
        ),
        (
            "fault without delay or abort",
            vs("  - fault: {}\n    route:\n    - destination: {host: a}\n"),
            "must have an abort and/or a delay",
        ),
        (
            "no route",
            vs("  - name: x\n"),
            "HTTP route, redirect or direct_response is required",
        ),
        (
            "wildcard host bound to mesh",
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [\"*\"]\n  http:\n  - route:\n    - destination: {host: a}\n".into(),
            "wildcard host * is not allowed",
        ),
        (
            "duplicate subset names",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: reviews\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v1, labels: {version: v2}}\n".into(),
            "duplicate subset names: v1",
        ),
        (
            "duplicate server port names",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n  - port: {number: 81, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n".into(),
            "port names in servers must be unique",
        ),
        (
            "bad gateway host",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"ns/foo*\"]\n".into(),
            "invalid",
        ),
        (
            "two Istio objects with one name",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: a}\n---\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: d}\nspec: {host: b}\n".into(),
            "duplicate DestinationRule \"d\"",
        ),
        (
            "HTTPS server without tls",
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [\"*\"]\n".into(),
            "server must have TLS settings",
        ),
        (
            "egress host without namespace",
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s}\nspec:\n  egress:\n  - hosts: [\"reviews\"]\n".into(),
            "host must be of form namespace/dnsName",
        ),
        (
            "DYNAMIC_DNS needs wildcard hosts and HTTP ports (1.28)",
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: s}\nspec:\n  hosts: [api.example.com]\n  resolution: DYNAMIC_DNS\n  ports: [{number: 443, name: tls, protocol: TLS}]\n".into(),
            "only HTTP protocol is supported for resolution type DYNAMIC_DNS",
        ),
        (
            "maglev table size",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 9223372036854775807}}}}\n".into(),
            "maglev tableSize must be a prime number",
        ),
        (
            "unsupported apiVersion",
            "apiVersion: networking.istio.io/v2\nkind: Sidecar\nmetadata: {name: s}\nspec: {}\n".into(),
            "Istio 1.28 serves",
        ),
    ];
    for (what, yaml, want) in cases {
        let e = errors_of(yaml);
        assert!(
            e.iter().any(|x| x.contains(want)),
            "{what}: want {want:?} in {e:?}"
        );
    }
}

/// What istiod accepts and then fails at run time is a warning.
#[test]
fn accepted_but_broken_is_a_warning() {
    let w = warnings_of(&vs(
        "  - route:\n    - destination: {host: reviews, subset: v9}\n      weight: 60\n    - destination: {host: reviews, subset: v9}\n      weight: 30\n",
    ));
    assert!(w.iter().any(|x| x.contains("sum to 90")), "{w:?}");
    assert!(w.iter().any(|x| x.contains("503 (NC)")), "{w:?}");
    let w = warnings_of(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [a.example.com]\n  gateways: [missing]\n  http:\n  - route:\n    - destination: {host: a}\n",
    );
    assert!(
        w.iter()
            .any(|x| x.contains("gateway default/missing does not exist")),
        "{w:?}"
    );
    let w = warnings_of(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}\n",
    );
    assert!(w.iter().any(|x| x.contains("LEAST_REQUEST")), "{w:?}");
    let w = warnings_of(&vs(
        "  - route:\n    - destination: {host: a}\n  - match: [{uri: {prefix: /x}}]\n    route:\n    - destination: {host: b}\n",
    ));
    assert!(
        w.iter().any(|x| x.contains("route 1 is never used")),
        "{w:?}"
    );
    let w = warnings_of(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy: {loadBalancr: {simple: RANDOM}, tls: {mode: DISABLE}}\n",
    );
    assert!(
        w.iter()
            .any(|x| x.contains("did you mean \"loadBalancer\"")),
        "{w:?}"
    );
}

#[test]
fn decoded_shapes() {
    let s = load(&[(
        "t.yaml",
        std::fs::read_to_string(common::shared().join("seed/03-vs-bookinfo-rule.yaml")).unwrap(),
    )])
    .unwrap();
    let v = &s.istio.virtual_services[0];
    assert_eq!(v.gateways, ["some-config-namespace/my-gateway", "mesh"]);
    let HttpAction::Route(r) = &v.http[1].action else {
        panic!()
    };
    assert_eq!(r[0].weight, 80);
    assert_eq!(r[0].destination.port, Some(9080));
    assert_eq!(
        v.http[0].matches[0].headers["cookie"],
        Some(StringMatch::Exact("user=dev-123".into()))
    );
    let s = load(&[(
        "t.yaml",
        std::fs::read_to_string(common::shared().join("seed/10-vs-ratings-fault-delay.yaml"))
            .unwrap(),
    )])
    .unwrap();
    let v = &s.istio.virtual_services[0];
    assert_eq!(v.hosts, ["ratings.default.svc.cluster.local"]);
    let d = v.http[0].fault.as_ref().unwrap().delay.as_ref().unwrap();
    assert_eq!(
        (d.fixed_delay, d.percentage),
        (SimDuration::from_secs(5), Ppm(1000))
    );
    // istiod truncates (`uint32(p.Value * 10000)`): 0.57 % is 5,699 ppm
    // (0.57 × 10,000 = 5,699.999… in floating point), not 5,700.
    let text =
        std::fs::read_to_string(common::shared().join("seed/10-vs-ratings-fault-delay.yaml"))
            .unwrap()
            .replace("value: 0.1", "value: 0.57");
    let s = load(&[("t.yaml", text)]).unwrap();
    let d = s.istio.virtual_services[0].http[0]
        .fault
        .as_ref()
        .unwrap()
        .delay
        .as_ref()
        .unwrap();
    assert_eq!(d.percentage, Ppm(5_699));
}

/// Namespace labels, `Simulation.spec.mesh.injectNamespaces`, the mesh ConfigMap.
#[test]
fn injection_and_mesh_config() {
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec:\n  duration: 10s\n  mesh: {injectNamespaces: [shop]}\n";
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio-injection: enabled}\n";
    let app = |name: &str, ns: &str, extra: &str| {
        common::app_yaml(name, 1)
            .replace(
                "metadata: {name: ",
                &format!("metadata: {{namespace: {ns}, name: "),
            )
            .replace(
                "metadata: {labels: {app: ",
                &format!("metadata: {{{extra}labels: {{app: "),
            )
    };
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n    rootNamespace: istio-config\n    defaultHttpRetryPolicy:\n      attempts: 1\n";
    let s = load(&[
        ("sim.yaml", sim.into()),
        ("ns.yaml", ns.into()),
        ("a.yaml", app("a", "bookinfo", "")),
        (
            "b.yaml",
            app(
                "b",
                "bookinfo",
                "annotations: {sidecar.istio.io/inject: \"false\"}, ",
            ),
        ),
        ("c.yaml", app("c", "shop", "")),
        ("d.yaml", app("d", "default", "")),
        ("mesh.yaml", mesh.into()),
    ])
    .unwrap();
    let inj: Vec<(String, Injection)> = s
        .deployments
        .iter()
        .zip(&s.istio.injection)
        .map(|(d, i)| (d.name.clone(), *i))
        .collect();
    assert_eq!(
        inj,
        [
            ("a".to_string(), Injection::NamespaceEnabled),
            ("b".to_string(), Injection::PodOptOut),
            ("c".to_string(), Injection::NamespaceEnabled),
            ("d".to_string(), Injection::NotSelected),
        ]
    );
    let m = &s.istio.mesh;
    assert_eq!(m.outbound_traffic_policy, OutboundMode::RegistryOnly);
    assert_eq!(m.root_namespace, "istio-config");
    assert_eq!(m.default_http_retry_policy.as_ref().unwrap().attempts, 1);
    // A bad value inside the embedded string points at the file's line.
    let bad = mesh.replace("REGISTRY_ONLY", "SOMETIMES");
    let Err(LoadError::Invalid(d)) = load(&[("sim.yaml", sim.into()), ("mesh.yaml", bad)]) else {
        panic!()
    };
    let e: Vec<String> = d.errors().map(|e| e.to_string()).collect();
    assert!(e.iter().any(|x| x.starts_with("mesh.yaml:7:13:")), "{e:?}");
}

#[test]
fn unsimulated_kinds_are_grouped() {
    let y = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {}\n---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\nspec: {}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}\n";
    let s = load(&[("t.yaml", y.into())]).unwrap();
    assert_eq!(
        meshsim::scenario::istio::unsimulated_listing(&s.istio.unsimulated),
        [
            "not simulated — changes traffic in Istio: 1 AuthorizationPolicy",
            "not simulated — no traffic effect: 1 ServiceAccount, 1 Telemetry"
        ]
    );
}

/// `-n NS` places namespace-less objects like `kubectl apply -n NS`: short
/// hosts then resolve in NS; an object naming another namespace is refused.
#[test]
fn namespace_flag_places_objects() {
    let seed =
        std::fs::read_to_string(common::shared().join("seed/13-vs-reviews-weighted-75-25.yaml"))
            .unwrap();
    let ov = Overrides {
        namespace: Some("bookinfo".into()),
        ..ov()
    };
    let src = [SourceFile {
        path: "13.yaml".into(),
        text: seed,
    }];
    let s = scenario::from_sources("n".into(), &src, &ov).unwrap();
    let v = &s.istio.virtual_services[0];
    assert_eq!(v.meta.namespace, "bookinfo");
    assert_eq!(v.hosts, ["reviews.bookinfo.svc.cluster.local"]);
    let src = [SourceFile {
        path: "other.yaml".into(),
        text: "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: shop}\nspec: {egress: [{hosts: [\"./*\"]}]}\n".into(),
    }];
    let Err(LoadError::Invalid(d)) = scenario::from_sources("n".into(), &src, &ov) else {
        panic!()
    };
    assert!(
        d.errors().any(|e| e.message.contains("given with -n")),
        "{d:?}"
    );
}

/// Two mesh-bound VirtualServices for one host: IST0109 on both, naming the winner.
#[test]
fn several_virtual_services_for_one_host_warn() {
    let two = format!(
        "{}---\n{}",
        vs("  - route:\n    - destination: {host: a}\n"),
        vs("  - route:\n    - destination: {host: b}\n").replace("name: r}", "name: r2}")
    );
    let w = warnings_of(&two);
    assert!(
        w.iter().any(|x| x.contains("(VirtualService default/r2)")
            && x.contains("IST0109")
            && x.contains("default/r wins in sidecars")),
        "{w:?}"
    );
}

/// VS `retries.backoff` / `retryIgnorePreviousHosts` and DR `retryBudget`
/// (istio/api 1.28.10) decode into the spec; what 1.28 lacks is a warning.
#[test]
fn retry_fields_of_1_28() {
    let s = load(&[(
        "t.yaml",
        vs("  - route:\n    - destination: {host: a}\n    retries: {attempts: 3, backoff: 100ms, retryIgnorePreviousHosts: false}\n  - route:\n    - destination: {host: b}\n    retries: {attempts: 1}\n"),
    )])
    .unwrap();
    let r: Vec<_> = s.istio.virtual_services[0]
        .http
        .iter()
        .map(|h| {
            let r = h.retries.as_ref().unwrap();
            (r.attempts, r.backoff, r.retry_ignore_previous_hosts)
        })
        .collect();
    assert_eq!(
        r,
        [
            (3, Some(SimDuration::from_millis(100)), Some(false)),
            (1, None, None)
        ]
    );
    // MeshConfig's default reads the same fields.
    let mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    defaultHttpRetryPolicy:\n      attempts: 4\n      backoff: 2s\n      retryIgnorePreviousHosts: true\n";
    let s = load(&[("mesh.yaml", mesh.into())]).unwrap();
    let m = s.istio.mesh.default_http_retry_policy.unwrap();
    assert_eq!(
        (m.attempts, m.backoff, m.retry_ignore_previous_hosts),
        (4, Some(SimDuration::from_secs(2)), Some(true))
    );

    // A trafficPolicy with only a retryBudget is valid (it counts as a field);
    // a subset's own budget is read too; unset fields stay unset.
    let dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy:\n    retryBudget: {percent: 12.5, minRetryConcurrency: 5}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n      retryBudget: {}\n  - name: v2\n    labels: {version: v2}\n    trafficPolicy:\n      retryBudget: {percent: null}\n";
    let s = load(&[("t.yaml", dr.into())]).unwrap();
    let d = &s.istio.destination_rules[0];
    let budget = |t: &Option<TrafficPolicy>| t.as_ref().unwrap().retry_budget.unwrap();
    assert_eq!(
        budget(&d.traffic_policy),
        RetryBudget {
            percent: Some(Ppm(125_000)),
            min_retry_concurrency: 5
        }
    );
    for sub in &d.subsets {
        assert_eq!(
            budget(&sub.traffic_policy),
            RetryBudget {
                percent: None,
                min_retry_concurrency: 0
            },
            "{}",
            sub.name
        );
    }
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // 1.28 has no `budgetInterval` (master only) and no budget per port:
    // unknown fields, accepted with a warning (the API server prunes them).
    let dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: r\n  trafficPolicy:\n    retryBudget: {percent: 10, budgetInterval: 5s}\n    portLevelSettings:\n    - port: {number: 80}\n      tls: {mode: DISABLE}\n      retryBudget: {percent: 50}\n";
    let s = load(&[("t.yaml", dr.into())]).unwrap();
    let w = &s.warnings;
    assert!(
        w.iter()
            .any(|x| x.contains("budgetInterval") && x.contains("not in Istio 1.28")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|x| x.contains("portLevelSettings[0]")
            && x.contains("retryBudget")
            && x.contains("not in Istio 1.28")),
        "{w:?}"
    );
    let tp = s.istio.destination_rules[0]
        .traffic_policy
        .as_ref()
        .unwrap();
    assert_eq!(tp.retry_budget.unwrap().percent, Some(Ppm(100_000)));
    assert_eq!(tp.port_level_settings[0].policy.retry_budget, None);
    // A port-level entry with nothing but a budget sets nothing 1.28 knows.
    let e = errors_of(&dr.replace("      tls: {mode: DISABLE}\n", ""));
    assert!(
        e.iter().any(|x| x.contains("spec.trafficPolicy.portLevelSettings[0]: port traffic policy must have at least one field")),
        "{e:?}"
    );
}

/// `backoff` / `retryIgnorePreviousHosts` next to `attempts: 0` pass
/// istiod's check (it names only perTryTimeout, retryOn,
/// retryRemoteLocalities) and do nothing: a note, not an error.
#[test]
fn retry_extras_with_zero_attempts_are_a_note() {
    let y =
        vs("  - route:\n    - destination: {host: a}\n    retries: {attempts: 0, backoff: 1s}\n");
    let s = load(&[("t.yaml", y)]).unwrap();
    assert_eq!(
        s.istio.virtual_services[0].http[0]
            .retries
            .as_ref()
            .unwrap()
            .backoff,
        Some(SimDuration::from_secs(1))
    );
    assert_eq!(
        s.warnings,
        [
            "t.yaml:9:5: note: document 1 (VirtualService default/r): spec.http[0].retries: backoff and retryIgnorePreviousHosts do nothing when attempts is 0 (retries disabled)"
        ]
    );
    let e = errors_of(&vs(
        "  - route:\n    - destination: {host: a}\n    retries: {attempts: 0, perTryTimeout: 1s}\n",
    ));
    assert!(
        e.iter()
            .any(|x| x.contains("http retry policy configured when attempts are set to 0")),
        "{e:?}"
    );
}
