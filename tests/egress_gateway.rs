//! istio.io's "Egress Gateways" task, HTTP part (scenarios/istio-docs/egress-gateway):
//! the page's ServiceEntry, Gateway, DestinationRule and VirtualService in
//! an install with `istio-egressgateway`; sleep calls
//! http://edition.cnn.com/politics 10 times a second for 60 s.

use crate::common::{self, code, load_rec, mesh_rec, received};
use meshsim::scenario::{Overrides, Scenario};
use std::path::PathBuf;

fn dir() -> PathBuf {
    common::root().join("scenarios/istio-docs/egress-gateway")
}

/// The folder without the files in `drop`.
fn without(drop: &[&str]) -> Scenario {
    let files = [
        "egress-gateway.yaml",
        "external.yaml",
        "service-entry.yaml",
        "gateway.yaml",
        "virtual-service.yaml",
        "scenario.yaml",
    ];
    common::load_without(&dir(), &files, drop)
}

const GW_DEST: &str = "istio-egressgateway.istio-system.svc.cluster.local/cnn";
const CNN_DEST: &str = "edition.cnn.com/-";

/// As shipped: every request goes sleep's sidecar → egress gateway →
/// edition.cnn.com, 200; route 0 (mesh) at the sidecar and route 1
/// (gateway) at the gateway each see all 600.
#[test]
fn egress_gateway_carries_every_request() {
    let s = common::load_paths(&[&dir()], &Overrides::default());
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(sleep.count, 600);
    assert_eq!(code(sleep, 200), 600);
    let vs = "default/direct-cnn-through-egress-gateway";
    assert_eq!(mesh_rec(&m, &format!("{vs}/0")).count, 600);
    assert_eq!(mesh_rec(&m, &format!("{vs}/1")).count, 600);
    assert_eq!(mesh_rec(&m, GW_DEST).count, 600);
    assert_eq!(mesh_rec(&m, CNN_DEST).count, 600);
    assert_eq!(received(&m, &s, "external/cnn"), 600);
}

/// Without the VirtualService the sidecar sends edition.cnn.com straight to
/// the ServiceEntry's cluster (the page's step 2): same 200s, the gateway
/// sees nothing.
#[test]
fn egress_gateway_bypassed_without_the_virtual_service() {
    let s = without(&["virtual-service.yaml"]);
    let m = common::run(&s);
    let sleep = load_rec(&m, &s, "sleep");
    assert_eq!(code(sleep, 200), 600);
    assert_eq!(mesh_rec(&m, CNN_DEST).count, 600);
    let mm = m.mesh.as_ref().expect("mesh");
    assert!(mm.destinations.iter().all(|(k, _)| k != GW_DEST));
}
