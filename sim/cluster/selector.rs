//! Kubernetes label selectors (equality-based `selector` / `matchLabels`).
//!
//! Owned by the cluster model because endpoint selection is a cluster
//! behaviour; the scenario loader calls it for its warnings so that a
//! "selector matches no pod" warning and the simulated endpoints can never
//! disagree.

use std::collections::BTreeMap;

/// Kubernetes Service selection: every selector label present with equal value.
/// An empty selector selects nothing (the Service gets no managed endpoints).
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selection_table() {
        let pod = m(&[("app", "reviews"), ("version", "v1")]);
        // (selector, selects the pod)
        let table = [
            (m(&[]), false),
            (m(&[("app", "reviews")]), true),
            (m(&[("app", "reviews"), ("version", "v1")]), true),
            (m(&[("app", "reviews"), ("version", "v2")]), false),
            (m(&[("tier", "web")]), false),
        ];
        for (sel, want) in table {
            assert_eq!(selects(&sel, &pod), want, "{sel:?}");
        }
    }
}
