//! Helpers shared by the object-layer integration tests.

use bytes::Bytes;

/// A request body as a stream of odd-sized chunks (so block boundaries fall inside chunks).
#[allow(dead_code)]
pub fn body(
    data: &[u8],
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + 'static {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024 + 7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks)
}

/// Deterministic bytes that differ by seed.
#[allow(dead_code)]
pub fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i as u64 * 2654435761 + seed as u64) >> 7) as u8)
        .collect()
}

/// The data files (shards) of one volume.
#[allow(dead_code)]
pub fn data_files(vol: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(vol.join(".rustfs.sys/data")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out
}

/// PUT of `data` at `key` in bucket `bkt`, owned by `owner`.
#[allow(dead_code)]
pub async fn put(
    store: &rustfs_object::ObjectStore,
    key: &str,
    data: &[u8],
) -> rustfs_object::ObjectRecord {
    store
        .put_object(
            "bkt",
            key,
            body(data),
            rustfs_object::PutOptions {
                owner: "owner".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

/// A metadata backend the object layer's tests run on.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store on the volume.
    Redb,
    /// A fresh database on the shared PostgreSQL test server (`rustfs_meta::pg_server`).
    Postgres,
}

/// The object layer over `vol` with metadata in `backend`; `None` (after a skip message) when
/// PostgreSQL is not installed (under `CI=true` that fails instead).
#[allow(dead_code)]
pub async fn open_store(
    backend: Backend,
    vol: &std::path::Path,
) -> Option<rustfs_object::ObjectStore> {
    use std::sync::Arc;
    let volumes = [vol.to_path_buf()];
    match backend {
        Backend::Redb => Some(rustfs_object::ObjectStore::open(&volumes).unwrap()),
        Backend::Postgres => {
            let server = rustfs_meta::pg_server::server()?;
            let meta = rustfs_meta::PgStore::open(&server.database().await)
                .await
                .unwrap();
            let layout = rustfs_object::Layout::default_for(1).unwrap();
            let data = rustfs_object::ObjectStore::open_data(
                &volumes,
                layout,
                rustfs_object::Reserve::Auto,
            )
            .unwrap();
            Some(rustfs_object::ObjectStore::new(Arc::new(meta), Arc::new(data)).unwrap())
        }
    }
}
