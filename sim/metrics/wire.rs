//! A [`Recorder`] as serde data, losslessly, for the partials of sharded
//! sweeps (`answers::shard`): the histogram as its non-empty slots
//! (`[value, count]`, each value the slot's highest equivalent), every
//! counter as the integer it is. Read back, every statistic — counts, min,
//! max, quantiles, mean, merges — is the original's: recording any value of
//! a slot adds to the same slot.

use super::{BATCHES, Recorder};
use crate::proxy::flags::ResponseFlags;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
struct Wire {
    hist: Vec<(u64, u64)>,
    sum_ns: u128,
    count: u64,
    batch_sum_ns: Vec<u128>,
    batch_count: Vec<u64>,
    requests: u64,
    completed: u64,
    failed: u64,
    codes: Vec<(u16, u64)>,
    /// Version 1's count of latencies the histogram could not hold: always
    /// 0 since [`super::Hist`] holds any u64 of nanoseconds. Still written
    /// (as 0), so every meshsim that reads version 1 reads these files, and
    /// ignored when read; drop it with the next version of the format.
    #[serde(default)]
    clamped: u64,
    flags: Vec<(ResponseFlags, u64)>,
}

impl Serialize for Recorder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Recorder {
            hist,
            sum_ns,
            count,
            batch_sum_ns,
            batch_count,
            requests,
            completed,
            failed,
            codes,
            flags,
            // Per-run batch quantiles stay out of partials (merged runs get
            // their percentile intervals from replications).
            batch_q: _,
        } = self;
        Wire {
            hist: hist
                .iter()
                .map(|(slot, n)| (super::hist::slot_value(slot), n))
                .collect(),
            sum_ns: *sum_ns,
            count: *count,
            batch_sum_ns: batch_sum_ns.to_vec(),
            batch_count: batch_count.to_vec(),
            requests: *requests,
            completed: *completed,
            failed: *failed,
            codes: codes.clone(),
            clamped: 0,
            flags: flags.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Recorder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = Wire::deserialize(d)?;
        let mut r = Recorder::default();
        for (v, n) in w.hist {
            r.hist.record_n(v, n);
        }
        let batches =
            |n: usize| D::Error::custom(format!("{n} batches; this meshsim keeps {BATCHES}"));
        r.batch_sum_ns = w
            .batch_sum_ns
            .try_into()
            .map_err(|v: Vec<u128>| batches(v.len()))?;
        r.batch_count = w
            .batch_count
            .try_into()
            .map_err(|v: Vec<u64>| batches(v.len()))?;
        r.sum_ns = w.sum_ns;
        r.count = w.count;
        r.requests = w.requests;
        r.completed = w.completed;
        r.failed = w.failed;
        r.codes = w.codes;
        r.flags = w.flags;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_reads_back_with_the_same_statistics() {
        let mut r = Recorder::default();
        for i in 0..5000u64 {
            r.record(
                (i % BATCHES as u64) as usize,
                1 + i * i * 37,
                if i % 97 == 0 { 503 } else { 200 },
            );
        }
        r.requests = 5003;
        let text = serde_json::to_string(&r).unwrap();
        let back: Recorder = serde_json::from_str(&text).unwrap();
        assert_eq!(back.hist, r.hist);
        assert_eq!(back.hist.len(), 5000);
        assert_eq!(back.hist.max(), r.hist.max());
        assert_eq!(back.hist.min(), r.hist.min());
        assert_eq!(
            back.hist.value_at_quantile(0.99),
            r.hist.value_at_quantile(0.99)
        );
        assert_eq!(
            (back.failed, back.completed, back.requests),
            (52, 4948, 5003)
        );
        assert_eq!(back.codes, r.codes);
        assert_eq!(back.batch_means(), r.batch_means());
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    /// Version 1 of the format is written and read as before the recorder
    /// dropped its always-zero `clamped` count: the field is written as 0 and
    /// not needed when read.
    #[test]
    fn the_version_1_clamped_field_is_written_as_zero_and_optional() {
        let mut r = Recorder::default();
        r.record(3, 2_500_000, 200);
        r.requests = 1;
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.contains(r#""codes":[[200,1]],"clamped":0,"flags":[]"#),
            "{text}"
        );
        let without = text.replace(r#""clamped":0,"#, "");
        let back: Recorder = serde_json::from_str(&without).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!((back.count, back.completed, back.requests), (1, 1, 1));
    }
}
