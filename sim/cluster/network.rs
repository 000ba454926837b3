//! Runtime state of the cluster network: hop latency samplers and the streams
//! they draw from.
//!
//! Why a separate runtime: the World only asks "how long does this request
//! (or response) take to get there?" and gets zero without drawing anything
//! when no latency is configured, so scenarios without a `Cluster` keep the
//! inline zero-time path and their exact numbers.

use super::node::{ClusterNet, Hop, NO_NODE, NodeIx};
use crate::engine::SimDuration;
use crate::engine::dist::Sampler;
use crate::engine::rng::SimRng;

/// Latency samplers of one cluster.
#[derive(Clone, Debug)]
pub struct Latency {
    same_node: Sampler,
    same_zone: Sampler,
    cross_zone: Sampler,
    external: Sampler,
    handshake: Sampler,
}

impl Latency {
    /// None when nothing takes time (the caller stays on the inline path).
    pub fn new(net: &ClusterNet) -> Option<Latency> {
        if net.is_instant() {
            return None;
        }
        Some(Latency {
            same_node: net.latency.same_node.sampler(),
            same_zone: net.latency.same_zone.sampler(),
            cross_zone: net.latency.cross_zone.sampler(),
            external: net.latency.external.sampler(),
            handshake: net.handshake.sampler(),
        })
    }

    #[inline]
    pub fn hop(&self, net: &ClusterNet, a: NodeIx, b: NodeIx, rng: &mut SimRng) -> SimDuration {
        let s = match Hop::between(net, a, b) {
            Hop::SameNode => &self.same_node,
            Hop::SameZone => &self.same_zone,
            Hop::CrossZone => &self.cross_zone,
            Hop::External => &self.external,
        };
        s.sample(rng)
    }

    /// A TLS (or TCP) handshake on a new connection.
    pub fn handshake(&self, rng: &mut SimRng) -> SimDuration {
        self.handshake.sample(rng)
    }

    /// One way from `from` (NO_NODE = outside) through `via` (the node that
    /// received a node-port connection, NO_NODE = none) to `to`; plus the TCP
    /// handshake when the connection is new.
    #[inline]
    pub fn path(
        &self,
        net: &ClusterNet,
        from: NodeIx,
        via: NodeIx,
        to: NodeIx,
        new_conn: bool,
        rng: &mut SimRng,
    ) -> SimDuration {
        let mut d = if via == NO_NODE {
            self.hop(net, from, to, rng)
        } else {
            let mut d = self.hop(net, from, via, rng);
            if via != to {
                d = d + self.hop(net, via, to, rng);
            }
            d
        };
        if new_conn {
            d = d + self.handshake.sample(rng);
        }
        d
    }
}
