//! Istio's standard metrics, as the simulated proxies would report them
//! (`metrics::istio` holds the counters; `report::openmetrics` writes them).
//!
//! Why here: the reports need who-is-who at the moment a request finishes
//! (which client's proxy, which pod answered, whether each side has an
//! Envoy), which only the world knows. Four places report, each behind one
//! `if self.istio.is_some()` so a run without the export pays one branch:
//! * a client proxy's router answers its downstream request (`stream_done`):
//!   `source`, after retries, with the final code and flags;
//! * a sidecar answers a request itself (NR, 502 `block_all`, …:
//!   `local_answer`) and a gateway does (`gateway_route`): `source` only,
//!   destination unknown, `destination_service` = the Host header;
//! * a server sidecar's pod answers (`server_done`): `destination`.
//!
//! Not reported: PassthroughCluster traffic (Istio counts original-destination
//! TCP as `istio_tcp_*`), ingress-nginx (no Envoy).

use super::World;
use crate::engine::{SimDuration, SimTime};
use crate::istiod::xds::ProxyKind;
use crate::metrics::istio::{DestService, IstioRecorder, Party, Report, Reporter};
use crate::proxy::flags::ResponseFlags;
use crate::workload::load::NONE;

impl World<'_> {
    /// Also collects Istio's request metrics (`Outcome::istio`); the run is
    /// otherwise identical.
    pub fn with_istio_metrics(mut self) -> Self {
        self.istio = Some(Box::new(IstioRecorder::new(self.end.0)));
        self
    }

    /// Client index (loads, then pods) → the party Istio names, and whether
    /// it has an Envoy.
    fn istio_party(&self, client: u32) -> (Party, bool) {
        let meshed = self.client_proxy(client) != NONE;
        let n = self.spec.loads.len() as u32;
        if client < n {
            (Party::Load(client), meshed)
        } else {
            let pod = (client - n) as usize;
            (Party::Workload(self.pods[pod].deployment), meshed)
        }
    }

    /// Pod `pod` (NONE = none) as an upstream peer.
    fn istio_peer(&self, pod: u32) -> (Party, bool) {
        if pod == NONE {
            return (Party::Unknown, false);
        }
        let meshed = self
            .mesh
            .as_ref()
            .is_some_and(|m| m.pod_kind[pod as usize].is_some());
        (Party::Workload(self.pods[pod as usize].deployment), meshed)
    }

    /// The proxy of `client` answered a downstream request with `status`
    /// (+ `flags`) after it went to `pod` (NONE: no upstream host) of
    /// `service`; it had arrived at `start`, the answer leaves at `at`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn istio_source(
        &mut self,
        client: u32,
        pod: u32,
        service: DestService,
        status: u16,
        flags: ResponseFlags,
        start: SimTime,
        at: SimTime,
    ) {
        let (source, source_meshed) = self.istio_party(client);
        let (destination, destination_meshed) = self.istio_peer(pod);
        let key = Report {
            reporter: Reporter::Source,
            source,
            source_meshed,
            destination,
            destination_meshed,
            service,
            code: status,
            flags,
        };
        if let Some(r) = &mut self.istio {
            r.record(key, at, at.saturating_since(start).as_nanos());
        }
    }

    /// The proxy of `client` answers request `r` itself after `delay` (no
    /// upstream): `destination_service` is its Host header.
    pub(super) fn istio_local(
        &mut self,
        r: u32,
        client: u32,
        status: u16,
        flags: ResponseFlags,
        delay: SimDuration,
    ) {
        let req = self.requests.items[r as usize];
        let host = match &self.mesh {
            Some(m) => m.attrs[req.attrs as usize].authority.clone(),
            None => return,
        };
        let Some(rec) = &mut self.istio else { return };
        let h = rec.host(&host);
        let service = DestService::Host(h);
        let now = self.now();
        self.istio_source(client, NONE, service, status, flags, now, now + delay);
    }

    /// Request `r` is answered at its pod: its sidecar (if any) reports
    /// `destination` (server-side time: arrival at the pod → answer).
    pub(super) fn istio_destination(&mut self, r: u32, status: u16) {
        let req = self.requests.items[r as usize];
        let sidecar = self
            .mesh
            .as_ref()
            .is_some_and(|m| m.pod_kind[req.pod as usize] == Some(ProxyKind::Sidecar));
        if !sidecar {
            return;
        }
        let (source, source_meshed) = if req.client == NONE {
            (Party::Unknown, false)
        } else {
            match self.istio_party(req.client) {
                (_, false) => (Party::Unknown, false),
                p => p,
            }
        };
        let destination = Party::Workload(self.pods[req.pod as usize].deployment);
        let key = Report {
            reporter: Reporter::Destination,
            source,
            source_meshed,
            destination,
            destination_meshed: true,
            service: DestService::Service(req.target.service as u32),
            code: status,
            flags: ResponseFlags::NONE,
        };
        let now = self.now();
        if let Some(rec) = &mut self.istio {
            rec.record(key, now, now.saturating_since(req.arrive).as_nanos());
        }
    }
}
