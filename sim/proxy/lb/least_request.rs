//! Envoy LEAST_REQUEST, Istio's default policy
//! (`source/extensions/load_balancing_policies/least_request/least_request_lb.cc`).
//!
//! * Equal weights (`N_CHOICES`, the default; Istio 1.28 configures nothing
//!   else, reference §3): draw `choice_count` (2) hosts uniformly **with
//!   replacement** (`random() % n`); a later sample replaces the candidate
//!   only with strictly fewer active requests, so ties keep the first.
//! * Unequal weights: the EDF schedule with dynamic weight
//!   `weight / (active + 1)^bias`, bias 1.0 (`hostWeight`), re-evaluated when
//!   a picked host is re-added.

use super::edf::EdfScheduler;
use super::{HostSource, HostView, Pick, PickHosts};
use crate::engine::rng::SimRng;

/// Least-request state for one cluster.
#[derive(Clone, Debug)]
pub struct LeastRequest {
    source: HostSource,
    panic_threshold: u32,
    choice_count: u32,
    edf: Option<EdfScheduler>,
}

/// `weight / (active + 1)` (bias 1.0) of host `i`.
#[inline]
fn dynamic_weight<H: PickHosts + ?Sized>(hosts: &H, i: usize) -> f64 {
    hosts.weight(i) as f64 / (hosts.active_requests(i) as f64 + 1.0)
}

impl LeastRequest {
    pub fn new(hosts: &[HostView], panic_threshold: u32, choice_count: u32) -> LeastRequest {
        let mut lb = LeastRequest {
            source: HostSource::default(),
            panic_threshold,
            choice_count: choice_count.max(1),
            edf: None,
        };
        lb.refresh(hosts);
        lb
    }

    pub fn refresh(&mut self, hosts: &[HostView]) {
        self.source = HostSource::new(hosts, self.panic_threshold);
        self.edf = None;
        if !self.source.weights_equal(hosts) {
            let mut edf = EdfScheduler::new();
            for i in self.source.iter() {
                edf.add(dynamic_weight(hosts, i), i as u32);
            }
            self.edf = Some(edf);
        }
    }

    pub fn pick<H: PickHosts + ?Sized>(&mut self, hosts: &H, rng: &mut SimRng) -> Pick {
        use rand::Rng;
        if let Some(edf) = &mut self.edf {
            return match edf.pick_and_add(|i| dynamic_weight(hosts, i as usize)) {
                Some(i) => Pick::Host(i as usize),
                None => Pick::NoHealthyUpstream,
            };
        }
        let n = self.source.len() as u64;
        if n == 0 {
            return Pick::NoHealthyUpstream;
        }
        let mut best = self.source.get((rng.next_u64() % n) as usize);
        for _ in 1..self.choice_count {
            let s = self.source.get((rng.next_u64() % n) as usize);
            if hosts.active_requests(s) < hosts.active_requests(best) {
                best = s;
            }
        }
        Pick::Host(best)
    }
}
