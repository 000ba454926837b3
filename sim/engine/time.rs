//! Virtual time as integer nanoseconds.
//!
//! Why integers: floating-point clocks make event order depend on rounding
//! (a + b + c != a + (b + c)), so two runs that should be identical can diverge.
//! Every sampled float duration is converted exactly once, at the sampling site,
//! by [`SimDuration::from_secs_f64`] (round half away from zero, saturating), and from
//! then on all arithmetic is exact. `u64` nanoseconds cover 584 years.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time: nanoseconds since the start of the replication.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SimTime(pub u64);

/// A span of simulated time in nanoseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    #[inline]
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later (never panics).
    #[inline]
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    pub const fn from_nanos(n: u64) -> Self {
        SimDuration(n)
    }
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(1_000_000))
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(1_000_000_000))
    }
    /// Converts seconds to nanoseconds: round to nearest, negative and NaN to 0,
    /// overflow saturates. The single place floats become simulated time.
    #[inline]
    pub fn from_secs_f64(s: f64) -> Self {
        let ns = s * 1e9;
        if ns.is_nan() || ns <= 0.0 {
            SimDuration(0)
        } else if ns >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else if ns < 4_503_599_627_370_496.0 {
            // Below 2^52: `ns.round()` (half away from zero) without the libm call
            // that `f64::round` compiles to on baseline x86-64, and with the
            // signed conversions, which are single instructions (unsigned ones
            // are not). The truncation is exact, and so is `ns - trunc` (Sterbenz:
            // trunc ≤ ns < 2·trunc, or trunc = 0), so the compare with 0.5 is exact.
            let t = ns as i64;
            let frac = ns - t as f64;
            SimDuration((t + (frac >= 0.5) as i64) as u64)
        } else {
            // From 2^52 on every f64 is an integer: nothing to round.
            SimDuration(ns as u64)
        }
    }
    #[inline]
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }
    #[inline]
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 * 1e-6
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturating: a time past the end of representable time is "never".
    #[inline]
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    #[inline]
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    #[inline]
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// Saturating at zero.
    #[inline]
    fn sub(self, o: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(o.0))
    }
}

impl fmt::Display for SimDuration {
    /// Istio/Go duration style, exact: `1.5s`, `250ms`, `3us`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let (unit, div) = if ns == 0 {
            return write!(f, "0s");
        } else if ns.is_multiple_of(1_000_000_000) || ns >= 1_000_000_000 {
            ("s", 1_000_000_000u64)
        } else if ns.is_multiple_of(1_000_000) || ns >= 1_000_000 {
            ("ms", 1_000_000)
        } else if ns.is_multiple_of(1_000) || ns >= 1_000 {
            ("us", 1_000)
        } else {
            ("ns", 1)
        };
        let whole = ns / div;
        let frac = ns % div;
        if frac == 0 {
            write!(f, "{whole}{unit}")
        } else {
            let width = div.ilog10() as usize;
            let s = format!("{frac:0width$}");
            write!(f, "{whole}.{}{unit}", s.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}", SimDuration(self.0))
    }
}

/// Parses a Go/Istio duration string: a sequence of decimal numbers, each with an
/// optional fraction and a unit (`h`, `m`, `s`, `ms`, `us`/`µs`, `ns`), e.g. `90s`,
/// `1m30s`, `0.5s`, `250ms`. No sign, at least one unit. Exact: the fraction is
/// converted with integer arithmetic, so `0.1s` is exactly 100 000 000 ns.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[start..i];
        let mut frac_part = "";
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fs = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[fs..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!(
                "invalid duration {s:?}: expected a number (durations look like 90s, 1m30s, 250ms)"
            ));
        }
        let us = i;
        while i < b.len() && !b[i].is_ascii_digit() && b[i] != b'.' {
            i += 1;
        }
        let unit = &s[us..i];
        let mult: u128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            "" => {
                return Err(format!(
                    "invalid duration {s:?}: missing unit (use h, m, s, ms, us or ns)"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {other:?} (use h, m, s, ms, us or ns)"
                ));
            }
        };
        let ip: u128 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse::<u128>()
                .map_err(|_| format!("invalid duration {s:?}: number too large"))?
        };
        let mut v = ip
            .checked_mul(mult)
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
        if !frac_part.is_empty() {
            let digits = frac_part.len().min(18);
            let f: u128 = frac_part[..digits].parse().unwrap_or(0);
            v += f * mult / 10u128.pow(digits as u32);
        }
        total = total
            .checked_add(v)
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
    }
    u64::try_from(total)
        .map(SimDuration)
        .map_err(|_| format!("invalid duration {s:?}: too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations_exactly() {
        assert_eq!(parse_duration("90s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(SimDuration::from_secs(600)));
        assert_eq!(parse_duration("1m30s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("0.1s"), Ok(SimDuration(100_000_000)));
        assert_eq!(parse_duration("250ms"), Ok(SimDuration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Ok(SimDuration::from_secs(5400)));
        assert_eq!(parse_duration("3us"), Ok(SimDuration(3000)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in ["1.5s", "250ms", "3us", "7ns", "0s", "90s"] {
            assert_eq!(parse_duration(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn float_conversion_rounds_like_f64_round() {
        let just_below_half = f64::from_bits(0.5f64.to_bits() - 1);
        let mut probes = vec![0.5e-9, 1.5e-9, 2.5e-9, just_below_half / 1e9, 1e-9, 3.7];
        // Around 2^52 and 2^53 ns (the fast path's bound) and near u64::MAX ns.
        for p in [2f64.powi(52), 2f64.powi(53), 1.8446744e19] {
            probes.extend([p - 1.5, p - 0.5, p, p + 1.0, p + 2.0].map(|ns| ns / 1e9));
        }
        let mut x = 1e-10;
        while x < 1e10 {
            probes.extend([x, x * 1.000_000_1, x * 0.999_999_9]);
            x *= 1.37;
        }
        for s in probes {
            let ns = s * 1e9;
            assert_eq!(SimDuration::from_secs_f64(s).0, ns.round() as u64, "{s}");
        }
    }

    #[test]
    fn float_conversion_rounds_and_saturates() {
        assert_eq!(
            SimDuration::from_secs_f64(1.0000000004),
            SimDuration(1_000_000_000)
        );
        assert_eq!(SimDuration::from_secs_f64(-3.0), SimDuration(0));
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration(0));
        assert_eq!(SimDuration::from_secs_f64(1e30), SimDuration::MAX);
        assert_eq!(SimTime(u64::MAX - 1) + SimDuration(5), SimTime::MAX);
    }
}
