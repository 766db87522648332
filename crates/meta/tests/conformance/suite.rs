//! The backend-neutral conformance suite of [`TxnStore`]: every test here runs on every backend
//! (see `main.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rustfs_meta::keys::prefix_successor;
use rustfs_meta::{
    CommitError, MetaError, RetryPolicy, ScanStep, Table, Txn, TxnError, TxnStore, transact,
    transact_with,
};

pub type Store = Arc<dyn TxnStore>;

const T: Table = Table::Objects;

fn k(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

async fn put(s: &dyn TxnStore, t: Table, key: &str, value: &str) {
    let mut txn = s.begin().await.unwrap();
    txn.put(t, k(key), k(value));
    txn.commit().await.unwrap();
}

/// Every pair of `t`, from a fresh transaction.
async fn dump(s: &dyn TxnStore, t: Table) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut txn = s.begin().await.unwrap();
    let out = scan_all(&mut *txn, t, b"", b"").await;
    txn.commit().await.unwrap();
    out
}

async fn scan_all(
    txn: &mut dyn Txn,
    t: Table,
    start: &[u8],
    end: &[u8],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    txn.scan(t, start, end, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        ScanStep::Next
    })
    .await
    .unwrap();
    out
}

async fn keys(txn: &mut dyn Txn, t: Table, start: &[u8], end: &[u8]) -> Vec<String> {
    scan_all(txn, t, start, end)
        .await
        .into_iter()
        .map(|(k, _)| String::from_utf8(k).unwrap())
        .collect()
}

/// Every table (the cluster's included) keeps its own keys: a key written to each with the
/// table's name reads back from each, alone in its scan (but in `system`, where a backend may
/// keep its own keys).
pub async fn every_table_keeps_its_own_keys(s: Store) {
    let s = &*s;
    let mut t = s.begin().await.unwrap();
    for table in Table::EVERY {
        t.put(table, k("same"), k(table.name()));
    }
    t.commit().await.unwrap();
    for table in Table::EVERY {
        assert_eq!(
            s.read_key(table, b"same").await.unwrap(),
            Some(k(table.name()))
        );
        if table == Table::System {
            continue;
        }
        let mut t = s.begin().await.unwrap();
        assert_eq!(
            scan_all(&mut *t, table, b"", b"").await,
            vec![(k("same"), k(table.name()))],
            "{}",
            table.name()
        );
        t.commit().await.unwrap();
    }
}

/// `read_key` sees the latest committed value, nothing of an uncommitted transaction, and
/// absent keys as absent.
pub async fn read_key_sees_the_latest_commit(s: Store) {
    let s = &*s;
    assert_eq!(s.read_key(T, b"a").await.unwrap(), None);
    put(s, T, "a", "1").await;
    assert_eq!(s.read_key(T, b"a").await.unwrap(), Some(k("1")));
    assert_eq!(s.read_key(Table::Buckets, b"a").await.unwrap(), None);
    let mut t = s.begin().await.unwrap();
    t.put(T, k("a"), k("2"));
    t.put(T, k("b"), k("2"));
    assert_eq!(s.read_key(T, b"a").await.unwrap(), Some(k("1")));
    assert_eq!(s.read_key(T, b"b").await.unwrap(), None);
    t.commit().await.unwrap();
    assert_eq!(s.read_key(T, b"a").await.unwrap(), Some(k("2")));
    let mut t = s.begin().await.unwrap();
    t.delete(T, k("a"));
    t.commit().await.unwrap();
    assert_eq!(s.read_key(T, b"a").await.unwrap(), None);
}

pub async fn point_reads_writes_and_deletes(s: Store) {
    let s = &*s;
    let mut t = s.begin().await.unwrap();
    assert_eq!(t.get(T, b"a").await.unwrap(), None);
    t.put(T, k("a"), k("1"));
    t.put(Table::Buckets, k("a"), k("bucket"));
    t.put(T, k("b"), vec![]);
    t.commit().await.unwrap();

    let mut t = s.begin().await.unwrap();
    assert_eq!(t.get(T, b"a").await.unwrap(), Some(k("1")));
    assert_eq!(
        t.get(T, b"b").await.unwrap(),
        Some(vec![]),
        "an empty value exists"
    );
    assert_eq!(
        t.get(Table::Buckets, b"a").await.unwrap(),
        Some(k("bucket"))
    );
    assert_eq!(
        t.get(Table::Versions, b"a").await.unwrap(),
        None,
        "tables are apart"
    );
    assert_eq!(t.get(Table::Blobs, b"a").await.unwrap(), None);
    t.put(T, k("a"), k("2"));
    t.delete(T, k("b"));
    t.delete(T, k("never"));
    t.commit().await.unwrap();

    let mut t = s.begin().await.unwrap();
    assert_eq!(t.get(T, b"a").await.unwrap(), Some(k("2")));
    assert_eq!(t.get(T, b"b").await.unwrap(), None);
    // Binary keys and values, NUL and 0xFF included.
    t.put(T, vec![0, 255, 0], vec![255, 0]);
    t.commit().await.unwrap();
    let mut t = s.begin().await.unwrap();
    assert_eq!(t.get(T, &[0, 255, 0]).await.unwrap(), Some(vec![255, 0]));
    drop(t);

    // An abandoned transaction applies nothing.
    let mut t = s.begin().await.unwrap();
    t.get(T, b"a").await.unwrap();
    t.put(T, k("a"), k("3"));
    drop(t);
    let mut t = s.begin().await.unwrap();
    assert_eq!(t.get(T, b"a").await.unwrap(), Some(k("2")));
}

pub async fn reads_see_the_transactions_own_writes(s: Store) {
    let s = &*s;
    for key in ["a", "b", "c", "d"] {
        put(s, T, key, "old").await;
    }
    let mut t = s.begin().await.unwrap();
    t.put(T, k("b"), k("new"));
    t.put(T, k("bb"), k("new"));
    t.delete(T, k("c"));
    assert_eq!(t.get(T, b"b").await.unwrap(), Some(k("new")));
    assert_eq!(t.get(T, b"bb").await.unwrap(), Some(k("new")));
    assert_eq!(t.get(T, b"c").await.unwrap(), None);
    assert_eq!(
        scan_all(&mut *t, T, b"", b"").await,
        vec![
            (k("a"), k("old")),
            (k("b"), k("new")),
            (k("bb"), k("new")),
            (k("d"), k("old"))
        ]
    );
    // A range delete hides stored keys and earlier writes; a later write shows again.
    t.delete_range(T, k("a"), k("c"));
    assert_eq!(t.get(T, b"a").await.unwrap(), None);
    assert_eq!(t.get(T, b"bb").await.unwrap(), None);
    assert_eq!(keys(&mut *t, T, b"", b"").await, ["d"]);
    t.put(T, k("b"), k("again"));
    assert_eq!(t.get(T, b"b").await.unwrap(), Some(k("again")));
    assert_eq!(keys(&mut *t, T, b"", b"").await, ["b", "d"]);
    // Nothing is visible outside before commit.
    let mut other = s.begin().await.unwrap();
    assert_eq!(other.get(T, b"b").await.unwrap(), Some(k("old")));
    drop(other);
    t.commit().await.unwrap();
    assert_eq!(
        dump(s, T).await,
        vec![(k("b"), k("again")), (k("d"), k("old"))]
    );
}

pub async fn scans_seek_stop_and_respect_bounds(s: Store) {
    let s = &*s;
    let mut t = s.begin().await.unwrap();
    for key in ["a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"] {
        t.put(T, k(key), k(key));
    }
    // Many keys under one prefix, so a seek has to leave a page behind.
    for i in 0..100 {
        t.put(T, k(&format!("e/{i:03}")), vec![]);
    }
    t.put(T, k("f"), vec![]);
    t.commit().await.unwrap();

    let mut t = s.begin().await.unwrap();
    // Delimiter listing: seek past each common prefix.
    let mut seen = Vec::new();
    t.scan(T, b"", b"", &mut |key, _| {
        seen.push(String::from_utf8(key.to_vec()).unwrap());
        match key.iter().position(|&c| c == b'/') {
            Some(p) => ScanStep::Seek(prefix_successor(&key[..=p])),
            None => ScanStep::Next,
        }
    })
    .await
    .unwrap();
    assert_eq!(seen, ["a/1", "b", "c/1", "d", "e/000", "f"]);
    // Bounds: start inclusive, end exclusive.
    assert_eq!(keys(&mut *t, T, b"b", b"c/2").await, ["b", "c/1"]);
    assert!(keys(&mut *t, T, b"c", b"b").await.is_empty());
    assert!(keys(&mut *t, T, b"zz", b"").await.is_empty());
    assert_eq!(keys(&mut *t, T, b"e/099", b"").await, ["e/099", "f"]);
    // Stop.
    let mut seen = Vec::new();
    t.scan(T, b"", b"", &mut |key, _| {
        seen.push(key.to_vec());
        if seen.len() == 3 {
            ScanStep::Stop
        } else {
            ScanStep::Next
        }
    })
    .await
    .unwrap();
    assert_eq!(seen, [k("a/1"), k("a/2"), k("a/3")]);
    // A seek backwards is a step forward; a seek past the end ends the scan.
    let mut seen = Vec::new();
    t.scan(T, b"a", b"c", &mut |key, _| {
        seen.push(key.to_vec());
        if key == b"a/2" {
            ScanStep::Seek(k("a"))
        } else if key == b"a/3" {
            ScanStep::Seek(k("x"))
        } else {
            ScanStep::Next
        }
    })
    .await
    .unwrap();
    assert_eq!(seen, [k("a/1"), k("a/2"), k("a/3")]);
    // Values come with their keys; a long walk spans many pages.
    let all = scan_all(&mut *t, T, b"", b"").await;
    assert_eq!(all.len(), 108);
    assert_eq!(all[0], (k("a/1"), k("a/1")));
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
}

pub async fn range_deletes_remove_exactly_their_range(s: Store) {
    let s = &*s;
    let mut t = s.begin().await.unwrap();
    for key in ["a", "b", "b\0", "ba", "c", "d", "e"] {
        t.put(T, k(key), vec![1]);
    }
    t.put(Table::Versions, k("b"), vec![1]);
    t.commit().await.unwrap();
    let mut t = s.begin().await.unwrap();
    t.delete_range(T, k("b"), k("c"));
    t.commit().await.unwrap();
    let mut t = s.begin().await.unwrap();
    assert_eq!(keys(&mut *t, T, b"", b"").await, ["a", "c", "d", "e"]);
    assert_eq!(
        keys(&mut *t, Table::Versions, b"", b"").await,
        ["b"],
        "other tables kept"
    );
    drop(t);
    // Unbounded end; an empty range deletes nothing.
    let mut t = s.begin().await.unwrap();
    t.delete_range(T, k("d"), vec![]);
    t.delete_range(T, k("c"), k("a"));
    t.commit().await.unwrap();
    let mut t = s.begin().await.unwrap();
    assert_eq!(keys(&mut *t, T, b"", b"").await, ["a", "c"]);
    drop(t);
    // Everything.
    let mut t = s.begin().await.unwrap();
    t.delete_range(T, vec![], vec![]);
    t.commit().await.unwrap();
    assert!(dump(s, T).await.is_empty());
}

/// Two transactions read the same key and both write it: exactly one commits (no lost update).
pub async fn two_writers_of_a_read_key_one_commits(s: Store) {
    let s = &*s;
    put(s, T, "n", "0").await;
    let mut t1 = s.begin().await.unwrap();
    let mut t2 = s.begin().await.unwrap();
    assert_eq!(t1.get(T, b"n").await.unwrap(), Some(k("0")));
    assert_eq!(t2.get(T, b"n").await.unwrap(), Some(k("0")));
    t1.put(T, k("n"), k("1"));
    t1.put(T, k("t1"), k("x"));
    t2.put(T, k("n"), k("2"));
    t2.put(T, k("t2"), k("x"));
    t1.commit().await.unwrap();
    assert!(matches!(t2.commit().await, Err(CommitError::Conflict)));
    assert_eq!(
        dump(s, T).await,
        vec![(k("n"), k("1")), (k("t1"), k("x"))],
        "nothing of the conflicting transaction applied"
    );

    // A key read as absent counts too: two creators of one key.
    let mut t1 = s.begin().await.unwrap();
    let mut t2 = s.begin().await.unwrap();
    assert_eq!(t1.get(T, b"new").await.unwrap(), None);
    assert_eq!(t2.get(T, b"new").await.unwrap(), None);
    t1.put(T, k("new"), k("1"));
    t2.put(T, k("new"), k("2"));
    let (r1, r2) = tokio::join!(t1.commit(), t2.commit());
    assert!(
        matches!(
            (&r1, &r2),
            (Ok(()), Err(CommitError::Conflict)) | (Err(CommitError::Conflict), Ok(()))
        ),
        "{r1:?} {r2:?}"
    );
}

/// Write skew: each reads what the other writes. Serializable means one must fail.
pub async fn write_skew_is_refused(s: Store) {
    let s = &*s;
    put(s, T, "a", "1").await;
    put(s, T, "b", "1").await;
    let mut t1 = s.begin().await.unwrap();
    let mut t2 = s.begin().await.unwrap();
    assert!(t1.get(T, b"a").await.unwrap().is_some());
    assert!(t2.get(T, b"b").await.unwrap().is_some());
    t1.delete(T, k("b"));
    t2.delete(T, k("a"));
    let (r1, r2) = tokio::join!(t1.commit(), t2.commit());
    let ok = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{r1:?} {r2:?}");
    assert_eq!(dump(s, T).await.len(), 1);
}

/// Both scan a range, find it empty and insert a different key into it (e.g. "at most one
/// upload per key"): only one may commit, though neither wrote a key the other read.
pub async fn a_phantom_insert_into_a_scanned_range_conflicts(s: Store) {
    let s = &*s;
    put(s, T, "p", "outside").await;
    put(s, T, "r", "outside").await;
    let mut t1 = s.begin().await.unwrap();
    let mut t2 = s.begin().await.unwrap();
    assert!(keys(&mut *t1, T, b"q", b"r").await.is_empty());
    assert!(keys(&mut *t2, T, b"q", b"r").await.is_empty());
    t1.put(T, k("q1"), k("t1"));
    t2.put(T, k("q2"), k("t2"));
    let (r1, r2) = tokio::join!(t1.commit(), t2.commit());
    let ok = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{r1:?} {r2:?}");
    let mut t = s.begin().await.unwrap();
    assert_eq!(keys(&mut *t, T, b"q", b"r").await.len(), 1);
}

/// Commits arriving together (which a backend may fold into one group) keep their own
/// outcomes: a transaction whose read changed conflicts, alone; the others commit. Not run on
/// PostgreSQL without group commit: there the readers of absent neighbouring keys may abort
/// each other (SERIALIZABLE's predicate locks cover a whole index page).
pub async fn a_conflicting_commit_fails_alone(s: Store) {
    let s = &*s;
    put(s, T, "x", "0").await;
    put(s, T, "r/1", "0").await;
    // A: read-modify-write of x.
    let mut a = s.begin().await.unwrap();
    assert_eq!(a.get(T, b"x").await.unwrap(), Some(k("0")));
    a.put(T, k("x"), k("a"));
    // S: counts the range r/ and writes the count where C reads.
    let mut sc = s.begin().await.unwrap();
    assert_eq!(keys(&mut *sc, T, b"r/", b"r0").await, ["r/1"]);
    sc.put(T, k("count"), k("1"));
    // B0..B5: each creates its own key, after reading it absent.
    let mut bs = Vec::new();
    for i in 0..6 {
        let key = format!("b{i}");
        let mut b = s.begin().await.unwrap();
        assert_eq!(b.get(T, key.as_bytes()).await.unwrap(), None);
        b.put(T, k(&key), k("b"));
        bs.push(b);
    }
    // Meanwhile C changes x, inserts into S's range and reads what S writes.
    let mut c = s.begin().await.unwrap();
    assert_eq!(c.get(T, b"count").await.unwrap(), None);
    c.put(T, k("x"), k("c"));
    c.put(T, k("r/2"), k("c"));
    c.commit().await.unwrap();
    let all = [a, sc].into_iter().chain(bs).map(|t| t.commit());
    let results = futures::future::join_all(all).await;
    assert!(
        matches!(results[0], Err(CommitError::Conflict)),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(results[1], Err(CommitError::Conflict)),
        "{:?}",
        results[1]
    );
    for r in &results[2..] {
        assert!(r.is_ok(), "{results:?}");
    }
    let mut want = vec![(k("r/1"), k("0")), (k("r/2"), k("c")), (k("x"), k("c"))];
    want.extend((0..6).map(|i| (k(&format!("b{i}")), k("b"))));
    want.sort();
    assert_eq!(dump(s, T).await, want);
}

/// Reads inside one transaction are one consistent state, whatever commits meanwhile: a
/// backend reading from one snapshot sees the state the transaction began on; one that may
/// serve later reads from a later state (PostgreSQL's batched reads) refuses the commit
/// instead. Either way, a transaction that commits saw one state.
pub async fn reads_are_one_consistent_state(s: Store) {
    let s = &*s;
    put(s, T, "a", "1").await;
    put(s, T, "b", "1").await;
    let mut t1 = s.begin().await.unwrap();
    assert_eq!(t1.get(T, b"a").await.unwrap(), Some(k("1")));
    let mut t2 = s.begin().await.unwrap();
    t2.put(T, k("a"), k("2"));
    t2.put(T, k("b"), k("2"));
    t2.put(T, k("c"), k("2"));
    t2.commit().await.unwrap();
    let b = t1.get(T, b"b").await.unwrap();
    let listed = keys(&mut *t1, T, b"", b"").await;
    let consistent = b == Some(k("1")) && listed == ["a", "b"];
    match t1.commit().await {
        Ok(()) => assert!(
            consistent,
            "committed on a torn state: b {b:?}, keys {listed:?}"
        ),
        Err(CommitError::Conflict) => assert!(!consistent, "a consistent reader refused"),
        Err(e) => panic!("{e}"),
    }
    // The same with point reads only, and through `check_reads` (a body that fails).
    for check in [false, true] {
        put(s, T, "a", "1").await;
        put(s, T, "b", "1").await;
        let mut t1 = s.begin().await.unwrap();
        let a = t1.get(T, b"a").await.unwrap();
        put(s, T, "a", "2").await;
        put(s, T, "b", "2").await;
        let b = t1.get(T, b"b").await.unwrap();
        let consistent = a == b;
        let r = match check {
            false => t1.commit().await,
            true => t1.check_reads().await,
        };
        match r {
            Ok(()) => assert!(consistent, "torn: a {a:?}, b {b:?}"),
            Err(CommitError::Conflict) => assert!(!consistent, "a consistent reader refused"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// A read that begins after a commit was acknowledged sees it, while other writers and
/// readers keep the store busy (bounded: a fixed number of rounds).
pub async fn a_read_after_an_acknowledged_commit_sees_it(s: Store) {
    use std::sync::atomic::AtomicU64;
    const WRITERS: u64 = 4;
    const ROUNDS: u64 = 40;
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (s, acked) = (s.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("raw{w}").into_bytes();
            for n in 1..=ROUNDS {
                let mut t = s.begin().await.unwrap();
                t.put(T, key.clone(), n.to_le_bytes().to_vec());
                t.commit().await.unwrap();
                acked[w as usize].store(n, Ordering::SeqCst);
                // The writer's own read, right after its commit.
                let v = s.read_key(T, &key).await.unwrap().unwrap();
                assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), n);
            }
        }));
    }
    for r in 0..4u64 {
        let (s, acked) = (s.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..ROUNDS * 2 {
                let w = ((r + i) % WRITERS) as usize;
                let floor = acked[w].load(Ordering::SeqCst);
                let key = format!("raw{w}").into_bytes();
                let seen = match i % 2 {
                    0 => s.read_key(T, &key).await.unwrap(),
                    _ => s
                        .read_keys(&[(Table::Buckets, b"none"), (T, &key)])
                        .await
                        .unwrap()
                        .pop()
                        .flatten(),
                };
                let seen = seen.map_or(0, |v| u64::from_le_bytes(v.try_into().unwrap()));
                assert!(seen >= floor, "read {seen} after {floor} was acknowledged");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Writers move units between two keys (in two tables) so their sum stays the same; readers
/// read both in one transaction, with `get`, with `get_many` and in a body that fails when it
/// sees a wrong sum: whatever `transact` hands back, committed or failed, saw the right sum.
pub async fn readers_never_see_a_torn_move(s: Store) {
    const TOTAL: i64 = 100;
    const MOVES: usize = 60;
    const READS: usize = 60;
    let a: (Table, &[u8]) = (T, b"move-a");
    let b: (Table, &[u8]) = (Table::Versions, b"move-b");
    let mut t = s.begin().await.unwrap();
    t.put(a.0, a.1.to_vec(), TOTAL.to_le_bytes().to_vec());
    t.put(b.0, b.1.to_vec(), 0i64.to_le_bytes().to_vec());
    t.commit().await.unwrap();
    let num = |v: Option<Vec<u8>>| i64::from_le_bytes(v.unwrap().try_into().unwrap());
    let policy = RetryPolicy {
        attempts: 1000,
        ..RetryPolicy::default()
    };
    let mut tasks = Vec::new();
    for w in 0..2i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..MOVES {
                let delta = if (i as i64 + w) % 2 == 0 { 7 } else { -7 };
                transact_with(&*s, policy, |t| {
                    Box::pin(async move {
                        let x = num(t.get(a.0, a.1).await?);
                        let y = num(t.get(b.0, b.1).await?);
                        t.put(a.0, a.1.to_vec(), (x - delta).to_le_bytes().to_vec());
                        t.put(b.0, b.1.to_vec(), (y + delta).to_le_bytes().to_vec());
                        Ok::<_, MetaError>(())
                    })
                })
                .await
                .unwrap();
            }
        }));
    }
    for r in 0..3usize {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..READS {
                let sum = transact_with(&*s, policy, |t| {
                    Box::pin(async move {
                        let (x, y) = match (r + i) % 3 {
                            0 => (num(t.get(a.0, a.1).await?), num(t.get(b.0, b.1).await?)),
                            1 => {
                                let mut v = t.get_many(&[a, b]).await?;
                                let y = num(v.pop().flatten());
                                (num(v.pop().flatten()), y)
                            }
                            _ => {
                                let x = num(t.get(a.0, a.1).await?);
                                tokio::task::yield_now().await;
                                let y = num(t.get(b.0, b.1).await?);
                                if x + y != TOTAL {
                                    return Err(MetaError::Corrupt(format!("torn: {x} + {y}")));
                                }
                                (x, y)
                            }
                        };
                        Ok::<_, MetaError>(x + y)
                    })
                })
                .await
                .unwrap();
                assert_eq!(sum, TOTAL);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Many writers increment shared counters through `transact`; no increment is lost.
pub async fn concurrent_counters_reach_the_exact_total(s: Store) {
    const TASKS: u64 = 8;
    const EACH: u64 = 20;
    let policy = RetryPolicy {
        attempts: 200,
        ..RetryPolicy::default()
    };
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let key = format!("counter{}", (task + i) % 2).into_bytes();
                let key = &key;
                transact_with(&*s, policy, |t| {
                    Box::pin(async move {
                        let n = match t.get(T, key).await? {
                            Some(v) => u64::from_le_bytes(v.try_into().unwrap()),
                            None => 0,
                        };
                        t.put(T, key.clone(), (n + 1).to_le_bytes().to_vec());
                        Ok::<_, MetaError>(())
                    })
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total: u64 = dump(&*s, T)
        .await
        .into_iter()
        .map(|(_, v)| u64::from_le_bytes(v.try_into().unwrap()))
        .sum();
    assert_eq!(total, TASKS * EACH);
}

/// `transact` gives the body's own error back without committing, and retries only conflicts.
pub async fn transact_commits_once_and_passes_errors_through(s: Store) {
    let s = &*s;
    let runs = AtomicU32::new(0);
    let r: Result<(), TxnError<MetaError>> = transact(s, |t| {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            t.put(T, k("x"), k("1"));
            Err(MetaError::Corrupt("body refuses".into()))
        })
    })
    .await;
    assert!(matches!(r, Err(TxnError::Aborted(MetaError::Corrupt(_)))));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(dump(s, T).await.is_empty());

    let runs = AtomicU32::new(0);
    let v = transact(s, |t| {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if run < 3 {
                return Err(MetaError::TxnConflict);
            }
            t.put(T, k("x"), k("1"));
            Ok(7)
        })
    })
    .await
    .unwrap();
    assert_eq!((v, runs.load(Ordering::SeqCst)), (7, 3));
    assert_eq!(dump(s, T).await, vec![(k("x"), k("1"))]);
}

pub async fn order_ids_are_unique_and_increasing(s: Store) {
    let mut all = Vec::new();
    for _ in 0..5 {
        let ids = s.order_ids(10).await.unwrap();
        assert_eq!(ids.len(), 10);
        all.extend(ids);
    }
    assert!(all.iter().all(|i| {
        i.len() == 32
            && i.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }));
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    // Concurrent draws never collide.
    let draws: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.order_ids(20).await.unwrap() })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for d in draws {
        for id in d.await.unwrap() {
            assert!(ids.insert(id));
        }
    }
    assert!(s.order_ids(0).await.unwrap().is_empty());
}

/// An abandoned transaction (its body failed after reading) leaves the store usable: more of
/// them than a connection pool holds, then normal work.
pub async fn abandoned_transactions_leave_the_store_usable(s: Store) {
    let s = &*s;
    for i in 0..40 {
        let mut t = s.begin().await.unwrap();
        t.get(T, b"a").await.unwrap();
        t.put(T, k(&format!("k{i}")), vec![]);
        drop(t);
    }
    put(s, T, "a", "1").await;
    assert_eq!(dump(s, T).await, vec![(k("a"), k("1"))]);
}

// ---------- model-based test ----------

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn key(&mut self) -> Vec<u8> {
        let len = 1 + self.below(2) as usize;
        (0..len)
            .map(|_| b"abcdef"[self.below(6) as usize])
            .collect()
    }
    fn table(&mut self) -> Table {
        if self.below(3) == 0 {
            Table::Versions
        } else {
            Table::Objects
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Walk {
    All,
    StopAfter(usize),
    /// Seek past the first byte's prefix after each key (delimiter listing).
    SkipPrefix,
}

#[derive(Debug, Clone)]
enum Op {
    Get(Table, Vec<u8>),
    Scan(Table, Vec<u8>, Vec<u8>, Walk),
    Put(Table, Vec<u8>, Vec<u8>),
    Delete(Table, Vec<u8>),
    DeleteRange(Table, Vec<u8>, Vec<u8>),
}

fn random_op(r: &mut Rng) -> Op {
    let t = r.table();
    match r.below(10) {
        0 | 1 => Op::Get(t, r.key()),
        2 | 3 => {
            let start = if r.below(3) == 0 { vec![] } else { r.key() };
            let end = if r.below(3) == 0 { vec![] } else { r.key() };
            let walk = match r.below(3) {
                0 => Walk::All,
                1 => Walk::StopAfter(1 + r.below(4) as usize),
                _ => Walk::SkipPrefix,
            };
            Op::Scan(t, start, end, walk)
        }
        4..=6 => Op::Put(
            t,
            r.key(),
            r.next().to_le_bytes()[..r.below(9) as usize].to_vec(),
        ),
        7 | 8 => Op::Delete(t, r.key()),
        _ => {
            let a = r.key();
            let b = if r.below(4) == 0 { vec![] } else { r.key() };
            Op::DeleteRange(t, a, b)
        }
    }
}

fn step(walk: Walk, seen: usize, key: &[u8]) -> ScanStep {
    match walk {
        Walk::All => ScanStep::Next,
        Walk::StopAfter(n) if seen >= n => ScanStep::Stop,
        Walk::StopAfter(_) => ScanStep::Next,
        Walk::SkipPrefix => ScanStep::Seek(prefix_successor(&key[..1])),
    }
}

type Model = BTreeMap<Table, BTreeMap<Vec<u8>, Vec<u8>>>;
type Seen = Option<Vec<(Vec<u8>, Vec<u8>)>>;

fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    key >= start && (end.is_empty() || key < end)
}

/// Runs `script` on `model`: what each read returns, and the state after.
fn replay(model: &Model, script: &[Op]) -> (Vec<Seen>, Model) {
    let mut m = model.clone();
    let mut seen = Vec::new();
    for op in script {
        match op {
            Op::Get(t, key) => {
                let v = m.get(t).and_then(|x| x.get(key)).cloned();
                seen.push(Some(v.map(|v| (key.clone(), v)).into_iter().collect()));
            }
            Op::Scan(t, start, end, walk) => {
                let mut out = Vec::new();
                let mut below: Option<Vec<u8>> = None;
                if let Some(x) = m.get(t) {
                    for (key, v) in x.range(start.clone()..) {
                        if !end.is_empty() && key >= end {
                            break;
                        }
                        if below.as_ref().is_some_and(|b| key < b) {
                            continue;
                        }
                        out.push((key.clone(), v.clone()));
                        match step(*walk, out.len(), key) {
                            ScanStep::Next => {}
                            ScanStep::Stop => break,
                            ScanStep::Seek(to) => {
                                if to.as_slice() > key.as_slice() {
                                    if !end.is_empty() && to >= *end {
                                        break;
                                    }
                                    below = Some(to);
                                }
                            }
                        }
                    }
                }
                seen.push(Some(out));
            }
            Op::Put(t, key, v) => {
                m.entry(*t).or_default().insert(key.clone(), v.clone());
                seen.push(None);
            }
            Op::Delete(t, key) => {
                m.entry(*t).or_default().remove(key);
                seen.push(None);
            }
            Op::DeleteRange(t, start, end) => {
                m.entry(*t)
                    .or_default()
                    .retain(|key, _| !in_range(key, start, end));
                seen.push(None);
            }
        }
    }
    (seen, m)
}

/// Runs one op on a real transaction.
async fn execute(txn: &mut dyn Txn, op: &Op) -> Result<Seen, MetaError> {
    Ok(match op {
        Op::Get(t, key) => {
            let v = txn.get(*t, key).await?;
            Some(v.map(|v| (key.clone(), v)).into_iter().collect())
        }
        Op::Scan(t, start, end, walk) => {
            let mut out = Vec::new();
            let walk = *walk;
            txn.scan(*t, start, end, &mut |key, v| {
                out.push((key.to_vec(), v.to_vec()));
                step(walk, out.len(), key)
            })
            .await?;
            Some(out)
        }
        Op::Put(t, key, v) => {
            txn.put(*t, key.clone(), v.clone());
            None
        }
        Op::Delete(t, key) => {
            txn.delete(*t, key.clone());
            None
        }
        Op::DeleteRange(t, start, end) => {
            txn.delete_range(*t, start.clone(), end.clone());
            None
        }
    })
}

async fn store_state(s: &dyn TxnStore) -> Model {
    let mut m = Model::new();
    for t in [Table::Objects, Table::Versions] {
        let x: BTreeMap<_, _> = dump(s, t).await.into_iter().collect();
        if !x.is_empty() {
            m.insert(t, x);
        }
    }
    m
}

fn normalized(mut m: Model) -> Model {
    m.retain(|_, x| !x.is_empty());
    m
}

fn script(r: &mut Rng) -> Vec<Op> {
    (0..1 + r.below(8)).map(|_| random_op(r)).collect()
}

/// Random transactions, one at a time and then in interleaved pairs, against a `BTreeMap`
/// model: every read answers what the model says, every commit leaves the model's state, and
/// when two overlap the committed ones match some serial order.
pub async fn random_transactions_match_a_model(s: Store) {
    let s = &*s;
    let mut r = Rng(0x5eed_1234);
    let mut model = Model::new();
    for round in 0..120 {
        let sc = script(&mut r);
        let mut txn = s.begin().await.unwrap();
        let mut seen = Vec::new();
        for op in &sc {
            seen.push(execute(&mut *txn, op).await.unwrap());
        }
        let (want, after) = replay(&model, &sc);
        assert_eq!(seen, want, "round {round}: reads differ for {sc:?}");
        txn.commit().await.unwrap();
        model = normalized(after);
        assert_eq!(
            store_state(s).await,
            model,
            "round {round}: state after {sc:?}"
        );
    }
    let mut commits = 0;
    for round in 0..60 {
        let scripts = [script(&mut r), script(&mut r)];
        let mut txns = [s.begin().await.unwrap(), s.begin().await.unwrap()];
        let mut seen: [Vec<Seen>; 2] = [Vec::new(), Vec::new()];
        let mut doomed = [false, false];
        let mut next = [0usize, 0usize];
        while next[0] < scripts[0].len() || next[1] < scripts[1].len() {
            let i = if next[0] >= scripts[0].len() {
                1
            } else if next[1] >= scripts[1].len() {
                0
            } else {
                r.below(2) as usize
            };
            if !doomed[i] {
                match execute(&mut *txns[i], &scripts[i][next[i]]).await {
                    Ok(v) => seen[i].push(v),
                    Err(MetaError::TxnConflict) => doomed[i] = true,
                    Err(e) => panic!("round {round}: {e}"),
                }
            }
            next[i] += 1;
        }
        let [t0, t1] = txns;
        let (r0, r1) = tokio::join!(t0.commit(), t1.commit());
        let mut done = Vec::new();
        for (i, res) in [r0, r1].into_iter().enumerate() {
            match res {
                Ok(()) => {
                    assert!(!doomed[i], "round {round}: a doomed transaction committed");
                    done.push(i);
                }
                Err(CommitError::Conflict) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        commits += done.len();
        let state = store_state(s).await;
        let orders: Vec<Vec<usize>> = match done.as_slice() {
            [a, b] => vec![vec![*a, *b], vec![*b, *a]],
            one => vec![one.to_vec()],
        };
        let serial = orders.iter().find_map(|order| {
            let mut m = model.clone();
            for &i in order {
                let (want, after) = replay(&m, &scripts[i]);
                if want != seen[i] {
                    return None;
                }
                m = normalized(after);
            }
            (m == state).then_some(m)
        });
        model = serial.unwrap_or_else(|| {
            panic!("round {round}: no serial order of {done:?} explains the outcome of {scripts:?}")
        });
    }
    assert!(
        commits >= 60,
        "only {commits} of 120 overlapping transactions committed"
    );
}
