//! istiod: compiles the scenario's Istio config and Kubernetes Services into
//! the Envoy config each simulated proxy runs ([`xds::Xds`]).
//!
//! Why a separate stage: Istio decides a great deal at *config-generation*
//! time, per proxy, not per request — which VirtualServices a sidecar sees
//! (`exportTo`, the `Sidecar` resource's egress hosts), which match blocks
//! survive (`sourceLabels`, `sourceNamespace`, `gateways`, `port`), how several
//! VirtualServices for one host merge (first wins in sidecars, concatenated at
//! gateways), which DestinationRule applies (client namespace, service
//! namespace, root namespace) and which subsets exist. Doing that once, here,
//! as pure functions from the validated [`crate::scenario::Scenario`] to
//! Envoy-shaped data ([`crate::proxy`]), keeps the per-request path in the
//! world down to Envoy's own decisions: virtual host, first matching route,
//! weighted pick, load balancer. `meshsim route-test` runs the same compiled
//! tables without simulating, so there is exactly one router.
//!
//! Sources are cited where each rule is implemented (istio/istio 1.28.x
//! `pilot/pkg/networking/core/{httproute.go,gateway.go,cluster.go}`,
//! `pilot/pkg/model/{virtualservice.go,push_context.go,sidecar.go}`).

pub mod resilience;
pub mod xds;

pub use xds::Xds;
