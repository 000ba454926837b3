//! The `meshsim` binary: CLI, files and terminal only. The only place that reads
//! the environment, the clock (only for `run --timing`) or uses `anyhow`.

use anyhow::Context;
use clap::Parser;
use meshsim::cli::{Args, Command};
use meshsim::scenario::{self, LoadError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "bin/diff.rs"]
mod diff_cmd;
#[path = "bin/gate.rs"]
mod gate_cmd;
#[path = "bin/progress.rs"]
mod progress;
#[path = "bin/run_shard.rs"]
mod run_shard_cmd;
#[path = "bin/sweep.rs"]
mod sweep_cmd;

fn main() -> ExitCode {
    let args = Args::parse(); // usage errors exit 2
    match real_main(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print_load_error(e: &LoadError) {
    eprintln!("{e}");
}

fn real_main(args: Args) -> anyhow::Result<ExitCode> {
    real_main_with(args, None)
}

/// `injected`: `meshsim merge` of a sharded run hands `run` the scenario's
/// files and every replication's outcome from the partials, instead of
/// paths to read and replications to simulate.
fn real_main_with(
    args: Args,
    injected: Option<run_shard_cmd::Injected>,
) -> anyhow::Result<ExitCode> {
    let overrides = args.command.overrides();
    // `run --shard`: what all its shards share, or which option it refuses.
    if let Some(why) = run_shard_cmd::refused(&args.command) {
        eprintln!("error: {why}");
        return Ok(ExitCode::from(2));
    }
    let shard_settings = run_shard_cmd::settings(&args.command);
    match args.command {
        Command::Validate { paths, .. } => {
            match meshsim::answers::check::load(&paths, &overrides) {
                Ok((s, _)) => {
                    for w in &s.warnings {
                        eprintln!("{w}");
                    }
                    println!(
                        "{}: valid ({} deployments, {} services, {} loads; {} objects not simulated)",
                        s.name,
                        s.deployments.len(),
                        s.services.len(),
                        s.loads.len(),
                        s.not_simulated.len()
                    );
                    for line in scenario::istio::unsimulated_listing(&s.istio.unsimulated) {
                        println!("  {line}");
                    }
                    for line in &s.chaos.not_simulated {
                        println!("  {line}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    print_load_error(&e);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::RouteTest { table, paths, .. } => Ok(route_test(&table, &paths, &overrides)),
        cmd @ Command::Sweep { .. } => sweep_cmd::run(cmd, overrides),
        cmd @ Command::Diff { .. } => diff_cmd::run(cmd, overrides),
        cmd @ Command::Merge { .. } => sweep_cmd::merge(cmd),
        Command::Run {
            paths,
            out,
            quiet,
            check_determinism,
            timing,
            trace,
            max_memory,
            max_wall,
            gate,
            baseline,
            istio_metrics,
            metrics_start,
            hgrm,
            percentiles,
            top,
            fortio,
            istio_csv,
            percentile_ci,
            shard,
            ..
        } => {
            let loaded = match &injected {
                None => meshsim::answers::check::load(&paths, &overrides),
                Some(i) => i.input.load(&overrides),
            };
            let (spec, named) = match loaded {
                Ok(s) => s,
                Err(e) => {
                    print_load_error(&e);
                    return Ok(ExitCode::from(1));
                }
            };
            let mut spec = spec;
            if percentile_ci {
                // Single-run percentile intervals need each time batch's
                // quantiles (metrics::batch_quantiles); kept only when asked.
                let pct = percentiles
                    .as_ref()
                    .map_or_else(meshsim::report::percentiles::default_json, |p| p.0.clone());
                spec.batch_quantiles = pct.iter().map(|p| p.q).collect();
            }
            let named = match meshsim::answers::gate::with_cli(&spec, named, &gate.asserts) {
                Ok(n) => n,
                Err((text, e)) => {
                    eprintln!("error: --assert {text:?}: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let baseline = match &baseline {
                None => None,
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("--baseline {}", p.display()))?;
                    if let Err(e) = meshsim::answers::baseline::check(&text) {
                        eprintln!("error: --baseline {}: {e}", p.display());
                        return Ok(ExitCode::from(2));
                    }
                    Some(text)
                }
            };
            // Flag values are checked before the simulation starts, so a typo
            // costs nothing (not minutes of simulation).
            let traced = match &trace {
                None => None,
                Some(arg) => match parse_trace(arg, &spec) {
                    Ok(t) => Some(t),
                    Err(msg) => {
                        eprintln!("error: --trace {arg}: {msg}");
                        return Ok(ExitCode::from(2));
                    }
                },
            };
            if let Some(shard) = shard {
                let istio = istio_metrics || istio_csv;
                return run_shard_cmd::run(
                    &spec,
                    &paths,
                    shard_settings,
                    shard,
                    out,
                    quiet,
                    istio,
                    max_memory,
                );
            }
            let dir = out.unwrap_or_else(|| {
                PathBuf::from("reports").join(format!("{}-{}", spec.name, spec.run.seed))
            });
            // (Checked again when writing: the folder may change meanwhile.)
            check_replaceable(&dir)?;
            let clock = Stopwatch::start();
            let wall_limit = max_wall.map(|d| d.as_secs_f64());
            let bar = progress::Progress::new("simulating", 1000, "");
            let progress = |f: f64| {
                bar.set((f * 1000.0) as u64);
                wall_limit.is_none_or(|l| clock.elapsed_secs() < l)
            };
            let limits = meshsim::world::Guard {
                memory_bytes: max_memory.unwrap_or_else(default_memory_budget),
                ..meshsim::world::Guard::NONE
            };
            let xds = meshsim::run::compile(&spec);
            let pct_json = percentiles
                .as_ref()
                .map_or_else(meshsim::report::percentiles::default_json, |p| p.0.clone());
            let opts = meshsim::batch::RunOptions {
                istio_metrics: istio_metrics || istio_csv,
                // What the outputs asked for read of each replication.
                keep: meshsim::answers::keep::for_run(
                    &spec,
                    &named,
                    percentile_ci.then_some(&pct_json[..]),
                ),
            };
            let merged = match injected {
                Some(i) => meshsim::batch::merge_keeping(&spec, i.outcomes, opts.keep.clone()),
                None => meshsim::batch::run_all_opts(&spec, &xds, &limits, &progress, &opts),
            };
            let wall = clock.elapsed_secs();
            bar.finish();
            if check_determinism {
                // Same per-replication budget as the run (so a guarded stop
                // replays too); a wall-clock stop cannot replay.
                let per_rep = meshsim::batch::replication_guard_opts(
                    &spec,
                    &limits,
                    merged.replications as u64,
                    &opts,
                );
                let again = meshsim::run::replicate_guarded(&spec, 0, &per_rep, &mut |_| true);
                let first = &merged.outcomes[0];
                if (again.digest, again.events) != (first.digest, first.events) {
                    eprintln!(
                        "determinism check FAILED: replication 0 gave digest {:016x} ({} events), then {:016x} ({} events)",
                        first.digest, first.events, again.digest, again.events
                    );
                    return Ok(ExitCode::from(1));
                }
                eprintln!(
                    "determinism check passed: replication 0 replayed with the same event digest {:016x} ({} events)",
                    again.digest, again.events
                );
            }
            if timing {
                print_timing(&merged, wall);
            }
            let trace_lines = traced.map(|t| trace_text(&spec, &t));
            let default_pct = meshsim::report::percentiles::default_table();
            let json = match &percentiles {
                Some(p) => meshsim::report::summary::render_with(&spec, &merged, &p.0),
                None => meshsim::report::summary::render(&spec, &merged),
            };
            let json = if percentile_ci {
                // Only when asked: other summaries keep their shape.
                let pct = &pct_json;
                let mut v = meshsim::report::summary::value_with(&spec, &merged, pct);
                meshsim::report::percentile_ci::annotate(&spec, &merged, pct, &mut v);
                let mut s = serde_json::to_string_pretty(&v).expect("JSON values serialise");
                s.push('\n');
                s
            } else {
                json
            };
            // Render everything before writing anything: a report is whole or absent.
            let files = [
                ("summary.json", json),
                (
                    "timeline.csv",
                    meshsim::report::plot::timeline_csv(&spec, &merged),
                ),
                (
                    "latency.svg",
                    meshsim::report::plot::latency_svg(&spec, &merged)?,
                ),
                (
                    "timeline.svg",
                    meshsim::report::plot::timeline_svg(&spec, &merged)?,
                ),
                ("index.html", meshsim::report::html::render(&spec, &merged)?),
            ];
            // propagation.{dot,svg}: only when failures, retries, breakers or ejections were recorded.
            let propagation = meshsim::report::propagation::files(&spec, &merged);
            let mut set: Vec<(&str, &[u8])> =
                files.iter().map(|(n, b)| (*n, b.as_bytes())).collect();
            set.extend(propagation.iter().map(|(n, b)| (*n, b.as_bytes())));
            if let Some(t) = &trace_lines {
                set.push(("trace.txt", t.as_bytes()));
            }
            // Istio's metrics: replication 0's counters, as one cluster shows them.
            let istio = merged.outcomes.first().and_then(|o| o.istio.as_ref());
            let om = istio.filter(|_| istio_metrics).map(|r| {
                let start = metrics_start.unwrap_or(meshsim::report::openmetrics::DEFAULT_START);
                meshsim::report::openmetrics::render(&spec, r, start)
            });
            if let Some(om) = &om {
                set.push(("metrics.om", om.as_bytes()));
                if istio.is_some_and(|r| r.series.is_empty()) {
                    eprintln!(
                        "note: --istio-metrics: no Istio proxy reported a request; metrics.om holds no series"
                    );
                }
            }
            let hgrms: Vec<(String, String)> = if hgrm {
                spec.loads
                    .iter()
                    .zip(&merged.loads)
                    .map(|(l, s)| {
                        let text = meshsim::report::hgrm::render(&s.pooled);
                        (format!("{}.hgrm", l.name), text)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            set.extend(hgrms.iter().map(|(n, t)| (n.as_str(), t.as_bytes())));
            // --fortio, --istio-csv: opt-in files for fortio's and spreadsheet users.
            let start = metrics_start.unwrap_or(meshsim::report::openmetrics::DEFAULT_START);
            let mut extra_files: Vec<(String, String)> = Vec::new();
            if fortio {
                for (li, l) in spec.loads.iter().enumerate() {
                    let text =
                        meshsim::report::fortio::render(&spec, &merged, li, &pct_json, start);
                    extra_files.push((format!("{}.fortio.json", l.name), text));
                }
            }
            if let Some(r) = istio.filter(|_| istio_csv) {
                let text = meshsim::report::istio_csv::render(&spec, r, start);
                extra_files.push(("istio.csv".into(), text));
            }
            set.extend(extra_files.iter().map(|(n, t)| (n.as_str(), t.as_bytes())));
            write_report(&dir, &set)?;
            for p in &merged.partial {
                eprintln!("warning: partial report: {p}");
            }
            if !quiet {
                print!(
                    "{}",
                    meshsim::report::table::render_top(
                        &spec,
                        &merged,
                        match &percentiles {
                            Some(p) => &p.0,
                            None => &default_pct,
                        },
                        top.unwrap_or(0)
                    )
                );
                if let Some(t) = &trace_lines {
                    print!("\n{t}");
                }
                let extra: String = propagation
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(trace_lines.as_ref().map(|_| "trace.txt"))
                    .chain(om.as_ref().map(|_| "metrics.om"))
                    .chain(hgrms.iter().map(|(n, _)| n.as_str()))
                    .chain(extra_files.iter().map(|(n, _)| n.as_str()))
                    .map(|n| format!(", {n}"))
                    .collect();
                println!(
                    "\nwrote {}/{{summary.json, timeline.csv, latency.svg, timeline.svg, index.html{extra}}}",
                    dir.display(),
                );
            }
            let verdicts = meshsim::answers::gate::verdicts(
                &spec,
                &merged,
                &named,
                gate.assert_on,
                baseline.as_deref(),
            )?;
            let gate_failed = gate_cmd::report_verdicts(&spec.name, &verdicts, &gate, quiet)?;
            if !merged.partial.is_empty() {
                Ok(ExitCode::from(EXIT_PARTIAL))
            } else if gate_failed {
                Ok(ExitCode::from(EXIT_ASSERTION))
            } else {
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Which request `--trace LOAD[:N|:failed|:slowest]` follows.
enum TracePick {
    Nth(u64),
    Failed,
    Slowest,
}

/// A parsed `--trace`: the load's name and index, and which of its requests.
struct Traced {
    name: String,
    load: usize,
    pick: TracePick,
}

const TRACE_FORMS: &str = "LOAD (its first request after warm-up), LOAD:N (its N-th, N ≥ 1), \
LOAD:failed (its first failed one), LOAD:slowest (its slowest one)";

/// `--trace` checked against the scenario's loads (before anything is simulated).
fn parse_trace(arg: &str, spec: &scenario::Scenario) -> Result<Traced, String> {
    let (name, pick) = match arg.rsplit_once(':') {
        None => (arg, TracePick::Nth(1)),
        Some((n, "failed")) => (n, TracePick::Failed),
        Some((n, "slowest")) => (n, TracePick::Slowest),
        Some((n, k)) => match k.parse::<u64>() {
            Ok(k) if k >= 1 => (n, TracePick::Nth(k)),
            Ok(_) => return Err("N must be a whole number ≥ 1".into()),
            Err(_)
                if k.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+') =>
            {
                return Err("N must be a whole number ≥ 1".into());
            }
            Err(_) => {
                return Err(format!(
                    "unknown request selector {k:?}; accepted forms: {TRACE_FORMS}"
                ));
            }
        },
    };
    let Some(load) = spec.loads.iter().position(|l| l.name == name) else {
        let names: Vec<&str> = spec.loads.iter().map(|l| l.name.as_str()).collect();
        return Err(format!(
            "no load named {name:?} (loads: {})",
            names.join(", ")
        ));
    };
    Ok(Traced {
        name: name.to_string(),
        load,
        pick,
    })
}

/// Runs replication 0 again following the request `t` names (after an
/// untraced run that finds it, for `:failed` and `:slowest`), and renders
/// trace.txt. A load with no such request gets a trace.txt saying so (and a
/// note on stderr): not an error, the run itself succeeded.
fn trace_text(spec: &scenario::Scenario, t: &Traced) -> String {
    let seed = spec.run.seed;
    let name = &t.name;
    let (nth, mut text) = match t.pick {
        TracePick::Nth(nth) => (
            nth,
            format!(
                "trace: request {nth} of load {name} after warm-up (replication 0, seed {seed})\n"
            ),
        ),
        TracePick::Failed => match meshsim::run::find_picks(spec, 0, t.load).first_failed {
            Some(nth) => (
                nth,
                format!(
                    "trace: the first failed request of load {name} after warm-up: request {nth} \
                     (replication 0, seed {seed})\n"
                ),
            ),
            None => {
                let msg =
                    format!("no request of load {name} failed after warm-up in replication 0");
                eprintln!("note: --trace {name}:failed: {msg}; nothing to follow");
                return format!("trace: {msg} (seed {seed}): nothing to follow\n");
            }
        },
        TracePick::Slowest => match meshsim::run::find_picks(spec, 0, t.load).slowest {
            Some((nth, ns)) => (
                nth,
                format!(
                    "trace: the slowest request of load {name} after warm-up: request {nth}, \
                     {:.3} ms (replication 0, seed {seed})\n",
                    ns as f64 / 1e6
                ),
            ),
            None => {
                let msg =
                    format!("no request of load {name} completed after warm-up in replication 0");
                eprintln!("note: --trace {name}:slowest: {msg}; nothing to follow");
                return format!("trace: {msg} (seed {seed}): nothing to follow\n");
            }
        },
    };
    let o =
        meshsim::run::replicate_traced(spec, 0, meshsim::world::TraceSpec { load: t.load, nth });
    if o.trace.is_empty() {
        text.push_str("  (load issued fewer requests than that inside the measurement window)\n");
    }
    for l in &o.trace {
        text.push_str(l);
        text.push('\n');
    }
    text
}

/// `meshsim route-test`: 0 all cases pass, 1 a mismatch, 2 nothing could be tested.
fn route_test(table: &Path, paths: &[PathBuf], overrides: &scenario::Overrides) -> ExitCode {
    use meshsim::istiod::route_test;
    let shown = table.display().to_string();
    let text = match std::fs::read(table) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("error: {shown}: {e}");
            return ExitCode::from(2);
        }
    };
    let cases = match route_test::table::parse(&shown, &text) {
        Ok(t) => t,
        Err(d) => {
            for x in &d.items {
                eprintln!("{x}");
            }
            eprintln!("{shown}: invalid route-test table");
            return ExitCode::from(2);
        }
    };
    let spec = match scenario::load(paths, overrides) {
        Ok(s) => s,
        Err(e) => {
            print_load_error(&e);
            return ExitCode::from(2);
        }
    };
    for w in &spec.warnings {
        eprintln!("{w}");
    }
    let xds = meshsim::istiod::compile(&spec);
    for n in &xds.notes {
        eprintln!("note: {n}");
    }
    match route_test::run(&spec, &xds, &cases) {
        Ok(report) => {
            print!("{}", route_test::render(&report));
            if report.failed() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Exit status of a run the resource guard stopped early (README "Exit
/// codes"); it wins over a failed assertion (the numbers are partial).
const EXIT_PARTIAL: u8 = 4;
/// Exit status when an assertion or the baseline comparison fails.
const EXIT_ASSERTION: u8 = 3;

/// Default `--max-memory`: three quarters of what this process may use —
/// `MemAvailable` from /proc/meminfo, or the cgroup's limit if lower; 4 GiB
/// where neither can be read. Three quarters leaves room for the report,
/// the allocator's slack and everything else on the machine.
fn default_memory_budget() -> u64 {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let usable = match (available, cgroup) {
        (Some(a), Some(c)) => a.min(c),
        (Some(a), None) => a,
        (None, Some(c)) => c,
        (None, None) => 4 << 30,
    };
    usable / 4 * 3
}

/// `sweep --shard JOB_COMPLETION_INDEX/N`: the pod's index in a Kubernetes
/// Indexed Job (only the binary reads the environment).
#[allow(clippy::disallowed_methods)]
fn job_completion_index() -> Option<String> {
    std::env::var(meshsim::answers::shard::INDEX_ENV).ok()
}

/// The shard this process runs: `I` of `--shard I/N`, or the Indexed Job's
/// `JOB_COMPLETION_INDEX` for `--shard JOB_COMPLETION_INDEX/N` (an error
/// printed, exit status 2, when that is missing or out of range).
fn shard_index(shard: &meshsim::answers::shard::ShardArg) -> Result<u32, ExitCode> {
    if let Some(i) = shard.index {
        return Ok(i);
    }
    let v = job_completion_index();
    meshsim::answers::shard::index_from_env(v.as_deref(), shard.count).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// Wall-clock stopwatch for `run --timing`. The library never reads the clock
/// (determinism contract); the binary may, to report how long a run took, and
/// the value goes to stderr only, never into a report.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
struct Stopwatch(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl Stopwatch {
    fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }
    fn elapsed_secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// One machine-readable line on stderr, e.g. for `benches/peers.sh`.
/// `measured` = load requests issued inside the measurement window (warm-up
/// excluded); `events` = events popped from the queue over the whole run;
/// `requests` = every request simulated (loads, calls, retries, mirrors;
/// warm-up included), the rate a call graph really runs at.
fn print_timing(m: &meshsim::batch::Merged, wall: f64) {
    let measured: u64 = m.loads.iter().map(|l| l.pooled.requests).sum();
    let w = wall.max(1e-9);
    eprintln!(
        "timing: wall_s={wall:.6} events={} events_per_s={:.0} ns_per_event={:.1} requests={} requests_per_s={:.0} measured={measured}",
        m.events,
        m.events as f64 / w,
        w * 1e9 / m.events.max(1) as f64,
        m.requests_created,
        m.requests_created as f64 / w,
    );
}

/// Files a report folder may hold: what `run` writes, and the `.tmp` files
/// older versions left behind. Only a folder holding nothing else is replaced.
const REPORT_FILES: [&str; 17] = [
    "summary.json",
    "istio.csv",
    "metrics.om",
    "diff.json",
    "diff.txt",
    "base.json",
    "changed.json",
    "index.html",
    "sweep.csv",
    "sweep.json",
    "sweep.svg",
    "timeline.csv",
    "latency.svg",
    "timeline.svg",
    "trace.txt",
    "propagation.dot",
    "propagation.svg",
];

/// Writes the whole output set of a run as the folder `dir`, so that a reader
/// sees one complete run or the previous one, never a mix.
///
/// Every file is written into a fresh hidden folder beside `dir` (same parent,
/// so renames stay on one file system; unique per process and call), which then
/// takes `dir`'s place by rename. If `dir` exists it is first renamed aside
/// (`.NAME.old-…`) and removed after the swap. Between those two renames, a
/// window of two system calls, `dir` is absent (never partial). Two runs with
/// the same `--out` each build their own folder; the last rename wins whole.
/// A write error (full disk) removes the new folder and leaves `dir` as it was.
/// `dir` must be a folder holding only report files (or nothing), so that
/// `--out` pointed at a project folder by mistake cannot delete it.
fn write_report(dir: &Path, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = || {
        format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    };
    let name = dir
        .file_name()
        .with_context(|| format!("--out {}: must name a folder", dir.display()))?
        .to_string_lossy()
        .into_owned();
    check_replaceable(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = loop {
        let t = parent.join(format!(".{name}.tmp-{}", unique()));
        match std::fs::create_dir(&t) {
            Ok(()) => break t,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", t.display())),
        }
    };
    let written = files.iter().try_for_each(|(n, body)| {
        let p = tmp.join(n);
        let mut f =
            std::fs::File::create(&p).with_context(|| format!("writing {}", p.display()))?;
        f.write_all(body)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", p.display()))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Swap in: a rename onto a missing (or empty) folder succeeds; onto a
    // previous report, move that aside first. Another run may do the same
    // meanwhile, so retry a few times; every attempt moves only whole folders.
    let mut old: Vec<PathBuf> = Vec::new();
    let mut result = Ok(());
    for attempt in 0.. {
        match std::fs::rename(&tmp, dir) {
            Ok(()) => break,
            Err(e) if attempt < 20 && dir.is_dir() => {
                let aside = parent.join(format!(".{name}.old-{}", unique()));
                match std::fs::rename(dir, &aside) {
                    Ok(()) => old.push(aside),
                    // Another run moved it first: try again.
                    Err(_) if !dir.exists() => {}
                    Err(e2) => {
                        result = Err(anyhow::anyhow!(e2)).with_context(|| {
                            format!("moving the previous report {} aside ({e})", dir.display())
                        });
                        break;
                    }
                }
            }
            Err(e) => {
                result = Err(anyhow::anyhow!(e))
                    .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()));
                break;
            }
        }
    }
    for o in &old {
        let _ = std::fs::remove_dir_all(o);
    }
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// `dir` may be replaced: it is missing, or a folder of report files only.
fn check_replaceable(dir: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("--out {}", dir.display())),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        anyhow::bail!(
            "--out {}: exists and is not a folder; choose a folder for the report",
            dir.display()
        );
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let n = entry.file_name();
        let n = n.to_string_lossy();
        let known = REPORT_FILES
            .iter()
            .any(|f| n == *f || n.strip_suffix(".tmp") == f.rsplit_once('.').map(|x| x.0))
            || n.ends_with(".fortio.json")
            || n.ends_with(".hgrm");
        if !known || !entry.file_type().is_ok_and(|t| t.is_file()) {
            anyhow::bail!(
                "--out {}: holds {n:?}, which is not part of a meshsim report; the folder is replaced as a whole, so choose a new or empty folder",
                dir.display()
            );
        }
    }
    Ok(())
}
