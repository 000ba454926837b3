//! A request in flight: who waits for it ([`Origin`]) and everything the
//! handlers carry along with it ([`Request`]) — one record per hop, attempt
//! or mirrored copy, kept in the world's slab and named by id in events.

use crate::cluster::node::{NO_NODE, NodeIx};
use crate::engine::{SimDuration, SimTime};
use crate::proxy::flags::ResponseFlags;
use crate::scenario::spec::Target;
use crate::workload::load::NONE;

/// Who is waiting for a request's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    Load {
        load: u32,
        conn: u32,
    },
    Call {
        exec: u32,
        generation: u32,
    },
    /// The caller gave up (timeout); the server still finishes the work.
    Abandoned,
    /// An ingress controller's upstream request on behalf of request `parent`.
    Proxy {
        parent: u32,
    },
    /// One upstream attempt of a client proxy's router `stream` (`router.rs`).
    Attempt {
        stream: u32,
    },
    /// A mirrored copy: fire and forget, its response discarded.
    Mirror,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub(super) origin: Origin,
    pub(super) target: Target,
    pub(super) pod: u32,
    /// Client start: intended send time (loads) or call time.
    pub(super) start: SimTime,
    /// Arrival at the pod.
    pub(super) arrive: SimTime,
    pub(super) counted_client: bool,
    pub(super) counted_server: bool,
    pub(super) depth: u16,
    pub(super) headers: u32,
    pub(super) live: bool,
    pub(super) at_server: bool,
    /// Client node (NO_NODE = outside the cluster).
    pub(super) from: NodeIx,
    /// Node that received a node-port connection (NO_NODE = none).
    pub(super) via: NodeIx,
    /// Client index (loads, then pods): network stream owner.
    pub(super) client: u32,
    /// Caller pool and connection (NONE = not pooled / not yet assigned).
    pub(super) pool: u32,
    pub(super) pconn: u32,
    /// Followed by the tracer (teaching mode).
    pub(super) traced: bool,
    /// The interned request line. With a mesh: Envoy's request attributes
    /// (`mesh::MeshRt::attrs`). Without one: the (method, path) line of
    /// `endpoint.rs` when some Workload has endpoint rules, else 0. One field
    /// for both keeps `Request` at 128 bytes (a size test holds it there).
    pub(super) attrs: u32,
    /// Mesh only: Envoy response flags of the answer (set by the proxy that answered).
    pub(super) flags: ResponseFlags,
    /// Mesh only: proxy latency still to add on the way (consumed by `dispatch`
    /// / `respond`).
    pub(super) hop: SimDuration,
    /// Mesh only: the client proxy's balancer and host (NONE = none), for
    /// `active_requests`.
    pub(super) lb: u32,
    pub(super) lb_host: u32,
    /// Mesh only: route and destination stats indices (NONE = none).
    pub(super) route: u32,
    pub(super) dest: u32,
    /// Mesh only: the connection to this pod is new (gateway TLS handshake).
    pub(super) fresh: bool,
    /// Mesh only: the router stream of the client proxy holding this
    /// (downstream) request, NONE when none.
    pub(super) stream: u32,
    /// Mesh only: the pooled upstream connection of an attempt and the
    /// balancer whose pool holds it (NONE = no pooled connection).
    pub(super) up_conn: u32,
    pub(super) up_lb: u32,
    /// Why the response failed (`propagation.rs` chain, NONE = no chain).
    pub(super) chain: u32,
    /// Upstream attempts the client proxy made for it (1 without retries).
    pub(super) attempts: u16,
    /// The endpoint rule its server runs (0 = default; `endpoint.rs`).
    pub(super) endpoint: u16,
}

impl Request {
    /// A request of `client` (on node `from`) to `target`, started at `start`,
    /// with every optional part empty (no pod yet, no headers, no mesh state).
    pub(super) fn new(
        origin: Origin,
        target: Target,
        client: u32,
        from: NodeIx,
        start: SimTime,
    ) -> Request {
        Request {
            origin,
            target,
            pod: NONE,
            start,
            arrive: start,
            counted_client: false,
            counted_server: false,
            depth: 0,
            headers: 0,
            live: true,
            at_server: false,
            from,
            via: NO_NODE,
            client,
            pool: NONE,
            pconn: NONE,
            traced: false,
            attrs: 0,
            flags: ResponseFlags::NONE,
            hop: SimDuration::ZERO,
            lb: NONE,
            lb_host: NONE,
            route: NONE,
            dest: NONE,
            fresh: false,
            stream: NONE,
            up_conn: NONE,
            up_lb: NONE,
            chain: NONE,
            attempts: 1,
            endpoint: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every request is written into the slab and read back on each hop:
    /// two 64-byte cache lines, not three. Adding a field means folding one.
    #[test]
    fn request_fits_two_cache_lines() {
        assert_eq!(std::mem::size_of::<super::Request>(), 128);
    }
}
