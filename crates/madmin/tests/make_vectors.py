"""Makes tests/data/minio_py_vectors.json: bodies sealed by minio-py (PyPI `minio`, Apache-2.0,
an independent implementation of madmin's format), which `cargo test -p rustfs-madmin` opens.
Scheme 0 through `minio.crypto.encrypt`; scheme 1 (ChaCha20-Poly1305) from minio-py's own
helpers, as its `DecryptReader` would read it. Also checks that minio-py's DecryptReader opens
the bodies in tests/data/rust_vectors.json (made by this crate's ignored test
`write_rust_vectors`), so both directions are covered.

Run in a virtual environment of its own (never the system Python, whose botocore is pinned):
    python3 -m venv target/venv-minio && target/venv-minio/bin/pip install minio
    target/venv-minio/bin/python crates/madmin/tests/make_vectors.py
"""

import io
import json
import random
from pathlib import Path

from minio import crypto

HERE = Path(__file__).parent / "data"
SIZES = [0, 1, 100, 16 * 1024, 16 * 1024 + 1]


def seal_chacha(payload: bytes, password: str, rnd: random.Random) -> bytes:
    """Scheme 1 with minio-py's helpers (its encrypt() only writes scheme 0)."""
    nonce = rnd.randbytes(8)
    salt = rnd.randbytes(32)
    key = crypto._generate_key(password.encode(), salt)
    ad = crypto._generate_additional_data(1, key, nonce + b"\0\0\0\0")
    out = salt + b"\x01" + nonce
    starts = list(range(0, len(payload), crypto._CHUNK_SIZE)) or [0]
    for n, i in enumerate(starts, 1):
        if i == starts[-1]:
            ad = crypto._mark_as_last(ad)
        c = crypto._get_cipher(1, key, crypto._update_nonce_id(nonce, n))
        c.update(ad)
        data, tag = c.encrypt_and_digest(payload[i:i + crypto._CHUNK_SIZE])
        out += data + tag
    return out


class Body:
    """Enough of urllib3's response for DecryptReader."""

    def __init__(self, data: bytes):
        self.buf = io.BytesIO(data)

    def read(self, n=-1, *a, **k):
        return self.buf.read(n)

    def stream(self, n, *a, **k):
        while True:
            chunk = self.buf.read(n)
            if not chunk:
                return
            yield chunk

    def close(self):
        pass

    def release_conn(self):
        pass


def main() -> None:
    rnd = random.Random(7)
    vectors = []
    for size in SIZES:
        password = f"secret-{size}"
        payload = rnd.randbytes(size)
        vectors.append({"scheme": 0, "password": password, "plaintext": payload.hex(),
                        "body": crypto.encrypt(payload, password).hex()})
        vectors.append({"scheme": 1, "password": password, "plaintext": payload.hex(),
                        "body": seal_chacha(payload, password, rnd).hex()})
    (HERE / "minio_py_vectors.json").write_text(json.dumps(vectors, indent=0) + "\n")
    print(f"wrote {len(vectors)} minio-py vectors")

    rust = HERE / "rust_vectors.json"
    if rust.exists():
        for v in json.loads(rust.read_text()):
            got = crypto.decrypt(Body(bytes.fromhex(v["body"])), v["password"])
            assert got == bytes.fromhex(v["plaintext"]), v["scheme"]
        print(f"minio-py opened every body of {rust.name}")


if __name__ == "__main__":
    main()
