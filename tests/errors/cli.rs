//! What the command line's overrides cause: checked against the scenario
//! (warm-up vs --duration) and attributed to the flag, not to a file.

use super::*;

/// Overrides are checked against the scenario too (warm-up vs --duration).
#[test]
fn warmup_against_duration_override() {
    let sim = "apiVersion: meshsim.dev/v1alpha1\nkind: Simulation\nmetadata: {name: sim}\nspec:\n  duration: 1m\n  warmup: 20s\n";
    let src = [SourceFile {
        path: "sim.yaml".into(),
        text: sim.into(),
    }];
    let ov = Overrides {
        duration: Some(meshsim::engine::SimDuration::from_secs(10)),
        ..Default::default()
    };
    let Err(LoadError::Invalid(d)) = scenario::from_sources("t".into(), &src, &ov) else {
        panic!("should be invalid")
    };
    assert_eq!(
        d.items[0].to_string(),
        "sim.yaml:6:11: document 1 (Simulation sim): spec.warmup: 20s, must be shorter than duration 10s (--duration)"
    );
}

/// A limit that --replications breaks is the flag's, not the file's.
#[test]
fn a_flag_caused_error_is_attributed_to_the_flag() {
    let web = common::server_yaml("web", 1, 1, "{constant: 1ms}");
    let sources: Vec<meshsim::scenario::SourceFile> = [("sim.yaml", SIM), ("web.yaml", &web)]
        .iter()
        .map(|(p, t)| meshsim::scenario::SourceFile {
            path: p.to_string(),
            text: t.to_string(),
        })
        .collect();
    let ov = meshsim::scenario::Overrides {
        replications: Some(1_000_000),
        ..Default::default()
    };
    let Err(LoadError::Invalid(d)) = meshsim::scenario::from_sources("t".into(), &sources, &ov)
    else {
        panic!("invalid")
    };
    let errs: Vec<String> = d.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        errs,
        [
            "(scenario): --replications: 1,000,000 replications × 2 loads, Services and Deployments = 2,000,000 latency histograms, above meshsim's limit of 200,000 (a run that checks each replication keeps all of them): run at most 100,000 replications"
        ]
    );
}
