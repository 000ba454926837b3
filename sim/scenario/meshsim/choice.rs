//! The `choice` step: exactly one of its branches runs, drawn by weight.
//!
//! Why a step of its own: independent call probabilities cannot say "either
//! search or reserve" (DeathStarBench's hotel frontend), since two
//! independent draws sometimes make both calls and sometimes neither. A
//! branch is `{weight: W, steps: [...]}` or `{weight: W, <one step>}`;
//! weights are integers ≥ 0 (a zero-weight branch never runs, as in Envoy's
//! weighted clusters), not all zero.

use super::script::{RawStep, step_kind, steps};
use crate::scenario::decode::{Cx, V};

pub fn choice(cx: &mut Cx, body: &V) -> Option<RawStep> {
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
