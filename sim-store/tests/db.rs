//! The database: group commit with per-write rollback, durability across reopen (also after
//! a "crash" that skips every destructor), migrations and reads.

use std::sync::mpsc as std_mpsc;

use sim_store::{Db, StoreError};

const ITEMS: &str = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL);";

fn count(db: &Db) -> impl std::future::Future<Output = Result<i64, StoreError>> + '_ {
    db.read(|c| c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0)))
}

/// A write that holds the writer thread until `release` is sent, then runs `sql` (if any):
/// everything written meanwhile queues up behind it. Returns once the writer holds it.
async fn hold_writer(
    db: &Db,
    sql: Option<&'static str>,
) -> (
    std_mpsc::Sender<()>,
    tokio::task::JoinHandle<Result<(), StoreError>>,
) {
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let (release, held) = std_mpsc::channel::<()>();
    let blocker = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |tx| {
                let _ = started_tx.send(());
                let _ = held.recv();
                match sql {
                    Some(sql) => tx.execute(sql, []).map(|_| ()),
                    None => Ok(()),
                }
            })
            .await
        }
    });
    started.await.unwrap();
    (release, blocker)
}

/// Waits (bounded, not a timing assertion) until no writer thread runs below `dir`.
async fn writers_gone(dir: &std::path::Path) {
    for _ in 0..500 {
        if sim_store::writers_open_under(dir) == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn two_hundred_concurrent_writes_share_one_commit_and_one_failure_stays_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.db"), &[ITEMS]).unwrap();

    // Hold the writer thread inside a first write until all 200 are queued, so they are
    // certain to land in the next batch.
    let (release, blocker) = hold_writer(&db, None).await;

    const FAILING: i64 = 137;
    let mut writes = Vec::new();
    for i in 0..200_i64 {
        let db = db.clone();
        writes.push(tokio::spawn(async move {
            db.write(move |tx| {
                tx.execute("INSERT INTO items (id, v) VALUES (?1, 'x')", [i])?;
                if i == FAILING {
                    // Its own insert succeeded; this duplicate fails the closure.
                    tx.execute("INSERT INTO items (id, v) VALUES (?1, 'dup')", [i])?;
                }
                Ok(i)
            })
            .await
        }));
    }
    while db.stats().queued < 200 {
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    blocker.await.unwrap().unwrap();

    for (i, w) in writes.into_iter().enumerate() {
        let result = w.await.unwrap();
        if i as i64 == FAILING {
            assert!(
                matches!(result, Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(ref e, _)))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation),
                "the failing write gets its own error: {result:?}"
            );
        } else {
            assert_eq!(result.unwrap(), i as i64);
        }
    }
    assert_eq!(count(&db).await.unwrap(), 199);
    let failed_row: i64 = db
        .read(|c| {
            c.query_row("SELECT COUNT(*) FROM items WHERE id = ?1", [FAILING], |r| {
                r.get(0)
            })
        })
        .await
        .unwrap();
    assert_eq!(
        failed_row, 0,
        "the failing write's own insert is rolled back"
    );

    let stats = db.stats();
    assert_eq!(stats.writes, 201);
    assert_eq!(
        stats.transactions, 2,
        "the blocker, then one group commit: {stats:?}"
    );
    assert_eq!(stats.queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_on_two_threads_all_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.db"), &[ITEMS]).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200_i64 {
        let db = db.clone();
        set.spawn(async move {
            db.write(move |tx| tx.execute("INSERT INTO items (id, v) VALUES (?1, 'x')", [i]))
                .await
        });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 1);
    }
    assert_eq!(count(&db).await.unwrap(), 200);
    assert!(db.stats().transactions <= 200);
}

#[tokio::test]
async fn a_panicking_closure_is_rolled_back_and_the_writer_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.db"), &[ITEMS]).unwrap();
    let result = db
        .write(|tx| -> rusqlite::Result<()> {
            tx.execute("INSERT INTO items (id, v) VALUES (1, 'x')", [])?;
            panic!("boom");
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::Panicked(ref t)) if t == "boom"),
        "{result:?}"
    );
    db.write(|tx| tx.execute("INSERT INTO items (id, v) VALUES (2, 'y')", []))
        .await
        .unwrap();
    let ids: Vec<i64> = db
        .read(|c| {
            let mut s = c.prepare("SELECT id FROM items ORDER BY id")?;
            let ids = s.query_map([], |r| r.get(0))?.collect();
            ids
        })
        .await
        .unwrap();
    assert_eq!(ids, vec![2]);

    let read = db
        .read(|_c| -> rusqlite::Result<()> { panic!("read boom") })
        .await;
    assert!(matches!(read, Err(StoreError::Panicked(_))), "{read:?}");
    assert_eq!(count(&db).await.unwrap(), 1);
}

#[tokio::test]
async fn committed_writes_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("s.db");
    {
        let db = Db::open(&path, &[ITEMS]).unwrap();
        for i in 0..10_i64 {
            db.write(move |tx| tx.execute("INSERT INTO items (id, v) VALUES (?1, 'x')", [i]))
                .await
                .unwrap();
        }
    }
    let db = Db::open(&path, &[ITEMS]).unwrap();
    assert_eq!(count(&db).await.unwrap(), 10);
}

#[tokio::test]
async fn committed_writes_survive_a_crash_without_any_destructor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let db = Db::open(&path, &[ITEMS]).unwrap();
    db.write(|tx| tx.execute("INSERT INTO items (id, v) VALUES (1, 'before')", []))
        .await
        .unwrap();
    // No close, no checkpoint, no destructor: the WAL is all there is.
    std::mem::forget(db);

    let db = Db::open(&path, &[ITEMS]).unwrap();
    db.write(|tx| tx.execute("INSERT INTO items (id, v) VALUES (2, 'after')", []))
        .await
        .unwrap();
    assert_eq!(count(&db).await.unwrap(), 2);
}

#[tokio::test]
async fn migrations_run_in_order_on_every_open_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let more = "CREATE TABLE IF NOT EXISTS tags (item INTEGER NOT NULL REFERENCES items (id));";
    let db = Db::open(&path, &[ITEMS, more]).unwrap();
    // foreign_keys is on for the writer.
    let orphan = db
        .write(|tx| tx.execute("INSERT INTO tags (item) VALUES (42)", []))
        .await;
    assert!(matches!(orphan, Err(StoreError::Sqlite(_))), "{orphan:?}");
    drop(db);

    match Db::open(&path, &[ITEMS, more, "CREATE TABLE broken ("]) {
        Err(StoreError::Migration { index: 2, .. }) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a broken migration must fail open"),
    }
}

#[tokio::test]
async fn reads_see_every_returned_write_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("s.db"), &[ITEMS]).unwrap();
    for i in 0..20_i64 {
        db.write(move |tx| tx.execute("INSERT INTO items (id, v) VALUES (?1, 'x')", [i]))
            .await
            .unwrap();
        assert_eq!(count(&db).await.unwrap(), i + 1);
    }
    let attempt = db
        .read(|c| c.execute("INSERT INTO items (id, v) VALUES (99, 'x')", []))
        .await;
    assert!(matches!(attempt, Err(StoreError::Sqlite(_))), "{attempt:?}");
}

#[tokio::test]
async fn open_reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    // A directory is not a database file.
    assert!(Db::open(dir.path(), &[ITEMS]).is_err());
}

/// A crashed program's writer thread finishes what was queued and then says it is gone, so a
/// restart can wait for it instead of contending for the write lock.
#[tokio::test]
async fn the_writer_registry_counts_open_writers_until_the_last_clone_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("p/s.db"), &[ITEMS]).unwrap();
    let clone = db.clone();
    assert_eq!(sim_store::writers_open_under(dir.path()), 1);
    assert_eq!(sim_store::writers_open_under(other.path()), 0);
    clone
        .write(|tx| {
            tx.execute("INSERT INTO items (v) VALUES ('x')", [])
                .map(|_| ())
        })
        .await
        .unwrap();
    drop(db);
    assert_eq!(
        sim_store::writers_open_under(dir.path()),
        1,
        "a clone still holds it"
    );
    drop(clone);
    // The thread ends asynchronously.
    writers_gone(dir.path()).await;
    assert_eq!(sim_store::writers_open_under(dir.path()), 0);
    let again = Db::open(&dir.path().join("p/s.db"), &[ITEMS]).unwrap();
    assert_eq!(count(&again).await.unwrap(), 1);
}

/// A killed program loses the writes it had queued but not committed: an abandoned writer
/// answers them `Closed`, commits nothing more and ends; what was committed stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_writer_drops_queued_writes_like_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k/s.db");
    let db = Db::open(&path, &[ITEMS]).unwrap();
    db.write(|tx| {
        tx.execute("INSERT INTO items (v) VALUES ('committed')", [])
            .map(|_| ())
    })
    .await
    .unwrap();

    // Hold the writer inside one write while five more queue up behind it.
    let (release, blocker) =
        hold_writer(&db, Some("INSERT INTO items (v) VALUES ('in flight')")).await;
    let queued: Vec<_> = (0..5)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |tx| {
                    tx.execute("INSERT INTO items (v) VALUES (?1)", [format!("lost {i}")])
                        .map(|_| ())
                })
                .await
            })
        })
        .collect();
    // Let them reach the queue (bounded wait on the writer's own count).
    for _ in 0..500 {
        if db.stats().queued >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(sim_store::abandon_writers_under(dir.path()), 1);
    release.send(()).unwrap();
    // The write already running finishes with its transaction.
    blocker.await.unwrap().unwrap();
    for q in queued {
        assert!(matches!(q.await.unwrap(), Err(StoreError::Closed)));
    }
    for _ in 0..500 {
        if sim_store::writers_open_under(dir.path()) == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        sim_store::writers_open_under(dir.path()),
        0,
        "the thread ended"
    );
    drop(db);
    let again = Db::open(&path, &[ITEMS]).unwrap();
    assert_eq!(
        count(&again).await.unwrap(),
        2,
        "committed and in-flight rows only"
    );
}
