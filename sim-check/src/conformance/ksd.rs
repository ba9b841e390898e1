//! A KSD system in KSD's seat, graded from the platform's journal: every update the platform
//! forwarded to it (an outbound `ModtagOpdateringFravaer` row to KSD's URL, answered by an
//! inbound `#response` row under the same CallUUID, dated when the answer came) and every
//! business receipt it sent the platform (an inbound `JC/SendForretningsSvar` row).
//!
//! - `KSD-1`: every update is answered with a TransportKvittering (OK, ADVARSEL or FEJL), not
//!   a SOAP fault.
//! - `WIRE-2`: every answer is a readable receipt (not unreadable, not a bare HTTP status).
//! - `KSD-5`, `KSD-8`: every update the runner broke on purpose with a forbidden code, or with
//!   a header Myndighed that is not the security context's, is refused (not OK/ADVARSEL).
//! - `KSD-7`: an update forwarded again (a duplicate) is answered with the same code.
//! - `KSD-2`: every update it accepted gets its business receipt, under the same
//!   TransaktionIdentifikator, by the end of the run.
//! - `SP-8`: every answer within the simple class (1 s), judged at speed 1 only.

use std::collections::{BTreeSet, HashMap};

use sim_report::{RuleVerdict, SeatReport};
use sim_store::Outcome;
use sim_wire::Operation;

use super::{evidence, legs, AnswerRules, SeatUnderTest, Tally};
use crate::history::History;
use crate::{CheckError, CheckInput};

/// Grades the KSD in `seat`.
pub(crate) fn grade(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
) -> Result<SeatReport, CheckError> {
    let ksd1 = Tally::new("KSD-1", "answers every update with a TransportKvittering");
    let wire2 = Tally::new("WIRE-2", "answers with a readable receipt");
    let mut ksd5 = Tally::new("KSD-5", "refuses codes a jobcenter may not send");
    let mut ksd8 = Tally::new(
        "KSD-8",
        "refuses a header Myndighed that is not the context's",
    );
    let mut ksd7 = Tally::new("KSD-7", "answers a repeated update with the same code");
    let mut ksd2 = Tally::new(
        "KSD-2",
        "sends a business receipt for every update it accepts",
    );
    let sp8 = Tally::new("SP-8", "answers each update within 1 s (simple class)");
    let injected: HashMap<String, &str> = input
        .injected
        .iter()
        .map(|(t, k)| (t.to_ascii_lowercase(), k.as_str()))
        .collect();
    let receipts: BTreeSet<&str> =
        h.sp.rows
            .iter()
            .filter(|r| r.is(true, Operation::SendForretningsSvarJc))
            .filter_map(|r| r.tid.as_deref())
            .collect();
    let mut answers = AnswerRules {
        shape: wire2,
        receipt: ksd1,
        sla: sp8,
    };
    let mut first: HashMap<&str, &Outcome> = HashMap::new();
    for a in legs(h, Operation::ModtagOpdateringFravaer, &seat.url) {
        let outcome = &*a.out.outcome;
        if *outcome == Outcome::Unreachable {
            continue;
        }
        answers.judge(h, &a, input.real_time)?;
        let Some(tid) = a.out.tid.as_deref() else {
            continue;
        };
        let tally = match injected.get(tid) {
            Some(&"forbidden_code") => Some(&mut ksd5),
            Some(&"cvr_mismatch_header") => Some(&mut ksd8),
            _ => None,
        };
        if let Some(t) = tally {
            if outcome.is_accepting() {
                t.fail(evidence(
                    h,
                    &a,
                    format!("accepted ({outcome}) a message it must refuse"),
                )?);
            } else {
                t.ok();
            }
        }
        match first.get(tid) {
            None => {
                first.insert(tid, outcome);
                if outcome.is_accepting() && !injected.contains_key(tid) {
                    if receipts.contains(tid) {
                        ksd2.ok();
                    } else {
                        ksd2.fail(evidence(
                            h,
                            &a,
                            "accepted, and no business receipt came".into(),
                        )?);
                    }
                }
            }
            Some(earlier) if matches!(outcome, Outcome::Ok | Outcome::Advarsel | Outcome::Fejl) => {
                if *earlier == outcome {
                    ksd7.ok();
                } else {
                    ksd7.fail(evidence(
                        h,
                        &a,
                        format!("answered {earlier} first, then {outcome}"),
                    )?);
                }
            }
            Some(_) => {}
        }
    }
    let AnswerRules {
        shape: wire2,
        receipt: ksd1,
        sla: sp8,
    } = answers;
    let none = "no update forwarded to the seat was answered";
    let rules: Vec<RuleVerdict> = vec![
        ksd1.verdict("answers", none),
        wire2.verdict("answers", none),
        ksd5.verdict(
            "broken updates",
            "the scenario injected no forbidden_code fault",
        ),
        ksd8.verdict(
            "broken updates",
            "the scenario injected no cvr_mismatch_header fault",
        ),
        ksd7.verdict(
            "repeated updates",
            "no update was forwarded twice (no duplicate_update fault)",
        ),
        ksd2.verdict("accepted updates", "the seat accepted no update"),
        sp8.verdict(
            "answers",
            if input.real_time {
                none
            } else {
                "not judged: response times are real only at speed 1"
            },
        ),
    ];
    Ok(SeatReport {
        seat: seat.name.clone(),
        party: seat.party.as_str().to_string(),
        url: seat.url.clone(),
        rules,
    })
}
