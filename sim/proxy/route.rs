//! Envoy's HTTP route table (RDS `RouteConfiguration`) and the decision it
//! makes for one request: virtual host by authority, first matching route,
//! weighted cluster pick, or a local answer (redirect, direct response, 404).
//!
//! Config here is inert Envoy-shaped data; istiod's translation of
//! VirtualServices produces it. Decisions are pure functions of (config,
//! request, rng) with named outcomes ([`RouteDecision`]).
//!
//! Sources (Envoy release/v1.36 unless noted):
//! * virtual host choice: `source/common/router/config_impl.cc`
//!   `RouteMatcher::findVirtualHost` / `findWildcardVirtualHost` — exact
//!   domain, then the longest suffix wildcard (`*.foo.com`, `*-bar.foo.com`;
//!   the wildcard must cover at least one character), then the longest prefix
//!   wildcard (`foo.*`), then `*`; the host is lowercased; with
//!   `ignore_port_in_host_matching` the `:port` is dropped first
//!   (`HeaderUtility::getPortStart`). Duplicate domains are a config error.
//! * Istio sets `ignore_port_in_host_matching: true` on sidecar outbound and
//!   gateway route configs and, for sidecars, emits domains *without* port
//!   variants (`pilot/pkg/networking/core/httproute.go`
//!   `buildSidecarOutboundHTTPRouteConfig`, `generateVirtualHostDomains` with
//!   `SidecarIgnorePort`), so `reviews:9080` and `reviews` reach the same
//!   virtual host. Istio's `authority` *match* still sees the port (§2).
//! * route match: `RouteEntryImplBase::matchRoute` + `Prefix/Path/RegexRouteEntryImpl`:
//!   path without query; `case_sensitive: false` affects prefix/exact only;
//!   regex is a full match. Headers: `source/common/http/header_utility.cc`
//!   `HeaderDataBaseImpl::matchesHeaders` — all values joined with `,`; a
//!   missing header fails the matcher (even inverted) unless
//!   `treat_missing_header_as_empty` (what Istio sets for `withoutHeaders`);
//!   `present_match` compares presence, inverted by `invert_match`. Query
//!   parameters: `ConfigUtility::QueryParameterMatcher` (first value; no
//!   matcher = present). First matching route wins.
//! * weighted clusters: `source/common/router/weighted_cluster_specifier.cc`:
//!   `r = random % total_weight`, walk cumulative `[begin, end)` ranges, so a
//!   zero weight is never chosen. A single cluster draws nothing.
//! * rewrites: `RouteEntryImplBase::finalizePathHeader` (`prefix_rewrite`
//!   replaces the matched prefix; exact and regex routes match the whole path),
//!   `regex_rewrite` = RE2 `GlobalReplace` on the path (query kept),
//!   `x-envoy-original-path` keeps the old `:path`.
//! * header operations: `config_impl.h` `WeightedClusterEntry::finalizeRequestHeaders`
//!   applies the **destination** (weighted cluster) operations first, then the
//!   route's (`RouteEntryImplBase::finalizeRequestHeaders`); within one set,
//!   removals first, then set/add in order (`header_parser.cc` `evaluateHeaders`).
//!   (Reference §2 words it route-then-destination; the Envoy code is followed.)

pub mod describe;
use super::matcher::{Pattern, StringMatcher, starts_with};
use super::request::Request;
use crate::engine::rng::SimRng;
use std::sync::Arc;

/// Envoy `RouteConfiguration` (one per listener port / gateway server).
#[derive(Clone, Debug, PartialEq, Eq)]
///
/// Built with [`RouteConfiguration::new`], which indexes the domains; the
/// fields are read-only so the index cannot go stale.
pub struct RouteConfiguration {
    name: String,
    virtual_hosts: Vec<VirtualHost>,
    ignore_port_in_host_matching: bool,
    index: DomainIndex,
}

/// Envoy `VirtualHost`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualHost {
    pub name: String,
    pub domains: Vec<String>,
    pub routes: Vec<Route>,
    /// Envoy `require_tls: ALL`: any request not arriving over TLS gets a 301
    /// to `https://<host><path>` before route matching (what Istio sets for a
    /// Gateway server with `tls.httpsRedirect`, `pilot/pkg/networking/core/gateway.go`
    /// `buildGatewayHTTPRouteConfig`; Envoy `VirtualHostImpl::getRouteFromEntries`,
    /// `Http::Utility::createSslRedirectPath`).
    pub require_tls: bool,
}

/// Envoy `Route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    pub matcher: RouteMatch,
    pub action: RouteAction,
    /// Route-level `request_headers_to_add` / `_to_remove`.
    pub request_headers: HeaderOps,
}

/// Envoy `RouteMatch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    pub path: PathMatch,
    /// Envoy `case_sensitive` (default true); Istio `ignoreUriCase` ⇒ false.
    pub case_sensitive: bool,
    pub headers: Vec<HeaderMatcher>,
    pub query_parameters: Vec<QueryParameterMatcher>,
}

/// The path specifier of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathMatch {
    Prefix(String),
    /// Envoy `path`: the whole path.
    Exact(String),
    Regex(Pattern),
}

/// Envoy `HeaderMatcher`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMatcher {
    /// Lowercase; pseudo-headers (`:authority`, `:method`, …) allowed.
    pub name: String,
    pub spec: HeaderMatchSpec,
    pub invert_match: bool,
    pub treat_missing_header_as_empty: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderMatchSpec {
    /// `present_match: bool`.
    Present(bool),
    Value(StringMatcher),
}

/// Envoy `QueryParameterMatcher`; `None` = `present_match`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryParameterMatcher {
    pub name: String,
    pub matcher: Option<StringMatcher>,
}

/// What a matched route does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteAction {
    /// Forward to one of the (weighted) clusters, after rewrites.
    Forward {
        clusters: WeightedClusters,
        rewrite: Rewrite,
    },
    Redirect(Redirect),
    DirectResponse {
        status: u16,
        body: Option<Arc<str>>,
    },
}

/// Envoy `WeightedCluster` (one entry = the plain `cluster` action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedClusters {
    clusters: Vec<WeightedCluster>,
    total_weight: u64,
}

/// One destination of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedCluster {
    /// Envoy cluster name, e.g. `outbound|9080|v1|reviews.default.svc.cluster.local`.
    pub name: String,
    pub weight: u32,
    /// Per-destination request header operations.
    pub request_headers: HeaderOps,
    /// Per-destination `host_rewrite_literal`.
    pub host_rewrite: Option<String>,
}

impl WeightedClusters {
    /// `None` when there is no cluster or every weight is zero (Envoy
    /// rejects both; Istio drops zero weights and rejects Σw = 0).
    pub fn new(clusters: Vec<WeightedCluster>) -> Option<WeightedClusters> {
        let total_weight: u64 = clusters.iter().map(|c| c.weight as u64).sum();
        if clusters.is_empty() || (clusters.len() > 1 && total_weight == 0) {
            return None;
        }
        Some(WeightedClusters {
            clusters,
            total_weight,
        })
    }

    /// One cluster, 100 %.
    pub fn single(name: &str) -> WeightedClusters {
        WeightedClusters {
            clusters: vec![WeightedCluster {
                name: name.to_string(),
                weight: 1,
                request_headers: HeaderOps::default(),
                host_rewrite: None,
            }],
            total_weight: 1,
        }
    }

    pub fn clusters(&self) -> &[WeightedCluster] {
        &self.clusters
    }

    pub fn total_weight(&self) -> u64 {
        self.total_weight
    }
}

/// Envoy's weighted pick: one draw `r = random % total`, then the cumulative
/// walk; a single cluster consumes no draw.
#[inline]
pub fn pick_weighted(clusters: &WeightedClusters, rng: &mut SimRng) -> usize {
    use rand::Rng;
    if clusters.clusters.len() == 1 {
        return 0;
    }
    let r = rng.next_u64() % clusters.total_weight;
    pick_weighted_at(clusters, r)
}

/// The walk for a given `r < total_weight` (deterministic part of the pick).
pub fn pick_weighted_at(clusters: &WeightedClusters, r: u64) -> usize {
    let mut end = 0u64;
    for (i, c) in clusters.clusters.iter().enumerate() {
        end += c.weight as u64;
        if r < end {
            return i;
        }
    }
    clusters.clusters.len() - 1
}

/// Path and host rewrites of a forwarding route.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Rewrite {
    pub prefix: Option<String>,
    pub regex: Option<RegexRewrite>,
    /// `host_rewrite_literal`.
    pub host: Option<String>,
}

/// Envoy `regex_rewrite` (`RegexMatchAndSubstitute`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexRewrite {
    pub pattern: Pattern,
    /// RE2 substitution as written (`\1` = group 1).
    pub substitution: String,
    /// The same for the regex crate (`${1}`; `$` escaped).
    replacement: String,
}

impl RegexRewrite {
    pub fn new(pattern: &str, substitution: &str) -> Result<RegexRewrite, regex::Error> {
        let mut replacement = String::with_capacity(substitution.len() + 8);
        let mut chars = substitution.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(d) if d.is_ascii_digit() => {
                        replacement.push_str(&format!("${{{d}}}"));
                        chars.next();
                    }
                    Some('\\') => {
                        replacement.push('\\');
                        chars.next();
                    }
                    _ => replacement.push('\\'),
                },
                '$' => replacement.push_str("$$"),
                c => replacement.push(c),
            }
        }
        Ok(RegexRewrite {
            pattern: Pattern::new(pattern)?,
            substitution: substitution.to_string(),
            replacement,
        })
    }
}

/// Envoy `RedirectAction` as Istio fills it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `path_redirect`: the whole path.
    pub path: Option<String>,
    /// 301 (Istio's default), 302, 303, 307, 308.
    pub code: u16,
}

/// `request_headers_to_add` (set = overwrite-or-add, add = append) and
/// `request_headers_to_remove`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HeaderOps {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl HeaderOps {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    /// Removals first, then set, then add (Envoy `HeaderParser::evaluateHeaders`).
    pub fn apply(&self, request: &mut Request) {
        for name in &self.remove {
            request.remove_header(name);
        }
        for (n, v) in &self.set {
            request.set_header(n, v);
        }
        for (n, v) in &self.add {
            request.add_header(n, v);
        }
    }
}

/// Config error found when building a route table (Envoy would NACK it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteConfigError {
    #[error(
        "route configuration {config}: domain {domain:?} appears in more than one virtual host"
    )]
    DuplicateDomain { config: String, domain: String },
    #[error(
        "route configuration {config}: domain {domain:?} has a wildcard that is not leading or trailing"
    )]
    BadWildcard { config: String, domain: String },
}

/// Lowercased domains sorted for allocation-free lookup.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
struct DomainIndex {
    exact: Vec<(String, usize)>,
    /// (length, sorted (suffix without `*`, vhost)), longest first.
    suffix: Vec<(usize, Vec<(String, usize)>)>,
    /// (length, sorted (prefix without `*`, vhost)), longest first.
    prefix: Vec<(usize, Vec<(String, usize)>)>,
    default: Option<usize>,
}

fn group_by_len(mut v: Vec<(String, usize)>) -> Vec<(usize, Vec<(String, usize)>)> {
    v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let mut out: Vec<(usize, Vec<(String, usize)>)> = Vec::new();
    for (s, i) in v {
        match out.last_mut() {
            Some((l, g)) if *l == s.len() => g.push((s, i)),
            _ => out.push((s.len(), vec![(s, i)])),
        }
    }
    out
}

impl RouteConfiguration {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn virtual_hosts(&self) -> &[VirtualHost] {
        &self.virtual_hosts
    }
    pub fn ignore_port_in_host_matching(&self) -> bool {
        self.ignore_port_in_host_matching
    }

    /// Builds the table and its domain index; duplicate domains are an error.
    pub fn new(
        name: &str,
        virtual_hosts: Vec<VirtualHost>,
        ignore_port_in_host_matching: bool,
    ) -> Result<RouteConfiguration, RouteConfigError> {
        let mut seen: Vec<String> = Vec::new();
        let (mut exact, mut suffix, mut prefix, mut default) = (vec![], vec![], vec![], None);
        for (vi, vh) in virtual_hosts.iter().enumerate() {
            for d in &vh.domains {
                let d = d.to_ascii_lowercase();
                if seen.contains(&d) {
                    return Err(RouteConfigError::DuplicateDomain {
                        config: name.to_string(),
                        domain: d,
                    });
                }
                seen.push(d.clone());
                if d == "*" {
                    default = Some(vi);
                } else if let Some(s) = d.strip_prefix('*') {
                    suffix.push((s.to_string(), vi));
                } else if let Some(p) = d.strip_suffix('*') {
                    prefix.push((p.to_string(), vi));
                } else {
                    exact.push((d, vi));
                }
            }
        }
        if let Some((d, _)) = exact
            .iter()
            .chain(&suffix)
            .chain(&prefix)
            .find(|(d, _)| d.contains('*'))
        {
            return Err(RouteConfigError::BadWildcard {
                config: name.to_string(),
                domain: d.clone(),
            });
        }
        exact.sort();
        Ok(RouteConfiguration {
            name: name.to_string(),
            virtual_hosts,
            ignore_port_in_host_matching,
            index: DomainIndex {
                exact,
                suffix: group_by_len(suffix),
                prefix: group_by_len(prefix),
                default,
            },
        })
    }
}

/// Compares lowercase `key` with `host` lowercased on the fly.
fn cmp_lower(key: &str, host: &[u8]) -> std::cmp::Ordering {
    key.as_bytes()
        .iter()
        .copied()
        .cmp(host.iter().map(|b| b.to_ascii_lowercase()))
}

fn find_lower(sorted: &[(String, usize)], host: &[u8]) -> Option<usize> {
    sorted
        .binary_search_by(|(k, _)| cmp_lower(k, host))
        .ok()
        .map(|i| sorted[i].1)
}

/// Envoy `HeaderUtility::getPortStart`: index of the `:` before a port.
pub fn port_start(host: &str) -> Option<usize> {
    let colon = host.rfind(':')?;
    match host.rfind(']') {
        Some(v6_end) if v6_end > colon => None,
        _ => Some(colon),
    }
}

/// Envoy's virtual host choice for an authority (index into `virtual_hosts`).
pub fn select_virtual_host_index(config: &RouteConfiguration, authority: &str) -> Option<usize> {
    let ix = &config.index;
    let mut host = authority;
    if config.ignore_port_in_host_matching
        && let Some(i) = port_start(host)
    {
        host = &host[..i];
    }
    let h = host.as_bytes();
    if let Some(v) = find_lower(&ix.exact, h) {
        return Some(v);
    }
    for (len, group) in &ix.suffix {
        if *len < h.len()
            && let Some(v) = find_lower(group, &h[h.len() - len..])
        {
            return Some(v);
        }
    }
    for (len, group) in &ix.prefix {
        if *len < h.len()
            && let Some(v) = find_lower(group, &h[..*len])
        {
            return Some(v);
        }
    }
    ix.default
}

/// Envoy's virtual host choice for an authority.
pub fn select_virtual_host<'c>(
    config: &'c RouteConfiguration,
    authority: &str,
) -> Option<&'c VirtualHost> {
    select_virtual_host_index(config, authority).map(|i| &config.virtual_hosts[i])
}

impl HeaderMatcher {
    /// Envoy `HeaderDataBaseImpl::matchesHeaders` / `HeaderDataPresentMatch`.
    pub fn matches(&self, request: &Request) -> bool {
        let value = request.header_joined(&self.name);
        match &self.spec {
            HeaderMatchSpec::Present(present) => (value.is_some() == *present) != self.invert_match,
            HeaderMatchSpec::Value(m) => match value {
                Some(v) => m.matches(&v) != self.invert_match,
                None if self.treat_missing_header_as_empty => m.matches("") != self.invert_match,
                None => false,
            },
        }
    }
}

impl QueryParameterMatcher {
    pub fn matches(&self, request: &Request) -> bool {
        match (request.query_param(&self.name), &self.matcher) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(m)) => m.matches(v),
        }
    }
}

impl RouteMatch {
    /// A catch-all (`prefix: /`).
    pub fn any() -> RouteMatch {
        RouteMatch::path(PathMatch::Prefix("/".to_string()))
    }

    pub fn path(path: PathMatch) -> RouteMatch {
        RouteMatch {
            path,
            case_sensitive: true,
            headers: Vec::new(),
            query_parameters: Vec::new(),
        }
    }

    /// Does this match the request? Allocation-free unless a header repeats.
    pub fn matches(&self, request: &Request) -> bool {
        let path = request.path();
        let path_ok = match &self.path {
            PathMatch::Prefix(p) => starts_with(path, p, !self.case_sensitive),
            PathMatch::Exact(p) => {
                if self.case_sensitive {
                    path == p
                } else {
                    path.eq_ignore_ascii_case(p)
                }
            }
            PathMatch::Regex(re) => re.full_match(path),
        };
        path_ok
            && self.headers.iter().all(|h| h.matches(request))
            && self.query_parameters.iter().all(|q| q.matches(request))
    }
}

/// First route of `vhost` matching `request`.
pub fn match_route<'c>(vhost: &'c VirtualHost, request: &Request) -> Option<(usize, &'c Route)> {
    vhost
        .routes
        .iter()
        .enumerate()
        .find(|(_, r)| r.matcher.matches(request))
}

/// What the router decided for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteDecision {
    /// Forward to `virtual_hosts[vhost].routes[route]`'s cluster `cluster`.
    Forward {
        vhost: usize,
        route: usize,
        cluster: usize,
    },
    /// `require_tls` on a plain-text request: 301 to `location`.
    TlsRedirect { vhost: usize, location: String },
    /// No virtual host for the authority: 404, flag NR.
    NoVirtualHost,
    /// Virtual host found, no route matched: 404, flag NR.
    NoRoute { vhost: usize },
    /// Local redirect (no upstream request).
    Redirect {
        vhost: usize,
        route: usize,
        status: u16,
        location: String,
    },
    /// Local direct response (no upstream request).
    DirectResponse {
        vhost: usize,
        route: usize,
        status: u16,
    },
}

/// What [`decide`] finds before its weighted draw: the virtual host (and its
/// TLS requirement) and the first matching route. A pure function of the
/// route table and the request's attributes, so the world computes it once
/// per (route table, interned attributes) — virtual-host selection over
/// Istio's long domain lists and route matching were ~10 % of a meshed
/// request's instructions — and [`decide_selected`] finishes each request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selected {
    NoVirtualHost,
    TlsRedirect { vhost: u32 },
    NoRoute { vhost: u32 },
    Route { vhost: u32, route: u32 },
}

/// The virtual host and first matching route for `request` (no draw).
pub fn select(config: &RouteConfiguration, request: &Request) -> Selected {
    let Some(vi) = select_virtual_host_index(config, &request.authority) else {
        return Selected::NoVirtualHost;
    };
    let vhost = &config.virtual_hosts[vi];
    if vhost.require_tls && !request.scheme.eq_ignore_ascii_case("https") {
        return Selected::TlsRedirect { vhost: vi as u32 };
    }
    match match_route(vhost, request) {
        None => Selected::NoRoute { vhost: vi as u32 },
        Some((ri, _)) => Selected::Route {
            vhost: vi as u32,
            route: ri as u32,
        },
    }
}

/// The whole routing decision: virtual host (and its TLS requirement), first
/// matching route, action
/// (weighted pick for forwarding routes: one draw only when there are two or
/// more clusters).
pub fn decide(config: &RouteConfiguration, request: &Request, rng: &mut SimRng) -> RouteDecision {
    decide_selected(config, select(config, request), request, rng)
}

/// [`decide`] given [`select`]'s answer for the same table and request.
pub fn decide_selected(
    config: &RouteConfiguration,
    selected: Selected,
    request: &Request,
    rng: &mut SimRng,
) -> RouteDecision {
    let (vi, ri) = match selected {
        Selected::NoVirtualHost => return RouteDecision::NoVirtualHost,
        Selected::TlsRedirect { vhost } => {
            return RouteDecision::TlsRedirect {
                vhost: vhost as usize,
                location: format!("https://{}{}", request.authority, request.path_and_query),
            };
        }
        Selected::NoRoute { vhost } => {
            return RouteDecision::NoRoute {
                vhost: vhost as usize,
            };
        }
        Selected::Route { vhost, route } => (vhost as usize, route as usize),
    };
    let route = &config.virtual_hosts[vi].routes[ri];
    match &route.action {
        RouteAction::Forward { clusters, .. } => RouteDecision::Forward {
            vhost: vi,
            route: ri,
            cluster: pick_weighted(clusters, rng),
        },
        RouteAction::Redirect(r) => RouteDecision::Redirect {
            vhost: vi,
            route: ri,
            status: r.code,
            location: redirect_location(r, request),
        },
        RouteAction::DirectResponse { status, .. } => RouteDecision::DirectResponse {
            vhost: vi,
            route: ri,
            status: *status,
        },
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The `Location` of a redirect (Envoy `RouteEntryImplBase::newUri`):
/// scheme, host and port replaced where configured (default ports omitted,
/// and an original default port dropped when the scheme changes); the path
/// replaced by `path_redirect`, keeping the original query unless the new
/// path carries its own.
pub fn redirect_location(r: &Redirect, request: &Request) -> String {
    let scheme = r.scheme.as_deref().unwrap_or(&request.scheme);
    let host_full = r.host.as_deref().unwrap_or(&request.authority);
    let (host, port) = match port_start(host_full) {
        Some(i) => (&host_full[..i], host_full[i + 1..].parse::<u16>().ok()),
        None => (host_full, None),
    };
    let port = match r.port {
        Some(p) => Some(p),
        None if scheme != &*request.scheme && port == default_port(&request.scheme) => None,
        None => port,
    };
    let mut loc = format!("{scheme}://{host}");
    if let Some(p) = port
        && Some(p) != default_port(scheme)
    {
        loc.push_str(&format!(":{p}"));
    }
    match &r.path {
        Some(p) => {
            loc.push_str(p);
            if !p.contains('?')
                && let Some(q) = request.query()
            {
                loc.push('?');
                loc.push_str(q);
            }
        }
        None => loc.push_str(&request.path_and_query),
    }
    loc
}

/// Applies the route's path and host rewrites to `request` (forwarding routes
/// only). Returns whether the path changed; then `x-envoy-original-path`
/// carries the old `:path`.
pub fn apply_rewrite(route: &Route, request: &mut Request) -> bool {
    let RouteAction::Forward { rewrite, .. } = &route.action else {
        return false;
    };
    let mut changed = false;
    let path = request.path();
    let rest = &request.path_and_query[path.len()..];
    let new_path = if let Some(prefix) = &rewrite.prefix {
        let matched = match &route.matcher.path {
            PathMatch::Prefix(p) => p.len().min(path.len()),
            PathMatch::Exact(_) | PathMatch::Regex(_) => path.len(),
        };
        Some(format!("{prefix}{}{rest}", &path[matched..]))
    } else {
        rewrite.regex.as_ref().map(|rr| {
            let p = rr
                .pattern
                .regex()
                .replace_all(path, rr.replacement.as_str());
            format!("{p}{rest}")
        })
    };
    if let Some(np) = new_path
        && np != *request.path_and_query
    {
        let old = std::mem::replace(&mut request.path_and_query, Arc::from(np));
        request.set_header("x-envoy-original-path", &old);
        changed = true;
    }
    if let Some(h) = &rewrite.host {
        request.authority = Arc::from(h.as_str());
    }
    changed
}

/// Request header operations for the chosen destination, in Envoy's order:
/// destination-level operations and its host rewrite, then route-level ones.
pub fn apply_request_headers(route: &Route, cluster: usize, request: &mut Request) {
    if let RouteAction::Forward { clusters, .. } = &route.action
        && let Some(c) = clusters.clusters.get(cluster)
    {
        c.request_headers.apply(request);
        if let Some(h) = &c.host_rewrite {
            request.authority = Arc::from(h.as_str());
        }
    }
    route.request_headers.apply(request);
}

#[cfg(test)]
mod tests;
