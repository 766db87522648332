//! What each operation needs to be allowed: the IAM action a bucket policy is asked about
//! (S3's "actions, resources and condition keys"; an operation naming a version is checked as
//! the `...Version...` action), the permission that grants it when no policy decides, and
//! whether it can be decided before its body is read. One exhaustive `match` on
//! [`Operation`], with no catch-all arm: an operation added without deciding its access does
//! not compile.

use std::borrow::Cow;

use rustfs_object::Permission;

use crate::operation::{AdminCall, Operation};

/// What an operation needs when no bucket policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Any signed request (ListBuckets, CreateBucket).
    Signed,
    /// A permission on the bucket.
    Bucket(Permission),
    /// A permission on the object.
    Object(Permission),
    /// Owning the bucket (configuration), or, on an object path, the bucket or the object.
    Owner,
    /// The root credentials (the admin API).
    Root,
    /// Nothing: anyone may send it (IAM/STS queries, each answered `NotImplemented`).
    Anyone,
}

/// When an operation can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decided {
    /// From the request line and headers, before its body is read.
    Now,
    /// Once s3s has read and parsed the body, which names what the operation acts on (the
    /// `S3Access` hooks). Before then, an anonymous caller is refused unless `anonymous`
    /// could admit it.
    AfterBody(AnonymousMay),
}

/// What could admit an anonymous caller to an operation decided after its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnonymousMay {
    /// A POST form carries its credentials in the body: decided with them.
    Form,
    /// A policy statement allowing everyone one of `actions` (on whatever resource, under
    /// whatever condition), or the bucket's ACL granting everyone `acl`.
    IfGranted {
        actions: &'static [&'static str],
        acl: Option<Permission>,
    },
}

/// How an operation is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// The IAM action a bucket policy is asked about.
    pub(crate) action: Cow<'static, str>,
    pub(crate) need: Need,
    pub(crate) decided: Decided,
}

impl Rule {
    fn now(action: &'static str, need: Need) -> Self {
        Self {
            action: Cow::Borrowed(action),
            need,
            decided: Decided::Now,
        }
    }

    fn after_body(action: &'static str, need: Need, anonymous: AnonymousMay) -> Self {
        Self {
            action: Cow::Borrowed(action),
            need,
            decided: Decided::AfterBody(anonymous),
        }
    }
}

/// `unversioned`, or `versioned` when the operation names a version.
fn by_version(
    version: &Option<String>,
    unversioned: &'static str,
    versioned: &'static str,
) -> &'static str {
    match version {
        Some(_) => versioned,
        None => unversioned,
    }
}

/// How `op` is decided (see the module notes).
pub(crate) fn rule(op: &Operation) -> Rule {
    use Need::*;
    use Operation as O;
    use Permission::*;
    let owner = |action| Rule::now(action, Owner);
    match op {
        O::ListBuckets => Rule::now("s3:ListAllMyBuckets", Signed),
        // On an existing bucket, answered by the operation (BucketAlreadyOwnedByYou, ...).
        O::CreateBucket { .. } => Rule::now("s3:CreateBucket", Signed),
        O::DeleteBucket { .. } => owner("s3:DeleteBucket"),
        O::HeadBucket { .. } | O::ListObjects { .. } | O::ListObjectsV2 { .. } => {
            Rule::now("s3:ListBucket", Bucket(Read))
        }
        O::ListObjectVersions { .. } => Rule::now("s3:ListBucketVersions", Bucket(Read)),
        O::ListMultipartUploads { .. } => Rule::now("s3:ListBucketMultipartUploads", Bucket(Read)),
        O::GetBucketLocation { .. } => owner("s3:GetBucketLocation"),
        // AWS names the encryption configuration's actions after the configuration, not the
        // operation: DeleteBucketEncryption is `s3:PutEncryptionConfiguration`.
        O::GetBucketEncryption { .. } => owner("s3:GetEncryptionConfiguration"),
        O::PutBucketEncryption { .. } | O::DeleteBucketEncryption { .. } => {
            owner("s3:PutEncryptionConfiguration")
        }
        O::GetBucketVersioning { .. } => owner("s3:GetBucketVersioning"),
        O::PutBucketVersioning { .. } => owner("s3:PutBucketVersioning"),
        O::GetBucketTagging { .. } => owner("s3:GetBucketTagging"),
        O::PutBucketTagging { .. } | O::DeleteBucketTagging { .. } => owner("s3:PutBucketTagging"),
        O::GetBucketCors { .. } => owner("s3:GetBucketCORS"),
        O::PutBucketCors { .. } | O::DeleteBucketCors { .. } => owner("s3:PutBucketCORS"),
        // AWS names the lifecycle actions after the configuration: DeleteBucketLifecycle is
        // `s3:PutLifecycleConfiguration`.
        O::GetBucketLifecycleConfiguration { .. } => owner("s3:GetLifecycleConfiguration"),
        O::PutBucketLifecycleConfiguration { .. } | O::DeleteBucketLifecycle { .. } => {
            owner("s3:PutLifecycleConfiguration")
        }
        O::GetBucketAcl { .. } => Rule::now("s3:GetBucketAcl", Bucket(ReadAcp)),
        O::PutBucketAcl { .. } => Rule::now("s3:PutBucketAcl", Bucket(WriteAcp)),
        O::GetBucketOwnershipControls { .. } => owner("s3:GetBucketOwnershipControls"),
        O::PutBucketOwnershipControls { .. } | O::DeleteBucketOwnershipControls { .. } => {
            owner("s3:PutBucketOwnershipControls")
        }
        O::GetBucketPolicy { .. } => owner("s3:GetBucketPolicy"),
        O::PutBucketPolicy { .. } => owner("s3:PutBucketPolicy"),
        O::DeleteBucketPolicy { .. } => owner("s3:DeleteBucketPolicy"),
        O::GetBucketPolicyStatus { .. } => owner("s3:GetBucketPolicyStatus"),
        O::GetPublicAccessBlock { .. } => owner("s3:GetBucketPublicAccessBlock"),
        O::PutPublicAccessBlock { .. } | O::DeletePublicAccessBlock { .. } => {
            owner("s3:PutBucketPublicAccessBlock")
        }
        // Object lock. AWS has no `...Version...` actions for these: the version is part of
        // the resource. The bypass of GOVERNANCE retention is a second check,
        // `s3:BypassGovernanceRetention`, made by `access` when a request asks for it.
        O::GetObjectLockConfiguration { .. } => owner("s3:GetBucketObjectLockConfiguration"),
        O::PutObjectLockConfiguration { .. } => owner("s3:PutBucketObjectLockConfiguration"),
        O::GetObjectRetention { .. } => owner("s3:GetObjectRetention"),
        O::PutObjectRetention { .. } => owner("s3:PutObjectRetention"),
        O::GetObjectLegalHold { .. } => owner("s3:GetObjectLegalHold"),
        O::PutObjectLegalHold { .. } => owner("s3:PutObjectLegalHold"),
        // Each key is then checked as a DeleteObject of it (`access` hooks).
        O::DeleteObjects { .. } => Rule::after_body(
            "s3:DeleteObject",
            Bucket(Write),
            AnonymousMay::IfGranted {
                actions: &["s3:DeleteObject", "s3:DeleteObjectVersion"],
                acl: Some(Write),
            },
        ),
        O::PostObject { .. } => Rule::after_body("s3:PutObject", Bucket(Write), AnonymousMay::Form),
        O::PutObject { .. }
        | O::CopyObject { .. }
        | O::CreateMultipartUpload { .. }
        | O::UploadPart { .. }
        | O::UploadPartCopy { .. }
        | O::CompleteMultipartUpload { .. } => Rule::now("s3:PutObject", Bucket(Write)),
        O::AbortMultipartUpload { .. } => Rule::now("s3:AbortMultipartUpload", Bucket(Write)),
        O::ListParts { .. } => Rule::now("s3:ListMultipartUploadParts", Bucket(Read)),
        O::GetObject { version, .. } | O::HeadObject { version, .. } => Rule::now(
            by_version(version, "s3:GetObject", "s3:GetObjectVersion"),
            Object(Read),
        ),
        O::GetObjectAttributes { version, .. } => Rule::now(
            by_version(
                version,
                "s3:GetObjectAttributes",
                "s3:GetObjectVersionAttributes",
            ),
            Object(Read),
        ),
        O::DeleteObject { version, .. } => Rule::now(
            by_version(version, "s3:DeleteObject", "s3:DeleteObjectVersion"),
            Bucket(Write),
        ),
        O::GetObjectAcl { version, .. } => Rule::now(
            by_version(version, "s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
            Object(ReadAcp),
        ),
        O::PutObjectAcl { version, .. } => Rule::now(
            by_version(version, "s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
            Object(WriteAcp),
        ),
        O::GetObjectTagging { version, .. } => owner(by_version(
            version,
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
        )),
        // Checked once the new tags (condition keys) are parsed, with the version the body's
        // request names.
        O::PutObjectTagging { version, .. } => Rule::after_body(
            by_version(version, "s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
            Owner,
            AnonymousMay::IfGranted {
                actions: &["s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
                acl: None,
            },
        ),
        O::DeleteObjectTagging { version, .. } => owner(by_version(
            version,
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
        )),
        // Not served (s3s answers NotImplemented): the owner's, as bucket configuration is,
        // under the action of the same name.
        O::Unsupported { name, .. } => Rule {
            action: Cow::Owned(format!("s3:{name}")),
            need: Owner,
            decided: Decided::Now,
        },
        // MinIO's admin actions.
        O::Admin(AdminCall::Status) => Rule::now("admin:ServerInfo", Root),
        O::Admin(AdminCall::StartHeal | AdminCall::HealState) => Rule::now("admin:Heal", Root),
        O::Admin(AdminCall::V3(op)) => Rule::now(op.action(), Root),
        O::Admin(AdminCall::Other) => Rule::now("admin:*", Root),
        O::IamOrSts => Rule::now("iam:*", Anyone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(op: &Operation) -> String {
        rule(op).action.into_owned()
    }

    fn obj(version: Option<&str>) -> (String, String, Option<String>) {
        ("b".into(), "k".into(), version.map(str::to_string))
    }

    #[test]
    fn every_operation_has_an_action_and_a_need() {
        for op in Operation::one_of_each() {
            let r = rule(&op);
            let (service, name) = r.action.split_once(':').unwrap_or_default();
            assert!(
                ["s3", "admin", "iam"].contains(&service) && !name.is_empty(),
                "{op:?}: {}",
                r.action
            );
            // Only S3's own root-level operation and bucket creation need no bucket grant;
            // only the admin API needs root; only IAM/STS stubs are open to anyone.
            match r.need {
                Need::Signed => assert!(matches!(
                    op,
                    Operation::ListBuckets | Operation::CreateBucket { .. }
                )),
                Need::Root => assert!(matches!(op, Operation::Admin(_))),
                Need::Anyone => assert_eq!(op, Operation::IamOrSts),
                Need::Bucket(_) | Need::Object(_) | Need::Owner => {
                    assert!(op.bucket().is_some(), "{op:?}")
                }
            }
        }
    }

    #[test]
    fn operations_are_iam_actions() {
        let (b, k, none) = obj(None);
        let bucket = || b.clone();
        let key = || k.clone();
        let cases = [
            (Operation::ListBuckets, "s3:ListAllMyBuckets"),
            (
                Operation::ListObjectsV2 { bucket: bucket() },
                "s3:ListBucket",
            ),
            (Operation::HeadBucket { bucket: bucket() }, "s3:ListBucket"),
            (
                Operation::GetBucketEncryption { bucket: bucket() },
                "s3:GetEncryptionConfiguration",
            ),
            (
                Operation::DeleteBucketEncryption { bucket: bucket() },
                "s3:PutEncryptionConfiguration",
            ),
            (
                Operation::PutBucketEncryption { bucket: bucket() },
                "s3:PutEncryptionConfiguration",
            ),
            (
                Operation::ListObjectVersions { bucket: bucket() },
                "s3:ListBucketVersions",
            ),
            (
                Operation::HeadObject {
                    bucket: bucket(),
                    key: key(),
                    version: none.clone(),
                },
                "s3:GetObject",
            ),
            (
                Operation::UploadPart {
                    bucket: bucket(),
                    key: key(),
                },
                "s3:PutObject",
            ),
            (
                Operation::CompleteMultipartUpload {
                    bucket: bucket(),
                    key: key(),
                },
                "s3:PutObject",
            ),
            (
                Operation::AbortMultipartUpload {
                    bucket: bucket(),
                    key: key(),
                },
                "s3:AbortMultipartUpload",
            ),
            (
                Operation::ListParts {
                    bucket: bucket(),
                    key: key(),
                },
                "s3:ListMultipartUploadParts",
            ),
            (
                Operation::GetObjectTagging {
                    bucket: bucket(),
                    key: key(),
                    version: none.clone(),
                },
                "s3:GetObjectTagging",
            ),
            (
                Operation::DeleteBucketCors { bucket: bucket() },
                "s3:PutBucketCORS",
            ),
            (
                Operation::GetPublicAccessBlock { bucket: bucket() },
                "s3:GetBucketPublicAccessBlock",
            ),
            (
                Operation::DeleteBucketPolicy { bucket: bucket() },
                "s3:DeleteBucketPolicy",
            ),
            (Operation::PostObject { bucket: bucket() }, "s3:PutObject"),
            (
                Operation::DeleteObjects { bucket: bucket() },
                "s3:DeleteObject",
            ),
            (
                Operation::Unsupported {
                    name: "GetBucketLogging".into(),
                    bucket: Some(bucket()),
                    key: None,
                    version: None,
                },
                "s3:GetBucketLogging",
            ),
            (
                Operation::GetBucketLifecycleConfiguration { bucket: bucket() },
                "s3:GetLifecycleConfiguration",
            ),
            (
                Operation::DeleteBucketLifecycle { bucket: bucket() },
                "s3:PutLifecycleConfiguration",
            ),
            (Operation::Admin(AdminCall::StartHeal), "admin:Heal"),
            (
                Operation::PutObjectLockConfiguration { bucket: bucket() },
                "s3:PutBucketObjectLockConfiguration",
            ),
            (
                Operation::GetObjectLockConfiguration { bucket: bucket() },
                "s3:GetBucketObjectLockConfiguration",
            ),
            (
                Operation::PutObjectRetention {
                    bucket: bucket(),
                    key: key(),
                    version: Some("v".into()),
                },
                "s3:PutObjectRetention",
            ),
            (
                Operation::GetObjectRetention {
                    bucket: bucket(),
                    key: key(),
                    version: none.clone(),
                },
                "s3:GetObjectRetention",
            ),
            (
                Operation::PutObjectLegalHold {
                    bucket: bucket(),
                    key: key(),
                    version: none.clone(),
                },
                "s3:PutObjectLegalHold",
            ),
            (
                Operation::GetObjectLegalHold {
                    bucket: bucket(),
                    key: key(),
                    version: none.clone(),
                },
                "s3:GetObjectLegalHold",
            ),
        ];
        for (op, want) in cases {
            assert_eq!(action(&op), want, "{op:?}");
        }
    }

    #[test]
    fn naming_a_version_is_the_version_action() {
        let v = Some("v1".to_string());
        let (b, k) = ("b".to_string(), "k".to_string());
        macro_rules! both {
            ($variant:ident, $plain:literal, $versioned:literal) => {
                for (version, want) in [(None, $plain), (v.clone(), $versioned)] {
                    let op = Operation::$variant {
                        bucket: b.clone(),
                        key: k.clone(),
                        version,
                    };
                    assert_eq!(action(&op), want, "{op:?}");
                }
            };
        }
        both!(GetObject, "s3:GetObject", "s3:GetObjectVersion");
        both!(HeadObject, "s3:GetObject", "s3:GetObjectVersion");
        both!(DeleteObject, "s3:DeleteObject", "s3:DeleteObjectVersion");
        both!(
            GetObjectTagging,
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging"
        );
        both!(
            PutObjectTagging,
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging"
        );
        both!(
            DeleteObjectTagging,
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging"
        );
        both!(GetObjectAcl, "s3:GetObjectAcl", "s3:GetObjectVersionAcl");
        both!(PutObjectAcl, "s3:PutObjectAcl", "s3:PutObjectVersionAcl");
        both!(
            GetObjectAttributes,
            "s3:GetObjectAttributes",
            "s3:GetObjectVersionAttributes"
        );
    }

    #[test]
    fn operations_need_what_s3_documents() {
        let need = |op: Operation| rule(&op).need;
        let (b, k) = ("b".to_string(), "k".to_string());
        assert_eq!(
            need(Operation::GetObject {
                bucket: b.clone(),
                key: k.clone(),
                version: None
            }),
            Need::Object(Permission::Read)
        );
        assert_eq!(
            need(Operation::PutObject {
                bucket: b.clone(),
                key: k.clone()
            }),
            Need::Bucket(Permission::Write)
        );
        assert_eq!(
            need(Operation::ListObjectsV2 { bucket: b.clone() }),
            Need::Bucket(Permission::Read)
        );
        assert_eq!(
            need(Operation::PutBucketAcl { bucket: b.clone() }),
            Need::Bucket(Permission::WriteAcp)
        );
        assert_eq!(
            need(Operation::DeleteBucket { bucket: b.clone() }),
            Need::Owner
        );
        assert_eq!(
            need(Operation::PutBucketOwnershipControls { bucket: b.clone() }),
            Need::Owner
        );
        assert_eq!(need(Operation::ListBuckets), Need::Signed);
        assert_eq!(need(Operation::Admin(AdminCall::Other)), Need::Root);
        // Only the operations whose body names what they act on wait for it.
        for op in Operation::one_of_each() {
            let after_body = matches!(rule(&op).decided, Decided::AfterBody(_));
            let expected = matches!(
                op,
                Operation::DeleteObjects { .. }
                    | Operation::PostObject { .. }
                    | Operation::PutObjectTagging { .. }
            );
            assert_eq!(after_body, expected, "{op:?}");
        }
    }
}
