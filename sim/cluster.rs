//! Kubernetes objects as simulation state: pods (servers with workers and a
//! queue), Services (endpoints per port) and kube-proxy's endpoint choice, and
//! the networking around them: nodes and zones, pod placement, NodePort,
//! cloud load balancers, session affinity and ingress-nginx.

pub mod hpa;
pub mod ingress;
pub mod kube_proxy;
pub mod load_balancer;
pub mod network;
pub mod node;
pub mod nodeport;
pub mod pod;
pub mod selector;
pub mod service;
pub mod session_affinity;
pub mod topology;
