//! Checks shared by every Istio kind: host names, namespaces, `exportTo`,
//! durations, percentages, labels, `StringMatch`, unknown fields.
//!
//! Ported from istio/istio 1.28 `pkg/config/validation/agent/validation.go`
//! (`ValidateWildcardDomain`, `ValidateDuration`, `ValidatePercent`),
//! `pkg/config/labels/instance.go` and `pkg/config/validation/validation.go`
//! (`validateExportTo`, `validateStringMatchRegexp`). Host resolution follows
//! reference §2: a name without a dot is completed in the object's namespace.

use crate::engine::SimDuration;
use crate::scenario::decode::{Cx, V};
use crate::scenario::raw::Value;
use crate::scenario::spec::istio::{GatewayHost, Ppm, Protocol, StringMatch};
use std::collections::BTreeMap;

/// Fields an Istio object may carry at top level.
pub const OBJECT_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// An unknown field of an Istio object: a warning with a "did you mean" hint.
/// Istio 1.28's CRD schema does not have it, so the API server prunes it (or
/// `kubectl apply --validate=strict` refuses it); istiod never sees it.
pub fn fields(cx: &mut Cx, v: &V, known: &[&str]) {
    let mut probe = crate::scenario::diag::Diagnostics::default();
    let mut inner = Cx::new(cx.origin.clone(), &mut probe);
    inner.known_fields(v, known);
    for mut d in probe.items {
        d.severity = crate::scenario::diag::Severity::Warning;
        d.message = format!(
            "{} (not in Istio 1.28's schema: ignored)",
            d.message
                .split("; known fields")
                .next()
                .unwrap_or(&d.message)
        );
        cx.diags.push(d);
    }
}

/// A mapping (recording a type error otherwise), with its unknown fields warned.
pub fn obj<'a>(cx: &mut Cx, v: &V<'a>, known: &[&str]) -> Option<V<'a>> {
    cx.map(v)?;
    fields(cx, v, known);
    Some(v.clone())
}

/// Each element of an optional list.
pub fn list<'a>(cx: &mut Cx, parent: &V<'a>, key: &str) -> Vec<V<'a>> {
    parent.get(key).and_then(|l| cx.seq(&l)).unwrap_or_default()
}

/// An optional string field.
pub fn opt_str(cx: &mut Cx, parent: &V, key: &str) -> Option<String> {
    parent.get(key).and_then(|v| cx.str(&v)).map(str::to_string)
}

/// A list of strings with the node of each, for located checks.
pub fn string_list<'a>(cx: &mut Cx, parent: &V<'a>, key: &str) -> Vec<(String, V<'a>)> {
    list(cx, parent, key)
        .into_iter()
        .filter_map(|v| cx.scalar_string(&v).map(|s| (s, v)))
        .collect()
}

/// An optional boolean.
pub fn opt_bool(cx: &mut Cx, parent: &V, key: &str) -> Option<bool> {
    parent.get(key).and_then(|v| cx.bool(&v))
}

/// An optional non-negative 32-bit integer (protobuf uint32/int32 ≥ 0).
pub fn opt_u32(cx: &mut Cx, parent: &V, key: &str) -> Option<u32> {
    parent
        .get(key)
        .and_then(|v| cx.int_in(&v, 0, i32::MAX as i64))
        .map(|i| i as u32)
}

/// `[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?`, at most 63 (Istio's `IsDNS1123Label`).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `*`, or `*`/`*-` followed by a DNS-1123 label, or a label (`IsWildcardDNS1123Label`).
fn is_wildcard_label(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let rest = s
        .strip_prefix("*-")
        .or_else(|| s.strip_prefix('*'))
        .unwrap_or(s);
    s.len() <= 63 && is_dns1123_label(rest)
}

/// Istio's `ValidateWildcardDomain`: a wildcard only in the first label.
pub fn wildcard_domain(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    if host.len() > 255 {
        return Err(format!("domain name {host:?} too long (max 255)"));
    }
    let (first, rest) = match host.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (host, None),
    };
    if !is_wildcard_label(first) {
        return Err(format!(
            "domain name {host:?} invalid (label {first:?} invalid)"
        ));
    }
    if let Some(rest) = rest {
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        for l in rest.split('.') {
            if !is_dns1123_label(l) {
                return Err(format!(
                    "domain name {host:?} invalid (label {l:?} invalid)"
                ));
            }
        }
    }
    Ok(())
}

/// An IP address (v4 or v6).
pub fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// An IP or a CIDR block (`1.2.3.4/16`).
pub fn is_ip_or_cidr(s: &str) -> bool {
    match s.split_once('/') {
        None => is_ip(s),
        Some((ip, bits)) => match (ip.parse::<std::net::IpAddr>(), bits.parse::<u8>()) {
            (Ok(std::net::IpAddr::V4(_)), Ok(b)) => b <= 32,
            (Ok(std::net::IpAddr::V6(_)), Ok(b)) => b <= 128,
            _ => false,
        },
    }
}

/// A partial wildcard such as `*x` or `*-x` (accepted by Istio, rarely meant).
pub fn is_partial_wildcard(host: &str) -> bool {
    let first = host.split('.').next().unwrap_or("");
    first.starts_with('*') && first != "*"
}

/// Completes a short host name in `namespace` (reference §2): `reviews` in
/// `default` → `reviews.default.svc.cluster.local`. A name with a dot, a
/// wildcard, or an IP is kept verbatim.
pub fn resolve_host(host: &str, namespace: &str) -> String {
    if host.contains('.') || host.starts_with('*') || is_ip(host) {
        host.to_string()
    } else {
        format!("{host}.{namespace}.svc.cluster.local")
    }
}

/// A Go/protobuf duration Istio accepts: ≥ 1 ms and whole milliseconds
/// (`ValidateDuration`). `min_zero` for the exempt fields (`tcp.idleTimeout` …).
pub fn duration(cx: &mut Cx, v: &V, min_zero: bool) -> Option<SimDuration> {
    let d = cx.duration(v)?;
    let ns = d.as_nanos();
    if !min_zero && ns < 1_000_000 {
        cx.error(v, "duration must be greater than 1ms");
        return None;
    }
    if ns % 1_000_000 != 0 {
        cx.error(v, "only durations to ms precision are supported");
        return None;
    }
    Some(d)
}

/// An optional duration field.
pub fn opt_duration(cx: &mut Cx, parent: &V, key: &str) -> Option<SimDuration> {
    parent.get(key).and_then(|v| duration(cx, &v, false))
}

/// A `Percent { value: double }` in 0..=100, as parts per million, truncated
/// as istiod converts it (`uint32(p.Value * 10000)` in
/// `translatePercentToFractionalPercent`, pilot/pkg/networking/core/route/
/// route.go @1.28.10: 0.57 % is 5,699 ppm, not 5,700).
pub fn percent(cx: &mut Cx, v: &V) -> Option<Ppm> {
    obj(cx, v, &["value"])?;
    let value = match v.get("value") {
        Some(x) => cx.number(&x)?,
        None => 0.0,
    };
    if !(0.0..=100.0).contains(&value) {
        cx.error(v, format!("percentage {value} is not in range 0..100"));
        return None;
    }
    Some(Ppm((value * 10_000.0) as u32))
}

/// Kubernetes label key: optional DNS-subdomain prefix `/` name (≤ 63, alnum ends, `-_.`).
fn label_key_ok(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let name_ok = |n: &str| {
        let b = n.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
    };
    name_ok(name) && prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(is_dns1123_label))
}

/// Kubernetes label value: empty, or ≤ 63 with alnum ends and `-_.` inside.
fn label_value_ok(v: &str) -> bool {
    let b = v.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// A label map with valid keys and values (`labels.Instance.Validate`).
pub fn labels(cx: &mut Cx, v: &V) -> Option<BTreeMap<String, String>> {
    let m = cx.string_map(v)?;
    for (k, val) in &m {
        if !label_key_ok(k) {
            cx.error(v, format!("invalid label key {k:?}"));
        } else if !label_value_ok(val) {
            cx.error(v, format!("invalid label value {val:?} for key {k:?}"));
        }
    }
    Some(m)
}

/// A `workloadSelector` (`validateWorkloadSelector`): `{matchLabels: …}` in a
/// DestinationRule, `{labels: …}` in a ServiceEntry or Sidecar. No wildcard, no
/// empty key; an empty selector is accepted (warned by istiod).
pub fn workload_selector(cx: &mut Cx, v: &V, key: &str) -> Option<BTreeMap<String, String>> {
    obj(cx, v, &[key])?;
    let Some(ml) = v.get(key) else {
        return Some(BTreeMap::new());
    };
    let m = cx.string_map(&ml)?;
    for (k, val) in &m {
        if k.is_empty() {
            cx.error(&ml, "empty key is not supported in selector");
        } else if k.contains('*') || val.contains('*') {
            cx.error(&ml, "wildcard is not supported in selector");
        }
    }
    Some(m)
}

/// `exportTo` (`validateExportTo`): no duplicates (`.` = own namespace), `*`
/// alone, `~` only for ServiceEntry and alone, else namespace labels.
pub fn export_to(cx: &mut Cx, parent: &V, namespace: &str, service_entry: bool) -> Vec<String> {
    let Some(v) = parent.get("exportTo") else {
        return Vec::new();
    };
    let items = string_list(cx, parent, "exportTo");
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (s, at) in &items {
        let key = if s == "." {
            namespace.to_string()
        } else {
            s.clone()
        };
        if seen.contains(&key) {
            cx.error(at, format!("duplicate entries in exportTo: {s}"));
            continue;
        }
        seen.push(key);
        match s.as_str() {
            "." | "*" => {}
            "~" if service_entry => {}
            "~" => cx.error(
                at,
                "exportTo ~ (no namespace) is only allowed for ServiceEntry",
            ),
            ns if !is_dns1123_label(ns) => cx.error(
                at,
                format!("{ns:?} is not a valid exportTo value (a namespace, '.' or '*')"),
            ),
            _ => {}
        }
        out.push(s.clone());
    }
    if items.len() > 1 && items.iter().any(|(s, _)| s == "*") {
        cx.error(
            &v,
            "wildcard exportTo '*' cannot be combined with other namespaces",
        );
    }
    if items.len() > 1 && items.iter().any(|(s, _)| s == "~") {
        cx.error(&v, "exportTo '~' cannot be combined with other namespaces");
    }
    out
}

/// A regex Istio accepts (`validateStringMatchRegexp`): non-empty, at most
/// 1024 bytes, valid RE2 (checked with the `regex` crate, also RE2-family).
pub fn regex(cx: &mut Cx, v: &V, re: &str) -> bool {
    if re.is_empty() {
        cx.error(v, "regex string match should not be empty");
        return false;
    }
    if re.len() > 1024 {
        cx.error(v, "regex string match must be at most 1024 characters");
        return false;
    }
    if let Err(e) = regex::Regex::new(re) {
        let first = e.to_string();
        let first = first.lines().last().unwrap_or("").trim().to_string();
        cx.error(
            v,
            format!("\"{re}\" is not a valid regex ({first}); Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"),
        );
        return false;
    }
    true
}

/// A `StringMatch` (`exact`/`prefix`/`regex`). `empty_prefix_ok` for `uri`.
/// `{}` (no field) is None: "present" for headers, anything otherwise.
pub fn string_match(cx: &mut Cx, v: &V, empty_prefix_ok: bool) -> Option<Option<StringMatch>> {
    obj(cx, v, &["exact", "prefix", "regex"])?;
    let set: Vec<&str> = ["exact", "prefix", "regex"]
        .into_iter()
        .filter(|k| v.has(k))
        .collect();
    if set.len() > 1 {
        cx.error(v, "only one of exact, prefix or regex may be set");
        return None;
    }
    let Some(which) = set.first() else {
        return Some(None);
    };
    let at = v.get(which).expect("present");
    let s = cx.scalar_string(&at)?;
    match *which {
        "exact" => Some(Some(StringMatch::Exact(s))),
        "prefix" => {
            if s.is_empty() && !empty_prefix_ok {
                cx.error(&at, "empty prefix match is not allowed");
                return None;
            }
            Some(Some(StringMatch::Prefix(s)))
        }
        _ => regex(cx, &at, &s).then_some(Some(StringMatch::Regex(s))),
    }
}

/// Protocol names (`protocol.Parse`, case-insensitive); unknown ⇒ error.
pub fn protocol(cx: &mut Cx, v: &V) -> Option<Protocol> {
    let s = cx.str(v)?;
    let p = match s.to_ascii_uppercase().as_str() {
        "HTTP" => Protocol::Http,
        "HTTP2" => Protocol::Http2,
        "HTTPS" => Protocol::Https,
        "GRPC" => Protocol::Grpc,
        "GRPC-WEB" => Protocol::GrpcWeb,
        "TCP" => Protocol::Tcp,
        "TLS" => Protocol::Tls,
        "MONGO" => Protocol::Mongo,
        "REDIS" => Protocol::Redis,
        "MYSQL" => Protocol::Mysql,
        "UDP" => Protocol::Udp,
        _ => {
            cx.error(
                v,
                format!("unrecognized protocol {s:?} (HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL, UDP)"),
            );
            return None;
        }
    };
    Some(p)
}

/// `ns/host` of a Gateway server or Sidecar egress
/// (`validateNamespaceSlashWildcardHostname`). Gateways also accept the old
/// form without a namespace (read as `*/host`).
pub fn namespaced_host(cx: &mut Cx, v: &V, s: &str, gateway: bool) -> Option<GatewayHost> {
    let Some((ns, host)) = s.split_once('/') else {
        if !gateway {
            cx.error(v, format!("{s:?}: host must be of form namespace/dnsName"));
            return None;
        }
        if let Err(e) = wildcard_domain(s)
            && !is_ip(s)
        {
            cx.error(v, e);
            return None;
        }
        return Some(GatewayHost {
            namespace: "*".into(),
            host: s.to_string(),
        });
    };
    if ns.is_empty() || host.is_empty() {
        cx.error(
            v,
            format!("{s:?}: config namespace and dnsName in host entry cannot be empty"),
        );
        return None;
    }
    if ns.starts_with('~') {
        cx.error(
            v,
            format!("{s:?}: namespace {ns:?} is not supported (Istio 1.28 rejects `~` here)"),
        );
        return None;
    }
    if ns != "*" && ns != "." && !is_dns1123_label(ns) {
        cx.error(v, format!("{s:?}: invalid namespace value {ns:?}"));
        return None;
    }
    if host != "*"
        && let Err(e) = wildcard_domain(host)
        && !is_ip(host)
    {
        cx.error(v, e);
        return None;
    }
    Some(GatewayHost {
        namespace: ns.to_string(),
        host: host.to_string(),
    })
}

/// A number without recording anything (for pre-checks).
pub fn num(v: &V) -> Option<f64> {
    match v.node.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(x) if x.is_finite() => Some(x),
        _ => None,
    }
}

/// Is `v` an empty mapping or list?
pub fn is_empty_value(v: &V) -> bool {
    match &v.node.value {
        Value::Map(m) => m.is_empty(),
        Value::Seq(s) => s.is_empty(),
        _ => false,
    }
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_domains_as_istio_checks_them() {
        for ok in [
            "reviews",
            "reviews.default.svc.cluster.local",
            "*.bookinfo.com",
            "*",
            "*x",
            "*-x.com",
            "Example.COM",
            "foo.bar.",
        ] {
            assert!(wildcard_domain(ok).is_ok(), "{ok}");
        }
        for bad in ["foo*", "a.*.com", "", "-a.com", "a..b", "a_b.com", "foo.*"] {
            assert!(wildcard_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_hosts_resolve_in_the_objects_namespace() {
        assert_eq!(
            resolve_host("reviews", "default"),
            "reviews.default.svc.cluster.local"
        );
        assert_eq!(resolve_host("reviews.prod", "default"), "reviews.prod");
        assert_eq!(resolve_host("*.example.com", "x"), "*.example.com");
        assert_eq!(resolve_host("*", "x"), "*");
        assert_eq!(resolve_host("10.0.0.1", "x"), "10.0.0.1");
    }

    #[test]
    fn cidrs_and_ips() {
        assert!(is_ip_or_cidr("1.2.3.4/16"));
        assert!(is_ip_or_cidr("001:db8::"));
        assert!(!is_ip_or_cidr("1.2.3.4/99"));
        assert!(!is_ip_or_cidr("example.com"));
    }

    #[test]
    fn host_coverage() {
        assert!(covers("*", "a.b"));
        assert!(covers("*.bookinfo.com", "uk.bookinfo.com"));
        assert!(covers("*.com", "*.bookinfo.com"));
        assert!(!covers("*.bookinfo.com", "bookinfo.com"));
        assert!(!covers("uk.bookinfo.com", "*.bookinfo.com"));
    }
}
