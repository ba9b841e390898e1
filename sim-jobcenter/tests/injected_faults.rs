//! A vendor's injected misbehaviour towards KSD (`sim_jobcenter::faults`, what a scenario's
//! `unacknowledged_event`, `event_ack_twice` and `late_extension_answer` reach), over real
//! mutual TLS with the test playing the platform: an acknowledgement withheld until the event
//! comes again (KSD-10), one sent twice (KSD-10), an extension answer due after SvarFrist
//! (KSD-11).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use sim_jobcenter::{AnswerState, VendorFaultHook, VendorFaults};
use sim_store::JournalFilter;
use sim_wire::{Operation, Payload, TransportValideringsKode};

const EVENT: Operation = Operation::ModtagHaendelse;
const REQUEST: Operation = Operation::ModtagAnmodningForlaengelse;
const ACK: Operation = Operation::SendForretningsSvarKsd;

/// A hook that withholds acknowledgements while `withholding`, doubles the acknowledgements
/// of the events in `twice`, and makes every extension answer late while `late`; it
/// remembers what it was asked.
#[derive(Default)]
struct Hook {
    withholding: AtomicBool,
    twice: Mutex<BTreeSet<String>>,
    late: AtomicBool,
    asked_twice: Mutex<Vec<String>>,
}

impl VendorFaultHook for Hook {
    fn late_extension_answer(&self, _instance: &str, _tid: &str) -> bool {
        self.late.load(Ordering::SeqCst)
    }

    fn withhold_acknowledgement(&self, _instance: &str, _tid: &str) -> bool {
        self.withholding.load(Ordering::SeqCst)
    }

    fn acknowledge_twice(&self, _instance: &str, tid: &str) -> bool {
        self.asked_twice.lock().unwrap().push(tid.to_string());
        self.twice.lock().unwrap().contains(tid)
    }
}

async fn start(hook: Arc<Hook>) -> Harness {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&pki, &platform.url(), state.path(), 13);
    cfg.resend_max_backoff_ms = 50;
    cfg.vendor_faults = VendorFaults::with(hook);
    Harness::launch(pki, platform, state, cfg).await
}

fn tid(n: u32) -> String {
    format!("7a0c0000-0000-4000-8000-{n:012}")
}

fn sag(n: u32) -> String {
    format!("5a900000-0000-4000-8000-{n:012}")
}

fn ok(reply: &sim_kit::soap::SoapReply) {
    assert_eq!(
        reply.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Ok),
        "{}",
        reply.body
    );
}

async fn details(h: &Harness, t: &str, op: Operation) -> Vec<String> {
    h.jc.journal(JournalFilter {
        transaktion_id: Some(t.to_string()),
        operation: Some(op.label()),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_iter()
    .filter_map(|r| r.entry.detail)
    .collect()
}

// rule KSD-10 (unacknowledged_event): an event received while the vendor withholds is kept
// and answered OK, its acknowledgement pending with no due time; KSD's redelivery outside
// the fault sends it — once, the document made at the first delivery.
#[tokio::test]
async fn ksd10_a_withheld_acknowledgement_goes_when_the_event_comes_again() {
    let hook = Arc::new(Hook::default());
    hook.withholding.store(true, Ordering::SeqCst);
    let h = start(hook.clone()).await;
    let m = KMD_MUNICIPALITIES[0];
    let (t, s) = (tid(1), sag(1));
    let xml = ksd_request(EVENT, m, &t, &s);
    ok(&h.deliver("kmd-jc", EVENT, xml.clone()).await);
    let e = h.jc.events(None, None, 0, 10).await.unwrap().remove(0);
    assert_eq!(e.acknowledgement.state, AnswerState::Pending);
    assert!(e.acknowledgement.is_withheld(), "{:?}", e.acknowledgement);
    let made = e.acknowledgement.xml.clone().expect("the document is kept");
    // Delivered again while still withheld: nothing changes.
    ok(&h.deliver("kmd-jc", EVENT, xml.clone()).await);
    // Delivered again outside the fault (KSD's redelivery after its timeout): it goes.
    hook.withholding.store(false, Ordering::SeqCst);
    ok(&h.deliver("kmd-jc", EVENT, xml).await);
    let e = eventually("the acknowledgement is sent", || async {
        h.jc.events(None, None, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.acknowledgement.state == AnswerState::Sent)
    })
    .await;
    assert_eq!(e.deliveries, 3);
    let seen = h.platform.seen_of(ACK);
    assert_eq!(seen.len(), 1, "acknowledged once, by the third delivery");
    assert_eq!(
        seen[0].body, made,
        "the document made at the first delivery"
    );
    let d = details(&h, &t, EVENT).await;
    assert!(d[0].contains("withheld"), "{d:?}");
    assert!(d[2].contains("it was withheld before"), "{d:?}");
    h.stop().await;
}

// rule KSD-10 (event_ack_twice): an acknowledgement the platform took is sent once more, the
// identical document; only its first send is doubled.
#[tokio::test]
async fn ksd10_an_acknowledgement_goes_twice_when_the_fault_says_so() {
    let hook = Arc::new(Hook::default());
    let (t, s) = (tid(2), sag(2));
    hook.twice.lock().unwrap().insert(t.clone());
    let h = start(hook.clone()).await;
    ok(&h
        .deliver(
            "schultz-jc",
            EVENT,
            ksd_request(EVENT, SCHULTZ_MUNICIPALITY, &t, &s),
        )
        .await);
    let seen = eventually("the acknowledgement is sent twice", || async {
        let seen = h.platform.seen_of(ACK);
        let asked = hook.asked_twice.lock().unwrap().len();
        // Both sends settled: the hook was asked once, after the first.
        (seen.len() == 2 && asked == 1).then_some(seen)
    })
    .await;
    assert_eq!(seen[0].body, seen[1].body, "the same acknowledgement");
    let e = eventually("the second send recorded", || async {
        h.jc.events(None, None, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.acknowledgement.attempts == 2)
    })
    .await;
    assert_eq!(e.acknowledgement.state, AnswerState::Sent);
    assert_eq!(e.deliveries, 1, "the event came once");
    assert_eq!(*hook.asked_twice.lock().unwrap(), [t]);
    h.stop().await;
}

// rule KSD-11 (late_extension_answer): the answer is decided as the policy says but due after
// the request's SvarFrist, and the request's journal entry says why.
#[tokio::test]
async fn ksd11_an_injected_late_answer_is_due_after_svar_frist() {
    let hook = Arc::new(Hook::default());
    hook.late.store(true, Ordering::SeqCst);
    let h = start(hook).await;
    let m = KMD_MUNICIPALITIES[0];
    let (t, s) = (tid(3), sag(3));
    let call = ksd_call(REQUEST, m, &t, &s);
    let Payload::AnmodningForlaengelse(a) = &call.payload else {
        unreachable!()
    };
    let after_frist = a.svar_frist.0.next_day().unwrap().midnight().assume_utc();
    ok(&h
        .deliver("kmd-jc", REQUEST, sim_wire::write_request(&call))
        .await);
    let q =
        h.jc.extension_requests(None, None, 0, 10)
            .await
            .unwrap()
            .remove(0);
    if q.answer.state == AnswerState::Never {
        // The default policy forgets a few requests: nothing is due, nothing late.
        assert!(!q.late);
    } else {
        assert!(q.late, "{q:?}");
        let due = q.answer.due_at.expect("an answer is due");
        assert!(due > after_frist, "{due} after SvarFrist {}", a.svar_frist);
        let d = details(&h, &t, REQUEST).await;
        assert!(d[0].contains("injected late_extension_answer"), "{d:?}");
    }
    h.stop().await;
}
