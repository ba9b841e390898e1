//! The case lifecycle (KSD-9) with SF2090 events (KSD-10) and SF2093 extension requests
//! (KSD-11), driven through KSD's real ports: a fake platform records what KSD sends, the test
//! answers as the platform forwarding a jobcenter would, and a manual clock moves virtual time
//! to the duration limits.

mod common;

use common::*;
use serde_json::{json, Value};
use sim_kit::soap::SoapClient;
use sim_store::Clock;
use sim_wire::{
    AuthorityContext, Dato, DatoTid, ForlaengelseType, ForretningsSvar,
    ForretningsSvarForlaengelse, ForretningsValideringsKode, Forretningskvittering, Haendelse,
    Operation, Payload, Request, SvarForlaengelse, TransportValideringsKode,
};

const MUNICIPALITY: &str = "29189846"; // Aarhus Kommune
const OTHER: &str = "55133018"; // Københavns Kommune

fn start_time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-02 10:00 UTC)
}

struct Setup {
    ksd: RunningKsd,
    platform: FakePlatform,
    clock: Clock,
    kombit: SoapClient,
    _dir: tempfile::TempDir,
    /// Held to the end: KSD reads its certificates from the PKI's directory.
    _pki: Pki,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let platform = FakePlatform::bind(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(start_time());
    let mut cfg = config(&pki, dir.path(), &platform.url());
    cfg.clock = clock.clone();
    let ksd = start_ksd(cfg).await;
    assert_eq!(ksd.get("/health").await.0, 200);
    Setup {
        ksd,
        platform,
        clock,
        kombit: pki.client("kombit"),
        _dir: dir,
        _pki: pki,
    }
}

/// A case that began `weeks_ago` weeks before the start time.
async fn create(s: &Setup, weeks_ago: i64, pensioner: bool) -> Value {
    let first = (start_time() - time::Duration::weeks(weeks_ago)).date();
    let (status, v) = s
        .ksd
        .post(
            "/cases",
            json!({
                "cpr": "0101701234",
                "municipality": MUNICIPALITY,
                "arbejdsgiver": "12345674",
                "foerste_fravaersdag": Dato(first).to_string(),
                "pensioner": pensioner,
            }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v
}

/// [`create`]'s case id.
async fn create_id(s: &Setup, weeks_ago: i64, pensioner: bool) -> String {
    create(s, weeks_ago, pensioner).await["sag_id"]
        .as_str()
        .unwrap()
        .to_string()
}

impl Setup {
    /// Stops KSD and the fake platform.
    async fn stop(self) {
        self.ksd.stop().await;
        self.platform.stop().await;
    }
}

/// The requests of `op` the fake platform got about case `sag`.
fn sent(s: &Setup, op: Operation, sag: &str) -> Vec<Request> {
    s.platform
        .received()
        .into_iter()
        .filter_map(|r| r.request)
        .filter(|r| r.operation == op)
        .filter(|r| {
            r.payload
                .header()
                .and_then(|h| h.sag_identifikator)
                .is_some_and(|id| id.to_string() == sag)
        })
        .collect()
}

async fn wait_sent(s: &Setup, op: Operation, sag: &str, n: usize) -> Vec<Request> {
    eventually(&format!("{n} × {op} for {sag}"), || async {
        let got = sent(s, op, sag);
        (got.len() >= n).then_some(got)
    })
    .await
}

fn haendelse(r: &Request) -> &Haendelse {
    match &r.payload {
        Payload::Haendelse(h) => h,
        other => panic!("not a Haendelse: {other:?}"),
    }
}

/// The jobcenter's acknowledgement of an event, as the platform forwards it.
fn ack(event: &Request, municipality: &str) -> String {
    let h = haendelse(event);
    let mut header = h.header.clone();
    header.besked_forsendelses_dato_tid = DatoTid(start_time());
    // The answering jobcenter's own municipality, in the header as in the context (KSD-8).
    header.myndighed = municipality.parse().unwrap();
    sim_wire::write_request(&Request {
        operation: Operation::ModtagForretningsSvarKsd,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: municipality.parse().unwrap(),
        }),
        payload: Payload::ForretningsSvar(ForretningsSvar {
            header,
            kvittering: Forretningskvittering {
                kode: ForretningsValideringsKode::Modtaget,
                begrundelse: None,
                fejl_liste: vec![],
            },
        }),
    })
}

/// The jobcenter's answer to an extension request.
fn answer(request: &Request, municipality: &str, svar: SvarForlaengelse) -> String {
    let mut header = request.payload.header().unwrap().clone();
    header.myndighed = municipality.parse().unwrap();
    sim_wire::write_request(&Request {
        operation: Operation::ModtagForretningsSvarForlaengelse,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: municipality.parse().unwrap(),
        }),
        payload: Payload::ForretningsSvarForlaengelse(ForretningsSvarForlaengelse { header, svar }),
    })
}

/// The jobcenter's answer to `request` as the platform forwards it to KSD.
async fn send_answer(
    s: &Setup,
    request: &Request,
    municipality: &str,
    svar: SvarForlaengelse,
) -> sim_kit::soap::SoapReply {
    let xml = answer(request, municipality, svar);
    s.ksd
        .call(&s.kombit, Operation::ModtagForretningsSvarForlaengelse, xml)
        .await
}

/// The jobcenter's acknowledgement of `event` as the platform forwards it to KSD.
async fn send_ack(s: &Setup, event: &Request, municipality: &str) -> sim_kit::soap::SoapReply {
    let xml = ack(event, municipality);
    s.ksd
        .call(&s.kombit, Operation::ModtagForretningsSvarKsd, xml)
        .await
}

async fn case(s: &Setup, sag: &str) -> Value {
    let (status, v) = s.ksd.get(&format!("/cases/{sag}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn wait_code(s: &Setup, sag: &str, code: &str) -> Value {
    eventually(&format!("case {sag} to become {code}"), || async {
        let v = case(s, sag).await;
        (v["varighed_kode"] == code).then_some(v)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_case_is_an_oprettet_event_acknowledged_once_ksd10_jc3() {
    let s = setup().await;
    let sag = create(&s, 1, false).await;
    let sag_id = sag["sag_id"].as_str().unwrap().to_string();
    assert_eq!(sag["varighed_kode"], "60");

    let events = wait_sent(&s, Operation::SendHaendelse, &sag_id, 1).await;
    let h = haendelse(&events[0]);
    assert_eq!(h.haendelse_type.as_str(), "OPRETTET");
    assert_eq!(h.sag.varighed_kode.as_str(), "60");
    assert_eq!(
        events[0]
            .authority_context
            .as_ref()
            .unwrap()
            .municipality_cvr
            .to_string(),
        MUNICIPALITY
    );

    // JC-3: another municipality cannot acknowledge it.
    let reply = send_ack(&s, &events[0], OTHER).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(k.fejl_liste[0].fejl_kode.starts_with("JC-3"), "{k:?}");

    // The first acknowledgement is recorded; a repeat is answered OK and only counted.
    for _ in 0..2 {
        let reply = send_ack(&s, &events[0], MUNICIPALITY).await;
        assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    }
    // KSD records the delivery's receipt once the platform's answer is back.
    let e = eventually("the event's delivery recorded", || async {
        let (_, list) = s.ksd.get(&format!("/events?sag_id={sag_id}")).await;
        let e = list.as_array()?.first()?.clone();
        (e["transport"] == "OK").then_some(e)
    })
    .await;
    assert_eq!(e["acks"], 2, "{e}");
    assert!(e["acked_at"].is_string(), "{e}");

    // An acknowledgement of no event KSD sent is refused.
    let mut unknown = events[0].clone();
    if let Payload::Haendelse(h) = &mut unknown.payload {
        h.header.transaktion_identifikator =
            "0a0a0a0a-0000-4000-8000-000000000001".parse().unwrap();
    }
    let reply = send_ack(&s, &unknown, MUNICIPALITY).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(k.fejl_liste[0].fejl_kode.starts_with("KSD-10"), "{k:?}");

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_event_is_sent_again_with_the_same_transaction_ksd10() {
    let s = setup().await;
    let sag_id = create_id(&s, 1, false).await;
    let first = wait_sent(&s, Operation::SendHaendelse, &sag_id, 1).await;
    s.clock.advance(std::time::Duration::from_secs(25 * 3600));
    let both = wait_sent(&s, Operation::SendHaendelse, &sag_id, 2).await;
    assert_eq!(
        both[1].payload.header().unwrap().transaktion_identifikator,
        first[0].payload.header().unwrap().transaktion_identifikator,
        "at least once: the same event again"
    );
    let (_, list) = s.ksd.get(&format!("/events?sag_id={sag_id}")).await;
    assert_eq!(list[0]["sends"], 2, "{list}");
    assert_eq!(list[0]["acks"], 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_to_62_to_63_at_the_limit_then_64_late_ksd9_ksd11() {
    let s = setup().await;
    // Began 20 weeks ago: the 22-week limit is two weeks away, the request (28 days before
    // the limit) is due at once.
    let sag = create(&s, 20, false).await;
    let sag_id = sag["sag_id"].as_str().unwrap().to_string();
    let first = Dato((start_time() - time::Duration::weeks(20)).date());
    let limit = Dato(first.0 + time::Duration::weeks(22));
    let requests = wait_sent(&s, Operation::SendAnmodningForlaengelse, &sag_id, 1).await;
    let Payload::AnmodningForlaengelse(a) = &requests[0].payload else {
        panic!("an AnmodningForlaengelse")
    };
    assert_eq!(a.varighedsgraense_dato, limit);
    assert_eq!(a.svar_frist, Dato(limit.0 - time::Duration::days(1)));

    // JC-3: another municipality's answer is refused and changes nothing.
    let extended_to = Dato(limit.0 + time::Duration::weeks(8));
    let limited = SvarForlaengelse::Forlaengelse {
        forlaengelse_type: ForlaengelseType::Tidsbegraenset,
        forlaengelse_slut_dato: Some(extended_to),
    };
    let reply = send_answer(&s, &requests[0], OTHER, limited.clone()).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(k.fejl_liste[0].fejl_kode.starts_with("JC-3"), "{k:?}");
    assert_eq!(case(&s, &sag_id).await["varighed_kode"], "60");

    // A time-limited extension: 62, the new limit, and an AENDRET event.
    let reply = send_answer(&s, &requests[0], MUNICIPALITY, limited).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let c = wait_code(&s, &sag_id, "62").await;
    assert_eq!(c["limit"]["graense"], extended_to.to_string());
    let events = wait_sent(&s, Operation::SendHaendelse, &sag_id, 2).await;
    let changed = events
        .iter()
        .map(haendelse)
        .find(|h| h.haendelse_type.as_str() == "AENDRET")
        .expect("an AENDRET event");
    assert_eq!(changed.sag.varighed_kode.as_str(), "62");

    // Within 28 days of the new limit (eight weeks on): the next request goes out.
    s.clock
        .advance(std::time::Duration::from_secs(8 * 7 * 24 * 3600));
    let requests = wait_sent(&s, Operation::SendAnmodningForlaengelse, &sag_id, 2).await;
    // Past the new limit with no answer to it: 63, told as AENDRET.
    s.clock
        .advance(std::time::Duration::from_secs(3 * 7 * 24 * 3600));
    let c = wait_code(&s, &sag_id, "63").await;
    assert_eq!(c["limit"]["open"], false);
    // (The unacknowledged events are sent again meanwhile: wait for the one with 63.)
    eventually("the AENDRET event with 63", || async {
        sent(&s, Operation::SendHaendelse, &sag_id)
            .iter()
            .any(|e| haendelse(e).sag.varighed_kode.as_str() == "63")
            .then_some(())
    })
    .await;

    // The late answer, unlimited: applied (64) and answered ADVARSEL KSD-11.SEN.
    let unlimited = SvarForlaengelse::Forlaengelse {
        forlaengelse_type: ForlaengelseType::Tidsubegraenset,
        forlaengelse_slut_dato: None,
    };
    let reply = send_answer(&s, &requests[1], MUNICIPALITY, unlimited.clone()).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Advarsel, "{k:?}");
    assert!(k.fejl_liste[0].fejl_kode.starts_with("KSD-11.SEN"), "{k:?}");
    wait_code(&s, &sag_id, "64").await;
    // A repeat changes nothing.
    let reply = send_answer(&s, &requests[1], MUNICIPALITY, unlimited).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let (_, list) = s
        .ksd
        .get(&format!("/extension-requests?sag_id={sag_id}"))
        .await;
    let newest = &list[0];
    assert_eq!(newest["answer"], "TIDSUBEGRAENSET");
    assert_eq!(newest["late"], true);
    assert_eq!(newest["answers"], 2);

    // 64 has no limit: no more requests however long it runs.
    s.clock
        .advance(std::time::Duration::from_secs(30 * 7 * 24 * 3600));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        sent(&s, Operation::SendAnmodningForlaengelse, &sag_id).len(),
        2
    );
    assert_eq!(case(&s, &sag_id).await["varighed_kode"], "64");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pensioners_case_is_61_with_its_own_limit_and_a_rejection_ends_in_63_ksd9() {
    let s = setup().await;
    let sag = create(&s, 10, true).await;
    let sag_id = sag["sag_id"].as_str().unwrap().to_string();
    assert_eq!(sag["varighed_kode"], "61");
    let c = case(&s, &sag_id).await;
    let first = Dato((start_time() - time::Duration::weeks(10)).date());
    assert_eq!(
        c["limit"]["graense"],
        Dato(first.0 + time::Duration::weeks(13)).to_string()
    );
    let requests = wait_sent(&s, Operation::SendAnmodningForlaengelse, &sag_id, 1).await;
    let reply = send_answer(
        &s,
        &requests[0],
        MUNICIPALITY,
        SvarForlaengelse::Afvisning {
            begrundelse: "betingelserne for forlængelse er ikke opfyldt".into(),
        },
    )
    .await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    assert_eq!(case(&s, &sag_id).await["varighed_kode"], "61");
    s.clock
        .advance(std::time::Duration::from_secs(4 * 7 * 24 * 3600));
    wait_code(&s, &sag_id, "63").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_set_in_ksd_is_afsluttet_with_the_outward_code_ksd6_ksd10() {
    let s = setup().await;
    let sag_id = create_id(&s, 3, false).await;
    let (status, v) = s
        .ksd
        .post(
            &format!("/cases/{sag_id}/end"),
            json!({"ophoers_aarsag": 51, "ophoers_start": "2026-03-01"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "OPHOERT");
    // Events carry the whole case and may arrive in any order (the outbox delivers several
    // at once): pick it by its type.
    let events = wait_sent(&s, Operation::SendHaendelse, &sag_id, 2).await;
    let h = events
        .iter()
        .map(haendelse)
        .find(|h| h.haendelse_type.as_str() == "AFSLUTTET")
        .expect("an AFSLUTTET event");
    assert_eq!(
        h.sag.ophoers_aarsag.unwrap().code(),
        2,
        "51 goes out as 2 (KSD-6)"
    );
    // Ended: no request, no 63, however long.
    s.clock
        .advance(std::time::Duration::from_secs(30 * 7 * 24 * 3600));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(sent(&s, Operation::SendAnmodningForlaengelse, &sag_id).is_empty());
    let (status, _) = s
        .ksd
        .post(
            &format!("/cases/{sag_id}/end"),
            json!({"ophoers_aarsag": 1, "ophoers_start": "2026-03-01"}),
        )
        .await;
    assert_eq!(status, 409);
    s.stop().await;
}

/// SP-13: the platform passes the jobcenter's FEJL to KSD; KSD does not send refused content
/// again, and journals the refusal naming the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_the_jobcenter_refuses_is_not_resent_and_is_journaled_ksd2_sp13() {
    let s = setup().await;
    s.platform
        .fejl
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let tid = "0b0b0b0b-0000-4000-8000-000000000001";
    let reply = s.ksd.send(&s.kombit, xml(&update(tid, 1))).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let rows = eventually("the refused receipt journaled", || async {
        let rows = s
            .ksd
            .journal(&format!(
                "transaktion_id={tid}&operation=JC/SendForretningsSvar&direction=out"
            ))
            .await;
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows[0]["outcome"], "FEJL");
    assert!(
        rows[0]["detail"].as_str().unwrap().contains("KSD-2"),
        "{}",
        rows[0]
    );
    eventually("the outbox to be empty", || async {
        (s.ksd.outbox_pending().await == 0).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.platform.received().len(), 1, "sent once, not again");
    s.stop().await;
}

/// KSD-14: 17 belongs to pensioner cases — it makes a new case a pensioner's (61) and is
/// rejected for an existing case that is not one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seventeen_is_for_pensioner_cases_ksd14() {
    let s = setup().await;
    let tid = "0c0c0c0c-0000-4000-8000-000000000001";
    let reply = s.ksd.send(&s.kombit, xml(&update(tid, 17))).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let (_, u) = s.ksd.get(&format!("/updates/{tid}")).await;
    assert_eq!(u["verdict"], "ACCEPTERET", "{u}");
    let c = case(&s, u["sag_id"].as_str().unwrap()).await;
    assert_eq!(c["varighed_kode"], "61");

    // An existing ordinary case (the example's person, municipality and first day).
    let mut r = update("0c0c0c0c-0000-4000-8000-000000000002", 24);
    let Payload::OpdateringFravaer(u) = &mut r.payload else {
        unreachable!()
    };
    u.header.sygemeldte_part = "0202702345".parse().unwrap();
    u.ophoers_slut_dato = Some(Dato(u.ophoers_start_dato.0 + time::Duration::days(7)));
    let reply = s.ksd.send(&s.kombit, xml(&r)).await;
    assert_ne!(kvittering(&reply).kode, TransportValideringsKode::Fejl);
    let Payload::OpdateringFravaer(u) = &mut r.payload else {
        unreachable!()
    };
    u.header.transaktion_identifikator = "0c0c0c0c-0000-4000-8000-000000000003".parse().unwrap();
    u.ophoers_aarsag = sim_wire::OphoersAarsag::new(17).unwrap();
    u.ophoers_slut_dato = None;
    let reply = s.ksd.send(&s.kombit, xml(&r)).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let (_, u) = s
        .ksd
        .get("/updates/0c0c0c0c-0000-4000-8000-000000000003")
        .await;
    assert_eq!(u["verdict"], "AFVIST", "{u}");
    assert!(u["begrundelse"].as_str().unwrap().contains("KSD-14"));
    s.stop().await;
}

fn xml(r: &Request) -> String {
    sim_wire::write_request(r)
}

/// What KSD refuses in the dialogues: the same notification twice (one case), an extension
/// that does not extend (KSD-11), another answer under a TransaktionIdentifikator answered
/// already (KSD-7); and an event the jobcenter refused (FEJL) is not sent again (KSD-10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_in_the_dialogues_ksd7_ksd10_ksd11() {
    let s = setup().await;
    let sag_id = create_id(&s, 20, false).await;
    let first = (start_time() - time::Duration::weeks(20)).date();
    let (status, _) = s
        .ksd
        .post(
            "/cases",
            json!({
                "cpr": "0101701234",
                "municipality": MUNICIPALITY,
                "arbejdsgiver": "12345674",
                "foerste_fravaersdag": Dato(first).to_string(),
            }),
        )
        .await;
    assert_eq!(
        status, 409,
        "one case per person, municipality and first day"
    );

    let requests = wait_sent(&s, Operation::SendAnmodningForlaengelse, &sag_id, 1).await;
    let Payload::AnmodningForlaengelse(a) = &requests[0].payload else {
        panic!("an AnmodningForlaengelse")
    };
    let short = SvarForlaengelse::Forlaengelse {
        forlaengelse_type: ForlaengelseType::Tidsbegraenset,
        forlaengelse_slut_dato: Some(a.varighedsgraense_dato),
    };
    let reply = send_answer(&s, &requests[0], MUNICIPALITY, short).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(
        k.fejl_liste[0].fejl_kode.starts_with("KSD-11.SLUTDATO"),
        "{k:?}"
    );
    let rejected = SvarForlaengelse::Afvisning {
        begrundelse: "ikke opfyldt".into(),
    };
    let reply = send_answer(&s, &requests[0], MUNICIPALITY, rejected).await;
    assert_eq!(kvittering(&reply).kode, TransportValideringsKode::Ok);
    let unlimited = SvarForlaengelse::Forlaengelse {
        forlaengelse_type: ForlaengelseType::Tidsubegraenset,
        forlaengelse_slut_dato: None,
    };
    let reply = send_answer(&s, &requests[0], MUNICIPALITY, unlimited).await;
    let k = kvittering(&reply);
    assert_eq!(k.kode, TransportValideringsKode::Fejl);
    assert!(k.fejl_liste[0].fejl_kode.starts_with("KSD-7"), "{k:?}");
    assert_eq!(case(&s, &sag_id).await["varighed_kode"], "60");

    // A jobcenter refusing every event: each is delivered once, not again after the timeout.
    s.platform
        .fejl
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = create_id(&s, 2, false).await;
    wait_sent(&s, Operation::SendHaendelse, &refused, 1).await;
    eventually("the refusal recorded", || async {
        let (_, v) = s.ksd.get(&format!("/events?sag_id={refused}")).await;
        (v[0]["transport"] == "FEJL").then_some(())
    })
    .await;
    s.clock
        .advance(std::time::Duration::from_secs(3 * 24 * 3600));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(sent(&s, Operation::SendHaendelse, &refused).len(), 1);
    s.stop().await;
}
