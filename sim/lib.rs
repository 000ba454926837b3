//! # meshsim
//!
//! A deterministic discrete-event simulator of Kubernetes + Istio service-mesh
//! traffic. It reads the manifests a team deploys plus a small behaviour file
//! (`meshsim.dev/v1alpha1` `Workload`, `Load`, `Simulation`, optionally `Cluster`
//! for nodes, zones and hop latencies) and replays the mesh in virtual time. It
//! models Kubernetes Services (ClusterIP, NodePort, LoadBalancer, session affinity,
//! traffic policies) with kube-proxy (iptables mode) semantics, Kubernetes Ingress
//! through an ingress-nginx controller, and Istio 1.28's Envoys in the mesh
//! layer (sidecars and gateways): routing, and resilience — timeouts,
//! retries, circuit breakers, outlier detection, fault injection, mirroring —
//! with a failure-propagation report ([`metrics::propagation`]).
//!
//! isotope topology files (istio/tools' `MockServiceGraph`) are read as they
//! are ([`scenario::isotope`]).
//!
//! Pipeline: [`scenario`] (YAML → located, validated [`scenario::Scenario`]) →
//! [`istiod`] ([`istiod::compile`]: Istio config + Services → per-proxy Envoy
//! listeners, route tables and clusters, [`istiod::Xds`]; pure, computed once) →
//! [`world`] (one replication's state and event dispatch) → [`batch`] (rayon over
//! replications, ordered merge) → [`report`] (pure renderers: terminal, JSON, CSV, SVG).
//! On top: [`answers`] (SLO assertions over `summary.json`, baseline
//! comparisons, capacity sweeps and `--find-min` bisection).
//!
//! ## Time model
//! Simulated time is `u64` nanoseconds ([`engine::SimTime`]). Sampled float
//! durations are rounded to the nearest nanosecond once, where they are drawn
//! ([`engine::SimDuration::from_secs_f64`]); all later arithmetic is exact.
//!
//! ## Event ordering contract
//! The pending-event set ([`engine::EventQueue`]) pops by `(time, seq)`: earlier
//! time first, and among equal times the event scheduled first. Hops that take no
//! simulated time are executed inline by the handler that caused them.
//! Timers are never removed from the queue; they carry a generation number and
//! a stale one is ignored when it pops.
//!
//! ## Determinism contract
//! Same scenario + seed ⇒ byte-identical `summary.json`, with 1 thread or N.
//! * One RNG stream per (purpose, entity) ([`engine::rng`]), keyed by names, not
//!   indices: adding a pod does not change any other pod's draws.
//! * No `HashMap`/`HashSet`, wall clock, OS entropy, `std::env` or threads in the
//!   library: enforced by `clippy.toml` and the `deny` below, not by review.
//! * Replications run in parallel with rayon and are merged in index order
//!   ([`batch`]); merges are exact integer adds.
//!
//! ## Accounting invariant
//! Every request a load generator issues inside the measurement window ends in
//! the report exactly once: completed, failed (5xx or no response), or in flight
//! at the end. The same holds server-side for each Service and workload.
//!
//! ## Fidelity gaps (admitted simplifications)
//! * No TCP: a connection is a pinned choice of pod; handshake and network hop
//!   latencies are drawn from the `Cluster` object's distributions (zero
//!   without one). No bandwidth, loss or congestion; a dropped connection
//!   (NodePort `Local` on a node without a pod) fails at once instead of after
//!   the client's connect timeout. Pods change during a run through Chaos
//!   Mesh experiments ([`scenario::chaos`], applied by
//!   `world/pod_lifecycle.rs`), the kubelet's probes (`world/probe.rs`:
//!   httpGet/grpc probes wait for a worker behind the traffic, so an
//!   overloaded pod fails liveness and restarts with CrashLoopBackOff),
//!   meshsim's timed events (`world/rollout.rs`: scale, rollout, drain,
//!   node/zone loss, partitions) and HorizontalPodAutoscalers
//!   (`world/autoscale.rs`, CPU = compute steps only); endpoints follow
//!   after a configurable propagation delay. One ReplicaSet controller
//!   (`world/replicaset.rs`) creates and deletes pods; a deleted pod runs
//!   its preStop sleep and may drain until its grace period
//!   (`world/termination.rs`); without any of these a pod is ready or
//!   not for the whole run.
//! * A pod is a pool of identical workers with one FIFO queue; no CPU contention
//!   between parallel branches of one request holding one worker.
//! * The mesh is simulated for **HTTP** (and TCP/TLS below): sidecars and gateways decide
//!   routes, weighted splits, local answers (404 NR, 503 NC/UH, redirects,
//!   direct responses) and per-request load balancing over what istiod
//!   compiled ([`istiod`], applied by [`world`]), and each client proxy runs
//!   Envoy's fault filter and router (timeouts, retries, mirrors), its
//!   connection pools (circuit breaking; modelled connection by connection
//!   only when the cluster sets a pool limit — otherwise warm, as Istio's
//!   2^32−1 defaults never bind) and its outlier detectors; the inbound
//!   sidecar retries a refused connection to its app twice
//!   (`reset-before-request`, not on gRPC ports: `world/inbound_retry.rs`).
//!   Not modelled: upstream
//!   idle/connect
//!   timeouts, hedging (Istio configures none); mirrored copies bypass
//!   pools. ServiceEntry hosts are routed on their HTTP ports to a
//!   stand-in Service's pods (`Simulation.spec.externalHosts`;
//!   [`istiod::service_entry`]); `endpoints` (addresses resolved through
//!   `externalHosts`, with weights, localities and labels) and
//!   `workloadSelector` (selected pods, found through a Service backing
//!   them) are host groups ([`istiod::entry_endpoints`]); `DNS_ROUND_ROBIN`
//!   uses the first ready address. Egress gateways are the user's
//!   `istio-egressgateway` Deployment, routed as any gateway. Locality load
//!   balancing ([`proxy::locality`]) reads no MeshConfig `localityLbSetting`
//!   (Istio's default, enabled) and ignores localities in a priority in
//!   panic; with pods changing during a run the layout is redone over the
//!   endpoints in EDS, as istiod recomputes the assignment.
//!   TCP/TLS ports are `tcp_proxy` listeners (`world/tcp_proxy.rs`): per
//!   connection (one request), a filter chain by destination then SNI,
//!   `tcp`/`tls` routes, a weighted cluster and the same balancer, pool
//!   and outlier detector, no HTTP policy; `destinationSubnets` are not
//!   evaluated (no IP addresses). A proxy hop costs a configured latency on the request
//!   path, and on the response path only with `mesh.proxy.responseLatency`;
//!   sidecars have no CPU budget (gateways can, `mesh.proxy.workers`).
//!
//! ## Events per meshed request
//! A request from a client sidecar to a server with a sidecar costs: the
//! client's send (a load's arrival or the caller's preceding `ComputeDone`),
//! one `Deliver` (outbound proxy latency + network path + inbound proxy
//! latency, summed into one delay; none at all when every part is zero), one
//! `ComputeDone` per compute step of the server, and one `Respond` (only when
//! the way back takes time): four events for a one-step server, within the
//! budget of eight. A gateway adds one `ComputeDone` when it has a worker
//! budget (the routing holds a worker), and its upstream child request its own
//! `Deliver` / `Respond`.

#![forbid(unsafe_code)]
#![deny(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod answers;
pub mod batch;
pub mod cli;
pub mod cluster;
pub mod engine;
pub mod istiod;
pub mod metrics;
pub mod proxy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod workload;
pub mod world;
