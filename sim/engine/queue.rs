//! The pending-event set.
//!
//! Ordering contract: events pop in increasing `time`; events scheduled for the
//! same time pop in the order they were scheduled (FIFO). That total order —
//! `(time, scheduling order)` — is what makes a replication a pure function of
//! its seed.
//!
//! Structure: a **radix heap** on the integer nanosecond time, with FIFO
//! buckets. It relies on what a discrete-event simulation guarantees anyway:
//! nothing is scheduled before `now` (the time of the last pop; earlier times
//! are clamped to it), so every pending time is `>= last`, the last popped
//! time. A pending event sits in bucket `b = bit_length(time ^ last)`:
//! bucket 0 holds the events at `last` itself, bucket `b > 0` those whose
//! highest bit differing from `last` is bit `b − 1`. Every event in bucket `b`
//! is earlier than every event in bucket `b' > b`, so the next event is in the
//! lowest non-empty bucket (a `u64` mask finds it with one `trailing_zeros`).
//! When bucket 0 is empty, that bucket's earliest time becomes the new `last`
//! and its events are redistributed into lower buckets (those at the new
//! `last` into bucket 0); events in higher buckets keep their bucket, since
//! the new `last` agrees with the old one on every bit above `b − 1`. An event
//! moves down at most 64 times, in practice a few times: a push is an XOR, a
//! leading-zero count and a `Vec` push; a pop is usually a `VecDeque` pop.
//!
//! Why FIFO among equal times holds without a sequence number: every bucket
//! is kept in scheduling order. A push appends, and it is the latest
//! scheduled event. A redistribution moves the events of bucket `b`, in their
//! order, into buckets below `b`, which are all empty at that moment (`b` is
//! the lowest non-empty one, bucket 0 included). By induction each bucket is
//! in scheduling order, so bucket 0 — the events at `last` — pops them FIFO.
//! `pop_until` redistributes only when the earliest time is within the
//! horizon, so `last` is the last popped time and never runs ahead of what
//! may still be scheduled (`schedule` clamps to `now >= last`). The property
//! tests (`queue/tests.rs`) check every pop against the `BinaryHeap` on
//! `(time, seq)` this replaced, over random interleavings with same-time
//! events, scheduling at and before `now`, refused horizons and `advance_to`.
//!
//! Why not the `BinaryHeap` on `(time, seq)` (sessions 1–5): a pop sifted
//! 32-byte entries through ~log₂ n levels, ≈ 250 instructions per event with
//! a few thousand pending, a fifth of the isotope mesh's event loop. Here an
//! entry is 24 bytes (no sequence number), and a time shared by many events
//! (constant hop latencies make such bursts) moves as a whole bucket. callgrind,
//! seed 1, `World::run_guarded` per event (`benches/README.md`, session 6):
//! M/M/4 (≈ 5 pending) 933 → 913; the 1,000-service isotope mesh (thousands
//! pending) 1 102 → 930, the queue itself ≈ 85 per event there. With few
//! pending most pops take the lowest bucket's only event; a bucket of two or
//! more is redistributed (`redistribute`, ≈ 160 instructions, 42 % of M/M/4's
//! pops). A hand-written 4-ary heap in safe code was slower than std's
//! `BinaryHeap` in session 3, so it was not tried again.
//!
//! Cancellation: there is no `remove`. A timer that may become stale (a timeout
//! that the response beat) carries a generation number owned by the state it
//! guards; the handler compares and ignores stale pops. A stale pop costs one
//! compare.

use super::time::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    time: u64,
    event: E,
}

/// A min-queue of events keyed by `(time, scheduling order)`. Events are
/// small ids (`Copy`): they are moved between buckets by copying.
pub struct EventQueue<E> {
    /// Bucket 0: the events at `last`, in scheduling order, from `head` on
    /// (popped entries stay until it empties; a `Vec` and an index are
    /// cheaper than a ring buffer for this push-back / pop-front use).
    front: Vec<Entry<E>>,
    head: usize,
    /// `buckets[b - 1]` is bucket `b` (1 ..= 64), in scheduling order.
    buckets: [Vec<Entry<E>>; 64],
    /// Bit `b - 1` set ⇔ bucket `b` is non-empty.
    mask: u64,
    /// The time of the last pop (`now`, unless `advance_to` moved `now` on):
    /// every pending time is `>= last`.
    last: u64,
    len: usize,
    next_seq: u64,
    now: SimTime,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// Bucket of `time` relative to `last`: the bit length of `time ^ last`.
#[inline(always)]
fn bucket(time: u64, last: u64) -> u32 {
    64 - (time ^ last).leading_zeros()
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            front: Vec::with_capacity(64),
            head: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
            mask: 0,
            last: 0,
            len: 0,
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
        self.next_seq += 1;
        self.len += 1;
        let e = Entry { time: t, event };
        match bucket(t, self.last) {
            0 => self.front.push(e),
            b => {
                self.buckets[(b - 1) as usize].push(e);
                self.mask |= 1 << (b - 1);
            }
        }
    }

    /// Pops the next event if its time is `<= until`, advancing `now`.
    #[inline]
    pub fn pop_until(&mut self, until: SimTime) -> Option<(SimTime, E)> {
        let e = if self.head < self.front.len() {
            if self.last > until.0 {
                return None;
            }
            let e = self.front[self.head];
            self.head += 1;
            if self.head == self.front.len() {
                self.front.clear();
                self.head = 0;
            }
            e
        } else {
            if self.mask == 0 {
                return None;
            }
            let i = self.mask.trailing_zeros() as usize;
            let b = &mut self.buckets[i];
            if b.len() == 1 {
                // The common case with few pending: the lowest bucket holds
                // one event, the earliest; nothing else moves.
                if b[0].time > until.0 {
                    return None;
                }
                self.mask &= !(1 << i);
                let e = b.pop()?;
                self.last = e.time;
                e
            } else {
                self.redistribute(i, until.0)?
            }
        };
        self.len -= 1;
        self.now = SimTime(self.last);
        Some((self.now, e.event))
    }

    /// Bucket 0 is empty and bucket `i + 1` is the lowest non-empty one, with
    /// two or more events: its earliest time becomes `last`, and its first
    /// event at that time is returned; the others move to lower buckets (those
    /// at `last` into bucket 0, in order). None, and nothing moves, when that
    /// time is later than `until`.
    #[inline(never)]
    fn redistribute(&mut self, i: usize, until: u64) -> Option<Entry<E>> {
        // Events move only to lower buckets: split there, no take/put back.
        let (lower, rest) = self.buckets.split_at_mut(i);
        let v = &mut rest[0];
        // The first event at the earliest time, and the latest time.
        let (mut first, mut last, mut latest) = (0, v[0].time, v[0].time);
        for (j, e) in v.iter().enumerate().skip(1) {
            if e.time < last {
                (first, last) = (j, e.time);
            }
            latest = latest.max(e.time);
        }
        if last > until {
            return None;
        }
        self.mask &= !(1 << i);
        self.last = last;
        let popped = v[first];
        if latest == last {
            // All at one instant (constant latencies make such bursts): the
            // whole bucket becomes bucket 0, in its order, without a copy.
            std::mem::swap(&mut self.front, v);
            self.head = 1;
            if self.front.len() == 1 {
                self.front.clear();
                self.head = 0;
            }
            return Some(popped);
        }
        for (j, &e) in v.iter().enumerate() {
            if j == first {
                continue;
            }
            match bucket(e.time, last) {
                0 => self.front.push(e),
                b => {
                    lower[(b - 1) as usize].push(e);
                    self.mask |= 1 << (b - 1);
                }
            }
        }
        v.clear();
        Some(popped)
    }

    /// Advances `now` without popping (used to close the run at its end time).
    pub fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }

    /// Heap bytes the queue holds (its allocated capacity, not just `len`).
    pub fn heap_bytes(&self) -> u64 {
        let cap = self.front.capacity() + self.buckets.iter().map(Vec::capacity).sum::<usize>();
        (cap * std::mem::size_of::<Entry<E>>()) as u64
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Number of events ever scheduled.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests;
