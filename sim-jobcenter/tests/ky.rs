//! SF1690 from the vendor's side over real mutual TLS: a KY message goes to the platform's KY
//! exposure with the instance's own certificate (SP-6) and is the vendor's until KY's
//! TransportKvittering (JC-1): resent identically through faults (KY-10 makes the repeats
//! harmless), by the background resender once the quick attempts are over; a FEJL ends it.

mod common;

use common::*;
use sim_jobcenter::{JobcenterError, KyStatus};
use sim_store::JournalFilter;
use sim_wire::ky::{self, examples, KyOperation};

/// The example request of `op` (Viborg, which schultz-jc serves).
fn request(op: KyOperation) -> ky::KyRequest {
    examples::request(op)
}

fn ky_seen(p: &FakePlatform) -> Vec<Seen> {
    p.seen()
        .into_iter()
        .filter(|s| {
            s.soap_action
                .as_deref()
                .and_then(KyOperation::from_soap_action)
                .is_some()
        })
        .collect()
}

// rules JC-1, SP-6, KY-10: faults are answered by sending the identical document again until
// KY's receipt; it carries the vendor's own system and certificate; both legs are journaled.
#[tokio::test]
async fn a_ky_message_is_resent_identically_until_kys_receipt_jc1_sp6_ky10() {
    let h = Harness::start().await;
    h.platform
        .script(&[Answer::Fault, Answer::Fault, Answer::Ok]);
    let out =
        h.jc.send_ky("schultz-jc", None, request(KyOperation::Kontaktforloeb))
            .await
            .unwrap();
    assert_eq!(out.status, KyStatus::Accepted, "{out:?}");
    assert_eq!(out.attempts, 3);
    assert_eq!(out.transport_code.as_deref(), Some("OK"));
    let seen = ky_seen(&h.platform);
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s.body == seen[0].body),
        "identical bytes"
    );
    let peer = seen[0].peer.as_ref().unwrap();
    assert_eq!(peer.cvr.as_str(), "99000022", "Schultz's own certificate");
    assert_eq!(peer.uuid(), Some(h.pki.uuid("schultz-jc").as_str()));
    let d = ky::read(seen[0].body.as_bytes(), seen[0].soap_action.as_deref()).unwrap();
    assert!(d.is_valid(), "{:?}", d.problems);
    let r = d.request().unwrap();
    assert_eq!(
        r.payload.header.registrering_it_system.to_string(),
        h.pki.uuid("schultz-jc"),
        "the vendor's own system"
    );
    let rows =
        h.jc.journal(JournalFilter {
            transaktion_id: Some(out.transaktion_id.clone()),
            ..JournalFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        6,
        "three attempts, each request out and answer in"
    );
    assert!(rows
        .iter()
        .all(|r| r.entry.operation.operation() == "KY/SendKontaktforloeb"));
    assert_eq!(
        h.jc.ky_message(&out.transaktion_id).await.unwrap(),
        Some(out)
    );
    h.stop().await;
}

// rules KY-1, KY-6, JC-1: KY's FEJL ends the sending (refused, with the rule it names), and the
// same TransaktionIdentifikator asked again is the stored outcome, not a new call.
#[tokio::test]
async fn a_ky_fejl_ends_the_sending_ky1_ky6() {
    let h = Harness::start().await;
    h.platform.script(&[Answer::Fejl]);
    let out =
        h.jc.send_ky("schultz-jc", None, request(KyOperation::Aktivitet))
            .await
            .unwrap();
    assert_eq!(out.status, KyStatus::Refused);
    assert_eq!(out.fejl_koder, vec!["KY-6.UKENDT".to_string()]);
    let again =
        h.jc.send_ky("schultz-jc", None, request(KyOperation::Aktivitet))
            .await
            .unwrap();
    assert_eq!(again, out);
    assert_eq!(ky_seen(&h.platform).len(), 1, "not resent");
    h.stop().await;
}

// rule JC-3: a vendor sends KY messages only for a municipality it serves.
#[tokio::test]
async fn a_municipality_the_instance_does_not_serve_is_refused_jc3() {
    let h = Harness::start().await;
    let e =
        h.jc.send_ky("kmd-jc", None, request(KyOperation::Fravaer))
            .await
            .unwrap_err();
    assert!(matches!(e, JobcenterError::NotServed { .. }), "{e}");
    assert!(ky_seen(&h.platform).is_empty());
    h.stop().await;
}

// rule JC-1: still without a receipt after the quick attempts, the message stays owned and the
// background resender sends it until KY's receipt.
#[tokio::test]
async fn the_resender_takes_a_ky_message_over_after_the_quick_attempts_jc1() {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut c = config(&pki, &platform.url(), state_dir.path(), 0);
    c.call_timeout_ms = 500;
    let h = Harness::launch(pki, platform, state_dir, c).await;
    h.platform.script(&[Answer::Fault; 4]);
    let out =
        h.jc.send_ky("schultz-jc", None, request(KyOperation::Fravaer))
            .await
            .unwrap();
    assert_eq!(out.status, KyStatus::Pending, "{out:?}");
    assert_eq!(out.attempts, 3, "the quick attempts");
    let tid = out.transaktion_id.clone();
    let done = eventually("the resender's receipt", || {
        let (jc, tid) = (h.jc.clone(), tid.clone());
        async move {
            jc.wait_for_ky(&tid, std::time::Duration::from_millis(200))
                .await
                .unwrap()
                .filter(|o| o.status != KyStatus::Pending)
        }
    })
    .await;
    assert_eq!(done.status, KyStatus::Accepted);
    assert_eq!(done.attempts, 5);
    h.stop().await;
}
