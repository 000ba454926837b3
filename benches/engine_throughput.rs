//! Hold model on the pending-event set: with `n` events pending, one operation
//! pops the earliest event and schedules it again at `now + Exp(1) s`, so the
//! queue size stays `n`. The same workload as the `hold` command of
//! `../shared/peers/rust_des_bench` (36 / 59 / 150–165 ns at 10 / 10³ / 10⁵ there,
//! Exp draw included), so the figures are comparable; `std_binary_heap` runs the
//! kernel's own structure (`BinaryHeap<Reverse<((t, seq), u64)>>`) in the same
//! process, which gives a ratio that machine noise does not move much.
//!
//! `cargo bench --bench engine_throughput` (not run in CI).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshsim::engine::rng::{Purpose, RngFactory, SimRng};
use meshsim::engine::{EventQueue, SimDuration, SimTime};
use meshsim::world::Event;
use rand_distr::{Distribution, Exp1};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [10, 1_000, 100_000];

#[inline]
fn exp_ns(rng: &mut SimRng) -> SimDuration {
    let x: f64 = Exp1.sample(rng);
    SimDuration::from_secs_f64(x)
}

fn rng() -> SimRng {
    RngFactory::new(1, 0).of(Purpose::Arrivals, "bench/hold")
}

fn hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for &n in &SIZES {
        g.bench_with_input(BenchmarkId::new("event_queue", n), &n, |b, &n| {
            let mut r = rng();
            let mut q: EventQueue<Event> = EventQueue::new();
            for i in 0..n {
                let t = SimTime::ZERO + exp_ns(&mut r);
                q.schedule(t, Event::ComputeDone { exec: i as u32 });
            }
            b.iter(|| {
                let (t, ev) = q.pop_until(SimTime::MAX).expect("n > 0 pending");
                q.schedule(t + exp_ns(&mut r), black_box(ev));
            });
        });
        g.bench_with_input(BenchmarkId::new("std_binary_heap", n), &n, |b, &n| {
            let mut r = rng();
            let mut heap: BinaryHeap<Reverse<((u64, u64), u64)>> = BinaryHeap::with_capacity(n + 1);
            let mut seq = 0u64;
            for i in 0..n {
                heap.push(Reverse(((exp_ns(&mut r).as_nanos(), seq), i as u64)));
                seq += 1;
            }
            b.iter(|| {
                let Reverse(((t, _), p)) = heap.pop().expect("n > 0 pending");
                heap.push(Reverse((
                    (t + exp_ns(&mut r).as_nanos(), seq),
                    black_box(p),
                )));
                seq += 1;
            });
        });
    }
    g.finish();
    // The draw alone, to subtract from both.
    let mut g = c.benchmark_group("hold");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(1));
    g.bench_function("exp_draw_only", |b| {
        let mut r = rng();
        b.iter(|| black_box(exp_ns(&mut r)));
    });
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
