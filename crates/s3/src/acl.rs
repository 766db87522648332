//! ACLs at the edge: the `x-amz-acl` / `x-amz-grant-*` headers and `AccessControlPolicy`
//! bodies into object-layer grants, and stored grants back into S3's XML shapes.

use http::HeaderMap;
use rustfs_object::{AclRequest, CannedAcl, Grant, Grantee, Permission};
use s3s::dto;
use s3s::{S3Error, S3Result};

use crate::api_error::ApiError;
use crate::auth::Keyring;

const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
    ("x-amz-grant-full-control", Permission::FullControl),
];

fn invalid(msg: impl Into<String>) -> S3Error {
    ApiError::AclArgument(msg.into()).into()
}

/// The ACL a request's headers ask for. A canned ACL and grant headers together are refused,
/// as S3 does.
pub(crate) fn from_headers(headers: &HeaderMap, users: &Keyring) -> S3Result<AclRequest> {
    let canned = match headers.get("x-amz-acl") {
        None => None,
        Some(v) => {
            let s = v.to_str().map_err(|_| invalid("invalid x-amz-acl"))?;
            Some(
                CannedAcl::parse(s.trim())
                    .ok_or_else(|| invalid(format!("invalid canned ACL {s:?}")))?,
            )
        }
    };
    let mut grants = Vec::new();
    for (name, permission) in GRANT_HEADERS {
        for v in headers.get_all(name) {
            let s = v.to_str().map_err(|_| invalid(format!("invalid {name}")))?;
            for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                grants.push(Grant {
                    grantee: header_grantee(item, users)?,
                    permission,
                });
            }
        }
    }
    match (canned, grants.is_empty()) {
        (Some(_), false) => Err(ApiError::CannedAclWithGrants.into()),
        (Some(c), true) => Ok(AclRequest::Canned(c)),
        (None, false) => Ok(AclRequest::Grants(grants)),
        (None, true) => Ok(AclRequest::Default),
    }
}

/// One `type=value` item of a grant header: `id="..."`, `uri="..."` or `emailAddress="..."`.
fn header_grantee(item: &str, users: &Keyring) -> S3Result<Grantee> {
    let (kind, value) = item
        .split_once('=')
        .ok_or_else(|| invalid(format!("invalid grantee {item:?}")))?;
    let value = value.trim().trim_matches('"');
    match kind.trim().to_ascii_lowercase().as_str() {
        "id" => user_grantee(value, users),
        "uri" => group_grantee(value),
        "emailaddress" => email_grantee(value, users),
        _ => Err(invalid(format!("invalid grantee type in {item:?}"))),
    }
}

fn user_grantee(id: &str, users: &Keyring) -> S3Result<Grantee> {
    match users.by_id(id) {
        Some(u) => Ok(Grantee::User(u.id.clone())),
        None => Err(invalid("Invalid id")),
    }
}

fn group_grantee(uri: &str) -> S3Result<Grantee> {
    use rustfs_object::acl::{ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY};
    if [ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY].contains(&uri) {
        Ok(Grantee::Group(uri.to_string()))
    } else {
        Err(invalid(format!("Invalid group uri {uri:?}")))
    }
}

fn email_grantee(email: &str, users: &Keyring) -> S3Result<Grantee> {
    match users.by_email(email) {
        Some(u) => Ok(Grantee::User(u.id.clone())),
        None => Err(ApiError::GrantEmailUnresolvable.into()),
    }
}

fn permission_of(p: &dto::Permission) -> S3Result<Permission> {
    Ok(match p.as_str() {
        dto::Permission::READ => Permission::Read,
        dto::Permission::WRITE => Permission::Write,
        dto::Permission::READ_ACP => Permission::ReadAcp,
        dto::Permission::WRITE_ACP => Permission::WriteAcp,
        dto::Permission::FULL_CONTROL => Permission::FullControl,
        _ => return Err(malformed()),
    })
}

fn malformed() -> S3Error {
    ApiError::AclMalformed.into()
}

/// The grants of an `AccessControlPolicy` body. Its owner, when given, must be the resource's.
pub(crate) fn from_policy(
    policy: &dto::AccessControlPolicy,
    owner_id: &str,
    users: &Keyring,
) -> S3Result<Vec<Grant>> {
    if let Some(id) = policy.owner.as_ref().and_then(|o| o.id.as_deref())
        && id != owner_id
    {
        return Err(ApiError::AclOwnerChange.into());
    }
    let mut out = Vec::new();
    for g in policy.grants.iter().flatten() {
        let (Some(grantee), Some(permission)) = (&g.grantee, &g.permission) else {
            return Err(malformed());
        };
        let grantee = match grantee.type_.as_str() {
            dto::Type::CANONICAL_USER => {
                user_grantee(grantee.id.as_deref().ok_or_else(malformed)?, users)?
            }
            dto::Type::GROUP => group_grantee(grantee.uri.as_deref().ok_or_else(malformed)?)?,
            dto::Type::AMAZON_CUSTOMER_BY_EMAIL => email_grantee(
                grantee.email_address.as_deref().ok_or_else(malformed)?,
                users,
            )?,
            _ => return Err(malformed()),
        };
        out.push(Grant {
            grantee,
            permission: permission_of(permission)?,
        });
    }
    Ok(out)
}

/// The owner as S3 shows it: canonical id and display name.
pub(crate) fn owner(users: &Keyring, recorded: &str) -> dto::Owner {
    let (id, name) = users.owner_of(recorded);
    dto::Owner {
        display_name: Some(name),
        id: Some(id),
    }
}

/// Stored grants (or the default for `owner`) as GetBucketAcl/GetObjectAcl report them:
/// group grants first, then users' (each in stored order), as RGW lists them.
pub(crate) fn to_dto(users: &Keyring, acl: Option<&[Grant]>, owner: &str) -> Vec<dto::Grant> {
    let owner = users.owner_id(owner);
    let mut grants = rustfs_object::acl::effective_grants(acl, &owner);
    grants.sort_by_key(|g| matches!(g.grantee, Grantee::User(_)));
    grants
        .into_iter()
        .map(|g| {
            let grantee = match &g.grantee {
                Grantee::User(id) => {
                    let (id, name) = users.owner_of(id);
                    dto::Grantee {
                        display_name: Some(name),
                        email_address: None,
                        id: Some(id),
                        type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                        uri: None,
                    }
                }
                Grantee::Group(uri) => dto::Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: dto::Type::from_static(dto::Type::GROUP),
                    uri: Some(uri.clone()),
                },
            };
            let permission = match g.permission {
                Permission::Read => dto::Permission::READ,
                Permission::Write => dto::Permission::WRITE,
                Permission::ReadAcp => dto::Permission::READ_ACP,
                Permission::WriteAcp => dto::Permission::WRITE_ACP,
                Permission::FullControl => dto::Permission::FULL_CONTROL,
            };
            dto::Grant {
                grantee: Some(grantee),
                permission: Some(dto::Permission::from_static(permission)),
            }
        })
        .collect()
}
