//! The HorizontalPodAutoscaler's decision, as a pure function of what the
//! controller sees: per-pod CPU samples in, a replica count out.
//!
//! Why pure and apart from the world: the algorithm is Kubernetes', to the
//! integer, and is tested line by line against it with tables
//! (`hpa/tests.rs`); the world (`world/autoscale.rs`) only measures pods and
//! applies the answer.
//!
//! Sources (kubernetes/kubernetes, `pkg/controller/podautoscaler/`):
//! * `replica_calculator.go` `GetResourceReplicas` and `groupPods`: ready /
//!   unready / missing / ignored pods, the 0.1 tolerance, `ceil`, missing
//!   pods as 100 % (max(100, target)) of their request on a scale-down and
//!   0 % on a scale-up, unready pods as 0 % on a scale-up only;
//!   `calculatePodRequests`: a pod's request is the sum over its containers
//!   and a container without one is an error ("missing request for cpu").
//! * `metrics/utilization.go` `GetResourceUtilizationRatio`: the utilisation
//!   is the *integer* percent `Σ usage × 100 / Σ request` (milli-cores).
//! * `horizontal.go` `reconcileAutoscaler`: current above `maxReplicas` or
//!   below `minReplicas` is clamped without asking the metrics; otherwise
//!   the metric's proposal is normalised — with `spec.behavior` unset by
//!   `normalizeDesiredReplicas` (the pre-v2 rules, which the controller
//!   still applies then: the highest recommendation of the last 5 min
//!   (`--horizontal-pod-autoscaler-downscale-stabilization`), scale-up at
//!   most to max(2 × current, 4), `calculateScaleUpLimit`), with it by
//!   `normalizeDesiredReplicasWithBehaviors` (`stabilizeRecommendationWithBehaviors`,
//!   `convertDesiredReplicasWithBehaviorRate`,
//!   `calculateScaleUpLimitWithScalingRules`,
//!   `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`).
//! * `pkg/apis/autoscaling/v2/defaults.go`: minReplicas 1, CPU 80 % when no
//!   metric is given, and — only when `behavior` is written — the defaults
//!   of the rules it leaves out (`GenerateHPAScaleUpRules`: window 0,
//!   policies 4 pods and 100 % per 15 s, selectPolicy Max;
//!   `GenerateHPAScaleDownRules`: window 300 s, 100 % per 15 s, Max).
//! * kube-controller-manager flags: `--horizontal-pod-autoscaler-sync-period`
//!   15 s, `-tolerance` 0.1, `-cpu-initialization-period` 5 min,
//!   `-initial-readiness-delay` 30 s.

use crate::engine::{SimDuration, SimTime};

/// `--horizontal-pod-autoscaler-sync-period`.
pub const SYNC_PERIOD: SimDuration = SimDuration::from_secs(15);
/// `--horizontal-pod-autoscaler-tolerance`.
pub const TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-cpu-initialization-period`.
pub const CPU_INITIALIZATION_PERIOD: SimDuration = SimDuration::from_secs(300);
/// `--horizontal-pod-autoscaler-initial-readiness-delay`.
pub const INITIAL_READINESS_DELAY: SimDuration = SimDuration::from_secs(30);
/// `--horizontal-pod-autoscaler-downscale-stabilization` (also the
/// scale-down window when `behavior.scaleDown` omits it).
pub const DOWNSCALE_STABILIZATION: SimDuration = SimDuration::from_secs(300);
/// metrics-server's `--metric-resolution`: each CPU sample is the rate over
/// this window.
pub const METRIC_WINDOW: SimDuration = SimDuration::from_secs(15);
/// `autoscaling.DefaultCPUUtilization`.
pub const DEFAULT_CPU_UTILIZATION: u32 = 80;

/// One pod as the replica calculator sees it at a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodSample {
    /// Pending (not running yet) or being deleted: ignored.
    pub pending: bool,
    /// CPU usage over the metric window, milli-cores (None: no metric yet).
    pub usage_milli: Option<u64>,
    /// Σ `resources.requests.cpu` over its containers, milli-cores.
    pub request_milli: u64,
    /// Its Ready condition.
    pub ready: bool,
    /// `status.startTime` (None: long before the run).
    pub start: Option<SimTime>,
    /// The Ready condition's `lastTransitionTime` (None: long before).
    pub ready_since: Option<SimTime>,
}

/// How `groupPods` files a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Ready,
    Unready,
    Missing,
    Ignored,
}

/// `groupPods` for the cpu resource at `now` (metric timestamp = `now`,
/// window = [`METRIC_WINDOW`]).
pub fn group(p: &PodSample, now: SimTime) -> Group {
    if p.pending {
        return Group::Ignored;
    }
    if p.usage_milli.is_none() {
        return Group::Missing;
    }
    let unready = match p.start {
        // Still within the CPU initialisation period: unready, or its
        // metric window began before it became ready.
        Some(start) if start + CPU_INITIALIZATION_PERIOD > now => {
            !p.ready || p.ready_since.is_some_and(|r| now < r + METRIC_WINDOW)
        }
        // Past it: ignored only if unready and never ready since (its
        // condition last changed within the initial readiness delay).
        start => {
            !p.ready
                && match (start, p.ready_since) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(s), Some(r)) => s + INITIAL_READINESS_DELAY > r,
                }
        }
    };
    if unready {
        Group::Unready
    } else {
        Group::Ready
    }
}

/// What `GetResourceReplicas` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub replicas: u32,
    /// `status.currentMetrics[].resource.current.averageUtilization`: the
    /// integer percent over the pods with a usable metric.
    pub utilization: u32,
    pub ready: u32,
    pub unready: u32,
    pub missing: u32,
    pub ignored: u32,
}

fn ratio(usage: &[(u64, u64)], target: u32) -> Option<(f64, u32)> {
    let total: u64 = usage.iter().map(|u| u.0).sum();
    let req: u64 = usage.iter().map(|u| u.1).sum();
    if req == 0 {
        return None;
    }
    let util = (total * 100 / req) as u32;
    Some((f64::from(util) / f64::from(target), util))
}

fn within(r: f64) -> bool {
    // `Tolerances.isWithin`: (1 - down) <= r <= (1 + up), both 0.1.
    ((1.0 - TOLERANCE)..=(1.0 + TOLERANCE)).contains(&r)
}

/// `GetResourceReplicas` for CPU utilisation `target` (%); Err is the
/// controller's message when it cannot compute (no scaling then).
pub fn resource_replicas(
    current: u32,
    target: u32,
    pods: &[PodSample],
    now: SimTime,
) -> Result<Proposal, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let groups: Vec<Group> = pods.iter().map(|p| group(p, now)).collect();
    let count = |g: Group| groups.iter().filter(|&&x| x == g).count() as u32;
    let (ready, unready, missing, ignored) = (
        count(Group::Ready),
        count(Group::Unready),
        count(Group::Missing),
        count(Group::Ignored),
    );
    let mut usage: Vec<(u64, u64)> = pods
        .iter()
        .zip(&groups)
        .filter(|(_, g)| **g == Group::Ready)
        .map(|(p, _)| (p.usage_milli.unwrap_or(0), p.request_milli))
        .collect();
    if usage.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let (r, util) = ratio(&usage, target).ok_or("no metrics returned matched known pods")?;
    let out = |replicas| Proposal {
        replicas,
        utilization: util,
        ready,
        unready,
        missing,
        ignored,
    };
    let scale_up_with_unready = unready > 0 && r > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if within(r) {
            return Ok(out(current));
        }
        return Ok(out((r * f64::from(ready)).ceil() as u32));
    }
    for (p, g) in pods.iter().zip(&groups) {
        match g {
            Group::Missing if r < 1.0 => {
                let fallback = u64::from(target.max(100));
                usage.push((p.request_milli * fallback / 100, p.request_milli));
            }
            Group::Missing if r > 1.0 => usage.push((0, p.request_milli)),
            Group::Unready if scale_up_with_unready => usage.push((0, p.request_milli)),
            _ => {}
        }
    }
    let (nr, _) = ratio(&usage, target).ok_or("no metrics returned matched known pods")?;
    if within(nr) || (r < 1.0 && nr > 1.0) || (r > 1.0 && nr < 1.0) {
        return Ok(out(current));
    }
    let n = (nr * usage.len() as f64).ceil() as u32;
    if (nr < 1.0 && n > current) || (nr > 1.0 && n < current) {
        return Ok(out(current));
    }
    Ok(out(n))
}

/// `HPAScalingPolicy.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub value: u32,
    pub period: SimDuration,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

/// `HPAScalingRules`, defaults filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub window: SimDuration,
    pub select: Select,
    pub policies: Vec<Policy>,
}

/// `spec.behavior`, defaults filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    pub up: Rules,
    pub down: Rules,
}

impl Rules {
    /// `GenerateHPAScaleUpRules` defaults.
    pub fn default_up() -> Rules {
        let p = |kind, value| Policy {
            kind,
            value,
            period: SimDuration::from_secs(15),
        };
        Rules {
            window: SimDuration::ZERO,
            select: Select::Max,
            policies: vec![p(PolicyKind::Pods, 4), p(PolicyKind::Percent, 100)],
        }
    }
    /// `GenerateHPAScaleDownRules` defaults (the window from the
    /// controller's flag).
    pub fn default_down() -> Rules {
        Rules {
            window: DOWNSCALE_STABILIZATION,
            select: Select::Max,
            policies: vec![Policy {
                kind: PolicyKind::Percent,
                value: 100,
                period: SimDuration::from_secs(15),
            }],
        }
    }
}

/// What the controller remembers per HPA between syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Unstabilised recommendations.
    recs: Vec<(SimTime, u32)>,
    /// Scale events: (time, +added / −removed).
    events: Vec<(SimTime, i64)>,
}

/// One sync's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub desired: u32,
    /// The metric's proposal (None: clamped to min/max without metrics, or
    /// the metric failed).
    pub proposal: Option<Proposal>,
    /// Why not the proposal (ScaleUpLimit, ScaleDownStabilized, …) or the
    /// metric's error; empty when the proposal was applied as is.
    pub reason: String,
}

/// The HPA's bounds and rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub min: u32,
    pub max: u32,
    pub target_cpu: u32,
    /// None: `spec.behavior` unset (the legacy rules).
    pub behavior: Option<Behavior>,
}

fn ns(t: SimTime) -> i128 {
    i128::from(t.0)
}

fn after(t: SimTime, now: SimTime, d: SimDuration) -> bool {
    ns(t) > ns(now) - i128::from(d.0)
}

impl History {
    fn changed_within(&self, now: SimTime, period: SimDuration, up: bool) -> i64 {
        self.events
            .iter()
            .filter(|(t, c)| (*c > 0) == up && after(*t, now, period))
            .map(|(_, c)| c.abs())
            .sum()
    }

    /// `stabilizeRecommendation` (legacy): the highest recommendation not
    /// older than the window; records this one.
    fn stabilize_legacy(&mut self, now: SimTime, desired: u32) -> u32 {
        let cutoff = ns(now) - i128::from(DOWNSCALE_STABILIZATION.0);
        let mut best = desired;
        let mut old = None;
        for (i, &(t, r)) in self.recs.iter().enumerate() {
            if ns(t) < cutoff {
                old = Some(i);
            } else if r > best {
                best = r;
            }
        }
        self.record(old, now, desired);
        best
    }

    fn record(&mut self, old: Option<usize>, now: SimTime, desired: u32) {
        match old {
            Some(i) => self.recs[i] = (now, desired),
            None => self.recs.push((now, desired)),
        }
    }

    /// `stabilizeRecommendationWithBehaviors`.
    fn stabilize(&mut self, now: SimTime, b: &Behavior, current: u32, desired: u32) -> u32 {
        let (mut up, mut down) = (desired, desired);
        let mut old = None;
        for (i, &(t, r)) in self.recs.iter().enumerate() {
            if after(t, now, b.up.window) {
                up = up.min(r);
            }
            if after(t, now, b.down.window) {
                down = down.max(r);
            }
            let cut = |w: SimDuration| ns(t) < ns(now) - i128::from(w.0);
            if cut(b.up.window) && cut(b.down.window) {
                old = Some(i);
            }
        }
        self.record(old, now, desired);
        current.max(up).min(down)
    }

    /// `calculateScaleUpLimitWithScalingRules` /
    /// `calculateScaleDownLimitWithBehaviors`.
    fn limit(&self, now: SimTime, current: u32, rules: &Rules, up: bool) -> i64 {
        let cur = i64::from(current);
        if rules.select == Select::Disabled {
            return cur;
        }
        // For scale-up "Max" picks the highest limit; for scale-down the
        // lowest (the biggest change either way).
        let biggest = (rules.select == Select::Max) == up;
        let mut result = if biggest { i64::MIN } else { i64::MAX };
        for p in &rules.policies {
            let added = self.changed_within(now, p.period, true);
            let deleted = self.changed_within(now, p.period, false);
            let start = cur - added + deleted;
            let v = i64::from(p.value);
            let proposed = match (p.kind, up) {
                (PolicyKind::Pods, true) => start + v,
                (PolicyKind::Pods, false) => start - v,
                (PolicyKind::Percent, true) => {
                    (start as f64 * (1.0 + v as f64 / 100.0)).ceil() as i64
                }
                (PolicyKind::Percent, false) => (start as f64 * (1.0 - v as f64 / 100.0)) as i64,
            };
            result = if biggest {
                result.max(proposed)
            } else {
                result.min(proposed)
            };
        }
        result
    }
}

/// One sync of `reconcileAutoscaler`: `current` = the target's
/// `spec.replicas`, `metric` = `GetResourceReplicas`' answer. Records the
/// recommendation and the scale event in `h`.
pub fn desired_replicas(
    h: &mut History,
    spec: &Spec,
    now: SimTime,
    current: u32,
    metric: Result<Proposal, String>,
) -> Decision {
    let d = |desired, proposal, reason: &str| Decision {
        desired,
        proposal,
        reason: reason.to_string(),
    };
    let out = if current == 0 {
        return d(0, None, "ScalingDisabled: scale to 0 turns autoscaling off");
    } else if current > spec.max {
        d(spec.max, None, "TooManyReplicas: above maxReplicas")
    } else if current < spec.min {
        d(spec.min, None, "TooFewReplicas: below minReplicas")
    } else {
        let p = match metric {
            Ok(p) => p,
            Err(e) => return d(current, None, &format!("FailedGetResourceMetric: {e}")),
        };
        let want = p.replicas;
        let (desired, reason) = match &spec.behavior {
            None => {
                let s = h.stabilize_legacy(now, want);
                let limit = (2 * current).max(4);
                let (hi, why) = if spec.max > limit {
                    (limit, "ScaleUpLimit")
                } else {
                    (spec.max, "TooManyReplicas")
                };
                if s < spec.min {
                    (spec.min, "TooFewReplicas")
                } else if s > hi {
                    (hi, why)
                } else if s != want {
                    (s, "ScaleDownStabilized")
                } else {
                    (s, "")
                }
            }
            Some(b) => {
                let s = h.stabilize(now, b, current, want);
                let stab = match s.cmp(&want) {
                    std::cmp::Ordering::Equal => "",
                    _ if want >= current => "ScaleUpStabilized",
                    _ => "ScaleDownStabilized",
                };
                if s > current {
                    let limit = h.limit(now, current, &b.up, true).max(i64::from(current));
                    let (hi, why) = if i64::from(spec.max) > limit {
                        (limit as u32, "ScaleUpLimit")
                    } else {
                        (spec.max, "TooManyReplicas")
                    };
                    if s > hi { (hi, why) } else { (s, stab) }
                } else if s < current {
                    let limit = h
                        .limit(now, current, &b.down, false)
                        .min(i64::from(current));
                    let (lo, why) = if i64::from(spec.min) < limit {
                        (limit.max(0) as u32, "ScaleDownLimit")
                    } else {
                        (spec.min, "TooFewReplicas")
                    };
                    if s < lo { (lo, why) } else { (s, stab) }
                } else {
                    (s, stab)
                }
            }
        };
        d(desired, Some(p), reason)
    };
    // `storeScaleEvent` (only with a behavior: the legacy rules keep none).
    if out.desired != current && spec.behavior.is_some() {
        h.events
            .push((now, i64::from(out.desired) - i64::from(current)));
    }
    out
}

#[cfg(test)]
mod tests;
