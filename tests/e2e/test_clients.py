"""Real S3 clients (aws-cli, rclone, s3cmd) sync a directory tree up into a
bucket and back down into a fresh directory; the trees must match byte for byte.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import REGION, purge_bucket, unique_name

CLIENT_TIMEOUT = 300


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory) -> Path:
    """Nested dirs, small files, an empty file and a 30 MB random file."""
    root = tmp_path_factory.mktemp("client-src")
    files = {
        "top.txt": b"top level file\n",
        "empty.txt": b"",
        "dir1/a.txt": b"alpha\n" * 100,
        "dir1/b.bin": os.urandom(3000),
        "dir1/sub/deep/c.txt": b"deep inside\n",
        "dir2/big.bin": os.urandom(30_000_000),
        "dir with space/file name.txt": b"spaces in names\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tree_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same_tree(expected: Path, actual: Path):
    assert tree_files(actual) == tree_files(expected)
    for rel in tree_files(expected):
        assert filecmp.cmp(expected / rel, actual / rel, shallow=False), rel


def run(cmd, env=None, cwd=None):
    done = subprocess.run(
        cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=CLIENT_TIMEOUT,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
    )
    return done.stdout


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed")
    return path


@pytest.fixture
def client_bucket(server, s3):
    name = unique_name("cli")
    s3.create_bucket(Bucket=name)
    yield name
    purge_bucket(s3, name)


def listed_keys(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def test_aws_cli(server, s3, client_bucket, source_tree, tmp_path):
    aws = need("aws")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
        # No silent retries: a protocol hiccup must fail, not cost a minute.
        "AWS_MAX_ATTEMPTS": "1",
    }
    base = [aws, "--endpoint-url", server.endpoint, "--cli-read-timeout", "30"]
    remote = f"s3://{client_bucket}/tree/"
    run(base + ["s3", "sync", str(source_tree), remote, "--no-progress"], env)
    assert listed_keys(s3, client_bucket, "tree/") == sorted(
        "tree/" + rel for rel in tree_files(source_tree)
    )
    down = tmp_path / "down"
    run(base + ["s3", "sync", remote, str(down), "--no-progress"], env)
    assert_same_tree(source_tree, down)
    # A second sync has nothing left to do.
    assert run(base + ["s3", "sync", str(source_tree), remote, "--no-progress"], env).strip() == ""

    big = source_tree / "dir2" / "big.bin"
    run(base + ["s3", "cp", str(big), f"s3://{client_bucket}/single/big.bin", "--no-progress"], env)
    run(base + ["s3", "cp", f"s3://{client_bucket}/single/big.bin", str(tmp_path / "big.copy"),
                "--no-progress"], env)
    assert filecmp.cmp(big, tmp_path / "big.copy", shallow=False)


def test_rclone(server, s3, client_bucket, source_tree, tmp_path):
    rclone = need("rclone")
    # The HTTPS fixture (session-wide) sets AWS_CA_BUNDLE for boto3 and aws-cli; rclone's AWS
    # SDK then fails with "unable to load custom CA bundle" (it cannot add a bundle to
    # rclone's own transport). This server is plain HTTP and needs no CA: leave it out.
    env = {
        **{k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"},
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),  # absent: env-only config
        "RCLONE_CONFIG_RFS_TYPE": "s3",
        "RCLONE_CONFIG_RFS_PROVIDER": "Other",
        "RCLONE_CONFIG_RFS_ENV_AUTH": "false",
        "RCLONE_CONFIG_RFS_ACCESS_KEY_ID": server.access_key,
        "RCLONE_CONFIG_RFS_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_RFS_ENDPOINT": server.endpoint,
        "RCLONE_CONFIG_RFS_REGION": REGION,
        "RCLONE_CONFIG_RFS_FORCE_PATH_STYLE": "true",
    }
    # Small cutoff/chunks so the 30 MB file goes multipart (6 parts).
    flags = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--retries", "1",
             "--low-level-retries", "2", "--stats", "0"]
    remote = f"rfs:{client_bucket}/tree"
    run([rclone, "sync", str(source_tree), remote, *flags], env)
    assert listed_keys(s3, client_bucket, "tree/") == sorted(
        "tree/" + rel for rel in tree_files(source_tree)
    )
    run([rclone, "check", str(source_tree), remote, *flags], env)
    down = tmp_path / "down"
    run([rclone, "sync", remote, str(down), *flags], env)
    assert_same_tree(source_tree, down)


def test_s3cmd(server, s3, client_bucket, source_tree, tmp_path):
    s3cmd = need("s3cmd")
    hostport = f"{server.host}:{server.port}"
    cfg = tmp_path / "s3cmd.cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.access_key}\n"
        f"secret_key = {server.secret_key}\n"
        f"host_base = {hostport}\n"
        f"host_bucket = {hostport}\n"
        f"bucket_location = {REGION}\n"
        "use_https = False\n"
        "signature_v2 = False\n"
        "progress_meter = False\n"
    )
    base = [s3cmd, "-c", str(cfg), "--multipart-chunk-size-mb=5"]
    remote = f"s3://{client_bucket}/tree/"
    run(base + ["sync", f"{source_tree}/", remote], cwd=tmp_path)
    assert listed_keys(s3, client_bucket, "tree/") == sorted(
        "tree/" + rel for rel in tree_files(source_tree)
    )
    down = tmp_path / "down"
    down.mkdir()
    run(base + ["sync", remote, f"{down}/"], cwd=tmp_path)
    assert_same_tree(source_tree, down)
