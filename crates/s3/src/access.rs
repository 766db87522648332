//! Who may do what: s3s asks [`AccessControl`] before each operation (anonymous requests
//! included). Each request is an IAM action on a resource (`s3:GetObject` on
//! `arn:aws:s3:::bucket/key`), decided as S3 does: an explicit `Deny` in the bucket policy
//! refuses; otherwise an `Allow` in the policy or the ACLs grant. Owners may do everything with
//! what they own; others need a grant in the bucket's or object's ACL (e.g. `public-read`:
//! `AllUsers` READ) or the policy. Bucket configuration is the bucket owner's alone unless the
//! policy grants it; the owner can always manage the policy itself unless it set the policy
//! with `x-amz-confirm-remove-self-bucket-access`.
//!
//! Each request is first classified into an [`Operation`] (recorded in its extensions); what
//! the operation needs is one exhaustive `match` on it ([`rule`]). Refusals are
//! [`AccessError`]s, turned into S3 errors in `errors::access`.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use percent_encoding::percent_decode_str;
use rustfs_object::acl::{allows, honoured_grants};
use rustfs_object::policy::{self, Context, Decision, Policy};
use rustfs_object::{BucketRecord, ObjectError, ObjectOwnership, ObjectStore, Permission};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::Credentials;
use s3s::dto::{
    CopyObjectInput, CopySource, DeleteObjectsInput, PostObjectInput, PutObjectTaggingInput,
    UploadPartCopyInput,
};
use s3s::{S3Error, S3Request, S3Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{Keyring, User};
use crate::identity::evaluate::{caller_of, member_decision, member_decision_on};
use crate::identity::sts::TokenError;
use crate::operation::{Operation, OperationSlot, Unclassified, decode};
use crate::policy_cache::PolicyCache;

mod rule;
pub(crate) use rule::rule;
use rule::{AnonymousMay, Decided, Need};

/// Where a request came from; the server's HTTP layer puts it in the request's extensions
/// (`aws:SourceIp`, `aws:SecureTransport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: IpAddr,
    /// Over TLS.
    pub secure: bool,
}

/// The entries of a DeleteObjects request the caller may not delete, in request order: for
/// each, why not (`AccessDenied`, or the error that kept the check from deciding, such as a
/// storage failure or a malformed version id), `None` for an entry that may be deleted.
/// `access` puts it in the request's extensions; the operation reports those entries with
/// their error and deletes none of them.
#[derive(Debug, Clone, Default)]
pub struct DeniedEntries(pub Arc<Vec<Option<S3Error>>>);

impl DeniedEntries {
    /// Why `entry` may not be deleted; `None` if it may.
    pub fn refusal(&self, entry: usize) -> Option<&S3Error> {
        self.0.get(entry).and_then(Option::as_ref)
    }
}

/// The current record of the object a GET or HEAD (without `versionId`) names, as the access
/// check read it: the operation starts from it instead of reading it again.
#[derive(Clone)]
pub struct CheckedRecord(pub rustfs_object::ObjectRecord);

/// The caller as the access check resolved it (temporary credentials with their session):
/// the operations record its account as the owner of what it creates.
#[derive(Clone)]
pub struct CheckedCaller(pub Arc<User>);

/// The bucket record a PutObject's access check read: the operation decides the new object's
/// owner and ACL from it instead of reading it again (its commit reads it again anyway).
#[derive(Clone)]
pub struct CheckedBucket(pub BucketRecord);

/// Which objects of a request that asked to bypass GOVERNANCE retention
/// (`x-amz-bypass-governance-retention: true`) the caller is allowed
/// `s3:BypassGovernanceRetention` on: one flag per DeleteObjects entry, or one for a
/// DeleteObject or PutObjectRetention. Absent: the request did not ask, or nothing was allowed.
#[derive(Clone, Debug)]
pub struct GovernanceBypass(Arc<Vec<bool>>);

impl GovernanceBypass {
    /// Whether entry `entry` (0 for a single-object request) may bypass.
    pub fn allows(&self, entry: usize) -> bool {
        self.0.get(entry).copied().unwrap_or(false)
    }
}

/// The action S3 asks about a request bypassing GOVERNANCE retention.
const BYPASS_GOVERNANCE: &str = "s3:BypassGovernanceRetention";

/// Whether a request asks to bypass GOVERNANCE retention (the header, `true` in any case).
fn asks_bypass(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-bypass-governance-retention")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The bucket's lifecycle rules, when it has some, as the access check of an object operation
/// read them: PUT, GET, HEAD and CompleteMultipartUpload answer `x-amz-expiration` from them.
#[derive(Clone)]
pub struct CheckedLifecycle(pub Arc<Vec<rustfs_object::LifecycleRule>>);

impl CheckedLifecycle {
    /// The `x-amz-expiration` value for the current version `rec` of `key`, if a rule expires it.
    pub fn header_of(
        ext: &http::Extensions,
        key: &str,
        rec: &rustfs_object::ObjectRecord,
    ) -> Option<String> {
        let rules = ext.get::<CheckedLifecycle>()?;
        rustfs_object::lifecycle::expiration_header(&rules.0, key, rec)
    }
}

/// A key's current record as `ObjectStore::head_version` gives it, read ahead.
type CurrentRecord = Result<rustfs_object::ObjectRecord, ObjectError>;

/// The actions a bucket owner keeps even against its own policy's Deny, as in S3.
const POLICY_ACTIONS: [&str; 3] = [
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
];

/// Why a request is refused, or why access could not be decided (which refuses it too). The
/// S3 error each becomes is chosen in `errors::access`.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Neither the policy nor the ACLs grant it, or the policy denies it.
    #[error("access denied")]
    Denied,
    /// A presigned URL claiming to live longer than S3 allows.
    #[error("presigned URL valid for more than {MAX_PRESIGNED_SECS} seconds")]
    PresignedTooLong,
    /// The admin API, signed by someone other than root.
    #[error("the admin API needs the root credentials")]
    NotRoot,
    /// The admin API, unsigned.
    #[error("the admin API needs a signature")]
    Unsigned,
    /// Temporary credentials with a missing, invalid or expired session token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A signed request whose access key is gone (deleted after the signature was checked).
    #[error("the access key is gone")]
    KeyGone,
    /// The bucket holds a policy that does not parse: nothing it could deny may be allowed.
    #[error("the stored policy of bucket {0} cannot be parsed")]
    UnreadablePolicy(String),
    /// s3s routed the request to an operation whose path has the wrong shape.
    #[error("operation {} routed with a path it cannot have", .0.0)]
    Unclassified(Unclassified),
    /// What the check had to read could not be read (a malformed version id, a storage
    /// failure): never allowed.
    #[error(transparent)]
    Store(#[from] ObjectError),
}

type Checked<T = ()> = Result<T, AccessError>;

/// The longest lifetime S3 accepts for a presigned URL: seven days.
const MAX_PRESIGNED_SECS: u64 = 7 * 24 * 3600;

/// Refuses a presigned URL that claims to live longer than seven days, as S3 does.
fn check_presigned_lifetime(query: Option<&str>) -> Checked {
    let expires = query_pairs(query)
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Expires"))
        .and_then(|(_, v)| v.parse::<u64>().ok());
    match expires {
        Some(secs) if secs > MAX_PRESIGNED_SECS => Err(AccessError::PresignedTooLong),
        _ => Ok(()),
    }
}

/// The `name=value` pairs of a query string, decoded.
fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
}

/// Request headers offered as `s3:<header>` condition keys.
const HEADER_KEYS: [&str; 12] = [
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-storage-class",
    "x-amz-content-sha256",
];

/// The condition keys a request carries in itself (not those of the object it names).
/// The request's condition keys when `s` has a policy to read them; otherwise an empty context
/// (building it costs allocations and a clock, and nothing else reads it).
fn policy_context(
    s: &Subject<'_>,
    user: Option<&User>,
    headers: &HeaderMap,
    query: Option<&str>,
    client: Option<ClientInfo>,
) -> Context {
    let member = user.is_some_and(|u| u.member.is_some());
    match &s.policy {
        Some(_) => request_context(user, headers, query, client),
        None if member => request_context(user, headers, query, client),
        None => Context::default(),
    }
}

fn request_context(
    user: Option<&User>,
    headers: &HeaderMap,
    query: Option<&str>,
    client: Option<ClientInfo>,
) -> Context {
    let mut ctx = Context::default();
    if let Some(c) = client {
        ctx.set("aws:SourceIp", c.ip.to_string());
        ctx.set("aws:SecureTransport", c.secure.to_string());
    }
    let now = OffsetDateTime::now_utc();
    if let Ok(t) = now.format(&Rfc3339) {
        ctx.set("aws:CurrentTime", t);
    }
    ctx.set("aws:EpochTime", now.unix_timestamp().to_string());
    if user.is_some_and(|u| crate::identity::sts::StsKeys::is_temporary(&u.access_key)) {
        ctx.set("sts:authentication", "true");
    }
    match user {
        Some(User {
            member: Some(m), ..
        }) if !m.owner => {
            ctx.set("aws:username", m.name.clone());
            ctx.set("aws:userid", m.name.clone());
            ctx.set("aws:PrincipalArn", m.arn.clone());
            ctx.set(
                "aws:PrincipalType",
                match m.kind {
                    crate::auth::MemberKind::Session { role: Some(_) } => "AssumedRole",
                    _ => "User",
                },
            );
        }
        Some(u) => {
            ctx.set("aws:username", u.display_name.clone());
            ctx.set("aws:userid", u.id.clone());
            ctx.set("aws:PrincipalType", "User");
        }
        None => ctx.set("aws:PrincipalType", "Anonymous"),
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let pairs: Vec<(String, String)> = query_pairs(query).collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let auth = header("authorization").unwrap_or_default();
    let signed = if auth.starts_with("AWS4-") {
        Some(("AWS4-HMAC-SHA256", "REST-HEADER"))
    } else if auth.starts_with("AWS ") {
        Some(("AWS", "REST-HEADER"))
    } else if param("X-Amz-Algorithm").is_some() {
        Some(("AWS4-HMAC-SHA256", "REST-QUERY-STRING"))
    } else if param("Signature").is_some() {
        Some(("AWS", "REST-QUERY-STRING"))
    } else {
        None
    };
    if let Some((version, kind)) = signed {
        ctx.set("s3:signatureversion", version);
        ctx.set("s3:authType", kind);
    }
    for (name, key) in [("referer", "aws:Referer"), ("user-agent", "aws:UserAgent")] {
        if let Some(v) = header(name) {
            ctx.set(key, v);
        }
    }
    for name in HEADER_KEYS {
        if let Some(v) = header(name) {
            ctx.set(&format!("s3:{name}"), v);
        }
    }
    if let Some(src) = header("x-amz-copy-source") {
        // `bucket/key` as the policy names it: decoded, without a leading `/` or versionId.
        let src = src.split_once('?').map_or(src, |(path, _)| path);
        let src = percent_decode_str(src).decode_utf8_lossy();
        ctx.set("s3:x-amz-copy-source", src.trim_start_matches('/'));
    }
    if let Some(tagging) = header("x-amz-tagging") {
        let tags: Vec<(String, String)> = query_pairs(Some(tagging)).collect();
        for (k, v) in &tags {
            ctx.set(&format!("s3:RequestObjectTag/{k}"), v.clone());
        }
        ctx.set_all(
            "s3:RequestObjectTagKeys",
            tags.into_iter().map(|(k, _)| k).collect(),
        );
    }
    for (param_name, key) in [
        ("prefix", "s3:prefix"),
        ("delimiter", "s3:delimiter"),
        ("max-keys", "s3:max-keys"),
        ("versionId", "s3:versionid"),
    ] {
        if let Some(v) = param(param_name) {
            ctx.set(key, v);
        }
    }
    ctx
}

/// A bucket as an access check sees it: its record, its owner's id and its policy.
struct Subject<'a> {
    name: &'a str,
    rec: BucketRecord,
    owner: String,
    policy: Option<Arc<Policy>>,
    /// The bucket holds a policy that does not parse (it was validated when set, so the store
    /// is damaged or was written by another version): nothing it could deny may be allowed.
    unreadable_policy: bool,
}

/// The caller: who signed the request (`None`: anonymous).
type Who<'a> = Option<&'a User>;

/// The session token of a request signed with temporary credentials (header, or query of a
/// presigned URL).
pub(crate) fn session_token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<String> {
    if let Some(t) = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(t.to_string());
    }
    query_pairs(query)
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Security-Token"))
        .map(|(_, v)| v)
}

/// The caller of a signed request (`None`: anonymous). Temporary credentials need their
/// session token; a key deleted since the signature check is refused, never taken as
/// anonymous.
pub(crate) fn resolve_caller(
    users: &Keyring,
    creds: Option<&Credentials>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Arc<User>>, AccessError> {
    let Some(c) = creds else { return Ok(None) };
    let token = session_token(headers, query);
    match users.caller(&c.access_key, token.as_deref()) {
        Ok(u) => Ok(Some(u)),
        Err(TokenError::Invalid) if !crate::identity::sts::StsKeys::is_temporary(&c.access_key) => {
            Err(AccessError::KeyGone)
        }
        Err(e) => Err(e.into()),
    }
}

/// For a signed operation that names no existing resource (CreateBucket, ListBuckets): an
/// account may; a member when its policies allow `action` on `resource`.
fn check_signed(user: Who<'_>, action: &str, resource: &str, ctx: &Context) -> Checked {
    let Some(u) = user else {
        return Err(AccessError::Denied);
    };
    if u.member.is_none() {
        return Ok(());
    }
    let req = policy::Request {
        caller: Some(caller_of(u)),
        action,
        resource,
        context: ctx,
    };
    let bucket = if u.is_account() {
        Decision::Allow
    } else {
        Decision::NotApplicable
    };
    match member_decision(u, bucket, &req) {
        Decision::Allow => Ok(()),
        _ => Err(AccessError::Denied),
    }
}

/// The access checks, sharing the store and the users with the S3 service.
pub struct AccessControl {
    store: Arc<ObjectStore>,
    users: Keyring,
    policies: PolicyCache,
}

impl AccessControl {
    pub fn new(store: Arc<ObjectStore>, users: Keyring) -> Self {
        Self {
            store,
            users,
            policies: PolicyCache::default(),
        }
    }

    fn user<T>(&self, req: &S3Request<T>) -> Checked<Option<Arc<User>>> {
        resolve_caller(
            &self.users,
            req.credentials.as_ref(),
            &req.headers,
            req.uri.query(),
        )
    }

    /// The bucket to check against. A bucket that does not exist refuses the request with
    /// `NoSuchBucket` (or `InvalidBucketName`) here, never by letting it through to the
    /// operation: a bucket created between this check and the operation would otherwise be
    /// acted on unchecked.
    async fn subject<'a>(&self, bucket: &'a str) -> Checked<Subject<'a>> {
        Ok(self.subject_with(bucket, None).await?.0)
    }

    /// [`Self::subject`], and with `key` the key's current record (or why there is none) read
    /// with the bucket's in one go, for a check that will consult both.
    async fn subject_with<'a>(
        &self,
        bucket: &'a str,
        key: Option<&str>,
    ) -> Checked<(Subject<'a>, Option<CurrentRecord>)> {
        let (rec, current) = match key {
            None => (self.store.bucket(bucket).await?, None),
            Some(k) => {
                let (b, c) = self.store.bucket_and_current(bucket, k).await?;
                (b, Some(c))
            }
        };
        let policy = rec
            .policy
            .as_deref()
            .and_then(|p| self.policies.get(bucket, p));
        let unreadable_policy = rec.policy.is_some() && policy.is_none();
        let subject = Subject {
            name: bucket,
            owner: self.users.owner_id(&rec.owner),
            rec,
            policy,
            unreadable_policy,
        };
        Ok((subject, current))
    }

    /// The bucket policy's decision on `action` over the bucket or one of its objects. A policy
    /// that cannot be read decides nothing but refuses everything (500), except the owner's
    /// repair of it (Put/DeleteBucketPolicy, left to the ACL: the owner).
    fn decide(
        &self,
        s: &Subject<'_>,
        user: Who<'_>,
        action: &str,
        key: Option<&str>,
        ctx: &Context,
    ) -> Checked<Decision> {
        let is_owner = user.is_some_and(|u| u.owns(&s.owner));
        let member = user.filter(|u| u.member.is_some());
        let resource = policy::resource_arn(s.name, key);
        let req = policy::Request {
            caller: user.map(caller_of),
            action,
            resource: &resource,
            context: ctx,
        };
        let bucket = if s.unreadable_policy {
            if !(is_owner && !s.rec.policy_locks_owner && POLICY_ACTIONS.contains(&action)) {
                return Err(AccessError::UnreadablePolicy(s.name.to_string()));
            }
            Decision::NotApplicable
        } else if let Some(policy) = &s.policy {
            match policy.evaluate(&req) {
                // The owner can always repair its policy, unless it asked to be locked out.
                Decision::Deny
                    if is_owner
                        && !s.rec.policy_locks_owner
                        && POLICY_ACTIONS.contains(&action) =>
                {
                    Decision::NotApplicable
                }
                // RestrictPublicBuckets: a public policy grants nobody but the owner.
                Decision::Allow
                    if !is_owner
                        && s.rec
                            .public_access_block
                            .is_some_and(|b| b.restrict_public_buckets)
                        && policy.is_public() =>
                {
                    Decision::NotApplicable
                }
                d => d,
            }
        } else {
            Decision::NotApplicable
        };
        // A member's identity and narrowing policies join in (AWS's evaluation logic; across
        // accounts both sides must allow).
        Ok(match member {
            Some(u) => member_decision_on(u, bucket, &req, u.id == s.owner),
            None => bucket,
        })
    }

    /// A permission on the bucket: the policy's decision, else the bucket's ACL.
    fn check_bucket(
        &self,
        s: &Subject<'_>,
        user: Who<'_>,
        action: &str,
        key: Option<&str>,
        need: Need,
        ctx: &Context,
    ) -> Checked {
        let caller = user.map(|u| u.acl_id());
        let by_acl = || match need {
            Need::Bucket(p) => allows(
                honoured_grants(&s.rec, s.rec.acl.as_deref()).as_deref(),
                &s.owner,
                caller,
                p,
            ),
            _ => caller == Some(s.owner.as_str()),
        };
        grant(self.decide(s, user, action, key, ctx)?, by_acl)
    }

    /// Listing as the test for whether a missing key may be reported as missing: S3 answers
    /// 404 only to those who may list the bucket (with `s3:prefix` the key), others 403.
    fn check_may_list(&self, s: &Subject<'_>, user: Who<'_>, key: &str, ctx: &Context) -> Checked {
        let mut ctx = ctx.clone();
        ctx.set("s3:prefix", key);
        let need = Need::Bucket(Permission::Read);
        self.check_bucket(s, user, "s3:ListBucket", None, need, &ctx)
    }

    /// `action` on an object: the policy's decision (with the object's tags as
    /// `s3:ExistingObjectTag/*`), else the object's ACL or ownership, or for writes the bucket's
    /// ACL.
    ///
    /// The record consulted is the version the request names (`None`: the current one). A
    /// missing key or version, or a delete marker, is decided as a missing object. Any other
    /// failure to read it refuses with that error (a malformed version id is the client's
    /// `InvalidArgument`; a storage failure 500 or 503): what could not be read is never
    /// allowed. The object's record, when this read it and access is granted, is left in
    /// `read`.
    #[allow(clippy::too_many_arguments)]
    async fn check_object(
        &self,
        s: &Subject<'_>,
        user: Who<'_>,
        action: &str,
        object: (&str, Option<&str>),
        need: Need,
        ctx: Context,
        read: &mut Option<rustfs_object::ObjectRecord>,
    ) -> Checked {
        self.check_object_from(s, user, action, object, need, ctx, read, None)
            .await
    }

    /// [`Self::check_object`], starting from `current` (the current record, read with the
    /// bucket's) when the request names no version.
    #[allow(clippy::too_many_arguments)]
    async fn check_object_from(
        &self,
        s: &Subject<'_>,
        user: Who<'_>,
        action: &str,
        (key, version): (&str, Option<&str>),
        need: Need,
        mut ctx: Context,
        read: &mut Option<rustfs_object::ObjectRecord>,
        current: Option<CurrentRecord>,
    ) -> Checked {
        let reads_object = matches!(need, Need::Object(_) | Need::Owner);
        let reads_tags = s
            .policy
            .as_ref()
            .is_some_and(|p| p.uses_key("s3:existingobjecttag/"));
        if !reads_object && !reads_tags {
            return self.check_bucket(s, user, action, Some(key), need, &ctx);
        }
        // The current record read with the bucket's, when the caller did (no version named).
        let got = match current.filter(|_| version.is_none()) {
            Some(c) => c,
            None => self.store.head_version(s.name, key, version).await,
        };
        let obj = match got {
            Ok(r) => r,
            Err(
                ObjectError::NoSuchKey
                | ObjectError::NoSuchVersion
                | ObjectError::DeleteMarker { .. },
            ) if reads_object => {
                return self.check_may_list(s, user, key, &ctx);
            }
            Err(
                ObjectError::NoSuchKey
                | ObjectError::NoSuchVersion
                | ObjectError::DeleteMarker { .. },
            ) => {
                return self.check_bucket(s, user, action, Some(key), need, &ctx);
            }
            // A malformed version id or a storage failure: refused with that error.
            Err(e) => return Err(e.into()),
        };
        if s.policy.is_some() {
            for (k, v) in &obj.tags {
                ctx.set(&format!("s3:ExistingObjectTag/{k}"), v.clone());
            }
        }
        if !reads_object {
            return self.check_bucket(s, user, action, Some(key), need, &ctx);
        }
        // With BucketOwnerEnforced, ACLs are off and the bucket owner owns every object.
        let enforced = s.rec.object_ownership == Some(ObjectOwnership::BucketOwnerEnforced);
        let (owner, acl) = if enforced {
            (s.owner.clone(), None)
        } else {
            let acl = honoured_grants(&s.rec, obj.acl.as_deref());
            (self.users.owner_id(&obj.owner), acl)
        };
        let owner = owner.as_str();
        let caller = user.map(|u| u.acl_id());
        let by_acl = || match need {
            Need::Object(p) => allows(acl.as_deref(), owner, caller, p),
            _ => caller == Some(owner) || caller == Some(s.owner.as_str()),
        };
        grant(self.decide(s, user, action, Some(key), &ctx)?, by_acl)?;
        *read = Some(obj);
        Ok(())
    }

    /// Whether an anonymous request for an operation decided only once its body is parsed
    /// (DeleteObjects, PutObjectTagging, POST forms) could be allowed at all (see
    /// [`AnonymousMay`]).
    fn anonymous_may_send(&self, s: &Subject<'_>, may: AnonymousMay) -> Checked<bool> {
        let (actions, acl) = match may {
            AnonymousMay::Form => return Ok(true),
            AnonymousMay::IfGranted { actions, acl } => (actions, acl),
        };
        if s.unreadable_policy {
            return Err(AccessError::UnreadablePolicy(s.name.to_string()));
        }
        let by_policy = s
            .policy
            .as_ref()
            .is_some_and(|p| p.may_allow(None, actions));
        let by_acl = acl.is_some_and(|p| {
            allows(
                honoured_grants(&s.rec, s.rec.acl.as_deref()).as_deref(),
                &s.owner,
                None,
                p,
            )
        });
        Ok(by_policy || by_acl)
    }

    /// The source of CopyObject/UploadPartCopy: checked as a GetObject of it.
    async fn check_copy_source<T: Sync>(&self, req: &S3Request<T>, src: &CopySource) -> Checked {
        let CopySource::Bucket {
            bucket,
            key,
            version_id,
        } = src
        else {
            return Ok(());
        };
        let s = self.subject(bucket).await?;
        let (user, ctx) = self.context_of(req, &s)?;
        let user = user.as_deref();
        let read = rule(&Operation::GetObject {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version: version_id.as_deref().map(str::to_string),
        });
        let object = (&**key, version_id.as_deref());
        self.check_object(&s, user, &read.action, object, read.need, ctx, &mut None)
            .await
    }

    /// The caller of `req`, and its condition keys for `s`'s policy.
    fn context_of<T>(
        &self,
        req: &S3Request<T>,
        s: &Subject<'_>,
    ) -> Checked<(Option<Arc<User>>, Context)> {
        let user = self.user(req)?;
        let client = req.extensions.get::<ClientInfo>().copied();
        let ctx = policy_context(s, user.as_deref(), &req.headers, req.uri.query(), client);
        Ok((user, ctx))
    }

    /// The access check of a request s3s routed (see [`S3Access::check`]).
    async fn check_request(&self, cx: &mut S3AccessContext<'_>) -> Checked {
        let op = Operation::classify(cx.s3_op().name(), cx.s3_path(), cx.uri().query())
            .map_err(AccessError::Unclassified)?;
        let op = OperationSlot::record(cx.extensions_mut(), op);
        check_presigned_lifetime(cx.uri().query())?;
        let client = cx.extensions_mut().get::<ClientInfo>().copied();
        let resolved = resolve_caller(
            &self.users,
            cx.credentials(),
            cx.headers(),
            cx.uri().query(),
        )?;
        if let Some(u) = &resolved {
            cx.extensions_mut().insert(CheckedCaller(u.clone()));
            OperationSlot::record_caller(cx.extensions_mut(), u.clone());
        }
        let user = resolved.as_deref();
        let rule = rule(&op);
        let signed_resource = match op.bucket() {
            Some(b) => policy::resource_arn(b, None),
            None => "arn:aws:s3:::*".to_string(),
        };
        let signed = || {
            let ctx = match user {
                Some(u) if u.member.is_some() => {
                    request_context(user, cx.headers(), cx.uri().query(), client)
                }
                _ => Context::default(),
            };
            check_signed(user, &rule.action, &signed_resource, &ctx)
        };
        match rule.need {
            Need::Signed | Need::Bucket(_) | Need::Object(_) | Need::Owner => {}
            // The admin API and IAM/STS queries are custom routes ([`check_route`]); s3s
            // never routes them as S3 operations. Refused if it ever did.
            Need::Root | Need::Anyone => return Err(AccessError::Denied),
        }
        // An operation naming no bucket (ListBuckets, or one s3s routes but we do not serve)
        // needs a signature.
        let Some(bucket) = op.bucket() else {
            return signed();
        };
        // A GET or HEAD of the current version reads the bucket's and the object's records in
        // one go (the check consults both).
        let current_read = matches!(
            *op,
            Operation::GetObject { version: None, .. }
                | Operation::HeadObject { version: None, .. }
        );
        let ahead = op.key().filter(|_| current_read);
        // A missing bucket is answered here, 404 NoSuchBucket, to anonymous callers too, as
        // S3 does; only CreateBucket (which needs a signature) goes on to create it.
        let (s, current) = match self.subject_with(bucket, ahead).await {
            Err(AccessError::Store(ObjectError::NoSuchBucket)) if rule.need == Need::Signed => {
                return signed();
            }
            s => s?,
        };
        // `x-amz-expected-bucket-owner`: a bucket owned by anyone else is refused, as in S3.
        let expected = cx.headers().get("x-amz-expected-bucket-owner");
        if expected.is_some_and(|e| e.as_bytes() != s.owner.as_bytes()) {
            return Err(AccessError::Denied);
        }
        // The operations that name what they act on in their body are checked once s3s has
        // read and parsed it (the hooks below); an anonymous caller whom nothing could admit
        // is refused now, before a byte of the body is read.
        if let Decided::AfterBody(may) = rule.decided {
            if user.is_none() && !self.anonymous_may_send(&s, may)? {
                return Err(AccessError::Denied);
            }
            return Ok(());
        }
        // CreateBucket on an existing bucket is answered by the operation.
        if rule.need == Need::Signed {
            return signed();
        }
        let ctx = policy_context(&s, user, cx.headers(), cx.uri().query(), client);
        let Some(key) = op.key() else {
            return self.check_bucket(&s, user, &rule.action, None, rule.need, &ctx);
        };
        let mut read = None;
        let object = (key, op.version());
        // Bypassing GOVERNANCE retention is a second permission, asked only when requested;
        // refused, the request goes on without it (and object lock decides).
        let bypass = (matches!(
            *op,
            Operation::DeleteObject { .. } | Operation::PutObjectRetention { .. }
        ) && asks_bypass(cx.headers()))
        .then(|| ctx.clone());
        self.check_object_from(
            &s,
            user,
            &rule.action,
            object,
            rule.need,
            ctx,
            &mut read,
            current,
        )
        .await?;
        if let Some(ctx) = bypass
            && self
                .check_bucket(&s, user, BYPASS_GOVERNANCE, Some(key), Need::Owner, &ctx)
                .is_ok()
        {
            cx.extensions_mut()
                .insert(GovernanceBypass(Arc::new(vec![true])));
        }
        let put = matches!(*op, Operation::PutObject { .. });
        let bucket_rec = s.rec;
        if let Some(rules) = &bucket_rec.lifecycle {
            cx.extensions_mut()
                .insert(CheckedLifecycle(Arc::new(rules.clone())));
        }
        // Only a read of the current version starts from the record read here.
        if let Some(rec) = read.filter(|_| current_read) {
            cx.extensions_mut().insert(CheckedRecord(rec));
        }
        if put {
            cx.extensions_mut().insert(CheckedBucket(bucket_rec));
        }
        Ok(())
    }
}

/// The outcome: a policy Deny refuses, an Allow grants, otherwise `by_acl` decides.
fn grant(decision: Decision, by_acl: impl FnOnce() -> bool) -> Checked {
    match decision {
        Decision::Deny => Err(AccessError::Denied),
        Decision::Allow => Ok(()),
        Decision::NotApplicable if by_acl() => Ok(()),
        Decision::NotApplicable => Err(AccessError::Denied),
    }
}

/// The access check of a custom route's request (the admin API, IAM/STS queries), whose
/// operation `op` the route classified: decided by the same rules as S3 operations.
/// `caller`: who signed (resolved by [`resolve_caller`]); `root`: the root user.
pub fn check_route(op: &Operation, caller: Option<&User>, root: Option<&User>) -> S3Result<()> {
    let r = rule(op);
    let checked = match r.need {
        Need::Anyone => Ok(()),
        Need::Root => check_admin(caller, root, &r.action),
        // S3 operations are decided by `AccessControl` (s3s' access hook), never by a route.
        Need::Signed | Need::Bucket(_) | Need::Object(_) | Need::Owner => Err(AccessError::Denied),
    };
    checked.map_err(crate::errors::access)
}

/// Whether `caller` may make admin or IAM call `action` (`admin:CreateUser`,
/// `iam:PutUserPolicy`, ...): the root user may; an identity of the root account with the
/// root account's rights (its service account, its session) when its narrowing allows the
/// action; any other identity when its policies allow it (MinIO's `consoleAdmin` allows
/// `admin:*`).
pub fn check_admin(caller: Option<&User>, root: Option<&User>, action: &str) -> Checked {
    check_admin_on(caller, root, action, "*")
}

/// [`check_admin`] for an action on one resource (an IAM call on `arn:aws:iam:::user/NAME`).
pub fn check_admin_on(
    caller: Option<&User>,
    root: Option<&User>,
    action: &str,
    resource: &str,
) -> Checked {
    let Some(u) = caller else {
        return Err(AccessError::Unsigned);
    };
    let Some(root) = root else {
        return Err(AccessError::NotRoot);
    };
    let ctx = Context::default();
    let req = policy::Request {
        caller: Some(caller_of(u)),
        action,
        resource,
        context: &ctx,
    };
    let allowed = match &u.member {
        None => u.access_key == root.access_key,
        // Root's own service account or session, within its narrowing (unless a policy of
        // its own denies).
        Some(m) if m.owner && u.id == root.id => {
            member_decision(u, Decision::Allow, &req) == Decision::Allow
        }
        // Anyone else (another account with policies included) by its policies.
        Some(_) => member_decision(u, Decision::NotApplicable, &req) == Decision::Allow,
    };
    if allowed {
        Ok(())
    } else {
        Err(AccessError::NotRoot)
    }
}

#[async_trait::async_trait]
impl S3Access for AccessControl {
    /// Classifies the request ([`Operation`], recorded in its extensions) and decides it by
    /// its [`rule`].
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        self.check_request(cx).await.map_err(crate::errors::access)
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        self.check_copy_source(req, &req.input.copy_source)
            .await
            .map_err(crate::errors::access)
    }

    async fn upload_part_copy(&self, req: &mut S3Request<UploadPartCopyInput>) -> S3Result<()> {
        self.check_copy_source(req, &req.input.copy_source)
            .await
            .map_err(crate::errors::access)
    }

    /// Each key checked as a DeleteObject of it: the keys refused are reported in the
    /// answer, as S3 does.
    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        // More entries than S3 allows: the operation refuses the request, nothing is checked.
        if req.input.delete.objects.len() > crate::ops::DELETE_OBJECTS_MAX {
            return Ok(());
        }
        let s = self
            .subject(&req.input.bucket)
            .await
            .map_err(crate::errors::access)?;
        let (user, ctx) = self.context_of(req, &s).map_err(crate::errors::access)?;
        let user = user.as_deref();
        // An entry naming a version deletes that version: `s3:DeleteObjectVersion`, with the
        // version as `s3:versionid`.
        // An entry whose check fails for any reason (refused, unreadable record, malformed
        // version id) is reported with that error and not deleted.
        let mut refused: Vec<Option<S3Error>> = Vec::with_capacity(req.input.delete.objects.len());
        let asked = asks_bypass(&req.headers);
        let mut bypass = Vec::with_capacity(if asked { refused.capacity() } else { 0 });
        for o in &req.input.delete.objects {
            let mut ctx = ctx.clone();
            if asked {
                let key = Some(o.key.as_str());
                let allowed =
                    self.check_bucket(&s, user, BYPASS_GOVERNANCE, key, Need::Owner, &ctx);
                bypass.push(allowed.is_ok());
            }
            if let Some(v) = &o.version_id {
                ctx.set("s3:versionid", v.clone());
            }
            let delete = rule(&Operation::DeleteObject {
                bucket: req.input.bucket.clone(),
                key: o.key.clone(),
                version: o.version_id.clone(),
            });
            let object = (o.key.as_str(), o.version_id.as_deref());
            refused.push(
                self.check_object(
                    &s,
                    user,
                    &delete.action,
                    object,
                    delete.need,
                    ctx,
                    &mut None,
                )
                .await
                .err()
                .map(crate::errors::access),
            );
        }
        if refused.iter().any(Option::is_some) {
            req.extensions.insert(DeniedEntries(Arc::new(refused)));
        }
        if bypass.iter().any(|&b| b) {
            req.extensions.insert(GovernanceBypass(Arc::new(bypass)));
        }
        Ok(())
    }

    /// PutObjectTagging, with the new tags as `s3:RequestObjectTag/*`.
    async fn put_object_tagging(&self, req: &mut S3Request<PutObjectTaggingInput>) -> S3Result<()> {
        let checked = async {
            let s = self.subject(&req.input.bucket).await?;
            let (user, mut ctx) = self.context_of(req, &s)?;
            let user = user.as_deref();
            let tags = &req.input.tagging.tag_set;
            for t in tags {
                if let (Some(k), Some(v)) = (&t.key, &t.value) {
                    ctx.set(&format!("s3:RequestObjectTag/{k}"), v.clone());
                }
            }
            let keys = tags.iter().filter_map(|t| t.key.clone()).collect();
            ctx.set_all("s3:RequestObjectTagKeys", keys);
            let tagging = rule(&Operation::PutObjectTagging {
                bucket: req.input.bucket.clone(),
                key: req.input.key.clone(),
                version: req.input.version_id.clone(),
            });
            let object = (req.input.key.as_str(), req.input.version_id.as_deref());
            self.check_object(
                &s,
                user,
                &tagging.action,
                object,
                tagging.need,
                ctx,
                &mut None,
            )
            .await
        };
        checked.await.map_err(crate::errors::access)
    }

    /// The form's key, checked as its upload.
    async fn post_object(&self, req: &mut S3Request<PostObjectInput>) -> S3Result<()> {
        let checked = async {
            let s = self.subject(&req.input.bucket).await?;
            let (user, ctx) = self.context_of(req, &s)?;
            let user = user.as_deref();
            let post = rule(&Operation::PostObject {
                bucket: req.input.bucket.clone(),
            });
            let object = (req.input.key.as_str(), None);
            self.check_object(&s, user, &post.action, object, post.need, ctx, &mut None)
                .await
        };
        checked.await.map_err(crate::errors::access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_their_condition_keys() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x".parse().unwrap(),
        );
        h.insert("x-amz-acl", "public-read".parse().unwrap());
        h.insert(
            "x-amz-copy-source",
            "/src/public/a%20b?versionId=1".parse().unwrap(),
        );
        h.insert("x-amz-tagging", "security=public&team=a+b".parse().unwrap());
        let client = ClientInfo {
            ip: "10.1.2.3".parse().unwrap(),
            secure: false,
        };
        let ctx = request_context(None, &h, Some("prefix=pub%2Fx&max-keys=5"), Some(client));
        let one = |k: &str| ctx.get(k).map(|v| v[0].clone());
        assert_eq!(one("aws:SourceIp").as_deref(), Some("10.1.2.3"));
        assert_eq!(one("aws:SecureTransport").as_deref(), Some("false"));
        assert_eq!(one("s3:x-amz-acl").as_deref(), Some("public-read"));
        assert_eq!(
            one("s3:x-amz-copy-source").as_deref(),
            Some("src/public/a b")
        );
        assert_eq!(one("s3:RequestObjectTag/team").as_deref(), Some("a b"));
        assert_eq!(
            ctx.get("s3:RequestObjectTagKeys").map(<[String]>::len),
            Some(2)
        );
        assert_eq!(one("s3:prefix").as_deref(), Some("pub/x"));
        assert_eq!(one("s3:max-keys").as_deref(), Some("5"));
        assert_eq!(
            one("s3:signatureversion").as_deref(),
            Some("AWS4-HMAC-SHA256")
        );
        assert_eq!(one("s3:authType").as_deref(), Some("REST-HEADER"));
        assert_eq!(one("aws:PrincipalType").as_deref(), Some("Anonymous"));
        assert!(ctx.get("s3:delimiter").is_none());
        assert!(ctx.get("aws:CurrentTime").is_some());
    }

    #[test]
    fn presigned_urls_live_at_most_a_week() {
        assert!(check_presigned_lifetime(None).is_ok());
        assert!(check_presigned_lifetime(Some("X-Amz-Expires=604800&x=1")).is_ok());
        assert!(check_presigned_lifetime(Some("a=b&X-Amz-Expires=604801")).is_err());
    }
}
