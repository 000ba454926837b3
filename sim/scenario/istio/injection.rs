//! Who gets a sidecar: Istio 1.28's injector as a pure decision.
//!
//! The webhook is called only when one of its selectors matches, and those see
//! labels only (istio/istio `manifests/charts/istio-control/istio-discovery/
//! templates/mutatingwebhook.yaml`); inside it `injectRequired`
//! (`pkg/kube/inject/inject.go`) skips hostNetwork pods and the ignored system
//! namespaces, then reads the pod label, else the annotation
//! `sidecar.istio.io/inject` (reference, "Pinned facts: Sidecar injection").

use crate::scenario::spec::istio::Injection;
use std::collections::BTreeMap;

const INJECT: &str = "sidecar.istio.io/inject";
const NS_INJECTION: &str = "istio-injection";
const REV: &str = "istio.io/rev";

/// `pkg/kube/inject/initializer.go` `IgnoredNamespaces`.
const IGNORED_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// What the pod template says about injection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTemplate {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub host_network: bool,
}

/// Does Istio 1.28 (default revision, default values) inject this pod?
pub fn injected(
    ns_labels: &BTreeMap<String, String>,
    pod: &PodTemplate,
    namespace: &str,
) -> Injection {
    let pod_label = pod.labels.get(INJECT).map(String::as_str);
    // 1. The webhook's selectors (labels only).
    let selected = match (ns_labels.get(NS_INJECTION), ns_labels.get(REV)) {
        (Some(v), _) if v != "enabled" => return Injection::NamespaceDisabled,
        (Some(_), _) if pod_label == Some("false") => return Injection::PodOptOut,
        (Some(_), _) => Injection::NamespaceEnabled,
        (None, Some(_)) if pod_label == Some("false") => return Injection::PodOptOut,
        (None, Some(_)) => Injection::NamespaceRevision,
        (None, None) => match (pod_label, pod.labels.contains_key(REV)) {
            (Some("true"), false) => Injection::PodLabelTrue,
            (Some("false"), true) => return Injection::PodOptOut,
            (_, true) => Injection::PodRevision,
            _ => return Injection::NotSelected,
        },
    };
    // 2. Inside the webhook (`injectRequired`).
    if pod.host_network {
        return Injection::HostNetwork;
    }
    if IGNORED_NAMESPACES.contains(&namespace) {
        return Injection::IgnoredNamespace;
    }
    let says = pod_label.or_else(|| pod.annotations.get(INJECT).map(String::as_str));
    match says.map(str::to_ascii_lowercase).as_deref() {
        Some("false" | "n" | "no" | "off") => Injection::PodOptOut,
        // "true", other values or absent: the default policy `enabled` injects.
        _ => selected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Injection::*;

    fn m(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_rule_of_the_injector() {
        let en = m(&[("istio-injection", "enabled")]);
        let dis = m(&[("istio-injection", "disabled")]);
        let rev = m(&[("istio.io/rev", "default")]);
        let both_dis = m(&[("istio-injection", "disabled"), ("istio.io/rev", "default")]);
        let none = m(&[]);
        let pod = |l: &[(&str, &str)], a: &[(&str, &str)], hn: bool| PodTemplate {
            labels: m(l),
            annotations: m(a),
            host_network: hn,
        };
        let cases: Vec<(&BTreeMap<String, String>, PodTemplate, &str, Injection)> = vec![
            // Namespace enabled: everything injected unless opted out.
            (&en, pod(&[], &[], false), "default", NamespaceEnabled),
            (
                &en,
                pod(&[("sidecar.istio.io/inject", "false")], &[], false),
                "default",
                PodOptOut,
            ),
            (
                &en,
                pod(&[], &[("sidecar.istio.io/inject", "false")], false),
                "default",
                PodOptOut,
            ),
            (
                &en,
                pod(
                    &[("sidecar.istio.io/inject", "true")],
                    &[("sidecar.istio.io/inject", "false")],
                    false,
                ),
                "default",
                NamespaceEnabled,
            ),
            (&en, pod(&[], &[], true), "default", HostNetwork),
            (&en, pod(&[], &[], false), "kube-system", IgnoredNamespace),
            (&en, pod(&[], &[], false), "kube-public", IgnoredNamespace),
            (
                &en,
                pod(&[], &[], false),
                "kube-node-lease",
                IgnoredNamespace,
            ),
            (
                &en,
                pod(&[], &[], false),
                "local-path-storage",
                IgnoredNamespace,
            ),
            // istio-injection=disabled beats everything, including istio.io/rev.
            (
                &dis,
                pod(&[("sidecar.istio.io/inject", "true")], &[], false),
                "default",
                NamespaceDisabled,
            ),
            (
                &both_dis,
                pod(&[("istio.io/rev", "default")], &[], false),
                "default",
                NamespaceDisabled,
            ),
            // istio.io/rev on the namespace, no istio-injection label.
            (&rev, pod(&[], &[], false), "default", NamespaceRevision),
            (
                &rev,
                pod(&[("sidecar.istio.io/inject", "false")], &[], false),
                "default",
                PodOptOut,
            ),
            (
                &rev,
                pod(&[], &[("sidecar.istio.io/inject", "false")], false),
                "default",
                PodOptOut,
            ),
            // Unlabeled namespace: only pod labels select.
            (&none, pod(&[], &[], false), "default", NotSelected),
            (
                &none,
                pod(&[], &[("sidecar.istio.io/inject", "true")], false),
                "default",
                NotSelected,
            ),
            (
                &none,
                pod(&[("sidecar.istio.io/inject", "true")], &[], false),
                "default",
                PodLabelTrue,
            ),
            (
                &none,
                pod(&[("sidecar.istio.io/inject", "true")], &[], true),
                "default",
                HostNetwork,
            ),
            (
                &none,
                pod(&[("sidecar.istio.io/inject", "true")], &[], false),
                "kube-system",
                IgnoredNamespace,
            ),
            (
                &none,
                pod(&[("istio.io/rev", "default")], &[], false),
                "default",
                PodRevision,
            ),
            (
                &none,
                pod(
                    &[
                        ("istio.io/rev", "default"),
                        ("sidecar.istio.io/inject", "false"),
                    ],
                    &[],
                    false,
                ),
                "default",
                PodOptOut,
            ),
            (
                &none,
                pod(
                    &[("istio.io/rev", "default")],
                    &[("sidecar.istio.io/inject", "false")],
                    false,
                ),
                "default",
                PodOptOut,
            ),
            (
                &none,
                pod(&[("sidecar.istio.io/inject", "false")], &[], false),
                "default",
                NotSelected,
            ),
        ];
        for (i, (ns, p, name, want)) in cases.iter().enumerate() {
            assert_eq!(
                injected(ns, p, name),
                *want,
                "case {i}: {ns:?} {p:?} {name}"
            );
        }
        assert!(NamespaceEnabled.injected() && PodRevision.injected());
        assert!(!PodOptOut.injected() && !NotSelected.injected());
    }
}
