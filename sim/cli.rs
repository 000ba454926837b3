//! Command-line arguments → validated run requests (the low/high split:
//! clap parses strings, this module turns them into typed settings).

use crate::engine::time::parse_duration;
use crate::scenario::Overrides;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "meshsim",
    version,
    about = "Deterministic discrete-event simulator of Kubernetes + Istio service-mesh traffic",
    long_about = "meshsim replays the manifests you deploy (Deployments, Services, Istio objects) plus a \
small behaviour file (meshsim.dev/v1alpha1 Workload, Load, Simulation) in virtual time, \
deterministically: same scenario + seed ⇒ byte-identical report."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Simulate a scenario and write DIR/summary.json.
    Run {
        /// Scenario files or directories (read recursively in sorted order).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Output folder (default reports/SCENARIO-SEED/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No terminal summary (summary.json is still written).
        #[arg(long, short)]
        quiet: bool,
        /// Teaching mode: follow one request of load LOAD issued after warm-up,
        /// step by step: the N-th (default 1), the first that failed
        /// (`:failed`) or the slowest (`:slowest`) of replication 0; printed
        /// and written to DIR/trace.txt.
        #[arg(long, value_name = "LOAD[:N|:failed|:slowest]")]
        trace: Option<String>,
        /// Also rerun replication 0 and compare event digests (exit 1 on mismatch).
        #[arg(long)]
        check_determinism: bool,
        /// Print the wall-clock time of the simulation itself (replications and
        /// merge; no file reading or report writing) and events/s to stderr.
        /// For benchmarks only: it never changes the report.
        #[arg(long)]
        timing: bool,
        /// Memory the simulation may use, e.g. 2G, 512M (default: three
        /// quarters of the memory available to this process). A run that
        /// would exceed it stops early with a partial report (exit 4).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_memory: Option<u64>,
        /// Wall-clock time the simulation may take, e.g. 10m (default: no
        /// limit). When it passes, the run stops with a partial report (exit 4).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
        max_wall: Option<crate::engine::SimDuration>,
        /// Terminal tables show only the N busiest rows each (by requests; the
        /// rest are summed in one line). Default: all. Files are unaffected.
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        #[command(flatten)]
        gate: GateArgs,
        /// Compare with a saved run's summary.json: fail (exit 3) when a
        /// load's mean latency or error rate regressed beyond the 95 %
        /// interval of the change.
        #[arg(long, value_name = "SUMMARY")]
        baseline: Option<PathBuf>,
        /// Also write DIR/metrics.om: Istio's istio_requests_total and
        /// istio_request_duration_milliseconds of replication 0 as an
        /// OpenMetrics time series (15 s steps), for `promtool tsdb
        /// create-blocks-from openmetrics` and Istio's Grafana dashboards.
        #[arg(long)]
        istio_metrics: bool,
        /// Timestamp of the run's start in metrics.om: Unix seconds or a UTC
        /// time like 2026-12-01T00:00:00Z (the default).
        #[arg(long, value_name = "TIME", requires = "istio_metrics",
              value_parser = crate::report::openmetrics::parse_start)]
        metrics_start: Option<u64>,
        /// Also write DIR/<load>.hgrm per load generator: its latency
        /// distribution in HdrHistogram's percentile-distribution text (the
        /// .hgrm of wrk2 and HdrHistogram's plotter), all replications pooled.
        #[arg(long)]
        hgrm: bool,
        /// Also give every latency percentile in summary.json its 95 %
        /// interval (`p99_ci95: [lo, hi]`, from the replications: needs ≥ 2),
        /// an interval for the printed pooled percentile that contains it.
        #[arg(long)]
        percentile_ci: bool,
        /// Also write DIR/<load>.fortio.json per load generator: its result in
        /// the shape of fortio's `-json` output (all replications pooled), for
        /// `fortio report` and scripts written for fortio.
        #[arg(long)]
        fortio: bool,
        /// Also write DIR/istio.csv: the series of metrics.om (Istio's request
        /// metrics of replication 0, 15 s steps) as a CSV table, next to
        /// timeline.csv's loads and workloads.
        #[arg(long)]
        istio_csv: bool,
        /// Latency percentiles for the terminal tables and summary.json, e.g.
        /// 50,90,99,99.9,99.99 (keys p50 … p9999). Default: p50, p99 on the
        /// terminal; p50, p90, p99, p999 in summary.json.
        #[arg(long, value_name = "LIST", value_parser = crate::report::percentiles::parse_list)]
        percentiles: Option<crate::report::percentiles::List>,
        /// Run only replications I, I+N, I+2N, … (0-based) and write the
        /// lossless partial DIR/shard-I-of-N.json (DIR: --out, default
        /// reports/SCENARIO-SEED-shards/) for `meshsim merge`, which writes
        /// the unsharded run's report. `JOB_COMPLETION_INDEX/N` reads I
        /// from that variable (a Kubernetes Indexed Job's pod index).
        #[arg(long, value_name = "I/N")]
        shard: Option<crate::answers::shard::ShardArg>,
    },
    /// Run a scenario at every value of one field (`--param`), or bisect for
    /// the smallest/largest value that passes the assertions (`--find-min`,
    /// `--find-max`); writes DIR/sweep.csv, sweep.json, sweep.svg.
    #[command(
        mut_arg("replications", |a| a.help("Replications per point (overrides the Simulation object)")),
        mut_arg("duration", |a| a.help("Simulated duration per point, e.g. 90s (overrides the Simulation object)")),
        mut_arg("strict", |a| a.help("Treat warnings as errors; notes stay notes")),
    )]
    Sweep {
        /// Scenario files or directories (read recursively in sorted order).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The field and its values: KIND/[NS/]NAME.FIELD=10,20,40 or =10..100:10
        /// (addressed as --set; same seed at every value).
        #[arg(long, value_name = "KIND/[NS/]NAME.FIELD=V1,V2,…|LO..HI:STEP",
              required_unless_present_any = ["find_min", "find_max"],
              conflicts_with_all = ["find_min", "find_max"])]
        param: Option<crate::answers::sweep::Param>,
        /// Bisect for the smallest whole value in LO..HI that passes every
        /// assertion (e.g. Workload/web.spec.workers=1..64).
        #[arg(
            long,
            value_name = "KIND/[NS/]NAME.FIELD=LO..HI",
            conflicts_with = "find_max"
        )]
        find_min: Option<crate::answers::sweep::Span>,
        /// Bisect for the largest whole value in LO..HI that passes every assertion.
        #[arg(long, value_name = "KIND/[NS/]NAME.FIELD=LO..HI")]
        find_max: Option<crate::answers::sweep::Span>,
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Output folder (default reports/SCENARIO-sweep/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No terminal table (the files are still written).
        #[arg(long, short)]
        quiet: bool,
        /// Memory the whole sweep may use (points running at once share it); a
        /// point that would exceed it stops early and is marked partial.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_memory: Option<u64>,
        #[command(flatten)]
        gate: GateArgs,
        /// Run only shard I of N (0-based) of the grid's runs (values ×
        /// replications, run u to shard u mod N) and write the lossless
        /// partial DIR/shard-I-of-N.json for `meshsim merge`.
        /// `JOB_COMPLETION_INDEX/N` reads I from that variable (a
        /// Kubernetes Indexed Job's pod index).
        #[arg(long, value_name = "I/N", conflicts_with_all = ["find_min", "find_max"])]
        shard: Option<crate::answers::shard::ShardArg>,
    },
    /// Combine the partials of `meshsim sweep --shard I/N` (all N shards of
    /// one sweep) into DIR/sweep.csv, sweep.json, sweep.svg: byte for byte
    /// what the unsharded sweep writes; or those of `meshsim run --shard
    /// I/N` into the unsharded run's report folder (and its terminal output
    /// and exit status). Exit 1 on missing, duplicate or mismatched partials.
    Merge {
        /// Partial files, or folders holding them (shard-*-of-*.json).
        #[arg(required = true)]
        partials: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// No terminal table (the files are still written).
        #[arg(long, short)]
        quiet: bool,
    },
    /// What a change does: run BASE and CHANGED with common random numbers
    /// (same seed, same streams per entity) and report per load, Service,
    /// workload, route and destination the changes with 95 % paired
    /// intervals over replications. `meshsim diff BASE… -- CHANGED… [--set …]`:
    /// options before `--` apply to both sides; `--set` after `--` changes
    /// the changed side only (no CHANGED paths: the base's files). Writes
    /// DIR/diff.json, diff.txt, base.json, changed.json. Exit 0: no
    /// significant change; 5: some significant change.
    #[command(
        mut_arg("seed", |a| a.help("Master seed of both sides (overrides the base's Simulation object)")),
        mut_arg("replications", |a| a.help("Replications (pairs) on each side; ≥ 2 for intervals (overrides the base's Simulation object)")),
        mut_arg("duration", |a| a.help("Simulated duration of both sides, e.g. 90s")),
        mut_arg("strict", |a| a.help("Treat warnings as errors; notes stay notes")),
    )]
    Diff {
        /// The base scenario: files or directories.
        #[arg(required = true)]
        base: Vec<PathBuf>,
        /// After `--`: the changed scenario's files, and `--set` overrides for it.
        #[arg(
            last = true,
            value_name = "CHANGED… [--set KIND/[NS/]NAME.FIELD=VALUE]"
        )]
        changed: Vec<String>,
        /// Options before `--` apply to both sides (`--set` after `--`: the changed side only).
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Output folder (default reports/SCENARIO-diff/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No terminal table (the files are still written).
        #[arg(long, short)]
        quiet: bool,
        /// Also list the figures that are identical in every replication.
        #[arg(long)]
        all: bool,
        /// Without common random numbers: the changed side runs seed + 1 and
        /// the intervals are Welch's for independent samples (to see what
        /// pairing buys; not for everyday use).
        #[arg(long)]
        independent: bool,
        /// Memory each side may use (default as `run`).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_memory: Option<u64>,
        /// Latency percentiles compared (default 50,90,99,99.9).
        #[arg(long, value_name = "LIST", value_parser = crate::report::percentiles::parse_list)]
        percentiles: Option<crate::report::percentiles::List>,
    },
    /// Check routing against a table of requests and expected outcomes (the
    /// idea of Envoy's router_check_tool, at the Istio level). Exit 0 all
    /// pass, 1 a mismatch, 2 invalid table/manifests or unknown proxy.
    RouteTest {
        /// The table (YAML, `kind: RouteTest`; format in scenarios/README.md).
        table: PathBuf,
        /// Manifests: files or directories (read recursively in sorted order).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Namespace for objects that name none, as `kubectl apply -n` places them.
        #[arg(long, short = 'n', value_name = "NS")]
        namespace: Option<String>,
    },
    /// Check a scenario without simulating it.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Namespace for objects that name none, as `kubectl apply -n` places them.
        #[arg(long, short = 'n', value_name = "NS")]
        namespace: Option<String>,
        /// Treat warnings (what Istio accepts and then fails at run time, e.g. an
        /// undefined subset) as errors; notes stay notes.
        #[arg(long)]
        strict: bool,
    },
}

/// What `run`, `sweep` and `diff` change in the scenario they load: the
/// options that become [`Overrides`]. One struct, so that the three commands
/// spell, parse and apply them alike; the help below is `run`'s, and `sweep`
/// and `diff` reword some of it (per point, both sides) with `mut_arg` on
/// their variant.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ScenarioArgs {
    /// Master seed (overrides the Simulation object).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of independent replications (overrides the Simulation object).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub replications: Option<u32>,
    /// Simulated duration, e.g. 90s, 10m (overrides the Simulation object).
    #[arg(long, value_parser = parse_duration_arg)]
    pub duration: Option<crate::engine::SimDuration>,
    /// Namespace for objects that name none, as `kubectl apply -n` places them.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Treat warnings (what Istio accepts and then fails at run time, e.g. an
    /// undefined subset) as errors; notes stay notes.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub set: SetArgs,
}

impl ScenarioArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            seed: self.seed,
            replications: self.replications,
            duration: self.duration,
            manifests_only: false,
            namespace: self.namespace.clone(),
            strict: self.strict,
            sets: self.set.sets.clone(),
        }
    }
}

/// `--set`: one field of one object changed for this run (files untouched).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SetArgs {
    /// Change a field before validation, e.g. Load/web.spec.open.rate=200,
    /// Deployment/default/reviews-v1.spec.replicas=3 (kubectl's KIND/[NS/]NAME,
    /// then the field's YAML path). Repeatable; applied in order.
    #[arg(long = "set", value_name = "KIND/[NS/]NAME.FIELD=VALUE")]
    pub sets: Vec<crate::scenario::set::SetArg>,
}

/// SLO assertions (`run` and `sweep`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// An SLO checked on the merged result, e.g. 'loads.web.latency_ms.p99 < 250ms',
    /// 'loads.web.error_rate < 0.1%', 'loads.web: latency ≤ 250ms for ≥ 99%'.
    /// Repeatable; added to the Simulation object's spec.assertions. Exit 3 if any fails.
    #[arg(long = "assert", value_name = "ASSERTION")]
    pub asserts: Vec<String>,
    /// Compare the point estimate (default, as k6 does) or the pessimistic
    /// end of its 95 % interval (`ci`: needs ≥ 2 replications except for means).
    #[arg(long, value_enum, default_value_t = crate::answers::eval::Basis::Point)]
    pub assert_on: crate::answers::eval::Basis,
    /// Also write the verdicts as JUnit XML to FILE (for CI test reports).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

fn parse_duration_arg(s: &str) -> Result<crate::engine::SimDuration, String> {
    let d = parse_duration(s)?;
    if d.as_nanos() == 0 {
        return Err("must be > 0".into());
    }
    Ok(d)
}

/// A size in bytes: a number with an optional unit K, M, G, T (powers of
/// 1024; `KiB`, `MB`, … read the same), e.g. `2G`, `512M`, `1073741824`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    match crate::engine::size::parse_bytes(s)? {
        0 => Err(format!("{s:?} is out of range")),
        n => Ok(n),
    }
}

impl Command {
    pub fn overrides(&self) -> Overrides {
        match self {
            Command::Run { scenario, .. }
            | Command::Sweep { scenario, .. }
            | Command::Diff { scenario, .. } => scenario.overrides(),
            // Manifests alone validate (no Simulation needed), like `istioctl validate -f`.
            Command::Validate {
                namespace, strict, ..
            } => Overrides {
                manifests_only: true,
                namespace: namespace.clone(),
                strict: *strict,
                ..Overrides::default()
            },
            Command::Merge { .. } => Overrides::default(),
            Command::RouteTest { namespace, .. } => Overrides {
                manifests_only: true,
                namespace: namespace.clone(),
                ..Overrides::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("1073741824"), Ok(1 << 30));
        assert!(parse_size("2Q").unwrap_err().contains("unknown unit"));
        assert!(parse_size("0").is_err());
        assert!(parse_size("G").is_err());
    }
}
