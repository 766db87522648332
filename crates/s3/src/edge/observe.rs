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

    /// A request was received; [`RequestSink::record`] follows for it once it is finished
    /// (for in-flight counts; most sinks need nothing here).
    fn started(&self) {}
}

/// The sinks the edge tells, shared by every connection.
pub type Sinks = std::sync::Arc<[std::sync::Arc<dyn RequestSink>]>;

/// One request being observed: started when the edge receives it, told the answer's status
/// when s3s (or the edge) answers, and the bytes sent as the answer's body streams
/// (`super::counted_body`). [`Observation::finish`] builds the [`RequestRecord`] and hands it
/// to every sink, once: when the answer's body ends, or when the observation is dropped (an
/// answer's body dropped unfinished, a request whose client went away before its answer:
/// status 499 as MinIO and nginx count it).
pub struct Observation {
    sinks: Sinks,
    slot: crate::operation::OperationSlot,
    time: OffsetDateTime,
    start: std::time::Instant,
    request_id: u64,
    remote: Option<IpAddr>,
    status: u16,
    time_to_first_byte: Option<Duration>,
    bytes_out: u64,
    finished: bool,
}

/// The status recorded for a request whose client went away before it was answered.
pub const CLIENT_CLOSED: u16 = 499;

impl Observation {
    /// Starts observing a request received now (`None` when there is no sink to tell).
    pub fn start(
        sinks: &Sinks,
        slot: &crate::operation::OperationSlot,
        request_id: u64,
        remote: Option<IpAddr>,
    ) -> Option<Self> {
        if sinks.is_empty() {
            return None;
        }
        for sink in sinks.iter() {
            sink.started();
        }
        Some(Self {
            sinks: sinks.clone(),
            slot: slot.clone(),
            time: OffsetDateTime::now_utc(),
            start: std::time::Instant::now(),
            request_id,
            remote,
            status: CLIENT_CLOSED,
            time_to_first_byte: None,
            bytes_out: 0,
            finished: false,
        })
    }

    /// The answer's head is ready with `status`.
    pub fn answered(&mut self, status: u16) {
        self.status = status;
        self.time_to_first_byte = Some(self.start.elapsed());
    }

    /// `n` more bytes of the answer's body sent.
    pub fn sent(&mut self, n: u64) {
        self.bytes_out = self.bytes_out.saturating_add(n);
    }

    /// The record of the request as observed so far.
    pub fn record(&self) -> RequestRecord {
        let duration = self.start.elapsed();
        let op = self.slot.get();
        let caller = self.slot.caller();
        RequestRecord {
            time: self.time,
            request_id: format!("{:016X}", self.request_id),
            api: op.as_ref().map_or("-", |op| op.label()).to_string(),
            bucket: op.as_ref().and_then(|op| op.bucket()).map(str::to_string),
            key: op.as_ref().and_then(|op| op.key()).map(str::to_string),
            status: self.status,
            bytes_in: self.slot.bytes_in(),
            bytes_out: self.bytes_out,
            duration,
            time_to_first_byte: self.time_to_first_byte.unwrap_or(duration),
            remote: self.remote,
            access_key: caller.as_ref().map(|u| u.access_key.clone()),
            user: caller.as_ref().map(|u| match &u.member {
                Some(m) => m.name.clone(),
                None => u.display_name.clone(),
            }),
        }
    }

    /// Hands the record to every sink (once).
    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let record = self.record();
        for sink in self.sinks.iter() {
            sink.record(&record);
        }
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http_body_util::BodyExt;

    use super::*;
    use crate::auth::User;
    use crate::operation::{Operation, OperationSlot};

    #[derive(Default)]
    struct Collect(Mutex<Vec<RequestRecord>>);

    impl RequestSink for Collect {
        fn record(&self, record: &RequestRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

    fn sinks() -> (Arc<Collect>, Sinks) {
        let c = Arc::new(Collect::default());
        let sinks: Sinks = vec![c.clone() as Arc<dyn RequestSink>].into();
        (c, sinks)
    }

    fn user() -> Arc<User> {
        Arc::new(User {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            id: "id".into(),
            display_name: "owner".into(),
            email: None,
            iam_account: false,
            member: None,
        })
    }

    #[test]
    fn no_sink_no_observation() {
        let none: Sinks = Vec::new().into();
        assert!(Observation::start(&none, &OperationSlot::default(), 1, None).is_none());
    }

    #[test]
    fn the_record_is_filled_from_the_slot_and_the_answer() {
        let (got, sinks) = sinks();
        let slot = OperationSlot::default();
        let mut ext = http::Extensions::new();
        ext.insert(slot.clone());
        let mut o = Observation::start(&sinks, &slot, 0xAB, Some([127, 0, 0, 1].into())).unwrap();
        OperationSlot::record(
            &mut ext,
            Operation::PutObject {
                bucket: "b".into(),
                key: "k/1".into(),
            },
        );
        OperationSlot::record_caller(&mut ext, user());
        slot.add_bytes_in(4096);
        slot.add_bytes_in(10);
        o.answered(200);
        o.sent(3);
        o.sent(4);
        o.finish();
        o.finish();
        drop(o);
        let got = got.0.lock().unwrap();
        assert_eq!(got.len(), 1, "one record per request");
        let r = &got[0];
        assert_eq!(r.request_id, "00000000000000AB");
        assert_eq!(r.api, "PutObject");
        assert_eq!(r.bucket.as_deref(), Some("b"));
        assert_eq!(r.key.as_deref(), Some("k/1"));
        assert_eq!((r.status, r.bytes_in, r.bytes_out), (200, 4106, 7));
        assert_eq!(r.access_key.as_deref(), Some("AK"));
        assert_eq!(r.user.as_deref(), Some("owner"));
        assert_eq!(r.remote, Some([127, 0, 0, 1].into()));
        assert!(r.time_to_first_byte <= r.duration);
    }

    #[test]
    fn a_request_dropped_before_its_answer_is_recorded_as_client_closed() {
        let (got, sinks) = sinks();
        let o = Observation::start(&sinks, &OperationSlot::default(), 1, None).unwrap();
        drop(o);
        let got = got.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].status, got[0].api.as_str()), (CLIENT_CLOSED, "-"));
        assert_eq!(
            (got[0].access_key.as_ref(), got[0].bucket.as_ref()),
            (None, None)
        );
    }

    #[tokio::test]
    async fn the_answer_body_counts_what_it_sends_and_records_once_at_its_end() {
        let (got, sinks) = sinks();
        let o = Observation::start(&sinks, &OperationSlot::default(), 1, None).unwrap();
        let resp = http::Response::builder()
            .status(404)
            .body(s3s::Body::from(vec![7u8; 1000]))
            .unwrap();
        let resp = super::super::counted_body::CountedOut::wrap(resp, o);
        assert!(
            got.0.lock().unwrap().is_empty(),
            "not before the body is sent"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 1000);
        {
            let got = got.0.lock().unwrap();
            assert_eq!(got.len(), 1, "recorded when the body ended");
            assert_eq!((got[0].status, got[0].bytes_out), (404, 1000));
        }
    }

    #[tokio::test]
    async fn an_answer_body_dropped_unsent_records_what_was_sent() {
        let (got, sinks) = sinks();
        let o = Observation::start(&sinks, &OperationSlot::default(), 1, None).unwrap();
        let resp = http::Response::new(s3s::Body::from(vec![1u8; 10]));
        drop(super::super::counted_body::CountedOut::wrap(resp, o));
        let got = got.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].status, got[0].bytes_out), (200, 0));
    }
}
