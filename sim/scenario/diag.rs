//! Located problems in a scenario: errors (the scenario is rejected, nothing is
//! simulated or written) and warnings (accepted, simulated faithfully, reported).
//!
//! Rendered as `file:line:col: document N (Kind namespace/name): path: message`,
//! the shape compilers use, so editors and CI annotate the right line.

use super::raw::Loc;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    /// Information that never becomes an error, not even with `--strict`
    /// (e.g. weights not summing to 100, which Istio accepts by design).
    Note,
}

/// Which object of which document a problem is in.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: String,
    /// 1-based document number in the file (0 = the file as a whole).
    pub document: usize,
    /// `Kind namespace/name` when known.
    pub object: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    pub origin: Origin,
    pub loc: Loc,
    /// YAML path inside the object: `spec.http[0].route[1].weight` (empty = whole object).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin.file)?;
        if self.loc.line > 0 {
            write!(f, ":{}:{}", self.loc.line, self.loc.col)?;
        }
        write!(f, ": ")?;
        match self.severity {
            Severity::Warning => write!(f, "warning: ")?,
            Severity::Note => write!(f, "note: ")?,
            Severity::Error => {}
        }
        if self.origin.document > 0 {
            write!(f, "document {}", self.origin.document)?;
            if let Some(o) = &self.origin.object {
                write!(f, " ({})", clip(o, 120))?;
            }
            write!(f, ": ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", one_line(&self.path))?;
        }
        write!(f, "{}", clip(&one_line(&self.message), 1000))
    }
}

/// `s` quoted, shortened to its first 80 characters when longer, with its
/// size: a 1 MB name in an error message is `"aaaa…"… (1000000 bytes)`.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &s[..end], s.len()),
    }
}

/// `s` unquoted, cut after `max` characters with its size (for object names
/// and whole messages, the last resort against an input echoed in full).
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()).into(),
    }
}

pub use super::words::plain;

/// `s` with control characters escaped (`\n`, `\t`, `\u{1b}`), so that a name
/// or value copied from the input cannot break a diagnostic over lines.
fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// All problems found while loading; loading never stops at the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity != Severity::Error)
    }
    /// `--strict`: every warning (what Istio accepts and then fails at run
    /// time) becomes an error; notes stay notes.
    pub fn promote_warnings(&mut self) {
        for d in &mut self.items {
            if d.severity == Severity::Warning {
                d.severity = Severity::Error;
                d.message.push_str(" (an error with --strict)");
            }
        }
    }
    /// Stable order: by file, line, column, then message.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (
                &a.origin.file,
                a.loc,
                a.origin.document,
                &a.path,
                &a.message,
            )
                .cmp(&(
                    &b.origin.file,
                    b.loc,
                    b.origin.document,
                    &b.path,
                    &b.message,
                ))
        });
        self.items.dedup();
    }
}

/// The scenario was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("{}", render(.0))]
    Invalid(Diagnostics),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A path (given, or found in a directory walk) that is not a regular file
    /// or directory: reading a FIFO or device could block forever.
    #[error(
        "{path}: is {kind}, not a regular file; meshsim reads only regular files and directories"
    )]
    NotAFile { path: String, kind: &'static str },
}

fn render(d: &Diagnostics) -> String {
    let n = d.errors().count();
    let mut s = String::new();
    for e in d.items.iter() {
        s.push_str(&e.to_string());
        s.push('\n');
    }
    s.push_str(&format!("{n} error{} found", if n == 1 { "" } else { "s" }));
    s
}

#[cfg(test)]
mod shortening_tests {
    use super::*;

    #[test]
    fn counts_and_long_strings_read_plainly() {
        assert_eq!(plain(0), "0");
        assert_eq!(plain(999), "999");
        assert_eq!(plain(1_000), "1,000");
        assert_eq!(plain(360_000_000), "360,000,000");
        assert_eq!(shorten("abc"), "\"abc\"");
        let long = "é".repeat(100);
        assert_eq!(shorten(&long), format!("{:?}… (200 bytes)", "é".repeat(80)));
        assert_eq!(clip(&long, 3), "ééé… (200 bytes)");
    }
}
