//! The body format against minio-py (`tests/data/minio_py_vectors.json`, made by
//! `tests/make_vectors.py`), round trips on every scheme, and hostile bodies: every change,
//! cut, reorder or extension is refused, never a panic.

use rustfs_madmin::{MadminError, Scheme, decrypt, encrypt, encrypt_with};

const SCHEMES: [Scheme; 3] = [
    Scheme::Argon2idAesGcm,
    Scheme::Argon2idChaCha20Poly1305,
    Scheme::Pbkdf2AesGcm,
];

fn hex(s: &str) -> Vec<u8> {
    hex_simd::decode_to_vec(s).unwrap()
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn bodies_sealed_by_minio_py_open() {
    let text = include_str!("data/minio_py_vectors.json");
    let vectors: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let password = v["password"].as_str().unwrap();
        let (plain, scheme) = decrypt(password.as_bytes(), &hex(v["body"].as_str().unwrap()))
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(plain, hex(v["plaintext"].as_str().unwrap()));
        assert_eq!(u64::from(scheme.id()), v["scheme"].as_u64().unwrap());
        assert_eq!(
            decrypt(b"wrong", &hex(v["body"].as_str().unwrap())).map(|_| ()),
            if plain.is_empty() && hex(v["body"].as_str().unwrap()).len() == 41 {
                Ok(()) // minio-py's empty body has no fragment to authenticate
            } else {
                Err(MadminError::Authentication)
            }
        );
    }
}

/// Writes `tests/data/rust_vectors.json` for `make_vectors.py` to open with minio-py:
/// `cargo test -p rustfs-madmin --test format -- --ignored`.
#[test]
#[ignore]
fn write_rust_vectors() {
    let mut out = Vec::new();
    for (i, size) in [0usize, 1, 16 * 1024, 16 * 1024 + 1]
        .into_iter()
        .enumerate()
    {
        for scheme in [Scheme::Argon2idAesGcm, Scheme::Argon2idChaCha20Poly1305] {
            let password = format!("rust-{size}");
            let plain = data(size, i as u8);
            let body = encrypt(password.as_bytes(), &plain, scheme).unwrap();
            out.push(serde_json::json!({
                "scheme": scheme.id(),
                "password": password,
                "plaintext": hex_simd::encode_to_string(&plain, hex_simd::AsciiCase::Lower),
                "body": hex_simd::encode_to_string(&body, hex_simd::AsciiCase::Lower),
            }));
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rust_vectors.json");
    std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
}

#[test]
fn round_trips_on_every_scheme_and_fragment_boundary() {
    for scheme in SCHEMES {
        for size in [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100 * 1024] {
            let plain = data(size, 3);
            let body = encrypt(b"secret", &plain, scheme).unwrap();
            let fragments = size.div_ceil(16 * 1024).max(1);
            assert_eq!(body.len(), 41 + size + 16 * fragments, "{scheme:?} {size}");
            assert_eq!(body[32], scheme.id());
            assert_eq!(decrypt(b"secret", &body).unwrap(), (plain, scheme));
            assert_eq!(decrypt(b"other", &body), Err(MadminError::Authentication));
        }
    }
}

#[test]
fn changed_cut_reordered_or_extended_bodies_are_refused() {
    let salt = [9u8; 32];
    let prefix = [4u8; 8];
    let plain = data(40000, 1); // three fragments: 16 KiB, 16 KiB, the rest
    let body = encrypt_with(b"pw", &plain, Scheme::Pbkdf2AesGcm, &salt, &prefix).unwrap();
    let f = 16 * 1024 + 16;
    let (head, frags) = body.split_at(41);
    let (a, rest) = frags.split_at(f);
    let (b, c) = rest.split_at(f);
    let refused = |b: Vec<u8>| {
        assert!(decrypt(b"pw", &b).is_err());
    };
    refused([head, b, a, c].concat()); // reordered
    refused([head, a, c].concat()); // a fragment dropped
    refused([head, a, b].concat()); // the final fragment cut off
    refused([head, a, b, c, c].concat()); // extended
    refused(body[..body.len() - 1].to_vec()); // truncated mid-fragment
    for i in [0, 31, 33, 40, 41, 5000, body.len() - 1] {
        let mut x = body.clone();
        x[i] ^= 1;
        refused(x);
    }
    let mut other_scheme = body.clone();
    other_scheme[32] = 0;
    refused(other_scheme);
    let mut unknown = body.clone();
    unknown[32] = 7;
    assert_eq!(decrypt(b"pw", &unknown), Err(MadminError::UnknownScheme(7)));
    assert_eq!(decrypt(b"pw", &body[..40]), Err(MadminError::TooShort(40)));
    assert_eq!(decrypt(b"pw", &body[..50]), Err(MadminError::TooShort(50)));
    assert!(matches!(
        decrypt(b"pw", &vec![0u8; rustfs_madmin::MAX_BODY + 1]),
        Err(MadminError::TooLarge(_))
    ));
}

#[test]
fn random_bodies_give_errors_not_panics() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..200 {
        let len = (next() % 200) as usize;
        let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len > 32 {
            body[32] = 2; // PBKDF2: cheap enough to try many
        }
        assert!(decrypt(b"pw", &body).is_err() || len == 41);
    }
}
