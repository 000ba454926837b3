//! Escaping for the markup meshsim writes (SVG and HTML share the rules):
//! every name in a report comes from a user's files, so every one goes
//! through [`esc`] before it lands in an element or an attribute.

/// `s` safe as element text and as a double- or single-quoted attribute value.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in
            // XML 1.0: shown as U+FFFD rather than breaking the document.
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            _ => o.push(c),
        }
    }
    o
}

/// Estimated width in px of `s` at font size `px` (sans-serif; generous, so
/// labels placed by it are not cut off — there are no font metrics here).
pub fn text_w(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.62
}

/// `s` shortened to at most `max` characters by an ellipsis in the middle
/// (the ends of a name — namespace and version — are what tell series apart).
pub fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut o: String = s.chars().take(head).collect();
    o.push('…');
    o.extend(s.chars().skip(n - tail));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}"
        );
    }

    #[test]
    fn shortens_in_the_middle() {
        assert_eq!(shorten("abcdefghij", 7), "abc…hij");
        assert_eq!(shorten("short", 7), "short");
        assert_eq!(shorten("abcdefghij", 7).chars().count(), 7);
    }
}
