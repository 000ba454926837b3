//! Host names → Services: Kubernetes DNS (`name`, `name.namespace`,
//! `name.namespace.svc.cluster.local`) and the Service's port list. Used for
//! every call and load target, and for Ingress backends.

use super::diag::Origin;
use super::raw::Loc;
use super::spec::{Service, Target};

/// Kubernetes DNS for Services, from a client in `from_ns`:
/// `name` → (name, from_ns); `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local` → (name, ns).
pub fn kube_dns(host: &str, from_ns: &str) -> Option<(String, String)> {
    let host = host.trim_end_matches('.');
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some((name.to_string(), from_ns.to_string())),
        [name, ns] | [name, ns, "svc"] | [name, ns, "svc", "cluster", "local"] => {
            Some((name.to_string(), ns.to_string()))
        }
        _ => None,
    }
}

/// A host outside the cluster (`Simulation.spec.externalHosts`): the
/// Service standing in for it, by index.
pub type ExternalHosts = [(String, usize)];

/// Resolves `host` as [`service_port`] does, but first as an external host
/// (`httpbin.org` → the Service standing in for it; the port must be one of
/// that Service's ports, or left out when it has one).
pub fn target(
    services: &[(Service, Origin, Loc)],
    external: &ExternalHosts,
    host: &str,
    port: Option<u16>,
    from_ns: &str,
) -> Result<Target, String> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    match external.iter().find(|(x, _)| *x == h) {
        Some(&(_, si)) => {
            let s = &services[si].0;
            service_port(
                services,
                &format!("{}.{}", s.name, s.namespace),
                port,
                from_ns,
            )
            .map_err(|e| {
                format!(
                    "external host {host:?} (externalHosts → {}.{}): {e}",
                    s.name, s.namespace
                )
            })
        }
        None => service_port(services, host, port, from_ns),
    }
}

/// Resolves `host` (and `port`, which may be left out when the Service has one
/// port) from a client in `from_ns` to a Service port, as Kubernetes DNS and
/// the Service's port list do; the error says why not.
pub fn service_port(
    services: &[(Service, Origin, Loc)],
    host: &str,
    port: Option<u16>,
    from_ns: &str,
) -> Result<Target, String> {
    let (name, ns) = kube_dns(host, from_ns).ok_or_else(|| {
        format!("host {host:?} is not a Kubernetes Service name (name, name.namespace or name.namespace.svc.cluster.local)")
    })?;
    let si = services
        .iter()
        .position(|(s, _, _)| s.name == name && s.namespace == ns)
        .ok_or_else(|| {
            format!("host {host:?} does not resolve: no Service {name:?} in namespace {ns:?}")
        })?;
    let svc = &services[si].0;
    let pi = match port {
        Some(p) => svc
            .ports
            .iter()
            .position(|sp| sp.port == p)
            .ok_or_else(|| {
                format!(
                    "Service {}/{} has no port {p} (ports: {})",
                    ns,
                    name,
                    svc.ports
                        .iter()
                        .map(|p| p.port.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        None if svc.ports.len() == 1 => 0,
        None => {
            return Err(format!(
                "Service {ns}/{name} has {} ports: give the port",
                svc.ports.len()
            ));
        }
    };
    Ok(Target {
        service: si,
        port: pi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_dns_forms() {
        assert_eq!(
            kube_dns("reviews", "default"),
            Some(("reviews".into(), "default".into()))
        );
        assert_eq!(
            kube_dns("reviews.prod", "default"),
            Some(("reviews".into(), "prod".into()))
        );
        assert_eq!(
            kube_dns("reviews.prod.svc.cluster.local", "x"),
            Some(("reviews".into(), "prod".into()))
        );
        assert_eq!(kube_dns("a.b.c", "x"), None);
        assert_eq!(kube_dns("", "x"), None);
    }
}
