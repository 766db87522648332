//! Taking in a request body: small bodies become metadata blobs; larger ones stream to a data
//! file through a blocking worker that hashes (the requested checksum) and writes in parallel
//! with the network read, while the MD5 for the ETag runs on the multi-buffer hashing thread
//! ([`crate::md5x`]) in lockstep with the other uploads' MD5s. Inline bodies (at most the
//! metadata backend's `inline_body_max`) take scalar MD5 on the spot: no hop to another thread for a small PUT. Digests are verified before the file is made
//! durable and visible, so a bad body leaves nothing behind.

use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::Digest as _;
use rustfs_data::{DataStore, ShardHeader};
use rustfs_meta::{Body, ChecksumAlgorithm, Segment};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::ObjectError;
use crate::checksum::{self, Hasher};
use crate::md5x::{self, Md5Stream};
use crate::sse::DataKey;
use crate::sse::package::{Sealer, seal_all};

/// Body pieces queued between the network and the writing worker (each at most hyper's read
/// buffer, 64 KiB: see the server's accept loop).
const CHANNEL_CHUNKS: usize = 4;

/// A body that sends nothing for this long parks its writer (staging buffers given back).
const PARK_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// What all uploads' writers may hold at once while their bytes flow, unless the server sets
/// another budget ([`set_staging_budget`]).
pub const DEFAULT_STAGING_BUDGET: usize = 64 << 20;

/// A writer that has taken this many bytes while others wait for the budget steps back (parks
/// and queues again), so a long upload cannot keep the others waiting until it ends.
const SLICE: u64 = 16 << 20;

/// The largest body one PUT or one part may carry (5 GiB, as in S3): refused up front when
/// declared, and while streaming when not.
pub const MAX_BODY_SIZE: u64 = 5 << 30;

/// Where the expected value of a request checksum comes from.
pub enum ExpectedChecksum {
    /// Compute and store, nothing to compare with.
    Compute,
    /// A header value (base64), known before the body.
    Given(String),
    /// An aws-chunked trailer, readable once the body has ended.
    Trailer(Box<dyn FnOnce() -> Option<String> + Send>),
}

/// A checksum the request asks to verify and store.
pub struct ChecksumRequest {
    pub algorithm: ChecksumAlgorithm,
    pub expected: ExpectedChecksum,
}

/// Integrity information of one incoming body.
#[derive(Default)]
pub struct BodyChecks {
    /// `Content-MD5` header value (base64).
    pub content_md5: Option<String>,
    pub checksum: Option<ChecksumRequest>,
    /// Declared decoded length, when known.
    pub expected_len: Option<u64>,
}

/// Who the bytes belong to (written into the data file header).
pub(crate) struct Owner<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub version_id: &'a str,
    pub upload_id: &'a str,
    pub part_number: u32,
}

pub(crate) struct Ingested {
    pub segment: Segment,
    /// Blob to insert in the same batch as the record, for inline bodies.
    pub blob: Option<(String, Bytes)>,
}

struct Expect {
    md5: Option<[u8; 16]>,
    checksum: Option<(ChecksumAlgorithm, Vec<u8>)>,
    len: Option<u64>,
}

/// Compares computed digests with the expected ones.
fn verify(
    expect: &Expect,
    len: u64,
    md5: &[u8],
    checksum: Option<&[u8]>,
) -> Result<(), ObjectError> {
    if expect.len.is_some_and(|l| l != len) {
        return Err(ObjectError::IncompleteBody);
    }
    if expect.md5.is_some_and(|m| m.as_slice() != md5) {
        return Err(ObjectError::BadDigest);
    }
    if let (Some((a, want)), Some(got)) = (&expect.checksum, checksum)
        && want.as_slice() != got
    {
        return Err(ObjectError::ChecksumMismatch {
            algorithm: a.as_str(),
        });
    }
    Ok(())
}

fn parse_md5(v: &str) -> Result<[u8; 16], ObjectError> {
    base64_simd::STANDARD
        .decode_to_vec(v.trim())
        .ok()
        .and_then(|raw| <[u8; 16]>::try_from(raw).ok())
        .ok_or(ObjectError::InvalidDigest)
}

/// The global staging budget: a writer holds a claim on it (in KiB) while its bytes flow, for
/// its staging buffers, erasure block and MD5 queue. Waiting for a claim reads nothing more of
/// the request body, so the client is slowed by TCP, not by errors.
struct StagingBudget {
    permits: Arc<Semaphore>,
    kib: u32,
    waiting: AtomicUsize,
}

static BUDGET: OnceLock<StagingBudget> = OnceLock::new();

/// Sets the staging budget for every upload in this process (0: no limit). Only the first call
/// counts, and only before the first upload; returns whether it took effect.
pub fn set_staging_budget(bytes: usize) -> bool {
    let mut fresh = false;
    BUDGET.get_or_init(|| {
        fresh = true;
        StagingBudget::new(bytes)
    });
    fresh
}

impl StagingBudget {
    fn new(bytes: usize) -> Self {
        let kib = if bytes == 0 {
            u32::MAX
        } else {
            u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
        };
        Self {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
            waiting: AtomicUsize::new(0),
        }
    }

    fn get() -> &'static Self {
        BUDGET.get_or_init(|| Self::new(DEFAULT_STAGING_BUDGET))
    }
}

/// One writer's share of the [`StagingBudget`]: taken before bytes are staged, given back when
/// the writer parks (its client paused, or it had its [`SLICE`] while others wait).
struct Claim {
    budget: &'static StagingBudget,
    kib: u32,
    held: Option<OwnedSemaphorePermit>,
    /// Bytes written since the claim was taken.
    taken: u64,
}

impl Claim {
    fn new(budget: &'static StagingBudget, staging_bytes: usize) -> Self {
        let want = staging_bytes + md5x::MAX_QUEUED;
        let kib = u32::try_from(want.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, budget.kib);
        Self {
            budget,
            kib,
            held: None,
            taken: 0,
        }
    }

    /// Waits (blocking this worker thread) until the budget has room.
    fn take(&mut self, runtime: &tokio::runtime::Handle) -> Result<(), ObjectError> {
        if self.held.is_some() {
            return Ok(());
        }
        let permits = self.budget.permits.clone();
        let permit = match permits.clone().try_acquire_many_owned(self.kib) {
            Ok(p) => p,
            Err(_) => {
                self.budget.waiting.fetch_add(1, Ordering::AcqRel);
                let got = runtime.block_on(permits.acquire_many_owned(self.kib));
                self.budget.waiting.fetch_sub(1, Ordering::AcqRel);
                got.map_err(|e| ObjectError::Task(e.to_string()))?
            }
        };
        self.held = Some(permit);
        self.taken = 0;
        Ok(())
    }

    /// Counts `n` bytes written; true when the writer should step back for a waiting one.
    fn wrote(&mut self, n: usize) -> bool {
        self.taken += n as u64;
        self.taken >= SLICE && self.budget.waiting.load(Ordering::Acquire) > 0
    }

    fn give_back(&mut self) {
        self.held = None;
    }
}

enum Msg {
    Data(Bytes),
    Finish(Expect),
}

/// Takes in `body`: inline when it ends within `inline_max` bytes (the metadata backend's
/// `TxnStore::inline_body_max`), else a data file.
pub(crate) async fn ingest<S, E>(
    data: &Arc<DataStore>,
    inline_max: usize,
    owner: Owner<'_>,
    mut body: S,
    checks: BodyChecks,
    seal: Option<DataKey>,
) -> Result<Ingested, ObjectError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: Display,
{
    if checks.expected_len.is_some_and(|l| l > MAX_BODY_SIZE) {
        return Err(ObjectError::EntityTooLarge);
    }
    let md5_expected = checks.content_md5.as_deref().map(parse_md5).transpose()?;
    let algorithm = checks.checksum.as_ref().map(|c| c.algorithm);
    let (given, trailer) = match checks.checksum.map(|c| c.expected) {
        Some(ExpectedChecksum::Given(v)) => (Some(v), None),
        Some(ExpectedChecksum::Trailer(f)) => (None, Some(f)),
        _ => (None, None),
    };
    let given = match (algorithm, given) {
        (Some(a), Some(v)) => Some((a, checksum::decode_value(a, &v)?)),
        _ => None,
    };
    let finish_expect = move || -> Result<Expect, ObjectError> {
        let from_trailer = match (algorithm, trailer) {
            (Some(a), Some(f)) => {
                let v = f().ok_or_else(|| {
                    ObjectError::InvalidRequest(format!(
                        "the declared x-amz-checksum-{} trailer is missing",
                        a.as_str().to_lowercase()
                    ))
                })?;
                Some((a, checksum::decode_value(a, &v)?))
            }
            _ => None,
        };
        Ok(Expect {
            md5: md5_expected,
            checksum: given.or(from_trailer),
            len: checks.expected_len,
        })
    };

    // Gather up to `inline_max` bytes; a body that ends by then is stored inline.
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0usize;
    let mut ended = false;
    while head_len <= inline_max {
        match body.next().await {
            Some(Ok(b)) => {
                head_len += b.len();
                if !b.is_empty() {
                    head.push(b);
                }
            }
            Some(Err(e)) => return Err(ObjectError::Body(e.to_string())),
            None => {
                ended = true;
                break;
            }
        }
    }

    if ended {
        let mut buf = Vec::with_capacity(head_len);
        for b in &head {
            buf.extend_from_slice(b);
        }
        let md5 = md5::Md5::digest(&buf);
        let checksum_raw = algorithm.map(|a| checksum::compute(a, &buf));
        verify(
            &finish_expect()?,
            buf.len() as u64,
            &md5,
            checksum_raw.as_deref(),
        )?;
        // Inline bytes go into every volume's metadata replica: not into the space reserved
        // for metadata commits.
        data.check_room(buf.len() as u64)?;
        let blob_id = uuid::Uuid::new_v4().simple().to_string();
        let size = buf.len() as u64;
        // Sealed under the segment key of this blob's id (see `crate::sse`).
        let buf = match &seal {
            Some(dk) => seal_all(dk.segment_key(&blob_id), &buf),
            None => buf,
        };
        let segment = Segment {
            size,
            etag: checksum::md5_hex(&md5),
            checksum: checksum_raw.as_deref().map(checksum::b64),
            body: Body::Inline(blob_id.clone()),
        };
        return Ok(Ingested {
            segment,
            blob: Some((blob_id, Bytes::from(buf))),
        });
    }

    let header = ShardHeader {
        bucket: owner.bucket.to_string(),
        key: owner.key.to_string(),
        version_id: owner.version_id.to_string(),
        upload_id: owner.upload_id.to_string(),
        part_number: owner.part_number,
        block_size: rustfs_data::DEFAULT_BLOCK_SIZE,
        data_shards: 1,
        parity_shards: 0,
        shard_index: 0,
    };
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL_CHUNKS);
    let store = data.clone();
    let runtime = tokio::runtime::Handle::current();
    let worker = tokio::task::spawn_blocking(move || -> Result<Ingested, ObjectError> {
        let mut claim = Claim::new(StagingBudget::get(), store.staging_bytes());
        let mut writer = store.create(header)?;
        // The plaintext is hashed; the data layer gets it sealed (see `crate::sse`).
        let mut sealer = seal.map(|dk| Sealer::new(dk.segment_key(writer.id())));
        let mut plain_len = 0u64;
        let mut md5 = Md5Stream::new();
        let mut hasher = algorithm.map(Hasher::new);
        loop {
            let msg = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match runtime.block_on(tokio::time::timeout(PARK_AFTER, rx.recv())) {
                        Ok(m) => m,
                        Err(_) => {
                            // The client paused: hold as little as possible meanwhile.
                            writer.park()?;
                            claim.give_back();
                            rx.blocking_recv()
                        }
                    }
                }
            };
            let Some(msg) = msg else { break };
            match msg {
                Msg::Data(b) => {
                    claim.take(&runtime)?;
                    // Queued for the hashing thread (no copy); hashed while we write.
                    md5.update(b.clone());
                    if let Some(h) = hasher.as_mut() {
                        h.update(&b);
                    }
                    plain_len += b.len() as u64;
                    match sealer.as_mut() {
                        Some(s) => {
                            let sealed = s.push(&b);
                            if !sealed.is_empty() {
                                writer.write(sealed)?;
                            }
                        }
                        None => writer.write(&b)?,
                    }
                    if claim.wrote(b.len()) {
                        writer.park()?;
                        claim.give_back();
                    }
                }
                Msg::Finish(expect) => {
                    let md5 = md5
                        .finalize()
                        .map_err(|e| ObjectError::Task(e.to_string()))?;
                    let checksum_raw = hasher.map(Hasher::finalize);
                    // On mismatch the writer is dropped here and its temporary file removed.
                    verify(&expect, plain_len, &md5, checksum_raw.as_deref())?;
                    if let Some(s) = sealer.as_mut() {
                        writer.write(s.finish())?;
                    }
                    let r = writer.finish()?;
                    let segment = Segment {
                        size: plain_len,
                        etag: checksum::md5_hex(&md5),
                        checksum: checksum_raw.as_deref().map(checksum::b64),
                        body: Body::Stored(r),
                    };
                    return Ok(Ingested {
                        segment,
                        blob: None,
                    });
                }
            }
        }
        Err(ObjectError::Body("request body ended abnormally".into()))
    });

    let fed = async {
        for b in head {
            tx.send(Msg::Data(b)).await.map_err(|_| ())?;
        }
        let mut total = head_len as u64;
        loop {
            match body.next().await {
                Some(Ok(b)) => {
                    total += b.len() as u64;
                    if total > MAX_BODY_SIZE {
                        return Ok(Err(ObjectError::EntityTooLarge));
                    }
                    tx.send(Msg::Data(b)).await.map_err(|_| ())?
                }
                Some(Err(e)) => return Ok(Err(ObjectError::Body(e.to_string()))),
                None => break,
            }
        }
        match finish_expect() {
            Ok(expect) => tx.send(Msg::Finish(expect)).await.map_err(|_| ())?,
            Err(e) => return Ok(Err(e)),
        }
        Ok::<_, ()>(Ok(()))
    }
    .await;
    match fed {
        // The body failed: close the channel without Finish so the worker discards the file.
        Ok(Err(e)) => {
            drop(tx);
            let _ = worker.await;
            Err(e)
        }
        // The worker stopped early (disk error): its own error says why.
        Err(()) => {
            drop(tx);
            worker.await?
        }
        Ok(Ok(())) => {
            drop(tx);
            worker.await?
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn claims_wait_for_room_and_step_back_after_a_slice_only_when_others_wait() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let budget: &'static StagingBudget = Box::leak(Box::new(StagingBudget::new(4 << 20)));
        // 3 MiB of staging plus the MD5 queue: 4 MiB, the whole budget.
        let mut first = Claim::new(budget, 3 << 20);
        first.take(rt.handle()).unwrap();
        assert!(
            !first.wrote(SLICE as usize),
            "nobody waits: no reason to step back"
        );

        let (tx, rx) = std::sync::mpsc::channel();
        let handle = rt.handle().clone();
        let second = std::thread::spawn(move || {
            let mut c = Claim::new(budget, 1);
            c.take(&handle).unwrap();
            tx.send(()).unwrap();
            c.give_back();
        });
        // The second claim waits while the first holds the room (bounded polls).
        let mut waited = false;
        for _ in 0..200 {
            if budget.waiting.load(Ordering::Acquire) == 1 {
                waited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(waited, "the second claim should be waiting");
        assert!(rx.try_recv().is_err());
        assert!(first.wrote(1), "a slice done and someone waits: step back");
        first.give_back();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        second.join().unwrap();
        // A claim larger than the whole budget is clamped to it, so it can still proceed.
        let mut big = Claim::new(budget, 64 << 20);
        big.take(rt.handle()).unwrap();
        big.give_back();
    }
}
