//! The sequence protocol against the running STAR (seed 004 §3.3, rule SP-10): events are
//! queued only once their time has passed; CreateSequence hands out every queued event;
//! the fetch returns them all, in order, the same each time; TerminateSequence makes them gone
//! for good; CloseSequence (or a sequence left open too long) puts all of them back, and the
//! next sequence has them again. The state survives a restart.

mod common;

use std::collections::HashSet;

use common::*;
use sim_store::Clock;
use sim_wire::star::{self, GET_ILLNESS_UPDATED_SERVICE_NAME};
use sim_wire::Rule;

/// SP-10's happy path: create, fetch (twice: the same answer), terminate; the next sequence
/// holds none of those events, and the ended sequence answers nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_fetch_terminate_and_the_events_are_gone_sp10() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(30))).await;
    let kombit = pki.client("kombit");

    // Nothing has happened yet at t0: an empty sequence.
    let empty = s.create(&kombit, clock.now()).await;
    assert_eq!(empty.services.len(), 1);
    assert_eq!(empty.services[0].message_count, 0);
    assert!(s
        .events(&kombit, clock.now(), empty.identifier)
        .await
        .is_empty());
    assert_eq!(
        s.end(&kombit, clock.now(), empty.identifier, true)
            .await
            .status,
        200
    );

    // Half an hour later, exactly the events of that half hour are queued: never one before
    // its time.
    clock.advance(std::time::Duration::from_secs(30 * 60));
    let q = s.queue().await;
    let half = q["queued"].as_u64().unwrap();
    let due = stream(30).events().filter(|e| e.at <= clock.now()).count() as u64;
    assert_eq!((half, q["generated"].as_u64()), (due, Some(due)), "{q}");
    assert!(half > 0 && half < 30, "{q}");
    assert!(q["next_event_at"].is_string(), "{q}");

    clock.advance(std::time::Duration::from_secs(60 * 60));
    let seq = s.create(&kombit, clock.now()).await;
    let item = &seq.services[0];
    assert_eq!(item.service_name, GET_ILLNESS_UPDATED_SERVICE_NAME);
    assert_eq!(
        item.service_endpoint,
        s.url(sim_star::WSRM_MESSAGE_SERVICE_PATH)
    );
    let n = item.message_count;
    assert!(n >= half, "{n} >= {half}");

    let events = s.events(&kombit, clock.now(), seq.identifier).await;
    assert_eq!(events.len() as u64, n, "MessageCount events");
    let again = s.fetch(&kombit, clock.now(), seq.identifier).await.unwrap();
    let first = s.fetch(&kombit, clock.now(), seq.identifier).await.unwrap();
    assert_eq!(again.body, first.body, "the same answer when asked again");
    // In stream order: event times never go back.
    let times: Vec<_> = events
        .iter()
        .map(|e| e.request_metadata.event_date)
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let q = s.queue().await;
    assert_eq!(q["in_sequence"].as_u64(), Some(n), "{q}");

    assert_eq!(
        s.end(&kombit, clock.now(), seq.identifier, true)
            .await
            .status,
        200
    );
    let q = s.queue().await;
    assert_eq!(
        (q["gone"].as_u64(), q["in_sequence"].as_u64()),
        (Some(n), Some(0)),
        "{q}"
    );

    // The next sequence has none of them; the ended one answers with SP-10 faults.
    let next = s.create(&kombit, clock.now()).await;
    let later = s.events(&kombit, clock.now(), next.identifier).await;
    let gone: HashSet<_> = ids(&events).into_iter().collect();
    assert!(ids(&later).iter().all(|id| !gone.contains(id)));
    let r = s.fetch(&kombit, clock.now(), seq.identifier).await.unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp10);
    assert_eq!(
        s.end(&kombit, clock.now(), seq.identifier, true)
            .await
            .fault_rule(),
        Rule::Sp10
    );
    assert_eq!(
        s.end(&kombit, clock.now(), seq.identifier, false)
            .await
            .fault_rule(),
        Rule::Sp10
    );
    let unknown = "00000000-0000-4000-8000-000000000000".parse().unwrap();
    assert_eq!(
        s.end(&kombit, clock.now(), unknown, false)
            .await
            .fault_rule(),
        Rule::Sp10
    );

    // Every call is journaled, a sequence's calls under its Identifier.
    let rows = s
        .journal(&format!("transaktion_id={}", seq.identifier))
        .await;
    let ops: Vec<&str> = rows
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        &ops[..8],
        [
            "STAR/CreateSequence",
            "STAR/CreateSequence#response",
            "STAR/GetIllnessUpdatedVersion6",
            "STAR/GetIllnessUpdatedVersion6#response",
            "STAR/GetIllnessUpdatedVersion6",
            "STAR/GetIllnessUpdatedVersion6#response",
            "STAR/GetIllnessUpdatedVersion6",
            "STAR/GetIllnessUpdatedVersion6#response",
        ]
    );
    assert!(ops.contains(&"STAR/TerminateSequence#response"), "{ops:?}");
    assert!(
        rows.iter().any(|r| r["outcome"] == "FAULT:SP-10"),
        "{rows:?}"
    );
    s.stop().await;
}

/// Seed 004 §3.3.7: CloseSequence puts *every* event of the sequence back, and the next
/// sequence has them all again, in the same order, before any newer one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_rolls_back_every_event_and_the_next_sequence_has_them_again() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(40))).await;
    let kombit = pki.client("kombit");

    clock.advance(std::time::Duration::from_secs(20 * 60));
    let first = s.create(&kombit, clock.now()).await;
    let before = s.events(&kombit, clock.now(), first.identifier).await;
    assert!(!before.is_empty());
    assert_eq!(
        s.end(&kombit, clock.now(), first.identifier, false)
            .await
            .status,
        200
    );
    let q = s.queue().await;
    assert_eq!(q["queued"].as_u64(), Some(before.len() as u64), "{q}");
    assert_eq!(q["in_sequence"].as_u64(), Some(0), "{q}");

    // Later events join behind them.
    clock.advance(std::time::Duration::from_secs(60 * 60));
    let second = s.create(&kombit, clock.now()).await;
    let after = s.events(&kombit, clock.now(), second.identifier).await;
    assert!(after.len() > before.len());
    assert_eq!(
        after[..before.len()],
        before[..],
        "all of them again, in order, first"
    );
    let (_, rows) = s
        .get(&format!(
            "/events?sequence={}&limit=10000",
            second.identifier
        ))
        .await;
    let handed: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["handed_out"].as_u64().unwrap())
        .collect();
    assert!(handed[..before.len()].iter().all(|h| *h == 2), "{handed:?}");
    assert!(handed[before.len()..].iter().all(|h| *h == 1), "{handed:?}");
    let (_, seqs) = s.get("/sequences?state=closed").await;
    assert_eq!(seqs[0]["identifier"], first.identifier.to_string());
    assert_eq!(
        s.end(&kombit, clock.now(), second.identifier, true)
            .await
            .status,
        200
    );
    s.stop().await;
}

/// A sequence left open longer than `sequence_timeout_ms` is rolled back like a close: the
/// fetch is refused (SP-10) and the next sequence has its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequence_left_open_too_long_is_rolled_back() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let mut c = config(&pki, dir.path(), data, clock.clone(), stream(20));
    c.sequence_timeout_ms = 5 * 60 * 1000;
    let s = start(l, c).await;
    let kombit = pki.client("kombit");

    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let abandoned = s.create(&kombit, clock.now()).await;
    let n = abandoned.services[0].message_count;
    assert!(n > 0);
    clock.advance(std::time::Duration::from_secs(6 * 60));
    let r = s
        .fetch(&kombit, clock.now(), abandoned.identifier)
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), Rule::Sp10);
    assert!(r.body.contains("open too long"), "{}", r.body);
    let next = s.create(&kombit, clock.now()).await;
    assert_eq!(next.services[0].message_count, n);
    let (_, row) = s.get(&format!("/sequences/{}", abandoned.identifier)).await;
    assert_eq!(row["state"], "expired", "{row}");
    s.stop().await;
}

/// A restart on the same state directory keeps the queue, the open sequence and the stream's
/// position: no event is generated twice or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_survives_a_restart() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(30))).await;
    let kombit = pki.client("kombit");
    clock.advance(std::time::Duration::from_secs(25 * 60));
    let open = s.create(&kombit, clock.now()).await;
    let events = s.events(&kombit, clock.now(), open.identifier).await;
    s.stop().await;

    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(30))).await;
    assert_eq!(
        s.events(&kombit, clock.now(), open.identifier).await,
        events
    );
    assert_eq!(
        s.end(&kombit, clock.now(), open.identifier, true)
            .await
            .status,
        200
    );
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let rest = s.create(&kombit, clock.now()).await;
    let later = s.events(&kombit, clock.now(), rest.identifier).await;
    let all: Vec<_> = stream(30).events().map(|e| e.registration).collect();
    let mut seen = events.clone();
    seen.extend(later);
    assert_eq!(
        seen, all,
        "every event of the stream exactly once, in order"
    );
    s.stop().await;

    // Another stream on the same state directory is refused, not mixed in.
    let (l, data) = listeners().await;
    let mut other = stream(30);
    other.seed += 1;
    let c = config(&pki, dir.path(), data, clock.clone(), other);
    let e = sim_star::run(l, c, std::future::pending())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("another event stream"), "{e}");
}

/// The events STAR serves carry Danish letters, and survive the ISO-8859-1 event document
/// the platform publishes (seed 004 §3.1.3.2.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_events_round_trip_through_the_iso_8859_1_event_document() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let s = start(l, config(&pki, dir.path(), data, clock.clone(), stream(60))).await;
    let kombit = pki.client("kombit");
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let seq = s.create(&kombit, clock.now()).await;
    let events = s.events(&kombit, clock.now(), seq.identifier).await;
    let mut danish = 0;
    for e in &events {
        let doc = star::event_document(e).unwrap();
        assert!(doc.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
        assert_eq!(&star::read_event_document(&doc).unwrap(), e);
        if doc
            .iter()
            .any(|b| [0xE6, 0xF8, 0xE5, 0xC6, 0xD8, 0xC5].contains(b))
        {
            danish += 1;
        }
    }
    assert!(
        danish > 0,
        "some of {} events carry æ, ø or å",
        events.len()
    );
    s.stop().await;
}
