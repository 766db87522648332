//! Request bodies handed to the object layer. s3s reports signature failures of aws-chunked
//! bodies as stream errors; the adapter keeps the first such error so the edge can answer with
//! the right S3 error instead of a generic "incomplete body".

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::api_error::ApiError;
use bytes::Bytes;
use futures::Stream;
use s3s::S3Error;
use s3s::dto::StreamingBlob;

/// Where the adapter leaves the body's first error.
#[derive(Clone, Default)]
pub(crate) struct BodyFault(Arc<Mutex<Option<S3Error>>>);

impl BodyFault {
    /// The S3 error the body's failure should become, if it failed.
    pub(crate) fn take(&self) -> Option<S3Error> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

pub(crate) struct Body {
    inner: StreamingBlob,
    fault: BodyFault,
}

/// Wraps a request body; a request without one reads as empty.
pub(crate) fn wrap(blob: Option<StreamingBlob>) -> (Body, BodyFault) {
    let blob = blob.unwrap_or_else(|| {
        StreamingBlob::wrap(futures::stream::empty::<Result<Bytes, std::io::Error>>())
    });
    let fault = BodyFault::default();
    (
        Body {
            inner: blob,
            fault: fault.clone(),
        },
        fault,
    )
}

fn classify(e: &(dyn std::error::Error + 'static)) -> S3Error {
    if let Some(s3) = e.downcast_ref::<S3Error>() {
        return S3Error::with_message(s3.code().clone(), s3.message().unwrap_or("").to_string());
    }
    // s3s 0.14 does not export its body-stream error types (`UploadStreamError`,
    // `AwsChunkedStreamError`), so they cannot be downcast; their Display names the variant.
    let text = e.to_string();
    let cause = if text.contains("UploadStreamError: Sha256Mismatch") {
        ApiError::PayloadSha256Mismatch
    } else if text.contains("AwsChunkedStreamError") && text.contains("SignatureMismatch") {
        ApiError::ChunkSignatureMismatch
    } else if text.contains("AwsChunkedStreamError")
        && !text.contains("Underlying")
        && !text.contains("Incomplete")
    {
        ApiError::ChunkedBodyMalformed(text)
    } else {
        ApiError::BodyReadFailed(text)
    };
    cause.into()
}

impl Stream for Body {
    type Item = Result<Bytes, String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Err(e))) => {
                let msg = e.to_string();
                if let Ok(mut slot) = self.fault.0.lock()
                    && slot.is_none()
                {
                    *slot = Some(classify(e.as_ref()));
                }
                Poll::Ready(Some(Err(msg)))
            }
            Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(b))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Text(&'static str);
    impl std::fmt::Display for Text {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Text {}

    #[test]
    fn body_failures_keep_their_meaning() {
        let code = |t| classify(&Text(t)).code().as_str().to_string();
        assert_eq!(
            code("UploadStreamError: Sha256Mismatch"),
            "XAmzContentSHA256Mismatch"
        );
        assert_eq!(
            classify(&Text("UploadStreamError: Sha256Mismatch")).status_code(),
            Some(http::StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            code("AwsChunkedStreamError: SignatureMismatch"),
            "SignatureDoesNotMatch"
        );
        assert_eq!(code("AwsChunkedStreamError: FormatError"), "InvalidRequest");
        assert_eq!(code("AwsChunkedStreamError: Incomplete"), "IncompleteBody");
        assert_eq!(code("connection reset"), "IncompleteBody");
    }
}
