//! Virtual-hosted-style addressing for the configured domains (RUSTFS_SERVER_DOMAINS).
//! `BUCKET.DOMAIN[:port]` names a bucket; every other host (the bare domain, `localhost`, an
//! IP) is path-style, so one server answers both styles.

use std::borrow::Cow;

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

#[derive(Clone)]
pub struct Domains {
    domains: Vec<String>,
}

impl Domains {
    /// Domains are matched case-insensitively and without a port.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(domains: I) -> Result<Self, String> {
        let mut out: Vec<String> = Vec::new();
        for d in domains {
            let d = d.as_ref().trim().trim_end_matches('.').to_ascii_lowercase();
            let d = d.split_once(':').map_or(d.as_str(), |(h, _)| h).to_string();
            if d.is_empty()
                || d.split('.').any(|l| {
                    l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
            {
                return Err(format!("invalid domain {d:?}"));
            }
            out.push(d);
        }
        if out.is_empty() {
            return Err("no domain given".into());
        }
        // Longest first, so `a.example.com` wins over `example.com`.
        out.sort_by_key(|d| std::cmp::Reverse(d.len()));
        Ok(Self { domains: out })
    }

    /// The bucket a host names, if it is `BUCKET.DOMAIN`.
    pub fn bucket_of(&self, host: &str) -> Option<(String, &str)> {
        let name = strip_port(host).to_ascii_lowercase();
        self.domains.iter().find_map(|d| {
            let b = name.strip_suffix(d.as_str())?.strip_suffix('.')?;
            (!b.is_empty()).then(|| (b.to_string(), d.as_str()))
        })
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl S3Host for Domains {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some((bucket, domain)) => VirtualHost::new(domain).with_bucket(Cow::Owned(bucket)),
            None => VirtualHost::new(strip_port(host)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_come_from_subdomains_only() {
        let d = Domains::new(["s3.example.com", "example.com:9000"]).unwrap();
        assert_eq!(
            d.bucket_of("photos.s3.example.com:9000").unwrap().0,
            "photos"
        );
        assert_eq!(
            d.bucket_of("my.dotted.bucket.example.com").unwrap().0,
            "my.dotted.bucket"
        );
        assert!(
            d.bucket_of("s3.example.com").unwrap().0 == "s3",
            "longest domain first, then shorter"
        );
        assert!(d.bucket_of("localhost:9000").is_none());
        assert!(d.bucket_of("127.0.0.1:9000").is_none());
        assert!(d.bucket_of("example.com").is_none());
        assert!(Domains::new(["bad domain"]).is_err());
        assert!(Domains::new(Vec::<String>::new()).is_err());
    }

    #[test]
    fn ports_and_ipv6_are_stripped() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("[::1]:9000"), "::1");
        assert_eq!(strip_port("a.b"), "a.b");
    }
}
