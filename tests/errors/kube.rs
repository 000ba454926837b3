//! Kubernetes objects: what the API server would reject (names, duplicates,
//! selectors, port names) is an error; unknown fields are ignored as kubectl
//! would; a selector matching no pod is a warning.

use super::*;

#[test]
fn unknown_fields_in_kubernetes_objects_are_ignored() {
    let yaml = format!(
        "{SIM}---\n{}---\n{LOAD}",
        common::server_yaml("web", 1, 1, "{constant: 1ms}").replace(
            "replicas: 1",
            "replicas: 1\n  revisionHistoryLimit: 3\n  someFutureField: {x: 1}"
        )
    );
    common::load_ok(&yaml);
}

#[test]
fn duplicate_object() {
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        (
            "again.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
        ),
    ]);
    assert_eq!(
        e,
        "again.yaml:4:9: document 1 (Service default/web): metadata.name: duplicate Service \"web\": already defined at web.yaml:11"
    );
}

#[test]
fn deployment_selector_must_match_template_labels() {
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}").replace(
        "metadata: {labels: {app: web}}",
        "metadata: {labels: {app: webapp}}",
    );
    let d = diagnostics(&[("sim.yaml", SIM), ("web.yaml", &web)]);
    assert_eq!(
        d[0],
        "web.yaml:6:3: document 1 (Deployment default/web): spec.selector: `selector` does not match template `labels` (the API server rejects this Deployment)"
    );
}

#[test]
fn multi_port_service_needs_port_names() {
    let text = "apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
  - port: 81
";
    assert_eq!(
        with(text),
        "bad.yaml:9:5: document 1 (Service default/api): spec.ports[1].name: missing required field: every port of a Service with more than one port needs a name"
    );
}

#[test]
fn selector_matching_no_pod_is_a_warning_and_connections_fail() {
    let yaml = format!(
        "{SIM}---\n{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: ghost}}\nspec:\n  selector: {{app: nothing}}\n  ports: [{{port: 80}}]\n---\n{}",
        common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        LOAD.replace("http://web:8080/", "http://ghost/")
    );
    let s = common::load_ok(&yaml);
    assert_eq!(
        s.warnings,
        vec![
            "test.yaml:34:3: warning: document 5 (Service default/ghost): spec.selector: selector {\"app\": \"nothing\"} matches no pod: connections to this Service fail"
        ]
    );
    let m = common::run(&s);
    let l = &m.loads[0].pooled;
    assert!(l.requests > 50, "{l:?}");
    assert_eq!(
        l.failed, l.requests,
        "every request to a Service without endpoints fails"
    );
}

#[test]
fn invalid_object_names_are_rejected_like_the_api_server_does() {
    let e = with(
        "apiVersion: v1
kind: Service
metadata: {name: Reviews}
spec:
  selector: {app: web}
  ports: [{name: http, port: 9080}]
",
    );
    assert!(e.starts_with("bad.yaml:3:18: document 1 (Service default/Reviews): metadata.name: \"Reviews\" is not a valid Service name"), "{e}");
    assert!(e.contains("the API server would reject it"), "{e}");
}
