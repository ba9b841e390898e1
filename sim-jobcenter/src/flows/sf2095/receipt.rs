//! SF2095's last leg: KSD's business receipt (`ModtagForretningsSvar`, KSD-2) arriving on a
//! vendor's receiver port, after the port's checks (JC-2, JC-3).
//!
//! The receipt must be a valid ForretningsSvar (otherwise FEJL with every problem). It is
//! stored, correlated with the update of the same TransaktionIdentifikator and journaled in
//! one commit, and only then answered OK: an OK the store never saw would make the platform
//! drop a receipt nobody has. A repeated delivery (the platform delivers at least once,
//! KSD-7) is answered OK again and only counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use axum::response::Response;
use sim_kit::config::peer_text;
use sim_kit::soap::ok_response;
use sim_store::{Exchange, Journal, JournalEntry, Label};
use sim_wire::rules::code;
use sim_wire::{transport_kvittering_for, ForretningsSvar, Payload, Problem, Rule};

use super::store::{self, NewReceipt, Stored};
use crate::receiver::{answered, kvittering_response, Inbound};

/// The receiver table's handler of `ModtagForretningsSvar`.
pub(crate) fn receive(inbound: Inbound) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    Box::pin(business_receipt(inbound))
}

/// The ForretningsSvar of a valid document, or the problems to reject it with.
fn valid_svar(i: &Inbound) -> Result<ForretningsSvar, Vec<Problem>> {
    match i.decoded.request().map(|q| &q.payload) {
        Some(Payload::ForretningsSvar(s)) if i.decoded.is_valid() => Ok(s.clone()),
        _ => {
            let mut problems: Vec<Problem> = i.decoded.errors().cloned().collect();
            if problems.is_empty() {
                problems.push(Problem::error(
                    Rule::Wire3,
                    code::MANGLER,
                    i.op.request_element(),
                    "no ForretningsSvar could be read",
                ));
            }
            Err(problems)
        }
    }
}

/// Checks, stores, correlates and journals one business receipt, then answers.
async fn business_receipt(i: Inbound) -> Response {
    let svar = match valid_svar(&i) {
        Ok(s) => s,
        Err(problems) => return i.reject(&problems).await,
    };
    let r = &i.receiver;
    let kvittering = transport_kvittering_for(&i.decoded.problems);
    let answer = kvittering_response(i.op, kvittering.clone());
    let now = r.jc.inner.clock.now();
    let receipt = NewReceipt {
        transaktion_id: svar.header.transaktion_identifikator.to_string(),
        instance: r.instance.clone(),
        municipality: i.municipality.to_string(),
        code: svar.kvittering.kode.to_string(),
        begrundelse: svar.kvittering.begrundelse.clone(),
        raw: i.call.text(),
        at: now,
    };
    let exchange = Exchange {
        label: Label::request(i.op),
        transaktion_id: Some(receipt.transaktion_id.clone()),
        call_uuid: None,
        peer: Some(peer_text(&i.peer)),
        municipality: Some(receipt.municipality.clone()),
        cpr: Some(svar.header.sygemeldte_part.to_string()),
    };
    let (inbound, outbound) = answered(
        &exchange,
        now,
        kvittering.kode,
        None,
        i.call.text(),
        &answer,
    );
    let (tid, code) = (receipt.transaktion_id.clone(), receipt.code.clone());
    let stored =
        r.jc.inner
            .db
            .write(move |tx| {
                let stored = store::store_receipt(tx, &receipt)?;
                let inbound = JournalEntry {
                    detail: Some(detail(&stored, &receipt)),
                    ..inbound
                };
                Journal::record_in(tx, &inbound)?;
                Journal::record_in(tx, &outbound)?;
                Ok(stored.deliveries)
            })
            .await;
    match stored {
        Ok(deliveries) => {
            tracing::info!(instance = %r.instance, %tid, %code, deliveries, "business receipt");
            if deliveries == 1 {
                r.jc.inner.stored_receipts.fetch_add(1, Ordering::SeqCst);
            }
            r.jc.inner.receipts.send_modify(|n| *n += 1);
            ok_response(answer)
        }
        Err(e) => {
            // Not stored, so not OK: the platform keeps it and delivers again.
            tracing::error!(error = %e, "could not store a business receipt");
            r.unavailable(&format!("The jobcenter could not store the receipt: {e}"))
        }
    }
}

/// The request row's detail: what became of this delivery.
fn detail(stored: &Stored, receipt: &NewReceipt) -> String {
    let code = &receipt.code;
    if stored.deliveries != 1 {
        return format!(
            "repeated delivery #{}; already processed",
            stored.deliveries
        );
    }
    match &stored.sender {
        Some(s) if *s == receipt.instance => format!("first receipt {code}; correlated"),
        Some(s) => format!("first receipt {code}; correlated with an update sent by {s}"),
        None => {
            format!("first receipt {code}; no update of ours has this TransaktionIdentifikator")
        }
    }
}
