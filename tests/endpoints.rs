//! See tests/main.rs for what this module covers.
//!
//! Endpoint rules and `choice` steps with constant service times and one
//! closed-loop connection per load: no queueing, so each rule's latency is
//! exact, and a choice's split shows in exact sums (every request takes
//! exactly one branch).

use crate::common;
use meshsim::batch::Merged;
use meshsim::metrics::Recorder;
use meshsim::scenario::{LoadError, Scenario};

const MS: u64 = 1_000_000;

fn app(name: &str, workload: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: x, ports: [{{containerPort: 8080}}]}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{selector: {{app: {name}}}, ports: [{{name: http, port: 8080}}]}}
---
apiVersion: meshsim.dev/v1alpha1
kind: Workload
metadata: {{name: {name}}}
spec:
{workload}
---
"#
    )
}

fn closed(name: &str, target: &str) -> String {
    format!(
        "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {{name: {name}}}\nspec: {{target: \"{target}\", closed: {{connections: 1}}}}\n---\n"
    )
}

const SIM: &str = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: t}\nspec: {duration: 60s, warmup: 0s, seed: 7}\n";

fn dep(spec: &Scenario, key: &str) -> usize {
    spec.deployments
        .iter()
        .position(|d| d.key() == key)
        .unwrap()
}

fn load<'m>(spec: &Scenario, m: &'m Merged, name: &str) -> &'m Recorder {
    &m.loads[spec.loads.iter().position(|l| l.name == name).unwrap()].pooled
}

/// The recorder of rule `rule` (`default` = no rule matched) of workload `key`.
fn rule<'m>(spec: &Scenario, m: &'m Merged, key: &str, rule: &str) -> &'m Recorder {
    let d = dep(spec, key);
    let ix = if rule == "default" {
        0
    } else {
        1 + spec.deployments[d]
            .behaviour
            .endpoints
            .iter()
            .position(|e| e.name == rule)
            .unwrap_or_else(|| panic!("no rule {rule}"))
    };
    &m.endpoints[d][ix].pooled
}

#[track_caller]
fn all_exactly(r: &Recorder, ns: u64) {
    assert!(r.count > 0, "nothing recorded");
    assert_eq!(r.sum_ns, r.count as u128 * ns as u128, "mean ≠ {ns} ns");
    assert_eq!(r.hist.max(), r.hist.highest_equivalent(ns));
}

const PRODUCTPAGE: &str = "  workers: 8
  script: [{compute: {constant: 1ms}}]
  endpoints:
  - name: page
    match: {method: GET, path: /productpage}
    script:
    - compute: {constant: 10ms}
    - call: {host: details, path: /details/0}
    - call: {host: reviews, path: /reviews/0}
  - match: {prefix: /api/}
    serviceTime: {constant: 5ms}";

fn bookinfo_like(extra_loads: &str) -> String {
    [
        app("details", "  serviceTime: {constant: 100ms}"),
        app("reviews", "  serviceTime: {constant: 200ms}"),
        app("productpage", PRODUCTPAGE),
        closed("page", "http://productpage:8080/productpage?u=normal"),
        closed("api", "http://productpage:8080/api/v1/products"),
        closed("other", "http://productpage:8080/static/x.css"),
        extra_loads.to_string(),
        SIM.to_string(),
    ]
    .concat()
}

#[test]
fn each_rule_runs_its_own_script_and_is_reported_under_its_name() {
    let spec = common::load_ok(&bookinfo_like(""));
    let m = common::run(&spec);
    // /productpage: 10 + 100 + 200 = 310 ms (the query string is ignored).
    all_exactly(load(&spec, &m, "page"), 310 * MS);
    all_exactly(rule(&spec, &m, "default/productpage", "page"), 310 * MS);
    // /api/v1/products: prefix rule with a derived name, no calls: 5 ms.
    all_exactly(load(&spec, &m, "api"), 5 * MS);
    all_exactly(rule(&spec, &m, "default/productpage", "/api/*"), 5 * MS);
    // Anything else: the default script, 1 ms.
    all_exactly(rule(&spec, &m, "default/productpage", "default"), MS);
    // One closed connection each over 60 s: 60 s / latency requests.
    let page = rule(&spec, &m, "default/productpage", "page");
    assert_eq!(page.requests, 194); // ⌈60 / 0.31⌉
    assert_eq!(
        rule(&spec, &m, "default/productpage", "/api/*").requests,
        12_000
    );
    assert_eq!(
        rule(&spec, &m, "default/productpage", "default").requests,
        60_000
    );
    // The rules partition the workload's requests; only /productpage calls out.
    let d = dep(&spec, "default/productpage");
    let per_rule: u64 = m.endpoints[d].iter().map(|s| s.pooled.requests).sum();
    assert_eq!(per_rule, m.workloads[d].pooled.requests);
    assert_eq!(
        m.workloads[dep(&spec, "default/details")].pooled.requests,
        194
    );
    // summary.json: keyed by rule name, only for the Workload with rules.
    let v = common::summary_json(&spec, &m);
    let eps = &v["workloads"]["default/productpage"]["endpoints"];
    assert_eq!(eps["page"]["latency_ms"]["mean"], 310.0);
    assert_eq!(eps["/api/*"]["latency_ms"]["mean"], 5.0);
    assert_eq!(eps["default"]["requests"], 60_000);
    assert!(v["workloads"]["default/details"].get("endpoints").is_none());
    // The terminal lists each rule under the Workloads table.
    let table = meshsim::report::table::render(&spec, &m);
    assert!(table.contains("  · page "), "{table}");
}

#[test]
fn a_method_mismatch_falls_through_to_the_next_rule_or_the_default() {
    let post = "apiVersion: meshsim.dev/v1alpha1\nkind: Load\nmetadata: {name: post}\nspec: {target: \"http://productpage:8080/productpage\", method: POST, closed: {connections: 1}}\n---\n";
    let spec = common::load_ok(&bookinfo_like(post));
    let m = common::run(&spec);
    // POST /productpage matches no rule (page is GET only): the default's 1 ms.
    all_exactly(load(&spec, &m, "post"), MS);
    assert_eq!(
        rule(&spec, &m, "default/productpage", "default").requests,
        120_000
    );
}

fn hotel(frontend_extra: &str) -> String {
    [
        app("search", "  workers: 4\n  serviceTime: {constant: 100ms}"),
        app("reserve", "  workers: 4\n  serviceTime: {constant: 300ms}"),
        app("never", "  serviceTime: {constant: 1ms}"),
        app(
            "frontend",
            &format!(
                "  workers: 4
  script:
  - compute: {{constant: 2ms}}
  - choice:
    - {{weight: 3, call: {{host: search}}}}
    - {{weight: 1, steps: [{{compute: {{constant: 8ms}}}}, {{call: {{host: reserve}}}}]}}
    - {{weight: 0, call: {{host: never}}}}{frontend_extra}"
            ),
        ),
        closed("users", "http://frontend:8080/"),
        SIM.to_string(),
    ]
    .concat()
}

#[test]
fn a_choice_runs_exactly_one_branch_by_weight() {
    let spec = common::load_ok(&hotel(""));
    let m = common::run(&spec);
    let n = |k: &str| m.workloads[dep(&spec, k)].pooled.requests;
    let (fe, s, r) = (
        n("default/frontend"),
        n("default/search"),
        n("default/reserve"),
    );
    // Exactly one of search or reserve per request (no "both", no "neither"),
    // and the zero-weight branch never runs.
    assert_eq!(s + r, fe);
    assert_eq!(n("default/never"), 0);
    // Latency: 2 + 100 = 102 ms via search, 2 + 8 + 300 = 310 ms via reserve.
    let fr = &m.workloads[dep(&spec, "default/frontend")].pooled;
    let (done_s, done_r) = (
        m.workloads[dep(&spec, "default/search")].pooled.count as u128,
        m.workloads[dep(&spec, "default/reserve")].pooled.count as u128,
    );
    assert_eq!(fr.count as u128, done_s + done_r);
    assert_eq!(
        fr.sum_ns,
        done_s * 102 * MS as u128 + done_r * 310 * MS as u128
    );
    // Weight 3:1 → P(search) = 0.75; binomial 99.9 % interval.
    let p = s as f64 / fe as f64;
    let half = 3.29 * (0.75f64 * 0.25 / fe as f64).sqrt();
    assert!((p - 0.75).abs() < half, "search share {p:.4} over {fe}");
}

#[test]
fn a_choice_elsewhere_does_not_shift_this_choice_s_draws() {
    let base = common::load_ok(&hotel(""));
    // A rule nobody requests, with a choice of its own.
    let extra = "
  endpoints:
  - match: {path: /admin}
    script: [{choice: [{weight: 1, compute: {constant: 1ms}}, {weight: 1, compute: {constant: 2ms}}]}]";
    let more = common::load_ok(&hotel(extra));
    let (a, b) = (common::run(&base), common::run(&more));
    let k = dep(&base, "default/search");
    assert_eq!(
        a.workloads[k].pooled.requests,
        b.workloads[k].pooled.requests
    );
    assert_eq!(a.workloads[k].pooled.sum_ns, b.workloads[k].pooled.sum_ns);
    assert!(a.workloads[k].pooled.requests > 100);
}

/// The error lines of an invalid scenario.
fn errors(text: &str) -> Vec<String> {
    match common::load_texts(&[("bad.yaml", text)]) {
        Ok(_) => panic!("scenario should be invalid"),
        Err(LoadError::Invalid(d)) => d.errors().map(|d| d.to_string()).collect(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[test]
fn bad_rules_and_choices_are_located_errors() {
    let bad = app(
        "web",
        "  script:
  - choice: []
  - choice:
    - {weight: -1, compute: {constant: 1ms}}
  - choice:
    - {weight: 0, compute: {constant: 1ms}}
  endpoints:
  - {name: a, match: {path: /a}, serviceTime: {constant: 1ms}}
  - {name: a, match: {path: /b}, serviceTime: {constant: 1ms}}
  - {match: {prefix: /c}, serviceTime: {constant: 1ms}}
  - {match: {prefix: /c}, serviceTime: {constant: 1ms}}",
    );
    let errs = errors(&[bad, SIM.to_string()].concat());
    let want = [
        "bad.yaml:20:5: document 3 (Workload default/web): spec.script[0].choice: a choice needs at least one branch",
        "bad.yaml:22:16: document 3 (Workload default/web): spec.script[1].choice[0].weight: -1, must be ≥ 0",
        "bad.yaml:23:5: document 3 (Workload default/web): spec.script[2].choice: every branch has weight 0: at least one must be positive",
        "bad.yaml:27:12: document 3 (Workload default/web): spec.endpoints[1].name: duplicate endpoint name \"a\": spec.endpoints[0] has it already",
        "bad.yaml:29:5: document 3 (Workload default/web): spec.endpoints[3]: duplicate endpoint name \"/c*\" (derived from match; give it a name): spec.endpoints[2] has it already",
    ];
    assert_eq!(errs, want, "\n{}", errs.join("\n"));
}

fn shipped(folder: &str) -> (Scenario, Merged) {
    let p = common::root().join("scenarios/examples").join(folder);
    let spec = common::load_paths(&[&p], &Default::default());
    let m = common::run(&spec);
    (spec, m)
}

#[test]
fn bookinfo_example_reports_the_page_and_the_api_apart() {
    let (spec, m) = shipped("bookinfo-endpoints");
    let page = rule(&spec, &m, "default/productpage-v1", "page");
    let api = rule(&spec, &m, "default/productpage-v1", "products-api");
    let mean = |r: &Recorder| r.sum_ns as f64 / r.count as f64 / 1e6;
    // page: 4 + 4 ms own work, details 2 ms, reviews ≈ 6 ms (2/3 ask ratings).
    assert!((mean(page) - 16.0).abs() < 0.5, "page {:.3} ms", mean(page));
    assert!((mean(api) - 1.0).abs() < 0.05, "api {:.3} ms", mean(api));
    assert_eq!(
        rule(&spec, &m, "default/productpage-v1", "default").requests,
        0
    );
    // Only the page calls: details got exactly one call per page view.
    let details = &m.workloads[dep(&spec, "default/details-v1")].pooled;
    assert_eq!(details.requests, page.requests);
}

#[test]
fn hotel_reservation_example_takes_exactly_one_branch_per_request() {
    let (spec, m) = shipped("hotel-reservation");
    let n = |k: &str| m.workloads[dep(&spec, k)].pooled.requests;
    let fe = n("default/frontend");
    assert_eq!(n("default/search") + n("default/user"), fe);
    assert_eq!(n("default/user"), n("default/reservation"));
    assert_eq!(n("default/recommendation"), 0);
    let p = n("default/search") as f64 / fe as f64;
    let half = 3.29 * (0.9f64 * 0.1 / fe as f64).sqrt();
    assert!((p - 0.9).abs() < half, "search share {p:.4} of {fe}");
}
