//! SF2096 end to end across the three real programs over loopback mTLS: a jobcenter looks up
//! KSD's cases through the platform's pass-through (SP-13) and sees only its own
//! municipality's (KSD-12). One caller is an outside stack: Python's `ssl` + `http.client`
//! posting the request with the vendor's certificate.

mod common;

use common::*;
use serde_json::json;
use sim_wire::{
    AuthorityContext, Cvr, HentSag, HentSagsListe, Message, Operation, Payload, Request,
    ResponseBody, TransportValideringsKode,
};

/// Creates a case in KSD (admin intake) for `municipality`; its SagIdentifikator.
async fn create(eco: &Eco, cpr: &str, municipality: Cvr, nr: &str) -> String {
    let url = format!("{}/cases", eco.running.endpoints.ksd_admin);
    // The ecosystem runs on the real clock: a case a week old.
    let first = time::OffsetDateTime::now_utc() - time::Duration::days(7);
    let today = sim_wire::Dato(first.date()).to_string();
    let body = json!({
        "cpr": cpr,
        "municipality": municipality.to_string(),
        "arbejdsgiver": "12345674",
        "foerste_fravaersdag": today,
        "nem_refusion_id": nr,
    });
    let (status, v) = eco.admin.post(&url, &body).await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["sag_id"].as_str().unwrap().to_string()
}

fn lookup(op: Operation, municipality: Cvr, payload: Payload) -> String {
    let mut r: Request = sim_wire::examples::request(op);
    r.authority_context = Some(AuthorityContext {
        municipality_cvr: municipality,
    });
    r.payload = payload;
    xml(&r)
}

fn body_of(xml: &str) -> ResponseBody {
    match sim_wire::read(xml.as_bytes(), None).unwrap().message {
        Some(Message::Response(r)) => r.body,
        other => panic!("not a response: {other:?}\n{xml}"),
    }
}

/// rules KSD-12, SP-13: a vendor's look-ups through the platform find its municipality's case
/// by SagIdentifikator and NemRefusionIdentifier and lists by person; another municipality's
/// case answers exactly like none; the platform journals the answers as OK (not as a bare
/// HTTP status) and stores nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_through_the_platform_see_only_the_callers_cases_ksd12() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    let mine = eco.municipality_of("kmd-jc");
    let theirs = eco.municipality_of("schultz-jc");
    assert_ne!(mine, theirs);
    let own = create(
        &eco,
        "0101701234",
        mine,
        "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10",
    )
    .await;
    let other = create(
        &eco,
        "0202802345",
        theirs,
        "9d7f3b5a-1c2e-4d4f-b6a8-0e9c7d5f3b21",
    )
    .await;
    let kmd = eco.client_as("kmd-jc");
    let op = Operation::HentSag;
    let call = |payload| {
        let kmd = kmd.clone();
        let url = e.sp_ksd_exposure.clone();
        async move {
            kmd.call(&url, &op.soap_action(), lookup(op, mine, payload))
                .await
                .unwrap()
        }
    };

    let r = call(Payload::HentSag(HentSag::SagIdentifikator(
        own.parse().unwrap(),
    )))
    .await;
    let ResponseBody::Sag(found) = body_of(&r.body) else {
        panic!("{}", r.body)
    };
    assert_eq!(found.sag_identifikator.to_string(), own);
    assert_eq!(found.myndighed, mine);
    let nr = "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10".parse().unwrap();
    let r = call(Payload::HentSag(HentSag::NemRefusionIdentifier(nr))).await;
    assert!(
        matches!(body_of(&r.body), ResponseBody::Sag(s) if s.sag_identifikator.to_string() == own)
    );

    let foreign = call(Payload::HentSag(HentSag::SagIdentifikator(
        other.parse().unwrap(),
    )))
    .await;
    let unknown = call(Payload::HentSag(HentSag::SagIdentifikator(
        "00000000-0000-4000-8000-000000000001".parse().unwrap(),
    )))
    .await;
    assert_eq!(foreign.status, unknown.status);
    assert_eq!(
        foreign.body, unknown.body,
        "indistinguishable through the platform"
    );
    assert_eq!(
        foreign.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Fejl)
    );

    let r = kmd
        .call(
            &e.sp_ksd_exposure,
            &Operation::HentSagsListe.soap_action(),
            lookup(
                Operation::HentSagsListe,
                mine,
                Payload::HentSagsListe(HentSagsListe {
                    sygemeldte_part: Some("0202802345".parse().unwrap()),
                    ..HentSagsListe::default()
                }),
            ),
        )
        .await
        .unwrap();
    assert!(
        matches!(body_of(&r.body), ResponseBody::SagsListe(l) if l.is_empty()),
        "{}",
        r.body
    );

    // The platform journaled each answer it passed on as OK or FEJL, never HTTP 200.
    let rows = eco
        .get(format!(
            "{}/journal?operation=KSD/HentSag&limit=100",
            e.sp_admin
        ))
        .await;
    let outcomes: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        // The forwarded leg carries the answer's outcome.
        .filter(|r| r["direction"] == "out")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(!outcomes.is_empty(), "{rows}");
    assert!(
        outcomes.iter().all(|o| *o == "OK" || *o == "FEJL"),
        "{outcomes:?}"
    );

    // An outside stack, Python's ssl, asks for the other municipality's case with kmd's
    // certificate in kmd's context: the same "no such case" as our own client got.
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("hent.xml");
    std::fs::write(
        &body,
        lookup(
            op,
            mine,
            Payload::HentSag(HentSag::SagIdentifikator(other.parse().unwrap())),
        ),
    )
    .unwrap();
    let (status, answer) = eco.python_post("kmd-jc", &e.sp_ksd_exposure, &op.soap_action(), &body);
    assert_eq!(status, "200");
    assert_eq!(answer, foreign.body, "the same answer to an outside caller");
    assert!(!answer.contains(&other));
    eco.running.stop().await.unwrap();
}
