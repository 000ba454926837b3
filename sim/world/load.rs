//! Load generators: where every journey starts and ends.
//!
//! A load is a client outside (or at the edge of) the cluster. Open-loop loads
//! send on a clock (Poisson or constant arrivals), over a new connection each or
//! over a fixed set of keep-alive connections with a FIFO of intended sends;
//! closed-loop loads keep `connections` requests in flight, each connection
//! sending again after think time / on its qps schedule (fortio's pacing,
//! [`crate::workload::pacing`]). Issuing a request asks
//! [`connection`](super::connection) for a pod (kube-proxy, node port or cloud
//! load balancer), and the response comes back to [`World::load_response`],
//! which records client-side latency from the *intended* send time (so waiting
//! for a free connection counts: no coordinated omission).
//!
//! `iterations` (`h2load -n`, `fortio load -n`, k6 `iterations`) counts issued
//! requests per replication, warm-up included: an open loop schedules no
//! arrival after the N-th; a closed loop starts at most N connections, and a
//! send that finds N already issued is dropped, so the total is exactly N
//! however many connections were waiting to send.

use super::{Event, Origin, Request, World};
use crate::cluster::node::NO_NODE;
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::engine::{SimDuration, SimTime};
use crate::scenario::spec::{Arrival, EntryKind, LoadPattern};
use crate::workload::load::{LoadState, NONE};
use crate::workload::pacing::{first_send, next_send};
use rand_distr::{Distribution, Exp1};

/// A load's request mix, resolved: per entry the end of its cumulative
/// weight range, its header set and (with a mesh) its interned attributes.
pub(super) struct Mix {
    entries: Vec<(u64, u32, u32)>,
    total: u64,
    rng: SimRng,
}

impl Mix {
    /// (entry, header set, attributes) of the next request: one draw only
    /// when there are two or more entries (the same walk as Envoy's weighted
    /// clusters, so a zero weight is never chosen).
    #[inline]
    fn pick(&mut self) -> (usize, u32, u32) {
        use rand::Rng;
        if self.entries.len() == 1 {
            let e = self.entries[0];
            return (0, e.1, e.2);
        }
        let r = self.rng.next_u64() % self.total;
        let i = self.entries.iter().position(|e| r < e.0).unwrap_or(0);
        let e = self.entries[i];
        (i, e.1, e.2)
    }
}

impl World<'_> {
    /// Creates each load's state and schedules its first send (open loop: the
    /// first arrival; closed loop: every connection at the load's start).
    pub(super) fn start_loads(&mut self, f: &RngFactory) {
        let spec = self.spec;
        for (li, l) in spec.loads.iter().enumerate() {
            let key = format!("{}/{}", l.namespace, l.name);
            let (conns, think) = match &l.pattern {
                LoadPattern::Open { connections, .. } => (connections.unwrap_or(0) as usize, None),
                LoadPattern::Closed {
                    connections, think, ..
                } => (*connections as usize, think.as_ref().map(|t| t.sampler())),
            };
            let hs = self.intern_headers(l.headers.clone());
            let mut entries = Vec::new();
            let mut total = 0u64;
            if l.requests.is_empty() {
                let a = self.intern_attrs(&l.method, &l.host, &l.path, hs);
                entries.push((1, hs, a));
                total = 1;
            }
            for v in &l.requests {
                let vh = self.intern_headers(v.headers.clone());
                let a = self.intern_attrs(&v.method, &v.host, &v.path, vh);
                total += v.weight as u64;
                entries.push((total, vh, a));
            }
            self.mix.push(Mix {
                entries,
                total: total.max(1),
                rng: f.of(Purpose::RequestMix, &key),
            });
            self.loads.push(LoadState::new(
                f.of(Purpose::Arrivals, &key),
                f.of(Purpose::Think, &key),
                think,
                f.of(Purpose::PacingJitter, &key),
                conns,
                hs,
            ));
            let start = SimTime(l.start.as_nanos());
            match &l.pattern {
                LoadPattern::Open { arrival, rate, .. } => {
                    let first = match arrival {
                        Arrival::Poisson => start + self.exp_gap(li, *rate),
                        Arrival::Constant => start,
                    };
                    if self.load_active(li, first) {
                        self.q
                            .schedule(first, Event::LoadArrival { load: li as u32 });
                    }
                }
                LoadPattern::Closed {
                    connections,
                    qps,
                    pacing,
                    ..
                } => {
                    let sending = l
                        .iterations
                        .map_or(*connections, |n| n.min(*connections as u64) as u32);
                    for c in 0..sending {
                        // fortio: every connection at once, or k/qps apart with -uniform.
                        let first = qps.map_or(start, |q| first_send(start, c, q, *pacing));
                        self.loads[li].conns[c as usize].clock.origin = first;
                        if self.load_active(li, first) {
                            self.q.schedule(
                                first,
                                Event::ConnSend {
                                    load: li as u32,
                                    conn: c,
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn exp_gap(&mut self, li: usize, rate: f64) -> SimDuration {
        let x: f64 = Exp1.sample(&mut self.loads[li].arrivals);
        SimDuration::from_secs_f64(x / rate)
    }

    fn load_active(&self, li: usize, t: SimTime) -> bool {
        let l = &self.spec.loads[li];
        t < self.end && l.stop.is_none_or(|s| t < SimTime(s.as_nanos()))
    }

    /// Has load `li` issued all its `iterations`?
    fn load_done(&self, li: usize) -> bool {
        self.spec.loads[li]
            .iterations
            .is_some_and(|n| self.guard.issued[li] >= n)
    }

    pub(super) fn on_load_arrival(&mut self, load: u32) {
        let li = load as usize;
        let now = self.now();
        let l = &self.spec.loads[li];
        let LoadPattern::Open {
            arrival,
            rate,
            connections,
        } = l.pattern
        else {
            return;
        };
        let next = match arrival {
            Arrival::Poisson => now + self.exp_gap(li, rate),
            Arrival::Constant => now + SimDuration::from_secs_f64(1.0 / rate),
        };
        self.guard.issued[li] += 1;
        if self.load_active(li, next) && !self.load_done(li) {
            self.q.schedule(next, Event::LoadArrival { load });
        }
        if self.window.contains(now) {
            self.rec_load[li].requests += 1;
        }
        if connections.is_none() {
            self.issue_load_request(li, NONE, now);
        } else if let Some(c) = self.loads[li].idle_conn() {
            self.issue_load_request(li, c, now);
        } else {
            self.loads[li].waiting.push_back(now);
        }
    }

    /// Closed loop: connection `conn` sends now.
    pub(super) fn send_on_conn(&mut self, load: u32, conn: u32, now: SimTime) {
        let li = load as usize;
        if self.load_done(li) {
            return; // another connection sent the last of `iterations`
        }
        self.guard.issued[li] += 1;
        if self.window.contains(now) {
            self.rec_load[li].requests += 1;
        }
        self.issue_load_request(li, conn, now);
    }

    /// Sends a load request with intended start `start` on `conn` (NONE = a new
    /// connection just for it).
    fn issue_load_request(&mut self, li: usize, conn: u32, start: SimTime) {
        let l = &self.spec.loads[li];
        let target = l.target;
        let (kind, node, pending) = (l.entry.kind, l.entry.node.unwrap_or(0), l.entry.pending);
        let from = if kind == EntryKind::ClusterIP {
            node
        } else {
            NO_NODE
        };
        let (variant, headers, attrs) = self.mix[li].pick();
        // Without a mesh `attrs` carries the endpoint rules' request line.
        let attrs = match self.mesh {
            Some(_) => attrs,
            None => self.ep.load_line(li, variant),
        };
        let counted = self.window.contains(start);
        let ordinal = if counted {
            let c = &mut self.loads[li].counted;
            *c = c.saturating_add(1);
            *c
        } else {
            0
        };
        let traced = counted && self.trace.as_ref().is_some_and(|t| t.select(li, ordinal));
        let client = li as u32;
        if self.client_proxy(client) != NONE {
            // A load inside the mesh talks to its own sidecar: no kube-proxy.
            if conn != NONE {
                self.loads[li].conns[conn as usize].busy = true;
            }
            let origin = Origin::Load { load: client, conn };
            let r = self.requests.insert(Request {
                counted_client: counted,
                headers,
                traced,
                attrs,
                ..Request::new(origin, target, client, from, start)
            });
            if let Some(p) = &mut self.picker {
                p.issued(r, li, ordinal);
            }
            if traced {
                self.trace_load_issue(r, li, variant, start);
            }
            self.outbound(r);
            return;
        }
        let (pod, via, new_conn) = if conn == NONE {
            let (p, v) = self.open_conn(target, li, kind, node, pending);
            (p, v, true)
        } else {
            let c = &mut self.loads[li].conns[conn as usize];
            c.busy = true;
            if c.pod == NONE {
                let (p, v) = self.open_conn(target, li, kind, node, pending);
                let c = &mut self.loads[li].conns[conn as usize];
                c.pod = p;
                c.via = v;
                (p, v, true)
            } else {
                (c.pod, c.via, false)
            }
        };
        let origin = Origin::Load { load: client, conn };
        let r = self.requests.insert(Request {
            pod,
            counted_client: counted,
            headers,
            via,
            traced,
            attrs,
            fresh: new_conn,
            ..Request::new(origin, target, client, from, start)
        });
        if let Some(p) = &mut self.picker {
            p.issued(r, li, ordinal);
        }
        if traced {
            self.trace_load_issue(r, li, variant, start);
            let conn_msg = self.describe_conn(pod, via, new_conn, target);
            self.trace_log(r, conn_msg);
        }
        self.dispatch(r, new_conn);
    }

    fn trace_load_issue(&mut self, r: u32, li: usize, variant: usize, start: SimTime) {
        let l = &self.spec.loads[li];
        let target = l.target;
        let svc = &self.spec.services[target.service];
        let (method, path, host) = match l.requests.get(variant) {
            Some(v) => (&v.method, &v.path, &v.host),
            None => (&l.method, &l.path, &l.host),
        };
        let mut msg = format!(
            "load {} issues {method} {path} to {}.{}:{} (Host {host}, entry {:?}; intended send {})",
            l.name,
            svc.name,
            svc.namespace,
            svc.ports[target.port].port,
            l.entry.kind,
            SimDuration(start.0)
        );
        if start < self.now() {
            msg.push_str(&format!(
                ", waited {} for a free connection",
                self.now().saturating_since(start)
            ));
        }
        self.trace_log(r, msg);
    }

    /// Always inlined into its one caller (`complete`), so `req` stays a
    /// local whose unused fields are never copied.
    #[inline(always)]
    pub(super) fn load_response(&mut self, li: usize, conn: u32, req: &Request, status: u16) {
        let now = self.now();
        let (start, counted) = (req.start, req.counted_client);
        if counted {
            let b = self.window.batch(start);
            self.rec_load[li].record(b, now.saturating_since(start).as_nanos(), status);
            if crate::metrics::is_failure(status) {
                self.record_failure(li as u32, status, req.chain);
            }
            if self.mesh.is_some() {
                self.rec_load[li].count_flags(req.flags);
            }
        }
        if conn == NONE {
            return;
        }
        let refused = status == 0;
        match &self.spec.loads[li].pattern {
            LoadPattern::Open { .. } => {
                let c = &mut self.loads[li].conns[conn as usize];
                c.busy = false;
                if refused {
                    c.pod = NONE; // reconnect next time
                }
                if let Some(intended) = self.loads[li].waiting.pop_front() {
                    self.issue_load_request(li, conn, intended);
                }
            }
            LoadPattern::Closed {
                connections,
                qps,
                pacing,
                ..
            } => {
                let (n, qps, pacing) = (*connections, *qps, *pacing);
                let st = &mut self.loads[li];
                let c = &mut st.conns[conn as usize];
                c.busy = false;
                if refused {
                    c.pod = NONE;
                }
                let mut next = now;
                if let Some(t) = &st.think {
                    next += t.sample(&mut st.think_rng);
                }
                if let Some(q) = qps {
                    // fortio's schedule: this connection's next slot (caught up
                    // at once when late), never before its think time.
                    let c = &mut st.conns[conn as usize];
                    let paced =
                        next_send(&mut c.clock, now, q / n as f64, pacing, &mut st.jitter_rng);
                    next = next.max(paced);
                }
                if qps.is_none() && next == now && start == now {
                    // The answer came back in zero simulated time (refused connection,
                    // full queue with no network model, a sidecar's local 503 with no
                    // proxy latency) and nothing paces the client. fortio has no
                    // pause here (periodic.go's -qps 0 loop calls again at once);
                    // the real time is the answer's own round trip, which such a
                    // scenario does not model. Without a pause the loop would spin
                    // at one instant (with `iterations`, all of them at once: the
                    // circuit-breaking task then gets 1 × 200 on every seed), so
                    // meshsim charges 1 ms. Under `qps` none is needed: fortio's
                    // schedule is followed exactly, catching up is bounded.
                    next += SimDuration::from_millis(1);
                }
                if self.load_active(li, next) && !self.load_done(li) {
                    self.q.schedule(
                        next,
                        Event::ConnSend {
                            load: li as u32,
                            conn,
                        },
                    );
                }
            }
        }
    }
}
