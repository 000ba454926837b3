//! Number formatting shared by the renderers: one rounding rule for JSON, so
//! `summary.json` and its `propagation` section never disagree on a digit, and
//! one way to print a count or a 3-digit value in text, so the terminal table,
//! the overload notes, the DOT graph and the SVG read alike.

use serde_json::{Value, json};

/// Rounds to 3 decimals for output; non-finite values become `null`.
pub fn r3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// A count with thousands separators (`12,345`).
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value with 3 significant digits at most, for values ≥ 1: `500`, `267`,
/// `26.7`, `3.60` (two decimals below 10, so small latencies keep precision).
pub fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators_and_values_three_digits() {
        assert_eq!(count(20_412), "20,412");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(sig3(500.4), "500");
        assert_eq!(sig3(26.66), "26.7");
        assert_eq!(sig3(3.6), "3.60");
        assert_eq!(r3(1.23456), serde_json::json!(1.235));
        assert_eq!(r3(f64::NAN), Value::Null);
    }
}
