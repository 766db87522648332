//! Sync-point fault injection, for crash-consistency tests. Every durability barrier of the
//! commit protocol (a data file's `fdatasync`, a directory `fsync`, a metadata commit's sync)
//! calls [`sync_point`] first. Disarmed (always, outside tests) it is one relaxed atomic load.
//! Armed with [`crash_at`]`(n)`, the n-th barrier and every I/O barrier after it fail, as if the
//! machine had stopped there; a test then reopens the store from what reached the disk.
//!
//! Read faults: [`fail_reads`] makes the next reads of one record fail with a storage error, as
//! a failing drive would, so tests can check what a caller does when a read fails (the access
//! checks must refuse, never allow). Disarmed it is one relaxed atomic load per read.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::store::Table;

static ARMED: AtomicBool = AtomicBool::new(false);
static CRASHED: AtomicBool = AtomicBool::new(false);
static REMAINING: AtomicU64 = AtomicU64::new(0);
static PASSED: AtomicU64 = AtomicU64::new(0);

/// Makes the `n`-th sync point from now (1-based) and all later ones fail.
pub fn crash_at(n: u64) {
    PASSED.store(0, Ordering::SeqCst);
    CRASHED.store(false, Ordering::SeqCst);
    REMAINING.store(n, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
}

/// Counts sync points without failing any (to learn how many a workload has).
pub fn count_only() {
    crash_at(u64::MAX);
}

/// Disarms injection; returns how many sync points passed while armed.
pub fn disarm() -> u64 {
    ARMED.store(false, Ordering::SeqCst);
    CRASHED.store(false, Ordering::SeqCst);
    PASSED.load(Ordering::SeqCst)
}

/// Whether the injected crash has happened.
pub fn crashed() -> bool {
    CRASHED.load(Ordering::SeqCst)
}

/// Called before every durability barrier.
pub fn sync_point() -> std::io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    if CRASHED.load(Ordering::SeqCst) {
        return Err(injected());
    }
    if REMAINING.fetch_sub(1, Ordering::SeqCst) <= 1 {
        CRASHED.store(true, Ordering::SeqCst);
        return Err(injected());
    }
    PASSED.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn injected() -> std::io::Error {
    std::io::Error::other("injected crash at a sync point")
}

/// Whether injection is armed (a store opened while armed models power loss: writes not yet
/// synced are held back and lost at the crash).
pub fn armed() -> bool {
    ARMED.load(Ordering::SeqCst)
}

static READ_FAULTS: AtomicBool = AtomicBool::new(false);
/// Records whose next reads fail: (table, key, reads left to fail).
static FAILING_READS: Mutex<Vec<(Table, Vec<u8>, u32)>> = Mutex::new(Vec::new());

/// Makes the next `times` reads of the record `key` in `table` fail with a storage error
/// (keyed by record, so tests running in parallel on other records are unaffected).
pub fn fail_reads(table: Table, key: &[u8], times: u32) {
    if let Ok(mut f) = FAILING_READS.lock() {
        f.retain(|(t, k, _)| !(*t == table && k == key));
        if times > 0 {
            f.push((table, key.to_vec(), times));
        }
        READ_FAULTS.store(!f.is_empty(), Ordering::SeqCst);
    }
}

/// Called before every read of one record.
pub fn read_point(table: Table, key: &[u8]) -> std::io::Result<()> {
    if !READ_FAULTS.load(Ordering::Relaxed) {
        return Ok(());
    }
    let Ok(mut f) = FAILING_READS.lock() else {
        return Ok(());
    };
    let Some(at) = f.iter().position(|(t, k, _)| *t == table && k == key) else {
        return Ok(());
    };
    f[at].2 -= 1;
    if f[at].2 == 0 {
        f.swap_remove(at);
        READ_FAULTS.store(!f.is_empty(), Ordering::SeqCst);
    }
    Err(std::io::Error::other("injected read failure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_faults_fail_the_named_record_the_given_times() {
        fail_reads(Table::Objects, b"faults-test\0k", 2);
        assert!(read_point(Table::Objects, b"faults-test\0other").is_ok());
        assert!(read_point(Table::Buckets, b"faults-test\0k").is_ok());
        assert!(read_point(Table::Objects, b"faults-test\0k").is_err());
        assert!(read_point(Table::Objects, b"faults-test\0k").is_err());
        assert!(read_point(Table::Objects, b"faults-test\0k").is_ok());
    }
}
