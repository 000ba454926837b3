//! `ServiceEntry`: services outside the Kubernetes registry (external APIs,
//! VMs). Rules of istiod 1.28 `ValidateServiceEntry` (istio/istio
//! `pkg/config/validation/validation.go` @1.28.10; reference §12).

use super::hosts::{self, fields, list, obj, opt_str, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::raw::Value;
use crate::scenario::spec::istio::*;
use std::collections::BTreeMap;

pub fn decode(o: &Object, cx: &mut Cx) -> Option<ServiceEntry> {
    fields(cx, &o.node, hosts::OBJECT_FIELDS);
    let spec = cx.req(&o.node, "spec")?;
    obj(
        cx,
        &spec,
        &[
            "hosts",
            "addresses",
            "ports",
            "location",
            "resolution",
            "endpoints",
            "workloadSelector",
            "exportTo",
            "subjectAltNames",
        ],
    )?;
    let ns = o.namespace.as_str();
    let resolution = match spec.get("resolution") {
        Some(r) => cx.one_of(
            &r,
            &[
                ("NONE", Resolution::None),
                ("STATIC", Resolution::Static),
                ("DNS", Resolution::Dns),
                ("DNS_ROUND_ROBIN", Resolution::DnsRoundRobin),
                ("DYNAMIC_DNS", Resolution::DynamicDns),
            ],
        )?,
        None => Resolution::None,
    };
    let location = match spec.get("location") {
        Some(l) => cx.one_of(
            &l,
            &[
                ("MESH_EXTERNAL", Location::MeshExternal),
                ("MESH_INTERNAL", Location::MeshInternal),
            ],
        )?,
        None => Location::MeshExternal,
    };
    let hs = string_list(cx, &spec, "hosts");
    if hs.is_empty() {
        cx.error_at(
            spec.loc(),
            &format!("{}.hosts", spec.path),
            "missing required field: services must have at least one host",
        );
    }
    let mut hosts_out = Vec::new();
    for (h, at) in &hs {
        if h == "*" {
            cx.error(at, "hostname cannot be wildcard");
            continue;
        }
        if let Err(e) = hosts::wildcard_domain(h) {
            cx.error(at, e);
            continue;
        }
        if hosts::is_partial_wildcard(h) {
            cx.warn(
                at,
                format!("{h:?}: a partial wildcard host is unusual (accepted by Istio)"),
            );
        }
        hosts_out.push(h.clone());
    }
    let mut addresses = Vec::new();
    for (a, at) in addresses_list(cx, &spec) {
        if !hosts::is_ip_or_cidr(&a) {
            cx.error(
                &at,
                format!("invalid address {a:?}: must be an IP address or CIDR block"),
            );
            continue;
        }
        if a.contains('/') && !matches!(resolution, Resolution::None | Resolution::Static) {
            cx.error(
                &at,
                "CIDR addresses are allowed only for NONE/STATIC resolution types",
            );
        }
        addresses.push(a);
    }
    let mut ports = Vec::new();
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    let mut numbers: BTreeMap<u16, ()> = BTreeMap::new();
    for p in list(cx, &spec, "ports") {
        if obj(cx, &p, &["number", "protocol", "name", "targetPort"]).is_none() {
            continue;
        }
        let number = match cx
            .req(&p, "number")
            .and_then(|n| cx.int(&n).map(|i| (i, n)))
        {
            Some((i, _)) if (1..=65535).contains(&i) => Some(i as u16),
            Some((i, n)) => {
                cx.error(&n, format!("{i}: port must be between 1-65535"));
                None
            }
            None => None,
        };
        let target_port = match p.get("targetPort").and_then(|n| cx.int(&n).map(|i| (i, n))) {
            Some((i, _)) if (1..=65535).contains(&i) => Some(i as u16),
            Some((i, n)) => {
                cx.error(&n, format!("{i}: target port must be between 1-65535"));
                None
            }
            None => None,
        };
        let name = opt_str(cx, &p, "name").unwrap_or_default();
        let nat = p.get("name").unwrap_or(p.clone());
        if name.is_empty() {
            cx.error(&nat, "port name must be set");
        } else if names.insert(name.clone(), ()).is_some() {
            cx.error(&nat, format!("Duplicate value: port name {name:?}"));
        }
        // An empty protocol means "sniff" (`ValidateProtocol` @1.28.10).
        let protocol = p
            .get("protocol")
            .filter(|x| x.as_str() != Some(""))
            .and_then(|x| hosts::protocol(cx, &x));
        if let Some(n) = number {
            if numbers.insert(n, ()).is_some() {
                cx.error(&p, format!("port number cannot be duplicated: {n}"));
            }
            ports.push(ServiceEntryPort {
                number: n,
                protocol,
                name,
                target_port,
            });
        }
    }
    let workload_selector = spec
        .get("workloadSelector")
        .and_then(|w| hosts::workload_selector(cx, &w, "labels"));
    let eps = list(cx, &spec, "endpoints");
    if spec.has("workloadSelector") && !eps.is_empty() {
        cx.error(
            &spec,
            "only one of WorkloadSelector or Endpoints can be set",
        );
    }
    match resolution {
        Resolution::None if !eps.is_empty() => cx.error(&spec, "NONE mode cannot set endpoints"),
        Resolution::DnsRoundRobin if eps.len() > 1 => {
            cx.error(&spec, "DNS_ROUND_ROBIN mode cannot have multiple endpoints")
        }
        Resolution::Dns | Resolution::DnsRoundRobin if eps.is_empty() => {
            for (h, at) in &hs {
                if h.starts_with('*') {
                    cx.error(at, format!("{h:?}: DNS resolution needs a host name without wildcard when no endpoints are given"));
                }
            }
        }
        _ => {}
    }
    if resolution == Resolution::DynamicDns {
        // 1.28: wildcard hosts, no addresses or endpoints, HTTP ports only, MESH_EXTERNAL.
        for (h, at) in &hs {
            if !h.starts_with("*.") {
                cx.error(
                    at,
                    format!("{h:?}: DYNAMIC_DNS resolution requires wildcard hosts"),
                );
            }
        }
        if !addresses.is_empty() || !eps.is_empty() {
            cx.error(
                &spec,
                "DYNAMIC_DNS resolution cannot have addresses or endpoints",
            );
        }
        if ports.iter().any(|p| p.protocol != Some(Protocol::Http)) {
            cx.error(
                &spec,
                "only HTTP protocol is supported for resolution type DYNAMIC_DNS",
            );
        }
        if location != Location::MeshExternal {
            cx.error(
                &spec,
                "DYNAMIC_DNS resolution requires location MESH_EXTERNAL",
            );
        }
    }
    if hs.len() > 1 && resolution != Resolution::None {
        let plain = ports.iter().any(|p| {
            !p.protocol
                .is_some_and(|x| x.is_http() || matches!(x, Protocol::Https | Protocol::Tls))
        });
        if plain {
            cx.error(
                &spec,
                "multiple hosts provided with non-HTTP, non-TLS ports",
            );
        }
    }
    let mut endpoints = Vec::new();
    for e in &eps {
        if let Some(ep) = endpoint(cx, e, resolution, &ports) {
            endpoints.push(ep);
        }
    }
    let export_to = hosts::export_to(cx, &spec, ns, true);
    Some(ServiceEntry {
        meta: super::meta(o),
        hosts: hosts_out,
        addresses,
        ports,
        location,
        resolution,
        endpoints,
        workload_selector,
        export_to,
    })
}

/// `addresses`, where an IPv6 address ending in `::` inside a flow list
/// (`[1.2.3.4, 001:db8::]`) reads in YAML 1.2 as a one-key mapping `{"001:db8:": null}`;
/// Go's YAML reader (istiod's) reads the string, so it is rebuilt here.
fn addresses_list<'a>(cx: &mut Cx, spec: &V<'a>) -> Vec<(String, V<'a>)> {
    let mut out = Vec::new();
    for v in list(cx, spec, "addresses") {
        if let Value::Map(m) = &v.node.value
            && let [(k, n)] = m.as_slice()
            && n.value == Value::Null
            && k.contains(':')
        {
            out.push((format!("{k}:"), v.clone()));
        } else if let Some(s) = cx.scalar_string(&v) {
            out.push((s, v));
        }
    }
    out
}

fn endpoint(
    cx: &mut Cx,
    e: &V,
    resolution: Resolution,
    ports: &[ServiceEntryPort],
) -> Option<WorkloadEntry> {
    obj(
        cx,
        e,
        &[
            "address",
            "ports",
            "labels",
            "network",
            "locality",
            "weight",
            "serviceAccount",
        ],
    )?;
    let address = opt_str(cx, e, "address").unwrap_or_default();
    let at = e.get("address").unwrap_or(e.clone());
    match resolution {
        Resolution::Static => {
            if !hosts::is_ip(&address) && !address.starts_with("unix://") {
                cx.error(&at, format!("{address:?}: endpoint address must be an IP or unix:// path for STATIC resolution"));
            }
        }
        Resolution::Dns | Resolution::DnsRoundRobin => {
            if !hosts::is_ip(&address)
                && (hosts::wildcard_domain(&address).is_err() || address.contains('*'))
            {
                cx.error(
                    &at,
                    format!("{address:?}: endpoint address must be an IP or a host name"),
                );
            }
        }
        Resolution::None | Resolution::DynamicDns => {}
    }
    let mut out = WorkloadEntry {
        address,
        labels: e
            .get("labels")
            .and_then(|l| hosts::labels(cx, &l))
            .unwrap_or_default(),
        weight: e
            .get("weight")
            .and_then(|w| cx.int_in(&w, 0, u32::MAX as i64))
            .unwrap_or(0) as u32,
        locality: opt_str(cx, e, "locality"),
        network: opt_str(cx, e, "network"),
        ..Default::default()
    };
    if let Some(pm) = e.get("ports") {
        for (name, v) in cx.map(&pm).unwrap_or_default() {
            let Some(p) = cx.port(&v) else { continue };
            if !ports.iter().any(|sp| sp.name == name) {
                cx.error(
                    &v,
                    format!("endpoint port {name:?} is not defined by the ServiceEntry's ports"),
                );
            }
            out.ports.insert(name, p);
        }
    }
    Some(out)
}
