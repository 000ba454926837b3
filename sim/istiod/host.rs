//! Host names as istiod compares them: Service FQDNs, the short forms a
//! sidecar's virtual host answers to, wildcard intersection, and the
//! `ns/host` import syntax of Gateway servers and Sidecar egress listeners.
//!
//! Why one file: every other istiod step (which VirtualService claims which
//! Service, which DestinationRule applies, what a Gateway server admits, what
//! a Sidecar imports) is a host comparison, and Istio uses the same few rules
//! for all of them (`pkg/config/host/name.go` `Name.Matches` / `SubsetOf`).

use crate::scenario::spec::Service;
use crate::scenario::spec::istio::GatewayHost;

/// Kubernetes DNS suffix of the simulated cluster.
pub const DOMAIN_SUFFIX: &str = "svc.cluster.local";

/// `name.namespace.svc.cluster.local`.
pub fn fqdn(svc: &Service) -> String {
    format!("{}.{}.{DOMAIN_SUFFIX}", svc.name, svc.namespace)
}

/// Do the two host patterns share at least one concrete host? (`*` matches
/// everything; `*.foo.com` matches `a.foo.com` and `*.b.foo.com`.)
/// Istio `host.Name.Matches`.
pub fn intersects(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    match (a.strip_prefix('*'), b.strip_prefix('*')) {
        (None, None) => a == b,
        (Some(sa), None) => b.ends_with(sa),
        (None, Some(sb)) => a.ends_with(sb),
        (Some(sa), Some(sb)) => sa.ends_with(sb) || sb.ends_with(sa),
    }
}

/// Is every host `inner` names also named by `outer`? (`host.Name.SubsetOf`.)
pub fn covers(outer: &str, inner: &str) -> bool {
    let (outer, inner) = (outer.to_ascii_lowercase(), inner.to_ascii_lowercase());
    match (outer.strip_prefix('*'), inner.strip_prefix('*')) {
        (None, None) => outer == inner,
        (None, Some(_)) => false,
        (Some(so), None) => inner.ends_with(so),
        (Some(so), Some(si)) => si.ends_with(so),
    }
}

/// The more specific of two intersecting patterns (the one the other covers).
pub fn narrower<'a>(a: &'a str, b: &'a str) -> &'a str {
    if covers(a, b) { b } else { a }
}

/// Does an `ns/host` entry (Gateway server host, Sidecar egress host) admit
/// `host` from namespace `ns`? `owner_ns` is the namespace of the object
/// holding the entry (what `.` means); `~` admits nothing.
pub fn admits(entry: &GatewayHost, owner_ns: &str, ns: &str, host: &str) -> bool {
    let ns_ok = match entry.namespace.as_str() {
        "*" => true,
        "." => ns == owner_ns,
        "~" => false,
        other => other == ns,
    };
    ns_ok && intersects(&entry.host, host)
}

/// Is an object with `export_to` (empty = `*`) in `obj_ns` visible from `ns`?
pub fn exported_to(export_to: &[String], obj_ns: &str, ns: &str) -> bool {
    export_to.is_empty()
        || export_to
            .iter()
            .any(|e| e == "*" || e == ns || (e == "." && obj_ns == ns))
}

/// The domains of a sidecar's virtual host for Service `svc` seen from a
/// proxy in `proxy_ns`, with the port dropped (sidecars set
/// `ignore_port_in_host_matching`).
///
/// istio/istio 1.28 `pilot/pkg/networking/core/httproute.go`
/// `generateVirtualHostDomains` → `GenerateAltVirtualHosts` →
/// `generateAltVirtualHostsForKubernetesService` with
/// `portNoAppendPortSuffix`: the FQDN, then — same namespace — `name`,
/// `name.ns.svc`, `name.ns`; other namespace — `name.ns`, `name.ns.svc`.
/// Service VIPs are not modelled (requests carry host names).
pub fn sidecar_domains(svc: &Service, proxy_ns: &str) -> Vec<String> {
    let (n, ns) = (&svc.name, &svc.namespace);
    if ns == proxy_ns {
        vec![
            fqdn(svc),
            n.clone(),
            format!("{n}.{ns}.svc"),
            format!("{n}.{ns}"),
        ]
    } else {
        vec![fqdn(svc), format!("{n}.{ns}"), format!("{n}.{ns}.svc")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_intersection_both_ways() {
        assert!(intersects("*", "reviews.default.svc.cluster.local"));
        assert!(intersects("*.bookinfo.com", "uk.bookinfo.com"));
        assert!(intersects("uk.bookinfo.com", "*.bookinfo.com"));
        assert!(intersects("*.com", "*.bookinfo.com"));
        assert!(!intersects("uk.bookinfo.com", "eu.bookinfo.com"));
        assert!(!intersects("*.bookinfo.com", "bookinfo.com"));
        assert!(covers("*.com", "*.bookinfo.com"));
        assert!(!covers("*.bookinfo.com", "*.com"));
        assert_eq!(narrower("*", "bookinfo.app"), "bookinfo.app");
        assert_eq!(narrower("bookinfo.app", "*"), "bookinfo.app");
    }

    #[test]
    fn import_entries() {
        let e = |ns: &str, h: &str| GatewayHost {
            namespace: ns.into(),
            host: h.into(),
        };
        assert!(admits(
            &e(".", "*"),
            "bookinfo",
            "bookinfo",
            "x.bookinfo.svc.cluster.local"
        ));
        assert!(!admits(
            &e(".", "*"),
            "bookinfo",
            "other",
            "x.other.svc.cluster.local"
        ));
        assert!(admits(&e("*", "*.com"), "a", "b", "uk.bookinfo.com"));
        assert!(!admits(&e("~", "*"), "a", "a", "x"));
        assert!(exported_to(&[], "a", "b"));
        assert!(exported_to(&[".".into()], "a", "a"));
        assert!(!exported_to(&[".".into()], "a", "b"));
    }
}
