//! Connection limits: how long a client may take to send a request head, how long a kept-alive
//! connection may stay idle, and how many connections are served at once.
//!
//! Each connection's socket is wrapped in [`Timed`], which knows from [`Conn`] whether a
//! request is in progress (the service was called and its response has not been sent whole):
//!
//! - no request in progress and nothing received since the last response: **idle**, closed
//!   after the idle timeout;
//! - a new connection, or bytes of a new request received: **reading a head**, closed unless
//!   the head is complete within the header timeout (from the connection's start, or from the
//!   request's first byte on a kept-alive connection), so a client sending its head byte by
//!   byte (slowloris) is dropped;
//! - a request in progress: no deadline here (bodies and responses take what they take).
//!
//! hyper's own `header_read_timeout` is not used: it runs from the end of the previous
//! response, so it cannot tell an idle kept-alive connection from a slow head.
//!
//! [`Connections`] counts live connections against a cap kept below the open-file limit. At the
//! cap, the connection idle the longest (or a new one still silent) is closed to make room;
//! connections with a request in progress are never closed for this.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// File handles kept out of the connection budget: standard streams, the runtime, metadata
/// replicas, volume health probes, heal and sweep readers.
const RESERVED_FILES: u64 = 64;
/// More reserved per volume (its metadata replica, probe and directory handles).
const RESERVED_FILES_PER_VOLUME: u64 = 16;
/// At least this many connections, whatever the limit says.
const MIN_CONNECTIONS: usize = 16;

/// The cap on connections: `configured` (0 for none), but never more than the open-file
/// limit allows after the reserve. Each connection is counted as its socket plus the files its
/// request may hold open at once (an upload writes one file per volume, through two
/// descriptors).
pub fn connection_cap(configured: usize, open_files: u64, volumes: usize) -> usize {
    let volumes = volumes as u64;
    let reserve = RESERVED_FILES + RESERVED_FILES_PER_VOLUME * volumes;
    let per_connection = 1 + 2 * volumes;
    let budget = open_files.saturating_sub(reserve) / per_connection;
    let budget = usize::try_from(budget)
        .unwrap_or(usize::MAX)
        .max(MIN_CONNECTIONS);
    match configured {
        0 => budget,
        n => n.min(budget),
    }
}

/// How long heads and idle connections may take.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// A new connection, or a request head has started arriving.
    Head,
    /// Nothing received since the last response.
    Idle,
}

#[derive(Debug)]
struct State {
    /// Requests whose response has not been sent whole (HTTP/2 may have several).
    busy: u32,
    phase: Phase,
    /// When `phase` began.
    since: Instant,
    evicted: bool,
    /// A read that found no deadline (a request was in progress): woken when the request
    /// ends, so that the idle deadline is armed.
    reader: Option<Waker>,
}

/// One live connection, as its socket wrapper, its service and the accept loop see it.
pub struct Conn {
    state: Mutex<State>,
    timeouts: Timeouts,
    evict: Notify,
}

impl Conn {
    fn new(timeouts: Timeouts) -> Conn {
        Conn {
            state: Mutex::new(State {
                busy: 0,
                phase: Phase::Head,
                since: Instant::now(),
                evicted: false,
                reader: None,
            }),
            timeouts,
            evict: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection must be closed if nothing more arrives; none while busy (then
    /// `waker` is woken when the request ends).
    fn deadline(&self, waker: Option<&Waker>) -> Option<Instant> {
        let mut s = self.lock();
        match (s.busy, s.phase) {
            (0, Phase::Head) => Some(s.since + self.timeouts.header),
            (0, Phase::Idle) => Some(s.since + self.timeouts.idle),
            _ => {
                if let Some(w) = waker {
                    s.reader = Some(w.clone());
                }
                None
            }
        }
    }

    /// Bytes arrived: on an idle connection, a new request head starts.
    fn received(&self) {
        let mut s = self.lock();
        if s.busy == 0 && s.phase == Phase::Idle {
            s.phase = Phase::Head;
            s.since = Instant::now();
        }
    }

    /// Resolves when the accept loop closes this connection to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

/// Marks a request in progress on its connection until dropped (with the response body).
pub struct Busy(Arc<Conn>);

impl Busy {
    pub fn new(conn: Arc<Conn>) -> Busy {
        conn.lock().busy += 1;
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0 {
            s.phase = Phase::Idle;
            s.since = Instant::now();
            if let Some(w) = s.reader.take() {
                w.wake();
            }
        }
    }
}

/// The live connections and the cap on them.
pub struct Connections {
    slots: Arc<Semaphore>,
    live: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    timeouts: Timeouts,
    cap: usize,
}

/// A connection's place under the cap; dropping it (when the connection ends) frees the slot.
pub struct Slot {
    conns: Arc<Connections>,
    id: u64,
    conn: Arc<Conn>,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    pub fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.conns.lock().remove(&self.id);
    }
}

impl Connections {
    pub fn new(cap: usize, timeouts: Timeouts) -> Arc<Connections> {
        Arc::new(Connections {
            slots: Arc::new(Semaphore::new(cap)),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            timeouts,
            cap,
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a connection just accepted. At the cap, the connection idle the longest is
    /// closed to make room; if every connection has a request in progress, this waits for one
    /// to end.
    pub async fn admit(self: &Arc<Self>) -> Slot {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !self.evict_one() {
                    tracing::warn!(
                        cap = self.cap,
                        "connection cap reached and every connection is busy: new connections wait"
                    );
                }
                // The semaphore is never closed.
                let Ok(p) = self.slots.clone().acquire_owned().await else {
                    unreachable!("the connection semaphore is never closed")
                };
                p
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(self.timeouts));
        self.lock().insert(id, conn.clone());
        Slot {
            conns: self.clone(),
            id,
            conn,
            _permit: permit,
        }
    }

    /// Closes the connection that has waited the longest without a request in progress;
    /// false if there is none.
    fn evict_one(&self) -> bool {
        let live = self.lock();
        let mut victim: Option<(&Arc<Conn>, Instant)> = None;
        for c in live.values() {
            let s = c.lock();
            if s.busy == 0 && !s.evicted && victim.is_none_or(|(_, t)| s.since < t) {
                victim = Some((c, s.since));
            }
        }
        let Some((c, _)) = victim else {
            return false;
        };
        c.lock().evicted = true;
        c.evict.notify_one();
        tracing::debug!("connection cap reached: closing the connection idle the longest");
        true
    }
}

/// A connection's byte stream with the header and idle deadlines of its [`Conn`].
pub struct Timed<S> {
    inner: S,
    conn: Arc<Conn>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

impl<S> Timed<S> {
    pub fn new(inner: S, conn: Arc<Conn>) -> Timed<S> {
        Timed {
            inner,
            conn,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.conn.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some(deadline) = self.conn.deadline(Some(cx.waker())) else {
                    return Poll::Pending;
                };
                if self.armed != Some(deadline) {
                    self.sleep.as_mut().reset(deadline);
                    self.armed = Some(deadline);
                }
                match self.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no complete request head in time, or idle too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A service that marks its connection busy from each call until the response is sent whole.
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, conn: Arc<Conn>) -> Tracked<S> {
        Tracked { inner, conn }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R, B> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: Body + Unpin,
{
    type Response = http::Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn call(&self, req: R) -> Self::Future {
        let busy = Busy::new(self.conn.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|inner| TrackedBody { inner, _busy: busy }))
        })
    }
}

/// A response body that keeps its connection busy until sent (hyper drops it then).
pub struct TrackedBody<B> {
    inner: B,
    _busy: Busy,
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_stays_below_the_file_limit() {
        // 1 volume: 80 reserved, 3 handles per connection.
        assert_eq!(connection_cap(0, 20_000, 1), (20_000 - 80) / 3);
        assert_eq!(connection_cap(64, 20_000, 1), 64);
        assert_eq!(connection_cap(1_000_000, 4_096, 1), (4_096 - 80) / 3);
        // 4 volumes: 128 reserved, 9 per connection.
        assert_eq!(connection_cap(0, 4_096, 4), (4_096 - 128) / 9);
        // A tiny limit still serves a few.
        assert_eq!(connection_cap(0, 50, 1), MIN_CONNECTIONS);
    }

    fn timeouts() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(2),
            idle: Duration::from_secs(10),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_connection_phase() {
        let conn = Arc::new(Conn::new(timeouts()));
        let start = Instant::now();
        assert_eq!(conn.deadline(None), Some(start + Duration::from_secs(2)));
        let busy = Busy::new(conn.clone());
        assert_eq!(
            conn.deadline(None),
            None,
            "no deadline while a request runs"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(busy);
        let idle_from = Instant::now();
        assert_eq!(
            conn.deadline(None),
            Some(idle_from + Duration::from_secs(10))
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        conn.received();
        assert_eq!(
            conn.deadline(None),
            Some(Instant::now() + Duration::from_secs(2)),
            "a new head has the header timeout from its first byte"
        );
        let before = conn.deadline(None);
        conn.received();
        assert_eq!(conn.deadline(None), before, "later bytes do not extend it");
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_picks_the_longest_idle_and_never_a_busy_one() {
        let conns = Connections::new(3, timeouts());
        let a = conns.admit().await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let b = conns.admit().await;
        // Distinct admission times: with paused time, b and c would otherwise tie.
        tokio::time::advance(Duration::from_secs(1)).await;
        let c = conns.admit().await;
        let _busy = Busy::new(a.conn().clone());
        assert!(conns.evict_one());
        assert!(b.conn().lock().evicted, "b is the oldest not busy");
        assert!(!a.conn().lock().evicted && !c.conn().lock().evicted);
        assert!(conns.evict_one());
        assert!(c.conn().lock().evicted);
        assert!(!conns.evict_one(), "only a busy one is left");
        drop(b);
        // A freed slot admits the next connection at once.
        let _d = tokio::time::timeout(Duration::from_secs(1), conns.admit())
            .await
            .expect("slot freed");
    }
}
