//! Envoy's earliest-deadline-first scheduler (`source/common/upstream/edf_scheduler.h`),
//! the weighted schedule behind weighted round robin and weighted least
//! request.
//!
//! Each entry has a deadline `current_time + 1/weight`; a pick pops the
//! earliest deadline (ties: the entry added first), moves `current_time` to
//! it and re-adds the entry with its weight *at that moment* (so least
//! request's `w / (active + 1)` is re-evaluated per pick). Over one period of
//! integer weights each entry is picked exactly `weight` times.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline: f64,
    order: u64,
    item: u32,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap, we want the earliest deadline.
    fn cmp(&self, o: &Self) -> Ordering {
        o.deadline
            .total_cmp(&self.deadline)
            .then(o.order.cmp(&self.order))
    }
}

/// EDF over item ids (`u32`, e.g. host slice indices).
#[derive(Clone, Debug, Default)]
pub struct EdfScheduler {
    queue: BinaryHeap<Entry>,
    current_time: f64,
    order_offset: u64,
}

impl EdfScheduler {
    pub fn new() -> EdfScheduler {
        EdfScheduler::default()
    }

    /// Adds `item` with `weight` (> 0; non-positive weights are not added).
    pub fn add(&mut self, weight: f64, item: u32) {
        if weight <= 0.0 {
            return;
        }
        self.queue.push(Entry {
            deadline: self.current_time + 1.0 / weight,
            order: self.order_offset,
            item,
        });
        self.order_offset += 1;
    }

    /// Pops the earliest deadline and re-adds it with `weight_of(item)`.
    pub fn pick_and_add(&mut self, weight_of: impl Fn(u32) -> f64) -> Option<u32> {
        let e = self.queue.pop()?;
        self.current_time = e.deadline;
        self.add(weight_of(e.item), e.item);
        Some(e.item)
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_weights_exact_over_a_period() {
        for weights in [vec![1u32, 2, 4], vec![1, 2, 3], vec![5, 1], vec![3, 3, 3]] {
            let mut s = EdfScheduler::new();
            for (i, &w) in weights.iter().enumerate() {
                s.add(w as f64, i as u32);
            }
            let period: u32 = weights.iter().sum();
            for round in 0..5 {
                let mut counts = vec![0u32; weights.len()];
                for _ in 0..period {
                    let i = s.pick_and_add(|i| weights[i as usize] as f64).unwrap();
                    counts[i as usize] += 1;
                }
                assert_eq!(counts, weights, "round {round}");
            }
        }
    }

    #[test]
    fn ties_go_to_first_added_and_order_is_smooth() {
        let mut s = EdfScheduler::new();
        s.add(1.0, 7);
        s.add(1.0, 8);
        s.add(2.0, 9);
        let seq: Vec<u32> = (0..8)
            .map(|_| s.pick_and_add(|i| if i == 9 { 2.0 } else { 1.0 }).unwrap())
            .collect();
        // deadlines: 9@0.5, 7@1, 8@1, 9@1 ⇒ 9,7,8,9 then repeat.
        assert_eq!(seq, vec![9, 7, 8, 9, 9, 7, 8, 9]);
        assert!(EdfScheduler::new().pick_and_add(|_| 1.0).is_none());
    }
}
