//! A file's stream of YAML documents: the parser's limits (against generated or
//! hostile input), its messages reworded for a user, and recovery that parses
//! each document alone when the whole file does not, so one syntax error does
//! not hide the others.

use super::markers::{DocumentMarkers, object_name_guess};
use super::{Document, Loc, Node, SyntaxError, Value};
use crate::scenario::words;

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
                    words::plain(
                        (markers.lines.len() + usize::from(markers.implicit_first)) as u64
                    ),
                    words::plain(MAX_DOCUMENTS as u64)
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
