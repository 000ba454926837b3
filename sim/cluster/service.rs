//! Service endpoints: for each Service port, the ready pods that serve it.
//!
//! Mirrors the EndpointSlice controller: a pod is an endpoint of a port when the
//! Service selector matches its labels and its containers expose the target port
//! (by number, or by name for named `targetPort`s).
//!
//! The controller reads Services and pod templates through the two small views
//! below, which the scenario's spec types implement: the cluster model owns the
//! rule without depending on the loader (`cluster` never imports `scenario`).

use super::selector::selects;
use std::collections::BTreeMap;

/// Endpoints of one Service port, as indices into the world's pod list.
#[derive(Clone, Debug, Default)]
pub struct PortEndpoints {
    pub pods: Vec<u32>,
}

/// What the EndpointSlice controller reads from a Service.
pub trait ServiceView {
    fn namespace(&self) -> &str;
    fn selector(&self) -> &BTreeMap<String, String>;
    /// The port's `targetPort` when it is a name (None when it is a number).
    fn target_port_name(&self, port_ix: usize) -> Option<&str>;
}

/// What the EndpointSlice controller reads from a pod template.
pub trait PodTemplateView {
    fn namespace(&self) -> &str;
    fn labels(&self) -> &BTreeMap<String, String>;
    /// A container declares a port with this name.
    fn has_port_named(&self, name: &str) -> bool;
}

/// Which deployments back `svc`'s port `port_ix`.
pub fn backing_deployments<S: ServiceView, D: PodTemplateView>(
    svc: &S,
    port_ix: usize,
    deployments: &[D],
) -> Vec<usize> {
    let target_name = svc.target_port_name(port_ix);
    deployments
        .iter()
        .enumerate()
        .filter(|(_, d)| d.namespace() == svc.namespace() && selects(svc.selector(), d.labels()))
        .filter(|(_, d)| match target_name {
            // A numeric targetPort reaches the pod whether or not the container
            // declares it (containerPort is informational in Kubernetes).
            None => true,
            Some(n) => d.has_port_named(n),
        })
        .map(|(i, _)| i)
        .collect()
}

/// [`backing_deployments`] for many Services at once. Deployments are indexed
/// by (namespace, label, value), so a Service checks only those carrying its
/// selector's first label: a 1,000-service isotope mesh does 10³ selector
/// checks per replication instead of 10⁶. Same answer, in the same order.
pub struct BackingIndex<'a> {
    by_label: BTreeMap<(&'a str, &'a str, &'a str), Vec<usize>>,
}

impl<'a> BackingIndex<'a> {
    pub fn new<D: PodTemplateView>(deployments: &'a [D]) -> BackingIndex<'a> {
        let mut by_label: BTreeMap<(&str, &str, &str), Vec<usize>> = BTreeMap::new();
        for (i, d) in deployments.iter().enumerate() {
            for (k, v) in d.labels() {
                by_label
                    .entry((d.namespace(), k.as_str(), v.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        BackingIndex { by_label }
    }

    /// Which of `deployments` (the slice the index was built from) back
    /// `svc`'s port `port_ix`.
    pub fn backing<S: ServiceView, D: PodTemplateView>(
        &self,
        svc: &S,
        port_ix: usize,
        deployments: &[D],
    ) -> Vec<usize> {
        let Some((k, v)) = svc.selector().iter().next() else {
            return Vec::new(); // an empty selector selects nothing
        };
        let Some(cands) = self
            .by_label
            .get(&(svc.namespace(), k.as_str(), v.as_str()))
        else {
            return Vec::new();
        };
        let target_name = svc.target_port_name(port_ix);
        cands
            .iter()
            .copied()
            .filter(|&i| {
                let d = &deployments[i];
                selects(svc.selector(), d.labels())
                    && target_name.is_none_or(|n| d.has_port_named(n))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Svc(&'static str, BTreeMap<String, String>, Option<&'static str>);
    struct Dep(
        &'static str,
        BTreeMap<String, String>,
        &'static [&'static str],
    );

    impl ServiceView for Svc {
        fn namespace(&self) -> &str {
            self.0
        }
        fn selector(&self) -> &BTreeMap<String, String> {
            &self.1
        }
        fn target_port_name(&self, _: usize) -> Option<&str> {
            self.2
        }
    }
    impl PodTemplateView for Dep {
        fn namespace(&self) -> &str {
            self.0
        }
        fn labels(&self) -> &BTreeMap<String, String> {
            &self.1
        }
        fn has_port_named(&self, name: &str) -> bool {
            self.2.contains(&name)
        }
    }

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn index_answers_as_the_scan_does() {
        let deps = [
            Dep("a", m(&[("app", "r"), ("v", "1")]), &["http"]),
            Dep("a", m(&[("app", "r"), ("v", "2")]), &[]),
            Dep("b", m(&[("app", "r"), ("v", "1")]), &["http"]),
            Dep("a", m(&[("app", "p")]), &["http"]),
        ];
        let svcs = [
            Svc("a", m(&[("app", "r")]), None),
            Svc("a", m(&[("app", "r"), ("v", "1")]), None),
            Svc("a", m(&[("v", "2"), ("app", "r")]), None),
            Svc("a", m(&[("app", "r")]), Some("http")),
            Svc("b", m(&[("app", "r")]), None),
            Svc("a", m(&[]), None),
            Svc("a", m(&[("tier", "web")]), None),
        ];
        let want: [&[usize]; 7] = [&[0, 1], &[0], &[1], &[0], &[2], &[], &[]];
        let index = BackingIndex::new(&deps);
        for (s, w) in svcs.iter().zip(want) {
            assert_eq!(backing_deployments(s, 0, &deps), w);
            assert_eq!(index.backing(s, 0, &deps), w);
        }
    }
}
