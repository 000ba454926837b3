//! Envoy's upstream HTTP connection pool for one host of one cluster in one
//! client proxy, as a pure state type: the caller asks for a stream and gets
//! a named outcome; connection setup, completion and idle expiry are events
//! the world feeds back in.
//!
//! Why model the pool: circuit breaking *is* pool behaviour. HTTP/1.1 carries
//! one request per connection at a time, so `maxConnections` turns into a
//! pending queue (`http1MaxPendingRequests`), and the `503 UO` classic
//! (maxConnections 1, pending 1, three callers ⇒ one served, one queued, one
//! rejected) only appears if the queue exists. HTTP/2 multiplexes, so the
//! same callers share one connection and only `http2MaxRequests`
//! (`max_requests`) bites — with the pending gauges at 0 (envoy#36771).
//!
//! Rules (Envoy `source/common/conn_pool/conn_pool_base.cc`, release/v1.36):
//! * `newStreamImpl`: a ready connection with spare capacity ⇒ attach; else
//!   `max_pending_requests` full ⇒ `Overflow` (`upstream_rq_pending_overflow`);
//!   else queue (`upstream_rq_pending_total`) and maybe connect.
//! * `attachStreamToClient`: `max_requests` full ⇒ `Overflow`, counted as
//!   `upstream_rq_pending_overflow` (pinned fact); else `upstream_rq_total`;
//!   the connection's remaining requests (`max_requests_per_connection`)
//!   drop, and at 0 it drains (`upstream_cx_max_requests`).
//! * `tryCreateNewConnection`: connect only while pending streams exceed the
//!   capacity of connections still connecting (preconnect ratio 1); over
//!   `max_connections` ⇒ `upstream_cx_overflow` and no connection, except
//!   that a host with no connection at all always gets one.
//! * Pending streams are served FIFO when a connection becomes ready or an
//!   HTTP/1.1 connection frees up. A connect failure fails **every** pending
//!   stream of the pool (`purgePendingStreams`, `upstream_cx_connect_fail`).
//!
//! Not modelled: preconnect, early data, `max_connection_duration`, HTTP/2
//! GOAWAY draining beyond `max_requests_per_connection`, the per-host
//! `max_connections` limit, cancel-policy closing of excess connections.

use super::breaker::{Admit, ClusterCounter, ClusterStats, Resource, ResourceManager};
use std::collections::{BTreeMap, VecDeque};

/// Upstream protocol of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolProtocol {
    /// One stream per connection at a time.
    Http1,
    /// Multiplexed; `max_concurrent_streams` per connection (Envoy/Istio
    /// default 2^31−1; DR `http.maxConcurrentStreams`).
    Http2 { max_concurrent_streams: u32 },
}

/// Envoy's default HTTP/2 `max_concurrent_streams`.
pub const DEFAULT_H2_MAX_CONCURRENT_STREAMS: u32 = i32::MAX as u32;

/// Inert config of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub protocol: PoolProtocol,
    /// `max_requests_per_connection` (DR `http.maxRequestsPerConnection`;
    /// None/0 = unlimited, 1 = no keep-alive).
    pub max_requests_per_connection: Option<u32>,
}

/// A connection of this pool (ids are never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    Connecting,
    Ready,
    /// Reached `max_requests_per_connection`: no new streams; closes when idle.
    Draining,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Conn {
    state: ConnState,
    active: u32,
    /// Streams this connection may still carry (None = unlimited).
    remaining: Option<u32>,
}

/// What happened to a `new_stream` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewStream {
    /// Attached to an existing ready connection: send now.
    Reuse(ConnId),
    /// Queued; this new connection was started (the world schedules its setup).
    NewConnection(ConnId),
    /// Queued behind connections that are busy or still connecting.
    Pending,
    /// 503 `UO`: `max_pending_requests` (queueing) or `max_requests`
    /// (attaching) is full.
    Overflow(Resource),
}

/// Something the pool did in response to an event, for the world to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolEvent<T> {
    /// A pending stream got a connection: send it now.
    Attached { token: T, conn: ConnId },
    /// A pending stream hit `max_requests` when attached: 503 `UO`.
    Overflow { token: T },
    /// A pending stream failed with its connection: 503 `UF`.
    ConnectFailed { token: T },
    /// A stream on a closed connection was lost: 503 `UC`.
    Terminated { token: T },
    /// A new connection was started for pending streams.
    Connect(ConnId),
    /// A connection closed.
    Closed(ConnId),
}

/// One host's pool. `T` identifies a waiting stream (e.g. an attempt id).
#[derive(Clone, Debug)]
pub struct ConnPool<T> {
    cfg: PoolConfig,
    conns: BTreeMap<ConnId, Conn>,
    next_id: u64,
    pending: VecDeque<T>,
}

impl<T: Copy + PartialEq> ConnPool<T> {
    pub fn new(cfg: PoolConfig) -> ConnPool<T> {
        ConnPool {
            cfg,
            conns: BTreeMap::new(),
            next_id: 0,
            pending: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }
    /// Open connections (connecting, ready or draining).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
    /// Streams in flight on `conn` (0 if unknown).
    pub fn active_streams(&self, conn: ConnId) -> u32 {
        self.conns.get(&conn).map_or(0, |c| c.active)
    }
    /// A ready connection with no stream (idle timer candidate).
    pub fn is_idle(&self, conn: ConnId) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| c.state == ConnState::Ready && c.active == 0)
    }

    fn stream_capacity(&self, c: &Conn) -> u32 {
        let per = match self.cfg.protocol {
            PoolProtocol::Http1 => 1,
            PoolProtocol::Http2 {
                max_concurrent_streams,
            } => max_concurrent_streams.max(1),
        };
        let per = c.remaining.map_or(per, |r| per.min(r));
        per.saturating_sub(c.active)
    }

    fn ready_with_capacity(&self) -> Option<ConnId> {
        self.conns
            .iter()
            .find(|(_, c)| c.state == ConnState::Ready && self.stream_capacity(c) > 0)
            .map(|(id, _)| *id)
    }

    /// `attachStreamToClient`.
    fn attach(
        &mut self,
        id: ConnId,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> Result<(), Resource> {
        if let Admit::Overflow(r) = rm.try_admit_request() {
            stats.inc(ClusterCounter::UpstreamRqPendingOverflow);
            return Err(r);
        }
        stats.inc(ClusterCounter::UpstreamRqTotal);
        let c = self
            .conns
            .get_mut(&id)
            .expect("attach to a live connection");
        c.active += 1;
        if let Some(r) = c.remaining.as_mut() {
            *r -= 1;
            if *r == 0 {
                c.state = ConnState::Draining;
                stats.inc(ClusterCounter::UpstreamCxMaxRequests);
            }
        }
        Ok(())
    }

    /// `tryCreateNewConnection` with preconnect ratio 1.
    fn maybe_connect(
        &mut self,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> Option<ConnId> {
        let connecting_capacity: u64 = self
            .conns
            .values()
            .filter(|c| c.state == ConnState::Connecting)
            .map(|c| self.stream_capacity(c) as u64)
            .sum();
        if self.pending.len() as u64 <= connecting_capacity {
            return None;
        }
        let can = rm.can_create(Resource::Connections);
        if !can {
            stats.inc(ClusterCounter::UpstreamCxOverflow);
        }
        if !can && !self.conns.is_empty() {
            return None;
        }
        rm.inc(Resource::Connections);
        stats.inc(ClusterCounter::UpstreamCxTotal);
        let id = ConnId(self.next_id);
        self.next_id += 1;
        let remaining = self.cfg.max_requests_per_connection.filter(|m| *m > 0);
        self.conns.insert(
            id,
            Conn {
                state: ConnState::Connecting,
                active: 0,
                remaining,
            },
        );
        Some(id)
    }

    /// The router wants a stream for `token` (Envoy `newStream`).
    pub fn new_stream(
        &mut self,
        token: T,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> NewStream {
        if let Some(id) = self.ready_with_capacity() {
            return match self.attach(id, rm, stats) {
                Ok(()) => NewStream::Reuse(id),
                Err(r) => NewStream::Overflow(r),
            };
        }
        if let Admit::Overflow(r) = rm.try_admit_pending() {
            stats.inc(ClusterCounter::UpstreamRqPendingOverflow);
            return NewStream::Overflow(r);
        }
        stats.inc(ClusterCounter::UpstreamRqPendingTotal);
        self.pending.push_back(token);
        match self.maybe_connect(rm, stats) {
            Some(id) => NewStream::NewConnection(id),
            None => NewStream::Pending,
        }
    }

    /// Serves pending streams FIFO from ready connections.
    fn drain_pending(
        &mut self,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
        out: &mut Vec<PoolEvent<T>>,
    ) {
        while !self.pending.is_empty() {
            let Some(id) = self.ready_with_capacity() else {
                break;
            };
            let token = self.pending.pop_front().expect("non-empty");
            rm.dec(Resource::PendingRequests);
            match self.attach(id, rm, stats) {
                Ok(()) => out.push(PoolEvent::Attached { token, conn: id }),
                Err(_) => out.push(PoolEvent::Overflow { token }),
            }
        }
        if let Some(id) = self.maybe_connect(rm, stats) {
            out.push(PoolEvent::Connect(id));
        }
    }

    /// A connection finished its handshake (`onUpstreamReady`).
    pub fn on_connected(
        &mut self,
        conn: ConnId,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> Vec<PoolEvent<T>> {
        let mut out = Vec::new();
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.state == ConnState::Connecting {
                c.state = ConnState::Ready;
            }
            self.drain_pending(rm, stats, &mut out);
        }
        out
    }

    /// A connection attempt failed (refused or `connectTimeout`): every
    /// pending stream fails (`purgePendingStreams`).
    pub fn on_connect_failed(
        &mut self,
        conn: ConnId,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> Vec<PoolEvent<T>> {
        let mut out = Vec::new();
        if self.conns.remove(&conn).is_none() {
            return out;
        }
        rm.dec(Resource::Connections);
        stats.inc(ClusterCounter::UpstreamCxConnectFail);
        stats.inc(ClusterCounter::UpstreamCxDestroy);
        out.push(PoolEvent::Closed(conn));
        for token in std::mem::take(&mut self.pending) {
            rm.dec(Resource::PendingRequests);
            out.push(PoolEvent::ConnectFailed { token });
        }
        out
    }

    /// A stream on `conn` ended (response complete or stream reset).
    /// `close_connection`: the connection goes too (HTTP/1.1 reset, upstream
    /// close); streams still on it are reported as `Terminated`
    /// (`active_tokens` lists them, the pool does not track attached tokens).
    pub fn on_stream_done(
        &mut self,
        conn: ConnId,
        close_connection: bool,
        active_tokens: &[T],
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> Vec<PoolEvent<T>> {
        let mut out = Vec::new();
        let Some(c) = self.conns.get_mut(&conn) else {
            return out;
        };
        debug_assert!(c.active > 0, "stream done on an idle connection");
        c.active = c.active.saturating_sub(1);
        rm.dec(Resource::Requests);
        let drained = c.state == ConnState::Draining && c.active == 0;
        if close_connection || drained {
            let c = self.conns.remove(&conn).expect("present");
            for _ in 0..c.active {
                rm.dec(Resource::Requests);
            }
            out.extend(
                active_tokens
                    .iter()
                    .map(|t| PoolEvent::Terminated { token: *t }),
            );
            rm.dec(Resource::Connections);
            stats.inc(ClusterCounter::UpstreamCxDestroy);
            out.push(PoolEvent::Closed(conn));
        }
        self.drain_pending(rm, stats, &mut out);
        out
    }

    /// The waiting stream `token` gave up (route timeout, downstream reset).
    pub fn cancel_pending(&mut self, token: T, rm: &mut ResourceManager) -> bool {
        match self.pending.iter().position(|t| *t == token) {
            Some(i) => {
                self.pending.remove(i);
                rm.dec(Resource::PendingRequests);
                true
            }
            None => false,
        }
    }

    /// The idle timer of `conn` fired (DR `idleTimeout`, default 1 h): closes
    /// it if it is still idle.
    pub fn on_idle_timeout(
        &mut self,
        conn: ConnId,
        rm: &mut ResourceManager,
        stats: &mut ClusterStats,
    ) -> bool {
        if !self.is_idle(conn) {
            return false;
        }
        self.conns.remove(&conn);
        rm.dec(Resource::Connections);
        stats.inc(ClusterCounter::UpstreamCxIdleTimeout);
        stats.inc(ClusterCounter::UpstreamCxDestroy);
        true
    }
}

#[cfg(test)]
#[path = "conn_pool/tests.rs"]
mod tests;
