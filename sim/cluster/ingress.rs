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
                    Regex::parse(&format!("^{}", p.path))
                        .is_ok_and(|re| re.find(path_only).is_some())
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

/// nginx `rewrite "(?i)pattern" target break;`.
pub fn rewrite(pattern: &str, target: &str, path: &str) -> String {
    let Ok(re) = Regex::parse(pattern) else {
        return path.to_string();
    };
    let Some(caps) = re.find(path) else {
        return path.to_string();
    };
    let b = target.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            let n = (b[i + 1] - b'0') as usize;
            if let Some(Some((s, e))) = caps.get(n) {
                out.push_str(&path[*s..*e]);
            }
            i += 2;
        } else {
            let ch = target[i..].chars().next().unwrap_or('?');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

// === a small case-insensitive backtracking regex (PCRE subset) ===
//
// Enough for ingress paths: literals, `.`, `[a-z]`/`[^/]` classes, groups with
// `|`, `*`, `+`, `?`, `{m,n}`, `^`, `$`, `\` escapes. No crate: the project
// avoids a dependency for a few dozen paths matched once at load time.

#[derive(Clone, Debug)]
enum Re {
    Byte(u8),
    Any,
    Class(Vec<(u8, u8)>, bool),
    Start,
    End,
    Group(Vec<Vec<Re>>, Option<usize>),
    Repeat(Box<Re>, u32, Option<u32>),
}

/// A parsed pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    alt: Vec<Vec<Re>>,
    groups: usize,
}

type Caps = Vec<Option<(usize, usize)>>;

impl Regex {
    pub fn parse(p: &str) -> Result<Regex, String> {
        let b = p.as_bytes();
        let mut i = 0;
        let mut groups = 0;
        let alt = parse_alt(b, &mut i, &mut groups)?;
        if i != b.len() {
            return Err(format!("unbalanced ')' at byte {i}"));
        }
        Ok(Regex { alt, groups })
    }

    /// Leftmost match: capture spans (0 = whole match).
    pub fn find(&self, s: &str) -> Option<Caps> {
        let s = s.as_bytes();
        for start in 0..=s.len() {
            let mut caps: Caps = vec![None; self.groups + 1];
            let mut end = None;
            let g = Re::Group(self.alt.clone(), None);
            if m_node(&g, s, start, &mut caps, &mut |p, _| {
                end = Some(p);
                true
            }) {
                caps[0] = Some((start, end.unwrap_or(start)));
                return Some(caps);
            }
        }
        None
    }
}

fn parse_alt(b: &[u8], i: &mut usize, groups: &mut usize) -> Result<Vec<Vec<Re>>, String> {
    let mut alts = vec![Vec::new()];
    while *i < b.len() {
        let c = b[*i];
        let atom = match c {
            b')' => break,
            b'|' => {
                *i += 1;
                alts.push(Vec::new());
                continue;
            }
            b'(' => {
                *i += 1;
                let cap = if b[*i..].starts_with(b"?:") {
                    *i += 2;
                    None
                } else {
                    *groups += 1;
                    Some(*groups)
                };
                let inner = parse_alt(b, i, groups)?;
                if *i >= b.len() || b[*i] != b')' {
                    return Err("missing ')'".into());
                }
                *i += 1;
                Re::Group(inner, cap)
            }
            b'[' => {
                *i += 1;
                let neg = *i < b.len() && b[*i] == b'^';
                if neg {
                    *i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    if *i >= b.len() {
                        return Err("missing ']'".into());
                    }
                    let mut lo = b[*i];
                    if lo == b']' && !first {
                        *i += 1;
                        break;
                    }
                    first = false;
                    if lo == b'\\' && *i + 1 < b.len() {
                        *i += 1;
                        lo = b[*i];
                    }
                    *i += 1;
                    if *i + 1 < b.len() && b[*i] == b'-' && b[*i + 1] != b']' {
                        let hi = b[*i + 1];
                        *i += 2;
                        ranges.push((lo, hi));
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                Re::Class(ranges, neg)
            }
            b'.' => {
                *i += 1;
                Re::Any
            }
            b'^' => {
                *i += 1;
                Re::Start
            }
            b'$' => {
                *i += 1;
                Re::End
            }
            b'\\' => {
                *i += 1;
                let e = *b.get(*i).ok_or("trailing '\\'")?;
                *i += 1;
                match e {
                    b'd' => Re::Class(vec![(b'0', b'9')], false),
                    b'w' => Re::Class(
                        vec![(b'a', b'z'), (b'A', b'Z'), (b'0', b'9'), (b'_', b'_')],
                        false,
                    ),
                    other => Re::Byte(other),
                }
            }
            b'*' | b'+' | b'?' | b'{' => return Err(format!("nothing to repeat at byte {}", *i)),
            other => {
                *i += 1;
                Re::Byte(other)
            }
        };
        // Quantifier?
        let atom = match b.get(*i) {
            Some(b'*') => {
                *i += 1;
                Re::Repeat(Box::new(atom), 0, None)
            }
            Some(b'+') => {
                *i += 1;
                Re::Repeat(Box::new(atom), 1, None)
            }
            Some(b'?') => {
                *i += 1;
                Re::Repeat(Box::new(atom), 0, Some(1))
            }
            Some(b'{') => {
                let close = b[*i..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or("missing '}'")?;
                let body =
                    std::str::from_utf8(&b[*i + 1..*i + close]).map_err(|e| e.to_string())?;
                let (lo, hi) = match body.split_once(',') {
                    Some((l, "")) => (l.parse().map_err(|_| "bad {m,n}")?, None),
                    Some((l, h)) => (
                        l.parse().map_err(|_| "bad {m,n}")?,
                        Some(h.parse().map_err(|_| "bad {m,n}")?),
                    ),
                    None => {
                        let n = body.parse().map_err(|_| "bad {n}")?;
                        (n, Some(n))
                    }
                };
                *i += close + 1;
                Re::Repeat(Box::new(atom), lo, hi)
            }
            _ => atom,
        };
        alts.last_mut().expect("one branch").push(atom);
    }
    Ok(alts)
}

type K<'k> = &'k mut dyn FnMut(usize, &mut Caps) -> bool;

fn m_seq(seq: &[Re], s: &[u8], pos: usize, caps: &mut Caps, k: K) -> bool {
    match seq.split_first() {
        None => k(pos, caps),
        Some((first, rest)) => m_node(first, s, pos, caps, &mut |p, c| m_seq(rest, s, p, c, k)),
    }
}

fn m_node(n: &Re, s: &[u8], pos: usize, caps: &mut Caps, k: K) -> bool {
    let byte_ok = |f: &dyn Fn(u8) -> bool| pos < s.len() && f(s[pos]);
    match n {
        Re::Byte(c) => byte_ok(&|x| x.eq_ignore_ascii_case(c)) && k(pos + 1, caps),
        Re::Any => byte_ok(&|x| x != b'\n') && k(pos + 1, caps),
        Re::Class(ranges, neg) => {
            byte_ok(&|x| {
                let lx = x.to_ascii_lowercase();
                let ux = x.to_ascii_uppercase();
                let inside = ranges
                    .iter()
                    .any(|&(lo, hi)| (lo..=hi).contains(&lx) || (lo..=hi).contains(&ux));
                inside != *neg
            }) && k(pos + 1, caps)
        }
        Re::Start => pos == 0 && k(pos, caps),
        Re::End => pos == s.len() && k(pos, caps),
        Re::Group(alts, cap) => alts.iter().any(|branch| {
            m_seq(branch, s, pos, caps, &mut |p, c| {
                let Some(g) = cap else { return k(p, c) };
                let old = c[*g];
                c[*g] = Some((pos, p));
                let ok = k(p, c);
                if !ok {
                    c[*g] = old;
                }
                ok
            })
        }),
        Re::Repeat(inner, lo, hi) => m_rep(inner, *lo, *hi, 0, s, pos, caps, k),
    }
}

#[allow(clippy::too_many_arguments)]
fn m_rep(
    inner: &Re,
    lo: u32,
    hi: Option<u32>,
    count: u32,
    s: &[u8],
    pos: usize,
    caps: &mut Caps,
    k: K,
) -> bool {
    // Greedy: one more repetition first (only if it consumes input), then stop.
    if hi.is_none_or(|h| count < h)
        && m_node(inner, s, pos, caps, &mut |p, c| {
            p > pos && m_rep(inner, lo, hi, count + 1, s, p, c, k)
        })
    {
        return true;
    }
    count >= lo && k(pos, caps)
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
    fn regex_subset() {
        let re = Regex::parse("/something(/|$)(.*)").unwrap();
        let c = re.find("/something/new").unwrap();
        assert_eq!(c[2], Some((11, 14)));
        assert!(Regex::parse("^/API").unwrap().find("/api/x").is_some());
        assert!(
            Regex::parse("^/v[0-9]+/x")
                .unwrap()
                .find("/v12/x")
                .is_some()
        );
        assert!(Regex::parse("^/v[0-9]+/x").unwrap().find("/v/x").is_none());
        assert!(Regex::parse("(").is_err());
        assert!(Regex::parse("*a").is_err());
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
