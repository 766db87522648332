use std::sync::Arc;

use bytes::Bytes;
use md5::Digest as _;

use super::{Kernel, LANES, MAX_QUEUED, Md5Service, Md5Stream};

/// xorshift64*: reproducible test data and splits without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn reference(data: &[u8]) -> [u8; 16] {
    md5::Md5::digest(data).into()
}

/// The kernels this machine can run.
fn kernels() -> Vec<Kernel> {
    let mut k = vec![Kernel::Scalar];
    if Kernel::detect() != Kernel::Scalar {
        k.push(Kernel::detect());
    }
    k
}

/// Splits `data` into chunks of random sizes (some tiny, some empty, some large).
fn split(data: &[u8], rng: &mut Rng) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let n = match rng.below(4) {
            0 => rng.below(3),
            1 => rng.below(130),
            2 => rng.below(5000),
            _ => rng.below(300_000),
        }
        .min(data.len() - at);
        out.push(Bytes::copy_from_slice(&data[at..at + n]));
        at += n;
    }
    out
}

const LENGTHS: &[usize] = &[
    0,
    1,
    55,
    56,
    57,
    63,
    64,
    65,
    119,
    120,
    127,
    128,
    129,
    1000,
    4096,
    (1 << 20) + 7,
];

#[test]
fn kernel_lanes_match_scalar() {
    let mut rng = Rng(7);
    for k in kernels() {
        for lanes in 1..=LANES {
            for blocks in [1usize, 2, 5] {
                let data: Vec<Vec<u8>> = (0..lanes).map(|_| rng.bytes(blocks * 64)).collect();
                let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
                let mut st: Vec<[u32; 4]> = (0..lanes).map(|i| [i as u32, 1, 2, 3]).collect();
                let mut want = st.clone();
                k.run(&mut st, &refs);
                Kernel::Scalar.run(&mut want, &refs);
                assert_eq!(st, want, "{k:?} lanes {lanes} blocks {blocks}");
            }
        }
    }
}

#[test]
fn lengths_and_splits_match_md5() {
    let mut rng = Rng(11);
    for k in kernels() {
        let svc = Md5Service::start(k).expect("start");
        for &len in LENGTHS {
            let data = rng.bytes(len);
            // One update, then random splits.
            for round in 0..3 {
                let mut s = svc.stream();
                if round == 0 {
                    s.update(Bytes::copy_from_slice(&data));
                } else {
                    for c in split(&data, &mut rng) {
                        s.update(c);
                    }
                }
                assert_eq!(
                    s.finalize().expect("digest"),
                    reference(&data),
                    "{k:?} len {len} round {round}"
                );
            }
        }
    }
}

#[test]
fn scalar_stream_matches_md5() {
    let mut rng = Rng(3);
    for &len in LENGTHS {
        let data = rng.bytes(len);
        let mut s = Md5Stream::scalar();
        for c in split(&data, &mut rng) {
            s.update(c);
        }
        assert_eq!(s.finalize(), Ok(reference(&data)));
        let mut g = Md5Stream::new();
        g.update(Bytes::copy_from_slice(&data));
        assert_eq!(g.finalize(), Ok(reference(&data)));
    }
}

/// More streams than lanes, of different lengths, fed concurrently from threads; some
/// streams are dropped half-way, others join while the rest are running.
#[test]
fn concurrent_streams_join_and_leave() {
    for k in kernels() {
        let svc = Md5Service::start(k).expect("start");
        let mut threads = Vec::new();
        for t in 0..(LANES + 8) as u64 {
            let svc: Arc<Md5Service> = svc.clone();
            threads.push(std::thread::spawn(move || {
                let mut rng = Rng(1000 + t);
                for i in 0..6 {
                    let len = rng.below(700_000);
                    let data = rng.bytes(len);
                    let mut s = svc.stream();
                    let chunks = split(&data, &mut rng);
                    let abandon = (t + i) % 5 == 0;
                    for (n, c) in chunks.iter().enumerate() {
                        if abandon && n == chunks.len() / 2 {
                            break;
                        }
                        s.update(c.clone());
                    }
                    if abandon {
                        drop(s);
                    } else {
                        assert_eq!(s.finalize(), Ok(reference(&data)), "{k:?} thread {t} #{i}");
                    }
                }
            }));
        }
        for t in threads {
            t.join().expect("stream thread");
        }
    }
}

/// `update` waits once `MAX_QUEUED` bytes are pending, so a fast producer cannot queue
/// without bound; the digest is still right.
#[test]
fn queue_is_bounded() {
    for k in kernels() {
        let svc = Md5Service::start(k).expect("start");
        let chunk = Bytes::from(vec![9u8; 1 << 20]);
        let mut s = svc.stream();
        let mut all = Vec::new();
        for _ in 0..(MAX_QUEUED >> 20) * 4 {
            s.update(chunk.clone());
            all.extend_from_slice(&chunk);
            if let super::Inner::Lane { shared, .. } = &s.0 {
                assert!(shared.lock().queued <= MAX_QUEUED);
            }
        }
        assert_eq!(s.finalize(), Ok(reference(&all)));
    }
}

/// A hashing thread that dies (a panic) fails the streams it held, cleanly (no panic, no wait
/// forever), and the next stream starts a new thread: later digests are right.
#[test]
fn a_dead_hashing_thread_is_restarted() {
    for k in kernels() {
        let svc = Md5Service::start(k).expect("start");
        let mut rng = Rng(21);
        let data = rng.bytes(300_000);
        // In flight when the thread dies: some bytes hashed, the digest not asked for yet.
        let mut held = svc.stream();
        held.update(Bytes::copy_from_slice(&data[..100_000]));
        svc.kill_thread();
        // Its later bytes are dropped and its digest fails; nothing blocks.
        held.update(Bytes::copy_from_slice(&data[100_000..]));
        assert_eq!(held.finalize(), Err(super::HashingStopped), "{k:?}");
        for round in 0..3 {
            let mut s = svc.stream();
            for c in split(&data, &mut rng) {
                s.update(c);
            }
            assert_eq!(s.finalize(), Ok(reference(&data)), "{k:?} round {round}");
        }
        // Killed again while streams are open on the new thread: they fail, later ones work.
        let mut a = svc.stream();
        a.update(Bytes::from_static(b"abc"));
        svc.kill_thread();
        assert_eq!(a.finalize(), Err(super::HashingStopped));
        // The next stream restarts the thread and works.
        let mut b = svc.stream();
        b.update(Bytes::from_static(b"abc"));
        assert_eq!(b.finalize(), Ok(reference(b"abc")), "{k:?}");
    }
}
