//! Client-side state of a load generator.
//!
//! Open loop: requests are due on their own schedule; if every keep-alive
//! connection is busy they wait at the client, and their latency still counts
//! from the *intended* send time, so a slow server cannot hide its slowness by
//! slowing the client down (no coordinated omission).
//! Closed loop: each connection sends its next request only after the previous
//! one answered, as `fortio load -c N -qps Q` does (with `qps`, on fortio's
//! per-connection schedule: [`super::pacing`]).

use crate::engine::SimTime;
use crate::engine::dist::Sampler;
use crate::engine::rng::SimRng;
use std::collections::VecDeque;

/// Sentinel for "no pod" / "not connected".
pub const NONE: u32 = u32::MAX;

/// One keep-alive connection, pinned by kube-proxy to `pod` when opened.
#[derive(Clone, Debug)]
pub struct Conn {
    /// `NONE` until opened (or after a failed open).
    pub pod: u32,
    /// Node that received the connection (node port / load balancer entry);
    /// `NO_NODE` when it went straight to the pod.
    pub via: u16,
    pub busy: bool,
    /// Closed loop with `qps`: its fortio schedule (`pacing.rs`).
    pub clock: super::pacing::Clock,
}

#[derive(Clone, Debug)]
pub struct LoadState {
    pub arrivals: SimRng,
    pub think_rng: SimRng,
    pub think: Option<Sampler>,
    /// Closed loop with `jitter`: the pacing jitter draws.
    pub jitter_rng: SimRng,
    /// Keep-alive pool (open loop with `connections`, or closed loop).
    pub conns: Vec<Conn>,
    /// Open loop: intended send times waiting for a free connection.
    pub waiting: VecDeque<SimTime>,
    pub header_set: u32,
    /// Requests issued inside the measurement window so far: the next one's
    /// ordinal (1-based) is this plus one (`--trace LOAD:N|failed|slowest`).
    pub counted: u32,
}

impl LoadState {
    pub fn new(
        arrivals: SimRng,
        think_rng: SimRng,
        think: Option<Sampler>,
        jitter_rng: SimRng,
        conns: usize,
        header_set: u32,
    ) -> Self {
        LoadState {
            arrivals,
            think_rng,
            think,
            jitter_rng,
            conns: (0..conns)
                .map(|_| Conn {
                    pod: NONE,
                    via: crate::cluster::node::NO_NODE,
                    busy: false,
                    clock: super::pacing::Clock::default(),
                })
                .collect(),
            counted: 0,
            waiting: VecDeque::new(),
            header_set,
        }
    }

    /// The lowest-numbered idle connection (deterministic choice).
    pub fn idle_conn(&self) -> Option<u32> {
        self.conns.iter().position(|c| !c.busy).map(|i| i as u32)
    }
}
