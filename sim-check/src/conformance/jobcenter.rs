//! A jobcenter system in a vendor instance's seat, graded.
//!
//! **Receiving** (the platform's deliveries of `ModtagForretningsSvar` to the seat, from the
//! platform's journal: each attempt is an outbound row whose peer is the instance, answered by
//! an inbound `#response` row under the same CallUUID, dated when the answer came):
//! - `WIRE-2`: every answer is a receipt in the contract's shape (not unreadable, not a bare
//!   HTTP status).
//! - `JC-2`: every answer is a TransportKvittering, not a SOAP fault; and (probe) a call made
//!   with another certificate than KOMBIT's is refused.
//! - `JC-3`: (probe) a receipt for a municipality the seat is not routed is refused.
//! - `KSD-2`: every business receipt KSD made for the seat's municipalities is accepted (OK or
//!   ADVARSEL). A FEJL loses it: the platform does not deliver refused content again.
//! - `KSD-7`: a receipt delivered again (an injected duplicate, or the probe) is answered
//!   the same way: accepted again.
//! - `SP-8`: every answer within the simple class (1 s), judged at speed 1 only.
//!
//! **Sending** (updates the seat sent by itself, i.e. the platform's inbound
//! `SendOpdateringFravaer` rows whose caller is the seat's identity): `SP-5`, `WIRE-1`,
//! `WIRE-3`, `KSD-3`, `KSD-4`, `KSD-5`, `KSD-8` fail for each update refused or answered FEJL
//! naming them (the platform's fault names its rule; KSD's FejlKode starts with its rule);
//! `JC-1`: an update answered with a transient fault (SP-4, SP-9 …) is sent again until a
//! TransportKvittering comes.

use std::collections::HashMap;

use sim_report::{Evidence, SeatReport};
use sim_store::{Outcome, TRANSIENT_FAULT_RULES};
use sim_wire::Operation;

use super::{evidence, legs, AnswerRules, Probe, SeatUnderTest, Tally};
use crate::history::{History, Row};
use crate::{CheckError, CheckInput};

/// The rules a jobcenter system's own updates are judged by, in report order.
const SENDING_RULES: [(&str, &str); 7] = [
    (
        "SP-5",
        "its updates carry an AuthorityContext and a service agreement",
    ),
    (
        "WIRE-1",
        "its updates are well-formed SOAP with the right SOAPAction",
    ),
    ("WIRE-3", "its updates have the contract's fields"),
    ("KSD-3", "its updates' headers are complete and well-formed"),
    ("KSD-4", "its updates' bodies carry valid Ophør dates"),
    ("KSD-5", "its updates use only codes a jobcenter may send"),
    ("KSD-8", "its security context and header Myndighed agree"),
];

/// Grades `seat` over the history and the probes.
pub(crate) fn grade(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
) -> Result<SeatReport, CheckError> {
    let probes: Vec<&Probe> = input
        .probes
        .iter()
        .filter(|p| p.seat == seat.name)
        .collect();
    let mut rules = receiving(h, input, seat, &probes)?;
    rules.extend(sending(h, seat)?);
    Ok(SeatReport {
        seat: seat.name.clone(),
        party: seat.party.as_str().to_string(),
        url: seat.url.clone(),
        rules,
    })
}

fn receiving(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
    probes: &[&Probe],
) -> Result<Vec<sim_report::RuleVerdict>, CheckError> {
    let wire2 = Tally::new("WIRE-2", "answers every delivery with a readable receipt");
    let jc2 = Tally::new(
        "JC-2",
        "answers with a TransportKvittering; accepts only KOMBIT's certificate",
    );
    let mut jc3 = Tally::new(
        "JC-3",
        "refuses receipts for municipalities it does not serve",
    );
    let mut ksd2 = Tally::new(
        "KSD-2",
        "accepts every valid business receipt (a FEJL loses it)",
    );
    let mut ksd7 = Tally::new("KSD-7", "answers a repeated receipt the same way");
    let sp8 = Tally::new("SP-8", "answers each delivery within 1 s (simple class)");
    let mut answers = AnswerRules {
        shape: wire2,
        receipt: jc2,
        sla: sp8,
    };
    let mut first: HashMap<&str, &Outcome> = HashMap::new();
    for a in legs(h, Operation::ModtagForretningsSvarJc, &seat.name) {
        let outcome = &*a.out.outcome;
        if *outcome == Outcome::Unreachable {
            continue; // no answer: nothing the seat said to judge
        }
        answers.judge(h, &a, input.real_time)?;
        let Some(tid) = a.out.tid.as_deref() else {
            continue;
        };
        match first.get(tid) {
            None if outcome.is_kvittering() => {
                first.insert(tid, outcome);
                if *outcome == Outcome::Fejl {
                    ksd2.fail(evidence(
                        h,
                        &a,
                        "answered FEJL to a valid business receipt: it is lost (not redelivered)"
                            .into(),
                    )?);
                } else {
                    ksd2.ok();
                }
            }
            Some(earlier) if earlier.is_accepting() => {
                if outcome.is_accepting() {
                    ksd7.ok();
                } else {
                    ksd7.fail(evidence(
                        h,
                        &a,
                        format!("accepted before, now answered {outcome}"),
                    )?);
                }
            }
            _ => {}
        }
    }
    for p in probes {
        let tally = match p.rule.as_str() {
            "KSD-7" => &mut ksd7,
            "JC-2" => &mut answers.receipt,
            "JC-3" => &mut jc3,
            _ => continue,
        };
        if p.held() {
            tally.ok();
        } else {
            let got = p
                .outcome
                .as_ref()
                .map_or_else(|| "no answer".to_string(), |o| o.to_string());
            tally.fail(p.evidence(format!("probe: {}; answered {got}", p.what)));
        }
    }
    let none = "no delivery to the seat was answered";
    let speed = if input.real_time {
        none
    } else {
        "not judged: response times are real only at speed 1"
    };
    let AnswerRules {
        shape: wire2,
        receipt: jc2,
        sla: sp8,
    } = answers;
    Ok(vec![
        wire2.verdict("answers", none),
        jc2.verdict("answers and probes", none),
        jc3.verdict(
            "probes",
            "no probe with a municipality the seat does not serve was made",
        ),
        ksd2.verdict(
            "business receipts",
            "no business receipt was delivered to the seat",
        ),
        ksd7.verdict(
            "repeated deliveries",
            "no receipt was delivered twice (no duplicate_receipt fault, no probe)",
        ),
        sp8.verdict("answers", speed),
    ])
}

fn sending(h: &History, seat: &SeatUnderTest) -> Result<Vec<sim_report::RuleVerdict>, CheckError> {
    let mut tallies: Vec<Tally> = SENDING_RULES
        .iter()
        .map(|(rule, title)| Tally::new(rule, title))
        .collect();
    let mut jc1 = Tally::new(
        "JC-1",
        "resends an update until it gets a TransportKvittering",
    );
    // Answers to the seat's calls, by CallUUID: the platform's outbound #response/#fault rows.
    let answers: HashMap<&str, &Row> =
        h.sp.rows
            .iter()
            .filter(|r| {
                !r.inbound && r.op == Some(Operation::SendOpdateringFravaer) && r.label.is_answer()
            })
            .filter_map(|r| Some((r.call.as_deref()?, r)))
            .collect();
    // Per TransaktionIdentifikator: whether its first answer was transient, and whether a
    // TransportKvittering came later.
    // In TransaktionIdentifikator order, so the evidence is the same for the same run.
    let mut resent: std::collections::BTreeMap<&str, (bool, bool)> =
        std::collections::BTreeMap::new();
    let mine = h.sp.rows.iter().filter(|r| {
        r.is(true, Operation::SendOpdateringFravaer)
            && r.peer.as_deref().is_some_and(|p| seat.is_caller(p))
    });
    for r in mine {
        // An update without an answer (the platform stopped mid-call) says nothing.
        let Some(answer) = r.call.as_deref().and_then(|c| answers.get(c)).copied() else {
            continue;
        };
        let named = named_rules(h, answer)?;
        for t in &mut tallies {
            if named.iter().any(|n| n == t.rule) {
                t.fail(Evidence {
                    transaktion_id: r.tid.clone(),
                    call_uuid: r.call.clone(),
                    what: format!("refused naming {}", t.rule),
                    request: Some(sim_report::truncate_raw(&h.sp.raw(r.id)?)),
                    response: Some(sim_report::truncate_raw(&h.sp.raw(answer.id)?)),
                });
            } else {
                t.ok();
            }
        }
        if let Some(tid) = r.tid.as_deref() {
            let a = answer;
            let transient = a
                .outcome
                .fault_rule()
                .is_some_and(|rule| TRANSIENT_FAULT_RULES.contains(&rule));
            let receipt = a.outcome.is_kvittering();
            let e = resent.entry(tid).or_insert((transient, false));
            e.1 |= receipt && e.0;
        }
    }
    for (tid, (transient, answered_later)) in resent {
        if !transient {
            continue;
        }
        if answered_later {
            jc1.ok();
        } else {
            jc1.fail(Evidence {
                transaktion_id: Some(tid.to_string()),
                call_uuid: None,
                what: "answered with a transient fault and never sent again until a receipt".into(),
                request: None,
                response: None,
            });
        }
    }
    let why = match &seat.identity {
        None => "the seat's identity is not known (give `identity: CVR[:UUID]`), so its own updates cannot be told apart".to_string(),
        Some((cvr, _)) => format!("the system (CVR {cvr}) sent no SendOpdateringFravaer of its own during the run"),
    };
    let mut out: Vec<_> = tallies
        .into_iter()
        .map(|t| t.verdict("updates it sent", &why))
        .collect();
    out.push(jc1.verdict(
        "updates answered with a transient fault",
        "none of its updates was answered with a transient fault (SP-4, SP-9)",
    ));
    Ok(out)
}

/// The rules an answer to an update names: a fault's rule, or the rules of the FejlListe of
/// a FEJL/ADVARSEL TransportKvittering (FejlKode `KSD-4.code`).
fn named_rules(h: &History, answer: &Row) -> Result<Vec<String>, CheckError> {
    if let Some(rule) = answer.outcome.fault_rule() {
        return Ok(vec![rule.to_string()]);
    }
    if *answer.outcome != Outcome::Fejl {
        return Ok(Vec::new());
    }
    let raw = h.sp.raw(answer.id)?;
    let Ok(decoded) = sim_wire::read(raw.as_bytes(), None) else {
        return Ok(Vec::new());
    };
    let Some(sim_wire::Message::Response(resp)) = decoded.message else {
        return Ok(Vec::new());
    };
    let sim_wire::ResponseBody::TransportKvittering(k) = resp.body else {
        return Ok(Vec::new());
    };
    Ok(k.fejl_liste
        .iter()
        .filter_map(|f| f.fejl_kode.split('.').next().map(str::to_string))
        .collect())
}
