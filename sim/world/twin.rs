//! Twin recorders: a Service and a Deployment that see exactly the same
//! requests share one recorder while the replication runs.
//!
//! Why: every request at a pod is recorded twice, once for its Service and
//! once for the pod's workload, and in most scenarios (M/M/c, isotope's
//! graphs, Bookinfo without versions) a Service and its Deployment are a
//! one-to-one pair, so both recorders receive the same `requests` counts and
//! the same (batch, latency, status) records in the same order. Recording
//! only the Service's and copying it to the workload at the end gives
//! identical recorders for half the work and half the memory touched per
//! request (on a 1,000-service mesh, recorder cache misses dominate).
//!
//! A pair needs: the Service's ports are backed by that one Deployment only,
//! and no other Service selects it, so a request reaches the Deployment's
//! pods exactly when it targets the Service. That holds when every pod
//! choice comes from the Service's endpoints (kube-proxy, keep-alive pools,
//! ingress-nginx); with a mesh (routes, subsets, ServiceEntries) or pod
//! lifecycle changes it is not proven, so there are no pairs then.

use super::World;
use crate::workload::load::NONE;

/// Per deployment: its twin Service, or NONE. `backing[s][p]` lists the
/// deployments backing Service `s`'s port `p`.
pub(super) fn pairs(backing: &[Vec<Vec<usize>>], deployments: usize) -> Vec<u32> {
    // Per deployment: the one Service backed by it (NONE = none yet, MANY = several).
    const MANY: u32 = NONE - 1;
    let mut svc_of = vec![NONE; deployments];
    // Per service: its one backing deployment (NONE = none, MANY = several).
    let mut dep_of = vec![NONE; backing.len()];
    for (s, ports) in backing.iter().enumerate() {
        for &d in ports.iter().flatten() {
            let d32 = d as u32;
            dep_of[s] = match dep_of[s] {
                NONE => d32,
                x if x == d32 => d32,
                _ => MANY,
            };
            svc_of[d] = match svc_of[d] {
                NONE => s as u32,
                x if x == s as u32 => x,
                _ => MANY,
            };
        }
    }
    svc_of
        .iter()
        .enumerate()
        .map(|(d, &s)| {
            if s != NONE && s != MANY && dep_of[s as usize] == d as u32 {
                s
            } else {
                NONE
            }
        })
        .collect()
}

impl World<'_> {
    /// Whether deployment `dep` records into its own recorder (false: its
    /// twin Service `svc` records for both).
    #[inline]
    pub(super) fn own_recorder(&self, dep: usize, svc: usize) -> bool {
        match self.twin.get(dep) {
            Some(&s) if s != NONE => {
                debug_assert_eq!(s as usize, svc, "a paired workload serves only its Service");
                false
            }
            _ => true,
        }
    }

    /// At the end: each paired workload's recorder is its Service's.
    pub(super) fn copy_twins(&mut self) {
        for (d, &s) in self.twin.iter().enumerate() {
            if s == NONE {
                continue;
            }
            let own = &self.rec_dep[d];
            assert!(
                own.requests == 0 && own.count == 0,
                "a paired workload's recorder was written to directly (world/twin.rs)"
            );
            // Twins exist only without proxies, where a Service counts no
            // flags (its flags are its callers' proxies' view,
            // world/service_flags.rs), so the copy gives the workload none.
            debug_assert!(self.rec_svc[s as usize].flags.is_empty());
            self.rec_dep[d] = self.rec_svc[s as usize].clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pairs;
    use crate::workload::load::NONE;

    #[test]
    fn one_to_one_only() {
        // s0 → d0 (pair); s1 → d1 and d2 (no pair); s2 and s3 → d3 (no
        // pair); s4 has two ports, both d4 (pair); d5 unselected.
        let backing = vec![
            vec![vec![0]],
            vec![vec![1, 2]],
            vec![vec![3]],
            vec![vec![3]],
            vec![vec![4], vec![4]],
        ];
        assert_eq!(pairs(&backing, 6), vec![0, NONE, NONE, NONE, 4, NONE]);
    }
}
