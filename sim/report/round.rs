//! Number formatting shared by the JSON renderers: one rounding rule, so
//! `summary.json` and its `propagation` section never disagree on a digit.

use serde_json::{Value, json};

/// Rounds to 3 decimals for output; non-finite values become `null`.
pub fn r3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}
