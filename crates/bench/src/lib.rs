//! `rustfs bench`: a warp-style load generator for any S3 endpoint. It speaks HTTP/1.1 with
//! hyper and signs with SigV4 (`UNSIGNED-PAYLOAD`, cached signing key) directly, so client CPU
//! per small request stays around 20 µs: each worker task owns one HTTP/1.1 connection
//! ([`client::Conn`]) and the workers run on a few current-thread runtimes (one per two cores).
//! Every run is bounded by a duration or an operation count, and removes what it created. It
//! knows nothing of RustFS internals.

pub mod client;
pub mod sigv4;
mod stats;
pub mod workload;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use md5::Digest as _;
use rand::Rng;

use crate::client::{Conn, Reply, S3Client, Target};
use crate::stats::{Live, Results, Summary};
use crate::workload::{Mix, Op, SizeRange};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// S3 endpoint (http only).
    #[arg(
        long,
        env = "RUSTFS_BENCH_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
    )]
    pub endpoint: String,
    #[command(flatten)]
    pub keys: client::KeyArgs,
    /// Bucket to use; created if missing (and then removed afterwards).
    #[arg(long, default_value = "rustfs-bench")]
    pub bucket: String,
    /// Operation to measure.
    #[arg(long, value_enum, default_value = "put")]
    pub op: Op,
    /// Object size, or a uniform range MIN-MAX (e.g. 4KiB, 64MiB, 1KiB-1MiB).
    #[arg(long, default_value = "4KiB")]
    pub size: SizeRange,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long to run (e.g. 10s, 500ms, 2m); also the cap when --count is given.
    #[arg(long, default_value = "10s", value_parser = workload::parse_duration)]
    pub duration: Duration,
    /// Stop after this many operations.
    #[arg(long)]
    pub count: Option<u64>,
    /// Objects written before get/head/delete/list/mixed runs.
    #[arg(long, default_value_t = 1000)]
    pub objects: u64,
    /// Spread objects over this many prefixes (`p0/`, `p1/`, ...).
    #[arg(long, default_value_t = 1)]
    pub prefixes: u64,
    /// Delimiter for `list` (lists common prefixes instead of keys).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Part size for multipart-put.
    #[arg(long, default_value = "5MiB", value_parser = workload::parse_size)]
    pub part_size: u64,
    /// Weights for `mixed`.
    #[arg(long, default_value = "get:45,head:30,put:15,delete:10")]
    pub mix: Mix,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Server process to read CPU time and peak RSS of (from /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Keep the objects (and bucket) afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Key prefix of this run (default: a fresh `bench-XXXXXXXX/`); with --skip-prefill,
    /// measures objects an earlier `--keep` run left there.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Do not write objects first (they exist under --prefix already).
    #[arg(long, requires = "prefix")]
    pub skip_prefill: bool,
    /// Write objects with SSE-S3 (`x-amz-server-side-encryption: AES256`, signed) on PUT,
    /// the prefill and multipart uploads; reads then decrypt them.
    #[arg(long)]
    pub sse_s3: bool,
}

/// The header SSE-S3 writes carry (`--sse-s3`).
const SSE_S3: [(&str, &str); 1] = [("x-amz-server-side-encryption", "AES256")];

struct Ctx {
    client: S3Client,
    args: BenchArgs,
    prefix: String,
    payload: Bytes,
    live: Live,
    budget: AtomicU64,
    /// End of the measured phase; unset (no operation runs) until prefill is done.
    deadline: std::sync::OnceLock<Instant>,
    stop: AtomicBool,
    next_key: AtomicU64,
    churn: std::sync::Mutex<Vec<String>>,
}

fn ok_status(r: &Result<Reply, client::ClientError>, want: &[StatusCode]) -> Option<String> {
    match r {
        Ok(r) if want.contains(&r.status) => None,
        Ok(r) => Some(format!("HTTP {}", r.status)),
        Err(e) => Some(e.to_string()),
    }
}

fn xml_value(body: &[u8], tag: &str) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    let open = format!("<{tag}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find("</")? + start;
    Some(s[start..end].to_string())
}

impl Ctx {
    fn key(&self, n: u64) -> String {
        format!("{}p{}/o{n}", self.prefix, n % self.args.prefixes.max(1))
    }

    fn size(&self) -> u64 {
        let SizeRange { min, max } = self.args.size;
        if min == max {
            min
        } else {
            rand::rng().random_range(min..=max)
        }
    }

    fn body(&self, size: u64) -> Bytes {
        self.payload.slice(0..size as usize)
    }

    /// Headers of an object write: SSE-S3's with `--sse-s3`.
    fn write_headers(&self) -> &'static [(&'static str, &'static str)] {
        if self.args.sse_s3 { &SSE_S3 } else { &[] }
    }

    async fn put(&self, c: &mut Conn, key: &str) -> (u64, Option<String>) {
        let size = self.size();
        let r = c
            .send(
                Method::PUT,
                Target {
                    bucket: &self.args.bucket,
                    key,
                    query: &[],
                },
                self.body(size),
                self.write_headers(),
                false,
            )
            .await;
        (size, ok_status(&r, &[StatusCode::OK]))
    }

    /// A bodiless request on one key; counts the reply's body bytes.
    async fn simple(
        &self,
        c: &mut Conn,
        method: Method,
        key: &str,
        ok: &[StatusCode],
    ) -> (u64, Option<String>) {
        let target = Target {
            bucket: &self.args.bucket,
            key,
            query: &[],
        };
        let r = c.send(method, target, Bytes::new(), &[], false).await;
        let bytes = r.as_ref().map(|r| r.bytes).unwrap_or(0);
        (bytes, ok_status(&r, ok))
    }

    async fn get(&self, c: &mut Conn, key: &str) -> (u64, Option<String>) {
        self.simple(c, Method::GET, key, &[StatusCode::OK]).await
    }

    async fn head(&self, c: &mut Conn, key: &str) -> (u64, Option<String>) {
        self.simple(c, Method::HEAD, key, &[StatusCode::OK]).await
    }

    async fn delete(&self, c: &mut Conn, key: &str) -> (u64, Option<String>) {
        self.simple(
            c,
            Method::DELETE,
            key,
            &[StatusCode::NO_CONTENT, StatusCode::OK],
        )
        .await
    }

    async fn list(&self, c: &mut Conn) -> (u64, Option<String>) {
        let mut q = vec![
            ("list-type", "2"),
            ("max-keys", "1000"),
            ("prefix", self.prefix.as_str()),
        ];
        if let Some(d) = &self.args.delimiter {
            q.push(("delimiter", d.as_str()));
        }
        let r = c
            .send(
                Method::GET,
                Target {
                    bucket: &self.args.bucket,
                    key: "",
                    query: &q,
                },
                Bytes::new(),
                &[],
                false,
            )
            .await;
        let bytes = r.as_ref().map(|r| r.bytes).unwrap_or(0);
        (bytes, ok_status(&r, &[StatusCode::OK]))
    }

    async fn multipart(&self, c: &mut Conn, key: &str) -> (u64, Option<String>) {
        let b = &self.args.bucket;
        let size = self.size();
        let created = c
            .send(
                Method::POST,
                Target {
                    bucket: b,
                    key,
                    query: &[("uploads", "")],
                },
                Bytes::new(),
                self.write_headers(),
                true,
            )
            .await;
        if let Some(e) = ok_status(&created, &[StatusCode::OK]) {
            return (0, Some(e));
        }
        let Some(upload_id) = created
            .ok()
            .and_then(|r| r.body)
            .and_then(|body| xml_value(&body, "UploadId"))
        else {
            return (0, Some("no UploadId in CreateMultipartUpload reply".into()));
        };
        let part = self.args.part_size.max(1);
        let mut xml = String::from("<CompleteMultipartUpload>");
        let (mut off, mut n) = (0u64, 1u32);
        while off < size || n == 1 {
            let len = part.min(size - off);
            let pn = n.to_string();
            let q = [
                ("partNumber", pn.as_str()),
                ("uploadId", upload_id.as_str()),
            ];
            let r = c
                .send(
                    Method::PUT,
                    Target {
                        bucket: b,
                        key,
                        query: &q,
                    },
                    self.payload.slice(off as usize..(off + len) as usize),
                    &[],
                    false,
                )
                .await;
            if let Some(e) = ok_status(&r, &[StatusCode::OK]) {
                return (off, Some(e));
            }
            let etag = r.ok().and_then(|r| r.etag);
            let etag = etag
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            xml += &format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>");
            off += len;
            n += 1;
            if len == 0 {
                break;
            }
        }
        xml += "</CompleteMultipartUpload>";
        let r = c
            .send(
                Method::POST,
                Target {
                    bucket: b,
                    key,
                    query: &[("uploadId", upload_id.as_str())],
                },
                Bytes::from(xml),
                &[],
                true,
            )
            .await;
        let err = ok_status(&r, &[StatusCode::OK]).or_else(|| {
            let body = r.ok().and_then(|r| r.body).unwrap_or_default();
            xml_value(&body, "Code").map(|c| format!("CompleteMultipartUpload: {c}"))
        });
        (size, err)
    }

    /// Takes one unit of the operation budget; false when the run is over.
    fn take(&self) -> bool {
        if self.stop.load(Ordering::Relaxed)
            || self.deadline.get().is_none_or(|d| Instant::now() >= *d)
        {
            return false;
        }
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok()
    }

    async fn one(
        &self,
        c: &mut Conn,
        op: Op,
        worker: usize,
    ) -> (&'static str, u64, Option<String>) {
        let objects = self.args.objects.max(1);
        match op {
            Op::Put => {
                let key = format!(
                    "{}w{worker}/n{}",
                    self.prefix,
                    self.next_key.fetch_add(1, Ordering::Relaxed)
                );
                let (b, e) = self.put(c, &key).await;
                if e.is_none()
                    && let Ok(mut churn) = self.churn.lock()
                {
                    churn.push(key);
                }
                ("put", b, e)
            }
            Op::Get => {
                let n = rand::rng().random_range(0..objects);
                let (b, e) = self.get(c, &self.key(n)).await;
                ("get", b, e)
            }
            Op::Head => {
                let n = rand::rng().random_range(0..objects);
                let (b, e) = self.head(c, &self.key(n)).await;
                ("head", b, e)
            }
            Op::Delete => {
                // Deletes what puts made (mixed); in a pure delete run, the prefilled objects,
                // each once.
                let churned = self.churn.lock().ok().and_then(|mut c| c.pop());
                let key = match churned {
                    Some(k) => k,
                    None if self.args.op == Op::Delete => {
                        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
                        if n >= objects {
                            self.stop.store(true, Ordering::Relaxed);
                            return (NOTHING_LEFT, 0, None);
                        }
                        self.key(n)
                    }
                    None => return Box::pin(self.one(c, Op::Put, worker)).await,
                };
                let (b, e) = self.delete(c, &key).await;
                ("delete", b, e)
            }
            Op::List => {
                let (b, e) = self.list(c).await;
                ("list", b, e)
            }
            Op::MultipartPut => {
                let key = format!(
                    "{}mp/w{worker}/n{}",
                    self.prefix,
                    self.next_key.fetch_add(1, Ordering::Relaxed)
                );
                let (b, e) = self.multipart(c, &key).await;
                ("multipart", b, e)
            }
            Op::Mixed => {
                let pick = self
                    .args
                    .mix
                    .pick(rand::rng().random_range(0..self.args.mix.total()));
                Box::pin(self.one(c, pick, worker)).await
            }
        }
    }
}

/// What [`Ctx::one`] answers when a delete run has deleted every object: not an operation.
/// (A delete that finished meanwhile in another worker is still counted.)
const NOTHING_LEFT: &str = "";

async fn worker(ctx: Arc<Ctx>, id: usize) -> Results {
    let mut conn = ctx.client.connection();
    let mut results = Results::new();
    while ctx.take() {
        let started = Instant::now();
        let (name, bytes, err) = ctx.one(&mut conn, ctx.args.op, id).await;
        if name == NOTHING_LEFT {
            break;
        }
        ctx.live.record(bytes, err.is_none());
        results
            .entry(name)
            .or_default()
            .record(started.elapsed(), bytes, err);
    }
    results
}

async fn prefill(ctx: &Arc<Ctx>) -> Result<(), String> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..ctx.args.concurrency.max(1) {
        let (ctx, next) = (ctx.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = ctx.client.connection();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= ctx.args.objects {
                    return None;
                }
                if let (_, Some(e)) = ctx.put(&mut conn, &ctx.key(n)).await {
                    return Some(e);
                }
            }
        }));
    }
    for t in tasks {
        if let Some(e) = t.await.map_err(|e| e.to_string())? {
            return Err(format!("prefill failed: {e}"));
        }
    }
    Ok(())
}

async fn cleanup(ctx: &Ctx, drop_bucket: bool) -> Result<(), String> {
    let b = &ctx.args.bucket;
    loop {
        let q = [
            ("list-type", "2"),
            ("prefix", ctx.prefix.as_str()),
            ("max-keys", "1000"),
        ];
        let r = ctx
            .client
            .send(
                Method::GET,
                Target {
                    bucket: b,
                    key: "",
                    query: &q,
                },
                Bytes::new(),
                &[],
                true,
            )
            .await
            .map_err(|e| e.to_string())?;
        let body = r.body.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let keys: Vec<&str> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .collect();
        if keys.is_empty() {
            break;
        }
        let mut xml = String::from("<Delete><Quiet>true</Quiet>");
        for k in &keys {
            xml += &format!("<Object><Key>{k}</Key></Object>");
        }
        xml += "</Delete>";
        let md5 = base64_simd::STANDARD.encode_to_string(md5::Md5::digest(xml.as_bytes()));
        let r = ctx
            .client
            .send(
                Method::POST,
                Target {
                    bucket: b,
                    key: "",
                    query: &[("delete", "")],
                },
                Bytes::from(xml),
                &[("content-md5", md5.as_str())],
                true,
            )
            .await
            .map_err(|e| e.to_string())?;
        if r.status != StatusCode::OK {
            return Err(format!("cleanup DeleteObjects: HTTP {}", r.status));
        }
    }
    if drop_bucket {
        let _ = ctx
            .client
            .send(
                Method::DELETE,
                Target {
                    bucket: b,
                    key: "",
                    query: &[],
                },
                Bytes::new(),
                &[],
                false,
            )
            .await;
    }
    Ok(())
}

fn ctx_prefix(given: Option<&str>, run_id: u32) -> String {
    match given {
        Some(p) if p.ends_with('/') => p.to_string(),
        Some(p) => format!("{p}/"),
        None => format!("bench-{run_id:08x}/"),
    }
}

/// Runs a benchmark and prints the result (progress on stderr, the table or JSON on stdout).
pub async fn run(args: BenchArgs) -> Result<(), String> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let max_size = args.size.max.max(if args.op == Op::MultipartPut {
        args.part_size
    } else {
        0
    });
    if max_size > 8 << 30 {
        return Err("object size above 8 GiB is not supported by the load generator".into());
    }
    let client = S3Client::new(
        &args.endpoint,
        &args.keys.access_key,
        &args.keys.secret_key,
        &args.keys.region,
        args.concurrency,
    )?;
    let created = client
        .send(
            Method::PUT,
            Target {
                bucket: &args.bucket,
                key: "",
                query: &[],
            },
            Bytes::new(),
            &[],
            false,
        )
        .await
        .map_err(|e| e.to_string())?;
    let created_bucket = match created.status {
        StatusCode::OK => true,
        StatusCode::CONFLICT => false,
        s => return Err(format!("cannot create bucket {}: HTTP {s}", args.bucket)),
    };
    let mut payload = vec![0u8; max_size as usize];
    rand::rng().fill(&mut payload[..]);
    let run_id: u32 = rand::rng().random();
    let budget = args.count.unwrap_or(u64::MAX);
    let ctx = Arc::new(Ctx {
        client,
        prefix: ctx_prefix(args.prefix.as_deref(), run_id),
        payload: Bytes::from(payload),
        live: Live::default(),
        budget: AtomicU64::new(budget),
        deadline: std::sync::OnceLock::new(),
        stop: AtomicBool::new(false),
        next_key: AtomicU64::new(0),
        churn: std::sync::Mutex::new(Vec::new()),
        args,
    });
    let outcome = measure(&ctx).await;
    if !ctx.args.keep
        && let Err(e) = cleanup(&ctx, created_bucket).await
    {
        eprintln!("bench: cleanup failed: {e}");
    }
    outcome
}

/// Client threads: one per two cores (a small request costs the client a fraction of what it
/// costs the server, and on two shared cores one thread wakes less often and is preempted
/// less than two), at least one, at most one per worker.
fn client_threads(concurrency: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.div_ceil(2).clamp(1, concurrency.max(1))
}

/// Runs the workers on `client_threads` current-thread runtimes (workers dealt out
/// round-robin): a task never leaves its thread, so a reply wakes it on the thread whose epoll
/// saw the socket, with no work stealing and no cross-thread wakeups.
async fn run_workers(ctx: &Arc<Ctx>) -> Result<Results, String> {
    let threads = client_threads(ctx.args.concurrency);
    let mut handles = Vec::new();
    for first in 0..threads {
        let ctx = ctx.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a worker runtime: {e}"))?;
            rt.block_on(async {
                let tasks: Vec<_> = (first..ctx.args.concurrency)
                    .step_by(threads)
                    .map(|id| tokio::spawn(worker(ctx.clone(), id)))
                    .collect();
                let mut results = Results::new();
                for t in tasks {
                    stats::merge_into(&mut results, t.await.map_err(|e| e.to_string())?);
                }
                Ok::<_, String>(results)
            })
        }));
    }
    let mut results = Results::new();
    for h in handles {
        stats::merge_into(&mut results, h.await.map_err(|e| e.to_string())??);
    }
    Ok(results)
}

async fn measure(ctx: &Arc<Ctx>) -> Result<(), String> {
    if ctx.args.op.needs_prefill() && !ctx.args.skip_prefill {
        eprintln!(
            "bench: writing {} objects of {:?} first",
            ctx.args.objects, ctx.args.size
        );
        prefill(ctx).await?;
    }
    // The measured phase starts now: prefill time does not count.
    let _ = ctx.deadline.set(Instant::now() + ctx.args.duration);
    let ctx = ctx.clone();
    let me = std::process::id();
    let cpu0 = (
        stats::process_cpu(me),
        ctx.args.server_pid.and_then(stats::process_cpu),
    );
    let start = Instant::now();
    let progress = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = 0u64;
            loop {
                tick.tick().await;
                let ops = ctx.live.ops.load(Ordering::Relaxed);
                eprintln!(
                    "bench: {:>5.1}s {:>10} ops {:>10.0} ops/s {:>9.1} MiB total, {} errors",
                    start.elapsed().as_secs_f64(),
                    ops,
                    (ops - last) as f64,
                    ctx.live.bytes.load(Ordering::Relaxed) as f64 / 1048576.0,
                    ctx.live.errors.load(Ordering::Relaxed)
                );
                last = ops;
            }
        })
    };
    let results = run_workers(&ctx).await?;
    let elapsed = start.elapsed();
    progress.abort();
    let total_ops: u64 = results.values().map(|s| s.ops).sum::<u64>().max(1);
    let per_op = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
        (Some(b), Some(a)) => Some((a - b).as_secs_f64() * 1e6 / total_ops as f64),
        _ => None,
    };
    let summary = Summary {
        results: &results,
        elapsed,
        concurrency: ctx.args.concurrency,
        client_cpu_us_per_op: per_op(cpu0.0, stats::process_cpu(me)),
        server_cpu_us_per_op: per_op(cpu0.1, ctx.args.server_pid.and_then(stats::process_cpu)),
        server_rss_mib: ctx.args.server_pid.and_then(stats::peak_rss_mib),
    };
    println!(
        "{}",
        if ctx.args.json {
            summary.json()
        } else {
            summary.table()
        }
    );
    Ok(())
}
