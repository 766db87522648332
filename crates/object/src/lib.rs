//! The object layer: buckets, objects, multipart uploads, listing, conditional requests and
//! checksums, with S3's semantics but no HTTP or XML. It streams bodies between the caller and
//! the data layer (never holding a whole large object in memory) and commits every change as
//! one metadata transaction ([`rustfs_meta::TxnStore`], whichever backend the binary built). It must not know about S3 error codes,
//! headers or the `s3s` crate: the S3 edge translates requests in and [`ObjectError`]s out.

pub mod acl;
mod bucket;
mod bucket_config;
pub mod checksum;
pub mod conditions;
pub mod cors;
mod error;
mod heal;
pub mod ingest;
pub mod lease;
pub mod lifecycle;
pub mod lifecycle_worker;
mod list;
pub mod md5x;
mod multipart;
pub mod names;
mod objects;
pub mod policy;
pub mod range;
mod read;
pub mod retention;
pub mod sse;
pub mod stale_uploads;
mod sweep;
mod txn;
mod update;
mod versions;
pub mod worker;
pub use heal::{HealReport, HealState, MaintenanceReport};
pub use versions::DeleteOutcome;
pub mod tagging;
pub use sweep::SweepReport;
pub use tagging::TagSet;

use std::path::PathBuf;
use std::sync::Arc;

pub use acl::{AclRequest, CannedAcl};
pub use conditions::{EtagMatch, ReadConditions, WriteConditions};
pub use error::{ObjectError, Result};
pub use ingest::{BodyChecks, ChecksumRequest, ExpectedChecksum};
pub use list::{
    ListEntry, ListPage, ListQuery, UploadListPage, UploadListQuery, VersionEntry, VersionListPage,
    VersionListQuery,
};
pub use multipart::{CompletePart, CreateUpload, PartListPage, UploadedPart};
pub use objects::{CopySource, ObjectBody, OpenedObject, PutOptions, ReadSpec};
pub use range::ByteRange;
pub use rustfs_data::{
    DataError, DataStore, Layout, RemoteVolume, Reserve, ShardSet, VolumeStatus,
};
pub use rustfs_meta::{
    BucketEncryption, BucketRecord, ChecksumAlgorithm, ChecksumType, ChecksumValue, CorsRule,
    DefaultRetention, Grant, Grantee, LifecycleExpiration, LifecycleFilter, LifecycleRule,
    MetaError, NoncurrentExpiration, ObjectEncryption, ObjectLockConfig, ObjectMeta,
    ObjectOwnership, ObjectRecord, PartRecord, Permission, PublicAccessBlock, ReplicaStatus,
    Retention, RetentionMode, RetentionPeriod, SseMode, UploadRecord, Versioning,
};

use rustfs_meta::{RedbStore, TxnStore};

/// Non-final multipart parts must be at least this large.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Highest part number S3 allows.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Entry point of the object layer.
pub struct ObjectStore {
    meta: Arc<dyn TxnStore>,
    data: Arc<DataStore>,
    heal: heal::HealTracker,
    /// The KMS for server-side encryption ([`ObjectStore::set_kms`]).
    kms: std::sync::OnceLock<sse::Kms>,
    workers: worker::Workers,
}

impl ObjectStore {
    /// Opens the volumes with the default erasure layout for their number.
    pub fn open(volumes: &[PathBuf]) -> Result<Self> {
        Self::open_with(volumes, Layout::default_for(volumes.len())?)
    }

    /// Opens the volumes (data striped as `layout` says) and the embedded metadata store,
    /// replicated on every volume.
    pub fn open_with(volumes: &[PathBuf], layout: Layout) -> Result<Self> {
        Self::open_with_reserve(volumes, layout, Reserve::Auto)
    }

    /// [`ObjectStore::open_with`], each volume keeping `reserve` free for metadata commits and
    /// deletes (data writes that would use it fail with [`ObjectError::NoSpace`]).
    pub fn open_with_reserve(
        volumes: &[PathBuf],
        layout: Layout,
        reserve: Reserve,
    ) -> Result<Self> {
        let data = Arc::new(DataStore::open_with_reserve(volumes, layout, reserve)?);
        let meta = Arc::new(RedbStore::open_replicated(
            &data.meta_paths(),
            layout.write_quorum(),
        )?);
        Self::new(meta, data)
    }

    /// The object layer over a metadata backend and the data volumes. The binary chooses the
    /// backend (embedded redb on the volumes, or a database); the object layer only runs
    /// transactions on it.
    pub fn new(meta: Arc<dyn TxnStore>, data: Arc<DataStore>) -> Result<Self> {
        Ok(Self {
            meta,
            data,
            heal: heal::HealTracker::default(),
            kms: std::sync::OnceLock::new(),
            workers: worker::Workers::default(),
        })
    }

    /// Opens the data volumes alone (for a caller that builds its own metadata backend and
    /// passes both to [`ObjectStore::new`]).
    pub fn open_data(volumes: &[PathBuf], layout: Layout, reserve: Reserve) -> Result<DataStore> {
        Ok(DataStore::open_with_reserve(volumes, layout, reserve)?)
    }

    /// The metadata backend (for the layers that keep their own records in it, such as
    /// identities).
    pub fn meta(&self) -> Arc<dyn TxnStore> {
        self.meta.clone()
    }

    /// The background workers running on this store (for their status).
    pub fn workers(&self) -> &worker::Workers {
        &self.workers
    }

    /// The metadata backend's short name (`redb`, `postgres`).
    pub fn meta_backend(&self) -> &'static str {
        self.meta.backend()
    }

    pub fn layout(&self) -> Layout {
        self.data.layout()
    }

    /// The ids of this server's own volumes (what its heal passes cover after it was away).
    pub fn local_volume_ids(&self) -> Vec<u16> {
        self.data.local_volume_ids()
    }

    pub fn volume_roots(&self) -> Vec<PathBuf> {
        self.data
            .volume_roots()
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }
}

pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
