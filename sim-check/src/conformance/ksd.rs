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

use super::{evidence, legs, AnswerRules, Leg, SeatUnderTest, Tally};
use crate::history::History;
use crate::{CheckError, CheckInput};

/// Grades the KSD in `seat`.
pub(crate) fn grade(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
) -> Result<SeatReport, CheckError> {
    let mut answers = AnswerRules {
        shape: Tally::new("WIRE-2", "answers with a readable receipt"),
        receipt: Tally::new("KSD-1", "answers every update with a TransportKvittering"),
        sla: Tally::new("SP-8", "answers each update within 1 s (simple class)"),
    };
    let mut content = Content::new(h, input);
    for a in legs(h, Operation::ModtagOpdateringFravaer, &seat.url) {
        if *a.out.outcome == Outcome::Unreachable {
            continue;
        }
        answers.judge(h, &a, input.real_time)?;
        content.judge(h, &a)?;
    }
    let none = "no update forwarded to the seat was answered";
    let c = content;
    let rules: Vec<RuleVerdict> = vec![
        answers.receipt.verdict("answers", none),
        answers.shape.verdict("answers", none),
        c.ksd5.verdict(
            "broken updates",
            "the scenario injected no forbidden_code fault",
        ),
        c.ksd8.verdict(
            "broken updates",
            "the scenario injected no cvr_mismatch_header fault",
        ),
        c.ksd7.verdict(
            "repeated updates",
            "no update was forwarded twice (no duplicate_update fault)",
        ),
        c.ksd2
            .verdict("accepted updates", "the seat accepted no update"),
        answers.sla.verdict(
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

/// The rules about what KSD answered, per TransaktionIdentifikator: the broken ones refused
/// (KSD-5, KSD-8), a repeat answered as before (KSD-7), an accepted one receipted (KSD-2).
struct Content<'a> {
    ksd5: Tally,
    ksd8: Tally,
    ksd7: Tally,
    ksd2: Tally,
    /// What the runner broke on purpose: TransaktionIdentifikator → kind.
    injected: HashMap<String, &'a str>,
    /// Business receipts KSD sent the platform.
    receipts: BTreeSet<&'a str>,
    /// The first answer per TransaktionIdentifikator.
    first: HashMap<&'a str, &'a Outcome>,
}

impl<'a> Content<'a> {
    fn new(h: &'a History, input: &'a CheckInput) -> Content<'a> {
        Content {
            ksd5: Tally::new("KSD-5", "refuses codes a jobcenter may not send"),
            ksd8: Tally::new(
                "KSD-8",
                "refuses a header Myndighed that is not the context's",
            ),
            ksd7: Tally::new("KSD-7", "answers a repeated update with the same code"),
            ksd2: Tally::new(
                "KSD-2",
                "sends a business receipt for every update it accepts",
            ),
            injected: input
                .injected
                .iter()
                .map(|(t, k)| (t.to_ascii_lowercase(), k.as_str()))
                .collect(),
            receipts: h
                .sp
                .rows
                .iter()
                .filter(|r| r.is(true, Operation::SendForretningsSvarJc))
                .filter_map(|r| r.tid.as_deref())
                .collect(),
            first: HashMap::new(),
        }
    }

    fn judge(&mut self, h: &History, a: &Leg<'a>) -> Result<(), CheckError> {
        let outcome: &'a Outcome = &a.out.outcome;
        let Some(tid) = a.out.tid.as_deref() else {
            return Ok(());
        };
        let broken = match self.injected.get(tid) {
            Some(&"forbidden_code") => Some(&mut self.ksd5),
            Some(&"cvr_mismatch_header") => Some(&mut self.ksd8),
            _ => None,
        };
        if let Some(t) = broken {
            if outcome.is_accepting() {
                let what = format!("accepted ({outcome}) a message it must refuse");
                t.fail(evidence(h, a, what)?);
            } else {
                t.ok();
            }
        }
        match self.first.get(tid) {
            // Only a receipt is KSD's answer to compare repeats with (a fault or an HTTP
            // error before it was a failed delivery, resent by the vendor).
            None if outcome.is_kvittering() => {
                self.first.insert(tid, outcome);
                if outcome.is_accepting() && !self.injected.contains_key(tid) {
                    if self.receipts.contains(tid) {
                        self.ksd2.ok();
                    } else {
                        let what = "accepted, and no business receipt came".to_string();
                        self.ksd2.fail(evidence(h, a, what)?);
                    }
                }
            }
            Some(earlier) if outcome.is_kvittering() => {
                if *earlier == outcome {
                    self.ksd7.ok();
                } else {
                    let what = format!("answered {earlier} first, then {outcome}");
                    self.ksd7.fail(evidence(h, a, what)?);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
