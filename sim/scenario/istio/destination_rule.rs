//! `DestinationRule`: what a client proxy does once a route picked a host —
//! load balancing, connection pools, retry budgets, outlier detection, TLS,
//! subsets.
//! Rules of istiod 1.28 `validateDestinationRule`, `validateTrafficPolicy`,
//! `validateLoadBalancer`, `validateConnectionPool`, `validateOutlierDetection`
//! (istio/istio `pkg/config/validation/validation.go` @1.28.10; reference §12).

use super::hosts::{self, fields, list, obj, opt_bool, opt_str, opt_u32};
use crate::scenario::decode::{Cx, V};
use crate::scenario::object::Object;
use crate::scenario::raw::Value;
use crate::scenario::spec::istio::*;
use std::collections::{BTreeMap, BTreeSet};

const POLICY: &[&str] = &[
    "loadBalancer",
    "connectionPool",
    "outlierDetection",
    "tls",
    "portLevelSettings",
    "tunnel",
    "proxyProtocol",
    "retryBudget",
];

pub fn decode(o: &Object, cx: &mut Cx) -> Option<DestinationRule> {
    fields(cx, &o.node, hosts::OBJECT_FIELDS);
    let spec = cx.req(&o.node, "spec")?;
    obj(
        cx,
        &spec,
        &[
            "host",
            "trafficPolicy",
            "subsets",
            "exportTo",
            "workloadSelector",
        ],
    )?;
    let ns = o.namespace.as_str();
    let hv = cx.req(&spec, "host")?;
    let host = cx.str(&hv)?;
    if let Err(e) = hosts::wildcard_domain(host) {
        cx.error(&hv, e);
    }
    let workload_selector = spec
        .get("workloadSelector")
        .and_then(|w| hosts::workload_selector(cx, &w, "matchLabels"));
    let export_to = hosts::export_to(cx, &spec, ns, false);
    if workload_selector.is_some() && export_to.iter().any(|e| e != "." && e != ns) {
        cx.error(
            &spec,
            "destination rule with workload selector cannot have exportTo beyond current namespace",
        );
    }
    let top_policy = spec
        .get("trafficPolicy")
        .and_then(|t| traffic_policy(cx, &t, true));
    let mut subsets = Vec::new();
    let mut names = BTreeSet::new();
    for s in list(cx, &spec, "subsets") {
        if hosts::is_empty_value(&s) || obj(cx, &s, &["name", "labels", "trafficPolicy"]).is_none()
        {
            cx.error(&s, "subset may not be null");
            continue;
        }
        let Some(nv) = cx.req(&s, "name") else {
            continue;
        };
        let Some(name) = cx.str(&nv) else { continue };
        if !hosts::is_dns1123_label(name) {
            cx.error(&nv, format!("subset name {name:?} is invalid"));
        }
        if !names.insert(name.to_string()) {
            cx.error(&nv, format!("duplicate subset names: {name}"));
        }
        let labels = s
            .get("labels")
            .and_then(|l| hosts::labels(cx, &l))
            .unwrap_or_default();
        let tp = s
            .get("trafficPolicy")
            .and_then(|t| traffic_policy(cx, &t, true));
        subsets.push(Subset {
            name: name.to_string(),
            labels,
            traffic_policy: tp,
        });
    }
    Some(DestinationRule {
        meta: super::meta(o),
        host: hosts::resolve_host(host, ns),
        export_to,
        workload_selector,
        traffic_policy: top_policy,
        subsets,
    })
}

/// A traffic policy (top-level, subset, or port-level when `!top`). Must set something.
fn traffic_policy(cx: &mut Cx, v: &V, top: bool) -> Option<TrafficPolicy> {
    let known: &[&str] = if top {
        POLICY
    } else {
        &[
            "port",
            "loadBalancer",
            "connectionPool",
            "outlierDetection",
            "tls",
        ]
    };
    obj(cx, v, known)?;
    // `validateTrafficPolicy` counts every field (retryBudget too);
    // `validatePortTrafficPolicies` only the four a port-level entry has.
    let any = known.iter().any(|k| *k != "port" && v.has(k));
    if !any {
        let what = if top { "traffic" } else { "port traffic" };
        cx.error(v, format!("{what} policy must have at least one field"));
    }
    if v.has("tunnel") && v.has("proxyProtocol") {
        cx.error(v, "tunnel and proxyProtocol cannot both be set");
    }
    let mut out = TrafficPolicy {
        load_balancer: v.get("loadBalancer").and_then(|l| load_balancer(cx, &l)),
        connection_pool: v
            .get("connectionPool")
            .and_then(|c| connection_pool(cx, &c)),
        outlier_detection: v.get("outlierDetection").and_then(|c| outlier(cx, &c)),
        tls: v.get("tls").and_then(|t| client_tls(cx, &t)),
        port_level_settings: Vec::new(),
        retry_budget: None,
    };
    if top && let Some(b) = v.get("retryBudget") {
        out.retry_budget = retry_budget(cx, &b);
    }
    if top {
        for p in list(cx, v, "portLevelSettings") {
            let Some(pv) = cx.req(&p, "port") else {
                continue;
            };
            if obj(cx, &pv, &["number"]).is_none() {
                continue;
            }
            let Some(port) = pv.get("number").and_then(|n| cx.port(&n)) else {
                cx.error(&pv, "port number must be in the range 1..65535");
                continue;
            };
            if let Some(policy) = traffic_policy(cx, &p, false) {
                out.port_level_settings
                    .push(PortTrafficPolicy { port, policy });
            }
        }
    }
    Some(out)
}

fn load_balancer(cx: &mut Cx, v: &V) -> Option<LoadBalancer> {
    obj(
        cx,
        v,
        &[
            "simple",
            "consistentHash",
            "localityLbSetting",
            "warmupDurationSecs",
            "warmup",
        ],
    )?;
    let mut out = LoadBalancer::default();
    if let Some(s) = v.get("simple") {
        if cx.str(&s) == Some("LEAST_CONN") {
            cx.warn(
                &s,
                "LEAST_CONN is deprecated: Istio reads it as LEAST_REQUEST",
            );
            out.simple = Some(SimpleLb::LeastRequest);
        } else {
            out.simple = cx.one_of(
                &s,
                &[
                    ("UNSPECIFIED", SimpleLb::Unspecified),
                    ("ROUND_ROBIN", SimpleLb::RoundRobin),
                    ("LEAST_REQUEST", SimpleLb::LeastRequest),
                    ("RANDOM", SimpleLb::Random),
                    ("PASSTHROUGH", SimpleLb::Passthrough),
                    ("LEAST_CONN", SimpleLb::LeastRequest),
                ],
            );
        }
    }
    if v.has("simple") && v.has("consistentHash") {
        cx.error(v, "only one of simple or consistentHash may be set");
    }
    out.consistent_hash = v
        .get("consistentHash")
        .and_then(|c| consistent_hash(cx, &c));
    out.locality_lb_setting = v.get("localityLbSetting").and_then(|l| locality(cx, &l));
    if let Some(w) = v.get("warmupDurationSecs") {
        out.warmup = hosts::duration(cx, &w, false).map(|d| Warmup {
            duration: d,
            minimum_percent: Ppm(100_000),
            aggression_milli: 1000,
        });
    }
    if let Some(w) = v.get("warmup") {
        out.warmup = warmup(cx, &w);
    }
    Some(out)
}

/// `warmup` (1.28): duration required, minimumPercent 0–100, aggression ≥ 1.
fn warmup(cx: &mut Cx, v: &V) -> Option<Warmup> {
    obj(cx, v, &["duration", "minimumPercent", "aggression"])?;
    let duration = cx
        .req(v, "duration")
        .and_then(|d| hosts::duration(cx, &d, false));
    let mut minimum_percent = Ppm(100_000);
    if let Some(m) = v.get("minimumPercent") {
        let x = cx.number(&m)?;
        if !(0.0..=100.0).contains(&x) {
            cx.error(&m, format!("{x}: minimumPercent must be between 0 and 100"));
            return None;
        }
        minimum_percent = Ppm((x * 10_000.0).round() as u32);
    }
    let mut aggression_milli = 1000;
    if let Some(a) = v.get("aggression") {
        let x = cx.number(&a)?;
        if x < 1.0 {
            cx.error(
                &a,
                format!("{x}: aggression should be greater than or equal to 1"),
            );
            return None;
        }
        aggression_milli = (x * 1000.0).round().min(u32::MAX as f64) as u32;
    }
    Some(Warmup {
        duration: duration?,
        minimum_percent,
        aggression_milli,
    })
}

fn consistent_hash(cx: &mut Cx, v: &V) -> Option<ConsistentHash> {
    obj(
        cx,
        v,
        &[
            "httpHeaderName",
            "httpCookie",
            "useSourceIp",
            "httpQueryParameterName",
            "ringHash",
            "maglev",
            "minimumRingSize",
        ],
    )?;
    let keys: Vec<&str> = [
        "httpHeaderName",
        "httpCookie",
        "useSourceIp",
        "httpQueryParameterName",
    ]
    .into_iter()
    .filter(|k| v.has(k))
    .collect();
    if keys.len() > 1 {
        cx.error(
            v,
            format!("only one hash key may be set, found {}", keys.join(", ")),
        );
        return None;
    }
    let key = match keys.first().copied() {
        Some("httpHeaderName") => HashKey::HttpHeaderName(opt_str(cx, v, "httpHeaderName")?),
        Some("httpCookie") => {
            let c = v.get("httpCookie")?;
            obj(cx, &c, &["name", "path", "ttl", "attributes"])?;
            let name = opt_str(cx, &c, "name").unwrap_or_default();
            if name.is_empty() {
                cx.error(&c, "name required for httpCookie");
                return None;
            }
            let ttl = c.get("ttl").and_then(|t| hosts::duration(cx, &t, true));
            HashKey::HttpCookie {
                name,
                path: opt_str(cx, &c, "path"),
                ttl,
            }
        }
        Some("useSourceIp") => {
            opt_bool(cx, v, "useSourceIp");
            HashKey::UseSourceIp
        }
        Some(_) => HashKey::HttpQueryParameterName(opt_str(cx, v, "httpQueryParameterName")?),
        None => {
            cx.error(v, "consistentHash needs one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName");
            return None;
        }
    };
    let algos = ["ringHash", "maglev", "minimumRingSize"]
        .iter()
        .filter(|k| v.has(k))
        .count();
    if algos > 1 {
        cx.error(
            v,
            "only one of ringHash, maglev or minimumRingSize may be set",
        );
    }
    let algorithm = if let Some(m) = v.get("maglev") {
        obj(cx, &m, &["tableSize"])?;
        let t = cx
            .req(&m, "tableSize")
            .and_then(|t| cx.int_in(&t, 1, i64::MAX))? as u64;
        if t >= 5_000_011 || !is_prime(t) {
            cx.error(
                &m,
                format!("{t}: maglev tableSize must be a prime number less than 5000011"),
            );
            return None;
        }
        HashAlgorithm::Maglev { table_size: t }
    } else if let Some(r) = v.get("ringHash") {
        obj(cx, &r, &["minimumRingSize"])?;
        let m = r
            .get("minimumRingSize")
            .and_then(|m| cx.int_in(&m, 0, i64::MAX))
            .unwrap_or(0) as u64;
        HashAlgorithm::RingHash {
            minimum_ring_size: m,
        }
    } else if let Some(m) = v.get("minimumRingSize") {
        cx.warn(
            &m,
            "consistentHash.minimumRingSize is deprecated; use ringHash.minimumRingSize",
        );
        HashAlgorithm::RingHash {
            minimum_ring_size: cx.int_in(&m, 0, i64::MAX).unwrap_or(0) as u64,
        }
    } else {
        HashAlgorithm::RingHash {
            minimum_ring_size: 0,
        }
    };
    Some(ConsistentHash { key, algorithm })
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn locality(cx: &mut Cx, v: &V) -> Option<LocalityLbSetting> {
    obj(
        cx,
        v,
        &["distribute", "failover", "failoverPriority", "enabled"],
    )?;
    let mut out = LocalityLbSetting {
        enabled: opt_bool(cx, v, "enabled"),
        ..Default::default()
    };
    if v.has("distribute") && v.has("failover") {
        cx.error(
            v,
            "can not simultaneously specify 'distribute' and 'failover'",
        );
    }
    for d in list(cx, v, "distribute") {
        if obj(cx, &d, &["from", "to"]).is_none() {
            continue;
        }
        let from = opt_str(cx, &d, "from").unwrap_or_default();
        let mut to = BTreeMap::new();
        let mut total = 0u64;
        if let Some(t) = d.get("to") {
            for (k, w) in cx.map(&t).unwrap_or_default() {
                if let Some(x) = cx.int_in(&w, 1, 100) {
                    total += x as u64;
                    to.insert(k, x as u32);
                }
            }
            if total != 100 {
                cx.error(&t, format!("total locality weight {total} != 100"));
            }
        }
        out.distribute.push((from, to));
    }
    for f in list(cx, v, "failover") {
        if obj(cx, &f, &["from", "to"]).is_none() {
            continue;
        }
        let from = opt_str(cx, &f, "from").unwrap_or_default();
        let to = opt_str(cx, &f, "to").unwrap_or_default();
        if from == to {
            cx.error(
                &f,
                "locality lb failover settings must specify different regions",
            );
        }
        if from.contains('/') || to.contains('/') || from.contains('*') || to.contains('*') {
            cx.error(&f, "locality lb failover only specify region");
        }
        out.failover.push((from, to));
    }
    out.failover_priority = hosts::string_list(cx, v, "failoverPriority")
        .into_iter()
        .map(|s| s.0)
        .collect();
    Some(out)
}

fn connection_pool(cx: &mut Cx, v: &V) -> Option<ConnectionPool> {
    obj(cx, v, &["tcp", "http"])?;
    if !v.has("tcp") && !v.has("http") {
        cx.error(v, "must have at least one field (tcp or http)");
    }
    let tcp = v.get("tcp").and_then(|t| {
        obj(
            cx,
            &t,
            &[
                "maxConnections",
                "connectTimeout",
                "tcpKeepalive",
                "maxConnectionDuration",
                "idleTimeout",
            ],
        )?;
        if let Some(k) = t.get("tcpKeepalive") {
            obj(cx, &k, &["probes", "time", "interval"]);
            opt_u32(cx, &k, "probes");
            hosts::opt_duration(cx, &k, "time");
            hosts::opt_duration(cx, &k, "interval");
        }
        Some(TcpSettings {
            max_connections: opt_u32(cx, &t, "maxConnections"),
            connect_timeout: hosts::opt_duration(cx, &t, "connectTimeout"),
            max_connection_duration: hosts::opt_duration(cx, &t, "maxConnectionDuration"),
            idle_timeout: t
                .get("idleTimeout")
                .and_then(|d| hosts::duration(cx, &d, true)),
        })
    });
    let http = v.get("http").and_then(|h| {
        obj(
            cx,
            &h,
            &[
                "http1MaxPendingRequests",
                "http2MaxRequests",
                "maxRequestsPerConnection",
                "maxRetries",
                "idleTimeout",
                "h2UpgradePolicy",
                "useClientProtocol",
                "maxConcurrentStreams",
            ],
        )?;
        let h2 = match h.get("h2UpgradePolicy") {
            Some(p) => cx
                .one_of(
                    &p,
                    &[
                        ("DEFAULT", H2UpgradePolicy::Default),
                        ("DO_NOT_UPGRADE", H2UpgradePolicy::DoNotUpgrade),
                        ("UPGRADE", H2UpgradePolicy::Upgrade),
                    ],
                )
                .unwrap_or_default(),
            None => H2UpgradePolicy::Default,
        };
        let use_client_protocol = opt_bool(cx, &h, "useClientProtocol").unwrap_or(false);
        if h2 == H2UpgradePolicy::Upgrade && use_client_protocol {
            cx.error(
                &h,
                "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
            );
        }
        Some(HttpSettings {
            http1_max_pending_requests: opt_u32(cx, &h, "http1MaxPendingRequests"),
            http2_max_requests: opt_u32(cx, &h, "http2MaxRequests"),
            max_requests_per_connection: opt_u32(cx, &h, "maxRequestsPerConnection"),
            max_retries: opt_u32(cx, &h, "maxRetries"),
            idle_timeout: hosts::opt_duration(cx, &h, "idleTimeout"),
            h2_upgrade_policy: h2,
            use_client_protocol,
            max_concurrent_streams: opt_u32(cx, &h, "maxConcurrentStreams"),
        })
    });
    Some(ConnectionPool { tcp, http })
}

/// `retryBudget`: istiod 1.28 validates nothing in it (`validateTrafficPolicy`
/// only counts it as a field); the CRD schema bounds `percent` to 0–100 and
/// `minRetryConcurrency` to a uint32, so the API server rejects the rest.
fn retry_budget(cx: &mut Cx, v: &V) -> Option<RetryBudget> {
    obj(cx, v, &["percent", "minRetryConcurrency"])?;
    let mut percent = None;
    // `nullable: true` in the schema: `percent: null` is unset.
    if let Some(p) = v
        .get("percent")
        .filter(|p| !matches!(p.node.value, Value::Null))
    {
        let x = cx.number(&p)?;
        if !(0.0..=100.0).contains(&x) {
            cx.error(&p, format!("{x}: percent must be between 0 and 100"));
            return None;
        }
        percent = Some(Ppm((x * 10_000.0).round() as u32));
    }
    let min_retry_concurrency = v
        .get("minRetryConcurrency")
        .and_then(|m| cx.int_in(&m, 0, u32::MAX as i64))
        .unwrap_or(0) as u32;
    Some(RetryBudget {
        percent,
        min_retry_concurrency,
    })
}

fn outlier(cx: &mut Cx, v: &V) -> Option<OutlierDetection> {
    obj(
        cx,
        v,
        &[
            "consecutiveErrors",
            "consecutive5xxErrors",
            "consecutiveGatewayErrors",
            "consecutiveLocalOriginFailures",
            "splitExternalLocalOriginErrors",
            "interval",
            "baseEjectionTime",
            "maxEjectionPercent",
            "minHealthPercent",
        ],
    )?;
    let mut out = OutlierDetection {
        consecutive_5xx_errors: opt_u32(cx, v, "consecutive5xxErrors"),
        consecutive_gateway_errors: opt_u32(cx, v, "consecutiveGatewayErrors"),
        consecutive_local_origin_failures: opt_u32(cx, v, "consecutiveLocalOriginFailures"),
        split_external_local_origin_errors: opt_bool(cx, v, "splitExternalLocalOriginErrors")
            .unwrap_or(false),
        interval: hosts::opt_duration(cx, v, "interval"),
        base_ejection_time: hosts::opt_duration(cx, v, "baseEjectionTime"),
        max_ejection_percent: v
            .get("maxEjectionPercent")
            .and_then(|p| cx.int_in(&p, 0, 100))
            .map(|x| x as u32),
        min_health_percent: v
            .get("minHealthPercent")
            .and_then(|p| cx.int_in(&p, 0, 100))
            .map(|x| x as u32),
    };
    if let Some(c) = v.get("consecutiveErrors") {
        cx.warn(
            &c,
            "consecutiveErrors is deprecated; use consecutive5xxErrors",
        );
        if out.consecutive_5xx_errors.is_none() {
            out.consecutive_5xx_errors = cx.int_in(&c, 0, i32::MAX as i64).map(|x| x as u32);
        }
    }
    if out.consecutive_local_origin_failures.is_some() && !out.split_external_local_origin_errors {
        cx.error(
            v,
            "consecutive local origin errors is set but split external local origin errors is not",
        );
    }
    Some(out)
}

fn client_tls(cx: &mut Cx, v: &V) -> Option<ClientTls> {
    obj(
        cx,
        v,
        &[
            "mode",
            "clientCertificate",
            "privateKey",
            "caCertificates",
            "credentialName",
            "subjectAltNames",
            "sni",
            "insecureSkipVerify",
            "caCrl",
        ],
    )?;
    let mode = match v.get("mode") {
        Some(m) => cx.one_of(
            &m,
            &[
                ("DISABLE", ClientTlsMode::Disable),
                ("SIMPLE", ClientTlsMode::Simple),
                ("MUTUAL", ClientTlsMode::Mutual),
                ("ISTIO_MUTUAL", ClientTlsMode::IstioMutual),
            ],
        )?,
        None => ClientTlsMode::Disable,
    };
    if mode == ClientTlsMode::Mutual
        && !v.has("credentialName")
        && (!v.has("clientCertificate") || !v.has("privateKey"))
    {
        cx.error(
            v,
            "client certificate and private key are required for mutual tls (or a credentialName)",
        );
    }
    Some(ClientTls {
        mode,
        sni: opt_str(cx, v, "sni"),
    })
}
