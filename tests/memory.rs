//! The memory figures the run-time guard and the replication gate rely on,
//! measured with a counting allocator (issue #9 item 3: "estimates that gate
//! runs must be measured, not guessed"). One test, sequential, so nothing else
//! allocates meanwhile.
//!
//! Figures on x86-64, release build (printed by the test, `--nocapture`):
//! 157 bytes of peak heap per request queued at an overloaded pod; with a
//! 32 MiB budget the guard stopped at 131 k queued requests with a real peak
//! of 21.0 MB (its count includes the next `Vec` doubling). Issue #12 item
//! 3: a run that drops merged outcomes holds the same peak for 4 and 16
//! replications, and a replication of isotope's 1,000-service topology
//! peaks at 3,740 bytes per Service, Deployment and pod (limit 64 KiB; it was ~600 KB when
//! every recorder held a full HdrHistogram).

use meshsim::batch::{Keep, RunOptions, run_all_opts};
use meshsim::run::replicate_guarded;
use meshsim::scenario::{Overrides, SourceFile};
use meshsim::world::Guard;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

struct Counting;
static NOW: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let n = NOW.fetch_add(l.size() as u64, Relaxed) + l.size() as u64;
        PEAK.fetch_max(n, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size() as u64, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // Counted as alloc-then-free: the old block is held while copying.
        let n = NOW.fetch_add(new as u64, Relaxed) + new as u64;
        PEAK.fetch_max(n, Relaxed);
        NOW.fetch_sub(l.size() as u64, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Heap growth (peak over the start) while `f` runs.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);
    let t = f();
    (t, PEAK.load(Relaxed) - base)
}

/// 1 pod, 1 worker that never finishes within the run (1 h per request):
/// every arrival after the first waits, `rate × duration − 1` of them.
fn stuck(rate: u32, secs: u32, replications: u32) -> meshsim::scenario::Scenario {
    let text = format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: web}}
spec: {{workers: 1, serviceTime: {{constant: 1h}}}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {{name: users}}
spec:
  target: http://web:8080/
  open: {{rate: {rate}, arrival: constant}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Simulation
metadata: {{name: stuck}}
spec: {{duration: {secs}s, seed: 1, replications: {replications}}}
"#
    );
    meshsim::scenario::from_sources(
        "stuck".into(),
        &[SourceFile {
            path: "stuck.yaml".into(),
            text,
        }],
        &Overrides::default(),
    )
    .expect("valid")
}

#[test]
fn memory_figures_are_measured() {
    // 1. Bytes per queued request: the difference of two runs, so that fixed
    //    costs (recorders, timeline) cancel.
    let small = stuck(10_000, 10, 1);
    let big = stuck(10_000, 100, 1);
    let (_, a) = peak_growth(|| replicate_guarded(&small, 0, &Guard::NONE, &mut |_| true));
    let (_, b) = peak_growth(|| replicate_guarded(&big, 0, &Guard::NONE, &mut |_| true));
    let per_request = (b - a) as f64 / 900_000.0;
    eprintln!("memory: {per_request:.0} bytes peak per queued request");
    assert!(
        (100.0..400.0).contains(&per_request),
        "{per_request} bytes per queued request"
    );

    // 2. The guard keeps the real peak under its budget.
    let budget = 32u64 << 20;
    let huge = stuck(20_000, 3600, 1);
    let guard = Guard {
        memory_bytes: budget,
        ..Guard::NONE
    };
    let (o, peak) = peak_growth(|| replicate_guarded(&huge, 0, &guard, &mut |_| true));
    let stop = o.stopped.expect("the budget trips");
    eprintln!(
        "memory: budget {budget} bytes, real peak {peak} bytes; {}",
        stop.reason
    );
    // The fixed part (3 recorders ≈ 1 MiB, timeline) is outside the guard's count.
    assert!(peak <= budget + (2 << 20), "peak {peak} > budget {budget}");
    assert!(
        peak >= budget / 4,
        "the guard stopped far too early: {peak}"
    );

    // 3. Flat in replications: merged outcomes are dropped (only
    //    replication 0's is kept), so 16 replications peak as 4 do. On one
    //    worker thread, so the peak does not depend on scheduling: with N
    //    threads a replication that finishes before an earlier one is held
    //    until that one merges (at most N − 1 of them; a CI run on 2
    //    threads once peaked at 182 kB for 16 against 127 kB for 4).
    let opts = RunOptions {
        keep: Keep::first(),
        ..RunOptions::default()
    };
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a rayon pool");
    let peak_of = |r: u32| {
        let spec = stuck(100, 1, r);
        let xds = meshsim::run::compile(&spec);
        one_thread
            .install(|| peak_growth(|| run_all_opts(&spec, &xds, &Guard::NONE, &|_| true, &opts)))
    };
    let (m4, p4) = peak_of(4);
    let (m16, p16) = peak_of(16);
    eprintln!("memory: peak {p4} bytes for 4 replications, {p16} for 16");
    assert_eq!((m4.replications, m16.replications), (4, 16));
    assert_eq!(m16.outcomes.len(), 1);
    assert!(
        p16 <= p4 + p4 / 4,
        "peak {p16} for 16 replications, {p4} for 4"
    );

    // 4. Per entity: one replication of isotope's 1,000 services (2,000
    //    pods) with the bench's hops, shortened to 300 ms.
    let read = |p: &str| SourceFile {
        path: p.into(),
        text: std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}")),
    };
    let topo = read("../shared/corpus/isotope/example-topologies/1000-svc_5000-end.yaml");
    let mut bench = read("benches/scenarios/isotope-1000.yaml");
    bench.text = bench
        .text
        .replace("duration: 70s", "duration: 300ms")
        .replace("warmup: 10s", "warmup: 0s");
    let spec = meshsim::scenario::from_sources("iso".into(), &[topo, bench], &Overrides::default())
        .expect("valid");
    let entities = spec.services.len()
        + spec.deployments.len()
        + spec
            .deployments
            .iter()
            .map(|d| d.replicas as usize)
            .sum::<usize>();
    let (o, peak) = peak_growth(|| replicate_guarded(&spec, 0, &Guard::NONE, &mut |_| true));
    let per = peak / entities as u64;
    eprintln!("memory: isotope 1000: peak {peak} bytes, {per} per entity ({entities})");
    assert!(o.services[0].count > 200, "{}", o.services[0].count);
    assert!(per <= 64 * 1024, "{per} bytes per Service/Deployment/pod");
}
