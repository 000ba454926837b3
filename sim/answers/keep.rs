//! What a `run` keeps of each replication, from the outputs it was asked
//! for: the one place that maps requested outputs to the merge's
//! `batch::Keep` (for `run`, and for `merge` of a sharded run, so both
//! keep the same). Every reader of per-replication values registers here
//! (`batch/keep.rs` says why); the reports' one-cluster views read
//! replication 0's outcome, which is always kept.

use super::check::Named;
use crate::batch::Keep;
use crate::report::percentiles::Percentile;
use crate::scenario::Scenario;

/// `named`: the run's assertions (their intervals need each replication's
/// value); `percentile_ci`: the percentiles `--percentile-ci` annotates.
pub fn for_run<'a>(
    spec: &'a Scenario,
    named: &'a [Named],
    percentile_ci: Option<&[Percentile]>,
) -> Keep<'a> {
    let mut keep = Keep::first();
    if !named.is_empty() && spec.run.replications >= 2 {
        keep = keep.with(super::eval::reducer(spec, named));
    }
    if let Some(pct) = percentile_ci {
        keep = keep.with(crate::report::percentile_ci::quantiles(spec, pct).reducer());
    }
    keep
}
