//! Building a replication's World: every pod, Service, load and proxy's
//! run-time state from the scenario (and istiod's compiled `Xds`), the
//! random streams each entity owns (one per purpose and entity, so adding
//! an entity never shifts another's draws), and the first events.
//!
//! Why a file of its own: construction runs once per replication and reads
//! the whole scenario; `world.rs` keeps the state's shape and the event
//! dispatch, which the hot path reads.

use crate::cluster::load_balancer;
use crate::cluster::network::Latency;
use crate::cluster::node::{NO_NODE, NodeIx};
use crate::cluster::pod::Pod;
use crate::cluster::service::BackingIndex;
use crate::cluster::session_affinity::AffinityTable;
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::engine::{EventQueue, SimTime};
use crate::istiod::xds::{ProxyKind, Xds};
use crate::metrics::timeline::{BINS, Timeline};
use crate::metrics::{Recorder, Window};
use crate::scenario::spec::Scenario;
use crate::scenario::spec::ServiceType;
use crate::workload::load::NONE;
use crate::workload::script::Program;
use std::collections::BTreeMap;

use super::{
    DeploymentRt, Event, NO_XDS, Slab, World, endpoint, guard, mesh, propagation, replicaset, twin,
};

impl<'s> World<'s> {
    /// A replication without a mesh (no proxies: traffic as Kubernetes alone).
    pub fn new(spec: &'s Scenario, replication: u64) -> Self {
        World::with_xds(spec, &NO_XDS, replication)
    }

    /// A replication of `spec` whose proxies run `xds` (compiled once per run).
    pub fn with_xds(spec: &'s Scenario, xds: &'s Xds, replication: u64) -> Self {
        let f = RngFactory::new(spec.run.seed, replication);
        let end = SimTime(spec.run.duration.as_nanos());
        let window = Window {
            from: SimTime(spec.run.warmup.as_nanos()),
            to: end,
        };
        let mut pods = Vec::new();
        let mut svc_rng = Vec::new();
        let mut beh_rng = Vec::new();
        let mut kp_rng: Vec<SimRng> = spec
            .loads
            .iter()
            .map(|l| {
                f.of(
                    Purpose::KubeProxy,
                    &format!("load/{}/{}", l.namespace, l.name),
                )
            })
            .collect();
        let mut pods_of_dep: Vec<Vec<u32>> = Vec::new();
        let mut node_of: Vec<NodeIx> = Vec::new();
        let initial = replicaset::initial_replicas(spec);
        for (di, d) in spec.deployments.iter().enumerate() {
            let mut mine = Vec::new();
            for r in 0..d.replicas {
                let key = format!("{}/{}/{}", d.namespace, d.name, r);
                mine.push(pods.len() as u32);
                let mut pod = Pod::new(di as u32, r, d.behaviour.workers);
                let node = spec
                    .network
                    .placement
                    .get(di)
                    .and_then(|p| p.get(r as usize).copied())
                    .unwrap_or(0);
                // Pending pods and pods failing readiness are not endpoints.
                pod.ready = node != NO_NODE
                    && r < d.replicas.saturating_sub(d.behaviour.not_ready)
                    && r < initial[di];
                node_of.push(node);
                pods.push(pod);
                svc_rng.push(f.of(Purpose::ServiceTime, &key));
                beh_rng.push(f.of(Purpose::Behaviour, &key));
                kp_rng.push(f.of(Purpose::KubeProxy, &format!("pod/{key}")));
            }
            pods_of_dep.push(mine);
        }
        let mut deps: Vec<DeploymentRt> = spec
            .deployments
            .iter()
            .map(|d| DeploymentRt {
                program: Program::compile_all(&d.behaviour.script, &d.behaviour.endpoints),
                hold: d.behaviour.hold_worker_during_calls,
                queue_limit: d.behaviour.queue_limit,
                full_status: d.behaviour.queue_full_status,
                error: d.behaviour.error,
                pool_size: d.behaviour.pool_size,
                rare: true, // decided below, once the mesh is known
            })
            .collect();
        let index = BackingIndex::new(&spec.deployments);
        let backing: Vec<Vec<Vec<usize>>> = spec
            .services
            .iter()
            .map(|s| {
                (0..s.ports.len())
                    .map(|pi| index.backing(s, pi, &spec.deployments))
                    .collect()
            })
            .collect();
        let endpoints = backing
            .iter()
            .map(|ports| {
                ports
                    .iter()
                    .map(|deps| {
                        let mut eps: Vec<u32> = deps
                            .iter()
                            .flat_map(|&d| pods_of_dep[d].iter().copied())
                            .filter(|&p| pods[p as usize].ready)
                            .collect();
                        eps.sort_unstable();
                        eps
                    })
                    .collect()
            })
            .collect();
        let net = &spec.network.cluster;
        let lat = Latency::new(net);
        let mut clients: Vec<String> = spec
            .loads
            .iter()
            .map(|l| format!("load/{}/{}", l.namespace, l.name))
            .collect();
        for d in &spec.deployments {
            for r in 0..d.replicas {
                clients.push(format!("pod/{}/{}/{}", d.namespace, d.name, r));
            }
        }
        let net_rng = if lat.is_some() {
            clients.iter().map(|c| f.of(Purpose::Network, c)).collect()
        } else {
            Vec::new()
        };
        let lb_rng = spec
            .loads
            .iter()
            .map(|l| {
                f.of(
                    Purpose::CloudLoadBalancer,
                    &format!("load/{}/{}", l.namespace, l.name),
                )
            })
            .collect();
        let endpoints: Vec<Vec<Vec<u32>>> = endpoints;
        let lb_nodes = spec
            .services
            .iter()
            .enumerate()
            .map(|(si, s)| {
                (0..s.ports.len())
                    .map(|pi| {
                        if s.service_type == ServiceType::LoadBalancer {
                            load_balancer::healthy_nodes(
                                net.nodes.len(),
                                s.net.local,
                                &endpoints[si][pi],
                                &node_of,
                            )
                        } else {
                            Vec::new()
                        }
                    })
                    .collect()
            })
            .collect();
        let affinity = spec
            .services
            .iter()
            .map(|s| {
                (0..s.ports.len())
                    .map(|_| s.net.affinity.map(|_| AffinityTable::new(clients.len())))
                    .collect()
            })
            .collect();
        let n_pods = pods.len();
        let dep_of: Vec<u32> = pods.iter().map(|p| p.deployment).collect();
        let mesh = mesh::MeshRt::new(spec, xds, &f, &node_of, &clients);
        if let Some(m) = &mesh
            && let Some(w) = m.workers
        {
            // A gateway pod's CPU budget: its routing holds one of these.
            for (p, k) in pods.iter_mut().zip(&m.pod_kind) {
                if *k == Some(ProxyKind::Gateway) {
                    p.workers = w;
                }
            }
        }
        let ingress_ctrl = spec.network.ingress_controller.map_or(NONE, |d| d as u32);
        for (i, d) in deps.iter_mut().enumerate() {
            d.rare = i as u32 == ingress_ctrl
                || mesh.is_some()
                || d.error.is_some()
                || d.program.entries.len() > 1;
        }
        let ep = endpoint::EndpointRt::new(spec, &deps, &f);
        let mut w = World {
            ep,
            queue_at_warmup: vec![0; spec.deployments.len()],
            spec,
            xds,
            mesh,
            mix: Vec::new(),
            dep_of,
            q: EventQueue::new(),
            window,
            end,
            pods,
            svc_rng,
            beh_rng,
            kp_rng,
            deps,
            endpoints,
            requests: Slab::new(),
            execs: Slab::new(),
            streams: Slab::new(),
            loads: Vec::new(),
            rec_load: vec![Recorder::with_batch_quantiles(&spec.batch_quantiles); spec.loads.len()],
            rec_svc: vec![
                Recorder::with_batch_quantiles(&spec.batch_quantiles);
                spec.services.len()
            ],
            rec_dep: vec![
                Recorder::with_batch_quantiles(&spec.batch_quantiles);
                spec.deployments.len()
            ],
            headers: vec![Vec::new()],
            header_ix: BTreeMap::new(),
            headers_seen: vec![Vec::new(); spec.deployments.len()],
            next_generation: 0,
            digest: 0,
            events: 0,
            timeline: Timeline {
                bin_ns: (window.to.0 - window.from.0).div_ceil(BINS as u64).max(1),
                loads: vec![Vec::with_capacity(BINS + 1); spec.loads.len()],
                workloads: vec![Vec::with_capacity(BINS + 1); spec.deployments.len()],
            },
            next_sample: 0,
            trace: None,
            picker: None,
            node_of,
            lat,
            net_rng,
            lb_rng,
            lb_nodes,
            affinity,
            ingress_ctrl,
            rr: Vec::new(),
            pools: Vec::new(),
            pool_ix: vec![Vec::new(); n_pods],
            scratch: Vec::new(),
            pod_requests: vec![0; n_pods],
            guard: guard::GuardState::new(spec.loads.len()),
            prop: propagation::PropRt::new(spec.loads.len(), spec.services.len()),
            istio: None,
            life: None,
            hpa: None,
            twin: Vec::new(),
        };
        w.init_lifecycle(&f);
        w.init_autoscale();
        if w.mesh.is_none() && w.life.is_none() {
            w.twin = twin::pairs(&backing, spec.deployments.len());
        }
        w.header_ix.insert(Vec::new(), 0);
        w.start_loads(&f);
        if window.from > SimTime::ZERO {
            w.q.schedule(window.from, Event::WarmupEnd);
        }
        w.q.schedule(window.from, Event::Sample);
        w
    }
}
