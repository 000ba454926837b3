//! Kubernetes objects as simulation state: pods (servers with workers and a
//! queue), Services (endpoints per port) and kube-proxy's endpoint choice.

pub mod kube_proxy;
pub mod pod;
pub mod service;
