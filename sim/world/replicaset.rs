//! The ReplicaSet controller: the one place pods are created and deleted
//! for a count — by the HPA (through the Deployment's scale subresource),
//! by a timed `scale` or `rollout` (through the Deployment controller,
//! `rollout.rs`), and after a drain or an eviction.
//!
//! Why one room: Kubernetes has one controller for this, and two copies
//! (an HPA's and the timed events') disagreed on names, node choice and
//! which pod a scale-down deletes, so an HPA and a rollout on the same
//! Deployment could not share its pods.
//!
//! # `manageReplicas` (kubernetes `pkg/controller/replicaset/replica_set.go`)
//! `diff = len(activePods) − spec.replicas`: below, it creates pods (each
//! in the ReplicaSet's first empty slot, on the node the scheduler picks:
//! `schedule`, as `cluster/topology.rs` places pods at the start; a pod
//! that fits no node is created and stays Pending — meshsim does not
//! retry scheduling it later); above, `getPodsToDelete` ranks the active
//! pods with `getPodsRankedByRelatedPodsOnSameNode` (rank = active pods of
//! *any* ReplicaSet of the same Deployment on the pod's node,
//! `getIndirectlyRelatedPods`) and sorts them by `ActivePodsWithRanks.Less`
//! (`pkg/controller/controller_utils.go`, LogarithmicScaleDown GA since
//! 1.31), deleting the first `diff`:
//! 1. unassigned < assigned; 2. Pending < Unknown < Running; 3. not Ready
//!    < Ready; 4. `pod-deletion-cost` (no annotation: all 0); 5. more
//!    related pods on its node first; 6. Ready for less time first;
//!    7. more restarts first; 8. newer first.
//!
//! In 6 and 8 times compare as ⌊log2(now − t)⌋ (nanoseconds), so pods made
//! close together tie; the real tie-break is the random UID, meshsim's is
//! the higher slot (the pod listed later). Pods present when the run
//! starts were created and became Ready long before. Shortcuts: Kubernetes
//! goes to the UID as soon as two ready times differ inside one bucket
//! (meshsim still compares restarts and age first, a total order); 7
//! counts the pod's restarts summed over containers (Kubernetes: the
//! container with the most); a pod of a lost node keeps phase Running
//! (the node controller marks it not Ready, which rule 3 sees).
//!
//! The controller reacts at once (no informer or queue latency) and
//! creates or deletes in one step (no `slowStartBatch`).

use super::World;
use super::life_step::Part;
use crate::cluster::node::{NO_NODE, NodeIx};
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::Scenario;
use std::cmp::Reverse;

/// Who changed the count: only the timeline's wording depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    /// The HPA set the Deployment's replicas.
    Hpa,
    /// A timed event, a drain, an eviction.
    Controller,
}

/// Per `Scenario::deployments` entry (ReplicaSet): its pods when the run
/// starts; the other slots are empty until the controller fills them.
pub(super) fn initial_replicas(spec: &Scenario) -> Vec<u32> {
    let plan = &spec.chaos.timed;
    let mut v: Vec<u32> = if plan.initial.is_empty() {
        spec.deployments.iter().map(|d| d.replicas).collect()
    } else {
        plan.initial.clone()
    };
    for a in &spec.autoscalers {
        v[a.deployment] = a.initial;
    }
    v
}

/// ⌊log2(now − t)⌋ of a timestamp for rules 6 and 8 (`logarithmicRankDiff`);
/// None (before the run) is older than any time in it.
fn log_age(now: SimTime, t: Option<SimTime>) -> i64 {
    match t {
        None => i64::MAX,
        Some(t) => {
            let d = now.0.saturating_sub(t.0);
            if d == 0 {
                -1
            } else {
                63 - i64::from(d.leading_zeros())
            }
        }
    }
}

impl World<'_> {
    /// `manageReplicas`: creates or deletes pods of `rs` until it runs
    /// `want[rs]`.
    pub(super) fn replica_set_sync(&mut self, rs: usize, cause: Cause) {
        let want = self.timed().want[rs];
        let was = self.timed().shown[rs];
        if was != want && self.timed().announce[rs] {
            // The timeline says when replicas changed (on the ReplicaSet's
            // first slot, named after the ReplicaSet).
            self.timed().shown[rs] = want;
            if let Some(first) =
                (0..self.pods.len() as u32).find(|&p| self.dep_of[p as usize] as usize == rs)
            {
                let name = self.spec.deployments[rs].name.clone();
                self.pod_event_of(first, name, "scaled", format!("replicas {was} → {want}"));
            }
        }
        let live = self.live(rs);
        if live > want {
            let order = self.pods_to_delete(rs);
            let why = match cause {
                Cause::Hpa => "deleted by the ReplicaSet (HPA scale-down)",
                Cause::Controller => "deleted (ReplicaSet scaled down)",
            };
            for &p in order.iter().take((live - want) as usize) {
                self.delete_pod(p, why);
            }
        } else {
            for _ in live..want {
                if !self.create_pod(rs, cause) {
                    break;
                }
            }
        }
    }

    /// Active pods of `rs`, those to delete first first
    /// (`getPodsToDelete`).
    fn pods_to_delete(&self, rs: usize) -> Vec<u32> {
        let l = self.life.as_ref().expect("lifecycle");
        let now = self.now();
        let active = |p: usize| !l.pods[p].absent && l.pods[p].terminating == 0;
        // Rank: active pods of the Deployment's ReplicaSets per node.
        let related = l.timed.related(rs);
        let mut on_node = vec![0u32; self.spec.network.cluster.nodes.len()];
        for p in 0..self.pods.len() {
            let n = self.node_of[p];
            if n != NO_NODE && active(p) && related.contains(&(self.dep_of[p] as usize)) {
                on_node[n as usize] += 1;
            }
        }
        let mut mine: Vec<u32> = (0..self.pods.len() as u32)
            .filter(|&p| self.dep_of[p as usize] as usize == rs && active(p as usize))
            .collect();
        mine.sort_by_key(|&p| {
            let pl = &l.pods[p as usize];
            let n = self.node_of[p as usize];
            let ready = self.pods[p as usize].ready;
            (
                n != NO_NODE,
                n != NO_NODE && !(pl.created.is_some() && pl.running.is_none()),
                ready,
                Reverse(if n == NO_NODE { 0 } else { on_node[n as usize] }),
                if ready { log_age(now, pl.ready_at) } else { 0 },
                Reverse(pl.restart_count),
                log_age(now, pl.created),
                Reverse(p),
            )
        });
        mine
    }

    /// Active pods of `rs` (neither gone nor terminating: `FilterActivePods`).
    pub(super) fn live(&self, rs: usize) -> u32 {
        let l = self.life.as_ref().expect("lifecycle");
        (0..self.pods.len())
            .filter(|&p| {
                self.dep_of[p] as usize == rs && !l.pods[p].absent && l.pods[p].terminating == 0
            })
            .count() as u32
    }

    /// Ready pods of a ReplicaSet (`status.availableReplicas`, minReadySeconds 0).
    pub(super) fn available(&self, rs: usize) -> u32 {
        let l = self.life.as_ref().expect("lifecycle");
        (0..self.pods.len())
            .filter(|&p| self.dep_of[p] as usize == rs && !l.pods[p].absent && self.pods[p].ready)
            .count() as u32
    }

    /// A pod of `rs` is created in its first empty slot, on the node the
    /// scheduler picks (Pending when none fits), named
    /// `<ReplicaSet>-<n>` in creation order. False when no slot is left.
    fn create_pod(&mut self, rs: usize, cause: Cause) -> bool {
        let l = self.life.as_ref().expect("lifecycle");
        let Some(p) = (0..self.pods.len() as u32)
            .find(|&p| self.dep_of[p as usize] as usize == rs && l.pods[p as usize].absent)
        else {
            return false;
        };
        let node = self.schedule(rs);
        let now = self.now();
        self.node_of[p as usize] = node.unwrap_or(NO_NODE);
        let d = &self.spec.deployments[rs];
        let l = self.life.as_mut().expect("lifecycle");
        let name = format!("{}-{}", d.name, l.next_name[rs]);
        l.next_name[rs] += 1;
        let pl = &mut l.pods[p as usize];
        pl.absent = false;
        pl.unreachable = false;
        pl.failing = false;
        pl.exempt = node.is_none();
        pl.epoch += 1;
        pl.name = name;
        pl.created = Some(now);
        pl.running = None;
        pl.terminating = 0;
        let detail = match (node, cause) {
            (None, Cause::Hpa) => "by the ReplicaSet (HPA); fits no node: Pending".to_string(),
            (None, Cause::Controller) => "fits no node: Pending".to_string(),
            (Some(_), Cause::Hpa) => "by the ReplicaSet (HPA scale-up)".to_string(),
            (Some(n), Cause::Controller) => {
                format!("on {}", self.spec.network.cluster.nodes[n as usize].name)
            }
        };
        self.pod_event(p, "created", detail);
        if node.is_some() {
            self.restart_later(p, Part::Pod, SimDuration::ZERO);
        }
        true
    }

    /// The default scheduler's outcome for identical pods (topology.rs):
    /// among schedulable nodes matching the template's `nodeSelector` with
    /// room, the fewest pods of this ReplicaSet in the zone, then on the
    /// node, then in total, then file order.
    fn schedule(&self, rs: usize) -> Option<NodeIx> {
        let net = &self.spec.network.cluster;
        let l = self.life.as_ref().expect("lifecycle");
        let sel = &self.spec.deployments[rs].node_selector;
        let mut total = vec![0u32; net.nodes.len()];
        let mut mine = vec![0u32; net.nodes.len()];
        let mut zone = vec![0u32; net.zones.len()];
        for p in 0..self.pods.len() {
            let n = self.node_of[p];
            if l.pods[p].absent || n == NO_NODE {
                continue;
            }
            total[n as usize] += 1;
            if self.dep_of[p] as usize == rs {
                mine[n as usize] += 1;
                zone[net.nodes[n as usize].zone as usize] += 1;
            }
        }
        (0..net.nodes.len())
            .filter(|&i| !l.timed.cordoned[i])
            .filter(|&i| {
                sel.iter()
                    .all(|(k, v)| net.nodes[i].labels.get(k) == Some(v))
            })
            .filter(|&i| net.nodes[i].max_pods.is_none_or(|m| total[i] < m))
            .min_by_key(|&i| (zone[net.nodes[i].zone as usize], mine[i], total[i], i))
            .map(|i| i as NodeIx)
    }

    /// A pod is deleted: gracefully when its pods linger
    /// (`termination.rs`), else it dies at once.
    pub(super) fn delete_pod(&mut self, p: u32, why: &str) {
        if !self.terminate(p, why) {
            self.kill_pod(p, why);
        }
    }

    /// A pod dies at once; its slot is empty afterwards.
    pub(super) fn kill_pod(&mut self, p: u32, why: &str) {
        self.pod_event(p, "died", why.to_string());
        let l = self.life.as_mut().expect("lifecycle");
        l.retire(p);
        l.pods[p as usize].absent = true;
        self.reset_pod(p, 0, why);
        self.set_ready(p, false, "pod deleted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_age_buckets_by_powers_of_two_and_pre_run_is_oldest() {
        let now = SimTime(100_000_000_000);
        // 30 s and 24 s ago: both in [2^34, 2^35) ns — a tie.
        let a = log_age(now, Some(SimTime(70_000_000_000)));
        let b = log_age(now, Some(SimTime(76_000_000_000)));
        assert_eq!((a, b), (34, 34));
        // 8 s ago is two buckets younger.
        assert_eq!(log_age(now, Some(SimTime(92_000_000_000))), 32);
        assert_eq!(log_age(now, Some(now)), -1);
        assert_eq!(log_age(now, None), i64::MAX);
    }
}
