//! Multi-buffer MD5: one hashing thread advances the MD5 of every upload that has data
//! pending in lockstep, one SIMD lane per upload ([`kernel`]), instead of one scalar MD5 per
//! upload. A single MD5 is a chain of dependent 64-byte blocks and runs ~560 MiB/s on one
//! core; 16 independent chains in AVX-512 lanes cost about what one chain does.
//!
//! [`Md5Stream::update`] queues a chunk ([`Bytes`], no copy) and returns at once unless the
//! stream already has [`MAX_QUEUED`] bytes waiting (then it waits: bounded memory);
//! [`Md5Stream::finalize`] waits for the stream's digest. Streams join and leave at any time;
//! a stream dropped before `finalize` frees its lane and its queued chunks. Without AVX-512
//! (or off x86_64) a stream is a plain md-5 hasher and no thread is started.
//!
//! One thread, not a pool: on the 2-core target machine one thread hashing 16 lanes outruns
//! the network, and splitting streams over threads would leave lanes empty.
//!
//! If the thread dies (a panic), the streams it held fail cleanly ([`Md5Stream::finalize`]
//! answers [`HashingStopped`]; nothing waits forever) and the next new stream starts a new
//! thread.

// The one module allowed `unsafe` (the workspace denies it): AVX-512 intrinsics.
#[allow(unsafe_code)]
mod kernel;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{Receiver, SendError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use md5::Digest as _;

pub use kernel::{Kernel, LANES};

/// Bytes a stream may have queued before `update` waits.
pub const MAX_QUEUED: usize = 1 << 20;

/// Blocks run per kernel call at most, so new chunks of other streams join soon.
const MAX_RUN: usize = 128;

const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// What a stream and the hashing thread share.
#[derive(Default)]
struct Shared {
    sync: Mutex<Progress>,
    cv: Condvar,
}

#[derive(Default)]
struct Progress {
    /// Bytes sent and not hashed yet.
    queued: usize,
    digest: Option<[u8; 16]>,
    /// The hashing thread stopped (it panicked) or dropped this stream: nothing more will come.
    dead: bool,
}

/// The hashing thread stopped before this stream's digest was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the md5x hashing thread stopped")]
pub struct HashingStopped;

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the hashing thread's next progress; fails once it stopped (checked before
    /// waiting: a thread that died earlier will not notify again).
    fn wait<'a>(
        &self,
        g: MutexGuard<'a, Progress>,
    ) -> Result<MutexGuard<'a, Progress>, HashingStopped> {
        if g.dead {
            return Err(HashingStopped);
        }
        Ok(self.cv.wait(g).unwrap_or_else(|e| e.into_inner()))
    }
}

/// The hashing thread's hold on a stream. However the thread lets go of it (digest done, the
/// stream closed, the thread unwinding from a panic, or the message never read because the
/// thread is gone), the stream learns that nothing more will come.
struct Held(Arc<Shared>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.lock().dead = true;
        self.0.cv.notify_all();
    }
}

enum Msg {
    Open(u64, Held),
    Data(u64, Bytes),
    Finish(u64),
    Close(u64),
    /// Makes the thread panic (tests of the restart).
    #[cfg(test)]
    Panic,
}

/// A hashing thread and its lanes.
pub struct Md5Service {
    tx: Mutex<Sender<Msg>>,
    kernel: Kernel,
    next_id: std::sync::atomic::AtomicU64,
}

fn spawn(kernel: Kernel) -> std::io::Result<Sender<Msg>> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("md5x".into())
        .spawn(move || {
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve(kernel, &rx)));
            if run.is_err() {
                tracing::error!(
                    "the md5x hashing thread panicked; its uploads fail, the next one starts a new thread"
                );
            }
            // Dropping `rx` drops the messages still queued: their streams learn it (`Held`).
        })?;
    Ok(tx)
}

impl Md5Service {
    /// Starts a hashing thread that runs `kernel`.
    pub fn start(kernel: Kernel) -> std::io::Result<Arc<Md5Service>> {
        Ok(Arc::new(Md5Service {
            tx: Mutex::new(spawn(kernel)?),
            kernel,
            next_id: 0.into(),
        }))
    }

    /// Makes the hashing thread panic, as a bug in it would, and returns once the thread is
    /// gone (its channel closed): the panic hook may take a while (a backtrace under
    /// `RUST_BACKTRACE`), and a stream opened meanwhile would still land on the dying thread.
    #[cfg(test)]
    fn kill_thread(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = tx.send(Msg::Panic);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        // `Close` of an id no stream has is a no-op for a live thread.
        while tx.send(Msg::Close(u64::MAX)).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "the md5x thread did not stop"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// The process-wide service, when the CPU has a SIMD kernel.
    pub fn global() -> Option<&'static Arc<Md5Service>> {
        static GLOBAL: OnceLock<Option<Arc<Md5Service>>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| match Kernel::detect() {
                Kernel::Scalar => None,
                k => Md5Service::start(k).ok(),
            })
            .as_ref()
    }

    /// A new stream hashed by this service. If its thread has stopped, a new one is started
    /// (or, if that fails, the stream hashes on its own with scalar md-5).
    pub fn stream(self: &Arc<Self>) -> Md5Stream {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let shared = Arc::new(Shared::default());
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(SendError(open)) = tx.send(Msg::Open(id, Held(shared.clone()))) {
            // The thread is gone: start another and open the stream there.
            let reopened = match spawn(self.kernel) {
                Ok(new) => {
                    *tx = new;
                    tx.send(open).is_ok()
                }
                Err(_) => false,
            };
            if !reopened {
                tracing::error!("the md5x hashing thread cannot be restarted; hashing in place");
                return Md5Stream::scalar();
            }
            tracing::warn!("md5x hashing thread restarted");
        }
        Md5Stream(Inner::Lane {
            id,
            tx: tx.clone(),
            shared,
        })
    }
}

/// The MD5 of one byte stream; see the module docs.
pub struct Md5Stream(Inner);

enum Inner {
    Scalar(md5::Md5),
    Lane {
        id: u64,
        tx: Sender<Msg>,
        shared: Arc<Shared>,
    },
    Done,
}

impl Default for Md5Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5Stream {
    /// A stream on the process-wide service, or a scalar hasher without SIMD.
    pub fn new() -> Md5Stream {
        match Md5Service::global() {
            Some(s) => s.stream(),
            None => Md5Stream::scalar(),
        }
    }

    /// A plain md-5 hasher behind the same interface.
    pub fn scalar() -> Md5Stream {
        Md5Stream(Inner::Scalar(md5::Md5::new()))
    }

    /// Appends `data`. Waits only while this stream has [`MAX_QUEUED`] bytes unhashed. If the
    /// hashing thread stopped, the bytes are dropped and [`Md5Stream::finalize`] fails.
    pub fn update(&mut self, data: Bytes) {
        match &mut self.0 {
            Inner::Scalar(h) => h.update(&data),
            Inner::Lane { id, tx, shared } => {
                if data.is_empty() {
                    return;
                }
                let mut g = shared.lock();
                while g.queued > 0 && g.queued + data.len() > MAX_QUEUED {
                    match shared.wait(g) {
                        Ok(next) => g = next,
                        Err(HashingStopped) => return,
                    }
                }
                g.queued += data.len();
                drop(g);
                // A send to a stopped thread fails; the stream is marked dead by then.
                let _ = tx.send(Msg::Data(*id, data));
            }
            Inner::Done => {}
        }
    }

    /// The digest of everything appended; waits for the hashing thread.
    pub fn finalize(mut self) -> Result<[u8; 16], HashingStopped> {
        match std::mem::replace(&mut self.0, Inner::Done) {
            Inner::Scalar(h) => Ok(h.finalize().into()),
            Inner::Lane { id, tx, shared } => {
                let _ = tx.send(Msg::Finish(id));
                let mut g = shared.lock();
                loop {
                    if let Some(d) = g.digest {
                        return Ok(d);
                    }
                    g = shared.wait(g)?;
                }
            }
            Inner::Done => Err(HashingStopped),
        }
    }
}

impl Drop for Md5Stream {
    fn drop(&mut self) {
        if let Inner::Lane { id, tx, .. } = &self.0 {
            // Unfinished: free the lane and whatever is queued. The thread may be gone.
            let _ = tx.send(Msg::Close(*id));
        }
    }
}

/// One stream as the hashing thread sees it.
struct Lane {
    state: [u32; 4],
    /// Message length so far (bytes received).
    len: u64,
    chunks: VecDeque<Bytes>,
    /// Read position in `chunks[0]`.
    pos: usize,
    /// A partial block being filled, or the final padded block(s).
    buf: [u8; 128],
    /// `buf[off..end]`: with `padded`, whole blocks to run; else `off == 0` and a partial block.
    off: usize,
    end: usize,
    finishing: bool,
    padded: bool,
    shared: Held,
}

/// What a lane runs next.
#[derive(Clone, Copy)]
enum Work {
    /// Blocks of `buf[off..]`.
    Buf(usize),
    /// Blocks of `chunks[0][pos..]`.
    Chunk(usize),
}

impl Lane {
    fn new(shared: Held) -> Lane {
        Lane {
            state: INIT,
            len: 0,
            chunks: VecDeque::new(),
            pos: 0,
            buf: [0; 128],
            off: 0,
            end: 0,
            finishing: false,
            padded: false,
            shared,
        }
    }

    /// Moves bytes that do not make a whole block into `buf`, and says what to run next.
    fn prepare(&mut self) -> Option<Work> {
        loop {
            if self.padded {
                return Some(Work::Buf((self.end - self.off) / 64));
            }
            if self.end == 64 {
                return Some(Work::Buf(1));
            }
            let Some(front) = self.chunks.front() else {
                if !self.finishing {
                    return None;
                }
                self.pad();
                continue;
            };
            let rest = &front[self.pos..];
            if rest.is_empty() {
                self.pop_chunk();
                continue;
            }
            if self.end == 0 && rest.len() >= 64 {
                return Some(Work::Chunk(rest.len() / 64));
            }
            let take = rest.len().min(64 - self.end);
            self.buf[self.end..self.end + take].copy_from_slice(&rest[..take]);
            self.end += take;
            self.pos += take;
        }
    }

    fn pop_chunk(&mut self) {
        if let Some(c) = self.chunks.pop_front() {
            self.pos = 0;
            self.shared.0.lock().queued -= c.len();
            self.shared.0.cv.notify_all();
        }
    }

    /// Appends MD5 padding and the bit length to the partial block in `buf`.
    fn pad(&mut self) {
        let n = self.end;
        self.buf[n] = 0x80;
        let end = if n < 56 { 64 } else { 128 };
        self.buf[n + 1..end - 8].fill(0);
        self.buf[end - 8..end].copy_from_slice(&self.len.wrapping_mul(8).to_le_bytes());
        self.off = 0;
        self.end = end;
        self.padded = true;
    }

    fn data(&self, w: Work, n: usize) -> &[u8] {
        match w {
            Work::Buf(_) => &self.buf[self.off..self.off + n * 64],
            Work::Chunk(_) => &self.chunks[0][self.pos..self.pos + n * 64],
        }
    }

    /// Records that `n` blocks of `w` ran; true when the digest is done.
    fn advance(&mut self, w: Work, n: usize) -> bool {
        match w {
            Work::Buf(_) => {
                self.off += n * 64;
                if self.off == self.end {
                    if self.padded {
                        let mut d = [0u8; 16];
                        for (o, s) in d.chunks_exact_mut(4).zip(self.state) {
                            o.copy_from_slice(&s.to_le_bytes());
                        }
                        self.shared.0.lock().digest = Some(d);
                        self.shared.0.cv.notify_all();
                        return true;
                    }
                    self.off = 0;
                    self.end = 0;
                }
            }
            Work::Chunk(_) => {
                self.pos += n * 64;
                if self.pos == self.chunks[0].len() {
                    self.pop_chunk();
                }
            }
        }
        false
    }
}

fn serve(kernel: Kernel, rx: &Receiver<Msg>) {
    // Each lane holds its stream's `Held`: when the thread unwinds, every stream learns it.
    let mut lanes: BTreeMap<u64, Lane> = BTreeMap::new();
    let lanes = &mut lanes;
    // Round-robin start, so more streams than lanes all make progress.
    let mut cursor = 0u64;
    let mut ready: Vec<(u64, Work)> = Vec::with_capacity(64);
    let mut states = Vec::with_capacity(LANES);
    loop {
        let idle = ready.is_empty();
        let mut handle = |m: Msg| match m {
            Msg::Open(id, held) => {
                lanes.insert(id, Lane::new(held));
            }
            Msg::Data(id, b) => {
                if let Some(l) = lanes.get_mut(&id) {
                    l.len += b.len() as u64;
                    l.chunks.push_back(b);
                }
            }
            Msg::Finish(id) => {
                if let Some(l) = lanes.get_mut(&id) {
                    l.finishing = true;
                }
            }
            Msg::Close(id) => {
                lanes.remove(&id);
            }
            #[cfg(test)]
            Msg::Panic => panic!("md5x test hook: the hashing thread panics"),
        };
        if idle {
            match rx.recv() {
                Ok(m) => handle(m),
                Err(_) => return, // the service and all its streams are gone
            }
        }
        while let Ok(m) = rx.try_recv() {
            handle(m);
        }

        ready.clear();
        let (after, before): (Vec<_>, Vec<_>) =
            lanes.iter_mut().partition(|(id, _)| **id >= cursor);
        for (id, l) in after.into_iter().chain(before) {
            if ready.len() == LANES {
                break;
            }
            if let Some(w) = l.prepare() {
                ready.push((*id, w));
            }
        }
        let Some(&(last, _)) = ready.last() else {
            continue;
        };
        cursor = last + 1;
        let n = ready
            .iter()
            .map(|(_, w)| match *w {
                Work::Buf(n) | Work::Chunk(n) => n,
            })
            .min()
            .unwrap_or(0)
            .min(MAX_RUN);
        states.clear();
        states.extend(ready.iter().map(|(id, _)| lanes[id].state));
        let data: Vec<&[u8]> = ready.iter().map(|(id, w)| lanes[id].data(*w, n)).collect();
        // One stream alone goes faster through md-5's scalar block function than through
        // a 16-lane step with one lane used (single uploads must not get slower).
        let k = if data.len() == 1 {
            Kernel::Scalar
        } else {
            kernel
        };
        k.run(&mut states, &data);
        drop(data);
        for (&(id, w), s) in ready.iter().zip(&states) {
            let l = lanes.get_mut(&id).expect("ready lane");
            l.state = *s;
            if l.advance(w, n) {
                lanes.remove(&id);
            }
        }
        // Lanes with more work are found again on the next turn; keep `ready` non-empty
        // so the thread does not block on the channel meanwhile.
        if lanes.is_empty() {
            ready.clear();
        }
    }
}
