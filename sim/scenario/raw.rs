//! The one module that touches the YAML crate.
//!
//! YAML (and JSON, its subset) is read into [`Node`]s: an untyped tree in which
//! every value carries the line and column it came from, so that every later
//! validation error can point at the user's text. The crate behind it is
//! `serde-saphyr` (YAML 1.2 parser with kubectl-compatible YAML 1.1 booleans, no `unsafe`, maintained, line/column on every value
//! through `Spanned`, input budgets against billion-laughs style documents);
//! `serde_yaml` is archived (RUSTSEC-2024-0320). Swapping the crate means
//! rewriting this file only.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
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

struct ValueVisitor;

fn loc_of(l: &serde_saphyr::Location) -> Loc {
    Loc {
        line: l.line().min(u32::MAX as u64) as u32,
        col: l.column().min(u32::MAX as u64) as u32,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            loc: loc_of(&s.referenced),
            key: Loc::default(),
            value: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

fn key_string(v: Value) -> String {
    match v {
        Value::Str(s) => s,
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::UInt(v)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Value::Int(i),
            (_, Ok(u)) => Value::UInt(u),
            _ => Value::Float(v as f64),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Value::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = a.next_key::<Spanned<Value>>()? {
            let mut n: Node = a.next_value()?;
            n.key = loc_of(&k.referenced);
            v.push((key_string(k.value), n));
        }
        Ok(Value::Map(v))
    }
}

/// Parses every document of `text`. Empty documents are skipped but still
/// counted, so `Document::index` is the number a reader counts in the file.
/// Stops at the first syntax error; see [`parse_file`] to keep going.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let markers = DocumentMarkers::scan(text);
    parse_chunk(text, 0, &markers)
}

/// Documents one file may hold. Real inputs stay far below (the largest file
/// of the corpus has a few hundred; a rendered Helm chart a few thousand); the
/// limit only keeps a generated file from exhausting memory.
pub const MAX_DOCUMENTS: usize = 100_000;
/// YAML values (mappings, lists, scalars) one file may hold: about 10 per
/// document at the document limit, and far beyond any manifest.
pub const MAX_NODES: usize = 1_000_000;
/// Syntax errors listed per file; the rest are counted in one last error.
pub const MAX_ERRORS_PER_FILE: usize = 20;

/// Everything readable in a file: its documents, and one error per document
/// that is not well-formed YAML. When the file as a whole does not parse, each
/// document (text between `---` lines, or after a `...` end marker) is parsed
/// on its own, so a syntax error in one document does not hide the problems of
/// the others. At most [`MAX_ERRORS_PER_FILE`] errors are listed; one more
/// error then says how many were left out. Time is linear in the file's size.
pub fn parse_file(text: &str) -> (Vec<Document>, Vec<SyntaxError>) {
    let markers = DocumentMarkers::scan(text);
    if markers.lines.len() > MAX_DOCUMENTS {
        let line = markers.lines[MAX_DOCUMENTS];
        return (
            Vec::new(),
            vec![SyntaxError {
                loc: Loc { line, col: 1 },
                document: markers.document_at(line),
                object: None,
                message: format!(
                    "the file has {} documents; meshsim reads at most {} per file (split it into several files)",
                    super::words::plain(
                        (markers.lines.len() + usize::from(markers.implicit_first)) as u64
                    ),
                    super::words::plain(MAX_DOCUMENTS as u64)
                ),
            }],
        );
    }
    let whole = match parse_chunk(text, 0, &markers) {
        Ok(docs) => return (docs, Vec::new()),
        Err(e) => e,
    };
    // Byte offsets and line numbers of each chunk: [start of its first line, next start).
    let mut starts: Vec<(usize, u32)> = Vec::with_capacity(markers.lines.len() + 1);
    let mut offset = 0usize;
    let mut next = markers.lines.iter().peekable();
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if next.next_if(|&&m| m == i as u32 + 1).is_some() {
            starts.push((offset, i as u32));
        }
        offset += l.len();
    }
    if starts.first().map(|s| s.0) != Some(0) {
        starts.insert(0, (0, 0));
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut left_out = 0usize;
    for (k, &(from, line0)) in starts.iter().enumerate() {
        let to = starts.get(k + 1).map(|s| s.0).unwrap_or(text.len());
        let chunk = &text[from..to];
        match parse_chunk(chunk, line0, &markers) {
            Ok(d) => docs.extend(d),
            Err(mut e) if errors.len() < MAX_ERRORS_PER_FILE => {
                e.object = object_name_guess(chunk);
                errors.push(e);
            }
            Err(e) => {
                if left_out == 0 {
                    // Located at the first error left out.
                    errors.push(e);
                }
                left_out += 1;
            }
        }
    }
    if left_out > 0 {
        let e = errors.last_mut().expect("pushed above");
        e.object = None;
        e.message = format!(
            "… and {left_out} more syntax errors in this file (the first {MAX_ERRORS_PER_FILE} are listed; this is the next)"
        );
    }
    if errors.is_empty() {
        // Each document parses alone but the file does not: report the file's error.
        let mut whole = whole;
        let doc_text = markers
            .document_span(whole.document)
            .map(|(a, b)| line_range(text, a, b))
            .unwrap_or("");
        whole.object = object_name_guess(doc_text);
        errors.push(whole);
        docs.clear();
    }
    (docs, errors)
}

/// The text of lines `from..to` (1-based, `to` exclusive; `u32::MAX` = to the end).
fn line_range(text: &str, from: u32, to: u32) -> &str {
    let mut start = None;
    let mut end = text.len();
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let n = i as u32 + 1;
        if n == from {
            start = Some(offset);
        }
        if n == to {
            end = offset;
            break;
        }
        offset += l.len();
    }
    start.map_or("", |s| &text[s..end.max(s)])
}

/// Parses `text`, a part of a file that starts `line0` lines into it.
fn parse_chunk(
    text: &str,
    line0: u32,
    markers: &DocumentMarkers,
) -> Result<Vec<Document>, SyntaxError> {
    // Aliases may expand to at most 20 000 events: plenty for a manifest (the
    // corpus has no alias at all),
    // and a "billion laughs" document stops early and cheaply.
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = 20_000;
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    let options = serde_saphyr::options! {
        with_snippet: false,
        // `.nan`, `.inf` and overflowing literals (`1e400`) reach the
        // decoders, which reject them where a number is read, naming the
        // object and the field (a parser error could name neither).
        non_finite_float_policy: serde_saphyr::options::NonFiniteFloatPolicy::PassThrough,
        alias_limits: aliases,
        budget: Some(budget),
    };
    let nodes: Vec<Option<Node>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| {
            let (line, col) = e
                .location()
                .map(|l| {
                    (
                        l.line().min(u32::MAX as u64) as u32,
                        l.column().min(u32::MAX as u64) as u32,
                    )
                })
                .unwrap_or((0, 0));
            let line = if line > 0 {
                line.saturating_add(line0)
            } else {
                0
            };
            let msg = e.to_string();
            // serde-saphyr appends its own " at line X column Y"; keep our prefix only.
            let message = user_message(msg.split(" at line ").next().unwrap_or(&msg));
            let document = if line > 0 {
                markers.document_at(line)
            } else {
                markers.document_at(line0 + 1)
            };
            SyntaxError {
                loc: Loc { line, col },
                document,
                object: None,
                message,
            }
        })?;
    Ok(nodes
        .into_iter()
        .flatten()
        .filter(|n| n.value != Value::Null)
        .map(|mut root| {
            if line0 > 0 {
                shift_lines(&mut root, line0);
            }
            Document {
                index: markers.document_at(root.loc.line),
                root,
            }
        })
        .collect())
}

/// The parser's message without advice addressed to a programmer using the crate.
fn user_message(m: &str) -> String {
    let m = m.trim();
    let m = m.split(", set DuplicateKeyPolicy").next().unwrap_or(m);
    let m = m
        .split("If you just use !!binary")
        .next()
        .unwrap_or(m)
        .trim();
    let Some(what) = m.strip_prefix("budget breached") else {
        return m.to_string();
    };
    let why = if what.contains("Documents") {
        format!("more than {MAX_DOCUMENTS} documents in one file")
    } else if what.contains("Nodes") {
        format!("more than {MAX_NODES} values in one file")
    } else if what.contains("Events") {
        format!("more than {} YAML events in one file", 4 * MAX_NODES)
    } else if what.contains("Depth") {
        "nested more than 64 levels deep".to_string()
    } else if what.contains("Alias") || what.contains("Anchor") {
        "too many aliases (`*name`) for the anchors they refer to".to_string()
    } else {
        "too large".to_string()
    };
    format!("input exceeds meshsim's YAML limits: {why} (split the file or simplify it; {m})")
}

fn shift_lines(n: &mut Node, by: u32) {
    for l in [&mut n.loc, &mut n.key] {
        if l.line > 0 {
            l.line = l.line.saturating_add(by);
        }
    }
    match &mut n.value {
        Value::Seq(items) => items.iter_mut().for_each(|c| shift_lines(c, by)),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, c)| shift_lines(c, by)),
        _ => {}
    }
}

/// `Kind namespace/name` of the document whose text is `doc`, read from its
/// plain top-level `kind:` line and `metadata:` block, for naming a document
/// that does not parse. None when either is not written that simply.
fn object_name_guess(doc: &str) -> Option<String> {
    let lines: Vec<&str> = doc.lines().filter(|l| !l.starts_with("---")).collect();
    let value = |l: &str, key: &str| -> Option<String> {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        let v = v
            .split(" #")
            .next()?
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)))
        .then(|| v.to_string())
    };
    let kind = lines.iter().find_map(|l| value(l, "kind"))?;
    let mut name = None;
    let mut namespace = None;
    let mut in_meta = false;
    for l in &lines {
        if l.starts_with("metadata:") {
            in_meta = true;
            continue;
        }
        if in_meta {
            if !l.starts_with(' ') && !l.trim().is_empty() {
                in_meta = false;
                continue;
            }
            // Direct children of metadata only (indented exactly like the first).
            let t = l.trim_start();
            let indent = l.len() - t.len();
            if indent == 2 {
                name = name.or_else(|| value(t, "name"));
                namespace = namespace.or_else(|| value(t, "namespace"));
            }
        }
    }
    let name = name?;
    Some(match kind.as_str() {
        "Namespace" | "Simulation" => format!("{kind} {name}"),
        _ => format!(
            "{kind} {}/{name}",
            namespace.unwrap_or_else(|| "default".into())
        ),
    })
}

/// Lines that start a document, to number documents the way a person counts
/// them, including the empty ones the parser drops: `---` at column 1, and the
/// first content line after a `...` end marker that is not itself `---`.
struct DocumentMarkers {
    /// 1-based line numbers of document starts, ascending.
    lines: Vec<u32>,
    /// True when content precedes the first marker (an implicit first document).
    implicit_first: bool,
}

fn is_marker(l: &str, m: &str) -> bool {
    l.strip_prefix(m).is_some_and(|r| {
        r.chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t' || c == '\r')
    })
}

impl DocumentMarkers {
    fn scan(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut content_before_first = false;
        let mut after_end = false;
        for (i, l) in text.lines().enumerate() {
            let t = l.trim();
            let content = !t.is_empty() && !t.starts_with('#') && !t.starts_with('%');
            if is_marker(l, "---") {
                lines.push(i as u32 + 1);
                after_end = false;
            } else if is_marker(l, "...") {
                after_end = true;
            } else if after_end && content {
                lines.push(i as u32 + 1);
                after_end = false;
            } else if lines.is_empty() && content {
                content_before_first = true;
            }
        }
        DocumentMarkers {
            lines,
            implicit_first: content_before_first,
        }
    }

    fn document_at(&self, line: u32) -> usize {
        let k = self.lines.partition_point(|&m| m <= line);
        if k == 0 {
            1
        } else {
            k + usize::from(self.implicit_first)
        }
    }

    /// Lines `[from, to)` of document `doc` (`to` = `u32::MAX` for the last).
    fn document_span(&self, doc: usize) -> Option<(u32, u32)> {
        if doc == 0 {
            return None;
        }
        let k = doc - usize::from(self.implicit_first);
        let from = if k == 0 { 1 } else { *self.lines.get(k - 1)? };
        let to = self.lines.get(k).copied().unwrap_or(u32::MAX);
        Some((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_document_numbers() {
        let text = "---\n---\na: 1\nb:\n  - x\n  - 2.5\n---\n# c\nkind: List\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].index, 2);
        assert_eq!(docs[1].index, 3);
        let Value::Map(m) = &docs[0].root.value else {
            panic!()
        };
        assert_eq!(m[0].0, "a");
        assert_eq!(m[0].1.value, Value::Int(1));
        assert_eq!(m[0].1.loc, Loc { line: 3, col: 4 });
        let Value::Seq(s) = &m[1].1.value else {
            panic!()
        };
        assert_eq!(s[1].value, Value::Float(2.5));
        assert_eq!(s[1].loc.line, 6);
    }

    #[test]
    fn keys_are_located() {
        let docs = parse_documents("spec:\n  selector:\n    app: web\n  n: 1\n").unwrap();
        let Value::Map(m) = &docs[0].root.value else {
            panic!()
        };
        let spec = &m[0].1;
        assert_eq!(spec.key, Loc { line: 1, col: 1 });
        // A block mapping starts at its first key; it is anchored at its own key.
        assert_eq!(spec.loc, Loc { line: 2, col: 3 });
        assert_eq!(spec.anchor(), Loc { line: 1, col: 1 });
        let Value::Map(inner) = &spec.value else {
            panic!()
        };
        assert_eq!(inner[0].1.anchor(), Loc { line: 2, col: 3 });
        // A scalar is anchored at its value.
        assert_eq!(inner[1].1.anchor(), Loc { line: 4, col: 6 });
    }

    #[test]
    fn a_broken_document_does_not_hide_the_others() {
        let text =
            "---\na: 1\n---\nkind: Service\nmetadata:\n  name: x\nb: [1\n---\n\n---\nc: {d: 2}\n";
        let (docs, errors) = parse_file(text);
        assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), vec![1, 4]);
        assert_eq!(docs[1].root.loc.line, 11);
        let Value::Map(m) = &docs[1].root.value else {
            panic!()
        };
        assert_eq!(m[0].1.key, Loc { line: 11, col: 1 });
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].document, 2);
        assert_eq!(errors[0].loc.line, 7);
        assert_eq!(errors[0].object.as_deref(), Some("Service default/x"));
    }

    #[test]
    fn many_broken_documents_list_a_bounded_number_of_errors() {
        // 20 000 broken documents: quadratic recovery would take many minutes.
        let n = 20_000;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!(
                "---\nkind: Service\nmetadata:\n  name: s{i}\nspec: [1\n"
            ));
        }
        text.push_str("---\nok: 1\n");
        let (docs, errors) = parse_file(&text);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].index, n + 1);
        assert_eq!(errors.len(), MAX_ERRORS_PER_FILE + 1);
        assert_eq!(errors[0].document, 1);
        assert_eq!(errors[0].object.as_deref(), Some("Service default/s0"));
        assert_eq!(errors[19].object.as_deref(), Some("Service default/s19"));
        let last = &errors[MAX_ERRORS_PER_FILE];
        assert_eq!(last.document, MAX_ERRORS_PER_FILE + 1);
        assert!(
            last.message
                .starts_with(&format!("… and {} more syntax errors", n - 20)),
            "{last:?}"
        );
    }

    #[test]
    fn document_limit_is_explained() {
        let ok = "---\na: 1\n".repeat(MAX_DOCUMENTS);
        let (docs, errors) = parse_file(&ok);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), MAX_DOCUMENTS);
        assert_eq!(docs[MAX_DOCUMENTS - 1].index, MAX_DOCUMENTS);
        let over = format!("{ok}---\na: 1\n");
        let (docs, errors) = parse_file(&over);
        assert!(docs.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].document, MAX_DOCUMENTS + 1);
        assert_eq!(errors[0].loc.line, 2 * MAX_DOCUMENTS as u32 + 1);
        assert_eq!(
            errors[0].message,
            "the file has 100,001 documents; meshsim reads at most 100,000 per file (split it into several files)"
        );
        // A budget breach of the YAML crate is worded too.
        let deep = format!("a: {}1{}\n", "[".repeat(70), "]".repeat(70));
        let (_, errors) = parse_file(&deep);
        assert!(
            errors[0]
                .message
                .contains("nested more than 64 levels deep")
                || errors[0].message.contains("nest"),
            "{errors:?}"
        );
    }

    #[test]
    fn recovery_splits_at_document_end_markers() {
        let text = "a: [1\n...\nkind: Service\nmetadata:\n  name: x\nb: {c\n...\n# note\nd: 2\n";
        let (docs, errors) = parse_file(text);
        assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), vec![3]);
        assert_eq!(docs[0].root.loc.line, 9);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!((errors[0].document, errors[1].document), (1, 2));
        assert_eq!(errors[1].object.as_deref(), Some("Service default/x"));
        // A well-formed file with `...` numbers its documents the same way.
        let docs = parse_documents("a: 1\n...\nb: 2\n...\n---\nc: 3\n").unwrap();
        assert_eq!(
            docs.iter().map(|d| d.index).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn implicit_first_document() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn json_and_syntax_errors() {
        let docs = parse_documents("{\"kind\": \"Service\", \"n\": [1, 2]}").unwrap();
        assert_eq!(docs.len(), 1);
        let e = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.loc.line >= 1, "{e:?}");
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        // kubectl's loader (sigs.k8s.io/yaml on go-yaml) still reads YAML 1.1
        // booleans, so `yes` is true there too; quoted scalars stay strings.
        // Known divergence: the corpus's unquoted IPv6 in a flow list
        // (`[1.2.3.4, 001:db8::]`) reads as the one-pair mapping {"001:db8:": null}
        // here and in PyYAML, but as a string in Go. A ServiceEntry decoder must
        // rebuild the address from such a pair (key + ":").
        let docs =
            parse_documents("a: yes\nb: '1'\nc: 0x10\nd: ~\ne: [1.2.3.4, 001:db8::]\n").unwrap();
        let Value::Map(m) = &docs[0].root.value else {
            panic!()
        };
        assert_eq!(m[0].1.value, Value::Bool(true));
        assert_eq!(m[1].1.value, Value::Str("1".into()));
        assert_eq!(m[3].1.value, Value::Null);
        let Value::Seq(ips) = &m[4].1.value else {
            panic!()
        };
        let Value::Map(pair) = &ips[1].value else {
            panic!("{:?}", ips[1])
        };
        assert_eq!(
            (pair[0].0.as_str(), &pair[0].1.value),
            ("001:db8:", &Value::Null)
        );
    }
}
