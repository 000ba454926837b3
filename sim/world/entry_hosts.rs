//! The hosts of one client proxy's balancer for a cluster, and which of
//! them are in its EDS view: a Service's ready pods, or a ServiceEntry's
//! endpoint groups ([`crate::istiod::entry_endpoints`]) — pods of several
//! Services (stand-ins, or the Services behind pods a `workloadSelector`
//! chose), each group with its weight and locality.
//!
//! Why a room of its own: `mesh.rs` builds and refreshes balancers; what
//! their host set is and when a host counts as "in EDS" is this file's one
//! concept, shared by the build (`MeshRt::lb_for`) and the endpoint updates
//! (`MeshRt::endpoints_changed`).

use crate::istiod::xds::{Cluster, ClusterKind};
use crate::proxy::locality::Locality;

/// Run-time bookkeeping of a ServiceEntry cluster's hosts.
#[derive(Clone, Debug)]
pub(super) struct EntryRt {
    /// Per host: the (Service, port index) whose endpoints list it.
    pub src: Vec<(usize, usize)>,
    /// Per host: in that Service port's ready endpoints now.
    pub ready: Vec<bool>,
    /// LOGICAL_DNS: only the first ready host is used.
    pub first_only: bool,
}

impl EntryRt {
    /// Hosts in EDS: the ready ones (only the first with LOGICAL_DNS).
    pub fn members(&self) -> Vec<u32> {
        let it = (0..self.ready.len() as u32).filter(|&h| self.ready[h as usize]);
        if self.first_only {
            it.take(1).collect()
        } else {
            it.collect()
        }
    }

    /// Service `service` port `port` now lists `ready`: updates its hosts'
    /// readiness; false when nothing changed.
    pub fn update(&mut self, pods: &[u32], (service, port): (usize, usize), ready: &[u32]) -> bool {
        let mut changed = false;
        for (h, &s) in self.src.iter().enumerate() {
            if s != (service, port) {
                continue;
            }
            let r = ready.binary_search(&pods[h]).is_ok();
            changed |= self.ready[h] != r;
            self.ready[h] = r;
        }
        changed
    }
}

/// A balancer's hosts before any layout.
pub(super) struct HostSet {
    pub pods: Vec<u32>,
    /// Per host weight (empty = all 1).
    pub weights: Vec<u32>,
    /// Per host locality given by a ServiceEntry endpoint (None = its node's).
    pub localities: Vec<Option<Locality>>,
    pub entry: Option<EntryRt>,
}

/// The hosts of cluster `c` (None when it has no endpoints to balance):
/// every pod that may back it (`all` with lifecycle, else the ready ones
/// `eps`), readiness from `eps` (per Service, per port: pods, sorted).
pub(super) fn host_set(
    c: &Cluster,
    eps: &[Vec<Vec<u32>>],
    all: Option<&[Vec<Vec<u32>>]>,
    dep_of: &[u32],
) -> Option<HostSet> {
    let ClusterKind::Service {
        service,
        port,
        deployments,
    } = &c.kind
    else {
        return None;
    };
    let lists = all.unwrap_or(eps);
    let of = |s: usize, p: usize, deps: &[usize]| -> Vec<u32> {
        lists[s][p]
            .iter()
            .copied()
            .filter(|&pod| deps.iter().any(|&d| d as u32 == dep_of[pod as usize]))
            .collect()
    };
    let Some(e) = &c.entry else {
        return Some(HostSet {
            pods: of(*service, *port, deployments),
            weights: Vec::new(),
            localities: Vec::new(),
            entry: None,
        });
    };
    let mut hs = HostSet {
        pods: Vec::new(),
        weights: Vec::new(),
        localities: Vec::new(),
        entry: None,
    };
    let mut src = Vec::new();
    for g in &e.groups {
        for pod in of(g.service, g.port, &g.deployments) {
            // The same pod through two endpoints is two hosts in Envoy too.
            hs.pods.push(pod);
            hs.weights.push(g.weight);
            hs.localities.push(g.locality.clone());
            src.push((g.service, g.port));
        }
    }
    if all.is_none() && e.first_only {
        // LOGICAL_DNS without pods changing: the first address, for good.
        hs.pods.truncate(1);
        hs.weights.truncate(1);
        hs.localities.truncate(1);
        src.truncate(1);
    }
    if hs.weights.iter().all(|&w| w == 1) {
        hs.weights.clear();
    }
    let ready = hs
        .pods
        .iter()
        .zip(&src)
        .map(|(p, &(s, pt))| eps[s][pt].binary_search(p).is_ok())
        .collect();
    hs.entry = Some(EntryRt {
        src,
        ready,
        first_only: e.first_only,
    });
    Some(hs)
}
