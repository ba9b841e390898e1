//! The jobcenter process over real mutual TLS: sending to a fake platform (JC-1, SP-6),
//! receiving business receipts (JC-2, JC-3, KSD-2, KSD-7), and the admin API.

mod common;

use common::*;
use sim_jobcenter::{JobcenterError, UpdateSpec, UpdateStatus};
use sim_store::JournalFilter;
use sim_wire::{Message, Operation, Payload, Rule, TransportValideringsKode};

fn spec(instance: &str) -> UpdateSpec {
    UpdateSpec {
        instance: Some(instance.into()),
        ..UpdateSpec::default()
    }
}

/// The OpdateringFravaer in a document the fake platform received.
fn opdatering(body: &str) -> (sim_wire::Decoded, sim_wire::OpdateringFravaer) {
    let d = sim_wire::read(
        body.as_bytes(),
        Some(&Operation::SendOpdateringFravaer.soap_action()),
    )
    .unwrap();
    let Some(Message::Request(r)) = &d.message else {
        panic!("not a request: {body}")
    };
    let Payload::OpdateringFravaer(p) = &r.payload else {
        panic!("not an OpdateringFravaer")
    };
    let p = p.clone();
    (d, p)
}

// rule JC-1, SP-6: the update reaches the platform with the instance's own certificate,
// is valid, and its AuthorityContext is the header's Myndighed.
#[tokio::test]
async fn jc1_sp6_send_update_reaches_platform_with_own_certificate_and_valid_message() {
    let h = Harness::start().await;
    let out =
        h.jc.send_update(UpdateSpec {
            municipality: Some(SCHULTZ_MUNICIPALITY.into()),
            ..spec("schultz-jc")
        })
        .await
        .unwrap();
    assert_eq!(out.status, UpdateStatus::Accepted);
    assert_eq!(out.transport_code.as_deref(), Some("OK"));
    assert_eq!(out.attempts, 1);
    assert_eq!(out.municipality, SCHULTZ_MUNICIPALITY);

    let seen = h.platform.seen();
    assert_eq!(seen.len(), 1);
    let peer = seen[0].peer.as_ref().expect("client certificate");
    assert_eq!(peer.cvr.as_str(), "99000022", "Schultz's CVR");
    let uuid = h.pki.uuid("schultz-jc");
    assert_eq!(peer.uuid(), Some(uuid.as_str()));
    assert_eq!(
        seen[0].soap_action.as_deref(),
        Some(Operation::SendOpdateringFravaer.soap_action().as_str())
    );
    assert_eq!(seen[0].body, out.request_xml);

    let (decoded, p) = opdatering(&seen[0].body);
    assert!(decoded.is_valid(), "{:#?}", decoded.problems);
    let ac = decoded.authority_context.expect("AuthorityContext");
    assert_eq!(ac.municipality_cvr.to_string(), SCHULTZ_MUNICIPALITY);
    assert_eq!(p.header.myndighed, ac.municipality_cvr);
    assert_eq!(p.header.registrering_it_system.to_string(), uuid);
    assert_eq!(
        p.header.transaktion_identifikator.to_string(),
        out.transaktion_id
    );
    // KSD-5: a generated code is one an outsider may send.
    assert!(p.ophoers_aarsag.outsider_may_send(), "{}", p.ophoers_aarsag);
    assert!(p.ophoers_start_dato >= p.header.foerste_fravaersdag);

    let u = h.jc.update(&out.transaktion_id).await.unwrap().unwrap();
    assert_eq!(u.status, UpdateStatus::Accepted);
    assert_eq!(u.instance, "schultz-jc");
    h.stop().await;
}

// rule JC-4: the default sender is the first instance and its first municipality; each
// instance sends with its own certificate (SP-6).
#[tokio::test]
async fn jc4_each_instance_sends_as_itself() {
    let h = Harness::start().await;
    let a = h.jc.send_update(UpdateSpec::default()).await.unwrap();
    let b = h.jc.send_update(spec("netcompany-jc")).await.unwrap();
    assert_eq!(a.instance, "kmd-jc");
    assert_eq!(a.municipality, KMD_MUNICIPALITIES[0]);
    assert_eq!(b.municipality, NETCOMPANY_MUNICIPALITY);
    // Without an instance, the municipality picks the instance that serves it (JC-3).
    let c =
        h.jc.send_update(UpdateSpec {
            municipality: Some(SCHULTZ_MUNICIPALITY.into()),
            ..UpdateSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(c.instance, "schultz-jc");
    let cvrs: Vec<String> = h
        .platform
        .seen()
        .iter()
        .map(|s| s.peer.as_ref().unwrap().cvr.as_str().to_string())
        .collect();
    assert_eq!(cvrs, ["99000011", "99000033", "99000022"]);
    assert_ne!(a.transaktion_id, b.transaktion_id);
    h.stop().await;
}

// rule JC-3: a solution acts only for its own municipalities, also when sending.
#[tokio::test]
async fn jc3_send_for_a_municipality_not_served_is_refused_before_sending() {
    let h = Harness::start().await;
    let err =
        h.jc.send_update(UpdateSpec {
            municipality: Some(SCHULTZ_MUNICIPALITY.into()),
            ..spec("kmd-jc")
        })
        .await
        .unwrap_err();
    assert!(matches!(err, JobcenterError::NotServed { .. }), "{err}");
    assert!(h.platform.seen().is_empty());
    h.stop().await;
}

// rules JC-2, KSD-2: KSD's business receipt, delivered with KOMBIT's certificate for an own
// municipality, is answered OK, persisted and correlated with the update it answers.
#[tokio::test]
async fn jc2_ksd2_receipt_from_kombit_is_ok_persisted_and_correlated() {
    let h = Harness::start().await;
    let m = KMD_MUNICIPALITIES[1];
    let out =
        h.jc.send_update(UpdateSpec {
            municipality: Some(m.into()),
            ..spec("kmd-jc")
        })
        .await
        .unwrap();
    let reply = h
        .deliver_receipt("kombit", "kmd-jc", m, &out.transaktion_id)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Ok)
    );

    let r =
        h.jc.wait_for_receipt(&out.transaktion_id, PATIENCE)
            .await
            .expect("receipt stored");
    assert_eq!(r.code, "ACCEPTERET");
    assert_eq!(r.instance, "kmd-jc");
    assert_eq!(r.municipality, m);
    assert_eq!(r.deliveries, 1);
    let u = h.jc.update(&out.transaktion_id).await.unwrap().unwrap();
    assert_eq!(u.business_code.as_deref(), Some("ACCEPTERET"));
    assert_eq!(
        u.receipt.as_ref().map(|r| r.code.as_str()),
        Some("ACCEPTERET")
    );
    h.stop().await;
}

// rule KSD-2 (issue 12): a business receipt can also be FEJLET, with its FejlListe, and in the
// seed's shape (FejlKode/FejlTekst directly in FejlListe): the vendor reads it, answers OK
// (the receipt itself is fine; a WIRE-2 warning makes it ADVARSEL) and keeps the code.
#[tokio::test]
async fn ksd2_a_fejlet_business_receipt_in_the_seeds_shape_is_kept() {
    let h = Harness::start().await;
    let m = KMD_MUNICIPALITIES[1];
    let out =
        h.jc.send_update(UpdateSpec {
            municipality: Some(m.into()),
            ..spec("kmd-jc")
        })
        .await
        .unwrap();
    let xml = common::forretnings_svar(m, &out.transaktion_id)
        .replace(">ACCEPTERET<", ">FEJLET<")
        .replace(
            "</kvit:ForretningsValideringsKode>",
            "</kvit:ForretningsValideringsKode><kvit:FejlListe><kvit:FejlKode>KSD-1.INTERN</kvit:FejlKode><kvit:FejlTekst>processing failed</kvit:FejlTekst></kvit:FejlListe>",
        );
    assert!(xml.contains(">FEJLET<"), "{xml}");
    let reply = h
        .deliver("kmd-jc", Operation::ModtagForretningsSvarJc, xml)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let kode = reply.transport_kvittering().map(|k| k.kode);
    assert!(
        matches!(
            kode,
            Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel)
        ),
        "{}",
        reply.body
    );
    let r =
        h.jc.wait_for_receipt(&out.transaktion_id, PATIENCE)
            .await
            .expect("receipt stored");
    assert_eq!(r.code, "FEJLET");
    h.stop().await;
}

// rule JC-2: any certificate other than KOMBIT's gets a SOAP fault naming JC-2 — a vendor's,
// and another system of KOMBIT's own CVR (KSD) when the platform's UUID is pinned.
#[tokio::test]
async fn jc2_receipt_with_another_certificate_is_a_fault() {
    let h = Harness::start().await;
    let m = KMD_MUNICIPALITIES[0];
    let tid = "3f2b8c1e-6a4d-4e8f-9b1a-2c7d5e9f0a13";
    for caller in ["schultz-jc", "ksd"] {
        let reply = h.deliver_receipt(caller, "kmd-jc", m, tid).await;
        assert_eq!(reply.status, 500, "{caller}: {}", reply.body);
        let fault = reply.fault().expect("a SOAP fault");
        assert_eq!(fault.rule(), Some(Rule::Jc2), "{caller}: {}", reply.body);
    }
    assert!(h.jc.receipt(tid).await.unwrap().is_none());
    let refused =
        h.jc.journal(JournalFilter {
            outcome: Some("FAULT:JC-2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        refused.len(),
        4,
        "request and fault journaled for each caller"
    );
    h.stop().await;
}

// rule JC-3: a receipt for a municipality the instance does not serve is answered FEJL
// naming JC-3 and is not processed.
#[tokio::test]
async fn jc3_receipt_for_another_vendors_municipality_is_fejl() {
    let h = Harness::start().await;
    let tid = "3f2b8c1e-6a4d-4e8f-9b1a-2c7d5e9f0a14";
    let reply = h
        .deliver_receipt("kombit", "kmd-jc", SCHULTZ_MUNICIPALITY, tid)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let k = reply.transport_kvittering().expect("a TransportKvittering");
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(
        k.fejl_liste.iter().any(|f| f.fejl_kode.starts_with("JC-3")),
        "{k:?}"
    );
    assert!(h.jc.receipt(tid).await.unwrap().is_none());
    // The right vendor takes it.
    let ok = h
        .deliver_receipt("kombit", "schultz-jc", SCHULTZ_MUNICIPALITY, tid)
        .await;
    assert_eq!(
        ok.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Ok)
    );
    h.stop().await;
}

// rule KSD-7 (at least once): a repeated receipt is answered OK again and counted, but is
// a first receipt only once.
#[tokio::test]
async fn ksd7_duplicate_receipt_is_ok_and_counted_once() {
    let h = Harness::start().await;
    let out = h.jc.send_update(spec("netcompany-jc")).await.unwrap();
    for _ in 0..2 {
        let reply = h
            .deliver_receipt(
                "kombit",
                "netcompany-jc",
                NETCOMPANY_MUNICIPALITY,
                &out.transaktion_id,
            )
            .await;
        assert_eq!(
            reply.transport_kvittering().map(|k| k.kode),
            Some(TransportValideringsKode::Ok),
            "{}",
            reply.body
        );
    }
    let r = h.jc.receipt(&out.transaktion_id).await.unwrap().unwrap();
    assert_eq!(r.deliveries, 2);
    assert_eq!(
        h.jc.receipt_count().await.unwrap(),
        1,
        "a repeat is not a second receipt"
    );
    let received: Vec<String> =
        h.jc.journal(JournalFilter {
            transaktion_id: Some(out.transaktion_id.clone()),
            operation: Some(Operation::ModtagForretningsSvarJc.label()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.entry.detail)
        .collect();
    let firsts = received
        .iter()
        .filter(|d| d.starts_with("first receipt"))
        .count();
    let repeats = received
        .iter()
        .filter(|d| d.starts_with("repeated delivery"))
        .count();
    assert_eq!((firsts, repeats), (1, 1), "{received:?}");
    assert_eq!(h.jc.receipts(None).await.unwrap().len(), 1);
    h.stop().await;
}

// rule JC-1: a fault from the platform is not an answer about the message; the same
// message (same TransaktionIdentifikator) is sent again and accepted.
#[tokio::test]
async fn jc1_fault_then_ok_resends_the_same_transaktion_id() {
    let h = Harness::start().await;
    h.platform
        .script(&[Answer::Fault, Answer::Fault, Answer::Ok]);
    let out = h.jc.send_update(spec("kmd-jc")).await.unwrap();
    assert_eq!(out.status, UpdateStatus::Accepted);
    assert_eq!(out.attempts, 3);
    let seen = h.platform.seen();
    assert_eq!(seen.len(), 3);
    let tids: Vec<String> = seen
        .iter()
        .map(|s| {
            opdatering(&s.body)
                .1
                .header
                .transaktion_identifikator
                .to_string()
        })
        .collect();
    assert!(tids.iter().all(|t| *t == out.transaktion_id), "{tids:?}");
    assert!(
        seen.iter().all(|s| s.body == out.request_xml),
        "byte-identical resends"
    );
    let u = h.jc.update(&out.transaktion_id).await.unwrap().unwrap();
    assert_eq!((u.status, u.attempts), (UpdateStatus::Accepted, 3));
    h.stop().await;
}

// rule JC-1: FEJL means "fix and resend"; a simulated vendor cannot fix, so the update is
// recorded as rejected and not resent.
#[tokio::test]
async fn jc1_fejl_is_recorded_rejected_and_not_resent() {
    let h = Harness::start().await;
    h.platform.script(&[Answer::Fejl]);
    let out = h.jc.send_update(spec("schultz-jc")).await.unwrap();
    assert_eq!(out.status, UpdateStatus::Rejected);
    assert_eq!(out.transport_code.as_deref(), Some("FEJL"));
    assert_eq!(out.attempts, 1);
    assert_eq!(h.platform.seen().len(), 1);
    let u = h.jc.update(&out.transaktion_id).await.unwrap().unwrap();
    assert_eq!(u.status, UpdateStatus::Rejected);
    h.stop().await;
}

// The seed decides the ids: the same seed on fresh state sends the same
// TransaktionIdentifikator and the same message data.
#[tokio::test]
async fn same_seed_same_first_update() {
    let a = Harness::start_with(42).await;
    let b = Harness::start_with(42).await;
    let x = a.jc.send_update(UpdateSpec::default()).await.unwrap();
    let y = b.jc.send_update(UpdateSpec::default()).await.unwrap();
    assert_eq!(x.transaktion_id, y.transaktion_id);
    let (_, px) = opdatering(&x.request_xml);
    let (_, py) = opdatering(&y.request_xml);
    assert_eq!(px.header.sygemeldte_part, py.header.sygemeldte_part);
    assert_eq!(px.ophoers_aarsag, py.ophoers_aarsag);
    a.stop().await;
    b.stop().await;
}

// The admin API drives the same: send, look up, long-poll (408 before, 200 after the
// receipt), receipts, journal and counters.
#[tokio::test]
async fn admin_api_send_wait_and_inspect() {
    let h = Harness::start().await;
    let (status, health) = admin(h.admin, "GET", "/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(health["instances"]["kmd-jc"]["vendor"], "KMD");

    let (status, out) = admin(
        h.admin,
        "POST",
        "/send",
        Some(serde_json::json!({ "instance": "kmd-jc", "ophoers_aarsag": 20 })),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "accepted");
    let tid = out["transaktion_id"].as_str().unwrap().to_string();
    let (_, p) = opdatering(out["request_xml"].as_str().unwrap());
    assert_eq!(p.ophoers_aarsag.code(), 20);

    let (status, u) = admin(h.admin, "GET", &format!("/updates/{tid}"), None).await;
    assert_eq!((status, u["status"].as_str()), (200, Some("accepted")));
    assert!(u["receipt"].is_null());

    let (status, _) = admin(
        h.admin,
        "GET",
        &format!("/updates/{tid}/wait?timeout_ms=1"),
        None,
    )
    .await;
    assert_eq!(status, 408);
    let (status, _) = admin(
        h.admin,
        "GET",
        "/updates/00000000-0000-4000-8000-000000000000/wait?timeout_ms=1",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // JC-3 over the admin API: 400 for a municipality kmd-jc does not serve.
    let (status, err) = admin(
        h.admin,
        "POST",
        "/send",
        Some(serde_json::json!({ "instance": "kmd-jc", "municipality": SCHULTZ_MUNICIPALITY })),
    )
    .await;
    assert_eq!(status, 400, "{err}");

    h.deliver_receipt("kombit", "kmd-jc", KMD_MUNICIPALITIES[0], &tid)
        .await;
    let (status, u) = admin(
        h.admin,
        "GET",
        &format!("/updates/{tid}/wait?timeout_ms=10000"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["business_code"], "ACCEPTERET");
    assert_eq!(u["receipt"]["deliveries"], 1);
    assert!(u["business_raw"]
        .as_str()
        .unwrap()
        .contains("ModtagForretningsSvarRequest"));

    let (_, receipts) = admin(h.admin, "GET", "/receipts?instance=kmd-jc", None).await;
    assert_eq!(receipts.as_array().map(Vec::len), Some(1));
    let (_, none) = admin(h.admin, "GET", "/receipts?instance=schultz-jc", None).await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));

    let (_, journal) = admin(
        h.admin,
        "GET",
        &format!("/journal?transaktion_id={tid}"),
        None,
    )
    .await;
    let ops: Vec<&str> = journal
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "KSD/SendOpdateringFravaer",
            "KSD/SendOpdateringFravaer#response",
            "JC/ModtagForretningsSvar",
            "JC/ModtagForretningsSvar#response"
        ]
    );
    let (_, counters) = admin(h.admin, "GET", "/counters", None).await;
    assert_eq!(counters["updates"]["kmd-jc"]["accepted"], 1);
    assert_eq!(counters["receipts"], 1);
    h.stop().await;
}

// rule JC-1: the vendor owns an update until a TransportKvittering arrives. With the
// platform unreachable every attempt fails and the update stays `sent`, in the background
// resender's queue; the next start on the same state resends the same message, which is
// then accepted.
#[tokio::test]
async fn jc1_unanswered_update_is_resent_after_restart() {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    // A port nobody listens on: bind, note, close.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = config(
        &pki,
        &format!("https://localhost:{dead}/service/KSD/Sygefravaer/2"),
        state.path(),
        7,
    );
    cfg.max_send_attempts = 2;
    let h = Harness::launch(pki, platform, state, cfg).await;
    let out = h.jc.send_update(spec("kmd-jc")).await.unwrap();
    assert_eq!(out.status, UpdateStatus::Sent, "not given up");
    assert_eq!(out.attempts, 2);
    assert!(
        out.fault.as_deref().unwrap_or("").starts_with("transport"),
        "{out:?}"
    );
    let tid = out.transaktion_id.clone();

    let (pki, platform, state) = h.stop_keep().await;
    let cfg = config(&pki, &platform.url(), state.path(), 7);
    let h = Harness::launch(pki, platform, state, cfg).await;
    let mut status = None;
    for _ in 0..1000 {
        let u = h.jc.update(&tid).await.unwrap().unwrap();
        if u.status == UpdateStatus::Accepted {
            status = Some(u);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let u = status.expect("resent and accepted after the restart");
    // Two quick attempts, any background resends to the dead port before the stop, one
    // accepted.
    assert!(u.attempts >= 3, "{}", u.attempts);
    let seen = h.platform.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body, out.request_xml,
        "the same message, byte for byte"
    );
    h.stop().await;
}

// rule JC-1: the vendor never gives an update up on faults or transport errors. Past its
// quick attempts the background resender keeps sending the identical document, with
// jittered backoff, until a TransportKvittering arrives — here after ten SP-4 faults,
// without a restart and without anyone asking.
#[tokio::test]
async fn jc1_the_background_resender_sends_until_a_transport_receipt() {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    platform.script(&[Answer::Fault; 10]);
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&pki, &platform.url(), state.path(), 7);
    cfg.max_send_attempts = 2;
    cfg.resend_max_backoff_ms = 50;
    let h = Harness::launch(pki, platform, state, cfg).await;
    let out = h.jc.send_update(spec("kmd-jc")).await.unwrap();
    assert_eq!(out.status, UpdateStatus::Sent, "{out:?}");
    assert_eq!(out.attempts, 2);
    let tid = out.transaktion_id.clone();
    let mut accepted = None;
    for _ in 0..1000 {
        let u = h.jc.update(&tid).await.unwrap().unwrap();
        if u.status != UpdateStatus::Sent {
            accepted = Some(u);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let u = accepted.expect("the background resender got a TransportKvittering");
    assert_eq!(u.status, UpdateStatus::Accepted);
    assert_eq!(u.attempts, 11, "ten faults, then OK");
    let seen = h.platform.seen();
    assert_eq!(seen.len(), 11);
    assert!(
        seen.iter().all(|s| s.body == out.request_xml),
        "the identical document every time"
    );
    // Nothing more is sent once it is answered.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(h.platform.seen().len(), 11);
    h.stop().await;
}
