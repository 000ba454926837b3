//! The terminal summary: what a person reads first.
//!
//! One table per level (load generators end to end, Services server-side,
//! workloads with capacity figures), so "where the queue builds" is visible at a
//! glance: utilisation and queue length sit next to latency.

use super::percentiles::Percentile;
use super::round::sig3;
use crate::batch::{Merged, Stream};
use crate::scenario::Scenario;
use crate::scenario::spec::Step;
use std::fmt::Write;

fn ms(ns: u64) -> String {
    sig3(ns as f64 / 1e6)
}

fn codes(s: &Stream) -> String {
    s.pooled
        .codes
        .iter()
        .map(|(c, n)| {
            if *c == 0 {
                format!("no-response:{n}")
            } else {
                format!("{c}:{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn row(out: &mut String, name: &str, s: &Stream, extra: &str, pct: &[Percentile]) {
    let r = &s.pooled;
    let (mean, ci, pcts, max) = if r.count > 0 {
        let ci = s
            .mean_ci(0.95)
            .map(|(lo, hi)| format!("±{}", sig3((hi - lo) * 500.0)))
            .unwrap_or_default();
        (
            sig3(r.sum_ns as f64 / r.count as f64 / 1e6),
            ci,
            pct.iter()
                .map(|p| format!("{:>9}", ms(r.hist.value_at_quantile(p.q))))
                .collect::<Vec<_>>()
                .join(" "),
            ms(r.hist.max()),
        )
    } else {
        (
            "-".into(),
            String::new(),
            pct.iter()
                .map(|_| format!("{:>9}", "-"))
                .collect::<Vec<_>>()
                .join(" "),
            "-".into(),
        )
    };
    let _ = writeln!(
        out,
        "  {name:<28} {:>9} {:>9} {:>6} {:>9} {:>9} {:>9}  {pcts}{extra}  {}",
        r.requests,
        r.completed,
        r.failed,
        s.in_flight,
        mean,
        ci,
        codes(s),
    );
    let _ = max;
}

fn makes_calls(steps: &[Step]) -> bool {
    steps.iter().any(|s| match s {
        Step::Compute(_) => false,
        Step::Call(_) => true,
        Step::Parallel(bs) => bs.iter().any(|b| makes_calls(b)),
        Step::Choice(bs) => bs.iter().any(|(_, b)| makes_calls(b)),
    })
}

/// Which rows of a table to print under `--top N` (0: all): the N with the
/// most requests, in table order.
fn shown(streams: &[&Stream], top: usize) -> Vec<bool> {
    let weights: Vec<f64> = streams.iter().map(|s| s.pooled.requests as f64).collect();
    let (keep, _) = crate::report::chart::style::top_n(&weights, top);
    let mut v = vec![false; streams.len()];
    for k in keep {
        v[k] = true;
    }
    v
}

/// The line that stands for the rows `--top` left out.
/// `skip_idle`: rows without requests are never printed (routes), so not counted.
fn hidden_line(out: &mut String, streams: &[&Stream], show: &[bool], skip_idle: bool) {
    let (n, req) = streams
        .iter()
        .zip(show)
        .filter(|(st, s)| !(**s || (skip_idle && st.pooled.requests == 0)))
        .fold((0u64, 0u64), |(n, r), (s, _)| {
            (n + 1, r + s.pooled.requests)
        });
    if n > 0 {
        let _ = writeln!(
            out,
            "  … {n} more with {req} requests in all (--top shows the busiest; all are in summary.json)"
        );
    }
}

/// Renders the human summary.
pub fn render(spec: &Scenario, m: &Merged) -> String {
    render_with(spec, m, &super::percentiles::default_table())
}

/// [`render`] with the latency percentile columns `pct` (`--percentiles`).
pub fn render_with(spec: &Scenario, m: &Merged, pct: &[Percentile]) -> String {
    render_top(spec, m, pct, 0)
}

/// Renders the human summary with the latency percentile columns `pct`,
/// each table cut to its `top` busiest rows (by requests; 0 = all).
pub fn render_top(spec: &Scenario, m: &Merged, pct: &[Percentile], top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "meshsim {} · scenario {} · seed {} · {} replication{} × {} (warm-up {}) · {} events",
        env!("CARGO_PKG_VERSION"),
        spec.name,
        spec.run.seed,
        m.replications,
        if m.replications == 1 { "" } else { "s" },
        spec.run.duration,
        spec.run.warmup,
        m.events
    );
    for p in &m.partial {
        let _ = writeln!(out, "PARTIAL RUN: {p}");
    }
    for o in crate::report::overload::notes(spec, m) {
        let _ = writeln!(out, "OVERLOAD: {o}");
    }
    let head = |out: &mut String, title: &str, extra: &str| {
        let _ = writeln!(
            out,
            "\n{title} (latency in ms; ± is the 95 % CI half-width of the mean)"
        );
        let cols = pct
            .iter()
            .map(|p| format!("{:>9}", p.label))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "  {:<28} {:>9} {:>9} {:>6} {:>9} {:>9} {:>9}  {cols}{extra}  codes",
            "name", "requests", "ok", "failed", "in-flight", "mean", ""
        );
    };
    if !spec.loads.is_empty() {
        head(&mut out, "Load generators, end to end", "");
        let all: Vec<&Stream> = m.loads.iter().collect();
        let show = shown(&all, top);
        for ((l, s), _) in spec.loads.iter().zip(&m.loads).zip(&show).filter(|x| *x.1) {
            row(&mut out, &l.name, s, "", pct);
        }
        hidden_line(&mut out, &all, &show, false);
    }
    if !spec.services.is_empty() {
        head(
            &mut out,
            "Services, server side (arrival at pod → response)",
            "",
        );
        let all: Vec<&Stream> = m.services.iter().collect();
        let show = shown(&all, top);
        for ((sv, s), _) in spec
            .services
            .iter()
            .zip(&m.services)
            .zip(&show)
            .filter(|x| *x.1)
        {
            row(&mut out, &sv.key(), s, "", pct);
        }
        hidden_line(&mut out, &all, &show, false);
    }
    if !spec.deployments.is_empty() {
        head(
            &mut out,
            "Workloads",
            &format!(" {:>6} {:>6} {:>7} {:>6}", "pods", "util", "queue", "q-max"),
        );
        let all: Vec<&Stream> = m.workloads.iter().collect();
        let show = shown(&all, top);
        for (di, (((d, s), c), _)) in spec
            .deployments
            .iter()
            .zip(&m.workloads)
            .zip(&m.capacity)
            .zip(&show)
            .enumerate()
            .filter(|x| *(x.1).1)
        {
            let extra = format!(
                " {:>6} {:>5.1}% {:>7.2} {:>6}",
                c.pods,
                c.utilisation() * 100.0,
                c.queue_mean(),
                c.queue_max
            );
            row(&mut out, &d.key(), s, &extra, pct);
            // Per endpoint rule (Workloads with `endpoints` only), under
            // their workload: which operation is slow.
            let eps = m.endpoints.get(di).map_or(&[][..], |v| v.as_slice());
            let names = std::iter::once(crate::scenario::spec::endpoint::DEFAULT_ENDPOINT)
                .chain(d.behaviour.endpoints.iter().map(|e| e.name.as_str()));
            for (name, s) in names.zip(eps) {
                row(&mut out, &format!("  · {name}"), s, "", pct);
            }
        }
        hidden_line(&mut out, &all, &show, false);
        // In a call graph a thread-per-request caller's workers stay busy while
        // it waits: say so, or its utilisation reads as its own compute load.
        let held: Vec<String> = spec
            .deployments
            .iter()
            .filter(|d| {
                d.behaviour.hold_worker_during_calls
                    && (makes_calls(&d.behaviour.script)
                        || d.behaviour.endpoints.iter().any(|e| makes_calls(&e.script)))
            })
            .map(|d| d.key())
            .collect();
        if !held.is_empty() {
            let _ = writeln!(
                out,
                "  a caller's latency includes its calls; so does its util where workers are held while waiting (holdWorkerDuringCalls): {}",
                held.join(", ")
            );
        }
        let timeouts: Vec<String> = spec
            .deployments
            .iter()
            .zip(&m.capacity)
            .filter(|(_, c)| c.call_timeouts > 0)
            .map(|(d, c)| format!("{} {}", d.key(), c.call_timeouts))
            .collect();
        if !timeouts.is_empty() {
            let _ = writeln!(
                out,
                "  call tries abandoned at the caller's timeout: {}",
                timeouts.join(", ")
            );
        }
        // How evenly each multi-pod workload's requests spread over its pods
        // (kube-proxy pins connections, so this is often the surprise).
        let mut first_pod = 0usize;
        for (di, d) in spec.deployments.iter().enumerate() {
            let n = d.replicas as usize;
            if n > 1 && show[di] {
                let counts: Vec<u64> = (0..n)
                    .map(|r| {
                        // Replication 0 alone: pooling replications would hide
                        // the pinning each one shows.
                        m.outcomes
                            .first()
                            .and_then(|o| o.pod_requests.get(first_pod + r).copied())
                            .unwrap_or(0)
                    })
                    .collect();
                let total: u64 = counts.iter().sum();
                if total > 0 {
                    let nodes = spec.network.placement.get(di);
                    let parts: Vec<String> = counts
                        .iter()
                        .enumerate()
                        .map(|(r, c)| {
                            let node = nodes
                                .and_then(|p| p.get(r))
                                .filter(|_| spec.network.cluster.nodes.len() > 1)
                                .and_then(|&i| spec.network.cluster.nodes.get(i as usize))
                                .map(|n| format!(" on {}", n.name))
                                .unwrap_or_default();
                            format!(
                                "{}-{r} {:.1}%{node}",
                                d.name,
                                *c as f64 * 100.0 / total as f64
                            )
                        })
                        .collect();
                    let reps = if m.replications > 1 {
                        " (replication 0)"
                    } else {
                        ""
                    };
                    let _ = writeln!(out, "  {} pod shares{reps}: {}", d.key(), parts.join(" · "));
                }
            }
            first_pod += n;
        }
        let rejected: u64 = m.capacity.iter().map(|c| c.queue_full).sum();
        if rejected > 0 {
            let _ = writeln!(out, "  queue-full rejections: {rejected}");
        }
    }
    service_flags(&mut out, spec, m);
    // `--percentile-ci` only: [lo, hi] of each percentile column above.
    out.push_str(&crate::report::percentile_ci::table(spec, m, pct, top));
    if let Some(mesh) = &m.mesh {
        mesh_tables(&mut out, mesh, top);
    }
    if !spec.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &spec.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    if !spec.not_simulated.is_empty() {
        let _ = writeln!(
            out,
            "\nRead but not simulated ({}):",
            spec.not_simulated.len()
        );
        for w in spec.not_simulated.iter().take(10) {
            let _ = writeln!(out, "  {w}");
        }
        if spec.not_simulated.len() > 10 {
            let _ = writeln!(out, "  … and {} more", spec.not_simulated.len() - 10);
        }
    }
    out.push_str(&crate::report::pods::table(m));
    out.push_str(&crate::report::autoscale::table(spec, m));
    // Last: where failures started and how they travelled (when any were recorded).
    if let Some(p) = crate::report::propagation::of_run(spec, m) {
        out.push_str(&crate::report::propagation::table::render(&p));
    }
    out
}

/// Envoy flags per Service as its callers' proxies saw them
/// (world/service_flags.rs): only Services where a flag other than `-` occurred.
fn service_flags(out: &mut String, spec: &Scenario, m: &Merged) {
    let none = crate::proxy::flags::ResponseFlags::NONE;
    let mut first = true;
    for (sv, s) in spec.services.iter().zip(&m.services) {
        let f = &s.pooled.flags;
        if f.iter().all(|(x, _)| *x == none) {
            continue;
        }
        if first {
            let _ = writeln!(
                out,
                "\nService flags (Envoy, as the callers' proxies saw them):"
            );
            first = false;
        }
        let list: Vec<String> = f.iter().map(|(x, n)| format!("{x}:{n}")).collect();
        let _ = writeln!(out, "  {}: {}", sv.key(), list.join(" "));
    }
}

/// Routes, destinations with their flags, and each split route's real split
/// next to its configured weights.
fn mesh_tables(out: &mut String, mesh: &crate::batch::MeshMerged, top: usize) {
    let flags = |s: &Stream| {
        s.pooled
            .flags
            .iter()
            .map(|(f, n)| format!("{f}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (title, items) in [
        ("Routes", &mesh.routes),
        ("Destinations", &mesh.destinations),
    ] {
        let _ = writeln!(out, "\n{title} (Envoy):");
        let routes = title == "Routes";
        let all: Vec<&Stream> = items.iter().map(|(_, s)| s).collect();
        let show = shown(&all, top);
        for (i, (k, s)) in items
            .iter()
            .enumerate()
            .filter(|(i, (_, s))| s.pooled.requests > 0 && show[*i])
        {
            let _ = writeln!(
                out,
                "  {k}: {} requests, codes {}, flags {}",
                s.pooled.requests,
                codes(s),
                flags(s)
            );
            let attempts = mesh.route_attempts.get(i).copied().unwrap_or(0);
            let abandoned = mesh.route_abandoned.get(i).copied().unwrap_or(0);
            if routes && (attempts > s.pooled.requests || abandoned > 0) {
                let _ = writeln!(
                    out,
                    "    {attempts} attempts ({:.2} per request), {abandoned} abandoned by timeouts while the server kept working",
                    attempts as f64 / s.pooled.requests.max(1) as f64
                );
            }
            if !routes {
                // The counters an operator looks for when something fails.
                const NOTABLE: [&str; 8] = [
                    "upstream_rq_pending_overflow",
                    "upstream_rq_pending_total",
                    "upstream_cx_overflow",
                    "upstream_rq_retry",
                    "upstream_rq_retry_overflow",
                    "upstream_rq_retry_limit_exceeded",
                    "upstream_rq_timeout",
                    "upstream_rq_per_try_timeout",
                ];
                let mut shown: Vec<String> = mesh
                    .cluster_stats
                    .get(i)
                    .map(|c| {
                        c.nonzero()
                            .filter(|(n, _)| NOTABLE.contains(n))
                            .map(|(n, v)| format!("{n} {v}"))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(od) = mesh.outlier_stats.get(i)
                    && od.ejections_enforced_total > 0
                {
                    shown.push(format!(
                        "outlier_detection.ejections_enforced_total {}",
                        od.ejections_enforced_total
                    ));
                }
                if !shown.is_empty() {
                    let _ = writeln!(out, "    {}", shown.join(", "));
                }
            }
        }
        hidden_line(out, &all, &show, true);
    }
    let mut last = "";
    for sp in &mesh.splits {
        if sp.route != last {
            let _ = writeln!(out, "\nSplit of route {} (real vs configured):", sp.route);
            last = &sp.route;
        }
        let total: u64 = mesh
            .splits
            .iter()
            .filter(|x| x.route == sp.route)
            .map(|x| x.requests)
            .sum();
        let real = if total > 0 {
            100.0 * sp.requests as f64 / total as f64
        } else {
            0.0
        };
        let conf = 100.0 * sp.weight as f64 / sp.total_weight.max(1) as f64;
        let _ = writeln!(
            out,
            "  {:<50} {real:>6.2} %  (configured {conf:.2} %, {} requests)",
            sp.destination, sp.requests
        );
    }
}
