//! Micro-benchmarks of erasure coding: the Reed-Solomon kernel on one 1 MiB block as the
//! writer splits it (2 data + 2 parity shards), and whole 16 MiB objects written and read
//! through `DataStore` on one volume (EC:0) and on four (EC:2), including a read that must
//! rebuild a lost data shard. Writes are durable (each shard file is synced), so the write
//! rows include the volume's fsync. Run: `cargo bench -p rustfs-data`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustfs_data::{DEFAULT_BLOCK_SIZE, DataStore, Layout, ShardHeader};
use rustfs_meta::DataRef;

const MIB: usize = 1 << 20;
const OBJECT: usize = 16 * MIB;

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 131 % 251) as u8).collect()
}

fn header(layout: Layout) -> ShardHeader {
    ShardHeader {
        bucket: "bench".into(),
        key: "object".into(),
        version_id: "v".into(),
        upload_id: String::new(),
        part_number: 0,
        block_size: DEFAULT_BLOCK_SIZE,
        data_shards: layout.data,
        parity_shards: layout.parity,
        shard_index: 0,
    }
}

fn store(dir: &Path, volumes: usize, class: &str) -> (DataStore, Layout) {
    let roots: Vec<PathBuf> = (0..volumes).map(|i| dir.join(format!("d{i}"))).collect();
    let layout = Layout::from_storage_class(volumes, class).expect("layout");
    (DataStore::open(&roots, layout).expect("open"), layout)
}

fn write(s: &DataStore, layout: Layout, data: &[u8]) -> DataRef {
    let mut w = s.create(header(layout)).expect("create");
    for piece in data.chunks(MIB) {
        w.write(piece).expect("write");
    }
    w.finish().expect("finish")
}

fn read_all(s: &DataStore, r: &DataRef) -> usize {
    let rd = s.open_read(r).expect("open_read");
    (0..r.size.div_ceil(rd.block_size()))
        .map(|b| rd.read_block(b).expect("read_block").len())
        .sum()
}

/// Every file under `dir` whose name contains `id`.
fn files_named(dir: &Path, id: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_named(&p, id, out);
        } else if p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains(id))
        {
            out.push(p);
        }
    }
}

fn kernel(c: &mut Criterion) {
    // One 1 MiB block as two 512 KiB data shards, two parity shards.
    let block = payload(MIB);
    let shards: Vec<&[u8]> = block.chunks(MIB / 2).collect();
    let mut g = c.benchmark_group("reed_solomon_1MiB_block_2+2");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("encode", |b| {
        b.iter(|| reed_solomon_simd::encode(2, 2, black_box(&shards)).expect("encode"))
    });
    let parity = reed_solomon_simd::encode(2, 2, &shards).expect("encode");
    g.bench_function("decode, one data shard lost", |b| {
        b.iter(|| {
            reed_solomon_simd::decode(
                2,
                2,
                [(1, black_box(shards[1]))],
                [(0, parity[0].as_slice())],
            )
            .expect("decode")
        })
    });
    g.finish();
}

fn objects(c: &mut Criterion) {
    let data = payload(OBJECT);
    let mut g = c.benchmark_group("object_16MiB");
    g.throughput(Throughput::Bytes(OBJECT as u64));
    g.sample_size(10);
    for (volumes, class) in [(1, "EC:0"), (4, "EC:2")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, layout) = store(dir.path(), volumes, class);
        g.bench_function(format!("write, {volumes} volume(s) {class}"), |b| {
            b.iter(|| write(&s, layout, black_box(&data)))
        });
        let r = write(&s, layout, &data);
        g.bench_function(format!("read, {volumes} volume(s) {class}"), |b| {
            b.iter(|| read_all(&s, black_box(&r)))
        });
        if layout.parity > 0 {
            let mut lost = Vec::new();
            let first = dir.path().join(format!("d{}", r.volumes[0]));
            files_named(&first, &r.id, &mut lost);
            assert_eq!(lost.len(), 1, "one shard file on the first shard's volume");
            std::fs::remove_file(&lost[0]).expect("remove shard");
            g.bench_function(format!("read rebuilding a lost data shard, {class}"), |b| {
                b.iter(|| read_all(&s, black_box(&r)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, kernel, objects);
criterion_main!(benches);
