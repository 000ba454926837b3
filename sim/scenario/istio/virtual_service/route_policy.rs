//! What an HTTP route does besides picking destinations: redirect, direct
//! response, rewrite, retries, fault injection, header operations — each with
//! istiod 1.28's rules (`validateHTTPRedirect`, `validateHTTPDirectResponse`,
//! `validateHTTPRewrite`, `validateHTTPRetry`, `validateHTTPFaultInjection`,
//! `validateHTTPHeaderOperations` in istio/istio
//! `pkg/config/validation/validation.go` @1.28.10).

use super::super::hosts::{self, obj, opt_bool, opt_str, string_list};
use super::http_match_request::valid_header_name;
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;

pub(super) fn http_redirect(cx: &mut Cx, v: &V) -> Option<HttpRedirect> {
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

pub(super) fn direct_response(cx: &mut Cx, v: &V) -> Option<DirectResponse> {
    obj(cx, v, &["status", "body"])?;
    let st = cx.req(v, "status")?;
    let status = cx.int(&st)?;
    if !(200..=600).contains(&status) {
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

pub(super) fn rewrite(cx: &mut Cx, v: &V) -> Option<HttpRewrite> {
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
    // `backoff` is `agent.ValidateDuration`'d like perTryTimeout (≥ 1 ms, ms
    // precision); `retryIgnorePreviousHosts` is a BoolValue, not checked.
    let backoff = hosts::opt_duration(cx, v, "backoff");
    let retry_ignore_previous_hosts = opt_bool(cx, v, "retryIgnorePreviousHosts");
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
    } else if attempts == 0 && (v.has("backoff") || v.has("retryIgnorePreviousHosts")) {
        // istiod's check leaves these two out: accepted, and `ConvertPolicy`
        // returns no policy for attempts 0, so they do nothing.
        cx.note(
            v,
            "backoff and retryIgnorePreviousHosts do nothing when attempts is 0 (retries disabled)",
        );
    }
    Some(Retries {
        attempts,
        per_try_timeout,
        retry_on,
        retry_remote_localities,
        retry_ignore_previous_hosts,
        backoff,
    })
}

/// Istio's gRPC status names (`SupportedGRPCStatus`), in code order.
pub const GRPC_CODES: &[&str] = &[
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

pub(super) fn fault(cx: &mut Cx, v: &V) -> Option<Fault> {
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
pub(super) fn headers(cx: &mut Cx, v: &V) -> Headers {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_status_codes() {
        assert!(go_status_known(503));
        assert!(go_status_known(418));
        assert!(!go_status_known(306));
        assert!(!go_status_known(599));
    }
}
