//! The JC exposure (`/service/JC/Sygefravaer/2`): KSD calls, the platform routes by the
//! municipality of the *security context* (SP-2, KSD-8), persists the message in the outbox
//! before answering (at least once, survives a crash) and delivers it to the jobcenter
//! solution with KOMBIT's certificate (SP-7), retrying with backoff on transport errors and
//! faults until the receiver answers with a TransportKvittering. OK and ADVARSEL end the
//! delivery; so does FEJL ("fix and resend": identical bytes would be refused again), which is
//! journaled for the sender to see.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sim_kit::soap::{ok_response, SoapCall};
use sim_store::{Backoff, Direction, Journal, NewOutboxItem, Outbox, OutboxItem};
use sim_wire::{Caller, Fejl, Port, Rule, TransportKvittering, TransportValideringsKode};

use crate::forward::rename_element;
use crate::state::{peer_text, Admitted, Platform};

/// How many deliveries run at once.
const DELIVERY_CONCURRENCY: usize = 64;

/// What the outbox row carries besides the payload.
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

/// Handles one KSD call.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let Admitted {
        call_uuid,
        tid,
        municipality: context,
        op,
        decoded,
    } = match p.admit(&call, Port::Jc, Caller::Ksd, "KSD").await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let m_text = context.map(|m| m.to_string());
    let label = op.label();
    let Some(peer) = call.peer.clone().filter(|id| p.ksd_system.matches(id)) else {
        let who = call
            .peer
            .as_ref()
            .map_or_else(|| "an unidentified caller".into(), peer_text);
        let text = format!(
            "{who} may not call {}: only KSD has a service agreement for it.",
            Port::Jc.platform_path()
        );
        return p
            .refuse(&call, label, tid, m_text, call_uuid, true, Rule::Sp5, text)
            .await;
    };
    let Some(municipality) = context else {
        let text = "Security model for the called operation was not provided: KSD's call needs an AuthorityContext naming the municipality to route to.".to_string();
        return p
            .refuse(&call, label, tid, None, call_uuid, true, Rule::Sp2, text)
            .await;
    };
    let Some(instance) = p.route(&municipality) else {
        let text =
            format!("No jobcenter solution is registered for municipality CVR {municipality}.");
        return p
            .refuse(&call, label, tid, m_text, call_uuid, true, Rule::Sp4, text)
            .await;
    };
    if !p.instances.contains_key(&instance) {
        let text = format!(
            "Municipality {municipality} is routed to '{instance}', which has no endpoint."
        );
        return p
            .refuse(&call, label, tid, m_text, call_uuid, false, Rule::Sp4, text)
            .await;
    }

    // KSD-8: the header's Myndighed must agree with the security context. The message is
    // routed by the context all the same (never to the header's municipality) and the
    // mismatch is reported back in the receipt and in the journal.
    let mut fejl = Vec::new();
    if let Some(m) = decoded.myndighed.filter(|m| *m != municipality) {
        fejl.push(Fejl {
            fejl_kode: format!("{}.UOVERENSSTEMMELSE", Rule::Ksd8.id()),
            fejl_tekst: format!("Header Myndighed {m} differs from the security context's {municipality}; routed by the security context"),
        });
    }
    let target = op.forwarded_to().expect("KSD operations are forwarded");
    let payload = rename_element(
        &call.text(),
        &op.request_element(),
        &target.request_element(),
    );
    let meta = Meta {
        operation: target.label(),
        soap_action: target.soap_action(),
        municipality: municipality.to_string(),
        call_uuid: call_uuid.to_string(),
    };
    let kvittering = TransportKvittering {
        kode: if fejl.is_empty() {
            TransportValideringsKode::Ok
        } else {
            TransportValideringsKode::Advarsel
        },
        begrundelse: (!fejl.is_empty())
            .then(|| "Accepted and routed by the security context; see FejlListe".to_string()),
        fejl_liste: fejl,
    };
    let answer = sim_wire::write_response(&sim_wire::Response {
        operation: op,
        body: sim_wire::ResponseBody::TransportKvittering(kvittering.clone()),
    });
    let detail = (!kvittering.fejl_liste.is_empty())
        .then(|| format!("{} mismatch; routed to {instance}", Rule::Ksd8));
    let inbound = p.entry(
        Direction::In,
        label.clone(),
        tid,
        call_uuid,
        Some(peer_text(&peer)),
        m_text.clone(),
        kvittering.kode.to_string(),
        detail,
        call.text(),
    );
    let inbound = Platform::arrived(&call, inbound);
    let outbound = p.entry(
        Direction::Out,
        format!("{label}#response"),
        tid,
        call_uuid,
        Some(peer_text(&peer)),
        m_text,
        kvittering.kode.to_string(),
        None,
        answer.clone(),
    );
    let item = NewOutboxItem {
        target: instance,
        key: tid.map(|t| t.to_string()).unwrap_or_default(),
        payload,
        meta: serde_json::to_string(&meta).expect("meta serialises"),
    };
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
            .refuse(
                &call,
                label,
                tid,
                Some(municipality.to_string()),
                call_uuid,
                false,
                Rule::Sp4,
                text,
            )
            .await;
    }
    p.outbox.notify();
    ok_response(answer)
}

/// Delivers outbox items until `stop` completes.
pub async fn deliver_forever(p: Arc<Platform>, stop: impl Future<Output = ()> + Send) {
    let outbox = p.outbox.clone();
    let deliver = move |item: OutboxItem| {
        let p = p.clone();
        async move { deliver(p, item).await }
    };
    outbox
        .run(Backoff::default(), DELIVERY_CONCURRENCY, deliver, stop)
        .await;
}

async fn deliver(p: Arc<Platform>, item: OutboxItem) -> Result<(), String> {
    let meta: Meta =
        serde_json::from_str(&item.meta).map_err(|e| format!("bad outbox meta: {e}"))?;
    let call_uuid: sim_wire::Uuid = meta
        .call_uuid
        .parse()
        .map_err(|e| format!("bad call uuid: {e}"))?;
    let tid = item.key.parse().ok();
    let Some(endpoint) = p.instances.get(&item.target) else {
        return Err(format!("instance '{}' has no endpoint", item.target));
    };
    let detail = Some(format!("attempt {}", item.attempts + 1));
    let m = Some(meta.municipality.clone());
    match p
        .client
        .call(&endpoint.url, &meta.soap_action, item.payload.clone())
        .await
    {
        Err(e) => {
            let out = p.entry(
                Direction::Out,
                meta.operation.clone(),
                tid,
                call_uuid,
                Some(item.target.clone()),
                m,
                "UNREACHABLE".into(),
                Some(format!("attempt {}: {e}", item.attempts + 1)),
                item.payload.clone(),
            );
            p.journal_all(vec![out]).await;
            Err(e.to_string())
        }
        Ok(reply) => {
            let outcome = reply.outcome();
            let out = p.entry(
                Direction::Out,
                meta.operation.clone(),
                tid,
                call_uuid,
                Some(item.target.clone()),
                m.clone(),
                outcome.clone(),
                detail,
                item.payload.clone(),
            );
            let back = p.entry(
                Direction::In,
                format!("{}#response", meta.operation),
                tid,
                call_uuid,
                Some(item.target.clone()),
                m,
                outcome.clone(),
                None,
                reply.body.clone(),
            );
            p.journal_all(vec![out, back]).await;
            match reply.transport_kvittering().map(|k| k.kode) {
                Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel) => {
                    // Injected duplicate (at-least-once delivery): the receiver must absorb it.
                    if p.faults.duplicate_delivery("sp", &item.key) {
                        let again = p
                            .client
                            .call(&endpoint.url, &meta.soap_action, item.payload.clone())
                            .await;
                        let outcome = again
                            .as_ref()
                            .map_or_else(|e| format!("UNREACHABLE: {e}"), |r| r.outcome());
                        let dup = p.entry(
                            Direction::Out,
                            meta.operation.clone(),
                            tid,
                            call_uuid,
                            Some(item.target.clone()),
                            Some(meta.municipality.clone()),
                            outcome,
                            Some("injected duplicate delivery".into()),
                            item.payload.clone(),
                        );
                        p.journal_all(vec![dup]).await;
                    }
                    Ok(())
                }
                // FEJL: the receiver read the message and refused its content; the same bytes
                // can never succeed, so the delivery ends here (journaled with its FejlListe).
                Some(TransportValideringsKode::Fejl) => {
                    tracing::warn!(target = %item.target, key = %item.key, "receiver answered FEJL; not retried");
                    Ok(())
                }
                None => Err(format!("{} answered {outcome}", item.target)),
            }
        }
    }
}
