//! The request as an Envoy HTTP connection manager sees it: pseudo-headers
//! (`:method`, `:scheme`, `:authority`, `:path` with its query string), the
//! ordinary headers with lowercase names in arrival order, and the downstream
//! source address (for `useSourceIp` hashing).
//!
//! Why this shape: Envoy matches routes on exactly these attributes
//! (`source/common/router/config_impl.cc` `RouteEntryImplBase::matchRoute`);
//! who the caller *is* (namespace, labels) is decided by istiod when it builds
//! each proxy's config (`sourceLabels`, `sourceNamespace` are config-time,
//! reference §2), so it is not a request attribute here.
//!
//! Cheap to clone: every string is an `Arc<str>` and the header list is an
//! `Arc<Vec<…>>` shared copy-on-write, so cloning a request (a retry, a
//! mirror, a call forwarding it) bumps reference counts and allocates
//! nothing; only a rewrite or a header operation copies what it changes.
//!
//! `:path` keeps the query string, as in Envoy; [`Request::path`] is the part
//! that path matchers see (query and fragment removed, Envoy
//! `Http::PathUtil::removeQueryAndFragment`) and [`Request::query`] the part
//! query-parameter matchers see.

use std::sync::Arc;

/// One header: lowercase name, value.
pub type Header = (Arc<str>, Arc<str>);

/// Request attributes seen by a proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Arc<str>,
    pub scheme: Arc<str>,
    /// `Host` / `:authority`, with `:port` when the client sent one.
    pub authority: Arc<str>,
    /// `:path` including `?query` (and `#fragment` if a client sent one).
    pub path_and_query: Arc<str>,
    headers: Arc<Vec<Header>>,
    /// Downstream remote IP (no port), for `useSourceIp` hashing.
    pub source_ip: Option<Arc<str>>,
}

impl Request {
    /// A GET with the given authority and path (`?query` allowed).
    pub fn get(authority: &str, path_and_query: &str) -> Request {
        Request::new("GET", "http", authority, path_and_query)
    }

    pub fn new(method: &str, scheme: &str, authority: &str, path_and_query: &str) -> Request {
        Request {
            method: Arc::from(method),
            scheme: Arc::from(scheme),
            authority: Arc::from(authority),
            path_and_query: Arc::from(path_and_query),
            headers: Arc::new(Vec::new()),
            source_ip: None,
        }
    }

    /// Builder: append a header (the name is lowercased, as HTTP/2 and Envoy do).
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.add_header(name, value);
        self
    }

    /// Builder: the downstream source IP.
    pub fn with_source_ip(mut self, ip: &str) -> Request {
        self.source_ip = Some(Arc::from(ip));
        self
    }

    /// The path without query string and fragment.
    pub fn path(&self) -> &str {
        let p = &*self.path_and_query;
        match p.find(['?', '#']) {
            Some(i) => &p[..i],
            None => p,
        }
    }

    /// The query string without `?` (and without a fragment), if any.
    pub fn query(&self) -> Option<&str> {
        let p = &*self.path_and_query;
        let q = &p[p.find('?')? + 1..];
        Some(match q.find('#') {
            Some(i) => &q[..i],
            None => q,
        })
    }

    /// The first value of query parameter `key` (`?key` alone ⇒ `""`), as
    /// Envoy's `QueryParamsMulti::getFirstValue`. Values are compared raw
    /// (no percent-decoding: a simplification).
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter(|kv| !kv.is_empty())
            .find_map(|kv| match kv.split_once('=') {
                Some((k, v)) if k == key => Some(v),
                None if kv == key => Some(""),
                _ => None,
            })
    }

    /// All headers in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The first value of header `name` (ASCII case-insensitive, as header
    /// names are; stored names are lowercase). Pseudo-headers are
    /// answered from the fields (`:method`, `:scheme`, `:authority`, `:path`;
    /// `host` is the authority, as in Envoy where Host *is* `:authority`).
    pub fn header(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case("host") {
            return Some(&self.authority);
        }
        match name {
            ":method" => Some(&self.method),
            ":scheme" => Some(&self.scheme),
            ":authority" | "host" => Some(&self.authority),
            ":path" => Some(&self.path_and_query),
            _ => self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| &**v),
        }
    }

    /// How many values header `name` has (pseudo-headers: 1).
    pub fn header_count(&self, name: &str) -> usize {
        if name.starts_with(':') || name.eq_ignore_ascii_case("host") {
            return 1;
        }
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// All values of `name` joined with `,`, as Envoy's
    /// `HeaderUtility::getAllOfHeaderAsString` does before matching. Borrows
    /// when there is at most one value (the common case), allocates otherwise.
    pub fn header_joined(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        if self.header_count(name) <= 1 {
            return self.header(name).map(Cow::Borrowed);
        }
        let mut out = String::new();
        for (_, v) in self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(v);
        }
        Some(Cow::Owned(out))
    }

    /// Cookie `name` from the `cookie` header(s), parsed on demand as Envoy's
    /// `Http::Utility::parseCookieValue`: pairs split on `;`, leading spaces
    /// trimmed, first `=` splits key and value, surrounding quotes removed.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| &**n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .find_map(|pair| {
                let (k, v) = pair.trim_start_matches(' ').split_once('=')?;
                if k != name {
                    return None;
                }
                Some(
                    v.strip_prefix('"')
                        .and_then(|x| x.strip_suffix('"'))
                        .unwrap_or(v),
                )
            })
    }

    /// Set (overwrite-or-add) a header; `host`/`:authority` set the authority.
    pub fn set_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        if name == "host" || name == ":authority" {
            self.authority = Arc::from(value);
            return;
        }
        let hs = Arc::make_mut(&mut self.headers);
        hs.retain(|(n, _)| **n != *name);
        hs.push((Arc::from(name), Arc::from(value)));
    }

    /// Append a header value (append-if-exists-or-add).
    pub fn add_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        if name == "host" || name == ":authority" {
            self.authority = Arc::from(value);
            return;
        }
        Arc::make_mut(&mut self.headers).push((Arc::from(name), Arc::from(value)));
    }

    /// Remove every value of a header.
    pub fn remove_header(&mut self, name: &str) {
        if self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Arc::make_mut(&mut self.headers).retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_query_and_params() {
        let r = Request::get("reviews:9080", "/a/b?x=1&flag&y=2&x=3#frag");
        assert_eq!(r.path(), "/a/b");
        assert_eq!(r.query(), Some("x=1&flag&y=2&x=3"));
        assert_eq!(r.query_param("x"), Some("1"));
        assert_eq!(r.query_param("flag"), Some(""));
        assert_eq!(r.query_param("y"), Some("2"));
        assert_eq!(r.query_param("z"), None);
        let plain = Request::get("h", "/p");
        assert_eq!(plain.path(), "/p");
        assert_eq!(plain.query(), None);
        assert_eq!(plain.query_param("x"), None);
    }

    #[test]
    fn headers_pseudo_and_cookies() {
        let r = Request::get("bookinfo.app", "/productpage")
            .with_header("End-User", "jason")
            .with_header("cookie", "session=abc; user=dev-123")
            .with_header("cookie", "q=\"quoted\"")
            .with_header("x-multi", "a")
            .with_header("x-multi", "b");
        assert_eq!(r.header("end-user"), Some("jason"));
        assert_eq!(r.header("End-User"), Some("jason"));
        assert_eq!(r.header("HOST"), Some("bookinfo.app"));
        assert_eq!(r.header(":authority"), Some("bookinfo.app"));
        assert_eq!(r.header("host"), Some("bookinfo.app"));
        assert_eq!(r.header(":method"), Some("GET"));
        assert_eq!(r.header(":path"), Some("/productpage"));
        assert_eq!(r.cookie("user"), Some("dev-123"));
        assert_eq!(r.cookie("session"), Some("abc"));
        assert_eq!(r.cookie("q"), Some("quoted"));
        assert_eq!(r.cookie("missing"), None);
        assert_eq!(r.header_joined("x-multi").as_deref(), Some("a,b"));
        assert_eq!(r.header_joined("end-user").as_deref(), Some("jason"));
        assert_eq!(r.header_joined("nope"), None);
    }

    #[test]
    fn clone_shares_and_mutation_copies() {
        let a = Request::get("h", "/").with_header("x", "1");
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.headers, &b.headers));
        b.set_header("x", "2");
        b.add_header("y", "3");
        assert_eq!(a.header("x"), Some("1"));
        assert_eq!(b.header("x"), Some("2"));
        assert_eq!(b.header("y"), Some("3"));
        b.remove_header("X");
        assert_eq!(b.header("x"), None);
        b.set_header("Host", "other");
        assert_eq!(&*b.authority, "other");
        assert_eq!(&*a.authority, "h");
    }
}
