//! Document markers (`---`, `...`) read from the text itself: the parser drops
//! empty documents and does not say where a document starts, but errors must
//! number documents the way a reader counts them, and name the object of a
//! document that does not parse.

/// `Kind namespace/name` of the document whose text is `doc`, read from its
/// plain top-level `kind:` line and `metadata:` block, for naming a document
/// that does not parse. None when either is not written that simply.
pub(super) fn object_name_guess(doc: &str) -> Option<String> {
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
pub(super) struct DocumentMarkers {
    /// 1-based line numbers of document starts, ascending.
    pub(super) lines: Vec<u32>,
    /// True when content precedes the first marker (an implicit first document).
    pub(super) implicit_first: bool,
}

fn is_marker(l: &str, m: &str) -> bool {
    l.strip_prefix(m).is_some_and(|r| {
        r.chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t' || c == '\r')
    })
}

impl DocumentMarkers {
    pub(super) fn scan(text: &str) -> Self {
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

    pub(super) fn document_at(&self, line: u32) -> usize {
        let k = self.lines.partition_point(|&m| m <= line);
        if k == 0 {
            1
        } else {
            k + usize::from(self.implicit_first)
        }
    }

    /// Lines `[from, to)` of document `doc` (`to` = `u32::MAX` for the last).
    pub(super) fn document_span(&self, doc: usize) -> Option<(u32, u32)> {
        if doc == 0 {
            return None;
        }
        let k = doc - usize::from(self.implicit_first);
        let from = if k == 0 { 1 } else { *self.lines.get(k - 1)? };
        let to = self.lines.get(k).copied().unwrap_or(u32::MAX);
        Some((from, to))
    }
}
