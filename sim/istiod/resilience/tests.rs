use super::*;
use crate::engine::rng::{Purpose, RngFactory};
use crate::engine::time::SimTime;
use crate::proxy::breaker::{ClusterStats, ISTIO_UNLIMITED, Resource, ResourceManager};
use crate::proxy::retry::{
    AttemptOutcome, JitteredBackoff, NoRetryReason, RetryState, RetryStatus, choose_host,
    would_retry,
};
use crate::proxy::timeout::{self, TimeoutKind, TimeoutOutcome};
use crate::scenario::spec::istio::{
    FaultAbort as SpecAbort, FaultDelay as SpecDelay, HttpSettings, PortTrafficPolicy, Ppm, Subset,
    TcpSettings,
};
use crate::scenario::{Overrides, SourceFile};

fn s(x: u64) -> SimDuration {
    SimDuration::from_secs(x)
}

fn retries(attempts: u32, on: &[&str], per_try: Option<SimDuration>) -> Retries {
    Retries {
        attempts,
        per_try_timeout: per_try,
        retry_on: on.iter().map(|t| t.to_string()).collect(),
        retry_remote_localities: None,
        retry_ignore_previous_hosts: None,
        backoff: None,
    }
}

/// The seed file through the real loader (../shared/seed from the repo root).
fn seed(file: &str) -> crate::scenario::Scenario {
    let path = format!("{}/../shared/seed/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    crate::scenario::from_sources(
        "seed".into(),
        &[SourceFile { path, text }],
        &Overrides {
            manifests_only: true,
            ..Overrides::default()
        },
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn parse_retry_on_table() {
    let cases: &[(&str, &str, &[u16], &[&str])] = &[
        ("5xx", "5xx", &[], &[]),
        ("503,reset", "reset,retriable-status-codes", &[503], &[]),
        (
            "gateway-error, 429 ,connect-failure",
            "gateway-error,connect-failure,retriable-status-codes",
            &[429],
            &[],
        ),
        (
            "retriable-status-codes,502",
            "retriable-status-codes",
            &[502],
            &[],
        ),
        // 599 is no Go status text: not a code, and no known token.
        ("599", "", &[], &["599"]),
        ("bogus,5xx", "5xx", &[], &["bogus"]),
        ("", "", &[], &[]),
    ];
    for (input, on, codes, unknown) in cases {
        let (got_on, got_codes, got_unknown) = parse_retry_on(&[*input]);
        assert_eq!(got_on.to_string(), *on, "{input}");
        assert_eq!(got_codes, *codes, "{input}");
        assert_eq!(got_unknown, *unknown, "{input}");
    }
}

#[test]
fn retry_policy_translation_table() {
    let def = default_retry_policy(false);
    assert_eq!(def.num_retries, 2);
    assert_eq!(
        def.retry_on.to_string(),
        "connect-failure,refused-stream,retriable-status-codes,cancelled,unavailable"
    );
    assert!(def.retriable_status_codes.is_empty(), "no 503 since 1.24");
    assert!(def.previous_hosts);
    assert_eq!(def.host_selection_max_attempts, 5);
    assert_eq!(def.backoff_base, SimDuration::from_millis(25));
    assert_eq!(def.backoff_max, SimDuration::from_millis(250));

    // Absent everywhere ⇒ default.
    assert_eq!(retry_policy(None, None, false), def);
    // Consistent hash ⇒ no previous_hosts predicate.
    assert!(!retry_policy(None, None, true).previous_hosts);
    // attempts: 0 ⇒ no policy.
    let p = retry_policy(Some(&retries(0, &[], None)), None, false);
    assert!(!p.enabled());
    // MeshConfig default replaces Istio's when the VS has none …
    let mesh = retries(5, &["5xx"], None);
    let p = retry_policy(None, Some(&mesh), false);
    assert_eq!((p.num_retries, p.retry_on), (5, RetryOn::FIVE_XX));
    // … but not a VS's own retries.
    let vs = retries(1, &[], None);
    let p = retry_policy(Some(&vs), Some(&mesh), false);
    assert_eq!((p.num_retries, p.retry_on), (1, istio_default_retry_on()));
    // Codes, per-try, remote localities, backoff, retryIgnorePreviousHosts.
    let mut vs = retries(3, &["503", "reset"], Some(s(1)));
    vs.retry_remote_localities = Some(true);
    vs.backoff = Some(SimDuration::from_millis(100));
    vs.retry_ignore_previous_hosts = Some(false);
    let p = retry_policy(Some(&vs), None, false);
    assert_eq!(p.retry_on.to_string(), "reset,retriable-status-codes");
    assert_eq!(p.retriable_status_codes, vec![503]);
    assert_eq!(p.per_try_timeout, Some(s(1)));
    assert!(p.previous_priorities);
    assert!(!p.previous_hosts);
    assert_eq!(
        (p.backoff_base, p.backoff_max),
        (SimDuration::from_millis(100), s(1))
    );
}

/// `retryIgnorePreviousHosts` × consistent hash (`ConvertPolicy`: set ⇒
/// honoured either way; unset ⇒ the predicate unless the route hashes), from
/// the VS and from MeshConfig's default alike.
#[test]
fn retry_ignore_previous_hosts_table() {
    let cases: &[(Option<bool>, bool, bool)] = &[
        // (retryIgnorePreviousHosts, route hashes, previous_hosts predicate)
        (None, false, true),
        (None, true, false),
        (Some(true), false, true),
        (Some(true), true, true),
        (Some(false), false, false),
        (Some(false), true, false),
    ];
    for &(ignore, hash, want) in cases {
        let mut r = retries(2, &[], None);
        r.retry_ignore_previous_hosts = ignore;
        assert_eq!(
            retry_policy(Some(&r), None, hash).previous_hosts,
            want,
            "VS {ignore:?} hash {hash}"
        );
        assert_eq!(
            retry_policy(None, Some(&r), hash).previous_hosts,
            want,
            "mesh default {ignore:?} hash {hash}"
        );
    }
    // attempts: 0 ⇒ no policy, whatever else is set.
    let mut r = retries(0, &[], None);
    r.retry_ignore_previous_hosts = Some(true);
    r.backoff = Some(s(1));
    assert_eq!(retry_policy(Some(&r), None, false), RetryPolicy::disabled());
    // The predicate drives host choice: hosts 7, 7, 9 from the balancer.
    let pick = |p: &RetryPolicy| {
        let mut seq = [7u32, 7, 9].into_iter();
        choose_host(p, true, &[7], || seq.next())
    };
    let mut r = retries(2, &[], None);
    assert_eq!(pick(&retry_policy(Some(&r), None, false)), Some(9));
    r.retry_ignore_previous_hosts = Some(false);
    assert_eq!(pick(&retry_policy(Some(&r), None, false)), Some(7));
}

/// `backoff` is Envoy's base interval, max 10×; the k-th retry waits
/// `U[0, I_k)` ms with I doubling up to the max.
#[test]
fn retry_backoff_table() {
    let ms = SimDuration::from_millis;
    let cases: &[(Option<SimDuration>, SimDuration, SimDuration, &[u64])] = &[
        (None, ms(25), ms(250), &[25, 50, 100, 200, 250, 250]),
        (Some(ms(1)), ms(1), ms(10), &[1, 2, 4, 8, 10, 10]),
        (
            Some(ms(100)),
            ms(100),
            s(1),
            &[100, 200, 400, 800, 1000, 1000],
        ),
        (Some(s(2)), s(2), s(20), &[2000, 4000, 8000, 16_000, 20_000]),
    ];
    let mut rng = RngFactory::new(7, 0).of(Purpose::Behaviour, "backoff");
    for &(backoff, base, max, bounds) in cases {
        let mut r = retries(5, &["5xx"], None);
        r.backoff = backoff;
        let p = retry_policy(Some(&r), None, false);
        assert_eq!((p.backoff_base, p.backoff_max), (base, max), "{backoff:?}");
        // The mesh default carries it too.
        let m = retry_policy(None, Some(&r), false);
        assert_eq!((m.backoff_base, m.backoff_max), (base, max), "{backoff:?}");
        let mut b = JitteredBackoff::new(p.backoff_base, p.backoff_max);
        for &bound in bounds {
            assert_eq!(b.interval_ms(), bound, "{backoff:?}");
            assert!(b.next_backoff(&mut rng) < ms(bound), "{backoff:?}");
        }
    }
}

/// `applyRetryBudget`: percent unset ⇒ 20 %, minRetryConcurrency 0 ⇒ 3; the
/// budget replaces `maxRetries` and needs no `connectionPool`.
#[test]
fn retry_budget_table() {
    let budget = |percent: Option<u32>, min: u32| RetryBudget {
        percent: percent.map(Ppm),
        min_retry_concurrency: min,
    };
    let max_retries = ConnectionPool {
        tcp: None,
        http: Some(HttpSettings {
            max_retries: Some(4),
            ..Default::default()
        }),
    };
    // (budget, pool, (budget_ppm, min) or None, limit with 0 / 50 / 1000 active)
    type Case = (
        Option<RetryBudget>,
        Option<ConnectionPool>,
        Option<(u64, u64)>,
        [u64; 3],
    );
    let unlimited = ISTIO_UNLIMITED;
    let cases: &[Case] = &[
        (None, None, None, [unlimited; 3]),
        (None, Some(max_retries.clone()), None, [4, 4, 4]),
        (
            Some(budget(None, 0)),
            None,
            Some((200_000, 3)),
            [3, 10, 200],
        ),
        (Some(budget(Some(0), 0)), None, Some((0, 3)), [3, 3, 3]),
        (
            Some(budget(Some(250_000), 7)),
            Some(max_retries.clone()),
            Some((250_000, 7)),
            [7, 12, 250],
        ),
        (
            Some(budget(Some(1_000_000), 1)),
            None,
            Some((1_000_000, 1)),
            [1, 50, 1000],
        ),
        // 0.5 % of 1000 = 5; of 50 = 0.25, truncated ⇒ the minimum.
        (
            Some(budget(Some(5_000), 2)),
            None,
            Some((5_000, 2)),
            [2, 2, 5],
        ),
    ];
    for (b, pool, want, limits) in cases {
        let t = circuit_breakers(pool.as_ref(), b.as_ref());
        assert_eq!(
            t.retry_budget
                .map(|r| (r.budget_ppm, r.min_retry_concurrency)),
            *want,
            "{b:?}"
        );
        let mut rm = ResourceManager::new(t);
        let mut got = [0; 3];
        for (i, active) in [0u64, 50, 1000].into_iter().enumerate() {
            while rm.count(Resource::Requests) < active {
                rm.inc(Resource::Requests);
            }
            got[i] = rm.max(Resource::Retries);
        }
        assert_eq!(got, *limits, "{b:?} {pool:?}");
    }
}

/// Which cluster gets which `retryBudget` (`MergeSubsetTrafficPolicy`
/// drops it from port-level and merged policies).
#[test]
fn effective_retry_budget_table() {
    let b = |min: u32| RetryBudget {
        percent: None,
        min_retry_concurrency: min,
    };
    let tp = |budget: Option<u32>, port_level: Option<u16>| TrafficPolicy {
        retry_budget: budget.map(b),
        port_level_settings: port_level
            .map(|port| PortTrafficPolicy {
                port,
                policy: TrafficPolicy::default(),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let dr = |top: Option<TrafficPolicy>, v1: Option<TrafficPolicy>| DestinationRule {
        meta: Default::default(),
        host: "r.default.svc.cluster.local".into(),
        export_to: Vec::new(),
        workload_selector: None,
        traffic_policy: top,
        subsets: vec![
            Subset {
                name: "v1".into(),
                labels: Default::default(),
                traffic_policy: v1,
            },
            Subset {
                name: "v2".into(),
                labels: Default::default(),
                traffic_policy: None,
            },
        ],
    };
    // (DR, port, subset) ⇒ minRetryConcurrency of the applied budget.
    let cases: &[(DestinationRule, u16, Option<&str>, Option<u32>)] = &[
        (dr(None, None), 80, None, None),
        (dr(Some(tp(Some(1), None)), None), 80, None, Some(1)),
        // A subset without trafficPolicy (and an unknown one) inherits.
        (dr(Some(tp(Some(1), None)), None), 80, Some("v2"), Some(1)),
        (dr(Some(tp(Some(1), None)), None), 80, Some("v9"), Some(1)),
        // A matching port-level entry has no budget; another port keeps it.
        (dr(Some(tp(Some(1), Some(80))), None), 80, None, None),
        (dr(Some(tp(Some(1), Some(80))), None), 8080, None, Some(1)),
        (dr(Some(tp(Some(1), Some(80))), None), 80, Some("v2"), None),
        // A subset's own budget counts only without a top-level policy …
        (dr(None, Some(tp(Some(2), None))), 80, Some("v1"), Some(2)),
        (dr(None, Some(tp(Some(2), Some(80)))), 80, Some("v1"), None),
        (dr(None, Some(tp(Some(2), None))), 80, None, None),
        // … under one, the merge keeps neither budget.
        (
            dr(Some(tp(Some(1), None)), Some(tp(Some(2), None))),
            80,
            Some("v1"),
            None,
        ),
        (
            dr(Some(tp(Some(1), None)), Some(tp(None, None))),
            80,
            Some("v1"),
            None,
        ),
        (
            dr(Some(tp(Some(1), None)), Some(tp(Some(2), None))),
            80,
            Some("v2"),
            Some(1),
        ),
    ];
    for (i, (d, port, subset, want)) in cases.iter().enumerate() {
        let got = effective_retry_budget(d, *port, *subset).map(|b| b.min_retry_concurrency);
        assert_eq!(got, *want, "case {i}: port {port} subset {subset:?}");
    }
    // What the cluster then gets: a DR with only a top-level budget.
    let d = dr(Some(tp(None, None)), None);
    let t = circuit_breakers(None, effective_retry_budget(&d, 80, None));
    assert_eq!(
        t.retry_budget
            .map(|r| (r.budget_ppm, r.min_retry_concurrency)),
        None
    );
    let d = dr(Some(tp(Some(0), None)), None);
    let t = circuit_breakers(None, effective_retry_budget(&d, 80, Some("v2")));
    assert_eq!(
        t.retry_budget
            .map(|r| (r.budget_ppm, r.min_retry_concurrency)),
        Some((200_000, 3))
    );
}

#[test]
fn inbound_retry_policy_is_reset_before_request_except_grpc() {
    let p = inbound_retry_policy(false);
    assert_eq!(
        (p.num_retries, p.retry_on),
        (2, RetryOn::RESET_BEFORE_REQUEST)
    );
    assert!(!p.previous_hosts);
    assert!(!inbound_retry_policy(true).enabled());
    // A dead app container behind a live sidecar: connection refused before
    // any byte was sent ⇒ retried; a reset after sending ⇒ not.
    use crate::proxy::retry::{ResetReason, RetryDecision};
    assert_eq!(
        would_retry(
            &p,
            &AttemptOutcome::reset(ResetReason::ConnectFailure, false)
        ),
        RetryDecision::Retry
    );
    assert_eq!(
        would_retry(&p, &AttemptOutcome::reset(ResetReason::RemoteReset, true)),
        RetryDecision::No(NoRetryReason::NotRetriable)
    );
}

/// Seed 08 as loaded from YAML: `attempts: 3, perTryTimeout: 2s`, no
/// retryOn ⇒ Istio's default retryOn ⇒ a slow ratings gives 504 UT at 2 s
/// after ONE attempt, not three.
#[test]
fn seed_08_yaml_gives_504_ut_at_two_seconds() {
    let sc = seed("08-vs-ratings-retries.yaml");
    let route = &sc.istio.virtual_services[0].http[0];
    let p = retry_policy(
        route.retries.as_ref(),
        sc.istio.mesh.default_http_retry_policy.as_ref(),
        false,
    );
    assert_eq!(p.num_retries, 3);
    assert_eq!(p.retry_on, istio_default_retry_on());
    assert_eq!(p.per_try_timeout, Some(s(2)));
    let t = timeout::final_timeout(&timeout_policy(route.timeout, &p), false, None);
    let rd = timeout::route_deadline(&t, SimTime::ZERO);
    let d = timeout::attempt_deadline(&t, SimTime::ZERO, rd).expect("per-try deadline");
    assert_eq!((d.at, d.kind), (SimTime::ZERO + s(2), TimeoutKind::PerTry));
    let TimeoutOutcome::PerTryTimeout { status, flag } = timeout::on_expiry(d.kind, false) else {
        panic!()
    };
    let mut rm = ResourceManager::new(circuit_breakers(None, None));
    let mut st = ClusterStats::default();
    let mut rng = RngFactory::new(1, 0).of(Purpose::Behaviour, "seed08");
    let mut rs = RetryState::new(&p);
    let verdict = rs.should_retry(
        &p,
        &AttemptOutcome::PerTryTimeout,
        &mut rm,
        &mut st,
        &mut rng,
    );
    assert_eq!(verdict, RetryStatus::No(NoRetryReason::NotRetriable));
    assert_eq!((status, flag.as_str(), rs.attempts()), (504, "UT", 1));
}

/// Seed 07: `timeout: 10s` ⇒ route deadline 10 s after the router starts.
#[test]
fn seed_07_yaml_route_timeout() {
    let sc = seed("07-vs-ratings-timeout.yaml");
    let route = &sc.istio.virtual_services[0].http[0];
    let p = retry_policy(route.retries.as_ref(), None, false);
    let t = timeout::final_timeout(&timeout_policy(route.timeout, &p), false, None);
    assert_eq!((t.global, t.per_try), (Some(s(10)), None));
}

/// Seed 09: `maxConnections: 100` on subset v1 ⇒ only max_connections moves.
#[test]
fn seed_09_yaml_circuit_breakers() {
    let sc = seed("09-dr-reviews-circuit-breaker.yaml");
    let dr = &sc.istio.destination_rules[0];
    let pool = dr.subsets[0]
        .traffic_policy
        .as_ref()
        .and_then(|t| t.connection_pool.as_ref());
    let t = circuit_breakers(pool, None);
    assert_eq!(
        (
            t.max_connections,
            t.max_pending_requests,
            t.max_requests,
            t.max_retries
        ),
        (100, ISTIO_UNLIMITED, ISTIO_UNLIMITED, ISTIO_UNLIMITED)
    );
    let up = upstream_pool(pool, false);
    assert_eq!(up.connect_timeout, s(10));
    assert_eq!(up.idle_timeout, Some(s(3600)));
    assert_eq!(up.pool.max_requests_per_connection, None);
}

/// Seed 10: 0.1 % 5 s delay ⇒ 1 000 per million.
#[test]
fn seed_10_yaml_fault_delay() {
    let sc = seed("10-vs-ratings-fault-delay.yaml");
    let f = fault_config(sc.istio.virtual_services[0].http[0].fault.as_ref().unwrap());
    let d = f.delay.unwrap();
    assert_eq!((d.fixed_delay, d.percentage.ppm()), (s(5), 1_000));
    assert!(f.abort.is_none());
}

#[test]
fn connection_pool_and_fault_and_mirror_tables() {
    let pool = ConnectionPool {
        tcp: Some(TcpSettings {
            max_connections: Some(1),
            connect_timeout: Some(SimDuration::from_millis(250)),
            max_connection_duration: None,
            idle_timeout: Some(s(30)),
        }),
        http: Some(HttpSettings {
            http1_max_pending_requests: Some(1),
            http2_max_requests: Some(0),
            max_requests_per_connection: Some(1),
            max_retries: Some(3),
            idle_timeout: Some(SimDuration::ZERO),
            max_concurrent_streams: Some(100),
            ..Default::default()
        }),
    };
    let budget = RetryBudget {
        percent: Some(Ppm(500_000)),
        min_retry_concurrency: 0,
    };
    let t = circuit_breakers(Some(&pool), Some(&budget));
    assert_eq!(
        (
            t.max_connections,
            t.max_pending_requests,
            t.max_requests,
            t.max_retries
        ),
        (1, 1, ISTIO_UNLIMITED, 3)
    );
    assert_eq!(t.retry_budget.unwrap().min_retry_concurrency, 3);
    let up = upstream_pool(Some(&pool), true);
    assert_eq!(
        up.pool.protocol,
        PoolProtocol::Http2 {
            max_concurrent_streams: 100
        }
    );
    assert_eq!(up.pool.max_requests_per_connection, Some(1));
    assert_eq!(up.connect_timeout, SimDuration::from_millis(250));
    assert_eq!(up.idle_timeout, None, "http.idleTimeout 0s disables");

    let f = Fault {
        delay: Some(SpecDelay {
            fixed_delay: s(7),
            percentage: Ppm(1_000_000),
        }),
        abort: Some(SpecAbort {
            error: AbortError::GrpcStatus("UNAVAILABLE".into()),
            percentage: Ppm(0),
        }),
    };
    let fc = fault_config(&f);
    assert_eq!(fc.abort.unwrap().code, AbortCode::Grpc(14));
    assert_eq!(fc.abort.unwrap().percentage.ppm(), 0, "absent ⇒ never");
    let f = Fault {
        delay: None,
        abort: Some(SpecAbort {
            error: AbortError::Unspecified,
            percentage: Ppm(1_000_000),
        }),
    };
    assert!(fault_config(&f).abort.is_none());
    assert_eq!(grpc_status_code("OK"), Some(0));
    assert_eq!(grpc_status_code("UNAUTHENTICATED"), Some(16));
    assert_eq!(grpc_status_code("nope"), None);

    let dest = |h: &str| Destination {
        host: h.into(),
        subset: None,
        port: None,
    };
    let m = mirror_policies(&[
        Mirror {
            destination: dest("a"),
            percentage: Ppm(1_000_000),
        },
        Mirror {
            destination: dest("b"),
            percentage: Ppm(0),
        },
        Mirror {
            destination: dest("c"),
            percentage: Ppm(5_000),
        },
    ]);
    assert_eq!(m.len(), 2, "0 % ⇒ no policy");
    assert_eq!(
        (m[0].cluster.host.as_str(), m[0].fraction_ppm),
        ("a", 1_000_000)
    );
    assert_eq!(
        (m[1].cluster.host.as_str(), m[1].fraction_ppm),
        ("c", 5_000)
    );
    assert!(m.iter().all(|p| p.disable_shadow_host_suffix_append));
}

#[test]
fn outlier_detection_absent_means_no_detector() {
    assert!(outlier_detection(None).is_none());
    let od = OutlierDetection {
        consecutive_5xx_errors: Some(1),
        interval: Some(s(1)),
        base_ejection_time: Some(SimDuration::from_secs(180)),
        max_ejection_percent: Some(100),
        ..Default::default()
    };
    let (c, panic) = outlier_detection(Some(&od)).unwrap();
    assert_eq!(
        (c.consecutive_5xx, c.interval, c.max_ejection_percent),
        (1, s(1), 100)
    );
    assert_eq!(c.base_ejection_time, s(180));
    assert_eq!(panic, 0);
}
