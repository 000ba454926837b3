//! `TCPRoute` and `TLSRoute` with their `L4MatchAttributes` and
//! `TLSMatchAttributes`: the non-HTTP routes of a VirtualService, whose SNI
//! hosts must be covered by the VirtualService's own hosts (istiod 1.28's
//! `validateTCPRoute`, `validateTLSRoute`).

use super::super::hosts::{self, covers, list, obj, opt_str, string_list};
use super::destination::l4_destinations;
use super::gateways::gateway_name;
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;

/// TCP routes: matches optional, a route required.
pub(super) fn tcp_route(cx: &mut Cx, r: &V, ns: &str) -> Option<TcpRoute> {
    obj(cx, r, &["match", "route"])?;
    let matches = list(cx, r, "match")
        .iter()
        .map(|m| l4_match(cx, m, ns, false))
        .collect();
    let route = l4_destinations(cx, r, ns, "TCP")?;
    Some(TcpRoute { matches, route })
}

pub(super) fn l4_match(cx: &mut Cx, m: &V, ns: &str, tls: bool) -> L4Match {
    let mut known = vec![
        "destinationSubnets",
        "port",
        "sourceLabels",
        "gateways",
        "sourceNamespace",
    ];
    if tls {
        known.push("sniHosts");
    }
    let mut out = L4Match::default();
    if obj(cx, m, &known).is_none() {
        return out;
    }
    for (s, at) in string_list(cx, m, "destinationSubnets") {
        if hosts::is_ip_or_cidr(&s) {
            out.destination_subnets.push(s);
        } else {
            cx.error(
                &at,
                format!("{s:?} is not a valid IP address or CIDR block"),
            );
        }
    }
    out.port = m.get("port").and_then(|p| cx.port(&p));
    out.source_labels = m
        .get("sourceLabels")
        .and_then(|l| hosts::labels(cx, &l))
        .unwrap_or_default();
    out.source_namespace = opt_str(cx, m, "sourceNamespace");
    for (g, at) in string_list(cx, m, "gateways") {
        if let Some(r) = gateway_name(cx, &at, &g, ns) {
            out.gateways.push(r);
        }
    }
    out
}

/// TLS routes: ≥ 1 match, each with ≥ 1 SNI host covered by the VS's hosts.
pub(super) fn tls_route(
    cx: &mut Cx,
    r: &V,
    ns: &str,
    vs_hosts: &[(String, V)],
) -> Option<TlsRoute> {
    obj(cx, r, &["match", "route"])?;
    let ms = list(cx, r, "match");
    if ms.is_empty() {
        cx.error(r, "TLS route must have at least one match condition");
    }
    let mut matches = Vec::new();
    for m in &ms {
        let l4 = l4_match(cx, m, ns, true);
        let sni = string_list(cx, m, "sniHosts");
        if sni.is_empty() {
            cx.error(m, "TLS match must have at least one SNI host");
        }
        for (s, at) in &sni {
            if let Err(e) = hosts::wildcard_domain(s) {
                cx.error(at, e);
            } else if !vs_hosts.iter().any(|(h, _)| covers(h, s)) {
                cx.error(
                    at,
                    format!("the SNI host {s:?} is not a match for any host of the VirtualService"),
                );
            }
        }
        matches.push(TlsMatch {
            sni_hosts: sni.into_iter().map(|s| s.0).collect(),
            l4,
        });
    }
    let route = l4_destinations(cx, r, ns, "TLS")?;
    Some(TlsRoute { matches, route })
}
