#!/usr/bin/env bash
# Runs the public S3 conformance suite (ceph/s3-tests) against a fresh RustFS.
#
#   scripts/s3-tests.sh S3TESTS_DIR [PYTEST_ARGS...]
#
# S3TESTS_DIR is a work tree of https://github.com/ceph/s3-tests (we measured commit 8f0ae7b).
# The script starts target/release/rustfs (built if missing) on a free loopback port with
# temporary volumes and a users file holding the suite's alt and tenant users, writes the
# suite's s3tests.conf to match (user ids and display names as the server reports them), gives
# the IAM tests' users the IAM rights RGW's admin caps give them, runs test_s3.py,
# test_headers.py, test_iam.py and test_sts.py with pytest, and prints passed/failed/errored
# per feature area (scripts/s3-tests-report.py). Extra arguments go to pytest, e.g.
# `-k multipart`.
#
# Environment:
#   S3TESTS_TIMEOUT   per-test timeout in seconds (default 60)
#   S3TESTS_OUT       directory for junit.xml, the failure list and the server log
#                     (default: a temporary directory that is kept and printed)
#   RUSTFS_BIN        the server binary (default target/release/rustfs)
#   S3TESTS_LC_DAY_SECONDS  seconds in a lifecycle day for the server and the suite's
#                     lc_debug_interval (default 4)
#   S3TESTS_FILES     the suite's test files to run (default: test_s3.py, test_headers.py,
#                     test_iam.py and test_sts.py)
#
# Tests marked fails_on_aws are out of scope; tests of features RustFS does not serve at all
# (OIDC/web identity, SNS, S3 Select, lifecycle transitions, logging, website, storage
# classes) are deselected by marker; everything else runs. Server-side encryption runs with two
# KMS keys (the suite's kms_keyid and kms_keyid2) and SSE-C allowed over HTTP. The lifecycle
# expiration tests, marked fails_on_aws only because AWS has no debug clock, run: the server
# gets RUSTFS_LIFECYCLE_DAY_SECONDS and the suite the same lc_debug_interval.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || ! -d "$1/s3tests/functional" ]]; then
    echo "usage: $0 S3TESTS_DIR [PYTEST_ARGS...]  (S3TESTS_DIR: a ceph/s3-tests work tree)" >&2
    exit 2
fi
suite="$(cd "$1" && pwd)"
shift

for mod in pytest munch isodate pytz httplib2 dateutil; do
    if ! python3 -c "import $mod" 2>/dev/null; then
        echo "missing Python module '$mod': pip install --user pytest munch isodate pytz httplib2 python-dateutil" >&2
        exit 2
    fi
done

bin="${RUSTFS_BIN:-$repo/target/release/rustfs}"
if [[ ! -x "$bin" ]]; then
    echo "building $bin" >&2
    (cd "$repo" && cargo build --release -p rustfs)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/rustfs-s3tests.XXXXXX")"
out="${S3TESTS_OUT:-$work/out}"
mkdir -p "$out" "$work/vol1"

# The suite's users: main (the root key pair) and alt/tenant from the users file. The ids and
# display names are the server's canonical ids; the suite compares them with ACL/owner XML.
main_ak=0555b35654ad1656d804 main_sk='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='
main_id=testid main_name='M. Tester' main_email=tester@ceph.com
alt_ak=NOPQRSTUVWXYZABCDEFG alt_sk=nopqrstuvwxyzabcdefghijklmnabcdefghijklm
alt_id=56789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234
alt_name=john.doe alt_email=john.doe@example.com
ten_ak=HIJKLMNOPQRSTUVWXYZA ten_sk=opqrstuvwxyzabcdefghijklmnopqrstuvwxyzab
ten_id='testx$9876543210abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
ten_name='testx$tenanteduser' ten_email=tenanteduser@example.com
# The IAM tests' users: [iam] (RGW gives it user-policy caps; here the root user gives it an
# IAM policy) and the two account roots of [iam root] and [iam alt root].
iam_ak=ABCDEFGHIJKLMNOPQRST iam_sk=abcdefghijklmnopqrstuvwxyzabcdefghijklmn
iam_id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
iam_name=youruseridhere iam_email=s3@example.com
root1_ak=AAAAAAAAAAAAAAAAAAaa root1_sk=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
root1_id=RGW11111111111111111 root1_email=account1@ceph.com
root2_ak=BBBBBBBBBBBBBBBBBBbb root2_sk=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
root2_id=RGW22222222222222222 root2_email=account2@ceph.com

# The suite's SSE-KMS key ids ([s3 main] kms_keyid, kms_keyid2) as keys of the built-in KMS,
# fresh for each run. The suite runs over plain HTTP and sends SSE-C keys: the server is told
# to accept them there (RUSTFS_SSE_C_ALLOW_INSECURE, as RGW's rgw_crypt_require_ssl=false).
kms_keys="testkey-1:$(head -c 32 /dev/urandom | base64),testkey-2:$(head -c 32 /dev/urandom | base64)"

cat >"$work/users.json" <<EOF
{"users": [
  {"access_key": "$alt_ak", "secret_key": "$alt_sk", "user_id": "$alt_id",
   "display_name": "$alt_name", "email": "$alt_email"},
  {"access_key": "$ten_ak", "secret_key": "$ten_sk", "user_id": "$ten_id",
   "display_name": "$ten_name", "email": "$ten_email"},
  {"access_key": "$iam_ak", "secret_key": "$iam_sk", "user_id": "$iam_id",
   "display_name": "$iam_name", "email": "$iam_email"},
  {"access_key": "$root1_ak", "secret_key": "$root1_sk", "user_id": "$root1_id",
   "display_name": "$root1_id", "email": "$root1_email", "iam_account": true},
  {"access_key": "$root2_ak", "secret_key": "$root2_sk", "user_id": "$root2_id",
   "display_name": "$root2_id", "email": "$root2_email", "iam_account": true}
]}
EOF

server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # Keep only the results: all of the work directory when they live elsewhere.
    if [[ "$out" == "$work/"* ]]; then
        rm -rf "$work/vol1"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

log="$out/rustfs.log"
# A lifecycle day lasts this many seconds for the server and for the suite's waits.
lc_day="${S3TESTS_LC_DAY_SECONDS:-4}"
env -u RUST_LOG \
    RUSTFS_LIFECYCLE_DAY_SECONDS="$lc_day" \
    RUSTFS_ACCESS_KEY="$main_ak" RUSTFS_SECRET_KEY="$main_sk" \
    RUSTFS_ROOT_USER_ID="$main_id" RUSTFS_ROOT_DISPLAY_NAME="$main_name" \
    RUSTFS_ROOT_EMAIL="$main_email" \
    RUSTFS_USERS_FILE="$work/users.json" RUSTFS_REGION=us-east-1 \
    RUSTFS_KMS_SECRET_KEYS="$kms_keys" RUSTFS_SSE_C_ALLOW_INSECURE=true \
    "$bin" server "$work/vol1" --address 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!

url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/.*serving S3 on \(http:\/\/[0-9.]*:[0-9]*\).*/\1/p' "$log" | head -n1)"
    [[ -n "$url" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "rustfs did not start:" >&2
    cat "$log" >&2
    exit 1
fi
port="${url##*:}"
echo "rustfs $url (pid $server_pid; log $log)"

# What RGW's admin caps give these users, the root user gives as IAM policies.
python3 - "$url" "$main_ak" "$main_sk" "$iam_ak" "$root1_ak" "$root2_ak" <<'PY'
import json, sys
import boto3
url, ak, sk, *users = sys.argv[1:]
iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id=ak, aws_secret_access_key=sk)
doc = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}]})
for user in users:
    iam.put_user_policy(UserName=user, PolicyName="iam-admin", PolicyDocument=doc)
PY

conf="$work/s3tests.conf"
cat >"$conf" <<EOF
[DEFAULT]
host = 127.0.0.1
port = $port
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

[s3 main]
lc_debug_interval = $lc_day
display_name = $main_name
user_id = $main_id
email = $main_email
api_name = default
access_key = $main_ak
secret_key = $main_sk
kms_keyid = testkey-1
kms_keyid2 = testkey-2

[s3 alt]
display_name = $alt_name
email = $alt_email
user_id = $alt_id
access_key = $alt_ak
secret_key = $alt_sk

[s3 tenant]
display_name = $ten_name
user_id = $ten_id
access_key = $ten_ak
secret_key = $ten_sk
email = $ten_email
tenant = testx

[iam]
email = $iam_email
user_id = $iam_id
access_key = $iam_ak
secret_key = $iam_sk
display_name = $iam_name

[iam root]
access_key = $root1_ak
secret_key = $root1_sk
user_id = $root1_id
email = $root1_email

[iam alt root]
access_key = $root2_ak
secret_key = $root2_sk
user_id = $root2_id
email = $root2_email
EOF

# OIDC and web identity (webidentity_test, abac_test, the token_* tests) are not served.
unserved=(lifecycle_transition
    s3website s3website_routing_rules s3website_redirect_location bucket_logging
    bucket_logging_cleanup fails_without_logging_rollover cloud_transition cloud_restore
    appendobject abac_test webidentity_test sns s3select
    storage_class)
markexpr="(not fails_on_aws or lifecycle_expiration)"
for m in "${unserved[@]}"; do markexpr+=" and not $m"; done

timeout_s="${S3TESTS_TIMEOUT:-60}"
files="${S3TESTS_FILES:-s3tests/functional/test_s3.py s3tests/functional/test_headers.py s3tests/functional/test_iam.py s3tests/functional/test_sts.py}"
echo "pytest -m '$markexpr' --timeout=$timeout_s $* (in $suite)"
set +e
(cd "$suite" && S3TEST_CONF="$conf" python3 -m pytest -p no:cacheprovider -q -rN \
    --timeout="$timeout_s" --junitxml="$out/junit.xml" -m "$markexpr" \
    $files "$@" \
    >"$out/pytest.log" 2>&1)
rc=$?
set -e
tail -n 3 "$out/pytest.log"
python3 "$repo/scripts/s3-tests-report.py" "$out/junit.xml" --failures "$out/failures.txt"
echo "details: $out (pytest.log, junit.xml, failures.txt, rustfs.log)"
# pytest: 0 all passed, 1 some failed; anything else is a harness problem.
[[ $rc -le 1 ]]
