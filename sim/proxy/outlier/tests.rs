use super::*;
use crate::engine::rng::{Purpose, RngFactory};

fn rng() -> SimRng {
    RngFactory::new(11, 0).of(Purpose::Behaviour, "outlier-test")
}
fn t(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}
fn istio(od: IstioOutlierDetection) -> OutlierConfig {
    istio_outlier_config(&od).0
}

#[test]
fn istio_mapping_table() {
    // DR with `outlierDetection: {}`.
    let (c, panic) = istio_outlier_config(&IstioOutlierDetection::default());
    assert_eq!((c.consecutive_5xx, c.enforcing_consecutive_5xx), (5, 100));
    assert_eq!(
        (
            c.consecutive_gateway_failure,
            c.enforcing_consecutive_gateway_failure
        ),
        (5, 0),
        "gateway errors detected but not enforced when unset"
    );
    assert_eq!(c.enforcing_success_rate, 0);
    assert_eq!(c.enforcing_failure_percentage, 0);
    assert_eq!(c.interval, SimDuration::from_secs(10));
    assert_eq!(c.base_ejection_time, SimDuration::from_secs(30));
    assert_eq!(c.max_ejection_time, SimDuration::from_secs(300));
    assert_eq!(c.max_ejection_percent, 10);
    assert_eq!(panic, 0, "minHealthPercent unset ⇒ panic mode off");

    let (c, panic) = istio_outlier_config(&IstioOutlierDetection {
        consecutive_5xx_errors: Some(0),
        consecutive_gateway_errors: Some(3),
        consecutive_local_origin_failures: Some(2),
        split_external_local_origin_errors: true,
        interval: Some(SimDuration::from_secs(1)),
        base_ejection_time: Some(SimDuration::from_secs(600)),
        max_ejection_percent: Some(0),
        min_health_percent: Some(50),
    });
    assert_eq!((c.consecutive_5xx, c.enforcing_consecutive_5xx), (0, 0));
    assert_eq!(
        (
            c.consecutive_gateway_failure,
            c.enforcing_consecutive_gateway_failure
        ),
        (3, 100)
    );
    assert!(c.split_external_local_origin_errors);
    assert_eq!(c.consecutive_local_origin_failure, 2);
    assert_eq!(c.enforcing_local_origin_success_rate, 0);
    assert_eq!(
        c.max_ejection_time,
        SimDuration::from_secs(600),
        "max(300s, base)"
    );
    assert_eq!(c.max_ejection_percent, 10, "0 = unset");
    assert_eq!(panic, 50);
    // consecutiveLocalOriginFailures without the split is ignored.
    let c = istio(IstioOutlierDetection {
        consecutive_local_origin_failures: Some(2),
        ..Default::default()
    });
    assert_eq!(c.consecutive_local_origin_failure, 5);
    assert!(!c.split_external_local_origin_errors);
}

/// Narrative: 10 hosts, Istio defaults. Host 3 fails 5 × ⇒ ejected at the
/// 5th failure (not at the sweep); back at the first sweep ≥ 30 s later;
/// ejected again ⇒ 60 s; healthy sweeps decay the multiplier.
#[test]
fn consecutive_5xx_ejects_immediately_and_returns_after_base_times_m() {
    let mut r = rng();
    let mut d = Detector::new(istio(IstioOutlierDetection::default()), 10, t(0));
    assert_eq!(d.next_sweep(), t(10));
    for k in 1..=4 {
        assert!(
            d.report(3, OutlierResult::HttpStatus(500), t(1), &mut r)
                .is_empty()
        );
        assert_eq!(d.host(3).consecutive_5xx(), k);
    }
    // 5th failure at t=1: ejected now.
    assert_eq!(
        d.report(3, OutlierResult::HttpStatus(500), t(1), &mut r),
        vec![OutlierEvent::Ejected {
            host: 3,
            reason: EjectionType::Consecutive5xx,
            eligible_at: t(31)
        }]
    );
    assert!(d.is_ejected(3));
    assert_eq!(d.host(3).consecutive_5xx(), 0, "reset after the ejection");
    assert_eq!(d.ejections_active(), 1);
    // Sweeps at 10, 20, 30: still ejected (30 − 1 < 30).
    for s in [10, 20, 30] {
        assert!(d.sweep(t(s), &mut r).is_empty(), "t={s}");
        assert_eq!(d.next_sweep(), t(s + 10));
    }
    // Sweep at 40: back.
    assert_eq!(
        d.sweep(t(40), &mut r),
        vec![OutlierEvent::Unejected { host: 3 }]
    );
    assert!(!d.is_ejected(3));
    assert_eq!(d.host(3).ejection_multiplier(), 1);
    // Fails again at t=45 ⇒ 60 s this time.
    for _ in 0..4 {
        d.report(3, OutlierResult::LocalOriginConnectFailed, t(45), &mut r);
    }
    assert_eq!(
        d.report(3, OutlierResult::LocalOriginTimeout, t(45), &mut r),
        vec![
            // Five gateway errors in a row: detected, but Istio leaves the
            // gateway rule unenforced when consecutiveGatewayErrors is unset.
            OutlierEvent::NotEnforced {
                host: 3,
                reason: EjectionType::ConsecutiveGatewayFailure
            },
            OutlierEvent::Ejected {
                host: 3,
                reason: EjectionType::Consecutive5xx,
                eligible_at: t(105)
            }
        ],
        "connect failures (503) and timeouts (504) count as 5xx without the split"
    );
    assert_eq!(d.host(3).ejection_multiplier(), 2);
    for s in [50, 60, 70, 80, 90, 100] {
        assert!(d.sweep(t(s), &mut r).is_empty(), "t={s}");
    }
    assert_eq!(
        d.sweep(t(110), &mut r),
        vec![OutlierEvent::Unejected { host: 3 }]
    );
    // Healthy: m decays by one per sweep once an interval has passed.
    d.sweep(t(120), &mut r);
    assert_eq!(d.host(3).ejection_multiplier(), 1);
    d.sweep(t(130), &mut r);
    d.sweep(t(140), &mut r);
    assert_eq!(d.host(3).ejection_multiplier(), 0);
    assert_eq!(d.stats().ejections_enforced_total, 2);
    assert_eq!(d.stats().ejections_detected_consecutive_5xx, 2);
}

#[test]
fn success_resets_counters_and_gateway_counter_tracks_502_to_504() {
    let mut r = rng();
    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            consecutive_5xx_errors: Some(10),
            consecutive_gateway_errors: Some(3),
            max_ejection_percent: Some(100),
            ..Default::default()
        }),
        2,
        t(0),
    );
    for c in [503, 503, 200, 503, 502] {
        assert!(
            d.report(0, OutlierResult::HttpStatus(c), t(1), &mut r)
                .is_empty()
        );
    }
    assert_eq!(
        (
            d.host(0).consecutive_5xx(),
            d.host(0).consecutive_gateway_failure()
        ),
        (2, 2)
    );
    // A 500 resets the gateway counter but counts as 5xx.
    d.report(0, OutlierResult::HttpStatus(500), t(1), &mut r);
    assert_eq!(
        (
            d.host(0).consecutive_5xx(),
            d.host(0).consecutive_gateway_failure()
        ),
        (3, 0)
    );
    // Three gateway errors eject by the gateway rule.
    d.report(0, OutlierResult::HttpStatus(504), t(2), &mut r);
    d.report(0, OutlierResult::HttpStatus(504), t(2), &mut r);
    let ev = d.report(0, OutlierResult::HttpStatus(504), t(2), &mut r);
    assert_eq!(
        ev,
        vec![OutlierEvent::Ejected {
            host: 0,
            reason: EjectionType::ConsecutiveGatewayFailure,
            eligible_at: t(32)
        }]
    );
    assert_eq!(d.stats().ejections_detected_consecutive_gateway_failure, 1);
    assert_eq!(
        d.host(0).consecutive_5xx(),
        6,
        "only the gateway counter resets"
    );
}

#[test]
fn unset_gateway_threshold_is_detected_but_not_enforced() {
    let mut r = rng();
    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            consecutive_5xx_errors: Some(0),
            max_ejection_percent: Some(100),
            ..Default::default()
        }),
        2,
        t(0),
    );
    let mut last = Vec::new();
    for _ in 0..5 {
        last = d.report(1, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    assert_eq!(
        last,
        vec![OutlierEvent::NotEnforced {
            host: 1,
            reason: EjectionType::ConsecutiveGatewayFailure
        }]
    );
    assert!(!d.is_ejected(1));
    // consecutive5xxErrors: 0 disables the 5xx rule entirely.
    for _ in 0..20 {
        d.report(1, OutlierResult::HttpStatus(500), t(1), &mut r);
    }
    assert_eq!(d.stats().ejections_detected_consecutive_5xx, 0);
}

/// maxEjectionPercent applied strictly (Envoy ≥ 1.28): default 10 % with 3
/// hosts ejects nothing; 34 % ejects one of three, not two.
#[test]
fn max_ejection_percent_is_strict() {
    let mut r = rng();
    let mut d = Detector::new(istio(IstioOutlierDetection::default()), 3, t(0));
    let mut last = Vec::new();
    for _ in 0..5 {
        last = d.report(0, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    // 503 is a gateway error too: both rules ask, both overflow (Envoy checks
    // max_ejection_percent before the enforcing percentage).
    assert_eq!(
        last,
        vec![
            OutlierEvent::Overflow {
                host: 0,
                reason: EjectionType::ConsecutiveGatewayFailure
            },
            OutlierEvent::Overflow {
                host: 0,
                reason: EjectionType::Consecutive5xx
            }
        ]
    );
    assert_eq!(d.stats().ejections_overflow, 2);
    assert!(!d.is_ejected(0));

    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            max_ejection_percent: Some(34),
            ..Default::default()
        }),
        3,
        t(0),
    );
    for _ in 0..5 {
        d.report(0, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    assert!(d.is_ejected(0));
    let mut last = Vec::new();
    for _ in 0..5 {
        last = d.report(1, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    assert!(matches!(
        last[..],
        [
            OutlierEvent::Overflow { host: 1, .. },
            OutlierEvent::Overflow { host: 1, .. }
        ]
    ));
    assert_eq!(d.ejections_active(), 1);
    // Exactly at the limit is allowed: 10 hosts, 10 % ⇒ one ejection.
    let mut d = Detector::new(istio(IstioOutlierDetection::default()), 10, t(0));
    for _ in 0..5 {
        d.report(9, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    assert!(d.is_ejected(9));
}

#[test]
fn ejection_time_caps_at_max_and_multiplier_stops_growing() {
    let mut r = rng();
    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            base_ejection_time: Some(SimDuration::from_secs(100)),
            max_ejection_percent: Some(100),
            interval: Some(SimDuration::from_secs(1)),
            ..Default::default()
        }),
        1,
        t(0),
    );
    let mut now = 0;
    let mut times = Vec::new();
    for _ in 0..6 {
        for _ in 0..5 {
            d.report(0, OutlierResult::HttpStatus(500), t(now), &mut r);
        }
        times.push(d.ejection_time(0).0 / 1_000_000_000);
        // Step to the return.
        loop {
            now += 1;
            if d.sweep(t(now), &mut r)
                .contains(&OutlierEvent::Unejected { host: 0 })
            {
                break;
            }
        }
    }
    // base 100 s, max 300 s: 100, 200, 300, then capped; m stops at 4
    // (m × base < max + base ⇒ m < 4 grows).
    assert_eq!(times, vec![100, 200, 300, 300, 300, 300]);
    assert_eq!(d.host(0).ejection_multiplier(), 4);
}

#[test]
fn split_local_origin_uses_its_own_counter() {
    let mut r = rng();
    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            split_external_local_origin_errors: true,
            consecutive_local_origin_failures: Some(2),
            max_ejection_percent: Some(100),
            ..Default::default()
        }),
        2,
        t(0),
    );
    d.report(0, OutlierResult::LocalOriginConnectFailed, t(1), &mut r);
    assert_eq!(
        d.host(0).consecutive_5xx(),
        0,
        "not an HTTP 503 with the split"
    );
    d.report(0, OutlierResult::LocalOriginConnectSuccess, t(1), &mut r);
    assert_eq!(d.host(0).consecutive_local_origin_failure(), 0);
    d.report(0, OutlierResult::LocalOriginTimeout, t(1), &mut r);
    let ev = d.report(0, OutlierResult::LocalOriginConnectFailed, t(1), &mut r);
    assert!(matches!(
        ev[..],
        [OutlierEvent::Ejected {
            reason: EjectionType::ConsecutiveLocalOriginFailure,
            ..
        }]
    ));
    // An app 5xx counts as external only.
    for _ in 0..4 {
        d.report(1, OutlierResult::HttpStatus(500), t(1), &mut r);
    }
    assert_eq!(d.host(1).consecutive_5xx(), 4);
    assert_eq!(d.host(1).consecutive_local_origin_failure(), 0);
}

/// Success-rate and failure-percentage ejection, with enforcement switched on
/// (Envoy defaults for success rate; Istio turns both off).
#[test]
fn success_rate_and_failure_percentage_sweeps() {
    let mut r = rng();
    let cfg = OutlierConfig {
        max_ejection_percent: 100,
        consecutive_5xx: 0,
        enforcing_consecutive_5xx: 0,
        consecutive_gateway_failure: 0,
        ..OutlierConfig::default()
    };
    let mut d = Detector::new(cfg, 6, t(0));
    // Interval 1: hosts 0–4 at 99 % success over 200 requests, host 5 at 60 %.
    for h in 0..6 {
        for k in 0..200 {
            let ok = if h == 5 {
                k % 5 < 3
            } else {
                k != 0 && k != 100
            };
            let code = if ok { 200 } else { 500 };
            d.report(h, OutlierResult::HttpStatus(code), t(5), &mut r);
        }
    }
    let ev = d.sweep(t(10), &mut r);
    assert_eq!(
        ev,
        vec![OutlierEvent::Ejected {
            host: 5,
            reason: EjectionType::SuccessRate,
            eligible_at: t(40)
        }]
    );
    // Istio's config: detected, never enforced.
    let mut d = Detector::new(
        OutlierConfig {
            enforcing_success_rate: 0,
            ..cfg
        },
        6,
        t(0),
    );
    for h in 0..6 {
        for k in 0..200 {
            let ok = if h == 5 {
                k % 5 < 3
            } else {
                k != 0 && k != 100
            };
            d.report(
                h,
                OutlierResult::HttpStatus(if ok { 200 } else { 500 }),
                t(5),
                &mut r,
            );
        }
    }
    assert_eq!(
        d.sweep(t(10), &mut r),
        vec![OutlierEvent::NotEnforced {
            host: 5,
            reason: EjectionType::SuccessRate
        }]
    );
    // The next sweep sees an empty interval: nothing.
    assert!(d.sweep(t(20), &mut r).is_empty());

    // Failure percentage ≥ 85 % with 50+ requests, 5+ hosts.
    let mut d = Detector::new(
        OutlierConfig {
            enforcing_success_rate: 0,
            enforcing_failure_percentage: 100,
            ..cfg
        },
        5,
        t(0),
    );
    for h in 0..5 {
        for k in 0..60 {
            let ok = if h == 2 { k < 9 } else { true }; // host 2: 85 % failures
            d.report(
                h,
                OutlierResult::HttpStatus(if ok { 200 } else { 503 }),
                t(5),
                &mut r,
            );
        }
    }
    assert_eq!(
        d.sweep(t(10), &mut r),
        vec![OutlierEvent::Ejected {
            host: 2,
            reason: EjectionType::FailurePercentage,
            eligible_at: t(40)
        }]
    );
}

#[test]
fn host_membership_changes_keep_the_ejection_count() {
    let mut r = rng();
    let mut d = Detector::new(
        istio(IstioOutlierDetection {
            max_ejection_percent: Some(50),
            ..Default::default()
        }),
        2,
        t(0),
    );
    for _ in 0..5 {
        d.report(1, OutlierResult::HttpStatus(503), t(1), &mut r);
    }
    assert_eq!(d.ejections_active(), 1);
    assert_eq!(d.add_host(), 2);
    d.remove_host(1);
    assert_eq!(d.ejections_active(), 0);
    assert_eq!(d.host_count(), 2);
}
