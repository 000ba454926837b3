//! Loading a scenario: files and directories of YAML → a validated [`Scenario`].
//!
//! A scenario is the manifests a team already `kubectl apply`s (Deployments,
//! Services, Istio objects) plus meshsim's own kinds (`Workload`, `Load`,
//! `Simulation`, apiVersion `meshsim.dev/v1alpha1`) for what the cluster API does
//! not say: how long a request takes, what it calls, how much load arrives.
//! Directories are read recursively in sorted byte order of the path so that the
//! same tree always loads the same way; hidden entries and folders named `target`
//! or `reports` are skipped inside a walk (a path given explicitly is always read).

pub mod call_graph;
pub mod decode;
pub mod diag;
pub mod istio;
pub mod kube;
pub mod limits;
pub mod meshsim;
pub mod network;
pub mod object;
pub mod raw;
pub mod resolve;
pub mod selectors;
pub mod spec;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, LoadError, Severity};
pub use spec::Scenario;
pub use validate::{Overrides, SourceFile};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Expands directories (recursively, sorted by path bytes) into YAML/JSON files.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| LoadError::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|e| LoadError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    for entry in rd {
        let entry = entry.map_err(|e| LoadError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Inside a directory walk, skip what is not a manifest: hidden entries
        // (.git, editor files), build output, and meshsim's own reports (whose
        // summary.json would otherwise be read as a document).
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if name != "target" && name != "reports" {
                walk(&p, out)?;
            }
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml") | Some("json")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads the files behind `paths`.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, LoadError> {
    expand_paths(paths)?
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| LoadError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            Ok(SourceFile {
                path: p.display().to_string(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
        .collect()
}

/// Loads and validates a scenario from files and directories.
pub fn load(paths: &[PathBuf], overrides: &Overrides) -> Result<Scenario, LoadError> {
    let sources = read_sources(paths)?;
    let name = paths
        .first()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    from_sources(name, &sources, overrides)
}

/// Validates already-read sources (used by tests and fuzzing: no file system).
pub fn from_sources(
    name: String,
    sources: &[SourceFile],
    overrides: &Overrides,
) -> Result<Scenario, LoadError> {
    let mut h = Sha256::new();
    // Contents only (in load order), so the hash does not depend on where the
    // files were checked out or how the path was spelled.
    for s in sources {
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(s.text.as_bytes());
    }
    let digest = h.finalize();
    let sha = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    validate::build(name, sha, sources, overrides).map_err(LoadError::Invalid)
}
