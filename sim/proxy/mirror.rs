//! Envoy request mirroring (route `request_mirror_policies`), as Istio 1.28
//! writes it from a VirtualService `mirror`/`mirrors`.
//!
//! Why a decision of its own: a mirrored copy is real load on the mirror
//! target (its own cluster, breakers and balancer) while the caller never
//! waits for it or sees its response — fire and forget. The world needs to
//! know per request which copies to send and with which Host.
//!
//! Rules (Envoy `source/common/router/router.cc` `decodeHeaders` /
//! `FilterUtility::shouldShadow`, `shadow_writer_impl.cc`
//! `shadowAppendedHost`, release/v1.36; Istio `route.go` `MirrorPercent`,
//! `MirrorPercentByPolicy`, `TranslateRequestMirrorPolicy` @1.28.10, pinned
//! fact "Mirror"):
//! * Percentage absent ⇒ 100 %; explicit 0 ⇒ Istio writes **no** policy;
//!   otherwise `value × 10 000` per million.
//! * Envoy decides each policy with `runtime featureEnabled(key, fraction,
//!   stable_random)`: one per-request random value shared by every policy,
//!   `stable_random % 1 000 000 < numerator`. So with two mirrors at 30 %
//!   and 60 % a request mirrored to the first is always mirrored to the
//!   second.
//! * Host: Istio 1.28 sets `disable_shadow_host_suffix_append: true`
//!   (`DISABLE_SHADOW_HOST_SUFFIX` defaults to true), so the copy keeps the
//!   original Host; without it Envoy inserts `-shadow` before the port.
//! * Mirrored requests are not trace-sampled (`trace_sampled: false`).
//!
//! Not modelled: the body buffering limits of shadow streams.

use crate::engine::rng::SimRng;

/// Parts per million in Envoy's `MILLION` denominator.
pub const MILLION: u32 = 1_000_000;

/// Inert config: one `request_mirror_policies` entry. `T` names the mirror
/// target (a cluster id in the world, a string in tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorPolicy<T> {
    pub cluster: T,
    /// `runtime_fraction.default_value` numerator (per million).
    pub fraction_ppm: u32,
    /// `disable_shadow_host_suffix_append`.
    pub disable_shadow_host_suffix_append: bool,
    /// `trace_sampled` (Istio: false).
    pub trace_sampled: bool,
}

/// Istio's `MirrorPercent`: None = no mirror policy (explicit 0 %).
pub fn istio_mirror_ppm(percentage: Option<f64>) -> Option<u32> {
    match percentage {
        None => Some(MILLION),
        Some(v) if v.is_nan() || v <= 0.0 => None,
        Some(v) => Some((v * 10_000.0).min(MILLION as f64) as u32),
    }
}

/// Istio 1.28's policy for one `mirrors[]` entry (or `mirror` +
/// `mirrorPercentage`); None when the percentage is an explicit 0.
pub fn istio_mirror_policy<T>(cluster: T, percentage: Option<f64>) -> Option<MirrorPolicy<T>> {
    istio_mirror_ppm(percentage).map(|ppm| MirrorPolicy {
        cluster,
        fraction_ppm: ppm,
        disable_shadow_host_suffix_append: true,
        trace_sampled: false,
    })
}

/// Whether a policy shadows a request with `stable_random` (`shouldShadow`).
pub fn should_shadow<T>(p: &MirrorPolicy<T>, stable_random: u64) -> bool {
    if p.fraction_ppm == 0 {
        false
    } else if p.fraction_ppm >= MILLION {
        true
    } else {
        stable_random % (MILLION as u64) < p.fraction_ppm as u64
    }
}

/// Which policies shadow this request (indices into `policies`). Draws the
/// per-request random value only if some policy is neither 0 % nor 100 %.
pub fn mirrors_for_request<T>(policies: &[MirrorPolicy<T>], rng: &mut SimRng) -> Vec<usize> {
    use rand::Rng;
    let uncertain = policies
        .iter()
        .any(|p| p.fraction_ppm > 0 && p.fraction_ppm < MILLION);
    let stable_random = if uncertain { rng.next_u64() } else { 0 };
    policies
        .iter()
        .enumerate()
        .filter(|(_, p)| should_shadow(p, stable_random))
        .map(|(i, _)| i)
        .collect()
}

/// The Host of the mirrored copy: unchanged with Istio 1.28's default,
/// else `-shadow` before the port (`shadowAppendedHost`).
pub fn shadow_host<T>(p: &MirrorPolicy<T>, host: &str) -> String {
    if p.disable_shadow_host_suffix_append {
        return host.to_string();
    }
    // A port is a ':' followed by digits only, after any IPv6 ']'.
    let port_start = host.rfind(':').filter(|&i| {
        let tail = &host[i + 1..];
        !tail.is_empty()
            && tail.bytes().all(|b| b.is_ascii_digit())
            && !host[i..].contains(']')
            && (host.starts_with('[') || host[..i].find(':').is_none())
    });
    match port_start {
        Some(i) => format!("{}-shadow{}", &host[..i], &host[i..]),
        None => format!("{host}-shadow"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};

    fn rng() -> SimRng {
        RngFactory::new(9, 0).of(Purpose::Behaviour, "mirror-test")
    }

    #[test]
    fn istio_percent_table() {
        let cases = [
            (None, Some(1_000_000)),
            (Some(100.0), Some(1_000_000)),
            (Some(150.0), Some(1_000_000)),
            (Some(50.0), Some(500_000)),
            (Some(0.5), Some(5_000)),
            (Some(0.0), None),
        ];
        for (p, want) in cases {
            assert_eq!(istio_mirror_ppm(p), want, "{p:?}");
        }
        let p = istio_mirror_policy("v2", None).unwrap();
        assert!(p.disable_shadow_host_suffix_append && !p.trace_sampled);
        assert!(istio_mirror_policy("v2", Some(0.0)).is_none());
    }

    #[test]
    fn host_is_kept_in_1_28_and_suffixed_in_compat_profiles() {
        let keep = istio_mirror_policy("v2", None).unwrap();
        assert_eq!(shadow_host(&keep, "httpbin:8000"), "httpbin:8000");
        let old = MirrorPolicy {
            disable_shadow_host_suffix_append: false,
            ..keep
        };
        let cases = [
            ("httpbin", "httpbin-shadow"),
            ("httpbin:8000", "httpbin-shadow:8000"),
            (
                "httpbin.default.svc.cluster.local",
                "httpbin.default.svc.cluster.local-shadow",
            ),
            ("[::1]:80", "[::1]-shadow:80"),
        ];
        for (h, want) in cases {
            assert_eq!(shadow_host(&old, h), want);
        }
    }

    #[test]
    fn full_mirrors_draw_nothing_and_partial_ones_share_one_value() {
        let all = vec![
            istio_mirror_policy("a", None).unwrap(),
            istio_mirror_policy("b", Some(100.0)).unwrap(),
        ];
        let mut a = rng();
        let mut b = rng();
        assert_eq!(mirrors_for_request(&all, &mut a), vec![0, 1]);
        use rand::Rng;
        assert_eq!(a.next_u64(), b.next_u64(), "no draw at 100 %");

        // 30 % and 60 %: nested, since both compare the same value.
        let part = vec![
            istio_mirror_policy("a", Some(30.0)).unwrap(),
            istio_mirror_policy("b", Some(60.0)).unwrap(),
        ];
        let mut r = rng();
        let n = 100_000;
        let (mut first, mut second) = (0u32, 0u32);
        for _ in 0..n {
            let m = mirrors_for_request(&part, &mut r);
            assert!(!m.contains(&0) || m.contains(&1), "nested");
            first += m.contains(&0) as u32;
            second += m.contains(&1) as u32;
        }
        // 99.9 %: sd(0.3) ≈ 145, sd(0.6) ≈ 155.
        assert!((first as i64 - 30_000).abs() < 480, "{first}");
        assert!((second as i64 - 60_000).abs() < 510, "{second}");
    }
}
