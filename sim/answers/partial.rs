//! The partial file of one shard of a sweep (`meshsim sweep --shard I/N`),
//! and the checks `meshsim merge` makes before combining partials.
//!
//! **Lossless.** A partial holds each of its runs' complete results (the
//! replication's `Outcome`: histograms as slot counts, integer sums and
//! counters, per-batch sums, digests — `metrics/wire.rs`), not figures
//! derived from them: a p99 cannot be merged, a histogram can. Merging adds
//! the same integers in the same (replication) order as the unsharded sweep,
//! so its files are byte-identical to the unsharded ones.
//!
//! **Self-contained.** The sweep's input — every scenario file's text, the
//! overrides, the swept field and values, the assertions — travels in the
//! partial, so the merge step (a second Kubernetes Job, another machine)
//! needs no checkout, and cannot merge against files that changed since.
//! `scenario_hash` is the SHA-256 of that input (as serialised here):
//! partials of different sweeps are refused, and a partial whose input does
//! not hash to its stated hash (edited, truncated) too.
//!
//! **Versioned.** `format` and `version` are read first, so a file from
//! another meshsim format version is refused with both versions named
//! instead of a field-by-field parse error; `meshsim_version` must match
//! too (the simulation itself may differ between versions).

use super::eval::Basis;
use super::sweep::Param;
use crate::engine::SimDuration;
use crate::scenario::set::SetArg;
use crate::scenario::{Overrides, SourceFile};
use crate::world::Outcome;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `format` of a sweep's partial.
pub const FORMAT: &str = "meshsim-sweep-partial";
/// Bumped whenever the layout of a partial (or of an `Outcome`) changes.
pub const VERSION: u32 = 2;

/// What a partial's results depend on besides the code: a sweep's
/// ([`SweepInput`]) or a run's (`run_shard::RunInput`). Partials of both
/// kinds share the layout and every check ([`read`], [`complete`]).
pub trait Input: Clone + std::fmt::Debug + Serialize + DeserializeOwned {
    /// The partial's `format`.
    const FORMAT: &'static str;
    /// Names the kind in errors (`sweep`, `run`).
    const KIND: &'static str;

    /// SHA-256 (hex) of what the results depend on (the input as
    /// serialised, unless the kind says otherwise).
    fn hash(&self) -> String {
        sha256_hex(&serde_json::to_string(self).expect("plain data serialises"))
    }
}

/// SHA-256 of `text`, in hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Input for SweepInput {
    const FORMAT: &'static str = FORMAT;
    const KIND: &'static str = "sweep";
}

/// The `format` field of a partial's text (None: not JSON with one), to
/// tell a run's partial from a sweep's before reading it whole.
pub fn format_of(text: &str) -> Option<String> {
    serde_json::from_str::<Header>(text).ok()?.format
}

/// Everything a sweep's result depends on besides the code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepInput {
    /// Names the files (the first path's stem).
    pub name: String,
    /// (path as given, text), in load order.
    pub sources: Vec<(String, String)>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub duration_ns: Option<u64>,
    pub namespace: Option<String>,
    pub strict: bool,
    /// `--set`s, as typed.
    pub sets: Vec<String>,
    /// The swept field and its values.
    pub target: String,
    pub values: Vec<String>,
    pub asserts: Vec<String>,
    /// `point` or `ci`.
    pub assert_on: String,
}

impl SweepInput {
    pub fn new(
        name: &str,
        sources: &[SourceFile],
        overrides: &Overrides,
        param: &Param,
        asserts: &[String],
        basis: Basis,
    ) -> SweepInput {
        SweepInput {
            name: name.to_string(),
            sources: sources
                .iter()
                .map(|s| (s.path.clone(), s.text.clone()))
                .collect(),
            seed: overrides.seed,
            replications: overrides.replications,
            duration_ns: overrides.duration.map(|d| d.as_nanos()),
            namespace: overrides.namespace.clone(),
            strict: overrides.strict,
            sets: overrides.sets.iter().map(|s| s.to_string()).collect(),
            target: param.target.clone(),
            values: param.values.clone(),
            asserts: asserts.to_vec(),
            assert_on: match basis {
                Basis::Point => "point",
                Basis::Ci => "ci",
            }
            .into(),
        }
    }

    pub fn source_files(&self) -> Vec<SourceFile> {
        self.sources
            .iter()
            .map(|(path, text)| SourceFile {
                path: path.clone(),
                text: text.clone(),
            })
            .collect()
    }

    /// The overrides, param and basis back (an error names the bad item).
    pub fn settings(&self) -> Result<(Overrides, Param, Basis), String> {
        let sets = self
            .sets
            .iter()
            .map(|s| s.parse::<SetArg>().map_err(|e| format!("--set {s:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let basis = match self.assert_on.as_str() {
            "point" => Basis::Point,
            "ci" => Basis::Ci,
            other => return Err(format!("assert_on {other:?}: expected point or ci")),
        };
        Ok((
            Overrides {
                seed: self.seed,
                replications: self.replications,
                duration: self.duration_ns.map(SimDuration::from_nanos),
                manifests_only: false,
                namespace: self.namespace.clone(),
                strict: self.strict,
                sets,
            },
            Param {
                target: self.target.clone(),
                values: self.values.clone(),
            },
            basis,
        ))
    }
}

/// One run of the grid: a point (index into the values) and a replication.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnitResult {
    pub point: u32,
    pub replication: u32,
    pub outcome: Outcome,
}

/// One shard's file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "I: Input")]
pub struct Partial<I = SweepInput> {
    pub format: String,
    pub version: u32,
    pub meshsim_version: String,
    pub scenario_hash: String,
    /// This shard's index (0-based) and the number of shards.
    pub shard: u32,
    pub shards: u32,
    /// Runs of the whole sweep (points × their replications; a run's
    /// replications).
    pub units: u64,
    pub input: I,
    /// This shard's runs, in grid order (a run's: point 0).
    pub results: Vec<UnitResult>,
}

/// The fields read before the rest, to refuse other versions plainly.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u32>,
    meshsim_version: Option<String>,
}

/// Why a partial cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}: not a meshsim {kind} partial ({detail})")]
    NotPartial {
        file: String,
        kind: &'static str,
        detail: String,
    },
    #[error(
        "{file}: partial format version {found}, this meshsim reads version {VERSION}; merge with the meshsim that wrote it"
    )]
    Version { file: String, found: u32 },
    #[error(
        "{file}: written by meshsim {found}, this is meshsim {}; merge with the meshsim that ran the shards",
        env!("CARGO_PKG_VERSION")
    )]
    Meshsim { file: String, found: String },
    #[error("{file}: damaged partial: {detail}")]
    Damaged { file: String, detail: String },
    #[error(
        "{file} is from a different {kind} than {first} (scenario hash {hash:.12}… vs {first_hash:.12}…): {}", differs(.kind)
    )]
    Mismatch {
        kind: &'static str,
        file: String,
        hash: String,
        first: String,
        first_hash: String,
    },
    #[error("{file} is shard {shard} of {shards}, but {first} is of {first_shards}")]
    Count {
        file: String,
        shard: u32,
        shards: u32,
        first: String,
        first_shards: u32,
    },
    #[error("shard {shard} of {shards} is given twice: {a} and {b}")]
    Duplicate {
        shard: u32,
        shards: u32,
        a: String,
        b: String,
    },
    #[error("missing shard(s) {} of {shards}; merge needs all of them (0 … {})", list(.missing), .shards - 1)]
    Missing { missing: Vec<u32>, shards: u32 },
    #[error("no partials given")]
    Empty,
}

/// What differs between partials of two `kind`s (sweeps or runs).
fn differs(kind: &str) -> &'static str {
    if kind == "sweep" {
        "the scenario files, overrides, swept values or assertions differ"
    } else {
        "the scenario files or the run's options differ"
    }
}

fn list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Reads one partial; `file` names it in errors.
pub fn read<I: Input>(file: &str, text: &str) -> Result<Partial<I>, PartialError> {
    let not = |detail: String| PartialError::NotPartial {
        file: file.to_string(),
        kind: I::KIND,
        detail,
    };
    let h: Header = serde_json::from_str(text).map_err(|e| not(e.to_string()))?;
    if h.format.as_deref() != Some(I::FORMAT) {
        return Err(not(format!(
            "format {:?}, expected {:?}",
            h.format.unwrap_or_default(),
            I::FORMAT
        )));
    }
    match h.version {
        Some(VERSION) => {}
        Some(found) => {
            return Err(PartialError::Version {
                file: file.to_string(),
                found,
            });
        }
        None => return Err(not("no version".into())),
    }
    if let Some(v) = h.meshsim_version.filter(|v| v != env!("CARGO_PKG_VERSION")) {
        return Err(PartialError::Meshsim {
            file: file.to_string(),
            found: v,
        });
    }
    let damaged = |detail: String| PartialError::Damaged {
        file: file.to_string(),
        detail,
    };
    let p: Partial<I> = serde_json::from_str(text).map_err(|e| damaged(e.to_string()))?;
    if p.input.hash() != p.scenario_hash {
        return Err(damaged(format!(
            "its {} input does not hash to its scenario_hash (edited?)",
            I::KIND
        )));
    }
    if p.shards == 0 || p.shard >= p.shards {
        return Err(damaged(format!("shard {} of {}", p.shard, p.shards)));
    }
    Ok(p)
}

/// Checks that `parts` (file name, partial) are the shards 0 … N−1 of one
/// sweep (or run), each once; returns them ordered by shard.
#[allow(clippy::type_complexity)]
pub fn complete<I: Input>(
    mut parts: Vec<(String, Partial<I>)>,
) -> Result<Vec<(String, Partial<I>)>, PartialError> {
    let Some((first, p0)) = parts.first() else {
        return Err(PartialError::Empty);
    };
    let (first, hash, n) = (first.clone(), p0.scenario_hash.clone(), p0.shards);
    for (f, p) in &parts {
        if p.scenario_hash != hash {
            return Err(PartialError::Mismatch {
                kind: I::KIND,
                file: f.clone(),
                hash: p.scenario_hash.clone(),
                first: first.clone(),
                first_hash: hash,
            });
        }
        if p.shards != n {
            return Err(PartialError::Count {
                file: f.clone(),
                shard: p.shard,
                shards: p.shards,
                first: first.clone(),
                first_shards: n,
            });
        }
    }
    parts.sort_by_key(|(_, p)| p.shard);
    for w in parts.windows(2) {
        if w[0].1.shard == w[1].1.shard {
            return Err(PartialError::Duplicate {
                shard: w[0].1.shard,
                shards: n,
                a: w[0].0.clone(),
                b: w[1].0.clone(),
            });
        }
    }
    let missing: Vec<u32> = (0..n)
        .filter(|i| parts.binary_search_by_key(i, |(_, p)| p.shard).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(PartialError::Missing { missing, shards: n });
    }
    Ok(parts)
}

/// A pod event read back: its `what` is one of a few fixed words
/// (`&'static str`), interned rather than borrowed from the file.
impl<'de> Deserialize<'de> for crate::world::pod_lifecycle::PodEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            at: crate::engine::SimTime,
            workload: String,
            pod: String,
            what: String,
            detail: String,
        }
        let w = Wire::deserialize(d)?;
        Ok(crate::world::pod_lifecycle::PodEvent {
            at: w.at,
            workload: w.workload,
            pod: w.pod,
            what: crate::engine::pairs::intern(w.what),
            detail: w.detail,
        })
    }
}
