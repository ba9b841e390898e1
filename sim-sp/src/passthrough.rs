//! The one way the platform carries a call (SP-1, SP-13): forward it synchronously to its
//! receiver with KOMBIT's certificate (SP-7), under the receiver's operation element, and answer
//! the caller with the receiver's answer unchanged but for that element's name — or, when the
//! receiver cannot be reached or answers no SOAP message, with a fault naming SP-4. Nothing is
//! persisted on the way but the journal: the caller owns redelivery (the jobcenter's resender,
//! JC-1; KSD's outbox, KSD-2).
//!
//! Both exposures use it: the KSD exposure towards KSD, the JC exposure towards the jobcenter
//! solution routed for the security context's municipality.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sim_kit::soap::{ok_response, SoapCall, SoapReply, CONTENT_TYPE};
use sim_store::{Direction, Exchange, JournalEntry, Label, Outcome, Part};
use sim_wire::{Rule, TransportValideringsKode};

use crate::forward::rename_element;
use crate::state::{Admitted, Platform};

/// Where an admitted call goes.
pub struct Receiver {
    /// Its name in texts and in the journal's `peer`: `KSD`'s URL, or the vendor instance.
    pub peer: String,
    /// What faults call it ("KSD", "the jobcenter solution 'kmd-jc'").
    pub name: String,
    /// Its receiver port.
    pub url: String,
    /// Whether it is a jobcenter solution: its answers are graded (JC-2, KSD-2) in the
    /// journal, and injected duplicate deliveries apply (the platform's at-least-once fault).
    pub jobcenter: bool,
}

/// Forwards the admitted call to `to` and answers the caller (SP-1, SP-13). `note` goes into
/// the detail of the received request's row (e.g. a KSD-8 mismatch routed by the context).
pub async fn forward(
    p: &Platform,
    call: &SoapCall,
    a: &Admitted,
    to: Receiver,
    note: Option<String>,
) -> Response {
    // Accepted: journal the request before anything else is done with it.
    let inbound = p.received(call, &a.exchange, Outcome::Received, note);
    p.journal.record_all(vec![inbound]).await;

    let target =
        a.op.forwarded_to()
            .expect("exposed operations are forwarded");
    let leg = Exchange {
        label: Label::request(target),
        peer: Some(to.peer.clone()),
        ..a.exchange.clone()
    };
    let forwarded = rename_element(
        &call.text(),
        &a.op.request_element(),
        &target.request_element(),
    );
    // The request's row is dated when it was sent, the answer's when it came: the receiver's
    // response time is in the journal (graded against SP-8 for an outside system).
    let sent_at = p.clock.now();
    let reply = match p
        .client
        .call(&to.url, &target.soap_action(), forwarded.clone())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let out = leg.entry(
                sent_at,
                Direction::Out,
                Part::Request,
                Outcome::Unreachable,
                Some(e.to_string()),
                forwarded,
            );
            p.journal.record_all(vec![out]).await;
            let text = format!(
                "The receiver {} at {} could not be reached: {e}",
                to.name, to.url
            );
            return p
                .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
                .await;
        }
    };
    let outcome = reply.outcome();
    let detail = if to.jobcenter {
        breach(&outcome, a.op)
    } else {
        None
    };
    let out = leg.entry(
        sent_at,
        Direction::Out,
        Part::Request,
        outcome.clone(),
        detail,
        forwarded.clone(),
    );
    let back = leg.entry(
        p.clock.now(),
        Direction::In,
        Part::Response,
        outcome,
        None,
        reply.body.clone(),
    );
    if reply.transport_kvittering().is_none()
        && reply.fault().is_none()
        && reply.decoded.as_ref().map_or(true, |d| d.message.is_none())
    {
        p.journal.record_all(vec![out, back]).await;
        let text = format!(
            "The receiver {} answered HTTP {} with no readable SOAP message.",
            to.name, reply.status
        );
        return p
            .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
            .await;
    }
    let answered = answer(p, a, &reply, vec![out, back]).await;
    let accepted = matches!(
        reply.transport_kvittering().map(|k| k.kode),
        Some(TransportValideringsKode::Ok | TransportValideringsKode::Advarsel)
    );
    if to.jobcenter && accepted {
        if let Some(tid) = a.tid.map(|t| t.to_string()) {
            // Injected duplicate (at-least-once delivery): the receiver must absorb it. Sent
            // beside the answer, so the caller does not wait for two round trips.
            if p.faults.duplicate_delivery("sp", &tid) {
                let again = Redelivery {
                    client: p.client.clone(),
                    journal: p.journal.clone(),
                    clock: p.clock.clone(),
                    leg,
                    url: to.url.clone(),
                    soap_action: target.soap_action(),
                };
                tokio::spawn(again.send(forwarded));
            }
        }
    }
    answered
}

/// SP-1: the receiver's answer goes back unchanged but for the operation element's name, with
/// the receiver's HTTP status; journaled in one commit with `legs`, the forwarding's rows.
async fn answer(
    p: &Platform,
    a: &Admitted,
    reply: &SoapReply,
    mut legs: Vec<JournalEntry>,
) -> Response {
    let target =
        a.op.forwarded_to()
            .expect("exposed operations are forwarded");
    let answer = rename_element(
        &reply.body,
        &target.response_element(),
        &a.op.response_element(),
    );
    let to_caller = a.exchange.entry(
        p.clock.now(),
        Direction::Out,
        Part::Response,
        reply.outcome(),
        None,
        answer.clone(),
    );
    legs.push(to_caller);
    p.journal.record_all(legs).await;
    if reply.status == 200 {
        return ok_response(answer);
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = (status, answer).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// A call sent once more after it was accepted (a duplicate the scenario injected); how that
/// went is journaled, and changes nothing for the caller (whose answer is the first one's).
struct Redelivery {
    client: sim_kit::soap::SoapClient,
    journal: sim_store::Journal,
    clock: sim_store::Clock,
    leg: Exchange,
    url: String,
    soap_action: String,
}

impl Redelivery {
    async fn send(self, payload: String) {
        let sent_at = self.clock.now();
        let again = self
            .client
            .call(&self.url, &self.soap_action, payload.clone())
            .await;
        let (outcome, detail) = match again {
            Ok(r) => (r.outcome(), "injected duplicate delivery".to_string()),
            Err(e) => (
                Outcome::Unreachable,
                format!("injected duplicate delivery: {e}"),
            ),
        };
        let dup = self.leg.entry(
            sent_at,
            Direction::Out,
            Part::Request,
            outcome,
            Some(detail),
            payload,
        );
        self.journal.record_all(vec![dup]).await;
    }
}

/// The rule a jobcenter solution's answer breaks, in words, so that no FEJL, HTTP error,
/// unreadable answer or fault from a receiver is journaled without naming it. The answer is
/// passed to KSD all the same: KSD decides what to resend (SP-13).
fn breach(outcome: &Outcome, op: sim_wire::Operation) -> Option<String> {
    let rule = sim_wire::flows::flow_of(op)
        .integration
        .refusal_rule()
        .map_or("KSD-2", |r| r.id());
    Some(match outcome {
        Outcome::Ok | Outcome::Advarsel => return None,
        Outcome::Fejl => format!(
            "{rule}: the receiver refused the message (FEJL); passed to KSD, which does not \
             send refused content again"
        ),
        Outcome::Fault(code) => {
            format!("JC-2: the receiver answered a SOAP fault ({code}), not a TransportKvittering")
        }
        Outcome::Http(status) => {
            format!("WIRE-2: the receiver answered HTTP {status} without a receipt")
        }
        Outcome::Unreadable(kind) => {
            format!("WIRE-2: the receiver's answer is not a SOAP receipt ({kind})")
        }
        other => format!("the receiver answered {other}"),
    })
}
