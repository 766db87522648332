//! `rustfs cluster`: the cluster's control plane is its database, so these talk to it
//! directly (no node needs to be up).
//!
//! - `rustfs cluster status`: nodes, their addresses, volumes and heartbeats; the layout.
//! - `rustfs cluster add-pool`: a new pool from every registered volume no pool uses (nodes
//!   started after the layout was formed). Running nodes take it within seconds: new objects
//!   go to it; stored objects stay where they are.

use clap::{Args, Subcommand};
use rustfs_cluster::{layout, membership};

#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// The database the cluster's nodes share.
    #[arg(long, env = "RUSTFS_META_URL", hide_env_values = true)]
    pub meta_url: String,
    #[command(subcommand)]
    pub action: ClusterAction,
}

#[derive(Subcommand, Debug)]
pub enum ClusterAction {
    /// Print the nodes, their volumes and heartbeats, and the layout.
    Status,
    /// Form a new pool from the volumes of nodes that joined after the layout was formed.
    AddPool {
        /// Parity of the new pool's sets (`EC:N`); the set size's default otherwise.
        #[arg(long, env = "RUSTFS_STORAGE_CLASS_STANDARD")]
        storage_class: Option<String>,
    },
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub async fn run(args: ClusterArgs) -> Result<(), String> {
    let store = crate::serve::open_database(&args.meta_url).await?;
    match args.action {
        ClusterAction::Status => {
            let nodes = membership::read_nodes(&store)
                .await
                .map_err(|e| e.to_string())?;
            let now = now_ms();
            for (n, hb) in &nodes {
                let beat = hb.as_ref().map_or("never".to_string(), |h| {
                    format!("{:.1} s ago", (now - h.at_ms) as f64 / 1000.0)
                });
                let vols: Vec<String> = n
                    .volumes
                    .iter()
                    .map(|v| format!("{}={}", v.id, v.path))
                    .collect();
                println!(
                    "node {} {} heartbeat {beat} volumes {}",
                    n.node_id,
                    n.address,
                    vols.join(" ")
                );
            }
            match layout::read(&store).await.map_err(|e| e.to_string())? {
                None => println!("layout: not formed yet"),
                Some(l) => {
                    println!("layout version {}", l.version);
                    for (i, p) in l.pools.iter().enumerate() {
                        for (j, s) in p.sets.iter().enumerate() {
                            println!(
                                "pool {i} set {j}: {}+{} volumes {:?}",
                                s.data, s.parity, s.volumes
                            );
                        }
                    }
                }
            }
        }
        ClusterAction::AddPool { storage_class } => {
            let l = layout::add_pool(&store, storage_class.as_deref())
                .await
                .map_err(|e| format!("cannot add a pool: {e}"))?;
            let pool = l.pools.len() - 1;
            println!(
                "layout version {}: pool {pool} added with {} sets",
                l.version,
                l.pools[pool].sets.len()
            );
        }
    }
    Ok(())
}
