//! Istio `Gateway`: the servers (port, protocol, hosts, TLS) a gateway proxy
//! listens with. Rules of istiod 1.28 `validateGateway`, `validateServer`,
//! `validateServerPort`, `validateServerTLS` (istio/istio
//! `pkg/config/validation/validation.go` @1.28.10; reference §12).

use super::hosts::{self, fields, list, obj, opt_bool, opt_str, string_list};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::spec::istio::*;
use std::collections::BTreeMap;

pub fn decode(o: &Object, cx: &mut Cx) -> Option<Gateway> {
    fields(cx, &o.node, hosts::OBJECT_FIELDS);
    if !hosts::is_dns1123_label(&o.name)
        && let Some(n) = o.node.get("metadata").and_then(|m| m.get("name"))
    {
        cx.error(
            &n,
            format!("invalid gateway name {:?}: must be a DNS label", o.name),
        );
    }
    let spec = cx.req(&o.node, "spec")?;
    obj(cx, &spec, &["selector", "servers"])?;
    let selector = spec
        .get("selector")
        .and_then(|s| hosts::labels(cx, &s))
        .unwrap_or_default();
    let servers_v = list(cx, &spec, "servers");
    if servers_v.is_empty() {
        cx.error(&spec, "gateway must have at least one server");
    }
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    let mut servers = Vec::new();
    for s in &servers_v {
        if let Some(srv) = server(cx, s) {
            if names.insert(srv.port.name.clone(), ()).is_some() {
                let at = s
                    .get("port")
                    .and_then(|p| p.get("name"))
                    .unwrap_or(s.clone());
                cx.error(
                    &at,
                    format!(
                        "port names in servers must be unique: duplicate name {}",
                        srv.port.name
                    ),
                );
            }
            servers.push(srv);
        }
    }
    Some(Gateway {
        meta: super::meta(o),
        selector,
        servers,
    })
}

fn server(cx: &mut Cx, s: &V) -> Option<Server> {
    obj(
        cx,
        s,
        &["port", "bind", "hosts", "tls", "defaultEndpoint", "name"],
    )?;
    let hs = string_list(cx, s, "hosts");
    if hs.is_empty() {
        cx.error(s, "server config must contain at least one host");
    }
    let hosts_out: Vec<GatewayHost> = hs
        .iter()
        .filter_map(|(h, at)| hosts::namespaced_host(cx, at, h, true))
        .collect();
    let bind = opt_str(cx, s, "bind");
    if let (Some(b), Some(at)) = (&bind, s.get("bind"))
        && !hosts::is_ip(b)
        && !b.starts_with("unix://")
    {
        cx.error(
            &at,
            format!("{b:?} is not a valid IP address or unix:// path"),
        );
    }
    let pv = cx.req(s, "port")?;
    obj(cx, &pv, &["number", "protocol", "name", "targetPort"])?;
    if let Some(t) = pv.get("targetPort") {
        cx.error(&t, "targetPort is not supported in a Gateway server port");
    }
    let uds = bind.as_deref().is_some_and(|b| b.starts_with("unix://"));
    let number = match pv.get("number") {
        Some(n) if uds => cx.int_in(&n, 0, 65535).map(|x| x as u16),
        Some(n) => cx.port(&n),
        None => {
            cx.error(&pv, "port number must be in the range 1..65535");
            None
        }
    };
    let protocol = cx
        .req(&pv, "protocol")
        .and_then(|p| hosts::protocol(cx, &p));
    let name = opt_str(cx, &pv, "name").unwrap_or_default();
    if name.is_empty() {
        cx.error(&pv, "port name must be set");
    }
    let (number, protocol) = (number?, protocol?);
    let tls_protocol = matches!(protocol, Protocol::Https | Protocol::Tls);
    let tls = match s.get("tls") {
        Some(t) => server_tls(cx, &t, protocol),
        None => {
            if tls_protocol {
                cx.error(s, "server must have TLS settings for HTTPS/TLS protocols");
            }
            None
        }
    };
    Some(Server {
        port: ServerPort {
            number,
            name,
            protocol,
        },
        hosts: hosts_out,
        tls,
        bind,
        name: opt_str(cx, s, "name"),
    })
}

const TLS: &[&str] = &[
    "httpsRedirect",
    "mode",
    "serverCertificate",
    "privateKey",
    "caCertificates",
    "caCrl",
    "credentialName",
    "credentialNames",
    "tlsCertificates",
    "subjectAltNames",
    "verifyCertificateSpki",
    "verifyCertificateHash",
    "minProtocolVersion",
    "maxProtocolVersion",
    "cipherSuites",
];

fn server_tls(cx: &mut Cx, t: &V, protocol: Protocol) -> Option<ServerTls> {
    obj(cx, t, TLS)?;
    let https_redirect = opt_bool(cx, t, "httpsRedirect").unwrap_or(false);
    let tls_protocol = matches!(protocol, Protocol::Https | Protocol::Tls);
    let mode = match t.get("mode") {
        Some(m) => cx.one_of(
            &m,
            &[
                ("PASSTHROUGH", ServerTlsMode::Passthrough),
                ("SIMPLE", ServerTlsMode::Simple),
                ("MUTUAL", ServerTlsMode::Mutual),
                ("AUTO_PASSTHROUGH", ServerTlsMode::AutoPassthrough),
                ("ISTIO_MUTUAL", ServerTlsMode::IstioMutual),
                ("OPTIONAL_MUTUAL", ServerTlsMode::OptionalMutual),
            ],
        )?,
        None => ServerTlsMode::Passthrough,
    };
    let certs = [
        "serverCertificate",
        "privateKey",
        "caCertificates",
        "credentialName",
        "credentialNames",
        "tlsCertificates",
    ];
    if !tls_protocol {
        if https_redirect && protocol != Protocol::Http {
            cx.warn(t, "tls.httpsRedirect should only be used with HTTP servers");
        }
        if t.has("mode") || certs.iter().any(|k| t.has(k)) {
            cx.error(
                t,
                format!("server cannot have TLS settings for non-HTTPS/TLS protocol {protocol:?}"),
            );
        }
        return Some(ServerTls {
            https_redirect,
            mode,
            credential_name: None,
        });
    }
    let credential_name = opt_str(cx, t, "credentialName");
    let has = |k: &str| t.has(k);
    match mode {
        ServerTlsMode::IstioMutual => {
            if certs.iter().any(|k| has(k)) {
                cx.error(t, "cannot have associated private key, server certificate, CA certificates or credentialName with ISTIO_MUTUAL");
            }
        }
        ServerTlsMode::Simple | ServerTlsMode::Mutual | ServerTlsMode::OptionalMutual => {
            let sources = [
                has("credentialName"),
                has("credentialNames"),
                has("tlsCertificates"),
                has("serverCertificate") || has("privateKey"),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if sources > 1 {
                cx.error(t, "only one of credentialName, credentialNames, tlsCertificates or serverCertificate/privateKey may be set");
            }
            if !has("credentialName") && !has("credentialNames") && !has("tlsCertificates") {
                if !has("serverCertificate") {
                    cx.error(t, format!("{mode:?} TLS requires a server certificate"));
                }
                if !has("privateKey") {
                    cx.error(t, format!("{mode:?} TLS requires a private key"));
                }
                if mode != ServerTlsMode::Simple && !has("caCertificates") {
                    cx.error(t, "MUTUAL TLS requires a client CA bundle");
                }
            }
            if has("caCrl") && (mode == ServerTlsMode::Simple || has("credentialName")) {
                cx.error(t, "CRL is not supported with SIMPLE TLS or credentialName");
            }
        }
        ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough => {
            if certs.iter().any(|k| has(k)) {
                cx.warn(
                    t,
                    "certificates are ignored with PASSTHROUGH/AUTO_PASSTHROUGH",
                );
            }
        }
    }
    Some(ServerTls {
        https_redirect,
        mode,
        credential_name,
    })
}
