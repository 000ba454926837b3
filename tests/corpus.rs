//! See tests/main.rs for what this module covers.
//!
//! Every YAML/JSON file of `../shared/corpus` and `../shared/seed` goes through
//! the loader on its own, with `--duration` given (real manifests have no
//! Simulation object). Nothing may panic; a file either loads (kinds meshsim
//! does not simulate are listed in `not_simulated`) or fails with well-formed
//! located errors. Counts are printed so that a change in the loader shows up.

use crate::common;
use meshsim::engine::SimDuration;
use meshsim::scenario::{self, Diagnostic, LoadError, Overrides, Severity, SourceFile};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Data files under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A diagnostic is well-formed when it names its file, has a message, and
/// (inside a document) a line and column.
fn well_formed(d: &Diagnostic, file: &str) -> Result<(), String> {
    let r = d.to_string();
    if d.origin.file != file || !r.starts_with(file) {
        return Err(format!("names another file: {r}"));
    }
    if d.message.trim().is_empty() {
        return Err(format!("no message: {r}"));
    }
    if d.origin.document > 0 && (d.loc.line == 0 || d.loc.col == 0) {
        return Err(format!("no line:col: {r}"));
    }
    if r.contains('\n') {
        return Err(format!("spans lines: {r}"));
    }
    Ok(())
}

/// A short category for counting: the message up to its first value.
fn category(d: &Diagnostic) -> String {
    let m = &d.message;
    for c in [
        "invalid YAML",
        "missing required field",
        "is not a Kubernetes object",
        "unknown field",
        "does not resolve",
        "duplicate",
        "must be",
        "expected",
    ] {
        if m.contains(c) {
            return c.to_string();
        }
    }
    m.chars().take(40).collect()
}

#[derive(Default)]
struct Sweep {
    files: usize,
    ok: usize,
    failed: usize,
    not_simulated: usize,
    /// Istio networking objects decoded (Gateway, VirtualService, …).
    istio: usize,
    warnings: usize,
    categories: BTreeMap<String, usize>,
    problems: Vec<String>,
    /// (file, first error) of every failed file, for the log.
    failures: Vec<String>,
}

fn sweep(dirs: &[PathBuf]) -> Sweep {
    let mut s = Sweep::default();
    let ov = Overrides {
        duration: Some(SimDuration::from_secs(10)),
        ..Default::default()
    };
    let shared = common::shared();
    for dir in dirs {
        for p in files(dir) {
            s.files += 1;
            let rel = p.strip_prefix(&shared).unwrap_or(&p).display().to_string();
            let bytes = std::fs::read(&p).unwrap();
            let src = [SourceFile {
                path: rel.clone(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }];
            let r = catch_unwind(AssertUnwindSafe(|| {
                scenario::from_sources("corpus".into(), &src, &ov)
            }));
            match r {
                Err(_) => s.problems.push(format!("{rel}: the loader panicked")),
                Ok(Ok(sc)) => {
                    s.ok += 1;
                    s.not_simulated += sc.not_simulated.len();
                    let i = &sc.istio;
                    s.istio += i.gateways.len()
                        + i.virtual_services.len()
                        + i.destination_rules.len()
                        + i.service_entries.len()
                        + i.sidecars.len();
                    s.warnings += sc.warnings.len();
                }
                Ok(Err(LoadError::Invalid(d))) => {
                    s.failed += 1;
                    if !d.has_errors() {
                        s.problems.push(format!("{rel}: rejected without an error"));
                    }
                    for e in &d.items {
                        if let Err(why) = well_formed(e, &rel) {
                            s.problems.push(why);
                        }
                        if e.severity == Severity::Error {
                            *s.categories.entry(category(e)).or_default() += 1;
                        }
                    }
                    if let Some(e) = d.errors().next() {
                        s.failures.push(e.to_string());
                    }
                }
                Ok(Err(e)) => s.problems.push(format!("{rel}: not a located error: {e}")),
            }
        }
    }
    s
}

#[test]
fn every_corpus_and_seed_file_loads_or_fails_cleanly() {
    let shared = common::shared();
    let s = sweep(&[shared.join("corpus"), shared.join("seed")]);
    eprintln!(
        "corpus sweep: {} files, {} OK ({} Istio objects, {} objects not simulated, {} warnings), {} with errors",
        s.files, s.ok, s.istio, s.not_simulated, s.warnings, s.failed
    );
    for (c, n) in &s.categories {
        eprintln!("  {n:5} × {c}");
    }
    for f in &s.failures {
        eprintln!("  {f}");
    }
    assert!(s.problems.is_empty(), "{}", s.problems.join("\n"));
    // Loose bounds, so that a regression (or an improvement) is noticed.
    assert!(
        s.files >= 450,
        "{} files: is ../shared/corpus there?",
        s.files
    );
    assert!(s.ok >= 420, "only {} of {} files load", s.ok, s.files);
    // Istio's five networking kinds are decoded with istiod 1.28's rules since
    // the mesh config side landed: the files istiod itself rejects (istioctl
    // analyzer and validation test data: servers without a port, duplicate
    // server port names, VS without routes, …) now fail, and those kinds are no
    // longer counted as not simulated.
    assert!(s.failed <= 55, "{} files fail", s.failed);
    assert!(s.istio >= 380, "{} Istio objects", s.istio);
    assert!(s.not_simulated >= 300, "{}", s.not_simulated);
}

/// The seed scenarios are real Istio/Kubernetes samples: they must all load.
#[test]
fn every_seed_file_loads() {
    let s = sweep(&[common::shared().join("seed")]);
    assert!(s.problems.is_empty(), "{}", s.problems.join("\n"));
    assert_eq!(s.failed, 0, "{}", s.failures.join("\n"));
    assert!(s.files >= 14);
}

/// Istio's invalid fixtures carry `_err` keys meshsim does not check yet; they
/// only have to load or fail cleanly (the sweep covers them), never panic.
#[test]
fn istio_invalid_fixtures_do_not_panic() {
    let dir = common::shared().join("corpus/istio/pkg/config/validation/testdata/crds");
    let s = sweep(&[dir]);
    assert!(s.problems.is_empty(), "{}", s.problems.join("\n"));
    assert!(s.files >= 10, "{}", s.files);
}

/// Numbering counts empty documents (leading, trailing and doubled `---`),
/// as a person counting in the file would.
#[test]
fn document_numbers_count_empty_documents() {
    let text = "---\n# nothing\n---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: -1}]}\n---\n";
    let Err(LoadError::Invalid(d)) = common::load_texts(&[("x.yaml", text)]) else {
        panic!()
    };
    let e: Vec<String> = d.errors().map(|e| e.to_string()).collect();
    assert!(
        e.contains(
            &"x.yaml:8:23: document 3 (Service default/a): spec.ports[0].port: -1, must be in 1..=65535"
                .to_string()
        ),
        "{e:?}"
    );
    // Content before the first marker is document 1.
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n\n---\nkind: Service\n";
    let Err(LoadError::Invalid(d)) = common::load_texts(&[("y.yaml", text)]) else {
        panic!()
    };
    let e: Vec<String> = d.errors().map(|e| e.to_string()).collect();
    assert!(
        e.iter().any(|e| e.starts_with("y.yaml:7:1: document 3")),
        "{e:?}"
    );
}
