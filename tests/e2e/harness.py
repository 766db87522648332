"""Plumbing for the RustFS end-to-end suite.

One place for: starting/stopping the real ``rustfs`` binary, building boto3
clients against it, the self-signed TLS material, an independent SigV4 signer
for hand-made ("raw") requests, and the checksum algorithms S3 speaks.
Fixtures live in conftest.py; tests import the helpers from here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import os
import re
import signal
import ssl
import time
import subprocess
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pg_cluster import meta_env

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "rustfsadmin"
SECRET_KEY = "rustfssecret"
REGION = "us-east-1"
VHOST_DOMAIN = "s3.rustfs.test"

# The two users of the ``users_server`` fixture: the root key pair (with these ids) and ALT.
MAIN_ID = "main-canonical-id"
MAIN_NAME = "Main User"
ALT = {
    "access_key": "ALTACCESSKEY",
    "secret_key": "alt-secret-key",
    "user_id": "alt-canonical-id",
    "display_name": "Alt User",
    "email": "alt@example.com",
}

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
READY_RE = re.compile(r"serving S3 on (https?://(?:\[[0-9A-Fa-f:.]+\]|[\w.\-]+)(?::\d+)?)")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

MiB = 1024 * 1024


def rustfs_binary() -> Path:
    """The binary under test: $RUSTFS_BIN or target/release/rustfs."""
    env = os.environ.get("RUSTFS_BIN")
    return Path(env) if env else REPO_ROOT / "target" / "release" / "rustfs"


# --------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    pass


class RustfsProcess:
    """One running ``rustfs server`` with its own temporary volumes.

    ``base_dir`` holds ``vol1..volN``, ``rustfs.log`` and (for TLS) ``tls/``;
    nothing else is written there, so tests may inspect it for stray files.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        volumes: int = 1,
        tls_dir: Path | None = None,
        ca_bundle: Path | None = None,
        domains: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
        address: str = "127.0.0.1:0",
    ):
        self.base_dir = base_dir
        self.address = address
        self.volumes = [base_dir / f"vol{i}" for i in range(1, volumes + 1)]
        self.log_path = base_dir / "rustfs.log"
        self.tls_dir = tls_dir
        self.ca_bundle = ca_bundle
        self.domains = domains or []
        self.extra_env = extra_env or {}
        self.access_key = access_key
        self.secret_key = secret_key
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._pump_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> "RustfsProcess":
        binary = rustfs_binary()
        if not binary.is_file():
            raise ServerStartError(
                f"rustfs binary not found at {binary}; build it with "
                "`cargo build --release -p rustfs` or set RUSTFS_BIN"
            )
        for vol in self.volumes:
            vol.mkdir(parents=True, exist_ok=True)

        env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTFS_")}
        env["RUSTFS_ACCESS_KEY"] = self.access_key
        env["RUSTFS_SECRET_KEY"] = self.secret_key
        env["RUSTFS_REGION"] = REGION
        if self.domains:
            env["RUSTFS_SERVER_DOMAINS"] = ",".join(self.domains)
        if self.tls_dir:
            env["RUSTFS_TLS_PATH"] = str(self.tls_dir)
        # RUSTFS_TEST_META=postgres: this directory's database (the same on every restart),
        # unless the test names one itself.
        if "RUSTFS_META_URL" not in self.extra_env:
            env.update(meta_env(self.base_dir))
        env.update(self.extra_env)

        cmd = [str(binary), "server", *map(str, self.volumes), "--address", self.address]
        log = open(self.log_path, "ab")
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        # stderr goes straight to the log file; stdout is pumped by a thread
        # that spots the readiness line and then keeps draining the pipe.
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=self.base_dir,
        )
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self.proc.stdout, log), daemon=True
        )
        self._pump_thread.start()

        if not self._ready.wait(STARTUP_TIMEOUT) or self.url is None:
            code = self.proc.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else (
                f"printed no 'serving S3 on URL' line within {STARTUP_TIMEOUT:.0f}s"
            )
            raise ServerStartError(f"rustfs {why}\n--- {self.log_path} ---\n{self.log_tail()}")
        return self

    def _pump(self, stream, log) -> None:
        try:
            for line in iter(stream.readline, b""):
                log.write(line)
                log.flush()
                if self.url is None:
                    m = READY_RE.search(ANSI_RE.sub("", line.decode("utf-8", "replace")))
                    if m:
                        self.url = m.group(1)
                        self._ready.set()
        finally:
            self._ready.set()  # EOF: unblock a waiting start()
            log.close()

    def stop(self) -> int | None:
        """SIGTERM the process we started, SIGKILL it (only it) on timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._pump_thread:
            self._pump_thread.join(5)
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    @property
    def port(self) -> int:
        return urlsplit(self.url).port

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme


@dataclass
class S3Server:
    """What a test talks to: one endpoint (and addressing style) of a process."""

    name: str
    process: RustfsProcess
    endpoint: str
    addressing_style: str = "path"
    access_key: str = field(default=ACCESS_KEY)
    secret_key: str = field(default=SECRET_KEY)

    @property
    def volumes(self) -> list[Path]:
        return self.process.volumes

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    @property
    def ca_bundle(self) -> Path | None:
        return self.process.ca_bundle

    @property
    def is_https(self) -> bool:
        return self.endpoint.startswith("https://")

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).hostname

    @property
    def port(self) -> int:
        return urlsplit(self.endpoint).port

    @property
    def verify(self):
        """``verify=`` argument for requests."""
        return str(self.ca_bundle) if self.is_https else True

    def client(self, *, access_key=None, secret_key=None, endpoint_url=None, **config):
        """A boto3 S3 client: SigV4, us-east-1, this endpoint's addressing style.

        Keyword arguments go to botocore's Config (``s3=`` is merged).
        HTTPS trusts the test CA through AWS_CA_BUNDLE (set by the fixture).
        """
        s3_cfg = {"addressing_style": self.addressing_style, **config.pop("s3", {})}
        config.setdefault("signature_version", "s3v4")
        config.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
        config.setdefault("connect_timeout", 10)
        config.setdefault("read_timeout", 60)
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint,
            aws_access_key_id=self.access_key if access_key is None else access_key,
            aws_secret_access_key=self.secret_key if secret_key is None else secret_key,
            region_name=REGION,
            config=Config(s3=s3_cfg, **config),
        )


# --------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------


def make_tls_material(base: Path) -> tuple[Path, Path]:
    """A throw-away CA and a server certificate signed by it.

    Returns ``(tls_dir, ca_pem)``; tls_dir holds rustfs_cert.pem (leaf + CA)
    and rustfs_key.pem (PKCS#8). SANs: localhost, 127.0.0.1-9, ::1,
    s3.rustfs.test and *.s3.rustfs.test.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RustFS e2e test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        # The nodes of a test cluster (cluster_harness.py).
        *(x509.IPAddress(ipaddress.ip_address(f"127.0.0.{i}")) for i in range(2, 10)),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName(VHOST_DOMAIN),
        x509.DNSName(f"*.{VHOST_DOMAIN}"),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    tls_dir = base / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (tls_dir / "rustfs_cert.pem").write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    (tls_dir / "rustfs_key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_pem = base / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(pem))
    return tls_dir, ca_pem


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def expect_error(fn, *args, code: str | set[str], status: int | set[int], **kwargs) -> ClientError:
    """Call ``fn`` and assert it fails with this S3 error code and HTTP status.

    ``code``/``status`` may be sets where S3-compatible servers legitimately differ.
    """
    try:
        result = fn(*args, **kwargs)
    except ClientError as err:
        got_code = err.response.get("Error", {}).get("Code")
        got_status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        codes = {code} if isinstance(code, str) else set(code)
        statuses = {status} if isinstance(status, int) else set(status)
        assert got_code in codes and got_status in statuses, (
            f"expected {sorted(codes)} / {sorted(statuses)}, got {got_code} / {got_status}: {err}"
        )
        return err
    raise AssertionError(f"expected {code} / {status}, but the call succeeded: {result!r}")


def xml_error_code(body: bytes) -> str | None:
    """<Error><Code>...</Code></Error> of an S3 error body, or None."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    node = root.find("Code")
    if node is None:
        node = root.find("{*}Code")
    return node.text if node is not None else None


# --------------------------------------------------------------------------
# Raw, independently signed requests (for things boto3 will not send)
# --------------------------------------------------------------------------

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def sigv4_headers(
    method: str,
    host: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    payload_hash: str,
    access_key: str,
    secret_key: str,
    region: str = REGION,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Headers (including Authorization) for an AWS SigV4 header-signed request.

    ``path`` is the already-encoded request path, used verbatim as the
    canonical URI (S3 does not normalise it).
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    hdrs = {k.lower(): str(v) for k, v in headers.items()}
    hdrs["host"] = host
    hdrs["x-amz-date"] = amz_date
    hdrs["x-amz-content-sha256"] = payload_hash
    signed = sorted(hdrs)
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((_uri_encode(k), _uri_encode(v)) for k, v in query)
    )
    canonical_headers = "".join(f"{k}:{' '.join(hdrs[k].split())}\n" for k in signed)
    canonical_request = "\n".join(
        [method, path, canonical_query, canonical_headers, ";".join(signed), payload_hash]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return hdrs


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def error_code(self) -> str | None:
        return xml_error_code(self.body)


def raw_request(
    server: S3Server,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    sign: bool = True,
    payload_hash: str | None = None,
    now: dt.datetime | None = None,
    secret_key: str | None = None,
) -> RawResponse:
    """Send one request with http.client, byte-exact path, SigV4 header auth.

    ``path`` must already be percent-encoded. ``payload_hash`` defaults to
    the SHA-256 of ``body``.
    """
    query = query or []
    headers = dict(headers or {})
    host = f"{server.host}:{server.port}"
    if sign:
        headers = sigv4_headers(
            method, host, path, query, headers,
            payload_hash or hashlib.sha256(body).hexdigest(),
            server.access_key, secret_key or server.secret_key, now=now,
        )
    else:
        headers["host"] = host
    target = path
    if query:
        target += "?" + "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in query)
    if server.is_https:
        ctx = ssl.create_default_context(cafile=str(server.ca_bundle))
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=60, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        if method in ("PUT", "POST") or body:
            headers.setdefault("content-length", str(len(body)))
        conn.request(method, target, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def aws_chunked(data: bytes, trailer_name: str, trailer_value: str, chunk: int = 64 * 1024) -> bytes:
    """Unsigned aws-chunked encoding with one checksum trailer."""
    out = bytearray()
    for i in range(0, len(data), chunk):
        piece = data[i : i + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n" + f"{trailer_name}:{trailer_value}\r\n".encode() + b"\r\n"
    return bytes(out)


STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def signed_chunked_put(
    server: S3Server, path: str, data: bytes, *, chunk: int = 64 * 1024, tamper_chunk: int | None = None
) -> RawResponse:
    """PUT ``data`` as ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: every chunk carries a signature
    chained from the request's seed signature. ``tamper_chunk`` flips a byte of that chunk
    after signing it, which the server must detect."""
    host = f"{server.host}:{server.port}"
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    body_len = sum(len(f"{len(p):x};chunk-signature=".encode()) + 64 + 2 + len(p) + 2 for p in pieces)
    now = dt.datetime.now(dt.timezone.utc)
    headers = sigv4_headers(
        "PUT", host, path, [],
        {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)), "content-length": str(body_len)},
        STREAMING_SIGNED, server.access_key, server.secret_key, now=now,
    )
    amz_date = headers["x-amz-date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    key = ("AWS4" + server.secret_key).encode()
    for part in (amz_date[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = headers["authorization"].rsplit("Signature=", 1)[1]
    out = bytearray()
    for i, piece in enumerate(pieces):
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, _EMPTY_SHA256, hashlib.sha256(piece).hexdigest()]
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if i == tamper_chunk and piece:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
    assert len(out) == body_len
    if server.is_https:
        ctx = ssl.create_default_context(cafile=str(server.ca_bundle))
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=60, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("PUT", path, body=bytes(out), headers=headers)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


# --------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------


def _reflected_crc_table(poly: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _reflected_crc_table(0x82F63B78)
_CRC64NVME_TABLE = _reflected_crc_table(0x9A6C9329AC4BC9B5)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc64nvme(data: bytes) -> int:
    mask = 0xFFFFFFFFFFFFFFFF
    crc = mask
    table = _CRC64NVME_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def checksum_bytes(algorithm: str, data: bytes) -> bytes:
    """Raw (big-endian / digest) checksum bytes as S3 base64-encodes them."""
    algorithm = algorithm.upper()
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "CRC32C":
        return crc32c(data).to_bytes(4, "big")
    if algorithm == "CRC64NVME":
        return crc64nvme(data).to_bytes(8, "big")
    if algorithm == "SHA1":
        return hashlib.sha1(data).digest()
    if algorithm == "SHA256":
        return hashlib.sha256(data).digest()
    raise ValueError(algorithm)


def checksum_b64(algorithm: str, data: bytes) -> str:
    return base64.b64encode(checksum_bytes(algorithm, data)).decode()


def composite_checksum_b64(algorithm: str, parts: list[bytes]) -> str:
    """S3's COMPOSITE multipart checksum: checksum of the part checksums, '-N'."""
    joined = b"".join(checksum_bytes(algorithm, p) for p in parts)
    return f"{checksum_b64(algorithm, joined)}-{len(parts)}"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def multipart_etag(parts: list[bytes]) -> str:
    """Quoted S3 multipart ETag: MD5 of the concatenated part MD5s, '-N'."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def wait_until(check, timeout: float, errors=(AssertionError,)):
    """Calls ``check`` until it stops raising one of ``errors`` (then returns its result), or
    re-raises once ``timeout`` seconds have passed: for a change another process applies
    within a bound (e.g. identities polled every half second)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except errors:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def unique_name(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def purge_bucket(s3, bucket: str) -> None:
    """Best-effort: abort uploads, delete every object, delete the bucket."""
    try:
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for up in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    except Exception:
        pass
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
    except Exception:
        pass
    # A versioned bucket keeps versions and delete markers: remove each by its id.
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    except Exception:
        pass
    try:
        s3.delete_bucket(Bucket=bucket)
    except Exception:
        pass
