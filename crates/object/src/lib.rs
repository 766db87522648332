//! The object layer: buckets, objects, multipart uploads, listing, conditional requests and
//! checksums, with S3's semantics but no HTTP or XML. It streams bodies between the caller and
//! the data layer (never holding a whole large object in memory) and commits every change as
//! one compare-and-swap batch in the metadata store. It must not know about S3 error codes,
//! headers or the `s3s` crate: the S3 edge translates requests in and [`ObjectError`]s out.

pub mod acl;
mod bucket;
pub mod checksum;
pub mod conditions;
mod error;
pub mod ingest;
mod list;
mod multipart;
pub mod names;
mod objects;
pub mod range;
mod read;
mod sweep;
pub use sweep::SweepReport;

use std::path::PathBuf;
use std::sync::Arc;

pub use acl::{AclRequest, CannedAcl};
pub use conditions::{EtagMatch, ReadConditions, WriteConditions};
pub use error::{ObjectError, Result};
pub use ingest::{BodyChecks, ChecksumRequest, ExpectedChecksum};
pub use list::{ListEntry, ListPage, ListQuery, UploadListPage, UploadListQuery};
pub use multipart::{CompletePart, CreateUpload, PartListPage, UploadedPart};
pub use objects::{CopySource, ObjectBody, OpenedObject, PutOptions};
pub use range::ByteRange;
pub use rustfs_meta::{
    BucketRecord, ChecksumAlgorithm, ChecksumType, ChecksumValue, Grant, Grantee, ObjectMeta,
    ObjectOwnership, ObjectRecord, PartRecord, Permission, UploadRecord,
};

use rustfs_data::DataStore;
use rustfs_meta::{MetaStore, RedbStore};

/// Non-final multipart parts must be at least this large.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Highest part number S3 allows.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Entry point of the object layer.
pub struct ObjectStore {
    meta: Arc<dyn MetaStore>,
    data: Arc<DataStore>,
}

impl ObjectStore {
    /// Opens the volumes and the embedded metadata store on the first one.
    pub fn open(volumes: &[PathBuf]) -> Result<Self> {
        let data = Arc::new(DataStore::open(volumes)?);
        let meta: Arc<dyn MetaStore> = Arc::new(RedbStore::open(&data.meta_path())?);
        Ok(Self { meta, data })
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
