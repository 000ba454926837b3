//! Envoy's HTTP fault filter as Istio configures it from a VirtualService
//! `fault`: inert [`FaultConfig`] and draws returning a [`FaultDecision`].
//!
//! Why here and not in the router: the fault filter sits **before** the
//! router in the client proxy's filter chain, so a delay is spent before the
//! route timeout starts (it does not consume it) and an abort is a local
//! reply that never reaches the router — never retried by that proxy, never
//! seen by the server (reference §8, §0).
//!
//! Rules (Envoy `source/extensions/filters/http/fault/fault_filter.cc`
//! `decodeHeaders`, `maybeSetupDelay`, `maybeSetupAbort`, `postDelayInjection`,
//! release/v1.36; Istio `route.go` `TranslateFault` @1.28.10):
//! * Percentages are integer fractions: Istio writes `percentage.value` ×
//!   10 000 per million (truncated), the deprecated integer `delay.percent`
//!   as n per hundred (same probability); Envoy fires iff
//!   `random % denominator < numerator` (`evaluateFractionalPercent`).
//!   Absent percentage ⇒ 0 ⇒ never (pinned fact; no draw is made).
//! * Delay first: if it fires the request waits `fixedDelay` (flag `DI`),
//!   and the abort is decided **when the delay ends**; if not, the abort is
//!   decided at once. The two draws are independent; delayed-then-aborted
//!   requests carry `DI,FI`.
//! * Abort: `httpStatus` ⇒ local reply with that status, body "fault filter
//!   abort", flag `FI`; `grpcStatus` ⇒ HTTP 200 with `grpc-status` set.
//!
//! Not modelled: header-controlled faults (`x-envoy-fault-*`, Istio sets no
//! header config), `max_active_faults` (unset ⇒ unlimited), response rate
//! limits (Istio exposes none).

use super::flags::{ResponseFlag, ResponseFlags};
use crate::engine::rng::SimRng;
use crate::engine::time::SimDuration;

/// Envoy `FractionalPercent`: numerator out of a denominator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FractionalPercent {
    pub numerator: u32,
    /// 100, 10 000 or 1 000 000.
    pub denominator: u32,
}

impl FractionalPercent {
    pub const NEVER: FractionalPercent = FractionalPercent {
        numerator: 0,
        denominator: 1_000_000,
    };
    /// Istio `translatePercentToFractionalPercent`: `value × 10 000` per
    /// million, truncated (`uint32(p.Value * 10000)`).
    pub fn from_istio_percentage(value: f64) -> FractionalPercent {
        let n = if value.is_nan() || value <= 0.0 {
            0
        } else {
            (value * 10_000.0).min(u32::MAX as f64) as u32
        };
        FractionalPercent {
            numerator: n,
            denominator: 1_000_000,
        }
    }
    /// Istio `translateIntegerToFractionalPercent`: the deprecated `percent`.
    pub fn from_istio_integer_percent(p: i32) -> FractionalPercent {
        FractionalPercent {
            numerator: p.max(0) as u32,
            denominator: 100,
        }
    }
    /// Parts per million (for reports).
    pub fn ppm(self) -> u64 {
        self.numerator as u64 * 1_000_000 / self.denominator.max(1) as u64
    }
    /// `evaluateFractionalPercent`: no draw when the answer is certain.
    pub fn sample(self, rng: &mut SimRng) -> bool {
        use rand::Rng;
        if self.numerator == 0 {
            false
        } else if self.numerator >= self.denominator {
            true
        } else {
            rng.next_u64() % (self.denominator as u64) < self.numerator as u64
        }
    }
}

/// The error an abort returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortCode {
    /// HTTP status of the local reply.
    Http(u16),
    /// gRPC status code (HTTP 200, `grpc-status: n`).
    Grpc(u32),
}

impl AbortCode {
    /// HTTP status the client sees.
    pub fn http_status(self) -> u16 {
        match self {
            AbortCode::Http(s) => s,
            AbortCode::Grpc(_) => 200,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultDelay {
    pub fixed_delay: SimDuration,
    pub percentage: FractionalPercent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultAbort {
    pub code: AbortCode,
    pub percentage: FractionalPercent,
}

/// Inert config: the route's `typed_per_filter_config` for the fault filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultConfig {
    pub delay: Option<FaultDelay>,
    pub abort: Option<FaultAbort>,
}

/// What the fault filter does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultDecision {
    /// Continue to the router untouched.
    None,
    /// Hold the request, then continue to the router (flag `DI`).
    Delay(SimDuration),
    /// Local reply now (flag `FI`); the router never sees it.
    Abort(AbortCode),
    /// Hold, then reply locally (flags `DI,FI`).
    DelayThenAbort(SimDuration, AbortCode),
}

impl FaultDecision {
    pub fn flags(self) -> ResponseFlags {
        match self {
            FaultDecision::None => ResponseFlags::NONE,
            FaultDecision::Delay(_) => ResponseFlag::DelayInjected.into(),
            FaultDecision::Abort(_) => ResponseFlag::FaultInjected.into(),
            FaultDecision::DelayThenAbort(..) => {
                ResponseFlags::from(ResponseFlag::DelayInjected).with(ResponseFlag::FaultInjected)
            }
        }
    }
    /// Time spent in the fault filter before the router (or the local reply).
    pub fn delay(self) -> SimDuration {
        match self {
            FaultDecision::Delay(d) | FaultDecision::DelayThenAbort(d, _) => d,
            _ => SimDuration::ZERO,
        }
    }
    /// The local reply, if the request is aborted.
    pub fn abort(self) -> Option<AbortCode> {
        match self {
            FaultDecision::Abort(a) | FaultDecision::DelayThenAbort(_, a) => Some(a),
            _ => None,
        }
    }
}

/// `maybeSetupDelay`: the delay for this request, if it fires.
pub fn decide_delay(cfg: &FaultConfig, rng: &mut SimRng) -> Option<SimDuration> {
    let d = cfg.delay?;
    (d.fixed_delay > SimDuration::ZERO && d.percentage.sample(rng)).then_some(d.fixed_delay)
}

/// `maybeSetupAbort`: the abort for this request, if it fires. Call at
/// request arrival when no delay fired, else when the delay ends.
pub fn decide_abort(cfg: &FaultConfig, rng: &mut SimRng) -> Option<AbortCode> {
    let a = cfg.abort?;
    a.percentage.sample(rng).then_some(a.code)
}

/// Both draws at once, in Envoy's order (delay, then abort). Equivalent to
/// [`decide_delay`] now and [`decide_abort`] after the delay when the stream
/// is private to this route.
pub fn decide(cfg: &FaultConfig, rng: &mut SimRng) -> FaultDecision {
    match (decide_delay(cfg, rng), decide_abort(cfg, rng)) {
        (None, None) => FaultDecision::None,
        (Some(d), None) => FaultDecision::Delay(d),
        (None, Some(a)) => FaultDecision::Abort(a),
        (Some(d), Some(a)) => FaultDecision::DelayThenAbort(d, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};
    use rand::Rng;

    fn rng() -> SimRng {
        RngFactory::new(5, 0).of(Purpose::Behaviour, "fault-test")
    }
    fn delay(ms: u64, pct: FractionalPercent) -> Option<FaultDelay> {
        Some(FaultDelay {
            fixed_delay: SimDuration::from_millis(ms),
            percentage: pct,
        })
    }
    fn abort(code: AbortCode, pct: FractionalPercent) -> Option<FaultAbort> {
        Some(FaultAbort {
            code,
            percentage: pct,
        })
    }
    const ALL: FractionalPercent = FractionalPercent {
        numerator: 1_000_000,
        denominator: 1_000_000,
    };

    #[test]
    fn istio_percentages_to_fractions() {
        let cases = [
            (100.0, 1_000_000),
            (50.0, 500_000),
            (0.1, 1_000), // the seed's 0.1 means 0.1 %
            (0.0001, 1),
            (0.00001, 0), // truncated
            (0.0, 0),
            (-1.0, 0),
        ];
        for (v, ppm) in cases {
            assert_eq!(
                FractionalPercent::from_istio_percentage(v).ppm(),
                ppm,
                "{v}"
            );
        }
        let p = FractionalPercent::from_istio_integer_percent(10);
        assert_eq!((p.numerator, p.denominator, p.ppm()), (10, 100, 100_000));
        assert_eq!(FractionalPercent::from_istio_integer_percent(-3).ppm(), 0);
    }

    #[test]
    fn absent_or_zero_percentage_never_fires_and_draws_nothing() {
        let cfg = FaultConfig {
            delay: delay(5000, FractionalPercent::NEVER),
            abort: abort(AbortCode::Http(503), FractionalPercent::NEVER),
        };
        let mut a = rng();
        let mut b = rng();
        for _ in 0..1000 {
            assert_eq!(decide(&cfg, &mut a), FaultDecision::None);
        }
        assert_eq!(a.next_u64(), b.next_u64(), "no draw consumed");
        assert_eq!(decide(&FaultConfig::default(), &mut a), FaultDecision::None);
    }

    #[test]
    fn decisions_and_flags_table() {
        let mut r = rng();
        let d = SimDuration::from_millis(7000);
        let cases = [
            (
                FaultConfig {
                    delay: delay(7000, ALL),
                    abort: None,
                },
                FaultDecision::Delay(d),
                "DI",
            ),
            (
                FaultConfig {
                    delay: None,
                    abort: abort(AbortCode::Http(500), ALL),
                },
                FaultDecision::Abort(AbortCode::Http(500)),
                "FI",
            ),
            (
                FaultConfig {
                    delay: delay(7000, ALL),
                    abort: abort(AbortCode::Grpc(14), ALL),
                },
                FaultDecision::DelayThenAbort(d, AbortCode::Grpc(14)),
                "DI,FI",
            ),
        ];
        for (cfg, want, flags) in cases {
            let got = decide(&cfg, &mut r);
            assert_eq!(got, want);
            assert_eq!(got.flags().to_string(), flags);
        }
        assert_eq!(FaultDecision::None.flags().to_string(), "-");
        assert_eq!(AbortCode::Grpc(14).http_status(), 200);
        assert_eq!(AbortCode::Http(418).http_status(), 418);
        let dta = FaultDecision::DelayThenAbort(d, AbortCode::Http(503));
        assert_eq!((dta.delay(), dta.abort()), (d, Some(AbortCode::Http(503))));
        assert_eq!(FaultDecision::Delay(d).abort(), None);
    }

    /// Delay 50 %, abort 20 %, independent: the four outcomes at 40/10/40/10 %.
    #[test]
    fn delay_and_abort_are_independent_draws() {
        let cfg = FaultConfig {
            delay: delay(100, FractionalPercent::from_istio_percentage(50.0)),
            abort: abort(
                AbortCode::Http(503),
                FractionalPercent::from_istio_percentage(20.0),
            ),
        };
        let mut r = rng();
        let n = 100_000;
        let mut counts = [0u32; 4];
        for _ in 0..n {
            let i = match decide(&cfg, &mut r) {
                FaultDecision::None => 0,
                FaultDecision::Delay(_) => 1,
                FaultDecision::Abort(_) => 2,
                FaultDecision::DelayThenAbort(..) => 3,
            };
            counts[i] += 1;
        }
        // 99.9 % intervals (±3.29 sd): sd(0.4) ≈ 155, sd(0.1) ≈ 95.
        for (c, want) in counts.iter().zip([40_000.0, 40_000.0, 10_000.0, 10_000.0]) {
            let sd = (n as f64 * (want / n as f64) * (1.0 - want / n as f64)).sqrt();
            assert!((*c as f64 - want).abs() < 3.29 * sd, "{counts:?}");
        }
    }

    /// The seed's 0.1 % delay (`10-vs-ratings-fault-delay.yaml`): about one
    /// request in a thousand.
    #[test]
    fn seed_10_point_one_percent_delay_rate() {
        let cfg = FaultConfig {
            delay: delay(5000, FractionalPercent::from_istio_percentage(0.1)),
            abort: None,
        };
        let mut r = rng();
        let n = 1_000_000;
        let hits = (0..n)
            .filter(|_| decide_delay(&cfg, &mut r).is_some())
            .count();
        // mean 1000, sd ≈ 31.6; 99.9 % ⇒ ±104.
        assert!((896..=1104).contains(&hits), "{hits}");
    }
}
