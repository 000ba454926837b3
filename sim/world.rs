//! The World: all mutable state of one replication, and event dispatch.
//!
//! Handlers are plain functions on `&mut World`; events carry ids only. Zero-
//! latency hops (no network model configured) are handled inline instead of as
//! events, which halves the event count of a simple queue without changing any
//! order: an inline step happens at the same time and before anything scheduled
//! later, exactly as a zero-delay event with a fresh sequence number would,
//! except that nothing else can interleave — which is the simulated behaviour of
//! a hop that takes no time.
//!
//! # The journey of a request, file by file
//!
//! The handlers live in `world/`, one file per thing they serve, in the order a
//! request meets them (each file is an `impl World` block on the state below):
//!
//! 1. `load.rs` — a load generator sends: an open-loop arrival or a closed-loop
//!    connection's turn (`issue_load_request`, stamped with its intended start).
//! 2. `connection.rs` — the request gets its pod. A new connection is placed by
//!    `open_conn` (cloud load balancer → node port → kube-proxy's uniform pick
//!    among ready endpoints, ClientIP affinity); a keep-alive connection (a
//!    load's, or a caller pod's pool) reuses the pod it is pinned to. `dispatch`
//!    carries it over the network path (an `Event::Deliver` if that takes time).
//! 3. `server.rs` — `arrive_at_pod`: admission (a worker, the FIFO queue, or
//!    queue full), then `run_exec` runs the deployment's script: compute steps,
//!    forks, and
//! 4. `call.rs` — outgoing calls: each try is a new request from the calling
//!    pod, back to step 2 (`issue_call_try`), with app timeouts, retries and
//!    `onError`.
//!    `ingress.rs` — on an ingress-nginx controller pod, step 3 is a proxy
//!    instead of a script: round robin straight to a backend pod (step 3 again).
//! 5. Back: `server_done` (server.rs) records the answer, `respond`
//!    (connection.rs) carries it back over the path, and `complete` (here) hands
//!    it to whoever waits — the load (`load_response`), the calling script
//!    (`call_result`) or the controller (`proxy_response`).
//!
//! `build.rs` makes a replication's state from the scenario (`World::new`,
//! `with_xds`); `outcome.rs` turns the counters into results (timeline
//! samples, `finish`); `trace.rs` is teaching mode (one request followed
//! step by step).
//!
//! # The mesh hops
//!
//! An Istio sidecar or gateway is a proxy hop like ingress-nginx, so it has
//! rooms next to `ingress.rs`: `sidecar.rs` (a meshed client's outbound
//! Envoy: `issue_call_try` / `issue_load_request` hand the request to
//! `outbound` instead of kube-proxy's `open_conn`, and it routes and
//! load-balances per request; the server's inbound hop joins the path in
//! `dispatch`), `gateway.rs` (a gateway pod routes in `arrive_at_pod`
//! instead of running a script, with an upstream child request as
//! ingress-nginx does), `router.rs` (an HTTP route's fault filter and
//! router: attempts, timeouts, retries, mirrors), `tcp_proxy.rs` (an L4
//! listener's filter chains by destination and SNI, one connection per
//! request), and `mesh.rs` (their run-time state: streams,
//! balancers, interned request attributes, routing stats). Decisions are
//! `proxy::*`'s over istiod's compiled [`Xds`]; the world only applies them.
//! Without proxies `mesh` is `None` and none of this runs.

use crate::cluster::network::Latency;
use crate::cluster::node::NodeIx;
use crate::cluster::pod::Pod;
use crate::cluster::session_affinity::AffinityTable;
use crate::engine::rng::SimRng;
use crate::engine::{EventQueue, SimTime};
use crate::istiod::xds::Xds;
use crate::metrics::timeline::{BINS, Timeline};
use crate::metrics::{Recorder, Window};
use crate::scenario::spec::{Scenario, Target};
use crate::workload::load::{LoadState, NONE};
use crate::workload::script::Program;
use std::collections::BTreeMap;

pub mod autoscale;
mod build;
mod call;
mod chaos_mesh;
mod connection;
mod deployment_scale;
mod endpoint;
mod entry_hosts;
mod gateway;
pub mod guard;
mod inbound_retry;
mod ingress;
mod istio;
mod life_step;
mod load;
mod locality;
pub mod mesh;
mod outcome;
mod outlier;
pub mod pod_lifecycle;
mod pod_reset;
mod probe;
mod propagation;
mod replicaset;
mod request;
mod rollout;
mod router;
mod server;
mod service_flags;
mod shadow;
mod sidecar;
mod tcp_proxy;
mod termination;
pub mod trace;
mod twin;
mod upstream;

use call::CallState;
use connection::Pool;
pub use mesh::{MeshOutcome, Split};
pub use outcome::{HeaderSet, Outcome};
use request::{Origin, Request};

pub use guard::{Guard, Stopped};
use trace::{Picker, Tracer};
pub use trace::{Picks, TraceSpec};

/// Everything that can happen. Ids only; 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Next open-loop arrival of a load.
    LoadArrival { load: u32 },
    /// A closed-loop connection sends its next request.
    ConnSend { load: u32, conn: u32 },
    /// A compute step of an execution finished.
    ComputeDone { exec: u32 },
    /// An application-level call timeout (stale unless `generation` matches).
    CallTimeout { exec: u32, generation: u32 },
    /// End of warm-up: time-weighted statistics restart.
    WarmupEnd,
    /// A timeline bin boundary: snapshot cumulative counters.
    Sample,
    /// A request reaches its pod after network hops / handshake.
    Deliver { req: u32 },
    /// A response reaches its client after network hops.
    Respond { req: u32, status: u16 },
    /// A client proxy's router timer for `stream` (stale unless `generation`
    /// matches): fault delay over, back-off over, per-try or route timeout.
    Router {
        stream: u32,
        generation: u32,
        step: router::Step,
    },
    /// Outlier detection's interval sweep of balancer `lb`.
    OutlierSweep { lb: u32 },
    /// A client proxy's new upstream connection `conn` to `host` of
    /// balancer `lb` finished its handshake.
    PoolConnect { lb: u32, host: u32, conn: u32 },
    /// A pod lifecycle step (`pod_lifecycle.rs`: an experiment, a restart,
    /// a readiness or endpoint change).
    Lifecycle { step: u32 },
    /// The HorizontalPodAutoscaler controller's sync (`autoscale.rs`).
    Autoscale,
}

impl Event {
    fn kind(&self) -> u64 {
        match self {
            Event::LoadArrival { .. } => 1,
            Event::ConnSend { .. } => 2,
            Event::ComputeDone { .. } => 3,
            Event::CallTimeout { .. } => 4,
            Event::WarmupEnd => 5,
            Event::Sample => 6,
            Event::Deliver { .. } => 7,
            Event::Respond { .. } => 8,
            Event::Router { .. } => 9,
            Event::OutlierSweep { .. } => 10,
            Event::PoolConnect { .. } => 11,
            Event::Lifecycle { .. } => 12,
            Event::Autoscale => 13,
        }
    }
}

/// One thread of a script execution (the root, or a parallel branch).
#[derive(Clone, Copy, Debug)]
struct Exec {
    req: u32,
    pod: u32,
    pc: u32,
    parent: u32,
    root: u32,
    pending: u32,
    holds_worker: bool,
    /// Root only: status forced by a failed call (0 = none).
    fail: u16,
    /// Root only: why that call failed (propagation chain, NONE = none).
    fail_chain: u32,
    call: Option<CallState>,
    traced: bool,
    /// Its pod died while it computed: freed when its `ComputeDone` pops.
    dead: bool,
}

/// A free-list arena: ids are reused, so live state stays compact.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
    /// Items ever inserted (a work measure: events per request created).
    created: u64,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
            created: 0,
        }
    }
    #[inline]
    fn insert(&mut self, t: T) -> u32 {
        self.created += 1;
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = t;
                i
            }
            None => {
                self.items.push(t);
                self.items.len() as u32 - 1
            }
        }
    }
    #[inline]
    fn remove(&mut self, i: u32) {
        self.free.push(i);
    }
}

/// Per-deployment constants the hot path needs.
struct DeploymentRt {
    program: Program,
    hold: bool,
    queue_limit: Option<u32>,
    full_status: u16,
    error: Option<crate::scenario::spec::ErrorInjection>,
    pool_size: Option<u32>,
    /// Its requests may need a rare feature at the pod: it is the ingress
    /// controller, has gateway pods (any mesh), endpoint rules or an app
    /// error. False: `arrive_at_pod` / `begin_exec` / `Respond` skip those
    /// checks with this one.
    rare: bool,
}

pub struct World<'s> {
    spec: &'s Scenario,
    /// What istiod compiled (empty without Istio).
    xds: &'s Xds,
    /// Run-time mesh state; None when the scenario has no proxy.
    mesh: Option<Box<mesh::MeshRt>>,
    /// Per load: its request mix (empty = no mix).
    mix: Vec<load::Mix>,
    q: EventQueue<Event>,
    window: Window,
    end: SimTime,
    pods: Vec<Pod>,
    svc_rng: Vec<SimRng>,
    beh_rng: Vec<SimRng>,
    /// kube-proxy choice streams: loads first, then pods (as callers).
    kp_rng: Vec<SimRng>,
    deps: Vec<DeploymentRt>,
    /// service → port → ready pods.
    endpoints: Vec<Vec<Vec<u32>>>,
    requests: Slab<Request>,
    execs: Slab<Exec>,
    /// Client proxies' router streams (one per downstream request in a router).
    streams: Slab<router::Stream>,
    loads: Vec<LoadState>,
    rec_load: Vec<Recorder>,
    rec_svc: Vec<Recorder>,
    rec_dep: Vec<Recorder>,
    headers: Vec<Vec<(String, String)>>,
    header_ix: BTreeMap<Vec<(String, String)>, u32>,
    /// deployment → header set → requests received in the window.
    headers_seen: Vec<Vec<u64>>,
    next_generation: u32,
    digest: u64,
    events: u64,
    timeline: Timeline,
    next_sample: u32,
    trace: Option<Box<Tracer>>,
    /// `--trace LOAD:failed|slowest`: the untraced run that finds the request.
    picker: Option<Box<Picker>>,
    /// Node of each pod.
    node_of: Vec<NodeIx>,
    /// Hop latency (None = every hop is instant: inline path).
    lat: Option<Latency>,
    /// Network streams per client (loads, then pods); empty when `lat` is None.
    net_rng: Vec<SimRng>,
    /// Cloud load balancer streams per load.
    lb_rng: Vec<SimRng>,
    /// service → port → nodes the cloud LB sends to.
    lb_nodes: Vec<Vec<Vec<NodeIx>>>,
    /// service → port → ClientIP affinity (None = no affinity).
    affinity: Vec<Vec<Option<AffinityTable>>>,
    /// The ingress-nginx controller deployment (NONE = none).
    ingress_ctrl: u32,
    /// Round-robin position per (controller pod, backend).
    rr: Vec<(u32, Target, u32)>,
    pools: Vec<Pool>,
    /// pod → (destination, pool index).
    pool_ix: Vec<Vec<(Target, u32)>>,
    scratch: Vec<u32>,
    pod_requests: Vec<u64>,
    /// Deployment of each pod.
    dep_of: Vec<u32>,
    /// Run-time resource guard (`guard.rs`).
    guard: guard::GuardState,
    /// Failure propagation (`propagation.rs`).
    prop: propagation::PropRt,
    /// Istio's request metrics (`istio.rs`); None unless asked for.
    istio: Option<Box<crate::metrics::istio::IstioRecorder>>,
    /// Endpoint rules and choice streams (`endpoint.rs`).
    ep: endpoint::EndpointRt,
    /// Waiting requests per deployment when the window opened (overload report).
    queue_at_warmup: Vec<u64>,
    /// Pod lifecycle (`pod_lifecycle.rs`); None without Chaos Mesh experiments.
    life: Option<Box<pod_lifecycle::LifeRt>>,
    /// HPA controller and CPU meters (`autoscale.rs`); None without an HPA.
    hpa: Option<Box<autoscale::HpaRt>>,
    /// Per deployment: the Service whose recorder it shares (`twin.rs`;
    /// NONE = its own; empty = no pairs).
    twin: Vec<u32>,
}

/// The compiled mesh of a scenario without proxies.
static NO_XDS: Xds = Xds {
    proxies: Vec::new(),
    deployment_proxy: Vec::new(),
    load_proxy: Vec::new(),
    route_tables: Vec::new(),
    clusters: Vec::new(),
    notes: Vec::new(),
};

impl<'s> World<'s> {
    fn intern_headers(&mut self, mut h: Vec<(String, String)>) -> u32 {
        h.sort();
        if let Some(&i) = self.header_ix.get(&h) {
            return i;
        }
        let i = self.headers.len() as u32;
        self.headers.push(h.clone());
        self.header_ix.insert(h, i);
        i
    }

    /// Runs to the end of the scenario. `progress` gets the fraction of simulated
    /// time done, every 2^20 events.
    pub fn run(self, progress: &mut dyn FnMut(f64)) -> Outcome {
        self.run_guarded(&Guard::NONE, &mut |f| {
            progress(f);
            true
        })
    }

    /// Runs to the end of the scenario, or until `guard` trips or `progress`
    /// (called every 2^20 events with the fraction of simulated time done)
    /// returns false — then [`Outcome::stopped`] says when and why.
    pub fn run_guarded(mut self, guard: &Guard, progress: &mut dyn FnMut(f64) -> bool) -> Outcome {
        let last = SimTime(self.end.0.saturating_sub(1));
        while let Some((t, ev)) = self.q.pop_until(last) {
            self.events += 1;
            self.digest = crate::engine::rng::mix64(self.digest ^ t.0.rotate_left(17) ^ ev.kind());
            if self.events & (guard::CHECK_EVERY - 1) == 0
                && let Some(why) = self.check_guard(guard, t)
            {
                self.stop(t, why);
                break;
            }
            if self.events & ((1 << 20) - 1) == 0
                && !progress(t.0 as f64 / self.end.0.max(1) as f64)
            {
                self.stop(
                    t,
                    format!(
                        "stopped at t = {:.1} s by the caller (wall-clock limit)",
                        t.0 as f64 * 1e-9
                    ),
                );
                break;
            }
            match ev {
                Event::LoadArrival { load } => self.on_load_arrival(load),
                Event::ConnSend { load, conn } => self.send_on_conn(load, conn, t),
                Event::ComputeDone { exec } => self.on_compute_done(exec),
                Event::CallTimeout { exec, generation } => self.on_call_timeout(exec, generation),
                Event::WarmupEnd => {
                    for p in &mut self.pods {
                        p.reset_stats(t);
                    }
                    if let Some(m) = &mut self.mesh {
                        m.warmup_end();
                    }
                }
                Event::Sample => self.sample(t),
                Event::Deliver { req } => {
                    let pod = self.requests.items[req as usize].pod;
                    self.arrive_at_pod(req, pod);
                }
                Event::Respond { req, status } => self.complete(req, status),
                Event::Router {
                    stream,
                    generation,
                    step,
                } => self.on_router_timer(stream, generation, step),
                Event::OutlierSweep { lb } => self.on_outlier_sweep(lb),
                Event::PoolConnect { lb, host, conn } => self.on_pool_connect(lb, host, conn),
                Event::Lifecycle { step } => self.on_lifecycle(step),
                Event::Autoscale => self.on_autoscale(),
            }
        }
        self.q.advance_to(self.end);
        // The last boundary is the end of the run (not an event: nothing runs at `end`).
        while (self.next_sample as usize) <= BINS {
            self.sample(self.end);
        }
        self.finish()
    }

    #[inline]
    fn now(&self) -> SimTime {
        self.q.now()
    }

    /// The response to `r` reaches its origin.
    fn complete(&mut self, r: u32, status: u16) {
        // `req` never leaves this function (load_response is inlined), so the
        // compiler reads only the fields used; the mesh's handlers take the
        // whole record by reference: `full`, copied only with a mesh.
        let req = self.requests.items[r as usize];
        let full = self.mesh.is_some().then(|| self.requests.items[r as usize]);
        if let (Some(p), Origin::Load { load, .. }) = (&mut self.picker, req.origin)
            && req.counted_client
        {
            let took = self.q.now().saturating_since(req.start).as_nanos();
            p.note(r, load as usize, took, status);
        }
        if req.traced {
            let took = self.now().saturating_since(req.start);
            // The app hung up (its own timeout): its sidecar reset the stream.
            let reset = status == 0
                && req
                    .flags
                    .contains(crate::proxy::flags::ResponseFlag::DownstreamConnectionTermination);
            let code = if status == 0 {
                "no response (connection failed)".to_string()
            } else {
                status.to_string()
            };
            let msg = match req.origin {
                Origin::Load { load, .. } => format!(
                    "load {} receives {code}: {took} after the intended send",
                    self.spec.loads[load as usize].name
                ),
                Origin::Call { exec, .. } => format!(
                    "{} receives {code} from its call after {took}",
                    self.pod_name(self.execs.items[exec as usize].pod)
                ),
                Origin::Abandoned if reset => format!(
                    "the caller's sidecar resets the abandoned try's stream after {took} (DC, no response)"
                ),
                Origin::Abandoned => format!(
                    "the abandoned try finishes with {code} after {took}; nobody is waiting"
                ),
                Origin::Attempt { .. } => {
                    format!("the client proxy receives {code} from upstream after {took}")
                }
                Origin::Mirror => {
                    format!("the mirrored copy finishes with {code} after {took}; discarded")
                }
                Origin::Proxy { parent } => {
                    let who = if self.is_gateway(self.requests.items[parent as usize].pod) {
                        "the gateway"
                    } else {
                        "ingress-nginx"
                    };
                    format!("{who} receives {code} from upstream after {took}")
                }
            };
            self.trace_log(r, msg);
        }
        if req.up_conn != NONE {
            // The attempt's pooled connection serves the next pending one.
            self.upstream_release(r, status == 0);
        }
        self.requests.items[r as usize].live = false;
        self.requests.remove(r);
        if let Some(full) = &full {
            self.mesh_complete(full, status);
            self.service_flags_on_complete(full);
        }
        if req.pconn != NONE {
            self.release_pconn(req.pool, req.pconn, status);
        }
        if self.window.contains(req.start) {
            use crate::metrics::propagation::Node;
            let caller = match req.origin {
                Origin::Load { load, .. } => Some(Node::Load(load)),
                Origin::Call { exec, .. } => {
                    let up = self.execs.items[exec as usize].req;
                    Some(Node::Service(
                        self.requests.items[up as usize].target.service as u32,
                    ))
                }
                Origin::Proxy { parent } => Some(Node::Service(
                    self.requests.items[parent as usize].target.service as u32,
                )),
                _ => None,
            };
            if let Some(c) = caller {
                let callee = req.target.service as u32;
                self.record_edge(c, callee, u32::from(req.attempts), status, req.chain);
            }
        }
        match req.origin {
            Origin::Load { load, conn } => self.load_response(load as usize, conn, &req, status),
            Origin::Call { exec, generation } => {
                self.call_result(exec, generation, status, req.chain)
            }
            Origin::Abandoned | Origin::Mirror => {}
            Origin::Proxy { parent } => self.proxy_response(parent, status),
            Origin::Attempt { stream } => {
                let full = full.expect("client-proxy attempts exist only with a mesh");
                self.attempt_done(stream, &full, status)
            }
        }
    }
}
