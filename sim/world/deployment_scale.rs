//! The Deployment controller when `spec.replicas` changes — an HPA's
//! scale, a timed `scale` event — possibly in the middle of a rollout:
//! kubernetes `pkg/controller/deployment/sync.go` `scale()`.
//!
//! Why a room of its own: it is the one place two writers of a Deployment
//! meet (the HPA through the scale subresource, the rollout through the
//! template), and Kubernetes resolves it with its own arithmetic, apart
//! from the rolling update's (`rollout.rs`).
//!
//! # `syncDeployment` → `isScalingEvent` → `sync` → `scale`
//! Each ReplicaSet carries the annotations `deployment.kubernetes.io/
//! desired-replicas` and `max-replicas` (the Deployment's replicas, and
//! replicas + maxSurge, when the Deployment controller last sized it:
//! `SetReplicasAnnotations`). A sync where an active ReplicaSet's
//! `desired-replicas` differs from `spec.replicas` is a scaling event and
//! runs `scale()` instead of the rollout:
//! * one active ReplicaSet (or none: the newest) takes `spec.replicas`
//!   (`FindActiveOrLatest`);
//! * a saturated new ReplicaSet (`IsSaturated`: its replicas, annotation
//!   and available pods all equal `spec.replicas`) scales every old one
//!   to 0;
//! * otherwise, with `RollingUpdate`, the difference between
//!   `replicas + maxSurge` and the pods of all active ReplicaSets is
//!   shared in proportion (`GetProportion`, `getReplicaSetFraction`:
//!   `round(rs.replicas × (replicas + maxSurge) / max-replicas) −
//!   rs.replicas`, capped by what is left), largest ReplicaSet first
//!   (`ReplicaSetsBySizeNewer` up, `ReplicaSetsBySizeOlder` down), the
//!   rounding leftover going to the first.
//!
//! The next sync is no scaling event any more and the rollout goes on
//! (`rolloutRolling`) with the new sizes.

use super::World;
use crate::scenario::spec::events::Strategy;
use std::cmp::Reverse;

impl World<'_> {
    /// `SetReplicasAnnotations` for a ReplicaSet the Deployment controller
    /// just sized: (desired-replicas, max-replicas).
    pub(super) fn annotate(&mut self, r: usize, rs: usize) {
        let t = self.timed();
        let desired = t.desired[r];
        let surge = t.strategy(r).fenceposts(desired).0;
        t.annot[rs] = (desired, desired + surge);
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for another
    /// `spec.replicas`.
    pub(super) fn scaling_event(&mut self, r: usize, sets: &[usize]) -> bool {
        let t = self.timed();
        let desired = t.desired[r];
        sets.iter()
            .any(|&s| t.want[s] > 0 && t.annot[s].0 != desired)
    }

    /// `scale()`: the new sizes of `sets` (oldest first, the last is the
    /// new ReplicaSet). True when a size or an annotation changed.
    pub(super) fn scale(&mut self, r: usize, sets: &[usize]) -> bool {
        let (&new, olds) = sets.split_last().expect("one ReplicaSet at least");
        let t = self.timed();
        let desired = t.desired[r];
        let strategy = t.strategy(r);
        let active: Vec<usize> = sets.iter().copied().filter(|&s| t.want[s] > 0).collect();
        // FindActiveOrLatest.
        let only = match active.len() {
            0 => Some(new),
            1 => Some(active[0]),
            _ => None,
        };
        if let Some(rs) = only {
            let t = self.timed();
            let before = (t.want[rs], t.annot[rs]);
            t.want[rs] = desired;
            self.annotate(r, rs);
            let t = self.timed();
            return (t.want[rs], t.annot[rs]) != before;
        }
        // IsSaturated.
        if t.want[new] == desired && t.annot[new].0 == desired && self.available(new) == desired {
            for &o in olds {
                let t = self.timed();
                if t.want[o] > 0 {
                    t.want[o] = 0;
                    self.annotate(r, o);
                }
            }
            return true;
        }
        let Strategy::Rolling { .. } = strategy else {
            return false;
        };
        let surge = strategy.fenceposts(desired).0;
        let allowed = if desired > 0 { desired + surge } else { 0 };
        let t = self.timed();
        let total: u32 = active.iter().map(|&s| t.want[s]).sum();
        let to_add = i64::from(allowed) - i64::from(total);
        // Largest first; equal sizes newest first up, oldest first down
        // (a later index is a newer ReplicaSet).
        let mut order = active.clone();
        if to_add > 0 {
            order.sort_by_key(|&s| (Reverse(t.want[s]), Reverse(s)));
        } else {
            order.sort_by_key(|&s| (Reverse(t.want[s]), s));
        }
        let mut added = 0i64;
        let mut size: Vec<i64> = Vec::with_capacity(order.len());
        for &s in &order {
            let cur = i64::from(t.want[s]);
            let p = if to_add == 0 || cur == 0 || to_add == added {
                0
            } else {
                // getReplicaSetFraction.
                let fraction = if desired == 0 {
                    -cur
                } else {
                    // math.Round of a non-negative ratio, in integers.
                    let max = i64::from(t.annot[s].1.max(1));
                    (2 * cur * i64::from(desired + surge) + max) / (2 * max) - cur
                };
                let left = to_add - added;
                if to_add > 0 {
                    fraction.min(left)
                } else {
                    fraction.max(left)
                }
            };
            size.push(cur + p);
            added += p;
        }
        if let Some(first) = size.first_mut() {
            *first = (*first + to_add - added).max(0);
        }
        for (&s, &n) in order.iter().zip(&size) {
            self.timed().want[s] = n as u32;
            self.annotate(r, s);
        }
        true
    }
}
