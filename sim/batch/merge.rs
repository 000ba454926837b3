//! The merge of replications, one at a time, in index order.
//!
//! Why incremental: a finished replication's [`Outcome`] holds a recorder per
//! load, Service, workload and route, a timeline and per-pod counts. Holding
//! all of them until the last replication finished made memory grow with the
//! replication count (issue #12 item 3: 3.25 GB for four replications of a
//! 1,000-service mesh). [`Merger::add`] folds one outcome into the pooled
//! figures and keeps it only when asked ([`Keep::outcomes`]), and
//! always keeps replication 0's (the reports' "one real cluster" views read
//! it: per-pod shares, pod events, Istio metrics, the determinism check).
//!
//! Every figure is the one the all-at-once merge gave: integer adds in index
//! order, per-replication means pushed in index order, the same tie rules.

use super::{Keep, Kept, Merged, MeshMerged, Stream, Values};
use crate::metrics::Capacity;
use crate::metrics::Recorder;
use crate::metrics::propagation::PropagationRecorder;
use crate::metrics::timeline::PooledTimeline;
use crate::scenario::Scenario;
use crate::world::{MeshOutcome, Outcome};

/// Pooled figures of the replications added so far.
pub struct Merger<'a> {
    keep: Keep<'a>,
    /// Registered reducers' values so far (aligned with `keep.reducers`).
    kept: Kept,
    n: u32,
    loads: Vec<Stream>,
    services: Vec<Stream>,
    workloads: Vec<Stream>,
    endpoints: Vec<Vec<Stream>>,
    capacity: Vec<Capacity>,
    /// Per workload: (waiting at start, at end) and its growth, of the
    /// replication whose queue grew the most (the last of equals).
    queue_growth: Vec<Option<(u64, u64)>>,
    events: u64,
    requests_created: u64,
    digest: u64,
    window_secs: f64,
    outcomes: Vec<Outcome>,
    mesh: Option<MeshMerged>,
    /// (index among merged replications, why it stopped), all of them.
    stopped: Vec<(usize, String)>,
    propagation: Option<PropagationRecorder>,
    timeline: PooledTimeline,
    pod_requests: Vec<u64>,
}

impl Stream {
    fn empty() -> Stream {
        Stream {
            pooled: Recorder::default(),
            in_flight: 0,
            replication_means: Vec::new(),
        }
    }

    /// One more replication's recorder (and its requests still in flight).
    fn add(&mut self, rec: &Recorder, in_flight: u64) {
        self.pooled.merge(rec);
        self.in_flight += in_flight;
        if let Some(m) = rec.mean_secs() {
            self.replication_means.push(m);
        }
    }
}

fn streams(n: usize) -> Vec<Stream> {
    (0..n).map(|_| Stream::empty()).collect()
}

fn add_all(acc: &mut [Stream], recs: &[Recorder], in_flight: &[u64]) {
    for (i, s) in acc.iter_mut().enumerate() {
        s.add(&recs[i], in_flight.get(i).copied().unwrap_or(0));
    }
}

impl<'a> Merger<'a> {
    /// `keep`: what to keep of each replication besides the pooled figures
    /// (every outcome, or replication 0's and the reducers' values).
    pub fn new(spec: &Scenario, keep: Keep<'a>) -> Merger<'a> {
        let n_d = spec.deployments.len();
        Merger {
            kept: keep
                .reducers
                .iter()
                .map(|r| (r.key().to_string(), Vec::new()))
                .collect(),
            keep,
            n: 0,
            loads: streams(spec.loads.len()),
            services: streams(spec.services.len()),
            workloads: streams(n_d),
            endpoints: (0..n_d).map(|_| Vec::new()).collect(),
            capacity: vec![Capacity::default(); n_d],
            queue_growth: vec![None; n_d],
            events: 0,
            requests_created: 0,
            digest: 0,
            window_secs: 0.0,
            outcomes: Vec::new(),
            mesh: None,
            stopped: Vec::new(),
            propagation: None,
            timeline: PooledTimeline::default(),
            pod_requests: Vec::new(),
        }
    }

    /// Replications merged so far.
    pub fn replications(&self) -> u32 {
        self.n
    }

    /// Folds in the next replication's outcome (call in index order).
    pub fn add(&mut self, o: Outcome) {
        let values = self.keep.reduce(&o);
        self.add_reduced(o, values);
    }

    /// [`Merger::add`] with the registered reducers' values of `o`
    /// already computed (`Keep::reduce`, e.g. in the worker that ran it).
    pub fn add_reduced(&mut self, o: Outcome, values: Vec<Values>) {
        for ((_, acc), v) in self.kept.iter_mut().zip(values) {
            acc.push(v);
        }
        let first = self.n == 0;
        if first {
            self.window_secs = o.window.secs();
            for (i, acc) in self.endpoints.iter_mut().enumerate() {
                *acc = streams(o.endpoints.get(i).map_or(0, Vec::len));
            }
            self.mesh = o.mesh.as_ref().map(mesh_empty);
        }
        add_all(&mut self.loads, &o.loads, &o.loads_in_flight);
        add_all(&mut self.services, &o.services, &o.services_in_flight);
        add_all(&mut self.workloads, &o.workloads, &o.workloads_in_flight);
        for (i, acc) in self.endpoints.iter_mut().enumerate() {
            if !acc.is_empty() {
                add_all(acc, &o.endpoints[i], &o.endpoints_in_flight[i]);
            }
        }
        for (i, g) in self.queue_growth.iter_mut().enumerate() {
            let new = (o.queue_start[i], o.queue_end[i]);
            let grew = |(a, b): (u64, u64)| b.saturating_sub(a);
            if g.is_none_or(|old| grew(new) >= grew(old)) {
                *g = Some(new);
            }
        }
        for (c, x) in self.capacity.iter_mut().zip(&o.capacity) {
            c.merge(x);
        }
        if let (Some(acc), Some(m)) = (&mut self.mesh, &o.mesh) {
            mesh_add(acc, m);
        }
        if let Some(s) = &o.stopped {
            self.stopped.push((self.n as usize, s.reason.clone()));
        }
        match &mut self.propagation {
            None => self.propagation = Some(o.propagation.clone()),
            Some(p) => p.merge(&o.propagation),
        }
        self.digest = crate::engine::rng::mix64(self.digest ^ o.digest);
        self.events += o.events;
        self.requests_created += o.requests_created;
        self.timeline.add(&o.timeline);
        if self.pod_requests.len() < o.pod_requests.len() {
            self.pod_requests.resize(o.pod_requests.len(), 0);
        }
        for (a, b) in self.pod_requests.iter_mut().zip(&o.pod_requests) {
            *a += b;
        }
        self.n += 1;
        if self.keep.outcomes || first {
            self.outcomes.push(o);
        }
    }

    /// The pooled result.
    pub fn finish(mut self) -> Merged {
        for s in self
            .loads
            .iter_mut()
            .chain(&mut self.services)
            .chain(&mut self.workloads)
            .chain(self.endpoints.iter_mut().flatten())
        {
            s.pooled.shrink_to_fit();
        }
        // Stopped replications, first three by index, then a count.
        let mut partial: Vec<String> = self
            .stopped
            .iter()
            .take(3)
            .map(|(i, reason)| format!("replication {i} stopped early: {reason}"))
            .collect();
        if self.stopped.len() > 3 {
            partial.push(format!(
                "{} more replications stopped early",
                self.stopped.len() - 3
            ));
        }
        Merged {
            replications: self.n,
            loads: self.loads,
            services: self.services,
            workloads: self.workloads,
            endpoints: self.endpoints,
            capacity: self.capacity,
            queue_growth: self
                .queue_growth
                .into_iter()
                .map(|g| g.unwrap_or((0, 0)))
                .collect(),
            events: self.events,
            requests_created: self.requests_created,
            digest: self.digest,
            window_secs: self.window_secs,
            outcomes: self.outcomes,
            kept: self.kept,
            mesh: self.mesh,
            partial,
            propagation: self.propagation.unwrap_or_default(),
            timeline: self.timeline,
            pod_requests: self.pod_requests,
        }
    }
}

/// The pooled mesh figures, before any replication is added: replication
/// 0's keys and splits, every count zero.
fn mesh_empty(first: &MeshOutcome) -> MeshMerged {
    let mut splits = first.splits.clone();
    for s in &mut splits {
        s.requests = 0;
    }
    MeshMerged {
        routes: first
            .route_keys
            .iter()
            .map(|k| (k.clone(), Stream::empty()))
            .collect(),
        destinations: first
            .dest_keys
            .iter()
            .map(|k| (k.clone(), Stream::empty()))
            .collect(),
        splits,
        route_attempts: vec![0; first.route_attempts.len()],
        route_abandoned: vec![0; first.route_abandoned.len()],
        cluster_stats: vec![Default::default(); first.cluster_stats.len()],
        outlier_stats: vec![Default::default(); first.outlier_stats.len()],
    }
}

fn mesh_add(acc: &mut MeshMerged, m: &MeshOutcome) {
    for (i, (_, s)) in acc.routes.iter_mut().enumerate() {
        s.add(&m.routes[i], 0);
    }
    for (i, (_, s)) in acc.destinations.iter_mut().enumerate() {
        s.add(&m.destinations[i], 0);
    }
    for (s, x) in acc.splits.iter_mut().zip(&m.splits) {
        s.requests += x.requests;
    }
    for (a, b) in acc.route_attempts.iter_mut().zip(&m.route_attempts) {
        *a += b;
    }
    for (a, b) in acc.route_abandoned.iter_mut().zip(&m.route_abandoned) {
        *a += b;
    }
    for (a, b) in acc.cluster_stats.iter_mut().zip(&m.cluster_stats) {
        crate::proxy::breaker::ClusterStats::merge(a, b);
    }
    for (a, b) in acc.outlier_stats.iter_mut().zip(&m.outlier_stats) {
        a.merge(b);
    }
}
