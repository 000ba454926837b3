//! `sessionAffinity: ClientIP`: kube-proxy sends a client's new connections to
//! the endpoint it used last, for `timeoutSeconds` (default 10800 s).
//!
//! Why: with affinity, one load generator (one client IP) lands on **one** pod
//! however many connections it opens, which defeats spreading entirely; users
//! need to see that. The iptables implementation (`-m recent --rcheck
//! --seconds T --reap` then `--set`) refreshes the timestamp on every new
//! connection, so the timeout is a sliding idle timeout measured between new
//! connections (the reference marks this unconfirmed; this is the iptables
//! reading). A remembered endpoint that is no longer a candidate is forgotten.

use crate::engine::{SimDuration, SimTime};

/// Remembered (endpoint, last new connection) per client of one Service.
#[derive(Clone, Debug, Default)]
pub struct AffinityTable {
    slots: Vec<Option<(u32, SimTime)>>,
}

impl AffinityTable {
    pub fn new(clients: usize) -> Self {
        AffinityTable {
            slots: vec![None; clients],
        }
    }

    /// The endpoint `client` is pinned to, if still valid and a candidate.
    #[inline]
    pub fn lookup(
        &self,
        client: usize,
        now: SimTime,
        timeout: SimDuration,
        candidates: &[u32],
    ) -> Option<u32> {
        let (p, last) = self.slots[client]?;
        (now.saturating_since(last) <= timeout && candidates.contains(&p)).then_some(p)
    }

    #[inline]
    pub fn remember(&mut self, client: usize, pod: u32, now: SimTime) {
        self.slots[client] = Some((pod, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_timeout_and_candidates() {
        let mut t = AffinityTable::new(2);
        let to = SimDuration::from_secs_f64(10.0);
        assert_eq!(t.lookup(0, SimTime::ZERO, to, &[1, 2]), None);
        t.remember(0, 2, SimTime::ZERO);
        let at = |s: f64| SimTime::ZERO + SimDuration::from_secs_f64(s);
        assert_eq!(t.lookup(0, at(10.0), to, &[1, 2]), Some(2));
        assert_eq!(t.lookup(0, at(10.5), to, &[1, 2]), None);
        assert_eq!(t.lookup(0, at(1.0), to, &[1]), None);
        assert_eq!(t.lookup(1, at(1.0), to, &[1, 2]), None);
    }
}
