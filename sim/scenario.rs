//! Loading a scenario: files and directories of YAML → a validated [`Scenario`].
//!
//! A scenario is the manifests a team already `kubectl apply`s (Deployments,
//! Services, Istio objects) plus meshsim's own kinds (`Workload`, `Load`,
//! `Simulation`, apiVersion `meshsim.dev/v1alpha1`) for what the cluster API does
//! not say: how long a request takes, what it calls, how much load arrives.
//! Directories are read recursively in sorted byte order of the path so that the
//! same tree always loads the same way; hidden entries and folders named `target`
//! or `reports` are skipped inside a walk (a path given explicitly is always read).
//! A walk does not follow symbolic links to directories (no link loop can trap
//! it) and refuses FIFOs, sockets and devices (reading one could block forever).

pub mod call_graph;
pub mod chaos;
pub mod decode;
pub mod diag;
pub mod events;
pub mod isotope;
pub mod istio;
pub mod kube;
pub mod limits;
pub mod meshsim;
pub mod network;
pub mod object;
pub mod probes;
pub mod raw;
pub mod resolve;
pub mod selectors;
pub mod set;
pub mod spec;
pub mod termination;
pub mod validate;
pub mod words;

pub use diag::{Diagnostic, Diagnostics, LoadError, Severity};
pub use spec::Scenario;
pub use validate::{Overrides, SourceFile};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The files a set of paths expands to, and what the walk left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    /// One warning per symbolic link to a directory that was not followed.
    pub warnings: Vec<String>,
}

/// Expands directories (recursively, sorted by path bytes) into YAML/JSON files.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    walk_paths(paths).map(|w| w.files)
}

/// Expands directories like [`expand_paths`], saying what it skipped.
///
/// A walk never follows a symbolic link to a directory (so a link loop such as
/// `ln -s . loop` cannot make it run forever or read a tree twice); each one is
/// named in a warning. A path given explicitly is followed, links included.
/// Anything that is neither a regular file nor a directory (FIFO, socket,
/// device) is refused when given, or when a walk would read it, because opening
/// it could block forever.
pub fn walk_paths(paths: &[PathBuf]) -> Result<Walk, LoadError> {
    let mut out = Walk::default();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| LoadError::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            let mut found = Walk::default();
            walk(p, &mut found)?;
            found.files.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            found.warnings.sort();
            out.files.extend(found.files);
            out.warnings.extend(found.warnings);
        } else {
            regular_file(p, &meta)?;
            out.files.push(p.clone());
        }
    }
    Ok(out)
}

/// Refuses what is neither a regular file nor a directory.
fn regular_file(p: &Path, meta: &std::fs::Metadata) -> Result<(), LoadError> {
    if meta.is_file() {
        return Ok(());
    }
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(LoadError::NotAFile {
        path: p.display().to_string(),
        kind,
    })
}

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml") | Some("json")
    )
}

fn walk(dir: &Path, out: &mut Walk) -> Result<(), LoadError> {
    let io = |e| LoadError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Inside a directory walk, skip what is not a manifest: hidden entries
        // (.git, editor files), build output, and meshsim's own reports (whose
        // summary.json would otherwise be read as a document).
        if name.starts_with('.') {
            continue;
        }
        // The entry itself, not what a link points to.
        let own = entry.file_type().map_err(io)?;
        if own.is_dir() {
            if name != "target" && name != "reports" {
                walk(&p, out)?;
            }
            continue;
        }
        let target = if own.is_symlink() {
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => {
                    out.warnings.push(format!(
                        "{}: warning: symbolic link to a directory, not followed (name its target to read it)",
                        p.display()
                    ));
                    continue;
                }
                Ok(m) => Some(m),
                // A dangling link to a manifest name: reading it reports the error.
                Err(_) => None,
            }
        } else {
            None
        };
        if !is_manifest(&p) {
            continue;
        }
        if !own.is_file() && !own.is_symlink() {
            regular_file(&p, &entry.metadata().map_err(io)?)?;
        }
        if let Some(m) = target {
            regular_file(&p, &m)?;
        }
        out.files.push(p);
    }
    Ok(())
}

/// Reads the files behind `paths`.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, LoadError> {
    read_walk(paths).map(|(s, _)| s)
}

/// Reads the files behind `paths`, with the walk's warnings.
pub fn read_walk(paths: &[PathBuf]) -> Result<(Vec<SourceFile>, Vec<String>), LoadError> {
    let walk = walk_paths(paths)?;
    let sources = walk
        .files
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
        .collect::<Result<_, LoadError>>()?;
    Ok((sources, walk.warnings))
}

/// Loads and validates a scenario from files and directories.
pub fn load(paths: &[PathBuf], overrides: &Overrides) -> Result<Scenario, LoadError> {
    let (sources, walk_warnings) = read_walk(paths)?;
    let name = paths
        .first()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let mut s = from_sources(name, &sources, overrides)?;
    s.warnings.extend(walk_warnings);
    Ok(s)
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
    // `--set` changes the input: fold it in, so one hash means one input
    // (nothing is added without, so hashes without --set are unchanged).
    for s in &overrides.sets {
        let t = s.to_string();
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    let digest = h.finalize();
    let sha = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    validate::build(name, sha, sources, overrides).map_err(LoadError::Invalid)
}
