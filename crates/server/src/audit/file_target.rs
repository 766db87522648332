//! The file target: entries appended to a file, one line each, through a buffer flushed at least
//! every [`FLUSH_EVERY`] and when the server stops. It runs on its own thread so a slow disk
//! never holds a runtime worker; the request path only fills its queue.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use super::queue::{Line, Tally};

/// Longest an entry waits in the buffer before it is written to the file.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
const BUFFER: usize = 64 * 1024;

/// Opens `path` for appending (created if missing) and starts the thread that writes what
/// arrives on `rx` until `stop` says so, then writes what is queued and flushes.
pub fn spawn(
    path: &Path,
    rx: mpsc::Receiver<Line>,
    tally: Tally,
    stop: watch::Receiver<bool>,
    handle: Handle,
) -> Result<JoinHandle<()>, String> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("audit file {}: {e}", path.display()))?;
    let writer = Writer {
        out: Some(BufWriter::with_capacity(BUFFER, file)),
        pending: 0,
        path: path.to_path_buf(),
        tally,
    };
    std::thread::Builder::new()
        .name("rustfs-audit-file".into())
        .spawn(move || writer.run(rx, stop, handle))
        .map_err(|e| format!("audit file: cannot start its thread: {e}"))
}

struct Writer {
    /// Always there; an `Option` only to rebuild the buffer around the file after a failure.
    out: Option<BufWriter<File>>,
    /// Entries in the buffer, not yet flushed.
    pending: u64,
    path: PathBuf,
    tally: Tally,
}

impl Writer {
    fn run(
        mut self,
        mut rx: mpsc::Receiver<Line>,
        mut stop: watch::Receiver<bool>,
        handle: Handle,
    ) {
        let mut flushed = Instant::now();
        loop {
            // Without pending entries, wait for the next one; with some, until they are due.
            let wait = if self.pending == 0 {
                FLUSH_EVERY
            } else {
                FLUSH_EVERY.saturating_sub(flushed.elapsed())
            };
            let next = handle.block_on(async {
                tokio::select! {
                    biased;
                    _ = stop.changed() => None,
                    line = tokio::time::timeout(wait, rx.recv()) => Some(line),
                }
            });
            match next {
                None | Some(Ok(None)) => break,
                Some(Ok(Some(line))) => {
                    self.write(&line);
                    while let Ok(more) = rx.try_recv() {
                        self.write(&more);
                    }
                    self.tally.queue_length(rx.len());
                }
                Some(Err(_elapsed)) => {}
            }
            if self.pending > 0 && flushed.elapsed() >= FLUSH_EVERY {
                self.flush();
                flushed = Instant::now();
            }
            if self.pending == 0 {
                flushed = Instant::now();
            }
        }
        rx.close();
        while let Ok(line) = rx.try_recv() {
            self.write(&line);
        }
        self.flush();
    }

    fn write(&mut self, line: &str) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let written = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"));
        self.pending += 1;
        if let Err(e) = written {
            self.failed(&e);
        }
    }

    fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        let Some(out) = self.out.as_mut() else {
            return;
        };
        match out.flush() {
            Ok(()) => {
                self.tally.sent(self.pending);
                self.pending = 0;
            }
            Err(e) => self.failed(&e),
        }
    }

    /// A write failed: what the buffer held is dropped (counted), the file kept for the next.
    fn failed(&mut self, e: &std::io::Error) {
        tracing::debug!(path = %self.path.display(), error = %e, "audit file: write failed");
        self.tally.dropped(
            self.pending,
            &format!("cannot write {}: {e}", self.path.display()),
        );
        self.pending = 0;
        // Rebuilt without writing what the old buffer holds (dropping it would try again).
        if let Some(out) = self.out.take() {
            let (file, _lost) = out.into_parts();
            self.out = Some(BufWriter::with_capacity(BUFFER, file));
        }
    }
}
