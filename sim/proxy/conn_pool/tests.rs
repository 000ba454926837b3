use super::*;
use crate::proxy::breaker::{IstioConnectionPool, Thresholds};

fn h1() -> PoolConfig {
    PoolConfig {
        protocol: PoolProtocol::Http1,
        max_requests_per_connection: None,
    }
}
fn h2() -> PoolConfig {
    PoolConfig {
        protocol: PoolProtocol::Http2 {
            max_concurrent_streams: DEFAULT_H2_MAX_CONCURRENT_STREAMS,
        },
        max_requests_per_connection: None,
    }
}

/// The classic (reference §4): maxConnections 1, http1MaxPendingRequests 1,
/// three concurrent callers ⇒ one active, one queued, one 503 UO.
#[test]
fn http1_one_connection_one_pending_third_overflows() {
    let mut rm = ResourceManager::new(Thresholds::istio(&IstioConnectionPool {
        max_connections: 1,
        http1_max_pending_requests: 1,
        ..Default::default()
    }));
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h1());

    // t0: request 1 ⇒ queued, connection 0 starts.
    assert_eq!(
        pool.new_stream(1, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(0))
    );
    assert_eq!(rm.count(Resource::PendingRequests), 1);
    // Request 2 while connecting: the pending queue is full.
    assert_eq!(
        pool.new_stream(2, &mut rm, &mut st),
        NewStream::Overflow(Resource::PendingRequests)
    );
    // Connected: request 1 goes out.
    assert_eq!(
        pool.on_connected(ConnId(0), &mut rm, &mut st),
        vec![PoolEvent::Attached {
            token: 1,
            conn: ConnId(0)
        }]
    );
    assert_eq!(
        (
            rm.count(Resource::PendingRequests),
            rm.count(Resource::Requests)
        ),
        (0, 1)
    );
    // Request 3: connection busy, max_connections reached ⇒ queued, no connect.
    assert_eq!(pool.new_stream(3, &mut rm, &mut st), NewStream::Pending);
    assert_eq!(st.get(ClusterCounter::UpstreamCxOverflow), 1);
    // Request 4: queue full ⇒ UO.
    assert_eq!(
        pool.new_stream(4, &mut rm, &mut st),
        NewStream::Overflow(Resource::PendingRequests)
    );
    // Request 1 completes: the connection is reused for request 3.
    assert_eq!(
        pool.on_stream_done(ConnId(0), false, &[], &mut rm, &mut st),
        vec![PoolEvent::Attached {
            token: 3,
            conn: ConnId(0)
        }]
    );
    pool.on_stream_done(ConnId(0), false, &[], &mut rm, &mut st);
    assert!(pool.is_idle(ConnId(0)));
    // Next request reuses the idle connection.
    assert_eq!(
        pool.new_stream(5, &mut rm, &mut st),
        NewStream::Reuse(ConnId(0))
    );
    assert_eq!(st.get(ClusterCounter::UpstreamRqPendingOverflow), 2);
    assert_eq!(st.get(ClusterCounter::UpstreamRqPendingTotal), 2);
    assert_eq!(st.get(ClusterCounter::UpstreamRqTotal), 3);
    assert_eq!(st.get(ClusterCounter::UpstreamCxTotal), 1);
}

/// HTTP/1.1 with room for connections: one connection per concurrent request.
#[test]
fn http1_opens_a_connection_per_concurrent_request() {
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h1());
    for i in 0..3 {
        assert_eq!(
            pool.new_stream(i, &mut rm, &mut st),
            NewStream::NewConnection(ConnId(i as u64))
        );
    }
    // Connection 1 is ready first: serves the oldest pending request (FIFO).
    assert_eq!(
        pool.on_connected(ConnId(1), &mut rm, &mut st),
        vec![PoolEvent::Attached {
            token: 0,
            conn: ConnId(1)
        }]
    );
    assert_eq!(rm.count(Resource::Connections), 3);
    assert_eq!(pool.pending(), 2);
}

/// HTTP/2: callers share one connection; `http2MaxRequests` overflows with
/// the pending gauges at 0 (envoy#36771), counted as pending overflow.
#[test]
fn http2_multiplexes_and_max_requests_overflows_with_pending_at_zero() {
    let mut rm = ResourceManager::new(Thresholds::istio(&IstioConnectionPool {
        http2_max_requests: 2,
        ..Default::default()
    }));
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h2());
    assert_eq!(
        pool.new_stream(1, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(0))
    );
    // While connecting, a second stream waits for the same connection.
    assert_eq!(pool.new_stream(2, &mut rm, &mut st), NewStream::Pending);
    let ev = pool.on_connected(ConnId(0), &mut rm, &mut st);
    assert_eq!(ev.len(), 2);
    assert_eq!(rm.count(Resource::PendingRequests), 0);
    // Third concurrent stream: same connection, but max_requests = 2.
    assert_eq!(
        pool.new_stream(3, &mut rm, &mut st),
        NewStream::Overflow(Resource::Requests)
    );
    assert_eq!(rm.count(Resource::PendingRequests), 0);
    assert_eq!(st.get(ClusterCounter::UpstreamRqPendingOverflow), 1);
    assert_eq!(pool.connections(), 1);
    pool.on_stream_done(ConnId(0), false, &[], &mut rm, &mut st);
    assert_eq!(
        pool.new_stream(4, &mut rm, &mut st),
        NewStream::Reuse(ConnId(0))
    );
    assert_eq!(pool.active_streams(ConnId(0)), 2);
}

/// `maxRequestsPerConnection: 1`: no keep-alive, a fresh connection per request.
#[test]
fn max_requests_per_connection_one_closes_after_each_request() {
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(PoolConfig {
        max_requests_per_connection: Some(1),
        ..h1()
    });
    assert_eq!(
        pool.new_stream(1, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(0))
    );
    pool.on_connected(ConnId(0), &mut rm, &mut st);
    assert_eq!(st.get(ClusterCounter::UpstreamCxMaxRequests), 1);
    // While request 1 runs, request 2 needs a new connection.
    assert_eq!(
        pool.new_stream(2, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(1))
    );
    assert_eq!(
        pool.on_stream_done(ConnId(0), false, &[], &mut rm, &mut st),
        vec![PoolEvent::Closed(ConnId(0))]
    );
    assert_eq!(rm.count(Resource::Connections), 1);
    assert_eq!(st.get(ClusterCounter::UpstreamCxDestroy), 1);
}

#[test]
fn connect_failure_fails_every_pending_stream() {
    let mut rm = ResourceManager::new(Thresholds::istio(&IstioConnectionPool {
        max_connections: 1,
        ..Default::default()
    }));
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h1());
    pool.new_stream(1, &mut rm, &mut st);
    assert_eq!(pool.new_stream(2, &mut rm, &mut st), NewStream::Pending);
    assert_eq!(
        pool.on_connect_failed(ConnId(0), &mut rm, &mut st),
        vec![
            PoolEvent::Closed(ConnId(0)),
            PoolEvent::ConnectFailed { token: 1 },
            PoolEvent::ConnectFailed { token: 2 },
        ]
    );
    assert_eq!(rm.count(Resource::PendingRequests), 0);
    assert_eq!(rm.count(Resource::Connections), 0);
    assert_eq!(st.get(ClusterCounter::UpstreamCxConnectFail), 1);
    // The pool recovers: the next request connects again.
    assert_eq!(
        pool.new_stream(3, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(1))
    );
}

/// A host with no connection gets one even when the cluster is at
/// max_connections (other hosts hold them), so its queue can drain.
#[test]
fn first_connection_to_a_host_ignores_the_cluster_limit() {
    let mut rm = ResourceManager::new(Thresholds::istio(&IstioConnectionPool {
        max_connections: 1,
        ..Default::default()
    }));
    let mut st = ClusterStats::default();
    let mut a = ConnPool::<u32>::new(h1());
    let mut b = ConnPool::<u32>::new(h1());
    a.new_stream(1, &mut rm, &mut st);
    assert_eq!(
        b.new_stream(2, &mut rm, &mut st),
        NewStream::NewConnection(ConnId(0))
    );
    assert_eq!(rm.count(Resource::Connections), 2);
    assert_eq!(st.get(ClusterCounter::UpstreamCxOverflow), 1);
}

#[test]
fn cancel_pending_and_idle_timeout() {
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h1());
    pool.new_stream(1, &mut rm, &mut st);
    assert!(pool.cancel_pending(1, &mut rm));
    assert!(!pool.cancel_pending(1, &mut rm));
    assert_eq!(rm.count(Resource::PendingRequests), 0);
    // The connection still comes up, finds nothing to do and idles.
    assert!(pool.on_connected(ConnId(0), &mut rm, &mut st).is_empty());
    assert!(pool.is_idle(ConnId(0)));
    assert!(pool.on_idle_timeout(ConnId(0), &mut rm, &mut st));
    assert!(!pool.on_idle_timeout(ConnId(0), &mut rm, &mut st));
    assert_eq!(pool.connections(), 0);
    assert_eq!(rm.count(Resource::Connections), 0);
    assert_eq!(st.get(ClusterCounter::UpstreamCxIdleTimeout), 1);
}

/// A reset that closes an HTTP/2 connection loses the other streams on it.
#[test]
fn closing_a_connection_terminates_its_other_streams() {
    let mut rm = ResourceManager::new(Thresholds::istio_default());
    let mut st = ClusterStats::default();
    let mut pool = ConnPool::<u32>::new(h2());
    pool.new_stream(1, &mut rm, &mut st);
    pool.new_stream(2, &mut rm, &mut st);
    pool.on_connected(ConnId(0), &mut rm, &mut st);
    assert_eq!(rm.count(Resource::Requests), 2);
    let ev = pool.on_stream_done(ConnId(0), true, &[2], &mut rm, &mut st);
    assert_eq!(
        ev,
        vec![
            PoolEvent::Terminated { token: 2 },
            PoolEvent::Closed(ConnId(0))
        ]
    );
    assert_eq!(rm.count(Resource::Requests), 0);
    assert_eq!(rm.count(Resource::Connections), 0);
}
