//! The tables of ordered byte keys every backend holds and the scan visitor's steps; and the
//! embedded backend's internal unit of commit (a [`Batch`] of checks and writes that applies
//! atomically only if every check holds), into which its transactions turn their read sets.
//! Callers use transactions ([`crate::txn`]), never batches.

/// The tables of the store. Keys are compared as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// bucket name -> [`crate::BucketRecord`]
    Buckets,
    /// bucket NUL key -> [`crate::ObjectRecord`]: the current version (maybe a delete marker)
    Objects,
    /// bucket NUL key NUL inverted order id -> [`crate::ObjectRecord`]: noncurrent versions,
    /// newest first (see [`crate::keys::version_key`])
    Versions,
    /// bucket NUL key NUL upload-id -> [`crate::UploadRecord`]
    Uploads,
    /// upload-id NUL part-number(u32 BE) -> [`crate::PartRecord`]
    Parts,
    /// blob id -> raw bytes of a small object body kept in metadata
    Blobs,
    /// store-wide settings (format version)
    System,
    /// a cluster's membership and layout (`node/ID`, `heartbeat/ID`, `volume/ID`, `layout`;
    /// records owned by the `rustfs-cluster` crate)
    Cluster,
    /// data files to delete on a volume that was offline: volume id (u16 BE) ++ file id
    Deferred,
    /// identities: users, groups, policies, service accounts (`user/AK`, `group/NAME`,
    /// `policy/NAME`, `svcacct/AK`; records owned by the `rustfs-iam` crate)
    Iam,
}

impl Table {
    /// Every table, the `blobs` table included (which a redb file only gets with its first
    /// blob; [`Table::ALL`] keeps its old meaning for redb's start-up).
    pub const EVERY: [Table; 10] = [
        Table::Buckets,
        Table::Objects,
        Table::Versions,
        Table::Uploads,
        Table::Parts,
        Table::Blobs,
        Table::System,
        Table::Cluster,
        Table::Deferred,
        Table::Iam,
    ];

    pub const ALL: [Table; 6] = [
        Table::Buckets,
        Table::Objects,
        Table::Versions,
        Table::Uploads,
        Table::Parts,
        Table::System,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Buckets => "buckets",
            Table::Objects => "objects",
            Table::Versions => "versions",
            Table::Uploads => "uploads",
            Table::Parts => "parts",
            Table::Blobs => "blobs",
            Table::System => "system",
            Table::Cluster => "cluster",
            Table::Deferred => "deferred",
            Table::Iam => "iam",
        }
    }
}

/// A condition that must hold, at commit time, for a batch to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// The key must not exist.
    Absent(Table, Vec<u8>),
    /// The key must hold exactly these bytes (compare-and-swap on a value read earlier).
    Equals(Table, Vec<u8>, Vec<u8>),
    /// The keys and values in `[start, end)` (an empty `end`: unbounded) must be exactly those
    /// a transaction saw there: their SHA-256 digest (see [`crate::txn::range_digest`]). This is
    /// how a scanned range joins a transaction's conflict set, so an insert into it (a phantom)
    /// conflicts.
    RangeDigest(Table, Vec<u8>, Vec<u8>, [u8; 32]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    Put(Table, Vec<u8>, Vec<u8>),
    Delete(Table, Vec<u8>),
    /// Deletes every key in `[start, end)` (an empty `end`: unbounded).
    DeleteRange(Table, Vec<u8>, Vec<u8>),
}

/// An atomic unit of change: every check holds and every op applies, or nothing does.
#[derive(Debug, Default, Clone)]
pub(crate) struct Batch {
    pub(crate) checks: Vec<Check>,
    pub(crate) ops: Vec<Op>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn check(&mut self, c: Check) -> &mut Self {
        self.checks.push(c);
        self
    }
    pub fn put(&mut self, t: Table, key: Vec<u8>, value: Vec<u8>) -> &mut Self {
        self.ops.push(Op::Put(t, key, value));
        self
    }
    pub fn delete(&mut self, t: Table, key: Vec<u8>) -> &mut Self {
        self.ops.push(Op::Delete(t, key));
        self
    }
    /// Deletes every key in `[start, end)`; an empty `end` means unbounded.
    pub fn delete_range(&mut self, t: Table, start: Vec<u8>, end: Vec<u8>) -> &mut Self {
        self.ops.push(Op::DeleteRange(t, start, end));
        self
    }
}

/// What a scan visitor wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStep {
    /// Go on to the next key.
    Next,
    /// Jump forward to the first key `>= key` (delimiter listing skips a whole common prefix).
    Seek(Vec<u8>),
    /// End the scan.
    Stop,
}
