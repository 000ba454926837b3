//! One integration binary (fast to link, one place to list what is tested).

/// Every issued request ends exactly once: completed, failed or in flight.
mod accounting;
/// `istioctl analyze`-style warnings (IST codes) in validate.
mod analyze;
/// SLO assertions, --baseline, --set, sweeps (issue #13).
mod answers;
/// HorizontalPodAutoscaler: scenarios/chaos/hpa-step's replica trajectory
/// asserted sync by sync, keep-alive pinning, policies, the sidecar's request.
mod autoscale;
/// Call graphs: scripts, held/released workers, app timeouts and retries.
mod callgraph;
/// scenarios/chaos/: Chaos Mesh experiments, pod lifecycle and endpoint
/// propagation — timelines asserted exactly, accounting through failures.
mod chaos;
/// The CLI contract: exit codes, files written.
mod cli;
/// Shared helpers: scenario from text, run, paths to ../shared.
mod common;
/// istio.io's old concepts page: what 1.28 accepts, refuses and means.
mod concepts;
/// Every file of ../shared/corpus and ../shared/seed through the loader.
mod corpus;
/// Same seed ⇒ byte-identical reports; 1 vs N threads; stream independence.
mod determinism;
/// `meshsim diff`: common random numbers, paired intervals (issue #13).
mod diff;
/// istio.io's Egress Gateways task: sidecar → istio-egressgateway → external host.
mod egress_gateway;
/// Workload endpoint rules and `choice` steps: exact per-rule latency, one branch per request.
mod endpoints;
/// Bad input ⇒ located errors, never a panic.
mod errors;
/// scenarios/explained/ and istio.io's circuit-breaking task: user confusions
/// (retries, faults, outlier detection, circuit breakers) with their 1.28 outcomes.
mod explained;
/// Opt-in exports: fortio's -json shape, istio.csv, percentile intervals (issue #13).
mod exports;
/// External hosts and ServiceEntry: istio.io's egress task (REGISTRY_ONLY, ALLOW_ANY, timeout).
mod external;
/// Every shipped scenario's summary.json, byte for byte (refactors change no number).
mod golden;
/// The run-time resource guard: memory budget, request limit, stop callback.
mod guard;
/// DIR/index.html in headless Chromium: numbers of summary.json, no errors, no fetches.
mod html_report;
/// isotope topologies read natively: every corpus file, the mock service's behaviour.
mod isotope;
/// scenarios/istio-docs/: istio.io task outcomes (fault injection, request timeouts, mirroring).
mod istio_docs;
/// Istio objects: 1.28 validation, Istio's fixtures, the seed files, injection.
mod istio_fixtures;
/// Load `iterations`: exactly N requests (h2load -n, fortio -n, k6 iterations), with `stop`.
mod iterations;
/// Kubernetes networking: ClusterIP, NodePort, LoadBalancer, Ingress.
mod kubernetes;
/// Locality load balancing: istio.io's locality failover task, distribute, retryRemoteLocalities.
mod locality;
/// The mesh at run time: sidecars, gateways, splits, flags (hand-built Xds).
pub mod mesh;
/// Istio's metrics export (metrics.om): series, counts, determinism, promtool backfill.
mod metrics_export;
/// Outlier detection end to end: a failing pod leaves the client proxy's balancer.
mod outlier;
/// Overload said out loud: queue growth and unfinished requests reported; never for M/M/4 at ρ = 0.9.
mod overload;
/// fortio's closed-loop pacing: catch-up, -nocatchup, -uniform, -jitter.
mod pacing;
/// Single-run percentile intervals (batch quantiles) against M/M/4's exact p99.
mod percentile_ci;
/// Kubelet probes (startup gating, CrashLoopBackOff) and the inbound
/// sidecar's reset-before-request retry (scenarios/chaos/ variants).
mod probes;
/// consistentHash useSourceIp (one client, one pod); proxy latency on the response path.
mod proxy_extras;
/// Queueing results against exact theory (Erlang-C, M/D/1, Jackson).
mod queueing;
/// The summary.json contract and the renderers.
mod report;
/// Timed events (rollouts, node drain, zone loss) and Chaos Mesh partition:
/// the controllers' timelines asserted exactly.
mod rollout;
/// `meshsim route-test`: shipped seed tables pass, wrong ones fail (exit 1), coverage, usage errors.
mod route_test;
/// Structure-aware scenario fuzzing: generated scenarios keep every invariant.
mod scenario_fuzz;
/// scenarios/seed/: each folder run as shipped; its stated outcome holds.
mod seed;
/// Seeds 07, 08, 10 (route timeout, retries, fault delay) under Istio 1.28, and retryOn variants.
mod seed_resilience;
/// ServiceEntry endpoints (weights, labels), DNS vs DNS_ROUND_ROBIN, workloadSelector.
mod service_entry;
/// Per-Service Envoy flags: the callers' view, adding up with the loads'.
mod service_flags;
/// Sharded sweeps: `sweep --shard I/N` + `merge` = the unsharded sweep, byte for
/// byte; bad partial sets refused; deploy/kubernetes's Indexed Job run locally.
mod sharded;
/// tcp_proxy's own answers: `tcp.maxConnections` overflow (UO, no queue) and
/// a passthrough gateway's unknown SNI (NR).
mod tcp_proxy;
