//! `DIR/<load>.hgrm`: a load's latency distribution in HdrHistogram's
//! percentile-distribution text, the `.hgrm` files wrk2, jHiccup and
//! `HistogramLogProcessor` write and HdrHistogram's plotter
//! (hdrhistogram.github.io/HdrHistogram/plotFiles.html) reads — so a
//! simulated run can be laid over a measured one.
//!
//! The layout is Java HdrHistogram's `outputPercentileDistribution` (5
//! percentile ticks per half distance, values in milliseconds with 3
//! decimals for the histogram's 3 significant digits): a header, one line
//! per tick `value percentile total-count 1/(1-percentile)` (the last, at
//! 100 %, without the inverse), and three `#[…]` summary lines. The
//! histogram is the load's pooled one (every replication, after warm-up),
//! the one `summary.json`'s percentiles come from.

use crate::metrics::Recorder;
use std::fmt::Write;

/// Percentile ticks per half distance to 100 % (Java's and wrk2's default).
const TICKS: u32 = 5;
/// Nanoseconds per printed unit (milliseconds).
const SCALE: f64 = 1e6;
/// Sub-buckets of the recorders' histograms (`metrics::SUB_BUCKET_MAG` = 11).
const SUB_BUCKETS: u32 = 2048;

/// The percentile distribution of `rec`'s latencies.
pub fn render(rec: &Recorder) -> String {
    let h = rec.hist.to_hdr();
    let mut s = String::new();
    let _ = write!(
        s,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / SCALE;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    s,
                    "{value:12.3} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(s, "{value:12.3} {q:2.12} {total:10}");
            }
        }
    }
    let (mean, sd, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (h.mean() / SCALE, h.stdev() / SCALE, h.max() as f64 / SCALE)
    };
    let _ = writeln!(s, "#[Mean    = {mean:12.3}, StdDeviation   = {sd:12.3}]");
    let _ = writeln!(
        s,
        "#[Max     = {max:12.3}, Total count    = {:12}]",
        h.len()
    );
    let _ = writeln!(
        s,
        "#[Buckets = {:12}, SubBuckets     = {SUB_BUCKETS:12}]",
        h.buckets()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_of_1_to_1000_ms() {
        let mut r = Recorder::default();
        for ms in 1..=1000u64 {
            r.record(0, ms * 1_000_000, 200);
        }
        r.shrink_to_fit();
        let t = render(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        // First tick: the smallest value, 1 of 1000 requests.
        let first: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(first[0], "1.000");
        assert_eq!(first[1], "0.000000000000");
        assert_eq!(first[2], "1");
        assert_eq!(first[3], "1.00");
        // The median: 500 ms (within 3 significant digits), 500 requests.
        let median = lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some("0.500000000000"))
            .unwrap();
        let m: Vec<&str> = median.split_whitespace().collect();
        assert!(m[0].starts_with("500."), "{median}");
        assert_eq!(m[2], "500");
        assert_eq!(m[3], "2.00");
        // Last tick at 100 %: all 1000, no inverse column.
        let last: Vec<&str> = lines[lines.len() - 4].split_whitespace().collect();
        assert_eq!(last[1], "1.000000000000");
        assert_eq!(last[2], "1000");
        assert_eq!(last.len(), 3);
        assert!(lines[lines.len() - 3].starts_with("#[Mean    =      500.5"));
        assert!(lines[lines.len() - 2].ends_with("Total count    =         1000]"));
        assert!(lines[lines.len() - 1].starts_with("#[Buckets = "));
    }
}
