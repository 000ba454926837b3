//! Locality load balancing at run time: the host layout of one client
//! proxy's balancer for a cluster with a [`LocalityPolicy`].
//!
//! Why here: the priorities depend on where the *client* runs and where each
//! endpoint was scheduled, which only the world knows (pods are placed on
//! nodes at start-up; a node's locality is its `topology.kubernetes.io/region`
//! / `zone` and `topology.istio.io/subzone` labels, as istiod reads them).
//! The decisions themselves are pure ([`crate::proxy::locality::assign`],
//! [`crate::proxy::lb::prioritized::layout`]); this file only gathers their
//! inputs. Endpoint and proxy labels are the pod's labels plus the topology
//! labels Istio adds (`AugmentLabels`: region, zone, subzone, node name), so
//! `failoverPriority` can name them.

use crate::cluster::node::{ClusterNet, HOSTNAME_LABEL, NO_NODE, NodeIx};
use crate::proxy::lb::prioritized::{Group, layout};
use crate::proxy::locality::{
    EndpointView, Locality, LocalityPolicy, REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL, assign,
};
use crate::scenario::spec::Scenario;
use std::collections::BTreeMap;

/// A prioritized balancer's host order: `order[i]` is the position (in the
/// hosts laid out) of host i; `groups` its priority/locality runs.
pub(super) struct Layout {
    pub order: Vec<usize>,
    pub groups: Vec<Group>,
    pub weighted: bool,
}

/// The locality and Istio-augmented labels of something on `node` with `labels`.
fn placed(
    net: &ClusterNet,
    node: NodeIx,
    labels: &BTreeMap<String, String>,
) -> (Locality, BTreeMap<String, String>) {
    let Some(n) = (node != NO_NODE)
        .then(|| net.nodes.get(node as usize))
        .flatten()
    else {
        return (Locality::default(), labels.clone());
    };
    let mut l = labels.clone();
    for k in [REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL, HOSTNAME_LABEL] {
        if let Some(v) = n.labels.get(k) {
            l.insert(k.to_string(), v.clone());
        }
    }
    (Locality::of_labels(&n.labels), l)
}

/// What istiod knows to lay out one client proxy's endpoints of one
/// cluster: the policy, the client's locality and labels, and per host (a
/// pod that may back the cluster) its locality and Istio-augmented labels.
/// Kept per balancer so the layout can be redone over the hosts in EDS
/// whenever endpoints change: istiod recomputes the assignment from the
/// current endpoints (`BuildClusterLoadAssignment`), so a locality whose
/// endpoints are all gone disappears and the priorities behind it are
/// compacted (`applyLocalityFailover`, `loadbalancer.go` @1.28.9).
pub(super) struct LocalityHosts {
    policy: LocalityPolicy,
    me: Locality,
    my_labels: BTreeMap<String, String>,
    eps: Vec<(Locality, BTreeMap<String, String>)>,
}

impl LocalityHosts {
    /// For the client on `client_node` with pod labels `client_labels` and
    /// the hosts `pods` (in pod order; `localities[h]`, when given, is host
    /// h's ServiceEntry locality).
    pub(super) fn new(
        spec: &Scenario,
        policy: &LocalityPolicy,
        (client_node, client_labels): (NodeIx, &BTreeMap<String, String>),
        (pods, localities): (&[u32], &[Option<Locality>]),
        node_of: &[NodeIx],
        dep_of: &[u32],
    ) -> LocalityHosts {
        let net = &spec.network.cluster;
        let (me, my_labels) = placed(net, client_node, client_labels);
        let eps = pods
            .iter()
            .enumerate()
            .map(|(h, &p)| {
                let d = &spec.deployments[dep_of[p as usize] as usize];
                let (l, labels) = placed(net, node_of[p as usize], &d.labels);
                // A ServiceEntry endpoint's own `locality` wins over the node.
                match localities.get(h).cloned().flatten() {
                    Some(given) => (given, labels),
                    None => (l, labels),
                }
            })
            .collect();
        LocalityHosts {
            policy: policy.clone(),
            me,
            my_labels,
            eps,
        }
    }

    /// The layout of `hosts` (indices into the hosts given to `new`, in
    /// that order): `order` holds positions into `hosts`.
    pub(super) fn layout(&self, hosts: &[u32]) -> Layout {
        let views: Vec<EndpointView> = hosts
            .iter()
            .map(|&h| {
                let (l, labels) = &self.eps[h as usize];
                EndpointView {
                    locality: l,
                    labels,
                }
            })
            .collect();
        let placements = assign(&self.policy, &self.me, &self.my_labels, &views);
        let weighted = self.policy.locality_weighted();
        let keys: Vec<&Locality> = views.iter().map(|e| e.locality).collect();
        let (order, groups) = layout(&placements, &keys, weighted);
        Layout {
            order,
            groups,
            weighted,
        }
    }

    /// Does the layout over every host differ from one group holding them
    /// all? When it does not, Envoy's single priority behaves exactly as
    /// the plain balancer (same panic rule), which keeps scenarios whose
    /// endpoints all share the client's locality as they were.
    pub(super) fn matters(&self) -> bool {
        let all: Vec<u32> = (0..self.eps.len() as u32).collect();
        let l = self.layout(&all);
        l.groups.len() > 1 || l.order.len() != all.len()
    }
}

/// The node and pod labels of client `client` (loads, then pods): a load's
/// sidecar sits on its entry node with labels `app: <load name>`.
pub(super) fn client_placement(
    spec: &Scenario,
    node_of: &[NodeIx],
    dep_of: &[u32],
    client: u32,
) -> (NodeIx, BTreeMap<String, String>) {
    let n = spec.loads.len();
    let c = client as usize;
    if c < n {
        let l = &spec.loads[c];
        let labels = BTreeMap::from([("app".to_string(), l.name.clone())]);
        (l.entry.node.unwrap_or(0), labels)
    } else {
        let p = c - n;
        let d = &spec.deployments[dep_of[p] as usize];
        (node_of[p], d.labels.clone())
    }
}

/// Envoy's `previous_priorities` retry plugin with Istio's update frequency
/// 2 (`route/retry/retry.go` @1.28.9): before a pick, once the attempts so
/// far are a non-zero multiple of 2, the priorities they went to are
/// excluded from the load; when nothing would be left, the plugin forgets
/// them and the original load applies. `prio`: the balancer's priorities
/// (None = no locality LB). Returns the exclusion mask.
pub(super) fn retry_exclusion(
    attempts: u32,
    seen: &mut u64,
    excluded: &mut u64,
    prio: Option<&crate::proxy::lb::prioritized::Prioritized>,
) -> u64 {
    const UPDATE_FREQUENCY: u32 = 2;
    let Some(p) = prio else {
        return 0;
    };
    if attempts >= UPDATE_FREQUENCY && attempts.is_multiple_of(UPDATE_FREQUENCY) {
        *excluded = *seen;
        if crate::proxy::locality::load_excluding(p.load().0, *excluded).is_none() {
            *seen = 0;
            *excluded = 0;
        }
    }
    *excluded
}
