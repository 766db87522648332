//! `rustfs prometheus-token`: prints a bearer token for scraping the metrics endpoints and a
//! Prometheus scrape configuration using it, as `mc admin prometheus generate` does. The
//! token is a JWT signed HS512 with the secret key (`rustfs_s3::metrics::token`); it is made
//! here, without asking the server.

use clap::Args;
use rustfs_bench::client::KeyArgs;

#[derive(Args, Debug)]
pub struct PrometheusTokenArgs {
    /// The server's S3 endpoint, for the sample configuration's target.
    #[arg(long, env = "RUSTFS_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Days the token is valid (MinIO's tokens: 100 years).
    #[arg(long, default_value_t = 36_500)]
    pub expiry_days: u32,
    /// Print the token alone.
    #[arg(long)]
    pub token_only: bool,
    /// Which endpoint the sample configuration scrapes: `cluster` or `node`.
    #[arg(long, default_value = "cluster")]
    pub metrics: String,
}

/// The token and, unless `token_only`, the sample configuration.
pub fn output(args: &PrometheusTokenArgs, now: i64) -> Result<String, String> {
    if args.metrics != "cluster" && args.metrics != "node" {
        return Err(format!(
            "--metrics must be cluster or node, not {:?}",
            args.metrics
        ));
    }
    let exp = now.saturating_add(i64::from(args.expiry_days).saturating_mul(86_400));
    let token =
        rustfs_s3::metrics::token::generate(&args.keys.access_key, &args.keys.secret_key, exp);
    if args.token_only {
        return Ok(format!("{token}\n"));
    }
    let (scheme, host) = args
        .endpoint
        .split_once("://")
        .unwrap_or(("http", args.endpoint.as_str()));
    let host = host.trim_end_matches('/');
    Ok(format!(
        "scrape_configs:\n\
         - job_name: rustfs-job\n\
         \x20 bearer_token: {token}\n\
         \x20 metrics_path: /minio/v2/metrics/{}\n\
         \x20 scheme: {scheme}\n\
         \x20 static_configs:\n\
         \x20 - targets: ['{host}']\n",
        args.metrics
    ))
}

pub fn run(args: PrometheusTokenArgs) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    print!("{}", output(&args, now)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(token_only: bool) -> PrometheusTokenArgs {
        PrometheusTokenArgs {
            endpoint: "https://s3.example:9000".into(),
            keys: KeyArgs {
                access_key: "root".into(),
                secret_key: "rootsecret".into(),
                region: "us-east-1".into(),
            },
            expiry_days: 1,
            token_only,
            metrics: "node".into(),
        }
    }

    #[test]
    fn prints_a_token_the_server_accepts_and_a_scrape_config() {
        let now = 1_800_000_000;
        let token = output(&args(true), now).unwrap();
        let secret = |ak: &str| (ak == "root").then(|| "rootsecret".to_string());
        assert_eq!(
            rustfs_s3::metrics::token::verify(token.trim(), now, secret),
            Ok("root".to_string())
        );
        assert!(rustfs_s3::metrics::token::verify(token.trim(), now + 86_401, secret).is_err());
        let config = output(&args(false), now).unwrap();
        assert!(config.contains(&format!("bearer_token: {}", token.trim())));
        assert!(config.contains("metrics_path: /minio/v2/metrics/node"));
        assert!(config.contains("scheme: https"));
        assert!(config.contains("- targets: ['s3.example:9000']"));
    }
}
