//! SF2096 end to end over mutual TLS: the platform (KOMBIT's certificate) calls KSD's
//! `HentSag` and `HentSagsListe` on behalf of a municipality; KSD answers from its persisted
//! cases, only the calling municipality's (KSD-12).

mod common;

use common::{kvittering, FakePlatform, Pki, RunningKsd, MUNICIPALITY};
use serde_json::{json, Value};
use sim_kit::soap::SoapReply;
use sim_wire::{
    examples, AuthorityContext, HentSag, HentSagsListe, Message, Operation, Payload, Request,
    ResponseBody, Rule, Sag, TransportValideringsKode,
};

/// Another municipality (Aarhus), whose cases the caller must never see.
const OTHER: &str = "55133018";
const CPR_A: &str = "0101701234";
const CPR_B: &str = "0202802345";

struct Setup {
    ksd: RunningKsd,
    platform: FakePlatform,
    pki: Pki,
    _state: tempfile::TempDir,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let mut cfg = common::config(&pki, state.path(), &platform.url());
    // A manual clock in March 2026: the cases below are weeks old, not past their limit.
    cfg.clock = sim_store::Clock::manual(time::macros::datetime!(2026-03-02 10:00 UTC));
    let ksd = common::start_ksd(cfg).await;
    Setup {
        ksd,
        platform,
        pki,
        _state: state,
    }
}

/// Creates a case (admin intake) and returns it as KSD's admin API shows it.
async fn create(s: &Setup, cpr: &str, municipality: &str, first: &str, nr: &str) -> Value {
    let (status, v) = s
        .ksd
        .post(
            "/cases",
            json!({
                "cpr": cpr,
                "municipality": municipality,
                "arbejdsgiver": "12345674",
                "foerste_fravaersdag": first,
                "nem_refusion_id": nr,
            }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v
}

/// A look-up of `payload` in `municipality`'s security context.
fn lookup(op: Operation, municipality: &str, payload: Payload) -> String {
    let mut r: Request = examples::request(op);
    r.authority_context = Some(AuthorityContext {
        municipality_cvr: municipality.parse().unwrap(),
    });
    r.payload = payload;
    sim_wire::write_request(&r)
}

async fn call(s: &Setup, op: Operation, xml: String) -> SoapReply {
    s.ksd.call(&s.pki.client("kombit"), op, xml).await
}

fn body(reply: &SoapReply) -> ResponseBody {
    match sim_wire::read(reply.body.as_bytes(), None)
        .unwrap()
        .message
        .unwrap()
    {
        Message::Response(r) => r.body,
        other => panic!("not a response: {other:?}"),
    }
}

fn sag(reply: &SoapReply) -> Sag {
    match body(reply) {
        ResponseBody::Sag(s) => *s,
        other => panic!("not a Sag: {other:?} {}", reply.body),
    }
}

fn list(reply: &SoapReply) -> Vec<Sag> {
    match body(reply) {
        ResponseBody::SagsListe(l) => l,
        other => panic!("not a list: {other:?} {}", reply.body),
    }
}

fn id(v: &Value) -> String {
    v["sag_id"].as_str().unwrap().to_string()
}

// rule KSD-12: HentSag by SagIdentifikator and by NemRefusionIdentifier finds the calling
// municipality's case; another municipality's case answers exactly like one that does not
// exist (same status, same bytes).
#[tokio::test]
async fn hent_sag_finds_own_cases_and_another_municipalitys_case_looks_absent_ksd12() {
    let s = setup().await;
    let nr_own = "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10";
    let nr_other = "9d7f3b5a-1c2e-4d4f-b6a8-0e9c7d5f3b21";
    let own = create(&s, CPR_A, MUNICIPALITY, "2026-02-02", nr_own).await;
    let other = create(&s, CPR_B, OTHER, "2026-02-03", nr_other).await;

    let by_id = |sag: &str| Payload::HentSag(HentSag::SagIdentifikator(sag.parse().unwrap()));
    let by_nr = |nr: &str| Payload::HentSag(HentSag::NemRefusionIdentifier(nr.parse().unwrap()));

    // Own case, by either key.
    for payload in [by_id(&id(&own)), by_nr(nr_own)] {
        let r = call(
            &s,
            Operation::HentSag,
            lookup(Operation::HentSag, MUNICIPALITY, payload),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let found = sag(&r);
        assert_eq!(found.sag_identifikator.to_string(), id(&own));
        assert_eq!(found.myndighed.to_string(), MUNICIPALITY);
        assert_eq!(found.sygemeldte_part.to_string(), CPR_A);
        assert_eq!(
            found.varighed_kode.to_string(),
            "60",
            "KSD-9: a new case is 60"
        );
    }

    // Another municipality's case, by either key, and keys nobody has: one answer.
    let unknown_id = "00000000-0000-4000-8000-000000000001";
    let unknown_nr = "00000000-0000-4000-8000-000000000002";
    let mut answers = Vec::new();
    for payload in [
        by_id(&id(&other)),
        by_nr(nr_other),
        by_id(unknown_id),
        by_nr(unknown_nr),
    ] {
        let r = call(
            &s,
            Operation::HentSag,
            lookup(Operation::HentSag, MUNICIPALITY, payload),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let k = kvittering(&r);
        assert_eq!(k.kode, TransportValideringsKode::Fejl);
        assert_eq!(k.fejl_liste[0].fejl_kode, "KSD-12.UKENDT");
        assert!(
            !r.body.contains(&id(&other)) && !r.body.contains(OTHER),
            "{}",
            r.body
        );
        answers.push(r.body);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "another municipality's case is indistinguishable from none: {answers:#?}"
    );

    // The owner sees its own.
    let r = call(
        &s,
        Operation::HentSag,
        lookup(Operation::HentSag, OTHER, by_id(&id(&other))),
    )
    .await;
    assert_eq!(sag(&r).myndighed.to_string(), OTHER);

    // Every look-up is journaled: 2 + 4 + 1 in, answered OK or FEJL.
    let ok = s
        .ksd
        .journal("operation=KSD/HentSag&direction=in&outcome=OK")
        .await;
    let fejl = s
        .ksd
        .journal("operation=KSD/HentSag&direction=in&outcome=FEJL")
        .await;
    assert_eq!((ok.len(), fejl.len()), (3, 4));
    s.ksd.stop().await;
    s.platform.stop().await;
}

// rule KSD-12: HentSagsListe by person and by period answers only the caller's cases, newest
// first; a person with cases only elsewhere answers an empty list, like a person with none.
#[tokio::test]
async fn hent_sags_liste_by_person_and_period_holds_only_own_cases_ksd12() {
    let s = setup().await;
    let nr = |n: u8| format!("8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a{n:02}");
    let a1 = create(&s, CPR_A, MUNICIPALITY, "2026-01-05", &nr(1)).await;
    let a2 = create(&s, CPR_A, MUNICIPALITY, "2026-02-09", &nr(2)).await;
    let _a_elsewhere = create(&s, CPR_A, OTHER, "2026-02-10", &nr(3)).await;
    let _b_elsewhere = create(&s, CPR_B, OTHER, "2026-02-11", &nr(4)).await;
    // a1 ended on 2026-01-20 (KSD sets an end through the admin API).
    let (status, v) = s
        .ksd
        .post(
            &format!("/cases/{}/end", id(&a1)),
            json!({"ophoers_aarsag": 1, "ophoers_start": "2026-01-20"}),
        )
        .await;
    assert!(status < 300, "{status} {v}");

    let q = |cpr: Option<&str>, fra: Option<&str>, til: Option<&str>| {
        Payload::HentSagsListe(HentSagsListe {
            sygemeldte_part: cpr.map(|c| c.parse().unwrap()),
            periode_fra: fra.map(|d| d.parse().unwrap()),
            periode_til: til.map(|d| d.parse().unwrap()),
        })
    };
    let ask = |payload| lookup(Operation::HentSagsListe, MUNICIPALITY, payload);
    let ids = |l: Vec<Sag>| {
        l.iter()
            .map(|c| c.sag_identifikator.to_string())
            .collect::<Vec<_>>()
    };

    // By person: both of A's cases here, newest first; never the one elsewhere.
    let r = call(
        &s,
        Operation::HentSagsListe,
        ask(q(Some(CPR_A), None, None)),
    )
    .await;
    let got = list(&r);
    assert!(got.iter().all(|c| c.myndighed.to_string() == MUNICIPALITY));
    assert_eq!(ids(got), vec![id(&a2), id(&a1)]);

    // A person with cases only in another municipality: an empty list, as for a stranger.
    let r = call(
        &s,
        Operation::HentSagsListe,
        ask(q(Some(CPR_B), None, None)),
    )
    .await;
    assert!(list(&r).is_empty(), "{}", r.body);
    let stranger = call(
        &s,
        Operation::HentSagsListe,
        ask(q(Some("0303903456"), None, None)),
    )
    .await;
    assert_eq!(r.body, stranger.body, "indistinguishable");

    // By period: a1 lasted 2026-01-05..2026-01-20, a2 is open from 2026-02-09.
    let period = |fra, til| ask(q(None, Some(fra), Some(til)));
    let r = call(
        &s,
        Operation::HentSagsListe,
        period("2026-01-25", "2026-02-01"),
    )
    .await;
    assert!(list(&r).is_empty(), "between the two: {}", r.body);
    let r = call(
        &s,
        Operation::HentSagsListe,
        period("2026-01-10", "2026-01-12"),
    )
    .await;
    assert_eq!(ids(list(&r)), vec![id(&a1)]);
    let r = call(
        &s,
        Operation::HentSagsListe,
        period("2026-03-01", "2026-03-31"),
    )
    .await;
    assert_eq!(ids(list(&r)), vec![id(&a2)], "an open case lasts");

    // Each case carries its history, oldest first: a1 created (60), then ended by KSD.
    let r = call(
        &s,
        Operation::HentSag,
        lookup(
            Operation::HentSag,
            MUNICIPALITY,
            Payload::HentSag(HentSag::SagIdentifikator(id(&a1).parse().unwrap())),
        ),
    )
    .await;
    let h = sag(&r).historik;
    assert_eq!(h.len(), 2, "{}", r.body);
    assert_eq!(h[0].status, sim_wire::Status::Aktiv);
    assert_eq!(h[0].varighed_kode.to_string(), "60");
    assert_eq!(h[1].status, sim_wire::Status::Ophoert);
    assert_eq!(h[1].ophoers_aarsag.map(|a| a.code()), Some(1));
    assert_eq!(
        h[1].ophoers_start_dato.map(|d| d.to_string()).as_deref(),
        Some("2026-01-20")
    );
    assert!(h[0].registrering_dato_tid <= h[1].registrering_dato_tid);

    // Neither a person nor a whole period: refused with a fault naming KSD-12.
    let r = call(
        &s,
        Operation::HentSagsListe,
        ask(q(None, Some("2026-01-01"), None)),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.fault().expect("a fault").rule(), Some(Rule::Ksd12));
    s.ksd.stop().await;
    s.platform.stop().await;
}

// rule KSD-12 (defined here): a list broader than 500 cases is refused with a fault naming
// KSD-12 — never cut short — and one of 500 is answered whole.
#[tokio::test]
async fn a_list_of_more_than_500_cases_is_refused_not_cut_short_ksd12() {
    let s = setup().await;
    for n in 0..501u32 {
        let cpr = format!("01017{:05}", n);
        let nr = format!("8c6e2a4f-0b1d-4c3e-a5f7-{:012}", n);
        create(&s, &cpr, MUNICIPALITY, "2026-02-02", &nr).await;
    }
    let ask = |til: &str| {
        lookup(
            Operation::HentSagsListe,
            MUNICIPALITY,
            Payload::HentSagsListe(HentSagsListe {
                sygemeldte_part: None,
                periode_fra: Some("2026-02-01".parse().unwrap()),
                periode_til: Some(til.parse().unwrap()),
            }),
        )
    };
    let r = call(&s, Operation::HentSagsListe, ask("2026-02-28")).await;
    assert_eq!(r.status, 500, "{}", r.body);
    let fault = r.fault().expect("a fault");
    assert_eq!(fault.rule(), Some(Rule::Ksd12));
    assert!(
        fault.fault_string.contains("more than 500"),
        "{}",
        fault.fault_string
    );
    // Before any of them began: an empty list, answered.
    let r = call(&s, Operation::HentSagsListe, ask("2026-01-31")).await;
    assert!(list(&r).is_empty(), "{}", r.body);
    s.ksd.stop().await;
    s.platform.stop().await;
}
