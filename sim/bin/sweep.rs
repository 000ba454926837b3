//! `meshsim sweep` and `meshsim merge`: files, terminal and exit status
//! around `meshsim::answers::{sweep, find, shard}` (the binary side only).

use anyhow::Context;
use meshsim::answers::find::{Direction, find};
use meshsim::answers::partial::{self, PartialError};
use meshsim::answers::shard::{self, ShardArg};
use meshsim::answers::sweep::{self, Setup};
use meshsim::cli::Command;
use meshsim::scenario::Overrides;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::progress::Progress;

/// Exit status when `--find-min/--find-max` finds no passing value.
const EXIT_NOT_FOUND: u8 = 3;

/// Runs `cmd` (a `Command::Sweep`).
pub fn run(cmd: Command, overrides: Overrides) -> anyhow::Result<ExitCode> {
    let Command::Sweep {
        paths,
        param,
        find_min,
        find_max,
        out,
        quiet,
        max_memory,
        gate,
        shard,
        ..
    } = cmd
    else {
        unreachable!("main dispatches only Sweep here")
    };
    let sources = match meshsim::scenario::read_sources(&paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let name = paths
        .first()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let setup = Setup {
        name: name.clone(),
        sources: &sources,
        overrides,
        asserts: gate.asserts.clone(),
        basis: gate.assert_on,
        limits: meshsim::world::Guard {
            memory_bytes: max_memory.unwrap_or_else(crate::default_memory_budget),
            ..meshsim::world::Guard::NONE
        },
    };
    if let (Some(shard), Some(param)) = (shard, &param) {
        let dir = out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}-shards")));
        return run_shard(&setup, param, shard, &dir, quiet);
    }
    let dir = out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}-sweep")));
    crate::check_replaceable(&dir)?;
    let (target, points, found) = match (&param, find_min.or(find_max.clone())) {
        (Some(param), _) => {
            let bar = Progress::new("sweeping", param.values.len() as u64, "points");
            let progress = |done: usize, _total: usize| bar.set(done as u64);
            let swept = sweep::sweep(&setup, param, &progress);
            bar.finish();
            match swept {
                Ok(p) => (param.target.clone(), p, None),
                Err(e) => return Ok(report_error(&e)),
            }
        }
        (None, Some(span)) => {
            let dir = if find_max.is_some() {
                Direction::Max
            } else {
                Direction::Min
            };
            let bar = Progress::new("bisecting", 0, "values probed");
            let progress = |n: usize| bar.set(n as u64);
            let found = find(&setup, &span, dir, &progress);
            bar.finish();
            match found {
                Ok(f) => {
                    let points = f.probes.iter().map(|(_, p)| p.clone()).collect();
                    (span.target.clone(), points, Some(f))
                }
                Err(e) => return Ok(report_error(&e)),
            }
        }
        (None, None) => unreachable!("clap requires --param, --find-min or --find-max"),
    };
    write_sweep(&setup, &dir, &target, &points, found.as_ref(), quiet)?;
    match found {
        Some(f) if f.answer.is_none() => Ok(ExitCode::from(EXIT_NOT_FOUND)),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Writes DIR/sweep.{csv,json,svg} (and prints the table unless `quiet`):
/// the same code for a sweep and for a merge of its shards.
fn write_sweep(
    setup: &Setup,
    dir: &Path,
    target: &str,
    points: &[sweep::Point],
    found: Option<&meshsim::answers::find::Found>,
    quiet: bool,
) -> anyhow::Result<()> {
    let name = &setup.name;
    // The first point's scenario names the file (same files at every point).
    let first_value = points.first().map(|p| p.value.clone()).unwrap_or_default();
    let (spec, _) =
        sweep::load_point(setup, target, &first_value).map_err(|e| anyhow::anyhow!("{e}"))?;
    let csv = sweep::csv(target, points);
    let json = sweep::json(&spec, target, points, found.map(|f| f.json()));
    let svg = meshsim::answers::sweep_plot::svg(name, target, points)?;
    crate::write_report(
        dir,
        &[
            ("sweep.csv", csv.as_bytes()),
            ("sweep.json", json.as_bytes()),
            ("sweep.svg", svg.as_bytes()),
        ],
    )
    .with_context(|| format!("writing {}", dir.display()))?;
    if !quiet {
        print!("{}", sweep::table(target, points));
        if let Some(f) = found {
            print!("\n{}", f.render());
        }
        println!(
            "\nwrote {}/{{sweep.csv, sweep.json, sweep.svg}}",
            dir.display()
        );
    } else if let Some(f) = found {
        print!("{}", f.render());
    }
    Ok(())
}

/// `sweep --shard`: runs the slice and writes DIR/shard-I-of-N.json (the
/// folder is kept: every shard of a sweep writes into the same one).
fn run_shard(
    setup: &Setup,
    param: &sweep::Param,
    shard: ShardArg,
    dir: &Path,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let index = match crate::shard_index(&shard) {
        Ok(i) => i,
        Err(code) => return Ok(code),
    };
    let bar = Progress::new(&format!("shard {index}/{}", shard.count), 0, "runs");
    let partial = shard::run_shard(setup, param, index, shard.count, &|done, _| bar.set(done));
    bar.finish();
    let partial = match partial {
        Ok(p) => p,
        Err(e) => return Ok(report_error(&e)),
    };
    let text = serde_json::to_string(&partial).context("serialising the partial")?;
    let file = crate::run_shard_cmd::write_partial(dir, index, shard.count, &text)?;
    if !quiet {
        println!(
            "shard {index} of {}: {} of the sweep's {} runs; wrote {}",
            shard.count,
            partial.results.len(),
            partial.units,
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Partial files named on the command line, or found in named folders
/// (`shard-*-of-*.json`, sorted).
fn partial_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with("shard-") && n.contains("-of-") && n.ends_with(".json")
                    })
                })
                .collect();
            if found.is_empty() {
                anyhow::bail!("{}: holds no shard-*-of-*.json partial", p.display());
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// `meshsim merge`: 0 written, 1 partials missing, duplicated, mismatched
/// or unreadable.
pub fn merge(cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::Merge {
        partials,
        out,
        quiet,
    } = cmd
    else {
        unreachable!("main dispatches only Merge here")
    };
    crate::check_replaceable(&out)?;
    let mut texts = Vec::new();
    for f in partial_files(&partials)? {
        let shown = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(text) => texts.push((shown, text)),
            Err(error) => {
                eprintln!("error: {}", PartialError::Io { file: shown, error });
                return Ok(ExitCode::from(1));
            }
        }
    }
    // A run's partials (`run --shard`) merge into the run's report folder.
    let first_format = texts.first().and_then(|(_, t)| partial::format_of(t));
    if first_format.as_deref() == Some(meshsim::answers::run_shard::FORMAT) {
        return crate::run_shard_cmd::merge(texts, out, quiet);
    }
    let mut parts = Vec::new();
    for (shown, text) in texts {
        match partial::read(&shown, &text) {
            Ok(p) => parts.push((shown, p)),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    let merged = match shard::merge(parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let (overrides, param, basis) = merged
        .input
        .settings()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sources = merged.input.source_files();
    let setup = Setup {
        name: merged.input.name.clone(),
        sources: &sources,
        overrides,
        asserts: merged.input.asserts.clone(),
        basis,
        limits: meshsim::world::Guard::NONE,
    };
    write_sweep(&setup, &out, &param.target, &merged.points, None, quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// A point that does not load is the scenario's error (exit 1); a bad
/// `--assert` or a find without assertions is a usage error (exit 2).
fn report_error(e: &sweep::SweepError) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        sweep::SweepError::Load { .. } => ExitCode::from(1),
        _ => ExitCode::from(2),
    }
}
