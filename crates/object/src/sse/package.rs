//! The sealed data format: a segment's plaintext cut into packages of [`PACKAGE`] bytes (the
//! last one shorter, possibly empty), each sealed on its own with AES-256-GCM under the
//! segment's key. Package `i`'s 96-bit nonce is `i` (64-bit big-endian) followed by a 32-bit
//! flag, 1 for the final package and 0 otherwise, so a package moved to another position, a
//! stream cut at a package boundary (its new last package was not sealed as final) or extended
//! all fail to open. The sealed form of package `i` is its ciphertext followed by its 16-byte
//! tag, and sealed packages follow each other with nothing between them: plaintext offset `p`
//! lies in package `p / PACKAGE`, which starts at `(p / PACKAGE) * SEALED_PACKAGE` in the
//! sealed bytes. A segment always has at least one package (an empty one is a final package of
//! zero bytes), so even an empty segment cannot be cut.

use bytes::{Bytes, BytesMut};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

/// Plaintext bytes per package.
pub const PACKAGE: usize = 64 * 1024;
/// The authentication tag after each package's ciphertext.
pub const TAG: usize = 16;
/// A full package's sealed size.
pub const SEALED_PACKAGE: usize = PACKAGE + TAG;
/// Full packages sealed together once this many are held (one write to the data layer).
const BATCH: usize = 16;

/// Packages of a segment of `plain` bytes (at least one).
pub fn packages(plain: u64) -> u64 {
    plain.div_ceil(PACKAGE as u64).max(1)
}

/// The sealed size of a segment of `plain` bytes.
pub fn sealed_len(plain: u64) -> u64 {
    plain + packages(plain) * TAG as u64
}

/// The sealed bytes `[from, to)` that hold the plaintext `[start, end)` (`start < end <=
/// plain`) of a segment of `plain` bytes, and the index of the first package in them.
pub fn sealed_span(plain: u64, start: u64, end: u64) -> (u64, u64, u64) {
    let first = start / PACKAGE as u64;
    let last = end.saturating_sub(1) / PACKAGE as u64;
    let from = first * SEALED_PACKAGE as u64;
    let to = ((last + 1) * SEALED_PACKAGE as u64).min(sealed_len(plain));
    (from, to, first)
}

fn nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[8..].copy_from_slice(&u32::from(last).to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// A segment's AES-256-GCM key.
pub struct SegmentKey(LessSafeKey);

impl SegmentKey {
    pub fn new(key: &[u8; 32]) -> Self {
        // A 32-byte key is always a valid AES-256 key.
        Self(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES-256 key"),
        ))
    }

    /// Seals `buf` (one package's plaintext) in place; returns its tag.
    fn seal(&self, index: u64, last: bool, buf: &mut [u8]) -> [u8; TAG] {
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce(index, last), Aad::empty(), buf)
            .expect("a package is far below AES-GCM's length limit");
        let mut t = [0u8; TAG];
        t.copy_from_slice(tag.as_ref());
        t
    }

    /// Opens the sealed package at `buf[from..]`, its plaintext moved to the front of `buf`
    /// in the same pass; returns the plaintext length.
    fn open_within(
        &self,
        index: u64,
        last: bool,
        buf: &mut [u8],
        from: usize,
    ) -> Result<usize, Tampered> {
        self.0
            .open_within(nonce(index, last), Aad::empty(), buf, from..)
            .map(|p| p.len())
            .map_err(|_| Tampered { package: index })
    }
}

/// A sealed package did not open: the bytes were changed, moved, cut or sealed under another
/// key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tampered {
    pub package: u64,
}

impl std::fmt::Display for Tampered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "encrypted package {} failed authentication",
            self.package
        )
    }
}

/// Seals a stream of plaintext: [`Sealer::push`] as bytes arrive, [`Sealer::finish`] at the
/// end. Full packages are sealed [`BATCH`] at a time into one reused buffer (no allocation per
/// package); a package is sealed only once a byte after it arrived, so the final one is known.
pub struct Sealer {
    key: SegmentKey,
    next: u64,
    pending: Vec<u8>,
    out: Vec<u8>,
}

impl Sealer {
    pub fn new(key: SegmentKey) -> Self {
        Self {
            key,
            next: 0,
            pending: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Takes plaintext; returns the sealed bytes ready to write (often none).
    pub fn push(&mut self, data: &[u8]) -> &[u8] {
        self.out.clear();
        self.pending.extend_from_slice(data);
        if self.pending.len() > BATCH * PACKAGE {
            // Every full package followed by at least one more byte is not the final one.
            let full = (self.pending.len() - 1) / PACKAGE;
            self.seal_packages(full, false);
            self.pending.drain(..full * PACKAGE);
        }
        &self.out
    }

    /// Seals what remains, the last package marked final.
    pub fn finish(&mut self) -> &[u8] {
        self.out.clear();
        let n = packages(self.pending.len() as u64) as usize;
        self.seal_packages(n, true);
        self.pending.clear();
        &self.out
    }

    /// Seals the first `n` packages of `pending` into `out`; the last one as final if `last`.
    fn seal_packages(&mut self, n: usize, last: bool) {
        self.out.reserve(n * SEALED_PACKAGE);
        for i in 0..n {
            let from = i * PACKAGE;
            let to = (from + PACKAGE).min(self.pending.len());
            let at = self.out.len();
            self.out.extend_from_slice(&self.pending[from..to]);
            let tag = self
                .key
                .seal(self.next, last && i + 1 == n, &mut self.out[at..]);
            self.out.extend_from_slice(&tag);
            self.next += 1;
        }
    }
}

/// Seals a whole segment at once.
pub fn seal_all(key: SegmentKey, plain: &[u8]) -> Vec<u8> {
    let mut s = Sealer::new(key);
    s.pending = Vec::with_capacity(0);
    let n = packages(plain.len() as u64) as usize;
    s.out = Vec::with_capacity(sealed_len(plain.len() as u64) as usize);
    for i in 0..n {
        let from = i * PACKAGE;
        let to = (from + PACKAGE).min(plain.len());
        let at = s.out.len();
        s.out.extend_from_slice(&plain[from..to]);
        let tag = s.key.seal(i as u64, i + 1 == n, &mut s.out[at..]);
        s.out.extend_from_slice(&tag);
    }
    s.out
}

/// What to take from one segment's sealed bytes in a read.
pub struct SegmentPlan {
    pub key: SegmentKey,
    /// The segment's plaintext size.
    pub plain: u64,
    /// The first package in the sealed bytes read (see [`sealed_span`]).
    pub first: u64,
    /// Sealed bytes read of this segment.
    pub sealed: u64,
    /// Plaintext bytes to drop from the start of the first package.
    pub skip: u64,
    /// Plaintext bytes to return.
    pub take: u64,
}

/// Opens the sealed bytes of one or more segments, in order, as [`SegmentPlan`]s describe
/// them: feed the sealed stream to [`Opener::push`], then call [`Opener::finish`].
pub struct Opener {
    plans: std::collections::VecDeque<SegmentPlan>,
    /// Next package of the current plan and sealed bytes of it still to come.
    index: u64,
    left: u64,
    buf: BytesMut,
}

impl Opener {
    pub fn new(plans: Vec<SegmentPlan>) -> Self {
        let mut o = Self {
            plans: plans.into(),
            index: 0,
            left: 0,
            buf: BytesMut::new(),
        };
        o.start_plan();
        o
    }

    fn start_plan(&mut self) {
        if let Some(p) = self.plans.front() {
            self.index = p.first;
            self.left = p.sealed;
        }
    }

    /// Takes sealed bytes; returns the plaintext opened so far (possibly empty).
    pub fn push(&mut self, sealed: &[u8]) -> Result<Bytes, Tampered> {
        self.buf.extend_from_slice(sealed);
        self.drain()
    }

    /// Ends the stream: fails if sealed bytes are missing or left over.
    pub fn finish(&mut self) -> Result<Bytes, Tampered> {
        let out = self.drain()?;
        if !self.plans.is_empty() || !self.buf.is_empty() {
            return Err(Tampered {
                package: self.index,
            });
        }
        Ok(out)
    }

    /// Opens every complete package held, compacting the plaintext to the buffer's front.
    fn drain(&mut self) -> Result<Bytes, Tampered> {
        let mut read = 0usize; // sealed bytes consumed from buf
        let mut wrote = 0usize; // plaintext bytes kept at buf's front
        while let Some(p) = self.plans.front_mut() {
            if self.left == 0 {
                self.plans.pop_front();
                self.start_plan();
                continue;
            }
            let last_index = packages(p.plain) - 1;
            let is_last = self.index == last_index;
            let want = if is_last {
                (p.plain - last_index * PACKAGE as u64) as usize + TAG
            } else {
                SEALED_PACKAGE
            };
            if want as u64 > self.left {
                return Err(Tampered {
                    package: self.index,
                });
            }
            if self.buf.len() - read < want {
                break;
            }
            // Opened and closed up behind the plaintext kept so far, in one pass.
            let n = p.key.open_within(
                self.index,
                is_last,
                &mut self.buf[wrote..read + want],
                read - wrote,
            )?;
            // Keep the wanted part of this package's plaintext (a skip only in the first).
            let skip = p.skip.min(n as u64) as usize;
            p.skip -= skip as u64;
            let keep = ((n - skip) as u64).min(p.take) as usize;
            p.take -= keep as u64;
            if skip > 0 {
                self.buf
                    .copy_within(wrote + skip..wrote + skip + keep, wrote);
            }
            wrote += keep;
            read += want;
            self.left -= want as u64;
            self.index += 1;
        }
        // The plaintext is at the front, the unread sealed bytes after `read`.
        let rest = self.buf.split_off(read);
        self.buf.truncate(wrote);
        let out = std::mem::replace(&mut self.buf, rest).freeze();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SegmentKey {
        SegmentKey::new(&[b; 32])
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Seals through the streaming sealer in chunks of `chunk` bytes.
    fn seal_stream(plain: &[u8], chunk: usize) -> Vec<u8> {
        let mut s = Sealer::new(key(1));
        let mut out = Vec::new();
        for c in plain.chunks(chunk.max(1)) {
            out.extend_from_slice(s.push(c));
        }
        out.extend_from_slice(s.finish());
        out
    }

    /// Opens `[start, end)` of a single segment from its whole sealed bytes.
    fn read(
        sealed: &[u8],
        plain: u64,
        start: u64,
        end: u64,
        chunk: usize,
    ) -> Result<Vec<u8>, Tampered> {
        let (from, to, first) = sealed_span(plain, start, end);
        let mut o = Opener::new(vec![SegmentPlan {
            key: key(1),
            plain,
            first,
            sealed: to - from,
            skip: start - first * PACKAGE as u64,
            take: end - start,
        }]);
        let mut out = Vec::new();
        for c in sealed[from as usize..to as usize].chunks(chunk) {
            out.extend_from_slice(&o.push(c)?);
        }
        out.extend_from_slice(&o.finish()?);
        Ok(out)
    }

    #[test]
    fn streaming_and_whole_sealing_agree_and_sizes_add_up() {
        for n in [
            0,
            1,
            13,
            PACKAGE - 1,
            PACKAGE,
            PACKAGE + 1,
            17 * PACKAGE,
            17 * PACKAGE + 5,
            40 * PACKAGE,
        ] {
            let plain = data(n);
            let whole = seal_all(key(1), &plain);
            assert_eq!(whole.len() as u64, sealed_len(n as u64), "size {n}");
            for chunk in [1000, PACKAGE, 3 * PACKAGE + 7] {
                assert_eq!(seal_stream(&plain, chunk), whole, "size {n} chunk {chunk}");
            }
            if n > 0 {
                assert_ne!(&whole[..n.min(64)], &plain[..n.min(64)]);
            }
            assert_eq!(read(&whole, n as u64, 0, n as u64, 4096).unwrap(), plain);
        }
    }

    #[test]
    fn ranges_open_only_their_packages() {
        let n = 5 * PACKAGE + 100;
        let plain = data(n);
        let sealed = seal_all(key(1), &plain);
        let p = PACKAGE as u64;
        for (s, e) in [
            (0, 1),
            (p - 1, p + 1),
            (p, 2 * p),
            (3 * p + 5, 5 * p + 100),
            (5 * p + 99, 5 * p + 100),
            (10, 4 * p),
        ] {
            assert_eq!(
                read(&sealed, n as u64, s, e, 777).unwrap(),
                &plain[s as usize..e as usize],
                "{s}..{e}"
            );
        }
        // The span of one byte in package 2 is exactly that package.
        assert_eq!(
            sealed_span(n as u64, 2 * p + 3, 2 * p + 4),
            (2 * SEALED_PACKAGE as u64, 3 * SEALED_PACKAGE as u64, 2)
        );
    }

    #[test]
    fn tampering_reordering_truncating_and_wrong_keys_are_detected() {
        let n = 3 * PACKAGE + 10;
        let plain = data(n);
        let sealed = seal_all(key(1), &plain);
        // A flipped bit.
        let mut t = sealed.clone();
        t[SEALED_PACKAGE + 5] ^= 1;
        assert_eq!(
            read(&t, n as u64, 0, n as u64, 999),
            Err(Tampered { package: 1 })
        );
        // Two packages swapped.
        let mut r = sealed.clone();
        let (a, b) = r.split_at_mut(SEALED_PACKAGE);
        a.swap_with_slice(&mut b[..SEALED_PACKAGE]);
        assert!(read(&r, n as u64, 0, n as u64, 999).is_err());
        // Cut at a package boundary, read as if the object were that long: the new last
        // package was not sealed as final.
        let cut = &sealed[..2 * SEALED_PACKAGE];
        assert!(read(cut, 2 * PACKAGE as u64, 0, 2 * PACKAGE as u64, 999).is_err());
        // Cut short of what the record says.
        let (from, _, first) = sealed_span(n as u64, 0, n as u64);
        let mut o = Opener::new(vec![SegmentPlan {
            key: key(1),
            plain: n as u64,
            first,
            sealed: sealed.len() as u64 - from,
            skip: 0,
            take: n as u64,
        }]);
        o.push(&sealed[..sealed.len() - 1]).unwrap();
        assert!(o.finish().is_err());
        // Another key.
        let other = seal_all(key(2), &plain);
        assert!(read(&other, n as u64, 0, n as u64, 999).is_err());
        // An empty segment still has its final package: nothing cannot pass for it.
        let empty = seal_all(key(1), &[]);
        assert_eq!(empty.len(), TAG);
        assert_eq!(read(&empty, 0, 0, 0, 10).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn plans_span_several_segments() {
        let (a, b) = (data(PACKAGE + 3), data(2 * PACKAGE));
        let (sa, sb) = (seal_all(key(1), &a), seal_all(key(2), &b));
        let p = PACKAGE as u64;
        // From a's byte p+1 to b's byte p+2.
        let (fa, ta, first_a) = sealed_span(a.len() as u64, p + 1, a.len() as u64);
        let (fb, tb, first_b) = sealed_span(b.len() as u64, 0, p + 2);
        let mut o = Opener::new(vec![
            SegmentPlan {
                key: key(1),
                plain: a.len() as u64,
                first: first_a,
                sealed: ta - fa,
                skip: 1,
                take: 2,
            },
            SegmentPlan {
                key: key(2),
                plain: b.len() as u64,
                first: first_b,
                sealed: tb - fb,
                skip: 0,
                take: p + 2,
            },
        ]);
        let mut stream = sa[fa as usize..ta as usize].to_vec();
        stream.extend_from_slice(&sb[fb as usize..tb as usize]);
        let mut out = Vec::new();
        for c in stream.chunks(5000) {
            out.extend_from_slice(&o.push(c).unwrap());
        }
        out.extend_from_slice(&o.finish().unwrap());
        let mut want = a[PACKAGE + 1..].to_vec();
        want.extend_from_slice(&b[..PACKAGE + 2]);
        assert_eq!(out, want);
    }
}
