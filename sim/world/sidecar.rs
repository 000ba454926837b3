//! The Istio sidecar hop: a meshed client's outbound Envoy, and the inbound
//! hop in front of a meshed server.
//!
//! Outbound ([`World::outbound`]): instead of kube-proxy's per-connection
//! pick, the app's request goes to its local Envoy, which finds the listener
//! for the destination Service port, decides the route over the request's
//! attributes (`proxy::route::decide`: virtual host by authority, first
//! matching route, weighted cluster), applies rewrites and header operations
//! for the next hop, and load-balances **per request** over the ready pods of
//! the cluster with one balancer per (client proxy, cluster), its
//! `active_requests` this proxy's own outstanding requests to each pod. No
//! conntrack pinning and no handshake: Envoy keeps warm upstream pools
//! (the app's `poolSize` keep-alive model does not apply to meshed calls).
//! What Envoy answers itself (404 NR, 503 NC / UH, redirects, direct
//! responses) completes after the outbound hop without touching any pod.
//! `Passthrough` sends the request where the app dialled it, through
//! kube-proxy as without a mesh. A TCP/TLS port's listener is a tcp_proxy
//! (`tcp_proxy.rs`): per connection, not per HTTP request.
//!
//! Inbound ([`World::inbound_hop`]): a request reaching a pod with a sidecar
//! passes one more proxy hop before admission to the app's workers; its
//! latency joins the network path, so the whole way there is one event.
//!
//! Events per request through a client sidecar and a server sidecar: the
//! client's send (1: load arrival / the caller's compute end), `Deliver` (1:
//! outbound hop + network + inbound hop), the server's compute (1 per step),
//! `Respond` (1): four for a one-step server, within issue 8's budget of 8.

use super::mesh::MeshRt;
use super::{Event, World};
use crate::engine::SimDuration;
use crate::istiod::xds::{ClusterKind, ListenerKind, OutboundPolicy, ProxyKind};
use crate::proxy::flags::{ResponseFlag, ResponseFlags};
use crate::proxy::lb::Pick;
use crate::proxy::lb::hash_policy::hash_key;
use crate::proxy::route::describe::describe_match;
use crate::proxy::route::{self, RouteDecision};
use crate::scenario::spec::{EntryKind, Target};
use crate::workload::load::NONE;

/// Where a routed request goes next.
pub(super) enum Routed {
    /// To cluster `cluster` (endpoints of `target`) through the router
    /// (`router.rs`: fault filter, attempts, retries, timeouts), balanced by
    /// `lb`, with the attributes and header set the next hop sees; `policy`
    /// is the route's (table, virtual host, route).
    Upstream {
        cluster: u32,
        target: Target,
        lb: u32,
        attrs: u32,
        headers: u32,
        policy: (u32, u32, u32),
    },
    /// Original destination (PassthroughCluster): kube-proxy as without a mesh.
    Passthrough,
    /// Envoy answers itself.
    Local { status: u16, flags: ResponseFlags },
}

/// A routing result and the stats it is counted under (NONE = none).
pub(super) struct RouteResult {
    pub routed: Routed,
    pub route: u32,
    pub dest: u32,
}

impl World<'_> {
    /// The proxy of client `client` (loads, then pods), NONE without one.
    #[inline]
    pub(super) fn client_proxy(&self, client: u32) -> u32 {
        match &self.mesh {
            Some(m) => m.proxy_of[client as usize],
            None => NONE,
        }
    }

    /// Whether `pod` is a gateway's Envoy.
    #[inline]
    pub(super) fn is_gateway(&self, pod: u32) -> bool {
        pod != NONE
            && self
                .mesh
                .as_ref()
                .is_some_and(|m| m.pod_kind[pod as usize] == Some(ProxyKind::Gateway))
    }

    /// Interned attributes of a request (0 without a mesh: nothing stored).
    pub(super) fn intern_attrs(&mut self, method: &str, host: &str, path: &str, hs: u32) -> u32 {
        let Some(m) = &mut self.mesh else {
            return 0;
        };
        m.intern(method, host, path, hs, &self.headers[hs as usize])
    }

    /// Attributes of call `ci` of deployment `dep` with header set `hs`.
    pub(super) fn call_attrs(&mut self, dep: u32, ci: u32, hs: u32) -> u32 {
        if let Some(m) = &self.mesh
            && let Some(&a) = m.call_attrs.get(&(dep, ci, hs))
        {
            return a;
        }
        let c = &self.deps[dep as usize].program.calls[ci as usize];
        let (method, authority, path) = (c.method.clone(), c.authority.clone(), c.path.clone());
        let a = self.intern_attrs(&method, &authority, &path, hs);
        if let Some(m) = &mut self.mesh {
            m.call_attrs.insert((dep, ci, hs), a);
        }
        a
    }

    /// One proxy hop's latency, drawn from proxy `client`'s stream.
    #[inline]
    pub(super) fn proxy_delay(&mut self, client: u32) -> SimDuration {
        if let Some(m) = &mut self.mesh
            && let Some(s) = &m.latency
        {
            return s.sample(&mut m.lat_rng[client as usize]);
        }
        SimDuration::ZERO
    }

    /// One proxy hop's latency on the response path (`mesh.proxy.responseLatency`),
    /// drawn from proxy `client`'s stream; zero (no draw) when unset.
    #[inline]
    pub(super) fn proxy_response_delay(&mut self, client: u32) -> SimDuration {
        if let Some(m) = &mut self.mesh
            && let Some(s) = &m.response_latency
        {
            return s.sample(&mut m.lat_rng[client as usize]);
        }
        SimDuration::ZERO
    }

    /// The response of request `r` leaves its pod through the pod's inbound
    /// sidecar, if it has one: that hop's response-path latency.
    pub(super) fn inbound_response_hop(&mut self, r: u32) -> SimDuration {
        let Some(m) = &self.mesh else {
            return SimDuration::ZERO;
        };
        if m.response_latency.is_none() {
            return SimDuration::ZERO;
        }
        let pod = self.requests.items[r as usize].pod;
        if pod == NONE || m.pod_kind[pod as usize] != Some(ProxyKind::Sidecar) {
            return SimDuration::ZERO;
        }
        let client = (self.spec.loads.len() + pod as usize) as u32;
        self.proxy_response_delay(client)
    }

    /// The proxy latency still owed on the way to request `r`'s pod: what its
    /// client proxy added (`hop`), plus the inbound sidecar of the pod.
    pub(super) fn inbound_hop(&mut self, r: u32) -> SimDuration {
        let req = &mut self.requests.items[r as usize];
        let mut d = std::mem::take(&mut req.hop);
        let pod = req.pod;
        let sidecar = self
            .mesh
            .as_ref()
            .is_some_and(|m| m.pod_kind[pod as usize] == Some(ProxyKind::Sidecar));
        if sidecar {
            let client = (self.spec.loads.len() + pod as usize) as u32;
            d = d + self.proxy_delay(client);
        }
        d
    }

    /// Request `r` (pod not chosen yet) leaves its client through the client's
    /// sidecar (see the module docs).
    pub(super) fn outbound(&mut self, r: u32) {
        let req = self.requests.items[r as usize];
        let client = req.client;
        let xds = self.xds;
        let proxy = &xds.proxies[self.client_proxy(client) as usize];
        let svc = &self.spec.services[req.target.service];
        let port = svc.ports[req.target.port].port;
        let delay = self.proxy_delay(client);
        let li = proxy.listeners.iter().position(|l| l.port == port);
        let listener = li.map(|i| &proxy.listeners[i]);
        let result = match listener.map(|l| &l.kind) {
            Some(ListenerKind::Http { routes, .. }) => {
                let who = if req.traced {
                    format!("sidecar of {}: listener {port}", self.client_name(client))
                } else {
                    String::new()
                };
                self.route_http(r, *routes, client, req.start, &who)
            }
            Some(ListenerKind::Closed) => RouteResult {
                routed: Routed::Local {
                    status: 0,
                    flags: ResponseFlag::NoRouteFound.into(),
                },
                route: NONE,
                dest: NONE,
            },
            Some(ListenerKind::Tcp { .. }) => {
                let who = if req.traced {
                    format!("sidecar of {}: listener {port}", self.client_name(client))
                } else {
                    String::new()
                };
                let pi = self.client_proxy(client);
                let li = li.expect("listener");
                self.route_tcp(r, client, (pi, li), req.start, &who)
            }
            // A port without a listener: the original destination
            // (ALLOW_ANY) or the block_all virtual host's 502 (REGISTRY_ONLY).
            None => RouteResult {
                routed: match proxy.outbound {
                    OutboundPolicy::AllowAny => Routed::Passthrough,
                    OutboundPolicy::RegistryOnly => Routed::Local {
                        status: 502,
                        flags: ResponseFlags::NONE,
                    },
                },
                route: NONE,
                dest: NONE,
            },
        };
        let q = &mut self.requests.items[r as usize];
        q.route = result.route;
        q.dest = result.dest;
        match result.routed {
            Routed::Upstream { .. } => {
                // The router records the route's stats (attempts, flags).
                q.route = NONE;
                q.dest = NONE;
                let stats = (result.route, result.dest);
                self.start_router(r, client, result.routed, stats, delay, false);
            }
            Routed::Passthrough => {
                let (pod, via) = self.open_conn(
                    req.target,
                    client as usize,
                    EntryKind::ClusterIP,
                    req.from,
                    false,
                );
                let q = &mut self.requests.items[r as usize];
                q.pod = pod;
                q.via = via;
                q.hop = delay;
                if req.traced {
                    let msg = self.describe_conn(pod, via, true, req.target);
                    self.trace_log(
                        r,
                        format!("PassthroughCluster (original destination): {msg}"),
                    );
                }
                if pod == NONE {
                    self.local_answer(r, 0, ResponseFlag::NoHealthyUpstream.into(), delay);
                    return;
                }
                self.dispatch(r, true);
            }
            Routed::Local { status, flags } => {
                if self.istio.is_some() {
                    self.istio_local(r, client, status, flags, delay);
                }
                self.local_answer(r, status, flags, delay)
            }
        }
    }

    /// The client's own proxy answers `r` after `delay` (no pod involved).
    fn local_answer(&mut self, r: u32, status: u16, flags: ResponseFlags, delay: SimDuration) {
        if crate::metrics::is_failure(status) {
            let svc = self.requests.items[r as usize].target.service as u32;
            let cause = super::propagation::flags_cause(flags);
            let node = crate::metrics::propagation::Node::Service(svc);
            let c = self.chain(node, status, &cause, NONE);
            self.requests.items[r as usize].chain = c;
        }
        let q = &mut self.requests.items[r as usize];
        q.flags = flags;
        q.pod = NONE;
        if q.traced {
            let msg = format!("the sidecar answers {status} itself (flags {flags})");
            self.trace_log(r, msg);
        }
        if delay > SimDuration::ZERO {
            let t = self.now() + delay;
            self.q.schedule(t, Event::Respond { req: r, status });
        } else {
            self.complete(r, status);
        }
    }

    /// `loadName` or the pod name of a client index.
    pub(super) fn client_name(&self, client: u32) -> String {
        let n = self.spec.loads.len() as u32;
        if client < n {
            format!("load {}", self.spec.loads[client as usize].name)
        } else {
            self.pod_name(client - n)
        }
    }

    /// Envoy's HTTP routing of request `r` with route table `table` by the
    /// proxy of client `client` (a sidecar's or a gateway pod's): decision,
    /// rewrites, cluster, balancer pick. Counts the route and destination
    /// when `start` is inside the window.
    pub(super) fn route_http(
        &mut self,
        r: u32,
        table: u32,
        client: u32,
        start: crate::engine::SimTime,
        who: &str,
    ) -> RouteResult {
        let xds = self.xds;
        let rt = &xds.route_tables[table as usize];
        let req = self.requests.items[r as usize];
        let counted = self.window.contains(start);
        let m = self.mesh.as_mut().expect("routing needs the mesh");
        let decision = m.decide(table, &rt.config, req.attrs, client);
        let vhosts = rt.config.virtual_hosts();
        let (route_ix, routed, flags_note) = match decision {
            RouteDecision::Forward {
                vhost,
                route: ri,
                cluster: wi,
            } => {
                let rix = m.route_ix[table as usize][vhost][ri];
                if counted {
                    let s = m.split_ix[table as usize][vhost][ri].get(wi).copied();
                    if let Some(s) = s {
                        m.splits[s as usize].requests += 1;
                    }
                }
                let cix = rt.clusters[vhost][ri][wi];
                (rix, Some((vhost, ri, wi, cix)), None)
            }
            RouteDecision::TlsRedirect { .. } => (NONE, None, Some((301, ResponseFlags::NONE))),
            RouteDecision::NoVirtualHost | RouteDecision::NoRoute { .. } => {
                (NONE, None, Some((404, ResponseFlag::NoRouteFound.into())))
            }
            RouteDecision::Redirect {
                vhost,
                route: ri,
                status,
                ..
            }
            | RouteDecision::DirectResponse {
                vhost,
                route: ri,
                status,
            } => (
                m.route_ix[table as usize][vhost][ri],
                None,
                Some((status, ResponseFlags::NONE)),
            ),
        };
        if counted && route_ix != NONE {
            m.rec_route[route_ix as usize].requests += 1;
        }
        if req.traced {
            let msg = describe_decision(who, &decision, rt, m, &req);
            self.trace_log(r, msg);
        }
        if let Some((status, flags)) = flags_note {
            return RouteResult {
                routed: Routed::Local { status, flags },
                route: route_ix,
                dest: NONE,
            };
        }
        let (vhost, ri, wi, cix) = routed.expect("forward");
        let m = self.mesh.as_mut().expect("mesh");
        let dest = m.dest_ix[cix as usize];
        if counted {
            m.rec_dest[dest as usize].requests += 1;
        }
        let cluster = &xds.clusters[cix as usize];
        let (service, sport) = match &cluster.kind {
            ClusterKind::Service { service, port, .. } => (*service, *port),
            ClusterKind::Passthrough => {
                return RouteResult {
                    routed: Routed::Passthrough,
                    route: route_ix,
                    dest,
                };
            }
            ClusterKind::BlackHole => {
                return self.local(route_ix, dest, 503, ResponseFlag::NoHealthyUpstream);
            }
            ClusterKind::Missing => {
                if req.traced {
                    let msg = format!("cluster {} does not exist → 503 NC", cluster.name);
                    self.trace_log(r, msg);
                }
                return self.local(route_ix, dest, 503, ResponseFlag::NoClusterFound);
            }
        };
        // The next hop's view of the request: rewrites and header operations.
        let key = (req.attrs, table, vhost as u32, ri as u32, wi as u32);
        let (attrs, headers) = match m.routed.get(&key) {
            Some(&v) => v,
            None => {
                let route = &vhosts[vhost].routes[ri];
                let mut a = m.attrs[req.attrs as usize].clone();
                route::apply_rewrite(route, &mut a);
                route::apply_request_headers(route, wi, &mut a);
                let v = if a == m.attrs[req.attrs as usize] {
                    (req.attrs, req.headers)
                } else {
                    let hs: Vec<(String, String)> = a
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    let (method, auth, path) = (
                        a.method.clone(),
                        a.authority.clone(),
                        a.path_and_query.clone(),
                    );
                    let h = self.intern_headers(hs);
                    let ai = self.intern_attrs(&method, &auth, &path, h);
                    (ai, h)
                };
                self.mesh.as_mut().expect("mesh").routed.insert(key, v);
                v
            }
        };
        let lbi = self.balancer_for(client, cix, service, sport);
        RouteResult {
            routed: Routed::Upstream {
                cluster: cix,
                target: Target {
                    service,
                    port: sport,
                },
                lb: lbi,
                attrs,
                headers,
                policy: (table, vhost as u32, ri as u32),
            },
            route: route_ix,
            dest,
        }
    }

    /// The balancer of `client`'s proxy for cluster `cix` (Service `service`
    /// port `port`), built on first use with its outlier sweeps armed; NONE
    /// when the cluster has no endpoints.
    pub(super) fn balancer_for(
        &mut self,
        client: u32,
        cix: u32,
        service: usize,
        port: usize,
    ) -> u32 {
        let target_port = self.pod_port(service, port);
        let now = self.now();
        let xds = self.xds;
        let (spec, node_of, dep_of) = (self.spec, &self.node_of, &self.dep_of);
        let m = self.mesh.as_mut().expect("mesh");
        let all = self.life.as_ref().map(|l| &l.all[..]);
        let lbi = m.lb_for(
            client,
            cix,
            xds,
            (&self.endpoints, all, &self.dep_of),
            (target_port, now),
            |pods, localities| {
                let policy = xds.clusters[cix as usize].locality.as_ref()?;
                let me = super::locality::client_placement(spec, node_of, dep_of, client);
                Some(super::locality::LocalityHosts::new(
                    spec,
                    policy,
                    (me.0, &me.1),
                    (pods, localities),
                    node_of,
                    dep_of,
                ))
            },
        );
        if lbi != NONE {
            self.arm_outlier(lbi);
        }
        lbi
    }

    fn local(&self, route: u32, dest: u32, status: u16, flag: ResponseFlag) -> RouteResult {
        RouteResult {
            routed: Routed::Local {
                status,
                flags: flag.into(),
            },
            route,
            dest,
        }
    }

    /// The port a pod of `service` listens on for Service port `port`
    /// (a named targetPort counts as the Service port).
    pub(super) fn pod_port(&self, service: usize, port: usize) -> u16 {
        let p = &self.spec.services[service].ports[port];
        match p.target_port {
            crate::scenario::spec::TargetPort::Number(n) => n,
            crate::scenario::spec::TargetPort::Name(_) => p.port,
        }
    }

    /// A request a proxy handled completes: its balancer's `active_requests`
    /// drops, and its route and destination record it.
    pub(super) fn mesh_complete(&mut self, req: &super::Request, status: u16) {
        let now = self.now();
        let counted = self.window.contains(req.start);
        let b = self.window.batch(req.start);
        let Some(m) = &mut self.mesh else { return };
        m.release_host(req.lb, req.lb_host);
        if !counted {
            return;
        }
        let lat = now.saturating_since(req.start).as_nanos();
        if req.route != NONE {
            let rec = &mut m.rec_route[req.route as usize];
            rec.record(b, lat, status);
            rec.count_flags(req.flags);
        }
        if req.dest != NONE {
            let rec = &mut m.rec_dest[req.dest as usize];
            rec.record(b, lat, status);
            rec.count_flags(req.flags);
        }
    }
}

/// The balancer's pick for `client`'s proxy serving downstream `src`
/// (clients: loads, then pods): (host, pod, candidates), None = no host (UH).
/// Hosts outlier detection ejected are unhealthy (panic mode is the
/// balancer's call).
pub(super) fn pick(
    m: &mut MeshRt,
    lbi: u32,
    cluster: &crate::istiod::xds::Cluster,
    attrs: u32,
    (client, src): (u32, u32),
    excluded: u64,
) -> Option<(u32, u32, usize)> {
    if lbi == NONE {
        return None;
    }
    let hash = match cluster.hash.as_ref() {
        // `useSourceIp`: the downstream connection's address — for a
        // sidecar its own pod, for a gateway whoever connected to it.
        Some(crate::proxy::lb::hash_policy::HashPolicy::SourceIp) => Some(m.source_ip_hash(src)),
        Some(h) => hash_key(std::slice::from_ref(h), &m.attrs[attrs as usize]),
        None => None,
    };
    let st = &mut m.lb_states[lbi as usize];
    if st.pods.is_empty() {
        return None;
    }
    let pick = st.pick(hash, excluded, &mut m.lb_rng[client as usize]);
    match pick {
        Pick::Host(i) => {
            // With an EDS view, the pick is an index into it.
            let i = st.members.as_ref().map_or(i, |m| m[i] as usize);
            st.active[i] += 1;
            Some((i as u32, st.pods[i], st.pods.len()))
        }
        Pick::NoHealthyUpstream => None,
    }
}

/// One trace line for a routing decision.
fn describe_decision(
    who: &str,
    d: &RouteDecision,
    rt: &crate::istiod::xds::RouteTable,
    m: &MeshRt,
    req: &super::Request,
) -> String {
    let a = &m.attrs[req.attrs as usize];
    let vh = |v: usize| rt.config.virtual_hosts()[v].name.clone();
    let key = |v: usize, r: usize| {
        rt.route_keys
            .get(v)
            .and_then(|x| x.get(r))
            .cloned()
            .unwrap_or_else(|| format!("#{r}"))
    };
    let head = format!(
        "{who}, route table {}, {} {} Host {}",
        rt.config.name(),
        a.method,
        a.path_and_query,
        a.authority
    );
    match d {
        RouteDecision::Forward {
            vhost,
            route,
            cluster,
        } => {
            let r = &rt.config.virtual_hosts()[*vhost].routes[*route];
            let on = format!(" matched on {}", describe_match(&r.matcher));
            let split = match &r.action {
                route::RouteAction::Forward { clusters, .. } if clusters.clusters().len() > 1 => {
                    format!(
                        ", weighted pick {} of {}",
                        clusters.clusters()[*cluster].weight,
                        clusters.total_weight()
                    )
                }
                _ => String::new(),
            };
            format!(
                "{head}: virtual host {}, route {}{on}{split}",
                vh(*vhost),
                key(*vhost, *route)
            )
        }
        RouteDecision::TlsRedirect { vhost, location } => format!(
            "{head}: virtual host {} requires TLS → 301 to {location}",
            vh(*vhost)
        ),
        RouteDecision::NoVirtualHost => format!("{head}: no virtual host → 404 NR"),
        RouteDecision::NoRoute { vhost } => {
            format!(
                "{head}: virtual host {}, no route matches → 404 NR",
                vh(*vhost)
            )
        }
        RouteDecision::Redirect {
            vhost,
            route,
            status,
            location,
        } => format!(
            "{head}: virtual host {}, route {} redirects {status} to {location}",
            vh(*vhost),
            key(*vhost, *route)
        ),
        RouteDecision::DirectResponse {
            vhost,
            route,
            status,
        } => format!(
            "{head}: virtual host {}, route {} answers {status} directly",
            vh(*vhost),
            key(*vhost, *route)
        ),
    }
}
