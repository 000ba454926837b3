//! Reads a pod template's `terminationGracePeriodSeconds` and its app
//! container's `lifecycle.preStop` (Kubernetes `core/v1`
//! `LifecycleHandler`).
//!
//! What is simulated: how long the hook takes. `sleep: {seconds: N}`
//! (the `PodLifecycleSleepAction` handler, on by default since 1.30) and
//! an `exec` whose command is a `sleep N` (`["sleep", "5"]`,
//! `["/bin/sh", "-c", "sleep 5"]`) take N s; any other `exec` or an
//! `httpGet` is listed as not simulated and taken as instant. The API
//! server rejects a negative grace period and a hook with no or several
//! handlers (`validateLifecycle`, `validateHandler`): errors here.

use super::decode::{Cx, V};
use super::spec::termination::Termination;
use crate::engine::SimDuration;

/// `sleep N` in a command line (the last word after a `sleep`).
fn sleep_secs(words: &[String]) -> Option<u64> {
    let joined = words.join(" ");
    let mut it = joined.split_whitespace();
    while let Some(w) = it.next() {
        if w == "sleep" || w.ends_with("/sleep") {
            return it.next()?.trim_end_matches(';').parse().ok();
        }
    }
    None
}

/// The pod spec's grace period (into `t`).
pub fn pod(cx: &mut Cx, pod_spec: &V, t: &mut Termination) {
    if let Some(g) = pod_spec.get("terminationGracePeriodSeconds")
        && let Some(s) = cx.int_in(&g, 0, 1 << 31)
    {
        t.grace = SimDuration::from_secs(s as u64);
    }
}

/// One app container's `lifecycle.preStop` (into `t`); `notes` gets the
/// not-simulated lines.
pub fn container(cx: &mut Cx, c: &V, t: &mut Termination, notes: &mut Vec<String>) {
    let Some(h) = c.get("lifecycle").and_then(|l| l.get("preStop")) else {
        return;
    };
    let handlers = ["exec", "httpGet", "tcpSocket", "sleep"];
    let given: Vec<&str> = handlers.iter().copied().filter(|k| h.has(k)).collect();
    if given.len() != 1 {
        cx.error(
            &h,
            "must specify exactly one handler (exec, httpGet, tcpSocket or sleep)",
        );
        return;
    }
    match given[0] {
        "sleep" => {
            let secs = h
                .get("sleep")
                .and_then(|s| cx.req(&s, "seconds"))
                .and_then(|s| cx.int_in(&s, 0, 1 << 31));
            if let Some(s) = secs {
                t.pre_stop = SimDuration::from_secs(s as u64);
            }
        }
        "exec" => {
            let words: Vec<String> = h
                .get("exec")
                .and_then(|e| e.get("command"))
                .and_then(|c| cx.seq(&c))
                .unwrap_or_default()
                .iter()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect();
            match sleep_secs(&words) {
                Some(s) => t.pre_stop = SimDuration::from_secs(s),
                None => {
                    cx.warn(
                        &h,
                        "preStop exec: only `sleep N` is simulated; this hook is taken as instant",
                    );
                    notes.push(format!("preStop exec {words:?}: taken as instant"));
                }
            }
        }
        other => {
            cx.warn(
                &h,
                format!("preStop {other}: not simulated; taken as instant"),
            );
            notes.push(format!("preStop {other}: taken as instant"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_is_found_in_the_usual_command_shapes() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(sleep_secs(&w(&["sleep", "5"])), Some(5));
        assert_eq!(sleep_secs(&w(&["/bin/sh", "-c", "sleep 15"])), Some(15));
        assert_eq!(sleep_secs(&w(&["/bin/sleep", "3"])), Some(3));
        assert_eq!(sleep_secs(&w(&["nginx", "-s", "quit"])), None);
    }
}
