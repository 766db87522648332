"""The AWS IAM and STS query APIs at the S3 endpoint, with boto3's ``iam`` and ``sts``
clients and aws-cli, then boto3 S3 calls with the keys they make: each policy grants exactly
what it says, and every refusal answers with AWS's code.

One server per module (its own identities), the users file's ALT as a second account.
"""

from __future__ import annotations

import json
import os
import subprocess

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import ALT, REGION, RustfsProcess, ServerStartError, S3Server, purge_bucket, unique_name


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def deny(actions, resources) -> dict:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    conf = tmp_path_factory.mktemp("iam-conf")
    users_file = conf / "users.json"
    users_file.write_text(json.dumps({"users": [ALT]}))
    proc = RustfsProcess(tmp_path_factory.mktemp("rustfs-iam"),
                         extra_env={"RUSTFS_USERS_FILE": str(users_file)})
    try:
        proc.start()
    except ServerStartError as err:
        pytest.fail(str(err), pytrace=False)
    yield S3Server("iam", proc, proc.url)
    proc.stop()


def service(srv, name, access_key=None, secret_key=None, token=None):
    return boto3.client(
        name, endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=access_key or srv.access_key,
        aws_secret_access_key=secret_key or srv.secret_key,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def iam(srv):
    return service(srv, "iam")


@pytest.fixture(scope="module")
def sts(srv):
    return service(srv, "sts")


@pytest.fixture
def bkt(srv):
    s3 = srv.client()
    name = unique_name("iam")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="public/a.txt", Body=b"a")
    s3.put_object(Bucket=name, Key="private/b.txt", Body=b"b")
    yield name
    purge_bucket(s3, name)


def code(e) -> tuple[str, int]:
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def new_user(iam, name=None) -> tuple[str, str, str]:
    """A user with one access key: (name, access key, secret)."""
    name = name or unique_name("u")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key["AccessKeyId"], key["SecretAccessKey"]


def s3_as(srv, ak, sk, token=None):
    return boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token=token,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}),
    )


def refused(fn, *args, expect="AccessDenied", **kwargs):
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    assert e.value.response["Error"]["Code"] == expect, e.value.response
    return e


def test_users_and_keys_are_managed_and_listed(iam):
    name = unique_name("u")
    user = iam.create_user(UserName=name)["User"]
    assert user["UserName"] == name and user["Arn"] == f"arn:aws:iam:::user/{name}"
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name)
    assert code(e) == ("EntityAlreadyExists", 409)
    assert iam.get_user(UserName=name)["User"]["UserId"] == user["UserId"]
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="nobody-here")
    assert code(e) == ("NoSuchEntity", 404)

    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    k2 = iam.create_access_key(UserName=name)["AccessKey"]
    assert k1["Status"] == "Active" and len(k1["SecretAccessKey"]) == 40
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])

    # A user with keys is not deleted (DeleteConflict), as IAM refuses.
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert code(e) == ("DeleteConflict", 409)
    for k in (k1, k2):
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=name)
    assert code(e) == ("NoSuchEntity", 404)


def test_list_users_pages(iam):
    prefix = f"/page{unique_name('p')}/"
    names = sorted(unique_name("pg") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    seen, marker = [], None
    while True:
        args = {"PathPrefix": prefix, "MaxItems": 2}
        if marker:
            args["Marker"] = marker
        page = iam.list_users(**args)
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == names
    # The paginator boto3 offers walks the same pages.
    pages = iam.get_paginator("list_users").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2})
    assert [u["UserName"] for p in pages for u in p["Users"]] == names
    for n in names:
        iam.delete_user(UserName=n)


def test_inline_user_policy_grants_exactly_what_it_says(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    s3 = s3_as(srv, ak, sk)
    # No policy: nothing.
    refused(s3.get_object, Bucket=bkt, Key="public/a.txt")
    refused(s3.list_buckets)
    doc = policy(
        allow(["s3:GetObject"], [f"arn:aws:s3:::{bkt}/public/*"]),
        allow(["s3:ListBucket"], [f"arn:aws:s3:::{bkt}"]),
    )
    iam.put_user_policy(UserName=name, PolicyName="read-public", PolicyDocument=doc)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["read-public"]
    got = iam.get_user_policy(UserName=name, PolicyName="read-public")
    assert json.loads(got["PolicyDocument"]) == json.loads(doc) if isinstance(got["PolicyDocument"], str) \
        else got["PolicyDocument"] == json.loads(doc)
    assert s3.get_object(Bucket=bkt, Key="public/a.txt")["Body"].read() == b"a"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bkt)["Contents"]] == ["private/b.txt", "public/a.txt"]
    refused(s3.get_object, Bucket=bkt, Key="private/b.txt")
    refused(s3.put_object, Bucket=bkt, Key="public/new", Body=b"x")
    refused(s3.delete_object, Bucket=bkt, Key="public/a.txt")
    refused(s3.create_bucket, Bucket=unique_name("nope"))
    refused(s3.get_bucket_policy, Bucket=bkt)
    # What it writes is owned by the root account (IAM users act in it).
    iam.put_user_policy(UserName=name, PolicyName="write", PolicyDocument=policy(
        allow(["s3:PutObject"], [f"arn:aws:s3:::{bkt}/public/*"])))
    s3.put_object(Bucket=bkt, Key="public/new", Body=b"x")
    owner = srv.client().list_objects_v2(Bucket=bkt, Prefix="public/new", FetchOwner=True)["Contents"][0]["Owner"]
    assert owner["ID"] == srv.client().list_buckets()["Owner"]["ID"]
    # Removing the policy takes the right away at once.
    iam.delete_user_policy(UserName=name, PolicyName="read-public")
    refused(s3.get_object, Bucket=bkt, Key="public/a.txt")
    with pytest.raises(ClientError) as e:
        iam.delete_user_policy(UserName=name, PolicyName="read-public")
    assert code(e) == ("NoSuchEntity", 404)


def test_malformed_policies_are_refused(iam):
    name = unique_name("u")
    iam.create_user(UserName=name)
    for bad in ["not json", json.dumps({"Statement": []}),
                policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}),
                policy({"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"})]:
        with pytest.raises(ClientError) as e:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=bad)
        assert code(e) == ("MalformedPolicyDocument", 400), bad
        with pytest.raises(ClientError) as e:
            iam.create_policy(PolicyName=unique_name("pol"), PolicyDocument=bad)
        assert code(e) == ("MalformedPolicyDocument", 400), bad


def test_managed_and_canned_policies_attach_to_users_and_groups(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    s3 = s3_as(srv, ak, sk)
    # MinIO's canned readonly, by ARN.
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readonly")
    assert s3.get_object(Bucket=bkt, Key="private/b.txt")["Body"].read() == b"b"
    refused(s3.put_object, Bucket=bkt, Key="x", Body=b"x")
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "readonly", "PolicyArn": "arn:aws:iam:::policy/readonly"}]
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readonly")
    refused(s3.get_object, Bucket=bkt, Key="private/b.txt")

    # A managed policy through a group.
    pol_name = unique_name("pol")
    arn = iam.create_policy(PolicyName=pol_name, PolicyDocument=policy(
        allow(["s3:PutObject"], [f"arn:aws:s3:::{bkt}/uploads/*"])))["Policy"]["Arn"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == pol_name
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Action"] == ["s3:PutObject"]
    group = unique_name("g")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    refused(s3.put_object, Bucket=bkt, Key="uploads/1", Body=b"1")
    iam.add_user_to_group(GroupName=group, UserName=name)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [name]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [group]
    s3.put_object(Bucket=bkt, Key="uploads/1", Body=b"1")
    refused(s3.put_object, Bucket=bkt, Key="elsewhere", Body=b"1")
    # An attached policy is not deleted; a group with members or policies neither.
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert code(e) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName=group)
    assert code(e) == ("DeleteConflict", 409)
    # A group's inline policy, and an explicit Deny in it that beats the user's Allow.
    iam.put_group_policy(GroupName=group, PolicyName="no-uploads-2", PolicyDocument=policy(
        deny(["s3:PutObject"], [f"arn:aws:s3:::{bkt}/uploads/2"])))
    refused(s3.put_object, Bucket=bkt, Key="uploads/2", Body=b"2")
    s3.put_object(Bucket=bkt, Key="uploads/3", Body=b"3")
    iam.delete_group_policy(GroupName=group, PolicyName="no-uploads-2")
    iam.remove_user_from_group(GroupName=group, UserName=name)
    refused(s3.put_object, Bucket=bkt, Key="uploads/4", Body=b"4")
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.delete_group(GroupName=group)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=arn)
    assert code(e) == ("NoSuchEntity", 404)


def test_explicit_deny_in_identity_policy_beats_bucket_policy_allow(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    s3 = s3_as(srv, ak, sk)
    srv.client().put_bucket_policy(Bucket=bkt, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{name}"]},
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bkt}/*"}]}))
    # The bucket policy alone grants it (same account).
    assert s3.get_object(Bucket=bkt, Key="private/b.txt")["Body"].read() == b"b"
    iam.put_user_policy(UserName=name, PolicyName="deny-private", PolicyDocument=policy(
        deny(["s3:GetObject"], [f"arn:aws:s3:::{bkt}/private/*"])))
    refused(s3.get_object, Bucket=bkt, Key="private/b.txt")
    assert s3.get_object(Bucket=bkt, Key="public/a.txt")["Body"].read() == b"a"
    srv.client().delete_bucket_policy(Bucket=bkt)


def test_identity_policy_conditions_work(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    s3 = s3_as(srv, ak, sk)
    iam.put_user_policy(UserName=name, PolicyName="own-prefix", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bkt}/home/${{aws:username}}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bkt}",
         "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}},
    ))
    s3.put_object(Bucket=bkt, Key=f"home/{name}/f", Body=b"f")
    refused(s3.put_object, Bucket=bkt, Key="home/someone-else/f", Body=b"f")
    s3.list_objects_v2(Bucket=bkt, Prefix=f"home/{name}/")
    refused(s3.list_objects_v2, Bucket=bkt, Prefix="home/")


def test_inactive_and_deleted_keys_are_refused_at_once(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readwrite")
    s3 = s3_as(srv, ak, sk)
    s3.head_bucket(Bucket=bkt)
    iam.update_access_key(UserName=name, AccessKeyId=ak, Status="Inactive")
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bkt)
    assert code(e) == ("InvalidAccessKeyId", 403)
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    iam.update_access_key(UserName=name, AccessKeyId=ak, Status="Active")
    s3.list_objects_v2(Bucket=bkt)
    iam.delete_access_key(UserName=name, AccessKeyId=ak)
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bkt)
    assert code(e) == ("InvalidAccessKeyId", 403)


def test_only_allowed_identities_manage_iam(srv, iam):
    name, ak, sk = new_user(iam)
    mine = service(srv, "iam", ak, sk)
    refused(mine.create_user, UserName=unique_name("x"))
    refused(mine.list_users)
    # The users file's account has no IAM rights either.
    alt = service(srv, "iam", ALT["access_key"], ALT["secret_key"])
    refused(alt.list_users)
    # Granted iam:* on users: it may.
    iam.put_user_policy(UserName=name, PolicyName="iam-users", PolicyDocument=policy(
        allow(["iam:CreateUser", "iam:ListUsers", "iam:DeleteUser"], ["arn:aws:iam:::user/*"])))
    other = unique_name("x")
    mine.create_user(UserName=other)
    assert other in [u["UserName"] for u in mine.list_users()["Users"]]
    mine.delete_user(UserName=other)
    refused(mine.create_group, GroupName=unique_name("g"))
    # An unsigned query is refused, a wrong signature too.
    bad = service(srv, "iam", ak, "x" * 40)
    refused(bad.list_users, expect="SignatureDoesNotMatch")
    unknown = service(srv, "iam", "NOSUCHKEY123", "x" * 40)
    refused(unknown.list_users, expect="InvalidClientTokenId")


def test_unknown_action_is_refused(srv):
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = "Action=FlyToTheMoon&Version=2010-05-08"
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(srv.access_key, srv.secret_key), "iam", REGION).add_auth(req)
    r = requests.post(srv.endpoint + "/", data=body, headers=dict(req.headers), timeout=10)
    assert r.status_code == 400 and b"<Code>InvalidAction</Code>" in r.content
    r = requests.post(srv.endpoint + "/", data="Action=ListUsers&Version=2010-05-08", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403 and b"<Code>MissingAuthenticationToken</Code>" in r.content


def trust(name) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{name}"]},
        "Action": "sts:AssumeRole"}]})


def test_assume_role_gives_the_roles_rights_narrowed_by_a_session_policy(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    role = unique_name("role")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(name))["Role"]["Arn"]
    assert arn == f"arn:aws:iam:::role/{role}"
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    iam.put_role_policy(RoleName=role, PolicyName="rw", PolicyDocument=policy(
        allow(["s3:GetObject", "s3:PutObject"], [f"arn:aws:s3:::{bkt}/*"])))
    sts = service(srv, "sts", ak, sk)
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    s3 = s3_as(srv, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert s3.get_object(Bucket=bkt, Key="private/b.txt")["Body"].read() == b"b"
    s3.put_object(Bucket=bkt, Key="by-role", Body=b"r")
    refused(s3.delete_object, Bucket=bkt, Key="by-role")
    who = service(srv, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    ident = who.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts:::assumed-role/{role}/s1"

    # The session token is checked on every request: missing, or altered.
    no_token = s3_as(srv, creds["AccessKeyId"], creds["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        no_token.get_object(Bucket=bkt, Key="private/b.txt")
    assert code(e)[0] == "InvalidAccessKeyId"
    token = creds["SessionToken"]
    altered = token[:-1] + ("0" if token[-1] != "0" else "1")
    bad = s3_as(srv, creds["AccessKeyId"], creds["SecretAccessKey"], altered)
    with pytest.raises(ClientError) as e:
        bad.get_object(Bucket=bkt, Key="private/b.txt")
    assert code(e) == ("InvalidToken", 400)

    # A session policy narrows: only reads of public/.
    narrowed = sts.assume_role(RoleArn=arn, RoleSessionName="s2", Policy=policy(
        allow(["s3:GetObject"], [f"arn:aws:s3:::{bkt}/public/*"])))["Credentials"]
    s3n = s3_as(srv, narrowed["AccessKeyId"], narrowed["SecretAccessKey"], narrowed["SessionToken"])
    assert s3n.get_object(Bucket=bkt, Key="public/a.txt")["Body"].read() == b"a"
    refused(s3n.get_object, Bucket=bkt, Key="private/b.txt")
    refused(s3n.put_object, Bucket=bkt, Key="public/x", Body=b"x")

    # Someone the trust policy does not name is refused.
    other, oak, osk = new_user(iam)
    with pytest.raises(ClientError) as e:
        service(srv, "sts", oak, osk).assume_role(RoleArn=arn, RoleSessionName="s3")
    assert code(e) == ("AccessDenied", 403)
    # A role with policies is not deleted; once emptied it is, and its sessions end at once.
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert code(e) == ("DeleteConflict", 409)
    iam.delete_role_policy(RoleName=role, PolicyName="rw")
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bkt, Key="private/b.txt")
    assert code(e)[1] in (400, 403)


def test_session_token_and_caller_identity(srv, iam, bkt):
    name, ak, sk = new_user(iam)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam:::policy/readonly")
    sts = service(srv, "sts", ak, sk)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam:::user/{name}"
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    s3 = s3_as(srv, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert s3.get_object(Bucket=bkt, Key="public/a.txt")["Body"].read() == b"a"
    refused(s3.put_object, Bucket=bkt, Key="nope", Body=b"x")
    # The root user's session has root's rights.
    root_creds = service(srv, "sts").get_session_token()["Credentials"]
    root_s3 = s3_as(srv, root_creds["AccessKeyId"], root_creds["SecretAccessKey"], root_creds["SessionToken"])
    root_s3.put_object(Bucket=bkt, Key="by-root-session", Body=b"x")
    root_id = srv.client().list_buckets()["Owner"]["ID"]
    ident = service(srv, "sts").get_caller_identity()
    assert (ident["Arn"], ident["Account"]) == (f"arn:aws:iam::{root_id}:root", root_id)
    # Session credentials cannot make more sessions.
    session_sts = service(srv, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    refused(session_sts.get_session_token)


def test_aws_cli_manages_users(srv, tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": srv.access_key, "AWS_SECRET_ACCESS_KEY": srv.secret_key,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    name = unique_name("cli")

    def aws(*args):
        out = subprocess.run(["aws", "--endpoint-url", srv.endpoint, "--output", "json", *args],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    assert aws("iam", "create-user", "--user-name", name)["User"]["UserName"] == name
    assert name in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
    key = aws("iam", "create-access-key", "--user-name", name)["AccessKey"]
    aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "p", "--policy-document",
        policy(allow(["s3:ListAllMyBuckets"], ["arn:aws:s3:::*"])))
    buckets = s3_as(srv, key["AccessKeyId"], key["SecretAccessKey"]).list_buckets()
    assert "Buckets" in buckets
    assert aws("sts", "get-caller-identity")["Arn"].endswith(":root")
    aws("iam", "delete-user-policy", "--user-name", name, "--policy-name", "p")
    aws("iam", "delete-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"])
    aws("iam", "delete-user", "--user-name", name)


def test_identity_policies_never_reach_another_accounts_data_alone(srv, iam):
    """The users file's account owns its bucket: an identity policy of the root account's
    member allowing s3:* does not reach it, until that account's bucket policy also allows."""
    alt = srv.client(access_key=ALT["access_key"], secret_key=ALT["secret_key"])
    bucket = unique_name("altb")
    alt.create_bucket(Bucket=bucket)
    alt.put_object(Bucket=bucket, Key="k", Body=b"alt's")
    try:
        name, ak, sk = new_user(iam)
        iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=policy(allow("s3:*", "*")))
        s3 = s3_as(srv, ak, sk)
        refused(s3.get_object, Bucket=bucket, Key="k")
        refused(s3.put_object, Bucket=bucket, Key="k", Body=b"overwritten")
        alt.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam:::user/{name}"]},
                           "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"alt's"
        refused(s3.put_object, Bucket=bucket, Key="k", Body=b"overwritten")
        # Both sides are needed: without the identity policy the bucket policy alone is not enough.
        iam.delete_user_policy(UserName=name, PolicyName="all")
        refused(s3.get_object, Bucket=bucket, Key="k")
    finally:
        purge_bucket(alt, bucket)


def test_an_iam_account_owns_the_identities_it_makes(tmp_path):
    """A users-file user marked ``iam_account`` (RGW's account root) makes IAM users of its own:
    named by ARNs with its id, acting in its account (its buckets by identity policy alone,
    another account's not), listed to it and not to the root account."""
    acct = {"access_key": "ACCTROOTKEY", "secret_key": "acct-root-secret", "user_id": "ACCT1",
            "display_name": "acct1", "iam_account": True}
    users_file = tmp_path / "users.json"
    users_file.write_text(json.dumps({"users": [acct]}))
    (tmp_path / "srv").mkdir()
    proc = RustfsProcess(tmp_path / "srv", extra_env={"RUSTFS_USERS_FILE": str(users_file)})
    proc.start()
    try:
        srv = S3Server("acct", proc, proc.url)
        root_iam = service(srv, "iam")
        acct_iam = service(srv, "iam", acct["access_key"], acct["secret_key"])
        acct_s3 = s3_as(srv, acct["access_key"], acct["secret_key"])
        assert acct_iam.get_user()["User"]["Arn"] == "arn:aws:iam::ACCT1:root"
        user = acct_iam.create_user(UserName="worker")["User"]
        assert user["Arn"] == "arn:aws:iam::ACCT1:user/worker"
        assert [u["UserName"] for u in acct_iam.list_users()["Users"]] == ["worker"]
        assert "worker" not in [u["UserName"] for u in root_iam.list_users()["Users"]]
        key = acct_iam.create_access_key(UserName="worker")["AccessKey"]
        acct_iam.put_user_policy(UserName="worker", PolicyName="all",
                                 PolicyDocument=policy(allow("s3:*", "*")))
        worker = s3_as(srv, key["AccessKeyId"], key["SecretAccessKey"])
        ident = service(srv, "sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
        assert (ident["Arn"], ident["Account"]) == ("arn:aws:iam::ACCT1:user/worker", "ACCT1")
        # Its account's bucket by its identity policy alone; what it puts is its account's.
        acct_s3.create_bucket(Bucket="acct-bucket")
        worker.put_object(Bucket="acct-bucket", Key="k", Body=b"v")
        owner = acct_s3.list_objects_v2(Bucket="acct-bucket", FetchOwner=True)["Contents"][0]["Owner"]
        assert owner["ID"] == "ACCT1"
        # The root account's bucket: not without the root account's bucket policy.
        srv.client().create_bucket(Bucket="root-bucket")
        refused(worker.list_objects_v2, Bucket="root-bucket")
        srv.client().put_bucket_policy(Bucket="root-bucket", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::ACCT1:root"]},
                "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::root-bucket"}]}))
        worker.list_objects_v2(Bucket="root-bucket")
        # The root user administers the server: it still reaches every account's identities.
        root_iam.get_user(UserName="worker")
    finally:
        proc.stop()
