//! See tests/main.rs for what this module covers.
//!
//! istio.io's old traffic-management concepts page
//! (`../shared/corpus/istio.io-docs/concepts-traffic-management/`), each
//! example loaded unchanged next to Bookinfo. Its EXPECTATIONS.md lists where
//! that Pilot-era text is wrong for today's Istio; these tests pin what 1.28
//! does instead, so the page's claims are never encoded as meshsim's truth:
//! * 04 binds `hosts: ["*"]` to the mesh (no `gateways`): istiod rejects it
//!   (`validateVirtualService`, pkg/config/validation/validation.go @1.28:
//!   "wildcard host * is not allowed for virtual services bound to the mesh
//!   gateway"); the page shows it as valid.
//! * 08 is a fragment without `http`/`tcp`/`tls`: rejected ("http, tcp or tls
//!   must be provided in virtual service").
//! * 12's `timeout: 10s` is the route timeout, and a route without one has
//!   none (the page says 15 s by default).
//! * 15's `percentage: {value: 0.1}` is 0.1 % (1,000 per million), not 10 %.
//! * 14 redefines DestinationRule `reviews`, which Istio's
//!   `destination-rule-all.yaml` also names: one object twice in one set is
//!   an error, as for every kind (kubectl would replace the first).

use crate::common;
use meshsim::engine::SimDuration;
use meshsim::scenario::spec::istio::{HttpRoute, Ppm};
use meshsim::scenario::{self, LoadError, Overrides, Scenario, SourceFile};

fn page(file: &str) -> (String, String) {
    let p = common::shared()
        .join("corpus/istio.io-docs/concepts-traffic-management")
        .join(file);
    (file.to_string(), std::fs::read_to_string(&p).unwrap())
}

fn bookinfo(rel: &str) -> (String, String) {
    let p = common::shared()
        .join("corpus/istio/samples/bookinfo")
        .join(rel);
    (rel.to_string(), std::fs::read_to_string(&p).unwrap())
}

/// `file` with Bookinfo's workloads and, when `with_subsets`, its subsets.
fn load(file: &str, with_subsets: bool) -> Result<Scenario, LoadError> {
    let mut files = vec![page(file), bookinfo("platform/kube/bookinfo.yaml")];
    if with_subsets {
        files.push(bookinfo("networking/destination-rule-all.yaml"));
    }
    let src: Vec<SourceFile> = files
        .into_iter()
        .map(|(path, text)| SourceFile { path, text })
        .collect();
    let ov = Overrides {
        duration: Some(SimDuration::from_secs(10)),
        ..Default::default()
    };
    scenario::from_sources("concepts".into(), &src, &ov)
}

fn files() -> Vec<String> {
    let dir = common::shared().join("corpus/istio.io-docs/concepts-traffic-management");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    v.sort();
    v
}

/// Exactly 04, 08 and 14 are refused, each for the reason 1.28 gives.
#[test]
fn each_example_is_accepted_or_refused_as_istio_1_28_does() {
    let all = files();
    assert_eq!(all.len(), 17, "{all:?}");
    let refused = [
        (
            "04-vs-cookie-regex-match.yaml",
            "spec.hosts[0]: wildcard host * is not allowed for virtual services bound to the mesh gateway",
        ),
        (
            "08-vs-bound-to-gateway-no-routes.yaml",
            "spec: http, tcp or tls must be provided in virtual service",
        ),
        (
            "14-dr-reviews-subset-connection-limit.yaml",
            "duplicate DestinationRule \"reviews\"",
        ),
    ];
    for f in &all {
        let r = load(f, true);
        match refused.iter().find(|(name, _)| name == f) {
            Some((_, why)) => {
                let e = r.err().unwrap_or_else(|| panic!("{f} should be refused"));
                let text = e.to_string();
                assert!(text.contains(why), "{f}: {text}");
                assert!(
                    text.contains(f.as_str()),
                    "{f}: the error names its file: {text}"
                );
            }
            None => {
                if let Err(e) = r {
                    panic!("{f} should load:\n{e}");
                }
            }
        }
    }
    // 14 alone (its own reviews subsets instead of Istio's file) is valid.
    load("14-dr-reviews-subset-connection-limit.yaml", false).unwrap();
}

fn only_route(s: &Scenario, vs: &str) -> HttpRoute {
    let v = s
        .istio
        .virtual_services
        .iter()
        .find(|v| v.meta.name == vs)
        .unwrap();
    assert_eq!(v.http.len(), 1);
    v.http[0].clone()
}

/// The page's wrong claims, read the 1.28 way: no default route timeout,
/// `percentage.value` in percent, retries as written.
#[test]
fn the_pages_inaccuracies_are_not_encoded() {
    let s = load("12-vs-ratings-timeout-10s.yaml", true).unwrap();
    assert_eq!(
        only_route(&s, "ratings").timeout,
        Some(SimDuration::from_secs(10))
    );
    let s = load("01-vs-reviews-weighted-75-25.yaml", true).unwrap();
    assert_eq!(only_route(&s, "reviews").timeout, None);

    let s = load("15-vs-ratings-fault-delay.yaml", true).unwrap();
    let delay = only_route(&s, "ratings").fault.unwrap().delay.unwrap();
    assert_eq!(delay.fixed_delay, SimDuration::from_secs(5));
    assert_eq!(delay.percentage, Ppm(1_000), "0.1 means 0.1 %");

    let s = load("13-vs-ratings-retries.yaml", true).unwrap();
    let retries = only_route(&s, "ratings").retries.unwrap();
    assert_eq!(retries.attempts, 3);
    assert_eq!(retries.per_try_timeout, Some(SimDuration::from_secs(2)));
    assert!(
        retries.retry_on.is_empty(),
        "no retryOn written: Istio's default tokens apply, so a per-try timeout is not retried"
    );
}
