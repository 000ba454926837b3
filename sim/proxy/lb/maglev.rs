//! Envoy MAGLEV — `source/extensions/load_balancing_policies/maglev/maglev_lb.cc`
//! (`MaglevTable::constructMaglevTableInternal`,
//! `OriginalMaglevTable::constructImplementationInternals`, `chooseHost`).
//!
//! Building: candidate hosts sorted by their hash key (the address), each with
//! `offset = xxHash64(key, seed 0) % M` and `skip = xxHash64(key, seed 1) % (M−1) + 1`
//! and normalized weight `w / Σw`; rounds `iteration = 1, 2, …` walk the hosts
//! in that order, a host takes a turn when `iteration × w ≥ target` (then
//! `target += max_w`) and claims the next free slot of its permutation
//! `(offset + skip × next) % M`, until all `M` slots are filled. Choosing:
//! `table[hash % M]`; a retry `attempt` XORs the hash with `2^64 − attempt`.
//! `M` (default 65537) must be prime. Known-answer tests come from Envoy's
//! `maglev_lb_test.cc`. (Envoy's compact table is an equivalent encoding.)

use super::{HostSource, HostView, Pick};
use xxhash_rust::xxh64::xxh64;

/// Envoy `MaglevTable::DefaultTableSize`.
pub const DEFAULT_TABLE_SIZE: u64 = 65537;

/// A Maglev balancer: the lookup table of host indices.
#[derive(Clone, Debug)]
pub struct Maglev {
    table: Vec<u32>,
    table_size: u64,
    panic_threshold: u32,
}

/// Is `n` prime (Envoy rejects a non-prime table size)?
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u64;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

struct BuildEntry {
    host: u32,
    offset: u64,
    skip: u64,
    weight: f64,
    target: f64,
    next: u64,
}

impl Maglev {
    /// `table_size` must be a prime ≥ 2 (validated by the caller; a non-prime
    /// size still builds a table but may leave hosts underweighted).
    pub fn new(hosts: &[HostView], panic_threshold: u32, table_size: u64) -> Maglev {
        let mut lb = Maglev {
            table: Vec::new(),
            table_size: table_size.max(2),
            panic_threshold,
        };
        lb.refresh(hosts);
        lb
    }

    pub fn refresh(&mut self, hosts: &[HostView]) {
        let m = self.table_size;
        self.table.clear();
        let source = HostSource::new(hosts, self.panic_threshold);
        if source.is_empty() {
            return;
        }
        let sum: f64 = source.iter().map(|i| hosts[i].weight as f64).sum();
        let mut order: Vec<usize> = source.iter().collect();
        order.sort_by(|&a, &b| hosts[a].address.cmp(hosts[b].address).then(a.cmp(&b)));
        let mut entries: Vec<BuildEntry> = order
            .iter()
            .map(|&i| {
                let key = hosts[i].address.as_bytes();
                BuildEntry {
                    host: i as u32,
                    offset: xxh64(key, 0) % m,
                    skip: xxh64(key, 1) % (m - 1) + 1,
                    weight: hosts[i].weight as f64 / sum,
                    target: 0.0,
                    next: 0,
                }
            })
            .collect();
        let max_w = entries.iter().map(|e| e.weight).fold(0.0, f64::max);
        const EMPTY: u32 = u32::MAX;
        self.table = vec![EMPTY; m as usize];
        let mut filled = 0u64;
        let mut iteration = 1u32;
        while filled < m {
            for e in entries.iter_mut() {
                if filled >= m {
                    break;
                }
                if (iteration as f64) * e.weight < e.target {
                    continue;
                }
                e.target += max_w;
                let mut c = (e.offset + e.skip * e.next) % m;
                while self.table[c as usize] != EMPTY {
                    e.next += 1;
                    c = (e.offset + e.skip * e.next) % m;
                }
                self.table[c as usize] = e.host;
                e.next += 1;
                filled += 1;
            }
            iteration += 1;
        }
    }

    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// Envoy `chooseHost(hash, attempt)`.
    pub fn pick(&self, hash: u64, attempt: u32) -> Pick {
        if self.table.is_empty() {
            return Pick::NoHealthyUpstream;
        }
        let mut h = hash;
        if attempt > 0 {
            h ^= (!0u64).wrapping_sub(attempt as u64).wrapping_add(1);
        }
        Pick::Host(self.table[(h % self.table_size) as usize] as usize)
    }
}
