//! Start-up checks, the accept loop (HTTP or HTTPS) and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rustfs_object::ObjectStore;
use rustfs_s3::RustFsS3;
use rustfs_s3::access::AccessControl;
use rustfs_s3::route::UnsupportedServices;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::config::{self, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, ServerArgs};
use crate::http_layer::HttpLayer;
use crate::{tls, users};

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

fn raise_open_file_limit() {
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get()
        && soft < hard
        && let Err(e) = rlimit::Resource::NOFILE.set(hard, hard)
    {
        tracing::debug!(error = %e, "could not raise the open-file limit");
    }
}

pub async fn server(args: ServerArgs) -> Result<(), String> {
    let started = SystemTime::now();
    let volumes = config::expand_volumes(&args.volumes)?;
    let addr = config::parse_address(&args.address)?;
    let (access_key, secret_key) = credentials(&args, addr.ip().is_loopback())?;
    let tls = args.tls_path.as_deref().map(tls::load).transpose()?;
    if args.console_enable {
        tracing::warn!(
            "the web console is not available in this version; RUSTFS_CONSOLE_ENABLE is ignored"
        );
    }
    raise_open_file_limit();

    let opened = tokio::task::spawn_blocking(move || ObjectStore::open(&volumes))
        .await
        .map_err(|e| e.to_string())?;
    let store = Arc::new(opened.map_err(|e| format!("cannot open the volumes: {e}"))?);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;

    let keys = users::keyring(
        (access_key, secret_key),
        users::RootIdentity {
            user_id: args.root_user_id.clone(),
            display_name: args.root_display_name.clone(),
            email: args.root_email.clone(),
        },
        args.users_file.as_deref(),
    )?;
    let mut builder = S3ServiceBuilder::new(RustFsS3::new(
        store.clone(),
        args.region.clone(),
        keys.clone(),
    ));
    builder.set_auth(keys.clone());
    builder.set_access(AccessControl::new(store.clone(), keys));
    builder.set_route(UnsupportedServices);
    let domains: Vec<&str> = args
        .server_domains
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .collect();
    if !domains.is_empty() {
        let host = rustfs_s3::host::Domains::new(&domains)
            .map_err(|e| format!("invalid RUSTFS_SERVER_DOMAINS: {e}"))?;
        builder.set_host(host);
    }
    let service = HttpLayer::new(builder.build(), &domains);

    let sweeper = store.clone();
    tokio::task::spawn_blocking(move || {
        let r = sweeper.sweep_orphans(started);
        if r.removed > 0 || r.unreadable > 0 {
            tracing::info!(
                scanned = r.scanned,
                removed = r.removed,
                unreadable = r.unreadable,
                "orphan sweep finished"
            );
        }
    });

    let scheme = if tls.is_some() { "https" } else { "http" };
    let roots: Vec<String> = store
        .volume_roots()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // On a wildcard address, show a URL a client on this machine can use.
    let (shown, scope) = match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            (format!("127.0.0.1:{}", local.port()), "; all interfaces")
        }
        ip if ip.is_unspecified() => (format!("[::1]:{}", local.port()), "; all interfaces"),
        _ => (local.to_string(), ""),
    };
    println!(
        "RustFS {}: serving S3 on {scheme}://{shown} (volumes: {}; region: {}{scope})",
        env!("CARGO_PKG_VERSION"),
        roots.join(", "),
        args.region
    );
    if !domains.is_empty() {
        println!(
            "RustFS: virtual-hosted-style buckets under {}",
            domains.join(", ")
        );
    }
    drop(store);
    run(listener, tls, service, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Serves connections until `shutdown` resolves, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    service: HttpLayer,
    shutdown: impl Future<Output = ()>,
) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
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
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        match &acceptor {
            None => {
                let conn = http
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let http = http.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls_stream = match tokio::time::timeout(
                        Duration::from_secs(10),
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
                    let conn = http
                        .serve_connection(TokioIo::new(tls_stream), service)
                        .into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
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
