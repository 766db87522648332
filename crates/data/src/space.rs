//! Free space on volumes. A volume that runs out of space is full, not failed: "no space" (`ENOSPC`,
//! or `EDQUOT` for a quota) is its own error, never a reason to take the volume offline. Each
//! volume keeps a reserve of free space that data writes (data files, and inline bodies, which
//! live in the metadata) may not use, so the metadata commit that follows a data write, and
//! deletes, always find room.

use std::io;
use std::path::Path;

use crate::DataError;

/// The environment variable (and `--volume-reserve`) that sets the reserve.
pub const RESERVE_ENV: &str = "RUSTFS_VOLUME_RESERVE";

const GIB: u64 = 1 << 30;

/// How much free space each volume keeps for metadata commits and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reserve {
    /// 1% of the filesystem (MinIO keeps 1% free too), at least 1 GiB, but never more than 5% of
    /// the filesystem, so a small volume (a test tmpfs, a 10 GiB disk) stays usable.
    #[default]
    Auto,
    /// A fixed number of bytes (`0`: no reserve).
    Bytes(u64),
    /// Parts per million of the filesystem's size (`1%` is 10,000).
    Ppm(u32),
}

impl Reserve {
    /// Parses `auto`, a size (`0`, `1073741824`, `512MiB`, `1GiB`, `2GB`, `100M`) or a share
    /// of the filesystem (`1%`, `0.5%`, at most 50%).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Reserve::Auto);
        }
        if let Some(p) = t.strip_suffix('%') {
            let pct: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("invalid volume reserve {s:?}: not a percentage"))?;
            if !(0.0..=50.0).contains(&pct) {
                return Err(format!(
                    "invalid volume reserve {s:?}: a share must be 0% to 50%"
                ));
            }
            return Ok(Reserve::Ppm((pct * 10_000.0).round() as u32));
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| {
            format!("invalid volume reserve {s:?}: expected auto, a size such as 1GiB, or a share such as 1%")
        })?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => GIB,
            "t" | "tib" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => {
                return Err(format!(
                    "invalid volume reserve {s:?}: unknown unit {unit:?}"
                ));
            }
        };
        n.checked_mul(mult)
            .map(Reserve::Bytes)
            .ok_or_else(|| format!("invalid volume reserve {s:?}: too large"))
    }

    /// The reserve in bytes on a filesystem of `total` bytes.
    pub fn bytes_for(self, total: u64) -> u64 {
        match self {
            Reserve::Auto => (total / 100).max(GIB).min(total / 20),
            Reserve::Bytes(b) => b,
            Reserve::Ppm(ppm) => {
                u64::try_from(u128::from(total) * u128::from(ppm) / 1_000_000).unwrap_or(u64::MAX)
            }
        }
    }
}

impl std::fmt::Display for Reserve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reserve::Auto => f.write_str("auto (1%, at least 1 GiB, at most 5%)"),
            Reserve::Bytes(b) => write!(f, "{b} bytes"),
            Reserve::Ppm(p) => write!(f, "{}%", f64::from(*p) / 10_000.0),
        }
    }
}

/// Whether an I/O error means the filesystem (or the user's quota) has no room: the volume is
/// full, not failing.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Size and free space of the filesystem holding a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Space {
    pub(crate) total: u64,
    /// Bytes an unprivileged writer may still use (`f_bavail`, what `df` shows as available).
    pub(crate) avail: u64,
}

impl Space {
    pub(crate) fn of(root: &Path) -> io::Result<Self> {
        let s = rustix::fs::statvfs(root)?;
        let unit = if s.f_frsize > 0 {
            s.f_frsize
        } else {
            s.f_bsize
        };
        Ok(Self {
            total: s.f_blocks.saturating_mul(unit),
            avail: s.f_bavail.saturating_mul(unit),
        })
    }

    /// Bytes data writes may still use before reaching the reserve.
    pub(crate) fn slack(self, reserve: Reserve) -> u64 {
        self.avail.saturating_sub(reserve.bytes_for(self.total))
    }
}

/// How many bytes a writer may write between two free-space checks: one `statvfs` per MiB
/// costs nothing next to writing the MiB, and bounds how far concurrent writers can overshoot.
pub(crate) const CHECK_STEP: u64 = 1 << 20;

/// The free-space check of one data file being written: it asks the filesystem at most once per
/// [`CHECK_STEP`] bytes and refuses a write that would take the volume into its reserve.
#[derive(Debug)]
pub(crate) struct RoomCheck {
    root: std::path::PathBuf,
    reserve: Reserve,
    /// Bytes known to fit since the last check.
    credit: u64,
}

impl RoomCheck {
    pub(crate) fn new(root: &Path, reserve: Reserve) -> Self {
        Self {
            root: root.to_path_buf(),
            reserve,
            credit: 0,
        }
    }

    /// Accounts for `n` bytes about to be written.
    pub(crate) fn take(&mut self, n: u64) -> Result<(), DataError> {
        if n <= self.credit {
            self.credit -= n;
            return Ok(());
        }
        // A volume whose size cannot be read fails (or not) on the write itself.
        let Ok(space) = Space::of(&self.root) else {
            self.credit = 0;
            return Ok(());
        };
        self.credit = grant(space.slack(self.reserve), n)
            .ok_or_else(|| DataError::NoSpace(self.root.clone()))?;
        Ok(())
    }
}

/// With `slack` bytes usable above the reserve, `n` bytes to write now: the credit left after
/// them (looking at most [`CHECK_STEP`] ahead), or `None` if they do not fit.
fn grant(slack: u64, n: u64) -> Option<u64> {
    (n <= slack).then(|| slack.min(n.max(CHECK_STEP)) - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn auto_reserve_is_one_percent_at_least_a_gib_at_most_five_percent() {
        let r = Reserve::Auto;
        assert_eq!(r.bytes_for(64 * MIB), 64 * MIB / 20, "tiny: capped at 5%");
        assert_eq!(r.bytes_for(10 * GIB), 10 * GIB / 20, "10 GiB: 5% < 1 GiB");
        assert_eq!(r.bytes_for(20 * GIB), GIB, "20 GiB: the 1 GiB floor");
        assert_eq!(r.bytes_for(100 * GIB), GIB);
        assert_eq!(r.bytes_for(1 << 40), (1u64 << 40) / 100, "1 TiB: 1%");
        assert_eq!(r.bytes_for(0), 0);
        assert_eq!(Reserve::Bytes(5).bytes_for(1 << 40), 5);
        assert_eq!(Reserve::Ppm(10_000).bytes_for(1 << 40), (1u64 << 40) / 100);
        assert_eq!(Reserve::Ppm(500_000).bytes_for(u64::MAX), u64::MAX / 2);
    }

    #[test]
    fn reserve_parses_sizes_and_shares() {
        let p = |s| Reserve::parse(s);
        assert_eq!(p("auto"), Ok(Reserve::Auto));
        assert_eq!(p("AUTO"), Ok(Reserve::Auto));
        assert_eq!(p("0"), Ok(Reserve::Bytes(0)));
        assert_eq!(p("4096"), Ok(Reserve::Bytes(4096)));
        assert_eq!(p("512MiB"), Ok(Reserve::Bytes(512 * MIB)));
        assert_eq!(p("1GiB"), Ok(Reserve::Bytes(GIB)));
        assert_eq!(p("1g"), Ok(Reserve::Bytes(GIB)));
        assert_eq!(p("2GB"), Ok(Reserve::Bytes(2_000_000_000)));
        assert_eq!(p(" 100 M "), Ok(Reserve::Bytes(100 * MIB)));
        assert_eq!(p("1%"), Ok(Reserve::Ppm(10_000)));
        assert_eq!(p("0.5%"), Ok(Reserve::Ppm(5_000)));
        for bad in [
            "",
            "%",
            "-1",
            "1.5GiB",
            "10 parsecs",
            "51%",
            "-1%",
            "99999999999TiB",
        ] {
            assert!(p(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn a_write_may_not_enter_the_reserve() {
        let space = Space {
            total: 64 * MIB,
            avail: 10 * MIB,
        };
        let reserve = Reserve::Bytes(4 * MIB);
        assert_eq!(space.slack(reserve), 6 * MIB);
        assert_eq!(
            Space {
                total: 64 * MIB,
                avail: 3 * MIB
            }
            .slack(reserve),
            0,
            "below the reserve: no slack, never an underflow"
        );
        // Small writes look one step ahead; a large one takes exactly what it needs.
        assert_eq!(grant(6 * MIB, 1000), Some(MIB - 1000));
        assert_eq!(grant(6 * MIB, 5 * MIB), Some(0));
        assert_eq!(grant(6 * MIB, 6 * MIB), Some(0), "up to the reserve's edge");
        assert_eq!(
            grant(6 * MIB, 6 * MIB + 1),
            None,
            "one byte into the reserve"
        );
        assert_eq!(grant(100, 1000), None);
        assert_eq!(grant(0, 0), Some(0));
        assert_eq!(
            grant(500 * 1024, 1000),
            Some(500 * 1024 - 1000),
            "near the edge"
        );
    }

    #[test]
    fn room_check_refuses_once_the_reserve_would_be_touched() {
        let dir = tempfile::tempdir().unwrap();
        let avail = Space::of(dir.path()).unwrap().avail;
        // A reserve 256 MiB under what is free (wide margins: other processes share the disk):
        // a small write fits, one larger than everything free does not.
        let mut c = RoomCheck::new(dir.path(), Reserve::Bytes(avail.saturating_sub(256 * MIB)));
        assert!(c.take(1000).is_ok());
        assert!(matches!(c.take(avail + GIB), Err(DataError::NoSpace(_))));
        let mut c = RoomCheck::new(dir.path(), Reserve::Bytes(0));
        assert!(c.take(1000).is_ok());
        let mut c = RoomCheck::new(dir.path(), Reserve::Bytes(u64::MAX));
        assert!(matches!(c.take(1), Err(DataError::NoSpace(_))));
    }

    #[test]
    fn no_space_is_told_apart_from_other_errors() {
        assert!(is_no_space(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_no_space(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(is_no_space(&io::Error::from(io::ErrorKind::StorageFull)));
        assert!(is_no_space(&io::Error::from(io::ErrorKind::QuotaExceeded)));
        for other in [
            libc::EIO,
            libc::EROFS,
            libc::ENOENT,
            libc::EMFILE,
            libc::EACCES,
        ] {
            assert!(
                !is_no_space(&io::Error::from_raw_os_error(other)),
                "{other}"
            );
        }
        assert!(!is_no_space(&io::Error::other("no space left")));
    }
}
