//! Outlier detection at run time: each client proxy's detector per cluster
//! (`proxy::outlier::Detector`, in the balancer's [`super::mesh::LbState`])
//! hears every attempt (`router.rs`), ejects hosts from that proxy's
//! balancer, and returns them at its interval sweeps.
//!
//! Why per proxy: Envoy keeps this state per cluster per Envoy, so one
//! client can stop sending to a host another client still uses (reference
//! §5). The sweep is an event per detector every `interval` from its
//! creation (Envoy arms the interval timer when the cluster is built); the
//! ejection windows are kept for the failure-propagation report.

use super::{Event, World};
use crate::proxy::outlier::OutlierEvent;

impl World<'_> {
    /// Schedules the first sweep of balancer `lb`'s detector (once).
    pub(super) fn arm_outlier(&mut self, lb: u32) {
        let Some(m) = &mut self.mesh else { return };
        let st = &mut m.lb_states[lb as usize];
        if st.armed {
            return;
        }
        st.armed = true;
        if let Some(d) = &st.detector {
            let at = d.next_sweep();
            self.q.schedule(at, Event::OutlierSweep { lb });
        }
    }

    /// The interval timer of balancer `lb`'s detector fired.
    pub(super) fn on_outlier_sweep(&mut self, lb: u32) {
        let now = self.now();
        let Some(m) = &mut self.mesh else { return };
        let st = &mut m.lb_states[lb as usize];
        let client = st.client;
        let Some(det) = &mut st.detector else { return };
        let events = det.sweep(now, &mut m.lb_rng[client as usize]);
        let next = det.next_sweep();
        self.q.schedule(next, Event::OutlierSweep { lb });
        for e in events {
            self.apply_outlier(lb, e);
        }
    }

    /// Records an ejection or return of a host of balancer `lb` and
    /// refreshes that balancer's candidate hosts (balancers cache them
    /// between refreshes, as Envoy's do between priority-set updates).
    pub(super) fn apply_outlier(&mut self, lb: u32, e: OutlierEvent) {
        let now = self.now();
        let Some(m) = &mut self.mesh else { return };
        let st = &mut m.lb_states[lb as usize];
        let (client, cluster) = (st.client, st.cluster);
        match e {
            OutlierEvent::Ejected { host, .. } => {
                st.ejected_since[host] = Some(now);
                st.refresh_lb();
                let pod = st.pods[host];
                m.ejections.push((client, cluster, pod, now, None));
            }
            OutlierEvent::Unejected { host } => {
                st.ejected_since[host] = None;
                st.refresh_lb();
                let pod = st.pods[host];
                if let Some(w) = m
                    .ejections
                    .iter_mut()
                    .rev()
                    .find(|w| w.0 == client && w.1 == cluster && w.2 == pod && w.4.is_none())
                {
                    w.4 = Some(now);
                }
            }
            OutlierEvent::Overflow { .. } | OutlierEvent::NotEnforced { .. } => {}
        }
    }
}
