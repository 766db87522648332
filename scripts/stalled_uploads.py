"""Measures the server's memory with N uploads that send half their declared body and stall.

Usage: RUSTFS_BIN=target/release/rustfs python3 scripts/stalled_uploads.py [N [MIB [VOLUMES]]]
(defaults 64 uploads of 64 MiB on 1 volume). Prints VmRSS/VmHWM at start, with every upload
stalled (after SETTLE seconds, default 2), and after the clients cut off. See
docs/benchmarks.md."""
import os, socket, sys, time, threading, tempfile
from pathlib import Path
from urllib.parse import urlsplit
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from harness import RustfsProcess, MiB, ACCESS_KEY, SECRET_KEY
import boto3
from botocore.config import Config

n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
size = int(sys.argv[2]) * MiB if len(sys.argv) > 2 else 64 * MiB
vols = int(sys.argv[3]) if len(sys.argv) > 3 else 1
def status(pid):
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"):
            d[k] = v.strip()
    return d
base = Path(tempfile.mkdtemp(prefix="rustfs-stall-"))
p = RustfsProcess(base, volumes=vols, extra_env=dict(os.environ.get("EXTRA", "") and [kv.split("=",1) for kv in os.environ["EXTRA"].split()])).start()
try:
    s3 = boto3.client("s3", endpoint_url=p.url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="bkt")
    print("start", status(p.proc.pid))
    block = os.urandom(MiB)
    socks = []
    def one(i):
        url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": f"k{i}"}, ExpiresIn=3600))
        s = socket.create_connection((url.hostname, url.port))
        s.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {size}\r\n\r\n".encode())
        for _ in range(size // 2 // MiB):
            s.sendall(block)
        socks.append(s)
    t0 = time.time()
    ths = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    [t.start() for t in ths]; [t.join() for t in ths]
    time.sleep(float(os.environ.get("SETTLE","2")))
    print(f"stalled {n} x {size//2//MiB} MiB in {time.time()-t0:.1f}s", status(p.proc.pid))
    for s in socks: s.close()
    time.sleep(float(os.environ.get("SETTLE","2")))
    print("after cut", status(p.proc.pid))
finally:
    p.stop()
    import shutil
    shutil.rmtree(base, ignore_errors=True)
