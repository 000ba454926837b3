//! See tests/main.rs for what this module covers.
//!
//! Call graphs with constant service times and one closed-loop connection per
//! load have no queueing and no randomness, so every latency below is exact to
//! the nanosecond: a test states the arithmetic and checks the whole histogram
//! (minimum = maximum = expected).
//!
//! One file per feature of a call graph; the scenario-text and result helpers
//! below are shared by all.

use crate::common;
use meshsim::batch::Merged;
use meshsim::metrics::Recorder;
use meshsim::scenario::{Overrides, Scenario};

mod app_timeouts;
mod cycles;
mod dns;
mod headers;
mod steps;
mod topologies;
mod workers;

// === scenario text helpers ===

/// Deployment + Service (port 8080) + Workload `name` in `ns`; `workload` is
/// the Workload's `spec` as a YAML flow mapping.
fn app(name: &str, ns: &str, workload: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 8080}}]}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: {name}, namespace: {ns}}}
spec: {workload}
---
"#
    )
}

/// A closed-loop load with one connection (no queueing at the client).
fn closed(name: &str, target: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: {name}}}
spec: {{target: "{target}", closed: {{connections: 1{extra}}}}}
---
"#
    )
}

fn open(name: &str, target: &str, rate: f64, arrival: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: {name}}}
spec: {{target: "{target}", open: {{rate: {rate}, arrival: {arrival}}}}}
---
"#
    )
}

fn sim(duration: &str, warmup: &str) -> String {
    format!(
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: t}}
spec: {{duration: {duration}, warmup: {warmup}, seed: 7}}
"#
    )
}

// === result helpers ===

fn dep(spec: &Scenario, key: &str) -> usize {
    spec.deployments
        .iter()
        .position(|d| d.key() == key)
        .unwrap_or_else(|| panic!("no deployment {key}"))
}

fn load<'m>(spec: &Scenario, m: &'m Merged, name: &str) -> &'m Recorder {
    let i = spec
        .loads
        .iter()
        .position(|l| l.name == name)
        .unwrap_or_else(|| panic!("no load {name}"));
    &m.loads[i].pooled
}

fn workload<'m>(spec: &Scenario, m: &'m Merged, key: &str) -> &'m Recorder {
    &m.workloads[dep(spec, key)].pooled
}

const MS: u64 = 1_000_000;

/// Every recorded latency is exactly `ns`, and there are some.
#[track_caller]
fn all_exactly(r: &Recorder, ns: u64) {
    assert!(r.count > 0, "nothing recorded");
    assert_eq!(r.sum_ns, r.count as u128 * ns as u128, "mean ≠ {ns} ns");
    // The histogram keeps 3 significant digits: min/max equal within that.
    let (lo, hi) = (r.hist.min(), r.hist.max());
    assert!(
        r.hist.equivalent(lo, hi) && r.hist.equivalent(lo, ns),
        "latencies span {lo}..{hi} ns, expected all {ns}"
    );
}

fn codes(r: &Recorder) -> Vec<(u16, u64)> {
    r.codes.clone()
}

fn run_text(text: &str) -> (Scenario, Merged) {
    let spec = common::load_ok(text);
    let m = common::run(&spec);
    (spec, m)
}

/// The rendered errors of a call graph that must be rejected.
fn load_err(text: &str) -> String {
    match common::load_texts(&[("graph.yaml", text)]) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e.to_string(),
    }
}
