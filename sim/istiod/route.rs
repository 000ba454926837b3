//! One VirtualService's `http` routes as Envoy routes, for one proxy and
//! listener port.
//!
//! Why here and not at request time: Istio decides at config generation which
//! match blocks a proxy gets (istio/istio 1.28
//! `pilot/pkg/networking/core/route/route.go` `BuildHTTPRoutesForVirtualService`,
//! `translateRoute`, `sourceMatchHTTP`): a block whose `sourceLabels`,
//! `sourceNamespace`, `gateways` or `port` do not select this proxy/listener is
//! left out; a route whose every block is left out is not emitted. Each
//! remaining block becomes its own Envoy route (blocks are ORed), with its
//! conditions ANDed in one `RouteMatch`: `uri` → path specifier, `ignoreUriCase`
//! → `case_sensitive: false`, `scheme`/`method`/`authority` → `:scheme`/
//! `:method`/`:authority` header matchers, `headers` (an empty `{}` = present),
//! `withoutHeaders` (inverted, `treat_missing_header_as_empty`),
//! `queryParams`. No match = `prefix: /`. Routes after a catch-all (`prefix: /`
//! with no header or query condition, `route.go` `isCatchAllRoute`) are not
//! emitted. `delegate` (one level) ANDs the root block with each delegate
//! block (`pilot/pkg/model/virtualservice.go` `mergeHTTPRoutes` /
//! `mergeHTTPMatchRequest`); a pair whose `uri` conditions conflict is dropped.

use super::cluster::{self, Client, Clusters};
use super::resilience;
use super::xds::{ClusterIx, RoutePolicy};
use crate::cluster::selector::selects;
use crate::proxy::matcher::StringMatcher;
use crate::proxy::route::{
    HeaderMatchSpec, HeaderMatcher, HeaderOps, PathMatch, QueryParameterMatcher, Redirect,
    RegexRewrite, Rewrite, Route, RouteAction, RouteMatch, WeightedCluster, WeightedClusters,
};
use crate::scenario::spec::Scenario;
use crate::scenario::spec::istio::{
    HeaderOperations, HttpAction, HttpMatchRequest, HttpRoute, RedirectPort, StringMatch,
    VirtualService,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who the routes are built for.
#[derive(Clone, Copy, Debug)]
pub struct RouteCx<'a> {
    pub spec: &'a Scenario,
    pub client: Client<'a>,
    /// The gateway names this proxy answers to: `["mesh"]` for a sidecar,
    /// `ns/name` of the Gateways of the server for a gateway.
    pub gateways: &'a [String],
    /// Listener port (sidecar: the Service port; gateway: the server's `port.number`).
    pub port: u16,
}

/// An Envoy route with the dense ids of its weighted clusters and its stats key.
#[derive(Clone, Debug, PartialEq)]
pub struct Built {
    pub route: Route,
    pub clusters: Vec<ClusterIx>,
    pub key: String,
    pub policy: RoutePolicy,
}

/// The policy of the default route Istio writes for a Service no
/// VirtualService claims (`BuildDefaultHTTPOutboundRoute`): no timeout,
/// MeshConfig `defaultHttpRetryPolicy` or Istio's default retries.
pub fn default_route_policy(spec: &Scenario, consistent_hash: bool) -> RoutePolicy {
    let retry = resilience::retry_policy(
        None,
        spec.istio.mesh.default_http_retry_policy.as_ref(),
        consistent_hash,
    );
    RoutePolicy {
        timeout: resilience::timeout_policy(None, &retry),
        retry,
        fault: None,
        mirrors: Vec::new(),
    }
}

/// Envoy routes of `vs` for this proxy and port, in order; stops after a catch-all.
pub fn http_routes(cx: &RouteCx, vs: &VirtualService, clusters: &mut Clusters) -> Vec<Built> {
    let mut out = Vec::new();
    for (i, hr) in vs.http.iter().enumerate() {
        let key = format!(
            "{}/{}/{}",
            vs.meta.namespace,
            vs.meta.name,
            hr.name.clone().unwrap_or_else(|| i.to_string())
        );
        let blocks = selected_blocks(cx, vs, &hr.matches);
        if blocks.is_empty() {
            continue;
        }
        if let HttpAction::Delegate(d) = &hr.action {
            let Some(child) = cx.spec.istio.virtual_services.iter().find(|c| {
                c.is_delegate() && c.meta.name == d.name && c.meta.namespace == d.namespace
            }) else {
                continue; // Istio drops a route whose delegate does not exist.
            };
            for (ci, ch) in child.http.iter().enumerate() {
                if matches!(ch.action, HttpAction::Delegate(_)) {
                    continue; // one level only
                }
                let ckey = format!(
                    "{}/{}/{}",
                    child.meta.namespace,
                    child.meta.name,
                    ch.name.clone().unwrap_or_else(|| ci.to_string())
                );
                let cblocks = selected_blocks(cx, child, &ch.matches);
                if cblocks.is_empty() {
                    continue;
                }
                for root in &blocks {
                    for leaf in &cblocks {
                        let Some(m) = merge_match(root.as_ref(), leaf.as_ref()) else {
                            continue;
                        };
                        if let Some(b) = build(cx, ch, Some(&m), &ckey, clusters) {
                            let catch_all = is_catch_all(&b.route.matcher);
                            out.push(b);
                            if catch_all {
                                return out;
                            }
                        }
                    }
                }
            }
            continue;
        }
        for m in &blocks {
            if let Some(b) = build(cx, hr, m.as_ref(), &key, clusters) {
                let catch_all = is_catch_all(&b.route.matcher);
                out.push(b);
                if catch_all {
                    return out;
                }
            }
        }
    }
    out
}

/// The match blocks of a route that select this proxy (`None` = no `match`: everything).
fn selected_blocks(
    cx: &RouteCx,
    vs: &VirtualService,
    matches: &[HttpMatchRequest],
) -> Vec<Option<HttpMatchRequest>> {
    if matches.is_empty() {
        return vec![None];
    }
    matches
        .iter()
        .filter(|m| {
            let gws = if m.gateways.is_empty() {
                &vs.gateways
            } else {
                &m.gateways
            };
            gws.iter().any(|g| cx.gateways.contains(g))
                && (m.source_labels.is_empty() || selects(&m.source_labels, cx.client.labels))
                && m.source_namespace
                    .as_ref()
                    .is_none_or(|n| n == cx.client.namespace)
                && m.port.is_none_or(|p| p == cx.port)
        })
        .cloned()
        .map(Some)
        .collect()
}

/// Root block AND delegate block; `None` when their `uri` conditions conflict.
fn merge_match(
    root: Option<&HttpMatchRequest>,
    leaf: Option<&HttpMatchRequest>,
) -> Option<HttpMatchRequest> {
    let (Some(root), Some(leaf)) = (root, leaf) else {
        return Some(leaf.or(root).cloned().unwrap_or_default());
    };
    let mut m = leaf.clone();
    m.uri = match (&root.uri, &leaf.uri) {
        (None, u) | (u, None) => u.clone(),
        // The delegate's uri must lie within the root's prefix.
        (Some(StringMatch::Prefix(r)), Some(l)) => match l {
            StringMatch::Prefix(p) | StringMatch::Exact(p) if p.starts_with(r.as_str()) => {
                Some(l.clone())
            }
            _ => return None,
        },
        (Some(r), Some(l)) if r == l => Some(l.clone()),
        _ => return None,
    };
    for (field, rv) in [
        (&mut m.scheme, &root.scheme),
        (&mut m.method, &root.method),
        (&mut m.authority, &root.authority),
    ] {
        if field.is_none() {
            field.clone_from(rv);
        }
    }
    for (k, v) in &root.headers {
        m.headers.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &root.without_headers {
        m.without_headers
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    for (k, v) in &root.query_params {
        m.query_params.entry(k.clone()).or_insert_with(|| v.clone());
    }
    m.ignore_uri_case |= root.ignore_uri_case;
    Some(m)
}

/// `prefix: /` (or a `.*` regex) with no header or query condition.
pub fn is_catch_all(m: &RouteMatch) -> bool {
    let path_all = match &m.path {
        PathMatch::Prefix(p) => p == "/",
        PathMatch::Regex(r) => matches!(r.as_str(), "*" | ".*"),
        PathMatch::Exact(_) => false,
    };
    path_all && m.headers.is_empty() && m.query_parameters.is_empty()
}

fn matcher(m: &StringMatch, ignore_case: bool) -> Option<StringMatcher> {
    let sm = match m {
        StringMatch::Exact(s) => StringMatcher::exact(s),
        StringMatch::Prefix(s) => StringMatcher::prefix(s),
        StringMatch::Regex(r) => StringMatcher::regex(r).ok()?,
    };
    Some(if ignore_case { sm.ignoring_case() } else { sm })
}

fn header(name: &str, m: &Option<StringMatch>, invert: bool) -> Option<HeaderMatcher> {
    Some(HeaderMatcher {
        name: name.to_ascii_lowercase(),
        spec: match m {
            None => HeaderMatchSpec::Present(true),
            Some(m) => HeaderMatchSpec::Value(matcher(m, false)?),
        },
        invert_match: invert,
        treat_missing_header_as_empty: invert,
    })
}

/// Istio `translateRouteMatch`.
pub fn route_match(m: Option<&HttpMatchRequest>) -> Option<RouteMatch> {
    let Some(m) = m else {
        return Some(RouteMatch::any());
    };
    let path = match &m.uri {
        None => PathMatch::Prefix("/".into()),
        Some(StringMatch::Exact(s)) => PathMatch::Exact(s.clone()),
        Some(StringMatch::Prefix(s)) => PathMatch::Prefix(s.clone()),
        Some(StringMatch::Regex(r)) => {
            PathMatch::Regex(crate::proxy::matcher::Pattern::new(r).ok()?)
        }
    };
    let mut out = RouteMatch::path(path);
    out.case_sensitive = !m.ignore_uri_case;
    for (name, v) in [
        (":scheme", &m.scheme),
        (":method", &m.method),
        (":authority", &m.authority),
    ] {
        if v.is_some() {
            out.headers.push(header(name, v, false)?);
        }
    }
    for (n, v) in &m.headers {
        out.headers.push(header(n, v, false)?);
    }
    for (n, v) in &m.without_headers {
        out.headers.push(header(n, v, true)?);
    }
    for (n, v) in &m.query_params {
        out.query_parameters.push(QueryParameterMatcher {
            name: n.clone(),
            matcher: match v {
                None => None,
                Some(v) => Some(matcher(v, false)?),
            },
        });
    }
    Some(out)
}

/// Istio `HeaderOperations` as Envoy's add/remove lists.
pub fn header_ops(h: &HeaderOperations) -> HeaderOps {
    let pairs = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    HeaderOps {
        set: pairs(&h.set),
        add: pairs(&h.add),
        remove: h.remove.iter().map(|r| r.to_ascii_lowercase()).collect(),
    }
}

/// Default destination port: explicit, else the Service's only port, else
/// the listener's (`route.go` `translateRouteDestination` / `resolveDestinationPort`).
fn destination_port(cx: &RouteCx, host: &str, explicit: Option<u16>) -> u16 {
    explicit
        .or_else(|| match cluster::service_by_host(cx.spec, host) {
            Some(si) => match cx.spec.services[si].ports.as_slice() {
                [only] => Some(only.port),
                _ => None,
            },
            None => super::service_entry::only_port(cx.spec, host),
        })
        .unwrap_or(cx.port)
}

fn build(
    cx: &RouteCx,
    hr: &HttpRoute,
    m: Option<&HttpMatchRequest>,
    key: &str,
    clusters: &mut Clusters,
) -> Option<Built> {
    let matcher = route_match(m)?;
    let name = match (&hr.name, m.and_then(|m| m.name.as_ref())) {
        (Some(r), Some(b)) => format!("{r}.{b}"),
        (Some(r), None) => r.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => key.to_string(),
    };
    let mut ids = Vec::new();
    let mut hashes = false;
    let action = match &hr.action {
        HttpAction::Route(dests) => {
            let mut wcs = Vec::new();
            for d in dests.iter().filter(|d| d.weight > 0 || dests.len() == 1) {
                let host = &d.destination.host;
                let port = destination_port(cx, host, d.destination.port);
                let c = cluster::outbound(
                    cx.spec,
                    cx.client,
                    host,
                    d.destination.subset.as_deref(),
                    port,
                );
                wcs.push(WeightedCluster {
                    name: c.name.clone(),
                    weight: d.weight.max(u32::from(dests.len() == 1)),
                    request_headers: header_ops(&d.headers.request),
                    host_rewrite: None,
                });
                hashes |= c.hash.is_some();
                ids.push(clusters.intern(c));
            }
            let rewrite = match &hr.rewrite {
                None => Rewrite::default(),
                Some(r) => Rewrite {
                    prefix: r.uri.clone(),
                    regex: match &r.uri_regex_rewrite {
                        None => None,
                        Some((p, s)) => Some(RegexRewrite::new(p, s).ok()?),
                    },
                    host: r.authority.clone(),
                },
            };
            RouteAction::Forward {
                clusters: WeightedClusters::new(wcs)?,
                rewrite,
            }
        }
        HttpAction::Redirect(r) => RouteAction::Redirect(Redirect {
            scheme: r.scheme.clone(),
            host: r.authority.clone(),
            port: match r.port {
                Some(RedirectPort::Number(n)) => Some(n),
                // FROM_PROTOCOL_DEFAULT / FROM_REQUEST_PORT: Envoy derives
                // them per request; meshsim keeps the request's port.
                _ => None,
            },
            path: r.uri.clone(),
            code: r.redirect_code,
        }),
        HttpAction::DirectResponse(d) => RouteAction::DirectResponse {
            status: d.status,
            body: (d.body_bytes > 0).then(|| Arc::from("x".repeat(d.body_bytes).as_str())),
        },
        HttpAction::Delegate(_) => return None,
    };
    let policy = match &action {
        RouteAction::Forward { .. } => route_policy(cx, hr, hashes, clusters),
        // Redirects and direct responses reach no upstream: no router policy.
        _ => RoutePolicy::default(),
    };
    Some(Built {
        route: Route {
            name,
            matcher,
            action,
            request_headers: header_ops(&hr.headers.request),
        },
        clusters: ids,
        key: key.to_string(),
        policy,
    })
}

/// `translateRoute`'s resilience part for a forwarding route: retries
/// (`retry.ConvertPolicy`, the VS's or MeshConfig's or Istio's default),
/// timeouts (`setTimeout`), the fault filter's per-route config
/// (`TranslateFault`) and mirrors (`TranslateRequestMirrorPolicy`, each
/// mirror's cluster resolved as the client resolves a destination).
fn route_policy(
    cx: &RouteCx,
    hr: &HttpRoute,
    hashes: bool,
    clusters: &mut Clusters,
) -> RoutePolicy {
    let retry = resilience::retry_policy(
        hr.retries.as_ref(),
        cx.spec.istio.mesh.default_http_retry_policy.as_ref(),
        hashes,
    );
    let mirrors = resilience::mirror_policies(&hr.mirrors)
        .into_iter()
        .map(|m| {
            let d = &m.cluster;
            let port = destination_port(cx, &d.host, d.port);
            let c = cluster::outbound(cx.spec, cx.client, &d.host, d.subset.as_deref(), port);
            crate::proxy::mirror::MirrorPolicy {
                cluster: clusters.intern(c),
                fraction_ppm: m.fraction_ppm,
                disable_shadow_host_suffix_append: m.disable_shadow_host_suffix_append,
                trace_sampled: m.trace_sampled,
            }
        })
        .collect();
    RoutePolicy {
        timeout: resilience::timeout_policy(hr.timeout, &retry),
        retry,
        fault: hr.fault.as_ref().map(resilience::fault_config),
        mirrors,
    }
}
