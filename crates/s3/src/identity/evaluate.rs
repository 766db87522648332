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

    /// The identity policies' decision (for a member with its account's rights, they add to
    /// what the account may by ownership and ACLs).
    pub fn identity(&self, req: &Request<'_>) -> Decision {
        any_of(&self.policies, req)
    }

    /// The caller as policies' `Principal` names it.
    pub fn caller<'a>(&'a self, user: &'a User) -> Caller<'a> {
        Caller {
            id: &self.arn,
            access_key: &user.access_key,
            display_name: &self.name,
            account: &user.id,
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
            account: &user.id,
        },
    }
}

/// The decision on a request of `user` whose bucket policy (if any) decided `bucket` (see the
/// module doc), on a resource of its own account. A caller without policies of its own (an
/// account): the bucket decision stands. `NotApplicable` leaves it to ownership and ACLs
/// (where only a member with its account's rights is an owner).
pub fn member_decision(user: &User, bucket: Decision, req: &Request<'_>) -> Decision {
    member_decision_on(user, bucket, req, true)
}

/// [`member_decision`] on a resource of `same_account` or of another account. Across
/// accounts, as in AWS, a member acting by policy needs both sides: its identity policy and the
/// resource owner's bucket policy must allow (an identity policy alone never reaches another
/// account's data, nor does a bucket policy alone reach past the member's own account's
/// policies).
pub fn member_decision_on(
    user: &User,
    bucket: Decision,
    req: &Request<'_>,
    same_account: bool,
) -> Decision {
    let Some(m) = &user.member else {
        return bucket;
    };
    if bucket == Decision::Deny || !m.narrowing_allows(req) {
        return Decision::Deny;
    }
    let identity = m.identity(req);
    if identity == Decision::Deny {
        return Decision::Deny;
    }
    if same_account || m.owner {
        return match identity {
            Decision::Allow => Decision::Allow,
            _ => bucket,
        };
    }
    match (identity, bucket) {
        (Decision::Allow, Decision::Allow) => Decision::Allow,
        _ => Decision::NotApplicable,
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
                let account = self
                    .by_id(&r.account_id)
                    .filter(|a| a.id != root.id)
                    .map(|a| a.access_key.clone());
                Some(Arc::new(User {
                    access_key: access_key.to_string(),
                    secret_key,
                    id: r.account_id.clone(),
                    display_name: format!("{role}/{session}"),
                    email: None,
                    iam_account: false,
                    member: Some(Arc::new(Member {
                        name: role.clone(),
                        arn: session_arn(&r.arn_account, role, session),
                        user_id: String::new(),
                        account,
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
                        // A service account's session stays that service account's: it may
                        // not manage the parent's service accounts (the admin API asks).
                        kind: match &m.kind {
                            MemberKind::ServiceAccount { .. } => m.kind.clone(),
                            _ => MemberKind::Session { role: None },
                        },
                        ..(**m).clone()
                    },
                    None => Member {
                        name: user.display_name.clone(),
                        arn: super::user_arn(super::ACCOUNT, "/", &user.access_key),
                        user_id: String::new(),
                        account: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustfs_object::policy::Context;

    fn p(json: &str) -> Arc<Policy> {
        Arc::new(Policy::parse_identity(json).unwrap())
    }

    fn allow(action: &str, resource: &str) -> Arc<Policy> {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
        ))
    }

    fn deny(action: &str, resource: &str) -> Arc<Policy> {
        p(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}]}}"#
        ))
    }

    fn member(policies: Vec<Arc<Policy>>, narrowing: Option<Arc<Policy>>, owner: bool) -> User {
        User {
            access_key: "AK".into(),
            secret_key: "secret-key".into(),
            id: "root-id".into(),
            display_name: "bob".into(),
            email: None,
            iam_account: false,
            member: Some(Arc::new(Member {
                name: "bob".into(),
                arn: "arn:aws:iam:::user/bob".into(),
                user_id: "AIDABOB".into(),
                account: None,
                policies,
                narrowing,
                kind: MemberKind::User,
                owner,
            })),
        }
    }

    fn decide(u: &User, bucket: Decision, action: &str, resource: &str) -> Decision {
        let ctx = Context::default();
        let req = Request {
            caller: Some(caller_of(u)),
            action,
            resource,
            context: &ctx,
        };
        member_decision(u, bucket, &req)
    }

    const OBJ: &str = "arn:aws:s3:::b/k";

    #[test]
    fn identity_policies_allow_and_an_explicit_deny_anywhere_wins() {
        use Decision::*;
        let u = member(vec![allow("s3:GetObject", "arn:aws:s3:::b/*")], None, false);
        assert_eq!(decide(&u, NotApplicable, "s3:GetObject", OBJ), Allow);
        assert_eq!(
            decide(&u, NotApplicable, "s3:PutObject", OBJ),
            NotApplicable
        );
        // The bucket policy alone may allow; its Deny beats the identity's Allow.
        assert_eq!(decide(&u, Allow, "s3:PutObject", OBJ), Allow);
        assert_eq!(decide(&u, Deny, "s3:GetObject", OBJ), Deny);
        // A Deny in one identity policy beats an Allow in another and in the bucket policy.
        let u = member(
            vec![allow("s3:*", "*"), deny("s3:GetObject", "arn:aws:s3:::b/k")],
            None,
            false,
        );
        assert_eq!(decide(&u, Allow, "s3:GetObject", OBJ), Deny);
        assert_eq!(decide(&u, NotApplicable, "s3:PutObject", OBJ), Allow);
    }

    #[test]
    fn across_accounts_both_the_identity_and_the_bucket_policy_must_allow() {
        use Decision::*;
        let ctx = Context::default();
        let u = member(vec![allow("s3:GetObject", "*")], None, false);
        let req = Request {
            caller: Some(caller_of(&u)),
            action: "s3:GetObject",
            resource: OBJ,
            context: &ctx,
        };
        assert_eq!(
            member_decision_on(&u, NotApplicable, &req, false),
            NotApplicable
        );
        assert_eq!(member_decision_on(&u, Allow, &req, false), Allow);
        let none = member(vec![], None, false);
        assert_eq!(member_decision_on(&none, Allow, &req, false), NotApplicable);
        assert_eq!(member_decision_on(&none, Allow, &req, true), Allow);
    }

    #[test]
    fn a_narrowing_policy_only_takes_away() {
        use Decision::*;
        let narrow = Some(allow("s3:GetObject", "*"));
        // The parent may put and get; narrowed to gets.
        let u = member(vec![allow("s3:*", "*")], narrow.clone(), false);
        assert_eq!(decide(&u, NotApplicable, "s3:GetObject", OBJ), Allow);
        assert_eq!(decide(&u, NotApplicable, "s3:PutObject", OBJ), Deny);
        // It never widens: the parent may not delete, the narrowing allowing it changes nothing.
        let u = member(
            vec![allow("s3:GetObject", "*")],
            Some(allow("s3:*", "*")),
            false,
        );
        assert_eq!(
            decide(&u, NotApplicable, "s3:DeleteObject", OBJ),
            NotApplicable
        );
        // Even a bucket policy's Allow is bounded by it.
        let u = member(vec![], narrow, false);
        assert_eq!(decide(&u, Allow, "s3:PutObject", OBJ), Deny);
    }

    #[test]
    fn a_member_with_its_accounts_rights_is_the_owner_within_its_narrowing() {
        use Decision::*;
        let u = member(vec![], Some(allow("s3:GetObject", "*")), true);
        assert_eq!(u.acl_id(), "root-id");
        assert!(u.owns("root-id"));
        // Left to ownership (NotApplicable) when the narrowing allows, refused otherwise.
        assert_eq!(
            decide(&u, NotApplicable, "s3:GetObject", OBJ),
            NotApplicable
        );
        assert_eq!(decide(&u, NotApplicable, "s3:PutObject", OBJ), Deny);
        // A member acting by policy is never an owner by ACL.
        let m = member(vec![], None, false);
        assert!(!m.owns("root-id"));
        assert_eq!(m.acl_id(), "arn:aws:iam:::user/bob");
    }
}
