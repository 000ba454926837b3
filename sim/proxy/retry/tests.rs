use super::*;
use crate::engine::rng::{Purpose, RngFactory};
use crate::proxy::breaker::Thresholds;

fn policy(on: RetryOn, n: u32) -> RetryPolicy {
    RetryPolicy {
        num_retries: n,
        retry_on: on,
        ..RetryPolicy::disabled()
    }
}

/// Istio 1.28's default outbound `retry_on` (retry.go `DefaultPolicy`).
fn istio_default_on() -> RetryOn {
    RetryOn::CONNECT_FAILURE
        .union(RetryOn::REFUSED_STREAM)
        .union(RetryOn::GRPC_UNAVAILABLE)
        .union(RetryOn::GRPC_CANCELLED)
        .union(RetryOn::RETRIABLE_STATUS_CODES)
}

fn rng() -> SimRng {
    RngFactory::new(7, 0).of(Purpose::Behaviour, "retry-test")
}

#[test]
fn tokens_round_trip_and_render_in_order() {
    for (t, b) in RetryOn::TOKENS {
        assert_eq!(RetryOn::token(t), Some(b));
        assert_eq!(b.to_string(), t);
    }
    assert_eq!(RetryOn::token("503"), None);
    assert_eq!(RetryOn::token("5XX"), None, "case-sensitive, as Envoy");
    assert_eq!(
        istio_default_on().to_string(),
        "connect-failure,refused-stream,retriable-status-codes,cancelled,unavailable"
    );
    assert!(!RetryOn::NONE.contains(RetryOn::NONE));
}

#[test]
fn would_retry_table() {
    use AttemptOutcome as O;
    use ResetReason as R;
    use RetryDecision::{No, Retry};
    let nr = No(NoRetryReason::NotRetriable);
    let with_codes = |on: RetryOn, codes: &[u16]| RetryPolicy {
        retriable_status_codes: codes.to_vec(),
        ..policy(on, 2)
    };
    let def = with_codes(istio_default_on(), &[]);
    let five = policy(RetryOn::FIVE_XX, 2);
    let gw = policy(RetryOn::GATEWAY_ERROR, 2);
    let reset = policy(RetryOn::RESET, 2);
    let rbr = policy(RetryOn::RESET_BEFORE_REQUEST, 2);
    let cf = policy(RetryOn::CONNECT_FAILURE, 2);
    let rs = policy(RetryOn::REFUSED_STREAM, 2);
    let r4 = policy(RetryOn::RETRIABLE_4XX, 2);
    let codes = with_codes(RetryOn::RETRIABLE_STATUS_CODES, &[503, 429]);
    let rl = policy(RetryOn::ENVOY_RATELIMITED, 2);
    let h3 = policy(RetryOn::HTTP3_POST_CONNECT_FAILURE, 2);
    let hdr = policy(RetryOn::RETRIABLE_HEADERS, 2);
    let grpc_all = policy(
        RetryOn::GRPC_CANCELLED
            .union(RetryOn::GRPC_DEADLINE_EXCEEDED)
            .union(RetryOn::GRPC_INTERNAL)
            .union(RetryOn::GRPC_RESOURCE_EXHAUSTED)
            .union(RetryOn::GRPC_UNAVAILABLE),
        2,
    );
    let limited = O::Response {
        status: 429,
        grpc_status: None,
        envoy_ratelimited: true,
        retriable_header: false,
    };
    let header_hit = O::Response {
        status: 200,
        grpc_status: None,
        envoy_ratelimited: false,
        retriable_header: true,
    };
    let cases: Vec<(&str, &RetryPolicy, O, RetryDecision)> = vec![
        // Istio 1.28 default: an application's 5xx is not retried.
        ("default 503", &def, O::status(503), nr),
        ("default 500", &def, O::status(500), nr),
        ("default 200", &def, O::status(200), nr),
        (
            "default connect",
            &def,
            O::reset(R::ConnectFailure, false),
            Retry,
        ),
        (
            "default connect timeout",
            &def,
            O::reset(R::ConnectTimeout, false),
            Retry,
        ),
        (
            "default refused",
            &def,
            O::reset(R::RefusedStream, true),
            Retry,
        ),
        (
            "default remote reset",
            &def,
            O::reset(R::RemoteReset, true),
            nr,
        ),
        (
            "default UC",
            &def,
            O::reset(R::ConnectionTermination, true),
            nr,
        ),
        ("default per-try", &def, O::PerTryTimeout, nr),
        ("default grpc unavailable", &def, O::grpc(14), Retry),
        ("default grpc cancelled", &def, O::grpc(1), Retry),
        ("default grpc internal", &def, O::grpc(13), nr),
        (
            "default overflow",
            &def,
            O::reset(R::Overflow, false),
            No(NoRetryReason::Overflow),
        ),
        // 5xx: any 5xx and every no-response case.
        ("5xx 500", &five, O::status(500), Retry),
        ("5xx 599", &five, O::status(599), Retry),
        ("5xx 404", &five, O::status(404), nr),
        ("5xx per-try", &five, O::PerTryTimeout, Retry),
        (
            "5xx UC",
            &five,
            O::reset(R::ConnectionTermination, true),
            Retry,
        ),
        (
            "5xx overflow",
            &five,
            O::reset(R::Overflow, false),
            No(NoRetryReason::Overflow),
        ),
        // gateway-error: 502/503/504 and no-response.
        ("gw 502", &gw, O::status(502), Retry),
        ("gw 504", &gw, O::status(504), Retry),
        ("gw 500", &gw, O::status(500), nr),
        ("gw per-try", &gw, O::PerTryTimeout, Retry),
        // reset: no-response only.
        ("reset 503", &reset, O::status(503), nr),
        ("reset UR", &reset, O::reset(R::RemoteReset, true), Retry),
        ("reset per-try", &reset, O::PerTryTimeout, Retry),
        // reset-before-request: only if nothing was sent.
        (
            "rbr unsent",
            &rbr,
            O::reset(R::ConnectionTermination, false),
            Retry,
        ),
        (
            "rbr sent",
            &rbr,
            O::reset(R::ConnectionTermination, true),
            nr,
        ),
        ("rbr per-try", &rbr, O::PerTryTimeout, nr),
        ("rbr 503", &rbr, O::status(503), nr),
        // connect-failure: connect failure/timeout only.
        ("cf refused", &cf, O::reset(R::ConnectFailure, false), Retry),
        ("cf UR", &cf, O::reset(R::RemoteReset, true), nr),
        ("cf per-try", &cf, O::PerTryTimeout, nr),
        ("cf h3", &cf, O::reset(R::Http3PostConnectFailure, true), nr),
        (
            "h3 post-connect",
            &h3,
            O::reset(R::Http3PostConnectFailure, true),
            Retry,
        ),
        (
            "refused-stream",
            &rs,
            O::reset(R::RefusedStream, true),
            Retry,
        ),
        ("refused-stream UR", &rs, O::reset(R::RemoteReset, true), nr),
        ("4xx 409", &r4, O::status(409), Retry),
        ("4xx 429", &r4, O::status(429), nr),
        ("codes 503", &codes, O::status(503), Retry),
        ("codes 429", &codes, O::status(429), Retry),
        ("codes 500", &codes, O::status(500), nr),
        ("codes UF", &codes, O::reset(R::ConnectFailure, false), nr),
        // x-envoy-ratelimited is retried only with envoy-ratelimited, even under 5xx.
        ("rl", &rl, limited, Retry),
        ("5xx rl", &five, limited, nr),
        ("headers", &hdr, header_hit, Retry),
        ("grpc 1", &grpc_all, O::grpc(1), Retry),
        ("grpc 4", &grpc_all, O::grpc(4), Retry),
        ("grpc 8", &grpc_all, O::grpc(8), Retry),
        ("grpc 13", &grpc_all, O::grpc(13), Retry),
        ("grpc 14", &grpc_all, O::grpc(14), Retry),
        ("grpc 2", &grpc_all, O::grpc(2), nr),
        ("grpc 0", &grpc_all, O::grpc(0), nr),
    ];
    for (name, p, o, want) in cases {
        assert_eq!(would_retry(p, &o), want, "{name}");
    }
    assert_eq!(
        would_retry(&RetryPolicy::disabled(), &O::status(503)),
        No(NoRetryReason::Disabled)
    );
}

#[test]
fn final_replies_name_envoy_flags() {
    use ResetReason as R;
    use ResponseFlag::*;
    let cases = [
        (R::ConnectFailure, 503, UpstreamConnectionFailure),
        (R::ConnectTimeout, 503, UpstreamConnectionFailure),
        (R::RefusedStream, 503, UpstreamRemoteReset),
        (R::RemoteReset, 503, UpstreamRemoteReset),
        (R::ConnectionTermination, 503, UpstreamConnectionTermination),
        (R::LocalReset, 503, LocalReset),
        (R::Overflow, 503, UpstreamOverflow),
        (R::ProtocolError, 502, UpstreamProtocolError),
    ];
    for (r, code, flag) in cases {
        assert_eq!(
            AttemptOutcome::reset(r, true).final_reply(),
            (code, Some(flag))
        );
    }
    assert_eq!(
        AttemptOutcome::PerTryTimeout.final_reply(),
        (504, Some(UpstreamRequestTimeout))
    );
    assert_eq!(AttemptOutcome::status(500).final_reply(), (500, None));
}

#[test]
fn backoff_bounds_follow_envoy_doubling_and_cap() {
    // Defaults: [0,25) [0,50) [0,100) [0,200) then [0,250) forever.
    let mut b = JitteredBackoff::new(DEFAULT_BACKOFF_BASE, SimDuration::from_millis(250));
    let mut r = rng();
    let mut bounds = Vec::new();
    for _ in 0..7 {
        bounds.push(b.interval_ms());
        let d = b.next_backoff(&mut r);
        assert!(d < SimDuration::from_millis(*bounds.last().unwrap()));
        assert_eq!(d.0 % 1_000_000, 0, "whole milliseconds");
    }
    assert_eq!(bounds, vec![25, 50, 100, 200, 250, 250, 250]);
    // Full jitter: the draws cover the whole interval (fixed seed, 10 000 draws
    // of [0,25): every value appears).
    let mut seen = [false; 25];
    for _ in 0..10_000 {
        let mut b = JitteredBackoff::new(DEFAULT_BACKOFF_BASE, SimDuration::from_millis(250));
        seen[(b.next_backoff(&mut r).0 / 1_000_000) as usize] = true;
    }
    assert!(seen.iter().all(|s| *s));
    // A custom base of 100 ms, max 1 s: 100, 200, 400, 1000 (400 ≥ 500? no:
    // 400 < 500 ⇒ 800; 800 ≥ 500 ⇒ max).
    let mut b = JitteredBackoff::new(SimDuration::from_millis(100), SimDuration::from_secs(1));
    let mut seq = Vec::new();
    for _ in 0..5 {
        seq.push(b.interval_ms());
        b.next_backoff(&mut r);
    }
    assert_eq!(seq, vec![100, 200, 400, 800, 1000]);
}

/// Narrative: `retryOn: 5xx`, attempts 2, an upstream that keeps failing.
#[test]
fn retries_run_out_with_urx_and_release_the_retry_unit() {
    let p = policy(RetryOn::FIVE_XX, 2);
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut r = rng();
    let mut s = RetryState::new(&p);
    assert_eq!(s.attempts(), 1);
    assert!(!s.is_retry());

    // Attempt 1: 503 ⇒ retry, holding one retry unit; first back-off in [0,25).
    let st1 = s.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r);
    let RetryStatus::Yes { backoff } = st1 else {
        panic!("{st1:?}")
    };
    assert!(backoff < SimDuration::from_millis(25));
    assert_eq!(rm.count(Resource::Retries), 1);
    assert_eq!((s.attempts(), s.retries_remaining()), (2, 1));
    assert!(s.is_retry());

    // Attempt 2: 503 again ⇒ the unit is released then re-taken; [0,50).
    let st2 = s.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r);
    let RetryStatus::Yes { backoff } = st2 else {
        panic!("{st2:?}")
    };
    assert!(backoff < SimDuration::from_millis(50));
    assert_eq!(rm.count(Resource::Retries), 1);

    // Attempt 3: 503 ⇒ no retries left: URX, unit released.
    let st3 = s.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r);
    assert_eq!(st3, RetryStatus::NoRetryLimitExceeded);
    assert_eq!(st3.flag(), Some(ResponseFlag::UpstreamRetryLimitExceeded));
    assert_eq!(rm.count(Resource::Retries), 0);
    assert_eq!(s.attempts(), 3);
    assert_eq!(st.get(ClusterCounter::UpstreamRqRetry), 2);
    assert_eq!(st.get(ClusterCounter::UpstreamRqRetryLimitExceeded), 1);
    assert_eq!(st.get(ClusterCounter::UpstreamRqRetrySuccess), 0);
}

#[test]
fn success_after_retry_counts_retry_success() {
    let p = policy(RetryOn::FIVE_XX, 2);
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut r = rng();
    let mut s = RetryState::new(&p);
    assert!(matches!(
        s.should_retry(&p, &AttemptOutcome::status(500), &mut rm, &mut st, &mut r),
        RetryStatus::Yes { .. }
    ));
    let last = s.should_retry(&p, &AttemptOutcome::status(200), &mut rm, &mut st, &mut r);
    assert_eq!(last, RetryStatus::No(NoRetryReason::NotRetriable));
    assert_eq!(last.flag(), None);
    assert_eq!(st.get(ClusterCounter::UpstreamRqRetrySuccess), 1);
    assert_eq!(rm.count(Resource::Retries), 0);
}

/// DR `maxRetries: 1`: two requests fail at once; the second's retry overflows.
#[test]
fn max_retries_overflow_skips_the_retry_with_uo() {
    let p = policy(RetryOn::FIVE_XX, 2);
    let mut rm = ResourceManager::new(Thresholds {
        max_retries: 1,
        ..Thresholds::istio_default()
    });
    let mut st = ClusterStats::default();
    let mut r = rng();
    let mut a = RetryState::new(&p);
    let mut b = RetryState::new(&p);
    assert!(matches!(
        a.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r),
        RetryStatus::Yes { .. }
    ));
    let sb = b.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r);
    assert_eq!(sb, RetryStatus::NoOverflow);
    assert_eq!(sb.flag(), Some(ResponseFlag::UpstreamOverflow));
    assert_eq!(st.get(ClusterCounter::UpstreamRqRetryOverflow), 1);
    // Envoy decrements retries_remaining before the overflow check.
    assert_eq!(b.retries_remaining(), 1);
    // `a` ends (route timeout, say): its unit frees, b's next failure retries.
    a.finish(&mut rm);
    assert_eq!(rm.count(Resource::Retries), 0);
    assert!(matches!(
        b.should_retry(&p, &AttemptOutcome::status(503), &mut rm, &mut st, &mut r),
        RetryStatus::Yes { .. }
    ));
    // A non-retriable outcome never touches the resource or the counters.
    let mut c = RetryState::new(&p);
    let before = st.clone();
    assert_eq!(
        c.should_retry(&p, &AttemptOutcome::status(404), &mut rm, &mut st, &mut r),
        RetryStatus::No(NoRetryReason::NotRetriable)
    );
    assert_eq!(st, before);
}

#[test]
fn attempts_zero_policy_never_retries_or_flags() {
    let p = RetryPolicy::disabled();
    assert!(!p.enabled());
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut s = RetryState::new(&p);
    let out = s.should_retry(
        &p,
        &AttemptOutcome::reset(ResetReason::ConnectFailure, false),
        &mut rm,
        &mut st,
        &mut rng(),
    );
    assert_eq!(out, RetryStatus::No(NoRetryReason::Disabled));
    assert_eq!(out.flag(), None, "no URX without a retry policy");
}

#[test]
fn previous_hosts_predicate_repicks_then_settles_for_the_last_pick() {
    let p = RetryPolicy {
        previous_hosts: true,
        host_selection_max_attempts: ISTIO_HOST_SELECTION_MAX_ATTEMPTS,
        ..policy(RetryOn::FIVE_XX, 2)
    };
    // A balancer that returns 0,0,1: the retry skips host 0 twice.
    let mut seq = [0u32, 0, 1].into_iter();
    let mut calls = 0;
    let h = choose_host(&p, true, &[0], || {
        calls += 1;
        seq.next()
    });
    assert_eq!((h, calls), (Some(1), 3));
    // First attempt: the predicate does not apply.
    let mut calls = 0;
    assert_eq!(
        choose_host(&p, false, &[0], || {
            calls += 1;
            Some(0)
        }),
        Some(0)
    );
    assert_eq!(calls, 1);
    // Every pick rejected: 5 + 1 = 6 picks, then the last one is used.
    let mut calls = 0;
    assert_eq!(
        choose_host(&p, true, &[0], || {
            calls += 1;
            Some(0)
        }),
        Some(0)
    );
    assert_eq!(calls, 6);
    // Without the predicate (retryIgnorePreviousHosts: false, consistent hash).
    let np = RetryPolicy {
        previous_hosts: false,
        ..p.clone()
    };
    let mut calls = 0;
    assert_eq!(
        choose_host(&np, true, &[0], || {
            calls += 1;
            Some(0)
        }),
        Some(0)
    );
    assert_eq!(calls, 1);
    // No host at all: UH, no re-pick.
    assert_eq!(choose_host(&p, true, &[0u32], || None), None);
}

/// Amplification against the analytic value: independent failure p, 2
/// retries on 5xx ⇒ success 1 − p³, mean attempts 1 + p + p².
#[test]
fn retry_amplification_matches_analytic_value() {
    use crate::engine::rng::Chance;
    let p_fail = 0.3;
    let fail = Chance::from_probability(p_fail);
    let pol = policy(RetryOn::FIVE_XX, 2);
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut r = rng();
    let mut up = RngFactory::new(7, 0).of(Purpose::Behaviour, "upstream");
    let n = 200_000u64;
    let (mut ok, mut attempts) = (0u64, 0u64);
    for _ in 0..n {
        let mut s = RetryState::new(&pol);
        loop {
            attempts += 1;
            let o = AttemptOutcome::status(if fail.sample(&mut up) { 503 } else { 200 });
            match s.should_retry(&pol, &o, &mut rm, &mut st, &mut r) {
                RetryStatus::Yes { .. } => continue,
                _ => {
                    ok += u64::from(o == AttemptOutcome::status(200));
                    break;
                }
            }
        }
        s.finish(&mut rm);
    }
    let succ = ok as f64 / n as f64;
    let load = attempts as f64 / n as f64;
    let want_succ = 1.0 - p_fail.powi(3);
    let want_load = 1.0 + p_fail + p_fail * p_fail;
    // 99.9 % intervals: binomial sd of success ≈ sqrt(q(1−q)/n) ≈ 0.00037.
    assert!((succ - want_succ).abs() < 0.0013, "{succ} vs {want_succ}");
    assert!((load - want_load).abs() < 0.006, "{load} vs {want_load}");
    assert_eq!(rm.count(Resource::Retries), 0);
}
