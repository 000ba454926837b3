//! Route matches in words, as Envoy evaluates them: one describer for every
//! place that explains a routing decision (`meshsim route-test`, `--trace`).

use super::{HeaderMatchSpec, PathMatch, RouteMatch};
use crate::proxy::matcher::{StringMatch, StringMatcher};

pub fn string_match(m: &StringMatcher) -> String {
    let ic = if m.ignore_case { " (any case)" } else { "" };
    match &m.pattern {
        StringMatch::Exact(s) => format!("exact {s:?}{ic}"),
        StringMatch::Prefix(s) => format!("prefix {s:?}{ic}"),
        StringMatch::Suffix(s) => format!("suffix {s:?}{ic}"),
        StringMatch::Contains(s) => format!("contains {s:?}{ic}"),
        StringMatch::Regex(p) => format!("regex {:?}", p.as_str()),
    }
}

/// The match fields of a route, as Envoy evaluates them.
pub fn describe_match(m: &RouteMatch) -> String {
    let ic = if m.case_sensitive { "" } else { " (any case)" };
    let mut parts = vec![match &m.path {
        PathMatch::Prefix(p)
            if p == "/" && m.headers.is_empty() && m.query_parameters.is_empty() =>
        {
            "everything (prefix \"/\")".to_string()
        }
        PathMatch::Prefix(p) => format!("path prefix {p:?}{ic}"),
        PathMatch::Exact(p) => format!("path exact {p:?}{ic}"),
        PathMatch::Regex(p) => format!("path regex {:?}", p.as_str()),
    }];
    for h in &m.headers {
        let not = if h.invert_match { "not " } else { "" };
        parts.push(match &h.spec {
            HeaderMatchSpec::Present(true) => format!("header {} {not}present", h.name),
            HeaderMatchSpec::Present(false) => format!("header {} {not}absent", h.name),
            HeaderMatchSpec::Value(v) => format!("header {} {not}{}", h.name, string_match(v)),
        });
    }
    for q in &m.query_parameters {
        parts.push(match &q.matcher {
            Some(v) => format!("query {} {}", q.name, string_match(v)),
            None => format!("query {} present", q.name),
        });
    }
    parts.join(" and ")
}
