use super::*;
use crate::scenario::{Overrides, SourceFile, from_sources};

fn load(text: &str) -> Result<crate::scenario::Scenario, String> {
    let src = [SourceFile {
        path: "topology.yaml".into(),
        text: text.into(),
    }];
    let ov = Overrides {
        duration: Some(crate::engine::SimDuration::from_secs(1)),
        ..Overrides::default()
    };
    from_sources("t".into(), &src, &ov).map_err(|e| e.to_string())
}

fn err(text: &str) -> String {
    load(text).expect_err("should be refused")
}

#[test]
fn recognises_graphs_and_only_graphs() {
    let doc = |t: &str| {
        crate::scenario::raw::parse_documents(t).unwrap()[0]
            .root
            .clone()
    };
    assert!(is_graph(&doc("services: [{name: a}]\n")));
    assert!(is_graph(&doc(
        "apiVersion: v1alpha1\nkind: MockServiceGraph\nservices: []\n"
    )));
    assert!(!is_graph(&doc("kind: Service\nservices: []\n")));
    assert!(!is_graph(&doc("defaults: {}\n")));
}

#[test]
fn error_rate_is_the_mock_services_counter_period() {
    let every = |v: &str| {
        let s = load(&format!("services:\n- name: a\n  errorRate: {v}\n")).unwrap();
        match s.deployments[0].behaviour.error {
            Some(e) => {
                assert!(e.before_script);
                assert_eq!(e.status, 500);
                match e.trigger {
                    crate::scenario::spec::ErrorTrigger::Every(n) => Some(n),
                    t => panic!("{t:?}"),
                }
            }
            None => None,
        }
    };
    assert_eq!(every("\"5%\""), Some(20));
    assert_eq!(every("0.05"), Some(20));
    assert_eq!(every("\"30%\""), Some(3)); // 10000 / 3000
    // Go's uint64(0.29 * 10000) truncates 2899.9999999999995 to 2899.
    assert_eq!(every("0.29"), Some(3));
    assert_eq!(every("1"), Some(1));
    assert_eq!(every("\"0.01%\""), Some(10000));
    assert_eq!(every("0"), None);
}

#[test]
fn defaults_apply_where_a_service_is_silent() {
    let s = load(
        "defaults: {numReplicas: 3, errorRate: 10%, script: [{sleep: 5ms}]}\nservices:\n- name: a\n- name: b\n  numReplicas: 1\n  errorRate: 0\n  script: []\n",
    )
    .unwrap();
    let d = |n: &str| s.deployments.iter().find(|d| d.name == n).unwrap();
    assert_eq!(d("a").replicas, 3);
    assert!(d("a").behaviour.error.is_some());
    assert_eq!(d("a").behaviour.script.len(), 1);
    assert_eq!(d("b").replicas, 1);
    assert!(d("b").behaviour.error.is_none());
    assert!(d("b").behaviour.script.is_empty());
    assert_eq!(d("a").behaviour.workers, 1_000_000);
}

#[test]
fn isotopes_own_refusals_are_located_errors() {
    let e = err("services:\n- name: a\n  script:\n  - call: nobody\n");
    assert!(
        e.contains("topology.yaml:4:") && e.contains("cannot call undefined service \"nobody\""),
        "{e}"
    );
    let e = err("services:\n- name: a\n  script:\n  - - call: a\n    - - call: a\n");
    assert!(e.contains("may not be nested"), "{e}");
    let e = err("services:\n- name: a\n  errorRate: 0.00001\n");
    assert!(
        e.contains("topology.yaml:3:") && e.contains("divides by zero"),
        "{e}"
    );
    let e = err("services:\n- name: a\n  errorRate: 120%\n");
    assert!(e.contains("outside 0–100 %"), "{e}");
    let e = err("services:\n- name: a\n  script:\n  - call: {service: a, probability: 150}\n");
    assert!(e.contains("probability outside [0, 100]"), "{e}");
    let e = err("services:\n- name: a\n- name: a\n");
    assert!(
        e.contains("topology.yaml:3:") && e.contains("duplicate service name"),
        "{e}"
    );
    let e = err("services:\n- namespace: x\n");
    assert!(
        e.contains("services[0].name") || e.contains("name: missing"),
        "{e}"
    );
    let e = err("services:\n- name: a\n  script:\n  - sleep: 10 parsecs\n");
    assert!(
        e.contains("topology.yaml:4:") && e.contains("duration"),
        "{e}"
    );
    let e = err("services:\n- name: a\n  type: soap\n");
    assert!(e.contains("soap"), "{e}");
}

#[test]
fn calls_dial_the_hostname_and_global_reaches_the_named_service() {
    let s = load(
        "services:\n- name: a\n  namespace: demo1\n  script:\n  - call: {service: b, hostname: b.global:8080}\n  - call: {service: b, hostname: b.demo2.svc.cluster.local:8080, probability: 25, extra-header: {end-user: jason}}\n- name: b\n  namespace: demo2\n",
    )
    .unwrap();
    let a = s.deployments.iter().find(|d| d.name == "a").unwrap();
    let calls: Vec<_> = a
        .behaviour
        .script
        .iter()
        .map(|st| match st {
            crate::scenario::spec::Step::Call(c) => c.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let b = s
        .services
        .iter()
        .position(|x| x.name == "b" && x.namespace == "demo2")
        .unwrap();
    assert_eq!(calls[0].target.service, b);
    assert_eq!(calls[1].target.service, b);
    assert_eq!(calls[0].chance, crate::engine::rng::Chance::ALWAYS);
    assert_eq!(
        calls[1].chance,
        crate::engine::rng::Chance::from_probability(0.25)
    );
    assert!(
        calls[1]
            .headers
            .contains(&("end-user".to_string(), "jason".to_string()))
    );
}

#[test]
fn byte_sizes_read_as_isotope_reads_them() {
    assert_eq!(crate::engine::size::parse_bytes("128"), Ok(128));
    assert_eq!(crate::engine::size::parse_bytes("1 KB"), Ok(1024));
    assert_eq!(crate::engine::size::parse_bytes("16KiB"), Ok(16 * 1024));
    assert_eq!(crate::engine::size::parse_bytes("1K"), Ok(1024));
    assert_eq!(crate::engine::size::parse_bytes("2 MB"), Ok(2 << 20));
    assert!(crate::engine::size::parse_bytes("lots").is_err());
}
