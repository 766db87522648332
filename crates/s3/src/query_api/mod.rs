//! The IAM and STS query APIs on the S3 endpoint, as Ceph RGW serves them: `POST /` with a
//! form body (`Action=CreateUser&Version=2010-05-08&UserName=…`), signed with SigV4 for service
//! `iam` or `sts`, answered in AWS's XML. boto3's `iam` and `sts` clients and `aws iam`/`aws
//! sts` work against it unchanged.
//!
//! s3s verifies only `s3` and `sts` signatures and wants `x-amz-content-sha256`, which IAM
//! clients do not send: these requests are taken before s3s, their body read whole (at most
//! [`MAX_BODY`]) and their signature verified over it ([`crate::edge::sigv4_resign::verify_with_body`]).
//!
//! Who may call: every IAM action is authorized like an admin call
//! ([`crate::access::check_admin`]) with `iam:<Action>` on the entity's ARN: the root user,
//! its service accounts and sessions (narrowed), and identities whose policies allow it. STS
//! actions are open to every signed caller; AssumeRole asks the role's trust policy.
//!
//! Files: [`users`] (users, access keys), [`groups`], [`policies`] (managed policies),
//! [`roles`], [`entity_policies`] (inline and attached policies of all three), [`sts`];
//! [`xml`] writes answers, [`error`] maps refusals.

mod entity_policies;
mod error;
mod groups;
mod policies;
mod roles;
mod sts;
mod users;
mod xml;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use rustfs_object::policy::{Context, Policy};

pub use error::QueryError;
use xml::Xml;

use crate::auth::User;
use crate::identity::Identities;

/// The largest form accepted (policy documents are at most a few KiB, URL-encoded).
pub const MAX_BODY: usize = 256 * 1024;

/// How far a request's signing time may be from the server's, as SigV4 allows.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// Whether a request is an IAM or STS query: `POST /` with a form body.
pub fn is_query<B>(req: &Request<B>) -> bool {
    req.method() == Method::POST
        && req.uri().path() == "/"
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
}

/// A request's form fields.
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, QueryError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| QueryError::Body)?;
        Ok(Self { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn need(&self, name: &'static str) -> Result<&str, QueryError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or(QueryError::Missing(name))
    }

    /// An optional number in `range`.
    pub fn number(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, QueryError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(Some(n)),
                _ => Err(QueryError::Invalid(name, v.to_string())),
            },
        }
    }
}

/// One call being served.
pub struct Call<'a> {
    pub form: &'a Form,
    pub caller: Arc<User>,
    pub ids: &'a Identities,
    pub action: &'a str,
}

impl Call<'_> {
    /// Refuses unless the caller may do `iam:<Action>` on `resource`.
    pub fn authorize(&self, resource: &str) -> Result<(), QueryError> {
        let root = self.ids.keys().root();
        crate::access::check_admin_on(
            Some(&self.caller),
            root.as_deref(),
            &format!("iam:{}", self.action),
            resource,
        )
        .map_err(|_| {
            QueryError::Denied(format!(
                "{} is not authorized to perform iam:{} on {resource}",
                caller_arn(&self.caller),
                self.action
            ))
        })
    }

    /// The account the caller acts for: `None` for the root account, else the access key of
    /// the users-file account (itself, its service account or session, or a member it made).
    pub fn account(&self) -> Option<String> {
        let keys = self.ids.keys();
        match &self.caller.member {
            Some(m) if !m.owner => m.account.clone(),
            _ => {
                let account = keys.by_id(&self.caller.id)?;
                (account.iam_account && account.access_key != keys.root_access_key())
                    .then(|| account.access_key.clone())
            }
        }
    }

    /// The id the ARNs of an entity of `owner` show ("" for the root account's).
    pub fn arn_account(&self, owner: &Option<String>) -> String {
        owner
            .as_deref()
            .and_then(|o| self.ids.keys().snapshot().by_key.get(o).cloned())
            .and_then(|e| match e {
                crate::auth::KeyEntry::Active(u) => Some(u.id.clone()),
                _ => None,
            })
            .unwrap_or_else(|| crate::identity::ACCOUNT.to_string())
    }

    /// Whether an entity of `owner` is in the caller's account (what listings show).
    pub fn sees(&self, owner: &Option<String>) -> bool {
        *owner == self.account()
    }

    /// Refuses unless the caller may act on the entity of `owner` named `arn`: an account (or
    /// its service account or session, within its narrowing) on its own entities; otherwise
    /// as [`Call::authorize`] decides.
    pub fn authorize_entity(&self, owner: &Option<String>, arn: &str) -> Result<(), QueryError> {
        if owner.is_some() && self.caller.is_account() && self.account() == *owner {
            let ctx = no_context();
            let action = format!("iam:{}", self.action);
            let req = rustfs_object::policy::Request {
                caller: Some(crate::identity::evaluate::caller_of(&self.caller)),
                action: &action,
                resource: arn,
                context: &ctx,
            };
            let denied = self.caller.member.as_ref().is_some_and(|m| {
                !m.narrowing_allows(&req)
                    || m.identity(&req) == rustfs_object::policy::Decision::Deny
            });
            if !denied {
                return Ok(());
            }
        }
        self.authorize(arn)
    }

    /// After a change: in force on this node at once.
    pub async fn changed(&self) -> Result<(), QueryError> {
        self.ids.reload().await?;
        Ok(())
    }
}

/// The ARN a caller is shown by: a member's own; an account's (or its service account's or
/// session's) `arn:aws:iam::ACCOUNT:root`, its canonical id as the account id.
pub fn caller_arn(u: &User) -> String {
    match &u.member {
        Some(m) if !m.owner => m.arn.clone(),
        _ => format!("arn:aws:iam::{}:root", u.id),
    }
}

/// One page of a listing in IAM's order (names compared ignoring case), after `Marker`, at
/// most `MaxItems` (default 100): the page and whether more follow.
pub fn page<T>(
    call: &Call<'_>,
    mut all: Vec<T>,
    name: impl Fn(&T) -> String,
) -> Result<(Vec<T>, bool), QueryError> {
    let max = call.form.number("MaxItems", 1..=1000)?.unwrap_or(100) as usize;
    all.sort_by_cached_key(|x| (name(x).to_lowercase(), name(x)));
    let start = match call.form.get("Marker").filter(|m| !m.is_empty()) {
        Some(m) => {
            let key = (m.to_lowercase(), m.to_string());
            all.iter()
                .position(|x| (name(x).to_lowercase(), name(x)) > key)
                .unwrap_or(all.len())
        }
        None => 0,
    };
    let mut rest: Vec<T> = all.into_iter().skip(start).collect();
    let truncated = rest.len() > max;
    rest.truncate(max);
    Ok((rest, truncated))
}

/// Parses and checks an identity policy document (as IAM refuses a malformed one).
pub fn identity_policy(doc: &str) -> Result<(), QueryError> {
    Policy::parse_identity(doc)
        .map(|_| ())
        .map_err(|e| QueryError::MalformedPolicy(e.to_string()))
}

/// The managed policy name of an ARN (`arn:aws:iam::ACCOUNT:policy/[path/]NAME`).
pub fn policy_name(arn: &str) -> Result<String, QueryError> {
    arn.strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":policy/"))
        .and_then(|(_, name)| name.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| QueryError::Invalid("PolicyArn", arn.to_string()))
}

/// RFC 3339 in UTC, as IAM reports dates.
pub fn date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Serves the IAM and STS query APIs.
#[derive(Clone)]
pub struct QueryApi {
    ids: Identities,
}

impl QueryApi {
    pub fn new(ids: Identities) -> Self {
        Self { ids }
    }

    /// Answers one request (see the module doc).
    pub async fn serve<B>(&self, req: Request<B>, request_id: String) -> Response<s3s::Body>
    where
        B: http_body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return answer_error(xml::IAM_NS, &QueryError::Body, &request_id),
        };
        let req = Request::from_parts(parts, ());
        let form = match Form::parse(&body) {
            Ok(f) => f,
            Err(e) => return answer_error(xml::IAM_NS, &e, &request_id),
        };
        let action = form.get("Action").unwrap_or_default().to_string();
        let ns = if sts::ACTIONS.contains(&action.as_str()) {
            xml::STS_NS
        } else {
            xml::IAM_NS
        };
        let result = async {
            let caller = self.authenticate(&req, &body)?;
            if let Some(slot) = req.extensions().get::<crate::operation::OperationSlot>() {
                slot.set_caller(caller.clone());
            }
            let call = Call {
                form: &form,
                caller,
                ids: &self.ids,
                action: &action,
            };
            dispatch(&call).await
        }
        .await;
        match result {
            Ok(result) => {
                let text = xml::response(ns, &action, &request_id, result);
                let mut resp = Response::new(s3s::Body::from(text));
                resp.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
                resp
            }
            Err(e) => answer_error(ns, &e, &request_id),
        }
    }

    /// Who signed the request (temporary credentials with their token).
    fn authenticate(&self, req: &Request<()>, body: &[u8]) -> Result<Arc<User>, QueryError> {
        let keys = self.ids.keys();
        let Some(auth) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(QueryError::Unsigned);
        };
        let Some(verified) = crate::edge::sigv4_resign::verify_with_body(req, body, keys) else {
            let ak = auth
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or_default();
            return Err(if keys.secret(ak).is_none() {
                QueryError::UnknownKey
            } else {
                QueryError::BadSignature
            });
        };
        let signed = time::PrimitiveDateTime::parse(
            &verified.amz_date,
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
        )
        .map_err(|_| QueryError::BadSignature)?
        .assume_utc();
        if (time::OffsetDateTime::now_utc() - signed)
            .whole_seconds()
            .abs()
            > MAX_SKEW_SECS
        {
            return Err(QueryError::Skewed);
        }
        let token = crate::access::session_token(req.headers(), req.uri().query());
        Ok(keys.caller(&verified.access_key, token.as_deref())?)
    }
}

fn answer_error(ns: &str, e: &QueryError, request_id: &str) -> Response<s3s::Body> {
    let (sender, code, status) = e.answer();
    if !sender {
        tracing::warn!(error = %e, "IAM/STS request failed");
    }
    let text = xml::error(ns, sender, code, &e.to_string(), request_id);
    let mut resp = Response::new(s3s::Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

async fn dispatch(call: &Call<'_>) -> Result<Option<Xml>, QueryError> {
    let a = call.action;
    if let Some(r) = users::serve(call, a).await {
        return r;
    }
    if let Some(r) = groups::serve(call, a).await {
        return r;
    }
    if let Some(r) = policies::serve(call, a).await {
        return r;
    }
    if let Some(r) = roles::serve(call, a).await {
        return r;
    }
    if let Some(r) = sts::serve(call, a).await {
        return r;
    }
    if a == "ListOpenIDConnectProviders" {
        // No OIDC providers are served: the list is empty (so tools that list them work).
        call.authorize("*")?;
        let mut x = Xml::default();
        x.open("OpenIDConnectProviderList")
            .close("OpenIDConnectProviderList");
        return Ok(Some(x));
    }
    Err(QueryError::UnknownAction(a.to_string()))
}

/// An empty condition context (IAM actions are decided without request conditions).
pub fn no_context() -> Context {
    Context::default()
}
