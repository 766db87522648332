//! What a request asks for, classified once: the operation with the bucket, key and version it
//! names ([`Operation`]). s3s routes a request to one of its operations and hands us that
//! operation's name with the request's path; [`Operation::classify`] turns the pair into this
//! enum, the one place that reads s3s' operation names. The access check classifies each
//! request and records the result in the request's extensions ([`OperationSlot`]), where the
//! operation handlers, the failed-request log line and future metrics or audit log read it.
//!
//! Who may do what is decided by an exhaustive `match` on the enum (`access::rule`): adding
//! a variant without deciding its access does not compile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http::{Extensions, Method};
use percent_encoding::percent_decode_str;
use s3s::path::S3Path;

use crate::auth::User;

/// A call to the admin API (`/rustfs/admin/v1/...`, see `admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCall {
    /// `GET status`.
    Status,
    /// `POST heal`: start a heal pass.
    StartHeal,
    /// `GET heal`: a heal pass's progress or result.
    HealState,
    /// A call of MinIO's admin API (`/minio/admin/v3/<op>`, `/rustfs/admin/v3/<op>`).
    V3(crate::admin::V3Op),
    /// Anything else under the reserved admin paths (answered as MinIO answers an admin API
    /// it does not have).
    Other,
}

impl AdminCall {
    /// The call a request to the admin API makes.
    pub fn of(method: &Method, path: &str) -> Self {
        match (method, path.strip_prefix(crate::admin::PREFIX)) {
            (&Method::GET, Some("status")) => Self::Status,
            (&Method::POST, Some("heal")) => Self::StartHeal,
            (&Method::GET, Some("heal")) => Self::HealState,
            (_, None) => crate::admin::V3Op::of(method, path).map_or(Self::Other, Self::V3),
            _ => Self::Other,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Status => "AdminStatus",
            Self::StartHeal => "AdminStartHeal",
            Self::HealState => "AdminHealState",
            Self::V3(op) => op.label(),
            Self::Other => "AdminOther",
        }
    }
}

/// The operations s3s routes to us, by the shape of what they name. For each group the macro
/// writes the variants (named as s3s names the operation), their classification from s3s'
/// operation name, their label and their bucket, key and version; the variants that are not
/// S3 operations (our own routes, and the operations s3s routes that we do not serve) are
/// written out in it.
macro_rules! operations {
    (
        service: [$($service:ident),* $(,)?],
        bucket: [$($bucket:ident),* $(,)?],
        object: [$($object:ident),* $(,)?],
        object_version: [$($versioned:ident),* $(,)?] $(,)?
    ) => {
        /// One request's operation and what it acts on (see the module notes).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Operation {
            $($service,)*
            $($bucket { bucket: String },)*
            $($object { bucket: String, key: String },)*
            $($versioned { bucket: String, key: String, version: Option<String> },)*
            /// An operation s3s routes but this server does not serve (s3s answers
            /// `NotImplemented` once access is granted), under s3s' name for it.
            Unsupported {
                name: String,
                bucket: Option<String>,
                key: Option<String>,
                version: Option<String>,
            },
            /// The admin API (`admin`).
            Admin(AdminCall),
            /// An IAM or STS query sent to the S3 endpoint (`query_api`, which authorizes each
            /// action itself).
            IamOrSts,
        }

        impl Operation {
            /// The operation s3s routed a request to: `name` is s3s' name for it, `path` the
            /// bucket and key it resolved, `query` the request's query string (for the
            /// `versionId` it names). An S3 operation whose path does not have the shape the
            /// operation needs (never from s3s 0.14) is not classified.
            pub fn classify(
                name: &str,
                path: &S3Path,
                query: Option<&str>,
            ) -> Result<Self, Unclassified> {
                let unclassified = || Unclassified(name.to_string());
                let (bucket, key) = match path {
                    S3Path::Root => (None, None),
                    S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
                    S3Path::Object { bucket, key } => {
                        (Some(bucket.to_string()), Some(key.to_string()))
                    }
                };
                let version = version_of(query);
                Ok(match name {
                    $(stringify!($service) => match (bucket, key) {
                        (None, None) => Self::$service,
                        _ => return Err(unclassified()),
                    },)*
                    $(stringify!($bucket) => match (bucket, key) {
                        (Some(bucket), None) => Self::$bucket { bucket },
                        _ => return Err(unclassified()),
                    },)*
                    $(stringify!($object) => match (bucket, key) {
                        (Some(bucket), Some(key)) => Self::$object { bucket, key },
                        _ => return Err(unclassified()),
                    },)*
                    $(stringify!($versioned) => match (bucket, key) {
                        (Some(bucket), Some(key)) => Self::$versioned { bucket, key, version },
                        _ => return Err(unclassified()),
                    },)*
                    other => Self::Unsupported {
                        name: other.to_string(),
                        bucket,
                        key,
                        version,
                    },
                })
            }

            /// The operation's name: s3s' name for an S3 operation (`GetObject`), `Admin...`
            /// for the admin API, `IamOrSts`. For log lines, metrics and the audit log.
            pub fn label(&self) -> &str {
                match self {
                    $(Self::$service => stringify!($service),)*
                    $(Self::$bucket { .. } => stringify!($bucket),)*
                    $(Self::$object { .. } => stringify!($object),)*
                    $(Self::$versioned { .. } => stringify!($versioned),)*
                    Self::Unsupported { name, .. } => name,
                    Self::Admin(call) => call.label(),
                    Self::IamOrSts => "IamOrSts",
                }
            }

            /// The bucket the operation acts on, if it names one.
            pub fn bucket(&self) -> Option<&str> {
                match self {
                    $(Self::$service => None,)*
                    $(Self::$bucket { bucket } => Some(bucket),)*
                    $(Self::$object { bucket, .. } => Some(bucket),)*
                    $(Self::$versioned { bucket, .. } => Some(bucket),)*
                    Self::Unsupported { bucket, .. } => bucket.as_deref(),
                    Self::Admin(_) | Self::IamOrSts => None,
                }
            }

            /// The object key the operation acts on, if it names one in its path (DeleteObjects
            /// and POST forms name theirs in the body).
            pub fn key(&self) -> Option<&str> {
                match self {
                    $(Self::$service => None,)*
                    $(Self::$bucket { .. } => None,)*
                    $(Self::$object { key, .. } => Some(key),)*
                    $(Self::$versioned { key, .. } => Some(key),)*
                    Self::Unsupported { key, .. } => key.as_deref(),
                    Self::Admin(_) | Self::IamOrSts => None,
                }
            }

            /// The version the operation names (`?versionId=`), for those that act on one.
            pub fn version(&self) -> Option<&str> {
                match self {
                    $(Self::$versioned { version, .. } => version.as_deref(),)*
                    Self::Unsupported { version, .. } => version.as_deref(),
                    _ => None,
                }
            }

            /// One operation of each kind, for tests that must cover them all.
            #[cfg(test)]
            pub(crate) fn one_of_each() -> Vec<Self> {
                let (b, k) = (|| "b".to_string(), || "k".to_string());
                let mut all = vec![
                    $(Self::$service,)*
                    $(Self::$bucket { bucket: b() },)*
                    $(Self::$object { bucket: b(), key: k() },)*
                ];
                for version in [None, Some("v".to_string())] {
                    all.extend([
                        $(Self::$versioned { bucket: b(), key: k(), version: version.clone() },)*
                    ]);
                }
                all.extend([
                    Self::Unsupported {
                        name: "SelectObjectContent".into(),
                        bucket: Some(b()),
                        key: Some(k()),
                        version: None,
                    },
                    Self::Admin(AdminCall::Status),
                    Self::Admin(AdminCall::StartHeal),
                    Self::Admin(AdminCall::HealState),
                    Self::Admin(AdminCall::Other),
                    Self::IamOrSts,
                ]);
                all
            }
        }
    };
}

operations! {
    service: [ListBuckets],
    bucket: [
        CreateBucket,
        DeleteBucket,
        HeadBucket,
        GetBucketLocation,
        GetBucketEncryption,
        PutBucketEncryption,
        DeleteBucketEncryption,
        ListObjects,
        ListObjectsV2,
        ListObjectVersions,
        ListMultipartUploads,
        GetBucketVersioning,
        PutBucketVersioning,
        GetBucketTagging,
        PutBucketTagging,
        DeleteBucketTagging,
        GetBucketCors,
        PutBucketCors,
        DeleteBucketCors,
        GetBucketLifecycleConfiguration,
        PutBucketLifecycleConfiguration,
        DeleteBucketLifecycle,
        GetBucketAcl,
        PutBucketAcl,
        GetBucketOwnershipControls,
        PutBucketOwnershipControls,
        DeleteBucketOwnershipControls,
        GetBucketPolicy,
        PutBucketPolicy,
        DeleteBucketPolicy,
        GetBucketPolicyStatus,
        GetPublicAccessBlock,
        PutPublicAccessBlock,
        DeletePublicAccessBlock,
        GetObjectLockConfiguration,
        PutObjectLockConfiguration,
        // These two name what they act on in the body: the keys to delete, the form's key.
        DeleteObjects,
        PostObject,
    ],
    object: [
        PutObject,
        CopyObject,
        CreateMultipartUpload,
        UploadPart,
        UploadPartCopy,
        CompleteMultipartUpload,
        AbortMultipartUpload,
        ListParts,
    ],
    object_version: [
        GetObject,
        HeadObject,
        DeleteObject,
        GetObjectAttributes,
        GetObjectAcl,
        PutObjectAcl,
        GetObjectTagging,
        PutObjectTagging,
        DeleteObjectTagging,
        GetObjectRetention,
        PutObjectRetention,
        GetObjectLegalHold,
        PutObjectLegalHold,
    ],
}

/// s3s routed a request to an operation whose path does not have the shape it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclassified(pub String);

/// The `versionId` a query string names, decoded (`+` is a space), if any.
pub(crate) fn version_of(query: Option<&str>) -> Option<String> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .find(|(k, _)| decode(k) == "versionId")
        .map(|(_, v)| decode(v))
}

/// Decodes one component of a query string (`+` is a space).
pub(crate) fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Where a request's [`Operation`] is kept once classified, with what else the edge learns
/// about the request while s3s has it: the caller the access check resolved and the body bytes
/// read. The HTTP layer puts an empty slot in each request's extensions before s3s sees it and
/// keeps a handle (s3s does not return a request's extensions with its answer); the access
/// check fills it; the operation handlers read it from their request's extensions
/// ([`OperationSlot::of`]); the edge reads it for the request's record (`edge::observe`).
#[derive(Debug, Clone, Default)]
pub struct OperationSlot(Arc<Slot>);

#[derive(Debug, Default)]
struct Slot {
    filled: Mutex<Filled>,
    /// Request body bytes read from the client (`edge::counted_body`).
    bytes_in: AtomicU64,
}

#[derive(Debug, Default)]
struct Filled {
    op: Option<Arc<Operation>>,
    caller: Option<Arc<User>>,
}

impl OperationSlot {
    fn filled(&self) -> std::sync::MutexGuard<'_, Filled> {
        self.0.filled.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The operation recorded, if the request was classified.
    pub fn get(&self) -> Option<Arc<Operation>> {
        self.filled().op.clone()
    }

    /// The caller the access check resolved (`None`: anonymous, or not checked).
    pub fn caller(&self) -> Option<Arc<User>> {
        self.filled().caller.clone()
    }

    /// The operation's label, `-` if the request was not classified (refused before s3s
    /// routed it, or not routed at all).
    pub fn label(&self) -> String {
        self.get()
            .map_or_else(|| "-".to_string(), |op| op.label().to_string())
    }

    fn set(&self, op: Arc<Operation>) {
        self.filled().op = Some(op);
    }

    /// Adds `n` request body bytes read.
    pub fn add_bytes_in(&self, n: u64) {
        self.0.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// The request body bytes read so far.
    pub fn bytes_in(&self) -> u64 {
        self.0.bytes_in.load(Ordering::Relaxed)
    }

    /// The slot in a request's extensions (one is added if the HTTP layer gave it none).
    fn in_extensions(extensions: &mut Extensions) -> &Self {
        extensions.get_or_insert_default::<Self>()
    }

    /// Records `op` as the operation of the request whose extensions these are (in the
    /// request's slot; one is added if the HTTP layer gave it none).
    pub fn record(extensions: &mut Extensions, op: Operation) -> Arc<Operation> {
        let op = Arc::new(op);
        Self::in_extensions(extensions).set(op.clone());
        op
    }

    /// Records the caller the access check resolved for the request.
    pub fn record_caller(extensions: &mut Extensions, caller: Arc<User>) {
        Self::in_extensions(extensions).set_caller(caller);
    }

    /// Records the caller of the request this slot is of.
    pub fn set_caller(&self, caller: Arc<User>) {
        self.filled().caller = Some(caller);
    }

    /// The operation recorded in a request's extensions.
    pub fn of(extensions: &Extensions) -> Option<Arc<Operation>> {
        extensions.get::<Self>().and_then(Self::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(b: &str) -> S3Path {
        S3Path::Bucket { bucket: b.into() }
    }

    fn object(b: &str, k: &str) -> S3Path {
        S3Path::Object {
            bucket: b.into(),
            key: k.into(),
        }
    }

    #[test]
    fn s3s_operations_are_classified_with_what_they_name() {
        let (b, k) = ("b".to_string(), "a/k".to_string());
        let table: Vec<(&str, S3Path, Option<&str>, Operation)> = vec![
            ("ListBuckets", S3Path::Root, None, Operation::ListBuckets),
            (
                "CreateBucket",
                bucket("b"),
                None,
                Operation::CreateBucket { bucket: b.clone() },
            ),
            (
                "ListObjectsV2",
                bucket("b"),
                Some("list-type=2&prefix=x"),
                Operation::ListObjectsV2 { bucket: b.clone() },
            ),
            (
                "PutBucketPolicy",
                bucket("b"),
                Some("policy"),
                Operation::PutBucketPolicy { bucket: b.clone() },
            ),
            (
                "DeleteObjects",
                bucket("b"),
                Some("delete"),
                Operation::DeleteObjects { bucket: b.clone() },
            ),
            (
                "PostObject",
                bucket("b"),
                None,
                Operation::PostObject { bucket: b.clone() },
            ),
            (
                "GetObject",
                object("b", "a/k"),
                None,
                Operation::GetObject {
                    bucket: b.clone(),
                    key: k.clone(),
                    version: None,
                },
            ),
            (
                "GetObject",
                object("b", "a/k"),
                Some("partNumber=1&versionId=v%2B1"),
                Operation::GetObject {
                    bucket: b.clone(),
                    key: k.clone(),
                    version: Some("v+1".into()),
                },
            ),
            (
                "DeleteObject",
                object("b", "a/k"),
                Some("x-id=DeleteObject&versionId=null"),
                Operation::DeleteObject {
                    bucket: b.clone(),
                    key: k.clone(),
                    version: Some("null".into()),
                },
            ),
            (
                "PutObjectTagging",
                object("b", "a/k"),
                Some("tagging&versionId=v"),
                Operation::PutObjectTagging {
                    bucket: b.clone(),
                    key: k.clone(),
                    version: Some("v".into()),
                },
            ),
            // Operations that name no version ignore a stray `versionId`.
            (
                "UploadPart",
                object("b", "a/k"),
                Some("partNumber=1&uploadId=u&versionId=v"),
                Operation::UploadPart {
                    bucket: b.clone(),
                    key: k.clone(),
                },
            ),
            (
                "GetObjectRetention",
                object("b", "a/k"),
                Some("retention&versionId=v"),
                Operation::GetObjectRetention {
                    bucket: b.clone(),
                    key: k.clone(),
                    version: Some("v".into()),
                },
            ),
            (
                "RestoreObject",
                object("b", "a/k"),
                Some("restore&versionId=v"),
                Operation::Unsupported {
                    name: "RestoreObject".into(),
                    bucket: Some(b.clone()),
                    key: Some(k.clone()),
                    version: Some("v".into()),
                },
            ),
            (
                "ListDirectoryBuckets",
                S3Path::Root,
                Some("x-id=ListDirectoryBuckets"),
                Operation::Unsupported {
                    name: "ListDirectoryBuckets".into(),
                    bucket: None,
                    key: None,
                    version: None,
                },
            ),
        ];
        for (name, path, query, want) in table {
            let got = Operation::classify(name, &path, query);
            assert_eq!(got.as_ref(), Ok(&want), "{name} {path:?} {query:?}");
            assert_eq!(want.label(), name);
        }
        let op = Operation::classify("GetObjectAcl", &object("b", "k"), Some("acl&versionId=3"))
            .unwrap();
        assert_eq!(
            (op.bucket(), op.key(), op.version()),
            (Some("b"), Some("k"), Some("3"))
        );
    }

    #[test]
    fn a_path_of_the_wrong_shape_is_not_classified() {
        let bad = [
            ("GetObject", bucket("b")),
            ("ListBuckets", bucket("b")),
            ("ListObjects", object("b", "k")),
            ("CreateBucket", S3Path::Root),
            ("PutObject", S3Path::Root),
        ];
        for (name, path) in bad {
            assert_eq!(
                Operation::classify(name, &path, None),
                Err(Unclassified(name.into())),
                "{name}"
            );
        }
    }

    #[test]
    fn every_operation_is_labelled_as_s3s_names_it() {
        for op in Operation::one_of_each() {
            let (Operation::Unsupported { .. } | Operation::Admin(_) | Operation::IamOrSts) = op
            else {
                let path = match (op.bucket(), op.key()) {
                    (None, _) => S3Path::Root,
                    (Some(b), None) => bucket(b),
                    (Some(b), Some(k)) => object(b, k),
                };
                let query = op.version().map(|v| format!("versionId={v}"));
                let back = Operation::classify(op.label(), &path, query.as_deref());
                assert_eq!(back.as_ref(), Ok(&op));
                continue;
            };
        }
    }

    #[test]
    fn admin_calls_are_classified_by_method_and_path() {
        let call = |m: &Method, p: &str| AdminCall::of(m, p);
        assert_eq!(
            call(&Method::GET, "/rustfs/admin/v1/status"),
            AdminCall::Status
        );
        assert_eq!(
            call(&Method::POST, "/rustfs/admin/v1/heal"),
            AdminCall::StartHeal
        );
        assert_eq!(
            call(&Method::GET, "/rustfs/admin/v1/heal"),
            AdminCall::HealState
        );
        assert_eq!(
            call(&Method::POST, "/rustfs/admin/v1/status"),
            AdminCall::Other
        );
        assert_eq!(
            call(&Method::GET, "/minio/admin/v3/info"),
            AdminCall::V3(crate::admin::V3Op::ServerInfo)
        );
        assert_eq!(
            call(&Method::GET, "/minio/admin/v3/nothing"),
            AdminCall::Other
        );
    }

    #[test]
    fn the_slot_carries_the_operation_out_of_s3s() {
        let mut ext = Extensions::new();
        let slot = OperationSlot::default();
        ext.insert(slot.clone());
        assert_eq!(slot.label(), "-");
        OperationSlot::record(&mut ext, Operation::ListBuckets);
        assert_eq!(slot.label(), "ListBuckets");
        assert_eq!(
            OperationSlot::of(&ext).as_deref(),
            Some(&Operation::ListBuckets)
        );
        // Without a slot from the HTTP layer the request still gets one.
        let mut bare = Extensions::new();
        OperationSlot::record(&mut bare, Operation::IamOrSts);
        assert_eq!(
            OperationSlot::of(&bare).map(|o| o.label().to_string()),
            Some("IamOrSts".to_string())
        );
    }
}
