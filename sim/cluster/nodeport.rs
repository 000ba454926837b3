//! NodePort: every node listens on the Service's node port.
//!
//! Why: a NodePort (and every LoadBalancer, which is built on node ports) is
//! where traffic from outside enters the cluster, and `externalTrafficPolicy`
//! decides what the receiving node does with it:
//! * `Cluster` (default): the node picks uniformly among **all** ready
//!   endpoints; a remote endpoint costs an extra node-to-node hop and the
//!   packet is source-NATed to the node (the pod sees the node's IP).
//! * `Local`: only endpoints on the receiving node; a node without one
//!   **drops** the connection (the client sees a connect timeout, not a reset).
//!
//! Node ports come from 30000–32767. The API server allocates unset ones at
//! random; meshsim allocates the lowest free port, visiting Services in
//! (namespace, name, port) order after reserving every explicitly set port, so
//! a scenario always gets the same numbers.

use crate::engine::SimDuration;

/// The default `--service-node-port-range`.
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;

/// Kubernetes networking settings of one Service beyond its ClusterIP ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceNet {
    /// `externalTrafficPolicy: Local`.
    pub local: bool,
    /// Node port of each Service port (None for ClusterIP Services, or unset
    /// until allocation).
    pub node_ports: Vec<Option<u16>>,
    /// `healthCheckNodePort` (LoadBalancer with `Local` only).
    pub health_check_node_port: Option<u16>,
    /// `sessionAffinity: ClientIP` with its timeout.
    pub affinity: Option<SimDuration>,
    /// `internalTrafficPolicy: Local`: in-cluster clients use only endpoints on
    /// their own node (none there ⇒ the connection is dropped).
    pub internal_local: bool,
}

/// The node ports one Service wants: (slot, explicit value).
pub type PortWants = Vec<(usize, Option<u16>)>;
/// Chosen node ports of one Service: (slot, port).
pub type PortsGot = Vec<(usize, u16)>;

/// Allocates every unset node port. `wants[i]` = (sort key, ports wanted as
/// (slot, explicit value)); returns the chosen value per slot, plus the slots
/// whose explicit value was already taken (the API server rejects those:
/// "provided port is already allocated").
pub fn allocate(wants: &[(String, PortWants)]) -> (Vec<PortsGot>, Vec<(usize, usize, u16)>) {
    let mut used = vec![false; (NODE_PORT_MAX - NODE_PORT_MIN) as usize + 1];
    let mut conflicts = Vec::new();
    let mut out: Vec<PortsGot> = vec![Vec::new(); wants.len()];
    for (i, (_, ports)) in wants.iter().enumerate() {
        for &(slot, p) in ports {
            if let Some(p) = p {
                let u = &mut used[(p - NODE_PORT_MIN) as usize];
                if *u {
                    conflicts.push((i, slot, p));
                } else {
                    *u = true;
                    out[i].push((slot, p));
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..wants.len()).collect();
    order.sort_by(|&a, &b| wants[a].0.cmp(&wants[b].0));
    let mut next = 0usize;
    for i in order {
        for &(slot, p) in &wants[i].1 {
            if p.is_none() {
                while next < used.len() && used[next] {
                    next += 1;
                }
                if next < used.len() {
                    used[next] = true;
                    out[i].push((slot, NODE_PORT_MIN + next as u16));
                }
            }
        }
    }
    (out, conflicts)
}

/// The endpoints a node forwards a node-port connection to: all ready ones
/// (`Cluster`), or only those on `node` (`Local`).
pub fn candidates<'a>(
    ready: &'a [u32],
    local: bool,
    node: u16,
    node_of: &[u16],
    buf: &'a mut Vec<u32>,
) -> &'a [u32] {
    if !local {
        return ready;
    }
    buf.clear();
    buf.extend(
        ready
            .iter()
            .copied()
            .filter(|&p| node_of[p as usize] == node),
    );
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_first_then_lowest_free_in_name_order() {
        let wants = vec![
            ("default/b".to_string(), vec![(0, None), (1, Some(30000))]),
            ("default/a".to_string(), vec![(0, None)]),
            ("default/c".to_string(), vec![(0, Some(30000))]),
        ];
        let (out, conflicts) = allocate(&wants);
        assert_eq!(out[1], vec![(0, 30001)]);
        assert_eq!(out[0], vec![(1, 30000), (0, 30002)]);
        assert_eq!(conflicts, vec![(2, 0, 30000)]);
    }

    #[test]
    fn local_keeps_node_endpoints_only() {
        let node_of = [0, 1, 0];
        let mut buf = Vec::new();
        assert_eq!(candidates(&[0, 1, 2], true, 0, &node_of, &mut buf), &[0, 2]);
        assert_eq!(
            candidates(&[0, 1, 2], false, 0, &node_of, &mut buf),
            &[0, 1, 2]
        );
        assert!(candidates(&[0, 2], true, 1, &node_of, &mut buf).is_empty());
    }
}
