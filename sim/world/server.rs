//! The server side: a request at its pod, from admission to answer.
//!
//! A request that reaches a pod becomes an execution of the deployment's
//! script. Thread-per-request servers (`holdWorkerDuringCalls`) take a worker
//! on arrival — or join the pod's FIFO queue, or are refused with the
//! queue-full status — and hold it to the end; released-worker (async)
//! servers take a worker only for each compute step. The script runs until it
//! waits: a compute step (an event), a call ([`call`](super::call)), or a
//! fork whose branches run as child executions and join. `respond` ends it:
//! [`World::server_done`] records server-side latency and sends the response
//! back ([`connection`](super::connection)). Requests for the ingress
//! controller's pods go to [`ingress`](super::ingress) instead of a script.

use super::{Event, Exec, World};
use crate::scenario::spec::ErrorTrigger;
use crate::workload::load::NONE;
use crate::workload::script::Op;

impl World<'_> {
    pub(super) fn arrive_at_pod(&mut self, r: u32, pod: u32) {
        if self.life.is_some() && self.refused_at(r, pod) {
            return;
        }
        let now = self.now();
        let counted = self.window.contains(now);
        let (svc, dep, hs) = {
            let req = &mut self.requests.items[r as usize];
            req.arrive = now;
            req.counted_server = counted;
            req.at_server = true;
            (
                req.target.service,
                self.pods[pod as usize].deployment as usize,
                req.headers as usize,
            )
        };
        if counted {
            self.rec_svc[svc].requests += 1;
            if self.own_recorder(dep, svc) {
                self.rec_dep[dep].requests += 1;
            }
            let seen = &mut self.headers_seen[dep];
            if seen.len() <= hs {
                seen.resize(hs + 1, 0);
            }
            seen[hs] += 1;
            self.pod_requests[pod as usize] += 1;
        }
        let entry = if self.deps[dep].rare {
            if dep as u32 == self.ingress_ctrl {
                self.proxy(r, pod);
                return;
            }
            if self.is_gateway(pod) {
                self.gateway(r, pod);
                return;
            }
            self.endpoint_entry(r, dep, counted)
        } else {
            0
        };
        let e = self.execs.insert(Exec {
            req: r,
            pod,
            pc: entry,
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
        let d = &self.deps[dep];
        if !d.hold {
            if self.requests.items[r as usize].traced {
                let msg = format!(
                    "arrives at pod {} (async server: a worker is taken only for compute steps)",
                    self.pod_name(pod)
                );
                self.trace_log(r, msg);
            }
            self.begin_exec(e);
            return;
        }
        if self.requests.items[r as usize].traced {
            let p = &self.pods[pod as usize];
            let msg = format!(
                "arrives at pod {}: {} of {} workers busy, {} waiting{}",
                self.pod_name(pod),
                p.busy,
                p.workers,
                p.queue.len(),
                if p.has_free_worker() {
                    " → takes a worker"
                } else if d.queue_limit.is_some_and(|l| p.admissions_waiting >= l) {
                    " → queue full"
                } else {
                    " → joins the FIFO queue"
                }
            );
            self.trace_log(r, msg);
        }
        let d = &self.deps[dep];
        let p = &mut self.pods[pod as usize];
        if p.has_free_worker() {
            p.touch(now);
            p.busy += 1;
            self.execs.items[e as usize].holds_worker = true;
            self.begin_exec(e);
        } else if d.queue_limit.is_some_and(|l| p.admissions_waiting >= l) {
            p.stats.queue_full += 1;
            let st = d.full_status;
            self.execs.remove(e);
            self.fail_here(r, st, "queue-full", NONE);
            self.server_done(r, st);
        } else {
            p.admissions_waiting += 1;
            p.enqueue(now, e);
        }
    }

    /// Runs an execution until it waits (compute, call, fork) or ends.
    pub(super) fn run_exec(&mut self, e: u32) {
        loop {
            let ex = self.execs.items[e as usize];
            let dep = self.pods[ex.pod as usize].deployment as usize;
            let op = self.deps[dep].program.ops[ex.pc as usize];
            match op {
                Op::Compute(s) => {
                    // Released-worker servers take a worker per compute step;
                    // thread-per-request servers hold the root's worker throughout.
                    if !ex.holds_worker && !self.deps[dep].hold {
                        let now = self.now();
                        let p = &mut self.pods[ex.pod as usize];
                        if p.has_free_worker() {
                            p.touch(now);
                            p.busy += 1;
                            self.execs.items[e as usize].holds_worker = true;
                        } else if ex.parent == NONE && self.deps[dep].program.is_entry(ex.pc) {
                            // A new request waiting for its first worker: an admission,
                            // bounded by the queue limit like a thread-per-request server.
                            let d = &self.deps[dep];
                            if d.queue_limit.is_some_and(|l| p.admissions_waiting >= l) {
                                p.stats.queue_full += 1;
                                let st = d.full_status;
                                self.execs.remove(e);
                                self.fail_here(ex.req, st, "queue-full", NONE);
                                self.server_done(ex.req, st);
                            } else {
                                p.admissions_waiting += 1;
                                p.enqueue(now, e);
                            }
                            return;
                        } else {
                            p.enqueue(now, e);
                            return;
                        }
                    }
                    let d = self.deps[dep].program.samplers[s as usize]
                        .sample(&mut self.svc_rng[ex.pod as usize]);
                    let t = self.now() + d;
                    if let Some(h) = &mut self.hpa {
                        h.compute(ex.pod, t, d);
                    }
                    if ex.traced {
                        let msg = format!("{} computes for {d}", self.pod_name(ex.pod));
                        self.trace_log(ex.req, msg);
                    }
                    self.q.schedule(t, Event::ComputeDone { exec: e });
                    return;
                }
                Op::Call(ci) => {
                    let call = &self.deps[dep].program.calls[ci as usize];
                    let depth = self.requests.items[ex.req as usize].depth;
                    let skip = call.max_depth.is_some_and(|m| depth as u32 >= m)
                        || !call.chance.sample(&mut self.beh_rng[ex.pod as usize]);
                    if skip {
                        self.execs.items[e as usize].pc += 1;
                        continue;
                    }
                    let retries = call.retries;
                    self.start_call(e, ci, retries);
                    return;
                }
                Op::Fork(fi) => {
                    let n = self.deps[dep].program.forks[fi as usize].branches.len();
                    // +1 guard: branches that finish synchronously can't join early.
                    self.execs.items[e as usize].pending = n as u32 + 1;
                    for b in 0..n {
                        let start = self.deps[dep].program.forks[fi as usize].branches[b];
                        let c = self.execs.insert(Exec {
                            req: ex.req,
                            pod: ex.pod,
                            pc: start,
                            parent: e,
                            root: ex.root,
                            pending: 0,
                            holds_worker: false,
                            fail: 0,
                            fail_chain: NONE,
                            call: None,
                            traced: ex.traced,
                            dead: false,
                        });
                        self.run_exec(c);
                    }
                    if !self.branch_done(e) {
                        return;
                    }
                    // All branches finished synchronously: continue here.
                    continue;
                }
                Op::Choose(ci) => {
                    let pc = self.choose(e, dep, ci);
                    self.execs.items[e as usize].pc = pc;
                    continue;
                }
                Op::Goto(pc) => {
                    self.execs.items[e as usize].pc = pc;
                    continue;
                }
                Op::EndBranch => {
                    let parent = ex.parent;
                    self.release_if_held(e);
                    self.execs.remove(e);
                    if self.branch_done(parent) {
                        self.run_exec(parent);
                    }
                    return;
                }
                Op::Respond => {
                    let mut status = if ex.fail != 0 { ex.fail } else { 200 };
                    if status == 200
                        && self.deps[dep].rare
                        && self.deps[dep].error.is_some_and(|err| !err.before_script)
                        && let Some(st) = self.app_error(dep, ex.pod)
                    {
                        status = st;
                    }
                    if ex.traced {
                        let why = if ex.fail != 0 {
                            " (a call failed: onError fail)"
                        } else if status != 200 {
                            " (injected error)"
                        } else {
                            ""
                        };
                        let msg = format!("{} answers {status}{why}", self.pod_name(ex.pod));
                        self.trace_log(ex.req, msg);
                    }
                    if ex.fail != 0 && status == ex.fail {
                        self.fail_here(ex.req, status, "call-failed", ex.fail_chain);
                    } else if status != 200 {
                        self.fail_here(ex.req, status, "error", NONE);
                    }
                    self.release_if_held(e);
                    self.execs.remove(e);
                    self.server_done(ex.req, status);
                    return;
                }
            }
        }
    }

    /// Starts a request's script on its pod, unless the application fails it
    /// first (`errors.beforeScript`: no compute, no calls — isotope's mock
    /// service checks its error counter before running the script).
    fn begin_exec(&mut self, e: u32) {
        let (r, pod, traced) = {
            let ex = &self.execs.items[e as usize];
            (ex.req, ex.pod, ex.traced)
        };
        let dep = self.pods[pod as usize].deployment as usize;
        if self.deps[dep].rare
            && self.deps[dep].error.is_some_and(|err| err.before_script)
            && let Some(status) = self.app_error(dep, pod)
        {
            if traced {
                let msg = format!(
                    "{} answers {status} before its script (injected error)",
                    self.pod_name(pod)
                );
                self.trace_log(r, msg);
            }
            self.fail_here(r, status, "error", NONE);
            self.release_if_held(e);
            self.execs.remove(e);
            self.server_done(r, status);
            return;
        }
        self.run_exec(e);
    }

    /// Whether the application's own error (`errors`) fails this request on
    /// `pod`, and with which status. Draws (or counts) once per request, at
    /// the point the error is decided.
    fn app_error(&mut self, dep: usize, pod: u32) -> Option<u16> {
        let err = self.deps[dep].error?;
        let fires = match err.trigger {
            ErrorTrigger::Chance(c) => c.sample(&mut self.beh_rng[pod as usize]),
            ErrorTrigger::Every(n) => {
                // isotope's handler: count, and at the N-th reset and fail.
                let p = &mut self.pods[pod as usize];
                p.error_count += 1;
                let due = p.error_count >= n;
                if due {
                    p.error_count = 0;
                }
                due
            }
        };
        fires.then_some(err.status)
    }

    /// Decrements a fork's pending count; true (and pc moved to the join) when all
    /// branches are done.
    fn branch_done(&mut self, parent: u32) -> bool {
        let ex = &mut self.execs.items[parent as usize];
        ex.pending -= 1;
        if ex.pending > 0 {
            return false;
        }
        let dep = self.pods[ex.pod as usize].deployment as usize;
        let Op::Fork(fi) = self.deps[dep].program.ops[ex.pc as usize] else {
            unreachable!("a pending execution sits on its fork")
        };
        let join = self.deps[dep].program.forks[fi as usize].join;
        let ex = &mut self.execs.items[parent as usize];
        ex.pc = join;
        let root = ex.root;
        let root_fail = self.execs.items[root as usize].fail;
        if root_fail != 0 {
            let ex = &mut self.execs.items[parent as usize];
            ex.pc = self.deps[dep].program.exit[join as usize];
        }
        true
    }

    pub(super) fn release_if_held(&mut self, e: u32) {
        let ex = &mut self.execs.items[e as usize];
        if ex.holds_worker {
            ex.holds_worker = false;
            let pod = ex.pod;
            self.release_worker(pod);
        }
    }

    /// A worker becomes free: the next waiter (FIFO) takes it.
    fn release_worker(&mut self, pod: u32) {
        let now = self.now();
        let p = &mut self.pods[pod as usize];
        p.touch(now);
        match p.queue.pop_front() {
            Some(w) if self.execs.items[w as usize].req == NONE => {
                // A kubelet probe (`probe.rs`): answered at once, and the
                // worker goes to the next waiter.
                self.probe_dequeued(w);
                self.release_worker(pod);
            }
            Some(w) => {
                let ex = &mut self.execs.items[w as usize];
                ex.holds_worker = true;
                if ex.traced {
                    let (req, pname) = (ex.req, self.pod_name(pod));
                    let waited = now.saturating_since(self.requests.items[req as usize].arrive);
                    self.trace_log(
                        req,
                        format!("gets a worker on {pname} ({waited} after arriving)"),
                    );
                }
                let p = &mut self.pods[pod as usize];
                let ex = &mut self.execs.items[w as usize];
                let dep = p.deployment as usize;
                let admission = ex.parent == NONE && self.deps[dep].program.is_entry(ex.pc);
                if admission {
                    // It was an admission (either server model): see arrive_at_pod / run_exec.
                    p.admissions_waiting -= 1;
                }
                if self.is_gateway(pod) {
                    self.gateway_work(w);
                    return;
                }
                if admission {
                    self.begin_exec(w);
                } else {
                    self.run_exec(w);
                }
            }
            None => {
                p.busy -= 1;
                if p.busy == 0 && self.life.is_some() {
                    self.worker_freed(pod); // a draining pod may be done
                }
            }
        }
    }

    pub(super) fn on_compute_done(&mut self, e: u32) {
        if self.execs.items[e as usize].dead {
            // Its pod died meanwhile (`pod_lifecycle.rs`).
            self.execs.items[e as usize].dead = false;
            self.execs.remove(e);
            return;
        }
        if self.is_gateway(self.execs.items[e as usize].pod) {
            self.gateway_worked(e);
            return;
        }
        let ex = &mut self.execs.items[e as usize];
        ex.pc += 1;
        let dep = self.pods[ex.pod as usize].deployment as usize;
        if !self.deps[dep].hold {
            self.release_if_held(e);
        }
        self.run_exec(e);
    }

    /// The server answers `r` with `status`.
    /// Request `r`, served by its pod's Service, fails with `status` here
    /// because of `cause` (chained to `next`, the deeper failure if any).
    pub(super) fn fail_here(&mut self, r: u32, status: u16, cause: &str, next: u32) {
        if !crate::metrics::is_failure(status) {
            return;
        }
        let svc = self.requests.items[r as usize].target.service as u32;
        let c = self.chain(
            crate::metrics::propagation::Node::Service(svc),
            status,
            cause,
            next,
        );
        self.requests.items[r as usize].chain = c;
    }

    pub(super) fn server_done(&mut self, r: u32, status: u16) {
        let now = self.now();
        let req = &mut self.requests.items[r as usize];
        req.at_server = false;
        if req.counted_server {
            let lat = now.saturating_since(req.arrive).as_nanos();
            let b = self.window.batch(req.arrive);
            let svc = req.target.service;
            let dep = self.pods[req.pod as usize].deployment as usize;
            let ix = req.endpoint;
            self.rec_svc[svc].record(b, lat, status);
            if self.own_recorder(dep, svc) {
                self.rec_dep[dep].record(b, lat, status);
            }
            if self.ep.active {
                self.record_endpoint(dep, ix, b, lat, status);
            }
        }
        if self.istio.is_some() {
            self.istio_destination(r, status);
        }
        self.respond(r, status);
    }
}
