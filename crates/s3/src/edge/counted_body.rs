//! Bodies that count their bytes for the request's record ([`super::observe`]): [`CountedIn`]
//! wraps the request body as the server reads it (adding to the request's
//! [`OperationSlot`]), [`CountedOut`] wraps the answer's body as it is sent and hands the
//! record to the sinks once it ends or is dropped.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::observe::Observation;
use crate::operation::OperationSlot;

/// A request body counting the bytes read into the request's slot (`None`: not observed).
pub struct CountedIn {
    inner: Incoming,
    slot: Option<OperationSlot>,
}

impl CountedIn {
    pub fn new(inner: Incoming, slot: Option<OperationSlot>) -> Self {
        Self { inner, slot }
    }

    /// As s3s' body: unwrapped when nothing counts.
    pub fn into_s3s(self) -> s3s::Body {
        match self.slot {
            None => s3s::Body::from(self.inner),
            Some(_) => s3s::Body::http_body(self),
        }
    }
}

impl Body for CountedIn {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let (Poll::Ready(Some(Ok(frame))), Some(slot)) = (&polled, &self.slot)
            && let Some(data) = frame.data_ref()
        {
            slot.add_bytes_in(data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body counting the bytes sent; its [`Observation`] is finished (the record
/// handed to the sinks) when the body ends, fails, or is dropped unfinished.
pub struct CountedOut {
    inner: s3s::Body,
    observation: Observation,
}

impl CountedOut {
    /// `resp` with its body counted for `observation`, which is told the answer's status.
    pub fn wrap(resp: s3s::HttpResponse, mut observation: Observation) -> s3s::HttpResponse {
        observation.answered(resp.status().as_u16());
        resp.map(|inner| s3s::Body::http_body(CountedOut { inner, observation }))
    }
}

impl Body for CountedOut {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, s3s::StdError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.observation.sent(data.len() as u64);
                }
                if this.inner.is_end_stream() {
                    this.observation.finish();
                }
            }
            Poll::Ready(_) => this.observation.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
