//! Sync-point fault injection, for crash-consistency tests. Every durability barrier of the
//! commit protocol (a data file's `fdatasync`, a directory `fsync`, a metadata commit's sync)
//! calls [`sync_point`] first. Disarmed (always, outside tests) it is one relaxed atomic load.
//! Armed with [`crash_at`]`(n)`, the n-th barrier and every I/O barrier after it fail, as if the
//! machine had stopped there; a test then reopens the store from what reached the disk.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
