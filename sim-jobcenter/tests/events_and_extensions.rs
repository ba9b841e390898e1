//! KSD's calls about its cases, over real mutual TLS: SF2090 case events (KSD-10), each
//! persisted and acknowledged with `SendForretningsSvar` MODTAGET, and SF2093 extension
//! requests (KSD-11), each answered per the vendor's policy with
//! `SendForretningsSvarForlaengelse` — both through the durable resender (JC-1), in the
//! municipality of the call (JC-3). The test plays the platform: it calls the vendors'
//! receivers with KOMBIT's certificate and takes their answers on a fake KSD exposure.

mod common;

use std::time::Duration;

use common::*;
use sim_jobcenter::{
    AnswerState, EventInfo, ExtensionDecision, ExtensionPolicy, ExtensionRequestInfo, VendorPolicy,
};
use sim_store::{Clock, JournalFilter};
use sim_wire::{
    ForlaengelseType, ForretningsValideringsKode, Operation, Payload, Rule, SvarForlaengelse,
    TransportValideringsKode,
};

const EVENT: Operation = Operation::ModtagHaendelse;
const REQUEST: Operation = Operation::ModtagAnmodningForlaengelse;
const ACK: Operation = Operation::SendForretningsSvarKsd;
const ANSWER: Operation = Operation::SendForretningsSvarForlaengelse;

/// A TransaktionIdentifikator of KSD's, numbered.
fn tid(n: u32) -> String {
    format!("7a0c0000-0000-4000-8000-{n:012}")
}

/// A case id of KSD's, numbered.
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

async fn event_of(h: &Harness, instance: &str, tid: &str) -> Option<EventInfo> {
    h.jc.events(Some(instance.into()), None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.transaktion_id == tid)
}

async fn request_of(h: &Harness, instance: &str, tid: &str) -> Option<ExtensionRequestInfo> {
    h.jc.extension_requests(Some(instance.into()), None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.transaktion_id == tid)
}

/// Waits until the event's acknowledgement is sent, and returns the event.
async fn acknowledged(h: &Harness, instance: &str, tid: &str) -> EventInfo {
    eventually("the acknowledgement is sent", || async {
        event_of(h, instance, tid)
            .await
            .filter(|e| e.acknowledgement.state == AnswerState::Sent)
    })
    .await
}

/// Waits until the request's answer is sent, and returns the request.
async fn answered(h: &Harness, instance: &str, tid: &str) -> ExtensionRequestInfo {
    eventually("the answer is sent", || async {
        request_of(h, instance, tid)
            .await
            .filter(|q| q.answer.state == AnswerState::Sent)
    })
    .await
}

/// A policy answering every request with `decision`, as soon as it arrives.
fn always(decision: ExtensionDecision) -> VendorPolicy {
    let w = |d| if d == decision { 1.0 } else { 0.0 };
    VendorPolicy {
        sf2093: ExtensionPolicy {
            time_limited: w(ExtensionDecision::TimeLimited),
            unlimited: w(ExtensionDecision::Unlimited),
            rejected: w(ExtensionDecision::Rejected),
            never_answered: w(ExtensionDecision::Never),
            answer_delay_min_ms: 0,
            answer_delay_max_ms: 0,
            ..ExtensionPolicy::default()
        },
        ..VendorPolicy::default()
    }
}

/// A harness whose named vendors follow their `policies` (the others the default), with a
/// fast background resender.
async fn start(policies: &[(&str, VendorPolicy)]) -> Harness {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&pki, &platform.url(), state.path(), 11);
    cfg.resend_max_backoff_ms = 50;
    for (instance, policy) in policies {
        set_policy(&mut cfg, instance, policy.clone());
    }
    Harness::launch(pki, platform, state, cfg).await
}

// rules KSD-10, JC-1, JC-3, SP-6: an event is answered OK only once stored, with the case
// state it tells, and acknowledged once with MODTAGET: the event's TransaktionIdentifikator,
// the instance's own certificate and system, the event's municipality as context.
#[tokio::test]
async fn ksd10_event_is_persisted_and_acknowledged_once_with_modtaget() {
    let h = start(&[]).await;
    let m = KMD_MUNICIPALITIES[1];
    let (t, s) = (tid(1), sag(1));
    let reply = h
        .deliver("kmd-jc", EVENT, ksd_request(EVENT, m, &t, &s))
        .await;
    ok(&reply);
    let stored = event_of(&h, "kmd-jc", &t).await.expect("stored before OK");
    assert_eq!(
        (stored.municipality.as_str(), stored.sag_id.as_str()),
        (m, s.as_str())
    );
    assert_eq!(stored.haendelse_type, "OPRETTET");
    assert_eq!(
        (stored.status.as_str(), stored.varighed_kode.as_str()),
        ("AKTIV", "60")
    );
    assert!(stored.raw.contains("ModtagHaendelseRequest"));
    assert_eq!(stored.deliveries, 1);

    let e = acknowledged(&h, "kmd-jc", &t).await;
    assert_eq!(e.acknowledgement.transport_code.as_deref(), Some("OK"));
    assert_eq!(e.acknowledgement.attempts, 1);
    let seen = h.platform.seen_of(ACK);
    assert_eq!(seen.len(), 1, "acknowledged once");
    let peer = seen[0].peer.as_ref().expect("client certificate");
    assert_eq!(
        peer.cvr.as_str(),
        "99000011",
        "KMD's own certificate (SP-6)"
    );
    assert_eq!(Some(&seen[0].body), e.acknowledgement.xml.as_ref());
    let (valid, ack) = request_in(&seen[0].body);
    assert!(valid, "{}", seen[0].body);
    assert_eq!(ack.operation, ACK);
    assert_eq!(
        ack.authority_context
            .map(|a| a.municipality_cvr.to_string()),
        Some(m.to_string()),
        "JC-3: the event's municipality"
    );
    let Payload::ForretningsSvar(svar) = ack.payload else {
        panic!("not a ForretningsSvar")
    };
    assert_eq!(svar.header.transaktion_identifikator.to_string(), t);
    assert_eq!(
        svar.header.registrering_it_system.to_string(),
        h.pki.uuid("kmd-jc")
    );
    assert_eq!(svar.kvittering.kode, ForretningsValideringsKode::Modtaget);

    // Over the admin API: the row with its acknowledgement, filtered by case; the counters.
    let (status, rows) = admin(h.admin, "GET", &format!("/events?sag_id={s}"), None).await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    assert_eq!(rows[0]["acknowledgement"]["state"], "sent");
    assert_eq!(rows[0]["acknowledgement"]["transport_code"], "OK");
    let (_, none) = admin(h.admin, "GET", "/events?instance=schultz-jc", None).await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (_, c) = admin(h.admin, "GET", "/counters", None).await;
    assert_eq!(c["events"]["received"], 1);
    assert_eq!(c["events"]["acknowledgements"]["sent"], 1);
    assert_eq!(c["resend_pending"], 0, "no update is owned");
    h.stop().await;
}

// rules KSD-10, KSD-7: a repeated event is answered OK, not processed again, and its
// acknowledgement goes once more — the identical document.
#[tokio::test]
async fn ksd10_repeated_event_is_ok_not_processed_twice_and_its_ack_resent() {
    let h = start(&[]).await;
    let m = SCHULTZ_MUNICIPALITY;
    let (t, s) = (tid(2), sag(2));
    let xml = ksd_request(EVENT, m, &t, &s);
    ok(&h.deliver("schultz-jc", EVENT, xml.clone()).await);
    acknowledged(&h, "schultz-jc", &t).await;
    ok(&h.deliver("schultz-jc", EVENT, xml).await);
    let seen = eventually("the acknowledgement is sent again", || async {
        let seen = h.platform.seen_of(ACK);
        (seen.len() == 2).then_some(seen)
    })
    .await;
    assert_eq!(seen[0].body, seen[1].body, "the same acknowledgement");
    let e = acknowledged(&h, "schultz-jc", &t).await;
    assert_eq!(e.deliveries, 2);
    assert_eq!(h.jc.events(None, None, 0, 100).await.unwrap().len(), 1);
    let details: Vec<String> =
        h.jc.journal(JournalFilter {
            transaktion_id: Some(t.clone()),
            operation: Some(EVENT.label()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.entry.detail)
        .collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details[0].starts_with("first delivery"), "{details:?}");
    assert!(
        details[1].starts_with("repeated delivery #2"),
        "{details:?}"
    );
    h.stop().await;
}

// rules KSD-10, JC-1: an acknowledgement KSD refused (FEJL) is not resent by itself, but when
// KSD delivers the event again — it holds no answer — the vendor acknowledges once more; a
// refusal that was not about the bytes (an injected FEJL) must not leave the event
// unacknowledged for ever.
#[tokio::test]
async fn ksd10_a_refused_acknowledgement_goes_again_when_the_event_comes_again() {
    let h = start(&[]).await;
    h.platform.script(&[Answer::Fejl]);
    let m = SCHULTZ_MUNICIPALITY;
    let (t, s) = (tid(40), sag(40));
    let xml = ksd_request(EVENT, m, &t, &s);
    ok(&h.deliver("schultz-jc", EVENT, xml.clone()).await);
    eventually("the acknowledgement is refused", || async {
        let e = event_of(&h, "schultz-jc", &t).await?;
        (e.acknowledgement.state == AnswerState::Refused).then_some(())
    })
    .await;
    assert_eq!(h.platform.seen_of(ACK).len(), 1, "not resent by itself");
    ok(&h.deliver("schultz-jc", EVENT, xml).await);
    let e = acknowledged(&h, "schultz-jc", &t).await;
    assert_eq!(e.acknowledgement.state, AnswerState::Sent);
    let seen = h.platform.seen_of(ACK);
    assert_eq!(seen.len(), 2, "acknowledged again after the repeat");
    assert_eq!(seen[0].body, seen[1].body, "the same acknowledgement");
    h.stop().await;
}

// rule JC-3: an event about another municipality's case, or for a municipality the instance
// does not serve, is answered FEJL naming JC-3, and nothing is stored or acknowledged.
#[tokio::test]
async fn jc3_event_outside_the_municipality_in_context_is_fejl() {
    let h = start(&[]).await;
    let m = KMD_MUNICIPALITIES[0];
    let t = tid(3);
    // A case of kmd-jc's other municipality, in the context of this one.
    let mut call = ksd_call(EVENT, m, &t, &sag(3));
    if let Payload::Haendelse(e) = &mut call.payload {
        e.sag.myndighed = KMD_MUNICIPALITIES[1].parse().unwrap();
    }
    let foreign_case = sim_wire::write_request(&call);
    let not_served = ksd_request(EVENT, SCHULTZ_MUNICIPALITY, &t, &sag(3));
    for xml in [foreign_case, not_served] {
        let reply = h.deliver("kmd-jc", EVENT, xml).await;
        let k = reply.transport_kvittering().expect("a TransportKvittering");
        assert_eq!(k.kode, TransportValideringsKode::Fejl, "{}", reply.body);
        assert!(
            k.fejl_liste.iter().any(|f| f.fejl_kode.starts_with("JC-3")),
            "{k:?}"
        );
    }
    assert!(h.jc.events(None, None, 0, 10).await.unwrap().is_empty());
    assert!(h.platform.seen().is_empty());
    h.stop().await;
}

// rules KSD-11, JC-1: each instance answers per its policy — time-limited (8 weeks after
// the duration limit), unlimited, rejected with a reason — with the request's
// TransaktionIdentifikator, in its municipality, with its own certificate.
#[tokio::test]
async fn ksd11_extension_requests_are_answered_per_policy() {
    let h = start(&[
        ("kmd-jc", always(ExtensionDecision::TimeLimited)),
        ("schultz-jc", always(ExtensionDecision::Unlimited)),
        ("netcompany-jc", always(ExtensionDecision::Rejected)),
    ])
    .await;
    let cases = [
        ("kmd-jc", KMD_MUNICIPALITIES[0], "99000011"),
        ("schultz-jc", SCHULTZ_MUNICIPALITY, "99000022"),
        ("netcompany-jc", NETCOMPANY_MUNICIPALITY, "99000033"),
    ];
    for (n, (instance, m, _)) in cases.iter().enumerate() {
        let n = 10 + n as u32;
        ok(&h
            .deliver(instance, REQUEST, ksd_request(REQUEST, m, &tid(n), &sag(n)))
            .await);
    }
    for (n, (instance, m, cvr)) in cases.iter().enumerate() {
        let t = tid(10 + n as u32);
        let q = answered(&h, instance, &t).await;
        assert_eq!(q.deliveries, 1);
        let seen: Vec<Seen> = h
            .platform
            .seen_of(ANSWER)
            .into_iter()
            .filter(|s| s.body.contains(&t))
            .collect();
        assert_eq!(seen.len(), 1, "{instance}: answered once");
        assert_eq!(seen[0].peer.as_ref().unwrap().cvr.as_str(), *cvr);
        let (valid, r) = request_in(&seen[0].body);
        assert!(valid, "{}", seen[0].body);
        assert_eq!(
            r.authority_context.map(|a| a.municipality_cvr.to_string()),
            Some(m.to_string())
        );
        let Payload::ForretningsSvarForlaengelse(f) = r.payload else {
            panic!("not a ForretningsSvarForlaengelse")
        };
        assert_eq!(f.header.transaktion_identifikator.to_string(), t);
        match (*instance, &f.svar) {
            (
                "kmd-jc",
                SvarForlaengelse::Forlaengelse {
                    forlaengelse_type: ForlaengelseType::Tidsbegraenset,
                    forlaengelse_slut_dato: Some(end),
                },
            ) => {
                assert_eq!(q.decision, ExtensionDecision::TimeLimited);
                let limit: sim_wire::Dato = q.varighedsgraense_dato.parse().unwrap();
                assert_eq!(end.0, limit.0 + time::Duration::weeks(8));
                assert_eq!(q.extension_end, Some(end.to_string()));
            }
            (
                "schultz-jc",
                SvarForlaengelse::Forlaengelse {
                    forlaengelse_type: ForlaengelseType::Tidsubegraenset,
                    forlaengelse_slut_dato: None,
                },
            ) => assert_eq!(q.decision, ExtensionDecision::Unlimited),
            ("netcompany-jc", SvarForlaengelse::Afvisning { begrundelse }) => {
                assert_eq!(q.decision, ExtensionDecision::Rejected);
                assert_eq!(q.begrundelse.as_ref(), Some(begrundelse));
            }
            (i, svar) => panic!("{i} answered {svar:?}"),
        }
    }
    let (status, rows) = admin(
        h.admin,
        "GET",
        "/extension-requests?instance=schultz-jc",
        None,
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    assert_eq!(rows[0]["decision"], "unlimited");
    assert_eq!(rows[0]["answer"]["state"], "sent");
    let (_, c) = admin(h.admin, "GET", "/counters", None).await;
    assert_eq!(c["extension_requests"]["received"], 3);
    assert_eq!(c["extension_requests"]["decisions"]["rejected"], 1);
    assert_eq!(c["extension_requests"]["answers"]["sent"], 3);
    h.stop().await;
}

// rules KSD-10, KSD-11: a broken vendor — one that never acknowledges and never answers —
// still stores and answers OK, and sends nothing; a repeated request is not decided again.
#[tokio::test]
async fn ksd10_ksd11_a_vendor_that_never_answers_stores_and_sends_nothing() {
    let mut broken = always(ExtensionDecision::Never);
    broken.sf2090.never_acknowledged = 1.0;
    let h = start(&[("kmd-jc", broken)]).await;
    let m = KMD_MUNICIPALITIES[0];
    let (te, tq) = (tid(20), tid(21));
    ok(&h
        .deliver("kmd-jc", EVENT, ksd_request(EVENT, m, &te, &sag(20)))
        .await);
    let request = ksd_request(REQUEST, m, &tq, &sag(20));
    ok(&h.deliver("kmd-jc", REQUEST, request.clone()).await);
    ok(&h.deliver("kmd-jc", REQUEST, request).await);
    let e = event_of(&h, "kmd-jc", &te).await.unwrap();
    assert_eq!(e.acknowledgement.state, AnswerState::Never);
    assert!(e.acknowledgement.xml.is_none());
    let q = request_of(&h, "kmd-jc", &tq).await.unwrap();
    assert_eq!(
        (q.decision, q.answer.state),
        (ExtensionDecision::Never, AnswerState::Never)
    );
    assert_eq!(q.deliveries, 2);
    // Another vendor's acknowledgement goes out; the broken vendor's queue stays empty.
    let other = tid(22);
    ok(&h
        .deliver(
            "schultz-jc",
            EVENT,
            ksd_request(EVENT, SCHULTZ_MUNICIPALITY, &other, &sag(22)),
        )
        .await);
    acknowledged(&h, "schultz-jc", &other).await;
    let bodies: Vec<String> = h.platform.seen().into_iter().map(|s| s.body).collect();
    assert_eq!(bodies.len(), 1, "only schultz-jc's acknowledgement");
    assert!(bodies[0].contains(&other));
    let (_, c) = admin(h.admin, "GET", "/counters", None).await;
    assert_eq!(c["events"]["acknowledgements"]["never"], 1);
    assert_eq!(c["extension_requests"]["answers"]["never"], 1);
    h.stop().await;
}

// rule JC-1: the acknowledgement is the vendor's until the platform takes it. Faults first
// (SP-4), then OK: the identical document is resent by the background resender.
#[tokio::test]
async fn jc1_ack_is_resent_through_platform_faults() {
    let h = start(&[]).await;
    h.platform
        .script(&[Answer::Fault, Answer::Fault, Answer::Fault]);
    let t = tid(30);
    ok(&h
        .deliver(
            "netcompany-jc",
            EVENT,
            ksd_request(EVENT, NETCOMPANY_MUNICIPALITY, &t, &sag(30)),
        )
        .await);
    let e = acknowledged(&h, "netcompany-jc", &t).await;
    assert_eq!(e.acknowledgement.attempts, 4, "three faults, then OK");
    let seen = h.platform.seen_of(ACK);
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter()
            .all(|s| Some(&s.body) == e.acknowledgement.xml.as_ref()),
        "the identical document every time"
    );
    h.stop().await;
}

// rule JC-1: with the platform down (connections refused) the acknowledgement waits in the
// resender's queue; once the platform is up it is delivered, once.
#[tokio::test]
async fn jc1_ack_is_resent_after_the_platform_was_down() {
    let pki = Pki::new();
    // A port nobody listens on yet: bind, note, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let placeholder = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    let url = format!(
        "https://localhost:{port}{}",
        sim_wire::Port::Ksd.platform_path()
    );
    let mut cfg = config(&pki, &url, state.path(), 5);
    cfg.resend_max_backoff_ms = 50;
    let h = Harness::launch(pki, placeholder, state, cfg).await;
    let t = tid(40);
    ok(&h
        .deliver(
            "kmd-jc",
            EVENT,
            ksd_request(EVENT, KMD_MUNICIPALITIES[0], &t, &sag(40)),
        )
        .await);
    let waiting = eventually("attempts fail while the platform is down", || async {
        event_of(&h, "kmd-jc", &t)
            .await
            .filter(|e| e.acknowledgement.attempts >= 2)
    })
    .await;
    assert_eq!(waiting.acknowledgement.state, AnswerState::Pending);
    assert!(
        waiting
            .acknowledgement
            .last_error
            .as_deref()
            .unwrap_or("")
            .starts_with("transport"),
        "{:?}",
        waiting.acknowledgement
    );
    let platform = FakePlatform::start_on(&h.pki, port).await;
    let e = acknowledged(&h, "kmd-jc", &t).await;
    assert_eq!(e.acknowledgement.transport_code.as_deref(), Some("OK"));
    let seen = platform.seen_of(ACK);
    assert_eq!(seen.len(), 1, "delivered once the platform is up");
    assert_eq!(Some(&seen[0].body), e.acknowledgement.xml.as_ref());
    h.stop().await;
}

// rules KSD-11, JC-1: an answer's delay is virtual time on the program's clock, and a
// decided answer not yet sent survives a restart: the next process on the same state sends
// the same document when it falls due.
#[tokio::test]
async fn ksd11_a_decided_answer_waits_in_virtual_time_and_survives_a_restart() {
    let hour = Duration::from_secs(3600);
    let mut policy = always(ExtensionDecision::TimeLimited);
    policy.sf2093.answer_delay_min_ms = 3_600_000;
    policy.sf2093.answer_delay_max_ms = 3_600_000;
    let t0 = time::macros::datetime!(2026-12-01 09:00 UTC);

    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&pki, &platform.url(), state.path(), 9);
    cfg.clock = Clock::manual(t0);
    set_policy(&mut cfg, "kmd-jc", policy.clone());
    let h = Harness::launch(pki, platform, state, cfg).await;
    let t = tid(50);
    ok(&h
        .deliver(
            "kmd-jc",
            REQUEST,
            ksd_request(REQUEST, KMD_MUNICIPALITIES[0], &t, &sag(50)),
        )
        .await);
    let q = request_of(&h, "kmd-jc", &t).await.unwrap();
    assert_eq!(q.answer.state, AnswerState::Pending);
    assert_eq!(
        q.answer.due_at,
        Some(t0 + hour),
        "an hour of virtual time later"
    );
    let decided = q
        .answer
        .xml
        .clone()
        .expect("the answer is made when decided");

    // The process ends before the answer is due; the next one starts an hour and a half on.
    let (pki, platform, state) = h.stop_keep().await;
    assert!(platform.seen().is_empty(), "nothing sent before it was due");
    let mut cfg = config(&pki, &platform.url(), state.path(), 9);
    cfg.clock = Clock::manual(t0 + hour + hour / 2);
    set_policy(&mut cfg, "kmd-jc", policy);
    let h = Harness::launch(pki, platform, state, cfg).await;
    let q = answered(&h, "kmd-jc", &t).await;
    assert_eq!(q.decision, ExtensionDecision::TimeLimited, "decided once");
    let seen = h.platform.seen_of(ANSWER);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body, decided,
        "the document decided before the restart"
    );
    h.stop().await;
}

// rule KSD-11: on a manual clock an answer due later is sent only once the clock gets there.
#[tokio::test]
async fn ksd11_an_answer_goes_when_the_virtual_clock_reaches_its_due_time() {
    let mut policy = always(ExtensionDecision::Rejected);
    policy.sf2093.answer_delay_min_ms = 7_200_000;
    policy.sf2093.answer_delay_max_ms = 7_200_000;
    let t0 = time::macros::datetime!(2026-12-01 09:00 UTC);
    let clock = Clock::manual(t0);
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&pki, &platform.url(), state.path(), 9);
    cfg.clock = clock.clone();
    set_policy(&mut cfg, "schultz-jc", policy);
    let h = Harness::launch(pki, platform, state, cfg).await;
    let t = tid(60);
    ok(&h
        .deliver(
            "schultz-jc",
            REQUEST,
            ksd_request(REQUEST, SCHULTZ_MUNICIPALITY, &t, &sag(60)),
        )
        .await);
    // An event on the same clock is acknowledged at once: the queue is not blocked.
    let te = tid(61);
    ok(&h
        .deliver(
            "schultz-jc",
            EVENT,
            ksd_request(EVENT, SCHULTZ_MUNICIPALITY, &te, &sag(60)),
        )
        .await);
    acknowledged(&h, "schultz-jc", &te).await;
    assert!(h.platform.seen_of(ANSWER).is_empty(), "not due yet");
    clock.advance(Duration::from_secs(2 * 3600));
    let q = answered(&h, "schultz-jc", &t).await;
    assert_eq!(q.decision, ExtensionDecision::Rejected);
    assert_eq!(h.platform.seen_of(ANSWER).len(), 1);
    h.stop().await;
}

// rule JC-2: KSD's calls, like receipts, are taken only from KOMBIT's certificate.
#[tokio::test]
async fn jc2_an_event_from_another_certificate_is_a_fault() {
    let h = start(&[]).await;
    let xml = ksd_request(EVENT, SCHULTZ_MUNICIPALITY, &tid(70), &sag(70));
    let reply = h
        .pki
        .soap_client("ksd")
        .call(&h.url("schultz-jc"), &EVENT.soap_action(), xml)
        .await
        .unwrap();
    assert_eq!(
        reply.fault().and_then(|f| f.rule()),
        Some(Rule::Jc2),
        "{}",
        reply.body
    );
    assert!(h.jc.events(None, None, 0, 10).await.unwrap().is_empty());
    h.stop().await;
}
