//! `Cluster` (meshsim.dev/v1alpha1): nodes and zones, hop and handshake
//! latencies, the cloud, and the modelled ingress-nginx controller's size.
//! Optional: without one the cluster is one implicit node with zero latencies.
//! A meshsim kind, so strict: unknown fields are errors.

use super::dist::dist;
use crate::cluster::node::{
    Cloud, ClusterNet, HOSTNAME_LABEL, HopLatency, IngressControllerSpec, Node, ZONE_LABEL,
};
use crate::scenario::decode::Cx;
use crate::scenario::diag::Origin;
use crate::scenario::kube::service::traffic_policy;
use crate::scenario::object::Object;

/// Most nodes a scenario may declare (node indices are 16-bit).
const MAX_NODES: i64 = 10_000;

/// `kind: Cluster`; `previous` is where an earlier one was (an error).
pub fn decode(o: &Object, cx: &mut Cx, previous: Option<&Origin>) -> Option<ClusterNet> {
    if let Some(prev) = previous {
        let msg = format!(
            "a scenario has one Cluster; another is in {} document {}",
            prev.file, prev.document
        );
        cx.error_at(o.node.loc(), "", msg);
        return None;
    }
    cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
    let spec = cx.req(&o.node, "spec")?;
    cx.known_fields(
        &spec,
        &[
            "nodes",
            "network",
            "handshake",
            "cloud",
            "ingressController",
        ],
    );
    let mut net = ClusterNet::implicit();
    net.name = o.name.clone();
    net.nodes.clear();
    net.zones.clear();
    if let Some(items) = cx.req(&spec, "nodes").and_then(|n| cx.seq(&n)) {
        for item in items {
            cx.known_fields(
                &item,
                &[
                    "name", "count", "zone", "region", "subzone", "labels", "maxPods",
                ],
            );
            let Some(name) = cx.req(&item, "name").and_then(|n| cx.str(&n)) else {
                continue;
            };
            let count = item
                .get("count")
                .and_then(|c| cx.int_in(&c, 1, MAX_NODES))
                .unwrap_or(1);
            let mut labels = item
                .get("labels")
                .and_then(|l| cx.string_map(&l))
                .unwrap_or_default();
            let zone = match item.get("zone").and_then(|z| cx.scalar_string(&z)) {
                Some(z) => z,
                None => labels.get(ZONE_LABEL).cloned().unwrap_or_default(),
            };
            if !zone.is_empty() {
                labels.insert(ZONE_LABEL.to_string(), zone.clone());
            }
            // Region and Istio's subzone: node labels, as istiod reads a
            // proxy's and an endpoint's locality from them.
            for (key, label) in [
                ("region", crate::cluster::node::REGION_LABEL),
                ("subzone", crate::cluster::node::SUBZONE_LABEL),
            ] {
                if let Some(v) = item.get(key).and_then(|z| cx.scalar_string(&z)) {
                    labels.insert(label.to_string(), v);
                }
            }
            let max_pods = item
                .get("maxPods")
                .and_then(|m| cx.int_in(&m, 0, u32::MAX as i64))
                .map(|m| m as u32);
            let zi = match net.zones.iter().position(|z| *z == zone) {
                Some(i) => i,
                None => {
                    net.zones.push(zone.clone());
                    net.zones.len() - 1
                }
            };
            for i in 0..count {
                let n = if count == 1 {
                    name.to_string()
                } else {
                    format!("{name}-{i}")
                };
                if net.nodes.iter().any(|x| x.name == n) {
                    cx.error(&item, format!("duplicate node name {n:?}"));
                    continue;
                }
                let mut l = labels.clone();
                l.insert(HOSTNAME_LABEL.to_string(), n.clone());
                net.nodes.push(Node {
                    name: n,
                    zone: zi as u16,
                    labels: l,
                    max_pods,
                });
            }
        }
        // Nodes written but each rejected above need no second error.
        let written = spec.get("nodes").is_some_and(
            |n| matches!(&n.node.value, crate::scenario::raw::Value::Seq(s) if !s.is_empty()),
        );
        if net.nodes.is_empty() && !written {
            cx.error_at(
                spec.loc(),
                "spec.nodes",
                "a Cluster needs at least one node",
            );
        } else if net.nodes.len() as i64 > MAX_NODES {
            cx.error_at(
                spec.loc(),
                "spec.nodes",
                format!("{} nodes, at most {MAX_NODES}", net.nodes.len()),
            );
        }
    }
    if let Some(n) = spec.get("network") {
        cx.known_fields(&n, &["sameNode", "sameZone", "crossZone", "external"]);
        let mut lat = HopLatency::zero();
        for (key, slot) in [
            ("sameNode", &mut lat.same_node),
            ("sameZone", &mut lat.same_zone),
            ("crossZone", &mut lat.cross_zone),
            ("external", &mut lat.external),
        ] {
            if let Some(d) = n.get(key).and_then(|d| dist(cx, &d)) {
                *slot = d;
            }
        }
        net.latency = lat;
    }
    if let Some(h) = spec.get("handshake").and_then(|h| dist(cx, &h)) {
        net.handshake = h;
    }
    if let Some(c) = spec.get("cloud") {
        net.cloud = cx
            .one_of(&c, &[("none", Cloud::None), ("generic", Cloud::Generic)])
            .unwrap_or(Cloud::Generic);
    }
    if let Some(ic) = spec.get("ingressController") {
        cx.known_fields(&ic, &["replicas", "externalTrafficPolicy"]);
        let replicas = ic
            .get("replicas")
            .and_then(|r| cx.int_in(&r, 1, 10_000))
            .unwrap_or(1) as u32;
        let local = ic
            .get("externalTrafficPolicy")
            .and_then(|p| traffic_policy(cx, &p))
            .unwrap_or(false);
        net.ingress_controller = IngressControllerSpec { replicas, local };
    }
    Some(net)
}
