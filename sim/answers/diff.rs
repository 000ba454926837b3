//! `meshsim diff`: what a change does, with common random numbers.
//!
//! Both sides run with the same master seed and replication count, so
//! replication `r` of the base and replication `r` of the change draw the
//! same random numbers for every entity that exists on both sides (streams
//! are keyed by purpose and entity *name*, `engine/rng.rs`): the only
//! differences between the two are the change and what it causes. The
//! per-replication differences are then independent across replications and
//! much less variable than the results themselves, so a paired t interval
//! over them ([`Paired`]) is far narrower than the interval of the
//! difference of two independent runs (README, "What-if diffs").
//!
//! Compared per load, Service, workload, route and destination (matched by
//! name; an entity on one side only is listed apart): throughput, error rate
//! (failed ÷ finished), mean latency and the listed latency percentiles, each
//! a per-replication value. A metric missing in any replication on either side
//! (no request finished) is not compared.

use crate::batch::Merged;
use crate::metrics::Recorder;
use crate::metrics::stats::Paired;
use crate::report::percentiles::Percentile;
use crate::scenario::Scenario;
use crate::world::Outcome;

/// One compared figure of one entity.
#[derive(Clone, Debug)]
pub struct Metric {
    /// `throughput_rps`, `error_rate`, `mean_ms`, `p99_ms`, …
    pub key: String,
    pub paired: Paired,
}

/// One entity present on both sides.
#[derive(Clone, Debug)]
pub struct Entity {
    /// `loads`, `services`, `workloads`, `routes`, `destinations`.
    pub section: &'static str,
    /// Its name in summary.json's section (`default/reviews` for a Service).
    pub name: String,
    pub metrics: Vec<Metric>,
}

/// Everything `meshsim diff` found.
#[derive(Clone, Debug)]
pub struct Diff {
    /// Pairs compared (replications run on each side).
    pub replications: usize,
    /// Interval level (0.95).
    pub level: f64,
    /// Common random numbers and paired intervals (false: `--independent`,
    /// different seeds and Welch intervals).
    pub paired: bool,
    pub entities: Vec<Entity>,
    /// `section name` of entities found on one side only.
    pub only_base: Vec<String>,
    pub only_changed: Vec<String>,
}

impl Diff {
    /// How many compared figures changed significantly.
    pub fn significant(&self) -> usize {
        self.entities
            .iter()
            .flat_map(|e| &e.metrics)
            .filter(|m| m.paired.significant() == Some(true))
            .count()
    }
}

/// Per-replication recorders of each named entity of one section.
type Section<'a> = Vec<(String, Vec<&'a Recorder>)>;

fn sections<'a>(spec: &Scenario, m: &'a Merged) -> Vec<(&'static str, Section<'a>)> {
    let per = |pick: &dyn Fn(&'a Outcome) -> Option<&'a Recorder>| -> Option<Vec<&'a Recorder>> {
        m.outcomes.iter().map(pick).collect()
    };
    let mut out: Vec<(&'static str, Section<'a>)> = Vec::new();
    let loads = spec
        .loads
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l.name.clone(), per(&|o| o.loads.get(i))?)))
        .collect();
    out.push(("loads", loads));
    let services = spec
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let name = format!("{}/{}", s.namespace, s.name);
            Some((name, per(&|o| o.services.get(i))?))
        })
        .collect();
    out.push(("services", services));
    let workloads = spec
        .deployments
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((d.key(), per(&|o| o.workloads.get(i))?)))
        .collect();
    out.push(("workloads", workloads));
    let keys = |pick: &dyn Fn(&crate::world::MeshOutcome) -> &Vec<String>| -> Vec<String> {
        m.outcomes
            .first()
            .and_then(|o| o.mesh.as_ref())
            .map(|x| pick(x).clone())
            .unwrap_or_default()
    };
    let routes = keys(&|x| &x.route_keys)
        .into_iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let v = per(&|o| o.mesh.as_ref().and_then(|x| x.routes.get(i)))?;
            Some((k, v))
        })
        .collect();
    out.push(("routes", routes));
    let dests = keys(&|x| &x.dest_keys)
        .into_iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let v = per(&|o| o.mesh.as_ref().and_then(|x| x.destinations.get(i)))?;
            Some((k, v))
        })
        .collect();
    out.push(("destinations", dests));
    out
}

/// The figures compared, per replication: `None` where a replication has no
/// value (no request finished).
fn figures(
    recs: &[&Recorder],
    window_secs: &[f64],
    pct: &[Percentile],
) -> Vec<(String, Vec<Option<f64>>)> {
    let mut out = vec![
        (
            "throughput_rps".to_string(),
            recs.iter()
                .zip(window_secs)
                .map(|(r, w)| (*w > 0.0).then(|| r.completed as f64 / w))
                .collect(),
        ),
        (
            "error_rate".to_string(),
            recs.iter()
                .map(|r| {
                    let done = r.completed + r.failed;
                    (done > 0).then(|| r.failed as f64 / done as f64)
                })
                .collect(),
        ),
        (
            "mean_ms".to_string(),
            recs.iter()
                .map(|r| (r.count > 0).then(|| r.sum_ns as f64 / r.count as f64 / 1e6))
                .collect(),
        ),
    ];
    for p in pct {
        out.push((
            format!("{}_ms", p.key),
            recs.iter()
                .map(|r| (r.count > 0).then(|| r.hist.value_at_quantile(p.q) as f64 / 1e6))
                .collect(),
        ));
    }
    out
}

/// Compares `changed` with `base` replication by replication (both run with
/// the same seed and replication count; extra replications on one side are
/// ignored). `pct`: the latency percentiles compared; `level`: 0.95;
/// `paired`: false when the sides ran with different seeds (Welch intervals).
#[allow(clippy::too_many_arguments)]
pub fn compare(
    base_spec: &Scenario,
    base: &Merged,
    changed_spec: &Scenario,
    changed: &Merged,
    pct: &[Percentile],
    level: f64,
    paired: bool,
) -> Diff {
    let n = base.outcomes.len().min(changed.outcomes.len());
    let wb: Vec<f64> = base.outcomes[..n].iter().map(|o| o.window.secs()).collect();
    let wc: Vec<f64> = changed.outcomes[..n]
        .iter()
        .map(|o| o.window.secs())
        .collect();
    let sb = sections(base_spec, base);
    let sc = sections(changed_spec, changed);
    let mut entities = Vec::new();
    let mut only_base = Vec::new();
    let mut only_changed = Vec::new();
    for ((section, bs), (_, cs)) in sb.iter().zip(&sc) {
        for (name, brecs) in bs {
            let Some((_, crecs)) = cs.iter().find(|(k, _)| k == name) else {
                only_base.push(format!("{section} {name}"));
                continue;
            };
            let fb = figures(&brecs[..n], &wb, pct);
            let fc = figures(&crecs[..n], &wc, pct);
            let metrics = fb
                .into_iter()
                .zip(fc)
                .filter_map(|((key, b), (_, c))| {
                    let b: Vec<f64> = b.into_iter().collect::<Option<_>>()?;
                    let c: Vec<f64> = c.into_iter().collect::<Option<_>>()?;
                    (n > 0).then(|| Metric {
                        key,
                        paired: if paired {
                            Paired::of(&b, &c, level)
                        } else {
                            Paired::unpaired(&b, &c, level)
                        },
                    })
                })
                .collect();
            entities.push(Entity {
                section,
                name: name.clone(),
                metrics,
            });
        }
        for (name, _) in cs {
            if !bs.iter().any(|(k, _)| k == name) {
                only_changed.push(format!("{section} {name}"));
            }
        }
    }
    Diff {
        replications: n,
        level,
        paired,
        entities,
        only_base,
        only_changed,
    }
}

/// What follows `--` in `meshsim diff BASE… -- CHANGED… [--set X]…`: the
/// changed side's paths and its own `--set`s (`--set X` or `--set=X`, in
/// order). Any other option there is a usage error (options for both sides
/// go before `--`).
pub fn changed_side(
    tokens: &[String],
) -> Result<(Vec<std::path::PathBuf>, Vec<crate::scenario::set::SetArg>), String> {
    let mut paths = Vec::new();
    let mut sets = Vec::new();
    let mut it = tokens.iter();
    while let Some(t) = it.next() {
        let value = if t == "--set" {
            Some(
                it.next()
                    .ok_or("--set after `--` needs a value: --set KIND/[NS/]NAME.FIELD=VALUE")?
                    .as_str(),
            )
        } else {
            t.strip_prefix("--set=")
        };
        match value {
            Some(v) => sets.push(v.parse().map_err(|e| format!("--set {v}: {e}"))?),
            None if t.starts_with('-') && t.len() > 1 => {
                return Err(format!(
                    "{t}: after `--` only the changed side's paths and --set are accepted; \
                     options for both sides go before `--`"
                ));
            }
            None => paths.push(std::path::PathBuf::from(t)),
        }
    }
    Ok((paths, sets))
}

#[cfg(test)]
mod tests {
    use super::changed_side;

    fn toks(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_changed_side_reads_paths_and_sets() {
        let (p, s) = changed_side(&toks(&[
            "a/",
            "--set",
            "Load/web.spec.open.rate=200",
            "b.yaml",
            "--set=Deployment/api.spec.replicas=3",
        ]))
        .unwrap();
        assert_eq!(p, vec![std::path::PathBuf::from("a/"), "b.yaml".into()]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].target, "Load/web.spec.open.rate");
        assert_eq!(s[0].value, "200");
        assert_eq!(s[1].value, "3");
        assert!(
            changed_side(&toks(&["a/", "--seed", "3"]))
                .unwrap_err()
                .contains("before `--`")
        );
        assert!(
            changed_side(&toks(&["--set"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(changed_side(&toks(&["--set", "nonsense"])).is_err());
        assert_eq!(changed_side(&[]).unwrap().0.len(), 0);
    }
}
