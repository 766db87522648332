//! Command line and environment (names follow upstream RustFS so deployments carry over).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rustfs",
    version,
    about = "RustFS: S3-compatible object storage"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as text or as JSON objects, one a line (which events: `RUST_LOG`).
    #[arg(
        long,
        global = true,
        env = "RUSTFS_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

/// How log lines are written (`--log-format`, `RUSTFS_LOG_FORMAT`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines: time, level, spans (`request{request_id=...}`), target, message.
    Text,
    /// One JSON object a line: `timestamp`, `level`, `message` and the event's fields,
    /// `target`, `span` and `spans` (the request's span with its `request_id` among them).
    Json,
}

// Parsed once at start: the size of the server's arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve S3 from one or more volumes (directories; `/data{1...4}` expands to four).
    Server(ServerArgs),
    /// Measure an S3 endpoint (any server): ops/s, MiB/s, latency percentiles.
    Bench(rustfs_bench::BenchArgs),
    /// Check every object on a running server and repair missing or damaged shards.
    Heal(crate::heal_cmd::HealArgs),
    /// Look at or grow a cluster through the database its nodes share.
    Cluster(crate::cluster_cmd::ClusterArgs),
    /// Print a bearer token for the Prometheus metrics endpoints and a scrape configuration
    /// (as `mc admin prometheus generate`).
    PrometheusToken(crate::prometheus_cmd::PrometheusTokenArgs),
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Volume directories. Also RUSTFS_VOLUMES (separated by spaces or commas).
    #[arg(env = "RUSTFS_VOLUMES", value_delimiter = ',', num_args = 1.., required = true)]
    pub volumes: Vec<String>,
    /// Address to listen on, HOST:PORT or :PORT.
    #[arg(long, env = "RUSTFS_ADDRESS", default_value = ":9000")]
    pub address: String,
    /// Access key of the root user.
    #[arg(long, env = "RUSTFS_ACCESS_KEY")]
    pub access_key: Option<String>,
    /// Secret key of the root user.
    #[arg(long, env = "RUSTFS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// JSON file of extra users, each with its own keys, user id and display name (see
    /// README). Also RUSTFS_USERS_FILE.
    #[arg(long, env = "RUSTFS_USERS_FILE")]
    pub users_file: Option<PathBuf>,
    /// Canonical user id of the root user (default: derived from its access key).
    #[arg(long, env = "RUSTFS_ROOT_USER_ID")]
    pub root_user_id: Option<String>,
    /// Display name of the root user (default: its access key).
    #[arg(long, env = "RUSTFS_ROOT_DISPLAY_NAME")]
    pub root_display_name: Option<String>,
    /// E-mail address of the root user, for ACL grants by e-mail.
    #[arg(long, env = "RUSTFS_ROOT_EMAIL")]
    pub root_email: Option<String>,
    /// Domains for virtual-hosted-style requests (BUCKET.DOMAIN), comma-separated.
    #[arg(long, env = "RUSTFS_SERVER_DOMAINS", value_delimiter = ',')]
    pub server_domains: Vec<String>,
    /// Region reported for buckets and expected in signatures' scope.
    #[arg(long, env = "RUSTFS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Directory with rustfs_cert.pem and rustfs_key.pem: serve HTTPS.
    #[arg(long, env = "RUSTFS_TLS_PATH")]
    pub tls_path: Option<PathBuf>,
    /// Serve the web console on --console-address (off by default).
    #[arg(long, env = "RUSTFS_CONSOLE_ENABLE", default_value_t = false)]
    pub console_enable: bool,
    /// Address of the web console, HOST:PORT or :PORT (HTTPS when --tls-path is given, with
    /// the same certificate as the S3 port).
    #[arg(long, env = "RUSTFS_CONSOLE_ADDRESS", default_value = ":9001")]
    pub console_address: String,
    /// The S3 endpoint's URL as clients reach it (behind a proxy or a load balancer); the
    /// console's share links point there. Default: the console's host on the S3 port.
    #[arg(long, env = "RUSTFS_SERVER_URL")]
    pub server_url: Option<String>,
    /// Parity shards per object, as `EC:<parity>` (default by volume count: 1 volume EC:0,
    /// 2-3 EC:1, 4-5 EC:2, 6-7 EC:3, 8+ EC:4). At most half the volumes.
    #[arg(long, env = "RUSTFS_STORAGE_CLASS_STANDARD")]
    pub storage_class: Option<String>,
    /// Seconds between background deep heal passes (0 disables them).
    #[arg(long, env = "RUSTFS_SCANNER_INTERVAL", default_value_t = 86_400)]
    pub scanner_interval: u64,
    /// MiB per second a background heal pass may read.
    #[arg(long, env = "RUSTFS_SCANNER_RATE", default_value_t = 64)]
    pub scanner_rate: u64,
    /// Debug: a lifecycle day lasts this many seconds instead of a real day (0: real days),
    /// and the lifecycle worker looks for due work every few of them.
    #[arg(long, env = "RUSTFS_LIFECYCLE_DAY_SECONDS", default_value_t = 0)]
    pub lifecycle_day_seconds: u64,
    /// Seconds after which an incomplete multipart upload is aborted in any bucket (0: never;
    /// a bucket's lifecycle rule can still abort its own).
    #[arg(long, env = "RUSTFS_STALE_UPLOAD_EXPIRY", default_value_t = 0)]
    pub stale_upload_expiry: u64,
    /// Object versions per second the lifecycle worker may examine.
    #[arg(long, env = "RUSTFS_LIFECYCLE_RATE", default_value_t = 1000)]
    pub lifecycle_rate: u64,
    /// MiB of request bodies held whole in memory at once, over all requests: XML and JSON
    /// documents, browser-form uploads (up to 65 MiB each) and uploads sent without a length
    /// (up to 16 MiB each). A request that would go past it is answered 503 SlowDown.
    #[arg(
        long,
        env = "RUSTFS_BUFFERED_BODIES_MIB",
        default_value_t = rustfs_s3::edge::DEFAULT_BUDGET_MIB
    )]
    pub buffered_bodies_mib: u64,
    /// MiB that the uploads whose bytes are flowing may hold at once for staging (data file
    /// buffers, erasure blocks, MD5 queues: about 1.5 MiB per upload on one volume, 6 MiB
    /// with 2+2 erasure coding). Uploads past it wait their turn, their clients slowed by TCP;
    /// 0: no limit.
    #[arg(
        long,
        env = "RUSTFS_UPLOAD_STAGING_MIB",
        default_value_t = (rustfs_object::ingest::DEFAULT_STAGING_BUDGET >> 20) as u64
    )]
    pub upload_staging_mib: u64,
    /// Seconds a client may take to send a request head: from the connection's start (TLS
    /// handshake included) or from the first byte of a later request on a kept-alive
    /// connection. Slow senders (slowloris) are disconnected. Also
    /// RUSTFS_HTTP1_HEADER_READ_TIMEOUT (upstream's name).
    #[arg(
        long,
        env = "RUSTFS_HTTP1_HEADER_READ_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout: u64,
    /// Seconds a kept-alive connection may stay idle (no request in progress, nothing sent)
    /// before it is closed.
    #[arg(
        long,
        env = "RUSTFS_HTTP_IDLE_TIMEOUT",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub idle_timeout: u64,
    /// Most client connections served at once (0: derived from the open-file limit, which
    /// always caps it, keeping file handles for the volumes). At the cap, the connection idle
    /// the longest is closed to make room; if none is idle, new connections wait.
    #[arg(long, env = "RUSTFS_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,
    /// Free space each volume keeps for metadata commits and deletes: `auto` (1% of the
    /// filesystem, at least 1 GiB, at most 5%), a size (`2GiB`, `0`) or a share (`2%`). Data
    /// writes that would use it are refused with 507 XMinioStorageFull.
    #[arg(long, env = "RUSTFS_VOLUME_RESERVE", default_value = "auto", value_parser = rustfs_object::Reserve::parse)]
    pub volume_reserve: rustfs_object::Reserve,
    /// Metadata in a PostgreSQL-wire database instead of the embedded store on the volumes:
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (`postgresql://` too; `?sslmode=require` or
    /// `verify-full` for TLS). Data stays on the local volumes either way.
    #[arg(long, env = "RUSTFS_META_URL")]
    pub meta_url: Option<String>,
    /// Run as a node of a cluster: the address the other nodes reach this one at
    /// (`http://HOST:PORT`). Needs `--meta-url` (the database every node shares) and
    /// `RUSTFS_CLUSTER_SECRET`.
    #[arg(long, env = "RUSTFS_NODE_ADDRESS")]
    pub node_address: Option<String>,
    /// The secret every node of a cluster shares, signing the traffic between them (at least 16
    /// characters; never an S3 key).
    #[arg(long, env = "RUSTFS_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// How many nodes must register before the cluster's first layout is formed (later nodes
    /// join as a new pool with `rustfs` started the same way).
    #[arg(long, env = "RUSTFS_CLUSTER_NODES", default_value_t = 1)]
    pub cluster_nodes: usize,
    /// Serve the default credentials on a non-loopback address anyway.
    #[arg(
        long,
        env = "RUSTFS_ALLOW_DEFAULT_CREDENTIALS",
        default_value_t = false
    )]
    pub allow_default_credentials: bool,
    /// Accept SSE-C keys over plain HTTP (for test suites only: the key travels in clear).
    #[arg(long, env = "RUSTFS_SSE_C_ALLOW_INSECURE", default_value_t = false)]
    pub sse_c_allow_insecure: bool,
}

/// The built-in KMS's master keys (environment only, never a command-line flag: they are
/// secrets): `RUSTFS_KMS_SECRET_KEYS`, `NAME:BASE64` entries of 32-byte keys, comma-separated,
/// the first the default key and the SSE-S3 master key (see docs/encryption.md); else MinIO's
/// one-key `MINIO_KMS_SECRET_KEY` in the same form; else none.
pub fn kms_secret_keys() -> String {
    std::env::var("RUSTFS_KMS_SECRET_KEYS")
        .or_else(|_| std::env::var("MINIO_KMS_SECRET_KEY"))
        .unwrap_or_default()
}

pub const DEFAULT_ACCESS_KEY: &str = "rustfsadmin";
pub const DEFAULT_SECRET_KEY: &str = "rustfsadmin";

/// `:9000` means every interface; otherwise HOST:PORT (IPv6 as `[::1]:9000`).
pub fn parse_address(s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    };
    if let Ok(a) = full.parse() {
        return Ok(a);
    }
    use std::net::ToSocketAddrs;
    full.to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| format!("invalid --address {s:?}: expected HOST:PORT or :PORT"))
}

/// Expands volume arguments: splits on whitespace and expands `{A...B}` ranges (`/d{1...4}`).
pub fn expand_volumes(args: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for arg in args.iter().flat_map(|a| a.split_whitespace()) {
        for v in expand_one(arg)? {
            out.push(PathBuf::from(v));
        }
    }
    if out.is_empty() {
        return Err("no volume given: pass at least one directory".into());
    }
    let mut seen = std::collections::HashSet::new();
    for v in &out {
        if !seen.insert(v) {
            return Err(format!("volume {} is given twice", v.display()));
        }
    }
    Ok(out)
}

fn expand_one(s: &str) -> Result<Vec<String>, String> {
    let Some(open) = s.find('{') else {
        return Ok(vec![s.to_string()]);
    };
    let close = s[open..]
        .find('}')
        .map(|c| c + open)
        .ok_or_else(|| format!("unbalanced brace in {s:?}"))?;
    let inner = &s[open + 1..close];
    let (a, b) = inner
        .split_once("...")
        .ok_or_else(|| format!("expected {{A...B}} in {s:?}"))?;
    let width = if a.starts_with('0') && a.len() > 1 {
        a.len()
    } else {
        0
    };
    let (a, b): (u32, u32) = (
        a.parse().map_err(|_| format!("bad range start in {s:?}"))?,
        b.parse().map_err(|_| format!("bad range end in {s:?}"))?,
    );
    if a > b || b - a > 1024 {
        return Err(format!("bad range in {s:?}"));
    }
    let mut out = Vec::new();
    for n in a..=b {
        let head = format!("{}{n:0width$}", &s[..open]);
        for tail in expand_one(&s[close + 1..])? {
            out.push(format!("{head}{tail}"));
        }
    }
    Ok(out)
}

/// Where metadata lives, from `--meta-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaBackend {
    /// The embedded store, replicated on the volumes.
    Embedded,
    /// A PostgreSQL-wire database at this URL.
    Postgres(String),
}

/// The backend `--meta-url` names: none (or empty) is the embedded store; `postgres://` and
/// `postgresql://` URLs a database; anything else is refused.
pub fn meta_backend(url: Option<&str>) -> Result<MetaBackend, String> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(MetaBackend::Embedded);
    };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Ok(MetaBackend::Postgres(url.to_string()))
    } else {
        Err(format!(
            "RUSTFS_META_URL must be a postgres:// or postgresql:// URL, not {}",
            redact_url(url)
        ))
    }
}

/// `url` without its password, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparsable URL)".into();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    match auth {
        Some(a) => {
            let user = a.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_expand() {
        let v = expand_volumes(&["/data{1...4}".into()]).unwrap();
        assert_eq!(
            v,
            ["/data1", "/data2", "/data3", "/data4"].map(PathBuf::from)
        );
        let v = expand_volumes(&["/a /b".into(), "/c".into()]).unwrap();
        assert_eq!(v.len(), 3);
        let v = expand_volumes(&["/d{01...03}/x".into()]).unwrap();
        assert_eq!(v[0], PathBuf::from("/d01/x"));
        assert!(expand_volumes(&["/d{4...1}".into()]).is_err());
        assert!(expand_volumes(&["/d{1..4}".into()]).is_err());
        assert!(expand_volumes(&["/a".into(), "/a".into()]).is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_address(":9000").unwrap().to_string(), "0.0.0.0:9000");
        assert_eq!(parse_address("127.0.0.1:0").unwrap().port(), 0);
        assert!(parse_address("[::1]:9000").unwrap().is_ipv6());
        assert!(parse_address("nonsense").is_err());
    }

    #[test]
    fn meta_urls() {
        assert_eq!(meta_backend(None), Ok(MetaBackend::Embedded));
        assert_eq!(meta_backend(Some(" ")), Ok(MetaBackend::Embedded));
        let u = "postgres://u:secret@127.0.0.1:5432/db";
        assert_eq!(meta_backend(Some(u)), Ok(MetaBackend::Postgres(u.into())));
        assert!(matches!(
            meta_backend(Some("postgresql://h/db")),
            Ok(MetaBackend::Postgres(_))
        ));
        let e = meta_backend(Some("mysql://u:secret@h/db")).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert_eq!(redact_url(u), "postgres://u:***@127.0.0.1:5432/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
