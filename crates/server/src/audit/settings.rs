//! The audit log's settings, from the environment: ours (`RUSTFS_AUDIT_*`) first, then MinIO's
//! names for its webhook target (`MINIO_AUDIT_WEBHOOK_*`, which MinIO turns on only with
//! `MINIO_AUDIT_WEBHOOK_ENABLE=on`), so a MinIO deployment's settings carry over.

use std::path::PathBuf;

use super::webhook::WebhookSettings;

/// Entries a target's queue holds before it drops new ones.
pub const DEFAULT_QUEUE_SIZE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditSettings {
    /// `RUSTFS_AUDIT_FILE`: append entries to this file.
    pub file: Option<PathBuf>,
    /// `RUSTFS_AUDIT_WEBHOOK_ENDPOINT` (or MinIO's): POST entries there.
    pub webhook: Option<WebhookSettings>,
    /// `RUSTFS_AUDIT_QUEUE_SIZE` (or `MINIO_AUDIT_WEBHOOK_QUEUE_SIZE`): entries each target's
    /// queue holds.
    pub queue_size: usize,
}

impl AuditSettings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings `var` gives (a variable set to an empty value counts as unset).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let first = |names: &[&str]| -> Option<(String, String)> {
            names
                .iter()
                .find_map(|n| var(n).map(|v| (n.to_string(), v)))
        };
        let number = |names: &[&str], default: usize| -> Result<usize, String> {
            match first(names) {
                None => Ok(default),
                Some((name, v)) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}: expected a positive number, got {v:?}")),
            }
        };
        let minio_on = var("MINIO_AUDIT_WEBHOOK_ENABLE").is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "on" | "true" | "yes" | "enable" | "enabled" | "1"
            )
        });
        let endpoint = match var("RUSTFS_AUDIT_WEBHOOK_ENDPOINT") {
            Some(e) => Some(("RUSTFS_AUDIT_WEBHOOK_ENDPOINT", e)),
            None if minio_on => Some((
                "MINIO_AUDIT_WEBHOOK_ENDPOINT",
                var("MINIO_AUDIT_WEBHOOK_ENDPOINT").ok_or(
                    "MINIO_AUDIT_WEBHOOK_ENABLE is on but MINIO_AUDIT_WEBHOOK_ENDPOINT is not set",
                )?,
            )),
            None => None,
        };
        let webhook = match endpoint {
            None => None,
            Some((name, e)) => Some(WebhookSettings {
                endpoint: parse_endpoint(&e).map_err(|why| format!("{name}: {why}"))?,
                auth_token: first(&[
                    "RUSTFS_AUDIT_WEBHOOK_AUTH_TOKEN",
                    "MINIO_AUDIT_WEBHOOK_AUTH_TOKEN",
                ])
                .map(|(_, t)| t),
                batch_size: number(
                    &[
                        "RUSTFS_AUDIT_WEBHOOK_BATCH_SIZE",
                        "MINIO_AUDIT_WEBHOOK_BATCH_SIZE",
                    ],
                    1,
                )?,
            }),
        };
        Ok(Self {
            file: var("RUSTFS_AUDIT_FILE").map(PathBuf::from),
            webhook,
            queue_size: number(
                &["RUSTFS_AUDIT_QUEUE_SIZE", "MINIO_AUDIT_WEBHOOK_QUEUE_SIZE"],
                DEFAULT_QUEUE_SIZE,
            )?,
        })
    }

    /// Whether any target is set (the audit log is off by default).
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.webhook.is_some()
    }
}

fn parse_endpoint(s: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = s.parse().map_err(|e| format!("not a URL ({e}): {s:?}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(format!("expected an http:// or https:// URL, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<AuditSettings, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuditSettings::from_lookup(|n| map.get(n).cloned())
    }

    #[test]
    fn off_by_default() {
        let s = settings(&[]).unwrap();
        assert!(!s.enabled());
        assert_eq!(s.queue_size, DEFAULT_QUEUE_SIZE);
        assert!(!settings(&[("RUSTFS_AUDIT_FILE", "")]).unwrap().enabled());
    }

    #[test]
    fn ours_first() {
        let s = settings(&[
            ("RUSTFS_AUDIT_FILE", "/tmp/a.log"),
            ("RUSTFS_AUDIT_WEBHOOK_ENDPOINT", "http://127.0.0.1:9/x"),
            ("RUSTFS_AUDIT_WEBHOOK_AUTH_TOKEN", "t0k"),
            ("MINIO_AUDIT_WEBHOOK_ENABLE", "on"),
            ("MINIO_AUDIT_WEBHOOK_ENDPOINT", "http://other/"),
            ("MINIO_AUDIT_WEBHOOK_AUTH_TOKEN", "minio"),
            ("RUSTFS_AUDIT_QUEUE_SIZE", "7"),
        ])
        .unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/tmp/a.log")));
        let w = s.webhook.unwrap();
        assert_eq!(w.endpoint.to_string(), "http://127.0.0.1:9/x");
        assert_eq!(w.auth_token.as_deref(), Some("t0k"));
        assert_eq!(w.batch_size, 1);
        assert_eq!(s.queue_size, 7);
    }

    #[test]
    fn minio_names_need_enable() {
        let off = settings(&[("MINIO_AUDIT_WEBHOOK_ENDPOINT", "http://h/")]).unwrap();
        assert!(off.webhook.is_none());
        let on = settings(&[
            ("MINIO_AUDIT_WEBHOOK_ENABLE", "on"),
            ("MINIO_AUDIT_WEBHOOK_ENDPOINT", "https://h:8443/audit"),
            ("MINIO_AUDIT_WEBHOOK_AUTH_TOKEN", "m"),
            ("MINIO_AUDIT_WEBHOOK_BATCH_SIZE", "10"),
            ("MINIO_AUDIT_WEBHOOK_QUEUE_SIZE", "100"),
        ])
        .unwrap();
        let w = on.webhook.unwrap();
        assert_eq!(w.endpoint.host(), Some("h"));
        assert_eq!(w.auth_token.as_deref(), Some("m"));
        assert_eq!(w.batch_size, 10);
        assert_eq!(on.queue_size, 100);
        assert!(settings(&[("MINIO_AUDIT_WEBHOOK_ENABLE", "on")]).is_err());
    }

    #[test]
    fn bad_values_refused() {
        assert!(settings(&[("RUSTFS_AUDIT_WEBHOOK_ENDPOINT", "ftp://h/")]).is_err());
        assert!(settings(&[("RUSTFS_AUDIT_WEBHOOK_ENDPOINT", "/just/a/path")]).is_err());
        assert!(settings(&[("RUSTFS_AUDIT_QUEUE_SIZE", "0")]).is_err());
        assert!(settings(&[("RUSTFS_AUDIT_QUEUE_SIZE", "many")]).is_err());
    }
}
