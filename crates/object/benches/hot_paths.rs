//! Micro-benchmarks of the hot paths: the PUT hashing pipeline (MD5 for the ETag plus the
//! requested checksum, and the xxh3 block checksum), durable metadata commits (alone and
//! grouped), a listing page, and multi-buffer MD5 (4 concurrent 1 MiB streams, scalar vs
//! lockstep SIMD lanes). Run: `cargo bench -p rustfs-object`.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest as _;
use rustfs_object::md5x::{Kernel, Md5Stream};
use rustfs_object::{ChecksumAlgorithm, ListQuery, ObjectStore, PutOptions, checksum};

const MIB: usize = 1 << 20;

fn hashing(c: &mut Criterion) {
    let data = vec![0x5au8; MIB];
    let mut g = c.benchmark_group("hash_1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("md5", |b| b.iter(|| md5::Md5::digest(black_box(&data))));
    for a in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha256,
    ] {
        g.bench_function(a.as_str(), |b| {
            b.iter(|| checksum::compute(a, black_box(&data)))
        });
    }
    g.bench_function("xxh3_block", |b| {
        b.iter(|| xxhash_rust::xxh3::xxh3_64_with_seed(black_box(&data), 7))
    });
    g.bench_function("md5+crc32+xxh3 (PUT pipeline)", |b| {
        b.iter(|| {
            let m = md5::Md5::digest(black_box(&data));
            let c = checksum::compute(ChecksumAlgorithm::Crc32, &data);
            let x = xxhash_rust::xxh3::xxh3_64_with_seed(&data, 0);
            (m, c, x)
        })
    });
    g.finish();
}

/// Four uploads of 1 MiB hashed at once, each from its own thread as the PUT workers do:
/// scalar md-5 per thread, vs `Md5Stream` (64 KiB chunks, as from the network) on the
/// multi-buffer hashing thread, vs the bare kernel with 4 lanes on one thread.
fn md5_multibuffer(c: &mut Criterion) {
    const STREAMS: usize = 4;
    let data: Vec<Bytes> = (0..STREAMS)
        .map(|i| Bytes::from(vec![i as u8 ^ 0x5a; MIB]))
        .collect();
    let mut g = c.benchmark_group("md5_4x1MiB");
    g.throughput(Throughput::Bytes((STREAMS * MIB) as u64));
    g.bench_function("scalar, thread per stream", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let hs: Vec<_> = data
                    .iter()
                    .map(|d| s.spawn(move || md5::Md5::digest(black_box(d))))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().expect("join"))
                    .collect::<Vec<_>>()
            })
        })
    });
    g.bench_function("multi-buffer Md5Stream", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let hs: Vec<_> = data
                    .iter()
                    .map(|d| {
                        s.spawn(move || {
                            let mut m = Md5Stream::new();
                            let mut at = 0;
                            while at < d.len() {
                                m.update(d.slice(at..(at + (64 << 10)).min(d.len())));
                                at += 64 << 10;
                            }
                            m.finalize()
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().expect("join"))
                    .collect::<Vec<_>>()
            })
        })
    });
    let kernel = Kernel::detect();
    g.bench_function(format!("{kernel:?} kernel, 4 lanes, one thread"), |b| {
        let lanes: Vec<&[u8]> = data.iter().map(|d| &d[..]).collect();
        b.iter(|| {
            let mut st = [[0u32; 4]; STREAMS];
            kernel.run(&mut st, black_box(&lanes));
            st
        })
    });
    g.finish();
    // One stream alone: the kernel with one lane used vs md-5.
    let mut g = c.benchmark_group("md5_1x1MiB");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("scalar", |b| {
        b.iter(|| md5::Md5::digest(black_box(&data[0])))
    });
    g.bench_function(format!("{kernel:?} kernel, 1 lane"), |b| {
        let lanes: [&[u8]; 1] = [&data[0]];
        b.iter(|| {
            let mut st = [[0u32; 4]; 1];
            kernel.run(&mut st, black_box(&lanes));
            st
        })
    });
    g.finish();
}

fn body(
    data: &[u8],
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + 'static {
    futures::stream::iter(vec![Ok(Bytes::copy_from_slice(data))])
}

fn commits(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(ObjectStore::open(&[dir.path().join("vol")]).expect("open"));
    rt.block_on(store.create_bucket("bench", "o", "us-east-1"))
        .expect("bucket");
    let mut g = c.benchmark_group("durable_put_4KiB");
    g.sample_size(20);
    let data = vec![1u8; 4096];
    let mut n = 0u64;
    g.bench_function("one_at_a_time", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(store.put_object(
                "bench",
                &format!("k{n}"),
                body(&data),
                PutOptions::default(),
            ))
            .expect("put")
        })
    });
    g.throughput(Throughput::Elements(64));
    g.bench_function("64_concurrent (group commit)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tasks = Vec::with_capacity(64);
                for _ in 0..64 {
                    n += 1;
                    let (s, key, d) = (store.clone(), format!("k{n}"), data.clone());
                    tasks.push(tokio::spawn(async move {
                        s.put_object("bench", &key, body(&d), PutOptions::default())
                            .await
                    }));
                }
                for t in tasks {
                    t.await.expect("join").expect("put");
                }
            })
        })
    });
    g.finish();
}

fn listing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(ObjectStore::open(&[dir.path().join("vol")]).expect("open"));
    rt.block_on(async {
        store
            .create_bucket("bench", "o", "us-east-1")
            .await
            .expect("bucket");
        for chunk in (0..20_000u32).collect::<Vec<_>>().chunks(256) {
            let mut tasks = Vec::new();
            for &i in chunk {
                let s = store.clone();
                tasks.push(tokio::spawn(async move {
                    s.put_object(
                        "bench",
                        &format!("p{}/o{i:06}", i % 100),
                        body(b"x"),
                        PutOptions::default(),
                    )
                    .await
                }));
            }
            for t in tasks {
                t.await.expect("join").expect("put");
            }
        }
    });
    let mut g = c.benchmark_group("list_20k_keys");
    g.bench_function("page_of_1000", |b| {
        b.iter(|| {
            rt.block_on(store.list_objects(
                "bench",
                &ListQuery {
                    max_keys: 1000,
                    ..Default::default()
                },
            ))
            .expect("list")
        })
    });
    g.bench_function("delimiter_100_prefixes", |b| {
        b.iter(|| {
            let q = ListQuery {
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            };
            rt.block_on(store.list_objects("bench", &q)).expect("list")
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, md5_multibuffer, commits, listing);
criterion_main!(benches);
