//! Services against the pods they select: a Service without a selector, a
//! selector that matches no pod, or a named `targetPort` no selected container
//! declares is accepted by the API server and fails at run time, so each is a
//! warning (and is simulated faithfully: those connections fail).

use super::decode::Cx;
use super::diag::{Diagnostics, Origin};
use super::kube::service::ServiceLocs;
use super::raw::Loc;
use super::spec::{Deployment, Service, TargetPort};
use crate::cluster::selector::selects;
use std::collections::BTreeMap;

/// Warns about Services whose selector or named target ports select nothing.
pub fn check_services(
    services: &[(Service, Origin, Loc)],
    deployments: &[(Deployment, Origin, Loc)],
    service_locs: &BTreeMap<(String, String), ServiceLocs>,
    diags: &mut Diagnostics,
) {
    for (s, origin, loc) in services {
        let pods: Vec<&Deployment> = deployments
            .iter()
            .map(|(d, _, _)| d)
            .filter(|d| d.namespace == s.namespace && selects(&s.selector, &d.labels))
            .collect();
        let mut cx = Cx::new(origin.clone(), diags);
        let locs = service_locs.get(&(s.namespace.clone(), s.name.clone()));
        let sel_loc = locs.map(|l| l.selector).unwrap_or(*loc);
        if s.selector.is_empty() {
            cx.warn_at(
                sel_loc,
                "spec.selector",
                "Service has no selector: meshsim creates no endpoints for it (connections fail)",
            );
        } else if pods.is_empty() {
            cx.warn_at(
                sel_loc,
                "spec.selector",
                format!(
                    "selector {:?} matches no pod: connections to this Service fail",
                    s.selector
                ),
            );
        }
        for (pi, p) in s.ports.iter().enumerate() {
            if let TargetPort::Name(n) = &p.target_port
                && !pods.is_empty()
                && !pods
                    .iter()
                    .any(|d| d.ports.iter().any(|c| c.name.as_deref() == Some(n)))
            {
                cx.warn_at(
                        locs.and_then(|l| l.target_ports.get(pi).copied()).unwrap_or(*loc),
                        &format!("spec.ports[{pi}].targetPort"),
                        format!("no selected container has a port named {n:?}: those pods are not endpoints of this port"),
                    );
            }
        }
    }
}
