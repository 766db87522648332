"""Bucket lifecycle: the configuration API with S3's validation, the x-amz-expiration header,
and the lifecycle worker really expiring objects, versions, delete markers and uploads.

The server runs with RUSTFS_LIFECYCLE_DAY_SECONDS=2 (a lifecycle day lasts two seconds, the
worker passes every half second), so every wait is a few seconds, bounded by wait_until.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re

import pytest

from harness import (
    EMPTY_SHA256,
    RustfsProcess,
    S3Server,
    expect_error,
    purge_bucket,
    raw_request,
    sigv4_headers,
    unique_name,
    wait_until,
)

DAY = 2  # seconds in a lifecycle day for this server
WAIT = 30.0  # bound on any wait for the worker


@pytest.fixture(scope="module")
def lc_proc(tmp_path_factory):
    proc = RustfsProcess(
        tmp_path_factory.mktemp("rustfs-lifecycle"),
        extra_env={"RUSTFS_LIFECYCLE_DAY_SECONDS": str(DAY)},
    )
    proc.start()
    yield proc
    proc.stop()


def server_of(proc) -> S3Server:
    return S3Server(name="lifecycle", process=proc, endpoint=proc.url)


@pytest.fixture
def s3(lc_proc):
    return server_of(lc_proc).client()


@pytest.fixture
def bucket(s3):
    name = unique_name("lc")
    s3.create_bucket(Bucket=name)
    yield name
    purge_bucket(s3, name)


def status(proc) -> dict:
    r = raw_request(server_of(proc), "GET", "/rustfs/admin/v1/status")
    assert r.status == 200, r.body
    return json.loads(r.body)


def lifecycle_worker(proc) -> dict:
    return next(w for w in status(proc)["workers"] if w["name"] == "lifecycle")


def wait_passes(proc, n: int) -> None:
    """Waits until the lifecycle worker has started `n` more passes."""
    start = lifecycle_worker(proc)["counters"]["passes"]

    def check():
        assert lifecycle_worker(proc)["counters"]["passes"] >= start + n

    wait_until(check, WAIT)


def put_rules(s3, bucket, *rules):
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)})


def keys(s3, bucket) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def versions(s3, bucket):
    r = s3.list_object_versions(Bucket=bucket)
    return r.get("Versions", []), r.get("DeleteMarkers", [])


def expire(days=1, prefix="", rid="r1", status="Enabled", **filt):
    rule = {"ID": rid, "Status": status, "Expiration": {"Days": days}}
    rule["Filter"] = filt or {"Prefix": prefix}
    return rule


# -- configuration -------------------------------------------------------------------------


def test_get_without_configuration_and_delete(s3, bucket):
    expect_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket,
                 code="NoSuchLifecycleConfiguration", status=404)
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    put_rules(s3, bucket, expire(prefix="a/"))
    s3.delete_bucket_lifecycle(Bucket=bucket)
    expect_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket,
                 code="NoSuchLifecycleConfiguration", status=404)


def test_configuration_round_trips(s3, bucket):
    rules = [
        {"ID": "legacy", "Prefix": "old/", "Status": "Enabled", "Expiration": {"Days": 3}},
        {
            "ID": "and",
            "Status": "Disabled",
            "Filter": {"And": {"Prefix": "p/", "Tags": [{"Key": "k", "Value": "v"}],
                               "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 1000}},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 2, "NewerNoncurrentVersions": 3},
        },
        {"ID": "mpu", "Status": "Enabled", "Filter": {"Prefix": "up/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"ID": "date", "Status": "Enabled", "Filter": {"Tag": {"Key": "t", "Value": "1"}},
         "Expiration": {"Date": dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)}},
    ]
    put_rules(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["legacy", "and", "mpu", "date"]
    assert got[0]["Prefix"] == "old/" and "Filter" not in got[0]
    assert got[1]["Filter"]["And"]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got[1]["Filter"]["And"]["ObjectSizeGreaterThan"] == 10
    assert got[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 2, "NewerNoncurrentVersions": 3}
    assert got[2]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert got[3]["Expiration"]["Date"].year == 2030
    # A rule without an id gets one.
    put_rules(s3, bucket, {"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["ID"]


@pytest.mark.parametrize(
    "rules, code",
    [
        ([expire(rid="same"), expire(rid="same", prefix="b/")], "InvalidArgument"),
        ([expire(rid="x" * 256)], "InvalidArgument"),
        ([expire(days=0)], "InvalidArgument"),
        ([expire(status="enabled")], "MalformedXML"),
        ([{"ID": "none", "Status": "Enabled", "Filter": {"Prefix": "a"}}], "InvalidRequest"),
        ([{"ID": "d", "Status": "Enabled", "Filter": {},
           "Expiration": {"Date": dt.datetime(2030, 1, 1, 5, tzinfo=dt.timezone.utc)}}],
         "InvalidArgument"),
        ([{"ID": "t", "Status": "Enabled", "Filter": {},
           "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}], "InvalidStorageClass"),
        ([{"ID": "both", "Status": "Enabled", "Prefix": "a", "Filter": {"Prefix": "b"},
           "Expiration": {"Days": 1}}], "MalformedXML"),
        ([{"ID": "nc", "Status": "Enabled", "Filter": {},
           "NoncurrentVersionExpiration": {"NoncurrentDays": 0}}], "InvalidArgument"),
        ([{"ID": "tagmarker", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
           "Expiration": {"ExpiredObjectDeleteMarker": True}}], "InvalidRequest"),
    ],
    ids=["same-id", "long-id", "days-0", "status", "no-action", "date-not-midnight",
         "transition", "prefix-and-filter", "noncurrent-0", "marker-with-tag"],
)
def test_invalid_configurations(s3, bucket, rules, code):
    expect_error(put_rules, s3, bucket, *rules, code=code, status=400)
    expect_error(s3.get_bucket_lifecycle_configuration, Bucket=bucket,
                 code="NoSuchLifecycleConfiguration", status=404)


# -- x-amz-expiration ----------------------------------------------------------------------


HEADER_RE = re.compile(r'expiry-date="(.+)", rule-id="(.+)"')


def expiry_of(resp):
    h = resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration")
    if h is None:
        return None
    m = HEADER_RE.fullmatch(h)
    assert m, h
    return dt.datetime.strptime(m.group(1), "%a, %d %b %Y %H:%M:%S GMT"), m.group(2)


def test_expiration_header_on_put_head_get(s3, bucket):
    # Real days for the header (S3's calendar): creation + 30 days, rounded up to midnight UTC.
    put_rules(s3, bucket, expire(days=30, prefix="h/", rid="month"), expire(days=60, rid="later"))
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    put = s3.put_object(Bucket=bucket, Key="h/obj", Body=b"x")
    at, rid = expiry_of(put)
    assert rid == "month"
    assert at.hour == at.minute == at.second == 0
    assert dt.timedelta(days=30) <= at - now <= dt.timedelta(days=31, minutes=1)
    assert expiry_of(s3.head_object(Bucket=bucket, Key="h/obj")) == (at, rid)
    assert expiry_of(s3.get_object(Bucket=bucket, Key="h/obj")) == (at, rid)
    # No rule selects it: no header.
    put_rules(s3, bucket, expire(days=30, prefix="other/"))
    assert expiry_of(s3.head_object(Bucket=bucket, Key="h/obj")) is None


def test_expiration_header_on_complete_multipart(s3, bucket):
    put_rules(s3, bucket, expire(days=5, rid="mp"))
    up = s3.create_multipart_upload(Bucket=bucket, Key="m")
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=up["UploadId"], PartNumber=1, Body=b"x")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert expiry_of(done)[1] == "mp"


# -- the worker ----------------------------------------------------------------------------


def test_expiration_by_prefix_unversioned(lc_proc, s3, bucket):
    for k in ["exp/a", "exp/b", "keep/c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"data")
    put_rules(s3, bucket, expire(days=1, prefix="exp/"))

    def check():
        assert keys(s3, bucket) == ["keep/c"]

    wait_until(check, WAIT)
    vs, markers = versions(s3, bucket)
    assert [v["Key"] for v in vs] == ["keep/c"] and markers == []


def test_expiration_by_tags_and_size(lc_proc, s3, bucket):
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"x" * 100, Tagging="k=v&o=p")
    s3.put_object(Bucket=bucket, Key="other-tag", Body=b"x" * 100, Tagging="k=w")
    s3.put_object(Bucket=bucket, Key="big", Body=b"x" * 5000)
    s3.put_object(Bucket=bucket, Key="small", Body=b"x" * 10)
    put_rules(
        s3, bucket,
        expire(rid="tag", Tag={"Key": "k", "Value": "v"}),
        expire(rid="size", And={"Prefix": "", "ObjectSizeGreaterThan": 1000,
                                "ObjectSizeLessThan": 10000}),
    )

    def check():
        assert keys(s3, bucket) == ["other-tag", "small"]

    wait_until(check, WAIT)


def test_disabled_rules_do_nothing(lc_proc, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    put_rules(s3, bucket, expire(days=1, status="Disabled"))
    s3.put_object(Bucket=bucket, Key="b", Body=b"x")
    # Past a day, several whole passes later, both are still there.
    wait_passes(lc_proc, 6)
    assert keys(s3, bucket) == ["a", "b"]


def test_versioned_current_expiration_adds_delete_marker(lc_proc, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    put_rules(s3, bucket, expire(days=1))

    def check():
        vs, markers = versions(s3, bucket)
        assert [x["VersionId"] for x in vs] == [v]
        assert len(markers) == 1 and markers[0]["IsLatest"]

    wait_until(check, WAIT)
    assert keys(s3, bucket) == []


def test_noncurrent_expiration_keeps_newer_versions(lc_proc, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=f"v{i}".encode())["VersionId"]
           for i in range(4)]
    put_rules(s3, bucket, {"ID": "nc", "Status": "Enabled", "Filter": {},
                           "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                                           "NewerNoncurrentVersions": 1}})

    def check():
        vs, _ = versions(s3, bucket)
        assert [x["VersionId"] for x in vs] == [ids[3], ids[2]]

    wait_until(check, WAIT)


def test_object_lock_keeps_versions_lifecycle_would_remove(lc_proc, s3):
    """Lifecycle never removes a version under retention or legal hold (it never bypasses
    GOVERNANCE); it still adds delete markers over locked current versions, as S3 does."""
    bucket = unique_name("lclock")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    old = {}
    old["held"] = s3.put_object(Bucket=bucket, Key="held", Body=b"1", ObjectLockLegalHoldStatus="ON")["VersionId"]
    old["governed"] = s3.put_object(Bucket=bucket, Key="governed", Body=b"1", ObjectLockMode="GOVERNANCE",
                                    ObjectLockRetainUntilDate=until)["VersionId"]
    old["free"] = s3.put_object(Bucket=bucket, Key="free", Body=b"1")["VersionId"]
    for k in old:
        s3.put_object(Bucket=bucket, Key=k, Body=b"2")
    put_rules(s3, bucket, {"ID": "nc", "Status": "Enabled", "Filter": {},
                           "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
    try:
        def free_removed():
            vs, _ = versions(s3, bucket)
            assert old["free"] not in [x["VersionId"] for x in vs]

        wait_until(free_removed, WAIT)
        wait_passes(lc_proc, 2)
        vs, _ = versions(s3, bucket)
        kept = [x["VersionId"] for x in vs]
        assert old["held"] in kept and old["governed"] in kept
        assert lifecycle_worker(lc_proc)["counters"]["kept_locked"] >= 2
    finally:
        s3.put_object_legal_hold(Bucket=bucket, Key="held", VersionId=old["held"], LegalHold={"Status": "OFF"})
        vs, markers = versions(s3, bucket)
        for x in vs + markers:
            s3.delete_object(Bucket=bucket, Key=x["Key"], VersionId=x["VersionId"],
                             BypassGovernanceRetention=True)
        s3.delete_bucket(Bucket=bucket)


def test_expired_object_delete_marker_is_removed(lc_proc, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone")
    s3.delete_object(Bucket=bucket, Key="kept")
    put_rules(s3, bucket, {"ID": "m", "Status": "Enabled", "Filter": {"Prefix": "gone"},
                           "Expiration": {"ExpiredObjectDeleteMarker": True},
                           "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})

    def check():
        vs, markers = versions(s3, bucket)
        assert [x["Key"] for x in vs] == ["kept"]
        assert [x["Key"] for x in markers] == ["kept"]

    wait_until(check, WAIT)


def test_incomplete_uploads_are_aborted(lc_proc, s3, bucket):
    old = s3.create_multipart_upload(Bucket=bucket, Key="up/a")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="up/a", UploadId=old, PartNumber=1, Body=b"x")
    s3.create_multipart_upload(Bucket=bucket, Key="other/b")
    put_rules(s3, bucket, {"ID": "mpu", "Status": "Enabled", "Filter": {"Prefix": "up/"},
                           "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})

    def check():
        ups = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        assert [u["Key"] for u in ups] == ["other/b"]

    wait_until(check, WAIT)

    # The status shows a step's counters once the step is over (the abort is seen earlier).
    def counted():
        assert lifecycle_worker(lc_proc)["counters"]["uploads_aborted"] >= 1

    wait_until(counted, WAIT)


def test_workers_in_admin_status(lc_proc):
    workers = {w["name"]: w for w in status(lc_proc)["workers"]}
    assert {"lifecycle", "maintenance", "orphan-sweep"} <= set(workers)
    lc = workers["lifecycle"]
    assert lc["state"] in ("busy", "idle")
    assert lc["rate"] and lc["rate"] > 0
    assert {"passes", "examined", "expired"} <= set(lc["counters"])
    wait_until(lambda: _assert_done(lc_proc), WAIT)


def _assert_done(proc):
    sweep = next(w for w in status(proc)["workers"] if w["name"] == "orphan-sweep")
    assert sweep["state"] == "done"


def test_expiry_goes_on_after_a_restart(tmp_path):
    """A pass stopped half way (the server stopped) goes on after the restart: the rules are
    in the bucket record, the pass's cursor in the metadata store."""
    slow = {"RUSTFS_LIFECYCLE_DAY_SECONDS": "1", "RUSTFS_LIFECYCLE_RATE": "10"}
    proc = RustfsProcess(tmp_path, extra_env={"RUSTFS_LIFECYCLE_DAY_SECONDS": "3600"})
    proc.start()
    try:
        s3 = server_of(proc).client()
        s3.create_bucket(Bucket="restart")
        for i in range(40):
            s3.put_object(Bucket="restart", Key=f"k{i:02}", Body=b"x")
        put_rules(s3, "restart", expire(days=1))
    finally:
        proc.stop()
    # A day is now one second (everything is due) and the worker slow: stop it half way.
    proc = RustfsProcess(tmp_path, extra_env=slow)
    proc.start()
    try:
        def some_expired():
            n = lifecycle_worker(proc)["counters"]["expired"]
            assert n >= 5
            return n

        wait_until(some_expired, WAIT)
    finally:
        proc.stop()
    proc = RustfsProcess(tmp_path, extra_env={"RUSTFS_LIFECYCLE_DAY_SECONDS": "1"})
    proc.start()
    try:
        s3 = server_of(proc).client()
        assert s3.get_bucket_lifecycle_configuration(Bucket="restart")["Rules"][0]["ID"] == "r1"

        def check():
            assert keys(s3, "restart") == []

        wait_until(check, WAIT)

        # This server expired what the first left, and nothing twice (the status shows a
        # step's counters once the step is over).
        def counted():
            assert 1 <= lifecycle_worker(proc)["counters"]["expired"] <= 40 - 5

        wait_until(counted, WAIT)
    finally:
        proc.stop()


def test_cluster_runs_each_bucket_on_one_node(tmp_path):
    """Two nodes on one database: each bucket's pass is run by the node holding its lease, so
    every version is examined once over the whole cluster."""
    from cluster_harness import Cluster

    env = {"RUSTFS_LIFECYCLE_DAY_SECONDS": "1", "RUSTFS_LIFECYCLE_RATE": "20"}
    cluster = Cluster(tmp_path, nodes=2, volumes=1, extra_env=env).start()
    try:
        s3 = cluster.client(0)
        names = [f"lc-cluster-{i}" for i in range(3)]
        for b in names:
            s3.create_bucket(Bucket=b)
            for k in range(10):
                s3.put_object(Bucket=b, Key=f"k{k}", Body=b"x")
        # Due at once (a date past), so each version is examined by exactly one pass.
        past = dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc)
        for b in names:
            put_rules(s3, b, {"ID": "past", "Status": "Enabled", "Filter": {},
                              "Expiration": {"Date": past}})

        def check():
            for b in names:
                assert keys(s3, b) == []

        wait_until(check, 60.0)

        def counters():
            out = []
            for i in range(2):
                node = cluster.node(i)
                host = f"{node.host}:{node.port}"
                path = "/rustfs/admin/v1/status"
                headers = sigv4_headers("GET", host, path, [], {}, EMPTY_SHA256,
                                        node.access_key, node.secret_key)
                conn = http.client.HTTPConnection(node.host, node.port, timeout=30)
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                finally:
                    conn.close()
                assert resp.status == 200, body
                w = next(w for w in json.loads(body)["workers"] if w["name"] == "lifecycle")
                out.append(w["counters"])
            return out

        c = counters()
        assert sum(x["expired"] for x in c) == 30
        assert sum(x["examined"] for x in c) == 30, c
    finally:
        cluster.stop()


def test_stale_uploads_are_aborted_in_every_bucket(tmp_path):
    """RUSTFS_STALE_UPLOAD_EXPIRY: incomplete uploads older than that go, without a rule."""
    proc = RustfsProcess(tmp_path, extra_env={"RUSTFS_STALE_UPLOAD_EXPIRY": "2"})
    proc.start()
    try:
        s3 = server_of(proc).client()
        s3.create_bucket(Bucket="stale")
        up = s3.create_multipart_upload(Bucket="stale", Key="k")["UploadId"]
        s3.upload_part(Bucket="stale", Key="k", UploadId=up, PartNumber=1, Body=b"x")

        def gone():
            assert s3.list_multipart_uploads(Bucket="stale").get("Uploads", []) == []

        wait_until(gone, WAIT)

        def counted():
            w = next(w for w in status(proc)["workers"] if w["name"] == "stale-uploads")
            assert w["counters"]["aborted"] == 1

        wait_until(counted, WAIT)
    finally:
        proc.stop()
