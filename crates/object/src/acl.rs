//! Access control lists and object ownership: canned ACLs expanded into grants, who owns a new
//! object under the bucket's ownership controls, who may do what, and the updates of a
//! bucket's or object's ACL and ownership controls (each one compare-and-swap commit).

use rustfs_meta::{BucketRecord, Grant, Grantee, ObjectOwnership, ObjectRecord, Permission, Table};

use crate::{ObjectError, ObjectStore, Result, names};

pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The canned ACLs S3 defines (`x-amz-acl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedAcl {
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
    AwsExecRead,
    BucketOwnerRead,
    BucketOwnerFullControl,
    LogDeliveryWrite,
}

impl CannedAcl {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "private" => Self::Private,
            "public-read" => Self::PublicRead,
            "public-read-write" => Self::PublicReadWrite,
            "authenticated-read" => Self::AuthenticatedRead,
            "aws-exec-read" => Self::AwsExecRead,
            "bucket-owner-read" => Self::BucketOwnerRead,
            "bucket-owner-full-control" => Self::BucketOwnerFullControl,
            "log-delivery-write" => Self::LogDeliveryWrite,
            _ => return None,
        })
    }

    /// The grants this canned ACL stands for, for a resource owned by `owner` in a bucket
    /// owned by `bucket_owner`.
    pub fn grants(self, owner: &str, bucket_owner: &str) -> Vec<Grant> {
        // Other grantees first, the owner last: the order RGW reports and the suite expects.
        let mut g = Vec::new();
        let group = |uri: &str, p| grant(Grantee::Group(uri.into()), p);
        match self {
            Self::Private | Self::AwsExecRead => {}
            Self::PublicRead => g.push(group(ALL_USERS, Permission::Read)),
            Self::PublicReadWrite => {
                g.push(group(ALL_USERS, Permission::Read));
                g.push(group(ALL_USERS, Permission::Write));
            }
            Self::AuthenticatedRead => g.push(group(AUTHENTICATED_USERS, Permission::Read)),
            Self::BucketOwnerRead if owner != bucket_owner => {
                g.push(grant(Grantee::User(bucket_owner.into()), Permission::Read));
            }
            Self::BucketOwnerFullControl if owner != bucket_owner => {
                g.push(grant(
                    Grantee::User(bucket_owner.into()),
                    Permission::FullControl,
                ));
            }
            Self::BucketOwnerRead | Self::BucketOwnerFullControl => {}
            Self::LogDeliveryWrite => {
                g.push(group(LOG_DELIVERY, Permission::Write));
                g.push(group(LOG_DELIVERY, Permission::ReadAcp));
            }
        }
        g.push(grant(Grantee::User(owner.into()), Permission::FullControl));
        g
    }
}

fn grant(grantee: Grantee, permission: Permission) -> Grant {
    Grant {
        grantee,
        permission,
    }
}

/// The ACL a write asks for: a canned ACL, explicit grants (`x-amz-grant-*` headers or an
/// `AccessControlPolicy` body), or nothing (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AclRequest {
    #[default]
    Default,
    Canned(CannedAcl),
    Grants(Vec<Grant>),
}

impl AclRequest {
    /// The grants to store (`None`: the default ACL).
    fn resolve(&self, owner: &str, bucket_owner: &str) -> Option<Vec<Grant>> {
        match self {
            Self::Default => None,
            Self::Canned(c) => Some(c.grants(owner, bucket_owner)),
            Self::Grants(g) => Some(g.clone()),
        }
    }
}

/// The grants in effect: the stored ACL, or the default (owner `FULL_CONTROL`).
pub fn effective_grants(acl: Option<&[Grant]>, owner: &str) -> Vec<Grant> {
    match acl {
        Some(g) => g.to_vec(),
        None => vec![grant(Grantee::User(owner.into()), Permission::FullControl)],
    }
}

/// Whether `caller` (a canonical id; `None` when anonymous) is granted `wanted` by an ACL on a
/// resource owned by `owner`. The owner always keeps READ_ACP and WRITE_ACP, as in S3.
pub fn allows(
    acl: Option<&[Grant]>,
    owner: &str,
    caller: Option<&str>,
    wanted: Permission,
) -> bool {
    if caller == Some(owner)
        && (acl.is_none() || matches!(wanted, Permission::ReadAcp | Permission::WriteAcp))
    {
        return true;
    }
    effective_grants(acl, owner).iter().any(|g| {
        let who = match &g.grantee {
            Grantee::User(id) => caller == Some(id.as_str()),
            Grantee::Group(uri) => {
                uri == ALL_USERS || (uri == AUTHENTICATED_USERS && caller.is_some())
            }
        };
        who && (g.permission == wanted || g.permission == Permission::FullControl)
    })
}

/// Whether the grants give something to everyone or to every authenticated user (what S3
/// calls a public ACL).
pub fn is_public(acl: Option<&[Grant]>) -> bool {
    acl.is_some_and(|g| {
        g.iter().any(|g| {
            matches!(&g.grantee, Grantee::Group(u) if u == ALL_USERS || u == AUTHENTICATED_USERS)
        })
    })
}

/// The grants an access check honours: all of them, or, when the bucket's public access
/// block says `IgnorePublicAcls`, those to named users only.
pub fn honoured_grants(bucket: &BucketRecord, acl: Option<&[Grant]>) -> Option<Vec<Grant>> {
    let ignore = bucket
        .public_access_block
        .is_some_and(|b| b.ignore_public_acls);
    acl.map(|g| {
        g.iter()
            .filter(|g| !ignore || matches!(g.grantee, Grantee::User(_)))
            .cloned()
            .collect()
    })
}

/// `BlockPublicAcls`: a request that would store a public ACL in `bucket` is refused.
fn check_public_acls_allowed(bucket: &BucketRecord, acl: Option<&[Grant]>) -> Result<()> {
    let blocked = bucket
        .public_access_block
        .is_some_and(|b| b.block_public_acls);
    if blocked && is_public(acl) {
        Err(ObjectError::AccessDenied)
    } else {
        Ok(())
    }
}

/// Who owns a new object (or upload) written by `writer` into `bucket`, and its ACL, under
/// the bucket's ownership controls and public access block.
pub fn new_object_acl(
    bucket: &BucketRecord,
    writer: &str,
    req: &AclRequest,
) -> Result<(String, Option<Vec<Grant>>)> {
    let (owner, acl) = new_object_owner(bucket, writer, req)?;
    check_public_acls_allowed(bucket, acl.as_deref())?;
    Ok((owner, acl))
}

fn new_object_owner(
    bucket: &BucketRecord,
    writer: &str,
    req: &AclRequest,
) -> Result<(String, Option<Vec<Grant>>)> {
    let canned_bofc = *req == AclRequest::Canned(CannedAcl::BucketOwnerFullControl);
    match bucket.object_ownership {
        Some(ObjectOwnership::BucketOwnerEnforced) => {
            if *req == AclRequest::Default || canned_bofc {
                Ok((bucket.owner.clone(), None))
            } else {
                Err(ObjectError::AclNotSupported)
            }
        }
        Some(ObjectOwnership::BucketOwnerPreferred) if canned_bofc => {
            Ok((bucket.owner.clone(), None))
        }
        _ => Ok((writer.to_string(), req.resolve(writer, &bucket.owner))),
    }
}

/// True when the grants give nobody but the owner any permission.
fn owner_only(acl: Option<&[Grant]>, owner: &str) -> bool {
    acl.is_none_or(|g| {
        g.iter()
            .all(|g| matches!(&g.grantee, Grantee::User(id) if id == owner))
    })
}

impl ObjectStore {
    /// Reads, changes and writes back a bucket record in one compare-and-swap commit
    /// (re-reading and retrying if it changed meanwhile), so concurrent changes to different
    /// settings never undo each other.
    pub(crate) async fn update_bucket(
        &self,
        name: &str,
        change: impl Fn(&mut BucketRecord) -> Result<()> + Sync,
    ) -> Result<BucketRecord> {
        self.update_record(
            Table::Buckets,
            name.as_bytes(),
            || ObjectError::NoSuchBucket,
            change,
        )
        .await
    }

    /// PutBucketAcl. Refused while the bucket enforces bucket-owner ownership (ACLs disabled),
    /// unless the ACL only grants the owner, as S3 does.
    pub async fn set_bucket_acl(&self, name: &str, req: &AclRequest) -> Result<BucketRecord> {
        self.update_bucket(name, |rec| {
            let acl = req.resolve(&rec.owner, &rec.owner);
            if rec.object_ownership == Some(ObjectOwnership::BucketOwnerEnforced)
                && (!owner_only(acl.as_deref(), &rec.owner)
                    || matches!(req, AclRequest::Canned(c) if *c != CannedAcl::BucketOwnerFullControl))
            {
                return Err(ObjectError::AclNotSupported);
            }
            check_public_acls_allowed(rec, acl.as_deref())?;
            rec.acl = acl;
            Ok(())
        })
        .await
    }

    /// PutBucketOwnershipControls (`Some`) or DeleteBucketOwnershipControls (`None`).
    /// BucketOwnerEnforced is refused while the bucket's ACL grants anyone but the owner.
    pub async fn set_object_ownership(
        &self,
        name: &str,
        ownership: Option<ObjectOwnership>,
    ) -> Result<BucketRecord> {
        self.update_bucket(name, |rec| {
            if ownership == Some(ObjectOwnership::BucketOwnerEnforced)
                && !owner_only(rec.acl.as_deref(), &rec.owner)
            {
                return Err(ObjectError::InvalidBucketAclWithObjectOwnership);
            }
            rec.object_ownership = ownership;
            Ok(())
        })
        .await
    }

    /// PutObjectAcl on the current object of `key`.
    pub async fn set_object_acl(
        &self,
        bucket: &str,
        key: &str,
        req: &AclRequest,
    ) -> Result<ObjectRecord> {
        self.set_version_acl(bucket, key, None, req).await
    }

    /// PutObjectAcl on one version of `key` (`None`: the current one).
    pub async fn set_version_acl(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        req: &AclRequest,
    ) -> Result<ObjectRecord> {
        names::validate_key(key)?;
        let refused = |brec: &BucketRecord| {
            brec.object_ownership == Some(ObjectOwnership::BucketOwnerEnforced)
                && !matches!(req, AclRequest::Canned(CannedAcl::BucketOwnerFullControl))
        };
        // Refused before the object is looked up (checked again in the transaction).
        if refused(&self.bucket(bucket).await?) {
            return Err(ObjectError::AclNotSupported);
        }
        self.update_version(bucket, key, version, |brec, rec| {
            if refused(brec) {
                return Err(ObjectError::AclNotSupported);
            }
            let acl = req.resolve(&rec.owner, &brec.owner);
            check_public_acls_allowed(brec, acl.as_deref())?;
            rec.acl = acl;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(ownership: Option<ObjectOwnership>) -> BucketRecord {
        BucketRecord {
            created_ms: 0,
            owner: "bo".into(),
            region: "r".into(),
            object_ownership: ownership,
            ..Default::default()
        }
    }

    #[test]
    fn canned_acls_expand_as_s3_documents() {
        let g = CannedAcl::PublicReadWrite.grants("o", "o");
        assert_eq!(g.len(), 3);
        assert!(allows(Some(&g), "o", None, Permission::Write));
        let g = CannedAcl::AuthenticatedRead.grants("o", "o");
        assert!(allows(Some(&g), "o", Some("x"), Permission::Read));
        assert!(!allows(Some(&g), "o", None, Permission::Read));
        let g = CannedAcl::BucketOwnerFullControl.grants("w", "bo");
        assert!(allows(Some(&g), "w", Some("bo"), Permission::WriteAcp));
        assert_eq!(CannedAcl::BucketOwnerRead.grants("o", "o").len(), 1);
        assert_eq!(CannedAcl::parse("public-read"), Some(CannedAcl::PublicRead));
        assert_eq!(CannedAcl::parse("nope"), None);
    }

    #[test]
    fn owner_keeps_acp_rights_and_others_need_grants() {
        let g = vec![grant(Grantee::User("x".into()), Permission::Read)];
        assert!(!allows(Some(&g), "o", Some("o"), Permission::Read));
        assert!(allows(Some(&g), "o", Some("o"), Permission::WriteAcp));
        assert!(allows(Some(&g), "o", Some("x"), Permission::Read));
        assert!(!allows(None, "o", Some("x"), Permission::Read));
        assert!(allows(None, "o", Some("o"), Permission::Write));
    }

    #[test]
    fn ownership_controls_decide_the_owner() {
        let bofc = AclRequest::Canned(CannedAcl::BucketOwnerFullControl);
        let private = AclRequest::Canned(CannedAcl::Private);
        let enforced = bucket(Some(ObjectOwnership::BucketOwnerEnforced));
        assert_eq!(new_object_acl(&enforced, "w", &bofc).unwrap().0, "bo");
        assert_eq!(
            new_object_acl(&enforced, "w", &AclRequest::Default)
                .unwrap()
                .0,
            "bo"
        );
        assert!(matches!(
            new_object_acl(&enforced, "w", &private),
            Err(ObjectError::AclNotSupported)
        ));
        let preferred = bucket(Some(ObjectOwnership::BucketOwnerPreferred));
        assert_eq!(new_object_acl(&preferred, "w", &bofc).unwrap().0, "bo");
        assert_eq!(new_object_acl(&preferred, "w", &private).unwrap().0, "w");
        let writer = bucket(None);
        let (owner, acl) = new_object_acl(&writer, "w", &bofc).unwrap();
        assert_eq!(owner, "w");
        assert_eq!(acl.unwrap().len(), 2);
    }
}
