//! A loopback TCP proxy in front of the test PostgreSQL that can break connections on cue:
//! - [`Proxy::cut_at_next_commit`]: the next server answer carrying `COMMIT`'s completion is
//!   not forwarded and that connection is closed (the commit ran; the client never hears it);
//! - [`Proxy::set_down`]: every connection is closed and new ones are closed at once, until
//!   it is brought up again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    cut_commit: Arc<AtomicBool>,
    down: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.down.send_replace(true);
    }
}

/// `CommandComplete` ('C', length 11, "COMMIT\0") as the server sends it.
const COMMIT_COMPLETE: &[u8] = b"C\0\0\0\x0bCOMMIT\0";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:upstream` on a free loopback port.
    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut_commit = Arc::new(AtomicBool::new(false));
        let (down, _) = watch::channel(false);
        let (cut, tx) = (cut_commit.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut rx = tx.subscribe();
                if *rx.borrow_and_update() {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let cut = cut.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = pipe(client, server, cut) => {}
                        _ = rx.wait_for(|d| *d) => {}
                    }
                });
            }
        });
        Proxy {
            port,
            cut_commit,
            down,
            task,
        }
    }

    pub fn cut_at_next_commit(&self) {
        self.cut_commit.store(true, Ordering::SeqCst);
    }

    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }

    /// `url` with its port replaced by the proxy's.
    pub fn url(&self, url: &str, upstream: u16) -> String {
        url.replace(&format!(":{upstream}/"), &format!(":{}/", self.port))
    }
}

/// Copies both ways until either side closes, or until a cut commit.
async fn pipe(client: TcpStream, server: TcpStream, cut: Arc<AtomicBool>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if sw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if contains(&buf[..n], COMMIT_COMPLETE) && cut.swap(false, Ordering::SeqCst) {
                        return;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
