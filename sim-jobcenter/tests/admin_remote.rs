//! The admin routes a scenario runner in another process or container drives the jobcenter
//! through (`sim::jobcenter_remote`): `GET /updates/{tid}/transport`, `POST /lookups`,
//! `POST /ky`, `GET /ky/{tid}/wait`, `GET /receipts/count` and `GET /receipts/times`. Each is
//! shown to answer what the in-process method answers (`Jobcenter::wait_for_transport`,
//! `lookup`, `send_ky`, `wait_for_ky`, `receipt_count`, `receipt_times`), over plain HTTP
//! against the real process and a fake platform on mTLS.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sim_jobcenter::{KyOutcome, KyStatus, Lookup, LookupOutcome, UpdateSpec, UpdateStatus};
use sim_wire::ky::{self, examples, Handling, KyOperation};
use sim_wire::{Cvr, HentSag, HentSagsListe};

fn cvr(s: &str) -> Cvr {
    s.parse().unwrap()
}

/// A harness whose vendors give up their quick attempts early (two for an update; calls of
/// half a second), so a test can see a message left to the background resender (JC-1).
async fn impatient() -> Harness {
    let pki = Pki::new();
    let platform = FakePlatform::start(&pki).await;
    let state_dir = tempfile::tempdir().unwrap();
    let mut c = config(&pki, &platform.url(), state_dir.path(), 0);
    c.max_send_attempts = 2;
    c.call_timeout_ms = 500;
    Harness::launch(pki, platform, state_dir, c).await
}

/// `GET /updates/{tid}/transport?timeout_ms=…` on the harness's admin API.
async fn transport(h: &Harness, tid: &str, timeout_ms: u64) -> (u16, Value) {
    admin(
        h.admin,
        "GET",
        &format!("/updates/{tid}/transport?timeout_ms={timeout_ms}"),
        None,
    )
    .await
}

// rules JC-1, KSD-1: the long poll for an update's TransportKvittering answers what
// `wait_for_transport` answers — accepted (OK), rejected (FEJL), `sent` while the update is
// still owned and resent when the wait runs out, 404 for an update the vendor does not know —
// and is told when the background resender gets the receipt.
#[tokio::test]
async fn the_transport_wait_over_http_tells_what_the_method_tells_jc1() {
    let h = impatient().await;
    let wait = Duration::from_millis(50);

    // OK: accepted.
    let (s, sent) = admin(h.admin, "POST", "/send", Some(json!({}))).await;
    assert_eq!(s, 200, "{sent}");
    let tid = sent["transaktion_id"].as_str().unwrap().to_string();
    let (s, v) = transport(&h, &tid, 1_000).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({ "transaktion_id": tid, "status": "accepted" }));
    assert_eq!(
        h.jc.wait_for_transport(&tid, wait).await.unwrap(),
        Some(UpdateStatus::Accepted)
    );

    // FEJL (KSD-1): rejected, not resent.
    h.platform.script(&[Answer::Fejl]);
    let out = h.jc.send_update(UpdateSpec::default()).await.unwrap();
    let (s, v) = transport(&h, &out.transaktion_id, 1_000).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "rejected");
    assert_eq!(
        h.jc.wait_for_transport(&out.transaktion_id, wait)
            .await
            .unwrap(),
        Some(UpdateStatus::Rejected)
    );

    // Unknown: 404, as `None` in-process.
    let unknown = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let (s, v) = transport(&h, unknown, 1_000).await;
    assert_eq!(s, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains(unknown), "{v}");
    assert_eq!(h.jc.wait_for_transport(unknown, wait).await.unwrap(), None);

    // Faults through the quick attempts and the first background resend: still owned
    // (`sent`) when a short wait runs out; a long one is told once the resender gets the OK.
    h.platform
        .script(&[Answer::Fault, Answer::Fault, Answer::Fault]);
    let out = h.jc.send_update(UpdateSpec::default()).await.unwrap();
    assert_eq!(out.status, UpdateStatus::Sent, "{out:?}");
    let tid = out.transaktion_id;
    let (s, v) = transport(&h, &tid, 50).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "sent");
    assert_eq!(
        h.jc.wait_for_transport(&tid, wait).await.unwrap(),
        Some(UpdateStatus::Sent)
    );
    let (s, v) = transport(&h, &tid, PATIENCE.as_millis() as u64 * 3).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["status"], "accepted",
        "told when the resender's OK commits"
    );
    assert_eq!(
        h.jc.wait_for_transport(&tid, wait).await.unwrap(),
        Some(UpdateStatus::Accepted)
    );

    // A bad timeout is the caller's mistake.
    let (s, _) = admin(
        h.admin,
        "GET",
        &format!("/updates/{tid}/transport?timeout_ms=soon"),
        None,
    )
    .await;
    assert_eq!(s, 400);
    h.stop().await;
}

/// `POST /lookups` with `body`.
async fn lookup(h: &Harness, body: Value) -> (u16, Value) {
    admin(h.admin, "POST", "/lookups", Some(body)).await
}

// rules KSD-12, JC-3, SP-6: a look-up over HTTP is the look-up — the same document to the
// platform in the same security context with the instance's own certificate, and the same
// outcome whatever the platform answered (a receipt, a FEJL, a fault); the request's mistakes
// are the same errors (JC-3: a municipality the instance does not serve).
#[tokio::test]
async fn a_lookup_over_http_is_the_in_process_lookup_ksd12_jc3() {
    let h = Harness::start().await;
    let second = KMD_MUNICIPALITIES[1];
    let sag = "8c6e2a4f-0b1d-4c3e-a5f7-9d8b6c4e2a10";
    let by_sag = Lookup::Sag(HentSag::SagIdentifikator(sag.parse().unwrap()));
    let cases: Vec<(Value, Lookup)> = vec![
        (json!({"hent_sag": {"sag_identifikator": sag}}), by_sag),
        (
            json!({"hent_sag": {"nem_refusion_identifier": sag}}),
            Lookup::Sag(HentSag::NemRefusionIdentifier(sag.parse().unwrap())),
        ),
        (
            json!({"hent_sags_liste": {
                "sygemeldte_part": "0101701234",
                "periode_fra": "2026-01-01",
                "periode_til": "2026-06-30",
            }}),
            Lookup::Liste(HentSagsListe {
                sygemeldte_part: Some("0101701234".parse().unwrap()),
                periode_fra: Some("2026-01-01".parse().unwrap()),
                periode_til: Some("2026-06-30".parse().unwrap()),
            }),
        ),
        (
            json!({"hent_sags_liste": {}}),
            Lookup::Liste(HentSagsListe::default()),
        ),
    ];
    // Each answer twice, once per way in: OK (an empty answer), FEJL, an SP-4 fault.
    for answer in [Answer::Ok, Answer::Fejl, Answer::Fault] {
        for (query, typed) in &cases {
            h.platform.script(&[answer, answer]);
            let before = h.platform.seen().len();
            let (s, v) = lookup(
                &h,
                json!({"instance": "kmd-jc", "municipality": second, "query": query}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            let remote: LookupOutcome = serde_json::from_value(v.clone()).unwrap();
            let local =
                h.jc.lookup("kmd-jc", Some(cvr(second)), *typed)
                    .await
                    .unwrap();
            assert_eq!(remote, local, "{answer:?} {query}");
            assert_eq!(v["municipality"], second);
            let seen = &h.platform.seen()[before..];
            assert_eq!(seen.len(), 2);
            assert_eq!(seen[0].body, seen[1].body, "the same document");
            assert_eq!(seen[0].soap_action, seen[1].soap_action);
            assert_eq!(
                seen[0].soap_action.as_deref(),
                Some(typed.operation().soap_action().as_str())
            );
            let peer = seen[0].peer.as_ref().unwrap();
            assert_eq!(peer.uuid(), Some(h.pki.uuid("kmd-jc").as_str()), "SP-6");
        }
    }
    // The JSON of an outcome: the journal's outcome text, cases as pairs.
    h.platform.script(&[Answer::Fejl]);
    let (_, v) = lookup(
        &h,
        json!({"instance": "kmd-jc", "query": {"hent_sag": {"sag_identifikator": sag}}}),
    )
    .await;
    assert_eq!(v["outcome"], "FEJL");
    assert_eq!(v["cases"], json!([]));
    assert_eq!(v["fejl_koder"], json!(["KSD-5.VAERDI"]));
    assert_eq!(
        v["municipality"], KMD_MUNICIPALITIES[0],
        "the instance's first when none is given"
    );

    // The request's mistakes: JC-3 (400), an unknown instance (404), unreadable values
    // (400), a body of another shape (422). Nothing reaches the platform.
    let before = h.platform.seen().len();
    let (s, v) = lookup(
        &h,
        json!({"instance": "kmd-jc", "municipality": SCHULTZ_MUNICIPALITY,
               "query": {"hent_sag": {"sag_identifikator": sag}}}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("JC-3"), "{v}");
    let e =
        h.jc.lookup("kmd-jc", Some(cvr(SCHULTZ_MUNICIPALITY)), by_sag)
            .await
            .unwrap_err();
    assert_eq!(v["error"], e.to_string());
    let (s, _) = lookup(
        &h,
        json!({"instance": "nobody-jc", "query": {"hent_sag": {"sag_identifikator": sag}}}),
    )
    .await;
    assert_eq!(s, 404);
    for bad in [
        json!({"instance": "kmd-jc", "query": {"hent_sag": {"sag_identifikator": "x"}}}),
        json!({"instance": "kmd-jc", "query": {"hent_sags_liste": {"sygemeldte_part": "3213701234"}}}),
        json!({"instance": "kmd-jc", "query": {"hent_sags_liste": {"periode_fra": "2026-13-01"}}}),
        json!({"instance": "kmd-jc", "municipality": "123", "query": {"hent_sags_liste": {}}}),
    ] {
        let (s, v) = lookup(&h, bad.clone()).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    for bad in [
        json!({"instance": "kmd-jc"}),
        json!({"instance": "kmd-jc", "query": {}}),
        json!({"instance": "kmd-jc", "query": {"hent_sag": {"sag_identifikator": sag}, "hent_sags_liste": {}}}),
        json!({"instance": "kmd-jc", "query": {"hent_sags_liste": {"sagsnummer": "1"}}}),
        json!({"instance": "kmd-jc", "query": {"hent_sags_liste": {}}, "extra": 1}),
    ] {
        let (s, v) = lookup(&h, bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    assert_eq!(h.platform.seen().len(), before, "nothing was sent");
    h.stop().await;
}

/// `POST /ky` of `r` as `instance`.
async fn send_ky(h: &Harness, instance: &str, r: &ky::KyRequest) -> (u16, Value) {
    admin(
        h.admin,
        "POST",
        "/ky",
        Some(json!({"instance": instance, "request_xml": ky::write_request(r)})),
    )
    .await
}

/// The KY requests the fake platform received, read.
fn ky_seen(h: &Harness) -> Vec<(String, ky::KyRequest)> {
    h.platform
        .seen()
        .into_iter()
        .filter(|s| {
            s.soap_action
                .as_deref()
                .and_then(KyOperation::from_soap_action)
                .is_some()
        })
        .map(|s| {
            let r = ky::read(s.body.as_bytes(), s.soap_action.as_deref())
                .unwrap()
                .request()
                .unwrap()
                .clone();
            (s.body, r)
        })
        .collect()
}

// rules KY-1, KY-10, JC-1, SP-6: a KY message over HTTP is `send_ky`'s — the request carried
// as its document loses nothing (the platform gets the request with only what the vendor
// fills in changed: its system, the sending time, the security context), the outcome is the
// stored one, a repeat is not sent again, and the wait answers what `wait_for_ky` answers.
#[tokio::test]
async fn a_ky_message_over_http_is_sent_and_owned_as_in_process_ky1_jc1() {
    let h = impatient().await;
    let r = examples::request(KyOperation::Kontaktforloeb);
    let (s, v) = send_ky(&h, "schultz-jc", &r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["operation"], "SendKontaktforloeb");
    assert_eq!(v["handling"], "OPRET");
    assert_eq!(v["status"], "accepted");
    let out: KyOutcome = serde_json::from_value(v).unwrap();
    assert_eq!(out.status, KyStatus::Accepted);
    assert_eq!(
        (out.attempts, out.transport_code.as_deref()),
        (1, Some("OK"))
    );
    assert_eq!(
        h.jc.ky_message(&out.transaktion_id).await.unwrap(),
        Some(out.clone())
    );

    // What the platform got: the request, with the vendor's own parts filled in.
    let seen = ky_seen(&h);
    assert_eq!(seen.len(), 1);
    let (_, got) = &seen[0];
    let mut expected = r.clone();
    expected.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: cvr(SCHULTZ_MUNICIPALITY),
    });
    expected.payload.header.registrering_it_system = h.pki.uuid("schultz-jc").parse().unwrap();
    expected.payload.header.besked_forsendelses_dato_tid =
        got.payload.header.besked_forsendelses_dato_tid;
    assert_eq!(got, &expected);

    // KY-10 / JC-1: the same TransaktionIdentifikator again is the stored outcome, both ways
    // in, and nothing is sent again.
    let (s, v) = send_ky(&h, "schultz-jc", &r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(serde_json::from_value::<KyOutcome>(v).unwrap(), out);
    assert_eq!(
        h.jc.send_ky("schultz-jc", None, r.clone()).await.unwrap(),
        out
    );
    assert_eq!(ky_seen(&h).len(), 1, "not sent again");
    let (s, v) = admin(
        h.admin,
        "GET",
        &format!("/ky/{}/wait?timeout_ms=0", out.transaktion_id),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(serde_json::from_value::<KyOutcome>(v).unwrap(), out);

    // KY-6: KY's FEJL ends the sending: refused, naming the rule.
    h.platform.script(&[Answer::Fejl]);
    let a = examples::request(KyOperation::Aktivitet);
    let (s, v) = send_ky(&h, "schultz-jc", &a).await;
    assert_eq!(s, 200, "{v}");
    let refused: KyOutcome = serde_json::from_value(v).unwrap();
    assert_eq!(refused.status, KyStatus::Refused);
    assert_eq!(refused.fejl_koder, vec!["KY-6.UKENDT".to_string()]);
    assert_eq!(
        h.jc.wait_for_ky(&refused.transaktion_id, Duration::ZERO)
            .await
            .unwrap(),
        Some(refused)
    );

    // No receipt through the quick attempts: pending when a short wait runs out, as
    // in-process; a long wait is told when the background resender gets KY's OK.
    h.platform.script(&[Answer::Fault; 4]);
    let f = examples::request(KyOperation::Fravaer);
    let (s, v) = send_ky(&h, "schultz-jc", &f).await;
    assert_eq!(s, 200, "{v}");
    let pending: KyOutcome = serde_json::from_value(v).unwrap();
    assert_eq!(pending.status, KyStatus::Pending, "{pending:?}");
    let tid = pending.transaktion_id.clone();
    let (s, v) = admin(
        h.admin,
        "GET",
        &format!("/ky/{tid}/wait?timeout_ms=20"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "pending");
    let short = h.jc.wait_for_ky(&tid, Duration::from_millis(20)).await;
    assert_eq!(short.unwrap().unwrap().status, KyStatus::Pending);
    let done = eventually("KY's receipt through the resender", || {
        let (addr, tid) = (h.admin, tid.clone());
        async move {
            let (s, v) = admin(
                addr,
                "GET",
                &format!("/ky/{tid}/wait?timeout_ms=2000"),
                None,
            )
            .await;
            assert_eq!(s, 200, "{v}");
            let o: KyOutcome = serde_json::from_value(v).unwrap();
            (o.status != KyStatus::Pending).then_some(o)
        }
    })
    .await;
    assert_eq!(done.status, KyStatus::Accepted);
    assert_eq!(
        h.jc.wait_for_ky(&tid, Duration::ZERO).await.unwrap(),
        Some(done)
    );

    // The request's mistakes: JC-3 (kmd-jc does not serve Viborg), an unknown instance, a
    // document that holds no KY request; an unknown TransaktionIdentifikator is 404.
    let before = ky_seen(&h).len();
    let g = examples::request(KyOperation::Godtgoerelse);
    let (s, v) = send_ky(&h, "kmd-jc", &g).await;
    assert_eq!(s, 400, "{v}");
    let e = h.jc.send_ky("kmd-jc", None, g.clone()).await.unwrap_err();
    assert_eq!(v["error"], e.to_string());
    assert!(v["error"].as_str().unwrap().contains("JC-3"));
    let (s, _) = send_ky(&h, "nobody-jc", &g).await;
    assert_eq!(s, 404);
    let (s, v) = admin(
        h.admin,
        "POST",
        "/ky",
        Some(json!({"instance": "kmd-jc", "municipality": KMD_MUNICIPALITIES[0], "request_xml": "<not-soap/>"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let response = ky::write_response(&examples::response_ok(KyOperation::Fravaer));
    let (s, v) = admin(
        h.admin,
        "POST",
        "/ky",
        Some(json!({"instance": "schultz-jc", "request_xml": response})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = admin(
        h.admin,
        "POST",
        "/ky",
        Some(json!({"instance": "schultz-jc"})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(ky_seen(&h).len(), before, "nothing was sent");
    let unknown = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let (s, v) = admin(
        h.admin,
        "GET",
        &format!("/ky/{unknown}/wait?timeout_ms=0"),
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        h.jc.wait_for_ky(unknown, Duration::ZERO).await.unwrap(),
        None
    );
    h.stop().await;
}

// rules KSD-2, JC-1: the count and the times of the business receipts over HTTP are
// `receipt_count` and `receipt_times` — distinct receipts (a redelivery counts once), every
// one, oldest first, the time as Unix milliseconds of virtual time.
#[tokio::test]
async fn receipt_count_and_times_over_http_are_the_methods_ksd2() {
    let h = Harness::start().await;
    let (s, v) = admin(h.admin, "GET", "/receipts/count", None).await;
    assert_eq!((s, v), (200, json!({"receipts": 0})));
    let (s, v) = admin(h.admin, "GET", "/receipts/times", None).await;
    assert_eq!((s, v), (200, json!([])));

    let mut tids = Vec::new();
    for _ in 0..3 {
        let out = h.jc.send_update(UpdateSpec::default()).await.unwrap();
        let r = h
            .deliver_receipt(
                "kombit",
                &out.instance,
                &out.municipality,
                &out.transaktion_id,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        tids.push(out);
    }
    // The platform delivers the first again (at least once): still one receipt.
    let first = &tids[0];
    h.deliver_receipt(
        "kombit",
        &first.instance,
        &first.municipality,
        &first.transaktion_id,
    )
    .await;

    let (s, v) = admin(h.admin, "GET", "/receipts/count", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"receipts": h.jc.receipt_count().await.unwrap()}));
    assert_eq!(v["receipts"], 3);

    let (s, v) = admin(h.admin, "GET", "/receipts/times", None).await;
    assert_eq!(s, 200, "{v}");
    let expected: Vec<Value> =
        h.jc.receipt_times()
            .await
            .unwrap()
            .into_iter()
            .map(|(tid, at)| json!([tid, sim_store::unix_millis(at)]))
            .collect();
    assert_eq!(v, Value::Array(expected));
    let listed: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    let sent: Vec<&str> = tids.iter().map(|o| o.transaktion_id.as_str()).collect();
    assert_eq!(listed, sent, "oldest first, each once");
    h.stop().await;
}

// The KY names in the admin API's JSON are the wire's: operations by name
// (`SendKontaktforloeb`), sub-actions by their text (`OPRET`), statuses as stored.
#[test]
fn ky_values_in_json_are_their_wire_names() {
    for op in KyOperation::ALL {
        let v = serde_json::to_value(op).unwrap();
        assert_eq!(v, op.name());
        assert_eq!(serde_json::from_value::<KyOperation>(v).unwrap(), op);
    }
    for h in Handling::ALL {
        let v = serde_json::to_value(h).unwrap();
        assert_eq!(v, h.as_str());
        assert_eq!(serde_json::from_value::<Handling>(v).unwrap(), h);
    }
    for s in [KyStatus::Pending, KyStatus::Accepted, KyStatus::Refused] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
}
