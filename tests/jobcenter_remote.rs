//! `sim::jobcenter_remote::RemoteJobcenter` against the real ecosystem on `127.0.0.1:0`: the
//! jobcenter driven only through its admin API, as `sim run` drives one in another process or
//! container — an update to its TransportKvittering and business receipt, look-ups through the
//! platform, KY messages to KY's receipt, the request's mistakes, and an unreachable jobcenter
//! told apart from one that answered.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sim::admin_client::AdminClient;
use sim::jobcenter_remote::{RemoteError, RemoteJobcenter};
use sim_jobcenter::{KyStatus, Lookup, UpdateSpec, UpdateStatus};
use sim_store::Outcome;
use sim_wire::ky::{examples, Handling, KyOperation, KyRequest};
use sim_wire::{Cvr, HentSag, HentSagsListe};

/// Creates a case in KSD (admin intake) for `municipality`; its SagIdentifikator.
async fn create_case(eco: &Eco, cpr: &str, municipality: Cvr) -> String {
    let url = format!("{}/cases", eco.running.endpoints.ksd_admin);
    // The ecosystem runs on the real clock: a case a week old.
    let first = time::OffsetDateTime::now_utc() - time::Duration::days(7);
    let body = json!({
        "cpr": cpr,
        "municipality": municipality.to_string(),
        "arbejdsgiver": "12345674",
        "foerste_fravaersdag": sim_wire::Dato(first.date()).to_string(),
    });
    let (status, v) = eco.admin.post(&url, &body).await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["sag_id"].as_str().unwrap().to_string()
}

/// KY's example message `op`/`h` number `n`, in municipality `m` (context and header).
fn ky_request(op: KyOperation, h: Handling, n: u32, m: Cvr) -> KyRequest {
    let mut payload = examples::payload(op, h, n);
    payload.header.myndighed = m;
    KyRequest::new(payload)
}

/// rules JC-1, KSD-1, KSD-2, KSD-12, JC-3, KY-1, KY-6: everything the runner calls on a
/// jobcenter, through the admin API of a real one — an update accepted and followed to its
/// TransportKvittering and business receipt (count and times), look-ups that see the caller's
/// case and not another municipality's, a KY message accepted and one refused by KY's rule,
/// the request's mistakes answered as refusals, never as an unreachable jobcenter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_can_drive_a_jobcenter_through_its_admin_api() {
    let eco = Eco::start().await;
    let remote = RemoteJobcenter::new(
        eco.running.endpoints.jobcenter_admin.clone(),
        AdminClient::new(Duration::from_secs(60)),
    );
    let mine = eco.municipality_of("kmd-jc");
    let theirs = eco.municipality_of("schultz-jc");

    // SF2095: sent, accepted, followed to its TransportKvittering (JC-1, KSD-1).
    let before = remote.receipt_count().await.unwrap();
    let out = remote
        .send_update(&UpdateSpec {
            instance: Some("kmd-jc".into()),
            municipality: Some(mine.to_string()),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(out.status, UpdateStatus::Accepted, "{out:?}");
    assert_eq!(out.transport_code.as_deref(), Some("OK"));
    let tid = out.transaktion_id.clone();
    assert_eq!(
        remote
            .wait_for_transport(&tid, Duration::from_secs(5))
            .await
            .unwrap(),
        Some(UpdateStatus::Accepted)
    );
    assert_eq!(
        remote
            .wait_for_transport("0f8fad5b-d9cb-469f-a165-70867728950e", Duration::ZERO)
            .await
            .unwrap(),
        None,
        "an update the vendor does not know"
    );
    // An accepted update is not sent again.
    let again = remote.resend(&tid).await.unwrap();
    assert_eq!((again.attempts, again.status), (0, UpdateStatus::Accepted));

    // KSD-2: its business receipt arrives; the count and the times say so.
    let times = eco
        .eventually("the update's business receipt", || {
            let (remote, tid) = (remote.clone(), tid.clone());
            async move {
                let times = remote.receipt_times().await.unwrap();
                times.iter().any(|(t, _)| *t == tid).then_some(times)
            }
        })
        .await;
    let count = remote.receipt_count().await.unwrap();
    assert!(count > before, "{count} after {before}");
    assert_eq!(count as usize, times.len(), "one time per distinct receipt");
    assert!(
        times.windows(2).all(|w| w[0].1 <= w[1].1),
        "oldest first: {times:?}"
    );

    // SF2096: the caller's case is found; another municipality's answers like none (KSD-12).
    let own = create_case(&eco, "0101701234", mine).await;
    let other = create_case(&eco, "0202802345", theirs).await;
    let found = remote
        .lookup(
            "kmd-jc",
            Some(mine),
            &Lookup::Sag(HentSag::SagIdentifikator(own.parse().unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(found.outcome, Outcome::Ok, "{found:?}");
    assert_eq!(found.cases, vec![(own.clone(), mine.to_string())]);
    assert_eq!(found.foreign(), 0);
    let foreign = remote
        .lookup(
            "kmd-jc",
            Some(mine),
            &Lookup::Sag(HentSag::SagIdentifikator(other.parse().unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(foreign.outcome, Outcome::Fejl, "{foreign:?}");
    assert!(foreign.cases.is_empty());
    assert_eq!(foreign.fejl_koder, vec!["KSD-12.UKENDT".to_string()]);
    let listed = remote
        .lookup(
            "kmd-jc",
            None,
            &Lookup::Liste(HentSagsListe {
                sygemeldte_part: Some("0202802345".parse().unwrap()),
                ..HentSagsListe::default()
            }),
        )
        .await
        .unwrap();
    assert!(
        listed.cases.is_empty(),
        "another municipality's person: {listed:?}"
    );

    // SF1690: a course that does not exist yet is refused by KY (KY-6), the course itself is
    // accepted (KY-1); each waited for like the runner does.
    let refused = remote
        .send_ky(
            "kmd-jc",
            Some(mine),
            &ky_request(KyOperation::Aktivitet, Handling::Opret, 1, mine),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, KyStatus::Refused, "{refused:?}");
    assert_eq!(refused.fejl_koder, vec!["KY-6.UKENDT".to_string()]);
    let sent = remote
        .send_ky(
            "kmd-jc",
            Some(mine),
            &ky_request(KyOperation::Kontaktforloeb, Handling::Opret, 2, mine),
        )
        .await
        .unwrap();
    assert_ne!(sent.status, KyStatus::Refused, "{sent:?}");
    let settled = eco
        .eventually("KY's receipt", || {
            let (remote, tid) = (remote.clone(), sent.transaktion_id.clone());
            async move {
                remote
                    .wait_for_ky(&tid, Duration::from_secs(1))
                    .await
                    .unwrap()
                    .filter(|o| o.status != KyStatus::Pending)
            }
        })
        .await;
    assert_eq!(settled.status, KyStatus::Accepted, "{settled:?}");
    assert_eq!(settled.operation, KyOperation::Kontaktforloeb);
    assert_eq!(settled.municipality, mine.to_string());
    assert_eq!(
        remote
            .wait_for_ky("0f8fad5b-d9cb-469f-a165-70867728950e", Duration::ZERO)
            .await
            .unwrap(),
        None
    );

    // The request's mistakes are the jobcenter's answers (JC-3: a municipality the instance
    // does not serve), not an unreachable jobcenter.
    let e = remote
        .lookup(
            "kmd-jc",
            Some(theirs),
            &Lookup::Sag(HentSag::SagIdentifikator(own.parse().unwrap())),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RemoteError::Refused(error) if error.contains("JC-3")),
        "{e}"
    );
    let e = remote
        .send_ky(
            "nobody-jc",
            None,
            &ky_request(KyOperation::Kontaktforloeb, Handling::Opret, 3, mine),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown instance 'nobody-jc'",
        "the jobcenter's words"
    );
    assert!(!e.is_unreachable());
    eco.running.stop().await.unwrap();
}

/// A jobcenter that is not there (nothing listens on its admin port) is unreachable — what
/// the runner treats like a crash — for every call.
#[tokio::test]
async fn a_jobcenter_that_is_not_there_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let remote = RemoteJobcenter::new(
        format!("http://127.0.0.1:{port}"),
        AdminClient::new(Duration::from_secs(5)),
    );
    let e = remote.receipt_count().await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    let e = remote
        .send_update(&UpdateSpec::default())
        .await
        .unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    let e = remote
        .wait_for_transport("0f8fad5b-d9cb-469f-a165-70867728950e", Duration::ZERO)
        .await
        .unwrap_err();
    assert!(e.is_unreachable(), "{e}");
}
