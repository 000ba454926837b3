//! Verdicts as JUnit XML, the report format every CI system reads (GitLab,
//! Jenkins, GitHub Actions via test reporters): one `testcase` per
//! assertion, a `failure` element on those that failed.

use super::eval::Verdict;

/// XML-escapes text for an attribute or element body.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if c.is_control() && !matches!(c, '\n' | '\t') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// `<testsuites>` with one suite named after the scenario.
pub fn render(scenario: &str, verdicts: &[Verdict]) -> String {
    let failures = verdicts.iter().filter(|v| !v.passed).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"meshsim\" tests=\"{}\" failures=\"{failures}\">\n",
        verdicts.len()
    ));
    s.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        esc(&format!("meshsim assertions: {scenario}")),
        verdicts.len()
    ));
    for v in verdicts {
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            esc(&format!("meshsim.{scenario}")),
            esc(&v.text)
        ));
        if v.passed {
            s.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                esc(&v.detail)
            ));
        } else {
            s.push_str(&format!(
                "      <failure message=\"{}\" type=\"AssertionFailed\">{} ({})</failure>\n",
                esc(&v.detail),
                esc(&v.text),
                esc(&v.source)
            ));
        }
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_marked_and_text_escaped() {
        let v = |text: &str, passed| Verdict {
            text: text.into(),
            source: "--assert".into(),
            passed,
            point: Some(1.0),
            interval: None,
            compared: Some(1.0),
            detail: "1 ms < 2 ms".into(),
        };
        let x = render("web", &[v("a.p99 < 2ms", true), v("b & \"c\"", false)]);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(x.contains("name=\"a.p99 &lt; 2ms\""), "{x}");
        assert!(
            x.contains("<failure message=\"1 ms &lt; 2 ms\" type=\"AssertionFailed\">b &amp; &quot;c&quot; (--assert)</failure>"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase ").count(), 2);
        assert_eq!(x.matches("</testcase>").count(), 2);
    }
}
