//! `meshsim sweep`: files, terminal and exit status around
//! `meshsim::answers::{sweep, find}` (the binary side only).

use anyhow::Context;
use meshsim::answers::find::{Direction, find};
use meshsim::answers::sweep::{self, Setup};
use meshsim::cli::Command;
use meshsim::scenario::Overrides;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
    let dir = out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}-sweep")));
    crate::check_replaceable(&dir)?;
    let show = std::io::stderr().is_terminal();
    let (target, points, found) = match (&param, find_min.or(find_max.clone())) {
        (Some(param), _) => {
            let progress = |done: usize, total: usize| {
                if show {
                    eprint!("\rsweeping… {done}/{total} points");
                    let _ = std::io::stderr().flush();
                }
            };
            match sweep::sweep(&setup, param, &progress) {
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
            let progress = |n: usize| {
                if show {
                    eprint!("\rbisecting… {n} values probed");
                    let _ = std::io::stderr().flush();
                }
            };
            match find(&setup, &span, dir, &progress) {
                Ok(f) => {
                    let points = f.probes.iter().map(|(_, p)| p.clone()).collect();
                    (span.target.clone(), points, Some(f))
                }
                Err(e) => return Ok(report_error(&e)),
            }
        }
        (None, None) => unreachable!("clap requires --param, --find-min or --find-max"),
    };
    if show {
        eprint!("\r{:40}\r", "");
    }
    // The first point's scenario names the file (same files at every point).
    let first_value = points.first().map(|p| p.value.clone()).unwrap_or_default();
    let (spec, _) =
        sweep::load_point(&setup, &target, &first_value).map_err(|e| anyhow::anyhow!("{e}"))?;
    let csv = sweep::csv(&target, &points);
    let json = sweep::json(&spec, &target, &points, found.as_ref().map(|f| f.json()));
    let svg = meshsim::answers::sweep_plot::svg(&name, &target, &points)?;
    crate::write_report(
        &dir,
        &[
            ("sweep.csv", csv.as_bytes()),
            ("sweep.json", json.as_bytes()),
            ("sweep.svg", svg.as_bytes()),
        ],
    )
    .with_context(|| format!("writing {}", dir.display()))?;
    if !quiet {
        print!("{}", sweep::table(&target, &points));
        if let Some(f) = &found {
            print!("\n{}", f.render());
        }
        println!(
            "\nwrote {}/{{sweep.csv, sweep.json, sweep.svg}}",
            dir.display()
        );
    } else if let Some(f) = &found {
        print!("{}", f.render());
    }
    match found {
        Some(f) if f.answer.is_none() => Ok(ExitCode::from(EXIT_NOT_FOUND)),
        _ => Ok(ExitCode::SUCCESS),
    }
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
