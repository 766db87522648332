//! The keyring's snapshot from the identity store's ([`rustfs_iam::Snapshot`]): every access
//! key with its secret and standing, every account by canonical id, every member with the
//! policies it acts with, every role.
//!
//! - The root user comes from the command line (authoritative even when the store is out of
//!   reach); users with an [`rustfs_iam::AccountInfo`] (the users file) are accounts.
//! - Other users are members of the root account: their attached and inline policies and those
//!   of their enabled groups.
//! - A service account acts with its parent's rights (an account's: the account's own),
//!   narrowed by its inline policy; an IAM access key is its user exactly.
//! - A policy that does not parse (a damaged record; documents are validated when written) is
//!   left out and logged: it grants nothing.

use std::collections::HashMap;
use std::sync::Arc;

use rustfs_iam::{Snapshot as Stored, Status, UserRecord, canned};
use rustfs_object::policy::Policy;

use super::{RoleGrants, role_arn, user_arn};
use crate::auth::{KeyEntry, Member, MemberKind, Snapshot, User};

fn parse(what: &str, doc: &str) -> Option<Arc<Policy>> {
    match Policy::parse_identity(doc) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            tracing::warn!("identity policy {what} does not parse, it grants nothing: {e}");
            None
        }
    }
}

/// Builds the snapshot; `root` is the root user from the command line, `accounts` the users
/// file's (used when the store does not have them yet).
pub fn snapshot(stored: &Stored, root: &User) -> Snapshot {
    let mut managed: HashMap<&str, Arc<Policy>> = HashMap::new();
    for name in canned::NAMES {
        if let Some(p) = canned::document(name).and_then(|d| parse(name, d)) {
            managed.insert(name, p);
        }
    }
    for p in &stored.policies {
        if let Some(parsed) = parse(&p.name, &p.document) {
            managed.insert(&p.name, parsed);
        }
    }
    let resolve = |names: &[String], inline: &std::collections::BTreeMap<String, String>| {
        let mut out: Vec<Arc<Policy>> = names
            .iter()
            .filter_map(|n| managed.get(n.as_str()).cloned())
            .collect();
        out.extend(inline.iter().filter_map(|(n, d)| parse(n, d)));
        out
    };
    let groups: HashMap<&str, Vec<Arc<Policy>>> = stored
        .groups
        .iter()
        .filter(|g| g.status == Status::Enabled)
        .map(|g| (g.name.as_str(), resolve(&g.policies, &g.inline)))
        .collect();
    // A user's own policies and its enabled groups'.
    let policies_of = |rec: &UserRecord| {
        let mut policies = resolve(&rec.policies, &rec.inline);
        for g in &rec.groups {
            policies.extend(groups.get(g.as_str()).into_iter().flatten().cloned());
        }
        policies
    };

    let mut out = Snapshot {
        version: stored.version,
        ..Default::default()
    };
    let root = Arc::new(User {
        member: None,
        ..root.clone()
    });
    out.by_key
        .insert(root.access_key.clone(), KeyEntry::Active(root.clone()));
    out.by_id.insert(root.id.clone(), root.clone());

    // The accounts other than root, by access key: their canonical ids (the members they made
    // act in them, and ARNs name them by them).
    let accounts: HashMap<&str, &str> = stored
        .users
        .iter()
        .filter_map(|(u, _)| Some((u.access_key.as_str(), u.account.as_ref()?.id.as_str())))
        .collect();
    // A member's account: its canonical id, and the id its ARNs show ("" for root's).
    let account_of = |owner: &Option<String>| -> (String, String) {
        match owner.as_deref().and_then(|o| accounts.get(o)) {
            Some(id) if owner.as_deref() != Some(root.access_key.as_str()) => {
                (id.to_string(), id.to_string())
            }
            _ => (root.id.clone(), super::ACCOUNT.to_string()),
        }
    };

    // Users: accounts, members (by name, with their policies), and their own keys.
    let mut users: HashMap<&str, (&UserRecord, Arc<User>)> = HashMap::new();
    for (rec, secret) in &stored.users {
        if rec.access_key == root.access_key {
            users.insert(&rec.access_key, (rec, root.clone()));
            continue;
        }
        let user = Arc::new(match &rec.account {
            Some(a) => {
                // An account with policies of its own (RGW's user policies): they join in (a
                // Deny refuses, an Allow grants), besides what it owns.
                let policies = policies_of(rec);
                User {
                    access_key: rec.access_key.clone(),
                    secret_key: secret.clone().unwrap_or_default(),
                    id: a.id.clone(),
                    display_name: a.display_name.clone(),
                    email: a.email.clone(),
                    iam_account: a.iam_account,
                    member: (!policies.is_empty()).then(|| {
                        Arc::new(Member {
                            name: rec.access_key.clone(),
                            arn: user_arn(&a.id, &rec.path, &rec.access_key),
                            user_id: rec.id.clone(),
                            account: None,
                            policies,
                            narrowing: None,
                            kind: MemberKind::User,
                            owner: true,
                        })
                    }),
                }
            }
            None => {
                let policies = policies_of(rec);
                let (account_id, arn_account) = account_of(&rec.owner);
                User {
                    access_key: rec.access_key.clone(),
                    secret_key: secret.clone().unwrap_or_default(),
                    id: account_id,
                    display_name: rec.access_key.clone(),
                    email: None,
                    iam_account: false,
                    member: Some(Arc::new(Member {
                        name: rec.access_key.clone(),
                        arn: user_arn(&arn_account, &rec.path, &rec.access_key),
                        user_id: rec.id.clone(),
                        account: rec.owner.clone(),
                        policies,
                        narrowing: None,
                        kind: MemberKind::User,
                        owner: false,
                    })),
                }
            }
        });
        if rec.account.is_some() {
            out.by_id.entry(user.id.clone()).or_insert(user.clone());
        } else {
            out.members.insert(rec.access_key.clone(), user.clone());
        }
        if secret.is_some() {
            let entry = if rec.status == Status::Enabled {
                KeyEntry::Active(user.clone())
            } else {
                KeyEntry::Disabled
            };
            out.by_key.entry(rec.access_key.clone()).or_insert(entry);
        }
        users.insert(&rec.access_key, (rec, user));
    }

    // Service accounts and access keys: their parent's rights, narrowed.
    for (rec, secret) in &stored.service_accounts {
        let Some(secret) = secret else { continue };
        let parent = users.get(rec.parent.as_str());
        let enabled = rec.status == Status::Enabled
            && parent.is_some_and(|(p, _)| p.status == Status::Enabled);
        let Some((_, parent_user)) = parent.filter(|_| enabled) else {
            out.by_key
                .entry(rec.access_key.clone())
                .or_insert(KeyEntry::Disabled);
            continue;
        };
        let narrowing = rec
            .policy
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse(&rec.access_key, p).unwrap_or_else(|| Arc::new(deny_all())));
        let kind = if rec.user_key {
            MemberKind::AccessKey {
                user: rec.parent.clone(),
            }
        } else {
            MemberKind::ServiceAccount {
                parent: rec.parent.clone(),
            }
        };
        let member = match &parent_user.member {
            Some(m) => Member {
                narrowing,
                kind,
                ..(**m).clone()
            },
            None => Member {
                name: rec.parent.clone(),
                arn: user_arn(super::ACCOUNT, "/", &rec.parent),
                user_id: String::new(),
                account: None,
                policies: Vec::new(),
                narrowing,
                kind,
                owner: true,
            },
        };
        let user = Arc::new(User {
            access_key: rec.access_key.clone(),
            secret_key: secret.clone(),
            member: Some(Arc::new(member)),
            ..(**parent_user).clone()
        });
        let entry = match rec.expires_ms {
            Some(expires_ms) => KeyEntry::Expiring { user, expires_ms },
            None => KeyEntry::Active(user),
        };
        out.by_key.entry(rec.access_key.clone()).or_insert(entry);
    }

    for r in &stored.roles {
        let trust = match Policy::parse_trust(&r.trust_policy) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::warn!("trust policy of role {} does not parse: {e}", r.name);
                None
            }
        };
        let (account_id, arn_account) = account_of(&r.owner);
        out.roles.insert(
            r.name.clone(),
            Arc::new(RoleGrants {
                name: r.name.clone(),
                arn: role_arn(&arn_account, &r.path, &r.name),
                account_id,
                arn_account,
                id: r.id.clone(),
                trust,
                policies: resolve(&r.policies, &r.inline),
                max_session_secs: r.max_session_secs,
            }),
        );
    }
    out
}

/// What an inline policy that no longer parses becomes: nothing allowed.
fn deny_all() -> Policy {
    Policy::parse_identity(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    )
    .expect("a fixed valid policy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustfs_iam::{
        AccountInfo, GroupRecord, PolicyRecord, RoleRecord, ServiceAccountRecord, Status,
        UserRecord,
    };

    use crate::auth::Keyring;

    fn user(name: &str, status: Status, policies: &[&str], groups: &[&str]) -> UserRecord {
        UserRecord {
            access_key: name.into(),
            sealed_secret: "sealed".into(),
            status,
            policies: policies.iter().map(|s| s.to_string()).collect(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            created_ms: 0,
            updated_ms: 0,
            inline: Default::default(),
            account: None,
            path: "/".into(),
            id: format!("AIDA{name}"),
            owner: None,
        }
    }

    fn account(u: &str, root: bool) -> UserRecord {
        UserRecord {
            account: Some(AccountInfo {
                id: format!("{u}-id"),
                display_name: u.into(),
                email: None,
                root,
                iam_account: false,
            }),
            ..user(u, Status::Enabled, &[], &[])
        }
    }

    fn svc(
        ak: &str,
        parent: &str,
        policy: Option<&str>,
        expires_ms: Option<i64>,
    ) -> ServiceAccountRecord {
        ServiceAccountRecord {
            access_key: ak.into(),
            sealed_secret: "sealed".into(),
            parent: parent.into(),
            policy: policy.map(str::to_string),
            name: None,
            description: None,
            expires_ms,
            status: Status::Enabled,
            created_ms: 0,
            user_key: false,
        }
    }

    fn stored() -> Stored {
        let s = |v: &str| Some(format!("{v}-secret"));
        Stored {
            version: 7,
            users: vec![
                (account("root", true), s("root")),
                (account("alt", false), s("alt")),
                (
                    user("bob", Status::Enabled, &["readonly"], &["writers", "off"]),
                    s("bob"),
                ),
                (
                    user("carl", Status::Disabled, &["readwrite"], &[]),
                    s("carl"),
                ),
                (user("keyless", Status::Enabled, &[], &[]), None),
            ],
            groups: vec![
                GroupRecord {
                    name: "writers".into(),
                    members: vec!["bob".into()],
                    status: Status::Enabled,
                    policies: vec!["writeonly".into()],
                    updated_ms: 0,
                    inline: Default::default(),
                    path: "/".into(),
                    id: String::new(),
                    owner: None,
                },
                GroupRecord {
                    name: "off".into(),
                    members: vec!["bob".into()],
                    status: Status::Disabled,
                    policies: vec!["readwrite".into()],
                    updated_ms: 0,
                    inline: Default::default(),
                    path: "/".into(),
                    id: String::new(),
                    owner: None,
                },
            ],
            policies: vec![PolicyRecord {
                name: "broken".into(),
                document: "not json".into(),
                created_ms: 0,
                updated_ms: 0,
            }],
            service_accounts: vec![
                (
                    svc(
                        "BOBSVC",
                        "bob",
                        Some(
                            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
                        ),
                        None,
                    ),
                    s("bobsvc"),
                ),
                (svc("CARLSVC", "carl", None, None), s("carlsvc")),
                (svc("ROOTSVC", "root", None, Some(1_000)), s("rootsvc")),
            ],
            roles: vec![RoleRecord {
                owner: None,
                name: "r".into(),
                path: "/".into(),
                id: "AROAX".into(),
                trust_policy: "{}".into(),
                description: None,
                max_session_secs: 3600,
                policies: vec!["readonly".into()],
                inline: Default::default(),
                created_ms: 0,
            }],
        }
    }

    #[test]
    fn the_snapshot_holds_accounts_members_and_their_keys() {
        let root = User::derived("root", "root-secret");
        let keys = Keyring::new([root.clone()]).unwrap();
        keys.install(snapshot(&stored(), &root));
        assert_eq!(keys.version(), 7);
        // The root user as the command line says; the users file's account as itself.
        assert_eq!(keys.by_access_key("root").unwrap().member, None);
        let alt = keys.by_access_key("alt").unwrap();
        assert_eq!((alt.id.as_str(), alt.member.is_none()), ("alt-id", true));
        assert_eq!(keys.by_id("alt-id").unwrap().access_key, "alt");
        // A member: root's account, its own policies and its enabled groups' only.
        let bob = keys.by_access_key("bob").unwrap();
        assert_eq!(bob.id, root.id);
        let m = bob.member.as_ref().unwrap();
        assert_eq!(m.arn, "arn:aws:iam:::user/bob");
        assert_eq!(
            m.policies.len(),
            2,
            "readonly and the writers group's writeonly"
        );
        // A disabled user's key, and its service account, are refused as disabled.
        assert!(keys.by_access_key("carl").is_none());
        assert!(matches!(
            keys.snapshot().by_key.get("carl"),
            Some(KeyEntry::Disabled)
        ));
        assert!(matches!(
            keys.snapshot().by_key.get("CARLSVC"),
            Some(KeyEntry::Disabled)
        ));
        // A user without a key of its own has no key entry.
        assert!(!keys.snapshot().by_key.contains_key("keyless"));
        // A service account: its parent's policies, narrowed.
        let s = keys.by_access_key("BOBSVC").unwrap();
        let sm = s.member.as_ref().unwrap();
        assert_eq!((sm.policies.len(), sm.narrowing.is_some()), (2, true));
        assert_eq!(s.secret_key, "bobsvc-secret");
        // Root's service account has root's rights (an owner member); expired, it is refused.
        assert!(matches!(
            keys.snapshot().by_key.get("ROOTSVC"),
            Some(KeyEntry::Expiring {
                expires_ms: 1_000,
                ..
            })
        ));
        assert!(keys.by_access_key("ROOTSVC").is_none());
        assert!(keys.secret("ROOTSVC").is_none());
        // Roles with their policies; a trust policy that does not parse trusts nobody.
        let r = keys.snapshot().roles.get("r").cloned().unwrap();
        assert_eq!((r.policies.len(), r.trust.is_none()), (1, true));
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let root = User::derived("root", "root-secret");
        let keys = Keyring::new([root.clone()]).unwrap();
        keys.install(snapshot(&stored(), &root));
        let older = Stored {
            version: 3,
            ..Default::default()
        };
        keys.install(snapshot(&older, &root));
        assert_eq!(keys.version(), 7);
        assert!(keys.by_access_key("bob").is_some());
    }
}
