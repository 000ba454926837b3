//! Assertions checked against a scenario before anything is simulated: a
//! path that names no load, Service, workload or field is an error naming
//! the path and its close matches — a typo in a CI gate must not pass
//! silently (or fail after an hour of simulation).
//!
//! Routes and destinations exist only once istiod has compiled the mesh and
//! traffic reached them, so their keys are checked when evaluated
//! (`eval.rs`); their fields are checked here.

use super::assert::{Assertion, ParseError, Path, leading_path, parse};
use crate::scenario::decode::levenshtein;
use crate::scenario::diag::{Diagnostic, Diagnostics, Severity};
use crate::scenario::{LoadError, Overrides, Scenario};

/// An assertion with its text as written and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Named {
    pub text: String,
    pub assertion: Assertion,
    /// `--assert`, or `file:line` of the Simulation object.
    pub source: String,
}

/// Why an assertion cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssertError {
    #[error("{0}")]
    Syntax(#[from] ParseError),
    #[error("{path}: {message}")]
    Path { path: String, message: String },
}

/// Fields every stream (load, Service, workload, route, destination) has.
const STREAM: &[&str] = &[
    "requests",
    "completed",
    "failed",
    "in_flight",
    "throughput_rps",
    "error_rate",
    "latency_ms",
    "codes",
    "flags",
];
const LATENCY: &[&str] = &["mean", "p50", "p90", "p99", "p999", "max", "samples"];
const WORKLOAD: &[&str] = &[
    "pods",
    "workers_per_pod",
    "utilisation",
    "queue_mean",
    "queue_max",
    "queue_full_rejections",
    "call_timeouts",
];
const ROUTE: &[&str] = &[
    "attempts",
    "retry_amplification",
    "abandoned_attempts",
    "share",
];
const DESTINATION: &[&str] = &["share", "envoy"];
const TOP: &[&str] = &[
    "loads",
    "services",
    "workloads",
    "routes",
    "destinations",
    "events",
    "replications",
    "seed",
    "duration_s",
    "warmup_s",
];

/// `word`'s close matches among `known`: edit distance ≤ 2 (or a prefix),
/// nearest first; all of them (up to 12) when none is close.
pub fn close_matches(word: &str, known: &[String]) -> String {
    let mut near: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (levenshtein(&word.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2 || k.starts_with(word) || word.starts_with(k.as_str()))
        .collect();
    near.sort();
    if !near.is_empty() {
        let n: Vec<String> = near.iter().take(3).map(|(_, k)| format!("{k:?}")).collect();
        return format!("did you mean {}?", n.join(" or "));
    }
    let all: Vec<String> = known.iter().take(12).map(|k| format!("{k:?}")).collect();
    let more = if known.len() > 12 { ", …" } else { "" };
    format!("known: {}{more}", all.join(", "))
}

fn strs(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

fn unknown(path: &Path, depth: usize, what: &str, known: &[String]) -> AssertError {
    let seg = &path.0[depth];
    let upto = Path(path.0[..=depth].to_vec());
    AssertError::Path {
        path: upto.to_string(),
        message: format!("no {what} {seg:?}; {}", close_matches(seg, known)),
    }
}

/// Checks the fields after a stream's key (`rest`), for a stream of `section`.
fn check_stream(path: &Path, at: usize, section: &str, slo: bool) -> Result<(), AssertError> {
    let rest = &path.0[at..];
    let whole = |message: String| AssertError::Path {
        path: path.to_string(),
        message,
    };
    if slo {
        return match rest.first() {
            None => Ok(()),
            Some(_) => Err(whole(format!(
                "an SLO names a stream (e.g. {}), not a field",
                Path(path.0[..at].to_vec())
            ))),
        };
    }
    let mut fields = strs(STREAM);
    match section {
        "workloads" => fields.extend(strs(WORKLOAD)),
        "routes" => {
            fields.retain(|f| f != "in_flight");
            fields.extend(strs(ROUTE))
        }
        "destinations" => {
            fields.retain(|f| f != "in_flight");
            fields.extend(strs(DESTINATION))
        }
        _ => {}
    }
    let Some(f) = rest.first() else {
        return Err(whole(format!(
            "names a whole stream, not a number: add a field ({})",
            fields.join(", ")
        )));
    };
    if !fields.contains(f) {
        return Err(unknown(path, at, "field", &fields));
    }
    let sub = &rest[1..];
    let map_field = matches!(f.as_str(), "latency_ms" | "codes" | "flags" | "envoy");
    match (map_field, sub.len()) {
        (false, 0) => Ok(()),
        (false, _) => Err(whole(format!("{f} is a number; nothing is below it"))),
        (true, 0) => Err(whole(format!("{f} is a section; name one of its fields"))),
        (true, 1) => match f.as_str() {
            "latency_ms" if !LATENCY.contains(&sub[0].as_str()) => {
                Err(unknown(path, at + 1, "latency field", &strs(LATENCY)))
            }
            "codes" if !sub[0].parse::<u16>().is_ok_and(|c| c < 600) => Err(whole(format!(
                "{:?} is not an HTTP status (0 = no response)",
                sub[0]
            ))),
            _ => Ok(()),
        },
        (true, _) => Err(whole(format!("too many segments after {f}"))),
    }
}

/// Checks that `a`'s path names something `spec`'s summary.json will have.
pub fn check_path(spec: &Scenario, a: &Assertion) -> Result<(), AssertError> {
    check_path_of(spec, a.path(), matches!(a, Assertion::Slo { .. }))
}

fn check_path_of(spec: &Scenario, path: &Path, slo: bool) -> Result<(), AssertError> {
    let p = &path.0;
    let top = p[0].as_str();
    let need = |n: usize, what: &str| -> Result<(), AssertError> {
        if p.len() < n {
            Err(AssertError::Path {
                path: path.to_string(),
                message: format!("incomplete: {what}"),
            })
        } else {
            Ok(())
        }
    };
    match top {
        "loads" => {
            need(2, "loads.NAME.FIELD, e.g. loads.web.latency_ms.p99")?;
            let names: Vec<String> = spec.loads.iter().map(|l| l.name.clone()).collect();
            if !names.contains(&p[1]) {
                return Err(unknown(path, 1, "load", &names));
            }
            check_stream(path, 2, top, slo)
        }
        "services" => {
            need(
                3,
                "services.NAME.NAMESPACE.FIELD, e.g. services.reviews.default.latency_ms.p99",
            )?;
            let names: Vec<String> = spec.services.iter().map(|s| s.name.clone()).collect();
            if !names.contains(&p[1]) {
                return Err(unknown(path, 1, "Service", &names));
            }
            let nss: Vec<String> = spec
                .services
                .iter()
                .filter(|s| s.name == p[1])
                .map(|s| s.namespace.clone())
                .collect();
            if !nss.contains(&p[2]) {
                return Err(unknown(path, 2, "namespace of this Service", &nss));
            }
            check_stream(path, 3, top, slo)
        }
        "workloads" => {
            need(
                2,
                "workloads.\"NAMESPACE/NAME\".FIELD, e.g. workloads.\"default/web\".utilisation",
            )?;
            let keys: Vec<String> = spec.deployments.iter().map(|d| d.key()).collect();
            if !keys.contains(&p[1]) {
                return Err(unknown(path, 1, "workload", &keys));
            }
            check_stream(path, 2, top, slo)
        }
        "routes" | "destinations" => {
            need(
                2,
                "routes.\"NS/VS/ROUTE\".FIELD or destinations.\"FQDN/SUBSET\".FIELD",
            )?;
            check_stream(path, 2, top, slo)
        }
        _ if TOP.contains(&top) && !slo => {
            if p.len() > 1 {
                return Err(AssertError::Path {
                    path: path.to_string(),
                    message: format!("{top} is a number; nothing is below it"),
                });
            }
            Ok(())
        }
        _ => Err(unknown(path, 0, "section", &strs(TOP))),
    }
}

/// Parses and checks one `--assert` against the scenario.
pub fn check(spec: &Scenario, text: &str) -> Result<Assertion, AssertError> {
    let a = parse(text).map_err(|e| {
        // A misspelt path is the better message than the unit it does not fit.
        match leading_path(text) {
            Some((p, slo)) => check_path_of(spec, &p, slo).err(),
            None => None,
        }
        .unwrap_or(AssertError::Syntax(e))
    })?;
    check_path(spec, &a)?;
    Ok(a)
}

/// The `Simulation` object's assertions, parsed and checked; every mistake
/// located at its list item.
pub fn of_scenario(spec: &Scenario) -> Result<Vec<Named>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut out = Vec::new();
    for src in &spec.run.assertions {
        match check(spec, &src.text) {
            Ok(a) => out.push(Named {
                text: src.text.clone(),
                assertion: a,
                source: format!("{}:{}", src.origin.file, src.loc.line),
            }),
            Err(e) => diags.push(Diagnostic {
                severity: Severity::Error,
                origin: src.origin.clone(),
                loc: src.loc,
                path: src.path.clone(),
                message: format!("{:?}: {e}", src.text),
            }),
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// [`crate::scenario::load`] plus the Simulation's assertions, checked: what
/// `meshsim run`, `validate` and `sweep` load.
pub fn load(
    paths: &[std::path::PathBuf],
    overrides: &Overrides,
) -> Result<(Scenario, Vec<Named>), LoadError> {
    let spec = crate::scenario::load(paths, overrides)?;
    let named = of_scenario(&spec).map_err(LoadError::Invalid)?;
    Ok((spec, named))
}
