//! Two "nodes" in one process, over real loopback HTTP: node A's data store has two local
//! volumes and node B's two volumes through B's shard service, in one 2+2 erasure set. Writes
//! stream shards to B, reads verify B's blocks, B's death leaves reads working from parity and
//! writes refused below quorum, and a heal rebuilds B's shards once it is back.

use std::net::SocketAddr;
use std::sync::Arc;

use rustfs_data::{DataError, DataStore, Layout, RemoteVolume, Reserve, ShardHeader, ShardSet};
use rustfs_internode::{NodeLink, RemoteShardVolume, ShardService, Signer};
use tokio::net::TcpListener;

const SECRET: &str = "a-test-cluster-secret-0123456789";

fn header() -> ShardHeader {
    ShardHeader {
        bucket: "b".into(),
        key: "k".into(),
        version_id: "v".into(),
        upload_id: String::new(),
        part_number: 0,
        block_size: 64 * 1024,
        data_shards: 0,
        parity_shards: 0,
        shard_index: 0,
    }
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7919 % 251) as u8).collect()
}

/// Serves `service` on a loopback port until the returned task is aborted.
async fn serve(service: Arc<ShardService>, addr: SocketAddr) -> tokio::task::JoinHandle<()> {
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        // Connections die with the server (aborting it drops the set).
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            conns.spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let service = service.clone();
                    async move {
                        let r = service.handle(req).await;
                        Ok::<_, std::convert::Infallible>(r.map(http_body_util::Full::new))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

struct Pair {
    _dir: tempfile::TempDir,
    a: Arc<DataStore>,
    b: Arc<DataStore>,
    link: Arc<NodeLink>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    b_roots: Vec<std::path::PathBuf>,
}

async fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::from_counts(2, 2).unwrap();
    let set = ShardSet {
        layout,
        volumes: vec![0, 1, 2, 3],
    };
    let b_roots = vec![dir.path().join("b2"), dir.path().join("b3")];
    let b_local = vec![(2, b_roots[0].clone()), (3, b_roots[1].clone())];
    let b = Arc::new(
        DataStore::open_cluster(
            &b_local,
            Vec::new(),
            vec![ShardSet {
                layout: Layout::from_counts(1, 1).unwrap(),
                volumes: vec![2, 3],
            }],
            |_, _, _| 0,
            Reserve::Bytes(0),
        )
        .unwrap(),
    );
    let signer = Signer::new(SECRET).unwrap();
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let server = serve(Arc::new(ShardService::new(b.clone(), signer.clone())), addr).await;
    let link = NodeLink::new(
        &format!("http://{addr}"),
        signer,
        rustfs_internode::tls_config(&[]).unwrap(),
        tokio::runtime::Handle::current(),
    )
    .unwrap();
    let remote: Vec<(u16, Arc<dyn RemoteVolume>)> = vec![
        (2, Arc::new(RemoteShardVolume::new(link.clone(), 2))),
        (3, Arc::new(RemoteShardVolume::new(link.clone(), 3))),
    ];
    let a_local = vec![(0, dir.path().join("a0")), (1, dir.path().join("a1"))];
    let a = Arc::new(
        DataStore::open_cluster(&a_local, remote, vec![set], |_, _, _| 0, Reserve::Bytes(0))
            .unwrap(),
    );
    Pair {
        _dir: dir,
        a,
        b,
        link,
        addr,
        server,
        b_roots,
    }
}

fn write(s: &DataStore, data: &[u8]) -> Result<rustfs_meta::DataRef, DataError> {
    let mut w = s.create(header())?;
    for piece in data.chunks(100_000) {
        w.write(piece)?;
    }
    w.finish()
}

fn read_all(s: &DataStore, r: &rustfs_meta::DataRef) -> Result<Vec<u8>, DataError> {
    let rd = s.open_read(r)?;
    let mut out = Vec::new();
    for b in 0..r.size.div_ceil(rd.block_size()) {
        out.extend_from_slice(&rd.read_block(b)?);
    }
    Ok(out)
}

fn files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(root.join(".rustfs.sys/data"))
        .unwrap()
        .flatten()
    {
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_travel_verified_and_survive_the_other_node() {
    let p = pair().await;
    let data = payload(1_000_003);
    let (a, d) = (p.a.clone(), data.clone());
    let r = blocking(move || write(&a, &d)).await.unwrap();
    assert_eq!(r.volumes.len(), 4);
    // Two shards on node B's volumes, durable under their final names.
    assert_eq!(files(&p.b_roots[0]).len() + files(&p.b_roots[1]).len(), 2);
    let (a, r2) = (p.a.clone(), r.clone());
    assert_eq!(blocking(move || read_all(&a, &r2)).await.unwrap(), data);

    // A block damaged on B is refused by B's check (or on arrival), and rebuilt from parity.
    let f = files(&p.b_roots[0]).remove(0);
    let mut bytes = std::fs::read(&f).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x40;
    std::fs::write(&f, &bytes).unwrap();
    let (a, r2) = (p.a.clone(), r.clone());
    assert_eq!(blocking(move || read_all(&a, &r2)).await.unwrap(), data);
    let (a, r2) = (p.a.clone(), r.clone());
    let healed = blocking(move || a.heal(&r2, true)).await.unwrap();
    assert_eq!(
        healed.repaired, 1,
        "the damaged remote shard is rewritten over the wire"
    );
    assert_ne!(std::fs::read(&f).unwrap(), bytes);

    // Node B goes away: reads rebuild from A's two shards; writes (quorum 3 of 4) refused.
    p.server.abort();
    let _ = p.server.await;
    let (a, r2) = (p.a.clone(), r.clone());
    assert_eq!(blocking(move || read_all(&a, &r2)).await.unwrap(), data);
    let a = p.a.clone();
    let refused = blocking(move || write(&a, &payload(300_000))).await;
    assert!(
        matches!(refused, Err(DataError::Quorum { .. })),
        "{refused:?}"
    );
    assert!(
        !p.link.is_online(),
        "a node that did not answer is offline for a while"
    );

    // B is back (a new process on the same address): its lost shard is healed.
    for f in files(&p.b_roots[1]) {
        std::fs::remove_file(f).unwrap();
    }
    let signer = Signer::new(SECRET).unwrap();
    let _server = serve(Arc::new(ShardService::new(p.b.clone(), signer)), p.addr).await;
    p.link.set_alive(false);
    p.link.set_alive(true);
    // Node A heals only its own shards on its own: B's missing one is B's to repair.
    let (a, r2) = (p.a.clone(), r.clone());
    let own = blocking(move || {
        let local = a.local_volume_ids().into_iter().collect();
        a.heal_volumes(&r2, false, &local)
    })
    .await
    .unwrap();
    assert_eq!(own, rustfs_data::HealOutcome::default());
    let (a, r2) = (p.a.clone(), r.clone());
    let healed = blocking(move || a.heal(&r2, false)).await.unwrap();
    assert_eq!(healed.repaired, 1);
    // Deleting removes the shards on both nodes (on the other node in the background: the
    // caller does not wait for it).
    let (a, r2) = (p.a.clone(), r.clone());
    blocking(move || a.remove(&r2)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(files(&p.b_roots[0]).is_empty() && files(&p.b_roots[1]).is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "B's shards not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(p.a.take_unremoved().is_empty());

    // A removal that cannot reach its node is kept for deferred deletion.
    let (a, d) = (p.a.clone(), data.clone());
    let r3 = blocking(move || write(&a, &d)).await.unwrap();
    p.link.set_alive(false);
    let (a, r4) = (p.a.clone(), r3.clone());
    blocking(move || a.remove(&r4)).await;
    let mut left = p.a.take_unremoved();
    left.sort();
    assert_eq!(left, vec![(2, r3.id.clone()), (3, r3.id.clone())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_wrongly_signed_requests_are_refused() {
    let p = pair().await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let id = "0123456789abcdef0123456789abcdef";
    let uri: http::Uri = format!("http://{}/rustfs/internode/v1/shard/2/{id}", p.addr)
        .parse()
        .unwrap();
    let r = client
        .request(
            http::Request::delete(uri.clone())
                .body(http_body_util::Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), http::StatusCode::FORBIDDEN);
    let other = Signer::new("another-secret-of-enough-length").unwrap();
    let mut req = http::Request::delete(uri);
    for (k, v) in other
        .sign(
            "DELETE",
            &format!("/rustfs/internode/v1/shard/2/{id}"),
            now(),
        )
        .unwrap()
    {
        req = req.header(k, v);
    }
    let r = client
        .request(req.body(http_body_util::Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), http::StatusCode::FORBIDDEN);
    // A link with the right secret gets through.
    assert!(p.link.ping().await);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
