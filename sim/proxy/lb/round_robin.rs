//! Envoy ROUND_ROBIN (`source/extensions/load_balancing_policies/round_robin/round_robin_lb.cc`,
//! `EdfLoadBalancerBase` in `source/common/upstream/load_balancer_impl.cc`).
//!
//! * Equal weights: strict rotation `hosts[index++ % n]`; the index starts at
//!   a seed drawn once per balancer instance (`seed_ = random_.random()`), so
//!   proxies do not all start on the same host. The index survives refreshes
//!   (Envoy keeps `rr_indexes_` per host source).
//! * Unequal weights: the EDF schedule ([`super::edf`]), built with a
//!   seed-derived number of initial picks (Envoy `EdfScheduler::createWithPicks`
//!   emulates `seed % 429496729` picks; an integer-weight schedule repeats
//!   every Σw picks, so `seed % Σw` picks give the same phase — computed
//!   exactly up to Σw ≤ 2^16, beyond that the phase is `seed % 2^16`).

use super::edf::EdfScheduler;
use super::{HostSource, HostView, Pick, PickHosts};
use crate::engine::rng::SimRng;

/// Round-robin state for one cluster.
#[derive(Clone, Debug)]
pub struct RoundRobin {
    source: HostSource,
    panic_threshold: u32,
    seed: u64,
    /// Rotation index per source kind: [healthy, all (panic)].
    rr_index: [u64; 2],
    edf: Option<EdfScheduler>,
}

impl RoundRobin {
    pub fn new(hosts: &[HostView], panic_threshold: u32, rng: &mut SimRng) -> RoundRobin {
        use rand::Rng;
        let seed = rng.next_u64();
        let mut lb = RoundRobin {
            source: HostSource::default(),
            panic_threshold,
            seed,
            rr_index: [seed, seed],
            edf: None,
        };
        lb.refresh(hosts);
        lb
    }

    pub fn refresh(&mut self, hosts: &[HostView]) {
        self.source = HostSource::new(hosts, self.panic_threshold);
        self.edf = None;
        if self.source.weights_equal(hosts) {
            return;
        }
        let mut edf = EdfScheduler::new();
        for i in self.source.iter() {
            edf.add(hosts[i].weight as f64, i as u32);
        }
        let period: u64 = self.source.iter().map(|i| hosts[i].weight as u64).sum();
        let picks = (self.seed % 429_496_729) % period.clamp(1, 1 << 16);
        for _ in 0..picks {
            edf.pick_and_add(|i| hosts[i as usize].weight as f64);
        }
        self.edf = Some(edf);
    }

    /// The host for the next request.
    pub fn pick<H: PickHosts + ?Sized>(&mut self, hosts: &H) -> Pick {
        if let Some(edf) = &mut self.edf {
            return match edf.pick_and_add(|i| hosts.weight(i as usize) as f64) {
                Some(i) => Pick::Host(i as usize),
                None => Pick::NoHealthyUpstream,
            };
        }
        let n = self.source.len();
        if n == 0 {
            return Pick::NoHealthyUpstream;
        }
        let slot = &mut self.rr_index[self.source.in_panic() as usize];
        let i = (*slot % n as u64) as usize;
        *slot = slot.wrapping_add(1);
        Pick::Host(self.source.get(i))
    }
}
