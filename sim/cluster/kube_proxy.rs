//! kube-proxy (iptables mode) endpoint selection.
//!
//! For each *new connection* kube-proxy picks one ready endpoint uniformly at
//! random (rule i of n fires with probability 1/(n−i)); conntrack then pins the
//! whole connection to it. So per-request balance depends on how many
//! connections a client opens: that is why this is a decision about
//! connections, not requests.

use crate::engine::rng::{SimRng, below};

/// The outcome of opening a connection to a ClusterIP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The connection is DNAT-ed to this pod.
    Endpoint(u32),
    /// No ready endpoint: the connection is refused.
    NoEndpoints,
}

/// Uniform choice among `ready` (one draw; none when there is a single endpoint,
/// matching iptables, whose last rule matches unconditionally).
#[inline]
pub fn pick(ready: &[u32], rng: &mut SimRng) -> Pick {
    match ready.len() {
        0 => Pick::NoEndpoints,
        1 => Pick::Endpoint(ready[0]),
        n => Pick::Endpoint(ready[below(rng, n as u64) as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};

    #[test]
    fn uniform_over_ready_endpoints() {
        let mut r = RngFactory::new(9, 0).of(Purpose::KubeProxy, "t");
        let eps = [10, 11, 12, 13];
        let mut counts = [0u32; 4];
        let n = 40_000;
        for _ in 0..n {
            let Pick::Endpoint(p) = pick(&eps, &mut r) else {
                panic!()
            };
            counts[(p - 10) as usize] += 1;
        }
        // Chi-square with 3 df; 99.9 % critical value 16.27.
        let e = n as f64 / 4.0;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 16.27, "{counts:?} chi2={chi2}");
        assert_eq!(pick(&[], &mut r), Pick::NoEndpoints);
        assert_eq!(pick(&[7], &mut r), Pick::Endpoint(7));
    }
}
