//! What KSD sends — SF2095's business receipts, SF2090's case events, SF2093's extension
//! requests — all go the same way: written into the outbox in the transaction that decided
//! them, then delivered to the platform's JC exposure from there, at least once, across
//! restarts.
//!
//! The platform is a pass-through (SP-13): its answer is the jobcenter's own
//! TransportKvittering, or a fault of its own (SP-4 unreachable, SP-9 window). KSD owns the
//! redelivery: a fault, an HTTP error or no answer is retried with backoff; OK and ADVARSEL
//! end the delivery; so does FEJL — the jobcenter read the message and refused its content,
//! and the same bytes would be refused again — which is journaled naming the rule the
//! jobcenter broke, and handed to the message's integration ([`crate::flows::delivered`]).

use std::future::Future;
use std::sync::Arc;

use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use sim_store::{
    Backoff, Direction, Exchange, Label, NewOutboxItem, Outbox, OutboxItem, Outcome, Part,
};
use sim_wire::{Operation, Problem, Request, TransportValideringsKode};
use time::OffsetDateTime;

use crate::state::Ksd;

/// The outbox target of everything KSD sends: KSD has one peer.
pub const TARGET: &str = "platform";

/// How many deliveries run at once. The platform is a pass-through (SP-13), so each one lasts
/// a round trip to the jobcenter and back: 64 kept 190,000 of a month's 200,000 receipts in
/// time on two cores and left 10,000 queued at the end. 128 is the platform's default
/// in-flight limit per calling system (`max_in_flight_per_caller`): more would be shed.
const DELIVERY_CONCURRENCY: usize = 128;

/// KSD's redelivery: 100 ms doubling, at most two minutes, each wait jittered by up to half.
/// The platform is a pass-through (SP-13), so its service windows (up to 8 h, SP-9) and an
/// unreachable jobcenter are KSD's to wait out: at most 30 attempts an hour per message
/// (measured: with a 10 s ceiling a month's windows cost hundreds of thousands of refused
/// calls), and messages that failed together are not all retried at one instant.
const REDELIVERY: Backoff = Backoff {
    initial: std::time::Duration::from_millis(100),
    factor: 2.0,
    max: std::time::Duration::from_secs(120),
    jitter: 0.5,
};

/// What the outbox row carries besides the XML: enough to journal each attempt under the
/// originating call. Stored: read back after a restart, by this version or the next.
#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {
    /// The operation's journal label (`JC/SendHaendelse` ...). Rows written before there was
    /// more than one operation have none: they are business receipts.
    #[serde(default = "receipt_label")]
    pub operation: String,
    /// The security context's municipality (also the message's AuthorityContext).
    pub municipality: String,
    /// The citizen, for per-person journal queries.
    pub cpr: String,
    /// The call id of what caused the message (an update's call, or KSD's own event id).
    pub call_id: String,
}

fn receipt_label() -> String {
    Operation::SendForretningsSvarJc.label()
}

/// Puts `request` into the outbox within `tx`, due at `due`. A message that breaks the
/// contract's rules for what KSD sends is a bug of KSD's: logged, and still sent, so the
/// platform's checks and the journal show it.
pub fn enqueue_in(
    tx: &Transaction<'_>,
    request: &Request,
    meta: &Meta,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> rusqlite::Result<()> {
    let own = sim_wire::validate(&sim_wire::Message::Request(request.clone()));
    if own.iter().any(Problem::is_error) {
        tracing::error!(operation = %request.operation, ?own, "KSD's own message breaks the contract");
    }
    let key = request
        .payload
        .header()
        .map(|h| h.transaktion_identifikator.to_string())
        .unwrap_or_default();
    enqueue_raw_in(tx, key, sim_wire::write_request(request), meta, now, due)
}

/// Puts a message already written (`payload`, keyed by its TransaktionIdentifikator) into
/// the outbox within `tx`, due at `due`: a resend of the very same bytes.
pub fn enqueue_raw_in(
    tx: &Transaction<'_>,
    key: String,
    payload: String,
    meta: &Meta,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> rusqlite::Result<()> {
    let item = NewOutboxItem {
        target: TARGET.to_string(),
        key,
        payload,
        // A struct of strings always serialises.
        meta: serde_json::to_string(meta).unwrap_or_default(),
    };
    Outbox::enqueue_in_at(tx, &item, now, due)?;
    Ok(())
}

/// Delivers the outbox until `stop` completes.
pub async fn deliver_forever(k: Arc<Ksd>, stop: impl Future<Output = ()> + Send) {
    let outbox = k.outbox.clone();
    let deliver = move |item: OutboxItem| {
        let k = k.clone();
        async move { deliver(k, item).await }
    };
    outbox
        .run(REDELIVERY, DELIVERY_CONCURRENCY, deliver, stop)
        .await;
}

/// One delivery attempt; every attempt is journaled (request and answer, with its outcome).
async fn deliver(k: Arc<Ksd>, item: OutboxItem) -> Result<(), String> {
    let meta: Meta =
        serde_json::from_str(&item.meta).map_err(|e| format!("bad outbox meta: {e}"))?;
    let Some(op) = Operation::ALL
        .iter()
        .copied()
        .find(|o| o.label() == meta.operation)
    else {
        return Err(format!(
            "outbox item of unknown operation {}",
            meta.operation
        ));
    };
    let attempt = item.attempts.saturating_add(1);
    let exchange = Exchange {
        label: Label::request(op),
        transaktion_id: Some(item.key.clone()),
        call_uuid: Some(meta.call_id.clone()),
        peer: Some(k.platform.url.clone()),
        municipality: Some(meta.municipality.clone()),
        cpr: Some(meta.cpr.clone()),
    };
    let sent_at = k.now();
    let reply = match k
        .client
        .call(&k.platform.url, &op.soap_action(), item.payload.clone())
        .await
    {
        Err(e) => {
            let out = exchange.entry(
                sent_at,
                Direction::Out,
                Part::Request,
                Outcome::Unreachable,
                Some(format!("attempt {attempt}: {e}")),
                item.payload.clone(),
            );
            k.journal.record_all(vec![out]).await;
            return Err(e.to_string());
        }
        Ok(reply) => reply,
    };
    let outcome = reply.outcome();
    let kode = reply.transport_kvittering().map(|t| t.kode);
    let detail = match kode {
        Some(TransportValideringsKode::Fejl) => format!(
            "attempt {attempt}: {}: the jobcenter refused the message (FEJL); refused content is not sent again",
            sim_wire::flows::flow_of(op)
                .integration
                .refusal_rule()
                .map_or("KSD-2", |r| r.id())
        ),
        _ => format!("attempt {attempt}"),
    };
    let out = exchange.entry(
        sent_at,
        Direction::Out,
        Part::Request,
        outcome.clone(),
        Some(detail),
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
    let accepted = matches!(
        kode,
        Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel)
    );
    if accepted && k.faults.duplicate_delivery("ksd", &item.key) {
        // Injected duplicate (`duplicate_receipt` on KSD): the same document once more, as a
        // sender that lost the first answer would; the jobcenter must absorb it (KSD-7's
        // at-least-once, seen from the receiving side). Beside the delivery, not in its way.
        tokio::spawn(send_again(k.clone(), op, exchange, item.payload.clone()));
    }
    match kode {
        Some(kode) => {
            crate::flows::delivered(&k, op, &item.key, kode).await;
            Ok(())
        }
        None => Err(format!("the platform answered {outcome}")),
    }
}

/// Sends a delivered document once more (an injected duplicate), journaled like an attempt;
/// its answer changes nothing (the first one decided).
async fn send_again(k: Arc<Ksd>, op: Operation, exchange: Exchange, payload: String) {
    let sent_at = k.now();
    let reply = k
        .client
        .call(&k.platform.url, &op.soap_action(), payload.clone())
        .await;
    let detail = Some("injected duplicate delivery (duplicate_receipt)".to_string());
    let rows = match reply {
        Err(e) => vec![exchange.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            Outcome::Unreachable,
            Some(format!("injected duplicate delivery: {e}")),
            payload,
        )],
        Ok(r) => {
            let outcome = r.outcome();
            vec![
                exchange.entry(
                    sent_at,
                    Direction::Out,
                    Part::Request,
                    outcome.clone(),
                    detail,
                    payload,
                ),
                exchange.entry(
                    k.now(),
                    Direction::In,
                    Part::Response,
                    outcome,
                    None,
                    r.body,
                ),
            ]
        }
    };
    k.journal.record_all(rows).await;
}
