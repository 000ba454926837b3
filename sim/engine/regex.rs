//! Regular expressions for routing (ingress-nginx locations, Istio
//! `StringMatch.regex`), on the `regex` crate.
//!
//! Why this engine: it runs in time linear in the input with no recursion, so
//! no path or pattern can make matching hang or overflow the stack; its syntax
//! is RE2's, the syntax Envoy (and so Istio) uses for `safe_regex`. nginx uses
//! PCRE, which also has lookaround and backreferences; RE2 cannot express them,
//! so [`Pattern::compile`] refuses them with a named error instead of matching
//! something else. Compiled programs are bounded by the crate's size limits
//! ([`SIZE_LIMIT`], [`NEST_LIMIT`]), reported as [`RegexError::TooBig`] /
//! [`RegexError::TooDeep`].
//!
//! Known difference from PCRE without its UTF mode: classes such as `\d`, `\w`
//! and case folding are Unicode-aware, and `.` matches one character rather than
//! one byte. Captures therefore always lie on character boundaries, which keeps
//! rewriting UTF-8 safe.

use regex::{Regex, RegexBuilder};
use thiserror::Error;

/// Bytes a compiled pattern may take (the crate's default is 10 MiB).
pub const SIZE_LIMIT: usize = 1 << 20;
/// Nesting depth of groups and repetitions a pattern may have.
pub const NEST_LIMIT: u32 = 100;

/// Why a pattern is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum RegexError {
    /// A PCRE construct RE2 cannot express.
    #[error(
        "{construct} at byte {offset} ({text:?}) is PCRE syntax that RE2 (the regex engine of Envoy and meshsim) does not support"
    )]
    Unsupported {
        construct: &'static str,
        text: String,
        offset: usize,
    },
    /// The compiled program would exceed [`SIZE_LIMIT`].
    #[error("the pattern compiles to more than {limit} bytes (meshsim's regex size limit)")]
    TooBig { limit: usize },
    /// Groups/repetitions nested deeper than [`NEST_LIMIT`].
    #[error("the pattern nests groups or repetitions deeper than {limit} levels")]
    TooDeep { limit: u32 },
    /// Any other syntax error, as the crate words it (one line).
    #[error("{0}")]
    Syntax(String),
}

/// How a pattern is compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub case_insensitive: bool,
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    re: Regex,
}

/// Spans of capture groups of one match (0 = the whole match), in bytes of the
/// subject, always on character boundaries.
pub type Captures = Vec<Option<(usize, usize)>>;

impl Pattern {
    /// Compiles `src`, refusing PCRE-only constructs and oversized programs.
    pub fn compile(src: &str, flags: Flags) -> Result<Pattern, RegexError> {
        if let Some(e) = pcre_only(src) {
            return Err(e);
        }
        RegexBuilder::new(src)
            .case_insensitive(flags.case_insensitive)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .nest_limit(NEST_LIMIT)
            .build()
            .map(|re| Pattern { re })
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => RegexError::TooBig { limit: SIZE_LIMIT },
                regex::Error::Syntax(s) if s.contains("maximum number of nested") => {
                    RegexError::TooDeep { limit: NEST_LIMIT }
                }
                regex::Error::Syntax(s) => RegexError::Syntax(one_line(&s)),
                other => RegexError::Syntax(one_line(&other.to_string())),
            })
    }

    /// Whether the pattern matches anywhere in `s`.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// Leftmost-first match with its capture spans.
    pub fn captures(&self, s: &str) -> Option<Captures> {
        self.re
            .captures(s)
            .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect())
    }
}

/// The crate's multi-line syntax error (pattern, caret, message) as one line.
fn one_line(s: &str) -> String {
    let msg = s
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(s);
    msg.trim().to_string()
}

/// The first PCRE-only construct in `src`: lookahead/lookbehind, or a
/// numbered backreference (`\1`…`\9`, `\g…`, `\k<…>`). Escaped characters and
/// class contents are skipped, so `\(?=` or `[(?=]` are not flagged.
fn pcre_only(src: &str) -> Option<RegexError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    let found = |construct: &'static str, offset: usize, len: usize| {
        let end = (offset + len).min(src.len());
        let text = src.get(offset..end).unwrap_or("").to_string();
        Some(RegexError::Unsupported {
            construct,
            text,
            offset,
        })
    };
    while i < b.len() {
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'1'..=b'9') => return found("a backreference", i, 2),
                    Some(b'g') | Some(b'k') if !in_class => {
                        return found("a backreference", i, 3);
                    }
                    _ => {}
                }
                i += 2;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                // `]` right after `[` or `[^` is a literal.
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                continue;
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let rest = &b[i..];
                if rest.starts_with(b"(?=") {
                    return found("a lookahead", i, 3);
                }
                if rest.starts_with(b"(?!") {
                    return found("a negative lookahead", i, 3);
                }
                if rest.starts_with(b"(?<=") {
                    return found("a lookbehind", i, 4);
                }
                if rest.starts_with(b"(?<!") {
                    return found("a negative lookbehind", i, 4);
                }
                if rest.starts_with(b"(?>") {
                    return found("an atomic group", i, 3);
                }
            }
            b'*' | b'+' | b'?' if !in_class && b.get(i + 1) == Some(&b'+') => {
                return found("a possessive quantifier", i, 2);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(p: &str) -> Result<Pattern, RegexError> {
        Pattern::compile(
            p,
            Flags {
                case_insensitive: true,
            },
        )
    }

    #[test]
    fn matches_and_captures() {
        let re = ci("/something(/|$)(.*)").unwrap();
        let c = re.captures("/something/new").unwrap();
        assert_eq!(c[2], Some((11, 14)));
        assert!(ci("^/API").unwrap().is_match("/api/x"));
        assert!(ci("^/v[0-9]+/x").unwrap().is_match("/v12/x"));
        assert!(!ci("^/v[0-9]+/x").unwrap().is_match("/v/x"));
        assert!(ci("^/ÄPFEL").unwrap().is_match("/äpfel"));
    }

    #[test]
    fn pcre_only_constructs_are_named() {
        for (p, construct, offset) in [
            ("/a(?=b)", "a lookahead", 2),
            ("/a(?!b)", "a negative lookahead", 2),
            ("(?<=x)/a", "a lookbehind", 0),
            ("(?<!x)/a", "a negative lookbehind", 0),
            ("/(a)\\1", "a backreference", 4),
            ("/(?>a)", "an atomic group", 1),
            ("/a++", "a possessive quantifier", 2),
        ] {
            match ci(p) {
                Err(RegexError::Unsupported {
                    construct: c,
                    offset: o,
                    ..
                }) => assert_eq!((c, o), (construct, offset), "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
        // Escaped or inside a class they are plain characters; named groups are RE2.
        assert!(ci("/a\\(?=b").is_ok());
        assert!(ci("/[(?=]").is_ok());
        assert!(ci("/(?<name>x)").is_ok());
        assert!(ci("/(?P<name>x)").is_ok());
    }

    #[test]
    fn limits_and_syntax_errors_are_typed() {
        let deep = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(
            ci(&deep).unwrap_err(),
            RegexError::TooDeep { limit: NEST_LIMIT }
        );
        let big = "(\\w{100}){100}".to_string();
        assert_eq!(
            ci(&big).unwrap_err(),
            RegexError::TooBig { limit: SIZE_LIMIT }
        );
        let e = ci("(").unwrap_err();
        assert!(
            matches!(&e, RegexError::Syntax(m) if !m.contains('\n')),
            "{e:?}"
        );
        assert!(ci("*a").is_err());
    }

    #[test]
    fn matching_is_linear() {
        // Exponential for a backtracking engine.
        let re = ci("^/(a+)+$").unwrap();
        let s = format!("/{}!", "a".repeat(40));
        assert!(!re.is_match(&s));
        let long = format!("/{}", "a".repeat(1 << 20));
        assert!(re.is_match(&long));
    }
}
