//! The `meshsim` binary: CLI, files and terminal only. The only place that reads
//! the environment, the clock (only for `run --timing`) or uses `anyhow`.

use anyhow::Context;
use clap::Parser;
use meshsim::cli::{Args, Command};
use meshsim::scenario::{self, LoadError};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    let overrides = args.command.overrides();
    match args.command {
        Command::Validate { paths, .. } => match scenario::load(&paths, &overrides) {
            Ok(s) => {
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
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                print_load_error(&e);
                Ok(ExitCode::from(1))
            }
        },
        Command::Run {
            paths,
            out,
            quiet,
            check_determinism,
            timing,
            trace,
            ..
        } => {
            let spec = match scenario::load(&paths, &overrides) {
                Ok(s) => s,
                Err(e) => {
                    print_load_error(&e);
                    return Ok(ExitCode::from(1));
                }
            };
            let show = std::io::stderr().is_terminal();
            let progress = move |f: f64| {
                if show {
                    eprint!("\rsimulating… {:5.1}%", f * 100.0);
                    let _ = std::io::stderr().flush();
                }
            };
            let clock = Stopwatch::start();
            let merged = meshsim::batch::run_all(&spec, &progress);
            let wall = clock.elapsed_secs();
            if show {
                eprint!("\r{:30}\r", "");
            }
            if check_determinism {
                let again = meshsim::run::replicate(&spec, 0, &mut |_| {});
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
            let trace_lines = match &trace {
                None => None,
                Some(arg) => {
                    let (name, nth) = match arg.rsplit_once(':') {
                        Some((n, k)) => match k.parse::<u64>() {
                            Ok(k) if k >= 1 => (n, k),
                            _ => {
                                eprintln!("error: --trace {arg}: N must be a whole number ≥ 1");
                                return Ok(ExitCode::from(2));
                            }
                        },
                        None => (arg.as_str(), 1),
                    };
                    let Some(load) = spec.loads.iter().position(|l| l.name == name) else {
                        let names: Vec<&str> = spec.loads.iter().map(|l| l.name.as_str()).collect();
                        eprintln!(
                            "error: --trace {arg}: no load named {name:?} (loads: {})",
                            names.join(", ")
                        );
                        return Ok(ExitCode::from(2));
                    };
                    let o = meshsim::run::replicate_traced(
                        &spec,
                        0,
                        meshsim::world::TraceSpec { load, nth },
                    );
                    let mut text = format!(
                        "trace: request {nth} of load {name} after warm-up (replication 0, seed {})\n",
                        spec.run.seed
                    );
                    if o.trace.is_empty() {
                        text.push_str("  (load issued fewer requests than that inside the measurement window)\n");
                    }
                    for l in &o.trace {
                        text.push_str(l);
                        text.push('\n');
                    }
                    Some(text)
                }
            };
            let dir = out.unwrap_or_else(|| {
                PathBuf::from("reports").join(format!("{}-{}", spec.name, spec.run.seed))
            });
            let json = meshsim::report::summary::render(&spec, &merged);
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
            ];
            for (name, body) in &files {
                write_atomically(&dir.join(name), body.as_bytes())?;
            }
            if let Some(t) = &trace_lines {
                write_atomically(&dir.join("trace.txt"), t.as_bytes())?;
            }
            if !quiet {
                print!("{}", meshsim::report::table::render(&spec, &merged));
                if let Some(t) = &trace_lines {
                    print!("\n{t}");
                }
                println!(
                    "\nwrote {}/{{summary.json, timeline.csv, latency.svg, timeline.svg{}}}",
                    dir.display(),
                    if trace_lines.is_some() {
                        ", trace.txt"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
/// excluded); `events` = events popped from the queue over the whole run.
fn print_timing(m: &meshsim::batch::Merged, wall: f64) {
    let measured: u64 = m.loads.iter().map(|l| l.pooled.requests).sum();
    let w = wall.max(1e-9);
    eprintln!(
        "timing: wall_s={wall:.6} events={} events_per_s={:.0} ns_per_event={:.1} measured={measured}",
        m.events,
        m.events as f64 / w,
        w * 1e9 / m.events.max(1) as f64,
    );
}

/// Writes via a temporary file and a rename, so a report is whole or absent.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
