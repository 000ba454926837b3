//! Typed reads from a located YAML tree, collecting every problem.
//!
//! Each accessor takes a [`V`] (a node plus its YAML path) and either returns the
//! value or records a located diagnostic and returns `None`, so one pass over an
//! object reports all its mistakes instead of the first.

use super::diag::{Diagnostic, Diagnostics, Origin, Severity};
use super::raw::{Loc, Node, Value};
use crate::engine::SimDuration;
use crate::engine::time::parse_duration;
use std::collections::BTreeMap;

/// A node and the YAML path that reached it.
#[derive(Clone, Debug)]
pub struct V<'a> {
    pub node: &'a Node,
    pub path: String,
}

impl<'a> V<'a> {
    pub fn root(node: &'a Node, path: impl Into<String>) -> Self {
        V {
            node,
            path: path.into(),
        }
    }
    fn child_path(&self, key: &str) -> String {
        // A key that is not plain text is quoted, so a path stays one line.
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || "-_/@:+~$".contains(c));
        match (self.path.is_empty(), plain) {
            (true, true) => key.to_string(),
            (false, true) => format!("{}.{}", self.path, key),
            (_, false) => format!("{}[{key:?}]", self.path),
        }
    }
    /// The value at `key` if this is a mapping that has it and it is not null.
    pub fn get(&self, key: &str) -> Option<V<'a>> {
        match &self.node.value {
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| k == key)
                .filter(|(_, n)| n.value != Value::Null)
                .map(|(k, n)| V {
                    node: n,
                    path: self.child_path(k),
                }),
            _ => None,
        }
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Where an error about this value points: the value itself for a scalar,
    /// the key that names it for a mapping or list (see [`Node::anchor`]).
    pub fn loc(&self) -> Loc {
        self.node.anchor()
    }
    pub fn as_str(&self) -> Option<&'a str> {
        match &self.node.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_map(&self) -> bool {
        matches!(self.node.value, Value::Map(_))
    }
}

/// Diagnostics sink for one object.
pub struct Cx<'d> {
    pub origin: Origin,
    pub diags: &'d mut Diagnostics,
}

impl<'d> Cx<'d> {
    pub fn new(origin: Origin, diags: &'d mut Diagnostics) -> Self {
        Cx { origin, diags }
    }

    pub fn error_at(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Error,
            origin: self.origin.clone(),
            loc,
            path: path.to_string(),
            message: message.into(),
        });
    }
    pub fn warn_at(&mut self, loc: Loc, path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            origin: self.origin.clone(),
            loc,
            path: path.to_string(),
            message: message.into(),
        });
    }
    /// A note: reported, never an error (not even with `--strict`).
    pub fn note(&mut self, v: &V, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity: Severity::Note,
            origin: self.origin.clone(),
            loc: v.loc(),
            path: v.path.clone(),
            message: message.into(),
        });
    }
    pub fn error(&mut self, v: &V, message: impl Into<String>) {
        self.error_at(v.loc(), &v.path.clone(), message);
    }
    pub fn warn(&mut self, v: &V, message: impl Into<String>) {
        self.warn_at(v.loc(), &v.path.clone(), message);
    }

    fn type_error(&mut self, v: &V, want: &str) {
        let got = &v.node.value;
        let shown = match got {
            Value::Seq(_) | Value::Map(_) | Value::Null => got.type_name().to_string(),
            Value::Str(s) => super::diag::shorten(s),
            other => format!("{other}"),
        };
        let hint = match got {
            // kubectl reads YAML 1.1, where these unquoted words are booleans.
            Value::Bool(b) if want.contains("string") => format!(
                ": an unquoted {} is a YAML 1.1 boolean (as kubectl reads it); quote the value to keep it a string",
                if *b {
                    "y, yes, on or true"
                } else {
                    "n, no, off or false"
                }
            ),
            Value::Float(x) if x.is_nan() => " (not a number)".into(),
            Value::Float(x) if x.is_infinite() => {
                " (infinite: a literal beyond ±1.8e308, such as 1e400, reads as .inf)".into()
            }
            _ => String::new(),
        };
        self.error(v, format!("{shown}, expected {want}{hint}"));
    }

    /// A required child: records "missing required field" at the parent.
    pub fn req<'a>(&mut self, parent: &V<'a>, key: &str) -> Option<V<'a>> {
        let r = parent.get(key);
        if r.is_none() {
            let p = parent.child_path(key);
            // Written but empty (`spec:` with nothing under it): point at it.
            let empty = match &parent.node.value {
                Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, n)| n),
                _ => None,
            };
            match empty {
                Some(n) => {
                    let at = if n.key.line > 0 { n.key } else { n.loc };
                    self.error_at(at, &p, "missing required field (empty)");
                }
                None => self.error_at(parent.loc(), &p, "missing required field"),
            }
        }
        r
    }

    /// For meshsim's own kinds: any key not in `known` is an error (a typo must
    /// not silently change a scenario).
    pub fn known_fields(&mut self, v: &V, known: &[&str]) {
        if let Value::Map(m) = &v.node.value {
            for (k, n) in m {
                if !known.contains(&k.as_str()) {
                    let hint = closest(k, known)
                        .map(|c| format!(" (did you mean {c:?}?)"))
                        .unwrap_or_default();
                    let at = if n.key.line > 0 { n.key } else { n.loc };
                    self.error_at(
                        at,
                        &v.child_path(k),
                        format!("unknown field{hint}; known fields: {}", known.join(", ")),
                    );
                }
            }
        }
    }

    pub fn map<'a>(&mut self, v: &V<'a>) -> Option<Vec<(String, V<'a>)>> {
        match &v.node.value {
            Value::Map(m) => Some(
                m.iter()
                    .map(|(k, n)| {
                        (
                            k.clone(),
                            V {
                                node: n,
                                path: v.child_path(k),
                            },
                        )
                    })
                    .collect(),
            ),
            _ => {
                self.type_error(v, "a mapping");
                None
            }
        }
    }

    pub fn seq<'a>(&mut self, v: &V<'a>) -> Option<Vec<V<'a>>> {
        match &v.node.value {
            Value::Seq(s) => Some(
                s.iter()
                    .enumerate()
                    .map(|(i, n)| V {
                        node: n,
                        path: format!("{}[{i}]", v.path),
                    })
                    .collect(),
            ),
            _ => {
                self.type_error(v, "a list");
                None
            }
        }
    }

    pub fn str<'a>(&mut self, v: &V<'a>) -> Option<&'a str> {
        match &v.node.value {
            Value::Str(s) => Some(s.as_str()),
            _ => {
                self.type_error(v, "a string");
                None
            }
        }
    }

    /// A string, or a scalar rendered as one (Kubernetes label values like `1`).
    pub fn scalar_string(&mut self, v: &V) -> Option<String> {
        match &v.node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Float(x) => Some(x.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.type_error(v, "a string");
                None
            }
        }
    }

    pub fn bool(&mut self, v: &V) -> Option<bool> {
        match v.node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.type_error(v, "true or false");
                None
            }
        }
    }

    pub fn int(&mut self, v: &V) -> Option<i64> {
        match v.node.value {
            Value::Int(i) => Some(i),
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x as i64),
            Value::UInt(u) => {
                self.error(v, format!("{u}, must be ≤ {}", i64::MAX));
                None
            }
            _ => {
                self.type_error(v, "an integer");
                None
            }
        }
    }

    /// A whole number in `0..=u64::MAX`, read exactly (seeds).
    pub fn u64(&mut self, v: &V) -> Option<u64> {
        match v.node.value {
            Value::UInt(u) => Some(u),
            Value::Int(i) if i >= 0 => Some(i as u64),
            Value::Int(i) => {
                self.error(v, format!("{i}, must be ≥ 0"));
                None
            }
            _ => {
                self.type_error(v, "a whole number from 0 to 18446744073709551615");
                None
            }
        }
    }

    /// An integer in `lo..=hi`.
    pub fn int_in(&mut self, v: &V, lo: i64, hi: i64) -> Option<i64> {
        let i = self.int(v)?;
        if i < lo || i > hi {
            // A bound near i32::MAX is "no bound" to a reader: name only the other.
            let msg = if hi >= i32::MAX as i64 && i < lo {
                format!("{i}, must be ≥ {lo}")
            } else if hi >= i32::MAX as i64 {
                format!("{i}, must be ≤ {hi}")
            } else {
                format!("{i}, must be in {lo}..={hi}")
            };
            self.error(v, msg);
            None
        } else {
            Some(i)
        }
    }

    pub fn number(&mut self, v: &V) -> Option<f64> {
        match v.node.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) if x.is_finite() => Some(x),
            _ => {
                self.type_error(v, "a number");
                None
            }
        }
    }

    /// A finite number > 0.
    pub fn positive(&mut self, v: &V) -> Option<f64> {
        let x = self.number(v)?;
        if x > 0.0 {
            Some(x)
        } else {
            self.error(v, format!("{x}, must be > 0"));
            None
        }
    }

    /// A probability in [0, 1].
    pub fn probability(&mut self, v: &V) -> Option<f64> {
        let x = self.number(v)?;
        if (0.0..=1.0).contains(&x) {
            Some(x)
        } else {
            self.error(v, format!("{x}, must be in [0, 1]"));
            None
        }
    }

    /// A Go/Istio duration string (`90s`, `1m30s`, `250ms`).
    pub fn duration(&mut self, v: &V) -> Option<SimDuration> {
        match &v.node.value {
            Value::Str(s) if s.starts_with('-') && parse_duration(&s[1..]).is_ok() => {
                self.error(v, format!("{s}, must be ≥ 0"));
                None
            }
            Value::Str(s) => match parse_duration(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(v, e);
                    None
                }
            },
            Value::Int(0) => Some(SimDuration::ZERO),
            Value::Int(i) if *i < 0 => {
                self.error(
                    v,
                    format!("{i}, must be ≥ 0 (and written with a unit, e.g. 10s)"),
                );
                None
            }
            _ => {
                self.type_error(v, "a duration such as 10s, 1m30s or 250ms");
                None
            }
        }
    }

    /// One of a fixed set of spellings (enum-like fields). An unknown spelling is
    /// an error listing the accepted ones; `None` then (and for a non-string).
    pub fn one_of<T: Copy>(&mut self, v: &V, choices: &[(&str, T)]) -> Option<T> {
        let s = self.str(v)?;
        if let Some((_, t)) = choices.iter().find(|(name, _)| *name == s) {
            return Some(*t);
        }
        let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
        let allowed = match names.as_slice() {
            [a, b] => format!("{a} or {b}"),
            _ => format!("one of {}", names.join(", ")),
        };
        self.error(v, format!("{s:?}, must be {allowed}"));
        None
    }

    /// A duration > 0.
    pub fn positive_duration(&mut self, v: &V) -> Option<SimDuration> {
        let d = self.duration(v)?;
        if d == SimDuration::ZERO {
            self.error(v, "0s, must be > 0");
            None
        } else {
            Some(d)
        }
    }

    /// A map of string to string (labels, selectors, headers).
    pub fn string_map(&mut self, v: &V) -> Option<BTreeMap<String, String>> {
        let entries = self.map(v)?;
        let mut out = BTreeMap::new();
        for (k, val) in entries {
            if let Some(s) = self.scalar_string(&val) {
                out.insert(k, s);
            }
        }
        Some(out)
    }

    /// A port number 1..=65535.
    pub fn port(&mut self, v: &V) -> Option<u16> {
        self.int_in(v, 1, 65535).map(|p| p as u16)
    }
}

/// The closest known name by edit distance (≤ 2), for "did you mean" hints.
fn closest<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (levenshtein(&word.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Edit distance in characters (also `answers::check`'s "did you mean").
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
