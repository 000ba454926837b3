//! Table tests of the HPA decision against the controller's algorithm:
//! each expected value is worked out by hand in the comment beside it.

use super::*;

const T: SimTime = SimTime(600_000_000_000); // 600 s: every pod past its init period

fn s(secs: u64) -> SimTime {
    SimTime(secs * 1_000_000_000)
}

/// A ready pod, long running, using `u` of `req` milli-cores.
fn pod(u: u64, req: u64) -> PodSample {
    PodSample {
        pending: false,
        usage_milli: Some(u),
        request_milli: req,
        ready: true,
        start: None,
        ready_since: None,
    }
}

fn missing(req: u64) -> PodSample {
    PodSample {
        usage_milli: None,
        ..pod(0, req)
    }
}

fn replicas(current: u32, target: u32, pods: &[PodSample]) -> u32 {
    resource_replicas(current, target, pods, T)
        .unwrap()
        .replicas
}

#[test]
fn tolerance_band_and_ceil() {
    // (current, per-pod usage of 1000m, target %, expected)
    let rows: &[(u32, u64, u32, u32)] = &[
        (4, 500, 50, 4),  // ratio 1.0: within
        (4, 540, 50, 4),  // 54 % / 50 = 1.08: within 0.1
        (4, 550, 50, 4),  // 1.1 exactly: (1 + 0.1) <= 1.1 holds
        (4, 560, 50, 5),  // 1.12: ceil(1.12 × 4) = ceil(4.48) = 5
        (4, 450, 50, 4),  // 0.9: within
        (4, 440, 50, 4),  // 0.88: ceil(0.88 × 4) = ceil(3.52) = 4
        (4, 400, 50, 4),  // 0.8: ceil(3.2) = 4
        (4, 370, 50, 3),  // 0.74: ceil(2.96) = 3
        (2, 1000, 50, 4), // 2.0: ceil(4) = 4
        (3, 900, 80, 4),  // 90 / 80 = 1.125: ceil(3.375) = 4
        (10, 100, 80, 2), // 10 / 80 = 0.125: ceil(1.25) = 2
    ];
    for &(cur, u, target, want) in rows {
        let pods = vec![pod(u, 1000); cur as usize];
        assert_eq!(
            replicas(cur, target, &pods),
            want,
            "{cur} pods at {u}m, target {target}"
        );
    }
}

#[test]
fn utilization_is_an_integer_percent_of_the_summed_requests() {
    // 3 pods of 300m using 100m + 100m + 99m = 299m of 900m: 33.2 % → 33.
    let pods = [pod(100, 300), pod(100, 300), pod(99, 300)];
    let p = resource_replicas(3, 50, &pods, T).unwrap();
    assert_eq!(p.utilization, 33);
    // 33 / 50 = 0.66: ceil(0.66 × 3) = ceil(1.98) = 2.
    assert_eq!(p.replicas, 2);
}

#[test]
fn missing_pods_count_as_full_request_down_and_zero_up() {
    // Scale-up: 2 ready at 100 % (ratio 2.0 at target 50), 2 missing → 0:
    // new ratio = 2000 × 100 / 4000 = 50 % → 1.0: within ⇒ keep 4.
    let pods = [
        pod(1000, 1000),
        pod(1000, 1000),
        missing(1000),
        missing(1000),
    ];
    assert_eq!(replicas(4, 50, &pods), 4);
    // 2 ready at 150 % (ratio 3.0), 2 missing → 0: 3000/4000 = 75 % → 1.5:
    // ceil(1.5 × 4) = 6.
    let pods = [
        pod(1500, 1000),
        pod(1500, 1000),
        missing(1000),
        missing(1000),
    ];
    assert_eq!(replicas(4, 50, &pods), 6);
    // Scale-down: 2 ready at 10 % (ratio 0.2 at 50), 2 missing → 100 %:
    // (200 + 2000) / 4000 = 55 % → 1.1: within ⇒ keep 4.
    let pods = [pod(100, 1000), pod(100, 1000), missing(1000), missing(1000)];
    assert_eq!(replicas(4, 50, &pods), 4);
    // 3 ready at 0 %, 1 missing → 100 %: 1000 / 4000 = 25 % → 0.5:
    // ceil(0.5 × 4) = 2.
    let pods = [pod(0, 1000), pod(0, 1000), pod(0, 1000), missing(1000)];
    assert_eq!(replicas(4, 50, &pods), 2);
    // A target above 100 %: missing pods count as the target (150 %).
    // 3 ready at 30 %, 1 missing → 150 %: (900 + 1500) / 4000 = 60 % →
    // 0.4 at 150: ceil(1.6) = 2.
    let pods = [
        pod(300, 1000),
        pod(300, 1000),
        pod(300, 1000),
        missing(1000),
    ];
    assert_eq!(replicas(4, 150, &pods), 2);
}

#[test]
fn unready_pods_count_as_zero_only_when_scaling_up() {
    let unready = PodSample {
        ready: false,
        start: Some(s(580)),
        ready_since: None,
        ..pod(900, 1000)
    };
    assert_eq!(group(&unready, T), Group::Unready);
    // Up: 2 ready at 100 % (2.0 at 50), 1 unready → 0: 2000/3000 = 66 % →
    // 1.32: ceil(1.32 × 3) = ceil(3.96) = 4.
    assert_eq!(
        replicas(3, 50, &[pod(1000, 1000), pod(1000, 1000), unready]),
        4
    );
    // Down: 2 ready at 10 %: the unready pod is left out: ceil(0.2 × 2) = 1.
    assert_eq!(
        replicas(3, 50, &[pod(100, 1000), pod(100, 1000), unready]),
        1
    );
    // A pending pod is ignored either way.
    let pending = PodSample {
        pending: true,
        ..unready
    };
    assert_eq!(
        replicas(3, 50, &[pod(1000, 1000), pod(1000, 1000), pending]),
        4
    );
}

#[test]
fn cpu_initialization_period_and_readiness_delay() {
    let base = PodSample {
        start: Some(s(500)),
        ..pod(500, 1000)
    };
    // Within 5 min of its start, a ready pod counts once one metric window
    // has passed since it became ready.
    let fresh = PodSample {
        ready_since: Some(s(590)),
        ..base
    };
    assert_eq!(group(&fresh, s(604)), Group::Unready); // 604 < 590 + 15
    assert_eq!(group(&fresh, s(605)), Group::Ready);
    // Past the period (start 200 s + 300 s < 600 s): an unready pod is
    // ignored only if it never was ready (its condition last changed within
    // 30 s of the start); one that turned unready later counts.
    let never = PodSample {
        ready: false,
        start: Some(s(200)),
        ready_since: Some(s(229)),
        ..base
    };
    assert_eq!(group(&never, T), Group::Unready);
    let lost = PodSample {
        ready_since: Some(s(230)),
        ..never
    };
    assert_eq!(group(&lost, T), Group::Ready);
    // No metric yet: missing, whatever its readiness.
    assert_eq!(
        group(
            &PodSample {
                usage_milli: None,
                ..fresh
            },
            s(605)
        ),
        Group::Missing
    );
}

#[test]
fn no_usable_metric_is_an_error() {
    let e = resource_replicas(2, 50, &[missing(1000), missing(1000)], T).unwrap_err();
    assert!(e.contains("did not receive metrics"), "{e}");
    let e = resource_replicas(2, 50, &[], T).unwrap_err();
    assert!(e.contains("no pods"), "{e}");
}

fn prop(replicas: u32) -> Result<Proposal, String> {
    Ok(Proposal {
        replicas,
        utilization: 0,
        ready: 0,
        unready: 0,
        missing: 0,
        ignored: 0,
    })
}

fn spec(min: u32, max: u32, behavior: Option<Behavior>) -> Spec {
    Spec {
        min,
        max,
        target_cpu: 80,
        behavior,
    }
}

/// Runs syncs every 15 s from 15 s: (proposal per sync) → desired each time,
/// feeding the answer back as the current replicas.
fn run(spec: &Spec, start: u32, proposals: &[u32]) -> Vec<u32> {
    let mut h = History::default();
    let mut cur = start;
    proposals
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            cur = desired_replicas(&mut h, spec, s(15 * (i as u64 + 1)), cur, prop(p)).desired;
            cur
        })
        .collect()
}

#[test]
fn legacy_rules_limit_scale_up_to_double_or_four() {
    let sp = spec(1, 100, None);
    // From 1: max(2, 4) = 4, then 8, 16, 32.
    assert_eq!(run(&sp, 1, &[50, 50, 50, 50]), vec![4, 8, 16, 32]);
    // From 3: max(6, 4) = 6, then 10 (the proposal).
    assert_eq!(run(&sp, 3, &[10, 10]), vec![6, 10]);
    // maxReplicas caps it.
    assert_eq!(run(&spec(1, 5, None), 3, &[10]), vec![5]);
}

#[test]
fn legacy_scale_down_waits_five_minutes_for_the_highest_recommendation() {
    let sp = spec(1, 100, None);
    // Proposal 10 at 15 s, then 2 for ever: the highest recommendation of
    // the last 300 s (recommendations exactly 300 s old still count:
    // `Before(cutoff)` is strict) stays 10 until the sync at 330 s.
    let mut props = vec![10];
    props.extend(std::iter::repeat_n(2, 24));
    let got = run(&sp, 10, &props);
    let first_down = got.iter().position(|&r| r == 2).unwrap();
    // Sync k (1-based) is at 15 k s: 330 s is k = 22, index 21.
    assert_eq!(first_down, 21);
    assert!(got[..21].iter().all(|&r| r == 10));
}

#[test]
fn clamped_to_min_and_max_without_metrics() {
    let mut h = History::default();
    let sp = spec(2, 5, None);
    let d = desired_replicas(&mut h, &sp, s(15), 8, Err("x".into()));
    assert_eq!((d.desired, d.proposal), (5, None));
    let d = desired_replicas(&mut h, &sp, s(30), 1, Err("x".into()));
    assert_eq!(d.desired, 2);
    // Inside the bounds a metric error keeps the count.
    let d = desired_replicas(&mut h, &sp, s(45), 3, Err("missing request for cpu".into()));
    assert_eq!(d.desired, 3);
    assert!(
        d.reason.starts_with("FailedGetResourceMetric"),
        "{}",
        d.reason
    );
}

fn defaults() -> Behavior {
    Behavior {
        up: Rules::default_up(),
        down: Rules::default_down(),
    }
}

#[test]
fn default_behavior_scales_up_by_max_of_four_pods_and_double() {
    let sp = spec(1, 100, Some(defaults()));
    // From 1: max(1 + 4, 2 × 1) = 5; from 5: max(9, 10) = 10; then 20.
    // Each sync is exactly 15 s after the last, so the previous event is
    // not After(now − 15 s): every period starts from the current count.
    assert_eq!(run(&sp, 1, &[50, 50, 50]), vec![5, 10, 20]);
}

#[test]
fn policies_count_what_changed_within_their_period() {
    // 1 pod per 60 s: the second sync (15 s later) may not add another.
    let b = Behavior {
        up: Rules {
            window: SimDuration::ZERO,
            select: Select::Max,
            policies: vec![Policy {
                kind: PolicyKind::Pods,
                value: 1,
                period: SimDuration::from_secs(60),
            }],
        },
        down: Rules::default_down(),
    };
    let sp = spec(1, 100, Some(b.clone()));
    // 15 s: 2→3; 30, 45, 60 s: the event at 15 s is within 60 s ⇒ limit 3;
    // 75 s: it is exactly 60 s old (not After the cutoff) ⇒ 4.
    assert_eq!(run(&sp, 2, &[9, 9, 9, 9, 9]), vec![3, 3, 3, 3, 4]);
    // selectPolicy Min with 4 pods and 100 %: from 2, min(6, 4) = 4.
    let mut min = defaults();
    min.up.select = Select::Min;
    assert_eq!(run(&spec(1, 100, Some(min)), 2, &[9]), vec![4]);
    // Disabled: never up.
    let mut off = defaults();
    off.up.select = Select::Disabled;
    assert_eq!(run(&spec(1, 100, Some(off)), 2, &[9, 9]), vec![2, 2]);
}

#[test]
fn default_scale_down_window_and_rate() {
    let sp = spec(1, 100, Some(defaults()));
    // 8 pods, proposal 2 from 15 s on: the highest recommendation After
    // now − 300 s includes the initial 8 until 315 s (the one at 15 s is
    // exactly 300 s old then: not After) ⇒ down at 315 s, to 2 at once
    // (100 % per 15 s allows everything).
    let mut props = vec![8];
    props.extend(std::iter::repeat_n(2, 22));
    let got = run(&sp, 8, &props);
    let first = got.iter().position(|&r| r != 8).unwrap();
    assert_eq!(first, 20); // 15 × 21 = 315 s
    assert_eq!(got[first], 2);
    // A scale-down policy of 1 pod per 15 s: 8 → 7 → 6 … one per sync.
    let mut slow = defaults();
    slow.down = Rules {
        window: SimDuration::ZERO,
        select: Select::Max,
        policies: vec![Policy {
            kind: PolicyKind::Pods,
            value: 1,
            period: SimDuration::from_secs(15),
        }],
    };
    assert_eq!(run(&spec(1, 100, Some(slow)), 8, &[2, 2, 2]), vec![7, 6, 5]);
}

#[test]
fn scale_up_window_takes_the_lowest_recent_recommendation() {
    let mut b = defaults();
    b.up.window = SimDuration::from_secs(30);
    let sp = spec(1, 100, Some(b));
    // Proposals 2, 6, 6, 6 from 2 pods: at 30 s the window holds 2 (15 s)
    // ⇒ stay; at 45 s still 2 (30 s old is not After the cutoff? 15 s is
    // exactly 30 s before 45 s: not After) ⇒ min(6, 6) = 6.
    assert_eq!(run(&sp, 2, &[2, 6, 6, 6]), vec![2, 2, 6, 6]);
}
