//! Browser-form uploads (POST Object), prepared before s3s parses them.
//!
//! s3s 0.14 verifies a form's signature and policy and turns the form into a PutObject input,
//! but it departs from S3 in ways this module makes up for, on the raw form:
//! - `${filename}` in the `key` field becomes the uploaded file's name, before the policy is
//!   checked (as S3 does);
//! - S3 takes the canned ACL from an `acl` field and tags from a `tagging` field (XML); s3s reads
//!   neither, so both go to the POST handler in [`FormExtras`];
//! - `x-amz-checksum-*` fields need no policy condition on S3, but s3s refuses any field the
//!   policy does not cover; one the policy does not name goes to [`FormExtras`] instead;
//! - a policy's `expiration` must be an ISO 8601 UTC time (`2026-01-01T00:00:00Z`); s3s accepts
//!   other formats;
//! - a form with a policy but no signature is `400` before any condition is looked at; s3s
//!   would treat it as anonymous and fail a condition;
//! - a field that breaks a policy condition is `403 AccessDenied`; s3s answers `400
//!   InvalidPolicyDocument`, its code for an unparseable policy too. [`prepare`] tells which
//!   condition breaks (`super::post_policy`) so the edge can replace that answer.
//!
//! The form is read into memory, as s3s does anyway, up to [`MAX_FORM_SIZE`]; the fields after
//! the file are dropped, as S3 ignores them.

use std::convert::Infallible;

use super::post_policy::{self, FormFields};
use super::request_error::RequestError;
use crate::POST_OBJECT_MAX_FILE_SIZE;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Limited};

/// The largest form read: the largest file plus room for the other fields.
pub const MAX_FORM_SIZE: usize = POST_OBJECT_MAX_FILE_SIZE as usize + (1 << 20);

/// What S3 reads from a form that s3s does not pass on (a request extension).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormExtras {
    /// The `acl` field: a canned ACL.
    pub acl: Option<String>,
    /// The `tagging` field: a `<Tagging>` document.
    pub tagging: Option<String>,
    /// `x-amz-checksum-*` fields taken out of the form: (field name, value).
    pub checksums: Vec<(String, String)>,
}

/// Whether the request is a browser-form upload.
pub fn is_form_post<B>(req: &Request<B>) -> bool {
    req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            })
}

struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

fn malformed(why: impl std::fmt::Display) -> RequestError {
    RequestError::MalformedForm(why.to_string())
}

/// A form ready for s3s.
pub(crate) struct PreparedForm {
    /// The rewritten form, with its length, and a [`FormExtras`] extension.
    pub request: Request<s3s::Body>,
    /// The policy condition the form breaks, if one does (`super::post_policy`).
    pub broken_condition: Option<String>,
}

/// Reads the form, applies the S3 rules above, and returns the request to hand to s3s.
/// `url_bucket`: the bucket the request's URL addresses.
pub(crate) async fn prepare(
    req: Request<s3s::Body>,
    url_bucket: Option<&str>,
) -> Result<PreparedForm, RequestError> {
    let (mut head, body) = req.into_parts();
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let raw = match Limited::new(body, MAX_FORM_SIZE).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(RequestError::FormTooLarge);
        }
        Err(e) => return Err(RequestError::BodyUnreadable(e.to_string())),
    };
    let mut parts = read_parts(raw, boundary).await?;
    let extras = apply_s3_rules(&mut parts)?;
    let broken_condition = broken_condition(&parts, url_bucket);
    let new_boundary = format!("rustfs-form-{:016x}", rand_u64());
    let form = encode(&parts, &new_boundary);
    let h = &mut head.headers;
    h.remove(header::TRANSFER_ENCODING);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(form.len()));
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/form-data; boundary={new_boundary}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    head.extensions.insert(extras);
    Ok(PreparedForm {
        request: Request::from_parts(head, chunked(form)),
        broken_condition,
    })
}

/// The policy condition the fields before the file break, for the file's size.
fn broken_condition(parts: &[Part], url_bucket: Option<&str>) -> Option<String> {
    let (file, fields): (Vec<&Part>, Vec<&Part>) = parts
        .iter()
        .partition(|p| p.name.eq_ignore_ascii_case("file"));
    let fields = FormFields::new(
        fields
            .into_iter()
            .filter_map(|p| Some((p.name.as_str(), text(p)?))),
    );
    let size = file.first().map_or(0, |f| f.data.len() as u64);
    post_policy::broken_condition(&fields, size, url_bucket)
}

/// The form as a stream of chunks: s3s' form parser refuses a single read larger than its
/// field-size budget (20 MiB), as if the fields alone were that large.
fn chunked(form: Bytes) -> s3s::Body {
    const CHUNK: usize = 1 << 20;
    let frames = (0..form.len().div_ceil(CHUNK)).map(move |i| {
        let end = form.len().min((i + 1) * CHUNK);
        Ok::<_, Infallible>(http_body::Frame::data(form.slice(i * CHUNK..end)))
    });
    s3s::Body::http_body(http_body_util::StreamBody::new(futures::stream::iter(
        frames,
    )))
}

async fn read_parts(raw: Bytes, boundary: String) -> Result<Vec<Part>, RequestError> {
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(raw) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let is_file = name.eq_ignore_ascii_case("file");
        let data = field.bytes().await.map_err(malformed)?;
        parts.push(Part {
            name,
            filename,
            content_type,
            data,
        });
        if is_file {
            break;
        }
    }
    Ok(parts)
}

fn field<'a>(parts: &'a [Part], name: &str) -> Option<&'a Part> {
    parts.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn text(p: &Part) -> Option<&str> {
    std::str::from_utf8(&p.data).ok()
}

fn apply_s3_rules(parts: &mut Vec<Part>) -> Result<FormExtras, RequestError> {
    let policy = match field(parts, "policy").map(|p| p.data.clone()) {
        Some(b64) => Some(decoded_policy(&b64)?),
        None => None,
    };
    if policy.is_some() && field(parts, "signature").is_none() {
        let v4 = field(parts, "x-amz-signature").is_some();
        if !v4 {
            return Err(RequestError::FormSignatureMissing);
        }
    }
    if let Some(filename) = field(parts, "file").and_then(|f| f.filename.clone())
        && let Some(key) = parts
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case("key"))
        && let Some(k) = text(key).filter(|k| k.contains("${filename}"))
    {
        key.data = Bytes::from(k.replace("${filename}", &filename));
    }
    let mut extras = FormExtras {
        acl: field(parts, "acl").and_then(text).map(str::to_owned),
        tagging: field(parts, "tagging").and_then(text).map(str::to_owned),
        checksums: Vec::new(),
    };
    let policy_text = policy.map(|p| p.to_string()).unwrap_or_default();
    parts.retain(|p| {
        let name = p.name.to_ascii_lowercase();
        let unnamed_checksum =
            name.starts_with("x-amz-checksum-") && !policy_text.contains(&format!("\"${name}\""));
        if unnamed_checksum && let Some(v) = text(p) {
            extras.checksums.push((name, v.to_owned()));
            return false;
        }
        true
    });
    Ok(extras)
}

/// The policy document, with its `expiration` checked; a policy that is not base64 JSON is
/// left for s3s to refuse.
fn decoded_policy(b64: &[u8]) -> Result<serde_json::Value, RequestError> {
    let Some(doc) = base64_simd::STANDARD
        .decode_to_vec(b64.trim_ascii())
        .ok()
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
    else {
        return Ok(serde_json::Value::Null);
    };
    if let Some(exp) = doc.get("expiration")
        && !exp.as_str().is_some_and(is_iso8601_utc)
    {
        return Err(RequestError::PolicyExpirationInvalid(exp.to_string()));
    }
    Ok(doc)
}

/// `YYYY-MM-DDThh:mm:ss[.fff]Z`, the form S3's policy documents use.
fn is_iso8601_utc(s: &str) -> bool {
    s.ends_with('Z')
        && s.as_bytes().get(10) == Some(&b'T')
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn encode(parts: &[Part], boundary: &str) -> Bytes {
    let quote = |s: &str| s.replace('"', "%22").replace(['\r', '\n'], " ");
    let mut out = BytesMut::with_capacity(parts.iter().map(|p| p.data.len() + 160).sum());
    for p in parts {
        out.put_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quote(&p.name)
        );
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        out.put_slice(disposition.as_bytes());
        out.put_slice(b"\r\n");
        if let Some(ct) = &p.content_type {
            out.put_slice(format!("Content-Type: {}\r\n", quote(ct)).as_bytes());
        }
        out.put_slice(b"\r\n");
        out.put_slice(&p.data);
        out.put_slice(b"\r\n");
    }
    out.put_slice(format!("--{boundary}--\r\n").as_bytes());
    out.freeze()
}

/// A boundary that cannot be guessed from the outside (it only needs to be absent from the
/// parts, which a random 64-bit value is, for any practical purpose).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)], file: (&str, &[u8])) -> Request<s3s::Body> {
        let mut parts: Vec<Part> = fields
            .iter()
            .map(|(n, v)| Part {
                name: n.to_string(),
                filename: None,
                content_type: None,
                data: Bytes::copy_from_slice(v.as_bytes()),
            })
            .collect();
        parts.push(Part {
            name: "file".into(),
            filename: Some(file.0.into()).filter(|f: &String| !f.is_empty()),
            content_type: Some("text/plain".into()),
            data: Bytes::copy_from_slice(file.1),
        });
        let body = encode(&parts, "b0und");
        Request::post("/bkt")
            .header("content-type", "multipart/form-data; boundary=b0und")
            .body(s3s::Body::from(body))
            .unwrap()
    }

    async fn prepared(req: Request<s3s::Body>) -> Result<(Vec<Part>, FormExtras), RequestError> {
        let req = prepare(req, Some("bkt")).await?.request;
        let ct = req.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let extras = req.extensions().get::<FormExtras>().cloned().unwrap();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let parts = read_parts(body, multer::parse_boundary(&ct).unwrap()).await?;
        Ok((parts, extras))
    }

    fn policy(expiration: &str, extra: &str) -> String {
        let doc = format!(r#"{{"expiration":"{expiration}","conditions":[{extra}]}}"#);
        base64_simd::STANDARD.encode_to_string(doc)
    }

    #[tokio::test]
    async fn filename_acl_tagging_and_checksums() {
        let p = policy(
            "2030-01-01T00:00:00Z",
            r#"["eq","$x-amz-checksum-crc32","AAAAAA=="]"#,
        );
        let req = form(
            &[
                ("key", "up/${filename}"),
                ("acl", "public-read"),
                ("tagging", "<Tagging><TagSet></TagSet></Tagging>"),
                ("policy", &p),
                ("signature", "sig"),
                ("x-amz-checksum-sha256", "c2hh"),
                ("x-amz-checksum-crc32", "AAAAAA=="),
            ],
            ("photo.jpg", b"bytes\r\n--b0un"),
        );
        let (parts, extras) = prepared(req).await.unwrap();
        assert_eq!(text(field(&parts, "key").unwrap()), Some("up/photo.jpg"));
        assert_eq!(extras.acl.as_deref(), Some("public-read"));
        assert!(extras.tagging.unwrap().starts_with("<Tagging>"));
        // A checksum the policy names stays in the form; the other one moves out.
        assert_eq!(
            extras.checksums,
            [("x-amz-checksum-sha256".into(), "c2hh".into())]
        );
        assert!(field(&parts, "x-amz-checksum-sha256").is_none());
        assert!(field(&parts, "x-amz-checksum-crc32").is_some());
        let file = field(&parts, "file").unwrap();
        assert_eq!(&file.data[..], b"bytes\r\n--b0un");
        assert_eq!(file.filename.as_deref(), Some("photo.jpg"));
    }

    #[tokio::test]
    async fn policy_rules() {
        let code = |r: Result<_, RequestError>| {
            r.err()
                .map(|e| crate::errors::request(e).code().as_str().to_owned())
        };
        let bad_date = policy("2030-01-01 00:00:00+00:00", "");
        let req = form(
            &[("key", "k"), ("policy", &bad_date), ("signature", "s")],
            ("", b"x"),
        );
        assert_eq!(
            code(prepared(req).await).as_deref(),
            Some("InvalidPolicyDocument")
        );
        let good = policy("2030-01-01T00:00:00.000Z", "");
        let req = form(&[("key", "k"), ("policy", &good)], ("", b"x"));
        assert_eq!(
            code(prepared(req).await).as_deref(),
            Some("InvalidArgument")
        );
        let req = form(
            &[("key", "k"), ("policy", &good), ("x-amz-signature", "s")],
            ("", b"x"),
        );
        assert!(prepared(req).await.is_ok());
        // Fields after the file are ignored.
        let mut req = form(&[("key", "k")], ("", b"x"));
        let body = req.body_mut().bytes().unwrap();
        let late = b"--b0und\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nv\r\n";
        let trailing = [&body[..body.len() - 11], late, b"--b0und--\r\n"].concat();
        *req.body_mut() = s3s::Body::from(Bytes::from(trailing));
        let (parts, _) = prepared(req).await.unwrap();
        assert!(field(&parts, "late").is_none());
    }

    #[tokio::test]
    async fn not_a_form() {
        let req = Request::post("/bkt")
            .header("content-type", "multipart/form-data; boundary=x")
            .body(s3s::Body::from("garbage".to_owned()))
            .unwrap();
        let err = prepare(req, None).await.err().unwrap();
        assert!(matches!(err, RequestError::MalformedForm(_)), "{err:?}");
    }
}
