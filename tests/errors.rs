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
        "bad.yaml:2:7: document 1 (Lode default/users): kind: \"Lode\" is not a meshsim kind (Simulation, Workload, Load, Cluster, RouteTest)"
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

// === Fuzzing the loader ===
//
// No nightly toolchain, so no cargo-fuzz: a deterministic in-repo mutator over
// the seed files and a few scenarios. Every mutant must load or fail with
// well-formed located errors; a panic fails the test with the input that
// caused it.

/// splitmix64: a tiny deterministic generator (the test needs no statistics).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const SCALARS: &[&str] = &[
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "-1",
    "-0.5",
    "0",
    "1e308",
    "1e12",
    "-1e12",
    "99999999999999999999999",
    "18446744073709551616",
    "-9223372036854775808",
    "0x7fffffffffffffff",
    ".nan",
    ".inf",
    "-.inf",
    "~",
    "null",
    "\"\"",
    "''",
    "true",
    "no",
    "1.5",
    "-5s",
    "0s",
    "999999999999h",
    "1ns",
    "10s",
    "\"10\"",
    "http://",
    "http://:80/",
    "http://web:0/",
    "http://web:99999/",
    "a.b.c.d",
    "!!binary aGVsbG8=",
    "!!str 12",
    "!!int x",
    "&x 5",
    "*x",
    "*nowhere",
    "|\n    block\n",
    ">-\n    folded\n",
    "{constant: 1ms}",
    "{exponential: {mean: 0s}}",
    "{empirical: {0: 5ms, 100: 1ms}}",
    "{lognormal: {mean: 1s, cv: -1}}",
    "[{call: {host: web}}, {parallel: [[{compute: {constant: 1ms}}], {call: {host: web, maxDepth: 1000}}]}]",
    "\u{0}",
    "\u{feff}",
    "é",
];

const BYTES: &[u8] = b":-{}[],\"'&*!#|>%@`\t\n \\?0123456789.eE+-_x";

fn nested(g: &mut Gen) -> String {
    let depth = 1 + g.below(80);
    if g.below(2) == 0 {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth))
    }
}

fn alias_bomb(g: &mut Gen) -> String {
    let width = 2 + g.below(9);
    let levels = 1 + g.below(4);
    let mut s =
        String::from("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n");
    s.push_str(&format!("  l0: &l0 [{}]\n", vec!["lol"; width].join(", ")));
    for i in 1..=levels {
        let refs = vec![format!("*l{}", i - 1); width].join(", ");
        s.push_str(&format!("  l{i}: &l{i} [{refs}]\n"));
    }
    s
}

/// One mutation of `text`.
fn mutate(text: &str, g: &mut Gen) -> String {
    let mut b = text.as_bytes().to_vec();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len().max(1);
    match g.below(40) {
        0 | 30..=33 => {
            // Flip a few bytes.
            for _ in 0..1 + g.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = g.below(b.len());
                b[i] = if g.below(3) == 0 {
                    g.next() as u8
                } else {
                    BYTES[g.below(BYTES.len())]
                };
            }
            String::from_utf8_lossy(&b).into_owned()
        }
        1 | 34 | 35 => {
            // Truncate.
            let cut = g.below(b.len() + 1);
            String::from_utf8_lossy(&b[..cut]).into_owned()
        }
        2 | 36..=38 => {
            // Delete, duplicate or swap lines.
            let mut ls: Vec<&str> = lines.clone();
            let i = g.below(n);
            match g.below(3) {
                0 if i < ls.len() => {
                    ls.remove(i);
                }
                1 if i < ls.len() => ls.insert(i, ls[i]),
                _ => {
                    let j = g.below(n);
                    if i < ls.len() && j < ls.len() {
                        ls.swap(i, j);
                    }
                }
            }
            ls.join("\n") + "\n"
        }
        3..=17 => {
            // Replace the value of a `key: value` line (or a list item).
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            for _ in 0..1 + g.below(3) {
                let i = g.below(n);
                let Some(l) = ls.get(i) else { break };
                let new = match g.below(6) {
                    0 => nested(g),
                    _ => g.pick(SCALARS).to_string(),
                };
                let replaced = if let Some(k) = l.find(": ") {
                    format!("{}: {new}", &l[..k])
                } else if let Some(k) = l.find("- ") {
                    format!("{}- {new}", &l[..k])
                } else {
                    format!("{l} {new}")
                };
                ls[i] = replaced;
            }
            ls.join("\n") + "\n"
        }
        18..=24 => {
            // Misspell a key.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n);
            if let Some(l) = ls.get_mut(i)
                && let Some(k) = l.find(':')
                && k > 0
            {
                let j = g.below(k);
                if l.is_char_boundary(j) && l.is_char_boundary(j + 1) {
                    l.replace_range(j..j + 1, "x");
                }
            }
            ls.join("\n") + "\n"
        }
        25..=28 => {
            // Document markers in odd places.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n + 1);
            let m = g.pick(&[
                "---",
                "...",
                "--- |",
                "---\n---",
                "%YAML 1.2\n---",
                "--- !!str",
            ]);
            ls.insert(i.min(ls.len()), m.to_string());
            ls.join("\n") + "\n"
        }
        29 => format!("{text}{}", alias_bomb(g)),
        _ => {
            // Indentation damage.
            let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let i = g.below(n);
            if let Some(l) = ls.get_mut(i) {
                match g.below(3) {
                    0 => l.insert_str(0, "  "),
                    1 => *l = l.trim_start().to_string(),
                    _ => l.insert(0, '\t'),
                }
            }
            ls.join("\n") + "\n"
        }
    }
}

/// The inputs mutated: every seed file and a few complete scenarios.
fn fuzz_bases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let seed = common::shared().join("seed");
    let mut paths: Vec<_> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    let script = common::server_yaml("web", 2, 4, "x").replace(
        "  serviceTime: x\n",
        "  queue: {limit: 10, fullStatus: 503}\n  errors: {probability: 0.1, status: 500}\n  script:\n  - compute: {lognormal: {mean: 2ms, cv: 0.5}}\n  - call: {host: db, port: 5432, timeout: 1s, retries: 2, onError: continue}\n  - parallel:\n    - [{compute: {constant: 1ms}}]\n    - [{call: {host: db.default.svc.cluster.local, probability: 0.5}}]\n",
    );
    let full = format!(
        "{SIM}---\n{script}---\n{}---\n{LOAD}---\napiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: batch}}\nspec:\n  target: {{host: web, port: 8080, path: /b}}\n  closed: {{connections: 4, qps: 100, thinkTime: {{exponential: {{mean: 10ms}}}}}}\n  start: 1s\n  stop: 5s\n",
        common::server_yaml("db", 1, 2, "{empirical: {0: 1ms, 50: 2ms, 100: 9ms}}")
            .replace("port: 8080}]", "port: 5432}]")
            .replace("name: http, port: 8080", "name: pg, port: 5432")
    );
    out.push(("scenario.yaml".into(), full));
    // The repository's example scenarios, one folder level deep.
    let mut examples = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(common::root().join("scenarios")) {
        for d in dirs.flatten() {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "yaml") {
                    examples.push(p);
                }
            }
        }
    }
    examples.sort();
    for p in examples {
        let name = p
            .strip_prefix(common::root())
            .unwrap_or(&p)
            .display()
            .to_string();
        out.push((name, std::fs::read_to_string(&p).unwrap()));
    }
    out
}

/// Mutates every base `per_base` times; returns the number of mutants loaded.
fn fuzz(per_base: usize, seed: u64) -> (usize, usize, usize) {
    let ov = Overrides {
        duration: Some(meshsim::engine::SimDuration::from_millis(500)),
        ..Default::default()
    };
    let (mut total, mut ok, mut failed) = (0, 0, 0);
    for (bi, (name, text)) in fuzz_bases().iter().enumerate() {
        let mut g = Gen(seed ^ (bi as u64).wrapping_mul(0x1000_0000_01b3));
        for i in 0..per_base {
            // Stack mutations now and then, so damage compounds.
            let mut m = mutate(text, &mut g);
            for _ in 0..g.below(3) {
                m = mutate(&m, &mut g);
            }
            let src = [SourceFile {
                path: name.clone(),
                text: m.clone(),
            }];
            let with_ov = i % 2 == 0;
            let none = Overrides::default();
            let r = std::panic::catch_unwind(|| {
                scenario::from_sources("fuzz".into(), &src, if with_ov { &ov } else { &none })
            });
            total += 1;
            match r {
                Err(_) => panic!("loader panicked on mutant {i} of {name}:\n{m}"),
                Ok(Ok(sc)) => {
                    ok += 1;
                    // What validates must run: no panic, no endless loop.
                    if sc.run.duration <= meshsim::engine::SimDuration::from_secs(1)
                        && sc.run.replications <= 2
                        && std::panic::catch_unwind(|| common::run(&sc)).is_err()
                    {
                        panic!("run panicked on mutant {i} of {name}:\n{m}");
                    }
                }
                Ok(Err(LoadError::Invalid(d))) => {
                    failed += 1;
                    assert!(d.has_errors(), "rejected without an error:\n{m}");
                    for e in &d.items {
                        let r = e.to_string();
                        let located = e.origin.file == *name
                            && (e.origin.document == 0 || e.loc.line > 0)
                            && !e.message.is_empty()
                            && !r.contains('\n');
                        // The one unlocated error: no Simulation and no --duration.
                        let scenario_wide = e.origin.file == "(scenario)" && !with_ov;
                        assert!(located || scenario_wide, "badly located: {r}\nin:\n{m}");
                    }
                }
                Ok(Err(e)) => panic!("not a located error: {e}\nin:\n{m}"),
            }
        }
    }
    (total, ok, failed)
}

#[test]
fn fuzz_loader() {
    let (total, ok, failed) = fuzz(500, 0x5EED);
    eprintln!("fuzz: {total} mutants, {ok} loaded, {failed} rejected with located errors");
    assert!(total >= 10_000);
    assert!(
        ok > 100 && failed > 1000,
        "mutations too weak or too strong"
    );
}

/// A longer run: `cargo test --release -- --ignored fuzz_loader_long`.
#[test]
#[ignore]
fn fuzz_loader_long() {
    let (total, ok, failed) = fuzz(20_000, 0xF0CC_AC1A);
    eprintln!("fuzz (long): {total} mutants, {ok} loaded, {failed} rejected with located errors");
}

// === Limits: valid for Kubernetes, too big or endless for a simulation ===

#[test]
fn absurd_rate_is_a_clean_error() {
    let text = LOAD.replace("rate: 10", "rate: 1e12");
    assert_eq!(
        with(&text),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: 1,000,000,000,000 requests/s is above meshsim's limit of 1,000,000,000 (one request per nanosecond)"
    );
    let text = LOAD.replace("rate: 10", "rate: 1e8");
    assert_eq!(
        with(&text),
        "bad.yaml:6:16: document 1 (Load default/users): spec.open.rate: 100,000,000 requests/s for 10s is 1,000,000,000 requests per replication, above meshsim's limit of 100,000,000: lower the rate or the duration"
    );
}

#[test]
fn too_many_pods() {
    let e = the_error(&[
        ("sim.yaml", SIM),
        (
            "web.yaml",
            &common::server_yaml("web", 200_000, 1, "{constant: 1ms}"),
        ),
    ]);
    assert_eq!(
        e,
        "web.yaml:1:1: document 1 (Deployment default/web): spec.replicas: 200,000 pods so far in the scenario, above meshsim's limit of 100,000"
    );
}

#[test]
fn call_tree_explosion() {
    let web = common::server_yaml("web", 1, 1, "x").replace(
        "  serviceTime: x\n",
        "  script:\n  - call: {host: web, maxDepth: 40}\n  - call: {host: web, maxDepth: 40}\n",
    );
    let e = the_error(&[("sim.yaml", SIM), ("web.yaml", &web), ("load.yaml", LOAD)]);
    assert_eq!(
        e,
        "load.yaml:5:11: document 1 (Load default/users): spec.target: one request to this target can cause up to 2,199,023,255,551 requests downstream (calls × retries × maxDepth), above meshsim's limit of 1,000,000"
    );
}

/// A closed loop against pods that answer in zero time must still finish
/// (the world charges the client 1 ms per instant answer).
#[test]
fn closed_loop_against_instant_answers_terminates() {
    let closed = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  closed:
    connections: 2
";
    let zero = common::server_yaml("web", 1, 1, "{constant: 0s}");
    let s = common::load_texts(&[
        ("sim.yaml", SIM),
        ("web.yaml", &zero),
        ("load.yaml", closed),
    ])
    .unwrap();
    let l = &common::run(&s).loads[0].pooled;
    assert!(l.completed > 1000, "{l:?}");
}

#[test]
fn too_many_replications() {
    let sim = SIM.replace("duration: 10s", "duration: 10s, replications: 100000");
    let e = the_error(&[
        ("sim.yaml", &sim),
        (
            "web.yaml",
            &common::server_yaml("web", 1, 1, "{constant: 1ms}"),
        ),
        (
            "api.yaml",
            &common::server_yaml("api", 1, 1, "{constant: 1ms}"),
        ),
    ]);
    assert_eq!(
        e,
        "sim.yaml:4:37: document 1 (Simulation sim): spec.replications: 100,000 replications × 4 loads, Services and Deployments = 400,000 latency histograms, above meshsim's limit of 200,000 (a run that checks each replication keeps all of them): run at most 50,000 replications"
    );
}

/// Legal extremes that must simply run: no pods, a million workers.
#[test]
fn extremes_that_validate_also_run() {
    for (replicas, workers) in [(0, 1), (1, 1_000_000), (3, 1)] {
        let yaml = format!(
            "{SIM}---\n{}---\n{}",
            common::server_yaml("web", replicas, workers, "{constant: 1ms}"),
            LOAD.replace("rate: 10", "rate: 1000")
        );
        let s = common::load_ok(&yaml);
        let m = common::run(&s);
        let l = &m.loads[0].pooled;
        assert!(l.requests > 5_000, "{replicas} {workers}: {l:?}");
        if replicas == 0 {
            assert_eq!(l.failed, l.requests);
        }
    }
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

// === Errors that explain themselves (issue #9 item 7) ===

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

/// A limit that --replications breaks is the flag's, not the file's.
#[test]
fn a_flag_caused_error_is_attributed_to_the_flag() {
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}");
    let sources: Vec<meshsim::scenario::SourceFile> = [("sim.yaml", SIM), ("web.yaml", &web)]
        .iter()
        .map(|(p, t)| meshsim::scenario::SourceFile {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    let ov = meshsim::scenario::Overrides {
        replications: Some(1_000_000),
        ..Default::default()
    };
    let Err(LoadError::Invalid(d)) = meshsim::scenario::from_sources("t".into(), &sources, &ov)
    else {
        panic!("invalid")
    };
    let errs: Vec<String> = d.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        errs,
        [
            "(scenario): --replications: 1,000,000 replications × 2 loads, Services and Deployments = 2,000,000 latency histograms, above meshsim's limit of 200,000 (a run that checks each replication keeps all of them): run at most 100,000 replications"
        ]
    );
}

// === Istio 1.28 retry fields and Load iterations ===

const VS_RETRIES: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
    retries:
      attempts: 3
      backoff: BACKOFF
      retryIgnorePreviousHosts: IGNORE
";

/// `retries.backoff` is validated as istiod's `ValidateDuration` does
/// (≥ 1 ms, whole milliseconds); `retryIgnorePreviousHosts` is a boolean.
#[test]
fn retry_backoff_and_ignore_previous_hosts() {
    let vs = |b: &str, i: &str| VS_RETRIES.replace("BACKOFF", b).replace("IGNORE", i);
    assert_eq!(
        with(&vs("500us", "true")),
        "bad.yaml:11:16: document 1 (VirtualService default/web): spec.http[0].retries.backoff: duration must be greater than 1ms"
    );
    assert_eq!(
        with(&vs("1500us", "false")),
        "bad.yaml:11:16: document 1 (VirtualService default/web): spec.http[0].retries.backoff: only durations to ms precision are supported"
    );
    assert_eq!(
        with(&vs("25ms", "sometimes")),
        "bad.yaml:12:33: document 1 (VirtualService default/web): spec.http[0].retries.retryIgnorePreviousHosts: \"sometimes\", expected true or false"
    );
}

/// MeshConfig's `defaultHttpRetryPolicy` is the same `HTTPRetry`, checked
/// the same way; the location is the line inside the ConfigMap's string.
#[test]
fn mesh_default_retry_backoff() {
    let mesh = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    defaultHttpRetryPolicy:
      attempts: 2
      backoff: 0s
";
    assert_eq!(
        with(mesh),
        "bad.yaml:8:16: document 1 (ConfigMap istio-system/istio): data.mesh.defaultHttpRetryPolicy.backoff: duration must be greater than 1ms"
    );
}

const DR_BUDGET: &str = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  trafficPolicy:
    retryBudget:
      BUDGET
";

/// `retryBudget`: the CRD schema bounds `percent` to 0–100 and
/// `minRetryConcurrency` to a uint32 (istiod itself checks neither).
#[test]
fn retry_budget_bounds() {
    let dr = |b: &str| DR_BUDGET.replace("BUDGET", b);
    assert_eq!(
        with(&dr("percent: 150")),
        "bad.yaml:8:16: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.percent: 150: percent must be between 0 and 100"
    );
    assert_eq!(
        with(&dr("percent: -0.5")),
        "bad.yaml:8:16: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.percent: -0.5: percent must be between 0 and 100"
    );
    assert_eq!(
        with(&dr("minRetryConcurrency: -1")),
        "bad.yaml:8:28: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.minRetryConcurrency: -1, must be ≥ 0"
    );
    assert_eq!(
        with(&dr("minRetryConcurrency: 4294967296")),
        "bad.yaml:8:28: document 1 (DestinationRule default/web): spec.trafficPolicy.retryBudget.minRetryConcurrency: 4294967296, must be ≤ 4294967295"
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
