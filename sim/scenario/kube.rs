//! Kubernetes kinds meshsim simulates, one file each: decoded from an
//! [`Object`](super::object::Object) as the API server would accept them,
//! ignoring fields meshsim does not model (as the API server's clients do).
//! Wired in by `validate::decode_object`.

pub mod deployment;
pub mod hpa;
pub mod ingress;
pub mod service;
