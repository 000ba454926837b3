//! Connections and hops: how a request gets to its pod and its response back.
//!
//! Without a mesh, the pod that serves a request is decided when its TCP
//! connection opens: kube-proxy DNATs the Service's ClusterIP (or a node port,
//! or the node a cloud load balancer chose) to one ready endpoint, honouring
//! `externalTrafficPolicy` / `internalTrafficPolicy: Local` and ClientIP
//! session affinity, and conntrack pins the connection to that pod. Requests
//! that reuse a keep-alive connection (a load's connections, a caller pod's
//! pool) therefore reuse its pod. This file holds that choice
//! ([`World::open_conn`]), the callers' keep-alive pools, and the network path
//! both ways ([`World::dispatch`] there, [`World::respond`] back), which take
//! time only when a latency model is configured.

use super::{Event, Origin, World};
use crate::cluster::kube_proxy::{self, Pick};
use crate::cluster::load_balancer;
use crate::cluster::node::{NO_NODE, NodeIx};
use crate::cluster::nodeport;
use crate::engine::SimDuration;
use crate::scenario::spec::{EntryKind, Target};
use crate::workload::load::NONE;
use std::collections::VecDeque;

/// A caller pod's keep-alive pool towards one Service port (no sidecar).
pub(super) struct Pool {
    size: u32,
    conns: Vec<PConn>,
    /// Requests waiting for a free connection.
    waiting: VecDeque<u32>,
}

impl Pool {
    /// Heap bytes held (for the run-time guard, `guard.rs`).
    pub(super) fn heap_bytes(&self) -> u64 {
        (self.conns.capacity() * std::mem::size_of::<PConn>() + self.waiting.capacity() * 4) as u64
    }
    pub(super) fn waiting_len(&self) -> usize {
        self.waiting.len()
    }
}

#[derive(Clone, Copy)]
struct PConn {
    pod: u32,
    via: NodeIx,
    busy: bool,
}

impl World<'_> {
    /// How a request got its pod: a fresh kube-proxy choice or a pinned connection.
    pub(super) fn describe_conn(
        &self,
        pod: u32,
        via: NodeIx,
        new_conn: bool,
        target: Target,
    ) -> String {
        let ready = self.endpoints[target.service][target.port].len();
        let via = match self.spec.network.cluster.nodes.get(via as usize) {
            Some(n) if via != NO_NODE => format!(" via node {}'s port", n.name),
            _ => String::new(),
        };
        match (pod, new_conn) {
            (NONE, _) => format!(
                "connection fails{via}: no ready endpoint reachable ({ready} ready) — no HTTP response"
            ),
            (p, true) => format!(
                "new connection{via}: kube-proxy picks pod {} (uniform choice among {ready} ready endpoints; conntrack pins the connection)",
                self.pod_name(p)
            ),
            (p, false) => format!(
                "reuses a keep-alive connection pinned to pod {}",
                self.pod_name(p)
            ),
        }
    }

    /// Opens a connection from `client` to `target`, entering as `kind` (at
    /// `node` for NodePort): the pod kube-proxy DNATs it to (NONE = refused or
    /// dropped) and the node that received it (NO_NODE = straight to the pod).
    #[inline]
    pub(super) fn open_conn(
        &mut self,
        target: Target,
        client: usize,
        kind: EntryKind,
        node: NodeIx,
        pending: bool,
    ) -> (u32, NodeIx) {
        let (s, p) = (target.service, target.port);
        let svc = &self.spec.services[s];
        // `at`: the node whose kube-proxy rules apply (client's or receiving node).
        let (via, local, at) = match kind {
            EntryKind::ClusterIP => (NO_NODE, svc.net.internal_local, node),
            EntryKind::NodePort => (node, svc.net.local, node),
            EntryKind::LoadBalancer => {
                if pending {
                    return (NONE, NO_NODE);
                }
                match load_balancer::pick_node(&self.lb_nodes[s][p], &mut self.lb_rng[client]) {
                    Some(n) => (n, svc.net.local, n),
                    None => return (NONE, NO_NODE),
                }
            }
        };
        let affinity = svc.net.affinity;
        let cands = nodeport::candidates(
            &self.endpoints[s][p],
            local,
            at,
            &self.node_of,
            &mut self.scratch,
        );
        if let Some(timeout) = affinity {
            let now = self.q.now();
            let table = self.affinity[s][p].as_mut().expect("affinity table");
            if let Some(pod) = table.lookup(client, now, timeout, cands) {
                table.remember(client, pod, now);
                return (pod, via);
            }
            let pod = match kube_proxy::pick(cands, &mut self.kp_rng[client]) {
                Pick::Endpoint(p) => p,
                Pick::NoEndpoints => return (NONE, via),
            };
            table.remember(client, pod, now);
            return (pod, via);
        }
        match kube_proxy::pick(cands, &mut self.kp_rng[client]) {
            Pick::Endpoint(p) => (p, via),
            Pick::NoEndpoints => (NONE, via),
        }
    }

    /// Delivers a request to its pod (after the network path, if it takes
    /// time), or fails it if the connection could not be made.
    pub(super) fn dispatch(&mut self, r: u32, new_conn: bool) {
        // The four fields the path needs, not a copy of the whole record.
        let (pod, client, from, via) = {
            let q = &self.requests.items[r as usize];
            (q.pod, q.client, q.from, q.via)
        };
        if pod == NONE {
            // Connection refused or dropped: no HTTP response at all.
            self.complete(r, 0);
            return;
        }
        // Proxy hops on the way (client sidecar or gateway, the server's
        // inbound sidecar) join the network path: one event for all of it.
        let extra = if self.mesh.is_some() {
            self.inbound_hop(r)
        } else {
            SimDuration::ZERO
        };
        let mut d = extra;
        if self.life.is_some() {
            let n = self.spec.loads.len() as u32;
            if client >= n {
                d = d + self.egress_delay(client - n);
            }
        }
        if let Some(lat) = &self.lat {
            let to = self.node_of[pod as usize];
            d = d + lat.path(
                &self.spec.network.cluster,
                from,
                via,
                to,
                new_conn,
                &mut self.net_rng[client as usize],
            );
        }
        if d > SimDuration::ZERO {
            let t = self.now() + d;
            self.q.schedule(t, Event::Deliver { req: r });
            return;
        }
        self.arrive_at_pod(r, pod);
    }

    /// The response to `r` travels back from its pod to its client (the path in
    /// reverse, on the same connection) and completes there.
    pub(super) fn respond(&mut self, r: u32, status: u16) {
        let now = self.now();
        // A gateway's local answer carries its routing latency (`hop`).
        let mut d = if self.mesh.is_some() {
            std::mem::take(&mut self.requests.items[r as usize].hop) + self.inbound_response_hop(r)
        } else {
            SimDuration::ZERO
        };
        if self.life.is_some() {
            let pod = self.requests.items[r as usize].pod;
            d = d + self.egress_delay(pod);
        }
        if let Some(lat) = &self.lat {
            let q = &self.requests.items[r as usize];
            let (pod, via, from, client) = (q.pod, q.via, q.from, q.client);
            d = d + lat.path(
                &self.spec.network.cluster,
                self.node_of[pod as usize],
                via,
                from,
                false,
                &mut self.net_rng[client as usize],
            );
        }
        if d > SimDuration::ZERO {
            self.q.schedule(now + d, Event::Respond { req: r, status });
            return;
        }
        self.complete(r, status);
    }

    /// The pool of `pod` towards `target` (created on first use).
    pub(super) fn pool_for(&mut self, pod: u32, target: Target, size: u32) -> u32 {
        if let Some(&(_, i)) = self.pool_ix[pod as usize].iter().find(|e| e.0 == target) {
            return i;
        }
        self.pools.push(Pool {
            size,
            conns: Vec::new(),
            waiting: VecDeque::new(),
        });
        let i = self.pools.len() as u32 - 1;
        self.pool_ix[pod as usize].push((target, i));
        i
    }

    /// An idle connection of the pool (lowest first), or a new one if below size.
    pub(super) fn idle_pconn(&mut self, pool: u32) -> Option<u32> {
        let p = &mut self.pools[pool as usize];
        if let Some(i) = p.conns.iter().position(|c| !c.busy) {
            return Some(i as u32);
        }
        if (p.conns.len() as u32) < p.size {
            p.conns.push(PConn {
                pod: NONE,
                via: NO_NODE,
                busy: false,
            });
            return Some(p.conns.len() as u32 - 1);
        }
        None
    }

    /// Marks connection `ci` busy, opening it (kube-proxy pick) if needed:
    /// (pod, via, new connection).
    pub(super) fn take_pconn(
        &mut self,
        pool: u32,
        ci: u32,
        target: Target,
        client: usize,
        from: NodeIx,
    ) -> (u32, NodeIx, bool) {
        let c = self.pools[pool as usize].conns[ci as usize];
        let (pod, via, new_conn) = if c.pod == NONE {
            let (p, v) = self.open_conn(target, client, EntryKind::ClusterIP, from, false);
            (p, v, true)
        } else {
            (c.pod, c.via, false)
        };
        let c = &mut self.pools[pool as usize].conns[ci as usize];
        c.busy = true;
        c.pod = pod;
        c.via = via;
        (pod, via, new_conn)
    }

    /// Every connection of `pool` is busy: request `r` waits (FIFO) for one.
    pub(super) fn wait_for_pconn(&mut self, pool: u32, r: u32) {
        self.pools[pool as usize].waiting.push_back(r);
    }

    /// A pooled request finished: free its connection and hand it to the next waiter.
    pub(super) fn release_pconn(&mut self, pool: u32, ci: u32, status: u16) {
        let c = &mut self.pools[pool as usize].conns[ci as usize];
        c.busy = false;
        if status == 0 {
            c.pod = NONE; // reconnect next time
        }
        while let Some(w) = self.pools[pool as usize].waiting.pop_front() {
            let req = self.requests.items[w as usize];
            if req.origin == Origin::Abandoned {
                // The caller gave up while it waited: never sent.
                self.requests.items[w as usize].live = false;
                self.requests.remove(w);
                continue;
            }
            let target = req.target;
            let (pod, via, new_conn) =
                self.take_pconn(pool, ci, target, req.client as usize, req.from);
            let q = &mut self.requests.items[w as usize];
            q.pod = pod;
            q.via = via;
            q.pconn = ci;
            self.dispatch(w, new_conn);
            break;
        }
    }

    /// `pod` died: its callers' pooled connections to it are closed
    /// (reopened by kube-proxy on next use).
    pub(super) fn forget_pod(&mut self, pod: u32) {
        for p in &mut self.pools {
            for c in &mut p.conns {
                if c.pod == pod && !c.busy {
                    c.pod = NONE;
                }
            }
        }
    }
}
