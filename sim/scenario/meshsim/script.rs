//! A `Workload`'s script: `compute`, `call`, `parallel` and `choice` steps, decoded with
//! each call's host left unresolved (resolution needs every Service, see
//! [`crate::scenario::call_graph`]). Also the request fields calls share with
//! `Load`: `headers` and status codes.

use super::dist::dist;
use crate::engine::dist::Dist;
use crate::engine::rng::Chance;
use crate::scenario::decode::{Cx, V};
use crate::scenario::raw::{Loc, Value};
use crate::scenario::spec::{Call, OnError, Step, Target};

/// A call whose host is not resolved yet.
#[derive(Clone, Debug)]
pub struct RawCall {
    pub host: String,
    pub port: Option<u16>,
    pub loc: Loc,
    pub path_in_yaml: String,
    pub call: Call,
    pub max_depth: Option<u32>,
}

#[derive(Clone, Debug)]
pub enum RawStep {
    Compute(Dist),
    Call(Box<RawCall>),
    Parallel(Vec<Vec<RawStep>>),
    Choice(Vec<(u32, Vec<RawStep>)>),
}

pub fn steps(cx: &mut Cx, v: &V) -> Vec<RawStep> {
    let Some(items) = cx.seq(v) else {
        return Vec::new();
    };
    items.iter().filter_map(|i| step(cx, i)).collect()
}

fn step(cx: &mut Cx, v: &V) -> Option<RawStep> {
    let entries = cx.map(v)?;
    if entries.len() != 1 {
        cx.error(
            v,
            "a step has exactly one key: compute, call, parallel or choice",
        );
        return None;
    }
    let (k, body) = &entries[0];
    step_kind(cx, k, body)
}

/// The step written as `k: body` (`compute`, `call`, `parallel`, `choice`).
pub(super) fn step_kind(cx: &mut Cx, k: &str, body: &V) -> Option<RawStep> {
    match k {
        "compute" => dist(cx, body).map(RawStep::Compute),
        "call" => call(cx, body).map(|c| RawStep::Call(Box::new(c))),
        "parallel" => {
            let branches = cx.seq(body)?;
            let mut out = Vec::new();
            for b in branches {
                match &b.node.value {
                    Value::Seq(_) => out.push(steps(cx, &b)),
                    _ => out.push(step(cx, &b).into_iter().collect()),
                }
            }
            Some(RawStep::Parallel(out))
        }
        "choice" => choice(cx, body),
        other => {
            cx.error_at(
                body.loc(),
                &body.path,
                format!("unknown step {other:?}; use compute, call, parallel or choice"),
            );
            None
        }
    }
}

fn call(cx: &mut Cx, v: &V) -> Option<RawCall> {
    cx.known_fields(
        v,
        &[
            "host",
            "port",
            "path",
            "method",
            "forwardHeaders",
            "headers",
            "probability",
            "timeout",
            "retries",
            "onError",
            "errorStatus",
            "maxDepth",
        ],
    );
    let host_v = cx.req(v, "host");
    let host = host_v.as_ref().and_then(|h| cx.str(h)).map(str::to_string);
    let port = v.get("port").and_then(|p| cx.port(&p));
    let path = v
        .get("path")
        .and_then(|p| cx.str(&p))
        .unwrap_or("/")
        .to_string();
    let method = v
        .get("method")
        .and_then(|p| cx.str(&p))
        .unwrap_or("GET")
        .to_string();
    let forward_headers = v
        .get("forwardHeaders")
        .and_then(|f| cx.seq(&f))
        .map(|xs| {
            xs.iter()
                .filter_map(|x| cx.str(x))
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let headers = headers(cx, v);
    let chance = v
        .get("probability")
        .and_then(|p| cx.probability(&p))
        .map(Chance::from_probability)
        .unwrap_or(Chance::ALWAYS);
    let timeout = v.get("timeout").and_then(|t| cx.positive_duration(&t));
    let retries = v
        .get("retries")
        .and_then(|r| cx.int_in(&r, 0, 100))
        .unwrap_or(0) as u32;
    let error_status = v
        .get("errorStatus")
        .and_then(|s| status(cx, &s))
        .unwrap_or(500);
    let on_error = match v.get("onError") {
        None => OnError::Fail(error_status),
        Some(o) => cx
            .one_of(
                &o,
                &[
                    ("fail", OnError::Fail(error_status)),
                    ("continue", OnError::Continue),
                ],
            )
            .unwrap_or(OnError::Fail(error_status)),
    };
    let max_depth = v
        .get("maxDepth")
        .and_then(|d| cx.int_in(&d, 1, 1000))
        .map(|d| d as u32);
    let host = host?;
    let authority = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    Some(RawCall {
        host,
        port,
        loc: host_v.as_ref().map(|h| h.loc()).unwrap_or(v.loc()),
        path_in_yaml: host_v.map(|h| h.path).unwrap_or(v.path.clone()),
        call: Call {
            target: Target {
                service: 0,
                port: 0,
            },
            authority,
            path,
            method,
            forward_headers,
            headers,
            chance,
            timeout,
            retries,
            on_error,
            max_depth: None,
        },
        max_depth,
    })
}

/// The `headers` map of a Load or a call; names lower-cased as HTTP/2 sends them.
pub fn headers(cx: &mut Cx, parent: &V) -> Vec<(String, String)> {
    parent
        .get("headers")
        .and_then(|h| cx.string_map(&h))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

pub fn status(cx: &mut Cx, v: &V) -> Option<u16> {
    cx.int_in(v, 100, 599).map(|s| s as u16)
}

/// The script with every call's target filled in by `f` (a call `f` cannot
/// resolve is dropped; `f` reports why).
pub fn resolve_steps(steps: &[RawStep], f: &mut dyn FnMut(&RawCall) -> Option<Call>) -> Vec<Step> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            RawStep::Compute(d) => out.push(Step::Compute(d.clone())),
            RawStep::Call(rc) => {
                if let Some(mut c) = f(rc) {
                    c.max_depth = rc.max_depth;
                    out.push(Step::Call(c));
                }
            }
            RawStep::Parallel(branches) => out.push(Step::Parallel(
                branches.iter().map(|b| resolve_steps(b, f)).collect(),
            )),
            RawStep::Choice(branches) => out.push(Step::Choice(
                branches
                    .iter()
                    .map(|(w, b)| (*w, resolve_steps(b, f)))
                    .collect(),
            )),
        }
    }
    out
}

/// The `choice` step: exactly one of its branches runs, drawn by weight.
///
/// Why a step of its own: independent call probabilities cannot say "either
/// search or reserve" (DeathStarBench's hotel frontend), since two
/// independent draws sometimes make both calls and sometimes neither. A
/// branch is `{weight: W, steps: [...]}` or `{weight: W, <one step>}`;
/// weights are integers ≥ 0 (a zero-weight branch never runs, as in Envoy's
/// weighted clusters), not all zero.
fn choice(cx: &mut Cx, body: &V) -> Option<RawStep> {
    let items = cx.seq(body)?;
    if items.is_empty() {
        cx.error(body, "a choice needs at least one branch");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for b in &items {
        let Some(entries) = cx.map(b) else {
            ok = false;
            continue;
        };
        let weight = match b.get("weight") {
            Some(w) => cx.int_in(&w, 0, u32::MAX as i64).map(|w| w as u32),
            None => Some(1),
        };
        let rest: Vec<_> = entries.iter().filter(|(k, _)| k != "weight").collect();
        let script = match rest.as_slice() {
            [(k, v)] if k == "steps" => Some(steps(cx, v)),
            [(k, v)] => step_kind(cx, k, v).map(|s| vec![s]),
            _ => {
                cx.error(
                    b,
                    "a choice branch is {weight: W, steps: [...]} or {weight: W, <one step>}",
                );
                None
            }
        };
        match (weight, script) {
            (Some(w), Some(s)) => out.push((w, s)),
            _ => ok = false,
        }
    }
    if ok && out.iter().all(|(w, _)| *w == 0) {
        cx.error(
            body,
            "every branch has weight 0: at least one must be positive",
        );
        return None;
    }
    ok.then_some(RawStep::Choice(out))
}
