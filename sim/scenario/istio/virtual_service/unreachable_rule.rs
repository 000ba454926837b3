//! Rules a VirtualService accepts but never uses (IST0130
//! VirtualServiceUnreachableRule, IST0131 VirtualServiceIneffectiveMatch):
//! warnings, as in istiod, computed over the decoded HTTP routes.

use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::istio::*;

/// IST0130/IST0131 (istio/istio 1.28 `pkg/config/validation/validation.go`
/// `analyzeUnreachableHTTPRules`; warnings there too): a route with no match
/// (or an empty match) catches everything, so every later route is never
/// used (IST0130); a match block identical to an earlier one (its `name`
/// aside) is never what matches (IST0131), and a route all of whose match
/// blocks are such duplicates is never used (IST0130).
pub(super) fn unreachable_rules(cx: &mut Cx, raw: &[V], routes: &[HttpRoute]) {
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
pub(super) fn quiet_matches<'a>(r: &V<'a>) -> Vec<V<'a>> {
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
