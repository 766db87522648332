//! Volumes on other nodes of a cluster, as the erasure code sees them. The data layer only
//! defines what it needs of one (open a shard writer, open a verified shard reader, remove a
//! file, say whether it is reachable); how the bytes travel is another crate's business
//! (`rustfs-internode`). Calls block: the erasure code runs on blocking threads.

use bytes::Bytes;

use crate::{DataError, ShardHeader};

/// Called with the outcome of a [`RemoteVolume::remove`].
pub type RemoveDone = Box<dyn FnOnce(Result<(), DataError>) + Send>;

/// A volume of another node.
pub trait RemoteVolume: Send + Sync {
    /// Where it is, for logs and errors (`http://node:port volume 7`).
    fn describe(&self) -> String;
    /// The node holding it (its address), for per-node counts in the metrics.
    fn node(&self) -> String {
        self.describe()
    }
    /// Whether shards may be sent to it and read from it now (its node is alive and answered
    /// its last call).
    fn is_online(&self) -> bool;
    /// Starts a shard file `id` with `header`: nothing is visible on the volume until
    /// [`RemoteWriter::finish`] returned, and then the file is durable there.
    fn create(&self, id: &str, header: &ShardHeader) -> Result<Box<dyn RemoteWriter>, DataError>;
    /// Opens shard file `id` for reads; [`DataError::NotFound`] when it is not there. With
    /// `first_block`, block 0 comes along (a read is about to ask for it: one round trip
    /// instead of two); a presence check leaves it.
    fn open(&self, id: &str, first_block: bool) -> Result<Box<dyn RemoteReader>, DataError>;
    /// Starts removing shard file `id` (done when it was never there) and returns at once:
    /// removals follow commits on the request path, which must not wait for another node.
    /// `done` is called with the outcome once the node answered or could not be reached.
    fn remove(&self, id: &str, done: RemoveDone);
    /// A call to it failed with `err`: a transport failure takes it offline until its node is
    /// seen alive again.
    fn report_error(&self, err: &DataError);
}

/// A shard file being written on another node.
pub trait RemoteWriter: Send {
    /// Appends payload bytes (any amount; blocks are cut and checksummed by the writer).
    fn write(&mut self, data: &[u8]) -> Result<(), DataError>;
    /// Ends the file: returns once the other node made it durable under its final name.
    fn finish(self: Box<Self>) -> Result<(), DataError>;
}

/// Verified reads of a shard file on another node.
pub trait RemoteReader: Send + Sync {
    fn header(&self) -> &ShardHeader;
    /// Payload length.
    fn size(&self) -> u64;
    /// Block `index`, its checksum verified on arrival: a mismatch is an error, never data.
    fn read_block(&self, index: u64) -> Result<Bytes, DataError>;
}
