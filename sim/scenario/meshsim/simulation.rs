//! `Simulation` (meshsim.dev/v1alpha1): how long to run, warm-up, seed and
//! replications. One per scenario; the command line's `--duration`, `--seed`
//! and `--replications` win over it. Its `assertions` (SLO checks, the same
//! language as `--assert`) are kept here as written, with their places; they
//! are parsed and checked against the scenario's names by `answers::check`.

use crate::engine::SimDuration;
use crate::scenario::decode::Cx;
use crate::scenario::diag::{Diagnostics, Origin};
use crate::scenario::object::Object;
use crate::scenario::raw::Loc;
use crate::scenario::spec::{AssertionSource, RunSettings};

/// Run settings given on the command line; they win over the `Simulation` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub duration: Option<SimDuration>,
    /// `meshsim validate`: manifests alone, as `istioctl validate -f` checks
    /// them; a missing run duration is not an error (a placeholder is used).
    pub manifests_only: bool,
    /// `-n/--namespace`: where objects without `metadata.namespace` go (as
    /// `kubectl apply -n`); an object naming another namespace is an error.
    pub namespace: Option<String>,
    /// `--strict`: warnings (what Istio accepts and then fails at run time)
    /// are errors; notes are not.
    pub strict: bool,
    /// `--set KIND/[NS/]NAME.FIELD=VALUE`, applied to the parsed YAML before
    /// validation (`scenario/set.rs`), in order.
    pub sets: Vec<crate::scenario::set::SetArg>,
}

/// The decoded `spec`, before overrides.
#[derive(Default)]
pub struct SimSpec {
    pub duration: Option<SimDuration>,
    pub warmup: Option<SimDuration>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    /// Where a missing duration is reported: `spec:` (or the object).
    pub loc: Loc,
    /// `spec.duration` was written (even if invalid, already reported).
    pub duration_given: bool,
    /// Where `spec.warmup` is.
    pub warmup_loc: Loc,
    /// Where `spec.replications` is (else `spec:`).
    pub replications_loc: Loc,
    /// `spec.assertions`: each text with its place.
    pub assertions: Vec<(String, Loc, String)>,
    /// `spec.externalHosts`: host outside the cluster → `name.namespace` of
    /// the Service standing in for it (and where the entry is).
    pub external_hosts: Vec<(String, String, Loc)>,
}

/// Decodes a `Simulation`; `previous` is where an earlier one was (an error).
pub fn decode(o: &Object, cx: &mut Cx, previous: Option<&Origin>) -> Option<SimSpec> {
    let spec = cx.req(&o.node, "spec");
    if let Some(prev) = previous {
        cx.error_at(
            o.node.loc(),
            "",
            format!(
                "a scenario has one Simulation; another is in {} document {}",
                prev.file, prev.document
            ),
        );
        return None;
    }
    let mut s = SimSpec {
        loc: spec.as_ref().map(|v| v.loc()).unwrap_or(o.node.loc()),
        ..Default::default()
    };
    cx.known_fields(&o.node, &["apiVersion", "kind", "metadata", "spec"]);
    if let Some(spec) = spec {
        cx.known_fields(
            &spec,
            &[
                "duration",
                "warmup",
                "seed",
                "replications",
                "mesh",
                "assertions",
                "lifecycle",
                "events",
                "externalHosts",
            ],
        );
        if let Some(list) = spec.get("assertions").and_then(|v| cx.seq(&v)) {
            for item in list {
                if let Some(text) = cx.str(&item) {
                    s.assertions
                        .push((text.to_string(), item.loc(), item.path.clone()));
                }
            }
        }
        if let Some(m) = spec.get("externalHosts")
            && let Some(map) = cx.string_map(&m)
        {
            let at = m.loc();
            s.external_hosts = map
                .into_iter()
                .map(|(h, svc)| (h.to_ascii_lowercase(), svc, at))
                .collect();
        }
        s.duration_given = spec.has("duration");
        s.duration = spec.get("duration").and_then(|v| cx.positive_duration(&v));
        s.warmup = spec.get("warmup").and_then(|v| cx.duration(&v));
        s.warmup_loc = spec.get("warmup").map(|v| v.loc()).unwrap_or(s.loc);
        s.replications_loc = spec.get("replications").map(|v| v.loc()).unwrap_or(s.loc);
        s.seed = spec.get("seed").and_then(|v| cx.u64(&v));
        s.replications = spec
            .get("replications")
            .and_then(|v| cx.int_in(&v, 1, 100_000))
            .map(|x| x as u32);
    }
    Some(s)
}

/// The run settings: the `Simulation` object's, with command-line overrides
/// winning. None when they are invalid or missing (reported).
pub fn run_settings(
    sim: &SimSpec,
    sim_origin: Option<&Origin>,
    ov: &Overrides,
    diags: &mut Diagnostics,
) -> Option<RunSettings> {
    let duration = ov.duration.or(sim.duration).or_else(|| {
        let after_warmup = sim.warmup.unwrap_or(SimDuration::ZERO) + SimDuration::from_secs(1);
        (ov.manifests_only && !sim.duration_given).then_some(after_warmup)
    });
    match duration {
        Some(duration) => {
            let warmup = sim.warmup.unwrap_or(SimDuration::ZERO);
            if warmup >= duration
                && let Some(o) = sim_origin
            {
                let from = if ov.duration.is_some() {
                    " (--duration)"
                } else {
                    ""
                };
                Cx::new(o.clone(), diags).error_at(
                    sim.warmup_loc,
                    "spec.warmup",
                    format!("{warmup}, must be shorter than duration {duration}{from}"),
                );
            }
            Some(RunSettings {
                duration,
                warmup,
                seed: ov.seed.or(sim.seed).unwrap_or(1),
                replications: ov.replications.or(sim.replications).unwrap_or(1),
                assertions: sim
                    .assertions
                    .iter()
                    .map(|(text, loc, path)| AssertionSource {
                        text: text.clone(),
                        origin: sim_origin.cloned().unwrap_or_default(),
                        loc: *loc,
                        path: path.clone(),
                    })
                    .collect(),
            })
        }
        None if sim.duration_given => None, // invalid, already reported
        None => {
            let origin = sim_origin.cloned().unwrap_or(Origin {
                file: "(scenario)".into(),
                document: 0,
                object: None,
            });
            Cx::new(origin, diags).error_at(
                sim.loc,
                "spec.duration",
                "missing required field: give a Simulation object with spec.duration, or --duration",
            );
            None
        }
    }
}
