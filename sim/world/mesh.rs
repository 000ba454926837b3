//! The mesh's run-time state: which client and pod has which Envoy, each
//! proxy's random streams, its load balancers, the request attributes the
//! proxies route on, and the routing statistics.
//!
//! Why a room of its own: istiod's [`Xds`] is inert config shared by every
//! replication; what changes during a run — a balancer's round-robin position,
//! a proxy's outstanding requests per upstream host, the counters behind
//! `routes` / `destinations` in summary.json — lives here, created only when
//! the scenario has proxies (`World::mesh` is `None` otherwise, so a scenario
//! without Istio pays one branch per hop and allocates nothing per request).
//!
//! Streams: one per (purpose, proxy) — `route-decision/<owner>/<replica>` for
//! weighted-cluster picks, `proxy-lb/…` for balancer picks, `proxy-latency/…`
//! for hop latencies — keyed by names, so adding a proxy moves no one else's
//! numbers. Pod addresses are synthetic but stable (`10.<node>.<x>.<y>`), so a
//! consistent-hash ring is the same in every replication.

use crate::engine::dist::Sampler;
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::istiod::xds::{ClusterKind, ListenerKind, ProxyKind, Xds};
use crate::metrics::Recorder;
use crate::proxy::breaker::{ClusterStats, ResourceManager};
use crate::proxy::lb::prioritized::Prioritized;
use crate::proxy::lb::{HostView, LiveHosts, LoadBalancer, Pick};
use crate::proxy::locality::Locality;
use crate::proxy::outlier::{Detector, OutlierStats};
use crate::proxy::request::Request as Attrs;
use crate::proxy::route::{RouteAction, RouteConfiguration, RouteDecision, Selected};
use crate::scenario::spec::Scenario;
use crate::workload::load::NONE;
use std::collections::BTreeMap;

/// One client proxy's view of one cluster (created on first use): its
/// balancer, and the per-cluster state Envoy keeps per proxy — circuit
/// breakers, cluster counters, outlier detector.
pub(super) struct LbState {
    pub lb: LoadBalancer,
    /// Locality load balancing (priorities, locality weights): when set it
    /// picks instead of `lb`, and the hosts are in its layout's order.
    pub prio: Option<Prioritized>,
    /// Pods (ready endpoints of the cluster), in pod order.
    pub pods: Vec<u32>,
    /// `ip:port` of each host.
    pub addrs: Vec<String>,
    /// This proxy's requests in flight to each host (Envoy `rq_active`).
    pub active: Vec<u32>,
    /// The client (loads, then pods) whose proxy this is, and the cluster.
    pub client: u32,
    pub cluster: u32,
    /// Circuit breakers (`ResourceManager`) and Envoy's cluster counters.
    pub rm: ResourceManager,
    pub stats: ClusterStats,
    /// Outlier detection (None = the cluster has none).
    pub detector: Option<Detector>,
    /// The detector's interval sweep is scheduled.
    pub armed: bool,
    /// Per host: when its current ejection began (None = not ejected).
    pub ejected_since: Vec<Option<crate::engine::SimTime>>,
    /// Counters at the end of warm-up (reports count the window only).
    pub base_stats: ClusterStats,
    pub base_outlier: OutlierStats,
    /// Per host: this proxy's connection pool (empty unless the cluster
    /// sets connection-pool limits, `world/upstream.rs`).
    pub pools: Vec<crate::proxy::conn_pool::ConnPool<u32>>,
    /// Hosts in the proxy's EDS view (indices into `pods`), when pods come
    /// and go during the run (`pod_lifecycle.rs`); None = every host, as
    /// without lifecycle. A host outside it is not in the balancer at all
    /// (not merely unhealthy: it does not count towards panic mode).
    pub members: Option<Vec<u32>>,
    /// With lifecycle and locality load balancing: what re-lays out
    /// `members` (in priority/locality order) when endpoints change.
    pub locality: Option<Box<super::locality::LocalityHosts>>,
    /// A ServiceEntry cluster's per-host sources and readiness.
    pub entry: Option<Box<super::entry_hosts::EntryRt>>,
    /// Per host load-balancing weight (empty = all 1).
    pub weights: Vec<u32>,
}

/// The hosts as a proxy's balancer sees them: address, requests in flight
/// from that proxy, and health (not ejected by its detector).
pub(super) fn host_views<'a>(
    addrs: &'a [String],
    (active, weights): (&[u32], &[u32]),
    detector: Option<&Detector>,
    members: Option<&[u32]>,
) -> Vec<HostView<'a>> {
    let view = |i: usize| HostView {
        address: &addrs[i],
        weight: weights.get(i).copied().unwrap_or(1),
        active_requests: active[i],
        healthy: detector.is_none_or(|d| !d.is_ejected(i)),
    };
    match members {
        None => (0..addrs.len()).map(view).collect(),
        Some(m) => m.iter().map(|&i| view(i as usize)).collect(),
    }
}

impl LbState {
    /// The balancer's pick (the priority one with locality load balancing;
    /// `excluded` = priorities a `previous_priorities` retry skips): an index
    /// into the EDS view when there is one. The hosts are read where the
    /// world keeps them ([`LiveHosts`]), so a pick allocates nothing.
    #[inline]
    pub fn pick(&mut self, hash: Option<u64>, excluded: u64, rng: &mut SimRng) -> Pick {
        let hosts = LiveHosts {
            active: &self.active,
            weights: &self.weights,
            members: self.members.as_deref(),
        };
        match &mut self.prio {
            Some(p) => p.pick(&hosts, hash, 0, excluded, rng),
            None => self.lb.pick(&hosts, hash, rng),
        }
    }

    /// The priority host `host` (an index into `pods`) is in, with
    /// locality load balancing (its position in the EDS view when there
    /// is one).
    pub fn priority_of(&self, host: u32) -> Option<u32> {
        let p = self.prio.as_ref()?;
        let i = match &self.members {
            None => host as usize,
            Some(m) => m.iter().position(|&h| h == host)?,
        };
        Some(p.priority_of(i))
    }

    /// Rebuilds the balancer's host set after a health change (an ejection
    /// or a return): Envoy's balancers pick among the healthy hosts of the
    /// set they were last built with, rebuilt when the priority set changes.
    pub fn refresh_balancer(&mut self) {
        let views = host_views(
            &self.addrs,
            (&self.active, &self.weights),
            self.detector.as_ref(),
            self.members.as_deref(),
        );
        match &mut self.prio {
            Some(p) => p.refresh(&views),
            None => self.lb.refresh(&views),
        }
    }
}

/// Per Service: per port, pods (sorted).
pub(super) type PortPods = Vec<Vec<u32>>;

/// (attributes, route table, virtual host, route, weighted cluster).
pub(super) type RoutedKey = (u32, u32, u32, u32, u32);

/// `[proxy][listener][chain]` → (route stats index or NONE, split index per
/// weighted cluster; empty when the chain has one cluster): a tcp_proxy
/// chain's stats (`tcp_proxy.rs`).
pub(super) type TcpIx = Vec<Vec<Vec<(u32, Vec<u32>)>>>;

/// Run-time mesh state of one replication.
pub(super) struct MeshRt {
    /// Per client (loads, then pods): its proxy (NONE = none).
    pub proxy_of: Vec<u32>,
    /// Per pod: the kind of its proxy, if any.
    pub pod_kind: Vec<Option<ProxyKind>>,
    pub route_rng: Vec<SimRng>,
    pub lb_rng: Vec<SimRng>,
    pub lat_rng: Vec<SimRng>,
    /// Per client proxy: fault-filter draws, retry back-off draws, mirror draws.
    pub fault_rng: Vec<SimRng>,
    pub retry_rng: Vec<SimRng>,
    pub mirror_rng: Vec<SimRng>,
    /// Per-hop latency (None = zero, no draw).
    pub latency: Option<Sampler>,
    /// Per-hop latency on the response path (None = zero, no draw).
    pub response_latency: Option<Sampler>,
    /// Gateway pods' worker budget (None = unbounded).
    pub workers: Option<u32>,
    pub pod_ip: Vec<String>,
    pub lbs: BTreeMap<(u32, u32), u32>,
    pub lb_states: Vec<LbState>,
    /// Interned request attributes (index 0 = an empty GET).
    pub attrs: Vec<Attrs>,
    attr_ix: BTreeMap<(String, String, String, u32), u32>,
    /// (deployment, call, header set) → attributes.
    pub call_attrs: BTreeMap<(u32, u32, u32), u32>,
    /// (attributes, table, vhost, route, weighted cluster) → (attributes, header set)
    /// the next hop sees after rewrites and header operations.
    pub routed: BTreeMap<RoutedKey, (u32, u32)>,
    /// `[table][attributes]`: the route table's virtual host and route for
    /// those attributes (`route::select`, pure), filled on first use; None =
    /// not computed yet.
    selected: Vec<Vec<Option<Selected>>>,
    /// `[table][vhost][route]` → index into `route_keys`.
    pub route_ix: Vec<Vec<Vec<u32>>>,
    pub route_keys: Vec<String>,
    pub rec_route: Vec<Recorder>,
    /// Per cluster → index into `dest_keys`.
    pub dest_ix: Vec<u32>,
    pub dest_keys: Vec<String>,
    pub rec_dest: Vec<Recorder>,
    /// `[table][vhost][route][weighted cluster]` → index into `splits`
    /// (routes with two or more weighted clusters only; NONE otherwise).
    pub split_ix: Vec<Vec<Vec<Vec<u32>>>>,
    pub splits: Vec<Split>,
    /// tcp_proxy chains: `[proxy][listener][chain]` → (route stats index or
    /// NONE, split index per weighted cluster) (`tcp_proxy.rs`).
    pub tcp_ix: TcpIx,
    /// Per route stats index: upstream attempts (first tries and retries)
    /// and attempts abandoned by a timeout while the server still worked.
    pub route_attempts: Vec<u64>,
    pub route_abandoned: Vec<u64>,
    /// Ejection windows: (client, cluster, pod, from, until; None = still
    /// ejected at the end).
    pub ejections: Vec<(
        u32,
        u32,
        u32,
        crate::engine::SimTime,
        Option<crate::engine::SimTime>,
    )>,
    /// Circuit-breaker rejections: (client, cluster, when).
    pub rejections: Vec<(u32, u32, crate::engine::SimTime)>,
}

/// A weighted cluster of a split route: configured weight and what happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    /// `routes` key.
    pub route: String,
    /// `destinations` key of the cluster.
    pub destination: String,
    pub weight: u32,
    /// Σ weights of the route.
    pub total_weight: u64,
    /// Requests the route sent there (inside the window).
    pub requests: u64,
}

/// What a replication measured of the mesh (summary.json `routes`, `destinations`).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct MeshOutcome {
    pub route_keys: Vec<String>,
    pub routes: Vec<Recorder>,
    pub dest_keys: Vec<String>,
    pub destinations: Vec<Recorder>,
    pub splits: Vec<Split>,
    /// Per route: upstream attempts and attempts abandoned by timeouts.
    pub route_attempts: Vec<u64>,
    pub route_abandoned: Vec<u64>,
    /// Per destination: Envoy's cluster counters summed over client proxies.
    pub cluster_stats: Vec<ClusterStats>,
    /// Per destination: outlier detection counters summed over client proxies.
    pub outlier_stats: Vec<OutlierStats>,
}

impl MeshRt {
    /// None when the scenario has no proxy.
    pub fn new(
        spec: &Scenario,
        xds: &Xds,
        f: &RngFactory,
        node_of: &[crate::cluster::node::NodeIx],
        clients: &[String],
    ) -> Option<Box<MeshRt>> {
        if xds.proxies.is_empty() {
            return None;
        }
        let n_loads = spec.loads.len();
        let mut proxy_of = vec![NONE; clients.len()];
        let mut pod_kind = Vec::new();
        for (li, p) in xds.load_proxy.iter().enumerate().take(n_loads) {
            proxy_of[li] = p.unwrap_or(NONE);
        }
        let mut pod = 0usize;
        for (di, d) in spec.deployments.iter().enumerate() {
            let px = xds.deployment_proxy.get(di).copied().flatten();
            for _ in 0..d.replicas {
                proxy_of[n_loads + pod] = px.unwrap_or(NONE);
                pod_kind.push(px.map(|p| xds.proxies[p as usize].kind));
                pod += 1;
            }
        }
        let stream = |p: Purpose| -> Vec<SimRng> { clients.iter().map(|c| f.of(p, c)).collect() };
        let pod_ip = node_of
            .iter()
            .enumerate()
            .map(|(i, &n)| format!("10.{}.{}.{}", n.min(255), (i / 256) % 256, i % 256))
            .collect();
        let mut m = MeshRt {
            proxy_of,
            pod_kind,
            route_rng: stream(Purpose::RouteDecision),
            lb_rng: stream(Purpose::ProxyLoadBalancer),
            lat_rng: stream(Purpose::ProxyLatency),
            fault_rng: stream(Purpose::Fault),
            retry_rng: stream(Purpose::RetryBackoff),
            mirror_rng: stream(Purpose::Mirror),
            latency: spec.istio.proxy.latency.as_ref().map(|d| d.sampler()),
            response_latency: spec
                .istio
                .proxy
                .response_latency
                .as_ref()
                .map(|d| d.sampler()),
            workers: spec.istio.proxy.workers,
            pod_ip,
            lbs: BTreeMap::new(),
            lb_states: Vec::new(),
            attrs: vec![Attrs::get("", "/")],
            attr_ix: BTreeMap::new(),
            call_attrs: BTreeMap::new(),
            routed: BTreeMap::new(),
            selected: Vec::new(),
            route_ix: Vec::new(),
            route_keys: Vec::new(),
            rec_route: Vec::new(),
            dest_ix: Vec::new(),
            dest_keys: Vec::new(),
            rec_dest: Vec::new(),
            split_ix: Vec::new(),
            splits: Vec::new(),
            tcp_ix: Vec::new(),
            route_attempts: Vec::new(),
            route_abandoned: Vec::new(),
            ejections: Vec::new(),
            rejections: Vec::new(),
        };
        m.index_stats(xds);
        Some(Box::new(m))
    }

    /// Dense stats keys: one recorder per distinct route key and cluster
    /// stats key, in first-seen order (identical in every replication).
    fn index_stats(&mut self, xds: &Xds) {
        let mut keys: BTreeMap<String, u32> = BTreeMap::new();
        let mut dkeys: BTreeMap<String, u32> = BTreeMap::new();
        let mut skeys: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for c in &xds.clusters {
            let n = dkeys.len() as u32;
            let i = *dkeys.entry(c.stats_key.clone()).or_insert(n);
            if i == n {
                self.dest_keys.push(c.stats_key.clone());
            }
            self.dest_ix.push(i);
        }
        for t in &xds.route_tables {
            let mut tv = Vec::new();
            let mut ts = Vec::new();
            for (vi, vh) in t.config.virtual_hosts().iter().enumerate() {
                let mut rv = Vec::new();
                let mut rs = Vec::new();
                for (ri, route) in vh.routes.iter().enumerate() {
                    let key = t
                        .route_keys
                        .get(vi)
                        .and_then(|v| v.get(ri))
                        .cloned()
                        .unwrap_or_else(|| format!("{}/{}", vh.name, ri));
                    let k = self.intern_route(&mut keys, &key);
                    rv.push(k);
                    let mut ws = Vec::new();
                    if let RouteAction::Forward { clusters, .. } = &route.action
                        && clusters.clusters().len() > 1
                    {
                        let total = clusters.total_weight();
                        for (wi, wc) in clusters.clusters().iter().enumerate() {
                            let cix = t.clusters[vi][ri][wi];
                            ws.push(self.intern_split(
                                &mut skeys,
                                (k, &key),
                                cix,
                                wc.weight,
                                total,
                            ));
                        }
                    }
                    rs.push(ws);
                }
                tv.push(rv);
                ts.push(rs);
            }
            self.route_ix.push(tv);
            self.split_ix.push(ts);
        }
        self.index_tcp_stats(xds, &mut keys, &mut skeys);
        self.rec_route = vec![Recorder::default(); self.route_keys.len()];
        self.route_attempts = vec![0; self.route_keys.len()];
        self.route_abandoned = vec![0; self.route_keys.len()];
        self.rec_dest = vec![Recorder::default(); self.dest_keys.len()];
    }

    /// Route key `key`'s stats index (a new one the first time it is seen).
    fn intern_route(&mut self, keys: &mut BTreeMap<String, u32>, key: &str) -> u32 {
        let n = keys.len() as u32;
        let k = *keys.entry(key.to_string()).or_insert(n);
        if k == n {
            self.route_keys.push(key.to_string());
        }
        k
    }

    /// The split index of route `(k, key)`'s weighted cluster `cix` (one per
    /// (route, destination stats key), first seen first).
    fn intern_split(
        &mut self,
        skeys: &mut BTreeMap<(u32, u32), u32>,
        (k, key): (u32, &str),
        cix: u32,
        weight: u32,
        total_weight: u64,
    ) -> u32 {
        let d = self.dest_ix[cix as usize];
        let n = self.splits.len() as u32;
        let s = *skeys.entry((k, d)).or_insert(n);
        if s == n {
            self.splits.push(Split {
                route: key.to_string(),
                destination: self.dest_keys[d as usize].clone(),
                weight,
                total_weight,
                requests: 0,
            });
        }
        s
    }

    /// Stats indices of every tcp_proxy chain (`tcp_proxy.rs`), continuing
    /// HTTP's: same route keys, same splits.
    fn index_tcp_stats(
        &mut self,
        xds: &Xds,
        keys: &mut BTreeMap<String, u32>,
        skeys: &mut BTreeMap<(u32, u32), u32>,
    ) {
        for p in &xds.proxies {
            let mut pv = Vec::new();
            for l in &p.listeners {
                let mut lv = Vec::new();
                if let ListenerKind::Tcp { routes } = &l.kind {
                    for tr in routes {
                        let Some(key) = &tr.key else {
                            lv.push((NONE, Vec::new()));
                            continue;
                        };
                        let k = self.intern_route(keys, key);
                        let mut ws = Vec::new();
                        if tr.clusters.len() > 1 {
                            let total: u64 = tr.clusters.iter().map(|&(_, w)| u64::from(w)).sum();
                            for &(cix, w) in &tr.clusters {
                                ws.push(self.intern_split(skeys, (k, key), cix, w, total));
                            }
                        }
                        lv.push((k, ws));
                    }
                }
                pv.push(lv);
            }
            self.tcp_ix.push(pv);
        }
    }

    /// `xxHash64` of client `c`'s IP (Envoy's `useSourceIp` hash: the
    /// address without port, `hash_policy.cc`): a pod's IP; a load's
    /// synthetic `192.0.2.<n>` (TEST-NET-1; loads have no pod).
    pub fn source_ip_hash(&self, c: u32) -> u64 {
        let n_loads = self.proxy_of.len() - self.pod_ip.len();
        let c = c as usize;
        let ip = match c.checked_sub(n_loads) {
            Some(p) => self.pod_ip[p].clone(),
            None => format!("192.0.2.{}", c + 1),
        };
        xxhash_rust::xxh64::xxh64(ip.as_bytes(), 0)
    }

    /// Interns request attributes (method, authority, path, header set).
    pub fn intern(
        &mut self,
        method: &str,
        authority: &str,
        path: &str,
        hs: u32,
        headers: &[(String, String)],
    ) -> u32 {
        let key = (
            method.to_string(),
            authority.to_string(),
            path.to_string(),
            hs,
        );
        if let Some(&i) = self.attr_ix.get(&key) {
            return i;
        }
        let mut a = Attrs::new(method, "http", authority, path);
        for (k, v) in headers {
            a.add_header(k, v);
        }
        let i = self.attrs.len() as u32;
        self.attrs.push(a);
        self.attr_ix.insert(key, i);
        i
    }

    /// The balancer of `client`'s proxy for cluster `cix` (built on first use
    /// over the cluster's ready endpoints); NONE when the cluster has none.
    pub fn lb_for(
        &mut self,
        client: u32,
        cix: u32,
        xds: &Xds,
        (eps, all, dep_of): (&[PortPods], Option<&[PortPods]>, &[u32]),
        (port, now): (u16, crate::engine::SimTime),
        locality: impl FnOnce(&[u32], &[Option<Locality>]) -> Option<super::locality::LocalityHosts>,
    ) -> u32 {
        if let Some(&i) = self.lbs.get(&(client, cix)) {
            return i;
        }
        let c = &xds.clusters[cix as usize];
        // With pods coming and going, every pod that may back the cluster
        // is a host, and `members` says which are in EDS now.
        let Some(set) = super::entry_hosts::host_set(c, eps, all, dep_of) else {
            return NONE;
        };
        let super::entry_hosts::HostSet {
            mut pods,
            mut weights,
            localities,
            entry,
        } = set;
        let hosts = locality(&pods, &localities).filter(|l| l.matters());
        // Without lifecycle the hosts themselves are put in layout order;
        // with it they stay in pod order and the EDS view (`members`) is
        // laid out instead, redone whenever endpoints change.
        let mut layout = None;
        if all.is_none()
            && let Some(h) = &hosts
        {
            let l = h.layout(&(0..pods.len() as u32).collect::<Vec<u32>>());
            pods = l.order.iter().map(|&i| pods[i]).collect();
            if !weights.is_empty() {
                weights = l.order.iter().map(|&i| weights[i]).collect();
            }
            layout = Some(l);
        }
        let members = all.map(|_| {
            let m: Vec<u32> = match &entry {
                Some(e) => e.members(),
                None => {
                    let ClusterKind::Service { service, port, .. } = &c.kind else {
                        unreachable!("host_set answers for Service clusters only")
                    };
                    let ready = &eps[*service][*port];
                    (0..pods.len() as u32)
                        .filter(|&h| ready.binary_search(&pods[h as usize]).is_ok())
                        .collect()
                }
            };
            match &hosts {
                Some(h) => {
                    let l = h.layout(&m);
                    let ordered = l.order.iter().map(|&i| m[i]).collect();
                    layout = Some(l);
                    ordered
                }
                None => m,
            }
        });
        let addrs: Vec<String> = pods
            .iter()
            .map(|&p| format!("{}:{port}", self.pod_ip[p as usize]))
            .collect();
        let weight = |h: usize| weights.get(h).copied().unwrap_or(1);
        let views: Vec<HostView> = match &members {
            None => (0..addrs.len())
                .map(|h| HostView {
                    weight: weight(h),
                    ..HostView::new(&addrs[h])
                })
                .collect(),
            Some(m) => m
                .iter()
                .map(|&h| HostView {
                    weight: weight(h as usize),
                    ..HostView::new(&addrs[h as usize])
                })
                .collect(),
        };
        let rng = &mut self.lb_rng[client as usize];
        let prio = layout.map(|l| Prioritized::new(&c.lb, &views, l.groups, l.weighted, rng));
        // With priorities the plain balancer is never asked: an empty
        // RANDOM one draws nothing.
        let lb = match prio {
            None => LoadBalancer::new(&c.lb, &views, rng),
            Some(_) => LoadBalancer::new(
                &crate::proxy::lb::LbConfig {
                    policy: crate::proxy::lb::LbPolicy::Random,
                    panic_threshold_percent: 0,
                },
                &[],
                rng,
            ),
        };
        let i = self.lb_states.len() as u32;
        let detector = c.outlier.map(|cfg| Detector::new(cfg, pods.len(), now));
        self.lb_states.push(LbState {
            lb,
            prio,
            active: vec![0; pods.len()],
            ejected_since: vec![None; pods.len()],
            pods,
            addrs,
            client,
            cluster: cix,
            rm: ResourceManager::new(c.breakers),
            stats: ClusterStats::default(),
            detector,
            armed: false,
            base_stats: ClusterStats::default(),
            base_outlier: OutlierStats::default(),
            pools: Vec::new(),
            members,
            locality: hosts.filter(|_| all.is_some()).map(Box::new),
            entry: entry.map(Box::new),
            weights,
        });
        self.lbs.insert((client, cix), i);
        i
    }

    /// The ready endpoints of Service `service` port `port` changed to
    /// `ready` (`pod_lifecycle.rs`): every balancer over that port
    /// rebuilds its EDS view (Envoy's priority-set update).
    pub fn endpoints_changed(&mut self, xds: &Xds, service: usize, port: usize, ready: &[u32]) {
        for st in &mut self.lb_states {
            if st.members.is_none() {
                continue;
            }
            let m: Vec<u32> = match &mut st.entry {
                Some(e) => {
                    if !e.update(&st.pods, (service, port), ready) {
                        continue;
                    }
                    e.members()
                }
                None => {
                    let ClusterKind::Service {
                        service: s,
                        port: p,
                        ..
                    } = &xds.clusters[st.cluster as usize].kind
                    else {
                        continue;
                    };
                    if (*s, *p) != (service, port) {
                        continue;
                    }
                    (0..st.pods.len() as u32)
                        .filter(|&h| ready.binary_search(&st.pods[h as usize]).is_ok())
                        .collect()
                }
            };
            let Some(hosts) = &st.locality else {
                if st.members.as_deref() != Some(&m[..]) {
                    st.members = Some(m);
                    st.refresh_balancer();
                }
                continue;
            };
            // istiod's new assignment over the endpoints now in EDS: the
            // priorities and locality groups are redone, and Envoy rebuilds
            // its per-priority balancers.
            let l = hosts.layout(&m);
            let ordered: Vec<u32> = l.order.iter().map(|&i| m[i]).collect();
            if st.members.as_deref() != Some(&ordered[..]) {
                st.members = Some(ordered);
                let views = host_views(
                    &st.addrs,
                    (&st.active, &st.weights),
                    st.detector.as_ref(),
                    st.members.as_deref(),
                );
                let rng = &mut self.lb_rng[st.client as usize];
                st.prio = Some(Prioritized::new(
                    &xds.clusters[st.cluster as usize].lb,
                    &views,
                    l.groups,
                    l.weighted,
                    rng,
                ));
            }
        }
    }

    /// `client`'s proxy routes interned attributes `attrs` with route table
    /// `table` (`config`): `route::decide`, with the draw-free part computed
    /// once per (table, attributes) — the same decision and the same draws.
    pub fn decide(
        &mut self,
        table: u32,
        config: &RouteConfiguration,
        attrs: u32,
        client: u32,
    ) -> RouteDecision {
        let (t, a) = (table as usize, attrs as usize);
        if self.selected.len() <= t {
            self.selected.resize_with(t + 1, Vec::new);
        }
        let row = &mut self.selected[t];
        if row.len() <= a {
            row.resize(a + 1, None);
        }
        let request = &self.attrs[a];
        let sel = *row[a].get_or_insert_with(|| crate::proxy::route::select(config, request));
        let rng = &mut self.route_rng[client as usize];
        crate::proxy::route::decide_selected(config, sel, request, rng)
    }

    /// One of this balancer's requests to `host` is over or reset (Envoy's
    /// `rq_active` drops); NONE = the request had no balancer.
    pub fn release_host(&mut self, lb: u32, host: u32) {
        if lb != NONE {
            let n = &mut self.lb_states[lb as usize].active[host as usize];
            *n = n.saturating_sub(1);
        }
    }

    /// Counts `c` for balancer `lb`'s cluster.
    pub fn count(&mut self, lb: u32, c: crate::proxy::breaker::ClusterCounter) {
        self.lb_states[lb as usize].stats.inc(c);
    }

    /// Warm-up is over: counters restart (snapshots, subtracted at the end).
    pub fn warmup_end(&mut self) {
        for st in &mut self.lb_states {
            st.base_stats = st.stats.clone();
            if let Some(d) = &st.detector {
                st.base_outlier = *d.stats();
            }
        }
    }

    pub fn outcome(self, xds: &Xds) -> MeshOutcome {
        let mut routes = self.rec_route;
        let mut destinations = self.rec_dest;
        for r in routes.iter_mut().chain(&mut destinations) {
            r.finish();
        }
        let mut cluster_stats = vec![ClusterStats::default(); self.dest_keys.len()];
        let mut outlier_stats = vec![OutlierStats::default(); self.dest_keys.len()];
        for st in &self.lb_states {
            let d = self.dest_ix[st.cluster as usize] as usize;
            cluster_stats[d].merge(&st.stats.since(&st.base_stats));
            if let Some(det) = &st.detector {
                outlier_stats[d].merge(&det.stats().since(&st.base_outlier));
            }
        }
        let _ = xds;
        MeshOutcome {
            route_keys: self.route_keys,
            routes,
            dest_keys: self.dest_keys,
            destinations,
            splits: self.splits,
            route_attempts: self.route_attempts,
            route_abandoned: self.route_abandoned,
            cluster_stats,
            outlier_stats,
        }
    }
}
