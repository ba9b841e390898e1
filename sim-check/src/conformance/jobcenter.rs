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
//! - `KSD-10`: every case event it accepted (`ModtagHaendelse`, OK/ADVARSEL) is acknowledged
//!   (`SendForretningsSvar` through the platform, recorded by KSD) within the liveness
//!   deadline of its delivery; KSD's `ksd_events` says which were.
//! - `KSD-11`: every extension request it accepted (`ModtagAnmodningForlaengelse`) is
//!   answered (`SendForretningsSvarForlaengelse`: an extension or a rejection) by its
//!   SvarFrist, judged once the SvarFrist has passed in the run; KSD's
//!   `ksd_extension_requests` says which were, and when.
//!
//! **Sending** (updates and look-ups the seat sent by itself, i.e. the platform's inbound
//! `SendOpdateringFravaer`, `HentSag` and `HentSagsListe` rows whose caller is the seat's
//! identity): `SP-5`, `WIRE-1`,
//! `WIRE-3`, `KSD-3`, `KSD-4`, `KSD-5`, `KSD-8` fail for each update refused or answered FEJL
//! naming them (the platform's fault names its rule; KSD's FejlKode starts with its rule; an
//! update KSD discarded for its code 10 breaks KSD-5);
//! `JC-1`: an update answered with a transient fault (SP-4, SP-9 …) is sent again until a
//! TransportKvittering comes.
//!
//! **Its KY messages** (SF1690, the platform's inbound `KY/<Operation>` rows whose caller is the
//! seat): `SP-5` and `WIRE-1` as above, and `KY-2`..`KY-10` fail for each message KY refused
//! naming them (FejlKode `KY-n.CODE`); each is NOT EXERCISED when the seat sent no KY message.
//! KY's answers are the simulated KY's (an outside KY is not a seat: KY lives in the KSD
//! program).

use std::collections::HashMap;

use sim_report::{Evidence, SeatReport};
use sim_store::{Outcome, TRANSIENT_FAULT_RULES};
use sim_wire::Operation;

use super::{evidence, legs, AnswerRules, Leg, Probe, SeatUnderTest, Tally};
use crate::history::{date_of, History, Row};
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

/// The rules a jobcenter system's own KY messages (SF1690) are judged by besides SP-5 and
/// WIRE-1: those KY's refusals name (FejlKode `KY-n.CODE`, wire.md §5), in report order.
const KY_RULES: [(&str, &str); 9] = [
    (
        "KY-2",
        "its KY messages' headers and fields are complete and well-formed",
    ),
    (
        "KY-3",
        "its KY messages' Handling is one seed 003 names, with what it needs",
    ),
    ("KY-4", "its KY messages' values come from their lists"),
    ("KY-5", "its KY security context and header Myndighed agree"),
    ("KY-6", "its KY messages name a contact course KY knows"),
    ("KY-7", "it does not create in KY what exists"),
    ("KY-8", "it changes in KY only what KY holds"),
    (
        "KY-9",
        "it sends a stopped course or activity only what it takes",
    ),
    (
        "KY-10",
        "it does not reuse a KY TransaktionIdentifikator for other content",
    ),
];

/// The rules that judge the platform's admission of any call, KY's included.
const ADMISSION_RULES: [&str; 2] = ["SP-5", "WIRE-1"];

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
    Ok(seat.report(rules))
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
    let (ksd10, ksd11) = dialogues(h, input, seat, &mut answers)?;
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
    let speed = super::sla_not_exercised(input.real_time, none);
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
        ksd10.verdict(
            "case events",
            "no case event was delivered to the seat and due for acknowledgement (no `cases:` intake, or a KSD outside)",
        ),
        ksd11.verdict(
            "extension requests",
            "no extension request delivered to the seat reached its SvarFrist in the run",
        ),
    ])
}

/// KSD-10 and KSD-11 for the seat: what KSD recorded of the acknowledgements and answers to
/// the events and requests the seat accepted. Its answers to those deliveries are judged with
/// the receipts' (`answers`: WIRE-2, JC-2, SP-8).
fn dialogues(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
    answers: &mut AnswerRules,
) -> Result<(Tally, Tally), CheckError> {
    let mut ksd10 = Tally::new(
        "KSD-10",
        "acknowledges every case event it accepts (SendForretningsSvar MODTAGET)",
    );
    let mut ksd11 = Tally::new(
        "KSD-11",
        "answers every extension request it accepts by its SvarFrist",
    );
    let recorded = if input.ksd_is_outside() {
        None
    } else {
        Some(KsdRecord::load(h)?)
    };
    let deadline_ms = i64::try_from(input.liveness_deadline.as_millis()).unwrap_or(i64::MAX);
    // As `events-acknowledged`: the deadline runs from the delivery or the end of the faults.
    let faults_end = input
        .faults_end
        .map(sim_store::unix_millis)
        .unwrap_or(i64::MIN);
    let horizon = h.horizon(input);
    let today = date_of(horizon);
    let mut judged = std::collections::HashSet::new();
    // Each delivery's answer is judged (WIRE-2, JC-2, SP-8); each message the seat accepted,
    // once, for what became of it.
    let mut accepted = |op: Operation| -> Result<Vec<(Leg<'_>, String)>, CheckError> {
        let mut out = Vec::new();
        for a in legs(h, op, &seat.name) {
            if *a.out.outcome == Outcome::Unreachable {
                continue;
            }
            answers.judge(h, &a, input.real_time)?;
            let Some(tid) = a.out.tid.clone() else {
                continue;
            };
            if a.out.outcome.is_accepting() && judged.insert(tid.clone()) {
                out.push((a, tid));
            }
        }
        Ok(out)
    };
    let events = accepted(Operation::ModtagHaendelse)?;
    let requests = accepted(Operation::ModtagAnmodningForlaengelse)?;
    let Some(k) = recorded.as_ref() else {
        return Ok((ksd10, ksd11));
    };
    for (a, tid) in events {
        match k.acked.get(&tid) {
            Some(true) => ksd10.ok(),
            Some(false) if a.out.at.max(faults_end).saturating_add(deadline_ms) <= horizon => {
                ksd10.fail(evidence(
                    h,
                    &a,
                    "accepted the case event and never acknowledged it (no SendForretningsSvar reached KSD)".into(),
                )?);
            }
            _ => {}
        }
    }
    for (a, tid) in requests {
        let Some((svar_frist, answered_at)) = k.requests.get(&tid) else {
            continue;
        };
        let date = date_of;
        if date(a.out.at).as_str() > svar_frist.as_str() {
            continue; // delivered after its SvarFrist: no chance to answer in time
        }
        match answered_at {
            Some(t) if date(*t).as_str() <= svar_frist.as_str() => ksd11.ok(),
            Some(t) => {
                let what = format!(
                    "answered the extension request on {}, after its SvarFrist {svar_frist}",
                    date(*t)
                );
                ksd11.fail(evidence(h, &a, what)?);
            }
            None if svar_frist.as_str() < today.as_str() => {
                let what = format!("accepted the extension request and never answered it (SvarFrist {svar_frist}); KSD set 63 at the limit");
                ksd11.fail(evidence(h, &a, what)?);
            }
            None => {}
        }
    }
    Ok((ksd10, ksd11))
}

/// What KSD recorded of its events and extension requests, by lowercased
/// TransaktionIdentifikator (empty when its store has no such tables).
#[derive(Default)]
struct KsdRecord {
    /// Event → acknowledged.
    acked: HashMap<String, bool>,
    /// Request → (SvarFrist, when answered).
    requests: HashMap<String, (String, Option<i64>)>,
}

impl KsdRecord {
    fn load(h: &History) -> Result<KsdRecord, CheckError> {
        let mut k = KsdRecord::default();
        let err = crate::history::sqlite_error(h.ksd.name, &h.ksd.path);
        if h.ksd.has_table("ksd_events")? {
            let mut st = h
                .ksd
                .conn
                .prepare("SELECT transaktion_id, acked_at IS NOT NULL FROM ksd_events")
                .map_err(&err)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))
                .map_err(&err)?;
            for row in rows {
                let (tid, acked) = row.map_err(&err)?;
                k.acked.insert(tid.to_ascii_lowercase(), acked);
            }
        }
        if h.ksd.has_table("ksd_extension_requests")? {
            let mut st = h
                .ksd
                .conn
                .prepare(
                    "SELECT transaktion_id, svar_frist, answered_at FROM ksd_extension_requests",
                )
                .map_err(&err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })
                .map_err(&err)?;
            for row in rows {
                let (tid, frist, answered_at) = row.map_err(&err)?;
                k.requests
                    .insert(tid.to_ascii_lowercase(), (frist, answered_at));
            }
        }
        Ok(k)
    }
}

/// The calls a jobcenter makes on its own and is graded on by the rules their refusals name:
/// its updates (SF2095) and its look-ups (SF2096; a look-up that finds nothing is no breach).
fn own_call(op: Operation) -> bool {
    matches!(
        op,
        Operation::SendOpdateringFravaer | Operation::HentSag | Operation::HentSagsListe
    )
}

/// Whether `r` is a row of a call a jobcenter makes on its own: [`own_call`]'s, or any of
/// SF1690's eight (its messages to KY, whose refusals name KY's rules).
fn own_row(r: &Row) -> bool {
    r.op.is_some_and(own_call) || r.label.ky_operation().is_some()
}

fn sending(h: &History, seat: &SeatUnderTest) -> Result<Vec<sim_report::RuleVerdict>, CheckError> {
    let mut tallies: Vec<Tally> = SENDING_RULES
        .iter()
        .map(|(rule, title)| Tally::new(rule, title))
        .collect();
    let mut ky: Vec<Tally> = KY_RULES
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
            .filter(|r| !r.inbound && own_row(r) && r.label.is_answer())
            .filter_map(|r| Some((r.call.as_deref()?, r)))
            .collect();
    // Per TransaktionIdentifikator: whether its first answer was transient, and whether a
    // TransportKvittering came later.
    // In TransaktionIdentifikator order, so the evidence is the same for the same run.
    let mut resent: std::collections::BTreeMap<&str, (bool, bool)> =
        std::collections::BTreeMap::new();
    let mine = h.sp.rows.iter().filter(|r| {
        r.inbound
            && !r.label.is_answer()
            && own_row(r)
            && r.peer.as_deref().is_some_and(|p| seat.is_caller(p))
    });
    for r in mine {
        // An update without an answer (the platform stopped mid-call) says nothing.
        let Some(answer) = r.call.as_deref().and_then(|c| answers.get(c)).copied() else {
            continue;
        };
        let named = named_rules(h, answer)?;
        let is_ky = r.label.ky_operation().is_some();
        // A look-up carries no Sygefravaer header nor code: the admission rules and WIRE-3
        // judge it, KSD-3/4/5/8 are not exercised by it.
        let is_lookup = matches!(r.op, Some(Operation::HentSag | Operation::HentSagsListe));
        // A KY message is judged by the admission rules and KY's; an update by the
        // Sygefravaer ones.
        let judged = tallies
            .iter_mut()
            .filter(|t| {
                if is_ky {
                    ADMISSION_RULES.contains(&t.rule)
                } else if is_lookup {
                    ADMISSION_RULES.contains(&t.rule) || t.rule == "WIRE-3"
                } else {
                    true
                }
            })
            .chain(ky.iter_mut().filter(|_| is_ky));
        for t in judged {
            if named.iter().any(|n| n == t.rule) {
                t.fail(Evidence {
                    transaktion_id: r.tid.clone(),
                    call_uuid: r.call.clone(),
                    what: if *answer.outcome == Outcome::Discarded {
                        "discarded by KSD: OphoersAarsag 10 is set only by KSD".to_string()
                    } else {
                        format!("refused naming {}", t.rule)
                    },
                    request: Some(sim_report::truncate_raw(&h.sp.raw(r.id)?)),
                    response: Some(sim_report::truncate_raw(&h.sp.raw(answer.id)?)),
                });
            } else {
                t.ok();
            }
        }
        if let Some(tid) = r.tid.as_deref().filter(|_| !is_ky) {
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
        Some((cvr, _)) => format!("the system (CVR {cvr}) sent no SendOpdateringFravaer, HentSag or HentSagsListe of its own during the run"),
    };
    let mut out: Vec<_> = tallies
        .into_iter()
        .map(|t| t.verdict("updates and look-ups it sent", &why))
        .collect();
    let why_ky = match &seat.identity {
        None => why.clone(),
        Some((cvr, _)) => format!(
            "the system (CVR {cvr}) sent no KontanthjaelpServiceKY message of its own during the run"
        ),
    };
    out.extend(
        ky.into_iter()
            .map(|t| t.verdict("KY messages it sent", &why_ky)),
    );
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
    // A discard (KSD-14.KASSERET) is KSD throwing away an OphoersAarsag 10, which a jobcenter
    // may not send: the sender broke KSD-5.
    if *answer.outcome == Outcome::Discarded {
        return Ok(vec!["KSD-5".to_string()]);
    }
    if *answer.outcome != Outcome::Fejl {
        return Ok(Vec::new());
    }
    let raw = h.sp.raw(answer.id)?;
    if answer.label.ky_operation().is_some() {
        // KY's receipt (SF1690): FejlKode `KY-6.UKENDT` names KY-6.
        let codes = sim_wire::ky::read(raw.as_bytes(), None)
            .ok()
            .and_then(|d| d.response().cloned())
            .map(|r| r.kvittering.fejl_liste)
            .unwrap_or_default();
        return Ok(codes
            .iter()
            .filter_map(|f| f.fejl_kode.split('.').next().map(str::to_string))
            .collect());
    }
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
