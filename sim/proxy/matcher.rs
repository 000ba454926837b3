//! String matchers as Envoy evaluates them: exact, prefix, suffix, contains
//! (optionally case-insensitive) and RE2 regex with **full-match** semantics.
//!
//! Sources: Envoy `source/common/common/matchers.h` `StringMatcherImpl`
//! (`ignore_case` applies to exact/prefix/suffix/contains, never to regex),
//! `source/common/common/regex.cc` (`CompiledGoogleReMatcher::match` is
//! `re2::RE2::FullMatch`). Istio translates VirtualService `StringMatch`
//! `exact`/`prefix`/`regex` into these (`pilot/pkg/networking/core/route/route.go`
//! `translateHeaderMatch`, `util.ConvertToEnvoyMatch`).
//!
//! A regex is compiled once, when the config is built; matching a request
//! never compiles or allocates. The `regex` crate accepts the RE2 syntax Istio
//! admits (both are linear-time engines without backreferences or lookaround).

use regex::Regex;

/// A compiled full-match regex. Compares (and debug-prints) by its pattern,
/// since `regex::Regex` is not `Eq`.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    /// `^(?:source)$`, so `is_match` is RE2 `FullMatch`.
    full: Regex,
    /// The pattern as written, for search-and-replace (`regex_rewrite`).
    partial: Regex,
}

impl Pattern {
    /// Compiles `source`; the error text is the regex crate's.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        Ok(Pattern {
            source: source.to_string(),
            full: Regex::new(&format!("^(?:{source})$"))?,
            partial: Regex::new(source)?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// RE2 `FullMatch`: the whole value must match.
    #[inline]
    pub fn full_match(&self, value: &str) -> bool {
        self.full.is_match(value)
    }

    /// The unanchored regex (for rewrites).
    pub fn regex(&self) -> &Regex {
        &self.partial
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}
impl Eq for Pattern {}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

/// Envoy `envoy.type.matcher.v3.StringMatcher`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StringMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Pattern),
}

/// A string matcher with Envoy's `ignore_case` (ignored for regex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringMatcher {
    pub pattern: StringMatch,
    pub ignore_case: bool,
}

impl StringMatcher {
    pub fn exact(s: &str) -> Self {
        Self::of(StringMatch::Exact(s.to_string()))
    }
    pub fn prefix(s: &str) -> Self {
        Self::of(StringMatch::Prefix(s.to_string()))
    }
    pub fn suffix(s: &str) -> Self {
        Self::of(StringMatch::Suffix(s.to_string()))
    }
    pub fn contains(s: &str) -> Self {
        Self::of(StringMatch::Contains(s.to_string()))
    }
    pub fn regex(s: &str) -> Result<Self, regex::Error> {
        Ok(Self::of(StringMatch::Regex(Pattern::new(s)?)))
    }
    pub fn of(pattern: StringMatch) -> Self {
        StringMatcher {
            pattern,
            ignore_case: false,
        }
    }
    pub fn ignoring_case(mut self) -> Self {
        self.ignore_case = true;
        self
    }

    /// Does `value` match? Allocation-free.
    #[inline]
    pub fn matches(&self, value: &str) -> bool {
        let ic = self.ignore_case;
        match &self.pattern {
            StringMatch::Exact(s) => {
                if ic {
                    value.eq_ignore_ascii_case(s)
                } else {
                    value == s
                }
            }
            StringMatch::Prefix(s) => starts_with(value, s, ic),
            StringMatch::Suffix(s) => {
                value.len() >= s.len()
                    && eq_bytes(&value.as_bytes()[value.len() - s.len()..], s.as_bytes(), ic)
            }
            StringMatch::Contains(s) => {
                if ic {
                    value
                        .as_bytes()
                        .windows(s.len().max(1))
                        .any(|w| w.eq_ignore_ascii_case(s.as_bytes()))
                        || s.is_empty()
                } else {
                    value.contains(s.as_str())
                }
            }
            StringMatch::Regex(p) => p.full_match(value),
        }
    }
}

#[inline]
fn eq_bytes(a: &[u8], b: &[u8], ignore_case: bool) -> bool {
    if ignore_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// `value` starts with `prefix` (ASCII case-insensitively when asked).
#[inline]
pub fn starts_with(value: &str, prefix: &str, ignore_case: bool) -> bool {
    value.len() >= prefix.len()
        && eq_bytes(
            &value.as_bytes()[..prefix.len()],
            prefix.as_bytes(),
            ignore_case,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind() {
        let re = StringMatcher::regex("v[0-9]+").unwrap();
        #[rustfmt::skip]
        let cases: &[(StringMatcher, &str, bool)] = &[
            (StringMatcher::exact("jason"), "jason", true),
            (StringMatcher::exact("jason"), "Jason", false),
            (StringMatcher::exact("jason").ignoring_case(), "JASON", true),
            (StringMatcher::exact(""), "", true),
            (StringMatcher::prefix("/foo"), "/foobar", true),
            (StringMatcher::prefix("/foo"), "/fo", false),
            (StringMatcher::prefix("/FOO").ignoring_case(), "/foo/x", true),
            (StringMatcher::suffix(".com"), "a.com", true),
            (StringMatcher::suffix(".com"), "com", false),
            (StringMatcher::suffix(".COM").ignoring_case(), "a.com", true),
            (StringMatcher::contains("ell"), "hello", true),
            (StringMatcher::contains("ELL").ignoring_case(), "hello", true),
            (StringMatcher::contains("xyz"), "hello", false),
            (StringMatcher::contains("").ignoring_case(), "", true),
            // Full match: a partial match is not enough.
            (re.clone(), "v12", true),
            (re.clone(), "v12x", false),
            (re.clone(), "xv1", false),
            // ignore_case does not apply to regex.
            (re.clone().ignoring_case(), "V1", false),
            (StringMatcher::regex("a|b").unwrap(), "ab", false),
            (StringMatcher::regex("a|b").unwrap(), "b", true),
        ];
        for (m, v, want) in cases {
            assert_eq!(m.matches(v), *want, "{m:?} on {v:?}");
        }
    }

    #[test]
    fn pattern_eq_by_source_and_bad_regex_is_an_error() {
        assert_eq!(Pattern::new("a+").unwrap(), Pattern::new("a+").unwrap());
        assert_ne!(Pattern::new("a+").unwrap(), Pattern::new("a*").unwrap());
        assert!(Pattern::new("(").is_err());
        assert_eq!(Pattern::new("x.").unwrap().as_str(), "x.");
    }
}
