//! The business receipt (KSD-2): after processing an update, KSD tells the jobcenter through
//! the platform (`SendForretningsSvar` on the JC exposure) whether it was ACCEPTERET or
//! AFVIST, with the update's header and the same TransaktionIdentifikator.
//!
//! The receipt is written into the outbox in the same transaction that records the update,
//! due after the configured delay, and delivered from there until the platform answers OK or
//! ADVARSEL: at least once, across restarts (the platform and the jobcenter deduplicate by
//! TransaktionIdentifikator).

use std::future::Future;
use std::sync::Arc;

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use sim_store::{
    Backoff, Direction, Exchange, Label, NewOutboxItem, Outbox, OutboxItem, Outcome, Part,
};
use sim_wire::{
    AuthorityContext, Cvr, DatoTid, ForretningsSvar, ForretningsValideringsKode,
    Forretningskvittering, OpdateringFravaer, Operation, Payload, Problem, Request, Uuid,
};
use time::OffsetDateTime;

use crate::cases::Verdict;
use crate::state::Ksd;

/// The outbox target of every business receipt: KSD has one peer.
pub const TARGET: &str = "platform";

/// How many receipts are delivered at once. The platform persists before answering, so a
/// handful in flight keeps up with KSD-13's volume (200,000 a month) with room to spare.
const DELIVERY_CONCURRENCY: usize = 64;

/// What the outbox row carries besides the XML: enough to journal each attempt under the
/// originating call.
#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {
    /// The security context's municipality (also the receipt's AuthorityContext).
    pub municipality: String,
    /// The citizen, for per-person journal queries.
    pub cpr: String,
    /// The call id of the update that caused the receipt.
    pub call_id: String,
}

/// The SendForretningsSvar request for an update (KSD-2).
///
/// The header is the update's with what KSD changes: the send time, KSD as registering
/// system, the case id, and no RegistreringBruger or UdgiverTypeKode (KSD never fills them).
/// The AuthorityContext is the update's security context, so the platform routes the answer
/// to the municipality the update came from (SP-2), never to a header's claim.
pub fn forretnings_svar(
    update: &OpdateringFravaer,
    context: Cvr,
    sag_id: Uuid,
    ksd_system: Uuid,
    sent_at: OffsetDateTime,
    verdict: &Verdict,
) -> Request {
    let mut header = update.header.clone();
    header.besked_forsendelses_dato_tid = DatoTid(sent_at);
    header.registrering_it_system = ksd_system;
    header.registrering_bruger = None;
    header.udgiver_type_kode = None;
    header.sag_identifikator = Some(sag_id);
    let kode = match verdict {
        Verdict::Accepteret => ForretningsValideringsKode::Accepteret,
        Verdict::Afvist(_) => ForretningsValideringsKode::Afvist,
    };
    Request {
        operation: Operation::SendForretningsSvarJc,
        call_context: None,
        authority_context: Some(AuthorityContext {
            municipality_cvr: context,
        }),
        payload: Payload::ForretningsSvar(ForretningsSvar {
            header,
            kvittering: Forretningskvittering {
                kode,
                begrundelse: verdict.begrundelse().map(str::to_string),
                // KSD-2: a FejlListe only with FEJLET, which an accepted update never gets.
                fejl_liste: Vec::new(),
            },
        }),
    }
}

/// Puts receipt `svar` into the outbox within the recording transaction `tx`, due at `due`.
/// A receipt that breaks the contract's rules for what KSD sends is a bug of KSD's: logged,
/// and still sent, so the platform's checks and the journal show it.
pub fn enqueue_in(
    tx: &Transaction<'_>,
    svar: &Request,
    meta: &Meta,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> rusqlite::Result<()> {
    let own = sim_wire::validate(&sim_wire::Message::Request(svar.clone()));
    if own.iter().any(Problem::is_error) {
        tracing::error!(?own, "KSD's own business receipt breaks the contract");
    }
    Outbox::enqueue_in_at(tx, &outbox_item(svar, meta), now, due)?;
    Ok(())
}

/// The outbox row for a receipt.
fn outbox_item(request: &Request, meta: &Meta) -> NewOutboxItem {
    let key = request
        .payload
        .header()
        .map(|h| h.transaktion_identifikator.to_string())
        .unwrap_or_default();
    NewOutboxItem {
        target: TARGET.to_string(),
        key,
        payload: sim_wire::write_request(request),
        // A struct of three strings always serialises.
        meta: serde_json::to_string(meta).unwrap_or_default(),
    }
}

/// Delivers receipts until `stop` completes.
pub async fn deliver_forever(k: Arc<Ksd>, stop: impl Future<Output = ()> + Send) {
    let outbox = k.outbox.clone();
    let deliver = move |item: OutboxItem| {
        let k = k.clone();
        async move { deliver(k, item).await }
    };
    outbox
        .run(Backoff::default(), DELIVERY_CONCURRENCY, deliver, stop)
        .await;
}

/// One delivery attempt; every attempt is journaled (request and answer, with its outcome).
async fn deliver(k: Arc<Ksd>, item: OutboxItem) -> Result<(), String> {
    let meta: Meta =
        serde_json::from_str(&item.meta).map_err(|e| format!("bad outbox meta: {e}"))?;
    let op = Operation::SendForretningsSvarJc;
    let attempt = item.attempts.saturating_add(1);
    let exchange = Exchange {
        label: Label::request(op),
        transaktion_id: Some(item.key.clone()),
        call_uuid: Some(meta.call_id.clone()),
        peer: Some(k.platform.url.clone()),
        municipality: Some(meta.municipality.clone()),
        cpr: Some(meta.cpr.clone()),
    };
    match k
        .client
        .call(&k.platform.url, &op.soap_action(), item.payload.clone())
        .await
    {
        Err(e) => {
            let out = exchange.entry(
                k.now(),
                Direction::Out,
                Part::Request,
                Outcome::Unreachable,
                Some(format!("attempt {attempt}: {e}")),
                item.payload.clone(),
            );
            k.journal.record_all(vec![out]).await;
            Err(e.to_string())
        }
        Ok(reply) => {
            let outcome = reply.outcome();
            let out = exchange.entry(
                k.now(),
                Direction::Out,
                Part::Request,
                outcome.clone(),
                Some(format!("attempt {attempt}")),
                item.payload.clone(),
            );
            let back = exchange.entry(
                k.now(),
                Direction::In,
                Part::Response,
                outcome.clone(),
                None,
                reply.body.clone(),
            );
            k.journal.record_all(vec![out, back]).await;
            // The outcome is the TransportKvittering's code whenever there is one.
            if outcome.is_accepting() {
                Ok(())
            } else {
                Err(format!("the platform answered {outcome}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::examples;

    fn update() -> OpdateringFravaer {
        match examples::payload(sim_wire::PayloadKind::OpdateringFravaer) {
            Payload::OpdateringFravaer(u) => u,
            _ => unreachable!("the example of this kind is an OpdateringFravaer"),
        }
    }

    /// KSD-2: same TransaktionIdentifikator, KSD's fields, no FejlListe; and the receipt
    /// passes sim-wire's own rules for what KSD sends.
    #[test]
    fn receipt_keeps_the_transaction_and_fills_ksd_fields_rule_ksd2() {
        let u = update();
        let sag: Uuid = "11111111-2222-4333-8444-555555555555".parse().unwrap();
        let ksd: Uuid = "66666666-7777-4888-9999-aaaaaaaaaaaa".parse().unwrap();
        let r = forretnings_svar(
            &u,
            u.header.myndighed,
            sag,
            ksd,
            time::macros::datetime!(2026-11-23 10:00 UTC),
            &Verdict::Accepteret,
        );
        let Payload::ForretningsSvar(f) = &r.payload else {
            panic!("a ForretningsSvar")
        };
        assert_eq!(
            f.header.transaktion_identifikator,
            u.header.transaktion_identifikator
        );
        assert_eq!(f.header.sag_identifikator, Some(sag));
        assert_eq!(f.header.registrering_it_system, ksd);
        assert!(f.header.registrering_bruger.is_none() && f.header.udgiver_type_kode.is_none());
        assert_eq!(f.kvittering.kode, ForretningsValideringsKode::Accepteret);
        let message = sim_wire::Message::Request(r.clone());
        assert!(sim_wire::validate(&message).is_empty());
        let back = sim_wire::read(sim_wire::write_request(&r).as_bytes(), None).unwrap();
        assert!(back.is_valid(), "{:?}", back.problems);
    }

    #[test]
    fn ending_before_the_absence_began_is_afvist() {
        let mut u = update();
        assert_eq!(crate::cases::verdict(&u), Verdict::Accepteret);
        u.ophoers_start_dato = "2026-10-01".parse().unwrap();
        assert!(matches!(crate::cases::verdict(&u), Verdict::Afvist(_)));
    }
}
