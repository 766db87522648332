//! Identities on real stores: redb in a temporary directory and a real PostgreSQL
//! (`rustfs_meta::pg_server`). Each test runs on both (`redb::*`, `pg::*`).

use std::sync::Arc;

use rustfs_iam::store::Principal;
use rustfs_iam::{CredentialKind, Iam, IamError, Sealer, ServiceAccountSpec, Status};
use rustfs_meta::{PgStore, RedbStore, Table, TxnStore};

struct Fixture {
    iam: Iam,
    store: Arc<dyn TxnStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn fixture(pg: bool) -> Option<Fixture> {
    let (store, dir): (Arc<dyn TxnStore>, _) = if pg {
        let url = rustfs_meta::pg_server::server()?.database().await;
        (Arc::new(PgStore::open(&url).await.unwrap()), None)
    } else {
        let dir = tempfile::tempdir().unwrap();
        (
            Arc::new(RedbStore::open(&dir.path().join("m.redb")).unwrap()),
            Some(dir),
        )
    };
    Some(Fixture {
        iam: Iam::new(store.clone(), Sealer::new(b"root-secret-key")),
        store,
        _dir: dir,
    })
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

async fn users_are_created_changed_listed_and_sealed(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    iam.put_user("alice", "alice-secret", Status::Enabled, true)
        .await
        .unwrap();
    assert!(matches!(
        iam.put_user("alice", "other-secret", Status::Enabled, true)
            .await,
        Err(IamError::EntityExists { .. })
    ));
    assert!(matches!(
        iam.put_user("x", "short", Status::Enabled, false).await,
        Err(IamError::Invalid { .. })
    ));
    // The secret is sealed at rest.
    let raw = f
        .store
        .read_key(Table::Iam, b"user/alice")
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("alice-secret"));
    let c = iam.credential("alice", 0).await.unwrap().unwrap();
    assert_eq!(
        (c.secret.as_str(), c.enabled, c.kind),
        ("alice-secret", true, CredentialKind::User)
    );
    // add-user on an existing user sets its secret and status.
    iam.put_user("alice", "alice-secret-2", Status::Disabled, false)
        .await
        .unwrap();
    let c = iam.credential("alice", 0).await.unwrap().unwrap();
    assert_eq!((c.secret.as_str(), c.enabled), ("alice-secret-2", false));
    iam.set_user_status("alice", Status::Enabled).await.unwrap();
    assert!(iam.credential("alice", 0).await.unwrap().unwrap().enabled);
    // Another server secret cannot open it: refused, not guessed.
    let other = Iam::new(f.store.clone(), Sealer::new(b"another"));
    assert!(matches!(
        other.credential("alice", 0).await,
        Err(IamError::Sealed(_))
    ));

    for i in 0..5 {
        iam.put_user(&format!("usr{i}"), "secret-key-1", Status::Enabled, true)
            .await
            .unwrap();
    }
    let page: Vec<String> = iam
        .list_users("", 3)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.access_key)
        .collect();
    assert_eq!(page, s(&["alice", "usr0", "usr1"]));
    let page: Vec<String> = iam
        .list_users("usr1", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.access_key)
        .collect();
    assert_eq!(page, s(&["usr2", "usr3", "usr4"]));
    assert!(iam.credential("nobody", 0).await.unwrap().is_none());
}

async fn policies_attach_only_when_they_exist_and_delete_only_when_detached(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    iam.put_user("bob", "bob-secret", Status::Enabled, true)
        .await
        .unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    iam.put_policy("getb", doc).await.unwrap();
    assert!(
        iam.put_policy("readonly", doc).await.is_err(),
        "canned names are built in"
    );
    assert_eq!(iam.policy("getb").await.unwrap().unwrap().document, doc);
    assert!(iam.policy("readwrite").await.unwrap().is_some());
    let names: Vec<String> = iam
        .list_policies()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(names.contains(&"getb".into()) && names.contains(&"consoleAdmin".into()));

    let bob = Principal::User("bob".into());
    assert!(matches!(
        iam.set_attachment(&bob, &s(&["nope"]), true).await,
        Err(IamError::NoSuchEntity { .. })
    ));
    assert_eq!(
        iam.set_attachment(&bob, &s(&["readonly", "getb"]), true)
            .await
            .unwrap(),
        s(&["getb", "readonly"])
    );
    assert!(matches!(
        iam.delete_policy("getb").await,
        Err(IamError::DeleteConflict(_))
    ));
    assert_eq!(
        iam.set_attachment(&bob, &s(&["getb"]), false)
            .await
            .unwrap(),
        s(&["readonly"])
    );
    iam.delete_policy("getb").await.unwrap();
    assert!(iam.policy("getb").await.unwrap().is_none());
    assert!(iam.delete_policy("readonly").await.is_err());
}

async fn groups_keep_members_and_users_in_step(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    for u in ["ada1", "ada2"] {
        iam.put_user(u, "secret-key-1", Status::Enabled, true)
            .await
            .unwrap();
    }
    assert!(matches!(
        iam.update_group_members("dev", &s(&["ada1", "ghost"]), false)
            .await,
        Err(IamError::NoSuchEntity { .. })
    ));
    assert!(
        iam.group("dev").await.unwrap().is_none(),
        "nothing half-done"
    );
    iam.update_group_members("dev", &s(&["ada1", "ada2"]), false)
        .await
        .unwrap();
    assert_eq!(
        iam.group("dev").await.unwrap().unwrap().members,
        s(&["ada1", "ada2"])
    );
    assert_eq!(iam.user("ada1").await.unwrap().unwrap().groups, s(&["dev"]));
    iam.set_attachment(&Principal::Group("dev".into()), &s(&["readwrite"]), true)
        .await
        .unwrap();
    iam.set_group_status("dev", Status::Disabled).await.unwrap();
    assert_eq!(
        iam.group("dev").await.unwrap().unwrap().status,
        Status::Disabled
    );
    assert!(matches!(
        iam.update_group_members("dev", &[], true).await,
        Err(IamError::DeleteConflict(_))
    ));
    // Deleting a user takes it out of its groups.
    iam.delete_user("ada2").await.unwrap();
    assert_eq!(
        iam.group("dev").await.unwrap().unwrap().members,
        s(&["ada1"])
    );
    iam.update_group_members("dev", &s(&["ada1"]), true)
        .await
        .unwrap();
    assert!(iam.user("ada1").await.unwrap().unwrap().groups.is_empty());
    iam.update_group_members("dev", &[], true).await.unwrap();
    assert!(iam.list_groups().await.unwrap().is_empty());
}

async fn service_accounts_follow_their_parent(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    assert!(matches!(
        iam.create_service_account(&ServiceAccountSpec {
            parent: "ghost".into(),
            ..Default::default()
        })
        .await,
        Err(IamError::NoSuchEntity { .. })
    ));
    iam.put_user("carol", "carol-secret", Status::Enabled, true)
        .await
        .unwrap();
    let (ak, sk) = iam
        .create_service_account(&ServiceAccountSpec {
            parent: "carol".into(),
            policy: Some("{}".into()),
            expires_ms: Some(1_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((ak.len(), sk.len()), (20, 40));
    let c = iam.credential(&ak, 500).await.unwrap().unwrap();
    assert_eq!(c.secret, sk);
    assert!(c.enabled && !c.expired);
    assert_eq!(
        c.kind,
        CredentialKind::ServiceAccount {
            parent: "carol".into(),
            policy: Some("{}".into())
        }
    );
    assert!(iam.credential(&ak, 1_000).await.unwrap().unwrap().expired);
    // A user's access key cannot be taken by a service account, nor the reverse.
    assert!(matches!(
        iam.create_service_account(&ServiceAccountSpec {
            parent: "carol".into(),
            access_key: Some("carol".into()),
            secret_key: Some("12345678".into()),
            ..Default::default()
        })
        .await,
        Err(IamError::EntityExists { .. })
    ));
    assert!(matches!(
        iam.put_user(&ak, "secret-key-1", Status::Enabled, false)
            .await,
        Err(IamError::EntityExists { .. })
    ));
    // A disabled parent disables its accounts; deleting it deletes them.
    iam.set_user_status("carol", Status::Disabled)
        .await
        .unwrap();
    assert!(!iam.credential(&ak, 0).await.unwrap().unwrap().enabled);
    assert_eq!(iam.list_service_accounts("carol").await.unwrap().len(), 1);
    iam.delete_user("carol").await.unwrap();
    assert!(iam.credential(&ak, 0).await.unwrap().is_none());
    assert!(iam.service_account(&ak).await.unwrap().is_none());
}

/// Adding a member races deleting that user: the user is never left listed in the group
/// after it is gone, whichever commits first.
async fn adding_a_member_races_deleting_the_user(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    for round in 0..20 {
        let user = format!("race{round}");
        f.iam
            .put_user(&user, "secret-key-1", Status::Enabled, true)
            .await
            .unwrap();
        let (a, b) = (f.iam.clone(), f.iam.clone());
        let (u1, u2) = (user.clone(), user.clone());
        let add = tokio::spawn(async move { a.update_group_members("g", &[u1], false).await });
        let del = tokio::spawn(async move { b.delete_user(&u2).await });
        let _ = add.await.unwrap();
        del.await.unwrap().unwrap();
        let members = f
            .iam
            .group("g")
            .await
            .unwrap()
            .map(|g| g.members)
            .unwrap_or_default();
        assert!(
            !members.contains(&user),
            "round {round}: deleted user still a member"
        );
    }
}

/// Attaching a policy races deleting it: never attached after it is gone.
async fn attaching_races_deleting_the_policy(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    f.iam
        .put_user("dave", "secret-key-1", Status::Enabled, true)
        .await
        .unwrap();
    let dave = Principal::User("dave".into());
    for round in 0..20 {
        let name = format!("p{round}");
        f.iam.put_policy(&name, "{}").await.unwrap();
        let (a, b) = (f.iam.clone(), f.iam.clone());
        let (n1, n2, who) = (name.clone(), name.clone(), dave.clone());
        let attach = tokio::spawn(async move { a.set_attachment(&who, &[n1], true).await });
        let delete = tokio::spawn(async move { b.delete_policy(&n2).await });
        let attached = attach.await.unwrap().is_ok();
        let deleted = delete.await.unwrap().is_ok();
        assert!(attached != deleted, "round {round}: exactly one wins");
        let policies = f.iam.user("dave").await.unwrap().unwrap().policies;
        assert_eq!(policies.contains(&name), attached);
        assert_eq!(f.iam.policy(&name).await.unwrap().is_some(), !deleted);
        if attached {
            f.iam
                .set_attachment(&dave, std::slice::from_ref(&name), false)
                .await
                .unwrap();
        }
    }
}

async fn every_change_raises_the_version_and_nothing_else_does(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    let mut last = iam.version().await.unwrap();
    assert_eq!(last, 0);
    let mut raised = |now: u64, what: &str| {
        assert!(now > last, "{what}: version {now} after {last}");
        last = now;
    };
    iam.put_user("dave", "dave-secret", Status::Enabled, true)
        .await
        .unwrap();
    raised(iam.version().await.unwrap(), "add user");
    iam.set_user_status("dave", Status::Disabled).await.unwrap();
    raised(iam.version().await.unwrap(), "user status");
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    iam.put_policy("p", doc).await.unwrap();
    raised(iam.version().await.unwrap(), "put policy");
    iam.set_attachment(&Principal::User("dave".into()), &s(&["p"]), true)
        .await
        .unwrap();
    raised(iam.version().await.unwrap(), "attach");
    iam.update_group_members("g", &s(&["dave"]), false)
        .await
        .unwrap();
    raised(iam.version().await.unwrap(), "group members");
    let (ak, _) = iam
        .create_service_account(&ServiceAccountSpec {
            parent: "dave".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    raised(iam.version().await.unwrap(), "service account");
    iam.delete_service_account(&ak).await.unwrap();
    raised(iam.version().await.unwrap(), "delete service account");
    // Reads and refused changes leave it.
    let _ = iam.user("dave").await.unwrap();
    let _ = iam.list_users("", 10).await.unwrap();
    let _ = iam.credential("dave", 0).await.unwrap();
    assert!(iam.set_user_status("ghost", Status::Enabled).await.is_err());
    assert!(
        iam.put_user("dave", "x-secret-2", Status::Enabled, true)
            .await
            .is_err()
    );
    assert_eq!(iam.version().await.unwrap(), last, "reads and refusals");
    iam.set_attachment(&Principal::User("dave".into()), &s(&["p"]), false)
        .await
        .unwrap();
    iam.delete_policy("p").await.unwrap();
    iam.delete_user("dave").await.unwrap();
    assert_eq!(iam.version().await.unwrap(), last + 3);
    // Changes racing from several tasks each count.
    let before = iam.version().await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let iam = iam.clone();
            tokio::spawn(async move {
                iam.put_user(&format!("racer{i}"), "racer-secret", Status::Enabled, true)
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(iam.version().await.unwrap(), before + 8);
}

async fn aws_forms_refuse_what_exists_and_what_is_in_use(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    // IAM's CreateUser: no key of its own, refused twice; its keys are service accounts.
    let u = iam
        .create_keyless_user("erin", "/team/", None)
        .await
        .unwrap();
    assert!(!u.has_key() && u.path == "/team/");
    assert!(iam.credential("erin", 0).await.unwrap().is_none());
    assert!(matches!(
        iam.create_keyless_user("erin", "/", None).await,
        Err(IamError::EntityExists { .. })
    ));
    let (ak, _) = iam
        .create_service_account(&ServiceAccountSpec {
            parent: "erin".into(),
            user_key: true,
            ..Default::default()
        })
        .await
        .unwrap();
    // In use: a key, then a group, then an inline policy each keep it.
    assert!(matches!(
        iam.delete_unused_user("erin").await,
        Err(IamError::DeleteConflict(_))
    ));
    iam.delete_service_account(&ak).await.unwrap();
    iam.create_group("ops", "/", None).await.unwrap();
    assert!(matches!(
        iam.create_group("ops", "/", None).await,
        Err(IamError::EntityExists { .. })
    ));
    iam.update_group_members("ops", &s(&["erin"]), false)
        .await
        .unwrap();
    assert!(matches!(
        iam.delete_unused_user("erin").await,
        Err(IamError::DeleteConflict(_))
    ));
    assert!(matches!(
        iam.delete_group("ops").await,
        Err(IamError::DeleteConflict(_))
    ));
    iam.update_group_members("ops", &s(&["erin"]), true)
        .await
        .unwrap();
    let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
    iam.set_inline_policy(&Principal::User("erin".into()), "p", Some(doc))
        .await
        .unwrap();
    assert!(matches!(
        iam.delete_unused_user("erin").await,
        Err(IamError::DeleteConflict(_))
    ));
    iam.set_inline_policy(&Principal::User("erin".into()), "p", None)
        .await
        .unwrap();
    assert!(matches!(
        iam.set_inline_policy(&Principal::User("erin".into()), "p", None)
            .await,
        Err(IamError::NoSuchEntity { .. })
    ));
    iam.delete_unused_user("erin").await.unwrap();
    iam.delete_group("ops").await.unwrap();
    // CreatePolicy refuses an existing or canned name.
    iam.create_policy("mine", doc).await.unwrap();
    assert!(matches!(
        iam.create_policy("mine", doc).await,
        Err(IamError::EntityExists { .. })
    ));
    assert!(matches!(
        iam.create_policy("readonly", doc).await,
        Err(IamError::EntityExists { .. })
    ));
}

async fn roles_keep_their_policies_and_are_deleted_only_empty(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    let spec = rustfs_iam::RoleSpec {
        name: "reader".into(),
        path: "/".into(),
        trust_policy: "{}".into(),
        description: None,
        max_session_secs: 3600,
        owner: None,
    };
    let r = iam.create_role(&spec).await.unwrap();
    assert!(r.id.starts_with("AROA"));
    assert!(matches!(
        iam.create_role(&spec).await,
        Err(IamError::EntityExists { .. })
    ));
    iam.set_attachment(&Principal::Role("reader".into()), &s(&["readonly"]), true)
        .await
        .unwrap();
    iam.set_inline_policy(&Principal::Role("reader".into()), "x", Some("{}"))
        .await
        .unwrap();
    assert!(matches!(
        iam.delete_role("reader").await,
        Err(IamError::DeleteConflict(_))
    ));
    iam.set_trust_policy("reader", "{\"a\":1}").await.unwrap();
    let r = iam.role("reader").await.unwrap().unwrap();
    assert_eq!(
        (r.policies, r.inline.len(), r.trust_policy.as_str()),
        (s(&["readonly"]), 1, "{\"a\":1}")
    );
    iam.set_attachment(&Principal::Role("reader".into()), &s(&["readonly"]), false)
        .await
        .unwrap();
    iam.set_inline_policy(&Principal::Role("reader".into()), "x", None)
        .await
        .unwrap();
    iam.delete_role("reader").await.unwrap();
    assert!(iam.list_roles().await.unwrap().is_empty());
}

async fn seeding_an_account_is_idempotent_and_the_root_is_kept(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = &f.iam;
    let info = rustfs_iam::AccountInfo {
        id: "root-id".into(),
        display_name: "Root".into(),
        email: None,
        root: true,
        iam_account: false,
    };
    iam.seed_account("rootkey", "root-secret", &info)
        .await
        .unwrap();
    let v = iam.version().await.unwrap();
    // Seeding again unchanged writes nothing (every node seeds at start).
    iam.seed_account("rootkey", "root-secret", &info)
        .await
        .unwrap();
    assert_eq!(iam.version().await.unwrap(), v);
    // A new secret is taken.
    iam.seed_account("rootkey", "root-secret-2", &info)
        .await
        .unwrap();
    assert_eq!(
        iam.credential("rootkey", 0).await.unwrap().unwrap().secret,
        "root-secret-2"
    );
    assert!(matches!(
        iam.delete_user("rootkey").await,
        Err(IamError::Invalid { .. })
    ));
    assert!(matches!(
        iam.delete_unused_user("rootkey").await,
        Err(IamError::Invalid { .. })
    ));
    let snap = iam.snapshot().await.unwrap();
    assert_eq!(snap.version, iam.version().await.unwrap());
    assert_eq!(snap.users[0].1.as_deref(), Some("root-secret-2"));
}

/// IAM's DeleteUser reads whether the user has keys, then deletes it; CreateAccessKey reads
/// the user, then adds a key. Raced, either the key exists and the user does too, or the
/// user is gone and no key names it.
async fn deleting_a_user_races_creating_its_key(pg: bool) {
    let Some(f) = fixture(pg).await else { return };
    let iam = Arc::new(f.iam.clone());
    for round in 0..8 {
        let name = format!("racer{round}");
        iam.create_keyless_user(&name, "/", None).await.unwrap();
        let (a, b) = (iam.clone(), iam.clone());
        let (n1, n2) = (name.clone(), name.clone());
        let del = tokio::spawn(async move { a.delete_unused_user(&n1).await });
        let key = tokio::spawn(async move {
            b.create_service_account(&ServiceAccountSpec {
                parent: n2,
                user_key: true,
                ..Default::default()
            })
            .await
        });
        let (del, key) = (del.await.unwrap(), key.await.unwrap());
        let user = iam.user(&name).await.unwrap();
        let keys = iam.list_service_accounts(&name).await.unwrap();
        match (del, key) {
            (Ok(()), Err(IamError::NoSuchEntity { .. })) => {
                assert!(user.is_none() && keys.is_empty());
            }
            (Err(IamError::DeleteConflict(_)), Ok(_)) => {
                assert!(user.is_some() && keys.len() == 1);
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(false).await })*
        }
        mod pg {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(true).await })*
        }
    };
}

on_both!(
    users_are_created_changed_listed_and_sealed,
    policies_attach_only_when_they_exist_and_delete_only_when_detached,
    groups_keep_members_and_users_in_step,
    service_accounts_follow_their_parent,
    adding_a_member_races_deleting_the_user,
    attaching_races_deleting_the_policy,
    every_change_raises_the_version_and_nothing_else_does,
    aws_forms_refuse_what_exists_and_what_is_in_use,
    roles_keep_their_policies_and_are_deleted_only_empty,
    seeding_an_account_is_idempotent_and_the_root_is_kept,
    deleting_a_user_races_creating_its_key,
);
