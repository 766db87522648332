//! Lane-parallel MD5 block functions: one 64-byte block of up to [`LANES`] independent
//! streams per step, each stream in its own SIMD lane.
//!
//! [`Kernel::Avx512`] advances 16 lanes with AVX-512F (`vpternlogd` for the round functions,
//! `vprold` for the rotations, a 16x16 transpose to turn 16 unrelated blocks into
//! message-word vectors). [`Kernel::Scalar`] runs the md-5 crate's block function lane by
//! lane; it is the fallback elsewhere and the reference the tests compare with.

/// Lanes of the widest kernel.
pub const LANES: usize = 16;

/// A block function over up to [`LANES`] streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// md-5's compress function, one lane after the other.
    Scalar,
    /// 16 lanes in lockstep with AVX-512F.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Kernel::Avx512;
        }
        Kernel::Scalar
    }

    /// Advances `states[i]` over the blocks of `data[i]` for every lane `i`.
    ///
    /// Every `data[i]` holds the same number of whole 64-byte blocks; at most [`LANES`] lanes.
    pub fn run(self, states: &mut [[u32; 4]], data: &[&[u8]]) {
        assert_eq!(states.len(), data.len(), "one state per lane");
        assert!(data.len() <= LANES, "at most {LANES} lanes");
        let Some(first) = data.first() else { return };
        let len = first.len();
        assert!(
            len % 64 == 0 && data.iter().all(|d| d.len() == len),
            "lanes hold the same whole number of blocks"
        );
        if len == 0 {
            return;
        }
        match self {
            Kernel::Scalar => {
                for (s, d) in states.iter_mut().zip(data) {
                    let (blocks, _) = d.as_chunks::<64>();
                    md5::block_api::compress(s, blocks);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                assert!(std::arch::is_x86_feature_detected!("avx512f"));
                // SAFETY: AVX-512F is present (checked just above), and the lanes satisfy
                // `x16`'s contract: 1..=16 of them, each `len` bytes, `len` a multiple of 64.
                unsafe { x16(states, data, len / 64) }
            }
        }
    }
}

/// 16-lane MD5 with AVX-512F. Lanes past `data.len()` repeat lane 0 and are discarded.
///
/// # Safety
/// The CPU must support AVX-512F; `1 <= data.len() == states.len() <= 16` and every
/// `data[i]` holds at least `n * 64` bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn x16(states: &mut [[u32; 4]], data: &[&[u8]], n: usize) {
    use std::arch::x86_64::*;

    let lanes = data.len();
    debug_assert!((1..=LANES).contains(&lanes) && states.len() == lanes);
    debug_assert!(data.iter().all(|d| d.len() >= n * 64));
    // Lanes past `lanes` read lane 0's blocks again; their results are dropped.
    let rows: [&[u8]; LANES] = std::array::from_fn(|i| data[if i < lanes { i } else { 0 }]);
    let mut reg = [[0u32; LANES]; 4];
    for (i, col) in (0..LANES).map(|i| (i, if i < lanes { i } else { 0 })) {
        for w in 0..4 {
            reg[w][i] = states[col][w];
        }
    }
    // SAFETY (all the unsafe blocks below): every `loadu`/`storeu` reads or writes 64 bytes
    // (no alignment needed) of a 64-byte region: a `[u32; 16]` row of `reg`, or a 64-byte
    // block of a lane sliced (bounds-checked) just before the load.
    let mut a = unsafe { _mm512_loadu_si512(reg[0].as_ptr().cast()) };
    let mut b = unsafe { _mm512_loadu_si512(reg[1].as_ptr().cast()) };
    let mut c = unsafe { _mm512_loadu_si512(reg[2].as_ptr().cast()) };
    let mut d = unsafe { _mm512_loadu_si512(reg[3].as_ptr().cast()) };

    // a = b + rotl(a + f(b, c, d) + k + m, s), where f is the ternary-logic truth table of
    // MD5's F (0xca), G (0xe4), H (0x96) or I (0x39).
    macro_rules! step {
        ($f:literal, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:literal) => {
            $a = _mm512_add_epi32(
                $b,
                _mm512_rol_epi32::<$s>(_mm512_add_epi32(
                    _mm512_add_epi32(
                        $a,
                        _mm512_add_epi32($m, _mm512_set1_epi32(($k as u32) as i32)),
                    ),
                    _mm512_ternarylogic_epi32::<$f>($b, $c, $d),
                )),
            );
        };
    }

    for blk in 0..n {
        // Load one block of each lane (row i = lane i's 16 words), then transpose 16x16 so
        // that m[j] holds word j of every lane: 32-bit, 64-bit and two 128-bit interleaves.
        let r: [__m512i; LANES] = std::array::from_fn(|i| {
            let block = &rows[i][blk * 64..blk * 64 + 64];
            unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
        });
        let t: [__m512i; LANES] = std::array::from_fn(|i| {
            let (x, y) = (r[i & !1], r[i | 1]);
            if i & 1 == 0 {
                _mm512_unpacklo_epi32(x, y)
            } else {
                _mm512_unpackhi_epi32(x, y)
            }
        });
        // x[g][w], 128-bit lane q: word 4q + w of rows 4g..4g+3.
        let x: [[__m512i; 4]; 4] = std::array::from_fn(|g| {
            [
                _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]),
                _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]),
                _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]),
                _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]),
            ]
        });
        let mut m = [_mm512_setzero_si512(); 16];
        for w in 0..4 {
            let y0 = _mm512_shuffle_i32x4::<0x44>(x[0][w], x[1][w]);
            let y1 = _mm512_shuffle_i32x4::<0xee>(x[0][w], x[1][w]);
            let y2 = _mm512_shuffle_i32x4::<0x44>(x[2][w], x[3][w]);
            let y3 = _mm512_shuffle_i32x4::<0xee>(x[2][w], x[3][w]);
            m[w] = _mm512_shuffle_i32x4::<0x88>(y0, y2);
            m[4 + w] = _mm512_shuffle_i32x4::<0xdd>(y0, y2);
            m[8 + w] = _mm512_shuffle_i32x4::<0x88>(y1, y3);
            m[12 + w] = _mm512_shuffle_i32x4::<0xdd>(y1, y3);
        }
        let (a0, b0, c0, d0) = (a, b, c, d);
        step!(0xca, a, b, c, d, m[0], 0xd76aa478, 7);
        step!(0xca, d, a, b, c, m[1], 0xe8c7b756, 12);
        step!(0xca, c, d, a, b, m[2], 0x242070db, 17);
        step!(0xca, b, c, d, a, m[3], 0xc1bdceee, 22);
        step!(0xca, a, b, c, d, m[4], 0xf57c0faf, 7);
        step!(0xca, d, a, b, c, m[5], 0x4787c62a, 12);
        step!(0xca, c, d, a, b, m[6], 0xa8304613, 17);
        step!(0xca, b, c, d, a, m[7], 0xfd469501, 22);
        step!(0xca, a, b, c, d, m[8], 0x698098d8, 7);
        step!(0xca, d, a, b, c, m[9], 0x8b44f7af, 12);
        step!(0xca, c, d, a, b, m[10], 0xffff5bb1, 17);
        step!(0xca, b, c, d, a, m[11], 0x895cd7be, 22);
        step!(0xca, a, b, c, d, m[12], 0x6b901122, 7);
        step!(0xca, d, a, b, c, m[13], 0xfd987193, 12);
        step!(0xca, c, d, a, b, m[14], 0xa679438e, 17);
        step!(0xca, b, c, d, a, m[15], 0x49b40821, 22);
        step!(0xe4, a, b, c, d, m[1], 0xf61e2562, 5);
        step!(0xe4, d, a, b, c, m[6], 0xc040b340, 9);
        step!(0xe4, c, d, a, b, m[11], 0x265e5a51, 14);
        step!(0xe4, b, c, d, a, m[0], 0xe9b6c7aa, 20);
        step!(0xe4, a, b, c, d, m[5], 0xd62f105d, 5);
        step!(0xe4, d, a, b, c, m[10], 0x02441453, 9);
        step!(0xe4, c, d, a, b, m[15], 0xd8a1e681, 14);
        step!(0xe4, b, c, d, a, m[4], 0xe7d3fbc8, 20);
        step!(0xe4, a, b, c, d, m[9], 0x21e1cde6, 5);
        step!(0xe4, d, a, b, c, m[14], 0xc33707d6, 9);
        step!(0xe4, c, d, a, b, m[3], 0xf4d50d87, 14);
        step!(0xe4, b, c, d, a, m[8], 0x455a14ed, 20);
        step!(0xe4, a, b, c, d, m[13], 0xa9e3e905, 5);
        step!(0xe4, d, a, b, c, m[2], 0xfcefa3f8, 9);
        step!(0xe4, c, d, a, b, m[7], 0x676f02d9, 14);
        step!(0xe4, b, c, d, a, m[12], 0x8d2a4c8a, 20);
        step!(0x96, a, b, c, d, m[5], 0xfffa3942, 4);
        step!(0x96, d, a, b, c, m[8], 0x8771f681, 11);
        step!(0x96, c, d, a, b, m[11], 0x6d9d6122, 16);
        step!(0x96, b, c, d, a, m[14], 0xfde5380c, 23);
        step!(0x96, a, b, c, d, m[1], 0xa4beea44, 4);
        step!(0x96, d, a, b, c, m[4], 0x4bdecfa9, 11);
        step!(0x96, c, d, a, b, m[7], 0xf6bb4b60, 16);
        step!(0x96, b, c, d, a, m[10], 0xbebfbc70, 23);
        step!(0x96, a, b, c, d, m[13], 0x289b7ec6, 4);
        step!(0x96, d, a, b, c, m[0], 0xeaa127fa, 11);
        step!(0x96, c, d, a, b, m[3], 0xd4ef3085, 16);
        step!(0x96, b, c, d, a, m[6], 0x04881d05, 23);
        step!(0x96, a, b, c, d, m[9], 0xd9d4d039, 4);
        step!(0x96, d, a, b, c, m[12], 0xe6db99e5, 11);
        step!(0x96, c, d, a, b, m[15], 0x1fa27cf8, 16);
        step!(0x96, b, c, d, a, m[2], 0xc4ac5665, 23);
        step!(0x39, a, b, c, d, m[0], 0xf4292244, 6);
        step!(0x39, d, a, b, c, m[7], 0x432aff97, 10);
        step!(0x39, c, d, a, b, m[14], 0xab9423a7, 15);
        step!(0x39, b, c, d, a, m[5], 0xfc93a039, 21);
        step!(0x39, a, b, c, d, m[12], 0x655b59c3, 6);
        step!(0x39, d, a, b, c, m[3], 0x8f0ccc92, 10);
        step!(0x39, c, d, a, b, m[10], 0xffeff47d, 15);
        step!(0x39, b, c, d, a, m[1], 0x85845dd1, 21);
        step!(0x39, a, b, c, d, m[8], 0x6fa87e4f, 6);
        step!(0x39, d, a, b, c, m[15], 0xfe2ce6e0, 10);
        step!(0x39, c, d, a, b, m[6], 0xa3014314, 15);
        step!(0x39, b, c, d, a, m[13], 0x4e0811a1, 21);
        step!(0x39, a, b, c, d, m[4], 0xf7537e82, 6);
        step!(0x39, d, a, b, c, m[11], 0xbd3af235, 10);
        step!(0x39, c, d, a, b, m[2], 0x2ad7d2bb, 15);
        step!(0x39, b, c, d, a, m[9], 0xeb86d391, 21);
        a = _mm512_add_epi32(a, a0);
        b = _mm512_add_epi32(b, b0);
        c = _mm512_add_epi32(c, c0);
        d = _mm512_add_epi32(d, d0);
    }

    unsafe {
        _mm512_storeu_si512(reg[0].as_mut_ptr().cast(), a);
        _mm512_storeu_si512(reg[1].as_mut_ptr().cast(), b);
        _mm512_storeu_si512(reg[2].as_mut_ptr().cast(), c);
        _mm512_storeu_si512(reg[3].as_mut_ptr().cast(), d);
    }
    for (i, s) in states.iter_mut().enumerate() {
        for w in 0..4 {
            s[w] = reg[w][i];
        }
    }
}
