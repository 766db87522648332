"""MinIO's admin API for identities (issue 14, part 3), driven by minio-py's MinioAdmin (an
independent madmin client: encrypted bodies, empty-region signatures) and by signed plain
JSON calls at /rustfs/admin/v3. Every policy is proven with boto3 S3 calls made with the new
keys: what it allows works, anything else is AccessDenied."""

from __future__ import annotations

import json

import pytest
import requests
from minio.credentials import StaticProvider
from minio.error import MinioAdminException
from minio.minioadmin import MinioAdmin

from harness import expect_error, sigv4_headers, unique_name

import hashlib


def admin_for(server, access_key=None, secret_key=None) -> MinioAdmin:
    return MinioAdmin(
        endpoint=f"{server.host}:{server.port}",
        credentials=StaticProvider(access_key or server.access_key,
                                   secret_key or server.secret_key),
        secure=False,
    )


@pytest.fixture
def admin(server) -> MinioAdmin:
    return admin_for(server)


def refused(fn, *args, status, code=None, **kwargs):
    with pytest.raises(MinioAdminException) as info:
        fn(*args, **kwargs)
    assert info.value._code == str(status), info.value
    if code:
        assert json.loads(info.value._body)["Code"] == code, info.value._body


def new_user(admin, policy=None):
    ak, sk = unique_name("u").replace("-", "")[:20], "secret-" + unique_name("s")
    admin.user_add(ak, sk)
    if policy:
        admin.attach_policy([policy], user=ak)
    return ak, sk


def bucket_policy(bucket, actions, prefix="*"):
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": actions,
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}"],
        }],
    }


def test_users_add_info_list_disable_enable_remove(server, admin, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ak, sk = new_user(admin, "readonly")
    info = json.loads(admin.user_info(ak))
    assert info["status"] == "enabled" and info["policyName"] == "readonly"
    assert ak in json.loads(admin.user_list())
    c = server.client(access_key=ak, secret_key=sk)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    admin.user_disable(ak)
    assert json.loads(admin.user_info(ak))["status"] == "disabled"
    expect_error(c.get_object, Bucket=bucket, Key="k", code="InvalidAccessKeyId", status=403)
    admin.user_enable(ak)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    admin.user_remove(ak)
    expect_error(c.get_object, Bucket=bucket, Key="k", code="InvalidAccessKeyId", status=403)
    refused(admin.user_info, ak, status=404, code="XMinioAdminNoSuchUser")


def test_root_cannot_be_disabled_or_removed(server, admin):
    refused(admin.user_disable, server.access_key, status=400)
    refused(admin.user_remove, server.access_key, status=400)


def test_canned_policies_grant_exactly_what_they_say(server, admin, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ro = server.client(**dict(zip(("access_key", "secret_key"), new_user(admin, "readonly"))))
    assert ro.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    expect_error(ro.put_object, Bucket=bucket, Key="x", Body=b"x", code="AccessDenied", status=403)
    wo = server.client(**dict(zip(("access_key", "secret_key"), new_user(admin, "writeonly"))))
    wo.put_object(Bucket=bucket, Key="w", Body=b"w")
    expect_error(wo.get_object, Bucket=bucket, Key="k", code="AccessDenied", status=403)
    rw = server.client(**dict(zip(("access_key", "secret_key"), new_user(admin, "readwrite"))))
    rw.put_object(Bucket=bucket, Key="rw", Body=b"rw")
    assert rw.get_object(Bucket=bucket, Key="w")["Body"].read() == b"w"


def test_custom_policy_on_a_prefix_attach_detach_remove(server, admin, bucket, s3):
    name = unique_name("pol")
    admin.policy_add(name, policy=bucket_policy(bucket, ["s3:GetObject", "s3:PutObject"], "team/*"))
    assert json.loads(admin.policy_info(name))["Statement"][0]["Effect"] == "Allow"
    listed = json.loads(admin.policy_list())
    assert name in listed and "readwrite" in listed
    ak, sk = new_user(admin)
    c = server.client(access_key=ak, secret_key=sk)
    expect_error(c.put_object, Bucket=bucket, Key="team/a", Body=b"a", code="AccessDenied", status=403)
    admin.attach_policy([name], user=ak)
    c.put_object(Bucket=bucket, Key="team/a", Body=b"a")
    assert c.get_object(Bucket=bucket, Key="team/a")["Body"].read() == b"a"
    expect_error(c.put_object, Bucket=bucket, Key="other/a", Body=b"a", code="AccessDenied", status=403)
    # In use: not removed.
    refused(admin.policy_remove, name, status=400)
    admin.detach_policy([name], user=ak)
    expect_error(c.get_object, Bucket=bucket, Key="team/a", code="AccessDenied", status=403)
    admin.policy_set(name, user=ak)
    assert json.loads(admin.user_info(ak))["policyName"] == name
    admin.policy_set("readonly", user=ak)
    assert json.loads(admin.user_info(ak))["policyName"] == "readonly"
    admin.policy_remove(name)
    refused(admin.policy_info, name, status=404, code="XMinioAdminNoSuchPolicy")
    refused(admin.policy_add, unique_name("bad"), policy={"Statement": "nope"}, status=400)


def test_groups_give_their_members_the_group_policy(server, admin, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ak, sk = new_user(admin)
    group = unique_name("grp")
    admin.group_add(group, [ak])
    admin.attach_policy(["readonly"], group=group)
    info = json.loads(admin.group_info(group))
    assert info["members"] == [ak] and info["status"] == "enabled" and info["policy"] == "readonly"
    assert group in json.loads(admin.group_list())
    assert json.loads(admin.user_info(ak))["memberOf"] == [group]
    c = server.client(access_key=ak, secret_key=sk)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    admin.group_disable(group)
    assert json.loads(admin.group_info(group))["status"] == "disabled"
    expect_error(c.get_object, Bucket=bucket, Key="k", code="AccessDenied", status=403)
    admin.group_enable(group)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    admin.group_remove(group, [ak])
    expect_error(c.get_object, Bucket=bucket, Key="k", code="AccessDenied", status=403)
    admin.detach_policy(["readonly"], group=group)
    admin.group_remove(group)
    refused(admin.group_info, group, status=404, code="XMinioAdminNoSuchGroup")


def test_service_accounts_are_narrowed_by_their_policy(server, admin, make_bucket):
    s3, b1 = make_bucket(server)
    _, b2 = make_bucket(server)
    for b in (b1, b2):
        s3.put_object(Bucket=b, Key="k", Body=b"v")
    ak, sk = new_user(admin, "readwrite")
    user_admin = admin_for(server, ak, sk)
    # A user may make service accounts of its own without any admin action.
    creds = json.loads(user_admin.add_service_account(
        policy=bucket_policy(b1, ["s3:GetObject"]), name="narrow"))["credentials"]
    sa = server.client(access_key=creds["accessKey"], secret_key=creds["secretKey"])
    assert sa.get_object(Bucket=b1, Key="k")["Body"].read() == b"v"
    expect_error(sa.get_object, Bucket=b2, Key="k", code="AccessDenied", status=403)
    expect_error(sa.put_object, Bucket=b1, Key="x", Body=b"x", code="AccessDenied", status=403)
    info = json.loads(admin.get_service_account(creds["accessKey"]))
    assert info["parentUser"] == ak and info["accountStatus"] == "on" and not info["impliedPolicy"]
    listed = json.loads(user_admin.list_service_account(ak))["accounts"]
    assert [a["accessKey"] for a in listed] == [creds["accessKey"]]
    # Not someone else's, and not through the narrowed service account itself.
    refused(user_admin.list_service_account, server.access_key, status=403)
    sa_admin = admin_for(server, creds["accessKey"], creds["secretKey"])
    refused(sa_admin.add_service_account, status=403)
    admin.update_service_account(access_key=creds["accessKey"], status="off")
    expect_error(sa.get_object, Bucket=b1, Key="k", code="InvalidAccessKeyId", status=403)
    admin.update_service_account(access_key=creds["accessKey"], status="on",
                                 policy=bucket_policy(b2, ["s3:GetObject"]))
    assert sa.get_object(Bucket=b2, Key="k")["Body"].read() == b"v"
    expect_error(sa.get_object, Bucket=b1, Key="k", code="AccessDenied", status=403)
    user_admin.delete_service_account(creds["accessKey"])
    expect_error(sa.get_object, Bucket=b2, Key="k", code="InvalidAccessKeyId", status=403)


def test_non_admin_users_are_refused(server, admin):
    ak, sk = new_user(admin, "readwrite")
    user_admin = admin_for(server, ak, sk)
    for call, args in [(user_admin.user_list, ()), (user_admin.user_add, ("someone", "secret-123456")),
                       (user_admin.policy_list, ()), (user_admin.group_list, ()), (user_admin.info, ())]:
        refused(call, *args, status=403)
    # consoleAdmin allows admin:*.
    admin.attach_policy(["consoleAdmin"], user=ak)
    assert isinstance(json.loads(user_admin.user_list()), dict)


def test_server_info(admin):
    info = json.loads(admin.info())
    assert info["mode"] == "online"
    assert info["servers"][0]["state"] == "online"
    assert all(d["state"] == "ok" for d in info["servers"][0]["drives"])


def rustfs_call(server, method, path, query=(), body=b""):
    host = f"{server.host}:{server.port}"
    sha = hashlib.sha256(body).hexdigest()
    hdrs = sigv4_headers(method, host, path, list(query), {}, sha,
                         server.access_key, server.secret_key, region="")
    qs = "&".join(f"{k}={v}" for k, v in query)
    return requests.request(method, f"{server.endpoint}{path}" + (f"?{qs}" if qs else ""),
                            headers=hdrs, data=body, verify=server.verify)


def test_rustfs_v3_takes_plain_json(server, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ak = unique_name("p").replace("-", "")[:20]
    body = json.dumps({"secretKey": "plain-secret-1", "status": "enabled"}).encode()
    r = rustfs_call(server, "PUT", "/rustfs/admin/v3/add-user", [("accessKey", ak)], body)
    assert r.status_code == 200, r.content
    body = json.dumps({"policies": ["readonly"], "user": ak}).encode()
    r = rustfs_call(server, "POST", "/rustfs/admin/v3/idp/builtin/policy/attach", [], body)
    assert r.status_code == 200 and r.json()["policiesAttached"] == ["readonly"], r.content
    r = rustfs_call(server, "GET", "/rustfs/admin/v3/list-users")
    assert r.status_code == 200 and r.json()[ak]["policyName"] == "readonly", r.content
    c = server.client(access_key=ak, secret_key="plain-secret-1")
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    r = rustfs_call(server, "GET", "/rustfs/admin/v3/user-info", [("accessKey", "nobody")])
    assert r.status_code == 404 and r.json()["Code"] == "XMinioAdminNoSuchUser", r.content
    r = rustfs_call(server, "PUT", "/rustfs/admin/v3/add-user", [("accessKey", ak)], b"not json")
    assert r.status_code == 400 and r.json()["Code"] == "XMinioMalformedJSON", r.content


def test_policy_info_v2_and_account_info(server, admin):
    r = rustfs_call(server, "GET", "/rustfs/admin/v3/info-canned-policy",
                    [("name", "readonly"), ("v", "2")])
    body = r.json()
    assert r.status_code == 200 and body["PolicyName"] == "readonly", r.content
    assert body["Policy"]["Version"] == "2012-10-17" and body["CreateDate"]
    ak, sk = new_user(admin, "readwrite")
    # Any signed user may read its own account info.
    info = json.loads(admin_for(server, ak, sk).account_info())
    assert info["AccountName"] == ak and info["Policy"]["policies"] == ["readwrite"]


def signed_call(server, method, path, creds, query=(), body=b""):
    """A /rustfs/admin call signed with (access key, secret key, session token or None)."""
    ak, sk, token = creds
    host = f"{server.host}:{server.port}"
    sha = hashlib.sha256(body).hexdigest()
    extra = {"x-amz-security-token": token} if token else {}
    hdrs = sigv4_headers(method, host, path, list(query), extra, sha, ak, sk, region="")
    qs = "&".join(f"{k}={v}" for k, v in query)
    return requests.request(method, f"{server.endpoint}{path}" + (f"?{qs}" if qs else ""),
                            headers=hdrs, data=body, verify=server.verify)


def session_of(server, ak, sk):
    import boto3
    sts = boto3.client("sts", endpoint_url=server.endpoint, aws_access_key_id=ak,
                       aws_secret_access_key=sk, region_name="us-east-1", verify=server.verify)
    c = sts.get_session_token()["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def test_a_users_own_session_manages_its_service_accounts(server, admin, bucket, s3):
    """The web console signs in with GetSessionToken: a user's own session (not narrowed)
    manages the user's service accounts as the user could; a service account's session may
    not make service accounts, and no session reaches another user's."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    ak, sk = new_user(admin, "readwrite")
    session = session_of(server, ak, sk)
    r = signed_call(server, "GET", "/rustfs/admin/v3/list-service-accounts", session)
    assert r.status_code == 200 and r.json()["accounts"] == [], r.content
    body = json.dumps({"name": "from-console"}).encode()
    r = signed_call(server, "PUT", "/rustfs/admin/v3/add-service-account", session, body=body)
    assert r.status_code == 200, r.content
    made = r.json()["credentials"]
    sa = server.client(access_key=made["accessKey"], secret_key=made["secretKey"])
    assert sa.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    info = json.loads(admin.get_service_account(made["accessKey"]))
    assert info["parentUser"] == ak and info["name"] == "from-console"
    r = signed_call(server, "GET", "/rustfs/admin/v3/list-service-accounts", session)
    assert [a["accessKey"] for a in r.json()["accounts"]] == [made["accessKey"]], r.content
    # Not another user's, and no admin call beyond the self-service ones.
    r = signed_call(server, "GET", "/rustfs/admin/v3/list-service-accounts", session,
                    query=[("user", server.access_key)])
    assert r.status_code == 403, r.content
    r = signed_call(server, "GET", "/rustfs/admin/v3/list-users", session)
    assert r.status_code == 403, r.content
    # A service account's session stays a service account: it makes no service accounts.
    sa_session = session_of(server, made["accessKey"], made["secretKey"])
    r = signed_call(server, "PUT", "/rustfs/admin/v3/add-service-account", sa_session, body=b"{}")
    assert r.status_code == 403, r.content
    r = signed_call(server, "DELETE", "/rustfs/admin/v3/delete-service-account", session,
                    query=[("accessKey", made["accessKey"])])
    assert r.status_code == 200, r.content
