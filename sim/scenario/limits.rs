//! Limits that keep a valid scenario runnable: a scenario Kubernetes would
//! accept can still ask for more than a simulation can do (10¹² requests a
//! second, a billion pods, a call tree that doubles a thousand times). These
//! are rejected up front with a clear error instead of exhausting memory or
//! running for days. (A closed loop answered in zero time does not spin: the
//! world charges the client 1 ms.)

use super::diag::plain;
use super::spec::{Call, LoadPattern, Scenario, Step, Target};
use crate::cluster::service::backing_deployments;

/// `x` in plain digits with thousands separators when it is a whole number
/// that fits (`360,000,000`), else as Rust prints it.
fn plain_f(x: f64) -> String {
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1.8e19 {
        plain(x as u64)
    } else {
        format!("{x:.3e}")
    }
}

/// Requests per second of one load: one per nanosecond, the clock's resolution.
pub const MAX_RATE: f64 = 1e9;
/// Requests one load may issue in one replication. Checked here where a rate
/// says it up front (open loops, closed loops with `qps`), and counted at run
/// time for every load (`world/guard.rs`): a closed loop without `qps` sends as
/// fast as its answers come back, which only the run can tell.
pub const MAX_REQUESTS: f64 = 1e8;
/// Pods in the whole scenario (a large real cluster has ~150 000).
pub const MAX_PODS: u64 = 100_000;
/// Requests one incoming request may cause downstream (calls, retries, depth).
pub const MAX_FANOUT: f64 = 1e6;
/// Latency recorders × replications. A recorder (one per load, Service and
/// Deployment) holds its histogram's 2 KiB pages, one per ×1.19 range its
/// latencies fall in (`metrics::hist`: 2 KiB for a constant latency, ~180 KiB
/// for M/M/4's million latencies from 2 µs to 40 s); `meshsim run` drops each replication's recorders once merged,
/// but a run that checks every replication (per-replication assertions,
/// sweeps, the library) keeps them all, so this bounds those to 200,000
/// (1,000-service isotope topologies × 99 replications). The run itself also
/// cuts replications to half of `--max-memory` (`batch::run_all_opts`).
pub const MAX_RECORDERS: u64 = 200_000;

/// What a problem is about, for locating it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `Scenario::loads[i]`.
    Load(usize),
    /// `Scenario::loads[i]`'s target.
    LoadTarget(usize),
    /// `Scenario::deployments[i]`.
    Deployment(usize),
    /// The run settings (replications).
    Run,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub subject: Subject,
    pub message: String,
}

/// Every limit `s` exceeds.
pub fn check(s: &Scenario) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut pods = 0u64;
    for (i, d) in s.deployments.iter().enumerate() {
        pods += d.replicas as u64;
        if pods > MAX_PODS {
            out.push(Problem {
                subject: Subject::Deployment(i),
                message: format!(
                    "{} pods so far in the scenario, above meshsim's limit of {}",
                    plain(pods),
                    plain(MAX_PODS)
                ),
            });
            break;
        }
    }
    let recorders = (s.loads.len() + s.services.len() + s.deployments.len()) as u64;
    let reps = s.run.replications as u64;
    if recorders * reps > MAX_RECORDERS {
        out.push(Problem {
            subject: Subject::Run,
            message: format!(
                "{} replications × {recorders} loads, Services and Deployments = {} latency histograms, above meshsim's limit of {} (a run that checks each replication keeps all of them): run at most {} replications",
                plain(reps),
                plain(recorders * reps),
                plain(MAX_RECORDERS),
                plain(MAX_RECORDERS / recorders.max(1))
            ),
        });
    }
    let end = s.run.duration.as_secs_f64();
    let g = Graph::new(s);
    for (i, l) in s.loads.iter().enumerate() {
        let stop = l.stop.map(|x| x.as_secs_f64()).unwrap_or(end).min(end);
        let active = (stop - l.start.as_secs_f64()).max(0.0);
        let mut found: Vec<String> = Vec::new();
        let mut problem = |message: String| found.push(message);
        let rate = match &l.pattern {
            LoadPattern::Open { rate, .. } => Some(*rate),
            LoadPattern::Closed { qps, .. } => *qps,
        };
        // `iterations` bounds whatever the pattern would send.
        let count = l.iterations.map_or(f64::INFINITY, |n| n as f64);
        if let LoadPattern::Closed { connections, .. } = &l.pattern
            && (*connections as f64).min(count) > MAX_REQUESTS
        {
            problem(format!(
                "{} connections each send at least one request, above meshsim's limit of {} requests per replication",
                plain(*connections as u64),
                plain_f(MAX_REQUESTS)
            ));
        }
        if let Some(rate) = rate {
            if rate > MAX_RATE {
                problem(format!(
                    "{} requests/s is above meshsim's limit of {} (one request per nanosecond)",
                    plain_f(rate),
                    plain_f(MAX_RATE)
                ));
            } else if (rate * active).min(count) > MAX_REQUESTS {
                problem(format!(
                    "{} requests/s for {active}s is {} requests per replication, above meshsim's limit of {}: lower the rate or the duration",
                    plain_f(rate),
                    plain_f((rate * active).round()),
                    plain_f(MAX_REQUESTS)
                ));
            }
        }
        let fan = g.fanout(l.target);
        let mut target_problem = None;
        if fan > MAX_FANOUT {
            target_problem = Some(format!(
                "one request to this target can cause up to {} requests downstream (calls × retries × maxDepth), above meshsim's limit of {}",
                plain_f(fan.round()),
                plain_f(MAX_FANOUT)
            ));
        }
        out.extend(found.into_iter().map(|message| Problem {
            subject: Subject::Load(i),
            message,
        }));
        out.extend(target_problem.map(|message| Problem {
            subject: Subject::LoadTarget(i),
            message,
        }));
    }
    out
}

/// The call graph of the scenario: which deployments answer a target.
struct Graph<'s> {
    s: &'s Scenario,
    /// Per service, per port: deployments with at least one pod behind it.
    backing: Vec<Vec<Vec<usize>>>,
}

impl<'s> Graph<'s> {
    fn new(s: &'s Scenario) -> Self {
        let backing = s
            .services
            .iter()
            .map(|svc| {
                (0..svc.ports.len())
                    .map(|p| {
                        backing_deployments(svc, p, &s.deployments)
                            .into_iter()
                            .filter(|&d| s.deployments[d].replicas > 0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Graph { s, backing }
    }

    fn backing(&self, t: Target) -> &[usize] {
        self.backing
            .get(t.service)
            .and_then(|p| p.get(t.port))
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// The most requests one request to `t` can cause, itself included.
    /// Depth-aware: a call with `maxDepth` m is skipped at depth ≥ m, so the
    /// table runs from the deepest level that matters back to depth 0.
    fn fanout(&self, t: Target) -> f64 {
        let deps = &self.s.deployments;
        let deepest = deps
            .iter()
            .flat_map(|d| scripts(&d.behaviour).flat_map(calls))
            .filter_map(|c| c.max_depth)
            .max()
            .unwrap_or(0) as usize
            // Unbounded calls form a DAG (cycles are rejected); past 64 hops
            // of it the bound undercounts, which is fine for a guard.
            + deps.len().min(64)
            + 1;
        // r[d] = requests caused by one request reaching deployment d at the current depth.
        let mut next = vec![1.0f64; deps.len()];
        for depth in (0..deepest).rev() {
            let cur: Vec<f64> = deps
                .iter()
                .map(|d| {
                    1.0 + scripts(&d.behaviour)
                        .map(|s| self.script_fanout(s, depth, &next))
                        .fold(0.0, f64::max)
                })
                .collect();
            next = cur.into_iter().map(|x| x.min(1e300)).collect();
        }
        1.0 + self
            .backing(t)
            .iter()
            .map(|&d| next[d] - 1.0)
            .fold(0.0, f64::max)
    }

    fn script_fanout(&self, steps: &[Step], depth: usize, next: &[f64]) -> f64 {
        let mut n = 0.0;
        for st in steps {
            match st {
                Step::Compute(_) => {}
                Step::Call(c) => {
                    if c.max_depth.is_some_and(|m| depth as u64 >= m as u64) {
                        continue;
                    }
                    let each = self
                        .backing(c.target)
                        .iter()
                        .map(|&d| next[d])
                        .fold(1.0, f64::max);
                    n += (1.0 + c.retries as f64) * each;
                }
                Step::Parallel(branches) => {
                    for b in branches {
                        n += self.script_fanout(b, depth, next);
                    }
                }
                // One branch runs: the costliest bounds it.
                Step::Choice(branches) => {
                    n += branches
                        .iter()
                        .map(|(_, b)| self.script_fanout(b, depth, next))
                        .fold(0.0, f64::max);
                }
            }
        }
        n
    }
}

/// A behaviour's default script and each endpoint's.
fn scripts(b: &crate::scenario::spec::Behaviour) -> impl Iterator<Item = &[Step]> {
    std::iter::once(b.script.as_slice()).chain(b.endpoints.iter().map(|e| e.script.as_slice()))
}

/// Every call of a script, branches included.
fn calls(steps: &[Step]) -> Vec<&Call> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            Step::Call(c) => out.push(c),
            Step::Parallel(b) => b.iter().for_each(|b| out.extend(calls(b))),
            Step::Choice(b) => b.iter().for_each(|(_, b)| out.extend(calls(b))),
            Step::Compute(_) => {}
        }
    }
    out
}
