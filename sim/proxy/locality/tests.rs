//! Table tests for locality priorities, `distribute` weights and Envoy's
//! priority load (overprovisioning 1.4, spillover, panic, retry exclusion).

use super::*;

fn loc(s: &str) -> Locality {
    Locality::parse(s)
}

fn place(policy: &LocalityPolicy, proxy: &str, eps: &[&str]) -> Vec<(u32, u32, bool)> {
    let locs: Vec<Locality> = eps.iter().map(|e| loc(e)).collect();
    let labels = BTreeMap::new();
    let views: Vec<EndpointView> = locs
        .iter()
        .map(|l| EndpointView {
            locality: l,
            labels: &labels,
        })
        .collect();
    assign(policy, &loc(proxy), &BTreeMap::new(), &views)
        .into_iter()
        .map(|p| (p.priority, p.locality_weight, p.kept))
        .collect()
}

#[test]
fn lb_priority_by_locality() {
    let me = loc("r1/z1/s1");
    for (ep, want) in [
        ("r1/z1/s1", 0),
        ("r1/z1/s2", 1),
        ("r1/z2/s1", 2),
        ("r2/z1/s1", 3),
    ] {
        assert_eq!(lb_priority(&me, &loc(ep)), want, "{ep}");
    }
}

#[test]
fn locality_match_rules() {
    let l = loc("us-east/z1/s1");
    for (rule, want) in [
        ("us-east", true),
        ("us-east/*", true),
        ("us-east/z1", true),
        ("us-east/z2", false),
        ("*", true),
        ("us-west/*", false),
        ("us-east/z1/s2", false),
    ] {
        assert_eq!(l.matches(rule), want, "{rule}");
    }
}

#[test]
fn failover_needs_outlier_detection() {
    let mut p = LocalityPolicy::default();
    let eps = ["r1/z1/", "r1/z2/", "r2/z3/", "r3/z4/"];
    // No outlier detection, no distribute: all priority 0, nothing active.
    assert!(!p.is_active());
    assert_eq!(
        place(&p, "r1/z1/", &eps),
        vec![(0, 1, true), (0, 1, true), (0, 1, true), (0, 1, true)]
    );
    // Default failover: same zone 0, same region 2 → 1, other region 3 → 2.
    p.outlier_detection = true;
    assert!(p.is_active() && !p.locality_weighted());
    let pr: Vec<u32> = place(&p, "r1/z1/", &eps).iter().map(|x| x.0).collect();
    assert_eq!(pr, vec![0, 1, 2, 2]);
    // istio.io's task: failover r1 → r3 puts r3 before r2.
    p.failover = vec![("r1".into(), "r3".into())];
    assert!(p.locality_weighted());
    let pr: Vec<u32> = place(&p, "r1/z1/", &eps).iter().map(|x| x.0).collect();
    assert_eq!(pr, vec![0, 1, 3, 2]);
    // A client in r2 has no failover entry: both other regions at 2.
    let pr: Vec<u32> = place(&p, "r2/z3/", &eps).iter().map(|x| x.0).collect();
    assert_eq!(pr, vec![1, 1, 0, 1]);
}

#[test]
fn failover_priority_labels_then_locality() {
    let p = LocalityPolicy {
        failover_priority: vec!["topology.istio.io/network".into(), "version=v1".into()],
        outlier_detection: true,
        ..Default::default()
    };
    let me_labels = BTreeMap::from([("topology.istio.io/network".to_string(), "n1".to_string())]);
    let l = loc("r1/z1/");
    let mk = |net: &str, v: &str| {
        BTreeMap::from([
            ("topology.istio.io/network".to_string(), net.to_string()),
            ("version".to_string(), v.to_string()),
        ])
    };
    let labels = [mk("n1", "v1"), mk("n1", "v2"), mk("n2", "v1")];
    let views: Vec<EndpointView> = labels
        .iter()
        .map(|x| EndpointView {
            locality: &l,
            labels: x,
        })
        .collect();
    let pr: Vec<u32> = assign(&p, &l, &me_labels, &views)
        .iter()
        .map(|x| x.priority)
        .collect();
    // all match 0; version differs (j=1) → 2−1 = 1; network differs → 2.
    assert_eq!(pr, vec![0, 1, 2]);
}

#[test]
fn distribute_weights_and_removes_unlisted() {
    let p = LocalityPolicy {
        distribute: vec![(
            "r1/z1/*".into(),
            vec![("r1/z1/*".into(), 80), ("r1/z2/*".into(), 20)],
        )],
        ..Default::default()
    };
    let eps = ["r1/z1/a", "r1/z1/b", "r1/z1/b", "r1/z2/", "r2/z3/"];
    // z1's groups: a (1 endpoint), b (2): 80 × 1/3 → 27, 80 × 2/3 → 54 (ceil).
    assert_eq!(
        place(&p, "r1/z1/a", &eps),
        vec![
            (0, 27, true),
            (0, 54, true),
            (0, 54, true),
            (0, 20, true),
            (0, 1, false)
        ]
    );
    // A client the `from` does not match: unchanged.
    assert_eq!(place(&p, "r2/z3/", &eps)[4], (0, 1, true));
}

#[test]
fn envoy_priority_load_spillover() {
    // (health per priority) → load
    let cases: &[(&[Health], &[u32])] = &[
        (&[(4, 4), (4, 4)], &[100, 0]),
        // 3/4 healthy: 140 × 3/4 = 105 → still 100 %.
        (&[(3, 4), (4, 4)], &[100, 0]),
        // 1/2: 70 % stays, 30 % spills.
        (&[(1, 2), (2, 2)], &[70, 30]),
        // 0 healthy in P0: all to P1.
        (&[(0, 1), (1, 1), (1, 1)], &[0, 100, 0]),
        // P0 dead, P1 half: 70 then 30 to P2.
        (&[(0, 1), (1, 2), (1, 1)], &[0, 70, 30]),
        // Σ < 100: normalised: 14 + 14 = 28 → 50/50.
        (&[(1, 10), (1, 10)], &[50, 50]),
    ];
    for (h, want) in cases {
        assert_eq!(priority_load(h, 0).load, *want, "{h:?}");
    }
}

#[test]
fn envoy_priority_panic() {
    // Nothing healthy, panic off: all load to P0 (503 UH there).
    let l = priority_load(&[(0, 2), (0, 2)], 0);
    assert_eq!((l.load, l.panic), (vec![100, 0], vec![false, false]));
    // Nothing healthy, threshold 50: every priority panics, load by hosts.
    let l = priority_load(&[(0, 1), (0, 3)], 50);
    assert_eq!((l.load, l.panic), (vec![25, 75], vec![true, true]));
    // Σ = 35 + 56 < 100, P0 (25 %) below the threshold 30, P1 (40 %) not.
    let l = priority_load(&[(1, 4), (2, 5)], 30);
    assert_eq!(l.panic, vec![true, false]);
    // Σ = 100: nobody panics even below the threshold.
    let l = priority_load(&[(1, 4), (2, 2)], 50);
    assert_eq!((l.load, l.panic), (vec![35, 65], vec![false, false]));
}

#[test]
fn previous_priorities_exclusion_and_choice() {
    let h = [(2, 2), (2, 2), (1, 1)];
    assert_eq!(load_excluding(&h, 0b001), Some(vec![0, 100, 0]));
    assert_eq!(load_excluding(&h, 0b011), Some(vec![0, 0, 100]));
    assert_eq!(load_excluding(&h, 0b111), None);
    assert_eq!(choose_priority(&[70, 30], 69), 0);
    assert_eq!(choose_priority(&[70, 30], 70), 1);
    assert_eq!(choose_priority(&[0, 100], 5), 1);
    assert_eq!(choose_priority(&[70, 30], 199), 1);
}

#[test]
fn effective_weight_scales_with_health() {
    assert_eq!(effective_locality_weight(80, (4, 4)), 80.0);
    assert_eq!(effective_locality_weight(80, (3, 4)), 80.0);
    assert!((effective_locality_weight(80, (1, 4)) - 28.0).abs() < 1e-9);
    assert_eq!(effective_locality_weight(80, (0, 0)), 0.0);
}
