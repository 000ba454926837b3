//! The radix queue against its specification and against the `BinaryHeap` on
//! `(time, seq)` it replaced (kept here as the reference, verbatim in
//! behaviour: clamp to `now`, pop by `(time, seq)`, `now` = the popped time).

use super::*;
use crate::engine::rng::{Purpose, RngFactory, SimRng, below};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Session 1–5's queue: a binary heap on `(time, seq)`.
struct HeapQueue<E> {
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<E>>,
    next_seq: u64,
    now: SimTime,
}

impl<E> HeapQueue<E> {
    fn new() -> Self {
        HeapQueue {
            heap: BinaryHeap::new(),
            events: Vec::new(),
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }
    fn schedule(&mut self, time: SimTime, event: E) {
        let t = time.0.max(self.now.0);
        self.heap
            .push(Reverse((t, self.next_seq, self.events.len())));
        self.events.push(Some(event));
        self.next_seq += 1;
    }
    fn pop_until(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        let Reverse((t, _, _)) = *self.heap.peek()?;
        if t > until.0 {
            return None;
        }
        let Reverse((t, _, i)) = self.heap.pop()?;
        self.now = SimTime(t);
        Some((self.now, self.events[i].take().expect("popped once")))
    }
    fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

fn rng(name: &str) -> SimRng {
    RngFactory::new(5, 0).of(Purpose::Placement, name)
}

#[test]
fn pops_in_time_then_fifo_order() {
    let mut q = EventQueue::new();
    q.schedule(SimTime(5), 'a');
    q.schedule(SimTime(1), 'b');
    q.schedule(SimTime(5), 'c');
    q.schedule(SimTime(1), 'd');
    q.schedule(SimTime(3), 'e');
    let order: Vec<char> = std::iter::from_fn(|| q.pop_until(SimTime::MAX).map(|x| x.1)).collect();
    assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
    assert_eq!(q.now(), SimTime(5));
    assert_eq!(q.scheduled_total(), 5);
}

#[test]
fn pop_until_respects_horizon_and_clamps_past() {
    let mut q = EventQueue::new();
    q.schedule(SimTime(10), 1);
    q.schedule(SimTime(20), 2);
    assert_eq!(q.pop_until(SimTime(15)), Some((SimTime(10), 1)));
    assert_eq!(q.pop_until(SimTime(15)), None);
    q.schedule(SimTime(0), 3); // in the past: clamped to now = 10
    q.schedule(SimTime(12), 4); // after a refused pop, before the refused event
    assert_eq!(q.pop_until(SimTime(15)), Some((SimTime(10), 3)));
    assert_eq!(q.pop_until(SimTime(15)), Some((SimTime(12), 4)));
    assert_eq!(q.pop_until(SimTime(15)), None);
    assert_eq!(q.len(), 1);
    // A horizon before `now` refuses even the events at `now`.
    q.schedule(SimTime(12), 5);
    assert_eq!(q.pop_until(SimTime(11)), None);
    assert_eq!(q.pop_until(SimTime::MAX), Some((SimTime(12), 5)));
    assert_eq!(q.pop_until(SimTime::MAX), Some((SimTime(20), 2)));
    assert!(q.is_empty());
}

#[test]
fn matches_a_stable_sort_under_random_interleaving() {
    // Model check against the specification: with pushes and pops interleaved at
    // random, the pop sequence equals a stable sort of what was pushed by time
    // (clamped to `now`), i.e. FIFO among equal times.
    let mut r = rng("queue-test");
    for round in 0..50u64 {
        let mut q = EventQueue::new();
        let mut model: Vec<(u64, u64)> = Vec::new(); // (time, push order)
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        let mut n = 0u64;
        for _ in 0..400 {
            if below(&mut r, 3) < 2 {
                // Few distinct times so that ties are common.
                let t = q.now().0 + below(&mut r, 4 + round % 5);
                q.schedule(SimTime(t), n);
                model.push((t, n));
                n += 1;
            } else if let Some((t, e)) = q.pop_until(SimTime::MAX) {
                popped.push((t.0, e));
                let i = (0..model.len()).min_by_key(|&i| model[i]).unwrap();
                expected.push(model.remove(i));
            }
        }
        while let Some((t, e)) = q.pop_until(SimTime::MAX) {
            popped.push((t.0, e));
            let i = (0..model.len()).min_by_key(|&i| model[i]).unwrap();
            expected.push(model.remove(i));
        }
        assert_eq!(popped, expected, "round {round}");
    }
}

/// A time offset drawn from one of several scales: the same instant, a few
/// ns, µs-scale hops, ms-scale timers, up to 2^62 ns (every bucket is used).
fn offset(r: &mut SimRng, scale: u64) -> u64 {
    match scale {
        0 => 0,
        1 => below(r, 4),
        2 => below(r, 1 << 18),
        3 => below(r, 1 << 30),
        _ => {
            let bits = below(r, 63);
            below(r, 1u64 << bits)
        }
    }
}

#[test]
fn same_pops_as_the_binary_heap_under_random_operations() {
    // Random schedule / pop / horizon / advance sequences on both queues; every
    // answer (popped time and event, refusals, now, len) must agree.
    let mut r = rng("queue-vs-heap");
    let mut ops = 0u64;
    for round in 0..300u64 {
        let mut q = EventQueue::new();
        let mut h = HeapQueue::new();
        let scale = round % 5;
        let mut n = 0u32;
        let steps = 200 + below(&mut r, 2000);
        for _ in 0..steps {
            match below(&mut r, 16) {
                // Schedule at now + an offset (ties when the offset is small).
                0..=7 => {
                    let s = if below(&mut r, 4) == 0 {
                        below(&mut r, 5)
                    } else {
                        scale
                    };
                    let t = q.now().0.saturating_add(offset(&mut r, s));
                    q.schedule(SimTime(t), n);
                    h.schedule(SimTime(t), n);
                    n += 1;
                }
                // Schedule exactly at now, or in the past (clamped).
                8 => {
                    let t = q
                        .now()
                        .0
                        .saturating_sub(below(&mut r, 3) * below(&mut r, 1000));
                    q.schedule(SimTime(t), n);
                    h.schedule(SimTime(t), n);
                    n += 1;
                }
                // Pop with a horizon somewhere around now (may refuse).
                9 | 10 => {
                    let until = SimTime(
                        q.now()
                            .0
                            .saturating_add(offset(&mut r, scale))
                            .saturating_sub(below(&mut r, 2)),
                    );
                    assert_eq!(q.pop_until(until), h.pop_until(until), "round {round}");
                }
                // Advance now without popping (pending events may be earlier).
                11 if below(&mut r, 8) == 0 => {
                    let t = SimTime(q.now().0.saturating_add(offset(&mut r, scale)));
                    q.advance_to(t);
                    h.advance_to(t);
                }
                _ => {
                    assert_eq!(
                        q.pop_until(SimTime::MAX),
                        h.pop_until(SimTime::MAX),
                        "round {round}"
                    );
                }
            }
            assert_eq!(q.now(), h.now, "round {round}");
            assert_eq!(q.len(), h.len(), "round {round}");
            ops += 1;
        }
        loop {
            let (a, b) = (q.pop_until(SimTime::MAX), h.pop_until(SimTime::MAX));
            assert_eq!(a, b, "round {round}");
            if a.is_none() {
                break;
            }
        }
        assert!(q.is_empty());
    }
    assert!(ops > 300_000, "{ops} operations");
}

#[test]
fn hold_model_with_thousands_pending_matches_the_heap() {
    // The simulator's own pattern: a few thousand pending, each pop schedules
    // one or two events a little later, bursts at the same instant.
    let mut r = rng("queue-hold");
    let mut q = EventQueue::new();
    let mut h = HeapQueue::new();
    for i in 0..3000u32 {
        let t = SimTime(below(&mut r, 1 << 20));
        q.schedule(t, i);
        h.schedule(t, i);
    }
    let mut n = 3000u32;
    for _ in 0..200_000 {
        let a = q.pop_until(SimTime::MAX);
        assert_eq!(a, h.pop_until(SimTime::MAX));
        let (t, _) = a.expect("pending");
        for _ in 0..1 + below(&mut r, 2) as usize * (q.len() < 3000) as usize {
            let d = match below(&mut r, 4) {
                0 => 0,
                1 => 100_000,
                _ => below(&mut r, 1 << 20),
            };
            q.schedule(t + crate::engine::SimDuration(d), n);
            h.schedule(t + crate::engine::SimDuration(d), n);
            n += 1;
        }
    }
    assert_eq!(q.len(), h.len());
    while let Some(a) = q.pop_until(SimTime::MAX) {
        assert_eq!(Some(a), h.pop_until(SimTime::MAX));
    }
    assert_eq!(h.len(), 0);
}
