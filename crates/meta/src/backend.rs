//! The file under each redb database. It is redb's own `FileBackend` with one addition: every
//! sync first passes a [`crate::faults::sync_point`], so crash tests can stop the commit protocol
//! at any barrier. A database opened while fault injection is armed also models power loss:
//! writes are held in memory until the next successful sync, so a crash drops exactly what was
//! never synced.

use std::fs::File;
use std::io;
use std::sync::Mutex;

use redb::StorageBackend;
use redb::backends::FileBackend;

#[derive(Debug, Default)]
struct Pending {
    len: Option<u64>,
    writes: Vec<(u64, Vec<u8>)>,
}

#[derive(Debug)]
pub(crate) struct SyncedFile {
    inner: FileBackend,
    pending: Option<Mutex<Pending>>,
}

impl SyncedFile {
    pub(crate) fn new(file: File) -> Result<Self, redb::DatabaseError> {
        Ok(Self {
            inner: FileBackend::new(file)?,
            pending: crate::faults::armed().then(|| Mutex::new(Pending::default())),
        })
    }
}

fn poisoned() -> io::Error {
    io::Error::other("backend lock poisoned")
}

impl StorageBackend for SyncedFile {
    fn len(&self) -> io::Result<u64> {
        match &self.pending {
            Some(p) => match p.lock().map_err(|_| poisoned())?.len {
                Some(l) => Ok(l),
                None => self.inner.len(),
            },
            None => self.inner.len(),
        }
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let Some(p) = &self.pending else {
            return self.inner.read(offset, out);
        };
        let p = p.lock().map_err(|_| poisoned())?;
        let end = offset + out.len() as u64;
        let file_len = self.inner.len()?;
        if end > p.len.unwrap_or(file_len) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end",
            ));
        }
        out.fill(0);
        let on_file = file_len.min(end).saturating_sub(offset) as usize;
        if on_file > 0 {
            self.inner.read(offset, &mut out[..on_file])?;
        }
        for (at, data) in &p.writes {
            let (w_start, w_end) = (*at, *at + data.len() as u64);
            let (from, to) = (w_start.max(offset), w_end.min(end));
            if from < to {
                out[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&data[(from - w_start) as usize..(to - w_start) as usize]);
            }
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        match &self.pending {
            Some(p) => {
                p.lock().map_err(|_| poisoned())?.len = Some(len);
                Ok(())
            }
            None => self.inner.set_len(len),
        }
    }

    fn sync_data(&self) -> io::Result<()> {
        crate::faults::sync_point()?;
        if let Some(p) = &self.pending {
            let p = std::mem::take(&mut *p.lock().map_err(|_| poisoned())?);
            if let Some(l) = p.len {
                self.inner.set_len(l)?;
            }
            for (at, data) in &p.writes {
                self.inner.write(*at, data)?;
            }
        }
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        match &self.pending {
            Some(p) => {
                p.lock()
                    .map_err(|_| poisoned())?
                    .writes
                    .push((offset, data.to_vec()));
                Ok(())
            }
            None => self.inner.write(offset, data),
        }
    }

    fn close(&self) -> io::Result<()> {
        self.inner.close()
    }
}
