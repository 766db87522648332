//! The access checks fail closed: a storage error while a check reads the record it decides on
//! refuses the request (500), never lets it through. Each test runs the S3 service (s3s with
//! our auth, access checks and operations) over a real object store on a temporary volume, and
//! makes exactly the read the check does fail, with the metadata store's read fault injection;
//! the operation's own read, after it, succeeds, so a check that let the request through would
//! show as a 200 or a change.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use rustfs_meta::{BucketRecord, RedbStore, Table, TxnStore, decode, encode, faults, keys};
use rustfs_object::{CannedAcl, ObjectStore, PutOptions};
use rustfs_s3::RustFsS3;
use rustfs_s3::access::AccessControl;
use rustfs_s3::auth::{Keyring, User};
use s3s::service::{S3Service, S3ServiceBuilder};

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<ObjectStore>,
    service: S3Service,
    owner: String,
}

fn setup() -> Setup {
    setup_in(tempfile::tempdir().unwrap())
}

fn root() -> User {
    User::derived("ROOTACCESSKEY", "root-secret-key")
}

/// The service over the store on `dir/vol`.
fn setup_in(dir: tempfile::TempDir) -> Setup {
    let store = Arc::new(ObjectStore::open(&[dir.path().join("vol")]).unwrap());
    let root = root();
    let owner = root.id.clone();
    let keys = Keyring::new([root]).unwrap();
    let mut b = S3ServiceBuilder::new(RustFsS3::new(store.clone(), "us-east-1", keys.clone()));
    b.set_auth(keys.clone());
    b.set_access(AccessControl::new(store.clone(), keys));
    b.set_config(rustfs_s3::s3s_config());
    Setup {
        _dir: dir,
        store,
        service: b.build(),
        owner,
    }
}

impl Setup {
    async fn bucket(&self, name: &str, policy: Option<String>) {
        self.store
            .create_bucket(name, &self.owner, "us-east-1")
            .await
            .unwrap();
        if let Some(p) = policy {
            self.store.set_bucket_policy(name, &p, false).await.unwrap();
        }
    }

    async fn object(&self, bucket: &str, key: &str, data: &[u8], tags: &[(&str, &str)]) {
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::copy_from_slice(data))]);
        let opts = PutOptions {
            owner: self.owner.clone(),
            tags: Some(
                tags.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        self.store
            .put_object(bucket, key, body, opts)
            .await
            .unwrap();
    }

    /// An unsigned request; the status and body of the answer.
    async fn anonymous(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .header("content-length", body.len())
            .body(s3s::Body::from(body.to_string()))
            .unwrap();
        let resp = self.service.call(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The next read of the current record of `bucket/key` fails.
fn fail_next_read(bucket: &str, key: &str) {
    faults::fail_reads(Table::Objects, &keys::object_key(bucket, key), 1);
}

fn policy(bucket: &str, statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#).replace("BUCKET", bucket)
}

#[tokio::test]
async fn a_failed_read_of_the_object_refuses_a_get() {
    let t = setup();
    t.bucket("fault-get", None).await;
    t.object("fault-get", "secret", b"private bytes", &[]).await;
    let (status, _) = t.anonymous("GET", "/fault-get/secret", &[], "").await;
    assert_eq!(status, 403, "a private object is refused");
    fail_next_read("fault-get", "secret");
    let (status, body) = t.anonymous("GET", "/fault-get/secret", &[], "").await;
    assert_eq!(status, 500, "a failed check refuses: {body}");
    assert!(body.contains("InternalError"), "{body}");
    assert!(!body.contains("private bytes"));
}

#[tokio::test]
async fn a_failed_read_of_the_tagged_object_refuses_put_tagging() {
    let t = setup();
    let p = policy(
        "fault-tag",
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:PutObjectTagging","Resource":"arn:aws:s3:::BUCKET/*"},
           {"Effect":"Deny","Principal":"*","Action":"s3:PutObjectTagging","Resource":"arn:aws:s3:::BUCKET/*",
            "Condition":{"StringEquals":{"s3:ExistingObjectTag/locked":"true"}}}"#,
    );
    t.bucket("fault-tag", Some(p)).await;
    t.object("fault-tag", "doc", b"x", &[("locked", "true")])
        .await;
    let tagging =
        "<Tagging><TagSet><Tag><Key>locked</Key><Value>false</Value></Tag></TagSet></Tagging>";
    let (status, _) = t
        .anonymous("PUT", "/fault-tag/doc?tagging", &[], tagging)
        .await;
    assert_eq!(status, 403, "the policy denies re-tagging a locked object");
    fail_next_read("fault-tag", "doc");
    let (status, body) = t
        .anonymous("PUT", "/fault-tag/doc?tagging", &[], tagging)
        .await;
    assert_eq!(status, 500, "a failed check refuses: {body}");
    let tags = t.store.object_tags("fault-tag", "doc").await.unwrap();
    assert_eq!(tags, vec![("locked".to_string(), "true".to_string())]);
}

#[tokio::test]
async fn a_failed_read_of_an_entry_keeps_it_out_of_delete_objects() {
    let t = setup();
    let p = policy(
        "fault-del",
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::BUCKET/*"},
           {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::BUCKET/*",
            "Condition":{"StringEquals":{"s3:ExistingObjectTag/keep":"yes"}}}"#,
    );
    t.bucket("fault-del", Some(p)).await;
    t.object("fault-del", "kept", b"x", &[("keep", "yes")])
        .await;
    t.object("fault-del", "loose", b"y", &[]).await;
    let delete =
        "<Delete><Object><Key>kept</Key></Object><Object><Key>loose</Key></Object></Delete>";
    fail_next_read("fault-del", "kept");
    let (status, body) = t.anonymous("POST", "/fault-del?delete", &[], delete).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<Error><Code>InternalError</Code>") && body.contains("<Key>kept</Key>"),
        "the entry whose check failed is reported: {body}"
    );
    assert!(
        t.store.head_object("fault-del", "kept").await.is_ok(),
        "not deleted"
    );
    assert!(
        t.store.head_object("fault-del", "loose").await.is_err(),
        "the entry the policy allows is deleted"
    );
}

#[tokio::test]
async fn a_failed_read_of_the_copy_source_refuses_the_copy() {
    let t = setup();
    t.bucket("fault-src", None).await;
    t.object("fault-src", "private", b"private bytes", &[])
        .await;
    let p = policy(
        "fault-dst",
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::BUCKET/*"}"#,
    );
    t.bucket("fault-dst", Some(p)).await;
    let copy = [("x-amz-copy-source", "/fault-src/private")];
    let (status, _) = t.anonymous("PUT", "/fault-dst/copy", &copy, "").await;
    assert_eq!(status, 403, "the private source may not be read");
    fail_next_read("fault-src", "private");
    let (status, body) = t.anonymous("PUT", "/fault-dst/copy", &copy, "").await;
    assert_eq!(status, 500, "a failed check refuses: {body}");
    assert!(
        t.store.head_object("fault-dst", "copy").await.is_err(),
        "nothing copied"
    );
}

#[tokio::test]
async fn a_malformed_version_id_is_refused_by_the_check() {
    let t = setup();
    t.bucket("fault-ver", None).await;
    t.object("fault-ver", "k", b"x", &[]).await;
    let (status, body) = t
        .anonymous("GET", "/fault-ver/k?versionId=not-a-version", &[], "")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidArgument"), "{body}");
}

#[tokio::test]
async fn a_stored_policy_that_does_not_parse_refuses() {
    // A public-read object whose bucket's policy denies reading it.
    let dir = tempfile::tempdir().unwrap();
    let vol = dir.path().join("vol");
    let owner = root().id;
    {
        let store = ObjectStore::open(std::slice::from_ref(&vol)).unwrap();
        store
            .create_bucket("bad-policy", &owner, "us-east-1")
            .await
            .unwrap();
        let p = policy(
            "bad-policy",
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/hidden"}"#,
        );
        store
            .set_bucket_policy("bad-policy", &p, false)
            .await
            .unwrap();
    }
    // The stored text stops parsing (damage, or a document from another version).
    {
        let meta = RedbStore::open(&vol.join(".rustfs.sys/meta.redb")).unwrap();
        let mut t = meta.begin().await.unwrap();
        let raw = t.get(Table::Buckets, b"bad-policy").await.unwrap().unwrap();
        let mut rec: BucketRecord = decode(&raw).unwrap();
        rec.policy = Some(r#"{"Statement": [{"Effect": "Deny""#.into());
        t.put(Table::Buckets, b"bad-policy".to_vec(), encode(&rec));
        t.commit().await.unwrap();
    }
    let t = setup_in(dir);
    let body =
        futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"hidden bytes"))]);
    let opts = PutOptions {
        owner: owner.clone(),
        acl: Some(CannedAcl::PublicRead.grants(&owner, &owner)),
        ..Default::default()
    };
    t.store
        .put_object("bad-policy", "hidden", body, opts)
        .await
        .unwrap();
    let (status, body) = t.anonymous("GET", "/bad-policy/hidden", &[], "").await;
    assert_eq!(status, 500, "an unreadable policy refuses: {body}");
    assert!(!body.contains("hidden bytes"));
}
