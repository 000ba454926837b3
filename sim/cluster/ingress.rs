//! Kubernetes Ingress (`networking.k8s.io/v1`) as ingress-nginx serves it.
//!
//! Why: an Ingress is only a routing table; what users get depends on the
//! controller. meshsim models ingress-nginx, the controller the Kubernetes docs
//! and minikube's `ingress` addon use: a Deployment plus a LoadBalancer Service
//! (`ingress-nginx/ingress-nginx-controller`, port 80) whose pods are proxies.
//! A controller pod matches host and path, optionally rewrites the path, and
//! sends the request straight to a backend **pod** (its Lua balancer talks to
//! endpoint IPs over keep-alive upstream connections, bypassing kube-proxy),
//! round robin over the ready endpoints (`load-balance: round_robin`, the
//! default). So behind an Ingress load spreads per request, evenly, however
//! few client connections there are.
//!
//! Matching, as ingress-nginx renders nginx locations:
//! * Hosts: exact names, `*.example.com` wildcards (one label), rules without a
//!   host apply to every host.
//! * Without regex: `Exact` is an `=` location; `Prefix` matches whole path
//!   elements (`/foo` matches `/foo`, `/foo/x`, not `/foobar`);
//!   `ImplementationSpecific` is a plain nginx prefix (`/foo` matches `/foobar`).
//!   The longest match wins; `Exact` beats a prefix.
//! * With `nginx.ingress.kubernetes.io/use-regex: "true"` or a `rewrite-target`
//!   on any Ingress of that host, every non-Exact path of the host becomes a
//!   case-insensitive regex anchored at the start (`~* "^path"`), tried longest
//!   path first; the first match wins.
//! * `rewrite-target` is nginx `rewrite "(?i)path" target break;`: the *whole*
//!   URI is replaced by the target with `$n` capture groups substituted (the
//!   seed's `/$1` with a path `/` and no group forwards `/` for every request).
//! * Nothing matches: the first Ingress (by namespace/name) with
//!   `spec.defaultBackend`, else the controller's default backend answers 404.
//!   Whether a host-specific Ingress's `defaultBackend` takes precedence for
//!   its own host is **unconfirmed**; meshsim uses it for every host.
//! * Ingresses without `ingressClassName` are served (as minikube's addon and
//!   `--watch-ingress-without-class` do); other class names are ignored.
//!
//! **Unconfirmed** modelling choices: each controller pod is one balancer (real
//! nginx has one per worker process) starting at the first endpoint; the
//! proxy's own processing time is zero.

use crate::engine::regex::{Flags, Pattern, RegexError};

/// `pathType` of an Ingress path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    Exact,
    Prefix,
    ImplementationSpecific,
}

/// A backend Service port, by number or name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendRef {
    pub service: String,
    pub port: PortRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressPath {
    pub path: String,
    pub path_type: PathType,
    pub backend: BackendRef,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressRule {
    /// None = every host.
    pub host: Option<String>,
    pub paths: Vec<IngressPath>,
}

/// One validated Ingress object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressSpec {
    pub name: String,
    pub namespace: String,
    pub rules: Vec<IngressRule>,
    pub default_backend: Option<BackendRef>,
    pub rewrite_target: Option<String>,
    pub use_regex: bool,
}

/// Where one request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    /// Index of the Ingress that matched.
    pub ingress: usize,
    pub backend: BackendRef,
    /// The path sent to the backend (after rewrite-target).
    pub forwarded_path: String,
}

/// Whether `host` matches a rule host (exact, or `*.x` for one extra label).
pub fn host_matches(rule: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let rule = rule.to_ascii_lowercase();
    match rule.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .and_then(|h| h.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => rule == host,
    }
}

/// Kubernetes `Prefix`: element-wise prefix of the request path.
fn prefix_elements(prefix: &str, path: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return true;
    }
    path == p
        || path
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Routes a request for `host` + `path` through every Ingress (sorted by
/// namespace/name). None = the controller's default backend (404).
pub fn route(ingresses: &[IngressSpec], host: &str, path: &str) -> Option<Routed> {
    let path_only = path.split(['?', '#']).next().unwrap_or(path);
    // Locations of the server for this host: specific host rules first; rules
    // without a host only when no specific rule names the host.
    let mut locs: Vec<(usize, &IngressPath)> = Vec::new();
    for (ii, ing) in ingresses.iter().enumerate() {
        for r in &ing.rules {
            if r.host.as_deref().is_some_and(|h| host_matches(h, host)) {
                locs.extend(r.paths.iter().map(|p| (ii, p)));
            }
        }
    }
    if locs.is_empty() {
        for (ii, ing) in ingresses.iter().enumerate() {
            for r in &ing.rules {
                if r.host.is_none() {
                    locs.extend(r.paths.iter().map(|p| (ii, p)));
                }
            }
        }
    }
    let regex_mode = locs
        .iter()
        .any(|(ii, _)| ingresses[*ii].use_regex || ingresses[*ii].rewrite_target.is_some());
    let hit = locs
        .iter()
        .find(|(_, p)| p.path_type == PathType::Exact && p.path == path_only)
        .copied()
        .or_else(|| {
            let mut cands: Vec<(usize, &IngressPath)> = locs
                .iter()
                .filter(|(_, p)| p.path_type != PathType::Exact)
                .copied()
                .collect();
            // ingress-nginx sorts locations by path length, longest first (stable).
            cands.sort_by_key(|(_, p)| std::cmp::Reverse(p.path.len()));
            cands.into_iter().find(|(_, p)| {
                if regex_mode {
                    location_regex(&p.path).is_ok_and(|re| re.is_match(path_only))
                } else if p.path_type == PathType::Prefix {
                    prefix_elements(&p.path, path_only)
                } else {
                    path_only.starts_with(&p.path)
                }
            })
        });
    match hit {
        Some((ii, p)) => {
            let forwarded_path = match &ingresses[ii].rewrite_target {
                Some(t) => rewrite(&p.path, t, path_only),
                None => path.to_string(),
            };
            Some(Routed {
                ingress: ii,
                backend: p.backend.clone(),
                forwarded_path,
            })
        }
        None => ingresses.iter().enumerate().find_map(|(ii, i)| {
            i.default_backend.as_ref().map(|b| Routed {
                ingress: ii,
                backend: b.clone(),
                forwarded_path: path.to_string(),
            })
        }),
    }
}

/// The nginx location regex of an Ingress path in regex mode: `~* "^path"`
/// (case-insensitive; `^` prepended as text, exactly as ingress-nginx writes
/// it, so in `a|b` only the first branch is anchored, as in nginx).
pub fn location_regex(path: &str) -> Result<Pattern, RegexError> {
    Pattern::compile(&format!("^{path}"), NGINX_FLAGS)
}

/// The pattern of nginx `rewrite "(?i)path" target break;` (not anchored).
pub fn rewrite_regex(path: &str) -> Result<Pattern, RegexError> {
    Pattern::compile(path, NGINX_FLAGS)
}

/// Whether `path` is usable as a regex-mode Ingress path (location and rewrite).
pub fn check_regex_path(path: &str) -> Result<(), RegexError> {
    // The bare pattern first, so error offsets count in the user's text.
    rewrite_regex(path)?;
    location_regex(path).map(|_| ())
}

const NGINX_FLAGS: Flags = Flags {
    case_insensitive: true,
};

/// nginx `rewrite "(?i)pattern" target break;`: the whole path becomes
/// `target` with `$1`…`$9` replaced by capture groups (an unset group is
/// empty). A path the pattern does not match (or a pattern that does not
/// compile, which validation rejects) is forwarded unchanged.
pub fn rewrite(pattern: &str, target: &str, path: &str) -> String {
    let Ok(re) = rewrite_regex(pattern) else {
        return path.to_string();
    };
    let Some(caps) = re.captures(path) else {
        return path.to_string();
    };
    let mut out = String::with_capacity(target.len());
    let mut chars = target.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(n)) => {
                chars.next();
                if let Some(Some((s, e))) = caps.get(n as usize) {
                    out.push_str(&path[*s..*e]);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(s: &str) -> BackendRef {
        BackendRef {
            service: s.into(),
            port: PortRef::Number(80),
        }
    }

    fn ing(name: &str, host: Option<&str>, paths: &[(&str, PathType, &str)]) -> IngressSpec {
        IngressSpec {
            name: name.into(),
            namespace: "default".into(),
            rules: vec![IngressRule {
                host: host.map(str::to_string),
                paths: paths
                    .iter()
                    .map(|(p, t, b)| IngressPath {
                        path: p.to_string(),
                        path_type: *t,
                        backend: backend(b),
                    })
                    .collect(),
            }],
            default_backend: None,
            rewrite_target: None,
            use_regex: false,
        }
    }

    #[test]
    fn hostile_paths_and_patterns() {
        // A non-ASCII path: captures and the rewrite stay on character boundaries.
        assert_eq!(
            rewrite("/shop(/|$)(.*)", "/$2", "/SHOP/äpfel/€"),
            "/äpfel/€"
        );
        assert_eq!(rewrite("/.", "/x$1$9", "/ü"), "/x");
        assert_eq!(rewrite("/(é+)", "/$1→", "/ééé"), "/ééé→");
        // A long path against nested repetitions: linear, no recursion.
        let long = format!("/{}", "a/".repeat(500_000));
        assert_eq!(rewrite("/((a/)*)+(.*)", "/$3", &long), "/");
        // Exponential for a backtracking engine; 40 characters and a 1 MiB path.
        let re = location_regex("/(a+)+$").unwrap();
        assert!(!re.is_match(&format!("/{}!", "a".repeat(40))));
        assert!(re.is_match(&format!("/{}", "a".repeat(1 << 20))));
        // Too deeply nested groups are an error, not a stack overflow.
        let deep = format!("/{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(
            check_regex_path(&deep),
            Err(RegexError::TooDeep { .. })
        ));
        assert!(matches!(
            check_regex_path("/a(?!b)"),
            Err(RegexError::Unsupported { .. })
        ));
    }

    #[test]
    fn location_is_start_anchored_and_case_insensitive() {
        let re = location_regex("/api").unwrap();
        assert!(re.is_match("/API/x"));
        assert!(!re.is_match("/x/api"));
        // `^` is prepended as text, as nginx does: only the first branch is anchored.
        let re = location_regex("/a|/b").unwrap();
        assert!(re.is_match("/x/b"));
        assert!(!re.is_match("/x/a"));
    }

    #[test]
    fn rewrite_like_nginx() {
        assert_eq!(rewrite("/", "/$1", "/anything/here"), "/");
        assert_eq!(rewrite("/something(/|$)(.*)", "/$2", "/something"), "/");
        assert_eq!(rewrite("/something(/|$)(.*)", "/$2", "/something/"), "/");
        assert_eq!(
            rewrite("/something(/|$)(.*)", "/$2", "/something/new"),
            "/new"
        );
    }

    #[test]
    fn path_types_and_precedence() {
        use PathType::*;
        let i = vec![ing(
            "a",
            Some("shop.example"),
            &[
                ("/foo", Prefix, "p"),
                ("/foo", Exact, "e"),
                ("/f", ImplementationSpecific, "i"),
            ],
        )];
        let to = |p: &str| route(&i, "shop.example", p).map(|r| r.backend.service);
        assert_eq!(to("/foo").as_deref(), Some("e"));
        assert_eq!(to("/foo/bar").as_deref(), Some("p"));
        assert_eq!(to("/foobar").as_deref(), Some("i"));
        assert_eq!(to("/x"), None);
        assert_eq!(route(&i, "other", "/foo"), None);
        let w = vec![ing("w", Some("*.example"), &[("/", Prefix, "w")])];
        assert!(route(&w, "a.example", "/").is_some());
        assert!(route(&w, "a.b.example", "/").is_none());
        let mut d = ing("d", None, &[]);
        d.default_backend = Some(backend("fallback"));
        assert_eq!(route(&[d], "x", "/y").unwrap().backend.service, "fallback");
    }

    #[test]
    fn regex_mode_when_rewrite_target() {
        let mut i = ing(
            "r",
            Some("h"),
            &[("/api(/|$)(.*)", PathType::Prefix, "api")],
        );
        i.rewrite_target = Some("/$2".into());
        let r = route(&[i], "h", "/API/users").unwrap();
        assert_eq!(r.forwarded_path, "/users");
    }
}
