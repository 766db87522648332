//! Byte ranges of a GET, resolved against the object's size.

use crate::ObjectError;

/// A requested range, as the `Range` header states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` or `bytes=first-` (inclusive `last`).
    From { first: u64, last: Option<u64> },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open span `[start, end)` this range selects in an object of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<(u64, u64), ObjectError> {
        match self {
            ByteRange::From { first, last } => {
                if first >= size || last.is_some_and(|l| l < first) {
                    return Err(ObjectError::InvalidRange { size });
                }
                let end = last.map_or(size, |l| l.saturating_add(1).min(size));
                Ok((first, end))
            }
            ByteRange::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(ObjectError::InvalidRange { size });
                }
                Ok((size - n.min(size), size))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_s3() {
        let r = |first, last| ByteRange::From { first, last };
        assert_eq!(r(0, Some(9)).resolve(100).unwrap(), (0, 10));
        assert_eq!(r(10, None).resolve(100).unwrap(), (10, 100));
        assert_eq!(r(90, Some(1000)).resolve(100).unwrap(), (90, 100));
        assert_eq!(ByteRange::Suffix(5).resolve(100).unwrap(), (95, 100));
        assert_eq!(ByteRange::Suffix(500).resolve(100).unwrap(), (0, 100));
        assert!(r(100, None).resolve(100).is_err());
        assert!(r(5, Some(4)).resolve(100).is_err());
        assert!(ByteRange::Suffix(0).resolve(100).is_err());
        assert!(r(0, None).resolve(0).is_err());
        assert!(r(u64::MAX, Some(u64::MAX)).resolve(100).is_err());
        // A last byte past the end (up to u64::MAX) is clamped, as S3 does.
        assert_eq!(r(0, Some(u64::MAX)).resolve(100).unwrap(), (0, 100));
        assert_eq!(r(99, Some(u64::MAX)).resolve(100).unwrap(), (99, 100));
        assert_eq!(ByteRange::Suffix(u64::MAX).resolve(100).unwrap(), (0, 100));
    }
}
