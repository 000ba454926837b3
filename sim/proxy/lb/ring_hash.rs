//! Envoy RING_HASH (ketama) — `source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc`
//! `RingHashLoadBalancer::Ring::Ring` and `Ring::chooseHost`.
//!
//! Building: candidate hosts in host-set order with normalized weights
//! `w / Σw`; `scale = min(ceil(min_w × min_ring) / min_w, max_ring)`,
//! `ring_size = ceil(scale)`; host after host, hashes `xxHash64("<address>_<i>")`
//! (seed 0) for `i = 0, 1, …` while the running count is below the running
//! target `Σ scale × w`; then the ring is sorted by hash. Choosing: the
//! ketama binary search (first entry with `hash ≥ h`, wrapping to entry 0),
//! ported literally including its signed-index quirks; a retry `attempt`
//! moves `attempt` entries on. Known-answer tests use Envoy's own
//! `ring_hash_lb_test.cc` rings, so the same key picks the same host as Envoy
//! given the same addresses.

use super::{HostSource, HostView, Pick};
use xxhash_rust::xxh64::xxh64;

/// Envoy `DefaultMinRingSize`.
pub const DEFAULT_MIN_RING_SIZE: u64 = 1024;
/// Envoy `DefaultMaxRingSize` (8M).
pub const DEFAULT_MAX_RING_SIZE: u64 = 1024 * 1024 * 8;

/// A ring-hash balancer: the sorted ring of (hash, host index).
#[derive(Clone, Debug)]
pub struct RingHash {
    ring: Vec<(u64, u32)>,
    panic_threshold: u32,
    min_ring_size: u64,
    max_ring_size: u64,
}

impl RingHash {
    pub fn new(
        hosts: &[HostView],
        panic_threshold: u32,
        min_ring_size: u64,
        max_ring_size: u64,
    ) -> RingHash {
        let mut lb = RingHash {
            ring: Vec::new(),
            panic_threshold,
            min_ring_size,
            max_ring_size: max_ring_size.max(min_ring_size),
        };
        lb.refresh(hosts);
        lb
    }

    pub fn refresh(&mut self, hosts: &[HostView]) {
        let source = HostSource::new(hosts, self.panic_threshold);
        self.ring.clear();
        if source.is_empty() {
            return;
        }
        let sum: f64 = source.iter().map(|i| hosts[i].weight as f64).sum();
        let min_w = source
            .iter()
            .map(|i| hosts[i].weight as f64 / sum)
            .fold(f64::INFINITY, f64::min);
        let scale =
            ((min_w * self.min_ring_size as f64).ceil() / min_w).min(self.max_ring_size as f64);
        self.ring.reserve(scale.ceil() as usize);
        let mut key = String::with_capacity(64);
        let (mut current, mut target) = (0.0f64, 0.0f64);
        for h in source.iter() {
            target += scale * (hosts[h].weight as f64 / sum);
            let mut i = 0u64;
            while current < target {
                use std::fmt::Write;
                key.clear();
                let _ = write!(key, "{}_{}", hosts[h].address, i);
                self.ring.push((xxh64(key.as_bytes(), 0), h as u32));
                i += 1;
                current += 1.0;
            }
        }
        self.ring.sort_by_key(|&(hash, _)| hash);
    }

    /// Ring entries (hash, host index), sorted.
    pub fn ring(&self) -> &[(u64, u32)] {
        &self.ring
    }

    /// Envoy `Ring::chooseHost(h, attempt)`.
    pub fn pick(&self, h: u64, attempt: u32) -> Pick {
        let n = self.ring.len() as i64;
        if n == 0 {
            return Pick::NoHealthyUpstream;
        }
        let (mut lowp, mut highp) = (0i64, n);
        let mut midp;
        loop {
            midp = (lowp + highp) / 2;
            if midp == n {
                midp = 0;
                break;
            }
            let midval = self.ring[midp as usize].0;
            let midval1 = if midp == 0 {
                0
            } else {
                self.ring[midp as usize - 1].0
            };
            if h <= midval && h > midval1 {
                break;
            }
            if midval < h {
                lowp = midp + 1;
            } else {
                highp = midp - 1;
            }
            if lowp > highp {
                midp = 0;
                break;
            }
        }
        if attempt > 0 {
            midp = (midp + attempt as i64) % n;
        }
        Pick::Host(self.ring[midp as usize].1 as usize)
    }
}
