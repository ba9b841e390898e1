//! SF2095's last leg: KSD's business receipt (`ModtagForretningsSvar`, KSD-2) arriving on a
//! vendor's receiver port, after the port's checks (JC-2, JC-3).
//!
//! The receipt must be a valid ForretningsSvar (otherwise FEJL with every problem). It is
//! stored, correlated with the update of the same TransaktionIdentifikator and journaled in
//! one commit, and only then answered OK: an OK the store never saw would make the platform
//! drop a receipt nobody has. A repeated delivery (the platform delivers at least once,
//! KSD-7) is answered OK again and only counted.

use std::sync::atomic::Ordering;

use axum::response::Response;
use sim_wire::Payload;

use super::store::{self, NewReceipt, Stored};
use crate::receiver::Inbound;

/// The receiver table's handler of `ModtagForretningsSvar`: checks, stores, correlates and
/// journals one business receipt, then answers OK (`Err`: the refusal its checks answered
/// with).
pub(crate) async fn receive(i: Inbound) -> Result<Response, Response> {
    let svar = i
        .payload("ForretningsSvar", |p| match p {
            Payload::ForretningsSvar(s) => Some(s),
            _ => None,
        })
        .await?;
    let r = &i.receiver;
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
    let about = (
        receipt.transaktion_id.clone(),
        svar.header.sygemeldte_part.to_string(),
    );
    let (tid, code) = (receipt.transaktion_id.clone(), receipt.code.clone());
    Ok(i.keep(
        now,
        about,
        "receipt",
        move |tx| {
            let stored = store::store_receipt(tx, &receipt)?;
            let detail = detail(&stored, &receipt);
            Ok((stored.deliveries, detail))
        },
        |deliveries: i64| {
            tracing::info!(instance = %r.instance, %tid, %code, deliveries, "business receipt");
            if deliveries == 1 {
                r.jc.inner.stored_receipts.fetch_add(1, Ordering::SeqCst);
            }
            r.jc.inner.receipts.send_modify(|n| *n += 1);
        },
    )
    .await)
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
