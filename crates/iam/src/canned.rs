//! MinIO's canned policies, built in: `readonly`, `readwrite`, `writeonly`, `diagnostics` and
//! `consoleAdmin`. They cannot be replaced or deleted.

pub const NAMES: [&str; 5] = [
    "consoleAdmin",
    "diagnostics",
    "readonly",
    "readwrite",
    "writeonly",
];

/// The document of canned policy `name`.
pub fn document(name: &str) -> Option<&'static str> {
    Some(match name {
        "readwrite" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "readonly" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:GetObject"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "writeonly" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "diagnostics" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:ServerTrace","admin:Profiling","admin:ConsoleLog","admin:ServerInfo","admin:TopLocksInfo","admin:OBDInfo","admin:BandwidthMonitor","admin:Prometheus"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "consoleAdmin" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:*"]},{"Effect":"Allow","Action":["kms:*"]},{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        _ => return None,
    })
}

pub fn is_canned(name: &str) -> bool {
    NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_canned_policy_is_json_with_a_version() {
        for n in super::NAMES {
            let v: serde_json::Value = serde_json::from_str(super::document(n).unwrap()).unwrap();
            assert_eq!(v["Version"], "2012-10-17", "{n}");
        }
        assert!(super::document("nope").is_none());
    }
}
