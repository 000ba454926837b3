//! Envoy router timeouts: the route (global) timeout and the per-try timeout,
//! as deadlines the world schedules and names on expiry.
//!
//! Why deadlines and not timers here: the world owns the event queue (and
//! cancels stale timers by generation); this module only says *when* each
//! timer fires and *what* its expiry means. Rules (Envoy `router.cc`
//! `FilterUtility::finalTimeout`, `onResponseTimeout`, `onPerTryTimeoutCommon`;
//! Istio `route.go` `setTimeout`; reference §7):
//! * Istio always writes a route timeout; the VS's `timeout`, or **0 =
//!   disabled** when absent (Envoy's 15 s default never applies). `0s` in the
//!   VS also disables.
//! * The route timer starts when the router has the complete downstream
//!   request, i.e. after any fault delay, and covers every attempt and
//!   back-off. Expiry ⇒ 504 `UT`, `upstream_rq_timeout`, the in-flight attempt
//!   reset (the server keeps working), no further retries.
//! * The per-try timer starts when the attempt gets its connection
//!   (`UpstreamRequest::onPoolReady` → `setupPerTryTimeout`, request complete),
//!   so time queued in the pool counts against the route timeout only; a
//!   per-try timeout ≥ a non-zero route timeout is ignored. Once the response
//!   has started downstream a per-try expiry is ignored (`onPerTryTimeout`)
//!   and a route expiry resets the downstream stream instead of a 504. Expiry ⇒ the attempt is reset
//!   and reported to outlier detection as a timeout (504); whether it is
//!   retried is [`crate::proxy::retry::would_retry`]'s call
//!   ([`crate::proxy::retry::AttemptOutcome::PerTryTimeout`]); if not, 504 `UT`.
//! * gRPC: Istio sets `max_grpc_timeout` = the route timeout, so a
//!   `grpc-timeout` header is honoured up to it (0 = unbounded).
//!
//! Not modelled: `x-envoy-upstream-rq-timeout-ms` and friends (stripped by
//! Istio's sidecar HCM before routing, reference §7), `grpc_timeout_offset`,
//! per-try idle timeout, hedging on per-try timeout.

use super::flags::ResponseFlag;
use crate::engine::time::{SimDuration, SimTime};

/// Inert config: a route's timeouts as Envoy holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// `route.timeout`; None (Envoy 0) = disabled.
    pub route: Option<SimDuration>,
    /// `retry_policy.per_try_timeout`; None = none.
    pub per_try: Option<SimDuration>,
    /// The request is gRPC and Istio set `max_grpc_timeout` (= `route`).
    pub max_grpc_timeout: bool,
}

impl TimeoutPolicy {
    /// Istio's translation: VS `timeout` (absent or `0s` ⇒ disabled) and the
    /// retry policy's `perTryTimeout`.
    pub fn istio(vs_timeout: Option<SimDuration>, per_try: Option<SimDuration>) -> TimeoutPolicy {
        TimeoutPolicy {
            route: vs_timeout.filter(|d| *d > SimDuration::ZERO),
            per_try: per_try.filter(|d| *d > SimDuration::ZERO),
            max_grpc_timeout: true,
        }
    }
}

/// The timeouts one request actually runs with (Envoy `TimeoutData`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalTimeout {
    pub global: Option<SimDuration>,
    pub per_try: Option<SimDuration>,
}

/// Envoy `finalTimeout` for one request: the gRPC header (if any, and if the
/// request is gRPC) replaces the route timeout, capped by it when non-zero;
/// a per-try timeout ≥ the global timeout is dropped.
pub fn final_timeout(
    policy: &TimeoutPolicy,
    is_grpc: bool,
    grpc_timeout_header: Option<SimDuration>,
) -> FinalTimeout {
    let mut global = policy.route;
    if is_grpc && policy.max_grpc_timeout {
        let header = grpc_timeout_header.filter(|d| *d > SimDuration::ZERO);
        global = match (header, policy.route) {
            (None, r) => r,
            (Some(h), None) => Some(h),
            (Some(h), Some(r)) => Some(h.min(r)),
        };
    }
    let per_try = match (policy.per_try, global) {
        (Some(p), Some(g)) if p >= g => None,
        (p, _) => p,
    };
    FinalTimeout { global, per_try }
}

/// Which timer a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimeoutKind {
    PerTry,
    Route,
}

/// When the current attempt must be abandoned, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptDeadline {
    pub at: SimTime,
    pub kind: TimeoutKind,
}

/// The route deadline of a request whose router started at `router_start`
/// (complete request received, after any fault delay).
pub fn route_deadline(t: &FinalTimeout, router_start: SimTime) -> Option<SimTime> {
    t.global.map(|g| router_start + g)
}

/// The deadline of an attempt sent at `sent_at`: min(per-try, remaining route
/// budget). On a tie the route timeout wins (it ends the request; a per-try
/// expiry could only retry into an already-expired route).
pub fn attempt_deadline(
    t: &FinalTimeout,
    sent_at: SimTime,
    route_deadline: Option<SimTime>,
) -> Option<AttemptDeadline> {
    let per_try = t.per_try.map(|p| AttemptDeadline {
        at: sent_at + p,
        kind: TimeoutKind::PerTry,
    });
    let route = route_deadline.map(|at| AttemptDeadline {
        at,
        kind: TimeoutKind::Route,
    });
    match (per_try, route) {
        (Some(p), Some(r)) => Some(if p.at < r.at { p } else { r }),
        (p, r) => p.or(r),
    }
}

/// Whether a back-off of `backoff` starting at `now` ends before the route
/// deadline (otherwise the route timeout fires first and ends the request).
pub fn backoff_fits(now: SimTime, backoff: SimDuration, route_deadline: Option<SimTime>) -> bool {
    route_deadline.is_none_or(|d| now + backoff < d)
}

/// What an expiry means (the world applies it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutOutcome {
    /// Route timeout: reset the in-flight attempt (report it to outlier
    /// detection as a timeout if it was awaiting headers), no more retries,
    /// reply 504 `UT` (`upstream_rq_timeout`). If the response had started,
    /// the downstream stream is reset instead.
    RouteTimeout { status: u16, flag: ResponseFlag },
    /// Per-try timeout: reset the attempt, report a timeout (504) to outlier
    /// detection, count `upstream_rq_per_try_timeout`, then ask
    /// `RetryState::should_retry(AttemptOutcome::PerTryTimeout)`; if that says
    /// no, reply `status`/`flag` (504 `UT`, plus `URX` when retries ran out).
    PerTryTimeout { status: u16, flag: ResponseFlag },
    /// Route timeout after response headers went downstream: reset the
    /// downstream stream (flag `UT`, no 504 can be sent any more).
    ResetDownstream { flag: ResponseFlag },
    /// Per-try timeout after the response started: ignored, the response
    /// continues up to the route timeout.
    Ignored,
}

/// Names the expiry of `kind`; `response_started`: headers already went
/// downstream (`downstream_response_started_`).
pub fn on_expiry(kind: TimeoutKind, response_started: bool) -> TimeoutOutcome {
    match kind {
        TimeoutKind::Route if response_started => TimeoutOutcome::ResetDownstream {
            flag: ResponseFlag::UpstreamRequestTimeout,
        },
        TimeoutKind::PerTry if response_started => TimeoutOutcome::Ignored,
        TimeoutKind::Route => TimeoutOutcome::RouteTimeout {
            status: 504,
            flag: ResponseFlag::UpstreamRequestTimeout,
        },
        TimeoutKind::PerTry => TimeoutOutcome::PerTryTimeout {
            status: 504,
            flag: ResponseFlag::UpstreamRequestTimeout,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};
    use crate::proxy::breaker::{ClusterStats, ResourceManager, Thresholds};
    use crate::proxy::retry::{
        AttemptOutcome, NoRetryReason, RetryOn, RetryPolicy, RetryState, RetryStatus,
    };

    fn s(x: u64) -> SimDuration {
        SimDuration::from_secs(x)
    }
    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }
    fn at(d: SimDuration) -> SimTime {
        SimTime::ZERO + d
    }

    #[test]
    fn istio_translation_and_final_timeout_table() {
        // (vs timeout, perTryTimeout, grpc, grpc-timeout header) ⇒ (global, per-try)
        let cases = [
            (None, None, false, None, None, None),
            (Some(SimDuration::ZERO), None, false, None, None, None),
            (Some(s(10)), None, false, None, Some(s(10)), None),
            (None, Some(s(2)), false, None, None, Some(s(2))),
            (
                Some(s(10)),
                Some(s(2)),
                false,
                None,
                Some(s(10)),
                Some(s(2)),
            ),
            // per-try ≥ global ⇒ per-try ignored
            (Some(s(2)), Some(s(2)), false, None, Some(s(2)), None),
            (Some(s(1)), Some(s(3)), false, None, Some(s(1)), None),
            // gRPC: header capped by the route timeout; 0 route = unbounded.
            (Some(s(5)), None, true, Some(s(1)), Some(s(1)), None),
            (Some(s(5)), None, true, Some(s(9)), Some(s(5)), None),
            (None, None, true, Some(s(9)), Some(s(9)), None),
            (Some(s(5)), None, true, None, Some(s(5)), None),
            // Not gRPC: the header means nothing.
            (Some(s(5)), None, false, Some(s(1)), Some(s(5)), None),
        ];
        for (vs, pt, grpc, hdr, g, p) in cases {
            let pol = TimeoutPolicy::istio(vs, pt);
            let f = final_timeout(&pol, grpc, hdr);
            assert_eq!(
                (f.global, f.per_try),
                (g, p),
                "{vs:?} {pt:?} {grpc} {hdr:?}"
            );
        }
    }

    #[test]
    fn attempt_deadline_is_min_of_per_try_and_remaining_route_budget() {
        let f = FinalTimeout {
            global: Some(s(5)),
            per_try: Some(s(2)),
        };
        let rd = route_deadline(&f, at(s(1)));
        assert_eq!(rd, Some(at(s(6))));
        // Attempt 1 at t=1: per-try at 3.
        assert_eq!(
            attempt_deadline(&f, at(s(1)), rd),
            Some(AttemptDeadline {
                at: at(s(3)),
                kind: TimeoutKind::PerTry
            })
        );
        // Attempt 3 at t=4.5: per-try would be 6.5, route budget ends at 6.
        assert_eq!(
            attempt_deadline(&f, at(ms(4500)), rd),
            Some(AttemptDeadline {
                at: at(s(6)),
                kind: TimeoutKind::Route
            })
        );
        // Tie: route wins.
        assert_eq!(
            attempt_deadline(&f, at(s(4)), rd).map(|d| d.kind),
            Some(TimeoutKind::Route)
        );
        // No timeouts at all: no deadline.
        let none = FinalTimeout {
            global: None,
            per_try: None,
        };
        assert_eq!(attempt_deadline(&none, at(s(1)), None), None);
        assert!(backoff_fits(at(s(1)), ms(20), None));
        assert!(backoff_fits(at(ms(5980)), ms(19), rd));
        assert_eq!(
            on_expiry(TimeoutKind::PerTry, true),
            TimeoutOutcome::Ignored
        );
        assert_eq!(
            on_expiry(TimeoutKind::Route, true),
            TimeoutOutcome::ResetDownstream {
                flag: ResponseFlag::UpstreamRequestTimeout
            }
        );
        assert!(!backoff_fits(at(ms(5980)), ms(20), rd));
    }

    /// Seed 08 (`attempts: 3, perTryTimeout: 2s`, no retryOn) under Istio
    /// 1.28's default retryOn: a per-try timeout is NOT retried ⇒ 504 UT at
    /// 2 s, one attempt. (The seed's text suggests three 2 s tries.)
    #[test]
    fn seed_08_per_try_timeout_is_not_retried_under_istio_default_retry_on() {
        let pol = RetryPolicy {
            num_retries: 3,
            retry_on: RetryOn::CONNECT_FAILURE
                .union(RetryOn::REFUSED_STREAM)
                .union(RetryOn::GRPC_UNAVAILABLE)
                .union(RetryOn::GRPC_CANCELLED)
                .union(RetryOn::RETRIABLE_STATUS_CODES),
            per_try_timeout: Some(s(2)),
            ..RetryPolicy::disabled()
        };
        let t = final_timeout(
            &TimeoutPolicy::istio(None, pol.per_try_timeout),
            false,
            None,
        );
        let start = SimTime::ZERO;
        let rd = route_deadline(&t, start);
        assert_eq!(rd, None, "no VS timeout ⇒ no route deadline");
        let d = attempt_deadline(&t, start, rd).unwrap();
        assert_eq!(d.at, at(s(2)));
        let TimeoutOutcome::PerTryTimeout { status, flag } = on_expiry(d.kind, false) else {
            panic!()
        };
        let mut rm = ResourceManager::new(Thresholds::istio_default());
        let mut st = ClusterStats::default();
        let mut rng = RngFactory::new(1, 0).of(Purpose::Behaviour, "t");
        let mut rs = RetryState::new(&pol);
        let verdict = rs.should_retry(
            &pol,
            &AttemptOutcome::PerTryTimeout,
            &mut rm,
            &mut st,
            &mut rng,
        );
        assert_eq!(verdict, RetryStatus::No(NoRetryReason::NotRetriable));
        assert_eq!(verdict.flag(), None, "UT alone, no URX");
        assert_eq!((status, flag.as_str()), (504, "UT"));
        assert_eq!(rs.attempts(), 1);

        // With retryOn 5xx the same timeout is retried (three 2 s tries + back-offs).
        let pol5 = RetryPolicy {
            retry_on: RetryOn::FIVE_XX,
            ..pol
        };
        let mut rs = RetryState::new(&pol5);
        let mut now = d.at;
        for _ in 0..3 {
            let RetryStatus::Yes { backoff } = rs.should_retry(
                &pol5,
                &AttemptOutcome::PerTryTimeout,
                &mut rm,
                &mut st,
                &mut rng,
            ) else {
                panic!("retried")
            };
            now = now + backoff + s(2);
        }
        assert_eq!(
            rs.should_retry(
                &pol5,
                &AttemptOutcome::PerTryTimeout,
                &mut rm,
                &mut st,
                &mut rng
            ),
            RetryStatus::NoRetryLimitExceeded,
            "UT,URX after 4 attempts"
        );
        assert!(now >= at(s(8)) && now < at(ms(8375)), "{now}");
    }

    /// Narrative: route timeout 3 s, per-try 1 s, retryOn 5xx, a server that
    /// never answers: attempts at 0, ~1, ~2 s; the route timeout at 3 s ends it.
    #[test]
    fn route_timeout_covers_attempts_and_backoffs() {
        let pol = RetryPolicy {
            num_retries: 5,
            retry_on: RetryOn::FIVE_XX,
            per_try_timeout: Some(s(1)),
            ..RetryPolicy::disabled()
        };
        let t = final_timeout(
            &TimeoutPolicy::istio(Some(s(3)), pol.per_try_timeout),
            false,
            None,
        );
        let rd = route_deadline(&t, SimTime::ZERO);
        let mut rm = ResourceManager::new(Thresholds::istio_default());
        let mut st = ClusterStats::default();
        let mut rng = RngFactory::new(3, 0).of(Purpose::Behaviour, "t");
        let mut rs = RetryState::new(&pol);
        let mut sent = SimTime::ZERO;
        let mut kinds = Vec::new();
        loop {
            let d = attempt_deadline(&t, sent, rd).unwrap();
            kinds.push(d.kind);
            match on_expiry(d.kind, false) {
                TimeoutOutcome::RouteTimeout { status, flag } => {
                    assert_eq!((status, flag), (504, ResponseFlag::UpstreamRequestTimeout));
                    assert_eq!(d.at, at(s(3)));
                    rs.finish(&mut rm);
                    break;
                }
                TimeoutOutcome::PerTryTimeout { .. } => {
                    let RetryStatus::Yes { backoff } = rs.should_retry(
                        &pol,
                        &AttemptOutcome::PerTryTimeout,
                        &mut rm,
                        &mut st,
                        &mut rng,
                    ) else {
                        panic!()
                    };
                    assert!(backoff_fits(d.at, backoff, rd));
                    sent = d.at + backoff;
                }
                other => panic!("response never started: {other:?}"),
            }
        }
        assert_eq!(
            kinds,
            vec![TimeoutKind::PerTry, TimeoutKind::PerTry, TimeoutKind::Route],
            "third attempt cut short by the route budget"
        );
        assert_eq!(rs.attempts(), 3);
        assert_eq!(rm.count(crate::proxy::breaker::Resource::Retries), 0);
    }
}
