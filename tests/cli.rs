//! See tests/main.rs for what this module covers.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meshsim-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn meshsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run meshsim")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SIM: &str = "apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {name: sim}
spec: {duration: 2s, seed: 7}
";

const LOAD: &str = "apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: users}
spec:
  target: http://web:8080/
  open: {rate: 50}
";

fn valid_scenario(dir: &Path) {
    std::fs::write(dir.join("sim.yaml"), SIM).unwrap();
    std::fs::write(
        dir.join("web.yaml"),
        common::server_yaml("web", 2, 2, "{constant: 5ms}"),
    )
    .unwrap();
    std::fs::write(dir.join("load.yaml"), LOAD).unwrap();
}

/// Issue 3's done-when: malformed YAML, a negative rate and a missing required
/// field ⇒ three clear errors (file, document, kind/name, YAML path), exit 1.
#[test]
fn validate_reports_three_located_errors_and_exits_1() {
    let d = scratch("validate3");
    valid_scenario(&d);
    std::fs::write(
        d.join("malformed.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\nspec:\n  ports: [{port: 9080}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("rate.yaml"),
        "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: burst}\nspec:\n  target: http://web:8080/\n  open:\n    rate: -10\n",
    )
    .unwrap();
    std::fs::write(
        d.join("missing.yaml"),
        "---\napiVersion: meshsim.dev/v1alpha1\nkind: Workload\nmetadata: {name: web2}\nspec:\n  workers: 2\n  serviceTime:\n    exponential: {}\n",
    )
    .unwrap();
    let out = meshsim(
        &d,
        &[
            "validate",
            "sim.yaml",
            "web.yaml",
            "malformed.yaml",
            "rate.yaml",
            "missing.yaml",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let expected = [
        "malformed.yaml:10:10: document 2 (Service default/reviews): invalid YAML: unclosed bracket '['",
        "rate.yaml:7:11: document 1 (Load default/burst): spec.open.rate: -10, must be > 0",
        "missing.yaml:8:5: document 1 (Workload default/web2): spec.serviceTime.exponential.mean: missing required field",
    ];
    for e in expected {
        assert!(err.lines().any(|l| l == e), "missing {e:?} in:\n{err}");
    }
    assert!(err.ends_with("3 errors found\n"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn run_on_an_invalid_scenario_writes_nothing() {
    let d = scratch("run-invalid");
    valid_scenario(&d);
    std::fs::write(d.join("load.yaml"), LOAD.replace("rate: 50", "rate: 0")).unwrap();
    let out = meshsim(&d, &["run", ".", "--out", "report"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "./load.yaml:6:16: document 1 (Load default/users): spec.open.rate: 0, must be > 0"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("report").exists(), "--out folder was created");
    assert!(!d.join("reports").exists());
}

#[test]
fn usage_errors_exit_2() {
    let d = scratch("usage");
    for args in [
        &["run"][..],
        &["validate"],
        &["run", "x.yaml", "--duration", "10 parsecs"],
        &["run", "x.yaml", "--replications", "0"],
        &["frobnicate"],
    ] {
        let out = meshsim(&d, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let d = scratch("nofile");
    let out = meshsim(&d, &["validate", "nowhere.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nowhere.yaml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn valid_run_writes_summary() {
    let d = scratch("run-valid");
    valid_scenario(&d);
    let out = meshsim(&d, &["run", ".", "--out", "report", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = std::fs::read_to_string(d.join("report/summary.json")).unwrap();
    assert!(summary.contains("\"scenario_sha256\""), "{summary}");
    // (Not ".": the report folder is inside it now, and summary.json is not a manifest.)
    let out = meshsim(&d, &["validate", "sim.yaml", "web.yaml", "load.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"), "{}", text(&out.stdout));
}

/// A Service selecting no pod is legal: a warning on stderr, exit 0.
#[test]
fn warnings_do_not_fail() {
    let d = scratch("warn");
    valid_scenario(&d);
    std::fs::write(
        d.join("ghost.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: ghost}\nspec:\n  selector: {app: ghost}\n  ports: [{port: 80}]\n",
    )
    .unwrap();
    let out = meshsim(&d, &["validate", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("./ghost.yaml:5:3: warning: document 1 (Service default/ghost): spec.selector: selector {\"app\": \"ghost\"} matches no pod: connections to this Service fail"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validating_a_folder_skips_reports_written_into_it() {
    // `meshsim run` writes reports/<name>-<seed>/summary.json; validating the
    // folder afterwards must not read that JSON as a manifest.
    let dir = std::env::temp_dir().join(format!("meshsim-walk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("reports/x-1")).unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::copy(
        common::root().join("scenarios/queueing/mm4.yaml"),
        dir.join("mm4.yaml"),
    )
    .unwrap();
    std::fs::write(dir.join("reports/x-1/summary.json"), "{\"loads\": {}}").unwrap();
    std::fs::write(dir.join(".git/config.json"), "[1, 2]").unwrap();
    let out = std::process::Command::new(common::bin())
        .arg("validate")
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 8 item 8: `validate` checks manifests alone (no Simulation), as
/// `istioctl validate -f` does; `run` still needs a duration. Kinds meshsim
/// does not simulate are listed grouped by their effect in Istio.
#[test]
fn validate_checks_manifests_without_a_simulation() {
    let d = scratch("manifests-only");
    std::fs::write(d.join("app.yaml"), common::app_yaml("web", 1)).unwrap();
    std::fs::write(
        d.join("istio.yaml"),
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: web}\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny}\nspec: {}\n",
    )
    .unwrap();
    let out = meshsim(&d, &["validate", "app.yaml", "istio.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("not simulated — changes traffic in Istio: 1 AuthorizationPolicy"),
        "{}",
        text(&out.stdout)
    );
    let out = meshsim(&d, &["run", "app.yaml", "istio.yaml", "--out", "r"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("give a Simulation object"));
}

/// Issue 9 item 4: symlink loops are not followed (and are named), FIFOs are
/// refused instead of blocking forever.
#[test]
fn walks_skip_symlinked_directories_and_refuse_fifos() {
    let d = scratch("walk-links");
    std::fs::create_dir_all(d.join("s/sub")).unwrap();
    valid_scenario(&d.join("s"));
    std::os::unix::fs::symlink(".", d.join("s/loop")).unwrap();
    std::os::unix::fs::symlink("..", d.join("s/sub/up")).unwrap();
    std::os::unix::fs::symlink("../sub", d.join("s/sub/self")).unwrap();
    // A link to a file is read like the file: the Load is moved behind one.
    std::fs::rename(d.join("s/load.yaml"), d.join("load.txt")).unwrap();
    std::os::unix::fs::symlink("../../load.txt", d.join("s/sub/load.yaml")).unwrap();
    let out = meshsim(&d, &["validate", "s"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for link in ["s/loop", "s/sub/self", "s/sub/up"] {
        assert!(
            err.contains(&format!(
                "{link}: warning: symbolic link to a directory, not followed"
            )),
            "{link}: {err}"
        );
    }
    assert_eq!(err.matches("symbolic link").count(), 3, "{err}");
    assert!(
        text(&out.stdout).contains("1 loads"),
        "{}",
        text(&out.stdout)
    );

    // A FIFO found in a walk, and one named on the command line.
    let status = Command::new("mkfifo")
        .arg(d.join("s/pipe.yaml"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let out = meshsim(&d, &["validate", "s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("s/pipe.yaml: is a FIFO (named pipe), not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let out = meshsim(&d, &["validate", "s/sim.yaml", "s/pipe.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("s/pipe.yaml: is a FIFO (named pipe), not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let out = meshsim(&d, &["validate", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("/dev/null: is a device, not a regular file"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The files of a report folder, name → bytes (hidden entries included).
fn folder(d: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Entries of `d` whose name starts with '.' (temporary or set-aside folders).
fn hidden(d: &Path) -> Vec<String> {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Issue 9 item 5: a report is one run's whole output set, or absent.
#[test]
fn reports_are_whole_replace_stale_files_and_refuse_files() {
    let d = scratch("whole");
    valid_scenario(&d);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "sim.yaml", "web.yaml", "load.yaml", "--quiet"];
        args.extend_from_slice(extra);
        meshsim(&d, &args)
    };
    let out = run(&["--out", "r/report", "--trace", "users"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(d.join("r/report/trace.txt").is_file());
    // A later run without --trace leaves no stale trace.txt behind.
    let out = run(&["--out", "r/report"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let names: Vec<String> = folder(&d.join("r/report")).into_keys().collect();
    assert_eq!(
        names,
        [
            "latency.svg",
            "summary.json",
            "timeline.csv",
            "timeline.svg"
        ]
    );
    assert!(
        hidden(&d.join("r")).is_empty(),
        "{:?}",
        hidden(&d.join("r"))
    );

    // An output path that is a file: an error, and nothing written.
    std::fs::write(d.join("r/file"), "keep me").unwrap();
    let out = run(&["--out", "r/file"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("r/file: exists and is not a folder"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("r/file")).unwrap(),
        "keep me"
    );
    assert!(
        hidden(&d.join("r")).is_empty(),
        "{:?}",
        hidden(&d.join("r"))
    );
    // A folder holding anything but a report is not replaced.
    std::fs::create_dir_all(d.join("r/project")).unwrap();
    std::fs::write(d.join("r/project/notes.md"), "mine").unwrap();
    let out = run(&["--out", "r/project"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("holds \"notes.md\", which is not part of a meshsim report"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(folder(&d.join("r/project")).len(), 1);
    let _ = std::fs::remove_dir_all(&d);
}

/// Issue 9 item 5: two runs writing to the same --out at once leave exactly
/// one run's complete set (here the two sets differ in every file, and one
/// has a trace.txt the other has not).
#[test]
fn concurrent_runs_to_one_out_never_mix() {
    let d = scratch("concurrent");
    valid_scenario(&d);
    let args = |out: &str, seed: &str, trace: bool| {
        let mut a = vec![
            "run".to_string(),
            "sim.yaml".into(),
            "web.yaml".into(),
            "load.yaml".into(),
            "--quiet".into(),
            "--out".into(),
            out.into(),
            "--seed".into(),
            seed.into(),
        ];
        if trace {
            a.extend(["--trace".to_string(), "users".to_string()]);
        }
        a
    };
    let spawn = |out: &str, seed: &str, trace: bool| {
        Command::new(common::bin())
            .args(args(out, seed, trace))
            .current_dir(&d)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn meshsim")
    };
    assert!(spawn("a", "1", true).wait().unwrap().success());
    assert!(spawn("b", "2", false).wait().unwrap().success());
    let (a, b) = (folder(&d.join("a")), folder(&d.join("b")));
    assert_ne!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, body) in &b {
        assert_ne!(
            a.get(name),
            Some(body),
            "{name} must differ between the runs"
        );
    }
    let mut seen = (0, 0);
    for round in 0..6 {
        let mut procs = Vec::new();
        for _ in 0..2 {
            procs.push(spawn("same", "1", true));
            procs.push(spawn("same", "2", false));
        }
        for mut p in procs {
            assert!(p.wait().unwrap().success(), "round {round}");
        }
        let got = folder(&d.join("same"));
        if got == a {
            seen.0 += 1;
        } else if got == b {
            seen.1 += 1;
        } else {
            panic!(
                "round {round}: a mix of runs: {:?}",
                got.keys().collect::<Vec<_>>()
            );
        }
        assert!(hidden(&d).is_empty(), "round {round}: {:?}", hidden(&d));
    }
    assert_eq!(seen.0 + seen.1, 6);
    let _ = std::fs::remove_dir_all(&d);
}

/// Issue #9 item 3: an overloaded open loop under a small `--max-memory`
/// stops cleanly, writes a report marked partial, says what grew, exits 3.
#[test]
fn an_overloaded_run_stops_at_max_memory_with_a_partial_report_and_exit_3() {
    let d = scratch("max-memory");
    std::fs::write(
        d.join("sim.yaml"),
        "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: sim}\nspec: {duration: 3600s, seed: 7}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("web.yaml"),
        common::server_yaml("web", 1, 1, "{constant: 10ms}"),
    )
    .unwrap();
    std::fs::write(d.join("load.yaml"), LOAD.replace("rate: 50", "rate: 20000")).unwrap();
    let out = meshsim(
        &d,
        &[
            "run",
            ".",
            "--out",
            "report",
            "--quiet",
            "--max-memory",
            "48M",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.starts_with("warning: partial report: replication 0 stopped early: default/web: ")
            && err.contains(" requests queued — offered load exceeds capacity at t = "),
        "{err}"
    );
    let summary = std::fs::read_to_string(d.join("report/summary.json")).unwrap();
    assert!(summary.contains("\"partial\": ["), "{summary}");
    // A bad size is a usage error.
    let out = meshsim(&d, &["run", ".", "--max-memory", "lots"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// Issue #9 item 7: flag values are checked before the simulation starts —
/// a wrong --trace name on a scenario that simulates for minutes fails at once.
#[test]
fn flag_values_are_checked_before_simulating() {
    let d = scratch("flags-first");
    valid_scenario(&d);
    // 10⁸ requests to simulate: minutes if it ran first.
    std::fs::write(
        d.join("load.yaml"),
        LOAD.replace("rate: 50", "rate: 10000000"),
    )
    .unwrap();
    std::fs::write(
        d.join("sim.yaml"),
        SIM.replace("duration: 2s", "duration: 9s"),
    )
    .unwrap();
    let out = meshsim(&d, &["run", ".", "--trace", "nope", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap_or(""),
        "error: --trace nope: no load named \"nope\" (loads: users)"
    );
    let out = meshsim(&d, &["run", ".", "--trace", "users:0", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: --trace users:0: N must be a whole number ≥ 1"));
    // --out naming a file is refused before simulating, too.
    std::fs::write(d.join("afile"), "x").unwrap();
    let out = meshsim(&d, &["run", ".", "--out", "afile", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("exists and is not a folder"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("reports").exists());
}

/// Issue 8 item 9: `--strict` turns warnings (what Istio accepts and then
/// fails at run time: an undefined subset ⇒ 503 NC) into errors; notes
/// (weights not summing to 100, which Istio accepts by design) stay notes.
#[test]
fn strict_promotes_warnings_not_notes() {
    let d = scratch("strict");
    std::fs::write(
        d.join("app.yaml"),
        common::server_yaml("web", 1, 1, "{constant: 1ms}"),
    )
    .unwrap();
    let vs = |subset: &str| {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: web}}\nspec:\n  hosts: [web]\n  http:\n  - route:\n    - destination: {{host: web{subset}}}\n      weight: 70\n    - destination: {{host: web}}\n      weight: 20\n"
        )
    };
    // Weights 70 + 20: a note, accepted with and without --strict.
    std::fs::write(d.join("vs.yaml"), vs("")).unwrap();
    let out = meshsim(&d, &["validate", "app.yaml", "vs.yaml", "--strict"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("vs.yaml:7:5: note: document 1 (VirtualService default/web): spec.http[0].route: destination weights sum to 90, not 100"),
        "{err}"
    );
    // An undefined subset: a warning, an error with --strict (exit 1).
    std::fs::write(d.join("vs.yaml"), vs(", subset: v9")).unwrap();
    let out = meshsim(&d, &["validate", "app.yaml", "vs.yaml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning:") && err.contains("v9"), "{err}");
    let out = meshsim(&d, &["validate", "app.yaml", "vs.yaml", "--strict"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines().any(|l| !l.contains("warning:")
            && l.contains("v9")
            && l.contains("(an error with --strict)")),
        "{err}"
    );
    assert!(
        err.contains("note:"),
        "the weights note stays a note: {err}"
    );
}
