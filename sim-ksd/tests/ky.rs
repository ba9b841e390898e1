//! SF1690 at KY's receiver port (`/ky/Kontanthjaelp/2`), called as the platform calls it
//! (KOMBIT's certificate): every operation and sub-action accepted in order and kept across a
//! restart, one refusal per rule KY-2..KY-10 with nothing changed, and callers other than the
//! platform refused (SP-7). Each call is journaled under its CallUUID.

mod common;

use common::{FakePlatform, Pki};
use serde_json::Value;
use sim_kit::soap::SoapClient;
use sim_ksd::ky::KY_PATH;
use sim_wire::ky::{self, examples, Handling, KyBody, KyOperation, KyRequest};
use sim_wire::{Rule, TransportKvittering, TransportValideringsKode};

/// KY's port on the running program.
fn url(ksd: &common::RunningKsd) -> String {
    format!("https://localhost:{}{KY_PATH}", ksd.data.port())
}

/// Posts `xml` as operation `op` and returns the reply's receipt (panics on anything else).
async fn send(
    ksd: &common::RunningKsd,
    c: &SoapClient,
    op: KyOperation,
    xml: String,
) -> (String, TransportKvittering) {
    let reply = c.call(&url(ksd), &op.soap_action(), xml).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let d = ky::read(reply.body.as_bytes(), None).unwrap();
    let k = d
        .response()
        .unwrap_or_else(|| panic!("no KY receipt: {}", reply.body))
        .kvittering
        .clone();
    (reply.body, k)
}

async fn send_request(
    ksd: &common::RunningKsd,
    c: &SoapClient,
    r: &KyRequest,
) -> TransportKvittering {
    send(ksd, c, r.operation(), ky::write_request(r)).await.1
}

fn codes(k: &TransportKvittering) -> Vec<String> {
    k.fejl_liste.iter().map(|f| f.fejl_kode.clone()).collect()
}

/// A request of `op`/`h` with its own TransaktionIdentifikator number `n`.
fn req(op: KyOperation, h: Handling, n: u32) -> KyRequest {
    KyRequest::new(examples::payload(op, h, 5000 + n))
}

async fn courses(ksd: &common::RunningKsd) -> Vec<Value> {
    let (status, v) = ksd.get("/ky/kontaktforloeb").await;
    assert_eq!(status, 200, "{v}");
    v.as_array().unwrap().clone()
}

// rule KY-1: each operation and sub-action answered with a receipt, OK; rule KY-10: a repeat
// gets the same bytes and changes nothing; what KY accepted is kept across a restart.
#[tokio::test]
async fn every_operation_and_sub_action_is_accepted_journaled_and_kept_rule_ky1_ky10() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let config = common::config(&pki, state.path(), &platform.url());
    let ksd = common::start_ksd(config.clone()).await;
    let kombit = pki.client("kombit");

    let mut first = None;
    for (name, r) in examples::requests() {
        let (body, k) = send(&ksd, &kombit, r.operation(), ky::write_request(&r)).await;
        assert_eq!(k.kode, TransportValideringsKode::Ok, "{name}: {k:?}");
        first.get_or_insert((r, body));
    }
    let list = courses(&ksd).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(c["id"], examples::KONTAKTFORLOEB_ID);
    assert_eq!(c["status"], "AKTIV", "stopped, then resumed");
    assert_eq!(c["visitationsgruppe"], "JOBPARAT");
    let kinds: Vec<&str> = c["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    for kind in ["TILKENDEGIVELSE", "GODTGOERELSE", "FRAVAER", "SANKTION"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(!kinds.contains(&"AKTIVITET"), "deleted: {kinds:?}");

    // Every call journaled: request and response under one CallUUID, labelled KY/<op>.
    let rows = ksd.journal("operation=KY/SendAktivitet&direction=in").await;
    assert_eq!(rows.len(), 4, "OPRET, AENDR, STOP, SLET: {rows:?}");
    for row in &rows {
        let call = row["call_uuid"].as_str().unwrap();
        let both = ksd.journal(&format!("call_uuid={call}")).await;
        assert_eq!(both.len(), 2, "{both:?}");
        assert_eq!(row["municipality"], examples::MYNDIGHED);
        assert_eq!(row["outcome"], "OK");
    }

    // Restart on the same state: the repeat of the first message gets the very same bytes.
    ksd.stop().await;
    let ksd = common::start_ksd(config).await;
    let (r, body) = first.unwrap();
    let mut again = r.clone();
    again.payload.header.besked_forsendelses_dato_tid =
        "2026-11-23T11:00:00+01:00".parse().unwrap();
    let (body2, k) = send(&ksd, &kombit, r.operation(), ky::write_request(&again)).await;
    assert_eq!(k.kode, TransportValideringsKode::Ok);
    assert_eq!(body2, body, "KY-10: answered with the stored bytes");
    let dup = ksd.journal("outcome=DUPLICATE&direction=in").await;
    assert_eq!(dup.len(), 1, "{dup:?}");
    assert_eq!(courses(&ksd).await.len(), 1, "nothing created twice");
    ksd.stop().await;
    platform.stop().await;
}

// One refusal per rule, each a FEJL naming it, and none changes KY's state.
#[tokio::test]
async fn each_consistency_rule_refuses_with_its_fejlkode_and_changes_nothing() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let c = pki.client("kombit");
    use Handling::*;
    use KyOperation as O;

    // rule KY-6: an activity for a contact course KY does not know.
    let k = send_request(&ksd, &c, &req(O::Aktivitet, Opret, 1)).await;
    assert_eq!(
        (k.kode, codes(&k)),
        (
            TransportValideringsKode::Fejl,
            vec!["KY-6.UKENDT".to_string()]
        )
    );
    // KSD-1's way: FEJL stores nothing, so the same message is judged anew once its course
    // exists.
    assert_eq!(
        send_request(&ksd, &c, &req(O::Kontaktforloeb, Opret, 2))
            .await
            .kode,
        TransportValideringsKode::Ok
    );
    assert_eq!(
        send_request(&ksd, &c, &req(O::Aktivitet, Opret, 1))
            .await
            .kode,
        TransportValideringsKode::Ok
    );

    let cases: Vec<(&str, KyRequest, &str)> = vec![
        ("KY-7", req(O::Kontaktforloeb, Opret, 3), "KY-7.FINDES"),
        ("KY-8", req(O::Tilkendegivelse, Aendr, 4), "KY-8.UKENDT"),
        (
            "KY-9",
            req(O::Kontaktforloeb, Genoptag, 5),
            "KY-9.IKKESTOPPET",
        ),
        ("KY-3", req(O::Fravaer, Slet, 6), "KY-3.VAERDI"),
        (
            "KY-4",
            {
                let mut r = req(O::Godtgoerelse, Opret, 7);
                if let KyBody::Godtgoerelse(g) = &mut r.payload.body {
                    g.linje.paragraf = 81;
                }
                r
            },
            "KY-4.VAERDI",
        ),
        (
            "KY-5",
            {
                let mut r = req(O::Maalgruppeskift, Opret, 8);
                r.authority_context = Some(sim_wire::AuthorityContext {
                    municipality_cvr: "55133018".parse().unwrap(),
                });
                r
            },
            "KY-5.UOVERENSSTEMMELSE",
        ),
    ];
    let before = courses(&ksd).await;
    for (rule, r, code) in cases {
        let k = send_request(&ksd, &c, &r).await;
        assert_eq!(k.kode, TransportValideringsKode::Fejl, "{rule}: {k:?}");
        assert_eq!(codes(&k), vec![code.to_string()], "{rule}");
    }
    // rule KY-2: a malformed field.
    let xml = ky::write_request(&req(O::Fravaer, Opret, 9)).replace(
        "<kyt:FraDato>2026-12-14</kyt:FraDato>",
        "<kyt:FraDato>14-12-2026</kyt:FraDato>",
    );
    let (_, k) = send(&ksd, &c, O::Fravaer, xml).await;
    assert_eq!(codes(&k), vec!["KY-2.FORMAT".to_string()]);
    // rule KY-9: a stopped course takes nothing new.
    assert_eq!(
        send_request(&ksd, &c, &req(O::Kontaktforloeb, Stop, 10))
            .await
            .kode,
        TransportValideringsKode::Ok
    );
    let stopped = courses(&ksd).await;
    let k = send_request(&ksd, &c, &req(O::Fravaer, Opret, 11)).await;
    assert_eq!(codes(&k), vec!["KY-9.STOPPET".to_string()]);
    // rule KY-10: the TransaktionIdentifikator of an accepted message with other content.
    let mut reused = req(O::Kontaktforloeb, Genoptag, 10);
    reused.payload.handling = Genoptag;
    let k = send_request(&ksd, &c, &reused).await;
    assert_eq!(codes(&k), vec!["KY-10.GENBRUGT".to_string()]);

    let after = courses(&ksd).await;
    assert_eq!(after, stopped, "no refusal changed KY's state");
    assert_eq!(before[0]["objects"], after[0]["objects"]);
    let refused = ksd.journal("outcome=FEJL&direction=in").await;
    // KY-6, -7, -8, -9 (twice), -3, -4, -5, -2, -10.
    assert_eq!(refused.len(), 10, "every refusal journaled");
    ksd.stop().await;
    platform.stop().await;
}

// rule SP-7: only the platform, with KOMBIT's certificate, reaches KY; a vendor is refused.
#[tokio::test]
async fn a_caller_other_than_the_platform_gets_a_fault_rule_sp7() {
    let pki = Pki::new();
    let state = tempfile::tempdir().unwrap();
    let platform = FakePlatform::bind(&pki).await;
    let ksd = common::start_ksd(common::config(&pki, state.path(), &platform.url())).await;
    let r = req(KyOperation::Kontaktforloeb, Handling::Opret, 1);
    let reply = pki
        .client("acme-jc")
        .call(
            &url(&ksd),
            &r.operation().soap_action(),
            ky::write_request(&r),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.fault().and_then(|f| f.rule()),
        Some(Rule::Sp7),
        "{}",
        reply.body
    );
    assert!(courses(&ksd).await.is_empty());
    let rows = ksd
        .journal("operation=KY/SendKontaktforloeb&outcome=FAULT:SP-7")
        .await;
    assert_eq!(rows.len(), 1, "the request");
    let call = rows[0]["call_uuid"].as_str().unwrap();
    let both = ksd.journal(&format!("call_uuid={call}")).await;
    assert_eq!(both.len(), 2, "request and fault under one CallUUID");
    assert_eq!(
        reply
            .fault()
            .and_then(|f| f.call_uuid())
            .map(|u| u.to_string())
            .as_deref(),
        Some(call)
    );
    ksd.stop().await;
    platform.stop().await;
}
