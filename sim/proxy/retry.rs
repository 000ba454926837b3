//! Envoy router retries: [`RetryPolicy`] (inert route config) and
//! [`RetryState`] (one per downstream request), split as Envoy splits
//! `RetryPolicyImpl` from `RetryStateImpl`
//! (`source/common/router/retry_state_impl.cc`, release/v1.36).
//!
//! Why two steps: [`would_retry`] is a pure function of the policy and the
//! attempt's outcome ("is this failure covered by `retry_on`?"), so tables can
//! test every token; [`RetryState::should_retry`] then applies the limits in
//! Envoy's order — retries left (else `NoRetryLimitExceeded` ⇒ flag `URX`),
//! then the cluster's `max_retries`/retry budget (else `NoOverflow` ⇒ flag
//! `UO`, `upstream_rq_retry_overflow`), then draws the back-off.
//!
//! Envoy details kept:
//! * The retry resource is held from scheduling a retry until the next
//!   `should_retry` call (the retried attempt's outcome, success included)
//!   or the end of the request ([`RetryState::finish`]); Envoy's `resetRetry`.
//!   A success after a retry bumps `upstream_rq_retry_success`.
//! * A per-try timeout is a local reset after the request was sent
//!   (`router.cc` `onPerTryTimeoutCommon` → `maybeRetryReset(LocalReset)`), so
//!   only `5xx`, `gateway-error` and `reset` retry it — not Istio's default
//!   `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`.
//! * Circuit-breaker overflow (reset reason `Overflow`) is never retried.
//! * `x-envoy-ratelimited` responses are retried only with `envoy-ratelimited`.
//! * Back-off: [`JitteredBackoff`] (`backoff_strategy.cc`).
//! * Host selection on retry: [`choose_host`] (`previous_hosts` predicate,
//!   `host_selection_retry_max_attempts` + 1 picks, then the last pick).
//!
//! Not modelled: hedging (Istio configures none), `retry_priority`
//! (`retryRemoteLocalities` ⇒ `previous_priorities`; kept as a flag in the
//! policy for the locality-aware balancer), rate-limited back-off from
//! `Retry-After` headers, `retriable_request_headers`.

use super::breaker::{Admit, ClusterCounter, ClusterStats, Resource, ResourceManager};
use super::flags::ResponseFlag;
use crate::engine::rng::SimRng;
use crate::engine::time::SimDuration;

/// `retry_on` as a bitset of Envoy's tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetryOn(u32);

impl RetryOn {
    pub const NONE: RetryOn = RetryOn(0);
    pub const FIVE_XX: RetryOn = RetryOn(1 << 0);
    pub const GATEWAY_ERROR: RetryOn = RetryOn(1 << 1);
    pub const RESET: RetryOn = RetryOn(1 << 2);
    pub const RESET_BEFORE_REQUEST: RetryOn = RetryOn(1 << 3);
    pub const CONNECT_FAILURE: RetryOn = RetryOn(1 << 4);
    pub const RETRIABLE_4XX: RetryOn = RetryOn(1 << 5);
    pub const REFUSED_STREAM: RetryOn = RetryOn(1 << 6);
    pub const RETRIABLE_STATUS_CODES: RetryOn = RetryOn(1 << 7);
    pub const RETRIABLE_HEADERS: RetryOn = RetryOn(1 << 8);
    pub const ENVOY_RATELIMITED: RetryOn = RetryOn(1 << 9);
    pub const HTTP3_POST_CONNECT_FAILURE: RetryOn = RetryOn(1 << 10);
    pub const GRPC_CANCELLED: RetryOn = RetryOn(1 << 11);
    pub const GRPC_DEADLINE_EXCEEDED: RetryOn = RetryOn(1 << 12);
    pub const GRPC_INTERNAL: RetryOn = RetryOn(1 << 13);
    pub const GRPC_RESOURCE_EXHAUSTED: RetryOn = RetryOn(1 << 14);
    pub const GRPC_UNAVAILABLE: RetryOn = RetryOn(1 << 15);

    /// Every token Istio 1.28 accepts (`supportedRetryOnPolicies`), with its bit.
    pub const TOKENS: [(&'static str, RetryOn); 16] = [
        ("5xx", RetryOn::FIVE_XX),
        ("gateway-error", RetryOn::GATEWAY_ERROR),
        ("reset", RetryOn::RESET),
        ("reset-before-request", RetryOn::RESET_BEFORE_REQUEST),
        ("connect-failure", RetryOn::CONNECT_FAILURE),
        ("retriable-4xx", RetryOn::RETRIABLE_4XX),
        ("refused-stream", RetryOn::REFUSED_STREAM),
        ("retriable-status-codes", RetryOn::RETRIABLE_STATUS_CODES),
        ("retriable-headers", RetryOn::RETRIABLE_HEADERS),
        ("envoy-ratelimited", RetryOn::ENVOY_RATELIMITED),
        (
            "http3-post-connect-failure",
            RetryOn::HTTP3_POST_CONNECT_FAILURE,
        ),
        ("cancelled", RetryOn::GRPC_CANCELLED),
        ("deadline-exceeded", RetryOn::GRPC_DEADLINE_EXCEEDED),
        ("internal", RetryOn::GRPC_INTERNAL),
        ("resource-exhausted", RetryOn::GRPC_RESOURCE_EXHAUSTED),
        ("unavailable", RetryOn::GRPC_UNAVAILABLE),
    ];

    /// The bit of one token (`None` for unknown tokens and status codes).
    pub fn token(s: &str) -> Option<RetryOn> {
        RetryOn::TOKENS
            .iter()
            .find(|(t, _)| *t == s)
            .map(|(_, b)| *b)
    }
    pub const fn union(self, o: RetryOn) -> RetryOn {
        RetryOn(self.0 | o.0)
    }
    pub const fn contains(self, o: RetryOn) -> bool {
        self.0 & o.0 == o.0 && o.0 != 0
    }
    pub const fn intersects(self, o: RetryOn) -> bool {
        self.0 & o.0 != 0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for RetryOn {
    /// Envoy's comma-separated form, tokens in [`RetryOn::TOKENS`] order.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (t, b) in RetryOn::TOKENS {
            if self.contains(b) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(t)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Envoy's default base back-off (runtime `upstream.base_retry_backoff_ms`).
pub const DEFAULT_BACKOFF_BASE: SimDuration = SimDuration::from_millis(25);

/// Istio's `host_selection_retry_max_attempts` with `previous_hosts`.
pub const ISTIO_HOST_SELECTION_MAX_ATTEMPTS: u32 = 5;

/// Inert config: a route's `retry_policy` (Envoy `RetryPolicy` proto).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `num_retries` (attempts = 1 + this).
    pub num_retries: u32,
    pub retry_on: RetryOn,
    /// `retriable_status_codes` (used with `retriable-status-codes`).
    pub retriable_status_codes: Vec<u16>,
    /// `per_try_timeout`; None = none.
    pub per_try_timeout: Option<SimDuration>,
    /// `retry_back_off.base_interval` (default 25 ms).
    pub backoff_base: SimDuration,
    /// `retry_back_off.max_interval` (default 10 × base).
    pub backoff_max: SimDuration,
    /// `retry_host_predicate: previous_hosts`.
    pub previous_hosts: bool,
    /// `host_selection_retry_max_attempts` (only meaningful with a predicate).
    pub host_selection_max_attempts: u32,
    /// `retry_priority: previous_priorities` (Istio `retryRemoteLocalities`),
    /// update frequency 2. Applied by the locality-aware balancer, not here.
    pub previous_priorities: bool,
}

impl Default for RetryPolicy {
    /// No retries (a route without `retry_policy`).
    fn default() -> Self {
        RetryPolicy::disabled()
    }
}

impl RetryPolicy {
    /// A route with no retry policy at all (Istio `attempts: 0`).
    pub fn disabled() -> RetryPolicy {
        RetryPolicy {
            num_retries: 0,
            retry_on: RetryOn::NONE,
            retriable_status_codes: Vec::new(),
            per_try_timeout: None,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_max: SimDuration(DEFAULT_BACKOFF_BASE.0 * 10),
            previous_hosts: false,
            host_selection_max_attempts: 0,
            previous_priorities: false,
        }
    }

    /// Whether Envoy creates a retry state at all (`enabled()`: `retry_on != 0`).
    pub fn enabled(&self) -> bool {
        !self.retry_on.is_empty()
    }
}

/// Why a stream ended without response headers (Envoy `StreamResetReason`,
/// plus connect timeout folded in as Envoy does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResetReason {
    /// TCP connect refused (`RemoteConnectionFailure`/`LocalConnectionFailure`).
    ConnectFailure,
    /// TCP connect timed out (`ConnectionTimeout`).
    ConnectTimeout,
    /// HTTP/3 connection failed after connecting.
    Http3PostConnectFailure,
    /// HTTP/2 REFUSED_STREAM from upstream (`RemoteRefusedStreamReset`).
    RefusedStream,
    /// Upstream reset the stream (`RemoteReset`).
    RemoteReset,
    /// Upstream closed the connection (`ConnectionTermination`).
    ConnectionTermination,
    /// This proxy reset the stream (`LocalReset`).
    LocalReset,
    /// Circuit-breaker overflow (`Overflow`): never retried.
    Overflow,
    /// Upstream protocol error (`ProtocolError`).
    ProtocolError,
}

impl ResetReason {
    /// Envoy `streamResetReasonToResponseFlag` (`router.cc`).
    pub fn flag(self) -> ResponseFlag {
        match self {
            ResetReason::ConnectFailure
            | ResetReason::ConnectTimeout
            | ResetReason::Http3PostConnectFailure => ResponseFlag::UpstreamConnectionFailure,
            ResetReason::RefusedStream | ResetReason::RemoteReset => {
                ResponseFlag::UpstreamRemoteReset
            }
            ResetReason::ConnectionTermination => ResponseFlag::UpstreamConnectionTermination,
            ResetReason::LocalReset => ResponseFlag::LocalReset,
            ResetReason::Overflow => ResponseFlag::UpstreamOverflow,
            ResetReason::ProtocolError => ResponseFlag::UpstreamProtocolError,
        }
    }
    /// The local reply code (`router.cc` `onUpstreamReset`: 503, 502 for a
    /// protocol error).
    pub fn status(self) -> u16 {
        match self {
            ResetReason::ProtocolError => 502,
            _ => 503,
        }
    }
}

/// What the router learned from one attempt, as `retry_state_impl.cc` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Response headers arrived.
    Response {
        status: u16,
        /// `grpc-status` in the response *headers* (trailers-only responses).
        grpc_status: Option<u32>,
        /// The response carries `x-envoy-ratelimited`.
        envoy_ratelimited: bool,
        /// A configured `retriable_headers` matcher matched (Istio configures none).
        retriable_header: bool,
    },
    /// The stream ended without headers; `request_sent` = any request byte
    /// went upstream (`upstream_request_started`).
    Reset {
        reason: ResetReason,
        request_sent: bool,
    },
    /// The per-try timeout fired (a local reset after the request was sent).
    PerTryTimeout,
}

impl AttemptOutcome {
    /// A plain HTTP response.
    pub const fn status(status: u16) -> AttemptOutcome {
        AttemptOutcome::Response {
            status,
            grpc_status: None,
            envoy_ratelimited: false,
            retriable_header: false,
        }
    }
    /// A gRPC trailers-only response (HTTP 200, `grpc-status` in headers).
    pub const fn grpc(code: u32) -> AttemptOutcome {
        AttemptOutcome::Response {
            status: 200,
            grpc_status: Some(code),
            envoy_ratelimited: false,
            retriable_header: false,
        }
    }
    pub const fn reset(reason: ResetReason, request_sent: bool) -> AttemptOutcome {
        AttemptOutcome::Reset {
            reason,
            request_sent,
        }
    }

    /// Status and flag the client gets if this attempt is final (before URX/UO).
    pub fn final_reply(self) -> (u16, Option<ResponseFlag>) {
        match self {
            AttemptOutcome::Response { status, .. } => (status, None),
            AttemptOutcome::Reset { reason, .. } => (reason.status(), Some(reason.flag())),
            AttemptOutcome::PerTryTimeout => (504, Some(ResponseFlag::UpstreamRequestTimeout)),
        }
    }
}

/// Why [`would_retry`] says no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoRetryReason {
    /// The route has no retry policy (`retry_on` empty).
    Disabled,
    /// The attempt did not fail in a way `retry_on` covers (incl. success).
    NotRetriable,
    /// Circuit-breaker overflow: never retried.
    Overflow,
}

/// Envoy `RetryDecision` (`RetryWithBackoff` is the only "yes" Istio can reach).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    Retry,
    No(NoRetryReason),
}

const GRPC_CANCELLED: u32 = 1;
const GRPC_DEADLINE_EXCEEDED: u32 = 4;
const GRPC_RESOURCE_EXHAUSTED: u32 = 8;
const GRPC_INTERNAL: u32 = 13;
const GRPC_UNAVAILABLE: u32 = 14;

/// Envoy `wouldRetryFromHeaders` / `wouldRetryFromReset`: does `retry_on`
/// cover this outcome? Pure; limits are [`RetryState::should_retry`]'s job.
pub fn would_retry(policy: &RetryPolicy, outcome: &AttemptOutcome) -> RetryDecision {
    use RetryDecision::{No, Retry};
    let on = policy.retry_on;
    if on.is_empty() {
        return No(NoRetryReason::Disabled);
    }
    match *outcome {
        AttemptOutcome::Response {
            status,
            grpc_status,
            envoy_ratelimited,
            retriable_header,
        } => {
            // "A response that contains the x-envoy-ratelimited header comes
            // from an upstream envoy. We never retry these unless the retry
            // policy explicitly allows it."
            if envoy_ratelimited {
                return if on.contains(RetryOn::ENVOY_RATELIMITED) {
                    Retry
                } else {
                    No(NoRetryReason::NotRetriable)
                };
            }
            let hit = (on.contains(RetryOn::FIVE_XX) && (500..600).contains(&status))
                || (on.contains(RetryOn::GATEWAY_ERROR) && matches!(status, 502..=504))
                || (on.contains(RetryOn::RETRIABLE_4XX) && status == 409)
                || (on.contains(RetryOn::RETRIABLE_STATUS_CODES)
                    && policy.retriable_status_codes.contains(&status))
                || (on.contains(RetryOn::RETRIABLE_HEADERS) && retriable_header)
                || grpc_status.is_some_and(|g| {
                    (on.contains(RetryOn::GRPC_CANCELLED) && g == GRPC_CANCELLED)
                        || (on.contains(RetryOn::GRPC_DEADLINE_EXCEEDED)
                            && g == GRPC_DEADLINE_EXCEEDED)
                        || (on.contains(RetryOn::GRPC_RESOURCE_EXHAUSTED)
                            && g == GRPC_RESOURCE_EXHAUSTED)
                        || (on.contains(RetryOn::GRPC_INTERNAL) && g == GRPC_INTERNAL)
                        || (on.contains(RetryOn::GRPC_UNAVAILABLE) && g == GRPC_UNAVAILABLE)
                });
            if hit {
                Retry
            } else {
                No(NoRetryReason::NotRetriable)
            }
        }
        AttemptOutcome::Reset {
            reason,
            request_sent,
        } => would_retry_reset(on, reason, request_sent),
        AttemptOutcome::PerTryTimeout => would_retry_reset(on, ResetReason::LocalReset, true),
    }
}

fn would_retry_reset(on: RetryOn, reason: ResetReason, request_sent: bool) -> RetryDecision {
    use RetryDecision::{No, Retry};
    if reason == ResetReason::Overflow {
        return No(NoRetryReason::Overflow);
    }
    match reason {
        ResetReason::ConnectFailure | ResetReason::ConnectTimeout
            if on.contains(RetryOn::CONNECT_FAILURE) =>
        {
            return Retry;
        }
        ResetReason::Http3PostConnectFailure
            if on.contains(RetryOn::HTTP3_POST_CONNECT_FAILURE) =>
        {
            return Retry;
        }
        _ => {}
    }
    if on.contains(RetryOn::RESET_BEFORE_REQUEST) && !request_sent {
        return Retry;
    }
    if on.intersects(
        RetryOn::FIVE_XX
            .union(RetryOn::GATEWAY_ERROR)
            .union(RetryOn::RESET),
    ) {
        return Retry;
    }
    if on.contains(RetryOn::REFUSED_STREAM) && reason == ResetReason::RefusedStream {
        return Retry;
    }
    No(NoRetryReason::NotRetriable)
}

/// Envoy `JitteredExponentialBackOffStrategy` (`source/common/common/
/// backoff_strategy.cc`): the k-th call returns `random % I_k` ms capped at
/// the max, with I_1 = base and I_{k+1} = 2·I_k while I_k < max/2, else max.
/// Defaults: [0,25), [0,50), [0,100), [0,200), then [0,250) ms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitteredBackoff {
    next_ms: u64,
    max_ms: u64,
}

impl JitteredBackoff {
    /// Envoy works in whole milliseconds; sub-millisecond bases round up to 1.
    pub fn new(base: SimDuration, max: SimDuration) -> JitteredBackoff {
        let base_ms = (base.0 / 1_000_000).max(1);
        JitteredBackoff {
            next_ms: base_ms,
            max_ms: (max.0 / 1_000_000).max(base_ms),
        }
    }
    /// The current interval bound, in ms (for tests and traces).
    pub fn interval_ms(&self) -> u64 {
        self.next_ms
    }
    pub fn next_backoff(&mut self, rng: &mut SimRng) -> SimDuration {
        use rand::Rng;
        let bound = self.next_ms;
        self.next_ms = if self.next_ms < self.max_ms / 2 {
            self.next_ms * 2
        } else {
            self.max_ms
        };
        SimDuration::from_millis((rng.next_u64() % bound).min(self.max_ms))
    }
}

/// What [`RetryState::should_retry`] decided (Envoy `RetryStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryStatus {
    /// Not retried: the outcome is final as it is.
    No(NoRetryReason),
    /// Covered, but the cluster's `max_retries`/budget is full: final, flag `UO`.
    NoOverflow,
    /// Covered, but no retries left: final, flag `URX`.
    NoRetryLimitExceeded,
    /// Retry after `backoff`; the caller then picks a host with [`choose_host`].
    Yes { backoff: SimDuration },
}

impl RetryStatus {
    /// The flag Envoy adds to the final outcome (`router.cc`).
    pub fn flag(self) -> Option<ResponseFlag> {
        match self {
            RetryStatus::NoOverflow => Some(ResponseFlag::UpstreamOverflow),
            RetryStatus::NoRetryLimitExceeded => Some(ResponseFlag::UpstreamRetryLimitExceeded),
            _ => None,
        }
    }
}

/// Per-request retry state (Envoy `RetryStateImpl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryState {
    retries_remaining: u32,
    backoff: JitteredBackoff,
    /// A retry is scheduled or in flight and holds one `Retries` unit.
    holds_retry: bool,
    /// Attempts started so far (`x-envoy-attempt-count` of the latest).
    attempts: u32,
}

impl RetryState {
    pub fn new(policy: &RetryPolicy) -> RetryState {
        RetryState {
            retries_remaining: policy.num_retries,
            backoff: JitteredBackoff::new(policy.backoff_base, policy.backoff_max),
            holds_retry: false,
            attempts: 1,
        }
    }

    pub fn retries_remaining(&self) -> u32 {
        self.retries_remaining
    }
    /// Attempts made so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// True on retries: the host predicate applies ([`choose_host`]).
    pub fn is_retry(&self) -> bool {
        self.attempts > 1
    }

    /// Envoy `shouldRetry`: call with every attempt's outcome (successes
    /// too: they release the retry unit and count `upstream_rq_retry_success`).
    pub fn should_retry(
        &mut self,
        policy: &RetryPolicy,
        outcome: &AttemptOutcome,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
        rng: &mut SimRng,
    ) -> RetryStatus {
        let decision = would_retry(policy, outcome);
        if self.holds_retry && matches!(decision, RetryDecision::No(_)) {
            stats.inc(ClusterCounter::UpstreamRqRetrySuccess);
        }
        self.release(rm);
        if let RetryDecision::No(reason) = decision {
            return RetryStatus::No(reason);
        }
        if self.retries_remaining == 0 {
            stats.inc(ClusterCounter::UpstreamRqRetryLimitExceeded);
            return RetryStatus::NoRetryLimitExceeded;
        }
        self.retries_remaining -= 1;
        if !rm.can_create(Resource::Retries) {
            stats.inc(ClusterCounter::UpstreamRqRetryOverflow);
            return RetryStatus::NoOverflow;
        }
        let admitted = rm.try_admit(Resource::Retries);
        debug_assert_eq!(admitted, Admit::Ok);
        self.holds_retry = true;
        self.attempts += 1;
        stats.inc(ClusterCounter::UpstreamRqRetry);
        stats.inc(ClusterCounter::UpstreamRqRetryBackoffExponential);
        RetryStatus::Yes {
            backoff: self.backoff.next_backoff(rng),
        }
    }

    /// The request ended (response sent, route timeout, downstream reset):
    /// releases a held retry unit (Envoy's destructor → `resetRetry`).
    pub fn finish(&mut self, rm: &mut ResourceManager) {
        self.release(rm);
    }

    fn release(&mut self, rm: &mut ResourceManager) {
        if self.holds_retry {
            rm.dec(Resource::Retries);
            self.holds_retry = false;
        }
    }
}

/// Host choice for an attempt (Envoy `LoadBalancerBase::chooseHost` with the
/// router's context): on a retry with `previous_hosts`, up to
/// `host_selection_max_attempts + 1` picks skip hosts already tried; if all
/// are rejected the last pick is used. First attempts take the first pick.
/// `pick` is the balancer; `attempted` the hosts this request already tried.
pub fn choose_host<H: PartialEq + Copy>(
    policy: &RetryPolicy,
    is_retry: bool,
    attempted: &[H],
    mut pick: impl FnMut() -> Option<H>,
) -> Option<H> {
    let max_picks = if is_retry && policy.previous_hosts {
        policy.host_selection_max_attempts as usize + 1
    } else {
        1
    };
    let mut host = None;
    for _ in 0..max_picks {
        host = pick();
        match host {
            Some(h) if attempted.contains(&h) => continue,
            _ => return host,
        }
    }
    host
}

#[cfg(test)]
#[path = "retry/tests.rs"]
mod tests;
