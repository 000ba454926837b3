//! Nodes, zones and the network between them (the meshsim `Cluster` kind).
//!
//! Why: capacity questions about Kubernetes networking are questions about
//! *where* things run. A NodePort hop to another node, a cross-zone hop, a node
//! with no local pod under `externalTrafficPolicy: Local`: none of these exist
//! without nodes. Without a `Cluster` object there is one implicit node and
//! every hop takes no time, which is exactly the behaviour before nodes existed.

use crate::engine::SimDuration;
use crate::engine::dist::Dist;
use std::collections::BTreeMap;

/// Index into [`ClusterNet::nodes`].
pub type NodeIx = u16;
/// "No node": an external client, or a pod the scheduler could not place.
pub const NO_NODE: NodeIx = u16::MAX;

/// The Kubernetes well-known zone label.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The Kubernetes well-known region label (`Cluster` node `region`).
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// Istio's sub-zone node label (`Cluster` node `subzone`).
pub const SUBZONE_LABEL: &str = "topology.istio.io/subzone";
/// The Kubernetes well-known host name label.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// One Kubernetes node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// Index into [`ClusterNet::zones`].
    pub zone: u16,
    /// Node labels, including `kubernetes.io/hostname` and the zone label.
    pub labels: BTreeMap<String, String>,
    /// Most pods the node accepts (`status.capacity.pods`); None = unlimited.
    pub max_pods: Option<u32>,
}

/// Whether a cloud controller provisions load balancers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// Bare metal, kind, minikube without a tunnel: LoadBalancer Services keep
    /// `EXTERNAL-IP <pending>` and no traffic can enter through them.
    None,
    /// A cloud load balancer spreading connections uniformly over healthy nodes.
    Generic,
}

/// One-way latency of a network hop, by where its two ends are.
#[derive(Clone, Debug, PartialEq)]
pub struct HopLatency {
    pub same_node: Dist,
    pub same_zone: Dist,
    pub cross_zone: Dist,
    /// From a client outside the cluster (or the cloud load balancer) to a node.
    pub external: Dist,
}

impl HopLatency {
    pub fn zero() -> Self {
        let z = Dist::Constant(SimDuration::ZERO);
        HopLatency {
            same_node: z.clone(),
            same_zone: z.clone(),
            cross_zone: z.clone(),
            external: z,
        }
    }
    /// True when every hop takes no time (the inline fast path applies).
    pub fn is_zero(&self) -> bool {
        [
            &self.same_node,
            &self.same_zone,
            &self.cross_zone,
            &self.external,
        ]
        .iter()
        .all(|d| **d == Dist::Constant(SimDuration::ZERO))
    }
}

/// Settings of the modelled ingress-nginx controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressControllerSpec {
    pub replicas: u32,
    /// `externalTrafficPolicy` of its LoadBalancer Service (chart default Cluster).
    pub local: bool,
}

/// The validated `Cluster` object.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterNet {
    pub name: String,
    pub nodes: Vec<Node>,
    pub zones: Vec<String>,
    pub latency: HopLatency,
    /// TCP connection setup before the first request on a new connection.
    pub handshake: Dist,
    pub cloud: Cloud,
    pub ingress_controller: IngressControllerSpec,
}

impl ClusterNet {
    /// The implicit cluster of a scenario without a `Cluster` object.
    pub fn implicit() -> Self {
        let mut labels = BTreeMap::new();
        labels.insert(HOSTNAME_LABEL.to_string(), "node".to_string());
        ClusterNet {
            name: "implicit".into(),
            nodes: vec![Node {
                name: "node".into(),
                zone: 0,
                labels,
                max_pods: None,
            }],
            zones: vec![String::new()],
            latency: HopLatency::zero(),
            handshake: Dist::Constant(SimDuration::ZERO),
            cloud: Cloud::Generic,
            ingress_controller: IngressControllerSpec {
                replicas: 1,
                local: false,
            },
        }
    }

    /// True when no hop and no handshake takes time.
    pub fn is_instant(&self) -> bool {
        self.latency.is_zero() && self.handshake == Dist::Constant(SimDuration::ZERO)
    }

    pub fn node_ix(&self, name: &str) -> Option<NodeIx> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| i as NodeIx)
    }
}

/// Which latency class a hop between `a` and `b` belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    SameNode,
    SameZone,
    CrossZone,
    External,
}

impl Hop {
    pub fn between(net: &ClusterNet, a: NodeIx, b: NodeIx) -> Hop {
        if a == NO_NODE || b == NO_NODE {
            Hop::External
        } else if a == b {
            Hop::SameNode
        } else if net.nodes[a as usize].zone == net.nodes[b as usize].zone {
            Hop::SameZone
        } else {
            Hop::CrossZone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_classes() {
        let mut net = ClusterNet::implicit();
        let mut n = net.nodes[0].clone();
        n.name = "b".into();
        net.nodes.push(n.clone());
        n.name = "c".into();
        n.zone = 1;
        net.nodes.push(n);
        assert_eq!(Hop::between(&net, 0, 0), Hop::SameNode);
        assert_eq!(Hop::between(&net, 0, 1), Hop::SameZone);
        assert_eq!(Hop::between(&net, 1, 2), Hop::CrossZone);
        assert_eq!(Hop::between(&net, NO_NODE, 2), Hop::External);
        assert!(net.is_instant());
    }
}
