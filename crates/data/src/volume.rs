//! Volumes and their layout:
//!
//! ```text
//! VOLUME/.rustfs.sys/format.json    volume identity and layout version
//! VOLUME/.rustfs.sys/meta.redb      metadata (first volume)
//! VOLUME/.rustfs.sys/tmp/           files being written; wiped at start
//! VOLUME/.rustfs.sys/data/XX/ID     committed data files, XX = first two hex digits of ID
//! ```
//! Object keys never become paths: a file is named by a random id only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustfs_meta::DataRef;

use crate::format::{ShardHeader, header_probe_len};
use crate::{BlockReader, BlockWriter, DataError};

const SYS_DIR: &str = ".rustfs.sys";
const LAYOUT_VERSION: u32 = 1;

#[derive(Debug)]
struct Volume {
    root: PathBuf,
}

impl Volume {
    fn sys(&self) -> PathBuf {
        self.root.join(SYS_DIR)
    }
    fn tmp(&self) -> PathBuf {
        self.sys().join("tmp")
    }
    fn data(&self) -> PathBuf {
        self.sys().join("data")
    }
    fn data_file(&self, id: &str) -> PathBuf {
        self.data().join(id.get(..2).unwrap_or("00")).join(id)
    }
}

/// A committed data file found by [`DataStore::stored_files`].
#[derive(Debug)]
pub struct StoredFile {
    pub volume: u16,
    pub id: String,
    pub path: PathBuf,
    /// `None` when the header cannot be read (a damaged or foreign file).
    pub header: Option<ShardHeader>,
}

/// The set of volumes this server writes to.
#[derive(Debug)]
pub struct DataStore {
    volumes: Vec<Volume>,
}

fn vol_err(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Volume {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// fsync a directory so a rename or create inside it is durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), DataError> {
    fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| DataError::io(path, e))
}

impl DataStore {
    /// Prepares every volume: creates the layout, proves it writable, and removes temporary
    /// files a crash left behind.
    pub fn open(roots: &[PathBuf]) -> Result<Self, DataError> {
        if roots.is_empty() {
            return Err(vol_err(Path::new(""), "no volume given"));
        }
        if roots.len() > usize::from(u16::MAX) {
            return Err(vol_err(Path::new(""), "too many volumes"));
        }
        let mut volumes = Vec::with_capacity(roots.len());
        for root in roots {
            match fs::metadata(root) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(vol_err(root, "not a directory")),
                // Create the volume directory itself, but never its parents: a missing parent
                // usually means a drive that is not mounted, and writing to the root
                // filesystem instead would be silent data loss later.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match root.parent().filter(|p| !p.as_os_str().is_empty()) {
                        Some(parent) if !parent.is_dir() => {
                            return Err(vol_err(
                                root,
                                format!(
                                    "does not exist, nor does its parent {} (is the drive mounted?)",
                                    parent.display()
                                ),
                            ));
                        }
                        _ => fs::create_dir(root).map_err(|e| {
                            vol_err(root, format!("does not exist and cannot be created: {e}"))
                        })?,
                    }
                }
                Err(e) => return Err(vol_err(root, e)),
            }
            let v = Volume { root: root.clone() };
            prepare(&v)?;
            volumes.push(v);
        }
        Ok(Self { volumes })
    }

    /// Where the embedded metadata database lives.
    pub fn meta_path(&self) -> PathBuf {
        self.volumes[0].sys().join("meta.redb")
    }

    pub fn volume_roots(&self) -> Vec<&Path> {
        self.volumes.iter().map(|v| v.root.as_path()).collect()
    }

    /// Starts a new data file. The volume is chosen from the random id, spreading load.
    pub fn create(&self, mut header: ShardHeader) -> Result<BlockWriter, DataError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let n = self.volumes.len() as u128;
        let vol_index = (uuid::Uuid::parse_str(&id).map(|u| u.as_u128()).unwrap_or(0) % n) as u16;
        let vol = &self.volumes[usize::from(vol_index)];
        header.data_shards = 1;
        header.parity_shards = 0;
        header.shard_index = 0;
        let tmp = vol.tmp().join(&id);
        let dest = vol.data_file(&id);
        BlockWriter::create(id, vol_index, tmp, dest, &header)
    }

    fn path_of(&self, r: &DataRef) -> Result<PathBuf, DataError> {
        let vol = r
            .volumes
            .first()
            .and_then(|&v| self.volumes.get(usize::from(v)))
            .ok_or_else(|| {
                DataError::corrupt(Path::new(&r.id), "data reference names an unknown volume")
            })?;
        if r.id.len() != 32 || !r.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DataError::corrupt(Path::new(&r.id), "malformed data id"));
        }
        Ok(vol.data_file(&r.id))
    }

    /// Opens a committed data file for verified reads.
    pub fn open_read(&self, r: &DataRef) -> Result<BlockReader, DataError> {
        BlockReader::open(&self.path_of(r)?)
    }

    /// Removes a data file no longer referenced. Best effort: a leftover is swept at start.
    pub fn remove(&self, r: &DataRef) {
        match self.path_of(r).map(|p| (fs::remove_file(&p), p)) {
            Ok((Ok(()), _)) => {}
            Ok((Err(e), _)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Ok((Err(e), p)) => {
                tracing::warn!(path = %p.display(), error = %e, "could not remove data file")
            }
            Err(e) => tracing::warn!(error = %e, "could not remove data file"),
        }
    }

    /// Every committed data file last modified before `before`, with its header, for the orphan
    /// sweep and for rebuilding an index from the data.
    pub fn stored_files(&self, before: SystemTime) -> Vec<StoredFile> {
        let mut out = Vec::new();
        for (vi, vol) in self.volumes.iter().enumerate() {
            let Ok(fanout) = fs::read_dir(vol.data()) else {
                continue;
            };
            for dir in fanout.flatten() {
                let Ok(files) = fs::read_dir(dir.path()) else {
                    continue;
                };
                for f in files.flatten() {
                    let path = f.path();
                    let recent = f
                        .metadata()
                        .and_then(|m| m.modified())
                        .map(|t| t >= before)
                        .unwrap_or(true);
                    if recent {
                        continue;
                    }
                    let id = f.file_name().to_string_lossy().into_owned();
                    let header = read_header(&path).ok();
                    out.push(StoredFile {
                        volume: vi as u16,
                        id,
                        path,
                        header,
                    });
                }
            }
        }
        out
    }
}

fn read_header(path: &Path) -> Result<ShardHeader, DataError> {
    use std::io::Read;
    let mut f = fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut probe = vec![0u8; header_probe_len()];
    f.read_exact(&mut probe)
        .map_err(|e| DataError::io(path, e))?;
    let len = ShardHeader::declared_len(&probe).map_err(|r| DataError::corrupt(path, r))?;
    if len > 64 * 1024 {
        return Err(DataError::corrupt(path, "header too long"));
    }
    let mut buf = probe;
    buf.resize(len, 0);
    f.read_exact(&mut buf[header_probe_len()..])
        .map_err(|e| DataError::io(path, e))?;
    ShardHeader::decode(&buf).map_err(|r| DataError::corrupt(path, r))
}

fn prepare(v: &Volume) -> Result<(), DataError> {
    let sys = v.sys();
    let mkdir = |p: &Path| {
        fs::create_dir_all(p)
            .map_err(|e| vol_err(&v.root, format!("cannot create {}: {e}", p.display())))
    };
    mkdir(&sys)?;
    // Temporary files of writes a crash interrupted: never referenced, safe to drop.
    let tmp = v.tmp();
    if tmp.exists() {
        fs::remove_dir_all(&tmp)
            .map_err(|e| vol_err(&v.root, format!("cannot clear {}: {e}", tmp.display())))?;
    }
    mkdir(&tmp)?;
    let data = v.data();
    mkdir(&data)?;
    for i in 0..=255u8 {
        mkdir(&data.join(format!("{i:02x}")))?;
    }
    // Prove the volume writable and syncable now rather than on the first PUT.
    let probe = tmp.join("write-probe");
    fs::File::create(&probe)
        .and_then(|mut f| {
            f.write_all(b"probe")?;
            f.sync_all()
        })
        .and_then(|()| fs::remove_file(&probe))
        .map_err(|e| vol_err(&v.root, format!("not writable: {e}")))?;
    let format = sys.join("format.json");
    if !format.exists() {
        let body = format!(
            "{{\"layout_version\":{LAYOUT_VERSION},\"volume_id\":\"{}\"}}\n",
            uuid::Uuid::new_v4()
        );
        let tmpf = tmp.join("format.json");
        fs::File::create(&tmpf)
            .and_then(|mut f| {
                f.write_all(body.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| fs::rename(&tmpf, &format))
            .map_err(|e| vol_err(&v.root, format!("cannot write format.json: {e}")))?;
    }
    for d in [&data, &sys, &v.root] {
        sync_dir(d).map_err(|e| vol_err(&v.root, e))?;
    }
    Ok(())
}
