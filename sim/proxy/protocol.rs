//! Which protocol Istio assigns to a Service port, and which HTTP version the
//! client proxy then speaks upstream.
//!
//! Why it matters: only HTTP-family ports get an HTTP connection manager (and
//! so routes, retries, per-request balancing); everything else is tcp_proxy,
//! balanced per connection. The upstream version decides how connection pools
//! behave (HTTP/1.1: one request per connection; HTTP/2: multiplexed).
//!
//! Sources (Istio 1.28, reference "Pinned facts for Istio 1.28"):
//! * `pkg/config/kube/conversion.go` `ConvertProtocol`: UDP ⇒ UDP; `appProtocol`
//!   replaces the port name (with `kubernetes.io/h2c|ws|wss` mapped first); a
//!   `grpc-web` prefix (case-insensitive); else the part before the first `-`
//!   parsed by `pkg/config/protocol/instance.go` `Parse` (case-insensitive);
//!   unknown ⇒ TCP on the well-known ports 25, 53, 3306, 27017, otherwise
//!   `Unsupported` (= sniffed by sidecars).
//! * `pkg/config/protocol/instance.go` `IsHTTP` / `IsHTTP2`.
//! * `pilot/pkg/networking/core/cluster_builder.go` `setUpstreamProtocol`,
//!   `cluster_traffic_policy.go` `shouldH2Upgrade`: see [`upstream_http_version`].

/// Istio's `protocol.Instance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Grpc,
    GrpcWeb,
    Http,
    HttpProxy,
    Http2,
    Https,
    Tcp,
    Tls,
    Udp,
    Mongo,
    Redis,
    MySql,
    /// No protocol declared: sidecars sniff (HTTP inspector), gateways never do.
    Unsupported,
}

impl Protocol {
    /// Istio's `protocol.Parse` (case-insensitive, whole string).
    pub fn parse(s: &str) -> Protocol {
        const TABLE: [(&str, Protocol); 12] = [
            ("tcp", Protocol::Tcp),
            ("udp", Protocol::Udp),
            ("grpc", Protocol::Grpc),
            ("grpc-web", Protocol::GrpcWeb),
            ("http", Protocol::Http),
            ("http_proxy", Protocol::HttpProxy),
            ("http2", Protocol::Http2),
            ("https", Protocol::Https),
            ("tls", Protocol::Tls),
            ("mongo", Protocol::Mongo),
            ("redis", Protocol::Redis),
            ("mysql", Protocol::MySql),
        ];
        TABLE
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map_or(Protocol::Unsupported, |&(_, p)| p)
    }

    /// Istio's name for it (`HTTP`, `GRPC-Web`, …, `UnsupportedProtocol`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "GRPC",
            Protocol::GrpcWeb => "GRPC-Web",
            Protocol::Http => "HTTP",
            Protocol::HttpProxy => "HTTP_PROXY",
            Protocol::Http2 => "HTTP2",
            Protocol::Https => "HTTPS",
            Protocol::Tcp => "TCP",
            Protocol::Tls => "TLS",
            Protocol::Udp => "UDP",
            Protocol::Mongo => "Mongo",
            Protocol::Redis => "Redis",
            Protocol::MySql => "MySQL",
            Protocol::Unsupported => "UnsupportedProtocol",
        }
    }

    /// HTTP-family: gets an HTTP connection manager and routes
    /// (`IsHTTP`: HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-Web).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Protocol::Http
                | Protocol::Http2
                | Protocol::HttpProxy
                | Protocol::Grpc
                | Protocol::GrpcWeb
        )
    }

    /// `IsHTTP2`: HTTP2, GRPC, GRPC-Web.
    pub fn is_http2(self) -> bool {
        matches!(self, Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb)
    }

    /// Sniffed by a sidecar (no declared protocol).
    pub fn is_unsupported(self) -> bool {
        self == Protocol::Unsupported
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kubernetes `ServicePort.protocol` (transport).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
    Sctp,
}

/// Ports that default to TCP instead of sniffing (`wellKnownPorts`).
const WELL_KNOWN_TCP_PORTS: [u32; 4] = [25, 53, 3306, 27017];

/// Istio's `ConvertProtocol(port, portName, proto, appProtocol)`.
pub fn convert_protocol(
    port: u32,
    port_name: &str,
    transport: Transport,
    app_protocol: Option<&str>,
) -> Protocol {
    if transport == Transport::Udp {
        return Protocol::Udp;
    }
    let mut name = port_name;
    if let Some(app) = app_protocol {
        match app {
            "kubernetes.io/h2c" => return Protocol::Http2,
            "kubernetes.io/ws" => return Protocol::Http,
            "kubernetes.io/wss" => return Protocol::Https,
            _ => name = app,
        }
    }
    const GRPC_WEB: &str = "grpc-web";
    if name.len() >= GRPC_WEB.len()
        && name.as_bytes()[..GRPC_WEB.len()].eq_ignore_ascii_case(GRPC_WEB.as_bytes())
    {
        return Protocol::GrpcWeb;
    }
    let prefix = name.split_once('-').map_or(name, |(p, _)| p);
    match Protocol::parse(prefix) {
        Protocol::Unsupported if WELL_KNOWN_TCP_PORTS.contains(&port) => Protocol::Tcp,
        p => p,
    }
}

/// Whether the proxy building the cluster is a sidecar or a gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    Sidecar,
    Gateway,
}

/// `h2UpgradePolicy` (MeshConfig or DestinationRule `connectionPool.http`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum H2UpgradePolicy {
    /// Field unset (DR) / `DEFAULT`: use the next level (MeshConfig).
    #[default]
    Default,
    DoNotUpgrade,
    Upgrade,
}

/// HTTP version spoken to the upstream host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamHttp {
    Http1,
    Http2,
    /// Same version as the downstream request (`USE_DOWNSTREAM_PROTOCOL`).
    Downstream,
}

/// Istio 1.28 `setUpstreamProtocol` + `shouldH2Upgrade` (reference "Pinned
/// facts": Upstream HTTP version):
/// * `useClientProtocol: true` ⇒ the client's version, no upgrade;
/// * HTTP2/GRPC/GRPC-Web ⇒ HTTP/2;
/// * sniffed (`Unsupported`) on a sidecar ⇒ downstream version (the DR
///   upgrade does not apply: the cluster already has a protocol option);
///   on a gateway ⇒ HTTP/1.1 (gateways never sniff);
/// * HTTP (and any other port) ⇒ HTTP/1.1, upgraded to HTTP/2 when the DR's
///   `h2UpgradePolicy` is `UPGRADE`, or when it is unset and MeshConfig's is
///   `UPGRADE` (MeshConfig's upgrade applies to HTTP ports only).
///
/// Only meaningful for HTTP-family or sniffed ports.
pub fn upstream_http_version(
    protocol: Protocol,
    proxy: ProxyKind,
    mesh_h2_upgrade: H2UpgradePolicy,
    dr_h2_upgrade: H2UpgradePolicy,
    use_client_protocol: bool,
) -> UpstreamHttp {
    if use_client_protocol {
        return UpstreamHttp::Downstream;
    }
    if protocol.is_http2() {
        return UpstreamHttp::Http2;
    }
    if protocol.is_unsupported() && proxy == ProxyKind::Sidecar {
        return UpstreamHttp::Downstream;
    }
    let upgrade = match dr_h2_upgrade {
        H2UpgradePolicy::Upgrade => true,
        H2UpgradePolicy::DoNotUpgrade => false,
        H2UpgradePolicy::Default => {
            protocol == Protocol::Http && mesh_h2_upgrade == H2UpgradePolicy::Upgrade
        }
    };
    if upgrade {
        UpstreamHttp::Http2
    } else {
        UpstreamHttp::Http1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Protocol::*;

    #[test]
    fn port_names_and_app_protocol() {
        let t = Transport::Tcp;
        #[rustfmt::skip]
        let cases: &[(u32, &str, Option<&str>, Protocol)] = &[
            (80, "http", None, Http),
            (80, "http-web", None, Http),
            (80, "HTTP-web", None, Http),
            (80, "Http", None, Http),
            (80, "http2", None, Http2),
            (80, "http2-foo", None, Http2),
            (443, "https", None, Https),
            (443, "https-admin", None, Https),
            (9090, "grpc", None, Grpc),
            (9090, "grpc-api", None, Grpc),
            (9090, "grpc-web", None, GrpcWeb),
            (9090, "grpc-web-x", None, GrpcWeb),
            (9090, "GRPC-WEB", None, GrpcWeb),
            (9090, "grpc-webby", None, GrpcWeb),
            (9000, "tcp", None, Tcp),
            (9000, "tcp-db", None, Tcp),
            (9000, "tls", None, Tls),
            (9000, "tls-passthrough", None, Tls),
            (27018, "mongo", None, Mongo),
            (6379, "redis-main", None, Redis),
            (3307, "mysql", None, MySql),
            (3128, "http_proxy", None, HttpProxy),
            (9000, "udp", None, Udp),
            (9080, "web", None, Unsupported),
            (9080, "", None, Unsupported),
            (9080, "httpx", None, Unsupported),
            (9080, "-http", None, Unsupported),
            (9080, "h2c", None, Unsupported),
            (25, "smtp", None, Tcp),
            (53, "dns", None, Tcp),
            (3306, "db", None, Tcp),
            (27017, "", None, Tcp),
            (3306, "http", None, Http),
            // appProtocol replaces the name entirely.
            (80, "tcp", Some("http"), Http),
            (80, "http", Some("kubernetes.io/h2c"), Http2),
            (80, "http", Some("kubernetes.io/ws"), Http),
            (80, "http", Some("kubernetes.io/wss"), Https),
            (80, "http", Some("grpc"), Grpc),
            (80, "http", Some("HTTP2"), Http2),
            (80, "http", Some("grpc-web"), GrpcWeb),
            (80, "http", Some("custom.io/thing"), Unsupported),
            (53, "http", Some("custom"), Tcp),
        ];
        for &(port, name, app, want) in cases {
            assert_eq!(
                convert_protocol(port, name, t, app),
                want,
                "{port} {name:?} {app:?}"
            );
        }
        assert_eq!(convert_protocol(80, "http", Transport::Udp, None), Udp);
        assert_eq!(convert_protocol(80, "http", Transport::Sctp, None), Http);
    }

    #[test]
    fn families() {
        for p in [Http, Http2, HttpProxy, Grpc, GrpcWeb] {
            assert!(p.is_http(), "{p}");
        }
        for p in [Https, Tcp, Tls, Udp, Mongo, Redis, MySql, Unsupported] {
            assert!(!p.is_http(), "{p}");
        }
        assert!(Grpc.is_http2() && GrpcWeb.is_http2() && Http2.is_http2() && !Http.is_http2());
        assert_eq!(Protocol::parse("GRPC"), Grpc);
        assert_eq!(Protocol::parse("nope"), Unsupported);
    }

    #[test]
    fn upstream_versions() {
        use H2UpgradePolicy as H;
        use ProxyKind::*;
        use UpstreamHttp as U;
        #[rustfmt::skip]
        let cases: &[(Protocol, ProxyKind, H, H, bool, U)] = &[
            (Http2, Sidecar, H::Default, H::Default, false, U::Http2),
            (Grpc, Gateway, H::Default, H::Default, false, U::Http2),
            (GrpcWeb, Sidecar, H::Default, H::DoNotUpgrade, false, U::Http2),
            (Http, Sidecar, H::Default, H::Default, false, U::Http1),
            (Http, Sidecar, H::DoNotUpgrade, H::Default, false, U::Http1),
            (Http, Sidecar, H::Upgrade, H::Default, false, U::Http2),
            (Http, Sidecar, H::Upgrade, H::DoNotUpgrade, false, U::Http1),
            (Http, Gateway, H::Default, H::Upgrade, false, U::Http2),
            (Unsupported, Sidecar, H::Upgrade, H::Upgrade, false, U::Downstream),
            (Unsupported, Gateway, H::Default, H::Default, false, U::Http1),
            (Unsupported, Gateway, H::Default, H::Upgrade, false, U::Http2),
            (Http2, Sidecar, H::Default, H::Default, true, U::Downstream),
            (Http, Sidecar, H::Upgrade, H::Upgrade, true, U::Downstream),
        ];
        for &(p, k, mesh, dr, client, want) in cases {
            assert_eq!(
                upstream_http_version(p, k, mesh, dr, client),
                want,
                "{p} {k:?} {mesh:?} {dr:?} {client}"
            );
        }
    }
}
