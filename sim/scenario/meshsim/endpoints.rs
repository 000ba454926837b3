//! A `Workload`'s `endpoints`: rules that give requests matching a method
//! and path their own script (see [`crate::scenario::spec::endpoint`]).
//!
//! Each rule is `{name, match: {method, path | prefix}, script | serviceTime}`.
//! The name keys the report (`workloads.<ns>/<name>.endpoints.<rule>`), so it
//! must be unique in the Workload; without one it is derived from the match
//! (`GET /productpage`, `/api/*`), never from the raw request path.

use super::dist::dist;
use super::script::{RawStep, steps};
use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::PathMatch;
use crate::scenario::spec::endpoint::DEFAULT_ENDPOINT;

/// An endpoint rule with its calls not resolved yet.
#[derive(Clone, Debug)]
pub struct RawEndpoint {
    pub name: String,
    pub method: Option<String>,
    pub path: PathMatch,
    pub steps: Vec<RawStep>,
}

pub fn endpoints(cx: &mut Cx, v: &V) -> Vec<RawEndpoint> {
    let Some(items) = cx.seq(v) else {
        return Vec::new();
    };
    let mut out: Vec<RawEndpoint> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new(); // (name, YAML path)
    for item in &items {
        cx.known_fields(item, &["name", "match", "script", "serviceTime"]);
        let (method, path) = match cx.req(item, "match") {
            Some(m) => rule_match(cx, &m),
            None => (None, PathMatch::Any),
        };
        let named = item.get("name");
        let name = match &named {
            Some(n) => cx.str(n).map(str::to_string),
            None => Some(derived_name(method.as_deref(), &path)),
        };
        let script = match (item.get("serviceTime"), item.get("script")) {
            (Some(_), Some(sc)) => {
                cx.error(
                    &sc,
                    "give either serviceTime (one compute step) or script, not both",
                );
                Vec::new()
            }
            (Some(st), None) => dist(cx, &st).map(RawStep::Compute).into_iter().collect(),
            (None, Some(sc)) => steps(cx, &sc),
            (None, None) => {
                cx.error_at(
                    item.loc(),
                    &format!("{}.script", item.path),
                    "missing required field (or give serviceTime)",
                );
                Vec::new()
            }
        };
        let Some(name) = name else { continue };
        let at = named.as_ref().unwrap_or(item);
        if name == DEFAULT_ENDPOINT {
            cx.error(
                at,
                "endpoint name \"default\" is reserved for requests no rule matches",
            );
            continue;
        }
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            let how = if named.is_some() {
                ""
            } else {
                " (derived from match; give it a name)"
            };
            cx.error(
                at,
                format!("duplicate endpoint name {name:?}{how}: {first} has it already"),
            );
            continue;
        }
        seen.push((name.clone(), item.path.clone()));
        out.push(RawEndpoint {
            name,
            method,
            path,
            steps: script,
        });
    }
    out
}

fn rule_match(cx: &mut Cx, m: &V) -> (Option<String>, PathMatch) {
    cx.known_fields(m, &["method", "path", "prefix"]);
    let method = m.get("method").and_then(|x| cx.str(&x)).map(str::to_string);
    let path = match (m.get("path"), m.get("prefix")) {
        (Some(_), Some(p)) => {
            cx.error(&p, "give either path (exact) or prefix, not both");
            PathMatch::Any
        }
        (Some(p), None) => cx
            .str(&p)
            .map_or(PathMatch::Any, |s| PathMatch::Exact(s.to_string())),
        (None, Some(p)) => cx
            .str(&p)
            .map_or(PathMatch::Any, |s| PathMatch::Prefix(s.to_string())),
        (None, None) => PathMatch::Any,
    };
    (method, path)
}

/// `GET /productpage`, `/api/*`, `POST *`.
fn derived_name(method: Option<&str>, path: &PathMatch) -> String {
    let p = match path {
        PathMatch::Any => "*".to_string(),
        PathMatch::Exact(p) => p.clone(),
        PathMatch::Prefix(p) => format!("{p}*"),
    };
    match method {
        Some(m) => format!("{m} {p}"),
        None => p,
    }
}
