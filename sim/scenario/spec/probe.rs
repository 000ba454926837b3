//! Container probes as the kubelet runs them, read from the Deployment's
//! pod template (`readinessProbe`, `livenessProbe`, `startupProbe`).
//!
//! Inert data; `sim/world/probe.rs` runs them. Defaults are Kubernetes'
//! (`pkg/apis/core/v1/defaults.go` `SetDefaults_Probe`): timeoutSeconds 1,
//! periodSeconds 10, successThreshold 1, failureThreshold 3;
//! initialDelaySeconds 0 (`k8s.io/api/core/v1/types.go` `Probe`).

use crate::engine::SimDuration;

/// How a probe reaches the container, and so what can make it fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `httpGet`: an HTTP request the app serves like any other — it waits
    /// for a worker behind the traffic queued on the pod, so it fails when
    /// no worker takes it within `timeoutSeconds` (or the queue is full).
    HttpGet,
    /// `grpc`: the gRPC health service of the app's server, served by the
    /// same workers as `httpGet`.
    Grpc,
    /// `tcpSocket`: the kernel completes the handshake while the app
    /// listens, however busy its workers are: passes iff the app listens.
    TcpSocket,
    /// `exec`: a command in the container; meshsim cannot run it: passes
    /// iff the container runs.
    Exec,
}

impl ProbeKind {
    /// Whether the app's workers serve the probe.
    pub fn served_by_workers(self) -> bool {
        matches!(self, ProbeKind::HttpGet | ProbeKind::Grpc)
    }
}

/// One probe of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub kind: ProbeKind,
    pub initial_delay: SimDuration,
    pub period: SimDuration,
    pub timeout: SimDuration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

/// The app container's probes (the first non-`istio-proxy` container that
/// declares each kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
    pub startup: Option<Probe>,
}

impl Probes {
    pub fn any(&self) -> bool {
        self.readiness.is_some() || self.liveness.is_some() || self.startup.is_some()
    }
    /// Probe `k` (0 readiness, 1 liveness, 2 startup).
    pub fn get(&self, k: usize) -> Option<&Probe> {
        match k {
            0 => self.readiness.as_ref(),
            1 => self.liveness.as_ref(),
            _ => self.startup.as_ref(),
        }
    }
}
