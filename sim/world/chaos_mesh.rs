//! Chaos Mesh experiments applied to running pods: which pods an
//! experiment acts on (its selector, then its `mode`, as chaos-mesh's
//! `FilterObjectsByMode` in mode.go), what each action does when it starts
//! and ends (`pod-kill`, `pod-failure`, `container-kill`, NetworkChaos
//! `delay` and `partition`), from the experiment schedule that
//! `pod_lifecycle.rs` runs.
//!
//! Why a room of its own: the experiments are one of several things that
//! change pods (the kubelet's probes, timed events, the HPA), and each
//! keeps to its own file; the pod state they share is `pod_lifecycle.rs`'s.

use super::World;
use super::life_step::{Part, Step};
use super::pod_lifecycle::NetDelay;
use crate::engine::SimDuration;
use crate::engine::rng::below;
use crate::scenario::spec::chaos::{ChaosKind, Container, Mode};

impl World<'_> {
    /// The pods experiment `a` acts on: its selector's running pods, then
    /// its mode (`FilterObjectsByMode`, mode.go), drawn from its own stream.
    pub(super) fn choose_pods(&mut self, a: usize) -> Vec<u32> {
        let act = &self.spec.chaos.actions[a];
        let l = self.life.as_mut().expect("lifecycle");
        let cands: Vec<u32> = (0..l.pods.len() as u32)
            .filter(|&p| !l.pods[p as usize].exempt && !l.pods[p as usize].absent)
            .filter(|&p| {
                act.deployments
                    .contains(&(self.dep_of[p as usize] as usize))
            })
            .filter(|&p| {
                act.pods.as_ref().is_none_or(|list| {
                    let pd = &self.pods[p as usize];
                    list.contains(&(pd.deployment as usize, pd.replica))
                })
            })
            .collect();
        let n = cands.len() as u64;
        if n == 0 {
            return Vec::new();
        }
        let rng = &mut l.mode_rng[a];
        let ceil_pct = |p: u64| (n * p).div_ceil(100);
        let k = match act.mode {
            Mode::One => 1,
            Mode::All => n,
            Mode::Fixed(k) => u64::from(k).min(n),
            Mode::FixedPercent(p) => ceil_pct(u64::from(p)),
            Mode::RandomMaxPercent(p) => {
                let p = below(rng, u64::from(p) + 1);
                ceil_pct(p)
            }
        };
        // Distinct random indexes (partial Fisher–Yates; all when k ≥ n).
        let mut idx: Vec<u32> = cands;
        if k < n {
            for i in 0..k as usize {
                let j = i + below(rng, n - i as u64) as usize;
                idx.swap(i, j);
            }
            idx.truncate(k as usize);
        }
        idx.sort_unstable();
        idx
    }

    pub(super) fn chaos_start(&mut self, a: u32) {
        let act = &self.spec.chaos.actions[a as usize];
        let (name, kind, duration) = (act.name.clone(), act.kind, act.duration);
        let chosen = self.choose_pods(a as usize);
        for &p in &chosen {
            self.pod_event(p, "chaos-start", name.clone());
            match kind {
                ChaosKind::PodKill => self.pod_kill(p),
                ChaosKind::PodFailure => self.pod_failure(p),
                ChaosKind::ContainerKill(c) => self.container_kill(p, c),
                ChaosKind::Delay {
                    latency,
                    jitter,
                    correlation,
                } => {
                    let l = self.life.as_mut().expect("lifecycle");
                    l.pods[p as usize].delay = Some(NetDelay {
                        latency,
                        jitter,
                        rho: correlation / 100.0,
                        last: 0.5,
                    });
                    let msg = format!("egress +{latency} (jitter {jitter})");
                    self.pod_event(p, "delayed", msg);
                }
                ChaosKind::Partition => {}
            }
        }
        if kind == ChaosKind::Partition {
            self.partition_start(a, &chosen);
        }
        self.life.as_mut().expect("lifecycle").chosen[a as usize] = chosen;
        // One-shot actions end with their action; the others when their
        // duration is over (or with the run).
        let lasting = matches!(
            kind,
            ChaosKind::PodFailure | ChaosKind::Delay { .. } | ChaosKind::Partition
        );
        if let (true, Some(d)) = (lasting, duration) {
            let at = self.now() + d;
            if at < self.end {
                self.schedule_step(at, Step::ChaosEnd(a));
            }
        }
    }

    pub(super) fn chaos_end(&mut self, a: u32) {
        let act = &self.spec.chaos.actions[a as usize];
        let (name, kind) = (act.name.clone(), act.kind);
        let chosen = std::mem::take(&mut self.life.as_mut().expect("lifecycle").chosen[a as usize]);
        for p in chosen {
            self.pod_event(p, "chaos-end", name.clone());
            match kind {
                ChaosKind::PodFailure => {
                    let l = self.life.as_mut().expect("lifecycle");
                    let pl = &mut l.pods[p as usize];
                    if !pl.failing {
                        continue; // deleted meanwhile: the replacement is not paused
                    }
                    pl.failing = false;
                    pl.epoch += 1;
                    // The original images come back: the containers restart.
                    self.set_ready(p, false, "containers restart with their own images");
                    self.restart_later(p, Part::Pod, SimDuration::ZERO);
                }
                ChaosKind::Delay { .. } => {
                    self.life.as_mut().expect("lifecycle").pods[p as usize].delay = None;
                    self.pod_event(p, "undelayed", String::new());
                }
                _ => {}
            }
        }
        if kind == ChaosKind::Partition {
            self.partition_end(a);
        }
    }

    /// `pod-kill`: the pod is deleted; the Deployment creates a replacement.
    fn pod_kill(&mut self, p: u32) {
        self.pod_event(p, "died", "deleted (pod-kill)".into());
        self.life.as_mut().expect("lifecycle").retire(p);
        self.reset_pod(p, 0, "pod deleted");
        self.set_ready(p, false, "pod deleted");
        let dep = self.dep_of[p as usize] as usize;
        let l = self.life.as_mut().expect("lifecycle");
        let name = format!("{}-{}", self.spec.deployments[dep].name, l.next_name[dep]);
        l.next_name[dep] += 1;
        let old = std::mem::replace(&mut l.pods[p as usize].name, name);
        let now = self.now();
        let pl = &mut self.life.as_mut().expect("lifecycle").pods[p as usize];
        (pl.created, pl.running) = (Some(now), None);
        self.pod_event(p, "created", format!("replaces {old}"));
        self.restart_later(p, Part::Pod, SimDuration::ZERO);
    }

    /// `pod-failure`: every container runs the pause image until the
    /// experiment ends (podfailure/impl.go): nothing listens.
    fn pod_failure(&mut self, p: u32) {
        self.pod_event(
            p,
            "died",
            "containers replaced by pause (pod-failure)".into(),
        );
        let l = self.life.as_mut().expect("lifecycle");
        let pl = &mut l.pods[p as usize];
        pl.epoch += 1;
        pl.app_up = false;
        pl.sidecar_up = false;
        pl.failing = true;
        self.reset_pod(p, 0, "containers replaced by pause (pod-failure)");
        self.set_ready(p, false, "containers restarting (pause image)");
        self.restart_later(p, Part::Pod, SimDuration::ZERO);
    }

    /// `container-kill`: the container dies; the kubelet restarts it in
    /// the same pod after its back-off.
    fn container_kill(&mut self, p: u32, c: Container) {
        let l = self.life.as_mut().expect("lifecycle");
        if l.pods[p as usize].failing {
            return; // a paused pod's pause container: nothing to kill
        }
        let what = match c {
            Container::App => "app container killed (container-kill)",
            Container::Sidecar => "istio-proxy killed (container-kill)",
        };
        self.container_died(p, c, what.into());
    }
}
