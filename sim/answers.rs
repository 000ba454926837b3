//! Answers, not numbers (issue #13): SLO assertions over `summary.json`
//! (`assert.rs` parses, `check.rs` checks them against a scenario,
//! `eval.rs` evaluates them on a merged run, `junit.rs` reports them for CI),
//! comparisons with a saved run (`baseline.rs`), and capacity sweeps over a
//! field addressed like `--set` (`sweep.rs`, `find.rs`), sharded over
//! machines and merged exactly (`shard.rs`, `partial.rs`), and what-if diffs
//! with common random numbers (`diff.rs`, `diff_report.rs`).

pub mod assert;
pub mod baseline;
pub mod check;
pub mod diff;
pub mod diff_report;
pub mod eval;
pub mod find;
pub mod gate;
pub mod junit;
pub mod keep;
pub mod partial;
pub mod run_shard;
pub mod shard;
pub mod sweep;
pub mod sweep_plot;
