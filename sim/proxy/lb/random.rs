//! Envoy RANDOM (`source/extensions/load_balancing_policies/random/random_lb.cc`):
//! `hosts[random() % n]` over the candidate hosts; weights are ignored.

use super::{HostSource, HostView, Pick};
use crate::engine::rng::SimRng;

/// Random balancer state (just the candidate set).
#[derive(Clone, Debug)]
pub struct RandomLb {
    source: HostSource,
    panic_threshold: u32,
}

impl RandomLb {
    pub fn new(hosts: &[HostView], panic_threshold: u32) -> RandomLb {
        RandomLb {
            source: HostSource::new(hosts, panic_threshold),
            panic_threshold,
        }
    }

    pub fn refresh(&mut self, hosts: &[HostView]) {
        self.source = HostSource::new(hosts, self.panic_threshold);
    }

    pub fn pick(&self, rng: &mut SimRng) -> Pick {
        use rand::Rng;
        match self.source.len() {
            0 => Pick::NoHealthyUpstream,
            n => Pick::Host(self.source.get((rng.next_u64() % n as u64) as usize)),
        }
    }
}
