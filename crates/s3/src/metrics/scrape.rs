//! What a scrape reads of the store, set as gauges just before the text is rendered: volumes
//! and drives, capacity, quorum and health, heal progress, buckets, the process.
//!
//! MinIO's names: `minio_cluster_drive_{online,offline}_total`, `minio_cluster_drive_total`,
//! `minio_cluster_nodes_{online,offline}_total`, `minio_cluster_capacity_raw_{total,free}_bytes`,
//! `minio_cluster_capacity_usable_{total,free}_bytes`, `minio_cluster_health_status`,
//! `minio_cluster_write_quorum`, `minio_cluster_bucket_total`, `minio_node_drive_*`,
//! `minio_heal_objects_*`, `minio_node_process_*`. Ours: `rustfs_volume_{online,full}`,
//! `rustfs_volume_{total,free}_bytes` by `volume`, `rustfs_heal_*`.

use metrics::{describe_gauge, gauge};
use rustfs_object::HealState;
use rustfs_object::ObjectStore;

use crate::health::VolumeHealth;

/// Sets the gauges from the store's state now.
pub async fn refresh(store: &ObjectStore) {
    let layout = store.layout();
    let volumes = store.volume_status();
    let health = VolumeHealth::of(store);
    let online = volumes.iter().filter(|v| v.online).count();
    let offline = volumes.len() - online;
    for (name, n) in [
        ("minio_cluster_drive_online_total", online),
        ("minio_cluster_drive_offline_total", offline),
        ("minio_cluster_drive_total", volumes.len()),
        ("minio_node_drive_online_total", online),
        ("minio_node_drive_offline_total", offline),
        ("minio_node_drive_total", volumes.len()),
        ("minio_cluster_write_quorum", health.write_quorum),
    ] {
        gauge!(name).set(n as f64);
    }
    // This node answers the scrape; another node is online when one of its volumes is.
    let mut nodes: std::collections::BTreeMap<&str, bool> = Default::default();
    for v in &volumes {
        if let Some(n) = &v.node {
            *nodes.entry(n).or_default() |= v.online;
        }
    }
    let others_online = nodes.values().filter(|o| **o).count();
    gauge!("minio_cluster_nodes_online_total").set((1 + others_online) as f64);
    gauge!("minio_cluster_nodes_offline_total").set((nodes.len() - others_online) as f64);
    gauge!("minio_cluster_health_status").set(if health.writable() { 1.0 } else { 0.0 });
    let (mut raw_total, mut raw_free) = (0u64, 0u64);
    for v in &volumes {
        let name = v.root.display().to_string();
        gauge!("rustfs_volume_online", "volume" => name.clone()).set(f64::from(u8::from(v.online)));
        gauge!("rustfs_volume_full", "volume" => name.clone()).set(f64::from(u8::from(v.full)));
        if let (Some(total), Some(free)) = (v.total_bytes, v.free_bytes) {
            gauge!("rustfs_volume_total_bytes", "volume" => name.clone()).set(total as f64);
            gauge!("rustfs_volume_free_bytes", "volume" => name.clone()).set(free as f64);
            gauge!("minio_node_drive_total_bytes", "drive" => name.clone()).set(total as f64);
            gauge!("minio_node_drive_free_bytes", "drive" => name.clone()).set(free as f64);
            gauge!("minio_node_drive_used_bytes", "drive" => name)
                .set(total.saturating_sub(free) as f64);
            if v.online {
                raw_total = raw_total.saturating_add(total);
                raw_free = raw_free.saturating_add(free);
            }
        }
    }
    let shards = f64::from(layout.data) + f64::from(layout.parity);
    let usable = if shards > 0.0 {
        f64::from(layout.data) / shards
    } else {
        1.0
    };
    gauge!("minio_cluster_capacity_raw_total_bytes").set(raw_total as f64);
    gauge!("minio_cluster_capacity_raw_free_bytes").set(raw_free as f64);
    gauge!("minio_cluster_capacity_usable_total_bytes").set(raw_total as f64 * usable);
    gauge!("minio_cluster_capacity_usable_free_bytes").set(raw_free as f64 * usable);
    heal(store);
    if let Ok(buckets) = store.list_buckets().await {
        gauge!("minio_cluster_bucket_total").set(buckets.len() as f64);
    }
    process();
}

/// The running or last heal pass.
fn heal(store: &ObjectStore) {
    let (running, report, finished_ms) = match store.heal_state(None) {
        HealState::Running { progress, .. } => (true, Some(progress), None),
        HealState::Done {
            report,
            finished_ms,
            ..
        } => (false, Some(report), Some(finished_ms)),
        _ => (false, None, None),
    };
    gauge!("rustfs_heal_running").set(f64::from(u8::from(running)));
    if let Some(r) = report {
        gauge!("minio_heal_objects_total").set(r.objects_checked as f64);
        gauge!("minio_heal_objects_heal_total").set(r.shards_repaired as f64);
        gauge!("minio_heal_objects_errors_total").set(r.unrecoverable as f64);
        gauge!("rustfs_heal_objects_checked").set(r.objects_checked as f64);
        gauge!("rustfs_heal_bytes_checked").set(r.bytes_checked as f64);
        gauge!("rustfs_heal_shards_damaged").set(r.shards_damaged as f64);
        gauge!("rustfs_heal_shards_repaired").set(r.shards_repaired as f64);
        gauge!("rustfs_heal_shards_offline").set(r.shards_offline as f64);
        gauge!("rustfs_heal_unrecoverable").set(r.unrecoverable as f64);
    }
    if let Some(ms) = finished_ms {
        let ago = crate::admin::now_ms().saturating_sub(ms).max(0);
        gauge!("minio_heal_time_last_activity_nano_seconds").set(ago as f64 * 1e6);
    }
}

/// When the process started (seconds since the epoch), taken on the first scrape's call of
/// [`started`] at the latest: the binary calls it at start.
static STARTED: std::sync::OnceLock<(std::time::Instant, f64)> = std::sync::OnceLock::new();

/// Notes the process's start time (the binary calls this at start).
pub fn started() {
    STARTED.get_or_init(|| {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        (std::time::Instant::now(), epoch)
    });
}

fn process() {
    started();
    if let Some((at, epoch)) = STARTED.get() {
        gauge!("minio_node_process_uptime_seconds").set(at.elapsed().as_secs_f64());
        gauge!("minio_node_process_starttime_seconds").set(*epoch);
    }
    // Resident pages (Linux).
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm")
        && let Some(pages) = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<f64>().ok())
    {
        gauge!("minio_node_process_resident_memory_bytes").set(pages * 4096.0);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge!("minio_node_file_descriptor_open_total").set(fds.count() as f64);
    }
}

/// Help texts.
pub(super) fn describe() {
    for (name, help) in [
        (
            "minio_cluster_drive_online_total",
            "Total drives online in this cluster",
        ),
        (
            "minio_cluster_drive_offline_total",
            "Total drives offline in this cluster",
        ),
        ("minio_cluster_drive_total", "Total drives in this cluster"),
        (
            "minio_node_drive_online_total",
            "Total drives online in this node",
        ),
        (
            "minio_node_drive_offline_total",
            "Total drives offline in this node",
        ),
        ("minio_node_drive_total", "Total drives in this node"),
        (
            "minio_cluster_nodes_online_total",
            "Total number of nodes online",
        ),
        (
            "minio_cluster_nodes_offline_total",
            "Total number of nodes offline",
        ),
        (
            "minio_cluster_write_quorum",
            "Maximum write quorum across all pools and sets",
        ),
        (
            "minio_cluster_health_status",
            "Whether the cluster has write quorum (1) or not (0)",
        ),
        (
            "minio_cluster_capacity_raw_total_bytes",
            "Total capacity online in the cluster",
        ),
        (
            "minio_cluster_capacity_raw_free_bytes",
            "Total free capacity online in the cluster",
        ),
        (
            "minio_cluster_capacity_usable_total_bytes",
            "Total usable capacity online in the cluster",
        ),
        (
            "minio_cluster_capacity_usable_free_bytes",
            "Total free usable capacity online in the cluster",
        ),
        (
            "minio_cluster_bucket_total",
            "Total number of buckets in the cluster",
        ),
        ("minio_node_drive_total_bytes", "Total storage on a drive"),
        (
            "minio_node_drive_free_bytes",
            "Total storage available on a drive",
        ),
        (
            "minio_node_drive_used_bytes",
            "Total storage used on a drive",
        ),
        (
            "minio_heal_objects_total",
            "Objects scanned in the current or last heal pass",
        ),
        (
            "minio_heal_objects_heal_total",
            "Objects healed in the current or last heal pass",
        ),
        (
            "minio_heal_objects_errors_total",
            "Objects for which healing failed in the current or last heal pass",
        ),
        (
            "minio_heal_time_last_activity_nano_seconds",
            "Time elapsed (in nano seconds) since the last heal pass ended",
        ),
        (
            "minio_node_process_uptime_seconds",
            "Uptime for the server process in seconds",
        ),
        (
            "minio_node_process_starttime_seconds",
            "Start time for the server process",
        ),
        (
            "minio_node_process_resident_memory_bytes",
            "Resident memory size in bytes",
        ),
        (
            "minio_node_file_descriptor_open_total",
            "Total number of open file descriptors",
        ),
        (
            "rustfs_volume_online",
            "Whether the volume is online (1) or offline (0)",
        ),
        (
            "rustfs_volume_full",
            "Whether the volume is at its free-space reserve (1)",
        ),
        (
            "rustfs_volume_total_bytes",
            "Size of the filesystem holding the volume",
        ),
        (
            "rustfs_volume_free_bytes",
            "Bytes available on the filesystem holding the volume",
        ),
        ("rustfs_heal_running", "Whether a heal pass is running (1)"),
        (
            "rustfs_heal_objects_checked",
            "Objects and parts checked by the current or last heal pass",
        ),
        (
            "rustfs_heal_bytes_checked",
            "Bytes checked by the current or last heal pass",
        ),
        (
            "rustfs_heal_shards_damaged",
            "Damaged shards found by the current or last heal pass",
        ),
        (
            "rustfs_heal_shards_repaired",
            "Shards repaired by the current or last heal pass",
        ),
        (
            "rustfs_heal_shards_offline",
            "Damaged shards on offline or full volumes, repaired once they are back",
        ),
        (
            "rustfs_heal_unrecoverable",
            "Objects the current or last heal pass could not recover",
        ),
        (
            "rustfs_heal_queue_length",
            "Damaged data waiting in the repair queue",
        ),
    ] {
        describe_gauge!(name, help);
    }
}
