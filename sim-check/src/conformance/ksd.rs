//! A KSD system in KSD's seat, graded from the platform's journal: every update the platform
//! forwarded to it (an outbound `ModtagOpdateringFravaer` row to KSD's URL, answered by an
//! inbound `#response` row under the same CallUUID, dated when the answer came) and every
//! business receipt it sent the platform (an inbound `JC/SendForretningsSvar` row).
//!
//! - `KSD-1`: every update is answered with a TransportKvittering (OK, ADVARSEL or FEJL), not
//!   a SOAP fault.
//! - `WIRE-2`: every answer is a readable receipt (not unreadable, not a bare HTTP status).
//! - `KSD-5`, `KSD-8`: every update the runner broke on purpose with a forbidden code (60–64),
//!   or with a header Myndighed that is not the security context's, is refused (not
//!   OK/ADVARSEL).
//! - `KSD-14`: an update the runner sent with OphoersAarsag 10 is discarded: answered with a
//!   TransportKvittering that is not FEJL (the jobcenter would own it and send it again) and
//!   never processed (no business receipt). Our KSD answers ADVARSEL naming
//!   `KSD-14.KASSERET`; a plain OK is as good from outside.
//! - `KSD-7`: an update forwarded again (a duplicate) is answered with the same code.
//! - `KSD-2`: every update it accepted gets its business receipt, under the same
//!   TransaktionIdentifikator, by the end of the run.
//! - `SP-8`: every answer within the simple class (1 s), judged at speed 1 only.
//! - `KSD-12`: every SF2096 look-up it answered (`HentSag`, `HentSagsListe`, forwarded to its
//!   URL) holds only cases of the calling municipality — the adversarial look-ups of a
//!   scenario are aimed at it; an answer with another municipality's case is a leak.

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
    let ksd12 = delimitation(h, &seat.url)?;
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
        c.ksd14.verdict(
            "updates with code 10",
            "the scenario's forbidden_code faults sent no code 10",
        ),
        c.ksd7.verdict(
            "repeated updates",
            "no update was forwarded twice (no duplicate_update fault)",
        ),
        c.ksd2
            .verdict("accepted updates", "the seat accepted no update"),
        ksd12.verdict(
            "look-up answers",
            "no SF2096 look-up was forwarded to the seat",
        ),
        answers
            .sla
            .verdict("answers", super::sla_not_exercised(input.real_time, none)),
    ];
    Ok(seat.report(rules))
}

/// The rules about what KSD answered, per TransaktionIdentifikator: the broken ones refused
/// (KSD-5, KSD-8), a repeat answered as before (KSD-7), an accepted one receipted (KSD-2).
struct Content<'a> {
    ksd5: Tally,
    ksd8: Tally,
    ksd14: Tally,
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
            ksd14: Tally::new(
                "KSD-14",
                "discards code 10 from outside: no FEJL, no processing",
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
            // A transport failure says nothing about the code (KSD-1/WIRE-2 grade it; the
            // resend is judged).
            Some(&"forbidden_code") if !outcome.is_kvittering() => None,
            Some(&"forbidden_code") if carries_code_10(h, a)? => {
                // KSD-14: thrown away, neither refused nor processed.
                let refused = *outcome == Outcome::Fejl;
                if refused || self.receipts.contains(tid) {
                    let what = if refused {
                        format!("answered {outcome}: code 10 from outside is discarded, not refused (the jobcenter would send it again)")
                    } else {
                        format!("answered {outcome} and sent a business receipt: code 10 from outside is discarded, not processed")
                    };
                    self.ksd14.fail(evidence(h, a, what)?);
                } else {
                    self.ksd14.ok();
                }
                None
            }
            Some(&"forbidden_code") => Some(&mut self.ksd5),
            Some(&"cvr_mismatch_header") => Some(&mut self.ksd8),
            // KSD-14's discard is for code 10 only: an update without it that KSD "discards"
            // is one it will never process nor receipt.
            _ if *outcome == Outcome::Discarded && !carries_code_10(h, a)? => {
                let what = "answered ADVARSEL KSD-14.KASSERET (discarded) to an update without OphoersAarsag 10: it is never processed".to_string();
                self.ksd14.fail(evidence(h, a, what)?);
                None
            }
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

/// Whether the update the platform forwarded on this leg carries OphoersAarsag 10 (read from
/// the bytes it sent; an update that does not read carries none).
fn carries_code_10(h: &History, a: &Leg<'_>) -> Result<bool, CheckError> {
    let raw = h.sp.raw(a.out.id)?;
    let Ok(d) = sim_wire::read(raw.as_bytes(), None) else {
        return Ok(false);
    };
    Ok(match d.request().map(|r| &r.payload) {
        Some(sim_wire::Payload::OpdateringFravaer(u)) => u.ophoers_aarsag.discarded_from_outside(),
        _ => false,
    })
}

/// KSD-12 over every look-up forwarded to the seat: each answer's cases are the caller's.
fn delimitation(h: &History, url: &str) -> Result<Tally, CheckError> {
    let mut t = Tally::new(
        "KSD-12",
        "answers look-ups with the calling municipality's cases only",
    );
    for op in [Operation::HentSag, Operation::HentSagsListe] {
        for a in legs(h, op, url) {
            let (Some(back), Some(asked_by)) = (a.back, a.out.municipality.as_deref()) else {
                continue;
            };
            let raw = h.sp.raw(back.id)?;
            let cases = crate::sf2096::cases_in(&raw);
            match cases.iter().find(|(_, m)| m != asked_by) {
                Some((sag, m)) => {
                    let what = format!("answered {asked_by}'s look-up with case {sag} of {m}");
                    t.fail(evidence(h, &a, what)?);
                }
                None => t.ok(),
            }
        }
    }
    Ok(t)
}
