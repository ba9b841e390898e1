//! SF2095 on the platform: KSD's business receipt (`JC/SendForretningsSvar`, IF02) on its way
//! to the jobcenter solution (`JC/ModtagForretningsSvar`). The status update it answers (IF01)
//! is the KSD exposure's pass-through and needs nothing here.
//!
//! KSD gets a TransportKvittering once the message is in the outbox (at least once, survives
//! a crash); the delivery retries with backoff on transport errors and faults until the
//! receiver answers with a TransportKvittering. OK and ADVARSEL end the delivery; so does
//! FEJL ("fix and resend": identical bytes would be refused again), which is journaled for the
//! sender to see.

use axum::response::Response;
use serde::{Deserialize, Serialize};
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{
    Direction, Exchange, Journal, JournalEntry, Label, NewOutboxItem, Outbox, OutboxItem, Outcome,
    Part,
};
use sim_wire::{Fejl, Rule, TransportKvittering, TransportValideringsKode, Uuid};

use crate::forward::rename_element;
use crate::jc_port::Route;
use crate::state::{Admitted, Platform};

/// What the outbox row carries besides the payload. Stored: its JSON shape is read back after
/// a restart, by this version or the next.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    /// The receiver's operation label, e.g. `JC/ModtagForretningsSvar`.
    operation: String,
    /// Its SOAPAction.
    soap_action: String,
    /// The municipality of the security context.
    municipality: String,
    /// The CallUUID of KSD's call.
    call_uuid: String,
}

/// Accepts KSD's call routed to `route`: the TransportKvittering for KSD (ADVARSEL on a KSD-8
/// mismatch), and the journal rows and the outbox item committed together before KSD gets it.
pub async fn accept(p: &Platform, call: &SoapCall, a: &Admitted, route: Route) -> Response {
    let kvittering = receipt(a, &route);
    let answer = sim_wire::write_response(&sim_wire::Response {
        operation: a.op,
        body: sim_wire::ResponseBody::TransportKvittering(kvittering.clone()),
    });
    let detail = (!kvittering.fejl_liste.is_empty())
        .then(|| format!("{} mismatch; routed to {}", Rule::Ksd8, route.instance));
    let outcome = Outcome::from(kvittering.kode);
    let inbound = p.received(call, &a.exchange, outcome.clone(), detail);
    let outbound = a.exchange.entry(
        p.clock.now(),
        Direction::Out,
        Part::Response,
        outcome,
        None,
        answer.clone(),
    );
    let item = outbox_item(call, a, route);
    let now = p.clock.now();
    // Persisted (journal + outbox, one commit) before KSD gets its receipt.
    let stored =
        p.db.write(move |tx| {
            Journal::record_in(tx, &inbound)?;
            Outbox::enqueue_in(tx, &item, now)?;
            Journal::record_in(tx, &outbound)?;
            Ok(())
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "could not persist KSD's message");
        let text = format!("The platform could not store the message: {e}");
        return p
            .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
            .await;
    }
    p.outbox.notify();
    ok_response(answer)
}

/// The receipt KSD gets. KSD-8: the header's Myndighed must agree with the security context.
/// The message is routed by the context all the same (never to the header's municipality)
/// and the mismatch is reported back in the receipt (and in the journal).
fn receipt(a: &Admitted, route: &Route) -> TransportKvittering {
    let municipality = route.municipality;
    let mut fejl = Vec::new();
    if let Some(m) = a.decoded.myndighed.filter(|m| *m != municipality) {
        fejl.push(Fejl {
            fejl_kode: format!("{}.UOVERENSSTEMMELSE", Rule::Ksd8.id()),
            fejl_tekst: format!("Header Myndighed {m} differs from the security context's {municipality}; routed by the security context"),
        });
    }
    TransportKvittering {
        kode: if fejl.is_empty() {
            TransportValideringsKode::Ok
        } else {
            TransportValideringsKode::Advarsel
        },
        begrundelse: (!fejl.is_empty())
            .then(|| "Accepted and routed by the security context; see FejlListe".to_string()),
        fejl_liste: fejl,
    }
}

/// The delivery to queue: KSD's bytes under the receiver's operation element, keyed by the
/// TransaktionIdentifikator (what receivers deduplicate by).
fn outbox_item(call: &SoapCall, a: &Admitted, route: Route) -> NewOutboxItem {
    let target = a.op.forwarded_to().expect("KSD operations are forwarded");
    let meta = Meta {
        operation: target.label(),
        soap_action: target.soap_action(),
        municipality: route.municipality.to_string(),
        call_uuid: a.call_uuid.to_string(),
    };
    NewOutboxItem {
        target: route.instance,
        key: a.tid.map(|t| t.to_string()).unwrap_or_default(),
        payload: rename_element(
            &call.text(),
            &a.op.request_element(),
            &target.request_element(),
        ),
        meta: serde_json::to_string(&meta).expect("meta serialises"),
    }
}

/// One delivery attempt of `item` to its instance. `Ok` ends the delivery (the receiver
/// answered with a TransportKvittering); `Err` is retried.
pub async fn deliver(p: &Platform, item: OutboxItem) -> Result<(), String> {
    let meta: Meta =
        serde_json::from_str(&item.meta).map_err(|e| format!("bad outbox meta: {e}"))?;
    let call_uuid: Uuid = meta
        .call_uuid
        .parse()
        .map_err(|e| format!("bad call uuid: {e}"))?;
    let Some(endpoint) = p.instances.get(&item.target) else {
        return Err(format!("instance '{}' has no endpoint", item.target));
    };
    let Ok(label) = meta.operation.parse::<Label>();
    let exchange = Exchange {
        label,
        transaktion_id: item.key.parse::<Uuid>().ok().map(|t| t.to_string()),
        call_uuid: Some(call_uuid.to_string()),
        peer: Some(item.target.clone()),
        municipality: Some(meta.municipality.clone()),
        cpr: None,
    };
    let attempt = item.attempts + 1;
    // The request's row is dated when it was sent, the answer's when it came: the receiver's
    // response time is in the journal (graded against SP-8 for an outside system).
    let sent_at = p.clock.now();
    let sent = p
        .client
        .call(&endpoint.url, &meta.soap_action, item.payload.clone())
        .await;
    let reply = match sent {
        Ok(reply) => reply,
        Err(e) => {
            let detail = Some(format!("attempt {attempt}: {e}"));
            let out = sending(&exchange, &item, sent_at, Outcome::Unreachable, detail);
            p.journal.record_all(vec![out]).await;
            return Err(e.to_string());
        }
    };
    let outcome = reply.outcome();
    let detail = Some(match breach(&outcome) {
        Some(why) => format!("attempt {attempt}: {why}"),
        None => format!("attempt {attempt}"),
    });
    let out = sending(&exchange, &item, sent_at, outcome.clone(), detail);
    let back = exchange.entry(
        p.clock.now(),
        Direction::In,
        Part::Response,
        outcome.clone(),
        None,
        reply.body.clone(),
    );
    p.journal.record_all(vec![out, back]).await;
    match reply.transport_kvittering().map(|k| k.kode) {
        Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel) => {
            // Injected duplicate (at-least-once delivery): the receiver must absorb it.
            if p.faults.duplicate_delivery("sp", &item.key) {
                redeliver(p, &exchange, &item, &endpoint.url, &meta.soap_action).await;
            }
            Ok(())
        }
        // FEJL: the receiver read the message and refused its content; the same bytes can
        // never succeed, so the delivery ends here (journaled with its FejlListe).
        Some(TransportValideringsKode::Fejl) => {
            tracing::warn!(target = %item.target, key = %item.key, "receiver answered FEJL; not retried");
            Ok(())
        }
        None => Err(format!("{} answered {outcome}", item.target)),
    }
}

/// Sends `item` once more after it was delivered (a duplicate the scenario injected), and
/// journals how that went; it changes nothing about the delivery.
async fn redeliver(
    p: &Platform,
    exchange: &Exchange,
    item: &OutboxItem,
    url: &str,
    soap_action: &str,
) {
    let sent_at = p.clock.now();
    let again = p.client.call(url, soap_action, item.payload.clone()).await;
    let (outcome, detail) = match again {
        Ok(r) => (r.outcome(), "injected duplicate delivery".to_string()),
        Err(e) => (
            Outcome::Unreachable,
            format!("injected duplicate delivery: {e}"),
        ),
    };
    let dup = sending(exchange, item, sent_at, outcome, Some(detail));
    p.journal.record_all(vec![dup]).await;
}

/// The rule a receiver's answer breaks, in words, so that no FEJL, HTTP error, unreadable
/// answer or fault from a receiver is journaled without naming it.
fn breach(outcome: &Outcome) -> Option<String> {
    Some(match outcome {
        Outcome::Ok | Outcome::Advarsel => return None,
        Outcome::Fejl => "KSD-2: the receiver refused a valid business receipt (FEJL); \
                          refused content is not delivered again, so the receipt is lost"
            .to_string(),
        Outcome::Fault(code) => format!(
            "JC-2: the receiver answered a SOAP fault ({code}), not a TransportKvittering; retried"
        ),
        Outcome::Http(status) => {
            format!("WIRE-2: the receiver answered HTTP {status} without a receipt; retried")
        }
        Outcome::Unreadable(kind) => {
            format!("WIRE-2: the receiver's answer is not a SOAP receipt ({kind}); retried")
        }
        other => format!("the receiver answered {other}; retried"),
    })
}

/// The row of one call to the receiver carrying `item`, sent at `sent_at`.
fn sending(
    exchange: &Exchange,
    item: &OutboxItem,
    sent_at: time::OffsetDateTime,
    outcome: Outcome,
    detail: Option<String>,
) -> JournalEntry {
    exchange.entry(
        sent_at,
        Direction::Out,
        Part::Request,
        outcome,
        detail,
        item.payload.clone(),
    )
}
