//! Streaming an object's bytes: the segments overlapping the requested span, block by block,
//! each block verified by the data layer before a byte of it is sent.

use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use rustfs_data::{DataStore, ErasureReader};
use rustfs_meta::{Body, DataRef, Segment, Table, TxnStore};

use crate::ObjectError;
use crate::objects::ObjectBody;
use crate::sse::DataKey;
use crate::sse::package::{self, Opener, SegmentPlan};

/// Segments opened up front (the rest open when reached); bounds file handles per request.
const EAGER_OPEN: usize = 16;

pub(crate) enum Source {
    Blob(Bytes),
    File(Arc<ErasureReader>),
    Later(DataRef),
}

pub(crate) struct Piece {
    /// Offset of the segment within the object.
    pub start: u64,
    pub size: u64,
    pub source: Source,
}

/// The non-empty segments overlapping `[start, end)`, with their offsets in the object.
fn overlapping(
    segments: &[Segment],
    start: u64,
    end: u64,
) -> impl Iterator<Item = (u64, &Segment)> {
    segments
        .iter()
        .scan(0u64, |off, seg| {
            let seg_start = *off;
            *off += seg.size;
            Some((seg_start, seg))
        })
        .filter(move |(seg_start, seg)| {
            seg.size != 0 && seg_start + seg.size > start && *seg_start < end
        })
}

/// Opens the segments overlapping `[start, end)`: inline bodies read from the metadata store,
/// the first data files opened on the blocking pool (only when there are any). Fails with
/// `NotFound` if a body vanished (a concurrent overwrite), which the caller answers by
/// re-reading the metadata.
pub(crate) async fn open_pieces(
    meta: &dyn TxnStore,
    data: &Arc<DataStore>,
    segments: &[Segment],
    start: u64,
    end: u64,
) -> Result<Vec<Piece>, ObjectError> {
    let mut pieces = Vec::new();
    let mut to_open = Vec::new();
    for (seg_start, seg) in overlapping(segments, start, end) {
        let source = match &seg.body {
            Body::Inline(id) => {
                let bytes = meta
                    .read_key(Table::Blobs, id.as_bytes())
                    .await?
                    .ok_or_else(|| {
                        ObjectError::Data(rustfs_data::DataError::NotFound(id.into()))
                    })?;
                if bytes.len() as u64 != seg.size {
                    return Err(ObjectError::Data(rustfs_data::DataError::Corrupt {
                        path: id.into(),
                        reason: "inline blob has the wrong length".into(),
                    }));
                }
                Source::Blob(Bytes::from(bytes))
            }
            Body::Stored(r) if pieces.len() < EAGER_OPEN => {
                to_open.push((pieces.len(), r.clone()));
                Source::Later(r.clone())
            }
            Body::Stored(r) => Source::Later(r.clone()),
        };
        pieces.push(Piece {
            start: seg_start,
            size: seg.size,
            source,
        });
    }
    if !to_open.is_empty() {
        let data = data.clone();
        let opened = tokio::task::spawn_blocking(move || {
            to_open
                .into_iter()
                .map(|(i, r)| open_checked(&data, &r).map(|reader| (i, reader)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await??;
        for (i, reader) in opened {
            pieces[i].source = Source::File(Arc::new(reader));
        }
    }
    Ok(pieces)
}

fn open_checked(data: &DataStore, r: &DataRef) -> Result<ErasureReader, ObjectError> {
    let reader = data.open_read(r)?;
    if reader.size() != r.size {
        return Err(ObjectError::Data(rustfs_data::DataError::Corrupt {
            path: r.id.clone().into(),
            reason: "data file length differs from metadata".into(),
        }));
    }
    Ok(reader)
}

struct Cursor {
    data: Arc<DataStore>,
    pieces: Vec<Piece>,
    index: usize,
    pos: u64,
    end: u64,
}

impl Cursor {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, ObjectError>> {
        while self.index < self.pieces.len()
            && self.pos >= self.pieces[self.index].start + self.pieces[self.index].size
        {
            self.index += 1;
        }
        if self.pos >= self.end || self.index >= self.pieces.len() {
            return None;
        }
        let piece = &mut self.pieces[self.index];
        let within = self.pos - piece.start;
        let stop = (self.end.min(piece.start + piece.size)) - piece.start;
        let chunk = match &piece.source {
            Source::Blob(b) => Ok(b.slice(within as usize..stop as usize)),
            Source::Later(r) => {
                let data = self.data.clone();
                let r = r.clone();
                match tokio::task::spawn_blocking(move || open_checked(&data, &r)).await {
                    Ok(Ok(reader)) => {
                        piece.source = Source::File(Arc::new(reader));
                        return Box::pin(self.next_chunk()).await;
                    }
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(e.into()),
                }
            }
            Source::File(reader) => {
                let reader = reader.clone();
                let bs = reader.block_size();
                let block = within / bs;
                match tokio::task::spawn_blocking(move || reader.read_block(block)).await {
                    Ok(Ok(bytes)) => {
                        let from = (within - block * bs) as usize;
                        let to = ((stop - block * bs) as usize).min(bytes.len());
                        Ok(bytes.slice(from..to))
                    }
                    Ok(Err(e)) => Err(e.into()),
                    Err(e) => Err(e.into()),
                }
            }
        };
        match chunk {
            Ok(b) => {
                self.pos += b.len() as u64;
                if b.is_empty() {
                    self.pos = self.end; // defensive: never loop without progress
                }
                Some(Ok(b))
            }
            Err(e) => {
                tracing::error!(error = %e, "object read failed; ending the stream");
                self.pos = self.end;
                Some(Err(e))
            }
        }
    }
}

/// The bytes `[start, end)` of an object as a stream.
pub(crate) fn stream(
    data: Arc<DataStore>,
    pieces: Vec<Piece>,
    start: u64,
    end: u64,
) -> impl Stream<Item = Result<Bytes, ObjectError>> + Send + 'static {
    let cursor = Cursor {
        data,
        pieces,
        index: 0,
        pos: start,
        end,
    };
    futures::stream::unfold(cursor, |mut c| async move {
        c.next_chunk().await.map(|r| (r, c))
    })
}

/// The bytes `[start, end)` of an encrypted object as a stream: the sealed packages holding
/// them are read (only those) and opened, and the plaintext trimmed to the span. A package that
/// fails to open ends the stream with a corruption error.
pub(crate) async fn open_sealed(
    meta: &dyn TxnStore,
    data: &Arc<DataStore>,
    segments: &[Segment],
    start: u64,
    end: u64,
    dk: &DataKey,
) -> Result<ObjectBody, ObjectError> {
    // The segments as the data layer holds them: each one's sealed size (empty ones hold
    // nothing and are never read).
    let sealed: Vec<Segment> = segments
        .iter()
        .map(|s| Segment {
            size: if s.size == 0 {
                0
            } else {
                package::sealed_len(s.size)
            },
            ..s.clone()
        })
        .collect();
    let mut plans = Vec::new();
    let (mut from, mut to) = (0u64, 0u64);
    let mut sealed_off = 0u64;
    let mut plain_off = 0u64;
    for (seg, sseg) in segments.iter().zip(&sealed) {
        let (seg_start, seg_end) = (plain_off, plain_off + seg.size);
        if seg.size != 0 && seg_end > start && seg_start < end {
            let a = start.max(seg_start) - seg_start;
            let b = end.min(seg_end) - seg_start;
            let (f, t, first) = package::sealed_span(seg.size, a, b);
            if plans.is_empty() {
                from = sealed_off + f;
            }
            to = sealed_off + t;
            plans.push(SegmentPlan {
                key: dk.segment_key(crate::sse::body_id(seg)),
                plain: seg.size,
                first,
                sealed: t - f,
                skip: a - first * package::PACKAGE as u64,
                take: b - a,
            });
        }
        plain_off = seg_end;
        sealed_off += sseg.size;
    }
    let pieces = open_pieces(meta, data, &sealed, from, to).await?;
    let inner = stream(data.clone(), pieces, from, to).boxed();
    let opener = Opener::new(plans);
    Ok(futures::stream::unfold(
        (inner, Some(opener)),
        |(mut inner, mut opener)| async move {
            loop {
                let o = opener.as_mut()?;
                let step = match inner.next().await {
                    Some(Ok(b)) => o.push(&b),
                    Some(Err(e)) => return Some((Err(e), (inner, None))),
                    None => {
                        let last = o.finish();
                        opener = None;
                        match last {
                            Ok(p) if p.is_empty() => return None,
                            r => r,
                        }
                    }
                };
                match step {
                    Ok(p) if p.is_empty() => continue,
                    Ok(p) => return Some((Ok(p), (inner, opener))),
                    Err(t) => {
                        tracing::error!(error = %t, "encrypted object failed authentication");
                        let e = ObjectError::Data(rustfs_data::DataError::Corrupt {
                            path: "encrypted object".into(),
                            reason: t.to_string(),
                        });
                        return Some((Err(e), (inner, None)));
                    }
                }
            }
        },
    )
    .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(size: u64, stored: bool) -> Segment {
        let body = if stored {
            Body::Stored(DataRef {
                id: "00".repeat(16),
                size,
                block_size: 1 << 20,
                data_shards: 1,
                parity_shards: 0,
                volumes: vec![0],
            })
        } else {
            Body::Inline("blob".into())
        };
        Segment {
            size,
            etag: String::new(),
            checksum: None,
            body,
        }
    }

    #[test]
    fn overlapping_skips_empty_segments_and_those_outside_the_span() {
        // Segments at [0,10), [10,10) (empty), [10,30), [30,35).
        let segs = [seg(10, false), seg(0, true), seg(20, true), seg(5, false)];
        let starts = |s, e| overlapping(&segs, s, e).map(|(o, _)| o).collect::<Vec<_>>();
        assert_eq!(starts(0, 35), vec![0, 10, 30]);
        assert_eq!(starts(10, 30), vec![10]);
        assert_eq!(starts(9, 11), vec![0, 10]);
        assert_eq!(starts(30, 35), vec![30]);
        assert!(starts(35, 35).is_empty());
    }
}
