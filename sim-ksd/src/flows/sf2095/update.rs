//! SF2095 `ModtagOpdateringFravaer`: a jobcenter ends follow-up on a case or approves holiday.
//!
//! In this order: a TransaktionIdentifikator KSD already accepted gets the very same answer
//! again and nothing else happens (KSD-7); a message that breaks a rule gets a FEJL
//! TransportKvittering naming every rule and is not processed nor stored, only journaled
//! (KSD-1, with KSD-3/4/5/8 applied by `sim-wire`); an update carrying OphoersAarsag 10 is
//! discarded the same way but answered ADVARSEL naming `KSD-14.KASSERET` (the seed throws it
//! away; a FEJL would have the jobcenter own it and send it again); anything else is recorded — update, case
//! change, history, journal and business receipt in one transaction — and only then
//! acknowledged with OK (or ADVARSEL when there were warnings).

use std::sync::Arc;

use axum::response::Response;
use rusqlite::Transaction;
use sim_kit::ids::IdStream;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{Direction, Journal, JournalEntry, Outcome, Part};
use sim_wire::rules::code;
use sim_wire::{
    transport_kvittering_for, Cvr, Decoded, Fejl, OpdateringFravaer, Operation, Payload, Problem,
    Request, ResponseBody, Rule, TransportKvittering, TransportValideringsKode, Uuid,
};
use time::OffsetDateTime;

use super::receipt;
use crate::cases::{self, Recorded, Verdict};
use crate::send::{self, Meta};
use crate::state::{Ksd, Seen};

/// Handles one `ModtagOpdateringFravaer` the port admitted (the platform is the caller).
pub async fn handle(k: &Ksd, call: &SoapCall, decoded: Decoded, seen: &Seen) -> Response {
    let raw = call.text();

    // KSD-7 first: a repeat is answered from the store; a reused TransaktionIdentifikator
    // with other content is refused.
    if let Some(answer) = answered_before(k, seen, &decoded, &raw).await {
        return answer;
    }

    let (problems, update) = read_update(&decoded);
    let kvittering = transport_kvittering_for(&problems);
    let response = sim_wire::write_response(&sim_wire::Response {
        operation: Operation::ModtagOpdateringFravaer,
        body: ResponseBody::TransportKvittering(kvittering.clone()),
    });
    let answer = Answer {
        at: k.now(),
        outcome: (&kvittering).into(),
        rules: rules_named(&problems),
        response,
    };
    // FEJL (KSD-1) and a discard (KSD-14: code 10 from outside) are not processed.
    let processed = kvittering.kode != TransportValideringsKode::Fejl && !kvittering.discards();
    match update.filter(|_| processed) {
        Some((update, context)) => record(k, seen, answer, update, context, raw).await,
        None => not_processed(k, seen, answer, raw).await,
    }
}

/// The TransportKvittering decided for an update, and what its journal rows say.
struct Answer {
    /// When it was decided: the time of both rows.
    at: OffsetDateTime,
    /// OK, ADVARSEL or FEJL.
    outcome: Outcome,
    /// The rule IDs its problems name, for the request row's detail.
    rules: Option<String>,
    /// The response XML.
    response: String,
}

impl Answer {
    /// The request row (with the rules named) and the response row.
    fn entries(&self, seen: &Seen, raw: String) -> Vec<JournalEntry> {
        let x = &seen.exchange;
        vec![
            x.entry(
                self.at,
                Direction::In,
                Part::Request,
                self.outcome.clone(),
                self.rules.clone(),
                raw,
            ),
            x.entry(
                self.at,
                Direction::Out,
                Part::Response,
                self.outcome.clone(),
                None,
                self.response.clone(),
            ),
        ]
    }
}

/// The problems' rule IDs, once each in the order found; `None` when there are none.
fn rules_named(problems: &[Problem]) -> Option<String> {
    let mut ids: Vec<String> = problems.iter().map(Problem::fejl_kode).collect();
    ids.dedup();
    (!ids.is_empty()).then(|| ids.join(", "))
}

/// The update and its security context's municipality, with every problem found. Either
/// missing is an error problem, so an update KSD cannot read is never answered OK.
fn read_update(decoded: &Decoded) -> (Vec<Problem>, Option<(OpdateringFravaer, Cvr)>) {
    let mut problems = decoded.problems.clone();
    let update = match decoded.request() {
        Some(Request {
            payload: Payload::OpdateringFravaer(u),
            authority_context: Some(ac),
            ..
        }) => Some((u.clone(), ac.municipality_cvr)),
        _ => None,
    };
    if update.is_none() && !problems.iter().any(Problem::is_error) {
        // Cannot happen with sim-wire's reader (a missing part is always an error).
        problems.push(Problem::error(
            Rule::Wire3,
            code::MANGLER,
            "OpdateringFravaer",
            "the update or its security context could not be read",
        ));
    }
    (problems, update)
}

/// KSD-1: FEJL means not processed. Nothing is stored but the journal, so a corrected message
/// with the same TransaktionIdentifikator is processed when it comes. A discarded update
/// (KSD-14, ADVARSEL naming `KSD-14.KASSERET`) takes the same path: it is read, journaled and
/// thrown away, so a repeat is discarded again with the same answer.
async fn not_processed(k: &Ksd, seen: &Seen, answer: Answer, raw: String) -> Response {
    tracing::info!(call = %seen.call_id, rules = ?answer.rules, outcome = %answer.outcome, "update not processed");
    k.journal.record_all(answer.entries(seen, raw)).await;
    ok_response(answer.response)
}

/// The stored answer when the TransaktionIdentifikator was accepted before (KSD-7), journaled
/// as a repeat; FEJL naming KSD-7 when it comes again with other content (defined here: a
/// TransaktionIdentifikator names one message, so it cannot be another update's); `None`
/// when it was not seen (or could not be read, which the validation then reports).
async fn answered_before(k: &Ksd, seen: &Seen, decoded: &Decoded, raw: &str) -> Option<Response> {
    let key = decoded.transaktion_id?.to_string();
    match k.db.read(move |c| cases::stored_update(c, &key)).await {
        Ok(None) => None,
        Ok(Some((before, _))) if !same_update(&before, decoded) => {
            let text = "TransaktionIdentifikator reused with other content: a message keeps its \
                        TransaktionIdentifikator only when it is sent again unchanged; not processed";
            let kvittering = TransportKvittering {
                kode: TransportValideringsKode::Fejl,
                begrundelse: Some(text.to_string()),
                fejl_liste: vec![Fejl {
                    fejl_kode: format!("{}.reused", Rule::Ksd7.id()),
                    fejl_tekst: text.to_string(),
                }],
            };
            let response = sim_wire::write_response(&sim_wire::Response {
                operation: Operation::ModtagOpdateringFravaer,
                body: ResponseBody::TransportKvittering(kvittering),
            });
            let answer = Answer {
                at: k.now(),
                outcome: Outcome::Fejl,
                rules: Some(Rule::Ksd7.id().to_string()),
                response,
            };
            Some(not_processed(k, seen, answer, raw.to_string()).await)
        }
        Ok(Some((_, previous))) => {
            tracing::info!(call = %seen.call_id, tid = ?decoded.transaktion_id, "duplicate answered again");
            let rows = repeat_entries(seen, k.now(), raw.to_string(), previous.clone());
            k.journal.record_all(rows).await;
            Some(ok_response(previous))
        }
        Err(e) => {
            let text = format!("KSD could not check whether it has seen this TransaktionIdentifikator; nothing was processed, resend: {e}");
            Some(
                k.refuse(seen, raw.to_string(), false, Rule::Ksd7, text)
                    .await,
            )
        }
    }
}

/// Whether `decoded` carries the update stored as `before` again: the same security context
/// and the same payload but for BeskedForsendelsesDatoTid (a resend may be stamped anew).
/// A stored request that no longer reads counts as the same (nothing to compare).
fn same_update(before: &str, decoded: &Decoded) -> bool {
    let Ok(prev) = sim_wire::read(before.as_bytes(), None) else {
        return true;
    };
    let update = |d: &Decoded| match d.request() {
        Some(r) => match &r.payload {
            Payload::OpdateringFravaer(u) => Some((r.authority_context.clone(), u.clone())),
            _ => None,
        },
        None => None,
    };
    match (update(&prev), update(decoded)) {
        (Some((ctx_a, mut a)), Some((ctx_b, b))) => {
            a.header.besked_forsendelses_dato_tid = b.header.besked_forsendelses_dato_tid;
            ctx_a == ctx_b && a == b
        }
        _ => true,
    }
}

/// The rows of a repeat answered with the stored answer `previous` (KSD-7).
fn repeat_entries(
    seen: &Seen,
    at: OffsetDateTime,
    raw: String,
    previous: String,
) -> Vec<JournalEntry> {
    let x = &seen.exchange;
    vec![
        x.entry(
            at,
            Direction::In,
            Part::Request,
            Outcome::Duplicate,
            Some(format!("{}: processed already; answered again", Rule::Ksd7)),
            raw,
        ),
        x.entry(
            at,
            Direction::Out,
            Part::Response,
            Outcome::Duplicate,
            None,
            previous,
        ),
    ]
}

/// Records an accepted update with its case change, journal rows and business receipt in one
/// commit, and only then answers; a store that fails answers a fault (KSD-1: resend).
async fn record(
    k: &Ksd,
    seen: &Seen,
    answer: Answer,
    update: OpdateringFravaer,
    context: Cvr,
    raw: String,
) -> Response {
    let tid = update.header.transaktion_identifikator;
    let due = time::Duration::try_from(k.receipt_delay_for(&tid.to_string()))
        .ok()
        .and_then(|d| answer.at.checked_add(d))
        .unwrap_or(answer.at);
    let recording = Recording {
        entries: answer.entries(seen, raw.clone()),
        seen: seen.clone(),
        at: answer.at,
        verdict: cases::verdict(&update),
        update,
        context,
        raw: raw.clone(),
        response: answer.response.clone(),
        due,
        case_ids: k.case_ids.clone(),
        ksd_system: k.ksd_system,
        duration: k.duration,
    };
    match k.db.write(move |tx| recording.store(tx)).await {
        Ok(Stored::Accepted {
            sag_id,
            created,
            verdict,
        }) => {
            k.outbox.notify();
            tracing::info!(%tid, %sag_id, created, verdict = verdict.code(), "update recorded");
            ok_response(answer.response)
        }
        Ok(Stored::Duplicate(previous)) => ok_response(previous),
        Err(e) => {
            tracing::error!(%tid, error = %e, "could not record an update");
            let text =
                format!("KSD could not store the update, so it was not processed; resend: {e}");
            k.refuse(seen, raw, false, Rule::Ksd1, text).await
        }
    }
}

/// What the recording transaction did.
enum Stored {
    /// Recorded; the receipt is in the outbox.
    Accepted {
        sag_id: Uuid,
        created: bool,
        verdict: Verdict,
    },
    /// A copy with the same TransaktionIdentifikator won the race; this is its answer.
    Duplicate(String),
}

/// Everything the recording transaction needs, prepared outside it (it runs on the store's
/// writer thread, so it owns its data).
struct Recording {
    /// The call, for a repeat's rows and the receipt's journal meta.
    seen: Seen,
    /// The answer's request and response rows.
    entries: Vec<JournalEntry>,
    /// The decision's time.
    at: OffsetDateTime,
    update: OpdateringFravaer,
    /// The security context's municipality.
    context: Cvr,
    verdict: Verdict,
    /// The request as received.
    raw: String,
    /// The TransportKvittering answered.
    response: String,
    /// When the business receipt is due.
    due: OffsetDateTime,
    /// SagIdentifikator of a new case; drawn only when one is created, so ids follow commits.
    case_ids: Arc<IdStream>,
    /// RegistreringITsystem of the receipt.
    ksd_system: Uuid,
    /// KSD-9's rule, for the limit of a case created now.
    duration: crate::lifecycle::DurationRule,
}

impl Recording {
    /// Checks for a repeat once more (a copy may have committed since the first check), then
    /// records the update, the case change, the journal rows and the business receipt.
    fn store(self, tx: &Transaction<'_>) -> rusqlite::Result<Stored> {
        let tid = self.update.header.transaktion_identifikator;
        if let Some(previous) = cases::stored_response(tx, &tid.to_string())? {
            for e in repeat_entries(&self.seen, self.at, self.raw, previous.clone()) {
                Journal::record_in(tx, &e)?;
            }
            return Ok(Stored::Duplicate(previous));
        }
        let (sag_id, created) = cases::find_or_create(
            tx,
            &self.update,
            self.context,
            self.at,
            &self.case_ids,
            &self.duration,
        )?;
        let verdict = pensioners_only(tx, &sag_id.to_string(), &self.update, self.verdict)?;
        cases::record(
            tx,
            &Recorded {
                sag_id: &sag_id.to_string(),
                update: &self.update,
                municipality: self.context,
                verdict: &verdict,
                at: self.at,
                raw: &self.raw,
                response: &self.response,
                note: case_note(self.update.header.sag_identifikator, created),
            },
        )?;
        for e in &self.entries {
            Journal::record_in(tx, e)?;
        }
        let svar = receipt::forretnings_svar(
            &self.update,
            self.context,
            sag_id,
            self.ksd_system,
            self.due,
            &verdict,
        );
        let meta = Meta {
            operation: Operation::SendForretningsSvarJc.label(),
            municipality: self.context.to_string(),
            cpr: self.update.header.sygemeldte_part.to_string(),
            call_id: self.seen.call_id.to_string(),
        };
        // Due after the receipt delay (virtual time), in the same commit as the update.
        send::enqueue_in(tx, &svar, &meta, self.at, self.due)?;
        Ok(Stored::Accepted {
            sag_id,
            created,
            verdict,
        })
    }
}

/// KSD-14: 17 and 25 belong to pensioner cases; sent for a case that is not one, the update
/// is rejected (AFVIST), not failed: the message is fine, the case is the wrong kind.
fn pensioners_only(
    tx: &Transaction<'_>,
    sag_id: &str,
    u: &OpdateringFravaer,
    verdict: Verdict,
) -> rusqlite::Result<Verdict> {
    if verdict != Verdict::Accepteret || !u.ophoers_aarsag.is_pensioners() {
        return Ok(verdict);
    }
    let pensioner = crate::lifecycle::limit(tx, sag_id)?.is_some_and(|l| l.pensioner);
    Ok(if pensioner {
        verdict
    } else {
        Verdict::Afvist(format!(
            "OphoersAarsag {} concerns pensioner cases (KSD-14); case {sag_id} is not one",
            u.ophoers_aarsag
        ))
    })
}

/// The history note of a recorded update: whether its case was created, and why when the
/// update named a case.
fn case_note(given: Option<Uuid>, created: bool) -> Option<String> {
    match given {
        Some(given) if created => Some(format!(
            "SagIdentifikator {given} names no case of this person in this municipality; case created"
        )),
        _ if created => Some("case created".to_string()),
        _ => None,
    }
}
