//! Envoy's filter chain match for an L4 (tcp_proxy) listener, and the
//! tcp_proxy's weighted cluster pick, as pure functions.
//!
//! Why here: which chain a connection lands on decides everything after it
//! (tcp_proxy or nothing, which route, which clusters), and Envoy's rule is
//! not "first match": it narrows **level by level**, most specific first,
//! and never backtracks (`source/common/listener_manager/filter_chain_manager_impl.cc`
//! `findFilterChain` → `findFilterChainForDestinationIP` →
//! `findFilterChainForServerName`, Envoy 1.36):
//! 1. destination IP: chains bound to the connection's destination (a
//!    sidecar's chain for one Service's ClusterIP) beat the wildcard ones;
//!    once that level picked, only its chains are looked at;
//! 2. server name (TLS SNI): an exact name beats the longest `*.suffix`
//!    wildcard, which beats chains with no `server_names`; a connection
//!    without SNI (plain TCP) only fits the latter;
//! 3. nothing fits ⇒ no filter chain: Envoy closes the connection and logs
//!    `NR` ("no matching filter chain for a downstream connection",
//!    `docs/root/configuration/observability/access_log/usage.rst`).
//!
//! A chain's tcp_proxy then picks one of its weighted clusters per
//! connection, `random % total` over the cumulative weights
//! (`tcp_proxy.cc` `Config::getRouteFromEntries` →
//! `WeightedClusterUtil::pickCluster`): the same walk as the HTTP router's.

use crate::engine::rng::SimRng;

/// How well one chain's server names fit an SNI (higher = more specific).
fn sni_rank(names: &[String], sni: Option<&str>) -> Option<usize> {
    if names.is_empty() {
        return Some(0);
    }
    let sni = sni?;
    let mut best = None;
    for n in names {
        let r = if n.eq_ignore_ascii_case(sni) {
            Some(usize::MAX)
        } else if let Some(suffix) = n.strip_prefix('*') {
            // `*.example.com` matches `a.example.com` (not `example.com`).
            let s = sni.to_ascii_lowercase();
            (s.len() > suffix.len() && s.ends_with(&suffix.to_ascii_lowercase()))
                .then_some(1 + suffix.len())
        } else {
            None
        };
        best = best.max(r);
    }
    best
}

/// The chain a connection to destination `dest` with server name `sni`
/// (None = not TLS) lands on: index into `0..n`, `chain(i)` giving chain i's
/// (destination, server names). Among equally specific chains the first
/// wins (Envoy rejects exact duplicates; istiod avoids them). None = no
/// filter chain (connection closed, `NR`).
pub fn select<'a>(
    n: usize,
    chain: impl Fn(usize) -> (Option<usize>, &'a [String]),
    dest: usize,
    sni: Option<&str>,
) -> Option<usize> {
    let bound = (0..n).any(|i| chain(i).0 == Some(dest));
    let level = |i: usize| {
        let d = chain(i).0;
        if bound { d == Some(dest) } else { d.is_none() }
    };
    let mut best: Option<(usize, usize)> = None;
    for i in (0..n).filter(|&i| level(i)) {
        if let Some(r) = sni_rank(chain(i).1, sni)
            && best.is_none_or(|(_, b)| r > b)
        {
            best = Some((i, r));
        }
    }
    best.map(|(i, _)| i)
}

/// tcp_proxy's weighted pick over `(cluster, weight)`: an index; one
/// cluster consumes no draw.
pub fn pick_weighted(clusters: &[(u32, u32)], rng: &mut SimRng) -> usize {
    use rand::Rng;
    if clusters.len() <= 1 {
        return 0;
    }
    let total: u64 = clusters.iter().map(|&(_, w)| u64::from(w)).sum();
    let r = rng.next_u64() % total.max(1);
    let mut end = 0u64;
    for (i, &(_, w)) in clusters.iter().enumerate() {
        end += u64::from(w);
        if r < end {
            return i;
        }
    }
    clusters.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(chains: &[(Option<usize>, Vec<&str>)], dest: usize, sni: Option<&str>) -> Option<usize> {
        let owned: Vec<(Option<usize>, Vec<String>)> = chains
            .iter()
            .map(|(d, s)| (*d, s.iter().map(|x| x.to_string()).collect()))
            .collect();
        select(owned.len(), |i| (owned[i].0, &owned[i].1[..]), dest, sni)
    }

    #[test]
    fn destination_level_first_then_sni_without_backtracking() {
        // A sidecar listener: Service 3's chain, then the catch-all passthrough.
        let chains = [(Some(3), vec![]), (None, vec![])];
        assert_eq!(sel(&chains, 3, None), Some(0));
        assert_eq!(sel(&chains, 7, None), Some(1));
        // Service 3 has only an SNI chain: another SNI finds nothing there
        // and does not fall back to the wildcard destination.
        let chains = [(Some(3), vec!["a.com"]), (None, vec![])];
        assert_eq!(sel(&chains, 3, Some("a.com")), Some(0));
        assert_eq!(sel(&chains, 3, Some("b.com")), None);
        assert_eq!(sel(&chains, 3, None), None);
        assert_eq!(sel(&chains, 4, Some("b.com")), Some(1));
    }

    #[test]
    fn exact_sni_beats_wildcard_beats_none() {
        let chains = [
            (None, vec![]),
            (None, vec!["*.com"]),
            (None, vec!["*.cnn.com"]),
            (None, vec!["edition.cnn.com"]),
        ];
        assert_eq!(sel(&chains, 0, Some("edition.cnn.com")), Some(3));
        assert_eq!(sel(&chains, 0, Some("EDITION.cnn.com")), Some(3));
        assert_eq!(sel(&chains, 0, Some("www.cnn.com")), Some(2));
        assert_eq!(sel(&chains, 0, Some("x.com")), Some(1));
        assert_eq!(sel(&chains, 0, Some("cnn.org")), Some(0));
        assert_eq!(sel(&chains, 0, None), Some(0));
        // `*.cnn.com` does not match the bare domain.
        assert_eq!(sel(&chains[2..3], 0, Some("cnn.com")), None);
    }

    #[test]
    fn weighted_pick_is_envoys_walk() {
        let mut rng = crate::engine::rng::RngFactory::new(7, 0)
            .of(crate::engine::rng::Purpose::RouteDecision, "t");
        let w = [(10, 80), (11, 20)];
        let n = 100_000;
        let v2 = (0..n).filter(|_| pick_weighted(&w, &mut rng) == 1).count();
        // 20 % ± 4.4σ (σ = √(n·0.2·0.8) ≈ 126).
        assert!((v2 as i64 - 20_000).abs() < 560, "{v2}");
        assert_eq!(pick_weighted(&[(1, 5)], &mut rng), 0);
    }
}
