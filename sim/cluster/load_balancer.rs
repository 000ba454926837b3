//! The cloud load balancer in front of a `type: LoadBalancer` Service.
//!
//! Why: it spreads *connections* over nodes, not requests over pods. With
//! `externalTrafficPolicy: Cluster` every node passes the provider's health
//! check and gets an equal share, then kube-proxy spreads again over all pods.
//! With `Local` kube-proxy answers the `healthCheckNodePort` (`/healthz`) with
//! 200 only on nodes that have a ready local endpoint, so the LB sends equal
//! shares to those nodes only and per-pod load is (node share) ÷ (pods on that
//! node): uneven whenever pods are unevenly spread. Cloud LBs hash the flow
//! 5-tuple, modelled as a uniform draw per connection. With no cloud
//! (`Cluster.spec.cloud: none`) the external IP stays pending and nothing
//! enters this way. Health-check timing (probe interval, thresholds) is not
//! modelled: the check result is the steady-state one.

use super::node::NodeIx;
use crate::engine::rng::{SimRng, below};

/// Nodes that receive traffic: all nodes (`Cluster`), or those with a ready
/// local endpoint (`Local`), as an ascending list.
pub fn healthy_nodes(nodes: usize, local: bool, ready: &[u32], node_of: &[NodeIx]) -> Vec<NodeIx> {
    if !local {
        return (0..nodes as NodeIx).collect();
    }
    let mut has = vec![false; nodes];
    for &p in ready {
        let n = node_of[p as usize];
        if (n as usize) < nodes {
            has[n as usize] = true;
        }
    }
    (0..nodes as NodeIx).filter(|&n| has[n as usize]).collect()
}

/// One connection's node.
#[inline]
pub fn pick_node(healthy: &[NodeIx], rng: &mut SimRng) -> Option<NodeIx> {
    match healthy.len() {
        0 => None,
        1 => Some(healthy[0]),
        n => Some(healthy[below(rng, n as u64) as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_only_nodes_with_ready_pods() {
        let node_of = [0, 0, 2];
        assert_eq!(healthy_nodes(3, false, &[0, 1, 2], &node_of), vec![0, 1, 2]);
        assert_eq!(healthy_nodes(3, true, &[0, 1, 2], &node_of), vec![0, 2]);
        assert_eq!(healthy_nodes(3, true, &[], &node_of), Vec::<NodeIx>::new());
    }
}
