//! How a member's policies decide a request, with AWS's evaluation logic:
//!
//! 1. an explicit `Deny` in any policy that applies (identity, narrowing, bucket) refuses;
//! 2. a narrowing policy (a service account's inline policy, a session policy) that does not
//!    allow the request refuses it: it can only take away;
//! 3. otherwise the request is allowed when an identity policy or the bucket policy allows it
//!    (or, for a member with its account's rights, when the account would be allowed: by
//!    ownership or an ACL).
//!
//! And how temporary credentials become a caller ([`Keyring::caller`]).

use std::sync::Arc;

use rustfs_object::policy::{Caller, Decision, Policy, Request};

use super::session_arn;
use super::sts::{Claims, StsKeys, Subject, TokenError};
use crate::auth::{Keyring, Member, MemberKind, User};

/// The combined decision of several policies: a Deny in any wins, then an Allow in any.
pub fn any_of<'a>(
    policies: impl IntoIterator<Item = &'a Arc<Policy>>,
    req: &Request<'_>,
) -> Decision {
    let mut allowed = false;
    for p in policies {
        match p.evaluate(req) {
            Decision::Deny => return Decision::Deny,
            Decision::Allow => allowed = true,
            Decision::NotApplicable => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::NotApplicable
    }
}

impl Member {
    /// Whether the narrowing policy (if any) lets the request through: `false` refuses it.
    pub fn narrowing_allows(&self, req: &Request<'_>) -> bool {
        self.narrowing
            .as_ref()
            .is_none_or(|p| p.evaluate(req) == Decision::Allow)
    }

    /// The identity policies' decision (a member with its account's rights: the account's
    /// rights are decided elsewhere, so `NotApplicable`).
    pub fn identity(&self, req: &Request<'_>) -> Decision {
        any_of(&self.policies, req)
    }

    /// The caller as policies' `Principal` names it.
    pub fn caller<'a>(&'a self, user: &'a User) -> Caller<'a> {
        Caller {
            id: &self.arn,
            access_key: &user.access_key,
            display_name: &self.name,
        }
    }
}

/// The caller a policy names for `user` (an account by canonical id, a member by ARN and name).
pub fn caller_of(user: &User) -> Caller<'_> {
    match &user.member {
        Some(m) if !m.owner => m.caller(user),
        _ => Caller {
            id: &user.id,
            access_key: &user.access_key,
            display_name: &user.display_name,
        },
    }
}

/// The decision on a request of `user` whose bucket policy (if any) decided `bucket`, for a
/// caller that is not an account acting on its own (see the module doc). `None` for an
/// account: the bucket decision stands, ACLs and ownership decide the rest.
pub fn member_decision(user: &User, bucket: Decision, req: &Request<'_>) -> Decision {
    let Some(m) = &user.member else {
        return bucket;
    };
    if bucket == Decision::Deny || !m.narrowing_allows(req) {
        return Decision::Deny;
    }
    if m.owner {
        return bucket;
    }
    match m.identity(req) {
        Decision::Deny => Decision::Deny,
        Decision::Allow => Decision::Allow,
        Decision::NotApplicable => bucket,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Keyring {
    /// The caller who signed with `access_key` (s3s has checked the signature), with
    /// `token` for temporary credentials: a session's rights as they stand now (a deleted
    /// role or user ends it).
    pub fn caller(&self, access_key: &str, token: Option<&str>) -> Result<Arc<User>, TokenError> {
        if !StsKeys::is_temporary(access_key) {
            return self.by_access_key(access_key).ok_or(TokenError::Invalid);
        }
        let claims = self.sts().open(access_key, token, now_ms())?;
        self.session(access_key, &claims).ok_or(TokenError::Invalid)
    }

    fn session(&self, access_key: &str, claims: &Claims) -> Option<Arc<User>> {
        let narrowing = match claims.policy.as_deref() {
            Some(p) => Some(Arc::new(Policy::parse_identity(p).ok()?)),
            None => None,
        };
        let root = self.root()?;
        let secret_key = self.sts().secret_of(access_key);
        match &claims.subject {
            Subject::Role { role, session, .. } => {
                let r = self.snapshot().roles.get(role)?.clone();
                Some(Arc::new(User {
                    access_key: access_key.to_string(),
                    secret_key,
                    id: root.id.clone(),
                    display_name: format!("{role}/{session}"),
                    email: None,
                    member: Some(Arc::new(Member {
                        name: role.clone(),
                        arn: session_arn(role, session),
                        policies: r.policies.clone(),
                        narrowing,
                        kind: MemberKind::Session {
                            role: Some(role.clone()),
                        },
                        owner: false,
                    })),
                }))
            }
            Subject::User { access_key: by } => {
                let user = self.by_access_key(by)?;
                let member = match &user.member {
                    Some(m) => Member {
                        narrowing: narrowing.or_else(|| m.narrowing.clone()),
                        kind: MemberKind::Session { role: None },
                        ..(**m).clone()
                    },
                    None => Member {
                        name: user.display_name.clone(),
                        arn: super::user_arn("/", &user.access_key),
                        policies: Vec::new(),
                        narrowing,
                        kind: MemberKind::Session { role: None },
                        owner: true,
                    },
                };
                Some(Arc::new(User {
                    access_key: access_key.to_string(),
                    secret_key,
                    member: Some(Arc::new(member)),
                    ..(*user).clone()
                }))
            }
        }
    }
}
