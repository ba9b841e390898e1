//! SF2095 end to end over mutual TLS: the platform (KOMBIT's certificate) calls KSD's
//! `ModtagOpdateringFravaer`; KSD answers with a TransportKvittering and sends the business
//! receipt to a fake platform.

mod common;

use common::{eventually, kvittering, update, FakePlatform, Pki, RunningKsd, CPR, MUNICIPALITY};
use sim_wire::{ForretningsValideringsKode, Payload, TransportValideringsKode};

/// Waits until KSD's outbox is empty and the fake platform holds `n` receipts.
async fn receipts(ksd: &RunningKsd, platform: &FakePlatform, n: usize) -> Vec<common::Received> {
    eventually("the business receipts to be delivered", || async {
        let got = platform.received();
        (got.len() >= n && ksd.outbox_pending().await == 0).then_some(got)
    })
    .await
}

// rule KSD-1 (OK), rule KSD-2 (business receipt with the same TransaktionIdentifikator, sent
// in the security context's municipality), rule KSD-9 (case created with VarighedKode 60).
#[tokio::test]
async fn a_valid_update_is_ok_then_one_business_receipt_follows_rules_ksd1_ksd2_ksd9() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    let reply = ksd
        .send(
            &pki.client("kombit"),
            sim_wire::write_request(&update(tid, 20)),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Ok, "{k:?}");
    assert!(k.fejl_liste.is_empty());

    // The update is stored and the case ended (KSD-9: created with 60).
    let (status, u) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["verdict"], "ACCEPTERET");
    let (_, cases) = ksd.get(&format!("/cases?cpr={CPR}")).await;
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["status"], "OPHOERT");
    assert_eq!(cases[0]["varighed_kode"], "60");
    assert_eq!(cases[0]["ophoers_aarsag"], 20);
    assert_eq!(cases[0]["municipality"], MUNICIPALITY);
    let sag_id = cases[0]["sag_id"].as_str().unwrap().to_string();
    assert_eq!(u["sag_id"], sag_id.as_str());

    // KSD-2: exactly one receipt, same TransaktionIdentifikator, the security context's
    // municipality, KSD's certificate and fields, ACCEPTERET without FejlListe.
    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.context.as_deref(), Some(MUNICIPALITY));
    assert_eq!(
        r.peer.as_ref().and_then(|p| p.uuid()),
        pki.system_ref("ksd").uuid.as_deref(),
        "KSD calls the platform with its own system certificate"
    );
    let svar = r.svar.as_ref().expect("a ForretningsSvar");
    assert_eq!(svar.header.transaktion_identifikator.to_string(), tid);
    assert_eq!(svar.header.myndighed.to_string(), MUNICIPALITY);
    assert_eq!(svar.header.sygemeldte_part.to_string(), CPR);
    assert_eq!(
        svar.header.sag_identifikator.map(|s| s.to_string()),
        Some(sag_id.clone())
    );
    assert_eq!(
        Some(svar.header.registrering_it_system.to_string()),
        pki.system_ref("ksd").uuid
    );
    assert!(svar.header.registrering_bruger.is_none());
    assert!(svar.header.udgiver_type_kode.is_none());
    assert_eq!(svar.kvittering.kode, ForretningsValideringsKode::Accepteret);
    assert!(svar.kvittering.fejl_liste.is_empty());

    // Every leg is journaled: request, answer, delivery and the platform's answer.
    let sent = ksd.journal("operation=JC/SendForretningsSvar").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["outcome"], "OK");
    assert_eq!(sent[0]["transaktion_id"], tid);
    let (_, case) = ksd.get(&format!("/cases/{sag_id}")).await;
    assert_eq!(case["history"].as_array().unwrap().len(), 1, "{case}");
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-7: a repeated TransaktionIdentifikator is processed once and answered again with
// the same result; reused with other content it is refused (FEJL naming KSD-7, issue 15).
#[tokio::test]
async fn a_repeated_transaction_gets_the_same_bytes_and_is_processed_once_rule_ksd7() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let client = pki.client("kombit");
    let tid = "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e";
    let xml = sim_wire::write_request(&update(tid, 20));

    let first = ksd.send(&client, xml.clone()).await;
    assert_eq!(
        kvittering(&first).kode,
        TransportValideringsKode::Ok,
        "{}",
        first.body
    );
    let again = ksd.send(&client, xml).await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body, "the very same answer");
    // The same TransaktionIdentifikator with other content is another message: refused with
    // FEJL naming KSD-7, not processed.
    let changed = ksd
        .send(&client, sim_wire::write_request(&update(tid, 1)))
        .await;
    let k = kvittering(&changed);
    assert_eq!(k.kode, TransportValideringsKode::Fejl, "{}", changed.body);
    assert!(
        k.fejl_liste
            .iter()
            .any(|f| f.fejl_kode.starts_with("KSD-7")),
        "{}",
        changed.body
    );

    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(got.len(), 1, "one business receipt: {got:?}");
    let (_, cases) = ksd.get(&format!("/cases?cpr={CPR}")).await;
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["ophoers_aarsag"], 20, "the repeat changed nothing");
    let sag_id = cases[0]["sag_id"].as_str().unwrap();
    let (_, case) = ksd.get(&format!("/cases/{sag_id}")).await;
    assert_eq!(
        case["history"].as_array().unwrap().len(),
        1,
        "one case change: {case}"
    );
    let dups = ksd
        .journal("operation=KSD/ModtagOpdateringFravaer&direction=in&outcome=DUPLICATE")
        .await;
    assert_eq!(dups.len(), 1, "{dups:?}");
    let reused = ksd
        .journal("operation=KSD/ModtagOpdateringFravaer&direction=in&outcome=FEJL")
        .await;
    assert_eq!(reused.len(), 1, "{reused:?}");
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-5 (60-64 never accepted from outside) and rule KSD-1 (FEJL = not processed, with
// Begrundelse and FejlListe); rule KSD-14 (10 from outside is discarded: ADVARSEL naming
// KSD-14.KASSERET, not FEJL, and equally not processed): nothing is stored, no receipt is sent.
#[tokio::test]
async fn outsider_codes_60_64_are_fejl_and_10_is_discarded_nothing_stored_rules_ksd5_ksd1_ksd14() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let client = pki.client("kombit");

    let moved = "2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f";
    for (tid, code) in [
        (moved, 10),
        ("3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f7a", 60),
        ("4e5f6a7b-8c9d-4e0f-9a1b-3c4d5e6f7a8b", 64),
    ] {
        // Twice: a discarded or refused update sent again is answered the same.
        for _ in 0..2 {
            let reply = ksd
                .send(&client, sim_wire::write_request(&update(tid, code)))
                .await;
            assert_eq!(reply.status, 200, "a receipt, not a fault");
            let k = kvittering(&reply);
            assert!(k.begrundelse.is_some());
            if code == 10 {
                assert_eq!(k.kode, TransportValideringsKode::Advarsel, "code 10: {k:?}");
                assert!(k.discards(), "names KSD-14.KASSERET: {k:?}");
            } else {
                assert_eq!(k.kode, TransportValideringsKode::Fejl, "code {code}");
                assert!(
                    k.fejl_liste
                        .iter()
                        .any(|f| f.fejl_kode.starts_with("KSD-5")),
                    "code {code}: {k:?}"
                );
            }
        }
        let (status, _) = ksd.get(&format!("/updates/{tid}")).await;
        assert_eq!(status, 404, "code {code}: not stored");
    }
    let (_, cases) = ksd.get(&format!("/cases?cpr={CPR}")).await;
    assert_eq!(cases.as_array().unwrap().len(), 0, "no case: {cases}");
    // The receipt would have been enqueued before the answer; nothing was.
    assert_eq!(ksd.outbox_pending().await, 0);
    assert!(ksd
        .journal("operation=JC/SendForretningsSvar")
        .await
        .is_empty());
    let discarded = ksd
        .journal("operation=KSD/ModtagOpdateringFravaer&direction=in&outcome=DISCARDED")
        .await;
    assert_eq!(discarded.len(), 2, "journaled as discarded: {discarded:?}");
    let fejl = ksd
        .journal("operation=KSD/ModtagOpdateringFravaer&direction=in&outcome=FEJL")
        .await;
    assert_eq!(fejl.len(), 4, "journaled all the same");

    // A valid update afterwards: its receipt is the only one the platform ever gets.
    let tid = "5f6a7b8c-9d0e-4f1a-8b2c-4d5e6f7a8b9c";
    let reply = ksd
        .send(&client, sim_wire::write_request(&update(tid, 20)))
        .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]
            .svar
            .as_ref()
            .unwrap()
            .header
            .transaktion_identifikator
            .to_string(),
        tid
    );
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-3: a header without Myndighed is FEJL naming KSD-3, and not processed.
#[tokio::test]
async fn a_header_without_myndighed_is_fejl_rule_ksd3() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "6a7b8c9d-0e1f-4a2b-9c3d-5e6f7a8b9c0d";
    let xml = sim_wire::write_request(&update(tid, 20));
    let element = format!("<sft:Myndighed>{MUNICIPALITY}</sft:Myndighed>");
    assert!(xml.contains(&element), "{xml}");
    let xml = xml.replace(&element, "");

    let reply = ksd.send(&pki.client("kombit"), xml).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(
        k.fejl_liste
            .iter()
            .any(|f| f.fejl_kode == "KSD-3.MANGLER" && f.fejl_tekst.contains("Myndighed")),
        "{k:?}"
    );
    let (status, _) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 404);
    assert_eq!(ksd.outbox_pending().await, 0);
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-2 (a business verdict): ending follow-up before the first day of absence is
// accepted for processing (OK) but AFVIST in the business receipt, with a Begrundelse and
// no FejlListe; the case is left as it was.
#[tokio::test]
async fn ending_before_the_first_day_of_absence_is_afvist_rule_ksd2() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "7b8c9d0e-1f2a-4b3c-8d4e-6f7a8b9c0d1e";
    let mut request = update(tid, 20);
    let Payload::OpdateringFravaer(u) = &mut request.payload else {
        unreachable!()
    };
    u.ophoers_start_dato = "2026-09-30".parse().unwrap(); // FoersteFravaersdag is 2026-10-05

    let reply = ksd
        .send(&pki.client("kombit"), sim_wire::write_request(&request))
        .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let got = receipts(&ksd, &platform, 1).await;
    let svar = got[0].svar.as_ref().unwrap();
    assert_eq!(svar.kvittering.kode, ForretningsValideringsKode::Afvist);
    assert!(svar.kvittering.begrundelse.is_some());
    assert!(svar.kvittering.fejl_liste.is_empty());
    let (_, cases) = ksd.get(&format!("/cases?cpr={CPR}")).await;
    assert_eq!(cases[0]["status"], "AKTIV", "{cases}");
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-7 under concurrency: copies racing each other are still processed once (the
// database's key decides) and all get the same answer.
#[tokio::test]
async fn concurrent_copies_of_one_transaction_are_processed_once_rule_ksd7() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let client = pki.client("kombit");
    let tid = "0e1f2a3b-4c5d-4e6f-9a7b-9c0d1e2f3a4b";
    let xml = sim_wire::write_request(&update(tid, 20));

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (ksd_url, client, xml) = (ksd.url(), client.clone(), xml.clone());
        calls.spawn(async move {
            client
                .call(
                    &ksd_url,
                    &sim_wire::Operation::ModtagOpdateringFravaer.soap_action(),
                    xml,
                )
                .await
                .unwrap()
                .body
        });
    }
    let bodies: Vec<String> = calls.join_all().await;
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(got.len(), 1);
    let (_, cases) = ksd.get(&format!("/cases?cpr={CPR}")).await;
    let sag_id = cases[0]["sag_id"].as_str().unwrap();
    let (_, case) = ksd.get(&format!("/cases/{sag_id}")).await;
    assert_eq!(case["history"].as_array().unwrap().len(), 1, "{case}");
    let dups = ksd
        .journal("operation=KSD/ModtagOpdateringFravaer&direction=in&outcome=DUPLICATE")
        .await;
    assert_eq!(dups.len(), 7);
    ksd.stop().await;
    platform.stop().await;
}

// The receipt delay is virtual time: on a manual clock the receipt is due one virtual minute
// after the update, is not sent before the clock gets there, and carries that send time.
#[tokio::test]
async fn the_business_receipt_waits_for_the_virtual_receipt_delay() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let clock = sim_store::Clock::manual(time::macros::datetime!(2026-11-23 09:00 UTC));
    let mut config = common::config(&pki, state.path(), &platform.url());
    config.clock = clock.clone();
    config.receipt_delay_ms = 60_000;
    let ksd = common::start_ksd(config).await;
    let tid = "1f2a3b4c-5d6e-4f7a-8b8c-0d1e2f3a4b5c";

    let reply = ksd
        .send(
            &pki.client("kombit"),
            sim_wire::write_request(&update(tid, 20)),
        )
        .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let (_, items) = ksd.get("/outbox").await;
    assert_eq!(items[0]["due_at"], "2026-11-23T09:01:00Z", "{items}");
    assert_eq!(items[0]["attempts"], 0);
    // The clock stands still, so nothing can have been sent.
    assert!(platform.received().is_empty());

    clock.advance(std::time::Duration::from_secs(60));
    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(
        got[0]
            .svar
            .as_ref()
            .unwrap()
            .header
            .besked_forsendelses_dato_tid
            .to_string(),
        "2026-11-23T09:01:00Z"
    );
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-8: the security context's CVR and the header's Myndighed must agree; a mismatch
// is the sender's error (FEJL naming KSD-8), never processed for either municipality.
#[tokio::test]
async fn a_context_that_disagrees_with_myndighed_is_fejl_rule_ksd8() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "2a3b4c5d-6e7f-4a8b-9c9d-1e2f3a4b5c6d";
    let mut request = update(tid, 20);
    request.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: "55133018".parse().unwrap(),
    });

    let reply = ksd
        .send(&pki.client("kombit"), sim_wire::write_request(&request))
        .await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(
        k.fejl_liste
            .iter()
            .any(|f| f.fejl_kode.starts_with("KSD-8")),
        "{k:?}"
    );
    let (status, _) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 404);
    let (_, cases) = ksd.get("/cases").await;
    assert_eq!(cases.as_array().unwrap().len(), 0);
    ksd.stop().await;
    platform.stop().await;
}

// rule KSD-1 (ADVARSEL): warnings only — here an element the contract does not have — are
// reported in the FejlListe, and the update is processed like an OK one.
#[tokio::test]
async fn warnings_only_give_advarsel_and_the_update_is_processed_rule_ksd1() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let tid = "4c5d6e7f-8a9b-4c0d-9e1f-3a4b5c6d7e8f";
    let xml = sim_wire::write_request(&update(tid, 20));
    let end = "</sft:OpdateringFravaer>";
    assert!(xml.contains(end), "{xml}");
    let xml = xml.replace(end, &format!("<sft:Ekstra>x</sft:Ekstra>{end}"));

    let reply = ksd.send(&pki.client("kombit"), xml).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Advarsel, "{k:?}");
    assert!(k.begrundelse.is_some());
    assert!(
        k.fejl_liste
            .iter()
            .any(|f| f.fejl_kode.starts_with("WIRE-3")),
        "{k:?}"
    );
    let (status, _) = ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(status, 200, "processed");
    let got = receipts(&ksd, &platform, 1).await;
    assert_eq!(
        got[0].svar.as_ref().unwrap().kvittering.kode,
        ForretningsValideringsKode::Accepteret
    );
    ksd.stop().await;
    platform.stop().await;
}
