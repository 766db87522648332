//! Signing and checking internode requests.
//!
//! ```text
//! x-rustfs-internode-time:      unix seconds
//! x-rustfs-internode-nonce:     32 hex digits, random
//! x-rustfs-internode-signature: hex HMAC-SHA256(secret, "rustfs-internode-v1\n" METHOD "\n"
//!                                 PATH?QUERY "\n" TIME "\n" NONCE)
//! ```
//!
//! A request is refused (403) when a header is missing or malformed, the signature does not
//! match (checked in constant time), its time is more than [`WINDOW_SECS`] from the checker's
//! clock, or its nonce was already seen within the window.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;

pub const TIME_HEADER: &str = "x-rustfs-internode-time";
pub const NONCE_HEADER: &str = "x-rustfs-internode-nonce";
pub const SIGNATURE_HEADER: &str = "x-rustfs-internode-signature";
/// How far a request's time may be from the checker's clock, either way.
pub const WINDOW_SECS: u64 = 300;
/// The shortest cluster secret accepted.
pub const MIN_SECRET_LEN: usize = 16;
/// Nonces remembered for replay checks; beyond this, the oldest are forgotten early (and a
/// request older than the oldest remembered one is refused instead).
const MAX_NONCES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the cluster secret must be at least {MIN_SECRET_LEN} characters")]
    WeakSecret,
    #[error("internode request without {0}")]
    Missing(&'static str),
    #[error("internode request with a malformed {0}")]
    Malformed(&'static str),
    #[error("internode request signed {0} s away from this node's clock")]
    Skewed(u64),
    #[error("internode request signature does not match")]
    BadSignature,
    #[error("internode request replayed")]
    Replayed,
    #[error("no randomness: {0}")]
    Random(String),
}

/// Signs and checks with one cluster secret.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer")
    }
}

impl Signer {
    pub fn new(secret: &str) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(AuthError::WeakSecret);
        }
        let mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| AuthError::WeakSecret)?;
        Ok(Self { mac })
    }

    fn mac(&self, method: &str, path_and_query: &str, time: u64, nonce: &str) -> Hmac<Sha256> {
        let mut m = self.mac.clone();
        for part in [
            "rustfs-internode-v1",
            method,
            path_and_query,
            &time.to_string(),
            nonce,
        ] {
            m.update(part.as_bytes());
            m.update(b"\n");
        }
        m
    }

    /// The headers for a request made at `now` (unix seconds).
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        now: u64,
    ) -> Result<[(&'static str, String); 3], AuthError> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|e| AuthError::Random(e.to_string()))?;
        let nonce = hex_simd::encode_to_string(raw, hex_simd::AsciiCase::Lower);
        let sig = self
            .mac(method, path_and_query, now, &nonce)
            .finalize()
            .into_bytes();
        Ok([
            (TIME_HEADER, now.to_string()),
            (NONCE_HEADER, nonce),
            (
                SIGNATURE_HEADER,
                hex_simd::encode_to_string(sig, hex_simd::AsciiCase::Lower),
            ),
        ])
    }

    /// Checks a request's headers at `now` (unix seconds); `guard` refuses a nonce seen before.
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &HeaderMap,
        now: u64,
        guard: &ReplayGuard,
    ) -> Result<(), AuthError> {
        let (time, nonce) = self.verify_signature(method, path_and_query, headers, now)?;
        guard.check(&nonce, time, now)
    }

    /// [`Signer::verify`] without the replay check, for reads: replaying one returns only
    /// what the captured answer held (shard ids are never reused for other bytes), and reads
    /// are most internode requests, which would crowd mutations out of the nonce list.
    pub fn verify_read(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<(), AuthError> {
        self.verify_signature(method, path_and_query, headers, now)
            .map(|_| ())
    }

    fn verify_signature(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<(u64, String), AuthError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .ok_or(AuthError::Missing(name))?
                .to_str()
                .map_err(|_| AuthError::Malformed(name))
        };
        let time: u64 = header(TIME_HEADER)?
            .parse()
            .map_err(|_| AuthError::Malformed(TIME_HEADER))?;
        let nonce = header(NONCE_HEADER)?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::Malformed(NONCE_HEADER));
        }
        let sig = hex_simd::decode_to_vec(header(SIGNATURE_HEADER)?)
            .map_err(|_| AuthError::Malformed(SIGNATURE_HEADER))?;
        self.mac(method, path_and_query, time, nonce)
            .verify_slice(&sig)
            .map_err(|_| AuthError::BadSignature)?;
        let skew = now.abs_diff(time);
        if skew > WINDOW_SECS {
            return Err(AuthError::Skewed(skew));
        }
        Ok((time, nonce.to_string()))
    }
}

/// The nonces of requests accepted within the window.
#[derive(Default)]
pub struct ReplayGuard {
    inner: Mutex<Seen>,
}

/// Accepted nonces in arrival order with their times, and as a set.
#[derive(Default)]
struct Seen {
    order: VecDeque<(u64, String)>,
    nonces: HashSet<String>,
}

impl ReplayGuard {
    fn check(&self, nonce: &str, time: u64, now: u64) -> Result<(), AuthError> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Seen {
            order,
            nonces: seen,
        } = &mut *g;
        while let Some((t, n)) = order.front() {
            if now.saturating_sub(*t) > WINDOW_SECS || order.len() >= MAX_NONCES {
                seen.remove(n);
                order.pop_front();
            } else {
                break;
            }
        }
        // Forgotten early (the list was full): anything not newer than the oldest kept is
        // refused, as its nonce may be among the forgotten.
        if order.len() + 1 >= MAX_NONCES && order.front().is_some_and(|(t, _)| time <= *t) {
            return Err(AuthError::Replayed);
        }
        if !seen.insert(nonce.to_string()) {
            return Err(AuthError::Replayed);
        }
        order.push_back((time, nonce.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(signed: &[(&'static str, String); 3]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in signed {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const SECRET: &str = "cluster-secret-0123456789";

    #[test]
    fn a_signed_request_passes_once() {
        let s = Signer::new(SECRET).unwrap();
        let g = ReplayGuard::default();
        let h = headers(
            &s.sign("PUT", "/rustfs/internode/v1/volumes/3/f?x=1", 1000)
                .unwrap(),
        );
        assert_eq!(
            s.verify("PUT", "/rustfs/internode/v1/volumes/3/f?x=1", &h, 1010, &g),
            Ok(())
        );
        assert_eq!(
            s.verify("PUT", "/rustfs/internode/v1/volumes/3/f?x=1", &h, 1010, &g),
            Err(AuthError::Replayed)
        );
    }

    #[test]
    fn anything_changed_is_refused() {
        let s = Signer::new(SECRET).unwrap();
        let g = ReplayGuard::default();
        let signed = s.sign("GET", "/p?a=1", 1000).unwrap();
        let h = headers(&signed);
        assert_eq!(
            s.verify("PUT", "/p?a=1", &h, 1000, &g),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            s.verify("GET", "/p?a=2", &h, 1000, &g),
            Err(AuthError::BadSignature)
        );
        let other = Signer::new("another-secret-0123456789").unwrap();
        assert_eq!(
            other.verify("GET", "/p?a=1", &h, 1000, &g),
            Err(AuthError::BadSignature)
        );
        let mut later = h.clone();
        later.insert(TIME_HEADER, "1001".parse().unwrap());
        assert_eq!(
            s.verify("GET", "/p?a=1", &later, 1000, &g),
            Err(AuthError::BadSignature)
        );
        let mut bad = h.clone();
        bad.insert(SIGNATURE_HEADER, "zz".parse().unwrap());
        assert_eq!(
            s.verify("GET", "/p?a=1", &bad, 1000, &g),
            Err(AuthError::Malformed(SIGNATURE_HEADER))
        );
        let mut none = h.clone();
        none.remove(NONCE_HEADER);
        assert_eq!(
            s.verify("GET", "/p?a=1", &none, 1000, &g),
            Err(AuthError::Missing(NONCE_HEADER))
        );
        assert_eq!(
            s.verify("GET", "/p?a=1", &HeaderMap::new(), 1000, &g),
            Err(AuthError::Missing(TIME_HEADER))
        );
        // Still good after all that: nothing above was accepted.
        assert_eq!(s.verify("GET", "/p?a=1", &h, 1000, &g), Ok(()));
    }

    #[test]
    fn old_or_future_requests_and_weak_secrets_are_refused() {
        let s = Signer::new(SECRET).unwrap();
        let g = ReplayGuard::default();
        let h = headers(&s.sign("GET", "/p", 1000).unwrap());
        assert_eq!(
            s.verify("GET", "/p", &h, 1000 + WINDOW_SECS + 1, &g),
            Err(AuthError::Skewed(WINDOW_SECS + 1))
        );
        assert_eq!(
            s.verify("GET", "/p", &h, 1000 - WINDOW_SECS - 1, &g),
            Err(AuthError::Skewed(WINDOW_SECS + 1))
        );
        assert!(matches!(Signer::new("short"), Err(AuthError::WeakSecret)));
    }

    #[test]
    fn nonces_are_forgotten_after_the_window() {
        let s = Signer::new(SECRET).unwrap();
        let g = ReplayGuard::default();
        for i in 0..100 {
            let h = headers(&s.sign("GET", "/p", 1000 + i).unwrap());
            assert_eq!(s.verify("GET", "/p", &h, 1000 + i, &g), Ok(()));
        }
        let h = headers(&s.sign("GET", "/p", 2000).unwrap());
        assert_eq!(s.verify("GET", "/p", &h, 2000, &g), Ok(()));
        assert_eq!(
            g.inner.lock().unwrap().order.len(),
            1,
            "the old ones were dropped"
        );
    }
}
