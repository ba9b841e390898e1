//! Each checker on hand-built histories: passing on a clean one, failing with the right
//! examples on one with exactly the violation it exists to find.

mod fixtures;

use fixtures::*;
use sim_check::{CheckKind, CheckResult};
use sim_store::{Label, Outcome, Part};
use sim_wire::{Port, Rule};

fn passed(r: &CheckResult) {
    assert!(r.passed, "{} should pass: {}", r.name, r.summary);
    assert!(r.examples.is_empty(), "{r:?}");
}

fn failed_with(r: &CheckResult, examples: &[&str]) {
    assert!(!r.passed, "{} should fail: {}", r.name, r.summary);
    assert_eq!(r.examples, examples, "{}: {}", r.name, r.summary);
}

#[tokio::test]
async fn a_clean_history_passes_every_check() {
    let f = Fixture::new();
    f.clean().await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "no-misrouting",
            "processed-exactly-once",
            "refused-what-must-be-refused",
            "no-receipt-without-update",
            "duration-codes-follow-the-dialogue",
            "no-cross-municipality-read",
            "backlog-drains",
            "events-acknowledged",
            "ky-receipts",
            "platform-response-times"
        ]
    );
    for c in &checks {
        passed(c);
        assert!(c.rule.is_some(), "{c:?}");
    }
    let kinds: Vec<CheckKind> = checks.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CheckKind::Safety,
            CheckKind::Safety,
            CheckKind::Safety,
            CheckKind::Safety,
            CheckKind::Safety,
            CheckKind::Safety,
            CheckKind::Liveness,
            CheckKind::Liveness,
            CheckKind::Liveness,
            CheckKind::Sla
        ]
    );
    let backlog = &checks[6];
    assert_eq!(backlog.measured, Some(0.0), "nothing lost");
}

#[tokio::test]
async fn stats_count_updates_receipts_and_rows() {
    let f = Fixture::new();
    f.clean().await;
    let mut rejected = Exchange::new(9, KMD, M1, 20_000);
    rejected.ksd_outcome = Outcome::Fejl;
    f.exchange(&rejected).await;
    let s = sim_check::stats(&f.input()).unwrap();
    assert_eq!(
        (s.sent, s.accepted, s.rejected, s.undelivered, s.receipts),
        (5, 4, 1, 0, 4)
    );
    assert_eq!(s.per_vendor[KMD].sent, 3);
    assert_eq!(s.per_vendor[KMD].rejected, 1);
    assert_eq!(s.per_vendor[SCHULTZ].receipts, 2);
    assert!(s.journal_rows.sp > 0 && s.journal_rows.ksd > 0 && s.journal_rows.jobcenter > 0);
    let mut totals = sim_report::Totals::default();
    s.fill(&mut totals);
    assert_eq!(totals.sent, 5);
    assert_eq!(s.programs().len(), 3);
}

// --- no-misrouting (SP-2, SP-3, JC-3) ---

#[tokio::test]
async fn a_receipt_delivered_to_another_vendor_is_misrouted() {
    let f = Fixture::new();
    f.clean().await;
    let mut x = Exchange::new(5, KMD, M1, 10_000);
    x.deliver_to = Some(SCHULTZ.into());
    f.exchange(&x).await;
    let r = sim_check::no_misrouting(&f.input()).unwrap();
    // The platform's delivery and the vendor's stored receipt both name it.
    failed_with(&r, &[&x.tid]);
    assert_eq!(r.kind, CheckKind::Safety);
    assert!(r.summary.contains("misrouted"), "{}", r.summary);
}

#[tokio::test]
async fn a_routing_change_moves_receipts_and_is_respected() {
    let f = Fixture::new();
    f.clean().await;
    // M1 moves to schultz-jc at 8 s; a receipt after that goes to schultz-jc, rightly.
    let mut x = Exchange::new(5, KMD, M1, 10_000);
    x.deliver_to = Some(SCHULTZ.into());
    f.exchange(&x).await;
    let mut input = f.input();
    input.routing.insert(M1.into(), SCHULTZ.into());
    input
        .routing_changes
        .push((at(8_000), M1.into(), SCHULTZ.into()));
    let r = sim_check::no_misrouting(&input).unwrap();
    passed(&r);
    // Before the change the route is unknown (only the final table is given): not judged.
    assert!(r.summary.contains("not judged"), "{}", r.summary);

    // The same change made *after* the delivery: the receipt went to the wrong vendor.
    let mut late = f.input();
    late.routing_changes
        .push((at(5_000), M1.into(), KMD.into()));
    late.routing_changes
        .push((at(20_000), M1.into(), SCHULTZ.into()));
    late.routing.insert(M1.into(), SCHULTZ.into());
    let r = sim_check::no_misrouting(&late).unwrap();
    failed_with(&r, &[&x.tid]);
}

// --- processed-exactly-once (KSD-7) ---

#[tokio::test]
async fn an_update_processed_twice_is_caught() {
    let f = Fixture::new();
    f.clean().await;
    let x = Exchange::new(6, SCHULTZ, M2, 10_000);
    f.exchange(&x).await;
    // KSD processes the repeat instead of answering it from the store.
    let k = uuid(0x3000_0006);
    f.record(
        P::Ksd,
        entry(
            12_000,
            true,
            req(ModtagOpdateringFravaer),
            Some(&x.tid),
            Some(&k),
            Some(KOMBIT),
            Some(M2),
            Outcome::Ok,
        ),
    )
    .await;
    let r = sim_check::processed_exactly_once(&f.input()).unwrap();
    failed_with(&r, &[&x.tid]);
}

#[tokio::test]
async fn a_second_case_history_row_is_processing_twice() {
    let f = Fixture::new();
    f.clean().await;
    let x = Exchange::new(7, KMD, M1, 10_000);
    f.exchange(&x).await;
    // The journal looks fine, but KSD changed the case twice for one update.
    f.ksd_records(&x.tid, M1, 11_000).await;
    let r = sim_check::processed_exactly_once(&f.input()).unwrap();
    failed_with(&r, &[&x.tid]);
}

#[tokio::test]
async fn a_duplicate_answer_before_any_processing_is_caught() {
    let f = Fixture::new();
    f.clean().await;
    let tid = uuid(8);
    let k = uuid(0x3000_0008);
    f.record(
        P::Ksd,
        entry(
            12_000,
            true,
            req(ModtagOpdateringFravaer),
            Some(&tid),
            Some(&k),
            Some(KOMBIT),
            Some(M2),
            Outcome::Duplicate,
        ),
    )
    .await;
    let r = sim_check::processed_exactly_once(&f.input()).unwrap();
    failed_with(&r, &[&tid]);
}

// --- refused-what-must-be-refused (KSD-5, KSD-8, SP-5, WIRE-1) ---

#[tokio::test]
async fn injected_messages_refused_by_ksd_or_the_platform_pass() {
    let f = Fixture::new();
    f.clean().await;
    // forbidden_code: KSD answers FEJL (KSD-5).
    let mut code = Exchange::new(10, KMD, M1, 10_000);
    code.ksd_outcome = Outcome::Fejl;
    f.exchange(&code).await;
    // cvr_mismatch_agreement: the platform refuses with SP-5 (after a transient SP-9 fault).
    let agreement = uuid(11);
    let c = uuid(0x4000_0011);
    for outcome in [Outcome::fault(Rule::Sp9), Outcome::fault(Rule::Sp5)] {
        f.record(
            P::Sp,
            entry(
                11_000,
                true,
                req(SendOpdateringFravaer),
                Some(&agreement),
                Some(&c),
                None,
                Some(M2),
                outcome.clone(),
            ),
        )
        .await;
        f.record(
            P::Sp,
            entry(
                11_000,
                false,
                req(SendOpdateringFravaer).with(Part::Fault),
                Some(&agreement),
                Some(&c),
                None,
                Some(M2),
                outcome,
            ),
        )
        .await;
    }
    // malformed_xml: unreadable, so the platform's rows have no TransaktionIdentifikator;
    // the identifier is only in the raw bytes.
    let malformed = uuid(12);
    let c = uuid(0x4000_0012);
    let mut e = entry(
        12_000,
        true,
        Label::unknown(Port::Ksd),
        None,
        Some(&c),
        None,
        None,
        Outcome::fault(Rule::Wire1),
    );
    e.raw = format!(
        "<soap:Envelope><TransaktionIdentifikator>{}</Transakt",
        malformed.to_uppercase()
    );
    f.record(P::Sp, e).await;

    let mut input = f.input();
    input.injected = vec![
        (code.tid.clone(), "forbidden_code".into()),
        (agreement.clone(), "cvr_mismatch_agreement".into()),
        (malformed.clone(), "malformed_xml".into()),
    ];
    let r = sim_check::refused_what_must_be_refused(&input).unwrap();
    passed(&r);
    assert!(r.summary.contains("3 refused"), "{}", r.summary);
}

#[tokio::test]
async fn an_injected_forbidden_code_accepted_fails() {
    let f = Fixture::new();
    f.clean().await;
    let x = Exchange::new(10, KMD, M1, 10_000);
    f.exchange(&x).await; // KSD answered OK: the broken update was processed.
    let mut input = f.input();
    input.injected = vec![(x.tid.to_uppercase(), "forbidden_code".into())];
    let r = sim_check::refused_what_must_be_refused(&input).unwrap();
    failed_with(&r, &[&x.tid]);
    assert!(r.summary.contains("1 accepted"), "{}", r.summary);
}

#[tokio::test]
async fn an_injected_message_only_faulted_transiently_was_never_refused() {
    let f = Fixture::new();
    f.clean().await;
    let tid = uuid(13);
    let c = uuid(0x4000_0013);
    f.record(
        P::Sp,
        entry(
            11_000,
            true,
            req(SendOpdateringFravaer),
            Some(&tid),
            Some(&c),
            None,
            Some(M1),
            Outcome::fault(Rule::Sp4),
        ),
    )
    .await;
    let mut input = f.input();
    input.injected = vec![(tid.clone(), "cvr_mismatch_header".into())];
    let r = sim_check::refused_what_must_be_refused(&input).unwrap();
    failed_with(&r, &[&tid]);
}

// --- no-receipt-without-update (KSD-2) ---

#[tokio::test]
async fn a_receipt_without_a_processed_update_fails() {
    let f = Fixture::new();
    f.clean().await;
    let tid = uuid(20);
    f.record(
        P::Jc,
        entry(
            15_000,
            true,
            req(ModtagForretningsSvarJc),
            Some(&tid),
            None,
            Some(KOMBIT),
            Some(M1),
            Outcome::Ok,
        ),
    )
    .await;
    let r = sim_check::no_receipt_without_update(&f.input()).unwrap();
    failed_with(&r, &[&tid]);
}

#[tokio::test]
async fn an_update_processed_that_no_vendor_sent_fails() {
    let f = Fixture::new();
    f.clean().await;
    let tid = uuid(21);
    let k = uuid(0x3000_0021);
    f.record(
        P::Ksd,
        entry(
            15_000,
            true,
            req(ModtagOpdateringFravaer),
            Some(&tid),
            Some(&k),
            Some(KOMBIT),
            Some(M1),
            Outcome::Ok,
        ),
    )
    .await;
    let r = sim_check::no_receipt_without_update(&f.input()).unwrap();
    failed_with(&r, &[&tid]);
}

// --- backlog-drains (liveness) ---

#[tokio::test]
async fn an_accepted_update_without_a_receipt_past_the_deadline_is_lost() {
    let f = Fixture::new();
    f.clean().await;
    let mut x = Exchange::new(30, SCHULTZ, M2, 10_000);
    x.receipt_after_ms = None;
    f.exchange(&x).await;
    let r = sim_check::backlog_drains(&f.input()).unwrap();
    failed_with(&r, &[&x.tid]);
    assert_eq!(r.measured, Some(1.0));
    assert_eq!(r.kind, CheckKind::Liveness);
}

#[tokio::test]
async fn a_missing_receipt_not_yet_due_is_pending_not_failed() {
    let f = Fixture::new();
    f.clean().await;
    let mut x = Exchange::new(31, SCHULTZ, M2, 590_000);
    x.receipt_after_ms = None;
    f.exchange(&x).await;
    let r = sim_check::backlog_drains(&f.input()).unwrap();
    passed(&r);
    assert_eq!(r.measured, Some(1.0), "still counted as lost");
    assert!(r.summary.contains("not yet due"), "{}", r.summary);
}

#[tokio::test]
async fn a_late_receipt_fails_unless_faults_explain_it() {
    let f = Fixture::new();
    f.clean().await;
    let mut x = Exchange::new(32, KMD, M1, 10_000);
    x.receipt_after_ms = Some(90_000);
    f.exchange(&x).await;
    let r = sim_check::backlog_drains(&f.input()).unwrap();
    failed_with(&r, &[&x.tid]);
    assert_eq!(r.measured, Some(0.0), "late, not lost");

    // Faults lasted until 50 s: the deadline counts from then, and 100 s is in time.
    let mut input = f.input();
    input.faults_end = Some(at(50_000));
    passed(&sim_check::backlog_drains(&input).unwrap());
}

// --- platform-response-times (SLA, SP-8) ---

async fn slow_call(f: &Fixture, call: &str, op: sim_wire::Operation, start_ms: i64, took_ms: i64) {
    f.record(
        P::Sp,
        entry(
            start_ms,
            true,
            req(op),
            None,
            Some(call),
            None,
            Some(M1),
            Outcome::Received,
        ),
    )
    .await;
    // The platform's own leg under the same call is neither request nor answer.
    f.record(
        P::Sp,
        entry(
            start_ms + 1,
            false,
            req(ModtagOpdateringFravaer),
            None,
            Some(call),
            None,
            Some(M1),
            Outcome::Ok,
        ),
    )
    .await;
    f.record(
        P::Sp,
        entry(
            start_ms + took_ms,
            false,
            req(op).with(Part::Response),
            None,
            Some(call),
            None,
            Some(M1),
            Outcome::Ok,
        ),
    )
    .await;
}

#[tokio::test]
async fn a_slow_platform_response_fails_outside_a_service_window_only() {
    let f = Fixture::new();
    f.clean().await;
    let slow = uuid(0x5000_0001);
    slow_call(&f, &slow, SendOpdateringFravaer, 100_000, 1_500).await;
    // HentSag is medium (1.5 s): 1.2 s is within its limit.
    slow_call(
        &f,
        &uuid(0x5000_0002),
        sim_wire::Operation::HentSag,
        110_000,
        1_200,
    )
    .await;

    let r = sim_check::platform_response_times(&f.input()).unwrap();
    failed_with(&r, &[&slow]);
    assert_eq!(r.measured, Some(1.0));
    assert_eq!(r.kind, CheckKind::Sla);
    assert!(r.summary.contains("medium n=1"), "{}", r.summary);

    let mut input = f.input();
    input.service_windows = vec![(at(99_000), at(101_000))];
    let r = sim_check::platform_response_times(&input).unwrap();
    passed(&r);
    assert!(r.summary.contains("1 in service windows"), "{}", r.summary);
}

#[tokio::test]
async fn missing_files_are_an_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let input = sim_check::CheckInput::for_state_dir(dir.path(), T0);
    let e = sim_check::check_all(&input).unwrap_err();
    assert!(e.to_string().contains("sim-sp"), "{e}");
}

/// Issue 15: a TransaktionIdentifikator reused with other content is refused by KSD (FEJL
/// naming KSD-7) and counted, without making the update processed twice.
#[tokio::test]
async fn a_reused_transaktion_id_refused_is_counted_not_a_violation() {
    let f = Fixture::new();
    f.clean().await;
    let x = Exchange::new(9, KMD, M1, 10_000);
    f.exchange(&x).await;
    let k = uuid(0x3000_0009);
    f.record(
        P::Ksd,
        entry(
            20_000,
            true,
            req(ModtagOpdateringFravaer),
            Some(&x.tid),
            Some(&k),
            Some(KOMBIT),
            Some(M1),
            Outcome::Fejl,
        ),
    )
    .await;
    let r = sim_check::processed_exactly_once(&f.input()).unwrap();
    passed(&r);
    assert!(
        r.summary
            .contains("1 reused TransaktionIdentifikator with other content refused"),
        "{}",
        r.summary
    );
}

/// KSD-10: an event KSD sent and nobody acknowledged within the liveness deadline fails
/// `events-acknowledged`; an acknowledged one, or one still within the deadline, does not.
#[tokio::test]
async fn an_unacknowledged_event_past_the_deadline_fails_ksd10() {
    let f = Fixture::new();
    f.clean().await;
    let (t0, late) = (unix_ms(0), unix_ms(590_000));
    f.ksd_sql(&format!(
        "INSERT INTO ksd_events (transaktion_id, sag_id, municipality, cpr, haendelse_type,
             varighed_kode, created_at, ack_due, raw, acked_at, acks)
         VALUES ('e-acked', 's1', '{M1}', '0101901234', 'OPRETTET', '60', {t0}, {t0}, '<e/>', {t0}, 1),
                ('e-silent', 's2', '{M1}', '0101901234', 'OPRETTET', '60', {t0}, {t0}, '<e/>', NULL, 0),
                ('e-recent', 's3', '{M1}', '0101901234', 'OPRETTET', '60', {late}, {late}, '<e/>', NULL, 0);"
    ))
    .await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks
        .iter()
        .find(|c| c.name == "events-acknowledged")
        .unwrap();
    failed_with(c, &["e-silent"]);
}

/// KSD-9: a case's VarighedKode must be what its dialogue decided — 62 only with a
/// time-limited answer ending at its limit, 64 only with an unlimited one, 63 not after an
/// extension that outlasts the limit, and no open case past its limit without 63.
#[tokio::test]
async fn duration_codes_that_the_dialogue_did_not_decide_fail_ksd9() {
    let f = Fixture::new();
    f.clean().await;
    let t0 = unix_ms(0);
    let case_at = |id: &str, kode: &str, graense: &str, open: u8, t0: i64| {
        format!(
            "INSERT INTO ksd_cases (sag_id, municipality, cpr, arbejdsgiver, foerste_fravaersdag,
                 status, varighed_kode, created_at, updated_at)
             VALUES ('{id}', '{M1}', '0101901234', '12345678', '2025-09-01', 'AKTIV', '{kode}', {t0}, {t0});
             INSERT INTO ksd_limits (sag_id, pensioner, graense, request_on, open)
             VALUES ('{id}', 0, '{graense}', NULL, {open});"
        )
    };
    let case = |id: &str, kode: &str, graense: &str, open: u8| case_at(id, kode, graense, open, t0);
    let answer = |tid: &str, id: &str, kind: &str, slut: &str| {
        format!(
            "INSERT INTO ksd_extension_requests (transaktion_id, sag_id, municipality, sent_at,
                 graense, svar_frist, answer, slut_dato, answered_at, applied, answers)
             VALUES ('{tid}', '{id}', '{M1}', {t0}, '2026-02-02', '2026-02-01', '{kind}', {slut}, {t0}, 1, 1);"
        )
    };
    let mut sql = String::new();
    // Right: 62 with its answer, 64 with its answer, 63 with no answer past a passed limit.
    sql += &case("ok-62", "62", "2026-06-01", 1);
    sql += &answer("r1", "ok-62", "TIDSBEGRAENSET", "'2026-06-01'");
    sql += &case("ok-64", "64", "2026-02-02", 0);
    sql += &answer("r2", "ok-64", "TIDSUBEGRAENSET", "NULL");
    sql += &case("ok-63", "63", "2026-02-02", 0);
    // Created at the run's end already past its limit (an update naming a first day long
    // ago): the lifecycle's next pass gives it 63, so it is not yet wrong.
    sql += &case_at("ok-new", "60", "2025-12-26", 1, unix_ms(599_000));
    // Wrong: 62 without an answer; 63 after an unlimited extension; open and long past.
    sql += &case("bad-62", "62", "2026-06-01", 1);
    sql += &case("bad-63", "63", "2026-02-02", 0);
    sql += &answer("r3", "bad-63", "TIDSUBEGRAENSET", "NULL");
    sql += &case_at("bad-open", "60", "2026-01-01", 1, unix_ms(-2 * 86_400_000));
    f.ksd_sql(&sql).await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks
        .iter()
        .find(|c| c.name == "duration-codes-follow-the-dialogue")
        .unwrap();
    failed_with(c, &["bad-62", "bad-63", "bad-open"]);
}

/// Unix milliseconds of the fixture's time `ms` after T0.
fn unix_ms(ms: i64) -> i64 {
    sim_store::unix_millis(fixtures::at(ms))
}

/// KSD-12: a look-up answer holding a case of another municipality than the caller's is a
/// leak, whether the answer is one case or a list; answers holding only the caller's cases,
/// and "no such case" receipts, are fine.
#[tokio::test]
async fn a_lookup_answer_with_another_municipalitys_case_is_a_leak_ksd12() {
    use sim_wire::{examples, Message, Response, ResponseBody};
    let f = Fixture::new();
    f.clean().await;
    let sag_of = |m: &str, n: u32| {
        let mut s = examples::sag();
        s.myndighed = m.parse().unwrap();
        s.sag_identifikator = uuid(n).parse().unwrap();
        s
    };
    let answer = |op: sim_wire::Operation, body: ResponseBody| {
        sim_wire::write(&Message::Response(Response {
            operation: op,
            body,
        }))
    };
    let mut n = 0;
    let mut record = |op, asked_by: &str, raw: String| {
        n += 1;
        let mut e = entry(
            1_000 + i64::from(n),
            true,
            req(op).with(Part::Response),
            None,
            Some(&uuid(900 + n)),
            Some("https://ksd"),
            Some(asked_by),
            Outcome::Ok,
        );
        e.raw = raw;
        e
    };
    use sim_wire::Operation::{HentSag, HentSagsListe};
    let rows = vec![
        // Fine: the caller's own case; its own list; a "none" receipt.
        record(
            HentSag,
            M1,
            answer(HentSag, ResponseBody::Sag(Box::new(sag_of(M1, 1)))),
        ),
        record(
            HentSagsListe,
            M2,
            answer(
                HentSagsListe,
                ResponseBody::SagsListe(vec![sag_of(M2, 2), sag_of(M2, 3)]),
            ),
        ),
        record(
            HentSag,
            M1,
            answer(
                HentSag,
                ResponseBody::TransportKvittering(sim_wire::TransportKvittering {
                    kode: sim_wire::TransportValideringsKode::Fejl,
                    begrundelse: Some("no such case".into()),
                    fejl_liste: vec![sim_wire::Fejl {
                        fejl_kode: "KSD-12.UKENDT".into(),
                        fejl_tekst: "no such case".into(),
                    }],
                }),
            ),
        ),
        // Leaks: M2's case to M1; a list to M1 with one of M2's among its own.
        record(
            HentSag,
            M1,
            answer(HentSag, ResponseBody::Sag(Box::new(sag_of(M2, 4)))),
        ),
        record(
            HentSagsListe,
            M1,
            answer(
                HentSagsListe,
                ResponseBody::SagsListe(vec![sag_of(M1, 5), sag_of(M2, 6)]),
            ),
        ),
    ];
    for e in rows {
        f.record(P::Sp, e).await;
    }
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks
        .iter()
        .find(|c| c.name == "no-cross-municipality-read")
        .unwrap();
    assert_eq!(c.examples.len(), 2, "{c:?}");
    assert!(
        c.examples[0].contains(&uuid(4)) && c.examples[1].contains(&uuid(6)),
        "{c:?}"
    );
    assert!(!c.passed, "{c:?}");
    assert!(
        c.summary.contains("5 look-up answers read"),
        "{}",
        c.summary
    );
}

/// KSD-10: the deadline runs from the first delivery the jobcenter took after the faults
/// ended. An event taken only inside the faults (its acknowledgement withheld there; KSD's next
/// delivery a day away) is pending, not lost; one taken cleanly and never acknowledged fails,
/// and so does one KSD promised to deliver again long ago and never did.
#[tokio::test]
async fn an_event_taken_only_inside_the_faults_is_pending_not_overdue_ksd10() {
    let f = Fixture::new();
    f.clean().await;
    let (t0, tomorrow) = (unix_ms(0), unix_ms(86_400_000));
    f.ksd_sql(&format!(
        "INSERT INTO ksd_events (transaktion_id, sag_id, municipality, cpr, haendelse_type,
             varighed_kode, created_at, ack_due, raw, acked_at, acks)
         VALUES ('e-in-faults', 's1', '{M1}', '0101901234', 'OPRETTET', '60', {t0}, {tomorrow}, '<e/>', NULL, 0),
                ('e-no-redelivery', 's3', '{M1}', '0101901234', 'OPRETTET', '60', {t0}, {t0}, '<e/>', NULL, 0),
                ('e-clean', 's2', '{M1}', '0101901234', 'OPRETTET', '60', {t0}, {t0}, '<e/>', NULL, 0);"
    ))
    .await;
    let delivery = |ms: i64, tid: &str| {
        entry(
            ms,
            false,
            req(sim_wire::Operation::SendHaendelse),
            Some(tid),
            Some(&uuid(700 + ms as u32 / 1000)),
            Some("https://sp"),
            Some(M1),
            Outcome::Ok,
        )
    };
    f.record(P::Ksd, delivery(1_000, "e-in-faults")).await;
    f.record(P::Ksd, delivery(1_000, "e-no-redelivery")).await;
    f.record(P::Ksd, delivery(1_000, "e-clean")).await;
    f.record(P::Ksd, delivery(120_000, "e-clean")).await;
    let mut input = f.input();
    input.faults_end = Some(at(60_000));
    let checks = sim_check::check_all(&input).unwrap();
    let c = checks
        .iter()
        .find(|c| c.name == "events-acknowledged")
        .unwrap();
    // KSD promised e-no-redelivery again at once (ack_due in the past) and never did.
    failed_with(c, &["e-clean", "e-no-redelivery"]);
    assert!(
        c.summary.contains("1 still within the deadline"),
        "{}",
        c.summary
    );
}

/// One KY message's legs as a vendor journals them: the request out and, unless `answer` is
/// `None`, the answer in, both with the answer's outcome (`Unreachable` when none came).
async fn ky_attempt(
    f: &Fixture,
    ms: i64,
    tid: &str,
    op: sim_wire::ky::KyOperation,
    answer: Option<(Outcome, String)>,
) {
    let outcome = answer
        .as_ref()
        .map_or(Outcome::Unreachable, |(o, _)| o.clone());
    let out = entry(
        ms,
        false,
        Label::ky(op, Part::Request),
        Some(tid),
        None,
        Some(PLATFORM_URL),
        Some(M1),
        outcome,
    );
    f.record(P::Jc, out).await;
    if let Some((o, raw)) = answer {
        let mut back = entry(
            ms + 5,
            true,
            Label::ky(op, Part::Response),
            Some(tid),
            None,
            Some(PLATFORM_URL),
            Some(M1),
            o,
        );
        back.raw = raw;
        f.record(P::Jc, back).await;
    }
}

// rules KY-1, JC-1: a KY message the platform faulted and the vendor resent until KY's OK
// passes; one KY refused (its state broke: the FejlKode's rule named) and one that never got
// a TransportKvittering fail.
#[tokio::test]
async fn a_ky_message_refused_or_without_a_receipt_fails_ky1_jc1() {
    use sim_wire::ky::{examples, write_response, KyOperation};
    let f = Fixture::new();
    f.clean().await;
    let (resent, refused, lost) = (uuid(0x71), uuid(0x72), uuid(0x73));
    let fault = (
        Outcome::fault(Rule::Sp4),
        "<soap:Fault>SP-4</soap:Fault>".to_string(),
    );
    let ok = (
        Outcome::Ok,
        write_response(&examples::response_ok(KyOperation::Fravaer)),
    );
    let fejl = (Outcome::Fejl, write_response(&examples::response_fejl()));
    ky_attempt(&f, 1_000, &resent, KyOperation::Fravaer, Some(fault)).await;
    ky_attempt(&f, 2_000, &resent, KyOperation::Fravaer, Some(ok.clone())).await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks.iter().find(|c| c.name == "ky-receipts").unwrap();
    passed(c);
    assert!(c.summary.starts_with("1 KY message sent"), "{}", c.summary);

    ky_attempt(&f, 3_000, &refused, KyOperation::Aktivitet, Some(fejl)).await;
    ky_attempt(&f, 4_000, &lost, KyOperation::Aktivitet, None).await;
    ky_attempt(&f, 5_000, &lost, KyOperation::Aktivitet, None).await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks.iter().find(|c| c.name == "ky-receipts").unwrap();
    failed_with(
        c,
        &[
            format!("{refused} (SendAktivitet) refused by KY with KY-6.UKENDT: KY's state broke rule KY-6").as_str(),
            format!("{lost} (SendAktivitet) has no TransportKvittering after 2 attempt(s) (JC-1: still owned)").as_str(),
        ],
    );
    assert!(
        c.summary.contains("1 refused by KY (KY-6 1)"),
        "{}",
        c.summary
    );
    assert_eq!(c.measured, Some(2.0));
}

// rule JC-1: a KY message the vendor stored but never tried (it crashed before its first
// attempt was journaled) is owned without a receipt all the same.
#[tokio::test]
async fn a_ky_message_stored_but_never_sent_is_still_owned_jc1() {
    let f = Fixture::new();
    f.clean().await;
    let tid = uuid(0x74);
    f.jc_sql(&format!(
        "INSERT INTO jc_ky_messages (transaktion_id, instance, municipality, cpr, operation,
             handling, kontaktforloeb_id, status, created_at, request_xml)
         VALUES ('{tid}', '{KMD}', '{M1}', '0101701234', 'SendFravaer', 'OPRET', '{}',
                 'pending', 0, '<x/>')",
        uuid(0x75)
    ))
    .await;
    let checks = sim_check::check_all(&f.input()).unwrap();
    let c = checks.iter().find(|c| c.name == "ky-receipts").unwrap();
    failed_with(
        c,
        &[format!(
            "{tid} (SendFravaer) has no TransportKvittering after 0 attempt(s) (JC-1: still owned)"
        )
        .as_str()],
    );
}
