//! The hash key of a request for consistent-hash balancing (Envoy route
//! `hash_policy`; `source/common/http/hash_policy.cc`). Istio's DR
//! `consistentHash` emits one policy: `httpHeaderName`, `httpCookie`,
//! `useSourceIp` or `httpQueryParameterName`.
//!
//! * header: all values sorted, then `xxHash64` chained over them with the
//!   previous hash as seed (seed 0 first): one value ⇒ `xxHash64(value, 0)`;
//! * cookie: `xxHash64(value)`; when the cookie is missing and a `ttl` is set
//!   Envoy generates one (value = hex of `xxHash64(remote + local address)`)
//!   and hashes that — here the source IP stands in for the connection's
//!   addresses (a simplification: per client, not per connection);
//! * query parameter: `xxHash64` of the first value;
//! * source IP: `xxHash64` of the downstream IP (no port).
//!
//! Several policies combine as Envoy's `HashPolicyImpl::generateHash`:
//! `hash = rotl(hash, 1) ^ new`. No key at all ⇒ `None`, and the balancer
//! uses a random hash (reference §3).

use crate::engine::time::SimDuration;
use crate::proxy::request::Request;
use xxhash_rust::xxh64::xxh64;

/// One Envoy `RouteAction.HashPolicy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashPolicy {
    Header {
        name: String,
    },
    Cookie {
        name: String,
        path: String,
        ttl: Option<SimDuration>,
    },
    QueryParameter {
        name: String,
    },
    SourceIp,
}

/// Hex as Envoy's `Hex::uint64ToHex` (16 lowercase digits).
fn hex16(v: u64) -> String {
    format!("{v:016x}")
}

impl HashPolicy {
    /// This policy's hash of `request`, if it yields one.
    pub fn evaluate(&self, request: &Request) -> Option<u64> {
        match self {
            HashPolicy::Header { name } => {
                let n = request.header_count(name);
                if n <= 1 {
                    return request.header(name).map(|v| xxh64(v.as_bytes(), 0));
                }
                let mut values: Vec<&str> = request
                    .headers()
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| &**v)
                    .collect();
                values.sort_unstable();
                Some(
                    values
                        .iter()
                        .fold(0u64, |seed, v| xxh64(v.as_bytes(), seed)),
                )
            }
            HashPolicy::Cookie { name, ttl, .. } => match request.cookie(name) {
                Some(v) => Some(xxh64(v.as_bytes(), 0)),
                None if ttl.is_some() => {
                    let ip = request.source_ip.as_deref()?;
                    Some(xxh64(hex16(xxh64(ip.as_bytes(), 0)).as_bytes(), 0))
                }
                None => None,
            },
            HashPolicy::QueryParameter { name } => {
                request.query_param(name).map(|v| xxh64(v.as_bytes(), 0))
            }
            HashPolicy::SourceIp => request
                .source_ip
                .as_deref()
                .map(|ip| xxh64(ip.as_bytes(), 0)),
        }
    }
}

/// The request's hash key under `policies` (Envoy `generateHash`).
pub fn hash_key(policies: &[HashPolicy], request: &Request) -> Option<u64> {
    let mut hash: Option<u64> = None;
    for p in policies {
        if let Some(new) = p.evaluate(request) {
            let old = hash.map_or(0, |h| h.rotate_left(1));
            hash = Some(old ^ new);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_hashes_its_value() {
        let r = Request::get("h", "/p?user=42")
            .with_header("x-user", "alice")
            .with_header("cookie", "session=s1; user=dev-123")
            .with_source_ip("10.0.0.7");
        let h = |p: HashPolicy| p.evaluate(&r);
        assert_eq!(
            h(HashPolicy::Header {
                name: "x-user".into()
            }),
            Some(xxh64(b"alice", 0))
        );
        assert_eq!(
            h(HashPolicy::Cookie {
                name: "user".into(),
                path: "/".into(),
                ttl: None
            }),
            Some(xxh64(b"dev-123", 0))
        );
        assert_eq!(
            h(HashPolicy::QueryParameter {
                name: "user".into()
            }),
            Some(xxh64(b"42", 0))
        );
        assert_eq!(h(HashPolicy::SourceIp), Some(xxh64(b"10.0.0.7", 0)));
        assert_eq!(
            h(HashPolicy::Header {
                name: "missing".into()
            }),
            None
        );
        assert_eq!(h(HashPolicy::QueryParameter { name: "x".into() }), None);
        assert_eq!(
            h(HashPolicy::Cookie {
                name: "no".into(),
                path: "/".into(),
                ttl: None
            }),
            None
        );
        let with_ttl = HashPolicy::Cookie {
            name: "no".into(),
            path: "/".into(),
            ttl: Some(SimDuration::from_secs_f64(10.0)),
        };
        assert!(with_ttl.evaluate(&r).is_some());
        assert_eq!(with_ttl.evaluate(&Request::get("h", "/")), None);
        assert_eq!(HashPolicy::SourceIp.evaluate(&Request::get("h", "/")), None);
    }

    #[test]
    fn header_values_order_independent_and_policies_combine() {
        let a = Request::get("h", "/")
            .with_header("x", "foo")
            .with_header("x", "bar");
        let b = Request::get("h", "/")
            .with_header("x", "bar")
            .with_header("x", "foo");
        let p = [HashPolicy::Header { name: "x".into() }];
        assert_eq!(hash_key(&p, &a), hash_key(&p, &b));
        assert_eq!(hash_key(&p, &a), Some(xxh64(b"foo", xxh64(b"bar", 0))));
        let r = Request::get("h", "/?q=1").with_header("x", "v");
        let two = [
            HashPolicy::Header { name: "x".into() },
            HashPolicy::QueryParameter { name: "q".into() },
        ];
        let hx = xxh64(b"v", 0);
        assert_eq!(hash_key(&two, &r), Some(hx.rotate_left(1) ^ xxh64(b"1", 0)));
        assert_eq!(hash_key(&[], &r), None);
    }

    #[test]
    fn xxhash64_known_answers() {
        // Reference values of XXH64 with seed 0.
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
    }
}
