//! `--fortio`: DIR/<load>.fortio.json, each load generator's result in the
//! shape of fortio's `-json` output (`fhttp.HTTPRunnerResults`: the embedded
//! `periodic.RunnerResults`, `RetCodes`, the embedded `HTTPOptions`, …; field
//! names and order as fortio's Go structs marshal them), so fortio's UI
//! (`fortio report`) and scripts written for fortio read a simulated run.
//!
//! What the numbers are: every replication pooled (as summary.json):
//! `ActualDuration` is the measurement window times the replications, so
//! `ActualQPS` = calls ÷ `ActualDuration` as fortio computes it;
//! `DurationHistogram` holds every finished request's latency in seconds in
//! fortio's own buckets (`stats.histogramBucketValues` at its default
//! resolution of 1 ms: (0, 1], (1, 2], … (75, 100] s, > 100 s), first
//! `Start` = min and last `End` = max as fortio exports them; its
//! `Percentiles` come from meshsim's HdrHistogram (3 significant digits)
//! rather than fortio's interpolation within a bucket. What meshsim does not
//! model is left at fortio's zero value or null (`Sizes`, `HeaderSizes`,
//! `ErrorsDurationHistogram`: failed requests are not kept apart).

use crate::batch::Merged;
use crate::metrics::Recorder;
use crate::report::percentiles::Percentile;
use crate::scenario::Scenario;
use crate::scenario::spec::LoadPattern;
use serde::Serialize;
use std::collections::BTreeMap;

/// fortio's `stats.histogramBucketValues` (in units of the 1 ms resolution).
const BUCKETS: [u32; NUM_VALUES] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80,
    90, 100, 120, 140, 160, 180, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000,
    3000, 4000, 5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000, 100000,
];
const NUM_VALUES: usize = 56;
/// fortio's default `-r` resolution: 1 ms.
const DIVIDER: f64 = 0.001;

/// fortio's bucket of a value `v` seconds: 0 for ≤ 0, i for (values[i−1],
/// values[i]], `NUM_VALUES` past the last value.
pub fn bucket_of(v: f64) -> usize {
    let scaled = v / DIVIDER;
    if scaled <= 0.0 {
        0
    } else if scaled > f64::from(BUCKETS[NUM_VALUES - 1]) {
        NUM_VALUES
    } else {
        BUCKETS
            .iter()
            .position(|&b| f64::from(b) >= scaled)
            .unwrap_or(NUM_VALUES)
    }
}

#[allow(non_snake_case)]
#[derive(Serialize)]
struct Bucket {
    Start: f64,
    End: f64,
    Percent: f64,
    Count: u64,
}

#[allow(non_snake_case)]
#[derive(Serialize)]
struct Pct {
    Percentile: f64,
    Value: f64,
}

#[allow(non_snake_case)]
#[derive(Serialize)]
struct HistogramData {
    Count: u64,
    Min: f64,
    Max: f64,
    Sum: f64,
    Avg: f64,
    StdDev: f64,
    Data: Vec<Bucket>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    Percentiles: Vec<Pct>,
}

#[allow(non_snake_case)]
#[derive(Serialize)]
struct HttpResult {
    RunType: &'static str,
    Labels: String,
    StartTime: String,
    RequestedQPS: String,
    RequestedDuration: String,
    ActualQPS: f64,
    ActualDuration: u64,
    NumThreads: u32,
    Version: String,
    DurationHistogram: HistogramData,
    ErrorsDurationHistogram: Option<HistogramData>,
    Exactly: u64,
    Jitter: bool,
    Uniform: bool,
    NoCatchUp: bool,
    RunID: u64,
    AccessLoggerInfo: &'static str,
    ID: &'static str,
    RetCodes: BTreeMap<String, u64>,
    IPCountMap: Option<BTreeMap<String, u64>>,
    URL: String,
    NumConnections: u32,
    Compression: bool,
    DisableFastClient: bool,
    HTTP10: bool,
    H2: bool,
    DisableKeepAlive: bool,
    AllowHalfClose: bool,
    FollowRedirects: bool,
    Resolve: &'static str,
    HTTPReqTimeOut: u64,
    UserCredentials: &'static str,
    ContentType: &'static str,
    Payload: Option<String>,
    MethodOverride: String,
    LogErrors: bool,
    SequentialWarmup: bool,
    ConnReuseRange: [u32; 2],
    NoResolveEachConn: bool,
    Offset: u64,
    Resolution: f64,
    Sizes: Option<HistogramData>,
    HeaderSizes: Option<HistogramData>,
    Sockets: Option<Vec<u64>>,
    SocketCount: u64,
    ConnectionStats: Option<HistogramData>,
    AbortOn: i64,
}

/// fortio's exported histogram of `rec`'s latencies, in seconds.
fn histogram(rec: &Recorder, pct: &[Percentile]) -> HistogramData {
    let h = &rec.hist;
    let count = rec.count;
    let (min, max) = if count > 0 {
        (h.min() as f64 / 1e9, h.max() as f64 / 1e9)
    } else {
        (0.0, 0.0)
    };
    let sum = rec.sum_ns as f64 / 1e9;
    let mut counts = [0u64; NUM_VALUES + 1];
    for (slot, n) in h.iter() {
        let ns = crate::metrics::hist::slot_value(slot);
        counts[bucket_of(ns as f64 / 1e9)] += n;
    }
    let total: u64 = counts.iter().sum();
    let mut data: Vec<Bucket> = Vec::new();
    let mut run = 0u64;
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        run += n;
        let start = if data.is_empty() {
            min
        } else {
            f64::from(BUCKETS[i - 1]) * DIVIDER
        };
        let end = if i < NUM_VALUES {
            f64::from(BUCKETS[i]) * DIVIDER
        } else {
            max
        };
        data.push(Bucket {
            Start: start,
            End: end,
            Percent: 100.0 * run as f64 / total as f64,
            Count: n,
        });
    }
    if let Some(last) = data.last_mut() {
        last.End = max;
    }
    let percentiles = if count > 0 {
        pct.iter()
            .map(|p| Pct {
                Percentile: (p.q * 1e8).round() / 1e6,
                Value: h.value_at_quantile(p.q) as f64 / 1e9,
            })
            .collect()
    } else {
        Vec::new()
    };
    HistogramData {
        Count: count,
        Min: min,
        Max: max,
        Sum: sum,
        Avg: if count > 0 { sum / count as f64 } else { 0.0 },
        // HdrHistogram's stdev over slot midpoints (once per report).
        StdDev: if count > 0 {
            h.to_hdr().stdev() / 1e9
        } else {
            0.0
        },
        Data: data,
        Percentiles: percentiles,
    }
}

/// Go's `time.Duration.String()` of `ns` (`1m30s`, `2.5s`, `250ms`, `0s`).
pub fn go_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let frac = |whole: u64, rest: u64, digits: u32| -> String {
        let mut s = whole.to_string();
        if rest > 0 {
            let f = format!("{rest:0w$}", w = digits as usize);
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns / 1_000, ns % 1_000, 3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns / 1_000_000, ns % 1_000_000, 6));
    }
    let secs = ns / 1_000_000_000;
    let s = format!("{}s", frac(secs % 60, ns % 1_000_000_000, 9));
    let (m, h) = ((secs / 60) % 60, secs / 3600);
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

/// RFC 3339 UTC of Unix second `t` (as Go marshals a `time.Time` in UTC).
pub fn rfc3339(t: u64) -> String {
    // civil_from_days (Howard Hinnant).
    let days = (t / 86_400) as i64;
    let rem = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// fortio's `-qps` as it echoes it: the number (`%g`-like), or `max`.
fn qps_text(q: Option<f64>) -> String {
    match q {
        Some(q) if q > 0.0 => {
            let s = format!("{q}");
            s.strip_suffix(".0").map_or(s.clone(), str::to_string)
        }
        _ => "max".into(),
    }
}

/// DIR/<load>.fortio.json of load `li`; `start`: the run's start in Unix
/// seconds (`--metrics-start`'s default unless given), so `StartTime` is the
/// measurement window's start.
pub fn render(spec: &Scenario, m: &Merged, li: usize, pct: &[Percentile], start: u64) -> String {
    let l = &spec.loads[li];
    let rec = &m.loads[li].pooled;
    let svc = &spec.services[l.target.service];
    let port = svc.ports[l.target.port].port;
    let (qps, conns, keepalive, pacing) = match &l.pattern {
        LoadPattern::Open {
            rate, connections, ..
        } => (
            Some(*rate),
            connections.unwrap_or(0),
            connections.is_some(),
            None,
        ),
        LoadPattern::Closed {
            connections,
            qps,
            pacing,
            ..
        } => (*qps, *connections, true, Some(*pacing)),
    };
    let reps = u64::from(m.replications.max(1));
    let window_ns = spec.run.duration.as_nanos() - spec.run.warmup.as_nanos();
    let actual_ns = window_ns * reps;
    let calls = rec.completed + rec.failed;
    let codes: BTreeMap<String, u64> = rec
        .codes
        .iter()
        .map(|(c, n)| {
            // fortio's code for a connection or socket error is -1.
            let k = if *c == 0 {
                "-1".to_string()
            } else {
                c.to_string()
            };
            (k, *n)
        })
        .collect();
    let r = HttpResult {
        RunType: "HTTP",
        Labels: format!("meshsim {} {}", spec.name, l.name),
        StartTime: rfc3339(start + spec.run.warmup.as_nanos() / 1_000_000_000),
        RequestedQPS: qps_text(qps),
        RequestedDuration: match l.iterations {
            Some(n) => format!("exactly {n} calls"),
            None => go_duration(window_ns),
        },
        ActualQPS: if actual_ns > 0 {
            calls as f64 / (actual_ns as f64 / 1e9)
        } else {
            0.0
        },
        ActualDuration: actual_ns,
        NumThreads: conns.max(1),
        Version: format!("meshsim-{}", env!("CARGO_PKG_VERSION")),
        DurationHistogram: histogram(rec, pct),
        ErrorsDurationHistogram: None,
        Exactly: l.iterations.unwrap_or(0),
        Jitter: pacing.is_some_and(|p| p.jitter),
        Uniform: pacing.is_some_and(|p| p.uniform),
        NoCatchUp: pacing.is_some_and(|p| p.no_catch_up),
        RunID: 0,
        AccessLoggerInfo: "",
        ID: "",
        RetCodes: codes,
        IPCountMap: None,
        URL: format!("http://{}:{port}{}", svc.name, l.path),
        NumConnections: conns.max(1),
        Compression: false,
        DisableFastClient: false,
        HTTP10: false,
        H2: false,
        DisableKeepAlive: !keepalive,
        AllowHalfClose: false,
        FollowRedirects: false,
        Resolve: "",
        HTTPReqTimeOut: 3_000_000_000,
        UserCredentials: "",
        ContentType: "",
        Payload: None,
        MethodOverride: if l.method == "GET" {
            String::new()
        } else {
            l.method.clone()
        },
        LogErrors: false,
        SequentialWarmup: false,
        ConnReuseRange: [0, 0],
        NoResolveEachConn: false,
        Offset: 0,
        Resolution: DIVIDER,
        Sizes: None,
        HeaderSizes: None,
        Sockets: None,
        SocketCount: u64::from(conns),
        ConnectionStats: None,
        AbortOn: 0,
    };
    let mut s = serde_json::to_string_pretty(&r).expect("plain values");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortio_buckets_are_left_open() {
        // (0, 1 ms] is bucket 1, exactly 1 ms too; 1.0001 ms is in (1, 2].
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(0.0005), 1);
        assert_eq!(bucket_of(0.001), 1);
        assert_eq!(bucket_of(0.0010001), 2);
        assert_eq!(bucket_of(0.013), 13); // (12, 14]
        assert_eq!(bucket_of(100.0), NUM_VALUES - 1);
        assert_eq!(bucket_of(100.5), NUM_VALUES);
    }

    #[test]
    fn go_durations_and_times_read_as_go_writes_them() {
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(59_000_000_000), "59s");
        assert_eq!(go_duration(2_500_000_000), "2.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_210), "2026-12-01T00:00:10Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(qps_text(Some(200.0)), "200");
        assert_eq!(qps_text(Some(12.5)), "12.5");
        assert_eq!(qps_text(None), "max");
    }
}
