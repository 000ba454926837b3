//! Which latency percentiles the reports list: summary.json's `p50`, `p90`,
//! `p99`, `p999` and the terminal's p50 and p99 by default, or the list of
//! `--percentiles 50,90,99,99.9,99.99` in both (as wrk2, fortio and k6 let
//! one choose).

/// One listed percentile.
#[derive(Clone, Debug, PartialEq)]
pub struct Percentile {
    /// summary.json key: `p` + the number without its dot (`p999` = 99.9).
    pub key: String,
    /// Terminal column header (`p99.9`).
    pub label: String,
    /// As a quantile (0.999).
    pub q: f64,
}

fn of(text: &str, pct: f64) -> Percentile {
    Percentile {
        key: format!("p{}", text.replace('.', "")),
        label: format!("p{text}"),
        // The nearest double to the decimal quantile (0.999, as a literal
        // would be), not pct / 100 (99.9 / 100 = 0.9990000000000001, which
        // moves p99.9 to the next sample when count × 0.999 is whole).
        q: (pct * 1e6).round() / 1e8,
    }
}

/// summary.json's list when none is given.
pub fn default_json() -> Vec<Percentile> {
    [("50", 50.0), ("90", 90.0), ("99", 99.0), ("99.9", 99.9)]
        .iter()
        .map(|(t, p)| of(t, *p))
        .collect()
}

/// The terminal tables' list when none is given.
pub fn default_table() -> Vec<Percentile> {
    [("50", 50.0), ("99", 99.0)]
        .iter()
        .map(|(t, p)| of(t, *p))
        .collect()
}

/// A parsed `--percentiles` list (a newtype, so clap takes it as one value).
#[derive(Clone, Debug, PartialEq)]
pub struct List(pub Vec<Percentile>);

/// [`parse`] for clap.
pub fn parse_list(s: &str) -> Result<List, String> {
    parse(s).map(List)
}

/// `50,90,99,99.9,99.99`: numbers in (0, 100], each once.
pub fn parse(s: &str) -> Result<Vec<Percentile>, String> {
    let mut out: Vec<Percentile> = Vec::new();
    for t in s.split(',').map(str::trim) {
        let p: f64 = t
            .parse()
            .ok()
            .filter(|_| t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            .ok_or_else(|| format!("{t:?} is not a percentile (e.g. 99.9)"))?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!("{t}: a percentile is in (0, 100]"));
        }
        let pc = of(t, p);
        if out.iter().any(|o| o.key == pc.key) {
            return Err(format!("{t}: listed twice (or as the same key {})", pc.key));
        }
        out.push(pc);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_to_keys_and_quantiles() {
        let l = parse("50,90,99,99.9,99.99").unwrap();
        let keys: Vec<&str> = l.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["p50", "p90", "p99", "p999", "p9999"]);
        assert_eq!(l[4].label, "p99.99");
        assert_eq!(l[3].q, 0.999);
        assert_eq!(l[4].q, 0.9999);
        assert!((l[4].q - 0.9999).abs() < 1e-12);
        assert_eq!(parse("50,90,99,99.9").unwrap(), default_json());
        assert!(parse("0").is_err());
        assert!(parse("101").is_err());
        assert!(parse("99,99").is_err());
        assert!(parse("99.9,9.99").is_err());
        assert!(parse("p99").is_err());
        assert!(parse("-5").is_err());
    }
}
