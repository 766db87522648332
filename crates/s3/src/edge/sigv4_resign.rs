//! Rewriting a header that a SigV4 signature covers: [`resign`] verifies the request's
//! signature itself (header auth or presigned URL, with the secret from [`Keyring`]), lets the
//! caller change the headers, and signs the changed request again with the same credentials,
//! date and scope, so s3s' own verification then accepts it. The edge uses it for one thing:
//! a signed `Range` that s3s 0.14 cannot parse (`super::range_header`).
//!
//! It fails closed: a request that does not pass this verification, or that it does not fully
//! understand (SigV2, POST forms, streaming payloads, unknown keys, malformed fields), is left
//! unchanged, so s3s verifies it as sent and answers its normal error. No request gets a fresh
//! signature without having carried a valid one.
//!
//! The canonical request is built exactly as s3s 0.14 builds it (`sig_v4/methods.rs`,
//! `ops/signature.rs`): the query decoded as a form (`serde_urlencoded`) then re-encoded and
//! stably sorted by name, signed headers looked up by their exact lower-case name with
//! missing ones left out, values trimmed and inner whitespace collapsed, values of one name
//! joined by `,`, and the raw-path variant tried when the path holds characters S3 encodes.
//! What s3s checks besides the signature (clock skew, expiry, region) it still checks: the
//! date, scope and expiry are never changed here. Crypto is RustCrypto's `hmac` and `sha2`
//! (constant-time comparison by `Mac::verify_slice`).

use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderValue, Method, Request, Uri, Version, header};
use sha2::{Digest, Sha256};

use crate::auth::Keyring;

type HmacSha256 = hmac::Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Where the signature is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Header,
    Query,
}

/// The parts of a SigV4 signature that verification and re-signing need.
#[derive(Debug)]
struct Signed {
    carrier: Carrier,
    access_key: String,
    /// `YYYYMMDDTHHMMSSZ`, as sent (s3s formats its parse the same way).
    amz_date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: [u8; 32],
    /// The hashed payload line (header auth: `x-amz-content-sha256`; presigned: unsigned).
    payload: String,
}

/// Verifies the request's SigV4 signature; when it is valid, applies `rewrite` to the headers
/// and replaces the signature with one over the rewritten request. Returns whether it did.
/// Otherwise the request is untouched (see the module doc).
pub fn resign<B>(
    req: &mut Request<B>,
    keys: &Keyring,
    rewrite: impl FnOnce(&mut HeaderMap),
) -> bool {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return false;
    }
    let query = decoded_query(req.uri());
    let raw_query = req.uri().query().unwrap_or_default();
    let Some(signed) = signed_parts(req.headers(), raw_query, &query) else {
        return false;
    };
    let Some(secret) = keys.secret(&signed.access_key) else {
        return false;
    };
    let key = signing_key(&secret, &signed);
    let raw_path = req.uri().path().to_owned();
    let Some(decoded_path) = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
    else {
        return false;
    };
    let mut paths = vec![Path::Encoded(decoded_path)];
    if has_unencoded_reserved_path_char(&raw_path) {
        paths.push(Path::Raw(raw_path));
    }
    let Some(path) = paths.into_iter().find(|path| {
        let canonical = canonical_request(req, path, &query, &signed);
        mac(&key, &signed, &canonical)
            .verify_slice(&signed.signature)
            .is_ok()
    }) else {
        return false;
    };

    let original = req.headers().clone();
    rewrite(req.headers_mut());
    let canonical = canonical_request(req, &path, &query, &signed);
    let fresh = hex(&mac(&key, &signed, &canonical).finalize().into_bytes());
    let replaced = match signed.carrier {
        Carrier::Header => replace_header_signature(req.headers_mut(), &fresh),
        Carrier::Query => replace_query_signature(req, &fresh),
    };
    if !replaced {
        *req.headers_mut() = original;
    }
    replaced
}

/// Who signed a request whose body was read whole (the IAM and STS query API, which s3s does
/// not serve): the access key, its credential scope and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    pub region: String,
    pub service: String,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
}

/// Verifies a header-signed SigV4 request over its whole `body` (the payload hash is the
/// body's, whether or not `x-amz-content-sha256` was sent; if sent, it must match). `None`:
/// not signed this way, an unknown or refused key, or a wrong signature. The caller checks the
/// date and the service.
pub fn verify_with_body<B>(req: &Request<B>, body: &[u8], keys: &Keyring) -> Option<Verified> {
    let query = decoded_query(req.uri());
    let authorization = unique_header(req.headers(), header::AUTHORIZATION.as_str())?;
    let hashed = hex(&Sha256::digest(body));
    let signed = header_parts(authorization, req.headers(), Some(&hashed))?;
    if signed.payload != hashed {
        return None;
    }
    let secret = keys.secret(&signed.access_key)?;
    let key = signing_key(&secret, &signed);
    let raw_path = req.uri().path().to_owned();
    let decoded = percent_encoding::percent_decode_str(&raw_path)
        .decode_utf8()
        .ok()?
        .into_owned();
    let canonical = canonical_request(req, &Path::Encoded(decoded), &query, &signed);
    mac(&key, &signed, &canonical)
        .verify_slice(&signed.signature)
        .ok()?;
    Some(Verified {
        access_key: signed.access_key,
        region: signed.region,
        service: signed.service,
        amz_date: signed.amz_date,
    })
}

/// The query as s3s reads it: decoded as a form, stably sorted by name. An unparsable query
/// yields none (s3s refuses it before any signature check).
fn decoded_query(uri: &Uri) -> Vec<(String, String)> {
    let mut qs: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    qs.sort_by(|a, b| a.0.cmp(&b.0));
    qs
}

fn unique<'a>(qs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut all = qs.iter().filter(|(n, _)| n == name);
    let first = all.next()?;
    all.next().is_none().then_some(first.1.as_str())
}

fn unique_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut all = headers.get_all(name).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// The signature's parts, following s3s' order of precedence: SigV2 (query, then header)
/// first, then a presigned SigV4 URL, then the SigV4 `Authorization` header.
fn signed_parts(headers: &HeaderMap, raw_query: &str, qs: &[(String, String)]) -> Option<Signed> {
    if qs.iter().any(|(n, _)| n == "Signature") {
        return None;
    }
    let authorization = unique_header(headers, header::AUTHORIZATION.as_str());
    if authorization.is_some_and(|a| a.starts_with("AWS ") && a.contains(':')) {
        return None;
    }
    if qs.iter().any(|(n, _)| n == "X-Amz-Signature") {
        return presigned_parts(qs).filter(|_| raw_signature_pairs(raw_query) == 1);
    }
    header_parts(authorization?, headers, None)
}

fn presigned_parts(qs: &[(String, String)]) -> Option<Signed> {
    if unique(qs, "X-Amz-Algorithm")? != ALGORITHM {
        return None;
    }
    let (access_key, date, region, service) = credential(unique(qs, "X-Amz-Credential")?)?;
    let amz_date = unique(qs, "X-Amz-Date")?;
    unique(qs, "X-Amz-Expires")?.parse::<u32>().ok()?;
    let signed_headers = unique(qs, "X-Amz-SignedHeaders")?;
    if !signed_headers.is_ascii() || !is_amz_date(amz_date) || &amz_date[..8] != date {
        return None;
    }
    Some(Signed {
        carrier: Carrier::Query,
        access_key: access_key.to_owned(),
        amz_date: amz_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature: signature_bytes(unique(qs, "X-Amz-Signature")?)?,
        payload: UNSIGNED_PAYLOAD.to_owned(),
    })
}

/// `payload`: the hashed payload when the request carries no `x-amz-content-sha256` (services
/// other than S3 sign the body's hash without sending it).
fn header_parts(authorization: &str, headers: &HeaderMap, payload: Option<&str>) -> Option<Signed> {
    let fields = AuthorizationFields::parse(authorization)?;
    let (access_key, date, region, service) = credential(fields.credential)?;
    let amz_date = unique_header(headers, "x-amz-date")?;
    if !is_amz_date(amz_date) || &amz_date[..8] != date {
        return None;
    }
    let payload = match (unique_header(headers, "x-amz-content-sha256"), payload) {
        (Some(sent), Some(hashed)) if sent != hashed => return None,
        (Some(sent), _) => sent,
        (None, hashed) => hashed?,
    };
    if payload != UNSIGNED_PAYLOAD && !is_lower_hex_sha256(payload) {
        return None; // streaming payloads chain chunk signatures from this one: not for us
    }
    let mut signed_headers: Vec<String> = fields
        .signed_headers
        .split(';')
        .map(str::to_owned)
        .collect();
    signed_headers.sort_unstable();
    Some(Signed {
        carrier: Carrier::Header,
        access_key: access_key.to_owned(),
        amz_date: amz_date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature_bytes(fields.signature)?,
        payload: payload.to_owned(),
    })
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` (spaces after the commas
/// optional), as s3s parses it.
struct AuthorizationFields<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> AuthorizationFields<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let rest = value.strip_prefix(ALGORITHM)?;
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.len() == value.len() - ALGORITHM.len() {
            return None; // at least one space after the algorithm
        }
        let rest = rest.strip_prefix("Credential=")?;
        let (credential, rest) = rest.split_once(',')?;
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let rest = rest.strip_prefix("SignedHeaders=")?;
        let (signed_headers, rest) = rest.split_once(',')?;
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let signature = rest.strip_prefix("Signature=")?;
        let signature = signature.trim_end_matches(|c: char| c.is_ascii_whitespace());
        if signature.contains(|c: char| c.is_ascii_whitespace()) || signed_headers.is_empty() {
            return None;
        }
        Some(Self {
            credential,
            signed_headers,
            signature,
        })
    }
}

/// `AK/YYYYMMDD/region/service/aws4_request` into its parts.
fn credential(value: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = value.splitn(5, '/');
    let access_key = parts.next()?;
    let date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    if parts.next()? != "aws4_request"
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
        || service.is_empty()
        || !matches!(service, "s3" | "sts" | "iam")
    {
        return None;
    }
    Some((access_key, date, region, service))
}

fn is_amz_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

fn is_lower_hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A signature as s3s accepts it (64 lower-case hex digits) into bytes.
fn signature_bytes(s: &str) -> Option<[u8; 32]> {
    if !is_lower_hex_sha256(s) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
        let nibble = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
        out[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    mac_with(key, data).finalize().into_bytes().into()
}

fn mac_with(key: &[u8], data: &[u8]) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m
}

fn signing_key(secret: &str, s: &Signed) -> [u8; 32] {
    let k = hmac(
        format!("AWS4{secret}").as_bytes(),
        &s.amz_date.as_bytes()[..8],
    );
    let k = hmac(&k, s.region.as_bytes());
    let k = hmac(&k, s.service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The keyed MAC over the string to sign, not yet finalized.
fn mac(key: &[u8; 32], s: &Signed, canonical: &str) -> HmacSha256 {
    let hashed = hex(&Sha256::digest(canonical.as_bytes()));
    let to_sign = format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{hashed}",
        s.amz_date,
        &s.amz_date[..8],
        s.region,
        s.service
    );
    mac_with(key, to_sign.as_bytes())
}

/// The canonical URI: the decoded path encoded again (S3's one encoding), or, as s3s' second
/// try, the path as sent.
enum Path {
    Encoded(String),
    Raw(String),
}

fn has_unencoded_reserved_path_char(path: &str) -> bool {
    path.bytes().any(|b| {
        !matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'%')
    })
}

fn uri_encode(out: &mut String, s: &str, encode_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'~' | b'.' => {
                out.push(b as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Trims and collapses inner whitespace, as s3s does.
fn push_normalized(out: &mut String, value: &str) {
    let mut words = value.split_whitespace();
    if let Some(first) = words.next() {
        out.push_str(first);
    }
    for word in words {
        out.push(' ');
        out.push_str(word);
    }
}

fn canonical_request<B>(
    req: &Request<B>,
    path: &Path,
    query: &[(String, String)],
    s: &Signed,
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(req.method().as_str());
    out.push('\n');
    match path {
        Path::Encoded(decoded) => uri_encode(&mut out, decoded, false),
        Path::Raw(raw) => out.push_str(raw),
    }
    out.push('\n');

    let mut encoded: Vec<(String, String)> = query
        .iter()
        .filter(|(n, _)| s.carrier == Carrier::Header || n != "X-Amz-Signature")
        .map(|(n, v)| {
            let (mut name, mut value) = (String::new(), String::new());
            uri_encode(&mut name, n, true);
            uri_encode(&mut value, v, true);
            (name, value)
        })
        .collect();
    encoded.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs: Vec<String> = encoded.iter().map(|(n, v)| format!("{n}={v}")).collect();
    out.push_str(&pairs.join("&"));
    out.push('\n');

    // The signed headers present, one (name, value) per value, in the signed order.
    let authority = req.uri().authority().map(|a| a.as_str());
    let h2_host = match s.carrier {
        Carrier::Header => req.version() == Version::HTTP_2,
        Carrier::Query => matches!(req.version(), Version::HTTP_2 | Version::HTTP_3),
    };
    let mut present: Vec<(&str, &str)> = Vec::new();
    for name in &s.signed_headers {
        let before = present.len();
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            for v in req.headers().get_all(name.as_str()) {
                if let Ok(v) = std::str::from_utf8(v.as_bytes()) {
                    present.push((name, v));
                }
            }
        }
        if present.len() == before
            && name == "host"
            && h2_host
            && let Some(a) = authority
        {
            present.push((name, a));
        }
    }
    present.retain(|(n, _)| *n != "authorization");
    let mut names: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < present.len() {
        let name = present[i].0;
        out.push_str(name);
        out.push(':');
        push_normalized(&mut out, present[i].1);
        let mut j = i + 1;
        while j < present.len() && present[j].0 == name {
            out.push(',');
            push_normalized(&mut out, present[j].1);
            j += 1;
        }
        out.push('\n');
        names.push(name);
        i = j;
    }
    out.push('\n');
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(&s.payload);
    out
}

/// Swaps the `Signature=` value of the `Authorization` header for `fresh`.
fn replace_header_signature(headers: &mut HeaderMap, fresh: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(at) = value.rfind("Signature=") else {
        return false;
    };
    let start = at + "Signature=".len();
    let end = start + 64;
    if value.len() < end {
        return false;
    }
    let replaced = format!("{}{fresh}{}", &value[..start], &value[end..]);
    match HeaderValue::from_str(&replaced) {
        Ok(v) => {
            headers.insert(header::AUTHORIZATION, v);
            true
        }
        Err(_) => false,
    }
}

/// How many `X-Amz-Signature=` pairs the query holds as sent (the one
/// [`replace_query_signature`] swaps must be spelled plainly).
fn raw_signature_pairs(raw_query: &str) -> usize {
    raw_query
        .split('&')
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, _)| k == "X-Amz-Signature")
        })
        .count()
}

/// Swaps the `X-Amz-Signature` query value for `fresh`, leaving the rest of the URI as sent.
fn replace_query_signature<B>(req: &mut Request<B>, fresh: &str) -> bool {
    let Some(query) = req.uri().query() else {
        return false;
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("X-Amz-Signature", _)) => format!("X-Amz-Signature={fresh}"),
            _ => pair.to_owned(),
        })
        .collect();
    let path_and_query = format!("{}?{}", req.uri().path(), pairs.join("&"));
    let mut parts = req.uri().clone().into_parts();
    let Ok(pq) = path_and_query.parse() else {
        return false;
    };
    parts.path_and_query = Some(pq);
    match Uri::from_parts(parts) {
        Ok(uri) => {
            *req.uri_mut() = uri;
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
