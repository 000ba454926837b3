//! A closed-loop `Load`'s fortio pacing flags: `uniform`, `jitter`,
//! `noCatchUp` (`-uniform`, `-jitter`, `-nocatchup`; see
//! [`crate::workload::pacing`]). They shape a `qps` schedule, so each needs
//! `qps`: without it nothing is paced and the flag would silently do nothing.

use crate::scenario::decode::{Cx, V};
use crate::scenario::spec::PacingMode;

pub fn pacing_mode(cx: &mut Cx, closed: &V, has_qps: bool) -> PacingMode {
    let mut flag = |key: &str| -> bool {
        let Some(v) = closed.get(key) else {
            return false;
        };
        let on = cx.bool(&v).unwrap_or(false);
        if on && !has_qps {
            cx.error(&v, format!("{key} paces a qps schedule: set closed.qps"));
        }
        on
    };
    PacingMode {
        uniform: flag("uniform"),
        jitter: flag("jitter"),
        no_catch_up: flag("noCatchUp"),
    }
}
