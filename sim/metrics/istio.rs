//! Istio's standard request metrics as a scraped Prometheus would hold them:
//! `istio_requests_total` and `istio_request_duration_milliseconds`, one
//! series per label set and reporter, counted in 15 s scrape steps.
//!
//! Why a recorder of its own: Istio's dashboards need per-label-set counters
//! over time (`rate(...[1m])`), which neither the latency recorders (one
//! histogram per stream, whole window) nor the timeline (per load, 100 bins)
//! hold. Each report names its parties by index ([`Report`], a small `Ord`
//! key interned once), and each series keeps one [`Cell`] per scrape step:
//! requests per duration bucket and the duration sum. Memory is series ×
//! steps × 88 bytes, allocated on a series' first report, and nothing at all
//! unless the export was asked for (`World::istio` is `None` otherwise).
//!
//! What a report is, after Istio's stats filter (istio/proxy
//! `source/extensions/filters/http/istio_stats/istio_stats.cc`, `log`): the
//! client's proxy (a sidecar or a gateway) reports `source` once per
//! downstream request, after retries, with the final code and flags; a server
//! sidecar reports `destination` once per request it receives. The duration
//! is recorded in whole milliseconds (`absl::FromChrono(d) /
//! absl::Milliseconds(1)` truncates) into Envoy's default buckets (Envoy
//! `source/common/stats/histogram_impl.cc`, `HistogramSettingsImpl::defaultBuckets`;
//! Istio 1.28 changes them only via `sidecar.istio.io/statsHistogramBuckets`).
//! Counts cover the whole simulated run, warm-up included (a real cluster's
//! counters do).

use crate::engine::SimTime;
use crate::proxy::flags::ResponseFlags;
use std::collections::BTreeMap;

/// Envoy's default histogram bucket bounds, in milliseconds.
pub const BUCKETS_MS: [u64; 19] = [
    0, // 0.5 ms: see `bucket_of` (whole milliseconds: only 0 is ≤ 0.5)
    1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
    1_800_000, 3_600_000,
];

/// The `le` label of each bucket (OpenMetrics canonical numbers), then `+Inf`.
pub const BUCKET_LABELS: [&str; 20] = [
    "0.5",
    "1.0",
    "5.0",
    "10.0",
    "25.0",
    "50.0",
    "100.0",
    "250.0",
    "500.0",
    "1000.0",
    "2500.0",
    "5000.0",
    "10000.0",
    "30000.0",
    "60000.0",
    "300000.0",
    "600000.0",
    "1800000.0",
    "3600000.0",
    "+Inf",
];

/// Prometheus' scrape interval in Istio's sample configuration (and
/// Prometheus' default): one sample per series per step.
pub const STEP_NS: u64 = 15_000_000_000;

/// Which proxy reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reporter {
    /// The client's proxy: a sidecar's outbound, or a gateway.
    Source,
    /// A server's sidecar (inbound).
    Destination,
}

/// One side of a request, as the reporting proxy knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Party {
    /// No peer metadata (a client outside the mesh; a local reply's upstream).
    Unknown,
    /// A load generator (`Scenario::loads` index).
    Load(u32),
    /// A pod of `Scenario::deployments[i]`.
    Workload(u32),
}

/// What `destination_service` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DestService {
    /// The routed cluster's Service (`Scenario::services` index).
    Service(u32),
    /// No cluster (a local reply): the request's Host header, interned in
    /// [`IstioRecorder::hosts`].
    Host(u32),
}

/// The label set of one series, by index (rendered in `report::openmetrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Report {
    pub reporter: Reporter,
    pub source: Party,
    /// The source has an Envoy (peer metadata, mTLS identity).
    pub source_meshed: bool,
    pub destination: Party,
    /// The destination pod has an Envoy (full peer metadata, mTLS identity);
    /// without one the client proxy knows its workload from endpoint metadata.
    pub destination_meshed: bool,
    pub service: DestService,
    /// HTTP status, 0 = no response.
    pub code: u16,
    pub flags: ResponseFlags,
}

/// One series' requests in one scrape step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// Requests per bucket (not cumulative), the last one past every bound.
    pub buckets: [u32; 20],
    /// Sum of the recorded (whole-millisecond) durations.
    pub sum_ms: u64,
}

/// Istio's request metrics of one replication.
#[derive(Clone, Debug, Default)]
pub struct IstioRecorder {
    /// Scrape steps covering the run: `ceil(duration / STEP_NS)`.
    pub steps: usize,
    index: BTreeMap<Report, u32>,
    /// Series in first-report order, each with one cell per step.
    pub series: Vec<(Report, Vec<Cell>)>,
    /// Host headers of local replies (see [`DestService::Host`]).
    pub hosts: Vec<String>,
    host_ix: BTreeMap<String, u32>,
}

/// The bucket a duration of `ms` whole milliseconds falls in (`le` is ≤).
#[inline]
pub fn bucket_of(ms: u64) -> usize {
    BUCKETS_MS.partition_point(|&b| b < ms)
}

impl IstioRecorder {
    /// A recorder for a run of `duration_ns` simulated nanoseconds.
    pub fn new(duration_ns: u64) -> Self {
        IstioRecorder {
            steps: duration_ns.div_ceil(STEP_NS).max(1) as usize,
            ..Default::default()
        }
    }

    /// Interns a Host header for [`DestService::Host`].
    pub fn host(&mut self, h: &str) -> u32 {
        if let Some(&i) = self.host_ix.get(h) {
            return i;
        }
        let i = self.hosts.len() as u32;
        self.hosts.push(h.to_string());
        self.host_ix.insert(h.to_string(), i);
        i
    }

    /// Request `key` finished at `at` after `latency_ns`.
    pub fn record(&mut self, key: Report, at: SimTime, latency_ns: u64) {
        let steps = self.steps;
        let i = match self.index.get(&key) {
            Some(&i) => i as usize,
            None => {
                self.index.insert(key, self.series.len() as u32);
                self.series.push((key, vec![Cell::default(); steps]));
                self.series.len() - 1
            }
        };
        let step = ((at.0 / STEP_NS) as usize).min(steps - 1);
        let ms = latency_ns / 1_000_000;
        let c = &mut self.series[i].1[step];
        c.buckets[bucket_of(ms)] += 1;
        c.sum_ms += ms;
    }

    /// Requests reported in total (all series, all steps).
    pub fn total(&self) -> u64 {
        self.series
            .iter()
            .flat_map(|(_, cells)| cells)
            .map(|c| c.buckets.iter().map(|&n| u64::from(n)).sum::<u64>())
            .sum()
    }

    /// Heap bytes held (series cells, keys and hosts).
    pub fn heap_bytes(&self) -> u64 {
        let cells: usize = self
            .series
            .iter()
            .map(|(_, c)| c.capacity() * std::mem::size_of::<Cell>())
            .sum();
        (cells
            + self.series.capacity() * std::mem::size_of::<(Report, Vec<Cell>)>()
            + self.index.len() * (std::mem::size_of::<Report>() + 4)
            + self.hosts.iter().map(|h| 2 * h.len()).sum::<usize>()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: u16) -> Report {
        Report {
            reporter: Reporter::Source,
            source: Party::Load(0),
            source_meshed: true,
            destination: Party::Workload(1),
            destination_meshed: true,
            service: DestService::Service(0),
            code,
            flags: ResponseFlags::NONE,
        }
    }

    #[test]
    fn durations_fall_in_envoys_buckets_in_whole_milliseconds() {
        // 0.9 ms truncates to 0 (≤ 0.5), 1 ms is ≤ 1, 1.9 ms is 1, 5.2 ms is 5.
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(2), 2);
        assert_eq!(bucket_of(5), 2);
        assert_eq!(bucket_of(6), 3);
        assert_eq!(bucket_of(3_600_000), 18);
        assert_eq!(bucket_of(3_600_001), 19);
        let mut r = IstioRecorder::new(31_000_000_000); // 31 s: 3 steps
        assert_eq!(r.steps, 3);
        r.record(key(200), SimTime(0), 900_000);
        r.record(key(200), SimTime(14_999_999_999), 1_900_000);
        r.record(key(200), SimTime(15_000_000_000), 5_200_000);
        r.record(key(503), SimTime(30_999_999_999), 7_000_000_000_000);
        assert_eq!(r.series.len(), 2);
        let cells = &r.series[0].1;
        assert_eq!(cells[0].buckets[0], 1);
        assert_eq!(cells[0].buckets[1], 1);
        assert_eq!(cells[0].sum_ms, 1);
        assert_eq!(cells[1].buckets[2], 1);
        assert_eq!(cells[1].sum_ms, 5);
        assert_eq!(r.series[1].1[2].buckets[19], 1);
        assert_eq!(r.total(), 4);
        assert!(r.heap_bytes() >= 2 * 3 * 88);
    }
}
