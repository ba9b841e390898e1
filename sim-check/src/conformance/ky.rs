//! A KY system in KY's seat (SF1690), graded from the platform's journal: every KY message the
//! platform forwarded to it (an outbound `KY/<operation>` row to its URL, answered by an
//! inbound `#response` row under the same CallUUID, dated when the answer came).
//!
//! - `KY-1`: every message is answered with a TransportKvittering (OK, ADVARSEL or FEJL), not
//!   a SOAP fault.
//! - `WIRE-2`: every answer is a readable receipt (not unreadable, not a bare HTTP status).
//! - `KY-10`: a message forwarded again (the vendor resent it) is answered with the same code.
//! - `SP-8`: every answer within the simple class (1 s), judged at speed 1 only.
//!
//! The consistency rules (KY-6..KY-9) are KY's own decisions over its state, which an outside
//! KY keeps; the simulated vendors send only consistent conversations, so a FEJL from the
//! seat shows in `ky-receipts` (refused, by the rule its FejlKode names).

use std::collections::HashMap;

use sim_report::{RuleVerdict, SeatReport};
use sim_store::Outcome;

use super::{evidence, ky_legs, AnswerRules, SeatUnderTest, Tally};
use crate::history::History;
use crate::{CheckError, CheckInput};

/// Grades the KY in `seat`.
pub(crate) fn grade(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
) -> Result<SeatReport, CheckError> {
    let mut answers = AnswerRules {
        shape: Tally::new("WIRE-2", "answers with a readable receipt"),
        receipt: Tally::new("KY-1", "answers every message with a TransportKvittering"),
        sla: Tally::new("SP-8", "answers each message within 1 s (simple class)"),
    };
    let mut ky10 = Tally::new("KY-10", "answers a repeated message with the same code");
    let mut first: HashMap<&str, &Outcome> = HashMap::new();
    for a in ky_legs(h, &seat.url) {
        let outcome: &Outcome = &a.out.outcome;
        if *outcome == Outcome::Unreachable {
            continue;
        }
        answers.judge(h, &a, input.real_time)?;
        let Some(tid) = a.out.tid.as_deref() else {
            continue;
        };
        if !outcome.is_kvittering() {
            continue;
        }
        match first.get(tid) {
            None => {
                first.insert(tid, outcome);
            }
            Some(earlier) if *earlier == outcome => ky10.ok(),
            Some(earlier) => {
                let what = format!("answered {earlier} first, then {outcome}");
                ky10.fail(evidence(h, &a, what)?);
            }
        }
    }
    let none = "no KY message forwarded to the seat was answered";
    let rules: Vec<RuleVerdict> = vec![
        answers.receipt.verdict("answers", none),
        answers.shape.verdict("answers", none),
        ky10.verdict(
            "repeated messages",
            "no KY message was forwarded twice (no resend reached the seat)",
        ),
        answers
            .sla
            .verdict("answers", super::sla_not_exercised(input.real_time, none)),
    ];
    Ok(seat.report(rules))
}
