//! Envoy response flags per Service (issue #10 item 7): the callers'
//! proxies' view, keyed by the Service a request targeted, so local replies
//! that never reached a pod (UO here) count too.

use crate::common;
use meshsim::report::summary;
use meshsim::scenario::Overrides;
use serde_json::Value;

fn shipped(group: &str, name: &str) -> Value {
    let dir = common::root().join("scenarios").join(group).join(name);
    let spec = common::load_paths(&[&dir], &Overrides::default());
    summary::value(&spec, &common::run(&spec))
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

#[test]
fn a_service_only_loads_call_has_the_loads_flags_exactly() {
    let v = shipped("explained", "h2-max-requests-uo");
    let load = &v["loads"]["client"];
    let svc = &v["services"]["echo"]["default"];
    // The accounting identity: one caller, the same requests, the same flags.
    assert_eq!(svc["flags"], load["flags"], "{}", svc["flags"]);
    let uo = n(&svc["flags"], "UO");
    assert!(uo > 4_000, "{uo}");
    // The UO requests never reached a pod: the server side counts only the rest.
    let calls = n(load, "completed") + n(load, "failed");
    assert_eq!(uo + n(&svc["flags"], "-"), calls);
    assert_eq!(n(svc, "requests"), calls - uo);
    // Workloads keep their shape: no flags there.
    assert!(v["workloads"]["default/echo"].get("flags").is_none());
}

/// Per flag, the sum over `maps` (JSON objects of counts).
fn sum_maps<'a>(maps: impl Iterator<Item = &'a Value>) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for m in maps {
        for (k, v) in m.as_object().expect("a flags map") {
            *out.entry(k.clone()).or_default() += v.as_u64().unwrap();
        }
    }
    out
}

#[test]
fn an_ingress_gateway_service_has_its_loads_flags_and_edges_add_up() {
    // Two loads through the ingress gateway, one answered NR by it.
    let v = shipped("seed", "bookinfo-gateway");
    let gw = &v["services"]["istio-ingressgateway"]["istio-system"]["flags"];
    let loads = sum_maps(
        v["loads"]
            .as_object()
            .unwrap()
            .values()
            .map(|l| &l["flags"]),
    );
    assert_eq!(sum_maps(std::iter::once(gw)), loads);
    assert!(loads["NR"] > 200 && loads["-"] > 1000, "{loads:?}");
    // The Services behind it see no NR (it never left the gateway).
    let pp = &v["services"]["productpage"]["default"]["flags"];
    assert_eq!(n(pp, "NR"), 0);
    assert_eq!(n(pp, "-"), loads["-"]);
}

/// Every Service's flag counts add up to the requests of the
/// failure-propagation edges into it (both count each caller's request once,
/// by its start): fault aborts (FI) retried (URX), fault delays (DI), UO.
#[test]
fn service_flags_add_up_to_the_edges_into_each_service() {
    let mut checked = 0;
    for (group, name) in [
        ("explained", "fault-abort-retries"),
        ("explained", "h2-max-requests-uo"),
        ("seed", "ratings-fault-delay"),
        ("seed", "bookinfo-gateway"),
        ("examples", "bookinfo-mesh"),
    ] {
        let v = shipped(group, name);
        let Some(edges) = v["propagation"]["edges"].as_array() else {
            continue;
        };
        for (svc, by_ns) in v["services"].as_object().unwrap() {
            for (ns, s) in by_ns.as_object().unwrap() {
                let callee = format!("{svc}.{ns}");
                let into: u64 = edges
                    .iter()
                    .filter(|e| e["callee"] == callee.as_str())
                    .map(|e| n(e, "requests"))
                    .sum();
                let flagged: u64 = sum_maps(std::iter::once(&s["flags"])).values().sum();
                assert_eq!(flagged, into, "{name}: {callee} {}", s["flags"]);
                checked += u64::from(into > 0);
            }
        }
    }
    assert!(checked >= 8, "{checked}");
    let v = shipped("explained", "fault-abort-retries");
    let backend = &v["services"]["backend"]["default"]["flags"];
    assert!(n(backend, "FI") > 1000, "{backend}");
}
