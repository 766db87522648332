//! Request and reply bodies of the v3 calls: under `/minio/admin/v3` some travel encrypted
//! with madmin's scheme (the password is the signing caller's secret key), under
//! `/rustfs/admin/v3` all are plain JSON. Argon2id costs 64 MiB and tens of milliseconds, so
//! encrypting and decrypting run on a thread of their own (std::thread and a futures oneshot:
//! crates/s3 has no runtime dependency and needs none for this).

use http::{HeaderValue, StatusCode};
use rustfs_madmin::Scheme;
use s3s::{Body, S3Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::AdminError;

/// MinIO's cap on admin request bodies.
pub const MAX_BODY: usize = 262_272;

/// How a call's bodies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/minio/admin/v3`: madmin's encrypted bodies where MinIO encrypts.
    Minio,
    /// `/rustfs/admin/v3`: plain JSON everywhere.
    Plain,
}

/// A call's request: its query, body and the caller's secret (the encryption password).
pub struct Call {
    pub dialect: Dialect,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub password: String,
    /// The Host the request was sent to (`info` names the server by it).
    pub host: String,
    /// The scheme the request's body came in (the answer uses it too).
    pub scheme: Scheme,
}

impl Call {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter that must be there and not empty.
    pub fn required(&self, name: &str) -> Result<&str, AdminError> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AdminError::InvalidArgument(format!("missing parameter {name}")))
    }

    /// The body as JSON, plain.
    pub fn plain_json<T: DeserializeOwned>(&self) -> Result<T, AdminError> {
        serde_json::from_slice(&self.body).map_err(|e| AdminError::MalformedJson(e.to_string()))
    }

    /// The body as JSON, decrypted first under `/minio/admin/v3`.
    pub async fn sealed_json<T: DeserializeOwned>(&mut self) -> Result<T, AdminError> {
        if self.dialect == Dialect::Minio {
            let (plain, scheme) =
                decrypt(self.password.clone(), std::mem::take(&mut self.body)).await?;
            self.scheme = scheme;
            self.body = plain;
        }
        self.plain_json()
    }

    /// A 200 answer with `value` as JSON, encrypted under `/minio/admin/v3`.
    pub async fn sealed_reply(
        &self,
        value: &impl Serialize,
    ) -> Result<S3Response<Body>, AdminError> {
        let bytes = to_json(value)?;
        match self.dialect {
            Dialect::Plain => Ok(reply(StatusCode::OK, bytes, "application/json")),
            Dialect::Minio => {
                let sealed = encrypt(self.password.clone(), bytes, self.scheme).await?;
                Ok(reply(StatusCode::OK, sealed, "application/octet-stream"))
            }
        }
    }
}

pub fn to_json(value: &impl Serialize) -> Result<Vec<u8>, AdminError> {
    serde_json::to_vec(value).map_err(|e| AdminError::Internal(e.to_string()))
}

/// A plain JSON 200 answer.
pub fn plain_reply(value: &impl Serialize) -> Result<S3Response<Body>, AdminError> {
    Ok(reply(StatusCode::OK, to_json(value)?, "application/json"))
}

/// An empty 200 answer.
pub fn empty_reply() -> S3Response<Body> {
    reply(StatusCode::OK, Vec::new(), "application/json")
}

pub fn reply(status: StatusCode, bytes: Vec<u8>, content_type: &'static str) -> S3Response<Body> {
    let mut resp = S3Response::new(Body::from(bytes));
    resp.status = Some(status);
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    resp
}

/// Runs `f` on a thread of its own and waits for it without blocking the runtime.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::Builder::new()
        .name("madmin-crypt".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    rx.await
        .map_err(|_| AdminError::Internal("the encryption thread ended without an answer".into()))?
}

pub async fn decrypt(password: String, body: Vec<u8>) -> Result<(Vec<u8>, Scheme), AdminError> {
    off_runtime(move || {
        rustfs_madmin::decrypt(password.as_bytes(), &body)
            .map_err(|e| AdminError::BadEncryption(e.to_string()))
    })
    .await
}

pub async fn encrypt(
    password: String,
    plain: Vec<u8>,
    scheme: Scheme,
) -> Result<Vec<u8>, AdminError> {
    off_runtime(move || {
        rustfs_madmin::encrypt(password.as_bytes(), &plain, scheme)
            .map_err(|e| AdminError::Internal(e.to_string()))
    })
    .await
}

/// Parses a query string (percent-decoded).
pub fn parse_query(query: Option<&str>) -> Result<Vec<(String, String)>, AdminError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| AdminError::InvalidArgument(format!("query: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(dialect: Dialect, body: Vec<u8>) -> Call {
        Call {
            dialect,
            query: parse_query(Some("accessKey=a%2Bb&empty=")).unwrap(),
            body,
            password: "secret-of-caller".into(),
            host: String::new(),
            scheme: Scheme::Argon2idAesGcm,
        }
    }

    #[test]
    fn query_parameters_are_decoded_and_required_ones_checked() {
        let c = call(Dialect::Plain, Vec::new());
        assert_eq!(c.required("accessKey").unwrap(), "a+b");
        assert!(c.required("empty").is_err());
        assert!(c.required("absent").is_err());
    }

    #[test]
    fn minio_bodies_are_decrypted_and_answered_in_the_scheme_they_came_in() {
        let sealed = rustfs_madmin::encrypt(
            b"secret-of-caller",
            br#"{"secretKey":"x"}"#,
            Scheme::Argon2idChaCha20Poly1305,
        )
        .unwrap();
        let mut c = call(Dialect::Minio, sealed);
        let v: serde_json::Value = futures::executor::block_on(c.sealed_json()).unwrap();
        assert_eq!(v["secretKey"], "x");
        assert_eq!(c.scheme, Scheme::Argon2idChaCha20Poly1305);
        let resp = futures::executor::block_on(c.sealed_reply(&v)).unwrap();
        let bytes = resp.output.bytes().unwrap();
        let (plain, scheme) = rustfs_madmin::decrypt(b"secret-of-caller", &bytes).unwrap();
        assert_eq!(plain, br#"{"secretKey":"x"}"#);
        assert_eq!(scheme, Scheme::Argon2idChaCha20Poly1305);
        // A wrong password is refused as a bad body.
        let mut wrong = call(Dialect::Minio, bytes.to_vec());
        wrong.password = "other".into();
        let r: Result<serde_json::Value, _> = futures::executor::block_on(wrong.sealed_json());
        assert!(matches!(r, Err(AdminError::BadEncryption(_))));
    }

    #[test]
    fn plain_bodies_stay_plain() {
        let mut c = call(Dialect::Plain, br#"{"a":1}"#.to_vec());
        let v: serde_json::Value = futures::executor::block_on(c.sealed_json()).unwrap();
        assert_eq!(v["a"], 1);
        assert!(matches!(
            c.plain_json::<Vec<u8>>(),
            Err(AdminError::MalformedJson(_))
        ));
    }
}
