//! Mesh-wide settings as users keep them: the `istio` ConfigMap in the root
//! namespace (key `mesh`, a YAML document in a string) or an IstioOperator's
//! `spec.meshConfig`. Read: `outboundTrafficPolicy.mode`,
//! `defaultHttpRetryPolicy`, `rootNamespace`, `h2UpgradePolicy` (istio/api
//! `mesh/v1alpha1/config.proto` @1.28.10). Other MeshConfig keys are ignored
//! without a warning (MeshConfig has dozens that change no traffic).
//!
//! `defaultHttpRetryPolicy` is an `HTTPRetry` (attempts, perTryTimeout,
//! retryOn, retryRemoteLocalities, retryIgnorePreviousHosts, backoff), read
//! by the VirtualService's decoder with `validateHTTPRetry`'s rules. istiod
//! does not validate MeshConfig's copy, but it goes through the same
//! `retry.ConvertPolicy`, so a value the webhook would reject (a `backoff:
//! 0s` Envoy refuses as a base interval) is rejected here too.

use super::hosts::{self, opt_str};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::raw::{Node, Value};
use crate::scenario::spec::istio::{H2UpgradePolicy, MeshConfig};

/// Is `o` the mesh ConfigMap (`istio` in `istio-system`)? The ConfigMap of a
/// revision (`istio-<rev>`) is not read.
pub fn is_mesh_configmap(o: &Object) -> bool {
    o.kind == "ConfigMap"
        && o.api_version == "v1"
        && o.name == "istio"
        && o.namespace == "istio-system"
}

/// The `mesh` key of the `istio` ConfigMap, parsed with the scenario's YAML
/// reader. Locations inside the string are shifted to the file's lines (the
/// column is the one inside the string).
pub fn from_configmap(o: &Object, cx: &mut Cx) -> Option<MeshConfig> {
    let data = o.node.get("data")?;
    let mv = data.get("mesh")?;
    let text = cx.str(&mv)?;
    let docs = match crate::scenario::raw::parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            cx.error(
                &mv,
                format!("invalid YAML in the mesh config: {}", e.message),
            );
            return None;
        }
    };
    // The string's line 1 is the value's first line (the content line of a
    // block scalar `mesh: |`); its columns are shifted by the value's column.
    let (lines, cols) = (
        mv.node.loc.line.saturating_sub(1),
        mv.node.loc.col.saturating_sub(1),
    );
    let mut root = docs.into_iter().next().map(|d| d.root)?;
    shift(&mut root, lines, cols);
    let v = V::root(&root, mv.path.clone());
    let mut mc = decode(cx, &v)?;
    mc.source = Some(format!("{}:{}", o.origin.file, o.node.loc().line));
    Some(mc)
}

/// An IstioOperator's `spec.meshConfig`, if it has one.
pub fn from_istio_operator(o: &Object, cx: &mut Cx) -> Option<MeshConfig> {
    let v = o.node.get("spec")?.get("meshConfig")?;
    let mut mc = decode(cx, &v)?;
    mc.source = Some(format!("{}:{}", o.origin.file, o.node.loc().line));
    Some(mc)
}

fn shift(n: &mut Node, lines: u32, cols: u32) {
    for l in [&mut n.loc, &mut n.key] {
        if l.line > 0 {
            l.line += lines;
            l.col += cols;
        }
    }
    match &mut n.value {
        Value::Seq(s) => s.iter_mut().for_each(|c| shift(c, lines, cols)),
        Value::Map(m) => m.iter_mut().for_each(|(_, c)| shift(c, lines, cols)),
        _ => {}
    }
}

/// The fields meshsim reads from a MeshConfig mapping.
pub fn decode(cx: &mut Cx, v: &V) -> Option<MeshConfig> {
    if matches!(v.node.value, Value::Null) {
        return Some(MeshConfig::default());
    }
    cx.map(v)?;
    let mut mc = MeshConfig::default();
    if let Some(p) = v.get("outboundTrafficPolicy")
        && let Some(m) = super::sidecar::outbound(cx, &p)
    {
        mc.outbound_traffic_policy = m;
    }
    if let Some(r) = v.get("defaultHttpRetryPolicy") {
        mc.default_http_retry_policy = super::virtual_service::retries(cx, &r);
    }
    if let Some(ns) = opt_str(cx, v, "rootNamespace") {
        if hosts::is_dns1123_label(&ns) {
            mc.root_namespace = ns;
        } else if let Some(at) = v.get("rootNamespace") {
            cx.error(&at, format!("{ns:?} is not a valid namespace"));
        }
    }
    if let Some(h) = v.get("h2UpgradePolicy") {
        mc.h2_upgrade_policy = cx
            .one_of(
                &h,
                &[
                    ("DO_NOT_UPGRADE", H2UpgradePolicy::DoNotUpgrade),
                    ("UPGRADE", H2UpgradePolicy::Upgrade),
                ],
            )
            .unwrap_or(H2UpgradePolicy::DoNotUpgrade);
    }
    Some(mc)
}
