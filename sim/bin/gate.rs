//! `run --assert/--baseline/--junit`: printing the verdicts and writing
//! JUnit (the binary side of `meshsim::answers::gate`).

use anyhow::Context;

/// Prints the verdicts (all on stdout unless quiet; failures always on
/// stderr), writes `--junit`; true if any failed.
pub fn report_verdicts(
    scenario: &str,
    verdicts: &[meshsim::answers::eval::Verdict],
    gate: &meshsim::cli::GateArgs,
    quiet: bool,
) -> anyhow::Result<bool> {
    if verdicts.is_empty() {
        return Ok(false);
    }
    let text = meshsim::answers::eval::render(verdicts);
    if !quiet {
        print!("\n{text}");
    }
    let failed: Vec<_> = verdicts.iter().filter(|v| !v.passed).collect();
    if quiet {
        for v in &failed {
            eprintln!("FAIL {} ({}): {}", v.text, v.source, v.detail);
        }
    }
    if let Some(f) = &gate.junit {
        std::fs::write(f, meshsim::answers::junit::render(scenario, verdicts))
            .with_context(|| format!("--junit {}", f.display()))?;
    }
    Ok(!failed.is_empty())
}
