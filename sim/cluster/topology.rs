//! Pod placement: which node each replica runs on.
//!
//! Why: per-pod load under NodePort `Local` and LoadBalancer `Local` is
//! (share of the node) ÷ (pods on that node), so where the scheduler puts pods
//! decides how uneven traffic is. The default scheduler scores nodes with the
//! built-in topology spread constraints (`topology.kubernetes.io/zone`, then
//! `kubernetes.io/hostname`, both `ScheduleAnyway`) and least-allocated
//! resources. meshsim replaces the scores with a deterministic lexicographic
//! rule that gives the same outcome for identical pods:
//! among nodes that match `nodeSelector` and have room, pick the one with
//! (fewest pods of this Deployment in its zone, fewest on the node, fewest pods
//! in total, first in file order). So replicas spread over zones first, then
//! over nodes, and an empty node is preferred over a busy one.
//! Pods that fit nowhere stay `Pending`: they are never endpoints.

use super::node::{ClusterNet, NO_NODE, NodeIx};
use std::collections::BTreeMap;

/// Places `replicas[d]` pods of each deployment `d` (in order) on `net`'s nodes.
/// `selectors[d]` is the pod template's `nodeSelector`. Returns, per deployment,
/// the node of each replica (`NO_NODE` = Pending).
pub fn place(
    net: &ClusterNet,
    replicas: &[u32],
    selectors: &[&BTreeMap<String, String>],
) -> Vec<Vec<NodeIx>> {
    let n = net.nodes.len();
    let mut total = vec![0u32; n];
    let mut out = Vec::with_capacity(replicas.len());
    for (d, &r) in replicas.iter().enumerate() {
        let eligible: Vec<usize> = (0..n)
            .filter(|&i| {
                selectors[d]
                    .iter()
                    .all(|(k, v)| net.nodes[i].labels.get(k) == Some(v))
            })
            .collect();
        let mut on_node = vec![0u32; n];
        let mut in_zone = vec![0u32; net.zones.len()];
        let mut mine = Vec::with_capacity(r as usize);
        for _ in 0..r {
            let best = eligible
                .iter()
                .copied()
                .filter(|&i| net.nodes[i].max_pods.is_none_or(|m| total[i] < m))
                .min_by_key(|&i| (in_zone[net.nodes[i].zone as usize], on_node[i], total[i], i));
            match best {
                Some(i) => {
                    total[i] += 1;
                    on_node[i] += 1;
                    in_zone[net.nodes[i].zone as usize] += 1;
                    mine.push(i as NodeIx);
                }
                None => mine.push(NO_NODE),
            }
        }
        out.push(mine);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::node::{HOSTNAME_LABEL, Node};

    fn net(zones: &[u16], max: Option<u32>) -> ClusterNet {
        let mut c = ClusterNet::implicit();
        c.zones = vec!["a".into(), "b".into()];
        c.nodes = zones
            .iter()
            .enumerate()
            .map(|(i, &z)| {
                let mut labels = BTreeMap::new();
                labels.insert(HOSTNAME_LABEL.to_string(), format!("n{i}"));
                labels.insert("pool".to_string(), if i == 0 { "x" } else { "y" }.into());
                Node {
                    name: format!("n{i}"),
                    zone: z,
                    labels,
                    max_pods: max,
                }
            })
            .collect();
        c
    }

    #[test]
    fn spreads_zones_then_nodes_and_honours_selector_and_capacity() {
        let c = net(&[0, 0, 1], None);
        let none = BTreeMap::new();
        // zone a has 2 nodes, zone b 1: 4 pods go a, b, a, b → n0, n2, n1, n2.
        assert_eq!(place(&c, &[4], &[&none]), vec![vec![0, 2, 1, 2]]);
        let mut sel = BTreeMap::new();
        sel.insert("pool".to_string(), "x".to_string());
        assert_eq!(place(&c, &[2], &[&sel]), vec![vec![0, 0]]);
        let c = net(&[0, 1], Some(1));
        assert_eq!(place(&c, &[3], &[&none]), vec![vec![0, 1, NO_NODE]]);
    }
}
