//! One run's gate: its assertions (the Simulation object's, then
//! `--assert`'s) and an optional baseline comparison, as verdicts; the
//! binary prints them, writes JUnit and picks the exit status.

use super::baseline::{self, BaselineError};
use super::check::Named;
use super::eval::{self, Basis, Subject, Verdict};
use crate::batch::Merged;
use crate::scenario::Scenario;

/// Evaluates `named` on `merged`, then compares with `baseline` (a saved
/// summary.json's text), if any.
pub fn verdicts(
    spec: &Scenario,
    merged: &Merged,
    named: &[Named],
    basis: Basis,
    baseline: Option<&str>,
) -> Result<Vec<Verdict>, BaselineError> {
    let mut out = Vec::new();
    if !named.is_empty() {
        let mut subject = Subject::new(spec, merged);
        out.extend(eval::evaluate(&mut subject, named, basis));
    }
    if let Some(old) = baseline {
        let new = crate::report::summary::render(spec, merged);
        out.extend(baseline::compare(old, &new)?);
    }
    Ok(out)
}

/// `--assert` texts checked against `spec` and appended to the scenario's own.
pub fn with_cli(
    spec: &Scenario,
    mut named: Vec<Named>,
    texts: &[String],
) -> Result<Vec<Named>, (String, super::check::AssertError)> {
    for t in texts {
        let a = super::check::check(spec, t).map_err(|e| (t.clone(), e))?;
        named.push(Named {
            text: t.clone(),
            assertion: a,
            source: "--assert".into(),
        });
    }
    Ok(named)
}
