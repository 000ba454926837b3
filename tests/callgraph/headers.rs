//! `forwardHeaders`: only the named incoming headers are copied, hop by hop.

use super::*;

#[test]
fn forward_headers_copies_only_the_named_incoming_headers_hop_by_hop() {
    let text = [
        app("ratings", "default", "{serviceTime: {constant: 1ms}}"),
        app("audit", "default", "{serviceTime: {constant: 1ms}}"),
        // reviews forwards end-user (any case) to ratings; to audit it forwards
        // nothing but sets a constant end-user (isotope's extra-header).
        app(
            "reviews",
            "default",
            "{script: [{call: {host: ratings, forwardHeaders: [End-User]}}, {call: {host: audit, headers: {End-User: system}}}]}",
        ),
        app(
            "productpage",
            "default",
            r#"{script: [{call: {host: reviews, forwardHeaders: [end-user, x-request-id], headers: {x-b3-sampled: "1"}}}]}"#,
        ),
        r#"apiVersion: meshsim.dev/v1alpha1
kind: Load
metadata: {name: jason}
spec:
  target: productpage:8080
  headers: {end-user: jason, cookie: "session=1", X-Request-Id: abc}
  closed: {connections: 1}
---
"#
        .to_string(),
        closed("anonymous", "productpage:8080", ""),
        sim("10s", "0s"),
    ]
    .concat();
    let spec = common::load_ok(&text);
    let m = common::run(&spec);
    let o = &m.outcomes[0];
    let seen = |key: &str| -> Vec<Vec<(String, String)>> {
        o.headers_received[dep(&spec, key)]
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    };
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let none = h(&[]);
    // Header names are case-insensitive (stored lowercased).
    assert_eq!(
        seen("default/productpage"),
        vec![
            none.clone(),
            h(&[
                ("cookie", "session=1"),
                ("end-user", "jason"),
                ("x-request-id", "abc")
            ])
        ]
    );
    // Constant headers are added to forwarded ones.
    assert_eq!(
        seen("default/reviews"),
        vec![
            h(&[
                ("end-user", "jason"),
                ("x-b3-sampled", "1"),
                ("x-request-id", "abc")
            ]),
            h(&[("x-b3-sampled", "1")]),
        ]
    );
    // Each hop forwards only what it names: x-request-id stops at reviews.
    assert_eq!(
        seen("default/ratings"),
        vec![none, h(&[("end-user", "jason")])]
    );
    // A constant header replaces the incoming one of the same name.
    assert_eq!(seen("default/audit"), vec![h(&[("end-user", "system")])]);
}
