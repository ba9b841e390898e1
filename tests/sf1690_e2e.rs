//! SF1690 end to end across the real programs over loopback mTLS: a jobcenter solution sends
//! KontanthjaelpServiceKY messages to the platform's KY exposure, which passes them through
//! to KY (in the KSD program) and returns KY's receipt (KY-1, SP-13). Each operation and
//! sub-action is accepted once; each of KY's consistency rules refuses once, through the
//! platform; the platform's agreement checks refuse what SP-5 refuses. One caller is an
//! outside stack: Python's `ssl` + `http.client` posting the published contract example with a
//! vendor's certificate.

mod common;

use common::*;
use sim_kit::soap::SoapClient;
use sim_wire::ky::{self, examples, Handling, KyBody, KyOperation, KyRequest};
use sim_wire::{Cvr, Rule, TransportKvittering, TransportValideringsKode};

/// `r` in municipality `m` (security context and header alike), TransaktionIdentifikator
/// number `n` kept apart per test by the caller.
fn in_municipality(mut r: KyRequest, m: Cvr) -> KyRequest {
    r.payload.header.myndighed = m;
    r.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: m,
    });
    r
}

/// Sends `r` to the KY exposure as `client`; the HTTP status and body.
async fn send(eco: &Eco, client: &SoapClient, r: &KyRequest) -> (u16, String) {
    let reply = client
        .call(
            &eco.running.endpoints.sp_ky_exposure,
            &r.operation().soap_action(),
            ky::write_request(r),
        )
        .await
        .unwrap();
    (reply.status, reply.body)
}

/// KY's receipt in a reply body (panics on anything else).
fn receipt(body: &str) -> TransportKvittering {
    ky::read(body.as_bytes(), None)
        .unwrap()
        .response()
        .unwrap_or_else(|| panic!("no KY receipt: {body}"))
        .kvittering
        .clone()
}

fn codes(k: &TransportKvittering) -> Vec<String> {
    k.fejl_liste.iter().map(|f| f.fejl_kode.clone()).collect()
}

/// The platform's rows of one call (its CallUUID), from the platform's journal.
async fn platform_rows(eco: &Eco, query: &str) -> Vec<serde_json::Value> {
    let v = eco
        .get(format!(
            "{}/journal?{query}",
            eco.running.endpoints.sp_admin
        ))
        .await;
    v.as_array().unwrap().clone()
}

/// rules KY-1, SP-13, KY-10: every operation and sub-action a jobcenter sends through the
/// platform reaches KY and is answered OK with KY's own receipt; the platform journals each
/// call (request in, the leg to KY, KY's answer, the answer out) and keeps nothing else; a
/// resend gets KY's stored answer byte for byte; KY holds the course afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ky_operation_is_accepted_through_the_platform_ky1_sp13() {
    let eco = Eco::start().await;
    let kmd = eco.client_as("kmd-jc");
    let mine = eco.municipality_of("kmd-jc");

    let mut first = None;
    for (name, r) in examples::requests() {
        let r = in_municipality(r, mine);
        let (status, body) = send(&eco, &kmd, &r).await;
        assert_eq!(status, 200, "{name}: {body}");
        let k = receipt(&body);
        assert_eq!(k.kode, TransportValideringsKode::Ok, "{name}: {k:?}");
        first.get_or_insert((r, body));
    }

    // The platform's journal: per call, the request received, the leg to KY and back, and
    // the answer — five rows under one CallUUID, labelled KY/<operation>.
    let rows = platform_rows(&eco, "operation=KY/SendKontaktforloeb&direction=in").await;
    let received: Vec<_> = rows.iter().filter(|r| r["outcome"] == "RECEIVED").collect();
    assert_eq!(received.len(), 4, "OPRET, AENDR, STOP, GENOPTAG");
    let call = received[0]["call_uuid"].as_str().unwrap().to_string();
    let all = platform_rows(&eco, &format!("call_uuid={call}")).await;
    assert_eq!(
        all.len(),
        4,
        "in, out to KY, KY's answer, out to the caller: {all:?}"
    );
    assert!(all.iter().all(|r| r["municipality"] == mine.to_string()));

    // KY-10 through the platform: the same message again gets the same bytes.
    let (r, body) = first.unwrap();
    let (status, again) = send(&eco, &kmd, &r).await;
    assert_eq!(status, 200);
    assert_eq!(again, body, "KY's stored answer, passed through unchanged");

    // KY holds the course, in the caller's municipality.
    let v = eco
        .get(format!(
            "{}/ky/kontaktforloeb?municipality={mine}",
            eco.running.endpoints.ksd_admin
        ))
        .await;
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["status"], "AKTIV");
    eco.running.stop().await.unwrap();
}

/// One refusal per KY consistency rule, each a FEJL naming it that the platform passes
/// through unchanged (SP-13): KY-6 (no such course), KY-7 (exists), KY-8 (unknown object),
/// KY-9 (not stopped / stopped), KY-3 (sub-action), KY-4 (value), KY-5 (context vs header),
/// KY-2 (malformed), KY-10 (TransaktionIdentifikator reused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ky_rule_refuses_once_through_the_platform() {
    let eco = Eco::start().await;
    let kmd = eco.client_as("kmd-jc");
    let mine = eco.municipality_of("kmd-jc");
    use Handling::*;
    use KyOperation as O;
    let req =
        |op, h, n: u32| in_municipality(KyRequest::new(examples::payload(op, h, 7000 + n)), mine);
    let expect = |body: &str, code: &str| {
        let k = receipt(body);
        assert_eq!(k.kode, TransportValideringsKode::Fejl, "{code}: {k:?}");
        assert_eq!(codes(&k), vec![code.to_string()]);
    };

    let (_, b) = send(&eco, &kmd, &req(O::Aktivitet, Opret, 1)).await;
    expect(&b, "KY-6.UKENDT");
    let (_, b) = send(&eco, &kmd, &req(O::Kontaktforloeb, Opret, 2)).await;
    assert_eq!(receipt(&b).kode, TransportValideringsKode::Ok);
    let (_, b) = send(&eco, &kmd, &req(O::Kontaktforloeb, Opret, 3)).await;
    expect(&b, "KY-7.FINDES");
    let (_, b) = send(&eco, &kmd, &req(O::Aktivitet, Aendr, 4)).await;
    expect(&b, "KY-8.UKENDT");
    let (_, b) = send(&eco, &kmd, &req(O::Kontaktforloeb, Genoptag, 5)).await;
    expect(&b, "KY-9.IKKESTOPPET");
    let (_, b) = send(&eco, &kmd, &req(O::Sanktionsanmodning, Stop, 6)).await;
    expect(&b, "KY-3.VAERDI");
    let mut bad = req(O::Visitationsgruppe, Opret, 7);
    if let KyBody::Visitationsgruppe(v) = &mut bad.payload.body {
        v.visitationsgruppe_kode = "PARAT".into();
    }
    let (_, b) = send(&eco, &kmd, &bad).await;
    expect(&b, "KY-4.VAERDI");
    let mut other = req(O::Maalgruppeskift, Opret, 8);
    other.payload.header.myndighed = eco.municipality_of("schultz-jc");
    let (_, b) = send(&eco, &kmd, &other).await;
    expect(&b, "KY-5.UOVERENSSTEMMELSE");
    let r = req(O::Tilkendegivelse, Opret, 9);
    let xml = ky::write_request(&r).replace(
        "<kyt:Dato>2026-11-04</kyt:Dato>",
        "<kyt:Dato>4. november</kyt:Dato>",
    );
    let reply = kmd
        .call(
            &eco.running.endpoints.sp_ky_exposure,
            &r.operation().soap_action(),
            xml,
        )
        .await
        .unwrap();
    expect(&reply.body, "KY-2.FORMAT");
    let (_, b) = send(&eco, &kmd, &req(O::Kontaktforloeb, Stop, 10)).await;
    assert_eq!(receipt(&b).kode, TransportValideringsKode::Ok);
    let (_, b) = send(&eco, &kmd, &req(O::Fravaer, Opret, 11)).await;
    expect(&b, "KY-9.STOPPET");
    let mut reused = req(O::Kontaktforloeb, Genoptag, 10);
    reused.payload.handling = Genoptag;
    let (_, b) = send(&eco, &kmd, &reused).await;
    expect(&b, "KY-10.GENBRUGT");

    // The platform journals KY's FEJL as KY answered it (passed through, not its own).
    let fejl = platform_rows(&eco, "outcome=FEJL&direction=out").await;
    assert!(fejl.len() >= 10, "{}", fejl.len());
    eco.running.stop().await.unwrap();
}

/// rule SP-5: the platform refuses what it may not pass to KY, with a fault naming SP-5 and a
/// CallUUID in its journal, and KY never hears of it — a municipality the vendor has no
/// agreement for, a Sygefravaer agreement without a KontanthjaelpServiceKY one, no security
/// context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_refuses_without_a_ky_agreement_sp5() {
    let eco = Eco::start().await;
    let kmd = eco.client_as("kmd-jc");
    let theirs = eco.municipality_of("schultz-jc");
    let r = in_municipality(
        KyRequest::new(examples::payload(
            KyOperation::Kontaktforloeb,
            Handling::Opret,
            9001,
        )),
        theirs,
    );
    let mut no_context = in_municipality(
        KyRequest::new(examples::payload(
            KyOperation::Kontaktforloeb,
            Handling::Opret,
            9002,
        )),
        eco.municipality_of("kmd-jc"),
    );
    no_context.authority_context = None;
    let ksd = eco.client_as("ksd");
    let mine_r = in_municipality(
        KyRequest::new(examples::payload(
            KyOperation::Kontaktforloeb,
            Handling::Opret,
            9003,
        )),
        eco.municipality_of("kmd-jc"),
    );
    // KSD's own system has an agreement for every municipality — for Sygefravaer only.
    for (who, client, r) in [
        ("another vendor's municipality", &kmd, &r),
        ("no AuthorityContext", &kmd, &no_context),
        ("a Sygefravaer-only agreement", &ksd, &mine_r),
    ] {
        let (status, body) = send(&eco, client, r).await;
        assert_eq!(status, 500, "{who}: {body}");
        let fault = sim_wire::read(body.as_bytes(), None)
            .unwrap()
            .message
            .and_then(|m| match m {
                sim_wire::Message::Fault(f) => Some(f),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{who}: not a fault: {body}"));
        assert_eq!(fault.rule(), Some(Rule::Sp5), "{who}: {fault:?}");
        let call = fault.call_uuid().expect("a CallUUID");
        let rows = eco.sp_journal_by_call(&call).await;
        assert_eq!(rows.len(), 2, "{who}: request and fault: {rows:?}");
    }
    let v = eco
        .get(format!(
            "{}/journal?operation=KY/SendKontaktforloeb",
            eco.running.endpoints.ksd_admin
        ))
        .await;
    assert!(v.as_array().unwrap().is_empty(), "KY heard nothing: {v}");
    eco.running.stop().await.unwrap();
}

/// rules KY-1, SP-5, SP-13 against a caller we did not write: Python's TLS stack, a vendor's
/// certificate, and the published contract's example (`contracts/examples`) as the body —
/// accepted by the platform and KY (OK); the resend gets the same answer (KY-10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_sends_the_published_example_through_the_platform() {
    let eco = Eco::start().await;
    let e = eco.running.endpoints.clone();
    // The example is Viborg's: the vendor instance routed for Viborg sends it.
    let viborg: Cvr = examples::MYNDIGHED.parse().unwrap();
    let instance = eco
        .refdata
        .routing
        .get(&viborg)
        .expect("Viborg is routed")
        .clone();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/examples/KY-SendKontaktforloeb-request.xml");
    let post = || {
        eco.python_post(
            &instance,
            &e.sp_ky_exposure,
            &KyOperation::Kontaktforloeb.soap_action(),
            &example,
        )
    };
    let (status, body) = post();
    assert_eq!(status, "200", "{body}");
    assert_eq!(receipt(&body).kode, TransportValideringsKode::Ok, "{body}");
    let (status, again) = post();
    assert_eq!(status, "200");
    assert_eq!(again, body, "KY-10: the same answer to the resend");
    let v = eco
        .get(format!(
            "{}/ky/kontaktforloeb?municipality={viborg}",
            e.ksd_admin
        ))
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    eco.running.stop().await.unwrap();
}

/// The platform's fault for a KY call, with its rule (panics on anything else).
fn fault_of(status: u16, body: &str) -> sim_wire::SoapFault {
    assert_eq!(status, 500, "{body}");
    match sim_wire::read(body.as_bytes(), None).unwrap().message {
        Some(sim_wire::Message::Fault(f)) => f,
        other => panic!("not a fault: {other:?}"),
    }
}

/// rules SP-4, SP-13: when KY cannot be reached (its program crashed) the jobcenter gets a
/// fault naming SP-4 with a CallUUID and nothing is kept on the way, so the same message sent
/// again once KY is back is accepted (the caller owns redelivery); with an outside KSD in its
/// seat there is no KY at all, and every KY call is SP-4 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ky_unreachable_or_without_a_route_is_sp4() {
    let eco = Eco::start().await;
    let kmd = eco.client_as("kmd-jc");
    let r = in_municipality(
        KyRequest::new(examples::payload(
            KyOperation::Kontaktforloeb,
            Handling::Opret,
            9101,
        )),
        eco.municipality_of("kmd-jc"),
    );
    let control = eco.running.control();
    control.crash(sim::ecosystem::Program::Ksd).await;
    let (status, body) = send(&eco, &kmd, &r).await;
    let fault = fault_of(status, &body);
    assert_eq!(fault.rule(), Some(Rule::Sp4), "{fault:?}");
    assert_eq!(fault.fault_code, "soap:Server", "worth sending again");
    let rows = eco.sp_journal_by_call(&fault.call_uuid().unwrap()).await;
    assert!(
        rows.iter().any(|r| r["outcome"] == "UNREACHABLE"),
        "the leg to KY journaled: {rows:?}"
    );
    control.restart(sim::ecosystem::Program::Ksd).await.unwrap();
    let body = eco
        .eventually("KY to answer again", || {
            let (kmd, r) = (kmd.clone(), r.clone());
            let url = eco.running.endpoints.sp_ky_exposure.clone();
            async move {
                let reply = kmd
                    .call(&url, &r.operation().soap_action(), ky::write_request(&r))
                    .await
                    .ok()?;
                (reply.status == 200).then_some(reply.body)
            }
        })
        .await;
    assert_eq!(receipt(&body).kode, TransportValideringsKode::Ok, "{body}");
    eco.running.stop().await.unwrap();

    let eco = Eco::start_with(|c| {
        c.ksd_url = Some("https://127.0.0.1:9/ksd/Sygefravaer/2".into());
    })
    .await;
    assert!(eco.running.endpoints.ky.is_empty());
    let (status, body) = send(&eco, &eco.client_as("kmd-jc"), &r).await;
    let fault = fault_of(status, &body);
    assert_eq!(fault.rule(), Some(Rule::Sp4), "{fault:?}");
    assert!(
        fault.fault_string.contains("no route to KY"),
        "{}",
        fault.fault_string
    );
    eco.running.stop().await.unwrap();
}
