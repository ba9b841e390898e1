//! SF2095 `ModtagOpdateringFravaer`: a jobcenter ends follow-up on a case or approves holiday.
//!
//! In this order: a TransaktionIdentifikator KSD already accepted gets the very same answer
//! again and nothing else happens (KSD-7); a message that breaks a rule gets a FEJL
//! TransportKvittering naming every rule and is not processed nor stored, only journaled
//! (KSD-1, with KSD-3/4/5/8 applied by `sim-wire`); anything else is recorded — update, case
//! change, history, journal and business receipt in one transaction — and only then
//! acknowledged with OK (or ADVARSEL when there were warnings).

use std::sync::Arc;

use axum::response::Response;
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{Direction, Journal, Outbox};
use sim_wire::rules::code;
use sim_wire::{
    transport_kvittering_for, Decoded, Payload, Problem, Request, ResponseBody, Rule,
    TransportValideringsKode,
};

use crate::cases::{self, Recorded, Verdict};
use crate::receipt::{self, Meta};
use crate::state::{Ksd, Seen};

/// What the recording transaction did.
enum Stored {
    /// Recorded; the receipt is in the outbox.
    Accepted {
        sag_id: String,
        created: bool,
        verdict: Verdict,
    },
    /// A copy with the same TransaktionIdentifikator won the race; this is its answer.
    Duplicate(String),
}

/// Handles one `ModtagOpdateringFravaer` from the platform (already checked to be the caller).
pub async fn handle(k: &Arc<Ksd>, call: &SoapCall, decoded: Decoded, seen: Seen) -> Response {
    let raw = call.text();

    // KSD-7 first: a repeat is answered from the store, whatever it carries this time.
    if let Some(tid) = decoded.transaktion_id {
        let key = tid.to_string();
        match k.db.read(move |c| cases::stored_response(c, &key)).await {
            Ok(Some(previous)) => return duplicate(k, &seen, raw, previous).await,
            Ok(None) => {}
            Err(e) => {
                let text = format!("KSD could not check whether it has seen this TransaktionIdentifikator; nothing was processed, resend: {e}");
                return k.refuse(&seen, raw, false, Rule::Ksd7, text).await;
            }
        }
    }

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
        // Cannot happen with sim-wire's reader (a missing part is always an error), but an
        // update KSD cannot read must never be answered OK.
        problems.push(Problem::error(
            Rule::Wire3,
            code::MANGLER,
            "OpdateringFravaer",
            "the update or its security context could not be read",
        ));
    }
    let kvittering = transport_kvittering_for(&problems);
    let response = sim_wire::write_response(&sim_wire::Response {
        operation: sim_wire::Operation::ModtagOpdateringFravaer,
        body: ResponseBody::TransportKvittering(kvittering.clone()),
    });
    let now = k.now();
    let outcome = kvittering.kode.to_string();
    let rules = || {
        let mut ids: Vec<String> = problems.iter().map(Problem::fejl_kode).collect();
        ids.dedup();
        (!ids.is_empty()).then(|| ids.join(", "))
    };

    let Some((update, context)) =
        update.filter(|_| kvittering.kode != TransportValideringsKode::Fejl)
    else {
        // KSD-1: FEJL means not processed. Nothing is stored but the journal, so a corrected
        // message with the same TransaktionIdentifikator is processed when it comes.
        tracing::info!(call = %seen.call_id, rules = ?rules(), "update refused (FEJL)");
        let detail = rules();
        k.journal_all(vec![
            seen.entry(now, Direction::In, "", &outcome, detail, raw),
            seen.entry(
                now,
                Direction::Out,
                "#response",
                &outcome,
                None,
                response.clone(),
            ),
        ])
        .await;
        return ok_response(response);
    };

    let tid = update.header.transaktion_identifikator;
    let verdict = cases::verdict(&update);
    let inbound = seen.entry(now, Direction::In, "", &outcome, rules(), raw.clone());
    let outbound = seen.entry(
        now,
        Direction::Out,
        "#response",
        &outcome,
        None,
        response.clone(),
    );
    let dup_in = seen.entry(
        now,
        Direction::In,
        "",
        "DUPLICATE",
        Some(format!("{}: processed already; answered again", Rule::Ksd7)),
        raw.clone(),
    );
    let dup_seen = seen.clone();
    let due = time::Duration::try_from(k.receipt_delay_for(&tid.to_string()))
        .ok()
        .and_then(|d| now.checked_add(d))
        .unwrap_or(now);
    let ids = k.case_ids.clone();
    let ksd_system = k.ksd_system;
    let meta = Meta {
        municipality: context.to_string(),
        cpr: update.header.sygemeldte_part.to_string(),
        call_id: seen.call_id.to_string(),
    };
    let answer = response.clone();
    let stored = k
        .db
        .write(move |tx| {
            if let Some(previous) = cases::stored_response(tx, &tid.to_string())? {
                let dup_out = dup_seen.entry(
                    now,
                    Direction::Out,
                    "#response",
                    "DUPLICATE",
                    None,
                    previous.clone(),
                );
                Journal::record_in(tx, &dup_in)?;
                Journal::record_in(tx, &dup_out)?;
                return Ok(Stored::Duplicate(previous));
            }
            let (sag_id, created) = cases::find_or_create(tx, &update, context, now, &ids)?;
            let note = match update.header.sag_identifikator {
                Some(given) if created => Some(format!(
                    "SagIdentifikator {given} names no case of this person in this municipality; case created"
                )),
                _ if created => Some("case created".to_string()),
                _ => None,
            };
            cases::record(
                tx,
                &Recorded {
                    sag_id: &sag_id.to_string(),
                    update: &update,
                    municipality: context,
                    verdict: &verdict,
                    at: now,
                    raw: &raw,
                    response: &answer,
                    note,
                },
            )?;
            let svar = receipt::forretnings_svar(&update, context, sag_id, ksd_system, due, &verdict);
            let own = sim_wire::validate(&sim_wire::Message::Request(svar.clone()));
            if own.iter().any(Problem::is_error) {
                tracing::error!(?own, "KSD's own business receipt breaks the contract");
            }
            Journal::record_in(tx, &inbound)?;
            Journal::record_in(tx, &outbound)?;
            // Due after the receipt delay (virtual time), in the same commit as the update.
            Outbox::enqueue_in_at(tx, &receipt::outbox_item(&svar, &meta), now, due)?;
            Ok(Stored::Accepted {
                sag_id: sag_id.to_string(),
                created,
                verdict,
            })
        })
        .await;
    match stored {
        Ok(Stored::Accepted {
            sag_id,
            created,
            verdict,
        }) => {
            k.outbox.notify();
            tracing::info!(%tid, %sag_id, created, verdict = verdict.code(), "update recorded");
            ok_response(response)
        }
        Ok(Stored::Duplicate(previous)) => ok_response(previous),
        Err(e) => {
            tracing::error!(%tid, error = %e, "could not record an update");
            let text =
                format!("KSD could not store the update, so it was not processed; resend: {e}");
            k.refuse(&seen, call.text(), false, Rule::Ksd1, text).await
        }
    }
}

/// Answers a repeat with the stored answer and journals it (KSD-7).
async fn duplicate(k: &Ksd, seen: &Seen, raw: String, previous: String) -> Response {
    let now = k.now();
    tracing::info!(call = %seen.call_id, tid = ?seen.transaktion_id, "duplicate answered again");
    k.journal_all(vec![
        seen.entry(
            now,
            Direction::In,
            "",
            "DUPLICATE",
            Some(format!("{}: processed already; answered again", Rule::Ksd7)),
            raw,
        ),
        seen.entry(
            now,
            Direction::Out,
            "#response",
            "DUPLICATE",
            None,
            previous.clone(),
        ),
    ])
    .await;
    ok_response(previous)
}
