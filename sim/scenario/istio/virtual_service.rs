//! `VirtualService` (networking.istio.io v1/v1beta1/v1alpha3): decoded into
//! [`VirtualService`] with istiod 1.28's webhook rules (`validateVirtualService`,
//! `validateHTTPRoute` … in istio/istio `pkg/config/validation/validation.go`
//! and `virtualservice.go` @1.28.10; reference §12).
//!
//! What istiod rejects is an error; what it accepts and later fails (weights
//! not summing to 100, an earlier catch-all route) is a warning.
//!
//! One concept per file, named as Istio's API names it: `http_route`
//! (HTTPRoute), `http_match_request` (HTTPMatchRequest), `destination`
//! (Destination, HTTPRouteDestination, RouteDestination and their weights),
//! `gateways` (the `gateways` lists), `l4_route` (TCPRoute, TLSRoute and
//! their L4/TLS match attributes), `unreachable_rule` (IST0130/IST0131) and
//! `route_policy` (what an HTTP route does besides picking destinations). This file holds the object itself:
//! its hosts and the walk over its route lists; host coverage (`covers`) is
//! `hosts.rs`'s, shared with the other kinds.

mod destination;
mod gateways;
mod http_match_request;
mod http_route;
mod l4_route;
pub mod route_policy;
mod unreachable_rule;

use super::hosts::{self, covers, fields, list, obj, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::spec::istio::*;
pub use gateways::gateway_name;
use gateways::gateways;
pub use http_match_request::valid_header_name;
use http_route::http_route;
use l4_route::{tcp_route, tls_route};
pub use route_policy::retries;
use unreachable_rule::unreachable_rules;

const SPEC: &[&str] = &["hosts", "gateways", "http", "tcp", "tls", "exportTo"];

/// Decodes and validates one VirtualService.
pub fn decode(o: &Object, cx: &mut Cx) -> Option<VirtualService> {
    fields(cx, &o.node, hosts::OBJECT_FIELDS);
    let spec = cx.req(&o.node, "spec")?;
    obj(cx, &spec, SPEC)?;
    let ns = o.namespace.as_str();
    let raw_hosts = string_list(cx, &spec, "hosts");
    let delegate = raw_hosts.is_empty();
    let gateways = gateways(cx, &spec, ns);
    let applies_to_mesh = gateways.iter().any(|g| g == "mesh");
    let binds_gateway = gateways.iter().any(|g| g != "mesh");
    if delegate {
        if spec.has("gateways") {
            cx.error(
                &spec,
                "gateways should not be specified in a delegate VirtualService (no hosts)",
            );
        }
        for k in ["tcp", "tls"] {
            if let Some(v) = spec.get(k) {
                cx.error(
                    &v,
                    format!("{k} should not be specified in a delegate VirtualService (no hosts)"),
                );
            }
        }
    }
    let mut hosts_out = Vec::new();
    for (h, at) in &raw_hosts {
        if let Err(e) = hosts::wildcard_domain(h)
            && !hosts::is_ip(h)
        {
            cx.error(at, e);
            continue;
        }
        if h == "*" && applies_to_mesh {
            cx.error(
                at,
                "wildcard host * is not allowed for virtual services bound to the mesh gateway",
            );
        }
        hosts_out.push(hosts::resolve_host(h, ns));
    }
    duplicate_hosts(cx, &spec, &raw_hosts);
    let http_v = list(cx, &spec, "http");
    let tcp_v = list(cx, &spec, "tcp");
    let tls_v = list(cx, &spec, "tls");
    if http_v.is_empty() && tcp_v.is_empty() && tls_v.is_empty() {
        cx.error(
            &spec,
            "http, tcp or tls must be provided in virtual service",
        );
    }
    let jwt_ok = binds_gateway && !applies_to_mesh;
    let http: Vec<HttpRoute> = http_v
        .iter()
        .filter_map(|r| http_route(cx, r, ns, delegate, jwt_ok))
        .collect();
    unreachable_rules(cx, &http_v, &http);
    let tcp = tcp_v.iter().filter_map(|r| tcp_route(cx, r, ns)).collect();
    let tls = tls_v
        .iter()
        .filter_map(|r| tls_route(cx, r, ns, &raw_hosts))
        .collect();
    let export_to = hosts::export_to(cx, &spec, ns, false);
    Some(VirtualService {
        meta: super::meta(o),
        hosts: hosts_out,
        gateways,
        export_to,
        http,
        tcp,
        tls,
    })
}

/// Two hosts of one VS that overlap (equal, or one wildcard covering the other).
fn duplicate_hosts(cx: &mut Cx, spec: &V, raw: &[(String, V)]) {
    for i in 0..raw.len() {
        for j in i + 1..raw.len() {
            let (a, b) = (&raw[i].0, &raw[j].0);
            if covers(a, b) || covers(b, a) {
                cx.error(
                    &raw[j].1,
                    format!("duplicate hosts in virtual service: {a} & {b}"),
                );
            }
        }
    }
    let _ = spec;
}
