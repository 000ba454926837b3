//! The YAML itself: syntax errors named by file, document and kind; values of
//! the wrong type; several problems reported together, sorted by place; and
//! YAML's own traps (YAML 1.1 booleans, `.nan`, `1e400`, u64 seeds, huge names).

use super::*;

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
            "bad.yaml:16:25: document 3 (Load default/more): spec.closed.connections: 0, must be in 1..=1000000",
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
            "sim.yaml:6:17: document 1 (Simulation sim): spec.replications: 0, must be in 1..=100000",
            "sim.yaml:7:3: document 1 (Simulation sim): spec.sed: unknown field (did you mean \"seed\"?); known fields: duration, warmup, seed, replications, mesh, assertions, lifecycle, events, externalHosts",
        ]
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

/// `.nan` and `1e400` are read, then rejected where a number is expected,
/// naming the object and the field (not "invalid YAML" without either).
#[test]
fn non_finite_numbers_name_the_object_and_field() {
    assert_eq!(
        with(&LOAD.replace("rate: 10", "rate: .nan")),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: .nan, expected a number (not a number)"
    );
    assert_eq!(
        with(&LOAD.replace("rate: 10", "rate: 1e400")),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: .inf, expected a number (infinite: a literal beyond ±1.8e308, such as 1e400, reads as .inf)"
    );
}

/// u64 seeds are read exactly: the largest is accepted, one more is not, and
/// the message does not print a rounded number as if it were the input.
#[test]
fn u64_seeds_are_read_exactly() {
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}");
    let sim = SIM.replace("duration: 10s", "duration: 10s, seed: 18446744073709551615");
    let s = common::load_texts(&[("sim.yaml", &sim), ("web.yaml", &web)]).unwrap();
    assert_eq!(s.run.seed, u64::MAX);
    let sim = SIM.replace("duration: 10s", "duration: 10s, seed: 18446744073709551616");
    assert_eq!(
        the_error(&[("sim.yaml", &sim), ("web.yaml", &web)]),
        "sim.yaml:4:29: document 1 (Simulation sim): spec.seed: 1.8447e19 (a whole number too large to read exactly), expected a whole number from 0 to 18446744073709551615"
    );
    let sim = SIM.replace("duration: 10s", "duration: 10s, seed: -1");
    assert_eq!(
        the_error(&[("sim.yaml", &sim), ("web.yaml", &web)]),
        "sim.yaml:4:29: document 1 (Simulation sim): spec.seed: -1, must be ≥ 0"
    );
}

/// `name: n` reads as false in YAML 1.1: one error that says so, and no
/// follow-on error ("missing required field", "needs at least one node").
#[test]
fn an_unquoted_yaml_1_1_boolean_says_so_and_suggests_quoting() {
    assert_eq!(
        with("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\n"),
        "bad.yaml:3:18: document 1 (ConfigMap): metadata.name: false, expected a string: an unquoted n, no, off or false is a YAML 1.1 boolean (as kubectl reads it); quote the value to keep it a string"
    );
    assert_eq!(
        with(
            "apiVersion: meshsim.dev/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  nodes:\n  - name: yes\n"
        ),
        "bad.yaml:6:11: document 1 (Cluster c): spec.nodes[0].name: true, expected a string: an unquoted y, yes, on or true is a YAML 1.1 boolean (as kubectl reads it); quote the value to keep it a string"
    );
}

/// A 1 MB name is shortened wherever it is echoed, with its size.
#[test]
fn a_huge_name_is_shortened_in_messages() {
    let name = "a".repeat(1_000_000);
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}").replace(
        "metadata: {name: web}\nspec:\n  replicas",
        &format!("metadata: {{name: {name}}}\nspec:\n  replicas"),
    );
    let Err(LoadError::Invalid(d)) = common::load_texts(&[("sim.yaml", SIM), ("web.yaml", &web)])
    else {
        panic!("invalid")
    };
    let errs: Vec<String> = d.errors().map(|d| d.to_string()).collect();
    let a80 = "a".repeat(80);
    assert_eq!(
        errs[0],
        format!(
            "web.yaml:3:18: document 1 (Deployment default/\"{a80}\"… (1000000 bytes)): metadata.name: \"{a80}\"… (1000000 bytes) is not a valid Deployment name (lowercase letters, digits, '-' and '.', at most 253 characters); the API server would reject it"
        )
    );
    assert!(
        errs.iter().all(|e| e.len() < 1_200),
        "{}",
        errs.join("\n").len()
    );
}
