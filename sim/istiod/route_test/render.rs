//! The terminal report of `meshsim route-test`: every case with its
//! explanation, mismatches marked, then router_check_tool-style coverage.

use super::Report;

/// The terminal report: every case explained, mismatches marked, coverage.
pub fn render(report: &Report) -> String {
    let mut s = String::new();
    for c in &report.cases {
        let verdict = if c.mismatches.is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        s.push_str(&format!("{verdict} {} ({})\n", c.name, c.source));
        for l in &c.explanation {
            s.push_str(&format!("    {l}\n"));
        }
        for m in &c.mismatches {
            s.push_str(&format!("  mismatch: {m}\n"));
        }
    }
    let total = report.coverage.len();
    let hit = report.coverage.iter().filter(|c| c.cases > 0).count();
    s.push_str(&format!(
        "\ncoverage: {hit} of {total} VirtualService routes exercised{}\n",
        if total > 0 {
            format!(" ({:.0} %)", hit as f64 * 100.0 / total as f64)
        } else {
            String::new()
        }
    ));
    for c in report.uncovered() {
        s.push_str(&format!(
            "  not exercised: {}{}\n",
            c.key,
            if c.pushed {
                ""
            } else {
                " (in no proxy's route table: bound to no existing gateway, not visible, or shadowed)"
            }
        ));
    }
    let failed = report.failed();
    s.push_str(&format!(
        "{} cases: {} passed, {failed} failed\n",
        report.cases.len(),
        report.cases.len() - failed
    ));
    s
}
