//! The one module that touches the YAML crate.
//!
//! YAML (and JSON, its subset) is read into [`Node`]s: an untyped tree in which
//! every value carries the line and column it came from, so that every later
//! validation error can point at the user's text. The crate behind it is
//! `serde-saphyr` (YAML 1.2 parser with kubectl-compatible YAML 1.1 booleans, no `unsafe`, maintained, line/column on every value
//! through `Spanned`, input budgets against billion-laughs style documents);
//! `serde_yaml` is archived (RUSTSEC-2024-0320). Swapping the crate means
//! rewriting this module only.
//!
//! Split by the YAML spec's own steps: `compose` builds the node tree from
//! the parser's events (the serde side), `stream` reads a file's stream of
//! documents with its limits and per-document recovery, and `markers`
//! numbers documents as a reader counts them (`---`, `...`), which the parser
//! does not report.

mod compose;
mod markers;
mod stream;
#[cfg(test)]
mod tests;

pub use stream::{MAX_DOCUMENTS, MAX_ERRORS_PER_FILE, MAX_NODES, parse_documents, parse_file};

use std::fmt;

/// 1-based line and column in the source file (0 = unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

/// A YAML value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    /// Where the value starts. For a block mapping or list that is its first
    /// key or `-`, on the line after its own key.
    pub loc: Loc,
    /// Where the key of this value is, when the value is in a mapping (else
    /// unknown). Errors about a whole mapping or list, and "missing required
    /// field" errors about its children, point here: at the line the user named it.
    pub key: Loc,
}

impl Node {
    /// The best place to point at for an error about this node as a whole:
    /// its key for a mapping or list (the line that names it), else the value.
    pub fn anchor(&self) -> Loc {
        match self.value {
            Value::Map(_) | Value::Seq(_) if self.key.line > 0 => self.key,
            _ => self.loc,
        }
    }
}

/// YAML 1.2 core-schema values. Mapping keys are kept as strings in file order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (read exactly, for `u64` fields such as seeds).
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl fmt::Display for Value {
    /// The value as a user would recognise it in an error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            // YAML's spellings, not Rust's `NaN` / `inf`.
            Value::Float(x) if x.is_nan() => write!(f, ".nan"),
            Value::Float(x) if x.is_infinite() => {
                write!(f, "{}.inf", if *x < 0.0 { "-" } else { "" })
            }
            // A whole number too large for an integer: Rust would print it
            // rounded to 17 digits as if exact (18446744073709552000).
            Value::Float(x) if x.fract() == 0.0 && x.abs() >= 9.0e15 => {
                write!(f, "{x:.4e} (a whole number too large to read exactly)")
            }
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Seq(_) => write!(f, "[…]"),
            Value::Map(_) => write!(f, "{{…}}"),
        }
    }
}

/// One YAML document of a file.
#[derive(Clone, Debug)]
pub struct Document {
    /// 1-based position of the document in its file, counting empty documents.
    pub index: usize,
    pub root: Node,
}

/// The file is not well-formed YAML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub loc: Loc,
    /// 1-based document the error is in (0 = unknown).
    pub document: usize,
    /// `Kind namespace/name` of that document, when a plain reading of its
    /// top-level `kind:` and `metadata.name` lines finds them.
    pub object: Option<String>,
    pub message: String,
}
