//! Envoy outlier detection (passive health checking) for one cluster in one
//! client proxy: a [`HostMonitor`] per host counts what each attempt
//! reported, the [`Detector`] ejects and, at each interval sweep, returns
//! hosts to the balancer.
//!
//! Why a per-proxy detector: Envoy keeps this state per cluster per Envoy, so
//! one client proxy can eject a host another still sends to (reference §5).
//!
//! Rules (Envoy `source/common/upstream/outlier_detection_impl.cc`,
//! release/v1.36; reference §5 and its 1.28 lines):
//! * Every attempt reports a [`OutlierResult`]. Without
//!   `split_external_local_origin_errors`, connect failures/resets count as
//!   503 and timeouts as 504 (`resultToHttpCode`); a 5xx bumps the 5xx
//!   counter, 502/503/504 also the gateway counter, another 5xx resets the
//!   gateway counter, a non-5xx resets both (`putHttpResponseCode`). With
//!   the split, local-origin failures use their own counter.
//! * A counter **equal** to its threshold asks for an ejection right away,
//!   not at the sweep (`onConsecutiveErrorWorker`); the counter is reset
//!   after the attempt. An already-ejected host is left alone.
//! * `ejectHost`: allowed iff `100 × (ejected + 1) / hosts ≤
//!   max_ejection_percent`, strictly (Envoy ≥ 1.28, no free first ejection;
//!   Istio sets no `always_eject_one_host`), else `ejections_overflow`; then
//!   the `enforcing_*` percentage (Istio: 100 or 0) decides. The multiplier
//!   m grows on ejection while `m × base < max + base`.
//! * Sweep every `interval` (`onIntervalTimer`): a host is returned when
//!   `now − ejected_at ≥ min(base × m, max)` (so at the first sweep after
//!   its time; jitter 0 in Istio) and its consecutive counters reset; a
//!   healthy host at least one interval past its last return gets m − 1.
//!   Then success-rate and failure-percentage ejections run on the interval
//!   that just ended (Istio disables both; modelled for completeness).
//!
//! Ejected hosts leave the balancer (`HostView::healthy = false`); panic
//! mode is the balancer's (`LbConfig::panic_threshold_percent`, Istio's
//! `minHealthPercent`, 0 ⇒ off ⇒ all ejected = 503 UH).

use crate::engine::rng::SimRng;
use crate::engine::time::{SimDuration, SimTime};

/// Inert config: Envoy `OutlierDetection` (defaults are Envoy's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutlierConfig {
    pub consecutive_5xx: u32,
    /// Percent (0–100) of detected ejections that are enforced.
    pub enforcing_consecutive_5xx: u32,
    pub consecutive_gateway_failure: u32,
    pub enforcing_consecutive_gateway_failure: u32,
    pub split_external_local_origin_errors: bool,
    pub consecutive_local_origin_failure: u32,
    pub enforcing_consecutive_local_origin_failure: u32,
    pub interval: SimDuration,
    pub base_ejection_time: SimDuration,
    pub max_ejection_time: SimDuration,
    pub max_ejection_percent: u32,
    pub success_rate_minimum_hosts: u32,
    pub success_rate_request_volume: u32,
    /// × 1000 (1900 = 1.9 standard deviations).
    pub success_rate_stdev_factor: u32,
    pub enforcing_success_rate: u32,
    pub enforcing_local_origin_success_rate: u32,
    pub failure_percentage_threshold: u32,
    pub failure_percentage_minimum_hosts: u32,
    pub failure_percentage_request_volume: u32,
    pub enforcing_failure_percentage: u32,
    pub enforcing_failure_percentage_local_origin: u32,
}

impl Default for OutlierConfig {
    /// Envoy's defaults (`outlier_detection_impl.h` `DetectorConfig`).
    fn default() -> Self {
        OutlierConfig {
            consecutive_5xx: 5,
            enforcing_consecutive_5xx: 100,
            consecutive_gateway_failure: 5,
            enforcing_consecutive_gateway_failure: 0,
            split_external_local_origin_errors: false,
            consecutive_local_origin_failure: 5,
            enforcing_consecutive_local_origin_failure: 100,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_percent: 10,
            success_rate_minimum_hosts: 5,
            success_rate_request_volume: 100,
            success_rate_stdev_factor: 1900,
            enforcing_success_rate: 100,
            enforcing_local_origin_success_rate: 100,
            failure_percentage_threshold: 85,
            failure_percentage_minimum_hosts: 5,
            failure_percentage_request_volume: 50,
            enforcing_failure_percentage: 0,
            enforcing_failure_percentage_local_origin: 0,
        }
    }
}

/// A DR `outlierDetection` as primitives (None = field unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IstioOutlierDetection {
    pub consecutive_5xx_errors: Option<u32>,
    pub consecutive_gateway_errors: Option<u32>,
    pub consecutive_local_origin_failures: Option<u32>,
    pub split_external_local_origin_errors: bool,
    pub interval: Option<SimDuration>,
    pub base_ejection_time: Option<SimDuration>,
    pub max_ejection_percent: Option<u32>,
    pub min_health_percent: Option<u32>,
}

/// Istio's `applyOutlierDetection` (`cluster_traffic_policy.go` @1.28.10):
/// the Envoy config and the cluster's `healthy_panic_threshold` (percent).
pub fn istio_outlier_config(od: &IstioOutlierDetection) -> (OutlierConfig, u32) {
    let mut c = OutlierConfig {
        // "SuccessRate based outlier detection should be disabled."
        enforcing_success_rate: 0,
        ..OutlierConfig::default()
    };
    if let Some(v) = od.consecutive_5xx_errors {
        c.consecutive_5xx = v;
        c.enforcing_consecutive_5xx = if v > 0 { 100 } else { 0 };
    }
    if let Some(v) = od.consecutive_gateway_errors {
        c.consecutive_gateway_failure = v;
        c.enforcing_consecutive_gateway_failure = if v > 0 { 100 } else { 0 };
    }
    if let Some(i) = od.interval {
        c.interval = i;
    }
    if let Some(b) = od.base_ejection_time {
        c.base_ejection_time = b;
    }
    // Envoy: max_ejection_time defaults to max(300 s, base).
    c.max_ejection_time = c.max_ejection_time.max(c.base_ejection_time);
    if let Some(p) = od.max_ejection_percent.filter(|p| *p > 0) {
        c.max_ejection_percent = p.min(100);
    }
    if od.split_external_local_origin_errors {
        c.split_external_local_origin_errors = true;
        if let Some(v) = od.consecutive_local_origin_failures.filter(|v| *v > 0) {
            c.consecutive_local_origin_failure = v;
            c.enforcing_consecutive_local_origin_failure = 100;
        }
        c.enforcing_local_origin_success_rate = 0;
    }
    (c, od.min_health_percent.unwrap_or(0))
}

/// What one attempt tells the detector about its host (Envoy `Outlier::Result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutlierResult {
    /// Response headers with this status (gRPC already mapped to HTTP).
    HttpStatus(u16),
    /// Connect failure/timeout or upstream reset (503 without the split).
    LocalOriginConnectFailed,
    /// Per-try or route timeout while awaiting headers (504 without the split).
    LocalOriginTimeout,
    /// The connection to the host worked (counts only with the split).
    LocalOriginConnectSuccess,
    /// tcp_proxy connected and that is all it will learn: a 200 without the
    /// split, a local-origin success with it (`outlier_detection_impl.cc`
    /// `resultToHttpCode`, `putResultWithLocalExternalSplit`).
    LocalOriginConnectSuccessFinal,
}

/// Why a host was ejected (Envoy `OutlierEjectionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EjectionType {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    ConsecutiveLocalOriginFailure,
    SuccessRate,
    SuccessRateLocalOrigin,
    FailurePercentage,
    FailurePercentageLocalOrigin,
}

/// A transition the world applies (and the report draws as a time window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutlierEvent {
    /// The host leaves the balancer; the first sweep at or after
    /// `eligible_at` returns it.
    Ejected {
        host: usize,
        reason: EjectionType,
        eligible_at: SimTime,
    },
    /// The host is back in the balancer.
    Unejected { host: usize },
    /// Ejection refused by `max_ejection_percent` (`ejections_overflow`).
    Overflow { host: usize, reason: EjectionType },
    /// Detected but not enforced (`enforcing_*` percentage said no).
    NotEnforced { host: usize, reason: EjectionType },
}

/// Success/total counts of one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    success: u64,
    total: u64,
}

/// Envoy `SuccessRateMonitor`: the interval being filled and the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SuccessRateMonitor {
    current: Bucket,
    last: Bucket,
}

impl SuccessRateMonitor {
    fn put(&mut self, success: bool) {
        self.current.total += 1;
        self.current.success += success as u64;
    }
    fn swap(&mut self) {
        self.last = std::mem::take(&mut self.current);
    }
    /// (success rate %, volume) of the finished interval.
    fn rate(&self) -> Option<(f64, u64)> {
        (self.last.total > 0).then(|| {
            (
                self.last.success as f64 * 100.0 / self.last.total as f64,
                self.last.total,
            )
        })
    }
}

/// Per-host counters (Envoy `DetectorHostMonitorImpl`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostMonitor {
    consecutive_5xx: u32,
    consecutive_gateway_failure: u32,
    consecutive_local_origin_failure: u32,
    external: SuccessRateMonitor,
    local: SuccessRateMonitor,
    ejected_at: Option<SimTime>,
    last_unejected_at: Option<SimTime>,
    /// Ejection-time multiplier m.
    backoff: u32,
    num_ejections: u32,
}

impl HostMonitor {
    pub fn is_ejected(&self) -> bool {
        self.ejected_at.is_some()
    }
    pub fn consecutive_5xx(&self) -> u32 {
        self.consecutive_5xx
    }
    pub fn consecutive_gateway_failure(&self) -> u32 {
        self.consecutive_gateway_failure
    }
    pub fn consecutive_local_origin_failure(&self) -> u32 {
        self.consecutive_local_origin_failure
    }
    /// Ejection-time multiplier (ejection lasts min(base × m, max)).
    pub fn ejection_multiplier(&self) -> u32 {
        self.backoff
    }
    pub fn num_ejections(&self) -> u32 {
        self.num_ejections
    }

    /// `putHttpResponseCode`: the type of ejection the counters now ask for.
    fn put_http_code(&mut self, code: u16, cfg: &OutlierConfig) -> Vec<EjectionType> {
        let mut want = Vec::new();
        let is_5xx = (500..600).contains(&code);
        self.external.put(!is_5xx);
        if is_5xx {
            if matches!(code, 502..=504) {
                self.consecutive_gateway_failure += 1;
                if self.consecutive_gateway_failure == cfg.consecutive_gateway_failure {
                    want.push(EjectionType::ConsecutiveGatewayFailure);
                }
            } else {
                self.consecutive_gateway_failure = 0;
            }
            self.consecutive_5xx += 1;
            if self.consecutive_5xx == cfg.consecutive_5xx {
                want.push(EjectionType::Consecutive5xx);
            }
        } else {
            self.consecutive_5xx = 0;
            self.consecutive_gateway_failure = 0;
        }
        want
    }

    /// `putResult` with or without the local/external split.
    fn put(&mut self, r: OutlierResult, cfg: &OutlierConfig) -> Vec<EjectionType> {
        match (r, cfg.split_external_local_origin_errors) {
            (OutlierResult::HttpStatus(c), _) => self.put_http_code(c, cfg),
            (OutlierResult::LocalOriginConnectFailed, false) => self.put_http_code(503, cfg),
            (OutlierResult::LocalOriginTimeout, false) => self.put_http_code(504, cfg),
            (OutlierResult::LocalOriginConnectSuccess, false) => Vec::new(),
            (OutlierResult::LocalOriginConnectSuccessFinal, false) => self.put_http_code(200, cfg),
            (
                OutlierResult::LocalOriginConnectSuccess
                | OutlierResult::LocalOriginConnectSuccessFinal,
                true,
            ) => {
                self.local.put(true);
                self.consecutive_local_origin_failure = 0;
                Vec::new()
            }
            (OutlierResult::LocalOriginConnectFailed | OutlierResult::LocalOriginTimeout, true) => {
                self.local.put(false);
                self.consecutive_local_origin_failure += 1;
                if self.consecutive_local_origin_failure == cfg.consecutive_local_origin_failure {
                    vec![EjectionType::ConsecutiveLocalOriginFailure]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn reset_consecutive(&mut self, t: EjectionType) {
        match t {
            EjectionType::Consecutive5xx => self.consecutive_5xx = 0,
            EjectionType::ConsecutiveGatewayFailure => self.consecutive_gateway_failure = 0,
            EjectionType::ConsecutiveLocalOriginFailure => {
                self.consecutive_local_origin_failure = 0
            }
            _ => {}
        }
    }
}

/// Detector counters under Envoy's names (`cluster.<name>.outlier_detection.*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutlierStats {
    pub ejections_enforced_total: u64,
    pub ejections_overflow: u64,
    pub ejections_detected_consecutive_5xx: u64,
    pub ejections_detected_consecutive_gateway_failure: u64,
    pub ejections_detected_consecutive_local_origin_failure: u64,
    pub ejections_detected_success_rate: u64,
    pub ejections_detected_failure_percentage: u64,
}

impl OutlierStats {
    /// (Envoy name, value) of every counter, in a fixed order.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("ejections_enforced_total", self.ejections_enforced_total),
            ("ejections_overflow", self.ejections_overflow),
            (
                "ejections_detected_consecutive_5xx",
                self.ejections_detected_consecutive_5xx,
            ),
            (
                "ejections_detected_consecutive_gateway_failure",
                self.ejections_detected_consecutive_gateway_failure,
            ),
            (
                "ejections_detected_consecutive_local_origin_failure",
                self.ejections_detected_consecutive_local_origin_failure,
            ),
            (
                "ejections_detected_success_rate",
                self.ejections_detected_success_rate,
            ),
            (
                "ejections_detected_failure_percentage",
                self.ejections_detected_failure_percentage,
            ),
        ]
    }

    /// What was counted since `base`, an earlier snapshot.
    pub fn since(&self, base: &OutlierStats) -> OutlierStats {
        OutlierStats {
            ejections_enforced_total: self
                .ejections_enforced_total
                .saturating_sub(base.ejections_enforced_total),
            ejections_overflow: self
                .ejections_overflow
                .saturating_sub(base.ejections_overflow),
            ejections_detected_consecutive_5xx: self
                .ejections_detected_consecutive_5xx
                .saturating_sub(base.ejections_detected_consecutive_5xx),
            ejections_detected_consecutive_gateway_failure: self
                .ejections_detected_consecutive_gateway_failure
                .saturating_sub(base.ejections_detected_consecutive_gateway_failure),
            ejections_detected_consecutive_local_origin_failure: self
                .ejections_detected_consecutive_local_origin_failure
                .saturating_sub(base.ejections_detected_consecutive_local_origin_failure),
            ejections_detected_success_rate: self
                .ejections_detected_success_rate
                .saturating_sub(base.ejections_detected_success_rate),
            ejections_detected_failure_percentage: self
                .ejections_detected_failure_percentage
                .saturating_sub(base.ejections_detected_failure_percentage),
        }
    }

    /// Adds another detector's counters (summing over client proxies).
    pub fn merge(&mut self, o: &OutlierStats) {
        self.ejections_enforced_total += o.ejections_enforced_total;
        self.ejections_overflow += o.ejections_overflow;
        self.ejections_detected_consecutive_5xx += o.ejections_detected_consecutive_5xx;
        self.ejections_detected_consecutive_gateway_failure +=
            o.ejections_detected_consecutive_gateway_failure;
        self.ejections_detected_consecutive_local_origin_failure +=
            o.ejections_detected_consecutive_local_origin_failure;
        self.ejections_detected_success_rate += o.ejections_detected_success_rate;
        self.ejections_detected_failure_percentage += o.ejections_detected_failure_percentage;
    }
}

/// One cluster's detector (Envoy `DetectorImpl`). Hosts are indices 0..n.
#[derive(Clone, Debug)]
pub struct Detector {
    cfg: OutlierConfig,
    hosts: Vec<HostMonitor>,
    ejected: u32,
    next_sweep: SimTime,
    stats: OutlierStats,
}

impl Detector {
    /// A detector for `hosts` hosts; the first sweep is one interval after `now`.
    pub fn new(cfg: OutlierConfig, hosts: usize, now: SimTime) -> Detector {
        Detector {
            cfg,
            hosts: vec![HostMonitor::default(); hosts],
            ejected: 0,
            next_sweep: now + cfg.interval,
            stats: OutlierStats::default(),
        }
    }
    pub fn config(&self) -> &OutlierConfig {
        &self.cfg
    }
    pub fn next_sweep(&self) -> SimTime {
        self.next_sweep
    }
    pub fn stats(&self) -> &OutlierStats {
        &self.stats
    }
    pub fn host(&self, i: usize) -> &HostMonitor {
        &self.hosts[i]
    }
    pub fn is_ejected(&self, i: usize) -> bool {
        self.hosts[i].is_ejected()
    }
    /// `ejections_active`.
    pub fn ejections_active(&self) -> u32 {
        self.ejected
    }
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }
    /// A new endpoint joined the cluster; returns its index.
    pub fn add_host(&mut self) -> usize {
        self.hosts.push(HostMonitor::default());
        self.hosts.len() - 1
    }
    /// An endpoint left; indices above `i` shift down by one.
    pub fn remove_host(&mut self, i: usize) {
        if self.hosts.remove(i).is_ejected() {
            self.ejected -= 1;
        }
    }

    /// An attempt to host `i` ended with `r` at `now`: the immediate
    /// (consecutive-error) ejection decisions it triggered, if any.
    pub fn report(
        &mut self,
        i: usize,
        r: OutlierResult,
        now: SimTime,
        rng: &mut SimRng,
    ) -> Vec<OutlierEvent> {
        let want = self.hosts[i].put(r, &self.cfg);
        let mut out = Vec::new();
        for t in want {
            if self.hosts[i].is_ejected() {
                continue;
            }
            match t {
                EjectionType::Consecutive5xx => self.stats.ejections_detected_consecutive_5xx += 1,
                EjectionType::ConsecutiveGatewayFailure => {
                    self.stats.ejections_detected_consecutive_gateway_failure += 1
                }
                _ => {
                    self.stats
                        .ejections_detected_consecutive_local_origin_failure += 1
                }
            }
            out.push(self.eject(i, t, now, rng));
            self.hosts[i].reset_consecutive(t);
        }
        out
    }

    fn enforcing(&self, t: EjectionType) -> u32 {
        let c = &self.cfg;
        match t {
            EjectionType::Consecutive5xx => c.enforcing_consecutive_5xx,
            EjectionType::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
            EjectionType::ConsecutiveLocalOriginFailure => {
                c.enforcing_consecutive_local_origin_failure
            }
            EjectionType::SuccessRate => c.enforcing_success_rate,
            EjectionType::SuccessRateLocalOrigin => c.enforcing_local_origin_success_rate,
            EjectionType::FailurePercentage => c.enforcing_failure_percentage,
            EjectionType::FailurePercentageLocalOrigin => {
                c.enforcing_failure_percentage_local_origin
            }
        }
    }

    /// `ejectHost`.
    fn eject(&mut self, i: usize, t: EjectionType, now: SimTime, rng: &mut SimRng) -> OutlierEvent {
        let n = self.hosts.len() as u64;
        let max_pct = self.cfg.max_ejection_percent.min(100) as u64;
        if 100 * (self.ejected as u64 + 1) > max_pct * n {
            self.stats.ejections_overflow += 1;
            return OutlierEvent::Overflow { host: i, reason: t };
        }
        // runtime featureEnabled(key, percent): random % 100 < percent; no
        // draw when the answer is certain (Istio only writes 0 or 100).
        let enforce = match self.enforcing(t) {
            0 => false,
            p if p >= 100 => true,
            p => {
                use rand::Rng;
                rng.next_u64() % 100 < p as u64
            }
        };
        if !enforce {
            return OutlierEvent::NotEnforced { host: i, reason: t };
        }
        let base = self.cfg.base_ejection_time.0 as u128;
        let max = self.cfg.max_ejection_time.0 as u128;
        let h = &mut self.hosts[i];
        if (h.backoff as u128) * base < max + base {
            h.backoff += 1;
        }
        h.ejected_at = Some(now);
        h.num_ejections += 1;
        self.ejected += 1;
        self.stats.ejections_enforced_total += 1;
        OutlierEvent::Ejected {
            host: i,
            reason: t,
            eligible_at: now + self.ejection_time(i),
        }
    }

    /// min(base × m, max) for host `i`.
    pub fn ejection_time(&self, i: usize) -> SimDuration {
        let d = (self.cfg.base_ejection_time.0 as u128) * self.hosts[i].backoff as u128;
        SimDuration(d.min(self.cfg.max_ejection_time.0 as u128) as u64)
    }

    /// The interval timer fired (`onIntervalTimer`); call at [`Self::next_sweep`].
    pub fn sweep(&mut self, now: SimTime, rng: &mut SimRng) -> Vec<OutlierEvent> {
        let mut out = Vec::new();
        for i in 0..self.hosts.len() {
            let dur = self.ejection_time(i);
            let interval = self.cfg.interval;
            let h = &mut self.hosts[i];
            match h.ejected_at {
                None => {
                    if h.last_unejected_at
                        .is_some_and(|u| now.saturating_since(u) >= interval)
                        && h.backoff > 0
                    {
                        h.backoff -= 1;
                    }
                }
                Some(at) if now.saturating_since(at) >= dur => {
                    h.ejected_at = None;
                    h.last_unejected_at = Some(now);
                    h.consecutive_5xx = 0;
                    h.consecutive_gateway_failure = 0;
                    h.consecutive_local_origin_failure = 0;
                    self.ejected -= 1;
                    out.push(OutlierEvent::Unejected { host: i });
                }
                Some(_) => {}
            }
            h.external.swap();
            h.local.swap();
        }
        self.success_rate_ejections(false, now, rng, &mut out);
        if self.cfg.split_external_local_origin_errors {
            self.success_rate_ejections(true, now, rng, &mut out);
        }
        self.next_sweep = now + self.cfg.interval;
        out
    }

    /// `processSuccessRateEjections` (success rate and failure percentage).
    fn success_rate_ejections(
        &mut self,
        local: bool,
        now: SimTime,
        rng: &mut SimRng,
        out: &mut Vec<OutlierEvent>,
    ) {
        let c = self.cfg;
        let n = self.hosts.len() as u64;
        if n < c.success_rate_minimum_hosts as u64 && n < c.failure_percentage_minimum_hosts as u64
        {
            return;
        }
        let mut sr_hosts = Vec::new();
        let mut fp_hosts = Vec::new();
        let mut sum = 0.0;
        for (i, h) in self.hosts.iter().enumerate() {
            if h.is_ejected() {
                continue;
            }
            let m = if local { &h.local } else { &h.external };
            let Some((rate, volume)) = m.rate() else {
                continue;
            };
            if volume >= c.success_rate_request_volume as u64 {
                sr_hosts.push((i, rate));
                sum += rate;
            }
            if volume >= c.failure_percentage_request_volume as u64 {
                fp_hosts.push((i, rate));
            }
        }
        if !sr_hosts.is_empty() && sr_hosts.len() as u64 >= c.success_rate_minimum_hosts as u64 {
            let threshold = success_rate_threshold(sum, &sr_hosts, c.success_rate_stdev_factor);
            let t = if local {
                EjectionType::SuccessRateLocalOrigin
            } else {
                EjectionType::SuccessRate
            };
            for &(i, rate) in &sr_hosts {
                if rate < threshold && !self.hosts[i].is_ejected() {
                    self.stats.ejections_detected_success_rate += 1;
                    out.push(self.eject(i, t, now, rng));
                }
            }
        }
        if !fp_hosts.is_empty()
            && fp_hosts.len() as u64 >= c.failure_percentage_minimum_hosts as u64
        {
            let t = if local {
                EjectionType::FailurePercentageLocalOrigin
            } else {
                EjectionType::FailurePercentage
            };
            for &(i, rate) in &fp_hosts {
                if 100.0 - rate >= c.failure_percentage_threshold as f64
                    && !self.hosts[i].is_ejected()
                {
                    self.stats.ejections_detected_failure_percentage += 1;
                    out.push(self.eject(i, t, now, rng));
                }
            }
        }
    }
}

/// Envoy `successRateEjectionThreshold`: mean − factor × population stdev.
fn success_rate_threshold(sum: f64, hosts: &[(usize, f64)], factor_milli: u32) -> f64 {
    let n = hosts.len() as f64;
    let mean = sum / n;
    let var = hosts
        .iter()
        .map(|(_, r)| (r - mean) * (r - mean))
        .sum::<f64>()
        / n;
    mean - (factor_milli as f64 / 1000.0) * var.sqrt()
}

#[cfg(test)]
#[path = "outlier/tests.rs"]
mod tests;
