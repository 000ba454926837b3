//! The Istio gateway hop: an Envoy that *is* the app of its pod
//! (`istio-ingressgateway`), routing what arrives on its listeners.
//!
//! A request reaches a gateway pod like any other (the LoadBalancer Service,
//! node ports, kube-proxy: [`connection`](super::connection)), which is how
//! `curl -H "Host: bookinfo.app" http://$GATEWAY_URL/productpage` enters. The
//! pod's listener for the port the connection arrived at (the Service port's
//! `targetPort`) decides, as ingress-nginx's controller does in
//! [`ingress`](super::ingress): an upstream child request (`Origin::Proxy`)
//! to a pod picked by the gateway's balancer for the routed cluster, or a
//! local answer. With `mesh.proxy.workers`, each gateway pod has that many
//! workers and its routing holds one for the hop's latency draw (the pod
//! worker/queue model of `cluster::pod`), so a saturated gateway queues.
//!
//! A TCP server or TLS passthrough is a tcp_proxy listener
//! ([`tcp_proxy`](super::tcp_proxy)): per connection, by SNI.
//!
//! No listener on the port, or a listener with no filter chain
//! (`ListenerKind::Closed`), closes the connection: no HTTP response
//! (status 0) with flag NR — Envoy's access-log docs: "NR: No route
//! configured for a given request in addition to 404 response code, or no
//! matching filter chain for a downstream connection"
//! (`docs/root/configuration/observability/access_log/usage.rst`). An
//! upstream connection failure is Envoy's 503 UF.

use super::sidecar::Routed;
use super::{Event, Exec, Origin, Request, World};
use crate::engine::SimDuration;
use crate::istiod::xds::ListenerKind;
use crate::proxy::flags::ResponseFlag;
use crate::scenario::spec::EntryKind;
use crate::workload::load::NONE;

impl World<'_> {
    /// Request `r` arrives at gateway pod `pod`.
    pub(super) fn gateway(&mut self, r: u32, pod: u32) {
        let workers = self.mesh.as_ref().and_then(|m| m.workers);
        if workers.is_none() {
            let d = self.proxy_delay(self.gw_client(pod));
            self.gateway_route(r, pod, d);
            return;
        }
        let now = self.now();
        let e = self.execs.insert(Exec {
            req: r,
            pod,
            pc: 0,
            parent: NONE,
            root: NONE,
            pending: 0,
            holds_worker: false,
            fail: 0,
            fail_chain: NONE,
            call: None,
            traced: self.requests.items[r as usize].traced,
            dead: false,
        });
        self.execs.items[e as usize].root = e;
        let p = &mut self.pods[pod as usize];
        if p.has_free_worker() {
            p.touch(now);
            p.busy += 1;
            self.execs.items[e as usize].holds_worker = true;
            self.gateway_work(e);
        } else {
            if self.requests.items[r as usize].traced {
                let p = &self.pods[pod as usize];
                let msg = format!(
                    "gateway {}: all {} workers busy, {} waiting → queues",
                    self.pod_name(pod),
                    p.workers,
                    p.queue.len()
                );
                self.trace_log(r, msg);
            }
            let p = &mut self.pods[pod as usize];
            p.admissions_waiting += 1;
            p.enqueue(now, e);
        }
    }

    /// Gateway execution `e` holds a worker: it routes for one latency draw.
    pub(super) fn gateway_work(&mut self, e: u32) {
        let pod = self.execs.items[e as usize].pod;
        let d = self.proxy_delay(self.gw_client(pod));
        if d > SimDuration::ZERO {
            let t = self.now() + d;
            self.q.schedule(t, Event::ComputeDone { exec: e });
        } else {
            self.gateway_worked(e);
        }
    }

    /// The gateway's routing work for `e` is done: route, free the worker.
    pub(super) fn gateway_worked(&mut self, e: u32) {
        let ex = self.execs.items[e as usize];
        self.gateway_route(ex.req, ex.pod, SimDuration::ZERO);
        self.release_if_held(e);
        self.execs.remove(e);
    }

    fn gw_client(&self, pod: u32) -> u32 {
        (self.spec.loads.len() + pod as usize) as u32
    }

    /// Routes `r` at gateway pod `pod`; `delay` = the hop's latency still to add.
    fn gateway_route(&mut self, r: u32, pod: u32, mut delay: SimDuration) {
        let req = self.requests.items[r as usize];
        let client = self.gw_client(pod);
        let xds = self.xds;
        let proxy = &xds.proxies[self.client_proxy(client) as usize];
        let port = self.pod_port(req.target.service, req.target.port);
        let li = proxy.listeners.iter().position(|l| l.port == port);
        let listener = li.map(|i| &proxy.listeners[i]);
        let (routes, tls) = match listener.map(|l| &l.kind) {
            Some(ListenerKind::Http {
                routes,
                terminates_tls,
            }) => (*routes, *terminates_tls),
            Some(ListenerKind::Tcp { .. }) => (NONE, false),
            other => {
                if req.traced {
                    let why = match other {
                        None => "no listener",
                        _ => "no filter chain",
                    };
                    let msg = format!(
                        "gateway {}: {why} on port {port} → connection closed (NR)",
                        self.pod_name(pod)
                    );
                    self.trace_log(r, msg);
                }
                if self.istio.is_some() {
                    self.istio_local(r, client, 0, ResponseFlag::NoRouteFound.into(), delay);
                }
                let q = &mut self.requests.items[r as usize];
                q.flags = ResponseFlag::NoRouteFound.into();
                q.hop = delay;
                self.server_done(r, 0);
                return;
            }
        };
        if tls
            && req.fresh
            && let (Some(lat), Some(m)) = (&self.lat, &mut self.mesh)
        {
            delay = delay + lat.handshake(&mut m.lat_rng[client as usize]);
        }
        let now = self.now();
        let who = if req.traced {
            format!("gateway {} port {port}", self.pod_name(pod))
        } else {
            String::new()
        };
        let res = if routes == NONE {
            // tcp_proxy (`tcp_proxy.rs`): one connection, no HTTP routing.
            let pi = self.client_proxy(client);
            self.route_tcp(r, client, (pi, li.expect("listener")), now, &who)
        } else {
            self.route_http(r, routes, client, now, &who)
        };
        match res.routed {
            Routed::Local { status, flags } => {
                if self.istio.is_some() {
                    self.istio_local(r, client, status, flags, delay);
                }
                let cause = super::propagation::flags_cause(flags);
                self.fail_here(r, status, &cause, NONE);
                let q = &mut self.requests.items[r as usize];
                q.flags = flags;
                q.hop = delay;
                self.server_done(r, status);
            }
            Routed::Passthrough => {
                let (p, via) = self.open_conn(
                    req.target,
                    client as usize,
                    EntryKind::ClusterIP,
                    self.node_of[pod as usize],
                    false,
                );
                let child = self.gateway_child(r, pod, p, req.target);
                let q = &mut self.requests.items[child as usize];
                q.via = via;
                q.hop = delay;
                q.route = res.route;
                q.dest = res.dest;
                self.dispatch(child, true);
            }
            Routed::Upstream { .. } => {
                // The gateway's router holds `r` (at this pod) while its
                // attempts go upstream; route stats are the attempts' view.
                let stats = (res.route, res.dest);
                self.start_router(r, client, res.routed, stats, delay, true);
            }
        }
    }

    /// The gateway's PassthroughCluster request on behalf of `r` (not yet
    /// dispatched): no router policy, as Istio writes none for passthrough.
    fn gateway_child(
        &mut self,
        r: u32,
        pod: u32,
        up: u32,
        target: crate::scenario::spec::Target,
    ) -> u32 {
        let parent = self.requests.items[r as usize];
        let now = self.now();
        let (client, from) = (self.gw_client(pod), self.node_of[pod as usize]);
        self.requests.insert(Request {
            pod: up,
            depth: parent.depth.saturating_add(1),
            headers: parent.headers,
            traced: parent.traced,
            attrs: parent.attrs,
            ..Request::new(Origin::Proxy { parent: r }, target, client, from, now)
        })
    }

    /// The upstream answer to the gateway's request on behalf of `parent`.
    pub(super) fn gateway_response(&mut self, parent: u32, status: u16) {
        if status == 0 {
            // Envoy: upstream connection failure ⇒ 503 UF.
            self.requests.items[parent as usize].flags =
                ResponseFlag::UpstreamConnectionFailure.into();
            self.server_done(parent, 503);
            return;
        }
        self.server_done(parent, status);
    }
}
