//! See tests/main.rs for what this module covers.
//!
//! Every expected line below was checked by hand against its input: the line
//! and column are 1-based and point at the offending value, at the key of a
//! mapping or list the error is about, or (for a missing field) at the key of
//! the mapping it is missing from.

use crate::common;
use meshsim::scenario::{self, LoadError, Overrides, SourceFile};

/// The rendered diagnostics (errors and warnings) of an invalid scenario.
fn diagnostics(files: &[(&str, &str)]) -> Vec<String> {
    match common::load_texts(files) {
        Ok(_) => panic!("scenario should be invalid"),
        Err(LoadError::Invalid(d)) => d.items.iter().map(|d| d.to_string()).collect(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The one error of an invalid scenario (warnings ignored).
fn the_error(files: &[(&str, &str)]) -> String {
    match common::load_texts(files) {
        Ok(_) => panic!("scenario should be invalid"),
        Err(LoadError::Invalid(d)) => {
            let errs: Vec<String> = d.errors().map(|d| d.to_string()).collect();
            assert_eq!(
                errs.len(),
                1,
                "expected exactly one error, got:\n{}",
                errs.join("\n")
            );
            errs[0].clone()
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

const SIM: &str = "apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: sim}
spec: {duration: 10s}
";

const LOAD: &str = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: 10}
";

/// A valid scenario plus `extra` (a file named bad.yaml).
fn with(extra: &str) -> String {
    the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        ("bad.yaml", extra),
    ])
}

#[test]
fn malformed_yaml_names_file_document_and_kind() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports: [{name: http, port: 80
  selector: {app: web}
";
    assert_eq!(
        with(text),
        "bad.yaml:10:11: document 2 (Service default/broken): invalid YAML: unclosed bracket '{'"
    );
}

#[test]
fn negative_rate() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open:
    rate: -5
";
    assert_eq!(
        with(text),
        "bad.yaml:7:11: document 1 (Load default/users): spec.open.rate: -5, must be > 0"
    );
}

#[test]
fn missing_required_field_points_at_the_parent_key() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata:
  name: users
spec:
  open:
    rate: 5
";
    assert_eq!(
        with(text),
        "bad.yaml:5:1: document 1 (Load default/users): spec.target: missing required field"
    );
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata:
  name: users
spec:
  target: http://web:8080/
  closed:
    qps: 5
";
    assert_eq!(
        with(text),
        "bad.yaml:7:3: document 1 (Load default/users): spec.closed.connections: missing required field"
    );
}

#[test]
fn missing_metadata_name() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata:
  namespace: default
spec: {target: http://web:8080/, open: {rate: 5}}
";
    assert_eq!(
        with(text),
        "bad.yaml:3:1: document 1 (Load): metadata.name: missing required field"
    );
}

#[test]
fn unknown_field_in_meshsim_kind_suggests_the_right_one() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {name: api}
spec:
  deployment: api
  wrokers: 4
  serviceTime: {constant: 1ms}
";
    let text = format!(
        "{}---\n{text}",
        common::server_yaml("api", 1, 1, "{constant: 1ms}")
            .split("---\napiVersion: meshsim")
            .next()
            .unwrap()
    );
    let e = with(&text);
    assert_eq!(
        e,
        "bad.yaml:23:3: document 3 (Workload default/api): spec.wrokers: unknown field (did you mean \"workers\"?); known fields: deployment, selector, workers, queue, holdWorkerDuringCalls, serviceTime, script, errors"
    );
}

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
fn bad_duration_syntax() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: 5}
  start: 10 seconds
";
    assert_eq!(
        with(text),
        "bad.yaml:7:10: document 1 (Load default/users): spec.start: invalid duration \"10 seconds\": unknown unit \" seconds\" (use h, m, s, ms, us or ns)"
    );
}

#[test]
fn negative_duration() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: 5}
  start: -5s
";
    assert_eq!(
        with(text),
        "bad.yaml:7:10: document 1 (Load default/users): spec.start: -5s, must be ≥ 0"
    );
}

#[test]
fn unknown_distribution() {
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{weibull: {scale: 1ms}}"),
        ),
    ]);
    assert_eq!(
        e,
        "web.yaml:23:17: document 3 (Workload default/web): spec.serviceTime.weibull: unknown distribution \"weibull\"; use constant, exponential, lognormal, gamma, erlang or empirical"
    );
}

#[test]
fn wrong_type() {
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}")
                .replace("workers: 1", "workers: \"four\""),
        ),
    ]);
    assert_eq!(
        e,
        "web.yaml:22:12: document 3 (Workload default/web): spec.workers: \"four\", expected an integer"
    );
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}")
                .replace("replicas: 1", "replicas: [3]"),
        ),
    ]);
    assert_eq!(
        e,
        "web.yaml:5:3: document 1 (Deployment default/web): spec.replicas: a list, expected an integer"
    );
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
fn warmup_not_shorter_than_duration() {
    let e = the_error(&[(
        "sim.yaml",
        "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: sim}\nspec:\n  duration: 10s\n  warmup: 1m\n",
    )]);
    assert_eq!(
        e,
        "sim.yaml:6:11: document 1 (Simulation sim): spec.warmup: 60s, must be shorter than duration 10s"
    );
}

#[test]
fn unresolvable_call_host() {
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}").replace(
        "  serviceTime: {constant: 1ms}\n",
        "  script:\n  - compute: {constant: 1ms}\n  - call:\n      host: reviews.prod\n      path: /r\n",
    );
    let e = the_error(&[("sim.yaml", SIM), ("web.yaml", &web)]);
    assert_eq!(
        e,
        "web.yaml:26:13: document 3 (Workload default/web): spec.script[1].call.host: host \"reviews.prod\" does not resolve: no Service \"reviews\" in namespace \"prod\""
    );
}

#[test]
fn unresolvable_load_target_port() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:9090/
  open: {rate: 5}
";
    assert_eq!(
        with(text),
        "bad.yaml:5:11: document 1 (Load default/users): spec.target: Service default/web has no port 9090 (ports: 8080)"
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
fn unbounded_call_cycle() {
    let call =
        |to: &str| format!("  script:\n  - compute: {{constant: 1ms}}\n  - call: {{host: {to}}}\n");
    let a = common::server_yaml("a", 1, 1, "x").replace("  serviceTime: x\n", &call("b"));
    let b = common::server_yaml("b", 1, 1, "x").replace("  serviceTime: x\n", &call("a"));
    let e = the_error(&[("sim.yaml", SIM), ("a.yaml", &a), ("b.yaml", &b)]);
    assert_eq!(
        e,
        "a.yaml:25:18: document 3 (Workload default/a): spec.script[1].call.host: unbounded call cycle default/a → default/b → default/a: set maxDepth on a call in the cycle"
    );
    // A bound anywhere on the cycle makes it legal.
    let b = b.replace("{host: a}", "{host: a, maxDepth: 3}");
    common::load_texts(&[("sim.yaml", SIM), ("a.yaml", &a), ("b.yaml", &b)]).unwrap();
}

#[test]
fn unknown_meshsim_kind() {
    let text = "apiVersion: meshsim.dev/v1alpha1\nkind: Lode\nmetadata: {name: users}\nspec: {}\n";
    assert_eq!(
        with(text),
        "bad.yaml:2:7: document 1 (Lode default/users): kind: \"Lode\" is not a meshsim kind (Simulation, Workload, Load)"
    );
}

#[test]
fn document_that_is_not_an_object() {
    let text = "# a list, not an object\n---\n- a\n- b\n";
    assert_eq!(
        with(text),
        "bad.yaml:3:1: document 1: a list is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)"
    );
    let text = "---\n---\nmeshNetworks: {}\n";
    assert_eq!(
        with(text),
        "bad.yaml:3:1: document 2: kind: missing required field (every document must be a Kubernetes object with apiVersion and kind)"
    );
}

/// Issue 3's done-when: malformed YAML, a negative rate and a missing required
/// field, each in its own document, are all reported, sorted by place.
#[test]
fn every_problem_is_reported_in_order() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: -1}
---
apiVersion: v1
kind: Service
metadata: {name: broken
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: more}
spec:
  closed: {connections: 0}
";
    let d = diagnostics(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        ("bad.yaml", text),
    ]);
    assert_eq!(
        d,
        vec![
            "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: -1, must be > 0",
            "bad.yaml:10:11: document 2: invalid YAML: unclosed bracket '{'",
            "bad.yaml:15:1: document 3 (Load default/more): spec.target: missing required field",
            "bad.yaml:16:25: document 3 (Load default/more): spec.closed.connections: 0, must be ≥ 1",
        ]
    );
}

#[test]
fn several_errors_in_one_object_and_across_files() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: sim}
spec:
  duration: 0s
  replications: 0
  sed: 4
";
    let d = diagnostics(&[("sim.yaml", text)]);
    assert_eq!(
        d,
        vec![
            "sim.yaml:5:13: document 1 (Simulation sim): spec.duration: 0s, must be > 0",
            "sim.yaml:6:17: document 1 (Simulation sim): spec.replications: 0, must be ≥ 1",
            "sim.yaml:7:3: document 1 (Simulation sim): spec.sed: unknown field (did you mean \"seed\"?); known fields: duration, warmup, seed, replications",
        ]
    );
}

#[test]
fn missing_duration_is_reported_once() {
    let e = the_error(&[(
        "web.yaml",
        &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
    )]);
    assert_eq!(
        e,
        "(scenario): spec.duration: missing required field: give a Simulation object with spec.duration, or --duration"
    );
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: s}\nspec:\n  seed: 3\n";
    let e = the_error(&[("sim.yaml", sim)]);
    assert_eq!(
        e,
        "sim.yaml:4:1: document 1 (Simulation s): spec.duration: missing required field: give a Simulation object with spec.duration, or --duration"
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

/// Overrides are checked against the scenario too (warm-up vs --duration).
#[test]
fn warmup_against_duration_override() {
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: sim}\nspec:\n  duration: 1m\n  warmup: 20s\n";
    let src = [SourceFile {
        path: "sim.yaml".into(),
        text: sim.into(),
    }];
    let ov = Overrides {
        duration: Some(meshsim::engine::SimDuration::from_secs(10)),
        ..Default::default()
    };
    let Err(LoadError::Invalid(d)) = scenario::from_sources("t".into(), &src, &ov) else {
        panic!("should be invalid")
    };
    assert_eq!(
        d.items[0].to_string(),
        "sim.yaml:6:11: document 1 (Simulation sim): spec.warmup: 20s, must be shorter than duration 10s (--duration)"
    );
}
