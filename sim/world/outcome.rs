//! Accounting: what a replication measured, and how it is read off the world.
//!
//! Why a room of its own: every handler records as it goes (recorders, pod
//! stats); this file is where those running counters become results — the
//! timeline snapshots taken at bin boundaries during the run, and the final
//! [`Outcome`], including requests still in flight at the end (so that
//! requests = completed + failed + in flight holds exactly).

use super::{Event, Origin, World};
use crate::engine::SimTime;
use crate::metrics::timeline::{BINS, LoadSnap, Timeline, WorkloadSnap};
use crate::metrics::{Capacity, Recorder, Window};

/// Request headers, lowercased names, sorted.
pub type HeaderSet = Vec<(String, String)>;

/// Results of one replication.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub loads: Vec<Recorder>,
    pub services: Vec<Recorder>,
    pub workloads: Vec<Recorder>,
    pub capacity: Vec<Capacity>,
    /// Requests still open at the end, counted directly from live state
    /// (for the accounting invariant: requests = completed + failed + in flight).
    pub loads_in_flight: Vec<u64>,
    pub services_in_flight: Vec<u64>,
    pub workloads_in_flight: Vec<u64>,
    /// Per workload with endpoint rules: one recorder per rule, `[0]` =
    /// requests no rule matched (empty for the others), and their requests
    /// still at the server at the end.
    pub endpoints: Vec<Vec<Recorder>>,
    pub endpoints_in_flight: Vec<Vec<u64>>,
    /// Per workload: requests waiting in its pods' queues when the window
    /// opened and at the end (`report::overload`).
    pub queue_start: Vec<u64>,
    pub queue_end: Vec<u64>,
    /// Per workload: the header sets its pods received inside the window (sorted,
    /// with counts). Headers only travel today (`forwardHeaders`); this makes
    /// that observable until routing matches on them.
    pub headers_received: Vec<Vec<(HeaderSet, u64)>>,
    /// Requests that arrived at each pod inside the window (pods in deployment order).
    pub pod_requests: Vec<u64>,
    pub events: u64,
    /// Requests created in the whole replication (warm-up included, every
    /// hop, attempt and mirrored copy): the work the events are bounded by.
    pub requests_created: u64,
    /// Rolling digest of (time, seq, kind) of every event: equal digests ⇒ equal runs.
    pub digest: u64,
    pub window: Window,
    pub timeline: Timeline,
    /// Teaching mode: the followed request's steps (empty unless traced).
    pub trace: Vec<String>,
    /// `World::with_picker` runs only: the load's first failed and slowest requests.
    pub picks: Option<super::Picks>,
    /// Routing statistics (None when the scenario has no proxy).
    pub mesh: Option<super::MeshOutcome>,
    /// Set when the run-time guard or the caller stopped the replication
    /// early (`guard.rs`): the counts cover the simulated time until then.
    pub stopped: Option<super::Stopped>,
    /// Failure chains, caller → callee edges (attempts, failures caused or
    /// passed on), breaker rejection windows and ejections (`report::propagation`).
    pub propagation: crate::metrics::propagation::PropagationRecorder,
    /// Istio's request metrics (`World::with_istio_metrics` runs only).
    /// Not serialised (`answers::shard` partials): sweeps do not collect it.
    #[serde(skip)]
    pub istio: Option<Box<crate::metrics::istio::IstioRecorder>>,
    /// What happened to pods, in time order (`pod_lifecycle.rs`; empty
    /// without Chaos Mesh experiments).
    pub pod_events: Vec<super::pod_lifecycle::PodEvent>,
    /// Each HPA's syncs (`autoscale.rs`; empty without one).
    pub autoscale: Vec<super::autoscale::HpaTrace>,
    /// Container restarts per pod (`pod_lifecycle.rs`; only pods that
    /// restarted, in pod order).
    pub pod_restarts: Vec<super::pod_lifecycle::PodRestarts>,
}

impl World<'_> {
    /// Snapshots cumulative counters at a timeline bin boundary and schedules the next.
    pub(super) fn sample(&mut self, t: SimTime) {
        if self.next_sample == 0 {
            for p in &self.pods {
                self.queue_at_warmup[p.deployment as usize] += p.queue.len() as u64;
            }
        }
        for (i, r) in self.rec_load.iter().enumerate() {
            self.timeline.loads[i].push(LoadSnap {
                finished: r.count,
                failed: r.failed,
                latency_sum_ns: r.sum_ns,
            });
        }
        let mut snaps = vec![WorkloadSnap::default(); self.deps.len()];
        for p in &mut self.pods {
            p.touch(t);
            let s = &mut snaps[p.deployment as usize];
            s.busy_ns += p.stats.busy_ns;
            s.queue_ns += p.stats.queue_ns;
        }
        for (i, s) in snaps.into_iter().enumerate() {
            self.timeline.workloads[i].push(s);
        }
        self.next_sample += 1;
        // `--percentile-ci`: the timeline's bins are the window's hundredths,
        // so every fifth sample ends one of the 20 time batches.
        if !self.spec.batch_quantiles.is_empty()
            && (self.next_sample as usize - 1).is_multiple_of(BINS / crate::metrics::BATCHES)
            && self.next_sample > 1
        {
            for r in self
                .rec_load
                .iter_mut()
                .chain(&mut self.rec_svc)
                .chain(&mut self.rec_dep)
            {
                r.close_batch();
            }
        }
        let next = SimTime(self.window.from.0 + self.next_sample as u64 * self.timeline.bin_ns);
        if (self.next_sample as usize) < BINS && next < self.end {
            self.q.schedule(next, Event::Sample);
        }
    }

    pub(super) fn finish(mut self) -> Outcome {
        let end = self.end;
        let propagation = self.propagation_outcome();
        let (pod_events, pod_restarts) = self.life.take().map(|l| l.finish()).unwrap_or_default();
        for r in self
            .rec_load
            .iter_mut()
            .chain(&mut self.rec_svc)
            .chain(&mut self.rec_dep)
            .chain(self.ep.rec.iter_mut().flatten())
        {
            r.finish(); // last time batch, histogram growth slack (metrics::Recorder)
        }
        self.copy_twins();
        let mut capacity: Vec<Capacity> = self
            .spec
            .deployments
            .iter()
            .map(|d| Capacity {
                pods: d.replicas,
                workers: d.behaviour.workers,
                window_ns: (self.window.to.0 - self.window.from.0) as u128,
                ..Capacity::default()
            })
            .collect();
        for p in &mut self.pods {
            p.touch(end);
            let c = &mut capacity[p.deployment as usize];
            c.busy_ns += p.stats.busy_ns;
            c.queue_ns += p.stats.queue_ns;
            c.queue_max = c.queue_max.max(p.stats.queue_max);
            c.queue_full += p.stats.queue_full;
            c.call_timeouts += p.stats.call_timeouts;
        }
        let mut loads_in_flight = vec![0u64; self.spec.loads.len()];
        let mut services_in_flight = vec![0u64; self.spec.services.len()];
        let mut workloads_in_flight = vec![0u64; self.spec.deployments.len()];
        for r in self.requests.items.iter().filter(|r| r.live) {
            if let Origin::Load { load, .. } = r.origin
                && r.counted_client
            {
                loads_in_flight[load as usize] += 1;
            }
            if r.at_server && r.counted_server {
                services_in_flight[r.target.service] += 1;
                workloads_in_flight[self.pods[r.pod as usize].deployment as usize] += 1;
            }
        }
        // Requests waiting at an open-loop client for a connection are in flight too.
        for (li, l) in self.loads.iter().enumerate() {
            loads_in_flight[li] += l
                .waiting
                .iter()
                .filter(|&&t| self.window.contains(t))
                .count() as u64;
        }
        let headers_received = self
            .headers_seen
            .iter()
            .map(|seen| {
                let mut v: Vec<(HeaderSet, u64)> = seen
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(i, n)| (self.headers[i].clone(), *n))
                    .collect();
                v.sort();
                v
            })
            .collect();
        let endpoints_in_flight = self.endpoints_in_flight();
        let mut queue_end = vec![0u64; self.spec.deployments.len()];
        for p in &self.pods {
            queue_end[p.deployment as usize] += p.queue.len() as u64;
        }
        Outcome {
            endpoints: std::mem::take(&mut self.ep.rec),
            endpoints_in_flight,
            queue_start: self.queue_at_warmup,
            queue_end,
            headers_received,
            loads: self.rec_load,
            services: self.rec_svc,
            workloads: self.rec_dep,
            capacity,
            loads_in_flight,
            services_in_flight,
            workloads_in_flight,
            pod_requests: self.pod_requests,
            events: self.events,
            requests_created: self.requests.created,
            digest: self.digest,
            window: self.window,
            timeline: self.timeline,
            trace: self.trace.map(|t| t.lines).unwrap_or_default(),
            picks: self.picker.map(|p| p.picks),
            mesh: self.mesh.map(|m| m.outcome(self.xds)),
            stopped: self.guard.stopped,
            // filled by the world
            propagation,
            istio: self.istio,
            pod_events,
            pod_restarts,
            autoscale: self.hpa.map(|h| h.traces()).unwrap_or_default(),
        }
    }
}
