//! `GET /api/config`: what the front-end needs to know about this server.

use serde::Serialize;

/// Sent as JSON. `s3_url` is `RUSTFS_SERVER_URL` when set (share links point there); else
/// the front-end builds the S3 endpoint from its own host name and `s3_port`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsoleConfig {
    pub s3_url: Option<String>,
    pub s3_port: Option<u16>,
    pub region: String,
    pub version: String,
}

impl ConsoleConfig {
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and numbers always serializes.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}
