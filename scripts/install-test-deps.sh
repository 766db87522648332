#!/usr/bin/env bash
# Installs what the tests need, and only what is missing: PostgreSQL (initdb,
# pg_ctl; the metadata conformance suite starts a real server) with apt (as root);
# for the end-to-end suite (tests/e2e): rclone, s3cmd, curl and prometheus with apt (as root), pytest, pytest-timeout, requests,
# boto3, cryptography, minio (MinioAdmin drives the admin API) and aws-cli with pip. boto3/botocore/s3transfer are never
# upgraded: whatever is installed is pinned while anything else is added.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
for tool in rclone s3cmd curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# Debian keeps the server binaries off PATH, under /usr/lib/postgresql/VERSION/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
fi
# tests/e2e/test_metrics.py scrapes the server with a real Prometheus (Debian's package).
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: apt-get install ${missing[*]}"
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "install-test-deps: ${missing[*]} missing (not root): their tests will be skipped" >&2
    fi
fi

py_missing=()
for pair in pytest:pytest pytest_timeout:pytest-timeout requests:requests boto3:boto3 cryptography:cryptography minio:minio; do
    python3 -c "import ${pair%%:*}" 2>/dev/null || py_missing+=("${pair##*:}")
done
command -v aws >/dev/null 2>&1 || py_missing+=(awscli)
if ((${#py_missing[@]})); then
    pins="$(mktemp)"
    trap 'rm -f "$pins"' EXIT
    python3 -m pip freeze 2>/dev/null | grep -iE '^(boto3|botocore|s3transfer)==' >"$pins" || true
    echo "install-test-deps: pip install ${py_missing[*]}"
    python3 -m pip install -q --disable-pip-version-check -c "$pins" "${py_missing[@]}"
fi
