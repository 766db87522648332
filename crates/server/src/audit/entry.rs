//! One audit entry: a finished request as MinIO's audit log writes it (`internal/logger/message/
//! audit.Entry`: `version`, `time`, `trigger`, `api{name,bucket,object,status,statusCode,rx,tx,
//! timeToFirstByte,timeToResponse,timeToResponseInNS}`, `remotehost`, `requestID`, `accessKey`,
//! `parentUser`), so tools that read MinIO's audit lines read ours. One JSON object, no newline.

use std::time::Duration;

use rustfs_s3::edge::observe::RequestRecord;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

/// What MinIO's entries say in `version`.
const ENTRY_VERSION: &str = "1";

#[derive(Serialize)]
struct Entry<'a> {
    version: &'static str,
    #[serde(rename = "deploymentid", skip_serializing_if = "str::is_empty")]
    deployment_id: &'a str,
    time: String,
    event: &'static str,
    trigger: &'static str,
    api: Api<'a>,
    #[serde(rename = "remotehost", skip_serializing_if = "Option::is_none")]
    remote_host: Option<String>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "accessKey", skip_serializing_if = "Option::is_none")]
    access_key: Option<&'a str>,
    #[serde(rename = "parentUser", skip_serializing_if = "Option::is_none")]
    parent_user: Option<&'a str>,
    /// The node that served the request (MinIO puts its own details under `tags`).
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Tags<'a>>,
}

#[derive(Serialize)]
struct Api<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
    status: &'static str,
    #[serde(rename = "statusCode")]
    status_code: u16,
    rx: u64,
    tx: u64,
    #[serde(rename = "timeToFirstByte")]
    time_to_first_byte: String,
    #[serde(rename = "timeToFirstByteInNS")]
    time_to_first_byte_ns: String,
    #[serde(rename = "timeToResponse")]
    time_to_response: String,
    #[serde(rename = "timeToResponseInNS")]
    time_to_response_ns: String,
}

#[derive(Serialize)]
struct Tags<'a> {
    node: &'a str,
}

/// What every entry of this server says about where it came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// `deploymentid`: empty leaves it out.
    pub deployment_id: String,
    /// The node's name (`tags.node`): empty leaves it out.
    pub node: String,
}

/// The entry for `record` as one JSON line, without its newline.
pub fn line(record: &RequestRecord, origin: &Origin) -> String {
    let entry = Entry {
        version: ENTRY_VERSION,
        deployment_id: &origin.deployment_id,
        time: record
            .time
            .format(&Rfc3339)
            .unwrap_or_else(|_| record.time.unix_timestamp().to_string()),
        event: "",
        trigger: "incoming",
        api: Api {
            name: &record.api,
            bucket: record.bucket.as_deref(),
            object: record.key.as_deref(),
            status: http::StatusCode::from_u16(record.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or(""),
            status_code: record.status,
            rx: record.bytes_in,
            tx: record.bytes_out,
            time_to_first_byte: go_duration(record.time_to_first_byte),
            time_to_first_byte_ns: record.time_to_first_byte.as_nanos().to_string(),
            time_to_response: go_duration(record.duration),
            time_to_response_ns: record.duration.as_nanos().to_string(),
        },
        remote_host: record.remote.map(|ip| ip.to_string()),
        request_id: &record.request_id,
        access_key: record.access_key.as_deref(),
        parent_user: record.user.as_deref(),
        tags: (!origin.node.is_empty()).then_some(Tags { node: &origin.node }),
    };
    // Serializing strings and numbers cannot fail.
    serde_json::to_string(&entry).unwrap_or_default()
}

/// A duration as Go's `time.Duration.String` writes it below a minute (`850ns`, `1.5µs`,
/// `12.345ms`, `2.5s`), the form of MinIO's `timeToResponse`.
fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (unit, scale) = match ns {
        0 => return "0s".into(),
        n if n < 1_000 => return format!("{n}ns"),
        n if n < 1_000_000 => ("µs", 1_000u128),
        n if n < 1_000_000_000 => ("ms", 1_000_000),
        _ => ("s", 1_000_000_000),
    };
    let whole = ns / scale;
    let frac = ns % scale;
    if frac == 0 {
        return format!("{whole}{unit}");
    }
    let digits = scale.ilog10() as usize;
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}{unit}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn record() -> RequestRecord {
        RequestRecord {
            time: time::macros::datetime!(2026-12-05 20:00:00.5 UTC),
            request_id: "00000000000000AB".into(),
            api: "PutObject".into(),
            bucket: Some("b".into()),
            key: Some("dir/k\"ey".into()),
            status: 200,
            bytes_in: 5,
            bytes_out: 0,
            duration: Duration::from_micros(1500),
            time_to_first_byte: Duration::from_nanos(900),
            remote: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            access_key: Some("AKIA".into()),
            user: Some("alice".into()),
        }
    }

    #[test]
    fn entry_has_minio_fields() {
        let origin = Origin {
            deployment_id: String::new(),
            node: "local".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&line(&record(), &origin)).unwrap();
        assert_eq!(v["version"], "1");
        assert_eq!(v["time"], "2026-12-05T20:00:00.5Z");
        assert_eq!(v["trigger"], "incoming");
        assert_eq!(v["requestID"], "00000000000000AB");
        assert_eq!(v["remotehost"], "127.0.0.1");
        assert_eq!(v["accessKey"], "AKIA");
        assert_eq!(v["parentUser"], "alice");
        assert_eq!(v["tags"]["node"], "local");
        assert!(v.get("deploymentid").is_none());
        let api = &v["api"];
        assert_eq!(api["name"], "PutObject");
        assert_eq!(api["bucket"], "b");
        assert_eq!(api["object"], "dir/k\"ey");
        assert_eq!(api["status"], "OK");
        assert_eq!(api["statusCode"], 200);
        assert_eq!(api["rx"], 5);
        assert_eq!(api["tx"], 0);
        assert_eq!(api["timeToResponse"], "1.5ms");
        assert_eq!(api["timeToResponseInNS"], "1500000");
        assert_eq!(api["timeToFirstByte"], "900ns");
    }

    #[test]
    fn anonymous_request_leaves_identity_out() {
        let mut r = record();
        r.access_key = None;
        r.user = None;
        r.remote = None;
        r.bucket = None;
        r.key = None;
        r.status = 404;
        let v: serde_json::Value = serde_json::from_str(&line(&r, &Origin::default())).unwrap();
        for absent in ["accessKey", "parentUser", "remotehost", "tags"] {
            assert!(v.get(absent).is_none(), "{absent}");
        }
        assert!(v["api"].get("bucket").is_none());
        assert_eq!(v["api"]["status"], "Not Found");
    }

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(850)), "850ns");
        assert_eq!(go_duration(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(go_duration(Duration::from_micros(12_345)), "12.345ms");
        assert_eq!(go_duration(Duration::from_millis(2_000)), "2s");
        assert_eq!(
            go_duration(Duration::from_nanos(2_000_000_001)),
            "2.000000001s"
        );
    }
}
