//! The pending-event set.
//!
//! Ordering contract: events pop in increasing `time`; events scheduled for the
//! same time pop in the order they were scheduled (FIFO), because every entry
//! carries a per-queue sequence number assigned at `schedule` time and the heap is
//! keyed by `(time, seq)`. That total order is what makes a replication a pure
//! function of its seed.
//!
//! Cancellation: there is no `remove`. A timer that may become stale (a timeout
//! that the response beat) carries a generation number owned by the state it
//! guards; the handler compares and ignores stale pops. Removing from the middle of
//! a binary heap costs O(n) and invites order bugs; a stale pop costs one compare.

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    /// `time` in the high bits is compared first, then `seq`.
    time: u64,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    /// `(time, seq)` as one integer: a single 128-bit compare orders entries.
    #[inline(always)]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest `(time, seq)`.
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        o.key().cmp(&self.key())
    }
}

/// A min-queue of events keyed by `(time, seq)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// Current simulated time: the time of the last popped event.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`. Scheduling in the past is clamped to `now`
    /// (it still pops after everything already scheduled for `now`).
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) {
        let t = time.0.max(self.now.0);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time: t,
            seq,
            event,
        });
    }

    /// Pops the next event if its time is `<= until`, advancing `now`.
    #[inline]
    pub fn pop_until(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        let top = self.heap.peek()?;
        if top.time > until.0 {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = SimTime(e.time);
        Some((self.now, e.event))
    }

    /// Advances `now` without popping (used to close the run at its end time).
    pub fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Heap bytes the queue holds (its allocated capacity, not just `len`).
    pub fn heap_bytes(&self) -> u64 {
        (self.heap.capacity() * std::mem::size_of::<Entry<E>>()) as u64
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// Number of events ever scheduled (the next sequence number).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), 'a');
        q.schedule(SimTime(1), 'b');
        q.schedule(SimTime(5), 'c');
        q.schedule(SimTime(1), 'd');
        q.schedule(SimTime(3), 'e');
        let order: Vec<char> =
            std::iter::from_fn(|| q.pop_until(SimTime::MAX).map(|x| x.1)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c']);
    }

    #[test]
    fn pop_until_respects_horizon_and_clamps_past() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), 1);
        q.schedule(SimTime(20), 2);
        assert_eq!(q.pop_until(SimTime(15)), Some((SimTime(10), 1)));
        assert_eq!(q.pop_until(SimTime(15)), None);
        q.schedule(SimTime(0), 3); // in the past: clamped to now = 10
        assert_eq!(q.pop_until(SimTime(15)), Some((SimTime(10), 3)));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn matches_a_stable_sort_under_random_interleaving() {
        // Model check against the specification: with pushes and pops interleaved at
        // random, the pop sequence equals a stable sort of what was pushed by time
        // (clamped to `now`), i.e. FIFO among equal times.
        use crate::engine::rng::{Purpose, RngFactory, below};
        let mut r = RngFactory::new(5, 0).of(Purpose::Placement, "queue-test");
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
}
