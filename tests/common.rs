//! Helpers shared by the integration tests.

#![allow(dead_code)]

use meshsim::batch::{Merged, run_all};
use meshsim::metrics::Recorder;
use meshsim::proxy::flags::ResponseFlag;
use meshsim::scenario::{self, Overrides, Scenario, SourceFile};
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` next to the repository (CI lays it there too).
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

/// Loads a scenario from in-memory YAML documents (one "file" each).
pub fn load_texts(files: &[(&str, &str)]) -> Result<Scenario, scenario::LoadError> {
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    scenario::from_sources("test".into(), &sources, &Overrides::default())
}

/// Loads one in-memory YAML text, panicking with the rendered errors if invalid.
pub fn load_ok(text: &str) -> Scenario {
    match load_texts(&[("test.yaml", text)]) {
        Ok(s) => s,
        Err(e) => panic!("scenario should be valid:\n{e}"),
    }
}

/// The scenario of folder `dir`'s `files` without those in `drop` (a
/// scenario's variants: "the same without its VirtualService").
pub fn load_without(dir: &Path, files: &[&str], drop: &[&str]) -> Scenario {
    let kept: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !drop.contains(f))
        .collect();
    load_edited(dir, &kept, &|_, text| text)
}

/// The scenario of folder `dir`'s `files`, each passed through
/// `edit(name, text)` first (a scenario's variants: "the same with …").
pub fn load_edited(dir: &Path, files: &[&str], edit: &dyn Fn(&str, String) -> String) -> Scenario {
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let t = std::fs::read_to_string(dir.join(f)).unwrap();
            (f.to_string(), edit(f, t))
        })
        .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    load_texts(&refs).unwrap_or_else(|e| panic!("{}:\n{e}", dir.display()))
}

/// The YAML files of folder `dir` (sorted by name, symlinks followed) minus
/// `skip`, with each `(file, from, to)` edit applied (`from` must occur): the
/// sources a run of that folder reads, changed as a variant needs.
pub fn folder_sources(dir: &Path, skip: &[&str], edits: &[(&str, &str, &str)]) -> Vec<SourceFile> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenario folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut sources = Vec::new();
    for p in files {
        let file = p.file_name().unwrap().to_string_lossy().into_owned();
        if skip.contains(&file.as_str()) {
            continue;
        }
        let mut text = std::fs::read_to_string(&p).expect("readable");
        for (f, from, to) in edits {
            if *f == file {
                assert!(text.contains(from), "{file} no longer contains {from:?}");
                text = text.replace(from, to);
            }
        }
        sources.push(SourceFile {
            path: p.to_string_lossy().into_owned(),
            text,
        });
    }
    sources
}

/// Loads scenario files from disk with overrides.
pub fn load_paths(paths: &[&Path], ov: &Overrides) -> Scenario {
    let p: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    match scenario::load(&p, ov) {
        Ok(s) => s,
        Err(e) => panic!("scenario should be valid:\n{e}"),
    }
}

/// Runs all replications (no progress output).
pub fn run(spec: &Scenario) -> Merged {
    run_all(spec, &|_| {})
}

/// summary.json of a run, parsed (as a user's script would read it).
pub fn summary_json(spec: &Scenario, m: &Merged) -> serde_json::Value {
    let text = meshsim::report::summary::render(spec, m);
    serde_json::from_str(&text).expect("summary.json parses")
}

/// Runs all replications and checks the accounting invariant on every
/// stream of every replication ([`assert_accounting`]).
pub fn run_checked(spec: &Scenario) -> Merged {
    let m = run(spec);
    assert_accounting(&m);
    m
}

/// The compiled `meshsim` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meshsim"))
}

/// A fresh, empty scratch folder for one test: `meshsim-AREA-PID-TEST` in
/// the temporary directory (the process id keeps concurrent runs apart).
pub fn scratch(area: &str, test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meshsim-{area}-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the `meshsim` binary with `args` in folder `dir`.
pub fn meshsim_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run meshsim")
}

/// A process's output as text (invalid UTF-8 replaced).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A Deployment + Service (port 8080, label app=<name>) in the default namespace.
pub fn app_yaml(name: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 8080}}]
"#
    )
}

/// `app_yaml` plus a Workload with `workers` and a single compute step.
pub fn server_yaml(name: &str, replicas: u32, workers: u32, service_time: &str) -> String {
    format!(
        r#"{}---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: {name}}}
spec:
  workers: {workers}
  serviceTime: {service_time}
"#,
        app_yaml(name, replicas)
    )
}

/// Index of Deployment `ns/name` (workloads and capacity are in this order).
pub fn deployment(s: &Scenario, key: &str) -> usize {
    s.deployments
        .iter()
        .position(|d| d.key() == key)
        .unwrap_or_else(|| panic!("no deployment {key}"))
}

/// Requests Deployment `ns/name` received in the window.
pub fn received(m: &Merged, s: &Scenario, key: &str) -> u64 {
    m.workloads[deployment(s, key)].pooled.requests
}

/// The end-to-end recorder of load `name`.
pub fn load_rec<'a>(m: &'a Merged, s: &Scenario, name: &str) -> &'a Recorder {
    let i = s
        .loads
        .iter()
        .position(|l| l.name == name)
        .unwrap_or_else(|| panic!("no load {name}"));
    &m.loads[i].pooled
}

/// The recorder of `routes.<key>` (`ns/virtual service/route`) or
/// `destinations.<key>` (`fqdn/subset`), whichever has the key.
pub fn mesh_rec<'a>(m: &'a Merged, key: &str) -> &'a Recorder {
    let mm = m.mesh.as_ref().expect("a scenario with proxies");
    mm.routes
        .iter()
        .chain(&mm.destinations)
        .find(|(k, _)| k == key)
        .map(|(_, st)| &st.pooled)
        .unwrap_or_else(|| panic!("no route or destination {key}"))
}

/// Upstream attempts (first tries and retries) of the streams of route
/// `key` that started in the window, summed over replications.
pub fn route_attempts(m: &Merged, key: &str) -> u64 {
    m.outcomes
        .iter()
        .filter_map(|o| o.mesh.as_ref())
        .map(|mo| {
            let i = mo.route_keys.iter().position(|k| k == key);
            i.map_or(0, |i| mo.route_attempts[i])
        })
        .sum()
}

/// Responses with status `c`.
pub fn code(r: &Recorder, c: u16) -> u64 {
    r.codes.iter().find(|x| x.0 == c).map_or(0, |e| e.1)
}

/// Responses whose Envoy flags include `flag` (alone or with others).
pub fn flagged(r: &Recorder, flag: &str) -> u64 {
    let f = ResponseFlag::parse(flag).unwrap_or_else(|| panic!("no flag {flag}"));
    r.flags
        .iter()
        .filter(|(set, _)| set.contains(f))
        .map(|e| e.1)
        .sum()
}

/// Finished requests whose latency lies in [lo, hi) seconds (histogram
/// resolution: 3 significant digits, i.e. within 0.1 %).
pub fn latency_between(r: &Recorder, lo: f64, hi: f64) -> u64 {
    r.hist
        .to_hdr()
        .iter_recorded()
        .filter(|v| {
            let s = v.value_iterated_to() as f64 * 1e-9;
            s >= lo && s < hi
        })
        .map(|v| v.count_at_value())
        .sum()
}

/// Longest and shortest finished latency, in seconds.
pub fn latency_range(r: &Recorder) -> (f64, f64) {
    (r.hist.min() as f64 * 1e-9, r.hist.max() as f64 * 1e-9)
}

/// Latency quantile `q` in seconds.
pub fn latency_quantile(r: &Recorder, q: f64) -> f64 {
    r.hist.value_at_quantile(q) as f64 * 1e-9
}

/// |observed − n p| within the binomial 99.9 % interval (z = 3.29).
pub fn within_binomial(observed: u64, n: u64, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (observed as f64 - mean).abs() <= 3.29 * sd
}

/// The accounting invariant on every load, Service and workload of every
/// replication (tests/accounting.rs states it).
pub fn assert_accounting(m: &Merged) {
    for o in &m.outcomes {
        for (recs, in_flight, what) in [
            (&o.loads, &o.loads_in_flight, "load"),
            (&o.services, &o.services_in_flight, "service"),
            (&o.workloads, &o.workloads_in_flight, "workload"),
        ] {
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(
                    r.requests,
                    r.completed + r.failed + in_flight[i],
                    "{what} {i}: requests = completed + failed + in flight"
                );
                assert_eq!(r.count, r.completed + r.failed, "{what} {i}");
            }
        }
    }
}
