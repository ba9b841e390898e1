//! Conformance grading of an outside jobcenter in a vendor's seat (issue 10), on hand-built
//! platform journals: each rule passes on the exchanges that keep it, fails with evidence
//! (ids and raw exchange) on the ones that break it, and is NOT EXERCISED when nothing
//! touched it.

mod fixtures;

use fixtures::*;
use sim_check::conformance::{Expect, Probe, SeatParty, SeatUnderTest};
use sim_report::{RuleStatus, SeatReport};
use sim_store::{Direction, JournalEntry, Label, Outcome, Part};
use sim_wire::{Fejl, Message, Operation, Response, ResponseBody, TransportKvittering};

/// The outside system's identity when it calls.
const SEAT_PEER: &str = "CVR 12345678 UUID:0f3c2a1e-1111-4222-8333-444455556666";

fn seat() -> SeatUnderTest {
    SeatUnderTest {
        name: KMD.into(),
        party: SeatParty::Jobcenter,
        url: "https://outside.example/jc".into(),
        identity: Some(("12345678".into(), None)),
    }
}

fn verdict<'a>(r: &'a SeatReport, rule: &str) -> &'a sim_report::RuleVerdict {
    r.rules.iter().find(|v| v.rule == rule).unwrap()
}

/// One delivery attempt to the seat: the platform's out row at `ms` and, unless unreachable,
/// the answer `after` ms later, with `raw` as the answer's bytes.
async fn deliver(f: &Fixture, n: u32, ms: i64, after: i64, outcome: Outcome, raw: &str) {
    let (tid, call) = (uuid(n), uuid(0x3000_0000 + n));
    let label = Label::request(Operation::ModtagForretningsSvarJc);
    let mut out = entry(
        ms,
        false,
        label.clone(),
        Some(&tid),
        Some(&call),
        Some(KMD),
        Some(M1),
        outcome.clone(),
    );
    out.raw = format!("<ModtagForretningsSvarRequest n=\"{n}\"/>");
    f.record(P::Sp, out).await;
    if outcome != Outcome::Unreachable {
        let mut back = entry(
            ms + after,
            true,
            label.with(Part::Response),
            Some(&tid),
            Some(&call),
            Some(KMD),
            Some(M1),
            outcome,
        );
        back.raw = raw.to_string();
        f.record(P::Sp, back).await;
    }
}

fn kvittering(fejl: &[&str]) -> String {
    sim_wire::write(&Message::Response(Response {
        operation: Operation::SendOpdateringFravaer,
        body: ResponseBody::TransportKvittering(TransportKvittering {
            kode: sim_wire::TransportValideringsKode::Fejl,
            begrundelse: Some("refused".into()),
            fejl_liste: fejl
                .iter()
                .map(|k| Fejl {
                    fejl_kode: k.to_string(),
                    fejl_tekst: "t".into(),
                })
                .collect(),
        }),
    }))
}

/// An update the seat sent by itself, and the platform's answer to it.
async fn own_update(f: &Fixture, n: u32, ms: i64, answer: Outcome, part: Part, raw: String) {
    own_call(
        f,
        Operation::SendOpdateringFravaer,
        n,
        ms,
        answer,
        part,
        raw,
    )
    .await;
}

/// A call of `op` the seat made by itself, and the platform's answer to it.
async fn own_call(
    f: &Fixture,
    op: Operation,
    n: u32,
    ms: i64,
    answer: Outcome,
    part: Part,
    raw: String,
) {
    let (tid, call) = (uuid(0x5000_0000 + n), uuid(0x6000_0000 + n));
    let label = Label::request(op);
    f.record(
        P::Sp,
        entry(
            ms,
            true,
            label.clone(),
            Some(&tid),
            Some(&call),
            Some(SEAT_PEER),
            Some(M1),
            Outcome::Received,
        ),
    )
    .await;
    let mut a: JournalEntry = entry(
        ms + 5,
        false,
        label.with(part),
        Some(&tid),
        Some(&call),
        Some(SEAT_PEER),
        Some(M1),
        answer,
    );
    a.raw = raw;
    f.record(P::Sp, a).await;
}

#[tokio::test]
async fn receiving_rules_pass_fail_and_not_exercised() {
    let f = Fixture::new();
    deliver(&f, 1, 0, 100, Outcome::Ok, "<ok/>").await;
    deliver(&f, 2, 10, 100, Outcome::Fejl, "<kvit>FEJL</kvit>").await;
    deliver(
        &f,
        3,
        20,
        50,
        Outcome::Unreadable("not-xml".into()),
        "<oops",
    )
    .await;
    deliver(
        &f,
        4,
        30,
        50,
        Outcome::Fault("soap:Server".into()),
        "<fault/>",
    )
    .await;
    deliver(&f, 5, 40, 1_500, Outcome::Ok, "<ok/>").await;
    deliver(&f, 6, 50, 0, Outcome::Unreachable, "").await;
    // Receipt 1 delivered again (an injected duplicate) and answered FEJL this time.
    deliver(&f, 1, 5_000, 100, Outcome::Fejl, "<kvit>FEJL</kvit>").await;
    let mut input = f.input();
    input.seats = vec![seat()];
    input.real_time = true;
    input.probes = vec![Probe {
        seat: KMD.into(),
        rule: "JC-2".into(),
        what: "a receipt with schultz-jc's certificate".into(),
        expect: Expect::Refused,
        transaktion_id: Some(uuid(1)),
        request: "<r/>".into(),
        outcome: Some(Outcome::Ok),
        response: "<ok/>".into(),
    }];
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    assert_eq!((r.seat.as_str(), r.party.as_str()), (KMD, "jobcenter"));

    let wire2 = verdict(r, "WIRE-2");
    assert_eq!(wire2.status, RuleStatus::Fail);
    assert_eq!(wire2.evidence.len(), 1);
    assert_eq!(
        wire2.evidence[0].transaktion_id.as_deref(),
        Some(uuid(3).as_str())
    );
    assert_eq!(wire2.evidence[0].response.as_deref(), Some("<oops"));
    assert!(wire2.evidence[0]
        .request
        .as_deref()
        .unwrap()
        .contains("n=\"3\""));

    let jc2 = verdict(r, "JC-2");
    assert_eq!(jc2.status, RuleStatus::Fail);
    assert_eq!(jc2.evidence.len(), 2, "the fault and the probe: {jc2:?}");

    let ksd2 = verdict(r, "KSD-2");
    assert_eq!(ksd2.status, RuleStatus::Fail);
    assert_eq!(
        ksd2.evidence[0].transaktion_id.as_deref(),
        Some(uuid(2).as_str())
    );
    assert_eq!(
        ksd2.exercised, 3,
        "receipts 1, 2 and 5 were answered with a receipt first"
    );

    let ksd7 = verdict(r, "KSD-7");
    assert_eq!(ksd7.status, RuleStatus::Fail, "{ksd7:?}");

    let sp8 = verdict(r, "SP-8");
    assert_eq!(sp8.status, RuleStatus::Fail);
    assert_eq!(
        sp8.evidence[0].transaktion_id.as_deref(),
        Some(uuid(5).as_str())
    );

    let jc3 = verdict(r, "JC-3");
    assert_eq!(jc3.status, RuleStatus::NotExercised);
    assert!(!r.passed());
    assert_eq!(r.coverage().1, r.rules.len());
}

#[tokio::test]
async fn sp8_is_not_judged_away_from_real_time_and_a_clean_seat_passes() {
    let f = Fixture::new();
    deliver(&f, 1, 0, 3_000, Outcome::Ok, "<ok/>").await;
    let mut input = f.input();
    input.seats = vec![seat()];
    input.real_time = false;
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    assert_eq!(verdict(r, "SP-8").status, RuleStatus::NotExercised);
    assert_eq!(verdict(r, "WIRE-2").status, RuleStatus::Pass);
    assert_eq!(verdict(r, "KSD-2").status, RuleStatus::Pass);
    assert!(r.passed(), "{r:?}");
}

#[tokio::test]
async fn its_own_updates_are_graded_by_the_rules_their_refusals_name() {
    let f = Fixture::new();
    own_update(
        &f,
        1,
        0,
        Outcome::fault(sim_wire::Rule::Sp5),
        Part::Fault,
        "<fault/>".into(),
    )
    .await;
    own_update(
        &f,
        2,
        10,
        Outcome::Fejl,
        Part::Response,
        kvittering(&["KSD-5.forbidden", "KSD-4.dates"]),
    )
    .await;
    own_update(&f, 3, 20, Outcome::Ok, Part::Response, "<ok/>".into()).await;
    // Answered with a service-window fault and never sent again (JC-1).
    own_update(
        &f,
        4,
        30,
        Outcome::fault(sim_wire::Rule::Sp9),
        Part::Fault,
        "<fault/>".into(),
    )
    .await;
    // Someone else's update is not the seat's.
    f.record(
        P::Sp,
        entry(
            40,
            true,
            Label::request(Operation::SendOpdateringFravaer),
            Some(&uuid(99)),
            Some(&uuid(98)),
            Some("CVR 87654321 UUID:x"),
            Some(M1),
            Outcome::Received,
        ),
    )
    .await;
    let mut input = f.input();
    input.seats = vec![seat()];
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    assert_eq!(verdict(r, "SP-5").status, RuleStatus::Fail);
    assert_eq!(verdict(r, "SP-5").exercised, 4);
    assert_eq!(verdict(r, "KSD-5").status, RuleStatus::Fail);
    assert_eq!(verdict(r, "KSD-4").status, RuleStatus::Fail);
    assert_eq!(
        verdict(r, "KSD-5").evidence[0].transaktion_id.as_deref(),
        Some(uuid(0x5000_0002).as_str())
    );
    assert_eq!(verdict(r, "KSD-8").status, RuleStatus::Pass);
    assert_eq!(verdict(r, "JC-1").status, RuleStatus::Fail);
    let _ = Direction::In;
}

/// SF2096: the seat's own look-ups are graded like its updates — a refusal naming a rule
/// fails it (SP-5 here, WIRE-3 for a malformed look-up) — while a look-up that finds nothing
/// (FEJL KSD-12.UKENDT) breaks no rule.
#[tokio::test]
async fn its_own_lookups_are_graded_by_the_rules_their_refusals_name() {
    let f = Fixture::new();
    own_call(
        &f,
        Operation::HentSag,
        1,
        0,
        Outcome::fault(sim_wire::Rule::Sp5),
        Part::Fault,
        "<fault/>".into(),
    )
    .await;
    own_call(
        &f,
        Operation::HentSagsListe,
        2,
        10,
        Outcome::Fejl,
        Part::Response,
        kvittering(&["WIRE-3.MANGLER"]),
    )
    .await;
    own_call(
        &f,
        Operation::HentSag,
        3,
        20,
        Outcome::Fejl,
        Part::Response,
        kvittering(&["KSD-12.UKENDT"]),
    )
    .await;
    let mut input = f.input();
    input.seats = vec![seat()];
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    assert_eq!(verdict(r, "SP-5").status, RuleStatus::Fail);
    assert_eq!(verdict(r, "SP-5").exercised, 3);
    assert_eq!(verdict(r, "WIRE-3").status, RuleStatus::Fail);
    assert_eq!(
        verdict(r, "WIRE-3").evidence[0].transaktion_id.as_deref(),
        Some(uuid(0x5000_0002).as_str())
    );
    // Header and code rules are not exercised by look-ups.
    assert_eq!(verdict(r, "KSD-4").exercised, 0);
}

#[tokio::test]
async fn without_an_identity_its_own_updates_are_not_exercised_and_say_why() {
    let f = Fixture::new();
    let mut input = f.input();
    let mut s = seat();
    s.identity = None;
    input.seats = vec![s];
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    let v = verdict(r, "KSD-5");
    assert_eq!(v.status, RuleStatus::NotExercised);
    assert!(v.summary.contains("identity"), "{}", v.summary);
}

/// SF1690: the seat's own KY messages, as the platform journals them (the caller's request in,
/// the answer out under the same CallUUID): number `n` answered `answer` with `raw`.
async fn own_ky(
    f: &Fixture,
    op: sim_wire::ky::KyOperation,
    n: u32,
    answer: Outcome,
    part: Part,
    raw: String,
) {
    let (tid, call) = (uuid(0x7000_0000 + n), uuid(0x7100_0000 + n));
    let ms = i64::from(n) * 10;
    let request = Label::ky(op, Part::Request);
    f.record(
        P::Sp,
        entry(
            ms,
            true,
            request.clone(),
            Some(&tid),
            Some(&call),
            Some(SEAT_PEER),
            Some(M1),
            Outcome::Received,
        ),
    )
    .await;
    let mut a: JournalEntry = entry(
        ms + 5,
        false,
        request.with(part),
        Some(&tid),
        Some(&call),
        Some(SEAT_PEER),
        Some(M1),
        answer,
    );
    a.raw = raw;
    f.record(P::Sp, a).await;
}

/// SF1690: an outside jobcenter's own KY messages are graded by the rules KY's refusals name
/// (FejlKode KY-6.UKENDT fails KY-6) and the platform's (SP-5); what KY accepted passes the
/// rest; without KY messages the KY rules are not exercised and say why.
#[tokio::test]
async fn its_own_ky_messages_are_graded_by_the_rules_their_refusals_name_ky6_sp5() {
    use sim_wire::ky::{examples, write_response, KyOperation};
    let f = Fixture::new();
    let mut input = f.input();
    input.seats = vec![seat()];
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    let v = verdict(r, "KY-6");
    assert_eq!(v.status, RuleStatus::NotExercised);
    assert!(
        v.summary.contains("KontanthjaelpServiceKY"),
        "{}",
        v.summary
    );

    own_ky(
        &f,
        KyOperation::Kontaktforloeb,
        1,
        Outcome::Ok,
        Part::Response,
        write_response(&examples::response_ok(KyOperation::Kontaktforloeb)),
    )
    .await;
    own_ky(
        &f,
        KyOperation::Aktivitet,
        2,
        Outcome::Fejl,
        Part::Response,
        write_response(&examples::response_fejl()),
    )
    .await;
    own_ky(
        &f,
        KyOperation::Fravaer,
        3,
        Outcome::fault(sim_wire::Rule::Sp5),
        Part::Fault,
        "<fault/>".into(),
    )
    .await;
    let r = &sim_check::conformance::conformance(&input).unwrap()[0];
    let ky6 = verdict(r, "KY-6");
    assert_eq!(ky6.status, RuleStatus::Fail);
    assert_eq!(ky6.exercised, 3);
    assert_eq!(
        ky6.evidence[0].transaktion_id.as_deref(),
        Some(uuid(0x7000_0002).as_str())
    );
    assert_eq!(verdict(r, "KY-7").status, RuleStatus::Pass);
    assert_eq!(verdict(r, "SP-5").status, RuleStatus::Fail);
    // KY messages are not updates: the Sygefravaer rules are not exercised by them.
    assert_eq!(verdict(r, "KSD-4").status, RuleStatus::NotExercised);
}
