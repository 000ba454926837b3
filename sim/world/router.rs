//! A client proxy's HTTP filter chain after route matching, for one
//! downstream request: Envoy's fault filter, then its router — attempts,
//! per-try and route timeouts, retries with back-off, host selection,
//! mirroring — applied to the decisions of [`crate::proxy`].
//!
//! Why a stream of its own: in Envoy the downstream request and its upstream
//! attempts are different objects (`Router::Filter` vs `UpstreamRequest`).
//! The app (or the gateway's downstream) waits on the downstream request;
//! each attempt is a separate request to a pod (`Origin::Attempt`), so a
//! per-try timeout can abandon an attempt — the server keeps working on it,
//! which is real load — while the router retries elsewhere. The route
//! timeout covers every attempt and back-off; a fault delay is spent before
//! it starts (the fault filter sits before the router).
//!
//! Sequence (`fault_filter.cc` `decodeHeaders`; `router.cc` `decodeHeaders`,
//! `onUpstreamHeaders`, `onPerTryTimeout`, `onResponseTimeout`,
//! `doRetry`; Envoy 1.36, the one Istio 1.28 ships):
//! 1. fault delay (flag `DI`) — then the abort draw; an abort is a local
//!    reply (flag `FI`) that never reaches the router: not retried.
//! 2. the router starts: route timer armed, mirrors shadowed (fire and
//!    forget), first attempt: host pick (no host ⇒ 503 `UH`).
//! 3. an attempt ends (response, connection failure, per-try timeout): the
//!    host is reported to outlier detection, then `RetryState` decides:
//!    retry after a jittered back-off (on a host not tried before when the
//!    policy has `previous_hosts`), or reply — adding `URX` when retries ran
//!    out, `UO` when `max_retries` overflowed.
//! 4. the route timer fires ⇒ the in-flight attempt is abandoned, 504 `UT`.
//!
//! If the downstream goes away (the app's own call timeout), the stream is
//! reset: no more attempts, flag `DC`, status 0.
//!
//! Events per request in the common case (no fault, no timeout fired, no
//! retry): none beyond the attempt's own — timers are scheduled only when
//! the route has them.

use super::{Event, Origin, Request, World};
use crate::engine::{SimDuration, SimTime};
use crate::istiod::xds::RoutePolicy;
use crate::metrics::propagation::Node;
use crate::proxy::breaker::ClusterCounter;
use crate::proxy::fault::{self};
use crate::proxy::flags::{ResponseFlag, ResponseFlags};
use crate::proxy::outlier::OutlierResult;
use crate::proxy::retry::{AttemptOutcome, ResetReason, RetryState, RetryStatus, choose_host};
use crate::proxy::timeout::{self, FinalTimeout, TimeoutKind};
use crate::scenario::spec::Target;
use crate::workload::load::NONE;

/// Which router timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The fault filter's delay is over.
    FaultDelay,
    /// The retry back-off is over: send the next attempt.
    Backoff,
    /// The attempt's per-try timeout.
    PerTry,
    /// The route timeout.
    Route,
}

/// One downstream request inside a client proxy's router.
pub(super) struct Stream {
    live: bool,
    /// The downstream request (the app's, or the gateway's inbound one).
    pub(super) down: u32,
    /// The proxy's client index (loads, then pods).
    client: u32,
    /// Route policy: (route table, virtual host, route).
    policy: (u32, u32, u32),
    cluster: u32,
    lb: u32,
    target: Target,
    attrs: u32,
    headers: u32,
    /// Route and destination stats indices (NONE = none).
    route: u32,
    dest: u32,
    retry: RetryState,
    timeout: FinalTimeout,
    deadline: Option<SimTime>,
    /// The attempt in flight (NONE between attempts).
    attempt: u32,
    /// Balancer hosts already tried (for the `previous_hosts` predicate).
    tried: Vec<u32>,
    /// `previous_priorities` (`retryRemoteLocalities`): priorities attempted
    /// (bit i = priority i) and those the current load excludes.
    prio_seen: u64,
    prio_excluded: u64,
    /// Generation of the pending fault-delay / back-off / per-try timer.
    step_gen: u32,
    /// Generation of the route timer.
    route_gen: u32,
    flags: ResponseFlags,
    /// Proxy latency still owed (added to the first attempt, or to a local
    /// reply).
    hop: SimDuration,
    /// The proxy is a gateway: its reply is the pod's answer (`server_done`).
    at_gateway: bool,
    /// When the router got the request (route stats latency).
    start: SimTime,
    attempts: u32,
    /// Why the last attempt's response failed (propagation chain).
    last_chain: u32,
    /// The pod of the latest attempt (NONE = none yet): Istio's upstream peer.
    last_pod: u32,
}

impl<'s> World<'s> {
    /// The route policy of stream `st` (istiod's config outlives the run).
    fn policy_of(&self, st: &Stream) -> &'s RoutePolicy {
        self.policy_at(st.policy)
    }

    /// The policy of (table, vhost, route), or tcp_proxy's (`tcp_proxy.rs`).
    fn policy_at(&self, (t, v, r): (u32, u32, u32)) -> &'s RoutePolicy {
        if (t, v, r) == super::tcp_proxy::TCP_POLICY_KEY {
            return &super::tcp_proxy::TCP_POLICY;
        }
        let xds: &'s crate::istiod::xds::Xds = self.xds;
        &xds.route_tables[t as usize].policies[v as usize][r as usize]
    }

    /// Request `down` was routed to a cluster (`routed` is
    /// [`super::sidecar::Routed::Upstream`]) by the proxy of `client`; `hop`
    /// is the proxy latency still owed. The router takes it from here.
    pub(super) fn start_router(
        &mut self,
        down: u32,
        client: u32,
        routed: super::sidecar::Routed,
        (route, dest): (u32, u32),
        hop: SimDuration,
        at_gateway: bool,
    ) {
        let super::sidecar::Routed::Upstream {
            cluster,
            target,
            lb,
            attrs,
            headers,
            policy,
        } = routed
        else {
            unreachable!("the router only takes upstream routes");
        };
        let now = self.now();
        let pol = self.policy_at(policy);
        // The slot `insert` reuses keeps its `tried` buffer (cleared when its
        // stream ended): no allocation and free per stream.
        let mut tried = match self.streams.free.last() {
            Some(&i) => std::mem::take(&mut self.streams.items[i as usize].tried),
            None => Vec::new(),
        };
        tried.clear();
        let s = self.streams.insert(Stream {
            live: true,
            down,
            client,
            policy,
            cluster,
            lb,
            target,
            attrs,
            headers,
            route,
            dest,
            retry: RetryState::new(&pol.retry),
            timeout: timeout::final_timeout(&pol.timeout, false, None),
            deadline: None,
            attempt: NONE,
            tried,
            prio_seen: 0,
            prio_excluded: 0,
            step_gen: 0,
            route_gen: 0,
            flags: ResponseFlags::NONE,
            hop,
            at_gateway,
            start: now,
            attempts: 0,
            last_chain: NONE,
            last_pod: NONE,
        });
        self.requests.items[down as usize].stream = s;
        let fault = pol.fault;
        if let Some(cfg) = fault {
            let m = self.mesh.as_mut().expect("mesh");
            if let Some(d) = fault::decide_delay(&cfg, &mut m.fault_rng[client as usize]) {
                self.streams.items[s as usize]
                    .flags
                    .insert(ResponseFlag::DelayInjected);
                if self.requests.items[down as usize].traced {
                    self.trace_log(down, format!("fault filter: delay {d} injected (DI)"));
                }
                let g = self.arm(s, Step::FaultDelay, now + d);
                self.streams.items[s as usize].step_gen = g;
                return;
            }
        }
        self.after_fault(s);
    }

    /// Schedules router timer `step` of stream `s` at `at`; returns its generation.
    fn arm(&mut self, s: u32, step: Step, at: SimTime) -> u32 {
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        self.q.schedule(
            at,
            Event::Router {
                stream: s,
                generation,
                step,
            },
        );
        generation
    }

    /// The fault filter's abort draw, then the router starts.
    fn after_fault(&mut self, s: u32) {
        let st = &self.streams.items[s as usize];
        let (client, down) = (st.client, st.down);
        let pol = self.policy_of(st);
        if let Some(cfg) = &pol.fault {
            let m = self.mesh.as_mut().expect("mesh");
            if let Some(code) = fault::decide_abort(cfg, &mut m.fault_rng[client as usize]) {
                let status = code.http_status();
                if self.requests.items[down as usize].traced {
                    let msg = format!("fault filter: abort {status} injected (FI), a local reply");
                    self.trace_log(down, msg);
                }
                self.stream_done(s, status, ResponseFlag::FaultInjected.into(), NONE);
                return;
            }
        }
        let now = self.now();
        if let Some(d) = timeout::route_deadline(&self.streams.items[s as usize].timeout, now) {
            let g = self.arm(s, Step::Route, d);
            let st = &mut self.streams.items[s as usize];
            st.deadline = Some(d);
            st.route_gen = g;
        }
        if !pol.mirrors.is_empty() {
            let st = &self.streams.items[s as usize];
            let copy = super::shadow::Copy {
                client: st.client,
                attrs: st.attrs,
                headers: st.headers,
                down: st.down,
            };
            self.shadow(&pol.mirrors, copy);
        }
        self.send_attempt(s);
    }

    /// Sends the next attempt of stream `s` to a host the balancer picks.
    fn send_attempt(&mut self, s: u32) {
        let now = self.now();
        let st = &self.streams.items[s as usize];
        let (client, lb, cluster, down) = (st.client, st.lb, st.cluster, st.down);
        let is_retry = st.retry.is_retry();
        // tcp_proxy hashes only on the source IP (no HTTP attributes).
        let tcp = st.policy == super::tcp_proxy::TCP_POLICY_KEY;
        let pol = self.policy_of(st);
        let xds = self.xds;
        let c = &xds.clusters[cluster as usize];
        let attrs = st.attrs;
        let m = self.mesh.as_mut().expect("mesh");
        let tried = std::mem::take(&mut self.streams.items[s as usize].tried);
        let excluded = if pol.retry.previous_priorities {
            let st = &mut self.streams.items[s as usize];
            let (seen, ex) = (&mut st.prio_seen, &mut st.prio_excluded);
            let prio = m.lb_states.get(lb as usize).and_then(|s| s.prio.as_ref());
            super::locality::retry_exclusion(st.attempts, seen, ex, prio)
        } else {
            0
        };
        let mut last_n = 0;
        let src = self.requests.items[down as usize].client;
        let hash_attrs = if tcp { 0 } else { attrs };
        let picked = choose_host(&pol.retry, is_retry, &tried, || {
            let p = super::sidecar::pick(m, lb, c, hash_attrs, (client, src), excluded);
            if let Some((h, _, n)) = p {
                last_n = n;
                // Undo the pick's in-flight count: only the chosen host keeps it.
                m.lb_states[lb as usize].active[h as usize] -= 1;
            }
            p.map(|(h, _, _)| h)
        });
        self.streams.items[s as usize].tried = tried;
        let Some(host) = picked else {
            if self.requests.items[down as usize].traced {
                let msg = format!(
                    "cluster {}: no healthy host → 503 UH{}",
                    c.name,
                    self.ejected_note(lb)
                );
                self.trace_log(down, msg);
            }
            let m = self.mesh.as_mut().expect("mesh");
            if lb != NONE {
                let st = &mut m.lb_states[lb as usize];
                st.stats
                    .inc(crate::proxy::breaker::ClusterCounter::UpstreamRqTotal);
            }
            self.stream_done(s, 503, ResponseFlag::NoHealthyUpstream.into(), NONE);
            return;
        };
        let m = self.mesh.as_mut().expect("mesh");
        m.lb_states[lb as usize].active[host as usize] += 1;
        let pod = m.lb_states[lb as usize].pods[host as usize];
        let st = &mut self.streams.items[s as usize];
        if pol.retry.previous_hosts && !st.tried.contains(&host) {
            st.tried.push(host);
        }
        if pol.retry.previous_priorities
            && let Some(p) = m.lb_states[lb as usize].priority_of(host)
        {
            st.prio_seen |= 1u64 << p.min(63);
        }
        st.attempts += 1;
        st.last_pod = pod;
        let hop = std::mem::take(&mut st.hop);
        let (target, attrs, headers) = (st.target, st.attrs, st.headers);
        let down_req = self.requests.items[down as usize];
        let from = self.proxy_node(client, down_req.from);
        let at_gateway = self.streams.items[s as usize].at_gateway;
        let a = self.requests.insert(Request {
            pod,
            depth: down_req.depth.saturating_add(u16::from(at_gateway)),
            headers,
            traced: down_req.traced,
            attrs,
            hop,
            lb,
            lb_host: host,
            ..Request::new(Origin::Attempt { stream: s }, target, client, from, now)
        });
        self.streams.items[s as usize].attempt = a;
        if down_req.traced {
            let st = &self.streams.items[s as usize];
            let what = if st.attempts > 1 {
                format!("retry {} of {}", st.attempts - 1, pol.retry.num_retries)
            } else {
                "attempt 1".to_string()
            };
            let msg = format!(
                "cluster {}: {} picks {} among {last_n} hosts ({what}){}",
                c.name,
                c.lb.policy.name(),
                self.pod_name(pod),
                self.ejected_note(lb)
            );
            self.trace_log(a, msg);
        }
        self.upstream_send(s, a);
    }

    /// The attempt of stream `s` got its connection: its per-try timer
    /// starts (`onPoolReady` → `setupPerTryTimeout`).
    pub(super) fn arm_per_try(&mut self, s: u32) {
        let now = self.now();
        let st = &self.streams.items[s as usize];
        if let Some(d) = timeout::attempt_deadline(&st.timeout, now, st.deadline)
            && d.kind == TimeoutKind::PerTry
        {
            let g = self.arm(s, Step::PerTry, d.at);
            self.streams.items[s as usize].step_gen = g;
        }
    }

    /// The attempt of stream `s` failed in this proxy before reaching the
    /// server (breaker overflow, connection failure). `unsent_hop` is the
    /// proxy latency the attempt carried and never spent: still owed, by the
    /// next attempt or by the local reply.
    pub(super) fn attempt_failed_locally(
        &mut self,
        s: u32,
        unsent_hop: SimDuration,
        outcome: AttemptOutcome,
    ) {
        let st = &mut self.streams.items[s as usize];
        if !st.live {
            return;
        }
        st.hop = st.hop + unsent_hop;
        st.attempt = NONE;
        st.step_gen = 0;
        // Never sent: not an upstream attempt (route `attempts`, edges).
        st.attempts = st.attempts.saturating_sub(1);
        self.after_attempt(s, outcome);
    }

    /// The node a proxy's upstream connection leaves from: a load's proxy
    /// sits where its requests come from (`load_from`), a pod's on its node.
    pub(super) fn proxy_node(
        &self,
        client: u32,
        load_from: crate::cluster::node::NodeIx,
    ) -> crate::cluster::node::NodeIx {
        let n_loads = self.spec.loads.len() as u32;
        if client < n_loads {
            load_from
        } else {
            self.node_of[(client - n_loads) as usize]
        }
    }

    /// Attempt `a` (already removed from the slab) of stream `s` got `status`
    /// (0 = the connection failed).
    pub(super) fn attempt_done(&mut self, s: u32, a: &Request, status: u16) {
        let st = &mut self.streams.items[s as usize];
        debug_assert!(st.live);
        st.attempt = NONE;
        st.step_gen = 0; // the per-try timer is stale now
        st.last_chain = a.chain;
        if a.chain == NONE && crate::metrics::is_failure(status) {
            // The upstream answered a failure of its own making.
            let callee = Node::Service(st.target.service as u32);
            let why = if status == 0 { "no-response" } else { "-" };
            let c = self.chain(callee, status, why, NONE);
            self.streams.items[s as usize].last_chain = c;
        }
        let st = &self.streams.items[s as usize];
        let outcome = if status == 0
            && a.flags
                .contains(ResponseFlag::UpstreamConnectionTermination)
        {
            // The pod died mid-request (`pod_lifecycle.rs`): Envoy's UC.
            AttemptOutcome::reset(ResetReason::ConnectionTermination, true)
        } else if status == 0 {
            AttemptOutcome::reset(ResetReason::ConnectFailure, false)
        } else {
            AttemptOutcome::status(status)
        };
        let tcp = st.policy == super::tcp_proxy::TCP_POLICY_KEY;
        let result = if status == 0 {
            OutlierResult::LocalOriginConnectFailed
        } else if tcp {
            // tcp_proxy: the connection is all Envoy sees.
            OutlierResult::LocalOriginConnectSuccessFinal
        } else {
            OutlierResult::HttpStatus(status)
        };
        let lb = st.lb;
        self.report_outlier(lb, a.lb_host, result, status != 0 && !tcp);
        self.after_attempt(s, outcome);
    }

    /// RetryState decides what an attempt's `outcome` means for stream `s`.
    fn after_attempt(&mut self, s: u32, outcome: AttemptOutcome) {
        let now = self.now();
        let st = &self.streams.items[s as usize];
        let (client, lb, down) = (st.client, st.lb, st.down);
        let pol = self.policy_of(st);
        let m = self.mesh.as_mut().expect("mesh");
        let ls = &mut m.lb_states[lb as usize];
        let st = &mut self.streams.items[s as usize];
        let decision = st.retry.should_retry(
            &pol.retry,
            &outcome,
            &mut ls.rm,
            &mut ls.stats,
            &mut m.retry_rng[client as usize],
        );
        let traced = self.requests.items[down as usize].traced;
        match decision {
            RetryStatus::Yes { backoff } => {
                let deadline = st.deadline;
                if traced {
                    let msg = format!(
                        "router: {} is retriable ({}); back-off {backoff}",
                        describe_outcome(outcome),
                        pol.retry.retry_on
                    );
                    self.trace_log(down, msg);
                }
                if !timeout::backoff_fits(now, backoff, deadline) {
                    // The route timeout ends the request first.
                    return;
                }
                if backoff == SimDuration::ZERO {
                    self.send_attempt(s);
                } else {
                    let g = self.arm(s, Step::Backoff, now + backoff);
                    self.streams.items[s as usize].step_gen = g;
                }
            }
            other => {
                let (status, flag) = outcome.final_reply();
                let mut flags = ResponseFlags::NONE;
                if let Some(f) = flag {
                    flags.insert(f);
                }
                if let Some(f) = other.flag() {
                    flags.insert(f);
                }
                if traced && (flag.is_some() || other.flag().is_some()) {
                    let why = match other {
                        RetryStatus::NoRetryLimitExceeded => "retries exhausted (URX)",
                        RetryStatus::NoOverflow => "retry overflow: maxRetries reached (UO)",
                        _ => "not retriable under this retryOn",
                    };
                    let msg = format!("router: {}: {why}", describe_outcome(outcome));
                    self.trace_log(down, msg);
                }
                // The upstream's own answer is final: its cause travels on.
                let next = match outcome {
                    AttemptOutcome::Response { .. } => self.streams.items[s as usize].last_chain,
                    _ => NONE,
                };
                self.stream_done(s, status, flags, next);
            }
        }
    }

    /// A router timer of stream `s` fired.
    pub(super) fn on_router_timer(&mut self, s: u32, generation: u32, step: Step) {
        let Some(st) = self.streams.items.get(s as usize) else {
            return;
        };
        let current = match step {
            Step::Route => st.route_gen,
            _ => st.step_gen,
        };
        if !st.live || current != generation {
            return; // stale
        }
        match step {
            Step::FaultDelay => {
                self.streams.items[s as usize].step_gen = 0;
                self.after_fault(s);
            }
            Step::Backoff => {
                self.streams.items[s as usize].step_gen = 0;
                self.send_attempt(s);
            }
            Step::PerTry => {
                let st = &mut self.streams.items[s as usize];
                st.step_gen = 0;
                let (lb, down) = (st.lb, st.down);
                let host = self.abandon_attempt(s);
                if let Some(m) = &mut self.mesh {
                    m.count(lb, ClusterCounter::UpstreamRqPerTryTimeout);
                }
                if self.requests.items[down as usize].traced {
                    let msg =
                        "per-try timeout: the attempt is reset (the server still finishes it)"
                            .to_string();
                    self.trace_log(down, msg);
                }
                self.report_outlier(lb, host, OutlierResult::LocalOriginTimeout, false);
                self.after_attempt(s, AttemptOutcome::PerTryTimeout);
            }
            Step::Route => {
                let st = &self.streams.items[s as usize];
                let (lb, down) = (st.lb, st.down);
                let had_attempt = st.attempt != NONE;
                let host = self.abandon_attempt(s);
                if let Some(m) = &mut self.mesh {
                    m.count(lb, ClusterCounter::UpstreamRqTimeout);
                }
                if self.requests.items[down as usize].traced {
                    let msg = "route timeout: 504 UT".to_string();
                    self.trace_log(down, msg);
                }
                if had_attempt {
                    self.report_outlier(lb, host, OutlierResult::LocalOriginTimeout, false);
                }
                self.stream_done(s, 504, ResponseFlag::UpstreamRequestTimeout.into(), NONE);
            }
        }
    }

    /// Resets the attempt in flight (if any): nobody waits for it any more,
    /// the server finishes it anyway. Returns its host (NONE = none).
    fn abandon_attempt(&mut self, s: u32) -> u32 {
        let st = &mut self.streams.items[s as usize];
        let a = std::mem::replace(&mut st.attempt, NONE);
        if a == NONE {
            return NONE;
        }
        let (route, counted) = (st.route, self.window.contains(st.start));
        if self.upstream_cancel_pending(a) {
            // Still waiting for a connection: never sent, nothing abandoned.
            let st = &mut self.streams.items[s as usize];
            st.attempts = st.attempts.saturating_sub(1);
            let host = self.requests.items[a as usize].lb_host;
            self.drop_unsent(a);
            return host;
        }
        if self.requests.items[a as usize].up_conn != NONE {
            // Envoy resets the upstream stream (an HTTP/1.1 connection closes).
            self.upstream_release(a, true);
        }
        let q = &mut self.requests.items[a as usize];
        q.origin = Origin::Abandoned;
        let (lb, host) = (q.lb, q.lb_host);
        q.lb = NONE; // Envoy's rq_active drops at the reset
        if let Some(m) = &mut self.mesh {
            m.release_host(lb, host);
            if counted && route != NONE {
                m.route_abandoned[route as usize] += 1;
            }
        }
        host
    }

    /// The app gave up on `down` (its own call timeout): Envoy sees a
    /// downstream reset — the attempt is reset, no retry, flag `DC`.
    /// Returns the attempts the stream had made and its flags so far.
    pub(super) fn reset_stream(&mut self, s: u32) -> (u32, ResponseFlags) {
        let st = &self.streams.items[s as usize];
        let (attempts, flags) = (st.attempts, st.flags);
        self.abandon_attempt(s);
        self.stream_done(
            s,
            0,
            ResponseFlag::DownstreamConnectionTermination.into(),
            NONE,
        );
        (attempts, flags)
    }

    /// Tells the detector of balancer `lb` what the attempt to `host` did,
    /// and applies ejections.
    fn report_outlier(&mut self, lb: u32, host: u32, r: OutlierResult, connected: bool) {
        if lb == NONE || host == NONE {
            return;
        }
        let now = self.now();
        let Some(m) = &mut self.mesh else { return };
        let st = &mut m.lb_states[lb as usize];
        let client = st.client;
        let Some(det) = &mut st.detector else { return };
        let rng = &mut m.lb_rng[client as usize];
        let mut events = Vec::new();
        if connected {
            events.extend(det.report(
                host as usize,
                OutlierResult::LocalOriginConnectSuccess,
                now,
                rng,
            ));
        }
        events.extend(det.report(host as usize, r, now, rng));
        for e in events {
            self.apply_outlier(lb, e);
        }
    }

    /// Stream `s` answers its downstream request with `status` (+ `flags`);
    /// `next` is the upstream failure this answer passes on (NONE = none).
    fn stream_done(&mut self, s: u32, status: u16, flags: ResponseFlags, next: u32) {
        let now = self.now();
        let st = &mut self.streams.items[s as usize];
        st.live = false;
        st.step_gen = 0;
        st.route_gen = 0;
        let (down, lb, route, dest, at_gateway, mut hop) =
            (st.down, st.lb, st.route, st.dest, st.at_gateway, st.hop);
        let proxy = st.client;
        let all = st.flags.union(flags);
        let tcp = st.policy == super::tcp_proxy::TCP_POLICY_KEY;
        let (status, all) = if tcp {
            super::tcp_proxy::tcp_reply(status, all)
        } else {
            (status, all)
        };
        if tcp
            && lb != NONE
            && all.contains(ResponseFlag::UpstreamRetryLimitExceeded)
            && let Some(m) = &mut self.mesh
        {
            m.count(lb, ClusterCounter::UpstreamCxConnectAttemptsExceeded);
        }
        let (start, attempts) = (st.start, st.attempts);
        // The answer passes this proxy (sidecar or gateway) on its way back.
        hop = hop + self.proxy_response_delay(proxy);
        if self.istio.is_some() {
            let st = &self.streams.items[s as usize];
            let (client, pod, svc) = (st.client, st.last_pod, st.target.service as u32);
            let service = crate::metrics::istio::DestService::Service(svc);
            self.istio_source(client, pod, service, status, all, start, now);
        }
        let counted = self.window.contains(start);
        if let Some(m) = &mut self.mesh {
            if lb != NONE {
                let ls = &mut m.lb_states[lb as usize];
                self.streams.items[s as usize].retry.finish(&mut ls.rm);
            }
            if counted {
                let b = self.window.batch(start);
                let lat = now.saturating_since(start).as_nanos();
                if route != NONE {
                    let rec = &mut m.rec_route[route as usize];
                    rec.record(b, lat, status);
                    rec.count_flags(all);
                    m.route_attempts[route as usize] += u64::from(attempts);
                }
                if dest != NONE {
                    let rec = &mut m.rec_dest[dest as usize];
                    rec.record(b, lat, status);
                    rec.count_flags(all);
                }
            }
        }
        // Why it failed: this proxy's own reply (its flags) in front of what
        // the upstream passed on, or the upstream's answer as it is.
        let target = self.streams.items[s as usize].target.service as u32;
        let chain = if !crate::metrics::is_failure(status) {
            NONE
        } else if all.is_empty() {
            next
        } else {
            let cause = super::propagation::flags_cause(all);
            self.chain(Node::Service(target), status, &cause, next)
        };
        if at_gateway && counted {
            self.service_flags_at_gateway(down, target as usize, all);
            let gw = Node::Service(self.requests.items[down as usize].target.service as u32);
            self.record_edge(gw, target, attempts, status, chain);
        }
        let st = &mut self.streams.items[s as usize];
        st.tried.clear();
        self.streams.remove(s);
        let q = &mut self.requests.items[down as usize];
        q.stream = NONE;
        q.flags = all;
        q.chain = chain;
        q.attempts = attempts.min(u32::from(u16::MAX)) as u16;
        if at_gateway {
            q.hop = hop;
            self.server_done(down, status);
        } else if hop > SimDuration::ZERO {
            self.q
                .schedule(now + hop, Event::Respond { req: down, status });
        } else {
            self.complete(down, status);
        }
    }
}

/// Words for a trace line.
fn describe_outcome(o: AttemptOutcome) -> String {
    match o {
        AttemptOutcome::Response { status, .. } => format!("response {status}"),
        AttemptOutcome::Reset { reason, .. } => format!("reset ({reason:?})"),
        AttemptOutcome::PerTryTimeout => "per-try timeout".to_string(),
    }
}
