//! End to end: load `scenarios/queueing/mm4.yaml` (M/M/4, ρ = 0.9) with a
//! shorter duration and simulate it (`batch::run_all`: World::new, the event
//! loop, the merge). Loading the YAML is measured separately (`load_mm4`).
//! Throughput is in events: mm4 takes 2 events per customer (arrival,
//! completion), so customers/s = events/s ÷ 2.
//!
//! `cargo bench --bench scenario_small` (not run in CI).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use meshsim::engine::time::parse_duration;
use meshsim::scenario::{self, Overrides};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn mm4_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/queueing/mm4.yaml")
}

fn scenario_small(c: &mut Criterion) {
    let paths = vec![mm4_path()];
    // 28 200 s at 3.6/s ≈ 101 k customers (a tenth of the full scenario).
    let overrides = Overrides {
        duration: Some(parse_duration("28200s").expect("valid duration")),
        ..Overrides::default()
    };
    let spec = scenario::load(&paths, &overrides).expect("mm4 loads");
    let events = meshsim::batch::run_all(&spec, &|_| {}).events;

    let mut g = c.benchmark_group("scenario_small");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(events));
    g.bench_function("mm4_28200s_run", |b| {
        b.iter(|| black_box(meshsim::batch::run_all(&spec, &|_| {})).events)
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("load_mm4", |b| {
        b.iter(|| scenario::load(black_box(&paths), &overrides).expect("mm4 loads"))
    });
    g.finish();
}

criterion_group!(benches, scenario_small);
criterion_main!(benches);
