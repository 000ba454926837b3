//! The Envoy proxy (sidecar or gateway) as inert, Envoy-shaped config plus
//! pure decisions with named outcomes. istiod's translation (Istio spec →
//! these types) and the world's handlers (which apply the decisions) live
//! elsewhere; nothing here knows about scenarios, the world or workloads.
//! Randomness and time are parameters (`engine::rng::SimRng`).
//!
//! * [`request`]: the attributes a proxy routes on.
//! * [`protocol`]: Istio's protocol selection for a Service port and the
//!   upstream HTTP version.
//! * [`matcher`]: Envoy string matchers (exact/prefix/suffix/contains/regex).
//! * [`route`]: `RouteConfiguration` → virtual host → first route → weighted
//!   cluster, redirects, direct responses, rewrites, header operations.
//! * [`lb`]: load balancers (round robin, least request, random, ring hash,
//!   Maglev) and request hash keys.
//! * [`flags`]: Envoy response flags (`NR`, `UH`, `UO`, …).
//! * [`filter_chain`]: an L4 listener's filter chain match (destination,
//!   SNI) and tcp_proxy's weighted cluster pick.
//! * Resilience (issue 10), each a pure core the world applies:
//!   [`retry`] (retry policy/state, back-off, host re-pick), [`timeout`]
//!   (route and per-try deadlines), [`breaker`] (circuit-breaker counters,
//!   Envoy cluster stats), [`conn_pool`] (HTTP/1.1 and HTTP/2 upstream
//!   connection pools), [`outlier`] (outlier detection), [`fault`] (fault
//!   filter), [`mirror`] (request mirroring).

pub mod breaker;
pub mod conn_pool;
pub mod fault;
pub mod filter_chain;
pub mod flags;
pub mod lb;
pub mod locality;
pub mod matcher;
pub mod mirror;
pub mod outlier;
pub mod protocol;
pub mod request;
pub mod retry;
pub mod route;
pub mod timeout;
