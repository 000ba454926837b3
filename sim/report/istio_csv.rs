//! `--istio-csv`: DIR/istio.csv, the series of metrics.om as a table for
//! spreadsheets and pandas: one row per Istio series and 15 s scrape step,
//! the series' labels as columns (the union of the label names, in the order
//! metrics.om first writes them; a label a series lacks is empty), then the
//! counters at the step's end — cumulative as Prometheus scrapes them
//! (`requests_total`, `duration_ms_sum`) — and the requests of the step
//! alone (`requests`). Rows are ordered like metrics.om's series (by their
//! label text), then by time. Step 0 (all zero) is left out.
//!
//! Together with timeline.csv (loads and workloads, always written) this is
//! the run's time series as CSV.

use crate::metrics::istio::{Cell, IstioRecorder, STEP_NS};

/// One series' label pairs, in metrics.om's order.
type Labels = Vec<(&'static str, String)>;
use crate::scenario::Scenario;
use std::fmt::Write;

/// A CSV field, quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// istio.csv of `rec` (replication 0's recorder), step 0 at Unix second `start`.
pub fn render(spec: &Scenario, rec: &IstioRecorder, start: u64) -> String {
    let mut series: Vec<(Labels, &Vec<Cell>)> = rec
        .series
        .iter()
        .map(|(k, cells)| (super::openmetrics::labels(spec, rec, k), cells))
        .collect();
    // metrics.om's order: by the rendered label text.
    series.sort_by_cached_key(|(l, _)| super::openmetrics::label_text(l));
    let mut names: Vec<&'static str> = Vec::new();
    for (l, _) in &series {
        for (k, _) in l {
            if !names.contains(k) {
                names.push(k);
            }
        }
    }
    let mut s = String::from("t_s,timestamp");
    for n in &names {
        let _ = write!(s, ",{n}");
    }
    s.push_str(",requests,requests_total,duration_ms_sum\n");
    let step_s = STEP_NS / 1_000_000_000;
    for (l, cells) in &series {
        let values: String = names
            .iter()
            .map(|n| {
                let v = l
                    .iter()
                    .find(|(k, _)| k == n)
                    .map_or("", |(_, v)| v.as_str());
                format!(",{}", field(v))
            })
            .collect();
        let (mut total, mut sum) = (0u64, 0u64);
        for (k, c) in cells.iter().enumerate() {
            let n: u64 = c.buckets.iter().map(|&b| u64::from(b)).sum();
            total += n;
            sum += c.sum_ms;
            let t = (k as u64 + 1) * step_s;
            let _ = writeln!(s, "{t},{}{values},{n},{total},{sum}", start + t);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("reviews-v1"), "reviews-v1");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
