//! Golden reports: every scenario shipped in `scenarios/` is run briefly (its
//! warm-up + 30 s, at most 2 replications) and its `summary.json` compared byte
//! for byte with `tests/golden/<scenario>.summary.json`.
//!
//! Why: refactors (splitting the world, the validator) must not change a single
//! number. A behaviour change that is meant to change numbers regenerates the
//! files with `UPDATE_GOLDEN=1 cargo test --release golden` and says in the
//! commit message what changed and why the new numbers are right.

use crate::common;
use meshsim::engine::SimDuration;
use meshsim::report::summary;
use meshsim::scenario::Overrides;
use std::path::{Path, PathBuf};

/// Scenario inputs: each `*.yaml` directly under a folder of `scenarios/`
/// that holds a `Simulation`, and each sub-folder as a whole scenario.
fn scenario_inputs() -> Vec<(String, PathBuf)> {
    let root = common::root().join("scenarios");
    let mut out = Vec::new();
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    for g in groups {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&g)
            .expect("group")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for e in entries {
            let is_yaml = e.extension().is_some_and(|x| x == "yaml");
            let text_has_sim =
                |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains("kind: Simulation"));
            let take = if e.is_dir() {
                std::fs::read_dir(&e)
                    .expect("dir")
                    .any(|f| text_has_sim(&f.expect("entry").path()))
            } else {
                is_yaml && text_has_sim(&e)
            };
            if take {
                let rel = e.strip_prefix(&root).expect("under scenarios/");
                let key = rel.to_string_lossy().replace(['/', '\\'], "__");
                // Relative to the repository root (the tests' working directory), so the
                // paths quoted in reports are the same in every checkout.
                let path = Path::new("scenarios").join(rel);
                out.push((key.trim_end_matches(".yaml").to_string(), path));
            }
        }
    }
    out
}

#[test]
fn every_scenario_summary_is_unchanged() {
    #[allow(clippy::disallowed_methods)] // tests may read the environment
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let dir = common::root().join("tests").join("golden");
    let inputs = scenario_inputs();
    assert!(inputs.len() >= 10, "found only {} scenarios", inputs.len());
    let mut failures = Vec::new();
    for (key, path) in &inputs {
        let full = common::load_paths(&[path], &Overrides::default());
        let ov = Overrides {
            duration: Some(full.run.warmup + SimDuration::from_secs(30)),
            replications: Some(full.run.replications.min(2)),
            ..Overrides::default()
        };
        let spec = common::load_paths(&[path], &ov);
        let got = summary::render(&spec, &common::run(&spec));
        let file = dir.join(format!("{key}.summary.json"));
        if update {
            std::fs::write(&file, &got).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let line = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .map_or(want.lines().count().min(got.lines().count()), |i| i);
                failures.push(format!(
                    "{key}: differs from line {}:\n  want: {}\n  got:  {}",
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(_) => failures.push(format!("{key}: no golden file {}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "summary.json changed (regenerate with UPDATE_GOLDEN=1 only if the change is intended):\n{}",
        failures.join("\n")
    );
}
