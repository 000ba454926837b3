//! `metrics.om`: Istio's standard request metrics of a simulated run in the
//! OpenMetrics text format, with timestamps, so `promtool tsdb
//! create-blocks-from openmetrics` backfills them into a Prometheus data
//! directory and Istio's Grafana dashboards (which query exactly these
//! names and labels) show the run.
//!
//! Layout: family `istio_requests` (counter, samples `istio_requests_total`),
//! then family `istio_request_duration_milliseconds` (histogram: 19 Envoy
//! buckets + `+Inf`, `_count`, `_sum`); within a family one series after the
//! other (sorted by their label text), each with one sample per 15 s scrape
//! step from `start` (step 0 = the start of the run, all zero) to the first
//! step at or after the run's end; `# EOF`. Every series has every step, so a
//! file holds series × (steps + 1) samples per sample name.
//!
//! Label values follow Istio's stats filter (istio/proxy
//! `source/extensions/filters/http/istio_stats/istio_stats.cc`,
//! `populatePeerInfo`): a side without peer metadata is `unknown` (canonical
//! revision `latest`); `source_principal` / `destination_principal` are SPIFFE
//! ids when both sides have an Envoy (auto mTLS; service account `default`,
//! the ingress gateway's `istio-ingressgateway-service-account`);
//! `connection_security_policy` is `unknown` on the source side and
//! `mutual_tls` / `none` on the destination side; `source_cluster` /
//! `destination_cluster` are istiod's default cluster id `Kubernetes`; the
//! proxy's own `app` / `version` labels are written as they are (a missing
//! one is an empty value, which Prometheus drops: so is it here).
//! `grpc_response_status` is empty for HTTP and left out likewise.

use crate::metrics::istio::{
    BUCKET_LABELS, Cell, DestService, IstioRecorder, Party, Report, Reporter, STEP_NS,
};
use crate::scenario::Scenario;
use std::fmt::Write;

/// `--metrics-start`'s default: 2026-12-01T00:00:00Z (a fixed time, so the
/// file is the same every day; near enough to the present that Prometheus'
/// default 15-day retention keeps it for a while — pass a recent time, or run
/// Prometheus with a long `--storage.tsdb.retention.time`, later on).
pub const DEFAULT_START: u64 = 1_796_083_200;

/// istiod's default `CLUSTER_ID`.
const CLUSTER_ID: &str = "Kubernetes";
const TRUST_DOMAIN: &str = "cluster.local";

/// Who a party is, as its proxy's node metadata says.
struct Identity {
    workload: String,
    namespace: String,
    app: String,
    version: String,
    canonical_service: String,
    canonical_revision: String,
    principal: String,
}

fn identity(spec: &Scenario, p: Party) -> Option<Identity> {
    match p {
        Party::Unknown => None,
        Party::Load(i) => {
            let l = &spec.loads[i as usize];
            Some(Identity {
                workload: l.name.clone(),
                namespace: l.namespace.clone(),
                app: l.name.clone(),
                version: String::new(),
                canonical_service: l.name.clone(),
                canonical_revision: "latest".into(),
                principal: spiffe(&l.namespace, "default"),
            })
        }
        Party::Workload(d) => {
            let d = &spec.deployments[d as usize];
            let label = |k: &str| d.labels.get(k).cloned();
            let gateway = d.namespace == "istio-system"
                && d.name == crate::scenario::istio::ingress_gateway::NAME;
            let sa = if gateway {
                "istio-ingressgateway-service-account"
            } else {
                "default"
            };
            Some(Identity {
                workload: d.name.clone(),
                namespace: d.namespace.clone(),
                app: label("app").unwrap_or_default(),
                version: label("version").unwrap_or_default(),
                // The injector's defaults (pkg/kube/inject: canonical name
                // from these labels in order, else the workload's name).
                canonical_service: label("service.istio.io/canonical-name")
                    .or_else(|| label("app.kubernetes.io/name"))
                    .or_else(|| label("app"))
                    .unwrap_or_else(|| d.name.clone()),
                canonical_revision: label("service.istio.io/canonical-revision")
                    .or_else(|| label("app.kubernetes.io/version"))
                    .or_else(|| label("version"))
                    .unwrap_or_else(|| "latest".into()),
                principal: spiffe(&d.namespace, sa),
            })
        }
    }
}

fn spiffe(ns: &str, sa: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}")
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "unknown".into()
    } else {
        s.to_string()
    }
}

/// How the reporting proxy knows one side of a request: the rule that gives
/// that side's labels. The source and destination blocks of a series have
/// the same labels; only which side is the reporter's own differs.
enum Known<'a> {
    /// The reporter itself: its own node metadata; its principal shows only
    /// under mTLS (both sides meshed).
    Own { me: &'a Identity, mtls: bool },
    /// The other side: `peer` is the metadata the reporter has of it (None:
    /// none), `full` the same when it came by the metadata exchange (an
    /// Envoy on that side): only then are its app, version and principal known.
    Peer {
        peer: Option<&'a Identity>,
        full: Option<&'a Identity>,
    },
}

/// One side's label values (a `source_*` or `destination_*` block).
struct SideLabels {
    workload: String,
    namespace: String,
    principal: String,
    app: String,
    version: String,
    canonical_service: String,
    canonical_revision: String,
    cluster: String,
}

impl Known<'_> {
    fn labels(&self) -> SideLabels {
        let unknown = || "unknown".to_string();
        match *self {
            Known::Own { me, mtls } => SideLabels {
                workload: me.workload.clone(),
                namespace: me.namespace.clone(),
                principal: if mtls {
                    me.principal.clone()
                } else {
                    unknown()
                },
                app: me.app.clone(),
                version: me.version.clone(),
                canonical_service: me.canonical_service.clone(),
                canonical_revision: me.canonical_revision.clone(),
                cluster: CLUSTER_ID.into(),
            },
            Known::Peer { peer, full } => SideLabels {
                workload: peer.map_or_else(unknown, |p| p.workload.clone()),
                namespace: peer.map_or_else(unknown, |p| p.namespace.clone()),
                principal: full.map_or_else(unknown, |p| p.principal.clone()),
                app: full.map_or_else(unknown, |p| or_unknown(&p.app)),
                version: full.map_or_else(unknown, |p| or_unknown(&p.version)),
                canonical_service: peer.map_or_else(unknown, |p| p.canonical_service.clone()),
                canonical_revision: peer
                    .map_or_else(|| "latest".into(), |p| p.canonical_revision.clone()),
                cluster: peer.map_or_else(unknown, |_| CLUSTER_ID.into()),
            },
        }
    }
}

/// The label pairs of one series, in the stats filter's order.
pub(crate) fn labels(
    spec: &Scenario,
    rec: &IstioRecorder,
    k: &Report,
) -> Vec<(&'static str, String)> {
    let (svc_host, svc_name) = match k.service {
        DestService::Service(s) => {
            let s = &spec.services[s as usize];
            (
                format!(
                    "{}.{}.{}",
                    s.name,
                    s.namespace,
                    crate::istiod::host::DOMAIN_SUFFIX
                ),
                s.name.clone(),
            )
        }
        DestService::Host(h) => {
            let h = rec.hosts[h as usize].clone();
            (h.clone(), h)
        }
    };
    let src = identity(spec, k.source);
    let dst = identity(spec, k.destination);
    let mtls = k.source_meshed && k.destination_meshed;
    let (source, destination) = match k.reporter {
        Reporter::Source => {
            let me = src.as_ref().expect("a source report names its proxy");
            // Peer metadata: the metadata exchange when the upstream has an
            // Envoy, else the endpoint's metadata (workload, namespace,
            // canonical name and revision; no app, version or identity).
            let peer = dst.as_ref();
            let full = peer.filter(|_| k.destination_meshed);
            (Known::Own { me, mtls }, Known::Peer { peer, full })
        }
        Reporter::Destination => {
            let me = dst.as_ref().expect("a destination report names its pod");
            let peer = src.as_ref().filter(|_| k.source_meshed);
            let full = peer;
            (Known::Peer { peer, full }, Known::Own { me, mtls })
        }
    };
    let (source, destination) = (source.labels(), destination.labels());
    let mut v: Vec<(&'static str, String)> = Vec::with_capacity(25);
    let code = k.code.to_string();
    let flags = k.flags.to_string();
    v.push((
        "reporter",
        match k.reporter {
            Reporter::Source => "source",
            Reporter::Destination => "destination",
        }
        .into(),
    ));
    v.push(("source_workload", source.workload));
    v.push(("source_canonical_service", source.canonical_service));
    v.push(("source_canonical_revision", source.canonical_revision));
    v.push(("source_workload_namespace", source.namespace));
    v.push(("source_principal", source.principal));
    v.push(("source_app", source.app));
    v.push(("source_version", source.version));
    v.push(("source_cluster", source.cluster));
    v.push(("destination_workload", destination.workload));
    v.push((
        "destination_workload_namespace",
        destination.namespace.clone(),
    ));
    v.push(("destination_principal", destination.principal));
    v.push(("destination_app", destination.app));
    v.push(("destination_version", destination.version));
    v.push(("destination_service", svc_host));
    v.push((
        "destination_canonical_service",
        destination.canonical_service,
    ));
    v.push((
        "destination_canonical_revision",
        destination.canonical_revision,
    ));
    v.push(("destination_service_name", svc_name));
    v.push(("destination_service_namespace", destination.namespace));
    v.push(("destination_cluster", destination.cluster));
    v.push(("request_protocol", "http".into()));
    v.push(("response_code", code));
    v.push(("response_flags", flags));
    v.push((
        "connection_security_policy",
        match (k.reporter, mtls) {
            (Reporter::Source, _) => "unknown".into(),
            (Reporter::Destination, true) => "mutual_tls".into(),
            (Reporter::Destination, false) => "none".into(),
        },
    ));
    v
}

/// `{a="x",b="y"` (no closing brace: callers may append `le`), empty values
/// left out, values escaped as OpenMetrics requires.
pub(crate) fn label_text(pairs: &[(&'static str, String)]) -> String {
    let mut s = String::from("{");
    let mut first = true;
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        if !first {
            s.push(',');
        }
        first = false;
        let esc = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{esc}\"");
    }
    s
}

/// Renders `rec` with scrape step 0 at Unix second `start`.
pub fn render(spec: &Scenario, rec: &IstioRecorder, start: u64) -> String {
    let mut series: Vec<(String, &Vec<Cell>)> = rec
        .series
        .iter()
        .map(|(k, cells)| (label_text(&labels(spec, rec, k)), cells))
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let step_s = STEP_NS / 1_000_000_000;
    let ts = |k: usize| start + k as u64 * step_s;
    // Cumulative cells per step (step 0 = nothing yet).
    let cumulative = |cells: &Vec<Cell>| -> Vec<([u64; 20], u64)> {
        let mut acc = ([0u64; 20], 0u64);
        let mut out = vec![acc];
        for c in cells {
            for (a, &n) in acc.0.iter_mut().zip(&c.buckets) {
                *a += u64::from(n);
            }
            acc.1 += c.sum_ms;
            out.push(acc);
        }
        out
    };
    let mut s = String::new();
    s.push_str("# TYPE istio_requests counter\n");
    s.push_str(
        "# HELP istio_requests Requests handled by an Istio proxy (simulated by meshsim).\n",
    );
    for (l, cells) in &series {
        for (k, (b, _)) in cumulative(cells).iter().enumerate() {
            let n: u64 = b.iter().sum();
            let _ = writeln!(s, "istio_requests_total{l}}} {n} {}", ts(k));
        }
    }
    s.push_str("# TYPE istio_request_duration_milliseconds histogram\n");
    s.push_str(
        "# HELP istio_request_duration_milliseconds Request durations in whole milliseconds (simulated by meshsim).\n",
    );
    for (l, cells) in &series {
        let sep = if l.len() > 1 { "," } else { "" };
        for (k, (b, sum)) in cumulative(cells).iter().enumerate() {
            let t = ts(k);
            let mut run = 0u64;
            for (le, n) in BUCKET_LABELS.iter().zip(b) {
                run += n;
                let _ = writeln!(
                    s,
                    "istio_request_duration_milliseconds_bucket{l}{sep}le=\"{le}\"}} {run} {t}"
                );
            }
            let _ = writeln!(
                s,
                "istio_request_duration_milliseconds_count{l}}} {run} {t}"
            );
            let _ = writeln!(s, "istio_request_duration_milliseconds_sum{l}}} {sum} {t}");
        }
    }
    s.push_str("# EOF\n");
    s
}

/// `--metrics-start`: Unix seconds, or a UTC time `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_start(s: &str) -> Result<u64, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let bad = || format!("{s:?} is neither Unix seconds nor a UTC time like 2026-12-01T00:00:00Z");
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |a: usize, z: usize| -> Result<i64, String> {
        s[a..z]
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s[a..z].parse::<i64>().ok())
            .flatten()
            .ok_or_else(bad)
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    if h > 23 || mi > 59 || se > 59 {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's days_from_civil).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + h * 3_600 + mi * 60 + se) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_parse_as_utc() {
        assert_eq!(parse_start("2026-12-01T00:00:00Z"), Ok(DEFAULT_START));
        assert_eq!(parse_start("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_start("2000-03-01T12:34:56Z"), Ok(951_914_096));
        assert_eq!(parse_start("1796083200"), Ok(DEFAULT_START));
        assert!(parse_start("2026-13-01T00:00:00Z").is_err());
        assert!(parse_start("2026-12-01 00:00:00").is_err());
    }

    #[test]
    fn label_values_are_escaped_and_empty_ones_left_out() {
        let t = label_text(&[
            ("a", "x\"y\\z".into()),
            ("b", String::new()),
            ("c", "1".into()),
        ]);
        assert_eq!(t, r#"{a="x\"y\\z",c="1""#);
    }
}
