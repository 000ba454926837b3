//! Queueing results against exact theory.
//!
//! Each check uses a fixed seed and a 99.9 % interval (batch means over 20 time
//! batches for one long run), so CI is not flaky; the `#[ignore]`d coverage
//! tests run 200 seeds and check that the 95 % intervals cover the exact value
//! 92–98 % of the time (run with `cargo test --release -- --ignored`).

use crate::common;
use meshsim::batch::Merged;
use meshsim::metrics::stats::mean_ci;
use meshsim::scenario::{Overrides, Scenario};
use rayon::prelude::*;

/// M/M/4, λ = 3.6, μ = 1 (ρ = 0.9): Erlang-C mean response (peers/common.py).
const MM4_W: f64 = 2.969_4;

fn mm4(seed: u64) -> meshsim::batch::Merged {
    let path = common::root().join("scenarios/queueing/mm4.yaml");
    let spec = common::load_paths(
        &[&path],
        &Overrides {
            seed: Some(seed),
            ..Overrides::default()
        },
    );
    common::run(&spec)
}

#[test]
fn mm4_mean_response_matches_erlang_c() {
    let m = mm4(1);
    let load = &m.loads[0];
    // ≥ 1 M customers measured after the 1 % warm-up.
    assert!(load.pooled.count >= 1_000_000, "{}", load.pooled.count);
    let (lo, hi) = mean_ci(&load.pooled.batch_means(), 0.999).unwrap();
    assert!(
        lo <= MM4_W && MM4_W <= hi,
        "99.9 % CI [{lo:.4}, {hi:.4}] misses W = {MM4_W}"
    );
    // Utilisation: λ/(cμ) = 0.9, measured exactly as busy-time / capacity.
    let util = m.capacity[0].utilisation();
    assert!((util - 0.9).abs() < 0.01, "utilisation {util}");
}

#[test]
#[ignore = "coverage over 200 seeds: ~1 min in --release"]
fn mm4_ci_coverage_over_200_seeds() {
    let covered: usize = (1..=200u64)
        .into_par_iter()
        .map(|seed| {
            let m = mm4(seed);
            let (lo, hi) = mean_ci(&m.loads[0].pooled.batch_means(), 0.95).unwrap();
            usize::from(lo <= MM4_W && MM4_W <= hi)
        })
        .sum();
    let pct = covered as f64 / 2.0;
    println!("M/M/4 95 % batch-means CI coverage: {covered}/200 = {pct:.1} %");
    assert!((92.0..=98.0).contains(&pct), "coverage {pct} %");
}

// === M/D/1 and Jackson networks (issue 4 item 3) ===
//
// Each check runs a committed scenario from scenarios/queueing/ with its fixed
// seed and asserts that the exact value lies in the 99.9 % batch-means interval
// (20 time batches of one ~1 M-request run). A fixed seed makes the assertion
// deterministic; the 99.9 % level keeps a correct simulator from landing on a
// seed that fails. The `#[ignore]`d coverage tests check the interval itself:
// over 200 seeds the 95 % interval must cover the exact value 92–98 % of the time.
// Run them with
// `cargo test --release -- --ignored --test-threads=1 coverage` (~5 min).

fn gq_scenario(name: &str, seed: Option<u64>) -> Scenario {
    let path = common::root().join(format!("scenarios/queueing/{name}.yaml"));
    let ov = Overrides {
        seed,
        ..Overrides::default()
    };
    common::load_paths(&[path.as_path()], &ov)
}

fn gq_deployment(spec: &Scenario, name: &str) -> usize {
    spec.deployments
        .iter()
        .position(|d| d.name == name)
        .unwrap_or_else(|| panic!("no deployment {name}"))
}

/// The batch-means interval of the end-to-end mean latency of load 0 (seconds).
fn gq_load_ci(m: &Merged, level: f64) -> (f64, f64) {
    mean_ci(&m.loads[0].pooled.batch_means(), level).expect("20 batches")
}

/// The batch-means interval of one workload's server-side mean latency.
fn gq_workload_ci(m: &Merged, i: usize, level: f64) -> (f64, f64) {
    mean_ci(&m.workloads[i].pooled.batch_means(), level).expect("20 batches")
}

#[track_caller]
fn gq_assert_covers(what: &str, ci: (f64, f64), exact: f64) {
    println!(
        "{what}: 99.9 % interval [{:.4}, {:.4}] (centre {:.4}), exact {exact:.4}",
        ci.0,
        ci.1,
        (ci.0 + ci.1) / 2.0
    );
    assert!(
        ci.0 <= exact && exact <= ci.1,
        "{what}: exact {exact} outside the 99.9 % interval [{:.4}, {:.4}]",
        ci.0,
        ci.1
    );
}

/// Runs `name` with seeds 1..=200 and counts how often the 95 % interval of the
/// end-to-end mean covers `exact`. Prints the figure; the caller asserts the band.
fn gq_coverage(name: &str, exact: f64) -> usize {
    let seeds = 200;
    let mut hits = 0;
    for seed in 1..=seeds {
        let m = common::run(&gq_scenario(name, Some(seed)));
        let ci = gq_load_ci(&m, 0.95);
        if ci.0 <= exact && exact <= ci.1 {
            hits += 1;
        }
    }
    println!(
        "{name}: 95 % batch-means interval covered {exact:.4} in {hits}/{seeds} seeds ({:.1} %)",
        100.0 * hits as f64 / seeds as f64
    );
    hits
}

// --- M/D/1, λ = 0.9/s, D = 1 s

/// Pollaczek–Khinchine for M/D/1: Wq = ρ / (2μ(1 − ρ)).
const MD1_WQ: f64 = 0.9 / (2.0 * (1.0 - 0.9));
const MD1_W: f64 = MD1_WQ + 1.0;

#[test]
fn md1_mean_response_matches_pollaczek_khinchine() {
    assert!((MD1_WQ - 4.5).abs() < 1e-12 && (MD1_W - 5.5).abs() < 1e-12);
    let spec = gq_scenario("md1", None);
    let m = common::run(&spec);
    let load = &m.loads[0].pooled;
    assert!(load.count > 990_000, "{} requests", load.count);
    gq_assert_covers("M/D/1 W", gq_load_ci(&m, 0.999), MD1_W);
    // Utilisation is λ·D = 0.9 (its own noise is ~0.1 %).
    let c = &m.capacity[0];
    assert!((c.utilisation() - 0.9).abs() < 0.005, "{}", c.utilisation());
    // Little's law inside the run: time-average queue = arrival rate × mean wait.
    let lambda = load.requests as f64 / m.window_secs;
    let wq = load.mean_secs().unwrap() - 1.0;
    let lq = c.queue_mean();
    assert!(
        (lq - lambda * wq).abs() < 0.01 * lq,
        "Lq {lq} vs λWq {}",
        lambda * wq
    );
}

#[test]
#[ignore = "coverage: 200 seeds × 1 M requests (~2 min)"]
fn md1_coverage_200_seeds() {
    let hits = gq_coverage("md1", MD1_W);
    assert!((184..=196).contains(&hits), "coverage {hits}/200");
}

// --- open Jackson network, workers released during calls

/// shared/peers/common.py `jackson_mean_response(3.0, …)`: W_A + W_B + 0.5·W_C.
const JACKSON_T: f64 = 3.6523;
/// Per station (Erlang-C): M/M/4 λ 3 μ 1, M/M/2 λ 3 μ 2, M/M/1 λ 1.5 μ 2.
const JACKSON_W: [f64; 3] = [1.509_434, 1.142_857, 2.0];

/// Erlang-C: the probability that an arrival at M/M/c waits.
pub(crate) fn erlang_c(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c as f64 / (1.0 - rho);
    top / (sum + top)
}

/// Erlang-C mean response W of M/M/c (for the constants above).
fn gq_erlang_c_w(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda, mu) / (c as f64 * mu - lambda) + 1.0 / mu
}

#[test]
fn jackson_constants_are_erlang_c() {
    let w = [
        gq_erlang_c_w(4, 3.0, 1.0),
        gq_erlang_c_w(2, 3.0, 2.0),
        gq_erlang_c_w(1, 1.5, 2.0),
    ];
    for (a, b) in w.iter().zip(JACKSON_W) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    assert!((w[0] + w[1] + 0.5 * w[2] - JACKSON_T).abs() < 1e-4);
}

#[test]
fn jackson_released_end_to_end_matches_product_form() {
    let spec = gq_scenario("jackson-released", None);
    let m = common::run(&spec);
    assert!(m.loads[0].pooled.count > 1_000_000);
    gq_assert_covers("Jackson E[T]", gq_load_ci(&m, 0.999), JACKSON_T);
    let (a, b, c) = (
        gq_deployment(&spec, "a"),
        gq_deployment(&spec, "b"),
        gq_deployment(&spec, "c"),
    );
    // Each station on its own: C is M/M/1; B's server-side latency includes
    // its call to C (half the time); A's is the whole chain.
    gq_assert_covers("W_C", gq_workload_ci(&m, c, 0.999), JACKSON_W[2]);
    gq_assert_covers(
        "W_B + 0.5 W_C",
        gq_workload_ci(&m, b, 0.999),
        JACKSON_W[1] + 0.5 * JACKSON_W[2],
    );
    gq_assert_covers("A (whole chain)", gq_workload_ci(&m, a, 0.999), JACKSON_T);
    // Released workers: every station is busy only while computing, ρ = 0.75.
    for i in [a, b, c] {
        let u = m.capacity[i].utilisation();
        assert!((u - 0.75).abs() < 0.01, "{}: {u}", spec.deployments[i].name);
    }
}

#[test]
#[ignore = "coverage: 200 seeds × 1 M requests (~5 min)"]
fn jackson_released_coverage_200_seeds() {
    let hits = gq_coverage("jackson-released", JACKSON_T);
    assert!((184..=196).contains(&hits), "coverage {hits}/200");
}

// --- the same network with workers held during calls: no product form

/// The SimPy peer, benches/peers/simpy_held.py (held resources, λ = 1.5/s):
/// `python simpy_held.py 4000000 1 1.5` → see benches/peers/RESULTS.md.
/// Mean end-to-end response and its 95 % batch-means half-width (20 batches,
/// so the standard error is half-width / t(0.975, 19)).
const SIMPY_HELD_MEAN: f64 = 2.92929;
const SIMPY_HELD_HALF95: f64 = 0.01060;

#[test]
fn jackson_held_agrees_with_the_simpy_peer() {
    let spec = gq_scenario("jackson-held", None);
    let m = common::run(&spec);
    let r = &m.loads[0].pooled;
    assert!(r.count > 1_000_000);
    // Two independent estimates: their difference has standard error
    // √(se_meshsim² + se_simpy²); accept it at the 99.9 % level.
    let bm = r.batch_means();
    let n = bm.len() as f64;
    let mean = bm.iter().sum::<f64>() / n;
    let var = bm.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let se_m = (var / n).sqrt();
    let t95 = meshsim::metrics::stats::t_quantile(0.975, 19.0);
    let se_p = SIMPY_HELD_HALF95 / t95;
    let t999 = meshsim::metrics::stats::t_quantile(0.9995, 19.0);
    let half = t999 * (se_m * se_m + se_p * se_p).sqrt();
    let diff = mean - SIMPY_HELD_MEAN;
    println!(
        "held Jackson: meshsim {mean:.4} ± {:.4} (95 %), SimPy {SIMPY_HELD_MEAN} ± {SIMPY_HELD_HALF95}; \
         difference {diff:+.4}, 99.9 % bound {half:.4}",
        t95 * se_m
    );
    assert!(
        diff.abs() <= half,
        "meshsim {mean:.4} ± {:.4} vs SimPy {SIMPY_HELD_MEAN} ± {SIMPY_HELD_HALF95} (95 %): \
         difference {diff:.4} beyond {half:.4}",
        t95 * se_m
    );
    // Held workers: A is busy for its own service plus B's response, so its
    // occupancy is far above the released network's λ/μ/c = 1.5/4 = 37.5 %.
    let a = gq_deployment(&spec, "a");
    assert!(
        m.capacity[a].utilisation() > 0.7,
        "{}",
        m.capacity[a].utilisation()
    );
    // At most 4 requests can be at B (each holds one of A's 4 workers), so B's
    // queue never exceeds 4 − 2 = 2; likewise C's never exceeds 2 − 1 = 1.
    assert!(m.capacity[gq_deployment(&spec, "b")].queue_max <= 2);
    assert!(m.capacity[gq_deployment(&spec, "c")].queue_max <= 1);
}
