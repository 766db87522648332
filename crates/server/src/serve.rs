//! Start-up checks, the accept loop (HTTP or HTTPS) and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rustfs_object::{Layout, ObjectStore};
use rustfs_s3::access::ClientInfo;
use rustfs_s3::edge::{Edge, EdgeConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::config::{self, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, ServerArgs};
use crate::connections::{self, Connections, Timed, Timeouts, Tracked};
use crate::routes::Routes;
use crate::{cluster_node, tls, users};

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn credentials(args: &ServerArgs, loopback: bool) -> Result<(String, String), String> {
    match (&args.access_key, &args.secret_key) {
        (Some(a), Some(s)) => {
            if a.len() < 3 {
                return Err("the access key must be at least 3 characters long".into());
            }
            if s.len() < 8 {
                return Err("the secret key must be at least 8 characters long".into());
            }
            Ok((a.clone(), s.clone()))
        }
        (None, None) => {
            if !loopback && !args.allow_default_credentials {
                return Err(format!(
                    "refusing to serve the default credentials ({DEFAULT_ACCESS_KEY}/{DEFAULT_SECRET_KEY}) on {}: set RUSTFS_ACCESS_KEY and RUSTFS_SECRET_KEY, listen on 127.0.0.1, or pass --allow-default-credentials",
                    args.address
                ));
            }
            tracing::warn!("no credentials given: using the default {DEFAULT_ACCESS_KEY}/{DEFAULT_SECRET_KEY}; set RUSTFS_ACCESS_KEY and RUSTFS_SECRET_KEY");
            Ok((DEFAULT_ACCESS_KEY.into(), DEFAULT_SECRET_KEY.into()))
        }
        _ => Err("RUSTFS_ACCESS_KEY and RUSTFS_SECRET_KEY (--access-key/--secret-key) must be given together".into()),
    }
}

/// Raises the soft open-file limit to the hard limit (systemd and most shells start services
/// at 1,024 soft, far below what a server with many clients needs) and returns the limit in
/// force, on which the connection cap is based.
fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!(error = %e, "could not raise the open-file limit");
            rlimit::Resource::NOFILE
                .get()
                .map_or(1024, |(soft, _)| soft)
        }
    }
}

pub async fn server(args: ServerArgs) -> Result<(), String> {
    let started = SystemTime::now();
    let volumes = config::expand_volumes(&args.volumes)?;
    let addr = config::parse_address(&args.address)?;
    // The metrics recorder, before anything records (the metadata store's commits).
    let metrics_label = args
        .node_address
        .clone()
        .unwrap_or_else(|| args.address.clone());
    rustfs_s3::metrics::install(&metrics_label)
        .map_err(|e| format!("cannot start the metrics recorder: {e}"))?;
    rustfs_s3::metrics::scrape::started();
    let (access_key, secret_key) = credentials(&args, addr.ip().is_loopback())?;
    let tls = args.tls_path.as_deref().map(tls::load).transpose()?;
    let console_addr = if args.console_enable {
        Some(config::parse_address(&args.console_address)?)
    } else {
        None
    };
    let open_files = raise_open_file_limit();
    let cap = connections::connection_cap(args.max_connections, open_files, volumes.len());
    if args.max_connections > cap {
        tracing::warn!(
            configured = args.max_connections,
            open_files,
            cap,
            "RUSTFS_MAX_CONNECTIONS is above what the open-file limit allows; using the lower cap"
        );
    }
    let conns = Connections::new(
        cap,
        Timeouts {
            header: Duration::from_secs(args.header_read_timeout),
            idle: Duration::from_secs(args.idle_timeout),
        },
    );
    tracing::info!(
        max_connections = cap,
        open_files,
        header_read_timeout = args.header_read_timeout,
        idle_timeout = args.idle_timeout,
        "connection limits"
    );

    let reserve = args.volume_reserve;
    let backend = config::meta_backend(args.meta_url.as_deref())?;
    let mut away = None;
    let node_name: String;
    let (store, internode, layout) = match &args.node_address {
        None => {
            let layout = match &args.storage_class {
                Some(class) => Layout::from_storage_class(volumes.len(), class),
                None => Layout::default_for(volumes.len()),
            }
            .map_err(|e| format!("invalid erasure layout: {e}"))?;
            let store = open_store(volumes, layout, reserve, &backend).await?;
            node_name = "local".to_string();
            (Arc::new(store), None, layout.to_string())
        }
        Some(address) => {
            let config::MetaBackend::Postgres(url) = &backend else {
                return Err("a cluster node (--node-address) needs the database every node shares: set RUSTFS_META_URL (--meta-url)".into());
            };
            let secret = args.cluster_secret.clone().ok_or(
                "a cluster node (--node-address) needs RUSTFS_CLUSTER_SECRET, the secret every node shares",
            )?;
            let meta: Arc<dyn rustfs_meta::TxnStore> = Arc::new(open_database(url).await?);
            let joined = cluster_node::join(
                meta.clone(),
                volumes,
                &cluster_node::ClusterArgs {
                    address: address.clone(),
                    secret,
                    expected_nodes: args.cluster_nodes,
                    storage_class: args.storage_class.clone(),
                    tls: internode_tls(args.tls_path.as_deref())?,
                },
                reserve,
            )
            .await?;
            joined.spawn_upkeep(meta.clone());
            let shown_layout = format!(
                "{} per set, {} sets, layout version {}, node {}",
                joined.data.layout(),
                joined.layout.pools.last().map_or(0, |p| p.sets.len()),
                joined.layout.version,
                joined.node_id
            );
            let store = ObjectStore::new(meta, joined.data.clone())
                .map_err(|e| format!("cannot open the object store: {e}"))?;
            away = Some(joined.away.clone());
            node_name = format!("node-{}", joined.node_id);
            (Arc::new(store), Some(joined.service.clone()), shown_layout)
        }
    };
    let kms_keys = rustfs_object::sse::Kms::parse_keys(&config::kms_secret_keys())
        .map_err(|e| format!("RUSTFS_KMS_SECRET_KEYS: {e}"))?;
    store.set_kms(rustfs_object::sse::Kms::new(
        kms_keys,
        secret_key.as_bytes(),
    ));
    if args.sse_c_allow_insecure {
        tracing::warn!("RUSTFS_SSE_C_ALLOW_INSECURE: SSE-C keys are accepted over plain HTTP");
    }
    rustfs_s3::sse::allow_customer_keys_over_http(args.sse_c_allow_insecure);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let console_listener = match console_addr {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|e| format!("cannot listen on {a} for the console: {e}"))?,
        ),
        None => None,
    };

    let (keys, accounts) = users::keyring(
        (access_key, secret_key),
        users::RootIdentity {
            user_id: args.root_user_id.clone(),
            display_name: args.root_display_name.clone(),
            email: args.root_email.clone(),
        },
        args.users_file.as_deref(),
    )?;
    let domains: Vec<&str> = args
        .server_domains
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .collect();
    let vhost_domains = if domains.is_empty() {
        None
    } else {
        Some(
            rustfs_s3::host::Domains::new(&domains)
                .map_err(|e| format!("invalid RUSTFS_SERVER_DOMAINS: {e}"))?,
        )
    };
    let staging =
        usize::try_from(args.upload_staging_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    rustfs_object::ingest::set_staging_budget(staging);
    rustfs_object::lifecycle::set_day_seconds(args.lifecycle_day_seconds);
    let buffered_bytes =
        usize::try_from(args.buffered_bodies_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let identities = start_identities(&store, keys.clone(), accounts).await;
    let audit = crate::audit::Audit::start(
        &crate::audit::AuditSettings::from_env()?,
        crate::audit::Origin {
            deployment_id: String::new(),
            node: node_name.clone(),
        },
    )?;
    if let Some(a) = &audit {
        tracing::info!(targets = a.describe(), "audit log on");
    }
    let edge = Edge::new(EdgeConfig {
        store: store.clone(),
        identities,
        keys,
        region: args.region.clone(),
        domains: vhost_domains,
        buffered_bytes,
        sinks: {
            let mut sinks: Vec<Arc<dyn rustfs_s3::edge::observe::RequestSink>> =
                vec![Arc::new(rustfs_s3::metrics::RequestMetrics::new())];
            sinks.extend(audit.iter().map(|a| a.sink.clone() as _));
            sinks
        },
        scrape_auth: rustfs_s3::metrics::token::ScrapeAuth::from_env(),
    });
    let console = console_listener.map(|l| {
        let site = rustfs_console::Console::new(rustfs_console::ConsoleConfig {
            s3_url: args.server_url.clone(),
            s3_port: Some(local.port()),
            region: args.region.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        });
        (l, Routes::console(edge.clone(), site))
    });
    let service = Routes::new(edge, internode);

    crate::background::start(
        &store,
        crate::background::BackgroundArgs {
            deep_heal_every: args.scanner_interval,
            heal_rate_mib: args.scanner_rate,
            lifecycle_rate: args.lifecycle_rate,
            stale_upload_expiry: args.stale_upload_expiry,
            started,
            away,
            node: node_name,
        },
    );

    let scheme = if tls.is_some() { "https" } else { "http" };
    let roots: Vec<String> = store
        .volume_roots()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let (shown, scope) = shown_address(local);
    // Installed before the server says it is serving (see `shutdown_signal`).
    let shutdown = futures::FutureExt::shared(Box::pin(shutdown_signal()));
    println!(
        "RustFS {}: serving S3 on {scheme}://{shown} (volumes: {}; erasure {layout}; metadata: {}; region: {}{scope})",
        env!("CARGO_PKG_VERSION"),
        roots.join(", "),
        store.meta_backend(),
        args.region
    );
    if !domains.is_empty() {
        println!(
            "RustFS: virtual-hosted-style buckets under {}",
            domains.join(", ")
        );
    }
    drop(store);
    let console = match console {
        Some((listener, routes)) => {
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            let (shown, scope) = shown_address(local);
            let all = if scope.is_empty() {
                ""
            } else {
                " (all interfaces)"
            };
            println!("RustFS: serving the web console on {scheme}://{shown}{all}");
            Some(tokio::spawn(run(
                listener,
                tls.clone(),
                routes,
                conns.clone(),
                shutdown.clone(),
            )))
        }
        None => None,
    };
    run(listener, tls, service, conns, shutdown).await;
    if let Some(console) = console {
        let _ = console.await;
    }
    if let Some(a) = audit {
        a.stop().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A URL host:port for `local` that a client on this machine can use (on a wildcard address,
/// loopback), and a note saying it listens on all interfaces.
fn shown_address(local: std::net::SocketAddr) -> (String, &'static str) {
    match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            (format!("127.0.0.1:{}", local.port()), "; all interfaces")
        }
        ip if ip.is_unspecified() => (format!("[::1]:{}", local.port()), "; all interfaces"),
        _ => (local.to_string(), ""),
    }
}

/// How often each server looks whether identities changed (one small read): a change made on
/// another node is in force here within this.
const IDENTITY_POLL: Duration = Duration::from_millis(500);

/// The identity store on the metadata backend: seeded with the root user and the users file,
/// loaded into `keys`, then kept in step by a poll. If the store cannot be read at start the
/// server serves the command line's accounts and keeps trying.
async fn start_identities(
    store: &Arc<ObjectStore>,
    keys: rustfs_s3::auth::Keyring,
    accounts: Vec<rustfs_s3::auth::User>,
) -> rustfs_s3::identity::Identities {
    let mut accounts = accounts.into_iter();
    let root = accounts
        .next()
        .expect("the keyring's users start with the root user");
    let others: Vec<_> = accounts.collect();
    let sealer = rustfs_iam::Sealer::new(root.secret_key.as_bytes());
    let iam = rustfs_iam::Iam::new(store.meta(), sealer);
    let identities = rustfs_s3::identity::Identities::new(iam, keys, root);
    let seeded = async {
        identities.seed(&others).await?;
        identities.reload().await
    };
    if let Err(e) = seeded.await {
        tracing::warn!("identities: cannot seed or load the identity store yet: {e}");
    }
    let live = identities.clone();
    tokio::spawn(async move {
        let mut seeded = live.keys().loaded();
        let mut tick = tokio::time::interval(IDENTITY_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !seeded {
                seeded = live.seed(&others).await.is_ok();
            }
            if let Err(e) = live.refresh().await {
                tracing::debug!("identities: refresh failed: {e}");
            }
        }
    });
    identities
}

/// The PostgreSQL-wire metadata database at `url` (schema checked and migrated); the error
/// names it with the password hidden.
pub async fn open_database(url: &str) -> Result<rustfs_meta::PgStore, String> {
    rustfs_meta::PgStore::open(url).await.map_err(|e| {
        format!(
            "cannot open the metadata database {}: {e}",
            config::redact_url(url)
        )
    })
}

/// How a cluster node checks the other nodes' certificates: the system's roots, plus this
/// node's own certificate chain and every `CAs/*` file in its TLS directory (nodes whose
/// certificates share a private CA, or share one certificate, trust each other).
fn internode_tls(
    dir: Option<&std::path::Path>,
) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    let mut pems = Vec::new();
    if let Some(dir) = dir {
        let own = dir.join(tls::CERT_FILE);
        pems.push(std::fs::read(&own).map_err(|e| format!("cannot read {}: {e}", own.display()))?);
        if let Ok(entries) = std::fs::read_dir(dir.join("CAs")) {
            for e in entries.flatten() {
                if e.path().is_file() {
                    pems.push(
                        std::fs::read(e.path())
                            .map_err(|err| format!("cannot read {}: {err}", e.path().display()))?,
                    );
                }
            }
        }
    }
    rustfs_internode::tls_config(&pems).map_err(|e| format!("TLS between nodes: {e}"))
}

/// The object layer over the volumes and the metadata backend `backend` names: the embedded
/// store replicated on the volumes, or a PostgreSQL-wire database. A database that cannot be
/// reached (or holds a newer schema) ends the start with a message naming it, without waiting:
/// whatever supervises the server restarts it.
async fn open_store(
    volumes: Vec<std::path::PathBuf>,
    layout: Layout,
    reserve: rustfs_object::Reserve,
    backend: &config::MetaBackend,
) -> Result<ObjectStore, String> {
    match backend {
        config::MetaBackend::Embedded => {
            let opened = tokio::task::spawn_blocking(move || {
                ObjectStore::open_with_reserve(&volumes, layout, reserve)
            })
            .await
            .map_err(|e| e.to_string())?;
            let store = opened.map_err(|e| format!("cannot open the volumes: {e}"))?;
            tracing::info!(
                backend = "redb",
                "metadata in the embedded store on the volumes"
            );
            Ok(store)
        }
        config::MetaBackend::Postgres(url) => {
            let meta = open_database(url).await?;
            let data = tokio::task::spawn_blocking(move || {
                ObjectStore::open_data(&volumes, layout, reserve)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot open the volumes: {e}"))?;
            tracing::info!(backend = "postgres", database = %config::redact_url(url), "metadata in a PostgreSQL database");
            ObjectStore::new(Arc::new(meta), Arc::new(data))
                .map_err(|e| format!("cannot open the object store: {e}"))
        }
    }
}

/// The end of serving: the first SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal sent as soon as the server says it
/// is serving still stops it gracefully (before, it could kill the process outright).
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                // No handler could be installed: serve until Ctrl-C.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Most bytes hyper buffers per connection while reading (a request head must fit; body bytes
/// are handed on in pieces of at most this size). hyper's default (~400 KiB) was a large part
/// of the memory held per upload stream; 64 KiB (upstream RustFS's default) cost ~50% more
/// server CPU per large PUT (six times the pieces to queue, hash and write).
const HTTP1_MAX_BUF_SIZE: usize = 64 * 1024;

/// Serves connections until `shutdown` resolves, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    service: Routes,
    conns: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = ConnBuilder::new(TokioExecutor::new());
    // Head and idle deadlines are ours (`connections::Timed`); hyper's header timer would
    // start at the end of the previous response.
    http.http1()
        .header_read_timeout(None)
        .max_buf_size(HTTP1_MAX_BUF_SIZE);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    let handshake_timeout = conns.timeouts().header;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            res = listener.accept() => match res {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        // Beyond the cap this closes an idle connection, or waits for a busy one to end
        // (later clients wait in the listen backlog meanwhile).
        let slot = tokio::select! {
            slot = conns.admit() => slot,
            () = shutdown.as_mut() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.for_client(ClientInfo {
            ip: peer.ip(),
            secure: acceptor.is_some(),
        });
        let conn = slot.conn().clone();
        let service = Tracked::new(service, conn.clone());
        let stream = Timed::new(stream, conn.clone());
        let acceptor = acceptor.clone();
        let http = http.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let served = async {
                let result = match acceptor {
                    None => {
                        let c = http
                            .serve_connection(TokioIo::new(stream), service)
                            .into_owned();
                        watcher.watch(c).await
                    }
                    Some(acceptor) => {
                        let tls_stream = match tokio::time::timeout(
                            handshake_timeout,
                            acceptor.accept(stream),
                        )
                        .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                return tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            }
                            Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                        };
                        let c = http
                            .serve_connection(TokioIo::new(tls_stream), service)
                            .into_owned();
                        watcher.watch(c).await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            };
            tokio::select! {
                () = served => {}
                () = conn.evicted() => {
                    tracing::debug!(%peer, "connection closed to make room under the cap");
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
}
