//! One run's replications beyond one machine: `meshsim run --shard I/N`
//! runs replications I, I + N, I + 2N, … and writes a partial (the layout
//! and checks of a sweep's, `partial.rs`); `meshsim merge` adds the N
//! partials' outcomes in replication order — what `batch` does as the
//! replications finish — and writes the unsharded run's report folder,
//! byte for byte.
//!
//! **Why round-robin.** Replication 0 (the reports' one-cluster views: pod
//! events, Istio metrics) is shard 0's; striping spreads the replications
//! evenly (N shards of R replications hold ⌈R/N⌉ or ⌊R/N⌋ each), and a
//! retried shard recomputes exactly its own.
//!
//! **What travels.** The scenario's files (their text) and the run's
//! arguments as typed, so the merge needs no checkout and renders with the
//! options of the run. The hash covers the files and the arguments'
//! meaning with what legitimately differs between shards cleared
//! ([`RunInput::settings`]: `--shard`, `--out`, `--quiet`, the paths'
//! spelling): shards of different runs are refused. Outputs that need
//! more than the outcomes (`--trace` and `--check-determinism` simulate
//! replication 0 again, `--timing` and `--max-wall` are wall-clock,
//! `--baseline` and `--junit` name local files, `--istio-metrics` and
//! `--istio-csv` read Istio's counters, which a partial does not carry)
//! are refused with `--shard`.

use super::partial::{Input, Partial, PartialError, UnitResult};
use super::shard::MergeError;
use crate::istiod::Xds;
use crate::scenario::{Scenario, SourceFile};
use crate::world::{Guard, Outcome};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// `format` of a run's partial.
pub const FORMAT: &str = "meshsim-run-partial";

/// Everything a run's result depends on besides the code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    /// Names the report (the first path's stem).
    pub name: String,
    /// (path as given, text), in load order.
    pub sources: Vec<(String, String)>,
    /// What reading the paths warned of (`scenario::read_walk`): the
    /// unsharded run's summary lists them too.
    pub walk_warnings: Vec<String>,
    /// `meshsim run`'s arguments as typed (after the program name); the
    /// merge parses them again and replaces `--out`, `--quiet`, `--shard`.
    pub args: Vec<String>,
    /// The parsed arguments with what differs between shards cleared (the
    /// binary's rendering of them): equal for every shard of one run.
    pub settings: String,
}

impl Input for RunInput {
    const FORMAT: &'static str = FORMAT;
    const KIND: &'static str = "run";

    /// The files and the settings; not `args`, which name the shard.
    fn hash(&self) -> String {
        let key = serde_json::to_string(&(
            &self.name,
            &self.sources,
            &self.walk_warnings,
            &self.settings,
        ))
        .expect("plain data serialises");
        super::partial::sha256_hex(&key)
    }
}

impl RunInput {
    /// The scenario as the unsharded run loaded it (its assertions checked).
    pub fn load(
        &self,
        overrides: &crate::scenario::Overrides,
    ) -> Result<(Scenario, Vec<super::check::Named>), crate::scenario::LoadError> {
        let mut spec =
            crate::scenario::from_sources(self.name.clone(), &self.source_files(), overrides)?;
        spec.warnings.extend(self.walk_warnings.iter().cloned());
        let named =
            super::check::of_scenario(&spec).map_err(crate::scenario::LoadError::Invalid)?;
        Ok((spec, named))
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
}

/// Replications of shard `index` of `count` among `r`.
pub fn replications_of(r: u32, index: u32, count: u32) -> Vec<u32> {
    (index..r).step_by(count.max(1) as usize).collect()
}

/// Runs shard `index` of `count` of `spec`'s replications, each within
/// `limits` as the unsharded run's would be (`istio`: replication 0
/// records Istio's metrics, as `--istio-metrics` asks); `progress(done,
/// total)` after each.
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    spec: &Scenario,
    xds: &Xds,
    input: RunInput,
    istio: bool,
    limits: &Guard,
    index: u32,
    count: u32,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Partial<RunInput> {
    let r = spec.run.replications.max(1);
    let mine = replications_of(r, index, count);
    let guard = crate::batch::replication_guard(spec, limits, mine.len() as u64);
    let done = AtomicU64::new(0);
    let total = mine.len() as u64;
    let results = mine
        .par_iter()
        .map(|&i| {
            let outcome = crate::run::replicate_guarded_opts(
                spec,
                xds,
                i as u64,
                &guard,
                &mut |_| true,
                istio && i == 0,
            );
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            UnitResult {
                point: 0,
                replication: i,
                outcome,
            }
        })
        .collect();
    Partial {
        format: FORMAT.into(),
        version: super::partial::VERSION,
        meshsim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_hash: input.hash(),
        shard: index,
        shards: count,
        units: r as u64,
        input,
        results,
    }
}

/// Combines the partials (file name, partial) of one run: all shards, each
/// once, every replication exactly once. Gives the run's input (the first
/// shard's) and the outcomes in replication order.
pub fn merge(
    parts: Vec<(String, Partial<RunInput>)>,
) -> Result<(RunInput, Vec<Outcome>), MergeError> {
    let parts = super::partial::complete(parts)?;
    let input = parts[0].1.input.clone();
    let inconsistent = |file: &str, detail: String| MergeError::Inconsistent {
        file: file.to_string(),
        detail,
    };
    let units = parts[0].1.units;
    let n = parts.len() as u64;
    let mut slots: Vec<Option<Outcome>> = (0..units).map(|_| None).collect();
    for (file, part) in parts {
        if part.units != units {
            return Err(inconsistent(
                &file,
                format!(
                    "{} replications in its run, shard 0 has {units}",
                    part.units
                ),
            ));
        }
        for u in part.results {
            let r = u.replication as u64;
            if u.point != 0 || r >= units || r % n != part.shard as u64 {
                return Err(inconsistent(
                    &file,
                    format!("holds replication {r}, which is not shard {}'s", part.shard),
                ));
            }
            if slots[r as usize].replace(u.outcome).is_some() {
                return Err(inconsistent(&file, format!("holds replication {r} twice")));
            }
        }
    }
    if let Some(r) = slots.iter().position(Option::is_none) {
        return Err(inconsistent(
            &format!("shard {}", r as u64 % n),
            format!("lacks replication {r}"),
        ));
    }
    Ok((input, slots.into_iter().flatten().collect()))
}

/// Why a read partial cannot be used: also [`PartialError`]s of reading.
pub fn read(file: &str, text: &str) -> Result<Partial<RunInput>, PartialError> {
    super::partial::read(file, text)
}

#[cfg(test)]
mod tests {
    use super::replications_of;

    #[test]
    fn shards_stripe_the_replications() {
        assert_eq!(replications_of(6, 0, 3), [0, 3]);
        assert_eq!(replications_of(6, 2, 3), [2, 5]);
        assert_eq!(replications_of(2, 2, 3), Vec::<u32>::new());
        let all: usize = (0..4).map(|i| replications_of(10, i, 4).len()).sum();
        assert_eq!(all, 10);
    }
}
