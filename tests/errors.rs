//! See tests/main.rs for what this module covers. One file per kind of input
//! (the YAML itself, Kubernetes, Istio and meshsim objects, command-line
//! overrides), plus the simulation's limits and the loader fuzzer; the
//! helpers below are shared by all.
//!
//! Every expected line below was checked by hand against its input: the line
//! and column are 1-based and point at the offending value, at the key of a
//! mapping or list the error is about, or (for a missing field) at the key of
//! the mapping it is missing from.

use crate::common;
use meshsim::scenario::{self, LoadError, Overrides, SourceFile};

mod cli;
mod fuzz;
mod istio;
mod kube;
mod limits;
mod meshsim_kinds;
mod yaml;

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
