//! The simulation kernel: virtual time, the pending-event set, random streams,
//! duration distributions and typed ids. Nothing here knows about HTTP, pods
//! or Envoy, so the kernel can be benchmarked (and reasoned about) on its own.

pub mod dist;
pub mod ids;
pub mod pairs;
pub mod queue;
pub mod regex;
pub mod rng;
pub mod size;
pub mod time;

pub use ids::{Id, IdVec};
pub use queue::EventQueue;
pub use rng::{RngFactory, SimRng, StreamId};
pub use time::{SimDuration, SimTime};
