//! `rustfs heal`: asks a running server to check and repair every object (the admin API's heal
//! pass), follows its progress, and prints what was repaired. Exits non-zero if any object could
//! not be repaired.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http::Method;
use rustfs_bench::client::{KeyArgs, S3Client, Target};
use serde_json::Value;

#[derive(Args, Debug)]
pub struct HealArgs {
    /// The server's S3 endpoint.
    #[arg(long, env = "RUSTFS_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Read every block and verify its checksum (finds bit rot), not only each shard's presence.
    #[arg(long)]
    pub deep: bool,
    /// Give up waiting after this many seconds (the pass goes on in the server).
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

async fn call(
    client: &S3Client,
    method: Method,
    query: &[(&str, &str)],
) -> Result<(u16, Value), String> {
    let target = Target {
        bucket: "rustfs",
        key: "admin/v1/heal",
        query,
    };
    let reply = client
        .send(method, target, Bytes::new(), &[], true)
        .await
        .map_err(|e| format!("cannot reach the server: {e}"))?;
    let body = reply.body.unwrap_or_default();
    let status = reply.status.as_u16();
    let value = serde_json::from_slice(&body).map_err(|_| {
        format!(
            "unexpected reply ({status}): {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    Ok((status, value))
}

fn num(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

pub async fn run(args: HealArgs) -> Result<(), String> {
    let client = S3Client::new(
        &args.endpoint,
        &args.keys.access_key,
        &args.keys.secret_key,
        &args.keys.region,
        1,
    )?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let start: &[(&str, &str)] = if args.deep { &[("deep", "true")] } else { &[] };
    // Start our own pass; if another is running, wait for it to end first (it may be of the
    // other depth).
    let id = loop {
        let (status, state) = call(&client, Method::POST, start).await?;
        match status {
            202 => break state.get("id").and_then(Value::as_u64).unwrap_or(0),
            409 => {
                eprint!("\rheal: waiting for the running pass to finish   ");
                if Instant::now() > deadline {
                    return Err("timed out waiting for the running heal pass".into());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => return Err(format!("heal refused ({status}): {state}")),
        }
    };
    eprintln!("\rheal: pass {id} started (deep: {})", args.deep);
    let id_text = id.to_string();
    let follow = [("id", id_text.as_str())];
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, state) = call(&client, Method::GET, &follow).await?;
        match state.get("state").and_then(Value::as_str) {
            Some("running") => {
                let p = &state["progress"];
                eprint!(
                    "\rheal: {} objects checked, {} MiB, {} damaged shards, {} repaired   ",
                    num(p, "objects_checked"),
                    num(p, "bytes_checked") >> 20,
                    num(p, "shards_damaged"),
                    num(p, "shards_repaired")
                );
            }
            Some("done") => {
                eprintln!();
                let r = &state["report"];
                println!(
                    "heal finished: {} objects checked ({} MiB), {} damaged shards, {} repaired, {} on offline volumes, {} unrecoverable; {} metadata replicas rebuilt",
                    num(r, "objects_checked"),
                    num(r, "bytes_checked") >> 20,
                    num(r, "shards_damaged"),
                    num(r, "shards_repaired"),
                    num(r, "shards_offline"),
                    num(r, "unrecoverable"),
                    num(r, "replicas_resynced"),
                );
                if let Some(names) = r["unrecoverable_objects"].as_array() {
                    for n in names {
                        println!("unrecoverable: {}", n.as_str().unwrap_or_default());
                    }
                }
                return if num(r, "unrecoverable") > 0 {
                    Err("some objects could not be repaired".into())
                } else {
                    Ok(())
                };
            }
            _ => {
                return Err(format!(
                    "heal pass {id} is no longer known to the server: {state}"
                ));
            }
        }
        if Instant::now() > deadline {
            return Err("timed out waiting for the heal pass (it continues in the server)".into());
        }
    }
}
