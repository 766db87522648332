//! What the edge tells observers about each request once its answer is finished: one
//! [`RequestRecord`] per request, handed to every [`RequestSink`] the server was built with
//! (the metrics registry, the audit log). A sink must not block or fail the request: it takes
//! what it needs from the record and returns at once.

use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

/// One finished request, as the edge saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When the edge received the request.
    pub time: OffsetDateTime,
    /// The id answered in `x-amz-request-id`.
    pub request_id: String,
    /// The API called, as `Operation::label` names it (`PutObject`, `AdminStatus`, ...);
    /// `-` when the request was refused before it was classified.
    pub api: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// Body bytes read from the client.
    pub bytes_in: u64,
    /// Body bytes sent to the client (counted as the answer's body streamed; a client that
    /// went away early leaves the count of what was sent).
    pub bytes_out: u64,
    /// From receipt until the answer's body ended (or was dropped).
    pub duration: Duration,
    /// Time to the answer's head (first byte).
    pub time_to_first_byte: Duration,
    /// The connection's client address.
    pub remote: Option<IpAddr>,
    /// The access key that signed the request, if it was signed.
    pub access_key: Option<String>,
    /// The user (or parent user of a service account / temporary credential) behind it.
    pub user: Option<String>,
}

/// Something told about every finished request.
pub trait RequestSink: Send + Sync + 'static {
    fn record(&self, record: &RequestRecord);
}
