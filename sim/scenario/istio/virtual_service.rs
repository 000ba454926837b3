//! `VirtualService` (networking.istio.io v1/v1beta1/v1alpha3): decoded into
//! [`VirtualService`] with istiod 1.28's webhook rules (`validateVirtualService`,
//! `validateHTTPRoute` … in istio/istio `pkg/config/validation/validation.go`
//! and `virtualservice.go` @1.28.10; reference §12).
//!
//! What istiod rejects is an error; what it accepts and later fails (weights
//! not summing to 100, an earlier catch-all route) is a warning.

pub mod route_policy;

use super::hosts::{self, fields, list, obj, opt_bool, opt_str, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::spec::istio::*;
pub use route_policy::retries;
use route_policy::{direct_response, fault, headers, http_redirect, rewrite};
use std::collections::BTreeMap;

const SPEC: &[&str] = &["hosts", "gateways", "http", "tcp", "tls", "exportTo"];
const HTTP_ROUTE: &[&str] = &[
    "name",
    "match",
    "route",
    "redirect",
    "directResponse",
    "delegate",
    "rewrite",
    "timeout",
    "retries",
    "fault",
    "mirror",
    "mirrors",
    "mirrorPercentage",
    "mirrorPercent",
    "corsPolicy",
    "headers",
];
const MATCH: &[&str] = &[
    "name",
    "uri",
    "scheme",
    "method",
    "authority",
    "headers",
    "withoutHeaders",
    "queryParams",
    "port",
    "sourceLabels",
    "sourceNamespace",
    "gateways",
    "ignoreUriCase",
    "statPrefix",
];

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
    let tcp = tcp_v
        .iter()
        .filter_map(|r| {
            obj(cx, r, &["match", "route"])?;
            let matches = list(cx, r, "match")
                .iter()
                .map(|m| l4_match(cx, m, ns, false))
                .collect();
            let route = l4_destinations(cx, r, ns, "TCP")?;
            Some(TcpRoute { matches, route })
        })
        .collect();
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

/// `gateways`: `mesh`, `ns/name`, `name` (the VS's namespace) or the legacy
/// `name.ns.svc.cluster.local` (warning). Absent ⇒ `["mesh"]`.
fn gateways(cx: &mut Cx, spec: &V, ns: &str) -> Vec<String> {
    if !spec.has("gateways") {
        return vec!["mesh".into()];
    }
    let mut out = Vec::new();
    for (g, at) in string_list(cx, spec, "gateways") {
        if let Some(r) = gateway_name(cx, &at, &g, ns) {
            out.push(r);
        }
    }
    if out.is_empty() {
        out.push("mesh".into());
    }
    out
}

/// One gateway reference, resolved to `ns/name` (or `mesh`).
pub fn gateway_name(cx: &mut Cx, at: &V, g: &str, ns: &str) -> Option<String> {
    if g == "mesh" {
        return Some(g.into());
    }
    if let Some((gns, name)) = g.split_once('/') {
        if !hosts::is_dns1123_label(gns) || !hosts::is_dns1123_label(name) {
            cx.error(
                at,
                format!("invalid gateway name {g:?}: namespace/name must be DNS labels"),
            );
            return None;
        }
        return Some(g.into());
    }
    if hosts::wildcard_domain(g).is_err() || g.contains('*') {
        cx.error(at, format!("invalid gateway name {g:?}"));
        return None;
    }
    let parts: Vec<&str> = g.split('.').collect();
    if parts.len() > 1 {
        cx.warn(
            at,
            format!("{g:?} is the legacy gatewayName format; write namespace/name"),
        );
        return Some(format!("{}/{}", parts[1], parts[0]));
    }
    Some(format!("{ns}/{g}"))
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

/// Does host pattern `a` match every name `b` matches (case-insensitive)?
pub fn covers(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a == b || a == "*" {
        return true;
    }
    match a.strip_prefix('*') {
        Some(suffix) => {
            b.strip_prefix('*').unwrap_or(&b).ends_with(suffix) && b.len() > suffix.len()
        }
        None => false,
    }
}

fn http_route(cx: &mut Cx, r: &V, ns: &str, in_delegate: bool, jwt_ok: bool) -> Option<HttpRoute> {
    obj(cx, r, HTTP_ROUTE)?;
    let name = opt_str(cx, r, "name");
    let matches: Vec<HttpMatchRequest> = list(cx, r, "match")
        .iter()
        .filter_map(|m| http_match(cx, m, ns, jwt_ok))
        .collect();
    let has = |k| r.has(k);
    let (route, redirect, direct, deleg) = (
        has("route"),
        has("redirect"),
        has("directResponse"),
        has("delegate"),
    );
    if route && redirect {
        cx.error(r, "HTTP route cannot contain both route and redirect");
    }
    if route && direct {
        cx.error(
            r,
            "HTTP route cannot contain both route and direct_response",
        );
    }
    if redirect && direct {
        cx.error(
            r,
            "HTTP route cannot contain both redirect and direct_response",
        );
    }
    if deleg {
        if route || redirect || direct {
            cx.error(
                r,
                "HTTP route with delegate must not have route, redirect or direct_response",
            );
        }
        if in_delegate {
            cx.error(r, "a delegate VirtualService cannot delegate again");
        }
    }
    if !(route || redirect || direct || deleg) {
        cx.error(r, "HTTP route, redirect or direct_response is required");
    }
    if (redirect || direct) && r.has("fault") {
        cx.error(r, "fault cannot be set with redirect or direct_response");
    }
    if (redirect || direct) && r.has("rewrite") {
        cx.error(r, "rewrite cannot be set with redirect or direct_response");
    }
    if r.has("mirror") && r.has("mirrors") {
        cx.error(r, "mirror and mirrors cannot both be set");
    }
    let action = if deleg {
        let d = r.get("delegate")?;
        obj(cx, &d, &["name", "namespace"])?;
        let name = cx
            .req(&d, "name")
            .and_then(|n| cx.str(&n))
            .map(str::to_string)?;
        let dns = opt_str(cx, &d, "namespace").unwrap_or_else(|| ns.to_string());
        HttpAction::Delegate(Delegate {
            name,
            namespace: dns,
        })
    } else if redirect {
        HttpAction::Redirect(http_redirect(cx, &r.get("redirect")?)?)
    } else if direct {
        HttpAction::DirectResponse(direct_response(cx, &r.get("directResponse")?)?)
    } else {
        HttpAction::Route(http_destinations(cx, r, ns)?)
    };
    let rewrite = r.get("rewrite").and_then(|w| rewrite(cx, &w));
    let timeout = hosts::opt_duration(cx, r, "timeout");
    let retries = r.get("retries").and_then(|v| retries(cx, &v));
    let fault = r.get("fault").and_then(|f| fault(cx, &f));
    let mut mirrors = Vec::new();
    if let Some(m) = r.get("mirror") {
        let pct = match (r.get("mirrorPercentage"), r.get("mirrorPercent")) {
            (Some(p), _) => hosts::percent(cx, &p),
            (None, Some(p)) => {
                cx.warn(&p, "mirrorPercent is deprecated; use mirrorPercentage");
                cx.int_in(&p, 0, 100).map(|i| Ppm(i as u32 * 10_000))
            }
            (None, None) => Some(Ppm::ALL),
        };
        if let (Some(d), Some(p)) = (destination(cx, &m, ns), pct) {
            mirrors.push(Mirror {
                destination: d,
                percentage: p,
            });
        }
    }
    for m in list(cx, r, "mirrors") {
        if obj(cx, &m, &["destination", "percentage"]).is_none() {
            continue;
        }
        let d = cx
            .req(&m, "destination")
            .and_then(|d| destination(cx, &d, ns));
        let p = match m.get("percentage") {
            Some(p) => hosts::percent(cx, &p),
            None => Some(Ppm::ALL),
        };
        if let (Some(d), Some(p)) = (d, p) {
            mirrors.push(Mirror {
                destination: d,
                percentage: p,
            });
        }
    }
    let headers = r
        .get("headers")
        .map(|h| headers(cx, &h))
        .unwrap_or_default();
    Some(HttpRoute {
        name,
        matches,
        action,
        rewrite,
        timeout,
        retries,
        fault,
        mirrors,
        headers,
    })
}

fn http_match(cx: &mut Cx, m: &V, ns: &str, jwt_ok: bool) -> Option<HttpMatchRequest> {
    obj(cx, m, MATCH)?;
    let mut out = HttpMatchRequest {
        name: opt_str(cx, m, "name"),
        ignore_uri_case: opt_bool(cx, m, "ignoreUriCase").unwrap_or(false),
        ..Default::default()
    };
    out.uri = m
        .get("uri")
        .and_then(|v| hosts::string_match(cx, &v, true))
        .flatten();
    out.scheme = m
        .get("scheme")
        .and_then(|v| hosts::string_match(cx, &v, false))
        .flatten();
    out.method = m
        .get("method")
        .and_then(|v| hosts::string_match(cx, &v, false))
        .flatten();
    out.authority = m
        .get("authority")
        .and_then(|v| hosts::string_match(cx, &v, false))
        .flatten();
    out.headers = header_matches(cx, m, "headers", jwt_ok);
    out.without_headers = header_matches(cx, m, "withoutHeaders", jwt_ok);
    out.query_params = header_matches(cx, m, "queryParams", true);
    out.port = m.get("port").and_then(|p| cx.port(&p));
    out.source_labels = m
        .get("sourceLabels")
        .and_then(|l| hosts::labels(cx, &l))
        .unwrap_or_default();
    if let Some(sn) = m.get("sourceNamespace")
        && let Some(s) = cx.str(&sn)
    {
        if hosts::is_dns1123_label(s) {
            out.source_namespace = Some(s.to_string());
        } else {
            cx.error(&sn, format!("{s:?} is not a valid namespace name"));
        }
    }
    for (g, at) in string_list(cx, m, "gateways") {
        if let Some(r) = gateway_name(cx, &at, &g, ns) {
            out.gateways.push(r);
        }
    }
    Some(out)
}

/// `headers`/`withoutHeaders`/`queryParams`: name → StringMatch (`{}` = present).
fn header_matches(
    cx: &mut Cx,
    m: &V,
    key: &str,
    jwt_ok: bool,
) -> BTreeMap<String, Option<StringMatch>> {
    let mut out = BTreeMap::new();
    let Some(h) = m.get(key) else { return out };
    for (name, v) in cx.map(&h).unwrap_or_default() {
        let query = key == "queryParams";
        if !query {
            if name.starts_with("@request.auth.claims") {
                if !jwt_ok {
                    cx.error(&v, format!("{name:?}: JWT claim based routing is only supported for gateway-bound virtual services"));
                }
            } else if !valid_header_name(&name) {
                cx.error(&v, format!("header name {name:?} is not valid"));
                continue;
            }
        }
        if let Some(sm) = hosts::string_match(cx, &v, false) {
            out.insert(
                if query {
                    name
                } else {
                    name.to_ascii_lowercase()
                },
                sm,
            );
        }
    }
    out
}

/// A header name: token characters, pseudo-headers (`:authority`) allowed.
pub fn valid_header_name(n: &str) -> bool {
    let n = n.strip_prefix(':').unwrap_or(n);
    !n.is_empty()
        && n.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&c))
}

/// A `Destination` (`validateDestination`): host required and not `*`,
/// subset a DNS label, port valid.
fn destination(cx: &mut Cx, d: &V, ns: &str) -> Option<Destination> {
    obj(cx, d, &["host", "subset", "port"])?;
    let hv = cx.req(d, "host")?;
    let host = cx.str(&hv)?;
    if host == "*" {
        cx.error(&hv, "invalid destination host *");
        return None;
    }
    if let Err(e) = hosts::wildcard_domain(host)
        && !hosts::is_ip(host)
    {
        cx.error(&hv, e);
        return None;
    }
    let subset = match d.get("subset") {
        Some(s) => {
            let name = cx.str(&s)?;
            if !hosts::is_dns1123_label(name) {
                cx.error(&s, format!("subset name {name:?} is invalid"));
                return None;
            }
            Some(name.to_string())
        }
        None => None,
    };
    let port = match d.get("port") {
        Some(p) => {
            obj(cx, &p, &["number"])?;
            p.get("number").and_then(|n| cx.port(&n))
        }
        None => None,
    };
    Some(Destination {
        host: hosts::resolve_host(host, ns),
        subset,
        port,
    })
}

/// Weights: ≥ 0; several destinations summing to 0 ⇒ error; a sum ≠ 100 is
/// accepted by Istio 1.28 (Envoy splits in proportion) ⇒ warning.
fn weights(cx: &mut Cx, r: &V, ws: &[(Option<i64>, V)]) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (w, at) in ws {
        match w {
            Some(w) if *w < 0 => {
                cx.error(at, format!("weight {w} < 0"));
                ok = false;
            }
            Some(w) if *w > i32::MAX as i64 => {
                cx.error(at, format!("weight {w} is too large"));
                ok = false;
            }
            _ => out.push(w.unwrap_or(0) as u32),
        }
    }
    if !ok {
        return None;
    }
    if out.len() == 1 && ws[0].0.is_none() {
        out[0] = 100;
    }
    let total: u64 = out.iter().map(|w| *w as u64).sum();
    if out.len() > 1 && total == 0 {
        cx.error(r, "total destination weight = 0");
        return None;
    }
    if out.len() > 1 && total != 100 {
        cx.note(
            r,
            format!("destination weights sum to {total}, not 100: Istio 1.28 accepts this and Envoy splits in proportion to the weights (a note, never an error: --strict does not promote it)"),
        );
    }
    Some(out)
}

fn http_destinations(cx: &mut Cx, r: &V, ns: &str) -> Option<Vec<HttpRouteDestination>> {
    let rv = r.get("route")?;
    let items = cx.seq(&rv)?;
    let mut ds = Vec::new();
    let mut ws = Vec::new();
    for it in &items {
        obj(cx, it, &["destination", "weight", "headers"])?;
        let d = cx
            .req(it, "destination")
            .and_then(|d| destination(cx, &d, ns));
        let w = it
            .get("weight")
            .map(|w| (cx.int(&w), w))
            .unwrap_or((None, it.clone()));
        if it.get("weight").is_some() && w.0.is_none() {
            return None;
        }
        ws.push(w);
        let h = it
            .get("headers")
            .map(|h| headers(cx, &h))
            .unwrap_or_default();
        ds.push((d, h));
    }
    let weights = weights(cx, &rv, &ws)?;
    let mut out = Vec::new();
    for ((d, h), w) in ds.into_iter().zip(weights) {
        out.push(HttpRouteDestination {
            destination: d?,
            weight: w,
            headers: h,
        });
    }
    Some(out)
}

fn l4_destinations(cx: &mut Cx, r: &V, ns: &str, what: &str) -> Option<Vec<RouteDestination>> {
    let Some(rv) = r.get("route") else {
        cx.error(r, format!("{what} route is required"));
        return None;
    };
    let items = cx.seq(&rv)?;
    let mut ds = Vec::new();
    let mut ws = Vec::new();
    for it in &items {
        obj(cx, it, &["destination", "weight"])?;
        ds.push(
            cx.req(it, "destination")
                .and_then(|d| destination(cx, &d, ns)),
        );
        let w = it
            .get("weight")
            .map(|w| (cx.int(&w), w))
            .unwrap_or((None, it.clone()));
        ws.push(w);
    }
    let weights = weights(cx, &rv, &ws)?;
    let mut out = Vec::new();
    for (d, w) in ds.into_iter().zip(weights) {
        out.push(RouteDestination {
            destination: d?,
            weight: w,
        });
    }
    Some(out)
}

fn l4_match(cx: &mut Cx, m: &V, ns: &str, tls: bool) -> L4Match {
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
fn tls_route(cx: &mut Cx, r: &V, ns: &str, vs_hosts: &[(String, V)]) -> Option<TlsRoute> {
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

/// IST0130/IST0131 (istio/istio 1.28 `pkg/config/validation/validation.go`
/// `analyzeUnreachableHTTPRules`; warnings there too): a route with no match
/// (or an empty match) catches everything, so every later route is never
/// used (IST0130); a match block identical to an earlier one (its `name`
/// aside) is never what matches (IST0131), and a route all of whose match
/// blocks are such duplicates is never used (IST0130).
fn unreachable_rules(cx: &mut Cx, raw: &[V], routes: &[HttpRoute]) {
    if raw.len() != routes.len() {
        return;
    }
    let unnamed = |m: &HttpMatchRequest| HttpMatchRequest {
        name: None,
        ..m.clone()
    };
    let catch_all = |r: &HttpRoute| {
        r.matches.is_empty()
            || r.matches
                .iter()
                .any(|m| unnamed(m) == HttpMatchRequest::default())
    };
    if let Some(first) = routes.iter().position(catch_all) {
        for (i, v) in raw.iter().enumerate().skip(first + 1) {
            cx.warn(
                v,
                format!("IST0130 VirtualServiceUnreachableRule: route {i} is never used: route {first} before it matches every request"),
            );
        }
    }
    let last = routes
        .iter()
        .position(catch_all)
        .unwrap_or(routes.len().saturating_sub(1));
    // (route, match) of every match block seen so far.
    let mut seen: Vec<(usize, HttpMatchRequest)> = Vec::new();
    for (i, r) in routes.iter().enumerate().take(last + 1) {
        let raw_matches = quiet_matches(&raw[i]);
        let mut dups = 0;
        for (j, m) in r.matches.iter().enumerate() {
            let m = unnamed(m);
            if let Some((k, _)) = seen.iter().find(|(_, x)| *x == m) {
                dups += 1;
                let at = raw_matches.get(j).unwrap_or(&raw[i]);
                cx.warn(
                    at,
                    format!("IST0131 VirtualServiceIneffectiveMatch: route {i} match {j} is never used: route {k} has the same match before it"),
                );
            } else {
                seen.push((i, m));
            }
        }
        if dups > 0 && dups == r.matches.len() {
            cx.warn(
                &raw[i],
                format!("IST0130 VirtualServiceUnreachableRule: route {i} is never used: every match block of it repeats an earlier one"),
            );
        }
    }
}

/// The `match` list items of a raw route, without reporting.
fn quiet_matches<'a>(r: &V<'a>) -> Vec<V<'a>> {
    let Some(m) = r.get("match") else {
        return Vec::new();
    };
    match &m.node.value {
        crate::scenario::raw::Value::Seq(items) => (0..items.len())
            .map(|i| V {
                node: &items[i],
                path: format!("{}[{i}]", m.path),
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_coverage() {
        assert!(covers("*", "a.b"));
        assert!(covers("*.bookinfo.com", "uk.bookinfo.com"));
        assert!(covers("*.com", "*.bookinfo.com"));
        assert!(!covers("*.bookinfo.com", "bookinfo.com"));
        assert!(!covers("uk.bookinfo.com", "*.bookinfo.com"));
    }
}
