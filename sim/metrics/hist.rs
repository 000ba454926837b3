//! A latency histogram that costs what it holds (issue #12 item 3).
//!
//! Same slots as HdrHistogram at 3 significant digits from 1 ns (2,048
//! sub-buckets: a value's slot is how far its highest set bit lies above bit
//! 10, then its top 11 bits), so every statistic — counts, quantiles, min,
//! max, mean — is the one `hdrhistogram::Histogram` gives for the same
//! samples (`to_hdr` builds that histogram; tests compare both). What differs
//! is storage. HdrHistogram keeps one `u64` per slot from 0 up to its highest
//! trackable value: 33,792 slots (264 KiB) for 1 ns … 1 h, whatever was
//! recorded, which made a 1,000-service mesh cost ~1 GB per replication.
//! Here the slots are cut into pages of [`PAGE`] `u64` counts (2 KiB), and a
//! page exists only once a sample falls into it: a Service whose latencies lie
//! within a factor of 1.19 holds one page, and an exponential distribution
//! over 4 decades a few dozen.
//!
//! Recording is as cheap as the `u16` staging it replaces (callgrind,
//! `benches/README.md`): a slot computation, one `u16` load from the page
//! table — inline, 256 entries, so its index needs no bounds check — and one
//! increment; an absent page is an out-of-range index into the pages (the
//! bounds check every access has), handled out of line.

/// HdrHistogram's sub-bucket layout for 1 ns and 3 significant digits:
/// 2 × 10³ → 2,048 sub-buckets (magnitude 11), of which every bucket but the
/// first uses the upper half.
const SUB_BUCKET_MAG: u32 = 11;
const SUB_BUCKET_HALF: usize = 1 << (SUB_BUCKET_MAG - 1);

/// Slots per page (a quarter of an HdrHistogram bucket: values within a
/// factor of 2^(1/4) ≈ 1.19) and the page-table entry of a missing page
/// (its page would start far past any real one).
const PAGE_SHIFT: u32 = 8;
pub const PAGE: usize = 1 << PAGE_SHIFT;
const ABSENT: u16 = u16::MAX;
/// Page-table entries: the highest slot (u64::MAX's, 56,319) is on page 219.
const PAGES: usize = 256;

/// The initial bounds `to_hdr` gives the HdrHistogram it builds (1 ns … 1 h;
/// it grows, as the recorders' histograms always did, for longer latencies).
const HDR_LOW: u64 = 1;
const HDR_HIGH: u64 = 3_600_000_000_000;
const HDR_SIGFIG: u8 = 3;

/// HdrHistogram's slot index of `v` (its `index_for`, unit magnitude 0).
#[inline(always)]
pub fn slot(v: u64) -> usize {
    let bucket = (64 - SUB_BUCKET_MAG) - (v | ((1 << SUB_BUCKET_MAG) - 1)).leading_zeros();
    ((bucket as usize + 1) * SUB_BUCKET_HALF) + (v >> bucket) as usize - SUB_BUCKET_HALF
}

/// The lowest value that falls into `slot` (HdrHistogram's `value_for`).
pub fn slot_value(slot: usize) -> u64 {
    let bucket = (slot / SUB_BUCKET_HALF).saturating_sub(1);
    let sub = if slot < 2 * SUB_BUCKET_HALF {
        slot
    } else {
        slot % SUB_BUCKET_HALF + SUB_BUCKET_HALF
    };
    (sub as u64) << bucket
}

/// HdrHistogram's bucket of `v` (`bucket_for`).
fn bucket(v: u64) -> u32 {
    (64 - SUB_BUCKET_MAG) - (v | ((1 << SUB_BUCKET_MAG) - 1)).leading_zeros()
}

/// Latency counts per HdrHistogram slot, in pages allocated on first use.
#[derive(Clone, Debug)]
pub struct Hist {
    /// Per page (slot >> PAGE_SHIFT): its ordinal in `counts`, or [`ABSENT`].
    table: [u16; PAGES],
    /// The pages, in the order they were first used.
    counts: Vec<u64>,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            table: [ABSENT; PAGES],
            counts: Vec::new(),
        }
    }
}

impl PartialEq for Hist {
    /// Same counts in every slot (however the pages were laid out).
    fn eq(&self, o: &Hist) -> bool {
        self.iter().eq(o.iter())
    }
}

impl Hist {
    /// One sample of `v` ns.
    #[inline(always)]
    pub fn record(&mut self, v: u64) {
        let s = slot(v);
        // `& (PAGES - 1)` changes no real slot's page and proves the index.
        let page = self.table[(s >> PAGE_SHIFT) & (PAGES - 1)] as usize;
        match self.counts.get_mut((page << PAGE_SHIFT) | (s & (PAGE - 1))) {
            Some(c) => *c += 1,
            None => self.add_slot(s, 1),
        }
    }

    /// `n` samples of `v` ns.
    pub fn record_n(&mut self, v: u64, n: u64) {
        if n > 0 {
            self.add_slot(slot(v), n);
        }
    }

    /// Adds `n` to `slot`'s count, allocating its page as needed.
    #[cold]
    #[inline(never)]
    fn add_slot(&mut self, slot: usize, n: u64) {
        let page = slot >> PAGE_SHIFT;
        if self.table[page] == ABSENT {
            // Grown as `Vec`s grow (doubling: one page at a time would copy
            // every page again for each new one); `shrink` trims the slack
            // when the replication ends.
            self.table[page] = (self.counts.len() / PAGE) as u16;
            self.counts.resize(self.counts.len() + PAGE, 0);
        }
        self.counts[((self.table[page] as usize) << PAGE_SHIFT) | (slot & (PAGE - 1))] += n;
    }

    /// Adds every count of `o` (exact integer adds).
    pub fn add(&mut self, o: &Hist) {
        for (s, n) in o.iter() {
            self.add_slot(s, n);
        }
    }

    /// (slot, count) of every slot holding samples, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.pages().flat_map(|(first, page)| {
            page.iter()
                .enumerate()
                .filter(|&(_, &c)| c > 0)
                .map(move |(i, &c)| (first + i, c))
        })
    }

    /// Heap bytes held: the pages (the page table is inline).
    pub fn heap_bytes(&self) -> u64 {
        (self.counts.capacity() * 8) as u64
    }

    /// Becomes a copy of `o`, reusing this histogram's allocation.
    pub fn copy_from(&mut self, o: &Hist) {
        self.table = o.table;
        self.counts.clear();
        self.counts.extend_from_slice(&o.counts);
    }

    /// [`Hist::value_at_quantile`] of the samples recorded since `earlier`
    /// (an earlier copy of this histogram: every count of it ≤ this one's),
    /// `n` of them, without building their histogram.
    pub fn value_at_quantile_since(&self, earlier: &Hist, n: u64, quantile: f64) -> u64 {
        let quantile = quantile.min(1.0);
        let want = ((quantile * n as f64).ceil() as u64).max(1);
        let mut total = 0u64;
        for (first, page) in self.pages() {
            let before = match earlier.table[first >> PAGE_SHIFT] {
                ABSENT => None,
                b => {
                    let at = (b as usize) << PAGE_SHIFT;
                    Some(&earlier.counts[at..at + PAGE])
                }
            };
            let diff = |i: usize| page[i] - before.map_or(0, |e| e[i]);
            let sum: u64 = (0..PAGE).map(diff).sum();
            if total + sum < want {
                total += sum;
                continue;
            }
            for i in 0..PAGE {
                total += diff(i);
                if total >= want {
                    return self.quantile_slot_value(first + i, quantile);
                }
            }
        }
        0
    }

    /// The value HdrHistogram reports for a quantile landing in `slot`: the
    /// highest equivalent value (the lowest for q = 0).
    fn quantile_slot_value(&self, slot: usize, quantile: f64) -> u64 {
        let v = slot_value(slot);
        if quantile == 0.0 {
            self.lowest_equivalent(v)
        } else {
            self.highest_equivalent(v)
        }
    }

    /// Gives back what growing left unused.
    pub fn shrink(&mut self) {
        self.counts.shrink_to_fit();
    }

    /// Pages in slot order: (first slot, its counts). Queries walk these
    /// (summing a page at a time) rather than [`Hist::iter`]'s slot by slot.
    fn pages(&self) -> impl DoubleEndedIterator<Item = (usize, &[u64])> + '_ {
        self.table
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b != ABSENT)
            .map(|(p, &b)| {
                let at = (b as usize) << PAGE_SHIFT;
                (p << PAGE_SHIFT, &self.counts[at..at + PAGE])
            })
    }

    /// Number of samples (HdrHistogram's `len`).
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// HdrHistogram's `value_at_quantile`: the highest value equivalent to
    /// the slot where the running count first reaches ⌈q · len⌉ (the lowest
    /// for q = 0); 0 when empty.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        let quantile = if quantile > 1.0 { 1.0 } else { quantile };
        let want = ((quantile * self.len() as f64).ceil() as u64).max(1);
        let mut total = 0u64;
        for (first, page) in self.pages() {
            let sum: u64 = page.iter().sum();
            if total + sum < want {
                total += sum;
                continue;
            }
            for (i, &c) in page.iter().enumerate() {
                total += c;
                if total >= want {
                    return self.quantile_slot_value(first + i, quantile);
                }
            }
        }
        0
    }

    /// Highest value equivalent to the largest sample (0 when empty).
    pub fn max(&self) -> u64 {
        for (first, page) in self.pages().rev() {
            if let Some(i) = page.iter().rposition(|&c| c > 0) {
                return self.highest_equivalent(slot_value(first + i));
            }
        }
        0
    }

    /// Lowest value equivalent to the smallest sample (0 when empty or when
    /// a sample of 0 was recorded, as HdrHistogram's `min`).
    pub fn min(&self) -> u64 {
        for (first, page) in self.pages() {
            if let Some(i) = page.iter().position(|&c| c > 0) {
                return slot_value(first + i);
            }
        }
        0
    }

    /// Samples in the slots of `low` … `high` (inclusive).
    pub fn count_between(&self, low: u64, high: u64) -> u64 {
        let (a, b) = (slot(low), slot(high));
        self.iter()
            .filter(|&(s, _)| s >= a && s <= b)
            .map(|(_, n)| n)
            .sum()
    }

    /// Samples in the slot of `v`.
    pub fn count_at(&self, v: u64) -> u64 {
        let s = slot(v);
        match self.table[s >> PAGE_SHIFT] {
            ABSENT => 0,
            b => self.counts[((b as usize) << PAGE_SHIFT) | (s & (PAGE - 1))],
        }
    }

    pub fn lowest_equivalent(&self, v: u64) -> u64 {
        slot_value(slot(v))
    }

    pub fn highest_equivalent(&self, v: u64) -> u64 {
        if v == u64::MAX {
            u64::MAX
        } else {
            self.lowest_equivalent(v).saturating_add(1 << bucket(v)) - 1
        }
    }

    pub fn equivalent(&self, a: u64, b: u64) -> bool {
        self.lowest_equivalent(a) == self.lowest_equivalent(b)
    }

    /// The same samples in an `hdrhistogram::Histogram` (1 ns … 1 h, grown
    /// to the largest sample), for what only it computes (`iter_quantiles`,
    /// `stdev`, `.hgrm` output). Costs its full size (264 KiB and up) while held.
    pub fn to_hdr(&self) -> hdrhistogram::Histogram<u64> {
        let mut h = hdrhistogram::Histogram::new_with_bounds(HDR_LOW, HDR_HIGH, HDR_SIGFIG)
            .expect("valid bounds");
        h.auto(true);
        for (s, n) in self.iter() {
            // Grows to hold any u64 (tested), so this cannot fail; if it did,
            // the count would land in the top slot rather than vanish.
            if h.record_n(slot_value(s), n).is_err() {
                h.saturating_record_n(slot_value(s), n);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Purpose, RngFactory};
    use rand::Rng;

    fn hdr() -> hdrhistogram::Histogram<u64> {
        let mut h =
            hdrhistogram::Histogram::new_with_bounds(HDR_LOW, HDR_HIGH, HDR_SIGFIG).unwrap();
        h.auto(true);
        h
    }

    /// Values at every bucket edge, the u64 extremes and 200,000 log-uniform
    /// draws: every statistic equals HdrHistogram's for the same samples.
    #[test]
    fn every_statistic_equals_hdrhistogram() {
        let mut rng = RngFactory::new(5, 0).of(Purpose::Behaviour, "hist");
        let mut values: Vec<u64> = vec![1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096];
        // Not u64::MAX itself: HdrHistogram's max of that one value is
        // u64::MAX, of any other value in its slot u64::MAX − 1; a slot
        // count cannot tell them apart (a latency of 585 years).
        values.extend([
            HDR_HIGH - 1,
            HDR_HIGH,
            HDR_HIGH + 1,
            u64::MAX / 3,
            u64::MAX - 1,
        ]);
        for b in 1..64 {
            let p = 1u64 << b;
            values.extend([p - 1, p, p + 1]);
        }
        values.push(u64::MAX - (1 << 52));
        for _ in 0..200_000 {
            let bits = rng.next_u32() % 46;
            values.push((rng.next_u64() >> (63 - bits)).max(1));
        }
        let (mut a, mut b, mut want) = (Hist::default(), Hist::default(), hdr());
        for (i, &v) in values.iter().enumerate() {
            want.record(v).unwrap();
            if i % 3 == 0 { a.record(v) } else { b.record(v) }
        }
        let mut h = Hist::default();
        h.add(&a);
        h.add(&b);
        assert_eq!(h.to_hdr(), want);
        assert_eq!(h.len(), want.len());
        assert_eq!((h.min(), h.max()), (want.min(), want.max()));
        assert_eq!(h.to_hdr().mean(), want.mean());
        for q in [0.0, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0, 1.5] {
            assert_eq!(h.value_at_quantile(q), want.value_at_quantile(q), "q {q}");
        }
        for &v in values.iter().step_by(997) {
            assert_eq!(h.count_at(v), want.count_at(v));
            assert_eq!(h.count_between(1, v), want.count_between(1, v));
            assert_eq!(h.highest_equivalent(v), want.highest_equivalent(v));
            assert_eq!(h.lowest_equivalent(v), want.lowest_equivalent(v));
        }
        for s in 0..55 * SUB_BUCKET_HALF {
            if slot_value(s) != 0 || s == 0 {
                assert_eq!(slot(slot_value(s)), s);
                assert_eq!(want.lowest_equivalent(slot_value(s)), slot_value(s));
            }
        }
    }

    #[test]
    fn empty_statistics_are_hdrhistograms() {
        let (h, want) = (Hist::default(), hdr());
        assert_eq!((h.len(), h.min(), h.max()), (0, want.min(), want.max()));
        assert_eq!(h.value_at_quantile(0.99), want.value_at_quantile(0.99));
        assert!(h.is_empty());
        assert_eq!(h.heap_bytes(), 0);
    }

    /// Counts past `u32::MAX` are exact.
    #[test]
    fn large_counts_are_exact() {
        let mut h = Hist::default();
        h.record_n(5_000, u32::MAX as u64);
        h.record(5_000);
        h.record_n(5_000, 10_000_000_000);
        h.record(7_000);
        assert_eq!(h.count_at(5_000), u32::MAX as u64 + 1 + 10_000_000_000);
        assert_eq!(h.len(), u32::MAX as u64 + 2 + 10_000_000_000);
        assert_eq!(h.max(), h.highest_equivalent(7_000));
        let mut want = hdr();
        want.record_n(5_000, u32::MAX as u64 + 1 + 10_000_000_000)
            .unwrap();
        want.record(7_000).unwrap();
        assert_eq!(h.to_hdr(), want);
        assert_eq!(h.value_at_quantile(1.0), want.value_at_quantile(1.0));
        assert_eq!(h.value_at_quantile(0.5), want.value_at_quantile(0.5));
    }

    /// Memory is what the samples need: one 2 KiB page per range of
    /// latencies within a quarter bucket (×1.19), not HdrHistogram's 264 KiB.
    #[test]
    fn a_page_per_range_used() {
        let mut h = Hist::default();
        h.record(1_000_000); // 1 ms: page 43
        assert_eq!(h.heap_bytes(), 2_048);
        for v in 1_000_000..1_000_100 {
            h.record(v);
        }
        assert_eq!(h.heap_bytes(), 2_048, "the same page");
        h.record(1); // page 0
        assert_eq!(h.heap_bytes(), 4_096);
        h.record(u64::MAX); // page 219, the last
        assert_eq!(h.heap_bytes(), 8_192, "grown as a Vec grows");
        h.shrink();
        assert_eq!(h.heap_bytes(), 6_144);
        assert_eq!(h.len(), 103);
        assert_eq!((h.min(), h.max()), (1, u64::MAX - 1));
    }
}
