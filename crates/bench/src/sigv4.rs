//! AWS Signature Version 4 for header-signed requests with `UNSIGNED-PAYLOAD`, so the client
//! never hashes bodies. The derived signing key is cached per day.

use std::sync::Mutex;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

pub struct Signer {
    access_key: String,
    secret_key: String,
    region: String,
    key: Mutex<Option<(String, [u8; 32])>>,
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// RFC 3986 unreserved characters pass; everything else is %XX (and `/` too unless a path).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `20260101T000000Z` and `20260101`.
fn amz_dates(now: time::OffsetDateTime) -> (String, String) {
    let (y, m, d) = (now.year(), u8::from(now.month()), now.day());
    let date = format!("{y:04}{m:02}{d:02}");
    let full = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    (full, date)
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: region.into(),
            key: Mutex::new(None),
        }
    }

    fn signing_key(&self, date: &str) -> [u8; 32] {
        let mut cache = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((d, k)) = cache.as_ref()
            && d == date
        {
            return *k;
        }
        let k = ["s3", "aws4_request"].iter().fold(
            hmac(
                hmac(
                    format!("AWS4{}", self.secret_key).as_bytes(),
                    date.as_bytes(),
                )
                .as_slice(),
                self.region.as_bytes(),
            ),
            |k, part| hmac(&k, part.as_bytes()),
        );
        *cache = Some((date.to_string(), k));
        k
    }

    /// Headers to add: `x-amz-date`, `x-amz-content-sha256`, `authorization`. `path` is already
    /// URI-encoded; `query` pairs are raw; `extra` are further headers to sign (lower-case
    /// names), sorted by name.
    pub fn sign(
        &self,
        method: &str,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> [(String, String); 3] {
        let (amz_date, date) = amz_dates(time::OffsetDateTime::now_utc());
        let mut q: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
            .collect();
        q.sort();
        let canonical_query = q
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", host),
            ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
            ("x-amz-date", &amz_date),
        ];
        headers.extend_from_slice(extra);
        headers.sort_by(|a, b| a.0.cmp(b.0));
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let canonical = format!(
            "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed}\n{UNSIGNED_PAYLOAD}"
        );
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let signature = hex(&hmac(&self.signing_key(&date), to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.access_key
        );
        [
            ("x-amz-date".into(), amz_date),
            ("x-amz-content-sha256".into(), UNSIGNED_PAYLOAD.into()),
            ("authorization".into(), auth),
        ]
    }
}

fn hex(b: &[u8]) -> String {
    hex_simd::encode_to_string(b, hex_simd::AsciiCase::Lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_the_aws_example() {
        // From the AWS SigV4 documentation: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
        // 20120215, us-east-1, iam.
        let k = ["iam", "aws4_request"].iter().fold(
            hmac(
                hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215").as_slice(),
                b"us-east-1",
            ),
            |k, part| hmac(&k, part.as_bytes()),
        );
        assert_eq!(
            hex(&k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode("a b/c~", true), "a%20b/c~");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
