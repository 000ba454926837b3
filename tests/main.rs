//! One integration binary (fast to link, one place to list what is tested).

/// Shared helpers: scenario from text, run, paths to ../shared.
mod common;
/// Same seed ⇒ byte-identical reports; 1 vs N threads; stream independence.
mod determinism;
/// Every issued request ends exactly once: completed, failed or in flight.
mod accounting;
/// Queueing results against exact theory (Erlang-C, M/D/1, Jackson).
mod queueing;
/// Call graphs: scripts, held/released workers, app timeouts and retries.
mod callgraph;
/// Bad input ⇒ located errors, never a panic.
mod errors;
/// Every file of ../shared/corpus and ../shared/seed through the loader.
mod corpus;
/// Kubernetes networking: ClusterIP, NodePort, LoadBalancer, Ingress.
mod kubernetes;
/// The CLI contract: exit codes, files written.
mod cli;
