//! A balancer over Envoy **priorities** and **locality weights**: what a
//! cluster with locality load balancing runs (`LoadBalancerBase::chooseHostSet`
//! in Envoy's `source/common/upstream/load_balancer_impl.cc`).
//!
//! The hosts are laid out priority by priority and, within a priority,
//! locality group by locality group, so every group is a contiguous slice of
//! the host views: a pick draws the priority from Envoy's per-priority load
//! ([`crate::proxy::locality::priority_load`]), then — with
//! `locality_weighted_lb_config` — the locality by EDF over effective
//! locality weights, then the cluster's own policy (round robin, least
//! request, …) picks inside that slice. No allocation per pick (a retry with
//! `previous_priorities` computes its adjusted load on the stack's Vec once).
//!
//! Panic: a priority in panic picks among all its hosts (its sub-balancers
//! are refreshed with every host marked healthy); the sub-balancers
//! themselves run with panic disabled, since Envoy decides panic per
//! priority over the whole set. Simplification: with locality weights a
//! priority in panic still picks its locality by weight (Envoy then ignores
//! localities); Istio writes panic threshold 0 whenever outlier detection is
//! set unless `minHealthPercent` is, so this needs both.

use super::edf::EdfScheduler;
use super::{HostView, LbConfig, LoadBalancer, Offset, Pick, PickHosts};
use crate::engine::rng::SimRng;
use crate::proxy::locality::{
    Health, Placement, PriorityLoad, choose_priority, effective_locality_weight, load_excluding,
    priority_load,
};

/// A contiguous run of hosts sharing a priority (and a locality when weighted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub start: usize,
    pub end: usize,
    pub priority: u32,
    /// Locality weight (used only when weighted).
    pub weight: u32,
}

/// The host order and groups for `placements` (one per endpoint, in endpoint
/// order) and each endpoint's locality key: kept endpoints sorted by
/// (priority, locality, endpoint order). Returns (endpoint indices in host
/// order, groups).
pub fn layout<K: Ord + Clone>(
    placements: &[Placement],
    locality: &[K],
    weighted: bool,
) -> (Vec<usize>, Vec<Group>) {
    let mut order: Vec<usize> = (0..placements.len())
        .filter(|&i| placements[i].kept)
        .collect();
    order.sort_by(|&a, &b| {
        (placements[a].priority, &locality[a], a).cmp(&(placements[b].priority, &locality[b], b))
    });
    let mut groups: Vec<Group> = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let p = placements[i].priority;
        let same = groups.last().is_some_and(|g| {
            g.priority == p && (!weighted || locality[order[g.start]] == locality[i])
        });
        if same {
            groups.last_mut().expect("group").end = pos + 1;
        } else {
            groups.push(Group {
                start: pos,
                end: pos + 1,
                priority: p,
                weight: placements[i].locality_weight,
            });
        }
    }
    (order, groups)
}

/// Balancer state over priorities and localities (see the module docs).
#[derive(Clone, Debug)]
pub struct Prioritized {
    groups: Vec<Group>,
    lbs: Vec<LoadBalancer>,
    /// Per priority: its groups `[from, to)`.
    prio: Vec<(usize, usize)>,
    weighted: bool,
    edf: Vec<EdfScheduler>,
    eff: Vec<f64>,
    health: Vec<Health>,
    load: PriorityLoad,
    panic_threshold: u32,
}

impl Prioritized {
    /// `groups` from [`layout`] over `hosts` (in that order); `config`'s
    /// policy runs inside each group.
    pub fn new(
        config: &LbConfig,
        hosts: &[HostView],
        groups: Vec<Group>,
        weighted: bool,
        rng: &mut SimRng,
    ) -> Prioritized {
        let sub = LbConfig {
            policy: config.policy.clone(),
            panic_threshold_percent: 0,
        };
        let lbs = groups
            .iter()
            .map(|g| LoadBalancer::new(&sub, &hosts[g.start..g.end], rng))
            .collect();
        let n_prio = groups.last().map_or(0, |g| g.priority as usize + 1);
        let mut prio = vec![(0, 0); n_prio];
        for (gi, g) in groups.iter().enumerate() {
            let e = &mut prio[g.priority as usize];
            if e.1 == 0 {
                e.0 = gi;
            }
            e.1 = gi + 1;
        }
        let mut p = Prioritized {
            eff: vec![0.0; groups.len()],
            groups,
            lbs,
            prio,
            weighted,
            edf: vec![EdfScheduler::new(); n_prio],
            health: vec![(0, 0); n_prio],
            load: PriorityLoad::default(),
            panic_threshold: config.panic_threshold_percent,
        };
        p.refresh(hosts);
        p
    }

    /// Per priority: (healthy, hosts), and the load Envoy gives each.
    pub fn load(&self) -> (&[Health], &PriorityLoad) {
        (&self.health, &self.load)
    }

    /// Priority of host `i` (an index into the host views).
    pub fn priority_of(&self, i: usize) -> u32 {
        self.groups
            .iter()
            .find(|g| g.start <= i && i < g.end)
            .map_or(0, |g| g.priority)
    }

    /// Recomputes health, load and panic after a health change, and
    /// rebuilds the sub-balancers and locality schedules.
    pub fn refresh(&mut self, hosts: &[HostView]) {
        self.health.iter_mut().for_each(|h| *h = (0, 0));
        let mut group_health = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let healthy = hosts[g.start..g.end].iter().filter(|h| h.healthy).count() as u32;
            let n = (g.end - g.start) as u32;
            let h = &mut self.health[g.priority as usize];
            h.0 += healthy;
            h.1 += n;
            group_health.push((healthy, n));
        }
        self.load = priority_load(&self.health, self.panic_threshold);
        for (gi, g) in self.groups.iter().enumerate() {
            let slice = &hosts[g.start..g.end];
            if self.load.panic[g.priority as usize] {
                let all: Vec<HostView> = slice
                    .iter()
                    .map(|h| HostView {
                        healthy: true,
                        ..*h
                    })
                    .collect();
                self.lbs[gi].refresh(&all);
            } else {
                self.lbs[gi].refresh(slice);
            }
            self.eff[gi] = if self.load.panic[g.priority as usize] {
                f64::from(g.weight)
            } else {
                effective_locality_weight(g.weight, group_health[gi])
            };
        }
        if self.weighted {
            for (p, &(from, to)) in self.prio.iter().enumerate() {
                let mut s = EdfScheduler::new();
                for gi in from..to {
                    s.add(self.eff[gi], gi as u32);
                }
                self.edf[p] = s;
            }
        }
    }

    /// Picks a host: the priority by load (without the priorities in
    /// `excluded`, bit i = priority i, when the `previous_priorities` retry
    /// plugin says so), the locality by weight, then the group's balancer.
    pub fn pick<H: PickHosts + ?Sized>(
        &mut self,
        hosts: &H,
        hash: Option<u64>,
        attempt: u32,
        excluded: u64,
        rng: &mut SimRng,
    ) -> Pick {
        use rand::Rng;
        let p = match self.prio.len() {
            0 => return Pick::NoHealthyUpstream,
            1 => 0,
            _ => {
                let draw = rng.next_u64();
                match (excluded != 0)
                    .then(|| load_excluding(&self.health, excluded))
                    .flatten()
                {
                    Some(l) => choose_priority(&l, draw),
                    None => choose_priority(&self.load.load, draw),
                }
            }
        };
        let (from, to) = self.prio[p];
        let gi = if self.weighted && to - from > 1 {
            let eff = &self.eff;
            match self.edf[p].pick_and_add(|g| eff[g as usize]) {
                Some(g) => g as usize,
                None => return Pick::NoHealthyUpstream,
            }
        } else {
            from
        };
        let g = self.groups[gi];
        let group = Offset {
            hosts,
            start: g.start,
        };
        match self.lbs[gi].pick_attempt(&group, hash, attempt, rng) {
            Pick::Host(i) => Pick::Host(g.start + i),
            Pick::NoHealthyUpstream => Pick::NoHealthyUpstream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};
    use crate::proxy::lb::LbPolicy;

    fn rng() -> SimRng {
        RngFactory::new(3, 0).of(Purpose::Behaviour, "prio")
    }

    fn pl(priority: u32, w: u32) -> Placement {
        Placement {
            priority,
            locality_weight: w,
            kept: true,
        }
    }

    #[test]
    fn layout_sorts_by_priority_then_locality() {
        let ps = [pl(1, 1), pl(0, 1), pl(1, 1), pl(0, 1)];
        let loc = ["b", "a", "a", "c"];
        let (order, groups) = layout(&ps, &loc, true);
        assert_eq!(order, vec![1, 3, 2, 0]);
        let spans: Vec<(usize, usize, u32)> = groups
            .iter()
            .map(|g| (g.start, g.end, g.priority))
            .collect();
        assert_eq!(spans, vec![(0, 1, 0), (1, 2, 0), (2, 3, 1), (3, 4, 1)]);
        let (_, groups) = layout(&ps, &loc, false);
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn spills_to_the_next_priority_as_hosts_fail() {
        let addrs = ["a:1", "b:1", "c:1", "d:1"];
        let mut hosts: Vec<HostView> = addrs.iter().map(|a| HostView::new(a)).collect();
        let ps = [pl(0, 2), pl(0, 2), pl(1, 2), pl(1, 2)];
        let (_, groups) = layout(&ps, &["x", "x", "y", "y"], false);
        let cfg = LbConfig {
            policy: LbPolicy::RoundRobin,
            panic_threshold_percent: 0,
        };
        let mut r = rng();
        let mut lb = Prioritized::new(&cfg, &hosts, groups, false, &mut r);
        let count = |lb: &mut Prioritized, hosts: &[HostView], r: &mut SimRng, ex: u64| {
            let mut c = [0u32; 4];
            for _ in 0..10_000 {
                if let Pick::Host(i) = lb.pick(hosts, None, 0, ex, r) {
                    c[i] += 1;
                }
            }
            c
        };
        assert_eq!(count(&mut lb, &hosts, &mut r, 0), [5000, 5000, 0, 0]);
        // One of two P0 hosts ejected: P0 gets 70 %, P1 30 %.
        hosts[0].healthy = false;
        lb.refresh(&hosts);
        let c = count(&mut lb, &hosts, &mut r, 0);
        assert_eq!(c[0], 0);
        assert!((6800..7200).contains(&c[1]), "{c:?}");
        assert!((2800..3200).contains(&(c[2] + c[3])), "{c:?}");
        // previous_priorities excluding P0: everything to P1.
        let c = count(&mut lb, &hosts, &mut r, 1);
        assert_eq!(c, [0, 0, 5000, 5000]);
        // All of P0 gone: P1 takes all.
        hosts[1].healthy = false;
        lb.refresh(&hosts);
        assert_eq!(count(&mut lb, &hosts, &mut r, 0), [0, 0, 5000, 5000]);
    }

    #[test]
    fn locality_weights_split_a_priority() {
        let addrs = ["a:1", "b:1", "c:1"];
        let hosts: Vec<HostView> = addrs.iter().map(|a| HostView::new(a)).collect();
        let ps = [pl(0, 80), pl(0, 20), pl(0, 20)];
        let (_, groups) = layout(&ps, &["z1", "z2", "z2"], true);
        let mut r = rng();
        let mut lb = Prioritized::new(&LbConfig::default(), &hosts, groups, true, &mut r);
        let mut c = [0u32; 3];
        for _ in 0..1000 {
            if let Pick::Host(i) = lb.pick(&hosts, None, 0, 0, &mut r) {
                c[i] += 1;
            }
        }
        // EDF: exactly 80 / 20 per 100 picks.
        assert_eq!(c[0], 800);
        assert_eq!(c[1] + c[2], 200);
    }
}
