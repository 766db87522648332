//! The control plane on real stores: "nodes" are separate store handles on one redb file or
//! one PostgreSQL database (a real server, `rustfs_meta::pg_server`), racing each other.
//! Each test runs on both backends (`redb::*`, `pg::*`).

use std::sync::Arc;

use rustfs_cluster::{deferred, layout, membership};
use rustfs_meta::{PgStore, RedbStore, TxnStore};

/// `n` handles on one store, and what must outlive them.
async fn stores(pg: bool, n: usize) -> Option<(Option<tempfile::TempDir>, Vec<Arc<dyn TxnStore>>)> {
    if pg {
        let server = rustfs_meta::pg_server::server()?;
        let url = server.database().await;
        let mut out: Vec<Arc<dyn TxnStore>> = Vec::new();
        for _ in 0..n {
            out.push(Arc::new(PgStore::open(&url).await.unwrap()));
        }
        Some((None, out))
    } else {
        // One redb file can be opened once: the "nodes" share the handle.
        let dir = tempfile::tempdir().unwrap();
        let s: Arc<dyn TxnStore> = Arc::new(RedbStore::open(&dir.path().join("m.redb")).unwrap());
        Some((Some(dir), (0..n).map(|_| s.clone()).collect()))
    }
}

fn paths(node: usize, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/srv/node{node}/vol{i}")).collect()
}

fn nobody_alive(_: &str) -> bool {
    false
}

async fn racing_registrations_get_distinct_ids_and_one_layout(pg: bool) {
    let Some((_keep, s)) = stores(pg, 4).await else {
        return;
    };
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let s = s[i].clone();
            tokio::spawn(async move {
                let ids = membership::register(
                    &*s,
                    &format!("node-{i}"),
                    &format!("http://127.0.0.{}:9000", i + 2),
                    &paths(i, 2),
                    &nobody_alive,
                )
                .await
                .unwrap();
                let l = loop {
                    if let Some(l) = layout::form_first_pool(&*s, 4, None).await.unwrap() {
                        break l;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                };
                (ids, l)
            })
        })
        .collect();
    let mut all_ids = Vec::new();
    let mut layouts = Vec::new();
    for t in tasks {
        let (ids, l) = t.await.unwrap();
        assert_eq!(ids.len(), 2);
        all_ids.extend(ids);
        layouts.push(l);
    }
    all_ids.sort();
    assert_eq!(
        all_ids,
        (0..8).collect::<Vec<u16>>(),
        "ids distinct and smallest first"
    );
    assert!(
        layouts.windows(2).all(|w| w[0] == w[1]),
        "one layout for all"
    );
    let l = &layouts[0];
    assert_eq!(l.version, 1);
    assert_eq!(l.pools.len(), 1);
    assert_eq!(
        l.pools[0].sets.len(),
        2,
        "two sets of four: one volume per node"
    );
    assert_eq!(layout::read(&*s[1]).await.unwrap().as_ref(), Some(l));

    // Re-registering keeps the ids; a new path gets the next free one.
    let again = membership::register(
        &*s[2],
        "node-2",
        "http://127.0.0.4:9000",
        &paths(2, 2),
        &nobody_alive,
    )
    .await
    .unwrap();
    let before: Vec<u16> = membership::read_nodes(&*s[0])
        .await
        .unwrap()
        .into_iter()
        .find(|(n, _)| n.node_id == "node-2")
        .unwrap()
        .0
        .volumes
        .iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(again, before);
    let more = membership::register(
        &*s[2],
        "node-2",
        "http://127.0.0.4:9000",
        &paths(2, 3),
        &nobody_alive,
    )
    .await
    .unwrap();
    assert_eq!(&more[..2], &again[..]);
    assert_eq!(more[2], 8);
}

/// Registers nodes `a{i}` with one volume each.
async fn register_one_volume_nodes(s: &dyn TxnStore, nodes: std::ops::Range<usize>) {
    for i in nodes {
        membership::register(
            s,
            &format!("a{i}"),
            &format!("http://a{i}"),
            &paths(i, 1),
            &nobody_alive,
        )
        .await
        .unwrap();
    }
}

async fn a_pool_is_added_from_new_nodes_only(pg: bool) {
    let Some((_keep, s)) = stores(pg, 1).await else {
        return;
    };
    let s = &*s[0];
    register_one_volume_nodes(s, 0..4).await;
    let first = layout::form_first_pool(s, 4, None).await.unwrap().unwrap();
    assert!(
        layout::add_pool(s, None).await.is_err(),
        "nothing new to add"
    );
    register_one_volume_nodes(s, 4..8).await;
    // Formation again returns the stored layout, never a second first pool.
    assert_eq!(
        layout::form_first_pool(s, 4, None).await.unwrap().unwrap(),
        first
    );
    let grown = layout::add_pool(s, Some("EC:1")).await.unwrap();
    assert_eq!(grown.version, 2);
    assert_eq!(grown.pools[0], first.pools[0]);
    let new: Vec<u16> = grown.pools[1]
        .sets
        .iter()
        .flat_map(|x| x.volumes.clone())
        .collect();
    assert_eq!(new, vec![4, 5, 6, 7]);
    assert_eq!(
        (grown.pools[1].sets[0].data, grown.pools[1].sets[0].parity),
        (3, 1)
    );
}

async fn an_address_of_a_live_node_is_refused(pg: bool) {
    let Some((_keep, s)) = stores(pg, 1).await else {
        return;
    };
    let s = &*s[0];
    membership::register(s, "old", "http://h:9000", &paths(0, 1), &nobody_alive)
        .await
        .unwrap();
    let alive = |n: &str| n == "old";
    let r = membership::register(s, "new", "http://h:9000", &paths(1, 1), &alive).await;
    assert!(
        matches!(r, Err(rustfs_cluster::ClusterError::AddressInUse { .. })),
        "{r:?}"
    );
    // Dead: a replacement machine takes the address over.
    membership::register(s, "new", "http://h:9000", &paths(1, 1), &nobody_alive)
        .await
        .unwrap();
}

async fn heartbeats_count_up(pg: bool) {
    let Some((_keep, s)) = stores(pg, 2).await else {
        return;
    };
    membership::register(&*s[0], "n", "http://n", &paths(0, 1), &nobody_alive)
        .await
        .unwrap();
    assert_eq!(membership::beat(&*s[0], "n").await.unwrap(), 1);
    assert_eq!(membership::beat(&*s[0], "n").await.unwrap(), 2);
    let seen = membership::read_nodes(&*s[1]).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1.as_ref().map(|h| h.counter), Some(2));
}

async fn deferred_deletions_drain_only_what_was_deleted(pg: bool) {
    let Some((_keep, s)) = stores(pg, 1).await else {
        return;
    };
    let s = &*s[0];
    for f in ["f1", "f2", "f3"] {
        deferred::defer(s, 1, f).await.unwrap();
    }
    deferred::defer_many(
        s,
        &[(2, "other".to_string()), (u16::MAX, "last".to_string())],
    )
    .await
    .unwrap();
    deferred::defer_many(s, &[]).await.unwrap();
    assert_eq!(
        deferred::pending(s, 1, 10).await.unwrap(),
        ["f1", "f2", "f3"]
    );
    let done = deferred::drain(s, 1, 10, &|f| f != "f2").await.unwrap();
    assert_eq!(done, 2);
    assert_eq!(deferred::pending(s, 1, 10).await.unwrap(), ["f2"]);
    assert_eq!(deferred::pending(s, 2, 10).await.unwrap(), ["other"]);
    assert_eq!(deferred::pending(s, u16::MAX, 10).await.unwrap(), ["last"]);
    assert_eq!(deferred::drain(s, 1, 10, &|_| true).await.unwrap(), 1);
    assert!(deferred::pending(s, 1, 10).await.unwrap().is_empty());
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(false).await })*
        }
        mod pg {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(true).await })*
        }
    };
}

on_both!(
    racing_registrations_get_distinct_ids_and_one_layout,
    a_pool_is_added_from_new_nodes_only,
    an_address_of_a_live_node_is_refused,
    heartbeats_count_up,
    deferred_deletions_drain_only_what_was_deleted,
);
