//! A client proxy's upstream connections to one host: the connection pool
//! that circuit breaking is made of (`proxy::conn_pool`, `proxy::breaker`).
//!
//! Why only sometimes: when a cluster sets no connection-pool limit
//! (`Cluster::models_pool` false — Istio's default of 2^32−1 everywhere),
//! Envoy's pool never makes a request wait or fail, so the world keeps the
//! warm-pool shortcut: the attempt goes straight out. With a limit set, each
//! (client proxy, cluster, host) has a [`ConnPool`]: an attempt attaches to a
//! ready connection with room (HTTP/1.1: one request at a time; HTTP/2:
//! multiplexed), or waits as a pending request (`http1MaxPendingRequests`),
//! or is rejected locally with 503 `UO` — never reaching the server, never
//! retried. New connections cost a TCP + mTLS handshake when the network has
//! latency (instant otherwise); `maxRequestsPerConnection` drains a
//! connection after that many requests; an attempt reset by a timeout
//! closes its HTTP/1.1 connection, as Envoy's reset does.
//!
//! Pools are per Envoy **worker thread**, limits per proxy: Istio 1.28
//! derives a sidecar's `concurrency` from its CPU limit, 2 with the
//! injector's default `limits.cpu: 2000m` ([`WORKERS`]). Each downstream
//! connection is handled by one worker (the kernel's `SO_REUSEPORT` hash:
//! uniform, fixed per connection — a load's connection, or a new one per app
//! call), and each worker's pool may always open one connection to a host
//! even past `maxConnections` ("a host with no connection at all still gets
//! one", `conn_pool_base.cc`). That is the "leeway" istio.io's
//! circuit-breaking task reports: two fortio connections on two workers
//! mostly pass `maxConnections: 1`.
//!
//! The per-try timer starts when the attempt gets its connection
//! (`onPoolReady`): time pending counts against the route timeout only.
//!
//! Not modelled at run time: idle timeouts (the default is 1 h; the pool
//! keeps its connections), `connectTimeout` (connections to a live pod
//! always succeed), mirrored copies (they bypass the pool).

use super::{Event, World};
use crate::proxy::breaker::ClusterCounter;
use crate::proxy::conn_pool::{ConnId, ConnPool, NewStream, PoolEvent};
use crate::proxy::retry::{AttemptOutcome, ResetReason};
use crate::workload::load::NONE;

/// Envoy worker threads per proxy (Istio's `concurrency` for the default
/// sidecar CPU limit of 2 cores).
pub const WORKERS: u32 = 2;

impl World<'_> {
    /// Attempt `a` (host chosen, not yet sent) of stream `s` asks its host's
    /// pool for a stream, or goes straight out when the cluster has no limits.
    pub(super) fn upstream_send(&mut self, s: u32, a: u32) {
        let q = self.requests.items[a as usize];
        let (lb, host) = (q.lb, q.lb_host);
        let xds = self.xds;
        let m = self.mesh.as_mut().expect("mesh");
        let st = &mut m.lb_states[lb as usize];
        let cluster = &xds.clusters[st.cluster as usize];
        if !cluster.models_pool() {
            st.stats.inc(ClusterCounter::UpstreamRqTotal);
            self.attempt_ready(s, a);
            return;
        }
        if st.pools.is_empty() {
            st.pools = (0..st.pods.len() as u32 * WORKERS)
                .map(|_| ConnPool::new(cluster.pool.pool))
                .collect();
        }
        let w = self.worker_of(s);
        let m = self.mesh.as_mut().expect("mesh");
        let st = &mut m.lb_states[lb as usize];
        let slot = host * WORKERS + w;
        let out = st.pools[slot as usize].new_stream(a, &mut st.rm, &mut st.stats);
        match out {
            NewStream::Reuse(c) => {
                let q = &mut self.requests.items[a as usize];
                q.up_conn = (c.0 as u32) * WORKERS + w;
                q.up_lb = lb;
                self.attempt_ready(s, a);
            }
            NewStream::NewConnection(c) => {
                if self.requests.items[a as usize].traced {
                    let msg = "no idle connection: pending while a new one connects".to_string();
                    self.trace_log(a, msg);
                }
                self.connect(lb, slot, c);
            }
            NewStream::Pending => {
                if self.requests.items[a as usize].traced {
                    let msg = "connection pool full (maxConnections): pending".to_string();
                    self.trace_log(a, msg);
                }
            }
            NewStream::Overflow(r) => {
                if self.requests.items[a as usize].traced {
                    let msg = format!("circuit breaker open ({r:?} limit): 503 UO, not sent");
                    self.trace_log(a, msg);
                }
                self.attempt_overflow(a);
            }
        }
    }

    /// The pool rejected attempt `a` (breaker overflow): it was never sent;
    /// the router hears a local `Overflow` reset (503 `UO`, never retried).
    fn attempt_overflow(&mut self, a: u32) {
        let now = self.now();
        let q = self.requests.items[a as usize];
        let super::Origin::Attempt { stream: s } = q.origin else {
            // Abandoned while pending: nobody waits.
            self.drop_unsent(a);
            return;
        };
        if let Some(m) = &mut self.mesh {
            let st = &m.lb_states[q.lb as usize];
            m.rejections.push((st.client, st.cluster, now));
        }
        self.drop_unsent(a);
        let r = AttemptOutcome::reset(ResetReason::Overflow, false);
        self.attempt_failed_locally(s, q.hop, r);
    }

    /// Removes attempt `a`, never sent, and its balancer count.
    pub(super) fn drop_unsent(&mut self, a: u32) {
        let q = self.requests.items[a as usize];
        if let Some(m) = &mut self.mesh {
            m.release_host(q.lb, q.lb_host);
        }
        self.requests.items[a as usize].live = false;
        self.requests.remove(a);
    }

    /// The worker thread of the downstream connection of stream `s`'s
    /// request: a hash of that connection (a load's connection, else the
    /// request itself: each app call opens its own), so uniform and fixed.
    fn worker_of(&self, s: u32) -> u32 {
        let down = self.streams.items[s as usize].down;
        let q = &self.requests.items[down as usize];
        let key = match q.origin {
            super::Origin::Load { load, conn } if conn != NONE => {
                (u64::from(load) << 32) | u64::from(conn)
            }
            _ => (1 << 63) | u64::from(down) | (u64::from(q.client) << 32),
        };
        (crate::engine::rng::mix64(key ^ self.spec.run.seed.rotate_left(7)) % u64::from(WORKERS))
            as u32
    }

    /// Opens connection `c` of pool `slot` (host × worker) of balancer `lb`: ready after TCP's
    /// round trip to the host's node plus the (mTLS) handshake when the
    /// network has latency, else at once.
    fn connect(&mut self, lb: u32, slot: u32, c: ConnId) {
        let host = slot / WORKERS;
        let mut d = crate::engine::SimDuration::ZERO;
        if let (Some(lat), Some(m)) = (&self.lat, &mut self.mesh) {
            let st = &m.lb_states[lb as usize];
            let (client, pod) = (st.client, st.pods[host as usize]);
            let n_loads = self.spec.loads.len() as u32;
            let from = if client < n_loads {
                let e = &self.spec.loads[client as usize].entry;
                if e.kind == crate::scenario::spec::EntryKind::ClusterIP {
                    e.node.unwrap_or(0)
                } else {
                    crate::cluster::node::NO_NODE
                }
            } else {
                self.node_of[(client - n_loads) as usize]
            };
            let to = self.node_of[pod as usize];
            let net = &self.spec.network.cluster;
            let rng = &mut m.lat_rng[client as usize];
            d = lat.hop(net, from, to, rng) + lat.hop(net, to, from, rng) + lat.handshake(rng);
        }
        if d > crate::engine::SimDuration::ZERO {
            let at = self.now() + d;
            self.q.schedule(
                at,
                Event::PoolConnect {
                    lb,
                    host: slot,
                    conn: c.0 as u32,
                },
            );
        } else {
            self.on_pool_connect(lb, slot, c.0 as u32);
        }
    }

    /// Connection `conn` of pool `slot` (host × worker) of balancer `lb` is up.
    pub(super) fn on_pool_connect(&mut self, lb: u32, slot: u32, conn: u32) {
        let m = self.mesh.as_mut().expect("mesh");
        let st = &mut m.lb_states[lb as usize];
        let ev = st.pools[slot as usize].on_connected(
            ConnId(u64::from(conn)),
            &mut st.rm,
            &mut st.stats,
        );
        self.pool_events(lb, slot, ev);
    }

    /// Applies what a pool did: attach pending attempts, fail rejected ones,
    /// open connections.
    fn pool_events(&mut self, lb: u32, slot: u32, events: Vec<PoolEvent<u32>>) {
        for e in events {
            match e {
                PoolEvent::Attached { token: a, conn } => {
                    let q = &mut self.requests.items[a as usize];
                    q.up_conn = (conn.0 as u32) * WORKERS + slot % WORKERS;
                    q.up_lb = lb;
                    match self.requests.items[a as usize].origin {
                        super::Origin::Attempt { stream } => self.attempt_ready(stream, a),
                        // Reset while pending (cancel raced): release at once.
                        _ => self.upstream_release(a, true),
                    }
                }
                PoolEvent::Overflow { token: a } => self.attempt_overflow(a),
                PoolEvent::ConnectFailed { token: a } | PoolEvent::Terminated { token: a } => {
                    let q = self.requests.items[a as usize];
                    self.drop_unsent(a);
                    if let super::Origin::Attempt { stream } = q.origin {
                        let r = AttemptOutcome::reset(ResetReason::ConnectFailure, false);
                        self.attempt_failed_locally(stream, q.hop, r);
                    }
                }
                PoolEvent::Connect(c) => self.connect(lb, slot, c),
                PoolEvent::Closed(_) => {}
            }
        }
    }

    /// Attempt `a` has its connection: the per-try timer starts, it goes out.
    fn attempt_ready(&mut self, s: u32, a: u32) {
        self.arm_per_try(s);
        self.dispatch(a, false);
    }

    /// Attempt `a`'s stream on its pooled connection is over (`reset`: by
    /// this proxy, which closes an HTTP/1.1 connection); its pool serves the
    /// next pending attempt.
    pub(super) fn upstream_release(&mut self, a: u32, reset: bool) {
        let q = &mut self.requests.items[a as usize];
        let (lb, host, up) = (q.up_lb, q.lb_host, q.up_conn);
        q.up_conn = NONE;
        if up == NONE || lb == NONE {
            return;
        }
        let (conn, slot) = (up / WORKERS, host * WORKERS + up % WORKERS);
        let m = self.mesh.as_mut().expect("mesh");
        let st = &mut m.lb_states[lb as usize];
        let pool = &mut st.pools[slot as usize];
        let h1 = matches!(
            pool.config().protocol,
            crate::proxy::conn_pool::PoolProtocol::Http1
        );
        let ev = pool.on_stream_done(
            ConnId(u64::from(conn)),
            reset && h1,
            &[],
            &mut st.rm,
            &mut st.stats,
        );
        self.pool_events(lb, slot, ev);
    }

    /// Attempt `a` (never sent) is given up by its router: leave the queue.
    pub(super) fn upstream_cancel_pending(&mut self, a: u32) -> bool {
        let q = self.requests.items[a as usize];
        if q.up_conn != NONE || q.lb == NONE {
            return false;
        }
        let Some(m) = &mut self.mesh else {
            return false;
        };
        let st = &mut m.lb_states[q.lb as usize];
        if st.pools.is_empty() {
            return false;
        }
        (0..WORKERS)
            .any(|w| st.pools[(q.lb_host * WORKERS + w) as usize].cancel_pending(a, &mut st.rm))
    }
}
