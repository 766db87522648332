//! Users and their credentials: s3s' signature verification asks [`Keyring`] for secrets, and
//! the edge asks it who a request's access key is (canonical id and display name, as S3
//! reports owners and grantees).

use std::collections::HashMap;
use std::sync::Arc;

use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};
use sha2::{Digest, Sha256};

/// One user: a key pair and the identity S3 shows for what it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub access_key: String,
    pub secret_key: String,
    /// Canonical user id: recorded as the owner of buckets, objects and uploads.
    pub id: String,
    pub display_name: String,
    /// For ACL grants by e-mail address (`emailAddress=`).
    pub email: Option<String>,
}

impl User {
    /// A user whose canonical id is derived from the access key (64 hex digits, like S3's) and
    /// whose display name is the access key.
    pub fn derived(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let access_key = access_key.into();
        let digest = Sha256::digest(format!("rustfs-user:{access_key}").as_bytes());
        let id = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            display_name: access_key.clone(),
            access_key,
            secret_key: secret_key.into(),
            id,
            email: None,
        }
    }
}

/// Why a set of users cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("access key {0:?} is given twice")]
    DuplicateAccessKey(String),
    #[error("user id {0:?} is given twice")]
    DuplicateId(String),
    #[error("user {0:?}: {1}")]
    Invalid(String, &'static str),
}

#[derive(Default)]
struct Users {
    by_key: HashMap<String, Arc<User>>,
    by_id: HashMap<String, Arc<User>>,
}

/// The users the server knows. Cheap to clone (shared). Unknown keys are refused by s3s with
/// `InvalidAccessKeyId`.
#[derive(Clone, Default)]
pub struct Keyring {
    users: Arc<Users>,
}

impl Keyring {
    /// Builds the keyring; every access key and every user id must be unique.
    pub fn new(users: impl IntoIterator<Item = User>) -> Result<Self, UserError> {
        let mut all = Users::default();
        for u in users {
            if u.access_key.len() < 3 {
                return Err(UserError::Invalid(
                    u.access_key,
                    "the access key must be at least 3 characters long",
                ));
            }
            if u.secret_key.len() < 8 {
                return Err(UserError::Invalid(
                    u.access_key,
                    "the secret key must be at least 8 characters long",
                ));
            }
            if u.id.is_empty() {
                return Err(UserError::Invalid(u.access_key, "the user id is empty"));
            }
            let u = Arc::new(u);
            if all.by_key.insert(u.access_key.clone(), u.clone()).is_some() {
                return Err(UserError::DuplicateAccessKey(u.access_key.clone()));
            }
            if all.by_id.insert(u.id.clone(), u.clone()).is_some() {
                return Err(UserError::DuplicateId(u.id.clone()));
            }
        }
        Ok(Self {
            users: Arc::new(all),
        })
    }

    pub fn by_access_key(&self, access_key: &str) -> Option<&Arc<User>> {
        self.users.by_key.get(access_key)
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<User>> {
        self.users.by_id.get(id)
    }

    pub fn by_email(&self, email: &str) -> Option<&Arc<User>> {
        self.users.by_id.values().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
    }

    /// The canonical id and display name of a recorded owner. Records written before users had
    /// ids hold the owner's access key; those resolve to the key's user.
    pub fn owner_of(&self, recorded: &str) -> (String, String) {
        match self
            .by_id(recorded)
            .or_else(|| self.by_access_key(recorded))
        {
            Some(u) => (u.id.clone(), u.display_name.clone()),
            None => (recorded.to_string(), recorded.to_string()),
        }
    }

    /// The canonical id a recorded owner stands for (see [`Keyring::owner_of`]).
    pub fn owner_id<'a>(&'a self, recorded: &'a str) -> &'a str {
        match self
            .by_id(recorded)
            .or_else(|| self.by_access_key(recorded))
        {
            Some(u) => &u.id,
            None => recorded,
        }
    }
}

/// How far a SigV2 request's time may be from ours, as in S3.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// The time check S3 makes on a SigV2 (`Authorization: AWS ...`) request before its
/// signature: the `x-amz-date` (or else `Date`) header must be a valid HTTP date after 1970
/// (`AccessDenied`) within 15 minutes of the server's clock (`RequestTimeTooSkewed`). s3s
/// checks neither. Other requests pass untouched.
pub fn check_v2_request_time(
    headers: &http::HeaderMap,
    now: time::OffsetDateTime,
) -> Result<(), s3s::S3Error> {
    use s3s::S3ErrorCode;
    let v2 = headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
    if !v2 {
        return Ok(());
    }
    let denied = || {
        s3s::S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    let raw = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(denied)?;
    let t = s3s::dto::Timestamp::parse(s3s::dto::TimestampFormat::HttpDate, raw.trim())
        .map(time::OffsetDateTime::from)
        .map_err(|_| denied())?;
    if t.year() < 1970 {
        return Err(denied());
    }
    if (now - t).whole_seconds().abs() > MAX_SKEW_SECS {
        return Err(s3s::S3Error::with_message(
            S3ErrorCode::RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.",
        ));
    }
    Ok(())
}

/// The region a credential scope (`AK/date/region/service/aws4_request`) names, when it has
/// that shape.
fn scope_region(credential: &str) -> Option<&str> {
    let mut parts = credential.rsplitn(5, '/');
    let (_terminator, _service, region, _date, _key) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some(region)
}

pub(crate) fn same_region(got: &str, expected: &str) -> bool {
    got == expected
}

/// The `Credential=` value of a SigV4 `Authorization` header.
fn header_credential(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let rest = v.strip_prefix("AWS4-HMAC-SHA256")?;
    let at = rest.find("Credential=")? + "Credential=".len();
    let cred = &rest[at..];
    let end = cred.find([',', ' ']).unwrap_or(cred.len());
    Some(&cred[..end])
}

/// The decoded `X-Amz-Credential` of a SigV4 presigned URL.
fn query_credential(query: Option<&str>) -> Option<String> {
    let query = query?;
    let mut v4 = false;
    let mut cred = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "X-Amz-Algorithm" => v4 = v == "AWS4-HMAC-SHA256",
            "X-Amz-Credential" => {
                cred = Some(percent_encoding::percent_decode_str(v).decode_utf8().ok()?)
            }
            _ => {}
        }
    }
    v4.then_some(cred).flatten().map(|c| c.into_owned())
}

/// The region check S3 makes on a SigV4 request: a credential scope naming another region than
/// the server's is refused with `400 AuthorizationHeaderMalformed` (header signature) or
/// `400 AuthorizationQueryParametersError` (presigned URL), with the expected `<Region>` in the
/// error document so SDKs can retry in the right region. s3s 0.14 verifies the signature with
/// whatever region the scope names and checks nothing else, so the server's HTTP layer calls
/// [`wrong_region`] before s3s. An empty server region accepts any, and the admin API accepts any
/// region, as in MinIO (admin clients sign with an empty one).
pub fn wrong_region<B>(
    req: &http::Request<B>,
    expected: &str,
) -> Option<http::Response<s3s::Body>> {
    if expected.is_empty() || crate::admin::is_admin_path(req.uri().path()) {
        return None;
    }
    let (code, what, got) = if let Some(cred) = header_credential(req.headers()) {
        (
            s3s::S3ErrorCode::AuthorizationHeaderMalformed,
            "The authorization header is malformed",
            scope_region(cred)?.to_string(),
        )
    } else {
        let cred = query_credential(req.uri().query())?;
        (
            s3s::S3ErrorCode::AuthorizationQueryParametersError,
            "Error parsing the X-Amz-Credential parameter",
            scope_region(&cred)?.to_string(),
        )
    };
    if same_region(&got, expected) {
        return None;
    }
    let err = s3s::S3Error::with_message(
        code,
        format!("{what}; the region '{got}' is wrong; expecting '{expected}'"),
    );
    Some(crate::errors::response_with(&err, &[("Region", expected)]))
}

#[async_trait::async_trait]
impl S3Auth for Keyring {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.by_access_key(access_key)
            .map(|u| SecretKey::from(u.secret_key.clone()))
            .ok_or_else(|| {
                s3s::s3_error!(
                    InvalidAccessKeyId,
                    "The AWS Access Key Id you provided does not exist in our records."
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_unique() {
        let a = User::derived("alice", "secret-1");
        assert_eq!(a.id.len(), 64);
        assert_eq!(a.id, User::derived("alice", "other-secret").id);
        assert_ne!(a.id, User::derived("bob", "secret-1").id);
        assert_eq!(a.display_name, "alice");
    }

    #[test]
    fn duplicates_are_refused() {
        let a = User::derived("alice", "secret-1");
        let mut b = User::derived("bob", "secret-2");
        assert!(Keyring::new([a.clone(), b.clone()]).is_ok());
        assert!(matches!(
            Keyring::new([a.clone(), a.clone()]),
            Err(UserError::DuplicateAccessKey(_))
        ));
        b.id = a.id.clone();
        assert!(matches!(
            Keyring::new([a, b]),
            Err(UserError::DuplicateId(_))
        ));
    }

    #[test]
    fn v2_request_times_are_checked() {
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let mut h = http::HeaderMap::new();
        assert!(check_v2_request_time(&h, now).is_ok(), "not SigV2");
        h.insert("authorization", "AWS k:sig".parse().unwrap());
        let code = |h: &http::HeaderMap| {
            check_v2_request_time(h, now)
                .err()
                .map(|e| e.code().as_str().to_string())
        };
        assert_eq!(code(&h).as_deref(), Some("AccessDenied"));
        h.insert("date", "Fri, 02 Jan 2026 03:10:00 GMT".parse().unwrap());
        assert_eq!(code(&h), None);
        h.insert(
            "x-amz-date",
            "Tue, 07 Jul 2010 21:53:04 GMT".parse().unwrap(),
        );
        assert_eq!(code(&h).as_deref(), Some("RequestTimeTooSkewed"));
        h.insert(
            "x-amz-date",
            "Tue, 07 Jul 1950 21:53:04 GMT".parse().unwrap(),
        );
        assert_eq!(code(&h).as_deref(), Some("AccessDenied"));
        h.insert("x-amz-date", "garbage".parse().unwrap());
        assert_eq!(code(&h).as_deref(), Some("AccessDenied"));
    }

    #[test]
    fn owners_resolve_by_id_or_legacy_key() {
        let mut a = User::derived("alice", "secret-1");
        a.email = Some("a@example.com".into());
        let k = Keyring::new([a.clone()]).unwrap();
        assert_eq!(k.owner_of(&a.id), (a.id.clone(), "alice".into()));
        assert_eq!(k.owner_of("alice"), (a.id.clone(), "alice".into()));
        assert_eq!(k.owner_of("gone"), ("gone".into(), "gone".into()));
        assert_eq!(k.by_email("A@example.com").unwrap().id, a.id);
    }

    fn refusal(req: http::Request<()>) -> Option<(u16, String)> {
        let resp = wrong_region(&req, "us-east-1")?;
        let body = resp.body().bytes().expect("a buffered body");
        Some((
            resp.status().as_u16(),
            String::from_utf8(body.to_vec()).unwrap(),
        ))
    }

    fn signed(region: &str, path: &str) -> http::Request<()> {
        http::Request::builder()
            .uri(path)
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=AK/20260101/{region}/s3/aws4_request, SignedHeaders=host, Signature=00"),
            )
            .body(())
            .unwrap()
    }

    #[test]
    fn header_signatures_name_the_server_region() {
        assert!(refusal(signed("us-east-1", "/b/k")).is_none());
        assert!(
            refusal(signed("US", "/b/k")).is_some(),
            "s3s refuses `US` anyway"
        );
        let (status, body) = refusal(signed("eu-west-1", "/b/k")).unwrap();
        assert_eq!(status, 400);
        assert!(
            body.contains("<Code>AuthorizationHeaderMalformed</Code>"),
            "{body}"
        );
        assert!(body.contains("the region 'eu-west-1' is wrong; expecting 'us-east-1'"));
        assert!(body.contains("<Region>us-east-1</Region>"));
        assert!(refusal(signed("", "/rustfs/admin/v3/info")).is_none());
        assert!(refusal(signed("", "/minio/admin/v3/info")).is_none());
        assert!(refusal(signed("", "/b/k")).is_some());
    }

    #[test]
    fn presigned_urls_name_the_server_region() {
        let url = |region: &str| {
            http::Request::builder()
                .uri(format!("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2F{region}%2Fs3%2Faws4_request&X-Amz-Signature=00"))
                .body(())
                .unwrap()
        };
        assert!(refusal(url("us-east-1")).is_none());
        let (status, body) = refusal(url("eu-west-1")).unwrap();
        assert_eq!(status, 400);
        assert!(body.contains("<Code>AuthorizationQueryParametersError</Code>"));
        assert!(body.contains("<Region>us-east-1</Region>"));
        let unsigned = http::Request::builder().uri("/b/k?x=1").body(()).unwrap();
        assert!(refusal(unsigned).is_none());
        let v2 = http::Request::builder()
            .uri("/b/k")
            .header("authorization", "AWS AK:sig")
            .body(())
            .unwrap();
        assert!(refusal(v2).is_none());
    }
}
