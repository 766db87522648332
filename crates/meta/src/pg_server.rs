//! A real PostgreSQL for the tests, from the distribution's package: `initdb` in a temporary
//! directory, `pg_ctl start` on a free loopback port (socket directory inside the temporary
//! directory). One server per test binary; each test gets its own database. As root, the
//! server runs as the `postgres` user (PostgreSQL refuses root). A watcher process started
//! with it stops it (`pg_ctl stop -m immediate`) and removes the directory once this test
//! process has exited.
//!
//! Without PostgreSQL installed the tests print a skip message, except under `CI=true`, where
//! they fail (CI installs it: `scripts/install-test-deps.sh`).
//!
//! Shared by the conformance suite (`tests/conformance`, fast settings: `fsync=off`) and the
//! transaction benchmark (`benches/txn.rs`, durable settings), which include this file with
//! `#[path]`, and by other crates' tests through the `test-support` feature
//! (`rustfs_meta::pg_server`), so not every item is used by each.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct PgServer {
    port: u16,
    data: PathBuf,
}

/// Server settings (`-c name=value`) of the conformance suite: no fsync (speed; the tests check
/// semantics, not durability), many connections, quick deadlock detection.
pub const TEST_SETTINGS: &[&str] = &[
    "fsync=off",
    "max_connections=400",
    "deadlock_timeout=100ms",
    "shared_buffers=64MB",
];

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args...`, run as `postgres` when we are root.
fn as_pg_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn id_of(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .expect("run id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the postgres user exists (installed with PostgreSQL)")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

// The watcher is meant to outlive this process (it waits for it to exit), so it is not waited for.
#[allow(clippy::zombie_processes)]
pub fn start(settings: &[&str]) -> Option<PgServer> {
    let Some(bin) = find_bin_dir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("PostgreSQL (initdb, pg_ctl) is not installed; CI must have it");
        }
        eprintln!("SKIP: PostgreSQL (initdb, pg_ctl) not installed; PostgreSQL tests skipped");
        return None;
    };
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("rustfs-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    if root {
        let (uid, gid) = (id_of("-u"), id_of("-g"));
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the temp dir");
    }
    let data = dir.join("data");
    let log = dir.join("log");
    let out = as_pg_user(&bin.join("initdb"), root)
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let mut options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        dir.display()
    );
    for s in settings {
        options.push_str(" -c ");
        options.push_str(s);
    }
    let status = as_pg_user(&bin.join("pg_ctl"), root)
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "-o", &options, "start"])
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl");
    if !status.success() {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("pg_ctl start failed:\n{log}");
    }
    // Stops the server once this process is gone (a static is never dropped).
    let runuser = if root { "runuser -u postgres -- " } else { "" };
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {runuser}'{pg_ctl}' -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &watcher])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the watcher");
    Some(PgServer { port, data })
}

/// The shared server, started on first use; `None` when PostgreSQL is not installed.
pub fn server() -> Option<&'static PgServer> {
    static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
    SERVER.get_or_init(|| start(TEST_SETTINGS)).as_ref()
}

impl PgServer {
    /// The postmaster's process id (first line of `postmaster.pid`).
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The URL of database `name` (not created).
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.port
        )
    }

    /// Creates a new, empty database and returns its URL.
    pub async fn database(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        drop(client);
        let _ = task.await;
        self.url(&name)
    }
}
