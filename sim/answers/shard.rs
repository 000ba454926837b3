//! Sweeps beyond one machine: `meshsim sweep --shard I/N` runs one slice of
//! the grid's runs and writes a partial (`partial.rs`); `meshsim merge`
//! combines the N partials into the files the unsharded sweep writes, byte
//! for byte.
//!
//! **The slice.** A sweep is a list of runs: every value of the swept field
//! (in the order given) times its replications. Run `u` (counted in that
//! order) belongs to shard `u mod N`. Round-robin rather than contiguous
//! blocks: the costly runs (high load, many replicas) sit together at one
//! end of a grid, and striping spreads them over the shards. Each run is
//! the replication the unsharded sweep runs (same seed, same replication
//! index, so the same random streams), and the merge adds each point's
//! outcomes in replication order, as `batch::merge` does there.
//!
//! **Why an index, not a work queue.** A Kubernetes Indexed Job gives every
//! pod its index (`JOB_COMPLETION_INDEX`) and retries a failed index on its
//! own; a fixed assignment needs no coordinator and a retried shard
//! recomputes exactly its own runs.

use super::check::Named;
use super::partial::{Input, Partial, PartialError, SweepInput, UnitResult};
use super::sweep::{Param, Point, Setup, SweepError, load_point, point_of};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable a Kubernetes Indexed Job sets to the pod's index.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// `--shard I/N` (0 ≤ I < N), or `--shard JOB_COMPLETION_INDEX/N`: the index
/// read from that environment variable (by the binary: `index` is None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardArg {
    pub index: Option<u32>,
    pub count: u32,
}

impl FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?}: expected I/N with 0 ≤ I < N (e.g. 0/4), or {INDEX_ENV}/N (index from the environment)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(bad());
        }
        let index = match i.trim() {
            INDEX_ENV => None,
            i => Some(i.parse::<u32>().map_err(|_| bad())?),
        };
        if index.is_some_and(|i| i >= count) {
            return Err(bad());
        }
        Ok(ShardArg { index, count })
    }
}

/// The value of [`INDEX_ENV`] (as the binary read it) checked against `count`.
pub fn index_from_env(value: Option<&str>, count: u32) -> Result<u32, String> {
    let v = value.ok_or_else(|| {
        format!("--shard {INDEX_ENV}/{count}: {INDEX_ENV} is not set (Kubernetes sets it in the pods of an Indexed Job)")
    })?;
    match v.trim().parse::<u32>() {
        Ok(i) if i < count => Ok(i),
        _ => Err(format!(
            "--shard {INDEX_ENV}/{count}: {INDEX_ENV}={v:?} is not an index below {count}"
        )),
    }
}

/// (point, replication) of every run of the sweep, in grid order.
fn units(loaded: &[(Scenario, Vec<Named>)]) -> Vec<(u32, u32)> {
    loaded
        .iter()
        .enumerate()
        .flat_map(|(p, (spec, _))| (0..spec.run.replications.max(1)).map(move |r| (p as u32, r)))
        .collect()
}

/// Runs shard `index` of `count`; `progress(done, total)` after each run.
pub fn run_shard(
    setup: &Setup,
    param: &Param,
    index: u32,
    count: u32,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Partial, SweepError> {
    // Every point loads (and its assertions check) before any simulates, as
    // in the unsharded sweep: every shard refuses a bad grid the same way.
    let loaded: Vec<(Scenario, Vec<Named>)> = param
        .values
        .iter()
        .map(|v| load_point(setup, &param.target, v))
        .collect::<Result<_, _>>()?;
    let all = units(&loaded);
    let mine: Vec<(u32, u32)> = all
        .iter()
        .enumerate()
        .filter(|(u, _)| *u as u64 % count as u64 == index as u64)
        .map(|(_, x)| *x)
        .collect();
    // istiod compiles once per point this shard touches.
    let xds: Vec<Option<crate::istiod::Xds>> = loaded
        .iter()
        .enumerate()
        .map(|(p, (spec, _))| {
            mine.iter()
                .any(|u| u.0 as usize == p)
                .then(|| crate::run::compile(spec))
        })
        .collect();
    let guard = loaded
        .first()
        .map(|(spec, _)| crate::batch::replication_guard(spec, &setup.limits, mine.len() as u64));
    let done = AtomicU64::new(0);
    let total = mine.len() as u64;
    let results: Vec<UnitResult> = mine
        .par_iter()
        .map(|&(p, r)| {
            let spec = &loaded[p as usize].0;
            let x = xds[p as usize].as_ref().expect("compiled above");
            let g = guard.expect("a shard with runs has points");
            let outcome =
                crate::run::replicate_guarded_opts(spec, x, r as u64, &g, &mut |_| true, false);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            UnitResult {
                point: p,
                replication: r,
                outcome,
            }
        })
        .collect();
    let input = SweepInput::new(
        &setup.name,
        setup.sources,
        &setup.overrides,
        param,
        &setup.asserts,
        setup.basis,
    );
    Ok(Partial {
        format: super::partial::FORMAT.into(),
        version: super::partial::VERSION,
        meshsim_version: env!("CARGO_PKG_VERSION").into(),
        scenario_hash: input.hash(),
        shard: index,
        shards: count,
        units: all.len() as u64,
        input,
        results,
    })
}

/// Why partials cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Partial(#[from] PartialError),
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error("{file}: {detail}")]
    Inconsistent { file: String, detail: String },
}

/// What a merge gives back: the sweep's input, and its points.
pub struct Merged {
    pub input: SweepInput,
    pub points: Vec<Point>,
}

/// Combines the partials (file name, partial) of one sweep: all shards,
/// each once, every run of the grid exactly once. `limits` bounds the
/// memory of evaluating the points (nothing is simulated).
pub fn merge(parts: Vec<(String, Partial)>) -> Result<Merged, MergeError> {
    let parts = super::partial::complete(parts)?;
    let input = parts[0].1.input.clone();
    let inconsistent = |file: &str, detail: String| MergeError::Inconsistent {
        file: file.to_string(),
        detail,
    };
    let (overrides, param, basis) = input.settings().map_err(|d| inconsistent(&parts[0].0, d))?;
    let sources = input.source_files();
    let setup = Setup {
        name: input.name.clone(),
        sources: &sources,
        overrides,
        asserts: input.asserts.clone(),
        basis,
        limits: crate::world::Guard::NONE,
    };
    let loaded: Vec<(Scenario, Vec<Named>)> = param
        .values
        .iter()
        .map(|v| load_point(&setup, &param.target, v))
        .collect::<Result<_, _>>()?;
    let all = units(&loaded);
    let n = parts.len() as u64;
    // Slot per run: each must come from the shard it belongs to, once.
    let mut offset = vec![0usize; loaded.len() + 1];
    for (p, (spec, _)) in loaded.iter().enumerate() {
        offset[p + 1] = offset[p] + spec.run.replications.max(1) as usize;
    }
    let mut slots: Vec<Option<crate::world::Outcome>> = vec![None; all.len()];
    for (file, part) in parts {
        if part.units != all.len() as u64 {
            return Err(inconsistent(
                &file,
                format!(
                    "{} runs in its sweep, the grid has {}",
                    part.units,
                    all.len()
                ),
            ));
        }
        for u in part.results {
            let (p, r) = (u.point as usize, u.replication as usize);
            let slot = (p < loaded.len() && r < offset[p + 1] - offset[p]).then(|| offset[p] + r);
            let Some(slot) = slot.filter(|s| *s as u64 % n == part.shard as u64) else {
                return Err(inconsistent(
                    &file,
                    format!(
                        "holds point {p} replication {r}, which is not shard {}'s",
                        part.shard
                    ),
                ));
            };
            if slots[slot].replace(u.outcome).is_some() {
                return Err(inconsistent(
                    &file,
                    format!("holds point {p} replication {r} twice"),
                ));
            }
        }
    }
    if let Some(u) = slots.iter().position(Option::is_none) {
        let (p, r) = all[u];
        return Err(inconsistent(
            &format!("shard {}", u as u64 % n),
            format!("lacks point {p} replication {r}"),
        ));
    }
    let mut slots = slots.into_iter().map(|o| o.expect("checked above"));
    let points = loaded
        .iter()
        .zip(&param.values)
        .enumerate()
        .map(|(p, ((spec, named), v))| {
            let outcomes = slots.by_ref().take(offset[p + 1] - offset[p]);
            let keep = super::sweep::point_keep(spec, named);
            let merged = crate::batch::merge_keeping(spec, outcomes, keep);
            point_of(&setup, v, spec, named, &merged)
        })
        .collect();
    Ok(Merged { input, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_args_read_an_index_or_the_job_variable() {
        assert_eq!(
            "2/5".parse::<ShardArg>(),
            Ok(ShardArg {
                index: Some(2),
                count: 5
            })
        );
        assert_eq!(
            "JOB_COMPLETION_INDEX/3".parse::<ShardArg>(),
            Ok(ShardArg {
                index: None,
                count: 3
            })
        );
        for bad in ["3/3", "1/0", "1", "a/2", "-1/2"] {
            assert!(bad.parse::<ShardArg>().is_err(), "{bad}");
        }
        assert_eq!(index_from_env(Some("2"), 3), Ok(2));
        assert!(
            index_from_env(Some("3"), 3)
                .unwrap_err()
                .contains("below 3")
        );
        assert!(index_from_env(None, 3).unwrap_err().contains("not set"));
    }
}
