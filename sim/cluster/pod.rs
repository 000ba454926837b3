//! A pod as a server: `workers` identical servers sharing one FIFO queue.
//!
//! Time-weighted statistics (busy workers, queue length) are integrated exactly
//! in integer nanoseconds at every change, so utilisation and mean queue length
//! are exact for the simulated path, not sampled.

use crate::engine::SimTime;
use std::collections::VecDeque;

/// Index of an execution waiting for a worker.
pub type Waiter = u32;

#[derive(Clone, Debug)]
pub struct Pod {
    pub deployment: u32,
    /// Replica index within the deployment (stable name part: `ns/name/idx`).
    pub replica: u32,
    pub ready: bool,
    pub workers: u32,
    pub busy: u32,
    pub queue: VecDeque<Waiter>,
    /// Waiting *new* requests (the part of `queue` that `queue_limit` bounds).
    pub admissions_waiting: u32,
    /// Requests since the application's last counted error
    /// (`errors.every`; isotope's per-pod counter).
    pub error_count: u32,
    pub stats: PodStats,
}

/// Exact time integrals since the last reset.
#[derive(Clone, Debug, Default)]
pub struct PodStats {
    pub last_change: SimTime,
    /// Σ busy workers × ns.
    pub busy_ns: u128,
    /// Σ queue length × ns.
    pub queue_ns: u128,
    pub queue_max: u32,
    pub queue_full: u64,
    /// Call tries this pod's scripts gave up on (application timeout).
    pub call_timeouts: u64,
}

impl Pod {
    pub fn new(deployment: u32, replica: u32, workers: u32) -> Self {
        Pod {
            deployment,
            replica,
            ready: true,
            workers,
            busy: 0,
            queue: VecDeque::new(),
            admissions_waiting: 0,
            error_count: 0,
            stats: PodStats::default(),
        }
    }

    /// Integrates up to `now`; call before every change of `busy` or `queue`.
    #[inline]
    pub fn touch(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.stats.last_change).as_nanos() as u128;
        if dt > 0 {
            self.stats.busy_ns += self.busy as u128 * dt;
            self.stats.queue_ns += self.queue.len() as u128 * dt;
            self.stats.last_change = now;
        }
    }

    /// Starts a new measurement window at `now` (end of warm-up).
    pub fn reset_stats(&mut self, now: SimTime) {
        self.touch(now);
        self.stats = PodStats {
            last_change: now,
            queue_max: self.queue.len() as u32,
            ..PodStats::default()
        };
    }

    #[inline]
    pub fn has_free_worker(&self) -> bool {
        self.busy < self.workers
    }

    #[inline]
    pub fn enqueue(&mut self, now: SimTime, w: Waiter) {
        self.touch(now);
        self.queue.push_back(w);
        let l = self.queue.len() as u32;
        if l > self.stats.queue_max {
            self.stats.queue_max = l;
        }
    }
}
