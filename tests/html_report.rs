//! `DIR/index.html` in a real browser: headless Chromium loads the page a
//! shipped scenario's run wrote, and the DOM it dumps after the load event
//! must show the numbers of summary.json, no script error, no blocked fetch
//! (the page's CSP forbids all) — and the error hook itself must catch a
//! deliberately broken copy. No Chromium is a failure, not a skip: `.ci/run`
//! installs Debian's `chromium` (`apt-get install -y chromium`).

use crate::common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    common::scratch("html", name)
}

/// Chromium's binary, `chromium` on PATH (Debian's package name). Panics
/// (fails the test) when it cannot be started.
const CHROMIUM: &str = "chromium";

fn chromium() -> Command {
    match Command::new(CHROMIUM).arg("--version").output() {
        Ok(o) if o.status.success() => Command::new(CHROMIUM),
        r => panic!(
            "headless Chromium is required for the HTML report test and `{CHROMIUM} --version` \
             failed ({:?}): install Debian's chromium (`apt-get install -y chromium`, as .ci/run does)",
            r.map(|o| o.status)
        ),
    }
}

/// The DOM of `page` after its load event (`chromium --headless --dump-dom`).
fn dump_dom(page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = chromium()
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromium");
    // At most 120 s (2,400 naps of 50 ms).
    for nap in 0.. {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if nap == 2_400 {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium exited with {}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The `<tr …>` of `kind`/`key` in `dom`.
fn row<'a>(dom: &'a str, kind: &str, key: &str) -> &'a str {
    let open = format!("<tr data-kind=\"{kind}\" data-key=\"{key}\">");
    let i = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no row {open} in the DOM"));
    let end = dom[i..].find("</tr>").unwrap();
    &dom[i..i + end]
}

/// The text of the cell `field` in `row`.
fn cell<'a>(row: &'a str, field: &str) -> &'a str {
    let open = format!("data-field=\"{field}\">");
    let i = row
        .find(&open)
        .unwrap_or_else(|| panic!("no cell {field} in {row}"))
        + open.len();
    &row[i..i + row[i..].find('<').unwrap()]
}

/// The console-error hook's element: (data-count, text).
fn console_errors(dom: &str) -> (u64, String) {
    let i = dom
        .find("<pre id=\"console-errors\"")
        .expect("hook element");
    let tag_end = i + dom[i..].find('>').unwrap();
    let tag = &dom[i..tag_end];
    let c = tag.find("data-count=\"").unwrap() + "data-count=\"".len();
    let count = tag[c..c + tag[c..].find('"').unwrap()].parse().unwrap();
    let text_end = tag_end + dom[tag_end..].find("</pre>").unwrap();
    (count, dom[tag_end + 1..text_end].to_string())
}

/// Runs istio.io's circuit-breaking task (failures, flags, a breaker's
/// windows, a propagation graph) into `d/report`.
fn run_circuit_breaking(d: &Path) -> PathBuf {
    let report = d.join("report");
    let out = Command::new(common::bin())
        .current_dir(common::root())
        .args([
            "run",
            "scenarios/istio-docs/circuit-breaking",
            "--quiet",
            "--out",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

#[test]
fn the_html_report_loads_in_headless_chromium_and_shows_summary_numbers() {
    let _ = chromium(); // fail first, before simulating, if it is missing
    let d = scratch("page");
    let report = run_circuit_breaking(&d);
    let page = report.join("index.html");
    let raw = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch (the SVG namespace is a name, not a fetch).
    let no_ns = raw.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", " src=", "<link", "@import", "url("] {
        assert!(!no_ns.contains(needle), "index.html contains {needle:?}");
    }
    let sum: Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();

    let dom = dump_dom(&page, &d.join("profile"));
    assert!(
        dom.contains("<body data-loaded=\"yes\">"),
        "load event did not fire"
    );
    assert_eq!(console_errors(&dom), (0, String::new()));
    assert!(dom.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
    // The run's identity.
    for field in ["scenario_sha256", "digest", "meshsim_version"] {
        let want = sum[field].as_str().unwrap();
        assert!(
            dom.contains(&format!("data-field=\"{field}\">{want}</dd>")),
            "{field} {want}"
        );
    }
    assert!(dom.contains(&format!("data-field=\"seed\">{}</dd>", sum["seed"])));
    // Every load's numbers, as summary.json prints them.
    let loads = sum["loads"].as_object().unwrap();
    assert_eq!(loads.len(), 2);
    for (name, l) in loads {
        let r = row(&dom, "load", name);
        assert_eq!(cell(r, "requests"), json_text(&l["requests"]), "{name}");
        assert_eq!(cell(r, "completed"), json_text(&l["completed"]), "{name}");
        assert_eq!(cell(r, "failed"), json_text(&l["failed"]), "{name}");
        assert_eq!(cell(r, "p99"), json_text(&l["latency_ms"]["p99"]), "{name}");
        assert_eq!(
            cell(r, "mean"),
            json_text(&l["latency_ms"]["mean"]),
            "{name}"
        );
    }
    // fortio-c3 overflows the breaker: failures (503 UO) the page must show.
    let c3 = &loads["fortio-c3"];
    assert!(c3["failed"].as_u64().unwrap() > 0, "{c3}");
    let uo = c3["flags"]["UO"].as_u64().unwrap();
    assert_eq!(
        cell(row(&dom, "flag", "load fortio-c3 UO"), "count"),
        uo.to_string()
    );
    // Destinations with their requests, and the workload's pods.
    for (k, v) in sum["destinations"].as_object().unwrap() {
        assert_eq!(
            cell(row(&dom, "destination", k), "requests"),
            json_text(&v["requests"])
        );
    }
    let w = &sum["workloads"]["default/httpbin"];
    assert_eq!(
        cell(row(&dom, "workload", "default/httpbin"), "pods"),
        json_text(&w["pods"])
    );
    // Figures: latency spectrum, timeline (with the breaker's window marked),
    // and the service graph with failure propagation.
    assert_eq!(dom.matches("<figure").count(), 3);
    assert!(dom.contains("circuit-breaking — latency by percentile"));
    assert!(dom.contains("circuit breaker rejecting (replication 0)"));
    assert!(dom.contains("circuit-breaking — failure propagation"));
    assert!(dom.contains("data-table=\"chains\""));
}

#[test]
fn the_error_hook_catches_script_errors_and_blocked_fetches() {
    // The hook is what makes "no errors" above mean something: a copy with
    // a broken script and an external image must report both.
    let _ = chromium();
    let d = scratch("hook");
    let report = run_circuit_breaking(&d);
    let raw = std::fs::read_to_string(report.join("index.html")).unwrap();
    let bad = raw.replace(
        "</main>",
        "<img src=\"https://example.invalid/x.png\"><script>noSuchFunction()</script></main>",
    );
    let page = d.join("bad.html");
    std::fs::write(&page, bad).unwrap();
    let dom = dump_dom(&page, &d.join("profile"));
    let (count, text) = console_errors(&dom);
    assert!(count >= 2, "{count}: {text}");
    assert!(text.contains("noSuchFunction"), "{text}");
    assert!(
        text.contains("CSP violation: img-src https://example.invalid/x.png"),
        "{text}"
    );
}

#[test]
fn the_html_report_is_deterministic() {
    let spec = common::load_ok(
        &(common::app_yaml("web", 1)
            + "---\napiVersion: meshsim.dev/v1alpha1\nkind: Workload\nmetadata: {name: web}\n\
               spec: {workers: 2, serviceTime: {exponential: {mean: 5ms}}}\n---\n\
               apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: users}\n\
               spec: {target: http://web:8080/, open: {rate: 50}}\n---\n\
               apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: esc-check}\n\
               spec: {duration: 20s, seed: 3}\n"),
    );
    let m = common::run(&spec);
    let a = meshsim::report::html::render(&spec, &m).unwrap();
    let b = meshsim::report::html::render(&spec, &common::run(&spec)).unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("<!DOCTYPE html>"));
    let sum = meshsim::report::summary::value(&spec, &m);
    let r = row(&a, "load", "users");
    assert_eq!(
        cell(r, "requests"),
        sum["loads"]["users"]["requests"].to_string()
    );
    // Nothing failed: the graph is a plain service graph, without chains.
    assert_eq!(a.matches("<figure").count(), 3);
    assert!(a.contains(&format!("{} — service graph", spec.name)));
    assert!(!a.contains("data-table=\"chains\""));
}
