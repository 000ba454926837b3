//! The run-time resource guard: why a scenario that validates can still stop
//! early, and how it says so.
//!
//! The static limits (`scenario/limits.rs`) catch what the manifests alone say
//! is too big. What they cannot see is what grows while the simulation runs: an
//! open loop offered more than its Service can serve queues without bound, a
//! closed loop without `qps` sends as fast as answers come back, a deep call
//! tree multiplies work. So every [`CHECK_EVERY`] events the world *measures*
//! its live state — the allocated capacity of its slabs, queues and event heap,
//! read off the data structures, not estimated per request — against the
//! budget its caller gives (`main.rs` derives it from the machine; the library
//! never looks), and counts each load's requests against
//! [`MAX_REQUESTS`](crate::scenario::limits::MAX_REQUESTS), open and closed
//! loops alike. When one trips, the replication stops at that event; its
//! outcome says when and what grew, and the report is marked partial.
//! Deterministic: the same budget stops the run at the same event.
//!
//! Measured cost of a request queued at an overloaded pod (`tests/memory.rs`,
//! a counting allocator, x86-64 release): 157 bytes of peak heap per queued
//! request — a `Request` slot (64 bytes), an `Exec` slot (48), a `u32` waiter,
//! event-heap share, and `Vec` doubling slack (the probe saw ≈ 126).
//! The guard counts capacities and adds twice the largest structure for its
//! next doubling; in that test a 32 MiB budget stopped a run whose real peak
//! was 21 MB (131 k requests queued).

use super::World;
use crate::engine::SimTime;
use crate::scenario::limits::MAX_REQUESTS;
use std::mem::size_of;

/// Events between two measurements. At most this many events pass a tripped
/// budget (~65 k requests ≈ 15 MB for the heaviest growth), and a check walks
/// every pod, so it is cheap even with 100,000 pods.
pub const CHECK_EVERY: u64 = 1 << 16;

/// What the caller allows one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guard {
    /// Heap bytes of live simulation state (requests, executions, queues,
    /// events) one replication may reach, growth peak included.
    pub memory_bytes: u64,
    /// Requests one load may issue in one replication (meshsim's limit,
    /// [`MAX_REQUESTS`]; lower only in tests).
    pub max_load_requests: u64,
}

impl Guard {
    /// No memory budget, meshsim's request limit (tests, benchmarks, `replicate`).
    pub const NONE: Guard = Guard {
        memory_bytes: u64::MAX,
        max_load_requests: MAX_REQUESTS as u64,
    };
}

/// Why and when a replication stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stopped {
    pub at: SimTime,
    /// What grew, in words: "default/web: 10.2 M requests queued at t = 312.0 s
    /// — offered load exceeds capacity".
    pub reason: String,
}

/// The guard's counters, one field of the world.
#[derive(Clone, Debug, Default)]
pub(super) struct GuardState {
    /// Requests each load issued in this replication (warm-up included).
    pub issued: Vec<u64>,
    pub stopped: Option<Stopped>,
}

impl GuardState {
    pub fn new(loads: usize) -> Self {
        GuardState {
            issued: vec![0; loads],
            stopped: None,
        }
    }
}

/// "10.2 M", "523 k", "999": counts for people.
pub fn human(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1} k", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} M", n as f64 / 1e6),
        _ => format!("{:.1} G", n as f64 / 1e9),
    }
}

/// "1.5 GiB", "320.0 MiB": sizes for people.
pub fn human_bytes(b: u64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (MIB * 1024.0))
    } else {
        format!("{:.1} MiB", b as f64 / MIB)
    }
}

impl World<'_> {
    /// Heap bytes of the state that grows with traffic, and the largest single
    /// structure among them (the next doubling of which needs twice its size
    /// again while the old copy is still held).
    pub(super) fn live_bytes(&self) -> (u64, u64) {
        let parts = [
            (self.requests.items.capacity() * size_of::<super::Request>()
                + self.requests.free.capacity() * 4) as u64,
            (self.execs.items.capacity() * size_of::<super::Exec>()
                + self.execs.free.capacity() * 4) as u64,
            self.q.heap_bytes(),
            self.pods
                .iter()
                .map(|p| p.queue.capacity() as u64 * 4)
                .sum(),
            self.loads
                .iter()
                .map(|l| l.waiting.capacity() as u64 * 8)
                .sum(),
            self.pools.iter().map(|p| p.heap_bytes()).sum(),
        ];
        (parts.iter().sum(), parts.iter().copied().max().unwrap_or(0))
    }

    /// Whether a budget is exceeded now; if so, what grew.
    pub(super) fn check_guard(&self, guard: &Guard, now: SimTime) -> Option<String> {
        let t = format!("t = {:.1} s", now.0 as f64 * 1e-9);
        for (li, &n) in self.guard.issued.iter().enumerate() {
            if n > guard.max_load_requests {
                let l = &self.spec.loads[li];
                return Some(format!(
                    "load {}/{}: {} requests issued by {t}, above meshsim's limit of {} per replication — lower its connections, rate or duration, or pace it with qps/think",
                    l.namespace,
                    l.name,
                    human(n),
                    human(guard.max_load_requests)
                ));
            }
        }
        let (live, largest) = self.live_bytes();
        let peak = live.saturating_add(largest.saturating_mul(2));
        if peak <= guard.memory_bytes {
            return None;
        }
        Some(format!(
            "{} at {t}; live state {} (next growth {}) would exceed the memory budget of {}",
            self.what_grew(),
            human_bytes(live),
            human_bytes(peak),
            human_bytes(guard.memory_bytes)
        ))
    }

    /// The biggest queue, or the requests in flight if no queue dominates.
    fn what_grew(&self) -> String {
        let spec = self.spec;
        let mut at_dep = vec![0u64; spec.deployments.len()];
        for p in &self.pods {
            at_dep[p.deployment as usize] += p.queue.len() as u64;
        }
        let (di, dq) = at_dep
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, 0));
        let (li, lq) = self
            .loads
            .iter()
            .map(|l| l.waiting.len() as u64)
            .enumerate()
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, 0));
        let pooled: u64 = self.pools.iter().map(|p| p.waiting_len() as u64).sum();
        let live = (self.requests.items.len() - self.requests.free.len()) as u64;
        let biggest = dq.max(lq).max(pooled);
        if biggest * 2 < live {
            return format!(
                "{} requests in flight (calls fan out faster than they finish)",
                human(live)
            );
        }
        if dq == biggest {
            let d = &spec.deployments[di];
            format!(
                "{}/{}: {} requests queued — offered load exceeds capacity",
                d.namespace,
                d.name,
                human(dq)
            )
        } else if lq == biggest {
            let l = &spec.loads[li];
            format!(
                "load {}/{}: {} requests waiting for a free connection — offered load exceeds what its connections carry",
                l.namespace,
                l.name,
                human(lq)
            )
        } else {
            format!(
                "{} calls waiting for a pooled connection — callers send faster than their pools carry",
                human(pooled)
            )
        }
    }

    /// Ends the replication at `now`: the measurement window closes here, so
    /// every count covers the simulated time that actually ran.
    pub(super) fn stop(&mut self, now: SimTime, reason: String) {
        let to = SimTime(now.0.saturating_add(1)).max(self.window.from);
        self.window.to = to.min(self.window.to);
        self.end = self.window.to.max(SimTime(now.0.saturating_add(1)));
        self.guard.stopped = Some(Stopped { at: now, reason });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_as_people_write_them() {
        assert_eq!(human(999), "999");
        assert_eq!(human(10_200_000), "10.2 M");
        assert_eq!(human(523_400), "523.4 k");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(320 << 20), "320.0 MiB");
    }
}
