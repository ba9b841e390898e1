//! STAR's injected faults, for real on the wire: a fetch cut after k of n events (the client
//! reads a broken answer; STAR journals exactly what it sent), after which a CloseSequence
//! loses nothing (SP-10's failure path); and the generic fault layer in front of STAR.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use sim_star::{StarFaultHook, StarFaults};
use sim_store::Clock;
use sim_wire::Uuid;

/// Cuts the first fetch answer with at least 3 events after 2 of them.
struct CutOnce(AtomicBool);

impl StarFaults for CutOnce {
    fn cut_fetch_after(&self, _sequence: Uuid, count: u64) -> Option<u64> {
        (count >= 3 && !self.0.swap(true, Ordering::SeqCst)).then_some(2)
    }
}

/// SP-10: the fetch breaks after 2 of n events; the platform closes the sequence; the next
/// sequence brings all n again and the fetch is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_cut_after_k_of_n_is_broken_for_the_client_and_nothing_is_lost() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let mut c = config(&pki, dir.path(), data, clock.clone(), stream(25));
    c.star_faults = StarFaultHook::with(Arc::new(CutOnce(AtomicBool::new(false))));
    let s = start(l, c).await;
    let kombit = pki.client("kombit");
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));

    let seq = s.create(&kombit, clock.now()).await;
    let n = seq.services[0].message_count;
    assert!(n >= 3, "{n}");
    let broken = s.fetch(&kombit, clock.now(), seq.identifier).await;
    assert!(
        broken.is_err(),
        "the client must see a broken answer, got a whole one"
    );

    // What went out: the head and exactly 2 registrations, journaled as unreadable.
    let rows = s
        .journal("operation=STAR/GetIllnessUpdatedVersion6%23response")
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "UNREADABLE:truncated");
    let sent = rows[0]["raw"].as_str().unwrap();
    assert_eq!(sent.matches("<IllnessUpdateRegistration>").count(), 2);
    assert!(!sent.contains("</soap:Envelope>"));
    let req = s.journal("operation=STAR/GetIllnessUpdatedVersion6").await;
    assert!(req[0]["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("2 of {n}")));

    // The platform gives up on the sequence: all n come back.
    assert_eq!(
        s.end(&kombit, clock.now(), seq.identifier, false)
            .await
            .status,
        200
    );
    let again = s.create(&kombit, clock.now()).await;
    assert_eq!(again.services[0].message_count, n);
    let events = s.events(&kombit, clock.now(), again.identifier).await;
    assert_eq!(events.len() as u64, n);
    assert_eq!(
        s.end(&kombit, clock.now(), again.identifier, true)
            .await
            .status,
        200
    );
    assert_eq!(s.queue().await["gone"].as_u64(), Some(n));
    s.stop().await;
}

/// The generic fault layer (`sim_kit::faults`) sits in front of STAR's services: a reset
/// drops the connection unanswered, and nothing changes at STAR.
struct ResetCreate;

impl sim_kit::faults::FaultHook for ResetCreate {
    fn on_request(&self, r: &sim_kit::faults::RequestInfo<'_>) -> sim_kit::faults::FaultAction {
        if r.program == "star" && r.path == sim_star::WSRM_SERVICE_PATH {
            sim_kit::faults::FaultAction::Reset
        } else {
            sim_kit::faults::FaultAction::Pass
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_fault_layer_is_in_front_of_star() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(t0());
    let (l, data) = listeners().await;
    let mut c = config(&pki, dir.path(), data, clock.clone(), stream(10));
    c.faults = sim_kit::faults::Faults::with(Arc::new(ResetCreate));
    let s = start(l, c).await;
    let kombit = pki.client("kombit");
    clock.advance(std::time::Duration::from_secs(2 * 60 * 60));
    let call = sim_wire::star::StarCall {
        headers: headers(clock.now()),
        request: sim_wire::star::StarRequest::CreateSequence(
            sim_wire::star::CreateSequenceRequest::ksd(),
        ),
    };
    assert!(s.send(&kombit, &call).await.is_err(), "reset: no answer");
    let q = s.queue().await;
    assert_eq!(q["in_sequence"].as_u64(), Some(0), "{q}");
    assert!(q["sequences"].as_object().unwrap().is_empty(), "{q}");
    // The fetch service is not affected.
    let r = s
        .fetch(
            &kombit,
            clock.now(),
            "00000000-0000-4000-8000-000000000000".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.fault_rule(), sim_wire::Rule::Sp10);
    s.stop().await;
}
