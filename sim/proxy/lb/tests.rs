//! Tests for `proxy::lb`: candidate sets and panic mode, round robin rotation
//! and EDF weights, least request (P2C), random, and known answers for ring
//! hash and Maglev taken from Envoy's own tests.

use super::*;
use crate::engine::rng::{Purpose, RngFactory};

fn rng(tag: &str) -> SimRng {
    RngFactory::new(11, 0).of(Purpose::Behaviour, tag)
}

fn hosts<'a>(addrs: &'a [&'a str]) -> Vec<HostView<'a>> {
    addrs.iter().map(|a| HostView::new(a)).collect()
}

const ADDRS: [&str; 6] = [
    "127.0.0.1:90",
    "127.0.0.1:91",
    "127.0.0.1:92",
    "127.0.0.1:93",
    "127.0.0.1:94",
    "127.0.0.1:95",
];

#[test]
fn host_source_health_and_panic() {
    let mut hs = hosts(&ADDRS[..4]);
    let s = HostSource::new(&hs, 50);
    assert_eq!((s.len(), s.in_panic()), (4, false));
    hs[1].healthy = false;
    let s = HostSource::new(&hs, 50);
    assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 2, 3]);
    hs[2].healthy = false; // 2/4 = 50 %: not below the threshold
    let s = HostSource::new(&hs, 50);
    assert_eq!(
        (s.iter().collect::<Vec<_>>(), s.in_panic()),
        (vec![0, 3], false)
    );
    hs[3].healthy = false; // 25 % < 50 % ⇒ panic: all hosts
    let s = HostSource::new(&hs, 50);
    assert_eq!((s.len(), s.in_panic()), (4, true));
    let s = HostSource::new(&hs, 0); // panic disabled
    assert_eq!(
        (s.iter().collect::<Vec<_>>(), s.in_panic()),
        (vec![0], false)
    );
    for h in hs.iter_mut() {
        h.healthy = false;
    }
    assert!(HostSource::new(&hs, 0).is_empty());
    assert_eq!(HostSource::new(&hs, 50).len(), 4);
    assert!(HostSource::new(&[], 50).is_empty());
}

#[test]
fn round_robin_strict_rotation_from_a_random_start() {
    let hs = hosts(&ADDRS[..4]);
    let cfg = LbConfig {
        policy: LbPolicy::RoundRobin,
        panic_threshold_percent: 50,
    };
    let mut r = rng("rr");
    let mut lb = LoadBalancer::new(&cfg, &hs, &mut r);
    let first = match lb.pick(&hs, None, &mut r) {
        Pick::Host(i) => i,
        p => panic!("{p:?}"),
    };
    for k in 1..12 {
        assert_eq!(lb.pick(&hs, None, &mut r), Pick::Host((first + k) % 4));
    }
    // Different instances start at different offsets (seeded per instance).
    let starts: Vec<Pick> = (0..8)
        .map(|i| {
            let mut r = rng(&format!("rr{i}"));
            LoadBalancer::new(&cfg, &hs, &mut r).pick(&hs, None, &mut r)
        })
        .collect();
    assert!(starts.iter().any(|s| *s != starts[0]), "{starts:?}");
}

#[test]
fn round_robin_skips_unhealthy_and_reports_no_host() {
    let mut hs = hosts(&ADDRS[..4]);
    hs[2].healthy = false;
    let mut r = rng("rr-h");
    let mut lb = RoundRobin::new(&hs, 50, &mut r);
    let picks: Vec<Pick> = (0..30).map(|_| lb.pick(&hs)).collect();
    assert!(!picks.contains(&Pick::Host(2)));
    let mut none = RoundRobin::new(&[], 50, &mut r);
    assert_eq!(none.pick(&[] as &[HostView]), Pick::NoHealthyUpstream);
}

#[test]
fn round_robin_weighted_is_edf_exact_over_a_period() {
    let mut hs = hosts(&ADDRS[..3]);
    for (h, w) in hs.iter_mut().zip([1, 2, 5]) {
        h.weight = w;
    }
    let mut r = rng("rr-w");
    let mut lb = RoundRobin::new(&hs, 50, &mut r);
    for _ in 0..4 {
        let mut counts = [0u32; 3];
        for _ in 0..8 {
            let Pick::Host(i) = lb.pick(&hs) else {
                panic!()
            };
            counts[i] += 1;
        }
        assert_eq!(counts, [1, 2, 5]);
    }
}

#[test]
fn p2c_prefers_fewer_active_and_never_picks_unhealthy() {
    let mut hs = hosts(&ADDRS);
    for (i, h) in hs.iter_mut().enumerate() {
        h.active_requests = i as u32 * 10;
    }
    hs[0].healthy = false; // the least loaded host is unhealthy: never chosen
    let mut r = rng("p2c");
    let mut lb = LeastRequest::new(&hs, 50, 2);
    let mut counts = [0u32; 6];
    let n = 60_000;
    for _ in 0..n {
        let Pick::Host(i) = lb.pick(&hs, &mut r) else {
            panic!()
        };
        counts[i] += 1;
    }
    assert_eq!(counts[0], 0);
    // With replacement among 5 healthy hosts, rank k (0 = least loaded) wins
    // with probability (2(5−k)−1)/25: 9, 7, 5, 3, 1 out of 25.
    for (k, &c) in counts[1..].iter().enumerate() {
        let p = (2.0 * (5 - k) as f64 - 1.0) / 25.0;
        let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
        assert!(
            (c as f64 - mean).abs() < 3.2905 * sd,
            "rank {k}: {c} vs {mean}"
        );
    }
}

#[test]
fn p2c_ties_keep_the_first_sample_and_single_choice_is_random() {
    let hs = hosts(&ADDRS[..2]);
    let mut r1 = rng("tie");
    let mut r2 = rng("tie");
    let mut lb = LeastRequest::new(&hs, 50, 2);
    use rand::Rng;
    for _ in 0..100 {
        let first = (r2.next_u64() % 2) as usize;
        let _second = r2.next_u64();
        assert_eq!(lb.pick(&hs, &mut r1), Pick::Host(first));
    }
}

#[test]
fn least_request_weighted_uses_active_requests() {
    let mut hs = hosts(&ADDRS[..2]);
    hs[0].weight = 2;
    hs[1].weight = 1;
    let mut r = rng("lrw");
    let mut lb = LeastRequest::new(&hs, 50, 2);
    // Idle: 2:1 by weight.
    let mut counts = [0u32; 2];
    for _ in 0..300 {
        let Pick::Host(i) = lb.pick(&hs, &mut r) else {
            panic!()
        };
        counts[i] += 1;
    }
    assert!((counts[0] as i32 - 200).abs() <= 2, "{counts:?}");
    // Host 0 busy (7 active ⇒ 2/8 = 0.25 < 1): host 1 now gets the larger share.
    hs[0].active_requests = 7;
    lb.refresh(&hs);
    let mut counts = [0u32; 2];
    for _ in 0..500 {
        let Pick::Host(i) = lb.pick(&hs, &mut r) else {
            panic!()
        };
        counts[i] += 1;
    }
    assert!((counts[0] as i32 - 100).abs() <= 2, "{counts:?}");
}

#[test]
fn random_is_uniform_over_candidates() {
    let mut hs = hosts(&ADDRS[..4]);
    hs[3].healthy = false;
    let mut r = rng("random");
    let lb = RandomLb::new(&hs, 50);
    let mut counts = [0u32; 4];
    let n = 30_000;
    for _ in 0..n {
        let Pick::Host(i) = lb.pick(&mut r) else {
            panic!()
        };
        counts[i] += 1;
    }
    assert_eq!(counts[3], 0);
    let e = n as f64 / 3.0;
    let chi2: f64 = counts[..3]
        .iter()
        .map(|&c| (c as f64 - e).powi(2) / e)
        .sum();
    assert!(chi2 < 13.82, "{counts:?}"); // 2 df, 99.9 %
}

/// Envoy `ring_hash_lb_test.cc` `Basic`: hosts 127.0.0.1:90..95, min ring 12.
#[test]
fn ring_hash_known_answers_from_envoy() {
    let hs = hosts(&ADDRS);
    let lb = RingHash::new(&hs, 50, 12, ring_hash::DEFAULT_MAX_RING_SIZE);
    let ring: Vec<(u64, usize)> = lb.ring().iter().map(|&(h, i)| (h, i as usize)).collect();
    #[rustfmt::skip]
    let expected: Vec<(u64, usize)> = vec![
        (833437586790550860, 4), (928266305478181108, 2), (1033482794131418490, 0),
        (3551244743356806947, 5), (3851675632748031481, 3), (5583722120771150861, 1),
        (6311230543546372928, 1), (7700377290971790572, 3), (13144177310400110813, 5),
        (13444792449719432967, 2), (15516499411664133160, 4), (16117243373044804889, 0),
    ];
    assert_eq!(ring, expected);
    for (hash, want) in [
        (0u64, 4usize),
        (u64::MAX, 4),
        (3551244743356806947, 5),
        (3551244743356806948, 3),
        (16117243373044804880, 0),
    ] {
        assert_eq!(lb.pick(hash, 0), Pick::Host(want), "{hash}");
    }
    // Panic (all unhealthy): the ring is built from all hosts.
    let mut sick = hs.clone();
    for h in sick.iter_mut() {
        h.healthy = false;
    }
    assert_eq!(
        RingHash::new(&sick, 50, 12, 1 << 23).pick(0, 0),
        Pick::Host(4)
    );
    assert_eq!(
        RingHash::new(&sick, 0, 12, 1 << 23).pick(0, 0),
        Pick::NoHealthyUpstream
    );
}

/// Envoy `BasicWithHostname`: hash keys "90".."95".
#[test]
fn ring_hash_known_answers_by_hostname() {
    let names = ["90", "91", "92", "93", "94", "95"];
    let lb = RingHash::new(&hosts(&names), 50, 12, 1 << 23);
    let first: Vec<u64> = lb.ring().iter().take(3).map(|e| e.0).collect();
    assert_eq!(
        first,
        vec![
            1975508444536362413,
            2376063919839173711,
            2386806903309390596
        ]
    );
    assert_eq!(lb.pick(0, 0), Pick::Host(5));
    assert_eq!(lb.pick(u64::MAX, 0), Pick::Host(5));
    assert_eq!(lb.pick(7225015537174310577, 0), Pick::Host(2));
    assert_eq!(lb.pick(6803900775736438537, 0), Pick::Host(3));
}

#[test]
fn ring_hash_sizes_weights_and_default_ring() {
    let mut hs = hosts(&ADDRS[..3]);
    let lb = RingHash::new(
        &hs,
        50,
        ring_hash::DEFAULT_MIN_RING_SIZE,
        ring_hash::DEFAULT_MAX_RING_SIZE,
    );
    assert_eq!(lb.ring().len(), 1026); // ceil(1024/3)·3
    hs[0].weight = 2;
    let lb = RingHash::new(&hs, 50, 1024, 1 << 23);
    let per = |h: u32| lb.ring().iter().filter(|e| e.1 == h).count();
    // min weight 1/4 ⇒ scale = ceil(1024/4)·4 = 1024 entries, split 2:1:1.
    assert_eq!((per(0), per(1), per(2)), (512, 256, 256));
    // Retry attempts move along the ring.
    let p0 = lb.pick(42, 0);
    assert_eq!(lb.pick(42, lb.ring().len() as u32), p0);
}

/// Envoy `maglev_lb_test.cc` `Basic` and `BasicWithHostName` (table size 7).
#[test]
fn maglev_known_answers_from_envoy() {
    let lb = Maglev::new(&hosts(&ADDRS), 50, 7);
    let table: Vec<u32> = lb.table().to_vec();
    assert_eq!(table, vec![2, 4, 0, 1, 5, 0, 3]);
    for i in 0..21u64 {
        assert_eq!(lb.pick(i, 0), Pick::Host(table[(i % 7) as usize] as usize));
    }
    let names = ["90", "91", "92", "93", "94", "95"];
    assert_eq!(
        Maglev::new(&hosts(&names), 50, 7).table(),
        &[2, 5, 0, 3, 4, 1, 0]
    );
    assert_eq!(Maglev::new(&hosts(&ADDRS[..1]), 50, 7).table(), &[0; 7]);
    assert_eq!(Maglev::new(&[], 50, 7).pick(1, 0), Pick::NoHealthyUpstream);
}

#[test]
fn maglev_default_table_is_balanced_and_weighted() {
    let mut hs = hosts(&ADDRS[..4]);
    let lb = Maglev::new(&hs, 50, maglev::DEFAULT_TABLE_SIZE);
    let count = |lb: &Maglev, h: u32| lb.table().iter().filter(|&&x| x == h).count();
    for h in 0..4 {
        let c = count(&lb, h);
        assert!((16384..=16385).contains(&c), "{h}: {c}");
    }
    hs[0].weight = 3;
    let lb = Maglev::new(&hs, 50, maglev::DEFAULT_TABLE_SIZE);
    let c0 = count(&lb, 0) as f64 / 65537.0;
    assert!((c0 - 0.5).abs() < 0.001, "{c0}");
    assert!(maglev::is_prime(65537) && !maglev::is_prime(65536));
    // Host order does not matter (sorted by address).
    let rev: Vec<HostView> = hs.iter().rev().copied().collect();
    let lb_rev = Maglev::new(&rev, 50, 65537);
    assert!(
        lb.table()
            .iter()
            .zip(lb_rev.table())
            .all(|(a, b)| *a == 3 - *b)
    );
}

#[test]
fn consistent_hash_without_key_is_random_and_with_key_is_sticky() {
    let hs = hosts(&ADDRS);
    let mut r = rng("hash");
    for policy in [LbPolicy::RING_HASH, LbPolicy::MAGLEV] {
        let cfg = LbConfig {
            policy,
            panic_threshold_percent: 50,
        };
        let mut lb = LoadBalancer::new(&cfg, &hs, &mut r);
        let sticky = lb.pick(&hs, Some(12345), &mut r);
        assert!((0..50).all(|_| lb.pick(&hs, Some(12345), &mut r) == sticky));
        let spread: std::collections::BTreeSet<_> =
            (0..200).map(|_| lb.pick(&hs, None, &mut r)).collect();
        assert_eq!(spread.len(), 6);
    }
}

#[test]
fn retry_attempts_move_consistent_hash_picks() {
    let hs = hosts(&ADDRS);
    let mut r = rng("attempt");
    // Maglev: attempt a XORs the hash with 2^64 − a.
    let mg = Maglev::new(&hs, 50, 7);
    let h = 5u64;
    let want = mg.table()[((h ^ u64::MAX) % 7) as usize] as usize;
    assert_eq!(mg.pick(h, 1), Pick::Host(want));
    // Ring hash: attempt a moves a entries along the ring (hash 0 → entry 0).
    let ring = RingHash::new(&hs, 50, 12, 1 << 23);
    assert_eq!(ring.pick(0, 1), Pick::Host(ring.ring()[1].1 as usize));
    let cfg = LbConfig {
        policy: LbPolicy::MAGLEV,
        panic_threshold_percent: 50,
    };
    let mut lb = LoadBalancer::new(&cfg, &hs, &mut r);
    let m = LoadBalancer::new(&cfg, &hs, &mut r);
    let LoadBalancer::Maglev(m) = m else { panic!() };
    assert_eq!(lb.pick_attempt(&hs, Some(h), 1, &mut r), m.pick(h, 1));
}

#[test]
fn picks_over_live_hosts_equal_picks_over_host_views() {
    // The world picks over its own arrays (`LiveHosts`: active counts,
    // weights, an EDS membership view) instead of a `Vec<HostView>` per pick.
    // Every policy, equal and unequal weights, with and without membership:
    // the same picks, draw for draw, while active counts change between picks.
    let addrs: Vec<String> = (0..8).map(|i| format!("10.0.0.{i}:80")).collect();
    let policies = [
        LbPolicy::RoundRobin,
        LbPolicy::LEAST_REQUEST,
        LbPolicy::LeastRequest { choice_count: 3 },
        LbPolicy::Random,
        LbPolicy::RING_HASH,
        LbPolicy::MAGLEV,
    ];
    let memberships: [Option<Vec<u32>>; 2] = [None, Some(vec![6, 1, 3, 0, 7])];
    let weightings: [Vec<u32>; 2] = [Vec::new(), vec![1, 3, 1, 2, 5, 1, 4, 2]];
    let mut cases = 0;
    for policy in &policies {
        for members in &memberships {
            for weights in &weightings {
                let cfg = LbConfig {
                    policy: policy.clone(),
                    panic_threshold_percent: 50,
                };
                let mut active = vec![0u32; addrs.len()];
                let index: Vec<usize> = match members {
                    None => (0..addrs.len()).collect(),
                    Some(m) => m.iter().map(|&h| h as usize).collect(),
                };
                let views = |active: &[u32]| -> Vec<HostView> {
                    index
                        .iter()
                        .map(|&h| HostView {
                            address: &addrs[h],
                            weight: weights.get(h).copied().unwrap_or(1),
                            active_requests: active[h],
                            healthy: true,
                        })
                        .collect()
                };
                let (mut ra, mut rb) = (rng("live"), rng("live"));
                let mut a = LoadBalancer::new(&cfg, &views(&active), &mut ra);
                let mut b = LoadBalancer::new(&cfg, &views(&active), &mut rb);
                let mut picked = Vec::new();
                for k in 0..300u64 {
                    let hash = (k % 3 == 0).then_some(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    let pa = a.pick(&views(&active), hash, &mut ra);
                    let live = LiveHosts {
                        active: &active,
                        weights,
                        members: members.as_deref(),
                    };
                    let pb = b.pick(&live, hash, &mut rb);
                    assert_eq!(pa, pb, "{policy:?} {members:?} {weights:?} pick {k}");
                    let Pick::Host(i) = pa else {
                        panic!("all hosts healthy")
                    };
                    let h = index[i];
                    active[h] += 1;
                    if k % 4 == 3 {
                        // Some requests finish.
                        active
                            .iter_mut()
                            .step_by(2)
                            .for_each(|n| *n = n.saturating_sub(1));
                    }
                    picked.push(h);
                }
                // Not a degenerate table: the picks spread over the hosts.
                picked.sort_unstable();
                picked.dedup();
                assert!(picked.len() >= 3, "{policy:?} {members:?}: {picked:?}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 24);
}

#[test]
fn prioritized_picks_over_live_hosts_equal_picks_over_host_views() {
    use super::prioritized::{Group, Prioritized};
    let addrs: Vec<String> = (0..6).map(|i| format!("10.0.1.{i}:80")).collect();
    let members = [5u32, 2, 4, 0, 1, 3];
    let groups = vec![
        Group {
            start: 0,
            end: 2,
            priority: 0,
            weight: 3,
        },
        Group {
            start: 2,
            end: 4,
            priority: 0,
            weight: 1,
        },
        Group {
            start: 4,
            end: 6,
            priority: 1,
            weight: 1,
        },
    ];
    let mut active = [0u32; 6];
    let views = |active: &[u32]| -> Vec<HostView> {
        members
            .iter()
            .map(|&h| HostView {
                active_requests: active[h as usize],
                ..HostView::new(&addrs[h as usize])
            })
            .collect()
    };
    let cfg = LbConfig::default();
    let (mut ra, mut rb) = (rng("prio-live"), rng("prio-live"));
    let mut a = Prioritized::new(&cfg, &views(&active), groups.clone(), true, &mut ra);
    let mut b = Prioritized::new(&cfg, &views(&active), groups, true, &mut rb);
    let mut per_host = [0u32; 6];
    for k in 0..400u32 {
        let pa = a.pick(&views(&active), None, 0, u64::from(k % 5 == 0), &mut ra);
        let live = LiveHosts {
            active: &active,
            weights: &[],
            members: Some(&members),
        };
        assert_eq!(
            pa,
            b.pick(&live, None, 0, u64::from(k % 5 == 0), &mut rb),
            "pick {k}"
        );
        let Pick::Host(i) = pa else { panic!("healthy") };
        let h = members[i] as usize;
        per_host[h] += 1;
        active[h] += 1;
        if k % 2 == 1 {
            active.iter_mut().for_each(|n| *n = n.saturating_sub(1));
        }
    }
    // Priority 1 (hosts 1 and 3) only when priority 0 is excluded: 80 of 400.
    assert_eq!(per_host[1] + per_host[3], 80, "{per_host:?}");
}
