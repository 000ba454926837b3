//! Numbers as people write them in diagnostics. A room of its own so the
//! YAML reader (`raw.rs`) and the diagnostics (`diag.rs`, which names
//! `raw::Loc`) can both use it without importing each other.

/// A count as people write it: `360,000,000`.
pub fn plain(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
