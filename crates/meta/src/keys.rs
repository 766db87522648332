//! Key layout. Bucket names never contain NUL and object keys are refused if they do, so a NUL
//! separator keeps composite keys unambiguous and byte order equals (bucket, key) order.

/// `bucket NUL key`: the object table key.
pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1 + key.len());
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// The object-table range holding every key of `bucket` that starts with `prefix`.
pub fn object_prefix_range(bucket: &str, prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let start = object_key(bucket, prefix);
    let end = prefix_successor(&start);
    (start, end)
}

/// Strips the `bucket NUL` part of an object-table key.
pub fn object_name(full: &[u8]) -> Option<&str> {
    let pos = full.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&full[pos + 1..]).ok()
}

/// Inverts the hex digits of a version order id (`d` -> `f - d`), so that newer ids, which
/// are greater, sort first. Other characters are kept.
pub fn version_order(order_id: &str) -> String {
    order_id
        .chars()
        .map(|c| match c.to_digit(16) {
            Some(d) => char::from_digit(15 - d, 16).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// `bucket NUL key NUL inverted-order-id`: the versions table key of a noncurrent version.
/// A key's versions are contiguous and newest first.
pub fn version_key(bucket: &str, key: &str, order_id: &str) -> Vec<u8> {
    let mut k = versions_prefix(bucket, key);
    k.extend_from_slice(version_order(order_id).as_bytes());
    k
}

/// `bucket NUL key NUL`: the start of a key's noncurrent versions.
fn versions_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = object_key(bucket, key);
    k.push(0);
    k
}

/// The versions-table range of one key's noncurrent versions.
pub fn versions_range(bucket: &str, key: &str) -> (Vec<u8>, Vec<u8>) {
    let start = versions_prefix(bucket, key);
    let mut end = object_key(bucket, key);
    end.push(1);
    (start, end)
}

/// The object key of a versions-table key (between the first and the last NUL).
pub fn version_object_name(full: &[u8]) -> Option<&str> {
    let first = full.iter().position(|&b| b == 0)?;
    let last = full.iter().rposition(|&b| b == 0)?;
    (last > first)
        .then(|| std::str::from_utf8(&full[first + 1..last]).ok())
        .flatten()
}

/// `bucket NUL key NUL upload-id`: the upload table key.
pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = object_key(bucket, key);
    k.push(0);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// `upload-id NUL part-number (u32 big-endian)`: the part table key; parts sort by number.
pub fn part_key(upload_id: &str, part_number: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(upload_id.len() + 5);
    k.extend_from_slice(upload_id.as_bytes());
    k.push(0);
    k.extend_from_slice(&part_number.to_be_bytes());
    k
}

/// The part-table range of one upload.
pub fn parts_range(upload_id: &str) -> (Vec<u8>, Vec<u8>) {
    let mut start = upload_id.as_bytes().to_vec();
    start.push(0);
    let mut end = upload_id.as_bytes().to_vec();
    end.push(1);
    (start, end)
}

/// The smallest byte string greater than every string starting with `prefix`; empty when there
/// is none (all 0xFF), which scans treat as "unbounded".
pub fn prefix_successor(prefix: &[u8]) -> Vec<u8> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return s;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_sort_by_bucket_then_key() {
        let mut keys = [
            object_key("b", "a/b"),
            object_key("a", "zzz"),
            object_key("b", "a"),
            object_key("ab", ""),
            object_key("b", "a0"),
        ];
        keys.sort();
        let names: Vec<_> = keys.iter().map(|k| object_name(k).unwrap()).collect();
        assert_eq!(names, ["zzz", "", "a", "a/b", "a0"]);
    }

    #[test]
    fn prefix_range_covers_exactly_the_prefix() {
        let (s, e) = object_prefix_range("bkt", "dir/");
        assert!(object_key("bkt", "dir/") >= s && object_key("bkt", "dir/") < e);
        assert!(object_key("bkt", "dir/\u{10FFFF}") < e);
        assert!(object_key("bkt", "dir0") >= e);
        assert!(object_key("bkt", "dir") < s);
        let (s, e) = object_prefix_range("bkt", "");
        assert!(object_key("bkt", "\u{10FFFF}") < e);
        assert!(object_key("bkt0", "") >= e);
        assert!(object_key("bkt", "") >= s);
    }

    #[test]
    fn successor_carries() {
        assert_eq!(prefix_successor(b"a\xff\xff"), b"b");
        assert_eq!(prefix_successor(b"\xff"), b"");
        assert_eq!(prefix_successor(b""), b"");
    }

    #[test]
    fn versions_sort_by_key_then_newest_first() {
        let older = "0000000000000010aaaaaaaaaaaaaaaa";
        let newer = "0000000000000011aaaaaaaaaaaaaaaa";
        assert!(version_key("b", "k", newer) < version_key("b", "k", older));
        assert!(version_key("b", "k", older) < version_key("b", "k0", newer));
        assert!(version_key("b", "k/", older) > version_key("b", "k", older));
        let (s, e) = versions_range("b", "k");
        for v in [older, newer] {
            let k = version_key("b", "k", v);
            assert!(k >= s && k < e);
            assert_eq!(version_object_name(&k), Some("k"));
        }
        assert!(version_key("b", "k0", older) >= e);
        assert_eq!(version_order(&version_order(older)), older);
    }

    #[test]
    fn parts_sort_numerically() {
        assert!(part_key("u", 2) < part_key("u", 10));
        let (s, e) = parts_range("u");
        assert!(part_key("u", 1) >= s && part_key("u", u32::MAX) < e);
        assert!(part_key("u2", 1) >= e);
    }
}
