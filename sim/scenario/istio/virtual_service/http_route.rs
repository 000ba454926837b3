//! `HTTPRoute`: one entry of a VirtualService's `http` list — its matches,
//! exactly one action (route, redirect, direct response or delegate) and the
//! policies around it, with istiod 1.28's `validateHTTPRoute` rules.

use super::super::hosts::{self, list, obj, opt_str};
use super::destination::{destination, http_destinations};
use super::http_match_request::http_match;
use super::route_policy::{direct_response, fault, headers, http_redirect, retries, rewrite};
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;

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

pub(super) fn http_route(
    cx: &mut Cx,
    r: &V,
    ns: &str,
    in_delegate: bool,
    jwt_ok: bool,
) -> Option<HttpRoute> {
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
