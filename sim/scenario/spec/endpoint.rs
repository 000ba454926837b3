//! Per-endpoint behaviour: a Workload's rules that pick a script by the
//! request's method and path (first matching rule in listed order wins;
//! requests no rule matches run the Workload's default script).
//!
//! Why rules and not one script with probabilities: one Deployment serves
//! operations that cost differently (Bookinfo's productpage renders
//! `/productpage` from three calls but answers `/api/v1/products` alone), and
//! the report must show which operation is slow, keyed by the rule's name.

use super::Step;

/// How a rule matches the request path (the query string is ignored, as
/// Envoy's path matchers do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// Any path.
    Any,
    Exact(String),
    /// A string prefix (`/api/` matches `/api/v1/products`).
    Prefix(String),
}

/// One endpoint rule of a Workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// Given or derived (`GET /productpage`, `/api/*`); unique per Workload,
    /// never `default` (the bucket of requests no rule matched).
    pub name: String,
    /// None = any method.
    pub method: Option<String>,
    pub path: PathMatch,
    pub script: Vec<Step>,
}

/// The report key of requests that matched no rule.
pub const DEFAULT_ENDPOINT: &str = "default";

impl Endpoint {
    pub fn matches(&self, method: &str, path_and_query: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(p, _)| p);
        match &self.path {
            PathMatch::Any => true,
            PathMatch::Exact(p) => p == path,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

/// The index (1-based; 0 = default script) of the first rule matching.
pub fn select(rules: &[Endpoint], method: &str, path_and_query: &str) -> usize {
    rules
        .iter()
        .position(|r| r.matches(method, path_and_query))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, method: Option<&str>, path: PathMatch) -> Endpoint {
        Endpoint {
            name: name.into(),
            method: method.map(str::to_string),
            path,
            script: Vec::new(),
        }
    }

    #[test]
    fn first_matching_rule_wins_and_query_is_ignored() {
        let rules = [
            rule("page", None, PathMatch::Exact("/productpage".into())),
            rule("post-api", Some("POST"), PathMatch::Prefix("/api/".into())),
            rule("api", None, PathMatch::Prefix("/api/".into())),
        ];
        assert_eq!(select(&rules, "GET", "/productpage?u=1"), 1);
        assert_eq!(select(&rules, "GET", "/productpage/x"), 0);
        assert_eq!(select(&rules, "POST", "/api/v1/products"), 2);
        assert_eq!(select(&rules, "GET", "/api/v1/products"), 3);
        assert_eq!(select(&rules, "GET", "/"), 0);
    }
}
