//! A cluster node's identity: a UUID made at the node's first start and written to
//! `VOLUME/.rustfs.sys/node.json` on each of its volumes (`{"node_id": "..."}`), so the
//! database knows a restarted node (and its volumes' ids, [`crate::membership::register`])
//! whatever its address is now.
//!
//! Every volume that holds the file must name the same node: volumes of two nodes mixed on
//! one command line are refused. A volume without the file (new, or wiped) gets it from the
//! others; a node whose volumes all lack it is new.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE: &str = "node.json";
const SYS_DIR: &str = ".rustfs.sys";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct NodeFile {
    node_id: String,
}

/// Why the node's identity could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: unreadable node identity: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "volumes of different nodes given together: {first} names node {a}, {second} names node {b}"
    )]
    Mixed {
        first: PathBuf,
        a: String,
        second: PathBuf,
        b: String,
    },
    #[error("{path}: cannot write the node identity: {reason}")]
    Write { path: PathBuf, reason: String },
}

fn file_of(volume: &Path) -> PathBuf {
    volume.join(SYS_DIR).join(FILE)
}

/// The node id the volumes name (made if none does), written to every volume that lacks it.
/// Volumes that do not exist yet are skipped (they are created and formatted later; the next
/// start writes the file there).
pub fn load_or_create(volumes: &[PathBuf]) -> Result<String, IdentityError> {
    let mut found: Option<(PathBuf, String)> = None;
    let mut missing = Vec::new();
    for v in volumes {
        let path = file_of(v);
        match fs::read(&path) {
            Ok(bytes) => {
                let f: NodeFile =
                    serde_json::from_slice(&bytes).map_err(|e| IdentityError::Unreadable {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                if uuid::Uuid::parse_str(&f.node_id).is_err() {
                    return Err(IdentityError::Unreadable {
                        path,
                        reason: format!("node_id {:?} is not a UUID", f.node_id),
                    });
                }
                match &found {
                    Some((first, id)) if *id != f.node_id => {
                        return Err(IdentityError::Mixed {
                            first: first.clone(),
                            a: id.clone(),
                            second: v.clone(),
                            b: f.node_id,
                        });
                    }
                    Some(_) => {}
                    None => found = Some((v.clone(), f.node_id)),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(v),
            Err(e) => {
                return Err(IdentityError::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        }
    }
    let id = found.map_or_else(|| uuid::Uuid::new_v4().to_string(), |(_, id)| id);
    for v in missing {
        if v.is_dir() {
            write(v, &id)?;
        }
    }
    Ok(id)
}

/// Writes the file durably: a temporary file synced, renamed, the directory synced.
fn write(volume: &Path, id: &str) -> Result<(), IdentityError> {
    let dir = volume.join(SYS_DIR);
    let path = file_of(volume);
    let err = |e: std::io::Error| IdentityError::Write {
        path: path.clone(),
        reason: e.to_string(),
    };
    fs::create_dir_all(&dir).map_err(err)?;
    let tmp = dir.join(format!("{FILE}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let body = serde_json::to_vec(&NodeFile {
        node_id: id.to_string(),
    })
    .map_err(|e| IdentityError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vols(d: &tempfile::TempDir, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let p = d.path().join(format!("v{i}"));
                fs::create_dir_all(&p).unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn made_once_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let v = vols(&d, 2);
        let id = load_or_create(&v).unwrap();
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert!(file_of(&v[0]).is_file() && file_of(&v[1]).is_file());
        assert_eq!(load_or_create(&v).unwrap(), id);
    }

    #[test]
    fn a_wiped_volume_gets_it_back() {
        let d = tempfile::tempdir().unwrap();
        let v = vols(&d, 3);
        let id = load_or_create(&v).unwrap();
        fs::remove_dir_all(&v[1]).unwrap();
        fs::create_dir_all(&v[1]).unwrap();
        assert_eq!(load_or_create(&v).unwrap(), id);
        assert!(file_of(&v[1]).is_file());
    }

    #[test]
    fn volumes_of_two_nodes_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let v = vols(&d, 2);
        load_or_create(&v[..1]).unwrap();
        load_or_create(&v[1..]).unwrap();
        assert!(matches!(
            load_or_create(&v),
            Err(IdentityError::Mixed { .. })
        ));
    }

    #[test]
    fn a_damaged_file_is_refused_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let v = vols(&d, 1);
        load_or_create(&v).unwrap();
        fs::write(file_of(&v[0]), b"{not json").unwrap();
        assert!(matches!(
            load_or_create(&v),
            Err(IdentityError::Unreadable { .. })
        ));
        fs::write(file_of(&v[0]), br#"{"node_id":"x"}"#).unwrap();
        assert!(matches!(
            load_or_create(&v),
            Err(IdentityError::Unreadable { .. })
        ));
    }

    #[test]
    fn a_volume_not_there_yet_is_skipped() {
        let d = tempfile::tempdir().unwrap();
        let mut v = vols(&d, 1);
        v.push(d.path().join("later"));
        load_or_create(&v).unwrap();
        assert!(!v[1].exists());
    }
}
