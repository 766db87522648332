//! Request bodies the server holds whole in memory before it can answer: XML (and JSON)
//! documents, which s3s reads whole after the access check; browser forms
//! (`super::post_form`) and uploads sent without a length (`super::unsized_body`), read before
//! authentication. Object uploads with a length are streamed and not counted.
//!
//! - One [`BufferBudget`] bounds the bytes of such bodies held at once over all requests; a
//!   request whose next chunk would go past it is answered `503 SlowDown`, whatever it had read.
//! - An XML body over [`crate::XML_BODY_LIMIT`] is refused `400 MaxMessageLengthExceeded`,
//!   without reading it when its `Content-Length` already says so (s3s would read 20 MiB and
//!   answer 500).
//! - A body the client stops sending (connection closed mid-body) is the client's fault: `400
//!   IncompleteBody`, logged at debug level (s3s answers 500 `InternalError`).
//!
//! [`Guarded`] wraps the body and notes what went wrong in the request's [`Ledger`]; the edge
//! answers with that error instead of the one s3s made of the failed read (s3s 0.14 answers
//! 500 for any body it failed to read), and releases
//! the request's bytes from the budget once the request is answered and its body dropped.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::counted_body::CountedIn;
use super::request_error::RequestError;

/// The default bound on buffered request bodies held at once: 256 MiB.
pub const DEFAULT_BUDGET_MIB: u64 = 256;

/// How the server reads a request's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Streamed to the object layer (an upload with a length), or not read at all.
    Streamed,
    /// Held whole in memory, counted against the budget; `limit`: the XML body bound.
    Held { limit: Option<usize> },
}

/// Object subresources whose `PUT` carries an XML document, not object data.
const OBJECT_XML_PUTS: [&str; 4] = ["tagging", "acl", "retention", "legal-hold"];

/// How the body of a request is read: browser forms and uploads without a length are held
/// (their own bounds apply); a `PUT` of object data (PutObject, UploadPart) is streamed; any
/// other `PUT` or `POST` carries a document s3s holds whole (bounded to the XML limit).
/// `object_path`: the path names an object, not a bucket.
pub fn reading_of(
    method: &http::Method,
    query: Option<&str>,
    object_path: bool,
    form_or_unsized: bool,
) -> Reading {
    if form_or_unsized {
        return Reading::Held { limit: None };
    }
    let has = |name: &str| {
        query.is_some_and(|q| {
            q.split('&')
                .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == name)
        })
    };
    match *method {
        http::Method::PUT if object_path && !OBJECT_XML_PUTS.iter().any(|s| has(s)) => {
            Reading::Streamed
        }
        http::Method::PUT | http::Method::POST => Reading::Held {
            limit: Some(crate::XML_BODY_LIMIT),
        },
        _ => Reading::Streamed,
    }
}

/// Bytes of buffered request bodies the server may hold at once.
#[derive(Debug)]
pub struct BufferBudget {
    limit: usize,
    in_use: AtomicUsize,
}

impl BufferBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            in_use: AtomicUsize::new(0),
        }
    }

    /// Takes `n` bytes if they fit.
    fn try_take(&self, n: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.in_use.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held now.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }
}

/// Why reading a guarded body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// The budget of buffered bodies is spent.
    OverBudget,
    /// An XML body over the limit.
    TooLarge,
    /// The client stopped sending (the connection failed or closed mid-body).
    ClientGone,
}

impl From<BodyFault> for RequestError {
    fn from(f: BodyFault) -> Self {
        match f {
            BodyFault::OverBudget => RequestError::BuffersFull,
            BodyFault::TooLarge => RequestError::XmlBodyTooLarge {
                limit: crate::XML_BODY_LIMIT,
            },
            BodyFault::ClientGone => RequestError::BodyCutShort,
        }
    }
}

/// One request's account: the budget bytes it holds and what went wrong reading its body.
/// The bytes go back to the budget when the last holder (the body, the edge's answer)
/// drops it.
#[derive(Debug)]
pub struct Ledger {
    budget: Arc<BufferBudget>,
    held: AtomicUsize,
    fault: OnceLock<BodyFault>,
}

impl Ledger {
    pub fn new(budget: Arc<BufferBudget>) -> Arc<Self> {
        Arc::new(Self {
            budget,
            held: AtomicUsize::new(0),
            fault: OnceLock::new(),
        })
    }

    /// What went wrong reading the body, if anything did.
    pub fn fault(&self) -> Option<BodyFault> {
        self.fault.get().copied()
    }

    fn fail(&self, f: BodyFault) -> Box<dyn std::error::Error + Send + Sync> {
        let f = *self.fault.get_or_init(|| f);
        Box::new(crate::errors::request(f.into()))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.budget.give_back(*self.held.get_mut());
    }
}

/// A request body read through its [`Ledger`]: counted against the budget (`counted`),
/// bounded to `limit` bytes, its failures noted.
pub struct Guarded {
    inner: CountedIn,
    ledger: Arc<Ledger>,
    counted: bool,
    limit: Option<usize>,
    /// The length the request declares, checked against `limit` before the first read.
    declared: Option<u64>,
    seen: usize,
    done: bool,
}

impl Guarded {
    pub fn new(
        inner: CountedIn,
        ledger: Arc<Ledger>,
        counted: bool,
        limit: Option<usize>,
        declared: Option<u64>,
    ) -> Self {
        Self {
            inner,
            ledger,
            counted,
            limit,
            declared,
            seen: 0,
            done: false,
        }
    }

    fn stop(&mut self, f: BodyFault) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.done = true;
        Poll::Ready(Some(Err(self.ledger.fail(f))))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Body for Guarded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let (Some(limit), Some(declared)) = (self.limit, self.declared)
            && declared > limit as u64
        {
            return self.stop(BodyFault::TooLarge);
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => {
                tracing::debug!(error = %e, "the client stopped sending the request body");
                return self.stop(BodyFault::ClientGone);
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let n = frame.data_ref().map_or(0, Bytes::len);
        self.seen = self.seen.saturating_add(n);
        if self.limit.is_some_and(|limit| self.seen > limit) {
            return self.stop(BodyFault::TooLarge);
        }
        if self.counted && n > 0 {
            if !self.ledger.budget.try_take(n) {
                return self.stop(BodyFault::OverBudget);
            }
            self.ledger.held.fetch_add(n, Ordering::AcqRel);
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = Arc::new(BufferBudget::new(100));
        let a = Ledger::new(budget.clone());
        let b = Ledger::new(budget.clone());
        assert!(a.budget.try_take(60));
        a.held.fetch_add(60, Ordering::AcqRel);
        assert!(!b.budget.try_take(41), "over the bound");
        assert!(b.budget.try_take(40));
        b.held.fetch_add(40, Ordering::AcqRel);
        drop(a);
        assert_eq!(budget.in_use(), 40);
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn faults_become_s3_errors() {
        let code = |f: BodyFault| {
            let e = crate::errors::request(f.into());
            (
                e.code().as_str().to_string(),
                e.status_code().map(|s| s.as_u16()),
            )
        };
        assert_eq!(code(BodyFault::OverBudget), ("SlowDown".into(), Some(503)));
        assert_eq!(
            code(BodyFault::TooLarge),
            ("MaxMessageLengthExceeded".into(), Some(400))
        );
        assert_eq!(
            code(BodyFault::ClientGone),
            ("IncompleteBody".into(), Some(400))
        );
    }

    #[test]
    fn documents_are_held_and_object_data_streamed() {
        use http::Method;
        let xml = Reading::Held {
            limit: Some(crate::XML_BODY_LIMIT),
        };
        assert_eq!(
            reading_of(&Method::PUT, None, true, false),
            Reading::Streamed
        );
        let part = Some("partNumber=1&uploadId=x");
        assert_eq!(
            reading_of(&Method::PUT, part, true, false),
            Reading::Streamed
        );
        assert_eq!(reading_of(&Method::PUT, Some("tagging"), true, false), xml);
        assert_eq!(reading_of(&Method::PUT, Some("acl="), true, false), xml);
        assert_eq!(reading_of(&Method::PUT, Some("policy"), false, false), xml);
        assert_eq!(reading_of(&Method::PUT, None, false, false), xml);
        assert_eq!(reading_of(&Method::POST, Some("delete"), false, false), xml);
        assert_eq!(
            reading_of(&Method::POST, Some("uploadId=u"), true, false),
            xml
        );
        assert_eq!(
            reading_of(&Method::GET, None, true, false),
            Reading::Streamed
        );
        let form = Reading::Held { limit: None };
        assert_eq!(reading_of(&Method::POST, None, false, true), form);
        assert_eq!(reading_of(&Method::PUT, None, true, true), form);
    }

    #[test]
    fn the_first_fault_is_kept() {
        let l = Ledger::new(Arc::new(BufferBudget::new(1)));
        let _ = l.fail(BodyFault::TooLarge);
        let _ = l.fail(BodyFault::ClientGone);
        assert_eq!(l.fault(), Some(BodyFault::TooLarge));
    }
}
