//! The outbox: retries with backoff on a manual clock, no double delivery under concurrency,
//! and delivery of what a crashed process left behind.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_store::{
    Attempt, Backoff, Clock, Db, NewOutboxItem, Outbox, OutboxEvent, OUTBOX_MIGRATION,
};
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};

const T0: OffsetDateTime = datetime!(2025-03-01 08:00:00 UTC);

fn item(key: &str) -> NewOutboxItem {
    NewOutboxItem {
        target: "vendor-a".to_string(),
        key: key.to_string(),
        payload: format!("<msg key=\"{key}\"/>"),
        meta: r#"{"soap_action":"x"}"#.to_string(),
    }
}

async fn next(events: &mut broadcast::Receiver<OutboxEvent>) -> OutboxEvent {
    events.recv().await.expect("outbox event")
}

/// Starts `outbox.run` on its own task; send on the returned sender (or drop it) to stop.
fn start<F, Fut>(
    outbox: &Outbox,
    concurrency: usize,
    deliver: F,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>)
where
    F: Fn(sim_store::OutboxItem) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(outbox.clone().run(
        Backoff::default(),
        concurrency,
        deliver,
        async {
            let _ = stopped.await;
        },
    ));
    (stop, worker)
}

#[tokio::test]
async fn failed_deliveries_back_off_and_success_delivers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let outbox = Outbox::new(
        Db::open(&dir.path().join("o.db"), &[OUTBOX_MIGRATION]).unwrap(),
        clock.clone(),
    );
    let mut events = outbox.events();

    let calls: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let deliver = {
        let calls = Arc::clone(&calls);
        move |it: sim_store::OutboxItem| {
            let n = {
                let mut calls = calls.lock().unwrap();
                let n = calls.entry(it.key.clone()).or_default();
                *n += 1;
                *n
            };
            async move {
                if it.key == "flaky" && n <= 2 {
                    Err(format!("connection refused #{n}"))
                } else {
                    Ok(())
                }
            }
        }
    };
    let (stop, worker) = start(&outbox, 1, deliver);
    let id = outbox.enqueue(item("flaky")).await.unwrap();

    // First attempt at T0 fails: retry after 100 ms.
    let e = next(&mut events).await;
    assert_eq!((e.id, e.attempt), (id, 1));
    let first_due = T0 + Duration::from_millis(100);
    assert_eq!(
        e.outcome,
        Attempt::Failed {
            error: "connection refused #1".into(),
            next_due: first_due
        }
    );
    let listed = outbox.list(0, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attempts, 1);
    assert_eq!(listed[0].due_at, first_due);
    assert_eq!(listed[0].created_at, T0);
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("connection refused #1")
    );

    // Not yet due: half the backoff changes nothing.
    clock.advance(Duration::from_millis(50));
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(events.try_recv().is_err(), "nothing happens before due_at");

    // Second attempt at T0+100ms fails: retry 200 ms later.
    clock.advance(Duration::from_millis(50));
    let e = next(&mut events).await;
    let second_due = first_due + Duration::from_millis(200);
    assert_eq!(e.attempt, 2);
    assert_eq!(
        e.outcome,
        Attempt::Failed {
            error: "connection refused #2".into(),
            next_due: second_due
        }
    );
    let listed = outbox.list(0, 10).await.unwrap();
    assert_eq!((listed[0].attempts, listed[0].due_at), (2, second_due));

    // Third attempt succeeds and the item is gone.
    clock.advance(Duration::from_millis(200));
    let e = next(&mut events).await;
    assert_eq!((e.id, e.attempt, e.outcome), (id, 3, Attempt::Delivered));
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // Much later, another item goes through; the delivered one is not sent again.
    clock.advance(Duration::from_secs(3600));
    outbox.enqueue(item("later")).await.unwrap();
    let e = next(&mut events).await;
    assert_eq!((e.key.as_str(), e.outcome), ("later", Attempt::Delivered));
    assert_eq!(calls.lock().unwrap().get("flaky"), Some(&3));

    stop.send(()).unwrap();
    worker.await.unwrap();
}

#[test]
fn backoff_grows_by_its_factor_up_to_its_max_and_never_panics() {
    let b = Backoff::default();
    let ms = |n| b.delay(n).as_millis();
    assert_eq!(
        [
            ms(1),
            ms(2),
            ms(3),
            ms(4),
            ms(7),
            ms(8),
            ms(100),
            ms(u32::MAX)
        ],
        [100, 200, 400, 800, 6400, 10_000, 10_000, 10_000]
    );
    let odd = Backoff {
        initial: Duration::from_secs(1),
        factor: f64::NAN,
        max: Duration::from_secs(5),
        jitter: 0.0,
    };
    assert_eq!(odd.delay(3), Duration::from_secs(5));
    let negative = Backoff {
        initial: Duration::from_secs(1),
        factor: -2.0,
        max: Duration::from_secs(5),
        jitter: 0.0,
    };
    assert_eq!(negative.delay(2), Duration::from_secs(5));
}

#[derive(Default)]
struct Ledger {
    /// Keys being delivered right now.
    in_flight: HashSet<String>,
    /// Most deliveries seen at once.
    max_in_flight: usize,
    /// A key that was delivered while already in flight.
    overlaps: Vec<String>,
    /// Deliveries per key.
    calls: HashMap<String, u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_items_with_concurrency_four_are_never_delivered_twice_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let outbox = Outbox::new(
        Db::open(&dir.path().join("o.db"), &[OUTBOX_MIGRATION]).unwrap(),
        clock.clone(),
    );
    let mut events = outbox.events();
    for n in 0..100 {
        outbox.enqueue(item(&format!("k{n:03}"))).await.unwrap();
    }

    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    // The first four deliveries wait for each other: the worker must run four at once.
    let first_four = Arc::new(tokio::sync::Barrier::new(4));
    let deliver = {
        let ledger = Arc::clone(&ledger);
        move |it: sim_store::OutboxItem| {
            let ledger = Arc::clone(&ledger);
            let first_four = Arc::clone(&first_four);
            async move {
                let call = {
                    let mut l = ledger.lock().unwrap();
                    if !l.in_flight.insert(it.key.clone()) {
                        l.overlaps.push(it.key.clone());
                    }
                    l.max_in_flight = l.max_in_flight.max(l.in_flight.len());
                    let c = l.calls.entry(it.key.clone()).or_default();
                    *c += 1;
                    *c
                };
                if it.key.as_str() < "k004" && call == 1 {
                    first_four.wait().await;
                }
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                ledger.lock().unwrap().in_flight.remove(&it.key);
                // Even keys fail their first attempt.
                let n: u32 = it.key[1..].parse().unwrap();
                if n.is_multiple_of(2) && call == 1 {
                    Err("busy".to_string())
                } else {
                    Ok(())
                }
            }
        }
    };
    let (stop, worker) = start(&outbox, 4, deliver);

    // First attempts: 50 delivered, 50 failed; no retry is due before the clock moves.
    let (mut delivered, mut failed) = (0, 0);
    for _ in 0..100 {
        match next(&mut events).await.outcome {
            Attempt::Delivered => delivered += 1,
            Attempt::Failed { .. } => failed += 1,
        }
    }
    assert_eq!((delivered, failed), (50, 50));
    assert_eq!(outbox.pending().await.unwrap(), 50);

    clock.advance(Duration::from_secs(1));
    for _ in 0..50 {
        let e = next(&mut events).await;
        assert_eq!((e.attempt, e.outcome), (2, Attempt::Delivered));
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);
    stop.send(()).unwrap();
    worker.await.unwrap();

    let l = ledger.lock().unwrap();
    assert!(
        l.overlaps.is_empty(),
        "delivered twice at once: {:?}",
        l.overlaps
    );
    assert_eq!(l.max_in_flight, 4);
    assert_eq!(l.calls.len(), 100);
    for (key, calls) in &l.calls {
        let n: u32 = key[1..].parse().unwrap();
        assert_eq!(*calls, if n.is_multiple_of(2) { 2 } else { 1 }, "{key}");
    }
}

#[tokio::test]
async fn items_left_by_a_crashed_process_are_delivered_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.db");

    // First life: five items, every delivery fails once, then the process "crashes".
    {
        let clock = Clock::manual(T0);
        let db = Db::open(&path, &[OUTBOX_MIGRATION]).unwrap();
        let outbox = Outbox::new(db.clone(), clock);
        let mut events = outbox.events();
        for n in 0..5 {
            outbox.enqueue(item(&format!("k{n}"))).await.unwrap();
        }
        // Also enqueued inside a caller's transaction that rolls back: must not exist.
        let rolled_back = db
            .write(move |tx| {
                Outbox::enqueue_in(tx, &item("ghost"), T0)?;
                tx.execute("SELECT no_such_function()", [])
            })
            .await;
        assert!(rolled_back.is_err());

        let (stop, worker) = start(&outbox, 2, |_it| async { Err("peer down".to_string()) });
        for _ in 0..5 {
            assert!(matches!(
                next(&mut events).await.outcome,
                Attempt::Failed { .. }
            ));
        }
        // A crash: the worker task is killed and nothing is closed or flushed.
        worker.abort();
        let _ = worker.await;
        std::mem::forget(stop);
        std::mem::forget(outbox);
        std::mem::forget(db);
    }

    // Second life: same file, a new process's clock, a peer that is back.
    let clock = Clock::manual(T0 + Duration::from_secs(60));
    let outbox = Outbox::new(Db::open(&path, &[OUTBOX_MIGRATION]).unwrap(), clock);
    let left = outbox.list(0, 100).await.unwrap();
    assert_eq!(left.len(), 5);
    assert!(left
        .iter()
        .all(|i| i.attempts == 1 && i.last_error.as_deref() == Some("peer down")));
    assert_eq!(left[0].payload, "<msg key=\"k0\"/>");
    assert_eq!(left[0].meta, r#"{"soap_action":"x"}"#);

    let mut events = outbox.events();
    let delivered: Arc<Mutex<Vec<String>>> = Arc::default();
    let (stop, worker) = start(&outbox, 2, {
        let delivered = Arc::clone(&delivered);
        move |it| {
            delivered.lock().unwrap().push(it.key);
            async { Ok(()) }
        }
    });
    for _ in 0..5 {
        let e = next(&mut events).await;
        assert_eq!((e.attempt, e.outcome), (2, Attempt::Delivered));
    }
    assert_eq!(outbox.pending().await.unwrap(), 0);
    stop.send(()).unwrap();
    worker.await.unwrap();
    let mut keys = delivered.lock().unwrap().clone();
    keys.sort();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
}

#[tokio::test]
async fn a_panicking_deliver_counts_as_a_failed_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let outbox = Outbox::new(
        Db::open(&dir.path().join("o.db"), &[OUTBOX_MIGRATION]).unwrap(),
        clock.clone(),
    );
    let mut events = outbox.events();
    let (stop, worker) = start(&outbox, 1, |it| async move {
        if it.attempts == 0 {
            panic!("deliver bug");
        }
        Ok(())
    });
    outbox.enqueue(item("p")).await.unwrap();
    let e = next(&mut events).await;
    assert!(
        matches!(e.outcome, Attempt::Failed { ref error, .. } if error == "deliver panicked"),
        "{e:?}"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(next(&mut events).await.outcome, Attempt::Delivered);
    stop.send(()).unwrap();
    worker.await.unwrap();
}

/// A delayed item (KSD's receipt delay) is not delivered before its time, and is delivered
/// when the clock reaches it without any other wake-up.
#[tokio::test]
async fn an_item_enqueued_for_later_waits_for_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let db = Db::open(&dir.path().join("o.db"), &[OUTBOX_MIGRATION]).unwrap();
    let outbox = Outbox::new(db.clone(), clock.clone());
    let mut events = outbox.events();
    let delivered: Arc<Mutex<Vec<OffsetDateTime>>> = Arc::default();
    let deliver = {
        let (delivered, clock) = (Arc::clone(&delivered), clock.clone());
        move |_it: sim_store::OutboxItem| {
            delivered.lock().unwrap().push(clock.now());
            async { Ok(()) }
        }
    };
    let (stop, worker) = start(&outbox, 1, deliver);
    let due = T0 + Duration::from_secs(5);
    db.write(move |tx| Outbox::enqueue_in_at(tx, &item("later"), T0, due))
        .await
        .unwrap();
    outbox.notify();
    clock.advance(Duration::from_secs(4));
    tokio::task::yield_now().await;
    assert!(
        delivered.lock().unwrap().is_empty(),
        "delivered before it was due"
    );
    assert_eq!(outbox.pending().await.unwrap(), 1);
    clock.advance(Duration::from_secs(1));
    let OutboxEvent { outcome, .. } = next(&mut events).await;
    assert!(matches!(outcome, Attempt::Delivered), "{outcome:?}");
    assert_eq!(delivered.lock().unwrap().as_slice(), &[due]);
    let _ = stop.send(());
    worker.await.unwrap();
}
