//! A VirtualService's `gateways` (the VS itself and each HTTP or L4 match):
//! `mesh`, `ns/name`, a bare name in the VS's namespace, or the legacy
//! `name.ns.svc.cluster.local` form, resolved to `ns/name` as istiod does.

use super::super::hosts::{self, string_list};
use crate::scenario::decode::{Cx, V};

/// `gateways`: `mesh`, `ns/name`, `name` (the VS's namespace) or the legacy
/// `name.ns.svc.cluster.local` (warning). Absent ⇒ `["mesh"]`.
pub(super) fn gateways(cx: &mut Cx, spec: &V, ns: &str) -> Vec<String> {
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
