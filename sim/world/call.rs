//! Outgoing calls: a script's `call` step, from the caller's side.
//!
//! Each try of a call is a new request from the calling pod: it builds the
//! headers (forwarded from the inbound request plus the call's own), gets a
//! pod — today straight through kube-proxy or the caller's keep-alive pool
//! ([`connection`](super::connection)) — and arms the application-level
//! timeout. A try fails on a 5xx / no response or when that timer fires (the
//! abandoned try still runs to the end on the callee). Failed tries are
//! retried while tries are left; then `onError` decides whether the script
//! continues or the request answers with a forced status.

use super::{Event, Origin, Request, World};
use crate::cluster::node::NO_NODE;
use crate::metrics::is_failure;
use crate::metrics::propagation::Node;
use crate::scenario::spec::{EntryKind, OnError};
use crate::workload::load::NONE;

#[derive(Clone, Copy, Debug)]
pub(super) struct CallState {
    call: u32,
    tries_left: u32,
    generation: u32,
    pub(super) outstanding: u32,
}

impl World<'_> {
    /// Execution `e` starts call `ci` of its script: the first of `retries + 1` tries.
    pub(super) fn start_call(&mut self, e: u32, ci: u32, retries: u32) {
        self.execs.items[e as usize].call = Some(CallState {
            call: ci,
            tries_left: retries,
            generation: 0,
            outstanding: NONE,
        });
        self.issue_call_try(e);
    }

    fn issue_call_try(&mut self, e: u32) {
        let now = self.now();
        let ex = self.execs.items[e as usize];
        let cs = ex.call.expect("calling");
        let dep = self.pods[ex.pod as usize].deployment as usize;
        let call = &self.deps[dep].program.calls[cs.call as usize];
        let (target, timeout) = (call.target, call.timeout);
        let (parent_headers, parent_depth) = {
            let q = &self.requests.items[ex.req as usize];
            (q.headers, q.depth)
        };
        let forwards = !call.forward_headers.is_empty() && parent_headers != 0;
        let headers = if !forwards && call.headers.is_empty() {
            0
        } else {
            let mut set: Vec<(String, String)> = if forwards {
                self.headers[parent_headers as usize]
                    .iter()
                    .filter(|(k, _)| call.forward_headers.contains(k))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            for (k, v) in &call.headers {
                set.retain(|(f, _)| f != k);
                set.push((k.clone(), v.clone()));
            }
            self.intern_headers(set)
        };
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        let client = self.spec.loads.len() + ex.pod as usize;
        let from = self.node_of[ex.pod as usize];
        let (mut pod, mut via, mut new_conn, mut pool, mut pconn) =
            (NONE, NO_NODE, true, NONE, NONE);
        let meshed = self.mesh.is_some();
        let sidecar = meshed && self.client_proxy(client as u32) != NONE;
        // Without a mesh `attrs` carries the endpoint rules' request line.
        let attrs = if meshed {
            self.call_attrs(dep as u32, cs.call, headers)
        } else {
            self.ep.call_line(dep, cs.call)
        };
        match self.deps[dep].pool_size {
            // With a sidecar the app talks to its local Envoy, which balances
            // per request: no kube-proxy pick, no pinned keep-alive pool.
            _ if sidecar => new_conn = false,
            None => (pod, via) = self.open_conn(target, client, EntryKind::ClusterIP, from, false),
            Some(size) => {
                pool = self.pool_for(ex.pod, target, size);
                if let Some(ci) = self.idle_pconn(pool) {
                    pconn = ci;
                    (pod, via, new_conn) = self.take_pconn(pool, ci, target, client, from);
                }
            }
        }
        let origin = Origin::Call {
            exec: e,
            generation,
        };
        let r = self.requests.insert(Request {
            pod,
            depth: parent_depth.saturating_add(1),
            headers,
            via,
            pool,
            pconn,
            traced: ex.traced,
            attrs,
            fresh: new_conn,
            ..Request::new(origin, target, client as u32, from, now)
        });
        if ex.traced {
            let call = &self.deps[dep].program.calls[cs.call as usize];
            let svc = &self.spec.services[target.service];
            let tries = call.retries + 1;
            let this_try = tries - cs.tries_left;
            let timeout = call
                .timeout
                .map(|t| format!(", app timeout {t}"))
                .unwrap_or_default();
            let msg = format!(
                "{} calls {} {} on {}.{}:{} (try {this_try} of {tries}{timeout})",
                self.pod_name(ex.pod),
                call.method,
                call.path,
                svc.name,
                svc.namespace,
                svc.ports[target.port].port
            );
            self.trace_log(r, msg);
            let conn_msg = if sidecar {
                format!("{}'s app sends it to its sidecar", self.pod_name(ex.pod))
            } else if pool != NONE && pconn == NONE {
                "every pooled connection is busy: the call waits for one".to_string()
            } else {
                self.describe_conn(pod, via, new_conn, target)
            };
            self.trace_log(r, conn_msg);
        }
        if let Some(cs) = &mut self.execs.items[e as usize].call {
            cs.generation = generation;
            cs.outstanding = r;
        }
        if let Some(t) = timeout {
            self.q.schedule(
                now + t,
                Event::CallTimeout {
                    exec: e,
                    generation,
                },
            );
        }
        if sidecar {
            self.outbound(r);
            return;
        }
        if pool != NONE && pconn == NONE {
            // Every connection of the pool is busy: wait for one.
            self.wait_for_pconn(pool, r);
            return;
        }
        self.dispatch(r, new_conn);
    }

    pub(super) fn on_call_timeout(&mut self, e: u32, generation: u32) {
        let Some(cs) = self.execs.items[e as usize].call else {
            return;
        };
        if cs.generation != generation {
            return; // stale: the call answered (or was retried) before the timer fired
        }
        let q = &mut self.requests.items[cs.outstanding as usize];
        q.origin = Origin::Abandoned;
        let stream = q.stream;
        if self.execs.items[e as usize].traced {
            let msg = "the caller's app timeout fires: this try is abandoned (the callee still finishes it)".to_string();
            self.trace_log(cs.outstanding, msg);
        }
        let q = self.requests.items[cs.outstanding as usize];
        let (attempts, flags) = if stream != NONE {
            // The app hangs up on its sidecar: Envoy resets the stream.
            self.reset_stream(stream)
        } else {
            (1, crate::proxy::flags::ResponseFlags::NONE)
        };
        let proxied = (stream != NONE).then_some(flags);
        self.service_flags_on_app_timeout(q.target.service, q.start, proxied);
        let pod = self.execs.items[e as usize].pod;
        self.pods[pod as usize].stats.call_timeouts += 1;
        // The caller's own timeout: the edge failed here, root unknown deeper.
        let callee = q.target.service as u32;
        // A fault delay the proxy was holding it in is the deeper reason.
        let cause = if flags.contains(crate::proxy::flags::ResponseFlag::DelayInjected) {
            "app-timeout (DI)"
        } else {
            "app-timeout"
        };
        let chain = self.chain(Node::Service(callee), 0, cause, NONE);
        if self.window.contains(q.start) {
            let up = self.execs.items[e as usize].req;
            let caller = Node::Service(self.requests.items[up as usize].target.service as u32);
            self.record_edge(caller, callee, attempts, 0, chain);
        }
        self.call_try_failed(e, chain);
    }

    pub(super) fn call_result(&mut self, e: u32, generation: u32, status: u16, chain: u32) {
        let Some(cs) = self.execs.items[e as usize].call else {
            return;
        };
        if cs.generation != generation {
            return;
        }
        if is_failure(status) {
            // A failure with no cause recorded is the callee's own.
            let chain = if chain == NONE {
                let callee = self.requests.items[cs.outstanding as usize].target.service as u32;
                let why = if status == 0 { "no-response" } else { "-" };
                self.chain(Node::Service(callee), status, why, NONE)
            } else {
                chain
            };
            self.call_try_failed(e, chain);
        } else {
            let ex = &mut self.execs.items[e as usize];
            ex.call = None;
            ex.pc += 1;
            self.run_exec(e);
        }
    }

    fn call_try_failed(&mut self, e: u32, chain: u32) {
        let ex = self.execs.items[e as usize];
        let mut cs = ex.call.expect("calling");
        if cs.tries_left > 0 {
            cs.tries_left -= 1;
            self.execs.items[e as usize].call = Some(cs);
            self.issue_call_try(e);
            return;
        }
        let dep = self.pods[ex.pod as usize].deployment as usize;
        let root = ex.root as usize;
        if self.execs.items[root].fail_chain == NONE {
            self.execs.items[root].fail_chain = chain;
        }
        let on_error = self.deps[dep].program.calls[cs.call as usize].on_error;
        if ex.traced {
            let msg = match on_error {
                OnError::Continue => format!(
                    "{}: the call failed for good → onError continue",
                    self.pod_name(ex.pod)
                ),
                OnError::Fail(code) => format!(
                    "{}: the call failed for good → onError fail ({code})",
                    self.pod_name(ex.pod)
                ),
            };
            self.trace_log(ex.req, msg);
        }
        let ex = &mut self.execs.items[e as usize];
        ex.call = None;
        match on_error {
            OnError::Continue => ex.pc += 1,
            OnError::Fail(code) => {
                ex.pc = self.deps[dep].program.exit[ex.pc as usize];
                let root = ex.root as usize;
                if self.execs.items[root].fail == 0 {
                    self.execs.items[root].fail = code;
                }
            }
        }
        self.run_exec(e);
    }
}
