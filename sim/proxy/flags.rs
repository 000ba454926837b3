//! Envoy response flags (`%RESPONSE_FLAGS%`, Istio's `response_flags` label):
//! why a request ended the way it did, independent of the status code.
//!
//! Source: Envoy `source/common/stream_info/utility.h` / `utility.cc`
//! (`ResponseFlagUtils::CORE_RESPONSE_FLAGS`: short strings and their fixed
//! order when several are joined with `,`) and `envoy/stream_info/stream_info.h`
//! (`CoreResponseFlag`). Reference §11 lists the ones the simulator produces.
//! The declaration order below is Envoy's order, so sorting a set of flags
//! and joining them gives Envoy's string (e.g. `UF,URX`, `DI,FI`). `DR`
//! (downstream remote reset) and `UDO` come last, as newer Envoy appends them.

/// One response flag. Declared in Envoy's output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResponseFlag {
    /// `LH`: failed local health check.
    FailedLocalHealthCheck,
    /// `UH`: no healthy upstream host in the cluster (503).
    NoHealthyUpstream,
    /// `UT`: upstream request timeout (504).
    UpstreamRequestTimeout,
    /// `LR`: local reset of the upstream stream.
    LocalReset,
    /// `UR`: upstream remote reset.
    UpstreamRemoteReset,
    /// `UF`: upstream connection failure.
    UpstreamConnectionFailure,
    /// `UC`: upstream connection termination.
    UpstreamConnectionTermination,
    /// `UO`: upstream overflow (circuit breaker).
    UpstreamOverflow,
    /// `NR`: no route configured (404).
    NoRouteFound,
    /// `DI`: request delayed by fault injection.
    DelayInjected,
    /// `FI`: request aborted by fault injection.
    FaultInjected,
    /// `RL`: rate limited locally (429).
    RateLimited,
    /// `UAEX`: unauthorized by external authorization.
    UnauthorizedExternalService,
    /// `RLSE`: rate limit service error.
    RateLimitServiceError,
    /// `DC`: downstream connection termination.
    DownstreamConnectionTermination,
    /// `URX`: upstream retry limit exceeded.
    UpstreamRetryLimitExceeded,
    /// `SI`: stream idle timeout.
    StreamIdleTimeout,
    /// `IH`: invalid Envoy request headers.
    InvalidEnvoyRequestHeaders,
    /// `DPE`: downstream protocol error.
    DownstreamProtocolError,
    /// `UMSDR`: upstream max stream duration reached.
    UpstreamMaxStreamDurationReached,
    /// `RFCF`: response from cache filter.
    ResponseFromCacheFilter,
    /// `NFCF`: no filter config found.
    NoFilterConfigFound,
    /// `DT`: duration timeout (max stream duration).
    DurationTimeout,
    /// `UPE`: upstream protocol error (502).
    UpstreamProtocolError,
    /// `NC`: no cluster found (503).
    NoClusterFound,
    /// `OM`: overload manager.
    OverloadManager,
    /// `DF`: DNS resolution failure.
    DnsResolutionFailed,
    /// `DO`: drop overload.
    DropOverLoad,
    /// `DR`: downstream remote reset.
    DownstreamRemoteReset,
    /// `UDO`: unconditional drop overload.
    UnconditionalDropOverload,
}

impl ResponseFlag {
    /// Every flag, in Envoy's order.
    pub const ALL: [ResponseFlag; 30] = [
        ResponseFlag::FailedLocalHealthCheck,
        ResponseFlag::NoHealthyUpstream,
        ResponseFlag::UpstreamRequestTimeout,
        ResponseFlag::LocalReset,
        ResponseFlag::UpstreamRemoteReset,
        ResponseFlag::UpstreamConnectionFailure,
        ResponseFlag::UpstreamConnectionTermination,
        ResponseFlag::UpstreamOverflow,
        ResponseFlag::NoRouteFound,
        ResponseFlag::DelayInjected,
        ResponseFlag::FaultInjected,
        ResponseFlag::RateLimited,
        ResponseFlag::UnauthorizedExternalService,
        ResponseFlag::RateLimitServiceError,
        ResponseFlag::DownstreamConnectionTermination,
        ResponseFlag::UpstreamRetryLimitExceeded,
        ResponseFlag::StreamIdleTimeout,
        ResponseFlag::InvalidEnvoyRequestHeaders,
        ResponseFlag::DownstreamProtocolError,
        ResponseFlag::UpstreamMaxStreamDurationReached,
        ResponseFlag::ResponseFromCacheFilter,
        ResponseFlag::NoFilterConfigFound,
        ResponseFlag::DurationTimeout,
        ResponseFlag::UpstreamProtocolError,
        ResponseFlag::NoClusterFound,
        ResponseFlag::OverloadManager,
        ResponseFlag::DnsResolutionFailed,
        ResponseFlag::DropOverLoad,
        ResponseFlag::DownstreamRemoteReset,
        ResponseFlag::UnconditionalDropOverload,
    ];

    /// Envoy's short code.
    pub fn as_str(self) -> &'static str {
        use ResponseFlag::*;
        match self {
            FailedLocalHealthCheck => "LH",
            NoHealthyUpstream => "UH",
            UpstreamRequestTimeout => "UT",
            LocalReset => "LR",
            UpstreamRemoteReset => "UR",
            UpstreamConnectionFailure => "UF",
            UpstreamConnectionTermination => "UC",
            UpstreamOverflow => "UO",
            NoRouteFound => "NR",
            DelayInjected => "DI",
            FaultInjected => "FI",
            RateLimited => "RL",
            UnauthorizedExternalService => "UAEX",
            RateLimitServiceError => "RLSE",
            DownstreamConnectionTermination => "DC",
            UpstreamRetryLimitExceeded => "URX",
            StreamIdleTimeout => "SI",
            InvalidEnvoyRequestHeaders => "IH",
            DownstreamProtocolError => "DPE",
            UpstreamMaxStreamDurationReached => "UMSDR",
            ResponseFromCacheFilter => "RFCF",
            NoFilterConfigFound => "NFCF",
            DurationTimeout => "DT",
            UpstreamProtocolError => "UPE",
            NoClusterFound => "NC",
            OverloadManager => "OM",
            DnsResolutionFailed => "DF",
            DropOverLoad => "DO",
            DownstreamRemoteReset => "DR",
            UnconditionalDropOverload => "UDO",
        }
    }

    /// The flag for a short code.
    pub fn parse(code: &str) -> Option<ResponseFlag> {
        ResponseFlag::ALL.into_iter().find(|f| f.as_str() == code)
    }
}

impl std::fmt::Display for ResponseFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of flags (bit i = `ALL[i]`), rendered in Envoy's order; empty = `-`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct ResponseFlags(u32);

impl ResponseFlags {
    pub const NONE: ResponseFlags = ResponseFlags(0);

    pub fn with(self, f: ResponseFlag) -> ResponseFlags {
        ResponseFlags(self.0 | 1 << f as u32)
    }
    pub fn insert(&mut self, f: ResponseFlag) {
        *self = self.with(f);
    }
    pub fn contains(self, f: ResponseFlag) -> bool {
        self.0 & (1 << f as u32) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Both sets' flags (one OR, for the hot path).
    pub fn union(self, o: ResponseFlags) -> ResponseFlags {
        ResponseFlags(self.0 | o.0)
    }
    pub fn iter(self) -> impl Iterator<Item = ResponseFlag> {
        ResponseFlag::ALL
            .into_iter()
            .filter(move |f| self.contains(*f))
    }
}

impl From<ResponseFlag> for ResponseFlags {
    fn from(f: ResponseFlag) -> Self {
        ResponseFlags::NONE.with(f)
    }
}

impl std::fmt::Display for ResponseFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseFlag::*;

    #[test]
    fn codes_unique_and_round_trip() {
        for (i, f) in ResponseFlag::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i, "ALL order = declaration order");
            assert_eq!(ResponseFlag::parse(f.as_str()), Some(*f));
            assert_eq!(f.to_string(), f.as_str());
        }
        for (code, f) in [
            ("NR", NoRouteFound),
            ("NC", NoClusterFound),
            ("UH", NoHealthyUpstream),
            ("UF", UpstreamConnectionFailure),
            ("UO", UpstreamOverflow),
            ("URX", UpstreamRetryLimitExceeded),
            ("UT", UpstreamRequestTimeout),
            ("UC", UpstreamConnectionTermination),
            ("UR", UpstreamRemoteReset),
            ("DC", DownstreamConnectionTermination),
            ("DI", DelayInjected),
            ("FI", FaultInjected),
            ("RL", RateLimited),
            ("UAEX", UnauthorizedExternalService),
            ("DPE", DownstreamProtocolError),
            ("UMSDR", UpstreamMaxStreamDurationReached),
            ("LR", LocalReset),
            ("UPE", UpstreamProtocolError),
            ("SI", StreamIdleTimeout),
            ("DR", DownstreamRemoteReset),
        ] {
            assert_eq!(f.as_str(), code);
        }
        assert_eq!(ResponseFlag::parse("XX"), None);
    }

    #[test]
    fn sets_render_in_envoy_order() {
        assert_eq!(ResponseFlags::NONE.to_string(), "-");
        let s = ResponseFlags::from(UpstreamRetryLimitExceeded).with(UpstreamConnectionFailure);
        assert_eq!(s.to_string(), "UF,URX");
        let s = ResponseFlags::from(FaultInjected).with(DelayInjected);
        assert_eq!(s.to_string(), "DI,FI");
        let mut s = ResponseFlags::NONE;
        s.insert(NoRouteFound);
        assert!(s.contains(NoRouteFound) && !s.contains(NoClusterFound));
        assert_eq!(s.to_string(), "NR");
    }
}
