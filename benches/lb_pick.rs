//! One load-balancer pick over a host set of 3 / 10 / 100 hosts, per policy:
//! round robin (equal weights: rotation; unequal: EDF), least request (P2C;
//! unequal weights: EDF with dynamic weights), random, ring hash and Maglev
//! (given a hash key). Active requests change between picks, as in the world.
//!
//! `cargo bench --bench lb_pick` (not run in CI).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshsim::engine::rng::{Purpose, RngFactory, SimRng};
use meshsim::proxy::lb::{HostView, LbConfig, LbPolicy, LoadBalancer, Pick};
use std::hint::black_box;
use std::time::Duration;

fn rng() -> SimRng {
    RngFactory::new(1, 0).of(Purpose::Behaviour, "bench/lb")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("lb_pick");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    let policies = [
        ("round_robin", LbPolicy::RoundRobin, false),
        ("round_robin_weighted", LbPolicy::RoundRobin, true),
        ("least_request", LbPolicy::LEAST_REQUEST, false),
        ("least_request_weighted", LbPolicy::LEAST_REQUEST, true),
        ("random", LbPolicy::Random, false),
        ("ring_hash", LbPolicy::RING_HASH, false),
        ("maglev", LbPolicy::MAGLEV, false),
    ];
    for n in [3usize, 10, 100] {
        let addrs: Vec<String> = (0..n)
            .map(|i| format!("10.0.{}.{}:9080", i / 250, i % 250))
            .collect();
        for (name, policy, weighted) in &policies {
            let mut hosts: Vec<HostView> = addrs
                .iter()
                .enumerate()
                .map(|(i, a)| HostView {
                    address: a,
                    weight: if *weighted { 1 + (i % 3) as u32 } else { 1 },
                    active_requests: 0,
                    healthy: true,
                })
                .collect();
            let cfg = LbConfig {
                policy: policy.clone(),
                panic_threshold_percent: 50,
            };
            g.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                let mut r = rng();
                let mut lb = LoadBalancer::new(&cfg, &hosts, &mut r);
                let mut key = 0x9E37_79B9_7F4A_7C15u64;
                b.iter(|| {
                    key = key.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if let Pick::Host(i) = lb.pick(&hosts, Some(key), &mut r) {
                        // Keep load moving: one request starts, an older one ends.
                        hosts[i].active_requests = (hosts[i].active_requests + 1) % 8;
                    }
                    black_box(&hosts);
                });
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
