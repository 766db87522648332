//! The bearer token a scrape carries, as MinIO issues one (`mc admin prometheus generate`): a
//! JWT signed HS512 with the secret key of the access key it names, claims `exp` (expiry,
//! seconds since the epoch), `sub` (the access key; MinIO also reads `accessKey`) and `iss`
//! `prometheus`. The key must be allowed `admin:Prometheus` (the root user is).
//! `RUSTFS_PROMETHEUS_AUTH_TYPE=public` (or MinIO's `MINIO_PROMETHEUS_AUTH_TYPE`) lets
//! scrapes through without one.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha384, Sha512};

use crate::auth::Keyring;

/// The issuer MinIO writes and checks.
pub const ISSUER: &str = "prometheus";

/// The admin action a scrape needs.
pub const ACTION: &str = "admin:Prometheus";

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("unsupported signing algorithm")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer")]
    Issuer,
    #[error("unknown access key")]
    UnknownKey,
    #[error("access key may not read metrics")]
    Denied,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, rename = "accessKey", skip_serializing_if = "Option::is_none")]
    access_key: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
}

fn b64(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, TokenError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(s.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed)
}

fn sign(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, TokenError> {
    fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, TokenError> {
        let mut m = <M as KeyInit>::new_from_slice(key).map_err(|_| TokenError::Signature)?;
        m.update(data);
        Ok(m.finalize().into_bytes().to_vec())
    }
    match alg {
        "HS512" => mac::<hmac::Hmac<Sha512>>(key, data),
        "HS384" => mac::<hmac::Hmac<Sha384>>(key, data),
        "HS256" => mac::<hmac::Hmac<Sha256>>(key, data),
        _ => Err(TokenError::Algorithm),
    }
}

/// A token for `access_key` signed with `secret_key`, valid until `exp` (seconds since the
/// epoch): what `mc admin prometheus generate` makes.
pub fn generate(access_key: &str, secret_key: &str, exp: i64) -> String {
    let header = b64(br#"{"alg":"HS512","typ":"JWT"}"#);
    let claims = Claims {
        exp: Some(exp),
        sub: Some(access_key.to_string()),
        access_key: None,
        iss: Some(ISSUER.to_string()),
    };
    let payload = b64(&serde_json::to_vec(&claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let sig = sign("HS512", secret_key.as_bytes(), signing_input.as_bytes()).unwrap_or_default();
    format!("{signing_input}.{}", b64(&sig))
}

/// Checks a token at `now` (seconds since the epoch): `secret_of` gives the secret key of an
/// access key, `None` when there is no such key. Returns the access key it names.
pub fn verify(
    token: &str,
    now: i64,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Header = serde_json::from_slice(&unb64(h)?).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&unb64(p)?).map_err(|_| TokenError::Malformed)?;
    let signature = unb64(s)?;
    let key = claims
        .access_key
        .clone()
        .filter(|k| !k.is_empty())
        .or_else(|| claims.sub.clone().filter(|k| !k.is_empty()))
        .ok_or(TokenError::UnknownKey)?;
    let secret = secret_of(&key).ok_or(TokenError::UnknownKey)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    let expected = sign(&header.alg, secret.as_bytes(), signing_input.as_bytes())?;
    if !constant_time_eq(&expected, &signature) {
        return Err(TokenError::Signature);
    }
    match claims.exp {
        Some(exp) if exp > now => {}
        _ => return Err(TokenError::Expired),
    }
    if claims.iss.as_deref() != Some(ISSUER) {
        return Err(TokenError::Issuer);
    }
    Ok(key)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How scrapes are authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeAuth {
    /// A bearer token (MinIO's `jwt`, the default).
    Jwt,
    /// None needed.
    Public,
}

impl ScrapeAuth {
    /// From `RUSTFS_PROMETHEUS_AUTH_TYPE`, else `MINIO_PROMETHEUS_AUTH_TYPE`: `public` or `jwt`.
    pub fn from_env() -> Self {
        let v = std::env::var("RUSTFS_PROMETHEUS_AUTH_TYPE")
            .or_else(|_| std::env::var("MINIO_PROMETHEUS_AUTH_TYPE"))
            .unwrap_or_default();
        if v.trim().eq_ignore_ascii_case("public") {
            Self::Public
        } else {
            Self::Jwt
        }
    }

    /// Whether a scrape with these headers may read the metrics.
    pub fn check(self, headers: &http::HeaderMap, keys: &Keyring) -> Result<(), TokenError> {
        if self == Self::Public {
            return Ok(());
        }
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(TokenError::Missing)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let user = std::cell::RefCell::new(None);
        verify(token, now, |ak| {
            let u = keys.caller(ak, None).ok()?;
            let secret = u.secret_key.clone();
            *user.borrow_mut() = Some(u);
            Some(secret)
        })?;
        let user = user.into_inner().ok_or(TokenError::UnknownKey)?;
        crate::access::check_admin(Some(&user), keys.root().as_deref(), ACTION)
            .map_err(|_| TokenError::Denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn secret(ak: &str) -> Option<String> {
        (ak == "root").then(|| "rootsecret".to_string())
    }

    #[test]
    fn a_generated_token_verifies() {
        let t = generate("root", "rootsecret", NOW + 60);
        assert_eq!(verify(&t, NOW, secret), Ok("root".to_string()));
    }

    #[test]
    fn refusals() {
        let t = generate("root", "rootsecret", NOW + 60);
        assert_eq!(verify(&t, NOW + 61, secret), Err(TokenError::Expired));
        let forged = generate("root", "other", NOW + 60);
        assert_eq!(verify(&forged, NOW, secret), Err(TokenError::Signature));
        let unknown = generate("nobody", "rootsecret", NOW + 60);
        assert_eq!(verify(&unknown, NOW, secret), Err(TokenError::UnknownKey));
        assert_eq!(verify("a.b", NOW, secret), Err(TokenError::Malformed));
        assert_eq!(verify("", NOW, secret), Err(TokenError::Malformed));
        assert_eq!(verify("a.b.c.d", NOW, secret), Err(TokenError::Malformed));
        // A tampered payload (the signature no longer matches).
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64(br#"{"exp":9999999999,"sub":"root","iss":"prometheus"}"#);
        parts[1] = &other;
        assert_eq!(
            verify(&parts.join("."), NOW, secret),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn unsigned_and_wrong_issuer_tokens_are_refused() {
        let header = b64(br#"{"alg":"none"}"#);
        let payload = b64(br#"{"exp":9999999999,"sub":"root","iss":"prometheus"}"#);
        let t = format!("{header}.{payload}.");
        assert_eq!(verify(&t, NOW, secret), Err(TokenError::Algorithm));
        let header = b64(br#"{"alg":"HS512","typ":"JWT"}"#);
        let payload = b64(br#"{"exp":9999999999,"sub":"root","iss":"someone"}"#);
        let input = format!("{header}.{payload}");
        let sig = b64(&sign("HS512", b"rootsecret", input.as_bytes()).unwrap());
        assert_eq!(
            verify(&format!("{input}.{sig}"), NOW, secret),
            Err(TokenError::Issuer)
        );
        let payload = b64(br#"{"sub":"root","iss":"prometheus"}"#);
        let input = format!("{header}.{payload}");
        let sig = b64(&sign("HS512", b"rootsecret", input.as_bytes()).unwrap());
        assert_eq!(
            verify(&format!("{input}.{sig}"), NOW, secret),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn minio_access_key_claim_and_hs256_are_accepted() {
        let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64(br#"{"exp":9999999999,"accessKey":"root","iss":"prometheus"}"#);
        let input = format!("{header}.{payload}");
        let sig = b64(&sign("HS256", b"rootsecret", input.as_bytes()).unwrap());
        assert_eq!(
            verify(&format!("{input}.{sig}"), NOW, secret),
            Ok("root".to_string())
        );
    }
}
