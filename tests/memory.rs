//! The memory figures the run-time guard and the replication gate rely on,
//! measured with a counting allocator (issue #9 item 3: "estimates that gate
//! runs must be measured, not guessed"). One test, sequential, so nothing else
//! allocates meanwhile.
//!
//! Figures on x86-64, release build (printed by the test, `--nocapture`):
//! 157 bytes of peak heap per request queued at an overloaded pod; with a
//! 32 MiB budget the guard stopped at 131 k queued requests with a real peak
//! of 21.0 MB (its count includes the next `Vec` doubling); a finished
//! replication of a 3-recorder scenario keeps 872,240 bytes until merged,
//! predicted 817,480 by `batch::outcome_bytes` (270,336 per recorder).

use meshsim::batch::{outcome_bytes, run_all};
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

    // 3. What a finished replication keeps until the merge.
    let reps = stuck(100, 1, 16);
    let (m, kept) = peak_growth(|| run_all(&reps, &|_| {}));
    let per_rep = kept as f64 / 16.0;
    let predicted = outcome_bytes(&reps) as f64;
    eprintln!("memory: {per_rep:.0} bytes per replication kept, predicted {predicted:.0}");
    assert_eq!(m.replications, 16);
    assert!(
        per_rep <= predicted * 1.3 && per_rep >= predicted * 0.7,
        "kept {per_rep} per replication, predicted {predicted}"
    );
}
