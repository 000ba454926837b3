//! `meshsim run --shard I/N` and `meshsim merge` of a run's partials: files,
//! terminal and exit status around `meshsim::answers::run_shard` (the
//! binary side only). The merge renders through `run`'s own code
//! (`crate::real_main_with`, with the partials' files and outcomes
//! injected), so its report folder is the unsharded run's, byte for byte.

use anyhow::Context;
use clap::Parser;
use meshsim::answers::partial::PartialError;
use meshsim::answers::run_shard::{self, RunInput};
use meshsim::answers::shard::ShardArg;
use meshsim::cli::{Args, Command};
use meshsim::scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::progress::Progress;

/// What a merge hands `run`'s code instead of paths to read and
/// replications to simulate.
pub struct Injected {
    pub input: RunInput,
    /// Every replication's outcome, in replication order.
    pub outcomes: Vec<meshsim::world::Outcome>,
}

/// `run`'s arguments with what differs between the shards of one run
/// cleared (`--shard`, `--out`, `--quiet`, the paths: the files travel as
/// text), rendered: equal for every shard, and covered by the hash.
pub fn settings(cmd: &Command) -> String {
    let mut c = cmd.clone();
    if let Command::Run {
        paths,
        out,
        quiet,
        shard,
        ..
    } = &mut c
    {
        paths.clear();
        *out = None;
        *quiet = false;
        *shard = None;
    }
    format!("{c:?}")
}

/// `run --shard` with an option whose output is not made from the
/// replications' outcomes: the option, and why.
pub fn refused(cmd: &Command) -> Option<String> {
    let Command::Run {
        shard: Some(_),
        trace,
        check_determinism,
        timing,
        max_wall,
        baseline,
        gate,
        istio_metrics,
        istio_csv,
        ..
    } = cmd
    else {
        return None;
    };
    let why = [
        (trace.is_some(), "--trace (it replays replication 0)"),
        (
            *check_determinism,
            "--check-determinism (it replays replication 0)",
        ),
        (*timing, "--timing (wall-clock time of one machine)"),
        (max_wall.is_some(), "--max-wall (a wall-clock stop)"),
        (baseline.is_some(), "--baseline (a local file)"),
        (gate.junit.is_some(), "--junit (a local file)"),
        (
            *istio_metrics || *istio_csv,
            "--istio-metrics/--istio-csv (Istio's counters are not in a partial)",
        ),
    ]
    .into_iter()
    .find(|(on, _)| *on)?
    .1;
    Some(format!(
        "--shard: {why} cannot be made from the shards' partials; run it unsharded"
    ))
}

/// The arguments this process was started with, after the program name.
fn typed_args() -> Vec<String> {
    std::env::args().skip(1).collect()
}

/// `run --shard`: runs the shard's replications and writes
/// DIR/shard-I-of-N.json (DIR: `--out`, default reports/NAME-SEED-shards;
/// kept, as every shard writes into it).
#[allow(clippy::too_many_arguments)]
pub fn run(
    spec: &Scenario,
    paths: &[PathBuf],
    settings: String,
    shard: ShardArg,
    out: Option<PathBuf>,
    quiet: bool,
    istio: bool,
    max_memory: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let index = match crate::shard_index(&shard) {
        Ok(i) => i,
        Err(code) => return Ok(code),
    };
    let (sources, walk_warnings) = match meshsim::scenario::read_walk(paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let input = RunInput {
        name: spec.name.clone(),
        sources: sources.into_iter().map(|s| (s.path, s.text)).collect(),
        walk_warnings,
        args: typed_args(),
        settings,
    };
    let dir = out.unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("{}-{}-shards", spec.name, spec.run.seed))
    });
    let limits = meshsim::world::Guard {
        memory_bytes: max_memory.unwrap_or_else(crate::default_memory_budget),
        ..meshsim::world::Guard::NONE
    };
    let xds = meshsim::run::compile(spec);
    let bar = Progress::new(&format!("shard {index}/{}", shard.count), 0, "replications");
    let partial = run_shard::run_shard(
        spec,
        &xds,
        input,
        istio,
        &limits,
        index,
        shard.count,
        &|done, _| bar.set(done),
    );
    bar.finish();
    let text = serde_json::to_string(&partial).context("serialising the partial")?;
    let file = write_partial(&dir, index, shard.count, &text)?;
    if !quiet {
        println!(
            "shard {index} of {}: {} of the run's {} replications; wrote {}",
            shard.count,
            partial.results.len(),
            partial.units,
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes DIR/shard-I-of-N.json beside, then renames: a reader sees the
/// whole partial or none.
pub fn write_partial(dir: &Path, index: u32, count: u32, text: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(format!("shard-{index}-of-{count}.json"));
    let tmp = dir.join(format!(
        ".shard-{index}-of-{count}.json.tmp-{}",
        std::process::id()
    ));
    std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

/// `meshsim merge` of a run's partials (file name, text): the run's report
/// folder at `out`, and `run`'s terminal output and exit status.
pub fn merge(texts: Vec<(String, String)>, out: PathBuf, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for (file, text) in &texts {
        match run_shard::read(file, text) {
            Ok(p) => parts.push((file.clone(), p)),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    let first = parts.first().map(|(f, _)| f.clone()).unwrap_or_default();
    let (input, outcomes) = match run_shard::merge(parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    // The run's own arguments, with this merge's folder and verbosity.
    let argv = std::iter::once("meshsim".to_string()).chain(input.args.iter().cloned());
    let mut args = Args::try_parse_from(argv)
        .map_err(|e| anyhow::anyhow!("{first}: the run's arguments no longer parse: {e}"))?;
    if settings(&args.command) != input.settings {
        let e = PartialError::Damaged {
            file: first,
            detail: "its arguments do not give its settings (edited?)".into(),
        };
        eprintln!("error: {e}");
        return Ok(ExitCode::from(1));
    }
    if let Command::Run {
        out: o,
        quiet: q,
        shard,
        ..
    } = &mut args.command
    {
        *o = Some(out);
        *q = quiet;
        *shard = None;
    }
    crate::real_main_with(args, Some(Injected { input, outcomes }))
}
