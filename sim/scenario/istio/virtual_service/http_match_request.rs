//! `HTTPMatchRequest`: one block of an HTTP route's `match` list (uri, scheme,
//! method, authority, headers, query parameters, port, source and gateways),
//! with istiod 1.28's rules for header names and JWT-claim matches.

use super::super::hosts::{self, obj, opt_bool, opt_str, string_list};
use super::gateways::gateway_name;
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;
use std::collections::BTreeMap;

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

pub(super) fn http_match(cx: &mut Cx, m: &V, ns: &str, jwt_ok: bool) -> Option<HttpMatchRequest> {
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
pub(super) fn header_matches(
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
