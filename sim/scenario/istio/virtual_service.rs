//! `VirtualService` (networking.istio.io v1/v1beta1/v1alpha3): decoded into
//! [`VirtualService`] with istiod 1.28's webhook rules (`validateVirtualService`,
//! `validateHTTPRoute` … in istio/istio `pkg/config/validation/validation.go`
//! and `virtualservice.go` @1.28.10; reference §12).
//!
//! What istiod rejects is an error; what it accepts and later fails (weights
//! not summing to 100, an earlier catch-all route) is a warning.

use super::hosts::{self, fields, list, obj, opt_bool, opt_str, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;
use crate::scenario::validate::Object;
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
        cx.warn(
            r,
            format!("destination weights sum to {total}, not 100: Istio 1.28 accepts this and Envoy splits in proportion to the weights"),
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

fn http_redirect(cx: &mut Cx, v: &V) -> Option<HttpRedirect> {
    obj(
        cx,
        v,
        &[
            "uri",
            "authority",
            "port",
            "derivePort",
            "scheme",
            "redirectCode",
        ],
    )?;
    let port = match (v.get("port"), v.get("derivePort")) {
        (Some(p), _) => Some(RedirectPort::Number(cx.port(&p)?)),
        (None, Some(d)) => Some(cx.one_of(
            &d,
            &[
                ("FROM_PROTOCOL_DEFAULT", RedirectPort::FromProtocolDefault),
                ("FROM_REQUEST_PORT", RedirectPort::FromRequestPort),
            ],
        )?),
        (None, None) => None,
    };
    let uri = opt_str(cx, v, "uri");
    let authority = opt_str(cx, v, "authority");
    let scheme = opt_str(cx, v, "scheme");
    if uri.as_deref().is_none_or(str::is_empty)
        && authority.as_deref().is_none_or(str::is_empty)
        && scheme.is_none()
        && port.is_none()
    {
        cx.error(v, "redirect must specify URI, authority, scheme, or port");
        return None;
    }
    if let (Some(s), Some(at)) = (&scheme, v.get("scheme"))
        && s != "http"
        && s != "https"
    {
        cx.error(&at, format!("{s:?}: redirect scheme must be http or https"));
    }
    let code = match v.get("redirectCode") {
        Some(c) => {
            let c2 = cx.int(&c)?;
            if !(300..=399).contains(&c2) {
                cx.error(
                    &c,
                    format!("{c2}: redirect code must be in the range 300-399"),
                );
                return None;
            }
            c2 as u16
        }
        None => 301,
    };
    Some(HttpRedirect {
        uri,
        authority,
        port,
        scheme,
        redirect_code: code,
    })
}

fn direct_response(cx: &mut Cx, v: &V) -> Option<DirectResponse> {
    obj(cx, v, &["status", "body"])?;
    let st = cx.req(v, "status")?;
    let status = cx.int(&st)?;
    if !(200..=599).contains(&status) {
        cx.error(
            &st,
            format!("{status}: directResponse status must be in the range 200-599"),
        );
        return None;
    }
    let mut body_bytes = 0;
    if let Some(b) = v.get("body") {
        obj(cx, &b, &["string", "bytes"])?;
        if let Some(s) = b.get("string").and_then(|s| cx.str(&s)) {
            body_bytes = s.len();
        } else if let Some(s) = b.get("bytes").and_then(|s| cx.str(&s)) {
            body_bytes = s.len() * 3 / 4;
        }
        if body_bytes > 1_048_576 {
            cx.error(
                &b,
                format!("directResponse body is {body_bytes} bytes, larger than the 1 MB limit"),
            );
        } else if body_bytes > 102_400 {
            cx.warn(
                &b,
                "directResponse body is larger than 100 KB; consider a smaller one",
            );
        }
    }
    Some(DirectResponse {
        status: status as u16,
        body_bytes,
    })
}

fn rewrite(cx: &mut Cx, v: &V) -> Option<HttpRewrite> {
    obj(cx, v, &["uri", "authority", "uriRegexRewrite"])?;
    let mut out = HttpRewrite {
        uri: opt_str(cx, v, "uri"),
        authority: opt_str(cx, v, "authority"),
        ..Default::default()
    };
    if let Some(rr) = v.get("uriRegexRewrite") {
        obj(cx, &rr, &["match", "rewrite"])?;
        let m = cx
            .req(&rr, "match")
            .and_then(|m| cx.str(&m).map(|s| (s.to_string(), m)));
        let w = cx
            .req(&rr, "rewrite")
            .and_then(|w| cx.str(&w).map(str::to_string));
        if let (Some((m, at)), Some(w)) = (m, w)
            && hosts::regex(cx, &at, &m)
        {
            out.uri_regex_rewrite = Some((m, w));
        }
        if out.uri.is_some() {
            cx.error(v, "rewrite may only contain one of uri or uriRegexRewrite");
        }
    }
    if out.uri.is_none() && out.authority.is_none() && !v.has("uriRegexRewrite") {
        cx.error(v, "rewrite must specify uri, uriRegexRewrite, or authority");
    }
    Some(out)
}

/// `retryOn` policies istiod accepts (`supportedRetryOnPolicies` @1.28.10).
const RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// Status codes Go's `net/http.StatusText` knows (the other accepted `retryOn` tokens).
fn go_status_known(c: u16) -> bool {
    matches!(c, 100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429 | 431 | 451 | 500..=508 | 510 | 511)
}

/// `HTTPRetry` (`validateHTTPRetry`): also used for MeshConfig's `defaultHttpRetryPolicy`.
pub fn retries(cx: &mut Cx, v: &V) -> Option<Retries> {
    obj(
        cx,
        v,
        &[
            "attempts",
            "perTryTimeout",
            "retryOn",
            "retryRemoteLocalities",
            "retryIgnorePreviousHosts",
            "backoff",
        ],
    )?;
    let attempts = v
        .get("attempts")
        .and_then(|a| cx.int_in(&a, 0, i32::MAX as i64))
        .unwrap_or(0) as u32;
    let per_try_timeout = hosts::opt_duration(cx, v, "perTryTimeout");
    if let Some(b) = v.get("backoff") {
        hosts::duration(cx, &b, false);
    }
    let mut retry_on = Vec::new();
    if let Some(ro) = v.get("retryOn")
        && let Some(s) = cx.str(&ro)
    {
        // Tokens are not trimmed: "5xx, reset" fails, as in istiod.
        for t in s.split(',') {
            let known = RETRY_ON.contains(&t) || t.parse::<u16>().is_ok_and(go_status_known);
            if !known {
                cx.error(&ro, format!("{t:?} is not a valid retryOn policy"));
            } else {
                retry_on.push(t.to_string());
            }
        }
    }
    let retry_remote_localities = opt_bool(cx, v, "retryRemoteLocalities");
    if attempts == 0
        && (v.has("perTryTimeout") || v.has("retryOn") || v.has("retryRemoteLocalities"))
    {
        cx.error(
            v,
            "http retry policy configured when attempts are set to 0 (disabled)",
        );
    }
    Some(Retries {
        attempts,
        per_try_timeout,
        retry_on,
        retry_remote_localities,
    })
}

const GRPC_CODES: &[&str] = &[
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// `percentage` of a fault: 0, or within [0.0001, 100] (`validatePercentage`).
fn fault_percentage(cx: &mut Cx, f: &V) -> Option<Ppm> {
    match f.get("percentage") {
        None => match f.get("percent") {
            Some(p) => cx.int_in(&p, 0, 100).map(|i| Ppm(i as u32 * 10_000)),
            None => Some(Ppm(0)),
        },
        Some(p) => {
            let raw = p.get("value").and_then(|x| hosts::num(&x)).unwrap_or(0.0);
            if raw > 0.0 && raw < 0.0001 {
                cx.error(
                    &p,
                    format!("percentage {raw} is neither 0.0, nor in range [0.0001, 100.0]"),
                );
                return None;
            }
            hosts::percent(cx, &p)
        }
    }
}

fn fault(cx: &mut Cx, v: &V) -> Option<Fault> {
    obj(cx, v, &["delay", "abort"])?;
    if !v.has("delay") && !v.has("abort") {
        cx.error(v, "HTTP fault injection must have an abort and/or a delay");
        return None;
    }
    let delay = match v.get("delay") {
        Some(d) => {
            obj(
                cx,
                &d,
                &["fixedDelay", "exponentialDelay", "percentage", "percent"],
            )?;
            if let Some(e) = d.get("exponentialDelay") {
                cx.error(&e, "exponentialDelay not supported yet");
                return None;
            }
            let fixed = cx
                .req(&d, "fixedDelay")
                .and_then(|f| hosts::duration(cx, &f, false));
            let pct = fault_percentage(cx, &d);
            Some(FaultDelay {
                fixed_delay: fixed?,
                percentage: pct?,
            })
        }
        None => None,
    };
    let abort = match v.get("abort") {
        Some(a) => {
            obj(
                cx,
                &a,
                &["httpStatus", "grpcStatus", "http2Error", "percentage"],
            )?;
            let error = if let Some(s) = a.get("httpStatus") {
                let c = cx.int(&s)?;
                if !(200..=600).contains(&c) {
                    cx.error(
                        &s,
                        format!("{c}: abort http status must be in the range 200-599"),
                    );
                    return None;
                }
                AbortError::HttpStatus(c as u16)
            } else if let Some(s) = a.get("grpcStatus") {
                let c = cx.str(&s)?;
                if !GRPC_CODES.contains(&c) {
                    cx.error(&s, format!("{c:?} is not a valid gRPC code"));
                    return None;
                }
                AbortError::GrpcStatus(c.to_string())
            } else if let Some(h) = a.get("http2Error") {
                cx.error(&h, "HTTP/2 abort fault injection not supported yet");
                return None;
            } else {
                cx.warn(
                    &a,
                    "abort without httpStatus or grpcStatus: no error type given",
                );
                AbortError::Unspecified
            };
            Some(FaultAbort {
                error,
                percentage: fault_percentage(cx, &a)?,
            })
        }
        None => None,
    };
    Some(Fault { delay, abort })
}

/// `headers: {request: {set, add, remove}, response: {…}}`.
fn headers(cx: &mut Cx, v: &V) -> Headers {
    let mut out = Headers::default();
    if obj(cx, v, &["request", "response"]).is_none() {
        return out;
    }
    for (key, request) in [("request", true), ("response", false)] {
        let Some(ops) = v.get(key) else { continue };
        if obj(cx, &ops, &["set", "add", "remove"]).is_none() {
            continue;
        }
        let mut o = HeaderOperations::default();
        for (op, target) in [("set", &mut o.set), ("add", &mut o.add)] {
            if let Some(m) = ops.get(op).and_then(|m| cx.string_map(&m)) {
                let at = ops.get(op).expect("present");
                for (k, val) in m {
                    header_op_name(cx, &at, &k, request);
                    if val.chars().any(|c| c.is_control() && c != '\t') {
                        cx.error(
                            &at,
                            format!("header value for {k:?} contains control characters"),
                        );
                    }
                    target.insert(k.to_ascii_lowercase(), val);
                }
            }
        }
        for (k, at) in string_list(cx, &ops, "remove") {
            header_op_name(cx, &at, &k, false);
            o.remove.push(k.to_ascii_lowercase());
        }
        if request {
            out.request = o;
        } else {
            out.response = o;
        }
    }
    out
}

fn header_op_name(cx: &mut Cx, at: &V, k: &str, request_set: bool) {
    let lower = k.to_ascii_lowercase();
    if k.is_empty() {
        cx.error(at, "header name must not be empty");
    } else if k.starts_with(':') && !(request_set && lower == ":authority") {
        cx.error(at, format!("{k:?}: pseudo-headers cannot be modified"));
    } else if !valid_header_name(k) {
        cx.error(at, format!("header name {k:?} is not valid"));
    }
}

/// IST0130's idea: a route with no match (or a match only on nothing) catches
/// everything, so every later route is never used (warning, as istiod does).
fn unreachable_rules(cx: &mut Cx, raw: &[V], routes: &[HttpRoute]) {
    if raw.len() != routes.len() {
        return;
    }
    let catch_all = |r: &HttpRoute| {
        r.matches.is_empty()
            || r.matches.iter().any(|m| {
                *m == HttpMatchRequest {
                    name: m.name.clone(),
                    ..Default::default()
                }
            })
    };
    if let Some(first) = routes.iter().position(catch_all) {
        for (i, v) in raw.iter().enumerate().skip(first + 1) {
            cx.warn(
                v,
                format!("route {i} is never used: route {first} before it matches every request"),
            );
        }
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

    #[test]
    fn go_status_codes() {
        assert!(go_status_known(503));
        assert!(go_status_known(418));
        assert!(!go_status_known(306));
        assert!(!go_status_known(599));
    }
}
