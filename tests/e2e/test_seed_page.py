"""The Python SDK page (shared/seed/python-sdk.md), every code block run as written.

Only the endpoint and keys differ from the page (and, for the virtual-host
flavours, ``s3={'addressing_style': 'virtual'}`` is added to the Config).
Each test runs against every server flavour: http, https, virtual, https-virtual.
Files the page reads and writes ('hello.txt', 'largefile.bin', ...) live in a
temporary working directory.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.client import Config

from conftest import FLAVOURS
from harness import MiB, md5_hex, multipart_etag, purge_bucket, xml_error_code

HELLO = b"Hello from the RustFS seed page test.\n" * 3
SEED_BUCKETS = ("my-bucket", "test-bucket")


class Seed:
    def __init__(self, server):
        self.server = server
        self.endpoint = server.endpoint
        # The only addition to the page's Config, for the virtual-host flavours.
        self.extra = {"s3": {"addressing_style": "virtual"}} if server.addressing_style == "virtual" else {}
        self.admin = server.client()

    def connect(self):
        # --- page §3 "Connect to RustFS" --------------------------------
        s3 = boto3.client(
            's3',
            endpoint_url=self.endpoint,
            aws_access_key_id='rustfsadmin',
            aws_secret_access_key='rustfssecret',
            config=Config(signature_version='s3v4', **self.extra),
            region_name='us-east-1'
        )
        return s3

    def get(self, url):
        return requests.get(url, verify=self.server.verify, timeout=30)


@pytest.fixture(params=[*FLAVOURS, "cluster"])
def seed(request, tmp_path, monkeypatch):
    """Each flavour of server, and (on PostgreSQL) node 1 of a four-node cluster, whose
    results are then read back through node 3."""
    cluster = None
    if request.param == "cluster":
        cluster = request.getfixturevalue("cluster_nodes")
        server = cluster.node(0)
    else:
        server = request.getfixturevalue(FLAVOURS[request.param])
    monkeypatch.chdir(tmp_path)
    Path("hello.txt").write_bytes(HELLO)
    env = Seed(server)
    for name in SEED_BUCKETS:  # https and https-virtual share one process
        purge_bucket(env.admin, name)
    yield env
    if cluster is not None:
        same_through(env.admin, cluster.client(2))
    for name in SEED_BUCKETS:
        purge_bucket(env.admin, name)


def same_through(writer, reader) -> None:
    """What the page left is the same through another node: buckets, listings, bytes."""
    names = {b["Name"] for b in writer.list_buckets()["Buckets"]}
    assert names == {b["Name"] for b in reader.list_buckets()["Buckets"]}
    for bucket in names & set(SEED_BUCKETS):
        def listing(s3):
            out = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                out += [(o["Key"], o["ETag"], o["Size"]) for o in page.get("Contents", [])]
            return out
        objects = listing(writer)
        assert objects == listing(reader), bucket
        for key, _, size in objects:
            got = reader.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert len(got) == size
            assert md5_hex(got) == md5_hex(writer.get_object(Bucket=bucket, Key=key)["Body"].read()), key


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def record_requests(s3):
    """Capture (method, url, headers) of every request the client sends."""
    sent = []

    def hook(request, **_):
        sent.append((request.method, request.url, dict(request.headers)))

    s3.meta.events.register("before-send.s3", hook)
    return sent


def create_bucket_block(s3, bucket_name):
    # --- page §4.1 "Create Bucket" (bucket_name assigned by the caller) --
    try:
        s3.create_bucket(Bucket=bucket_name)
        print(f'Bucket {bucket_name} created.')
    except s3.exceptions.BucketAlreadyOwnedByYou:
        print(f'Bucket {bucket_name} already exists.')


def test_connect_and_create_bucket(seed, capsys):
    s3 = seed.connect()
    sent = record_requests(s3)
    bucket_name = 'my-bucket'

    create_bucket_block(s3, bucket_name)
    assert capsys.readouterr().out == "Bucket my-bucket created.\n"

    # The flavour really is what it claims to be.
    method, url, _ = sent[-1]
    parts = urlsplit(url)
    assert method == "PUT"
    if seed.server.addressing_style == "virtual":
        assert parts.hostname == f"my-bucket.{urlsplit(seed.endpoint).hostname}", url
        assert parts.path in ("", "/")
    else:
        assert parts.path == "/my-bucket", url

    # Running the block again takes the "already exists" branch.
    create_bucket_block(s3, bucket_name)
    assert capsys.readouterr().out == "Bucket my-bucket already exists.\n"
    with pytest.raises(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket_name)

    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names.count("my-bucket") == 1


def test_upload_download_list_delete(seed, capsys):
    s3 = seed.connect()
    sent = record_requests(s3)
    bucket_name = 'my-bucket'
    create_bucket_block(s3, bucket_name)

    # --- page §4.2 "Upload File" -----------------------------------------
    s3.upload_file('hello.txt', bucket_name, 'hello.txt')
    print('File uploaded.')

    put = [h for m, u, h in sent if m == "PUT" and urlsplit(u).path.endswith("/hello.txt")]
    assert put, sent
    if seed.server.is_https:
        # botocore streams the body aws-chunked with a CRC32 trailer over TLS.
        assert put[-1]["X-Amz-Content-SHA256"] in (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                                   "STREAMING-UNSIGNED-PAYLOAD-TRAILER")

    # --- page §4.3 "Download File" ---------------------------------------
    s3.download_file(bucket_name, 'hello.txt', 'hello-downloaded.txt')
    print('File downloaded.')
    assert Path('hello-downloaded.txt').read_bytes() == HELLO

    # --- page §4.4 "List Objects" ----------------------------------------
    response = s3.list_objects_v2(Bucket=bucket_name)
    for obj in response.get('Contents', []):
        print(f"- {obj['Key']} ({obj['Size']} bytes)")

    # --- page §4.5 "Delete Object and Bucket" ----------------------------
    s3.delete_object(Bucket=bucket_name, Key='hello.txt')
    print('Object deleted.')

    s3.delete_bucket(Bucket=bucket_name)
    print('Bucket deleted.')

    assert capsys.readouterr().out == (
        "Bucket my-bucket created.\n"
        "File uploaded.\n"
        "File downloaded.\n"
        f"- hello.txt ({len(HELLO)} bytes)\n"
        "Object deleted.\n"
        "Bucket deleted.\n"
    )
    assert "my-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket=bucket_name)


def test_presigned_get(seed):
    s3 = seed.connect()
    bucket_name = 'my-bucket'
    create_bucket_block(s3, bucket_name)
    s3.upload_file('hello.txt', bucket_name, 'hello.txt')

    # --- page §5.1.1 "Download Link (GET)" -------------------------------
    url = s3.generate_presigned_url(
        ClientMethod='get_object',
        Params={'Bucket': bucket_name, 'Key': 'hello.txt'},
        ExpiresIn=600  # 10 minutes validity
    )

    print('Presigned GET URL:', url)

    assert url.startswith(seed.endpoint.split("://")[0] + "://")
    resp = seed.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.content == HELLO
    assert resp.headers["ETag"] == f'"{md5_hex(HELLO)}"'
    assert resp.headers.get("x-amz-request-id")

    # A tampered signature is refused.
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    sig = query["X-Amz-Signature"]
    query["X-Amz-Signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    bad = urlunsplit(parts._replace(query=urlencode(query)))
    resp = seed.get(bad)
    assert resp.status_code == 403
    assert xml_error_code(resp.content) == "SignatureDoesNotMatch"

    # The signature does not carry over to another key.
    s3.put_object(Bucket=bucket_name, Key="other.txt", Body=b"secret")
    other = urlunsplit(parts._replace(path=parts.path.replace("hello.txt", "other.txt")))
    resp = seed.get(other)
    assert resp.status_code == 403
    assert xml_error_code(resp.content) == "SignatureDoesNotMatch"
    assert b"secret" not in resp.content


def test_presigned_get_expires(seed):
    s3 = seed.connect()
    s3.create_bucket(Bucket="my-bucket")
    s3.put_object(Bucket="my-bucket", Key="hello.txt", Body=HELLO)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "my-bucket", "Key": "hello.txt"}, ExpiresIn=1
    )
    time.sleep(2.2)  # expiry is wall-clock based; nothing to poll for
    resp = seed.get(url)
    assert resp.status_code == 403, resp.text
    assert xml_error_code(resp.content) == "AccessDenied"
    assert HELLO not in resp.content


def test_presigned_put_with_curl(seed):
    s3 = seed.connect()
    bucket_name = 'my-bucket'
    create_bucket_block(s3, bucket_name)

    # --- page §5.1.2 "Upload Link (PUT)" ---------------------------------
    url = s3.generate_presigned_url(
        ClientMethod='put_object',
        Params={'Bucket': bucket_name, 'Key': 'upload-by-url.txt'},
        ExpiresIn=600
    )

    print('Presigned PUT URL:', url)

    # curl -X PUT --upload-file hello.txt "http://..."
    cmd = ["curl", "-sS", "--fail-with-body", "-o", "curl-out.txt", "-w", "%{http_code}",
           "-X", "PUT", "--upload-file", "hello.txt", url]
    host = urlsplit(url)
    if seed.server.is_https:
        cmd[1:1] = ["--cacert", str(seed.server.ca_bundle)]
    if not is_ip(host.hostname):  # *.s3.rustfs.test is not in DNS
        cmd[1:1] = ["--resolve", f"{host.hostname}:{host.port}:127.0.0.1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout == "200", (
        done.stdout, done.stderr, Path("curl-out.txt").read_text(errors="replace"))

    obj = s3.get_object(Bucket=bucket_name, Key='upload-by-url.txt')
    assert obj["Body"].read() == HELLO
    assert obj["ETag"] == f'"{md5_hex(HELLO)}"'


def test_multipart_upload_block(seed, capsys):
    s3 = seed.connect()
    bucket_name = 'my-bucket'
    create_bucket_block(s3, bucket_name)
    content = os.urandom(12 * MiB)
    Path("largefile.bin").write_bytes(content)

    # --- page §5.2 "Multipart Upload" (verbatim; `import os` is at the top)
    file_path = 'largefile.bin'
    key = 'largefile.bin'
    part_size = 5 * 1024 * 1024  # 5 MB

    # 1. Start upload
    response = s3.create_multipart_upload(Bucket=bucket_name, Key=key)
    upload_id = response['UploadId']
    parts = []

    try:
        with open(file_path, 'rb') as f:
            part_number = 1
            while True:
                data = f.read(part_size)
                if not data:
                    break

                part = s3.upload_part(
                    Bucket=bucket_name,
                    Key=key,
                    PartNumber=part_number,
                    UploadId=upload_id,
                    Body=data
                )

                parts.append({'ETag': part['ETag'], 'PartNumber': part_number})
                print(f'Uploaded part {part_number}')
                part_number += 1

        # 2. Complete upload
        s3.complete_multipart_upload(
            Bucket=bucket_name,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={'Parts': parts}
        )
        print('Multipart upload completed.')

    except Exception as e:
        # Abort upload on error
        s3.abort_multipart_upload(Bucket=bucket_name, Key=key, UploadId=upload_id)
        print(f'Upload aborted: {e}')
    # ----------------------------------------------------------------------

    out = capsys.readouterr().out
    assert out == (
        "Bucket my-bucket created.\n"
        "Uploaded part 1\nUploaded part 2\nUploaded part 3\n"
        "Multipart upload completed.\n"
    ), out
    chunks = [content[:5 * MiB], content[5 * MiB:10 * MiB], content[10 * MiB:]]
    assert [p["ETag"] for p in parts] == [f'"{md5_hex(c)}"' for c in chunks]

    head = s3.head_object(Bucket=bucket_name, Key=key)
    assert head["ContentLength"] == 12 * MiB
    assert head["ETag"] == multipart_etag(chunks)
    assert head["ETag"].endswith('-3"')
    assert s3.get_object(Bucket=bucket_name, Key=key)["Body"].read() == content
    assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []


def test_error_handling_block(seed, capsys):
    s3 = seed.connect()
    s3.create_bucket(Bucket="my-bucket")
    from botocore.exceptions import ClientError

    def block(bucket_name):
        # --- page §6.1 "Common Exception Types" --------------------------
        try:
            s3.head_object(Bucket=bucket_name, Key='nonexistent.txt')
        except ClientError as e:
            error_code = e.response['Error']['Code']
            if error_code == '404':
                print('Object not found')
            elif error_code == 'NoSuchBucket':
                print('Bucket not found')
            else:
                print(f'Error: {error_code}')

    block("my-bucket")
    assert capsys.readouterr().out == "Object not found\n"

    # HEAD has no body, so a missing bucket is also a bare '404'.
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket="no-such-bucket-e2e", Key="nonexistent.txt")
    assert info.value.response["Error"]["Code"] == "404"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    block("no-such-bucket-e2e")
    assert capsys.readouterr().out == "Object not found\n"
    # ...while a GET names the missing thing.
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="no-such-bucket-e2e", Key="nonexistent.txt")
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="my-bucket", Key="nonexistent.txt")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"


def test_connection_issues_block(seed, capsys):
    s3 = seed.connect()
    s3.create_bucket(Bucket="my-bucket")
    response = None
    # --- page §6.2 "Connection Issues" -----------------------------------
    import socket

    try:
        response = s3.list_buckets()
    except socket.timeout:
        print('Connection timeout')
    except ConnectionError:
        print('Connection failed')
    # ----------------------------------------------------------------------
    assert capsys.readouterr().out == ""
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "my-bucket" in [b["Name"] for b in response["Buckets"]]


def test_retry_config_block(seed):
    # --- page §7 "Configure retry policy" --------------------------------
    from botocore.config import Config

    config = Config(
        retries={'max_attempts': 3, 'mode': 'adaptive'},
        max_pool_connections=50
    )

    s3 = boto3.client('s3', config=config.merge(Config(**seed.extra)),
                      endpoint_url=seed.endpoint, aws_access_key_id='rustfsadmin',
                      aws_secret_access_key='rustfssecret', region_name='us-east-1')
    # ----------------------------------------------------------------------
    s3.create_bucket(Bucket="my-bucket")
    bodies = {f"concurrent/{i:02d}": os.urandom(1000 + i) for i in range(24)}
    with ThreadPoolExecutor(max_workers=24) as pool:
        puts = list(pool.map(lambda kv: s3.put_object(Bucket="my-bucket", Key=kv[0], Body=kv[1]),
                             bodies.items()))
        gets = list(pool.map(lambda k: s3.get_object(Bucket="my-bucket", Key=k)["Body"].read(),
                             bodies))
    assert [p["ETag"] for p in puts] == [f'"{md5_hex(b)}"' for b in bodies.values()]
    assert gets == list(bodies.values())
    listed = s3.list_objects_v2(Bucket="my-bucket", Prefix="concurrent/")
    assert [o["Key"] for o in listed["Contents"]] == sorted(bodies)


def test_complete_example(seed, capsys):
    endpoint, extra = seed.endpoint, seed.extra
    # --- page §8 "Complete Example" (endpoint replaced) ------------------
    from botocore.exceptions import ClientError

    def main():
        # Initialize client
        s3 = boto3.client(
            's3',
            endpoint_url=endpoint,
            aws_access_key_id='rustfsadmin',
            aws_secret_access_key='rustfssecret',
            config=Config(signature_version='s3v4', **extra),
            region_name='us-east-1'
        )

        bucket_name = 'test-bucket'

        try:
            # Create bucket
            s3.create_bucket(Bucket=bucket_name)
            print(f'Created bucket: {bucket_name}')

            # Upload file
            with open('test.txt', 'w') as f:
                f.write('Hello RustFS!')

            s3.upload_file('test.txt', bucket_name, 'test.txt')
            print('File uploaded successfully')

            # List objects
            response = s3.list_objects_v2(Bucket=bucket_name)
            print('Objects in bucket:')
            for obj in response.get('Contents', []):
                print(f"  - {obj['Key']}")

            # Generate presigned URL
            url = s3.generate_presigned_url(
                'get_object',
                Params={'Bucket': bucket_name, 'Key': 'test.txt'},
                ExpiresIn=3600
            )
            print(f'Presigned URL: {url}')

        except ClientError as e:
            print(f'Error: {e}')

    main()
    # ----------------------------------------------------------------------
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "Created bucket: test-bucket",
        "File uploaded successfully",
        "Objects in bucket:",
        "  - test.txt",
    ], lines
    assert len(lines) == 5 and lines[4].startswith("Presigned URL: "), lines
    resp = seed.get(lines[4][len("Presigned URL: "):])
    assert resp.status_code == 200, resp.text
    assert resp.content == b"Hello RustFS!"
