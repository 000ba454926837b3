//! meshsim's own kinds (Simulation, Load, Workload): required and unknown
//! fields, durations, distributions, enums, unresolvable targets, call cycles.

use super::*;

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
fn empty_required_field_points_at_itself() {
    let text = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target:
  open: {rate: 5}
";
    assert_eq!(
        with(text),
        "bad.yaml:5:3: document 1 (Load default/users): spec.target: missing required field (empty)"
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
        "bad.yaml:23:3: document 3 (Workload default/api): spec.wrokers: unknown field (did you mean \"workers\"?); known fields: deployment, selector, workers, queue, holdWorkerDuringCalls, onSigterm, serviceTime, script, errors, endpoints, poolSize, notReadyReplicas"
    );
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
        "bad.yaml:2:7: document 1 (Lode default/users): kind: \"Lode\" is not a meshsim kind (Simulation, Workload, Load, Cluster, RouteTest)"
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
fn enum_fields_list_the_accepted_spellings() {
    let e = with(
        "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: bursty}
spec:
  target: http://web:8080/
  open: {rate: 10, arrival: bursty}
",
    );
    assert_eq!(
        e,
        "bad.yaml:6:29: document 1 (Load default/bursty): spec.open.arrival: \"bursty\", must be poisson or constant"
    );
}

/// `iterations` is a positive whole number of requests.
#[test]
fn load_iterations_must_be_a_positive_integer() {
    let load = |n: &str| format!("{LOAD}  iterations: {n}\n");
    assert_eq!(
        with(&load("0")),
        "bad.yaml:7:15: document 1 (Load default/users): spec.iterations: 0, must be ≥ 1"
    );
    assert_eq!(
        with(&load("-20")),
        "bad.yaml:7:15: document 1 (Load default/users): spec.iterations: -20, must be ≥ 1"
    );
    assert_eq!(
        with(&load("2.5")),
        "bad.yaml:7:15: document 1 (Load default/users): spec.iterations: 2.5, expected an integer"
    );
    assert_eq!(
        with(&load("many")),
        "bad.yaml:7:15: document 1 (Load default/users): spec.iterations: \"many\", expected an integer"
    );
}
