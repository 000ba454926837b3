//! Helpers shared by the integration tests.

#![allow(dead_code)]

use meshsim::batch::{Merged, run_all};
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

/// The compiled `meshsim` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meshsim"))
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
