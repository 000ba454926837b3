//! `meshsim diff`: files, terminal and exit status around
//! `meshsim::answers::diff` (the binary side only).

use anyhow::Context;
use meshsim::answers::{diff, diff_report};
use meshsim::cli::Command;
use meshsim::scenario::Overrides;
use serde_json::{Map, json};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when at least one figure changed significantly.
const EXIT_SIGNIFICANT: u8 = 5;

/// Runs `cmd` (a `Command::Diff`); `common`: the overrides of both sides.
pub fn run(cmd: Command, common: Overrides) -> anyhow::Result<ExitCode> {
    let Command::Diff {
        base,
        changed,
        out,
        quiet,
        all,
        independent,
        max_memory,
        percentiles,
        ..
    } = cmd
    else {
        unreachable!("main dispatches only Diff here")
    };
    let (changed_paths, changed_sets) = match diff::changed_side(&changed) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let changed_paths = if changed_paths.is_empty() {
        base.clone()
    } else {
        changed_paths
    };
    let (bspec, _) = match meshsim::answers::check::load(&base, &common) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("base: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    // Common random numbers: the changed side runs the base's seed and count.
    let mut over = common.clone();
    // (`--independent`: the next seed, for comparison with unpaired runs.)
    over.seed = Some(bspec.run.seed.wrapping_add(independent as u64));
    over.replications = Some(bspec.run.replications);
    over.sets.extend(changed_sets.iter().cloned());
    let (cspec, _) = match meshsim::answers::check::load(&changed_paths, &over) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("changed: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    for w in bspec.warnings.iter().chain(&cspec.warnings) {
        eprintln!("{w}");
    }
    if bspec.run.replications < 2 {
        eprintln!(
            "note: {} replication: changes are shown without intervals; pass --replications 10 (or more) for paired intervals",
            bspec.run.replications
        );
    }
    let dir = out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-diff", bspec.name)));
    crate::check_replaceable(&dir)?;
    let show = std::io::stderr().is_terminal();
    let limits = meshsim::world::Guard {
        memory_bytes: max_memory.unwrap_or_else(crate::default_memory_budget),
        ..meshsim::world::Guard::NONE
    };
    let run = |spec: &meshsim::scenario::Scenario, side: &str| {
        let progress = |f: f64| {
            if show {
                eprint!("\rsimulating {side}… {:5.1}%", f * 100.0);
                let _ = std::io::stderr().flush();
            }
            true
        };
        let xds = meshsim::run::compile(spec);
        // Every entity's figures are compared replication by replication:
        // diff keeps every outcome.
        let opts = meshsim::batch::RunOptions {
            istio_metrics: false,
            keep: meshsim::batch::Keep::all(),
        };
        meshsim::batch::run_all_opts(spec, &xds, &limits, &progress, &opts)
    };
    let bm = run(&bspec, "base");
    let cm = run(&cspec, "changed");
    if show {
        eprint!("\r{:40}\r", "");
    }
    let pct = percentiles.map_or_else(meshsim::report::percentiles::default_json, |p| p.0);
    let d = diff::compare(&bspec, &bm, &cspec, &cm, &pct, 0.95, !independent);
    let side = |paths: &[PathBuf],
                sets: &[meshsim::scenario::set::SetArg],
                m: &meshsim::batch::Merged| {
        json!({
            "paths": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "sets": sets.iter().map(|s| format!("{}={}", s.target, s.value)).collect::<Vec<_>>(),
            "digest": format!("{:016x}", m.digest),
        })
    };
    let mut meta = Map::new();
    meta.insert("scenario".into(), json!(bspec.name));
    meta.insert("seed".into(), json!(bspec.run.seed));
    meta.insert("changed_seed".into(), json!(cspec.run.seed));
    meta.insert("base".into(), side(&base, &common.sets, &bm));
    meta.insert("changed".into(), side(&changed_paths, &over.sets, &cm));
    let header = format!(
        "diff {}: base {} vs changed {}{}\nseed {}, {} replications {}; {:.0} % intervals\n\n",
        bspec.name,
        shown(&base),
        shown(&changed_paths),
        changed_sets
            .iter()
            .map(|s| format!(" --set {}={}", s.target, s.value))
            .collect::<String>(),
        bspec.run.seed,
        d.replications,
        if independent {
            "each, independent (changed side: seed + 1; Welch t)"
        } else {
            "paired (common random numbers; paired t)"
        },
        d.level * 100.0
    );
    let text = format!("{header}{}", diff_report::table(&d, all));
    let json_text = diff_report::json(&d, meta);
    let bsum = meshsim::report::summary::render_with(&bspec, &bm, &pct);
    let csum = meshsim::report::summary::render_with(&cspec, &cm, &pct);
    crate::write_report(
        &dir,
        &[
            ("diff.json", json_text.as_bytes()),
            ("diff.txt", text.as_bytes()),
            ("base.json", bsum.as_bytes()),
            ("changed.json", csum.as_bytes()),
        ],
    )
    .with_context(|| format!("writing {}", dir.display()))?;
    let partial: Vec<&String> = bm.partial.iter().chain(&cm.partial).collect();
    for p in &partial {
        eprintln!("warning: partial diff: {p}");
    }
    if !quiet {
        print!("{text}");
        println!(
            "\nwrote {}/{{diff.json, diff.txt, base.json, changed.json}}",
            dir.display()
        );
    }
    Ok(if !partial.is_empty() {
        ExitCode::from(crate::EXIT_PARTIAL)
    } else if d.significant() > 0 {
        ExitCode::from(EXIT_SIGNIFICANT)
    } else {
        ExitCode::SUCCESS
    })
}

fn shown(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
