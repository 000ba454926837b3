//! Decoding of distributions, the one value shape every meshsim kind shares:
//! service and think times (`Workload`, `Load`), hop and handshake latencies
//! (`Cluster`).

use crate::engine::dist::Dist;
use crate::scenario::decode::{Cx, V};

/// A distribution: `{constant: 10ms}`, `{exponential: {mean: 1s}}`,
/// `{lognormal: {mean: 100ms, cv: 0.5}}`, `{gamma: {mean: 1s, shape: 2}}`,
/// `{erlang: {mean: 1s, k: 3}}`, `{empirical: {0: 1ms, 50: 10ms, 100: 80ms}}`.
pub fn dist(cx: &mut Cx, v: &V) -> Option<Dist> {
    let entries = cx.map(v)?;
    if entries.len() != 1 {
        cx.error(v, "a distribution has exactly one key: constant, exponential, lognormal, gamma, erlang or empirical");
        return None;
    }
    let (k, p) = &entries[0];
    let mean = |cx: &mut Cx, p: &V| {
        cx.req(p, "mean")
            .and_then(|m| cx.positive_duration(&m))
            .map(|d| d.as_secs_f64())
    };
    match k.as_str() {
        "constant" => cx.duration(p).map(Dist::Constant),
        "exponential" => {
            cx.known_fields(p, &["mean"]);
            mean(cx, p).map(|mean| Dist::Exponential { mean })
        }
        "lognormal" => {
            cx.known_fields(p, &["mean", "cv"]);
            let m = mean(cx, p);
            let cv = cx.req(p, "cv").and_then(|c| cx.positive(&c));
            Some(Dist::LogNormal { mean: m?, cv: cv? })
        }
        "gamma" => {
            cx.known_fields(p, &["mean", "shape"]);
            let m = mean(cx, p);
            let shape = cx.req(p, "shape").and_then(|c| cx.positive(&c));
            Some(Dist::Gamma {
                mean: m?,
                shape: shape?,
            })
        }
        "erlang" => {
            cx.known_fields(p, &["mean", "k"]);
            let m = mean(cx, p);
            let k = cx.req(p, "k").and_then(|c| cx.int_in(&c, 1, 10_000));
            Some(Dist::Gamma {
                mean: m?,
                shape: k? as f64,
            })
        }
        "empirical" => {
            let entries = cx.map(p)?;
            let mut pts = Vec::new();
            for (key, val) in &entries {
                let q = match key.parse::<f64>() {
                    Ok(q) if (0.0..=100.0).contains(&q) => q / 100.0,
                    _ => {
                        cx.error(
                            val,
                            format!("percentile key {key:?} must be a number in 0..=100"),
                        );
                        return None;
                    }
                };
                pts.push((q, cx.duration(val)?.as_secs_f64()));
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if pts.first().map(|p| p.0) != Some(0.0) || pts.last().map(|p| p.0) != Some(1.0) {
                cx.error(
                    p,
                    "an empirical table needs the 0 and 100 percentiles (minimum and maximum)",
                );
                return None;
            }
            if pts.windows(2).any(|w| w[1].1 < w[0].1) {
                cx.error(p, "percentile values must not decrease");
                return None;
            }
            Some(Dist::Empirical { points: pts })
        }
        other => {
            cx.error_at(
                p.loc(),
                &p.path,
                format!("unknown distribution {other:?}; use constant, exponential, lognormal, gamma, erlang or empirical"),
            );
            None
        }
    }
}
