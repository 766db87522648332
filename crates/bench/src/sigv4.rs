//! AWS Signature Version 4 for header-signed requests with `UNSIGNED-PAYLOAD`, so the client
//! never hashes bodies.
//!
//! Built for a load generator's hot path: one `Signer` per connection (no lock), the keyed
//! HMAC state of the day's signing key kept and cloned per request, the date strings and the
//! scope formatted once per second, the canonical request fed straight into SHA-256 (never
//! assembled as a string), and the `Authorization` value written into a reused buffer.

use http::HeaderValue;
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Signed headers when the caller adds none of its own.
const DEFAULT_SIGNED: &str = "host;x-amz-content-sha256;x-amz-date";

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut m =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Appends `s` to `out`: RFC 3986 unreserved characters pass; everything else is %XX (and `/`
/// too unless a path).
pub fn uri_encode_into(out: &mut String, s: &str, keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// RFC 3986 unreserved characters pass; everything else is %XX (and `/` too unless a path).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    uri_encode_into(&mut out, s, keep_slash);
    out
}

/// Lower-case hex of 32 bytes, on the stack.
fn hex32(b: &[u8; 32]) -> [u8; 64] {
    use hex_simd::AsOut;
    let mut out = [0u8; 64];
    let _ = hex_simd::encode(b, out.as_mut_slice().as_out(), hex_simd::AsciiCase::Lower);
    out
}

/// `20260101T000000Z` for a Unix time in seconds.
fn amz_date(unix: i64) -> String {
    let now =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Now, in Unix seconds (what [`Signer::sign_at`] takes).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What a signed request carries besides `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
pub struct Signed<'a> {
    /// `x-amz-date`, shared (cloning it does not copy).
    pub amz_date: &'a HeaderValue,
    /// The `Authorization` header value.
    pub authorization: &'a str,
}

/// Signs requests for one access key and region. Not shared between tasks: each connection
/// has its own, so nothing is locked.
pub struct Signer {
    access_key: String,
    secret_key: String,
    region: String,
    /// The Unix second the fields below were made for (`i64::MIN`: not yet).
    second: i64,
    /// `20260101T000000Z`.
    amz_date: String,
    amz_date_value: HeaderValue,
    /// `20260101`, the day `mac` and `scope` are for.
    day: String,
    /// `20260101/us-east-1/s3/aws4_request`.
    scope: String,
    /// HMAC keyed with the day's signing key (cloned for each request).
    mac: HmacSha256,
    /// `AWS4-HMAC-SHA256 Credential=AK/SCOPE, SignedHeaders=`.
    auth_prefix: String,
    /// The last `Authorization` value.
    auth: String,
}

impl Clone for Signer {
    fn clone(&self) -> Self {
        Self::new(&self.access_key, &self.secret_key, &self.region)
    }
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Self {
        use hmac::KeyInit;
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: region.into(),
            second: i64::MIN,
            amz_date: String::new(),
            amz_date_value: HeaderValue::from_static(""),
            day: String::new(),
            scope: String::new(),
            mac: <HmacSha256 as KeyInit>::new_from_slice(&[]).expect("any key length"),
            auth_prefix: String::new(),
            auth: String::with_capacity(256),
        }
    }

    /// The derived signing key of a day (`20260101`).
    fn signing_key(&self, day: &str) -> [u8; 32] {
        ["s3", "aws4_request"].iter().fold(
            hmac(
                hmac(
                    format!("AWS4{}", self.secret_key).as_bytes(),
                    day.as_bytes(),
                )
                .as_slice(),
                self.region.as_bytes(),
            ),
            |k, part| hmac(&k, part.as_bytes()),
        )
    }

    /// Moves the cached dates to `unix` (and the key, scope and prefix to its day).
    fn set_time(&mut self, unix: i64) {
        use hmac::KeyInit;
        self.second = unix;
        self.amz_date = amz_date(unix);
        self.amz_date_value =
            HeaderValue::from_str(&self.amz_date).expect("a date is a valid header value");
        if self.day != self.amz_date[..8] {
            self.day = self.amz_date[..8].to_string();
            let key = self.signing_key(&self.day);
            self.mac = <HmacSha256 as KeyInit>::new_from_slice(&key).expect("any key length");
            self.scope = format!("{}/{}/s3/aws4_request", self.day, self.region);
            self.auth_prefix = format!(
                "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders=",
                self.access_key, self.scope
            );
        }
    }

    /// Signs a request made at `unix` (seconds). `path` is already URI-encoded; `query` pairs
    /// are raw; `extra` are further headers to sign (lower-case names).
    pub fn sign_at(
        &mut self,
        unix: i64,
        method: &str,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Signed<'_> {
        use hmac::Mac;
        if unix != self.second {
            self.set_time(unix);
        }
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(b"\n");
        h.update(path.as_bytes());
        h.update(b"\n");
        if !query.is_empty() {
            let mut q: Vec<(String, String)> = query
                .iter()
                .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
                .collect();
            q.sort();
            for (i, (k, v)) in q.iter().enumerate() {
                if i > 0 {
                    h.update(b"&");
                }
                h.update(k.as_bytes());
                h.update(b"=");
                h.update(v.as_bytes());
            }
        }
        h.update(b"\n");
        self.auth.clear();
        self.auth.push_str(&self.auth_prefix);
        let date = self.amz_date.as_str();
        if extra.is_empty() {
            h.update(b"host:");
            h.update(host.trim().as_bytes());
            h.update(b"\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:");
            h.update(date.as_bytes());
            h.update(b"\n\n");
            h.update(DEFAULT_SIGNED.as_bytes());
            self.auth.push_str(DEFAULT_SIGNED);
        } else {
            let mut headers: Vec<(&str, &str)> = vec![
                ("host", host),
                ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
                ("x-amz-date", date),
            ];
            headers.extend_from_slice(extra);
            headers.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in &headers {
                h.update(k.as_bytes());
                h.update(b":");
                h.update(v.trim().as_bytes());
                h.update(b"\n");
            }
            h.update(b"\n");
            for (i, (k, _)) in headers.iter().enumerate() {
                if i > 0 {
                    h.update(b";");
                    self.auth.push(';');
                }
                h.update(k.as_bytes());
                self.auth.push_str(k);
            }
        }
        h.update(b"\n");
        h.update(UNSIGNED_PAYLOAD.as_bytes());
        let canonical_hash = hex32(&h.finalize().into());
        let mut mac = self.mac.clone();
        mac.update(b"AWS4-HMAC-SHA256\n");
        mac.update(date.as_bytes());
        mac.update(b"\n");
        mac.update(self.scope.as_bytes());
        mac.update(b"\n");
        mac.update(&canonical_hash);
        let signature = hex32(&mac.finalize().into_bytes().into());
        self.auth.push_str(", Signature=");
        self.auth
            .push_str(std::str::from_utf8(&signature).expect("hex is ASCII"));
        Signed {
            amz_date: &self.amz_date_value,
            authorization: &self.auth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        hex_simd::encode_to_string(b, hex_simd::AsciiCase::Lower)
    }

    /// The signer this module had before it was made allocation-free, kept to check that the
    /// fast one signs byte for byte the same.
    fn reference_sign(
        (access_key, secret_key, region): (&str, &str, &str),
        now: time::OffsetDateTime,
        method: &str,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> [(String, String); 3] {
        let (y, m, d) = (now.year(), u8::from(now.month()), now.day());
        let date = format!("{y:04}{m:02}{d:02}");
        let amz_date = format!(
            "{date}T{:02}{:02}{:02}Z",
            now.hour(),
            now.minute(),
            now.second()
        );
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
        let scope = format!("{date}/{region}/s3/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let key = ["s3", "aws4_request"].iter().fold(
            hmac(
                hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes()).as_slice(),
                region.as_bytes(),
            ),
            |k, part| hmac(&k, part.as_bytes()),
        );
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        );
        [
            ("x-amz-date".into(), amz_date),
            ("x-amz-content-sha256".into(), UNSIGNED_PAYLOAD.into()),
            ("authorization".into(), auth),
        ]
    }

    #[test]
    fn signs_like_the_reference_signer() {
        let keys = ("bench", "benchsecret", "us-east-1");
        let mut s = Signer::new(keys.0, keys.1, keys.2);
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, &'a str)],
        );
        let cases: [Case; 5] = [
            ("GET", "/b/p0/o17", &[], &[]),
            (
                "PUT",
                "/b/a%20b/c~",
                &[("partNumber", "3"), ("uploadId", "x/y=")],
                &[],
            ),
            (
                "POST",
                "/b",
                &[("delete", "")],
                &[("content-md5", " abc== ")],
            ),
            (
                "GET",
                "/b",
                &[
                    ("prefix", "bench-1/"),
                    ("list-type", "2"),
                    ("max-keys", "1000"),
                ],
                &[],
            ),
            (
                "HEAD",
                "/b/k",
                &[],
                &[("x-amz-meta-z", "1"), ("content-type", "a/b")],
            ),
        ];
        // Two days, and the same second twice (the cached date and key are reused).
        for unix in [
            1_767_225_599i64,
            1_767_225_600,
            1_767_225_600,
            1_790_000_123,
        ] {
            let now = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
            for (method, path, query, extra) in cases {
                let want = reference_sign(keys, now, method, "127.0.0.1:9000", path, query, extra);
                let got = s.sign_at(unix, method, "127.0.0.1:9000", path, query, extra);
                assert_eq!(got.amz_date.to_str().unwrap(), want[0].1);
                assert_eq!(got.authorization, want[2].1, "{method} {path} at {unix}");
            }
        }
    }

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
        assert_eq!(hex32(&k).as_slice(), hex(&k).as_bytes());
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode("a b/c~", true), "a%20b/c~");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("é\u{1}", false), "%C3%A9%01");
    }
}
