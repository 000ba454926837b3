//! See tests/main.rs for what this module covers.

use crate::common;
use common::{meshsim_in as meshsim, text};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    common::scratch("cli", test)
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
            "index.html",
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
/// stops cleanly, writes a report marked partial, says what grew, exits 4
/// (3 was its status before issue #13 gave 3 to failed assertions).
#[test]
fn an_overloaded_run_stops_at_max_memory_with_a_partial_report_and_exit_4() {
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
            // Fails too; the partial status wins (its numbers are partial).
            "--assert",
            "loads.users.latency_ms.p99 < 1ms",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
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
    // An unknown selector names every accepted form.
    let out = meshsim(&d, &["run", ".", "--trace", "users:fastest", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).lines().last().unwrap_or(""),
        "error: --trace users:fastest: unknown request selector \"fastest\"; accepted forms: \
         LOAD (its first request after warm-up), LOAD:N (its N-th, N ≥ 1), \
         LOAD:failed (its first failed one), LOAD:slowest (its slowest one)"
    );
    let out = meshsim(&d, &["run", ".", "--trace", "nope:failed", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: --trace nope:failed: no load named \"nope\""));
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

/// Runs shipped scenario `scenario` with `extra` into a fresh `out` folder:
/// (summary.json, trace.txt if written, stderr).
fn run_shipped(test: &str, scenario: &str, extra: &[&str]) -> (String, String, String) {
    let d = scratch(test);
    let dir = common::root().join(scenario);
    let mut args = vec!["run", dir.to_str().unwrap(), "--quiet", "--out", "r"];
    args.extend_from_slice(extra);
    let out = meshsim(&d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = |n: &str| std::fs::read_to_string(d.join("r").join(n)).unwrap_or_default();
    let got = (read("summary.json"), read("trace.txt"), text(&out.stderr));
    let _ = std::fs::remove_dir_all(&d);
    got
}

/// The number after `: request ` in a trace.txt header line.
fn traced_ordinal(header: &str) -> String {
    let rest = header
        .split(": request ")
        .nth(1)
        .expect("ordinal in header");
    rest.chars().take_while(char::is_ascii_digit).collect()
}

/// `--trace LOAD:failed` follows the first request that failed after warm-up:
/// the trace ends in its failure and shows why (fault abort FI, retries
/// exhausted URX; a breaker overflow UO), it is the same request as
/// `--trace LOAD:N` with the ordinal the header names, and the run's numbers
/// do not move.
#[test]
fn trace_failed_follows_the_first_failure_with_its_reason() {
    let s = "scenarios/explained/fault-abort-retries";
    let (plain, none, _) = run_shipped("failed-plain", s, &[]);
    assert!(none.is_empty());
    let (json, trace, _) = run_shipped("failed", s, &["--trace", "users:failed"]);
    assert_eq!(json, plain, "tracing changed summary.json");
    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        lines[0]
            .starts_with("trace: the first failed request of load users after warm-up: request "),
        "{trace}"
    );
    let last = lines.last().unwrap();
    assert!(last.contains("load users receives 503: "), "{trace}");
    assert!(
        trace.contains("fault filter: abort 503 injected (FI)"),
        "{trace}"
    );
    assert!(
        trace.contains("router: response 503: retries exhausted (URX)"),
        "{trace}"
    );
    // Three tries (attempt 1, retries 1 and 2 of 2), each aborted.
    assert_eq!(trace.matches("(FI)").count(), 3, "{trace}");
    // Following that ordinal directly meets the very same request.
    let nth = traced_ordinal(lines[0]);
    let (_, by_n, _) = run_shipped("failed-nth", s, &["--trace", &format!("users:{nth}")]);
    assert_eq!(
        by_n.lines().skip(1).collect::<Vec<_>>(),
        lines[1..],
        "{by_n}"
    );

    // istio.io's circuit-breaking task: the breaker refuses it, nothing is sent.
    let s = "scenarios/istio-docs/circuit-breaking";
    let (plain, _, _) = run_shipped("failed-cb-plain", s, &[]);
    let (json, trace, _) = run_shipped("failed-cb", s, &["--trace", "fortio-c3:failed"]);
    assert_eq!(json, plain, "tracing changed summary.json");
    assert!(trace.contains("503 UO, not sent"), "{trace}");
    assert!(
        trace
            .lines()
            .last()
            .unwrap()
            .contains("load fortio-c3 receives 503"),
        "{trace}"
    );
}

/// `--trace LOAD:slowest` follows the request whose latency is the load's
/// max in summary.json (to the histogram's 3 significant digits: the summary
/// reports the top of the max's bucket).
#[test]
fn trace_slowest_follows_the_max_latency_request() {
    let s = "scenarios/explained/fault-abort-retries";
    let one = ["--replications", "1"];
    let (plain, _, _) = run_shipped("slowest-plain", s, &one);
    let (json, trace, _) = run_shipped(
        "slowest",
        s,
        &["--replications", "1", "--trace", "users:slowest"],
    );
    assert_eq!(json, plain, "tracing changed summary.json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let max = v["loads"]["users"]["latency_ms"]["max"].as_f64().unwrap();
    let header = trace.lines().next().unwrap();
    assert!(
        header.starts_with("trace: the slowest request of load users after warm-up: request "),
        "{trace}"
    );
    let ms: f64 = header
        .split(", ")
        .nth(1)
        .and_then(|x| x.split(" ms").next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms > 10.0, "{header}");
    assert!(
        ms <= max && max - ms <= max / 1000.0,
        "traced {ms} ms vs max {max} ms"
    );
    // The trace ends in that very latency.
    let last = trace.lines().last().unwrap();
    assert!(last.contains("load users receives 200: "), "{last}");
    let took = last.split("receives 200: ").nth(1).unwrap();
    let took_ms: f64 = took.split("ms").next().unwrap().parse().unwrap();
    assert!((took_ms - ms).abs() < 0.001, "{took} vs {ms}");
}

/// A load with no failure: `:failed` says so (stderr and trace.txt), exit 0.
#[test]
fn trace_failed_without_failures_says_so() {
    let d = scratch("no-failure");
    valid_scenario(&d);
    let out = meshsim(
        &d,
        &[
            "run",
            ".",
            "--quiet",
            "--out",
            "r",
            "--trace",
            "users:failed",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let msg = "no request of load users failed after warm-up in replication 0";
    assert!(text(&out.stderr).contains(msg), "{}", text(&out.stderr));
    let trace = std::fs::read_to_string(d.join("r/trace.txt")).unwrap();
    assert_eq!(trace, format!("trace: {msg} (seed 7): nothing to follow\n"));
    let _ = std::fs::remove_dir_all(&d);
}
