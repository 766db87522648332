//! Health checks (unauthenticated, answered by the edge before s3s from the volumes' state
//! flags: no disk access, no metadata transaction): `/health/live`, `/health/ready`,
//! `/minio/health/live`, `/minio/health/ready`, `/minio/health/cluster` and
//! `/minio/health/cluster/read`, by `GET` or `HEAD`, with MinIO's semantics:
//! - live: the process answers: `200`;
//! - ready: the store is open (it is before the edge serves anything) and its layout known:
//!   `200`;
//! - cluster: `200` when the online volumes of every erasure set new objects go to reach the
//!   write quorum, else `503` (as MinIO judges each set: one set short of its quorum makes the
//!   keys that hash to it unwritable); either way with `X-Minio-Write-Quorum` (and
//!   `X-Minio-Healing-Drives` while a heal pass runs);
//! - cluster/read: `200` when they reach the read quorum, else `503`.

use http::{HeaderValue, Method, StatusCode};
use rustfs_object::ObjectStore;

/// The online volumes against the quorums of the store's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeHealth {
    /// Volumes online, of all the server knows (its own and other nodes').
    pub online: usize,
    pub total: usize,
    /// Online volumes of the erasure set with the fewest.
    pub weakest_set: usize,
    pub write_quorum: usize,
    pub read_quorum: usize,
}

impl VolumeHealth {
    pub fn of(store: &ObjectStore) -> Self {
        let (online, total) = store.volumes_online();
        let layout = store.layout();
        Self {
            online,
            total,
            weakest_set: store.weakest_set_online(),
            write_quorum: layout.write_quorum(),
            read_quorum: layout.read_quorum(),
        }
    }

    pub fn writable(&self) -> bool {
        self.weakest_set >= self.write_quorum
    }

    pub fn readable(&self) -> bool {
        self.weakest_set >= self.read_quorum
    }
}

/// A health check path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Live,
    Ready,
    Cluster,
    ClusterRead,
}

impl Check {
    /// The check a request asks for (`GET` or `HEAD` of one of the paths).
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        Some(match path.trim_end_matches('/') {
            "/health/live" | "/minio/health/live" => Self::Live,
            "/health/ready" | "/minio/health/ready" => Self::Ready,
            "/minio/health/cluster" => Self::Cluster,
            "/minio/health/cluster/read" => Self::ClusterRead,
            _ => return None,
        })
    }

    /// The answer to this check.
    pub fn answer(self, store: &ObjectStore) -> s3s::HttpResponse {
        let mut resp = http::Response::new(s3s::Body::empty());
        match self {
            Self::Live | Self::Ready => {}
            Self::Cluster | Self::ClusterRead => {
                let h = VolumeHealth::of(store);
                let ok = if self == Self::Cluster {
                    h.writable()
                } else {
                    h.readable()
                };
                if !ok {
                    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                }
                let headers = resp.headers_mut();
                headers.insert("x-minio-write-quorum", HeaderValue::from(h.write_quorum));
                if matches!(
                    store.heal_state(None),
                    rustfs_object::HealState::Running { .. }
                ) {
                    headers.insert(
                        "x-minio-healing-drives",
                        HeaderValue::from(h.total - h.online),
                    );
                }
            }
        }
        resp.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_methods() {
        assert_eq!(Check::of(&Method::GET, "/health/live"), Some(Check::Live));
        assert_eq!(
            Check::of(&Method::HEAD, "/minio/health/ready"),
            Some(Check::Ready)
        );
        assert_eq!(
            Check::of(&Method::GET, "/minio/health/cluster"),
            Some(Check::Cluster)
        );
        assert_eq!(
            Check::of(&Method::GET, "/minio/health/cluster/read"),
            Some(Check::ClusterRead)
        );
        assert_eq!(Check::of(&Method::PUT, "/health/live"), None);
        assert_eq!(Check::of(&Method::GET, "/health/livex"), None);
        assert_eq!(Check::of(&Method::GET, "/health"), None);
    }

    #[test]
    fn quorum() {
        let h = VolumeHealth {
            online: 2,
            total: 4,
            weakest_set: 2,
            write_quorum: 3,
            read_quorum: 2,
        };
        assert!(!h.writable());
        assert!(h.readable());
        // Two sets of four: six of eight online, but one set has only two of its four.
        let h = VolumeHealth {
            online: 6,
            total: 8,
            weakest_set: 2,
            write_quorum: 3,
            read_quorum: 2,
        };
        assert!(!h.writable());
    }
}
