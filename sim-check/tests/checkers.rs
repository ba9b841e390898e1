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
            "backlog-drains",
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
            CheckKind::Liveness,
            CheckKind::Sla
        ]
    );
    let backlog = &checks[4];
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
