//! Failure propagation: what a replication saw of failures travelling through
//! the call graph, and its exact merge.
//!
//! Why a recorder of its own: a 500 at a load generator says nothing about
//! where it started. The world knows, at the moment a request fails, the chain
//! of answers that led to it (`page 500 ← reviews 504 UT ← ratings DI`), and for
//! every finished downstream request how many upstream attempts it took; Envoy's
//! circuit breakers and outlier detection add *when* they acted. This recorder
//! keeps exactly that, keyed by ids (loads and Services by scenario index,
//! proxies and clusters by their Envoy names), in BTreeMaps so that iteration
//! and merging are deterministic. Names are resolved by the report
//! (`report::propagation`), never here.
//!
//! Costs: a failure whose chain was seen before is a map lookup without
//! allocation (chains are looked up as slices); an edge is one lookup; a
//! breaker rejection extends the open window in place.

use std::collections::BTreeMap;

/// Consecutive breaker rejections closer than this merge into one window (1 s).
pub const BREAKER_GAP_NS: u64 = 1_000_000_000;

/// A node of the call graph.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Node {
    /// A load generator: index into `Scenario::loads`.
    Load(u32),
    /// A Service: index into `Scenario::services`.
    Service(u32),
}

/// One hop of a failure chain: who answered, with what status, and why
/// (Envoy response flags as their short string, e.g. `UT`, `URX,UT`, `DI`, or
/// meshsim's app-level causes: `error` (injected app error), `queue-full`,
/// `app-timeout`, `call-failed`; `-` when none). Status 0 = no HTTP response.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Link {
    pub node: Node,
    pub status: u16,
    pub cause: String,
}

impl Link {
    pub fn new(node: Node, status: u16, cause: &str) -> Link {
        Link {
            node,
            status,
            cause: cause.to_string(),
        }
    }
}

/// Counts of one caller → callee edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EdgeCounts {
    /// Downstream requests the caller made (each counted once, however many attempts).
    pub requests: u64,
    /// Upstream attempts those requests took (retries included).
    pub attempts: u64,
    /// Requests whose caller got a failure.
    pub failed: u64,
    /// Failures that originated at this edge's callee hop (not passed on from deeper).
    pub caused: u64,
}

impl EdgeCounts {
    /// Failures the callee passed on from deeper in the graph.
    pub fn passed_on(&self) -> u64 {
        self.failed.saturating_sub(self.caused)
    }

    /// Attempts beyond the first of each request: the extra load retries put on the callee.
    pub fn extra_load(&self) -> u64 {
        self.attempts.saturating_sub(self.requests)
    }

    /// Attempts ÷ requests (1.0 = no retry; 0 without requests).
    pub fn amplification(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.attempts as f64 / self.requests as f64
        }
    }

    /// Failed ÷ requests (0 without requests).
    pub fn failure_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failed as f64 / self.requests as f64
        }
    }

    fn add(&mut self, o: &EdgeCounts) {
        self.requests += o.requests;
        self.attempts += o.attempts;
        self.failed += o.failed;
        self.caused += o.caused;
    }
}

/// A window in which a circuit breaker rejected requests, in one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectWindow {
    /// Replication index within the merged recorder (0 for a single replication).
    pub replication: u32,
    /// First and last rejection (virtual ns since the start of the run).
    pub from_ns: u64,
    pub to_ns: u64,
    pub rejections: u64,
}

/// One ejection of a host by a proxy's outlier detection, in one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ejection {
    pub replication: u32,
    pub from_ns: u64,
    /// None: still ejected when the run ended.
    pub to_ns: Option<u64>,
}

/// Everything one replication (or, after [`PropagationRecorder::merge`],
/// several) recorded about failure propagation.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PropagationRecorder {
    /// Distinct failure chains (outermost first, root last) and how often each occurred.
    #[serde(with = "crate::engine::pairs")]
    chains: BTreeMap<Vec<Link>, u64>,
    /// Failed load requests recorded (= sum of `chains`).
    failures: u64,
    #[serde(with = "crate::engine::pairs")]
    edges: BTreeMap<(Node, Node), EdgeCounts>,
    /// proxy → cluster → windows, in (replication, time) order.
    breakers: BTreeMap<String, BTreeMap<String, Vec<RejectWindow>>>,
    /// (proxy, cluster, host) → ejections, in (replication, time) order.
    #[serde(with = "crate::engine::pairs")]
    ejections: BTreeMap<(String, String, String), Vec<Ejection>>,
    /// Replications merged in besides this one (a recorder counts as one replication).
    merged: u32,
}

impl PropagationRecorder {
    /// A failed request seen by a load (inside the measurement window): its
    /// chain, outermost first (the load's own view is `chain[0]`, e.g.
    /// `Load(0) 500 "-"`), root cause last. An empty chain is ignored.
    pub fn failure(&mut self, chain: &[Link]) {
        self.failures_n(chain, 1);
    }

    /// `n` failed requests with the same chain (see [`Self::failure`]).
    pub fn failures_n(&mut self, chain: &[Link], n: u64) {
        if chain.is_empty() || n == 0 {
            return;
        }
        self.failures += n;
        match self.chains.get_mut(chain) {
            Some(c) => *c += n,
            None => {
                self.chains.insert(chain.to_vec(), n);
            }
        }
    }

    /// Adds counts already aggregated for one edge (see [`Self::edge`]).
    pub fn add_edge(&mut self, caller: Node, callee: Node, c: &EdgeCounts) {
        let e = self.edges.entry((caller, callee)).or_default();
        e.requests += c.requests;
        e.attempts += c.attempts;
        e.failed += c.failed;
        e.caused += c.caused;
    }

    /// One downstream request from `caller` to `callee` finished (inside the
    /// window): it took `attempts` upstream attempts (1 = no retry); `failed` =
    /// the caller got a failure; `caused` = the failure originated at this
    /// edge's callee hop (its own error, or its proxy's local reply: UO, UH, NR,
    /// FI, UT …), not passed on from deeper. `caused` without `failed` counts as failed.
    pub fn edge(&mut self, caller: Node, callee: Node, attempts: u32, failed: bool, caused: bool) {
        let e = self.edges.entry((caller, callee)).or_default();
        e.requests += 1;
        e.attempts += attempts as u64;
        e.failed += (failed || caused) as u64;
        e.caused += caused as u64;
    }

    /// A circuit breaker of `proxy` (e.g. `pod/default/productpage-v1/0`) for
    /// `cluster` (Envoy cluster name) rejected a request at `t_ns` (virtual ns);
    /// consecutive rejections closer than 1 s ([`BREAKER_GAP_NS`]) merge into one window.
    pub fn breaker_reject(&mut self, proxy: &str, cluster: &str, t_ns: u64) {
        let by_cluster = match self.breakers.get_mut(proxy) {
            Some(m) => m,
            None => self.breakers.entry(proxy.to_string()).or_default(),
        };
        let windows = match by_cluster.get_mut(cluster) {
            Some(w) => w,
            None => by_cluster.entry(cluster.to_string()).or_default(),
        };
        add_rejection(windows, t_ns);
    }

    /// `proxy` ejected `host` (pod name) of `cluster` from `from_ns` to `to_ns`
    /// (None: still ejected at the end).
    pub fn ejection(
        &mut self,
        proxy: &str,
        cluster: &str,
        host: &str,
        from_ns: u64,
        to_ns: Option<u64>,
    ) {
        let v = self
            .ejections
            .entry((proxy.to_string(), cluster.to_string(), host.to_string()))
            .or_default();
        let e = Ejection {
            replication: 0,
            from_ns,
            to_ns,
        };
        // Recorded in time order by the world; keep the order if not.
        let at = v.partition_point(|x| (x.replication, x.from_ns) <= (0, from_ns));
        v.insert(at, e);
    }

    /// Merges another replication's recorder: `other` (and whatever it had
    /// merged) becomes the next replication(s) after those in `self`. Counts
    /// add exactly; windows keep their replication (shifted), so merging in
    /// index order gives the same result on any thread count.
    pub fn merge(&mut self, other: &PropagationRecorder) {
        let shift = self.merged + 1;
        for (chain, n) in &other.chains {
            *self.chains.entry(chain.clone()).or_default() += n;
        }
        self.failures += other.failures;
        for (k, e) in &other.edges {
            self.edges.entry(*k).or_default().add(e);
        }
        for (proxy, by_cluster) in &other.breakers {
            let mine = self.breakers.entry(proxy.clone()).or_default();
            for (cluster, ws) in by_cluster {
                mine.entry(cluster.clone())
                    .or_default()
                    .extend(ws.iter().map(|w| RejectWindow {
                        replication: w.replication + shift,
                        ..*w
                    }));
            }
        }
        for (k, es) in &other.ejections {
            self.ejections
                .entry(k.clone())
                .or_default()
                .extend(es.iter().map(|e| Ejection {
                    replication: e.replication + shift,
                    ..*e
                }));
        }
        self.merged += other.merged + 1;
    }

    /// Merges recorders of replications 0, 1, … in order into one.
    pub fn merge_all<'a>(
        recorders: impl IntoIterator<Item = &'a PropagationRecorder>,
    ) -> PropagationRecorder {
        let mut it = recorders.into_iter();
        let Some(first) = it.next() else {
            return PropagationRecorder::default();
        };
        let mut acc = first.clone();
        for r in it {
            acc.merge(r);
        }
        acc
    }

    /// Replications this recorder covers (1 unless merged).
    pub fn replications(&self) -> u32 {
        self.merged + 1
    }

    /// Failed load requests recorded.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Distinct chains with their counts, in chain order.
    pub fn chains(&self) -> impl Iterator<Item = (&[Link], u64)> {
        self.chains.iter().map(|(c, n)| (c.as_slice(), *n))
    }

    /// Edges `(caller, callee)` with their counts, in node order.
    pub fn edges(&self) -> impl Iterator<Item = ((Node, Node), &EdgeCounts)> {
        self.edges.iter().map(|(k, e)| (*k, e))
    }

    /// Breaker windows per (proxy, cluster), in name order.
    pub fn breakers(&self) -> impl Iterator<Item = (&str, &str, &[RejectWindow])> {
        self.breakers.iter().flat_map(|(p, m)| {
            m.iter()
                .map(move |(c, w)| (p.as_str(), c.as_str(), w.as_slice()))
        })
    }

    /// Ejections per (proxy, cluster, host), in name order.
    pub fn ejections(&self) -> impl Iterator<Item = (&str, &str, &str, &[Ejection])> {
        self.ejections
            .iter()
            .map(|((p, c, h), e)| (p.as_str(), c.as_str(), h.as_str(), e.as_slice()))
    }

    /// Heap bytes held (approximate: entries and their strings and vectors,
    /// not the B-trees' node slack), for the memory guard's accounting.
    pub fn heap_bytes(&self) -> u64 {
        use std::mem::size_of;
        let chains: usize = self
            .chains
            .keys()
            .map(|c| {
                size_of::<(Vec<Link>, u64)>()
                    + c.capacity() * size_of::<Link>()
                    + c.iter().map(|l| l.cause.capacity()).sum::<usize>()
            })
            .sum();
        let edges = self.edges.len() * size_of::<((Node, Node), EdgeCounts)>();
        let breakers: usize = self
            .breakers
            .iter()
            .map(|(p, m)| {
                size_of::<(String, BTreeMap<String, Vec<RejectWindow>>)>()
                    + p.capacity()
                    + m.iter()
                        .map(|(c, w)| {
                            size_of::<(String, Vec<RejectWindow>)>()
                                + c.capacity()
                                + w.capacity() * size_of::<RejectWindow>()
                        })
                        .sum::<usize>()
            })
            .sum();
        let ejections: usize = self
            .ejections
            .iter()
            .map(|((p, c, h), e)| {
                size_of::<((String, String, String), Vec<Ejection>)>()
                    + p.capacity()
                    + c.capacity()
                    + h.capacity()
                    + e.capacity() * size_of::<Ejection>()
            })
            .sum();
        (chains + edges + breakers + ejections) as u64
    }

    /// Nothing recorded at all.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
            && self.edges.is_empty()
            && self.breakers.is_empty()
            && self.ejections.is_empty()
    }

    /// Something worth a report: a failure, a retry, a breaker rejection or an
    /// ejection. Edges alone (every request recorded, none failed or retried)
    /// are not: a healthy run's summary keeps its shape.
    pub fn has_findings(&self) -> bool {
        self.failures > 0
            || self
                .edges
                .values()
                .any(|e| e.failed > 0 || e.attempts > e.requests)
            || !self.breakers.is_empty()
            || !self.ejections.is_empty()
    }
}

/// Adds a rejection at `t` (replication 0) to `ws`, extending the window it is
/// less than [`BREAKER_GAP_NS`] after, or opening a new one.
fn add_rejection(ws: &mut Vec<RejectWindow>, t: u64) {
    if let Some(last) = ws.last_mut()
        && last.replication == 0
        && t >= last.from_ns
    {
        if t - last.to_ns.min(t) < BREAKER_GAP_NS {
            last.to_ns = last.to_ns.max(t);
            last.rejections += 1;
            return;
        }
        ws.push(RejectWindow {
            replication: 0,
            from_ns: t,
            to_ns: t,
            rejections: 1,
        });
        return;
    }
    // Out of time order (not what the world does): insert, then coalesce.
    ws.push(RejectWindow {
        replication: 0,
        from_ns: t,
        to_ns: t,
        rejections: 1,
    });
    ws.sort_by_key(|w| (w.replication, w.from_ns, w.to_ns));
    let mut out: Vec<RejectWindow> = Vec::with_capacity(ws.len());
    for w in ws.drain(..) {
        match out.last_mut() {
            Some(l)
                if l.replication == w.replication
                    && w.from_ns - l.to_ns.min(w.from_ns) < BREAKER_GAP_NS =>
            {
                l.to_ns = l.to_ns.max(w.to_ns);
                l.rejections += w.rejections;
            }
            _ => out.push(w),
        }
    }
    *ws = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn chain(root: &str) -> Vec<Link> {
        vec![
            Link::new(Node::Load(0), 500, "-"),
            Link::new(Node::Service(0), 500, "call-failed"),
            Link::new(Node::Service(1), 504, "UT"),
            Link::new(Node::Service(2), 0, root),
        ]
    }

    #[test]
    fn chains_count_by_identity() {
        let mut r = PropagationRecorder::default();
        r.failure(&chain("DI"));
        r.failure(&chain("DI"));
        r.failure(&chain("error"));
        r.failure(&[]);
        assert_eq!(r.failures(), 3);
        let v: Vec<(String, u64)> = r
            .chains()
            .map(|(c, n)| (c.last().unwrap().cause.clone(), n))
            .collect();
        assert_eq!(v, vec![("DI".into(), 2), ("error".into(), 1)]);
        assert!(r.has_findings());
    }

    #[test]
    fn edges_sum_attempts_and_split_caused_from_passed_on() {
        let mut r = PropagationRecorder::default();
        let (a, b) = (Node::Service(0), Node::Service(1));
        r.edge(a, b, 1, false, false);
        r.edge(a, b, 3, true, true);
        r.edge(a, b, 2, true, false);
        r.edge(a, b, 1, false, false);
        let (_, e) = r.edges().next().unwrap();
        assert_eq!(
            *e,
            EdgeCounts {
                requests: 4,
                attempts: 7,
                failed: 2,
                caused: 1
            }
        );
        assert_eq!(e.passed_on(), 1);
        assert_eq!(e.extra_load(), 3);
        assert_eq!(e.amplification(), 1.75);
        assert_eq!(e.failure_rate(), 0.5);
    }

    #[test]
    fn healthy_edges_alone_are_no_finding() {
        let mut r = PropagationRecorder::default();
        r.edge(Node::Load(0), Node::Service(0), 1, false, false);
        assert!(!r.is_empty());
        assert!(!r.has_findings());
        r.edge(Node::Load(0), Node::Service(0), 2, false, false);
        assert!(r.has_findings(), "a retry is a finding");
    }

    #[test]
    fn rejections_closer_than_a_second_coalesce() {
        let mut r = PropagationRecorder::default();
        for t in [
            10 * S,
            10 * S + S / 2,
            11 * S + S / 4,
            12 * S + S / 4,
            20 * S,
        ] {
            r.breaker_reject("pod/default/web-0", "outbound|80||api", t);
        }
        let (_, _, w) = r.breakers().next().unwrap();
        // 11.25 → 12.25 is exactly 1 s apart: a new window.
        let spans: Vec<(u64, u64, u64)> = w
            .iter()
            .map(|w| (w.from_ns, w.to_ns, w.rejections))
            .collect();
        assert_eq!(
            spans,
            vec![
                (10 * S, 11 * S + S / 4, 3),
                (12 * S + S / 4, 12 * S + S / 4, 1),
                (20 * S, 20 * S, 1)
            ]
        );
    }

    #[test]
    fn out_of_order_rejections_still_coalesce() {
        let mut r = PropagationRecorder::default();
        for t in [5 * S, 9 * S, 5 * S + S / 2, 8 * S + S / 2, 7 * S] {
            r.breaker_reject("p", "c", t);
        }
        let (_, _, w) = r.breakers().next().unwrap();
        let spans: Vec<(u64, u64, u64)> = w
            .iter()
            .map(|w| (w.from_ns, w.to_ns, w.rejections))
            .collect();
        assert_eq!(
            spans,
            vec![
                (5 * S, 5 * S + S / 2, 2),
                (7 * S, 7 * S, 1),
                (8 * S + S / 2, 9 * S, 2)
            ]
        );
    }

    #[test]
    fn merge_adds_counts_and_keeps_replications_apart() {
        let mut a = PropagationRecorder::default();
        a.failure(&chain("DI"));
        a.edge(Node::Load(0), Node::Service(0), 1, true, false);
        a.breaker_reject("p", "c", 3 * S);
        a.ejection("p", "c", "ratings-0", 4 * S, Some(34 * S));
        let mut b = PropagationRecorder::default();
        b.failure(&chain("DI"));
        b.failure(&chain("UO"));
        b.edge(Node::Load(0), Node::Service(0), 2, true, true);
        // Overlaps a's window in time, but is another replication.
        b.breaker_reject("p", "c", 3 * S + S / 2);
        b.ejection("p", "c", "ratings-0", 4 * S, None);
        let c = PropagationRecorder::default(); // replication 2: nothing happened
        let mut d = PropagationRecorder::default();
        d.breaker_reject("p", "c", S);

        let m = PropagationRecorder::merge_all([&a, &b, &c, &d]);
        assert_eq!(m.replications(), 4);
        assert_eq!(m.failures(), 3);
        let counts: Vec<u64> = m.chains().map(|(_, n)| n).collect();
        assert_eq!(counts, vec![2, 1]);
        let (_, e) = m.edges().next().unwrap();
        assert_eq!((e.requests, e.attempts, e.failed, e.caused), (2, 3, 2, 1));
        let (_, _, w) = m.breakers().next().unwrap();
        let reps: Vec<(u32, u64)> = w.iter().map(|w| (w.replication, w.rejections)).collect();
        assert_eq!(reps, vec![(0, 1), (1, 1), (3, 1)]);
        let (_, _, host, ej) = m.ejections().next().unwrap();
        assert_eq!(host, "ratings-0");
        assert_eq!(
            ej.iter()
                .map(|e| (e.replication, e.to_ns))
                .collect::<Vec<_>>(),
            vec![(0, Some(34 * S)), (1, None)]
        );

        // Merging stepwise (a+b, then (c+d)) gives the same replication numbers.
        let mut ab = a.clone();
        ab.merge(&b);
        let mut cd = c.clone();
        cd.merge(&d);
        ab.merge(&cd);
        let (_, _, w2) = ab.breakers().next().unwrap();
        assert_eq!(w, w2);
    }

    #[test]
    fn heap_bytes_grow_with_what_is_kept() {
        let mut r = PropagationRecorder::default();
        assert_eq!(r.heap_bytes(), 0);
        r.failure(&chain("DI"));
        let one = r.heap_bytes();
        assert!(one >= 4 * std::mem::size_of::<Link>() as u64, "{one}");
        r.failure(&chain("DI"));
        assert_eq!(r.heap_bytes(), one, "a repeated chain costs nothing");
        r.breaker_reject("pod/default/web-0", "outbound|80||api", S);
        assert!(r.heap_bytes() > one + 20);
    }

    #[test]
    fn merging_nothing_is_empty() {
        let m = PropagationRecorder::merge_all(std::iter::empty());
        assert!(m.is_empty());
        assert!(!m.has_findings());
        assert_eq!(m.replications(), 1);
    }
}
