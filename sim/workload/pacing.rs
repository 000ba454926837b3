//! Closed-loop pacing as fortio does it (`fortio load -c N -qps Q`).
//!
//! From fortio's `periodic/periodic.go` (`runOne`, `getJitter`; fortio/fortio
//! at 45e1871): each of the N connections ("threads") runs at Q/N requests
//! per second on its own fixed schedule. After its i-th call (counted from
//! one) it sleeps until `start + i/(Q/N)`, truncated to whole nanoseconds as
//! fortio's `time.Duration(int64(targetElapsedInSec * 1e9))` is. When a slow
//! answer made it late, that sleep is ≤ 0 and it sends at once: it *catches
//! up* with back-to-back requests. Options, fortio's flags:
//! * `uniform` (`-uniform`): connection k (0-based) starts k/Q later
//!   (fortio: `delay − delay/N·(N−k)` with `delay = N/Q`), its schedule
//!   shifted with it, so the connections' sends interleave evenly instead of
//!   starting together.
//! * `jitter` (`-jitter`): each wait gets a uniform ±10 % added:
//!   `i = round(wait/10)`, `wait += U{−i..=i}`; a wait ≤ 0 (rounded) gets none.
//! * `noCatchUp` (`-nocatchup`): a slot whose wait would be negative is
//!   skipped (i advances again) instead of sent late, so a slow server is
//!   not hammered after it recovers.
//!
//! Not copied: with `-t` fortio stretches the schedule by n/(n−1) so that its
//! n = Q·t calls end exactly at t; meshsim's loads run for their window, so
//! it uses fortio's endless-run schedule `i / (Q/N)`. With `qps` absent (or
//! fortio's `-qps 0`) nothing paces: the next request goes at once.

use crate::engine::rng::SimRng;
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::PacingMode;

/// One closed-loop connection's schedule.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    /// When its schedule starts (the load's start, plus k/Q with `uniform`).
    pub origin: SimTime,
    /// Calls made so far, skipped slots included (fortio's `i`).
    pub calls: u64,
}

/// fortio's `int64(secs * 1e9)`: truncation, not rounding.
#[inline]
fn trunc_ns(secs: f64) -> u64 {
    (secs * 1e9) as u64
}

/// When connection `k` of a load with `qps` sends first.
pub fn first_send(start: SimTime, k: u32, qps: f64, mode: PacingMode) -> SimTime {
    if mode.uniform {
        start + SimDuration(trunc_ns(k as f64 / qps))
    } else {
        start
    }
}

/// fortio's `getJitter`: ±10 % of a positive wait, uniform over whole nanoseconds.
fn jitter(wait_ns: i64, rng: &mut SimRng) -> i64 {
    use rand::Rng;
    let i = (wait_ns as f64 / 10.0 + 0.5) as i64;
    if i <= 0 {
        return 0;
    }
    let span = (2 * i + 1) as u64;
    (rng.next_u64() % span) as i64 - i
}

/// The connection answered at `now`: when it sends next, at `per_conn_qps`
/// (= Q/N). Advances `clock.calls` past the call just made (and past
/// skipped slots with `noCatchUp`).
pub fn next_send(
    clock: &mut Clock,
    now: SimTime,
    per_conn_qps: f64,
    mode: PacingMode,
    rng: &mut SimRng,
) -> SimTime {
    let elapsed = now.0 as i64 - clock.origin.0 as i64;
    loop {
        clock.calls += 1;
        let target = trunc_ns(clock.calls as f64 / per_conn_qps) as i64;
        let mut wait = target - elapsed;
        if mode.no_catch_up && wait < 0 {
            continue; // fortio: "request took too long … skipping iter"
        }
        if mode.jitter {
            wait += jitter(wait, rng);
        }
        return SimTime(now.0 + wait.max(0) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MS: u64 = 1_000_000;

    #[test]
    fn catches_up_after_a_slow_answer_and_skips_without_catch_up() {
        let mut rng = SimRng::seed_from_u64(1);
        let on = |no_catch_up| PacingMode {
            no_catch_up,
            ..PacingMode::default()
        };
        // 10 qps on this connection: slots at 100, 200, 300 ms …
        let mut c = Clock::default();
        // A 250 ms answer to call 1: slot 100 ms is missed → send at once.
        assert_eq!(
            next_send(&mut c, SimTime(250 * MS), 10.0, on(false), &mut rng).0,
            250 * MS
        );
        // Call 2 answered at 260 ms: slot 200 ms also missed → at once again.
        assert_eq!(
            next_send(&mut c, SimTime(260 * MS), 10.0, on(false), &mut rng).0,
            260 * MS
        );
        // Call 3 answered at 270 ms: slot 300 ms → wait 30 ms.
        assert_eq!(
            next_send(&mut c, SimTime(270 * MS), 10.0, on(false), &mut rng).0,
            300 * MS
        );
        // -nocatchup: slots 100 and 200 ms are skipped, the next is 300 ms.
        let mut c = Clock::default();
        assert_eq!(
            next_send(&mut c, SimTime(250 * MS), 10.0, on(true), &mut rng).0,
            300 * MS
        );
        assert_eq!(c.calls, 3);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_spares_zero_waits() {
        let mut rng = SimRng::seed_from_u64(7);
        let mode = PacingMode {
            jitter: true,
            ..PacingMode::default()
        };
        let mut seen = (u64::MAX, 0);
        for k in 0..2000u64 {
            let mut c = Clock {
                origin: SimTime::ZERO,
                calls: k,
            };
            // Answered at the previous slot: the wait is one period, 100 ms.
            let t = next_send(&mut c, SimTime(k * 100 * MS), 10.0, mode, &mut rng).0 - k * 100 * MS;
            seen = (seen.0.min(t), seen.1.max(t));
        }
        assert!(seen.0 >= 90 * MS && seen.1 <= 110 * MS, "{seen:?}");
        assert!(seen.0 < 91 * MS && seen.1 > 109 * MS, "{seen:?}");
        // Late: no wait, no jitter.
        let mut c = Clock::default();
        assert_eq!(
            next_send(&mut c, SimTime(500 * MS), 10.0, mode, &mut rng).0,
            500 * MS
        );
    }

    #[test]
    fn uniform_delays_connection_k_by_k_over_qps() {
        let mode = PacingMode {
            uniform: true,
            ..PacingMode::default()
        };
        let s = SimTime(MS);
        assert_eq!(first_send(s, 0, 40.0, mode).0, MS);
        assert_eq!(first_send(s, 3, 40.0, mode).0, MS + 75 * MS);
        assert_eq!(first_send(s, 3, 40.0, PacingMode::default()).0, MS);
    }
}
