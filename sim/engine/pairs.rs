//! Serde helpers for the lossless partials of sharded sweeps
//! (`answers::shard`): JSON object keys must be strings, so maps keyed by
//! tuples or structs are written as `[[key, value], …]` lists, in the map's
//! (sorted) order; and the few `&'static str` labels results carry are read
//! back as interned strings.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Serialises a map as a list of `[key, value]` pairs.
pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
    map: &BTreeMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.iter())
}

/// Reads a list of `[key, value]` pairs back into a map; a repeated key is an error.
pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let pairs: Vec<(K, V)> = Vec::deserialize(d)?;
    let n = pairs.len();
    let map: BTreeMap<K, V> = pairs.into_iter().collect();
    if map.len() != n {
        return Err(serde::de::Error::custom("a key is listed twice"));
    }
    Ok(map)
}

/// Labels read back so far (each leaked once: a handful of distinct words).
static INTERNED: Mutex<BTreeMap<String, &'static str>> = Mutex::new(BTreeMap::new());

/// A string as a `&'static str` (interned: one allocation per distinct
/// label for the life of the process).
pub fn intern(s: String) -> &'static str {
    let mut m = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = m.get(&s) {
        return v;
    }
    let v: &'static str = Box::leak(s.clone().into_boxed_str());
    m.insert(s, v);
    v
}
