//! Structure-aware scenario fuzzing (issue #9 item 8): small random but
//! well-formed scenarios — call graphs (calls, retries, timeouts, parallel
//! branches, cycles bounded by maxDepth), open and closed loads, clusters
//! with nodes and zones, Ingresses through ingress-nginx, and Istio objects
//! (VirtualServices with matches, weights and subsets, DestinationRules with
//! subsets and load-balancer policies, Gateways) — from a seeded generator.
//! Every case must load or be rejected with located errors, and every
//! scenario that loads must run without a panic, keep its books (requests =
//! completed + failed + in flight), replay to the same digest, and do bounded
//! work per simulated request (events, not timings). A failing case prints
//! its seed and YAML.

use meshsim::batch::{Merged, replication_guard, run_all_guarded};
use meshsim::scenario::{LoadError, Overrides, SourceFile};
use meshsim::world::Guard;
use std::fmt::Write;

/// splitmix64 (as the mutation fuzzer in errors.rs).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn dist(g: &mut Gen, max_ms: u64) -> String {
    let m = 1 + g.below(max_ms);
    match g.below(4) {
        0 => format!("{{constant: {m}ms}}"),
        1 => format!("{{exponential: {{mean: {m}ms}}}}"),
        2 => format!("{{lognormal: {{mean: {m}ms, cv: 0.{}}}}}", 1 + g.below(9)),
        _ => format!("{{constant: {}us}}", g.below(500)),
    }
}

/// A script step calling service `to` (of `n`); `cyclic` calls need maxDepth.
fn call(g: &mut Gen, to: usize, cyclic: bool) -> String {
    let mut c = format!("call: {{host: s{to}");
    if g.chance(30) {
        let _ = write!(c, ", retries: {}", g.below(3));
    }
    if g.chance(30) {
        let _ = write!(c, ", timeout: {}ms", 1 + g.below(200));
    }
    if g.chance(25) {
        c.push_str(", onError: continue");
    }
    if g.chance(20) {
        let _ = write!(c, ", probability: 0.{}", 1 + g.below(9));
    }
    if g.chance(15) {
        c.push_str(", path: /api, forwardHeaders: [x-user]");
    }
    if cyclic || g.chance(10) {
        let _ = write!(c, ", maxDepth: {}", 1 + g.below(3));
    }
    c.push('}');
    c
}

fn script(g: &mut Gen, me: usize, n: usize) -> String {
    let mut s = String::from("  script:\n");
    let steps = 1 + g.below(3);
    for _ in 0..steps {
        let to = g.below(n as u64) as usize;
        match g.below(4) {
            0 if n > 1 => {
                let a = g.below(n as u64) as usize;
                let b = g.below(n as u64) as usize;
                let _ = writeln!(
                    s,
                    "  - parallel:\n    - {}\n    - {}",
                    call(g, a, a <= me),
                    call(g, b, b <= me)
                );
            }
            1 | 2 => {
                let _ = writeln!(s, "  - {}", call(g, to, to <= me));
            }
            _ => {
                let _ = writeln!(s, "  - compute: {}", dist(g, 20));
            }
        }
    }
    s
}

/// One random scenario: (YAML files, whether it has a Cluster).
pub fn scenario(seed: u64) -> Vec<(String, String)> {
    let g = &mut Gen(seed);
    let n = 1 + g.below(4) as usize;
    let mut files = Vec::new();
    let cluster = g.chance(40);
    let ingress = cluster && g.chance(40);
    let mut apps = String::new();
    for i in 0..n {
        let replicas = if g.chance(5) { 0 } else { 1 + g.below(3) };
        let version = if i % 2 == 0 || g.chance(50) {
            "v1"
        } else {
            "v2"
        };
        let svc_type = if cluster {
            g.pick(&["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"])
        } else {
            "ClusterIP"
        };
        let policy = if svc_type != "ClusterIP" && g.chance(50) {
            "\n  externalTrafficPolicy: Local"
        } else {
            ""
        };
        let affinity = if g.chance(10) {
            "\n  sessionAffinity: ClientIP"
        } else {
            ""
        };
        let _ = write!(
            apps,
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: s{i}-{version}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: s{i}, version: {version}}}}}
  template:
    metadata: {{labels: {{app: s{i}, version: {version}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: s{i}}}
spec:
  type: {svc_type}{policy}{affinity}
  selector: {{app: s{i}}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: s{i}-{version}}}
spec:
  workers: {}
"#,
            1 + g.below(4)
        );
        if g.chance(30) {
            let _ = writeln!(apps, "  queue: {{limit: {}}}", g.below(10));
        }
        if g.chance(30) {
            apps.push_str("  holdWorkerDuringCalls: false\n");
        }
        if g.chance(20) {
            let _ = writeln!(
                apps,
                "  errors: {{probability: 0.{}, status: 503}}",
                1 + g.below(5)
            );
        }
        if g.chance(50) {
            apps.push_str(&script(g, i, n));
        } else {
            let _ = writeln!(apps, "  serviceTime: {}", dist(g, 20));
        }
        apps.push_str("---\n");
    }
    files.push(("apps.yaml".to_string(), apps));
    let mut net = String::new();
    if cluster {
        let nodes = 1 + g.below(4);
        let _ = writeln!(
            net,
            "apiVersion: meshsim.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: lab}}\nspec:\n  cloud: {}\n  nodes:",
            g.pick(&["generic", "generic", "none"])
        );
        for k in 0..nodes {
            let _ = writeln!(
                net,
                "  - {{name: n{k}, zone: z{}{}}}",
                g.below(2),
                if g.chance(20) { ", count: 2" } else { "" }
            );
        }
        if g.chance(70) {
            let _ = writeln!(
                net,
                "  network:\n    sameNode: {}\n    sameZone: {}\n    crossZone: {}\n    external: {}",
                dist(g, 1),
                dist(g, 1),
                dist(g, 3),
                dist(g, 5)
            );
        }
        if g.chance(30) {
            let _ = writeln!(net, "  handshake: {}", dist(g, 2));
        }
        if ingress {
            let _ = writeln!(net, "  ingressController: {{replicas: {}}}", 1 + g.below(2));
            let _ = write!(
                net,
                r#"---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: edge
  annotations: {{nginx.ingress.kubernetes.io/rewrite-target: /$1}}
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - path: /(.*)
        pathType: ImplementationSpecific
        backend: {{service: {{name: s0, port: {{number: 8080}}}}}}
"#
            );
        }
    }
    // Istio objects (decoded and validated; routing lands separately).
    let mut istio = String::new();
    if g.chance(40) {
        let s = g.below(n as u64);
        let w = g.below(101);
        let _ = write!(
            istio,
            r#"apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: s{s}}}
spec:
  host: s{s}
  trafficPolicy: {{loadBalancer: {{simple: {}}}}}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}, trafficPolicy: {{loadBalancer: {{simple: {}}}}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: s{s}}}
spec:
  hosts: [s{s}]
  http:
  - match: [{{uri: {{prefix: /api}}}}, {{headers: {{x-user: {{exact: jason}}}}}}]
    route:
    - {{destination: {{host: s{s}, subset: v2}}}}
  - route:
    - {{destination: {{host: s{s}, subset: v1}}, weight: {w}}}
    - {{destination: {{host: s{s}, subset: v2}}, weight: {}}}
    timeout: {}ms
    retries: {{attempts: {}, perTryTimeout: 50ms}}
---
"#,
            g.pick(&["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"]),
            g.pick(&["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"]),
            100 - w,
            1 + g.below(500),
            // attempts 0 with perTryTimeout is rejected by Istio 1.28: now and then.
            if g.chance(5) { 0 } else { 1 + g.below(3) }
        );
    }
    if g.chance(25) {
        istio.push_str(
            r#"apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example", shop.example]
---
"#,
        );
    }
    if !istio.is_empty() {
        files.push(("istio.yaml".into(), istio));
    }
    let mut loads = String::new();
    for li in 0..1 + g.below(2) {
        let target = if ingress && g.chance(50) {
            "http://shop.example/x".to_string()
        } else {
            format!("http://s{}:8080/", g.below(n as u64))
        };
        let pattern = if g.chance(60) {
            format!(
                "open: {{rate: {}{}{}}}",
                1 + g.below(400),
                if g.chance(30) {
                    ", arrival: constant"
                } else {
                    ""
                },
                if g.chance(40) {
                    format!(", connections: {}", 1 + g.below(8))
                } else {
                    String::new()
                }
            )
        } else {
            format!(
                "closed: {{connections: {}{}{}}}",
                1 + g.below(20),
                if g.chance(50) {
                    format!(", qps: {}", 1 + g.below(300))
                } else {
                    String::new()
                },
                if g.chance(40) {
                    format!(", thinkTime: {}", dist(g, 50))
                } else {
                    String::new()
                }
            )
        };
        let _ = write!(
            loads,
            "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: l{li}}}\nspec:\n  target: {target}\n  {pattern}\n---\n"
        );
    }
    let duration = 1 + g.below(4);
    let _ = write!(
        loads,
        "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {{name: fuzz}}\nspec: {{duration: {duration}s, warmup: {}ms, seed: {}, replications: {}}}\n",
        g.below(duration * 500),
        g.next(),
        1 + g.below(2)
    );
    files.push(("loads.yaml".into(), loads));
    files.push(("net.yaml".into(), net));
    files
}

/// What one case did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub cases: u64,
    pub ran: u64,
    pub rejected: u64,
    pub requests: u64,
    pub events: u64,
    /// Cases the run-time guard stopped (a fast closed loop meets the
    /// request limit): their windows may be empty, so work is bounded by
    /// the limit instead.
    pub stopped: u64,
}

fn books_balance(m: &Merged) -> Result<(), String> {
    for (k, o) in m.outcomes.iter().enumerate() {
        for (what, recs, fl) in [
            ("load", &o.loads, &o.loads_in_flight),
            ("service", &o.services, &o.services_in_flight),
            ("workload", &o.workloads, &o.workloads_in_flight),
        ] {
            for (i, (r, f)) in recs.iter().zip(fl).enumerate() {
                if r.requests != r.completed + r.failed + f || r.count != r.completed + r.failed {
                    return Err(format!(
                        "replication {k} {what} {i}: requests {} ≠ completed {} + failed {} + in flight {f}",
                        r.requests, r.completed, r.failed
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Runs one case; `Err` describes a violated property.
fn check(seed: u64, t: &mut Tally) -> Result<(), String> {
    let files = scenario(seed);
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(p, text)| SourceFile {
            path: p.clone(),
            text: text.clone(),
        })
        .collect();
    t.cases += 1;
    let loaded = std::panic::catch_unwind(|| {
        meshsim::scenario::from_sources("fuzz".into(), &sources, &Overrides::default())
    })
    .map_err(|_| "panic while loading".to_string())?;
    let spec = match loaded {
        Ok(s) => s,
        Err(LoadError::Invalid(d)) => {
            t.rejected += 1;
            for e in d.errors() {
                if e.origin.file.is_empty() || (e.loc.line == 0 && e.origin.file != "(scenario)") {
                    return Err(format!("unlocated error: {e}"));
                }
            }
            return Ok(());
        }
        Err(e) => return Err(format!("unexpected load error: {e}")),
    };
    // A budget small enough that a runaway case trips it, not the machine.
    let limits = Guard {
        memory_bytes: 256 << 20,
        max_load_requests: 2_000_000,
    };
    let m = std::panic::catch_unwind(|| run_all_guarded(&spec, &limits, &|_| true))
        .map_err(|_| "panic while simulating".to_string())?;
    t.ran += 1;
    books_balance(&m)?;
    // Determinism: replication 0 replays to the same digest and event count.
    let g0 = replication_guard(&spec, &limits, m.replications as u64);
    let again = meshsim::run::replicate_guarded(&spec, 0, &g0, &mut |_| true);
    let first = &m.outcomes[0];
    if (again.digest, again.events) != (first.digest, first.events) {
        return Err(format!(
            "replay differs: {:016x}/{} then {:016x}/{}",
            first.digest, first.events, again.digest, again.events
        ));
    }
    // Bounded work: events per request the run created (every hop, attempt
    // and mirrored copy, warm-up included — a request costs a handful of
    // events: arrive, compute steps, timeouts, respond), plus the fixed
    // per-replication events (timeline samples, warm-up end).
    //
    // Why created requests and not the window's counts scaled by duration:
    // a run that stalls (hold-and-wait: every worker held by a call that
    // waits for a worker) did its work before the stall, which the window
    // under-counts — case 1031625 stalls before the window opens (0 window
    // requests after 3,672 events), case 1231095 likewise through
    // ingress-nginx, and case 1253403 stalls 0.7 s into a 3.3 s window
    // (452 window requests, 58,388 events: 25 closed connections into a
    // self-calling Service of 12 workers).
    let reqs: u64 = m
        .loads
        .iter()
        .chain(&m.services)
        .map(|s| s.pooled.requests)
        .sum();
    let created: u64 = m.outcomes.iter().map(|o| o.requests_created).sum();
    let bound = 5_000.0 * m.replications as f64 + 40.0 * created as f64;
    if m.outcomes.iter().any(|o| o.stopped.is_some()) {
        t.stopped += 1;
        if m.partial.is_empty() {
            return Err("a stopped replication but no partial note".into());
        }
    }
    if m.events as f64 > bound {
        return Err(format!(
            "{} events for {reqs} requests (bound {bound:.0})",
            m.events
        ));
    }
    t.requests += reqs;
    t.events += m.events;
    Ok(())
}

/// `cases` scenarios from seeds `first..first + cases`; panics with the
/// failing case's seed and files.
pub fn fuzz(first: u64, cases: u64) -> Tally {
    let mut t = Tally::default();
    for seed in first..first + cases {
        if let Err(e) = check(seed, &mut t) {
            let files = scenario(seed);
            let mut text = String::new();
            for (p, body) in &files {
                let _ = write!(text, "# {p}\n{body}\n");
            }
            panic!("scenario fuzz case {seed}: {e}\n{text}");
        }
    }
    t
}

#[test]
fn generated_scenarios_hold_every_property() {
    let t = fuzz(0, 300);
    eprintln!(
        "scenario fuzz: {} cases, {} ran ({} stopped by the guard), {} rejected, {} requests, {} events",
        t.cases, t.ran, t.stopped, t.rejected, t.requests, t.events
    );
    // The generator mostly writes valid scenarios (else it tests the loader
    // only), and some invalid ones (Istio's retry rule), which must be located.
    assert!(t.ran * 10 >= t.cases * 9 && t.rejected > 0, "{t:?}");
}

/// Deterministic: the same seed writes the same scenario and the same run.
#[test]
fn a_guard_stop_in_warm_up_is_checked_not_failed() {
    // Case 1003420 of the long run: a closed loop answered in microseconds
    // meets the request limit during warm-up; that stop is checked, not a failure.
    let mut t = Tally::default();
    check(1_003_420, &mut t).unwrap();
    assert_eq!((t.ran, t.stopped), (1, 1));
    // Case 1031625: a hold-and-wait deadlock before the window (legitimate:
    // the model does what the thread pools would); the books still balance.
    check(1_031_625, &mut t).unwrap();
    // Case 1231095: the same class reached through ingress-nginx and a
    // closed loop (5,720 warm-up events, no request in the window).
    check(1_231_095, &mut t).unwrap();
    // Case 1253403: a stall 0.7 s into the window (25 closed connections,
    // a Service calling itself with 12 workers held during calls).
    check(1_253_403, &mut t).unwrap();
    assert_eq!((t.ran, t.stopped), (4, 1));
}

#[test]
fn the_generator_is_deterministic() {
    assert_eq!(scenario(42), scenario(42));
    assert_ne!(scenario(42), scenario(43));
}

/// The long run: `MESHSIM_FUZZ_MINUTES=30 cargo test --release --test
/// integration -- --ignored scenario_fuzz_long --nocapture`; reports cases
/// per minute. Seeds start after the CI run's.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // a wall-clock budget, test only
fn scenario_fuzz_long() {
    let start = std::time::Instant::now();
    let minutes: f64 = std::env::var("MESHSIM_FUZZ_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30.0);
    let mut total = Tally::default();
    let mut next = 1_000_000u64;
    while start.elapsed().as_secs_f64() < minutes * 60.0 {
        let t = fuzz(next, 100);
        next += 100;
        total.cases += t.cases;
        total.ran += t.ran;
        total.rejected += t.rejected;
        total.requests += t.requests;
        total.events += t.events;
        total.stopped += t.stopped;
    }
    let mins = start.elapsed().as_secs_f64() / 60.0;
    eprintln!(
        "scenario fuzz (long): {} cases in {mins:.1} min ({:.0} cases/min), {} ran ({} stopped by the guard), {} rejected, {} requests, {} events; seeds 1000000..{next}",
        total.cases,
        total.cases as f64 / mins,
        total.ran,
        total.stopped,
        total.rejected,
        total.requests,
        total.events
    );
}
