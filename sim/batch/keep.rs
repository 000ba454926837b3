//! What a run keeps of each replication beyond the pooled figures, declared
//! up front by the readers that need it.
//!
//! Why declared: the merge drops each replication's [`Outcome`] once it is
//! folded in (memory flat in replications, `merge.rs`). Readers of
//! per-replication results — assertions' intervals and each replication's
//! own verdict, `--percentile-ci`, a sweep point's p99 interval — used to
//! read every kept outcome, and the binary decided by a special case
//! (`drop_outcomes`) whether to keep them; a new reader that was not added
//! to that case silently got replication 0 alone (one bug already). Now a
//! reader registers a [`Reducer`] — a function of one replication's outcome
//! to a few numbers — in the run's [`Keep`]; the merge applies it to every
//! replication (in the worker that ran it) and keeps its values in index
//! order. The reader fetches them with [`Merged::per_replication`] and the
//! *same* reducer: if it was not registered and the outcomes are gone,
//! that is a loud panic naming the reducer, never a silent wrong interval.

use super::Merged;
use crate::scenario::Scenario;
use crate::world::Outcome;
use std::borrow::Cow;
use std::sync::Arc;

/// One replication's values (None: no value, e.g. no finished request).
pub type Values = Vec<Option<f64>>;

/// A function of one replication's outcome to its values, and the key that
/// names it (everything the function depends on: what it measures, which
/// quantiles, which assertions), so registering and reading meet.
#[derive(Clone)]
pub struct Reducer<'a> {
    key: String,
    f: Arc<dyn Fn(&Outcome) -> Values + Send + Sync + 'a>,
}

impl<'a> Reducer<'a> {
    pub fn new(key: String, f: impl Fn(&Outcome) -> Values + Send + Sync + 'a) -> Self {
        Reducer {
            key,
            f: Arc::new(f),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn apply(&self, o: &Outcome) -> Values {
        (self.f)(o)
    }
}

impl std::fmt::Debug for Reducer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reducer({})", self.key)
    }
}

/// What the merge keeps of each replication: replication 0's outcome
/// always (the reports' one-cluster views), every outcome when
/// `outcomes`, and the values of every registered reducer.
#[derive(Clone, Debug)]
pub struct Keep<'a> {
    /// Every replication's whole outcome in [`Merged::outcomes`] (tests,
    /// `meshsim diff`'s paired figures). Memory grows with replications.
    pub outcomes: bool,
    pub reducers: Vec<Reducer<'a>>,
}

impl<'a> Keep<'a> {
    /// Replication 0's outcome and nothing else per replication.
    pub fn first() -> Self {
        Keep {
            outcomes: false,
            reducers: Vec::new(),
        }
    }

    /// Every outcome (the library's default: tests read them).
    pub fn all() -> Self {
        Keep {
            outcomes: true,
            reducers: Vec::new(),
        }
    }

    /// `r` registered too (once: a second reducer with its key is the same).
    pub fn with(mut self, r: Reducer<'a>) -> Self {
        if !self.reducers.iter().any(|x| x.key == r.key) {
            self.reducers.push(r);
        }
        self
    }

    /// Every reducer applied to `o`, in registration order.
    pub fn reduce(&self, o: &Outcome) -> Vec<Values> {
        self.reducers.iter().map(|r| r.apply(o)).collect()
    }
}

/// Registered reducers' values: (key, per replication in index order).
pub type Kept = Vec<(String, Vec<Values>)>;

impl Merged {
    /// `r`'s values of every merged replication, in index order: as kept by
    /// the merge when `r` was registered, else computed from the outcomes
    /// when every one was kept.
    ///
    /// # Panics
    /// When `r` was not registered in the run's [`Keep`] and the outcomes
    /// were dropped: a reader forgot to declare what it reads.
    pub fn per_replication(&self, r: &Reducer) -> Cow<'_, [Values]> {
        if let Some((_, v)) = self.kept.iter().find(|(k, _)| *k == r.key) {
            return Cow::Borrowed(v);
        }
        assert!(
            self.outcomes.len() == self.replications as usize,
            "per-replication values {:?} were not kept: register the reducer in the run's batch::Keep",
            r.key
        );
        Cow::Owned(self.outcomes.iter().map(|o| r.apply(o)).collect())
    }
}

/// Which streams [`Quantiles`] covers, in its value layout's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Loads,
    Services,
    Workloads,
}

/// Each replication's latency (ms) at a few quantiles, for every load,
/// Service and workload (None where the replication finished no request):
/// what percentile intervals are made of (`report::percentile_ci`, a sweep
/// point's p99 interval).
#[derive(Clone, Debug)]
pub struct Quantiles {
    qs: Vec<f64>,
    loads: usize,
    services: usize,
}

impl Quantiles {
    pub fn new(spec: &Scenario, qs: &[f64]) -> Self {
        Quantiles {
            qs: qs.to_vec(),
            loads: spec.loads.len(),
            services: spec.services.len(),
        }
    }

    pub fn reducer(&self) -> Reducer<'static> {
        let qs = self.qs.clone();
        Reducer::new(format!("latency quantiles {qs:?}"), move |o| {
            o.loads
                .iter()
                .chain(&o.services)
                .chain(&o.workloads)
                .flat_map(|r| {
                    qs.iter().map(move |&q| {
                        (r.count > 0).then(|| r.hist.value_at_quantile(q) as f64 / 1e6)
                    })
                })
                .collect()
        })
    }

    /// Stream `i` of `section` at quantile `q` (one of `qs`), per
    /// replication, from `values` (what the reducer gave).
    pub fn column(&self, values: &[Values], section: Section, i: usize, q: f64) -> Values {
        let base = match section {
            Section::Loads => 0,
            Section::Services => self.loads,
            Section::Workloads => self.loads + self.services,
        };
        let k = self
            .qs
            .iter()
            .position(|x| *x == q)
            .expect("a quantile the reducer was built with");
        let at = (base + i) * self.qs.len() + k;
        values
            .iter()
            .map(|v| v.get(at).copied().flatten())
            .collect()
    }
}
