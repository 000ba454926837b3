//! Endpoint rules and `choice` steps at run time.
//!
//! Why here and not in the script: which rule a request runs is decided by
//! the request line the *server* sees — after a VirtualService's rewrite or
//! ingress-nginx's `rewrite-target` — so the pod picks its entry pc on
//! arrival. Without a mesh each request carries an interned (method, path)
//! line in `attrs`; with one, the interned Envoy attributes already hold it. A
//! deployment's decision per line is cached, so a rule table is walked once
//! per distinct request line. Nothing here runs unless some Workload has
//! rules (`active`) or a `choice` step.
//!
//! Each `choice` step of each pod draws from its own stream, keyed by the
//! pod and the step's label (`<script>#<k>`), so adding a choice or a branch
//! elsewhere changes no other draw.

use super::{DeploymentRt, World};
use crate::engine::rng::{Purpose, RngFactory, SimRng};
use crate::metrics::Recorder;
use crate::scenario::Scenario;
use crate::scenario::spec::endpoint::select;
use crate::workload::load::NONE;
use std::collections::BTreeMap;

pub(super) struct EndpointRt {
    /// Some Workload has endpoint rules: requests carry lines.
    pub(super) active: bool,
    lines: Vec<(String, String)>,
    line_ix: BTreeMap<(String, String), u32>,
    /// Per load, per request-mix entry (one entry without a mix): its line.
    load_lines: Vec<Vec<u32>>,
    /// Per load entering through an Ingress: the line after `rewrite-target`.
    ingress_lines: Vec<u32>,
    /// Per deployment, per call of its program: the call's line.
    call_lines: Vec<Vec<u32>>,
    /// Per deployment: line (or mesh attributes) → rule index + 1 (0 = not yet known).
    cache: Vec<Vec<u16>>,
    /// Per pod, per choice of its deployment's program.
    choice_rng: Vec<Vec<SimRng>>,
    /// Per deployment with rules: one recorder per rule, `[0]` = default.
    pub(super) rec: Vec<Vec<Recorder>>,
}

impl EndpointRt {
    pub(super) fn new(spec: &Scenario, deps: &[DeploymentRt], f: &RngFactory) -> EndpointRt {
        let active = spec
            .deployments
            .iter()
            .any(|d| !d.behaviour.endpoints.is_empty());
        let mut ep = EndpointRt {
            active,
            lines: vec![("GET".into(), "/".into())],
            line_ix: BTreeMap::new(),
            load_lines: Vec::new(),
            ingress_lines: Vec::new(),
            call_lines: Vec::new(),
            cache: vec![Vec::new(); deps.len()],
            choice_rng: Vec::new(),
            rec: Vec::new(),
        };
        if active {
            for l in &spec.loads {
                let mut v = vec![ep.intern(&l.method, &l.path)];
                if !l.requests.is_empty() {
                    v = l
                        .requests
                        .iter()
                        .map(|r| ep.intern(&r.method, &r.path))
                        .collect();
                }
                ep.load_lines.push(v);
                let fwd = l.entry.ingress.as_ref().map(|h| h.forwarded_path.as_str());
                let il = ep.intern(&l.method, fwd.unwrap_or(&l.path));
                ep.ingress_lines.push(il);
            }
            for d in deps {
                let v = d
                    .program
                    .calls
                    .iter()
                    .map(|c| ep.intern(&c.method, &c.path))
                    .collect();
                ep.call_lines.push(v);
            }
            ep.rec = spec
                .deployments
                .iter()
                .map(|d| match d.behaviour.endpoints.len() {
                    0 => Vec::new(),
                    n => vec![Recorder::default(); n + 1],
                })
                .collect();
        }
        if deps.iter().any(|d| !d.program.choices.is_empty()) {
            for (d, rt) in spec.deployments.iter().zip(deps) {
                for r in 0..d.replicas {
                    let pod = format!("{}/{}/{r}", d.namespace, d.name);
                    let rngs = rt
                        .program
                        .choices
                        .iter()
                        .map(|c| f.of(Purpose::Choice, &format!("{pod}/{}", c.label)))
                        .collect();
                    ep.choice_rng.push(rngs);
                }
            }
        }
        ep
    }

    fn intern(&mut self, method: &str, path: &str) -> u32 {
        let key = (method.to_string(), path.to_string());
        if let Some(&i) = self.line_ix.get(&key) {
            return i;
        }
        let i = self.lines.len() as u32;
        self.lines.push(key.clone());
        self.line_ix.insert(key, i);
        i
    }

    /// The line of load `li`'s request-mix entry `variant` (0 when inactive).
    #[inline]
    pub(super) fn load_line(&self, li: usize, variant: usize) -> u32 {
        self.load_lines
            .get(li)
            .map_or(0, |v| v[variant.min(v.len() - 1)])
    }

    #[inline]
    pub(super) fn ingress_line(&self, li: usize) -> u32 {
        self.ingress_lines.get(li).copied().unwrap_or(0)
    }

    #[inline]
    pub(super) fn call_line(&self, dep: usize, ci: u32) -> u32 {
        self.call_lines.get(dep).map_or(0, |v| v[ci as usize])
    }
}

impl World<'_> {
    /// Request `r` arrives at a pod of `dep`: the entry pc of the script it
    /// runs (0 = the default script unless the Workload has rules), counting
    /// it for its rule.
    #[inline]
    pub(super) fn endpoint_entry(&mut self, r: u32, dep: usize, counted: bool) -> u32 {
        if self.deps[dep].program.entries.len() < 2 {
            return 0;
        }
        self.endpoint_rule(r, dep, counted)
    }

    /// [`Self::endpoint_entry`] for a deployment with rules (out of line:
    /// the hot path of one without pays a length check only).
    #[inline(never)]
    fn endpoint_rule(&mut self, r: u32, dep: usize, counted: bool) -> u32 {
        let (key, traced) = {
            // Mesh attributes or, without a mesh, the interned line: one field.
            let q = &self.requests.items[r as usize];
            (q.attrs as usize, q.traced)
        };
        let cache = &mut self.ep.cache[dep];
        if cache.len() <= key {
            cache.resize(key + 1, 0);
        }
        if cache[key] == 0 {
            let (method, path) = match &self.mesh {
                Some(m) => {
                    let a = &m.attrs[key];
                    (a.method.to_string(), a.path_and_query.to_string())
                }
                None => self.ep.lines[key].clone(),
            };
            let rules = &self.spec.deployments[dep].behaviour.endpoints;
            self.ep.cache[dep][key] = select(rules, &method, &path) as u16 + 1;
        }
        let ix = self.ep.cache[dep][key] - 1;
        self.requests.items[r as usize].endpoint = ix;
        if counted {
            self.ep.rec[dep][ix as usize].requests += 1;
        }
        if traced {
            let name = match ix {
                0 => "default (no rule matched)".to_string(),
                i => format!(
                    "{:?}",
                    self.spec.deployments[dep].behaviour.endpoints[i as usize - 1].name
                ),
            };
            self.trace_log(r, format!("endpoint rule {name}"));
        }
        self.deps[dep].program.entries[ix as usize]
    }

    /// Server-side latency of a request whose deployment has rules.
    #[inline]
    pub(super) fn record_endpoint(&mut self, dep: usize, ix: u16, b: usize, lat: u64, status: u16) {
        if let Some(rec) = self
            .ep
            .rec
            .get_mut(dep)
            .and_then(|v| v.get_mut(ix as usize))
        {
            rec.record(b, lat, status);
        }
    }

    /// A `choice` step of execution `e`: the first pc of the drawn branch.
    pub(super) fn choose(&mut self, e: u32, dep: usize, ci: u32) -> u32 {
        use rand::Rng;
        let ex = self.execs.items[e as usize];
        let c = &self.deps[dep].program.choices[ci as usize];
        let k = c.pick(self.ep.choice_rng[ex.pod as usize][ci as usize].next_u64());
        let pc = c.branches[k];
        if ex.traced {
            let n = c.branches.len();
            let msg = format!("{} chooses branch {} of {n}", self.pod_name(ex.pod), k + 1);
            self.trace_log(ex.req, msg);
        }
        pc
    }

    /// Requests still at the server at the end, per rule (accounting).
    pub(super) fn endpoints_in_flight(&self) -> Vec<Vec<u64>> {
        let mut v: Vec<Vec<u64>> = self.ep.rec.iter().map(|r| vec![0; r.len()]).collect();
        for r in self
            .requests
            .items
            .iter()
            .filter(|r| r.live && r.at_server && r.counted_server)
        {
            if r.pod == NONE {
                continue;
            }
            let d = self.pods[r.pod as usize].deployment as usize;
            if let Some(x) = v.get_mut(d).and_then(|x| x.get_mut(r.endpoint as usize)) {
                *x += 1;
            }
        }
        v
    }
}
