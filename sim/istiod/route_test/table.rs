//! The `meshsim route-test` table: YAML cases, each a request from a proxy
//! with the expected routing outcome. Read with the scenario loader's located
//! YAML, so a mistake in a table is reported as `file:line:col: path: …`
//! like any manifest error. The format is documented in `scenarios/README.md`.
//!
//! A table is one YAML document: `cases:` at the top, or the same under
//! `spec:` of a `meshsim.dev/v1alpha1` `RouteTest` object (which the
//! scenario loader skips, so a table can live in the scenario's folder).
//!
//! ```yaml
//! apiVersion: meshsim.dev/v1alpha1
//! kind: RouteTest
//! metadata: {name: reviews}
//! spec:
//!   cases:
//!   - name: jason sees v2
//!     from: default/productpage-v1        # a workload ns/deployment, or a Load name
//!     request: {host: reviews, port: 9080, path: /reviews/0, headers: {end-user: jason}}
//!     expect: {service: reviews, subset: v2}
//!   - name: curl's default Host
//!     from: {gateway: istio-system/istio-ingressgateway}
//!     request: {host: 203.0.113.10, port: 80, path: /productpage}
//!     expect: {status: 404, flag: NR}
//! ```

use crate::scenario::decode::{Cx, V};
use crate::scenario::diag::{Diagnostics, Origin};
use crate::scenario::istio::hosts::{list, obj, opt_str};
use crate::scenario::raw::{self, Loc};
use crate::scenario::validate::MESHSIM_API;
use std::collections::BTreeMap;

/// A whole table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub cases: Vec<Case>,
}

/// One row: who sends what, and what should happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// `file:line` of the case, for messages.
    pub source: String,
    pub from: From,
    pub request: TestRequest,
    pub expect: Expect,
}

/// The proxy that routes the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    /// The sidecar of Deployment `ns/name` (outbound side).
    Workload(String),
    /// The sidecar of the Load with this name (`sidecar: true`).
    Load(String),
    /// Gateway Deployment `ns/name`; the request's port is the gateway
    /// Service port the client dials.
    Gateway(String),
}

/// What the client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRequest {
    /// `Host` / `:authority` as sent (with `:port` if the client sends one).
    pub host: String,
    /// The port dialled: for a sidecar the destination Service port, for a
    /// gateway the gateway Service port. Default: the host's `:port`, else
    /// 443 for `https`, else 80.
    pub port: u16,
    pub method: String,
    pub scheme: String,
    /// Path with query.
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// The expected outcome; every field given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expect {
    /// Envoy cluster name, e.g. `outbound|9080|v2|reviews.default.svc.cluster.local`.
    pub cluster: Option<String>,
    /// Destination service: FQDN, `name.namespace` or `name`.
    pub service: Option<String>,
    /// Subset; `""` (or `-`) = no subset.
    pub subset: Option<String>,
    pub port: Option<u16>,
    /// `:path` after rewrites.
    pub path: Option<String>,
    /// `:authority` after rewrites.
    pub authority: Option<String>,
    /// A local answer's status (404, 301, 502, a direct response, 503);
    /// 0 = no response (connection closed or refused), as in `summary.json`.
    pub status: Option<u16>,
    /// Envoy response flag of a local answer (`NR`, `NC`, `UH`).
    pub flag: Option<String>,
    /// A redirect's `Location`.
    pub location: Option<String>,
    /// Configured weights by subset (or cluster name, or service).
    pub weights: Option<BTreeMap<String, u32>>,
    /// Load-balancing policy in force (`ROUND_ROBIN`, `LEAST_REQUEST`, `RANDOM`, `RING_HASH`, `MAGLEV`).
    pub lb: Option<String>,
}

const CASE: &[&str] = &["name", "from", "request", "expect"];
const REQUEST: &[&str] = &["host", "port", "method", "scheme", "path", "headers"];
const EXPECT: &[&str] = &[
    "cluster",
    "service",
    "subset",
    "port",
    "path",
    "authority",
    "status",
    "flag",
    "location",
    "weights",
    "lb",
];

/// Parses a table file; problems are located diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Table, Diagnostics> {
    let mut diags = Diagnostics::default();
    let (docs, errors) = raw::parse_file(text);
    let origin = Origin {
        file: file.to_string(),
        document: 0,
        object: None,
    };
    for e in errors {
        Cx::new(origin.clone(), &mut diags).error_at(e.loc, "", e.message);
    }
    let mut table = Table::default();
    let non_empty: Vec<_> = docs.iter().collect();
    if non_empty.len() != 1 && diags.items.is_empty() {
        Cx::new(origin.clone(), &mut diags).error_at(
            Loc::default(),
            "",
            format!(
                "a route-test table is one YAML document with `cases:`, found {}",
                non_empty.len()
            ),
        );
    }
    if let Some(doc) = non_empty.first() {
        let mut cx = Cx::new(origin.clone(), &mut diags);
        let top = V::root(&doc.root, "");
        let wrapped = top.has("kind") || top.has("apiVersion");
        let root = if wrapped {
            obj(&mut cx, &top, &["apiVersion", "kind", "metadata", "spec"]);
            let api = top.get("apiVersion").and_then(|v| v.as_str());
            let kind = top.get("kind").and_then(|v| v.as_str());
            if (api, kind) != (Some(MESHSIM_API), Some("RouteTest")) {
                cx.error(
                    &top,
                    format!("a route-test table is `apiVersion: {MESHSIM_API}` `kind: RouteTest` (or a document with `cases:` alone)"),
                );
            }
            cx.req(&top, "spec")
        } else {
            Some(top)
        };
        if let Some(root) = root
            && obj(&mut cx, &root, &["cases"]).is_some()
        {
            if !root.has("cases") {
                cx.error(&root, "missing field `cases` (a list of test cases)");
            }
            for (i, c) in list(&mut cx, &root, "cases").iter().enumerate() {
                if let Some(case) = case(&mut cx, c, file, i) {
                    table.cases.push(case);
                }
            }
        }
    }
    strict(&mut diags);
    diags.sort();
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(table)
    }
}

/// An unknown field in a test table is a mistake (a misspelt `expect` key
/// would silently test nothing), so warnings become errors here.
fn strict(diags: &mut Diagnostics) {
    for d in &mut diags.items {
        d.severity = crate::scenario::diag::Severity::Error;
        if let Some(m) = d
            .message
            .strip_suffix(" (not in Istio 1.28's schema: ignored)")
        {
            d.message = m.to_string();
        }
    }
}

fn case(cx: &mut Cx, c: &V, file: &str, i: usize) -> Option<Case> {
    obj(cx, c, CASE)?;
    let name = opt_str(cx, c, "name").unwrap_or_else(|| format!("case {}", i + 1));
    let (f, r, e) = (cx.req(c, "from"), cx.req(c, "request"), cx.req(c, "expect"));
    let from = parse_from(cx, &f?);
    let request = parse_request(cx, &r?);
    let expect = parse_expect(cx, &e?);
    Some(Case {
        name,
        source: format!("{file}:{}", c.loc().line),
        from: from?,
        request: request?,
        expect: expect?,
    })
}

fn parse_from(cx: &mut Cx, v: &V) -> Option<From> {
    if let Some(s) = v.as_str() {
        return Some(if s.contains('/') {
            From::Workload(s.to_string())
        } else {
            From::Load(s.to_string())
        });
    }
    obj(cx, v, &["workload", "load", "gateway"])?;
    let given: Vec<(&str, String)> = ["workload", "load", "gateway"]
        .iter()
        .filter_map(|k| opt_str(cx, v, k).map(|s| (*k, s)))
        .collect();
    if given.len() != 1 {
        cx.error(
            v,
            "give exactly one of `workload: ns/deployment`, `load: NAME`, `gateway: ns/deployment` (or a string: ns/deployment or a Load name)",
        );
        return None;
    }
    let (k, s) = given.into_iter().next()?;
    if k != "load" && !s.contains('/') {
        cx.error(v, format!("{k}: {s:?} must be namespace/deployment"));
        return None;
    }
    Some(match k {
        "workload" => From::Workload(s),
        "load" => From::Load(s),
        _ => From::Gateway(s),
    })
}

fn parse_request(cx: &mut Cx, v: &V) -> Option<TestRequest> {
    obj(cx, v, REQUEST)?;
    let host = cx.req(v, "host").and_then(|h| cx.scalar_string(&h))?;
    let scheme = opt_str(cx, v, "scheme").unwrap_or_else(|| "http".into());
    let port = match v.get("port") {
        Some(p) => cx.port(&p)?,
        None => match crate::proxy::route::port_start(&host) {
            Some(i) => match host[i + 1..].parse::<u16>() {
                Ok(p) => p,
                Err(_) => {
                    cx.error(v, format!("host {host:?} has a port that is not a number"));
                    return None;
                }
            },
            None if scheme == "https" => 443,
            None => 80,
        },
    };
    let path = opt_str(cx, v, "path").unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        let at = v.get("path").unwrap_or(v.clone());
        cx.error(&at, format!("path {path:?} must start with /"));
    }
    let headers = match v.get("headers") {
        Some(h) => cx.string_map(&h)?.into_iter().collect(),
        None => Vec::new(),
    };
    Some(TestRequest {
        host,
        port,
        method: opt_str(cx, v, "method").unwrap_or_else(|| "GET".into()),
        scheme,
        path,
        headers,
    })
}

fn parse_expect(cx: &mut Cx, v: &V) -> Option<Expect> {
    obj(cx, v, EXPECT)?;
    let num = |cx: &mut Cx, k: &str, lo: i64, hi: i64| {
        v.get(k)
            .and_then(|x| cx.int_in(&x, lo, hi))
            .map(|n| n as u32)
    };
    let weights = match v.get("weights") {
        Some(w) => {
            let mut out = BTreeMap::new();
            for (k, x) in cx.map(&w)? {
                out.insert(k, cx.int_in(&x, 0, u32::MAX as i64)? as u32);
            }
            Some(out)
        }
        None => None,
    };
    let e = Expect {
        cluster: opt_str(cx, v, "cluster"),
        service: opt_str(cx, v, "service"),
        subset: v
            .get("subset")
            .and_then(|s| cx.scalar_string(&s))
            .map(|s| if s == "-" { String::new() } else { s }),
        port: num(cx, "port", 1, 65535).map(|p| p as u16),
        path: opt_str(cx, v, "path"),
        authority: opt_str(cx, v, "authority"),
        status: v.get("status").and_then(|x| match cx.int_in(&x, 0, 599) {
            Some(n) if (1..100).contains(&n) => {
                cx.error(
                    &x,
                    format!("status {n}: give an HTTP status (100–599) or 0 for no response"),
                );
                None
            }
            n => n.map(|n| n as u16),
        }),
        flag: opt_str(cx, v, "flag"),
        location: opt_str(cx, v, "location"),
        weights,
        lb: opt_str(cx, v, "lb"),
    };
    if e == Expect::default() {
        cx.error(v, "expect names nothing to check");
        return None;
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_defaults() {
        let bare =
            "cases:\n- from: web\n  request: {host: \"reviews:9080\"}\n  expect: {status: 0}\n";
        let t = parse("t.yaml", bare).unwrap();
        let c = &t.cases[0];
        assert_eq!(c.name, "case 1");
        assert_eq!(c.from, From::Load("web".into()));
        assert_eq!(
            (
                c.request.port,
                c.request.method.as_str(),
                c.request.path.as_str()
            ),
            (9080, "GET", "/")
        );
        assert_eq!(c.expect.status, Some(0));
        let wrapped = "apiVersion: meshsim.dev/v1alpha1\nkind: RouteTest\nmetadata: {name: x}\nspec:\n  cases:\n  - name: g\n    from: {gateway: istio-system/gw}\n    request: {host: a, scheme: https}\n    expect: {subset: '-', weights: {v1: 75}}\n";
        let t = parse("t.yaml", wrapped).unwrap();
        let c = &t.cases[0];
        assert_eq!(c.from, From::Gateway("istio-system/gw".into()));
        assert_eq!(c.request.port, 443);
        assert_eq!(c.expect.subset.as_deref(), Some(""));
        assert_eq!(c.expect.weights.as_ref().unwrap()["v1"], 75);
    }

    #[test]
    fn mistakes_are_located_errors() {
        let bad = "cases:\n- from: {workload: nons}\n  request: {host: a, path: nope}\n  expect: {status: 42, sbuset: v1}\n";
        let d = parse("t.yaml", bad).unwrap_err();
        let text: Vec<String> = d.items.iter().map(|x| x.to_string()).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(
            has("t.yaml:2:") && has("must be namespace/deployment"),
            "{text:?}"
        );
        assert!(has("t.yaml:3:") && has("must start with /"), "{text:?}");
        assert!(has("status 42"), "{text:?}");
        assert!(has("sbuset"), "{text:?}");
        let wrong_kind = "apiVersion: v1\nkind: ConfigMap\nspec: {cases: []}\n";
        assert!(parse("t.yaml", wrong_kind).is_err());
        assert!(
            parse(
                "t.yaml",
                "cases:\n- from: a\n  request: {host: a}\n  expect: {}\n"
            )
            .is_err()
        );
    }
}
