//! The KY exposure (`/service/KY/Kontanthjaelp/2`, SF1690): jobcenters call it with their own
//! certificate (SP-6); the platform checks who and for which municipality — a service agreement
//! for `KontanthjaelpServiceKY` (SP-5), the same agreements table and routing rules as every
//! integration (SP-3) — and passes the call through to KY with KOMBIT's certificate (SP-7,
//! SP-13): the jobcenter gets KY's own receipt, or a fault naming SP-4 when KY cannot be
//! reached or answers no SOAP message. Nothing is stored on the way but the journal; the
//! jobcenter owns redelivery.
//!
//! The steps, each naming its rule:
//! 1. shed when overloaded (SP-4), read with `sim_wire::ky` (WIRE-1), a request of one of the
//!    eight operations whose SOAPAction names it (WIRE-1);
//! 2. a client certificate, an AuthorityContext, a known system, an agreement (SP-5);
//! 3. the pass-through (SP-13), under the same operation name.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sim_kit::soap::{ok_response, SoapCall, CONTENT_TYPE};
use sim_store::{Direction, Exchange, Label, Outcome, Part};
use sim_wire::ky::{self, KyDecoded, KyOperation};
use sim_wire::{Cvr, MessageKind, Rule, Uuid, WireError};

use crate::state::{caller_side, peer_text, Platform};

/// A KY call admitted for authorization and forwarding.
struct Admitted {
    call_uuid: Uuid,
    op: KyOperation,
    municipality: Option<Cvr>,
    exchange: Exchange,
}

/// Handles one jobcenter call to the KY exposure.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let a = match admit(&p, &call).await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    if let Err(refused) = authorize(&p, &call, &a).await {
        return refused;
    }
    pass_through(&p, &call, &a).await
}

/// Step 1: a CallUUID, the message read, the operation one of KY's requests (WIRE-1).
async fn admit(p: &Platform, call: &SoapCall) -> Result<Admitted, Response> {
    let call_uuid = p.ids.next_uuid();
    let unknown = |tid, m| caller_side(call, Label::ky_unknown(), tid, m, call_uuid);
    if let Some(why) = &call.shed {
        let text = format!(
            "The platform is overloaded: {why}. The call was not processed; send it again."
        );
        let x = unknown(None, None);
        return Err(p.refuse(call, &x, call_uuid, false, Rule::Sp4, text).await);
    }
    let read = match &call.unreadable {
        Some(why) => Err(WireError::UnreadableBody {
            detail: why.clone(),
        }),
        None => ky::read(&call.body, call.soap_action.as_deref()),
    };
    let d: KyDecoded = match read {
        Ok(d) => d,
        Err(e) => {
            let text = format!("The request is not a usable KontanthjaelpServiceKY message: {e}");
            let x = unknown(None, None);
            return Err(p.refuse(call, &x, call_uuid, true, e.rule(), text).await);
        }
    };
    let municipality = d.authority_context.as_ref().map(|a| a.municipality_cvr);
    let side = |label| {
        let mut x = caller_side(call, label, d.transaktion_id, municipality, call_uuid);
        x.cpr = d.person_cpr.map(|c| c.to_string());
        x
    };
    let Some(op) = d.operation.filter(|_| d.kind == MessageKind::Request) else {
        let text = format!(
            "Only the eight KontanthjaelpServiceKY requests may be called at {}; this is a {:?}.",
            ky::PLATFORM_PATH,
            d.kind
        );
        let x = side(Label::ky_unknown());
        return Err(p.refuse(call, &x, call_uuid, true, Rule::Wire1, text).await);
    };
    let exchange = side(Label::ky(op, Part::Request));
    // WIRE-1 before anything is forwarded: the SOAPAction must name the Body's operation
    // (the platform forwards with it). Business content is KY's to judge.
    if let Some(pr) = d
        .problems
        .iter()
        .find(|pr| pr.is_error() && pr.rule == Rule::Wire1 && pr.path == "SOAPAction")
    {
        let text = format!("{}: {}", pr.path, pr.text);
        return Err(p
            .refuse(call, &exchange, call_uuid, true, Rule::Wire1, text)
            .await);
    }
    Ok(Admitted {
        call_uuid,
        op,
        municipality,
        exchange,
    })
}

/// Step 2, SP-5: a client certificate, an AuthorityContext naming the municipality, a system
/// the platform knows, and an agreement for KontanthjaelpServiceKY in that municipality.
async fn authorize(p: &Platform, call: &SoapCall, a: &Admitted) -> Result<(), Response> {
    let refuse = |text: String| p.refuse(call, &a.exchange, a.call_uuid, true, Rule::Sp5, text);
    let Some(peer) = call.peer.as_ref() else {
        let text = "No client certificate identified the calling system.".to_string();
        return Err(refuse(text).await);
    };
    let Some(municipality) = a.municipality else {
        let text = "Security model for the called operation was not provided: an AuthorityContext with the municipality's CVR is required.".to_string();
        return Err(refuse(text).await);
    };
    if !p.knows_system(peer) {
        let text = format!(
            "The calling system ({}) is not known to the platform: it has no service agreement.",
            peer_text(peer)
        );
        return Err(refuse(text).await);
    }
    if !p.has_agreement_for(peer, &municipality, ky::SERVICE) {
        let text = format!(
            "No service agreement allows system {} to call {} for municipality {municipality}.",
            peer_text(peer),
            ky::SERVICE
        );
        return Err(refuse(text).await);
    }
    Ok(())
}

/// What a KY answer is for the journal: its receipt's code, a fault's rule, or what else.
fn outcome(status: u16, body: &str) -> (Outcome, bool) {
    match ky::read(body.as_bytes(), None) {
        Ok(d) => match (&d.message, d.kind) {
            (Some(ky::KyMessage::Response(r)), _) => ((&r.kvittering).into(), true),
            (Some(ky::KyMessage::Fault(f)), _) => (
                f.rule()
                    .map_or_else(|| Outcome::Fault(f.fault_code.clone()), Outcome::fault),
                true,
            ),
            _ => (Outcome::Http(status), false),
        },
        Err(e) => (Outcome::Unreadable(e.kind().to_string()), false),
    }
}

/// Step 3, SP-13: forwarded to KY's port under the same operation with KOMBIT's certificate
/// (SP-7); KY's answer goes back unchanged, with KY's HTTP status.
async fn pass_through(p: &Platform, call: &SoapCall, a: &Admitted) -> Response {
    let inbound = p.received(call, &a.exchange, Outcome::Received, None);
    p.journal.record_all(vec![inbound]).await;
    let Some(ky_port) = p.ky.as_ref() else {
        let text = "The platform has no route to KY (Kommunernes Ydelsessystem).".to_string();
        return p
            .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
            .await;
    };
    let leg = Exchange {
        peer: Some(ky_port.url.clone()),
        ..a.exchange.clone()
    };
    let sent_at = p.clock.now();
    let raw = call.text();
    let reply = match p
        .client
        .call(&ky_port.url, &a.op.soap_action(), raw.clone())
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
                raw,
            );
            p.journal.record_all(vec![out]).await;
            let text = format!("KY at {} could not be reached: {e}", ky_port.url);
            return p
                .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
                .await;
        }
    };
    let (outcome, readable) = outcome(reply.status, &reply.body);
    let out = leg.entry(
        sent_at,
        Direction::Out,
        Part::Request,
        outcome.clone(),
        None,
        raw,
    );
    let back = leg.entry(
        p.clock.now(),
        Direction::In,
        Part::Response,
        outcome.clone(),
        None,
        reply.body.clone(),
    );
    if !readable {
        p.journal.record_all(vec![out, back]).await;
        let text = format!(
            "KY answered HTTP {} with no readable KontanthjaelpServiceKY receipt.",
            reply.status
        );
        return p
            .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
            .await;
    }
    let to_caller = a.exchange.entry(
        p.clock.now(),
        Direction::Out,
        Part::Response,
        outcome,
        None,
        reply.body.clone(),
    );
    p.journal.record_all(vec![out, back, to_caller]).await;
    if reply.status == 200 {
        return ok_response(reply.body);
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = (status, reply.body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::ky::examples;

    // How the platform journals KY's answer: the receipt's code, a fault's rule; anything
    // else is no KY receipt, and the caller then gets SP-4 (rule SP-13: never a bare status).
    #[test]
    fn ky_answers_become_journal_outcomes() {
        let ok = ky::write_response(&examples::response_ok(KyOperation::Fravaer));
        assert_eq!(outcome(200, &ok), (Outcome::Ok, true));
        let fejl = ky::write_response(&examples::response_fejl());
        assert_eq!(outcome(200, &fejl), (Outcome::Fejl, true));
        let fault = sim_wire::SoapFault::serviceplatform(
            false,
            Rule::Ky1,
            "store failed",
            "9d3c5e7a-1b2f-4c6d-8e0a-000000000001".parse().unwrap(),
            "2026-11-23T10:02:11+01:00".parse().unwrap(),
        );
        let f = sim_wire::write_fault(&fault);
        assert_eq!(outcome(500, &f), (Outcome::fault(Rule::Ky1), true));
        assert_eq!(
            outcome(502, "<html/>"),
            (Outcome::Unreadable("not-envelope".into()), false)
        );
        let request = ky::write_request(&examples::request(KyOperation::Fravaer));
        assert_eq!(outcome(200, &request), (Outcome::Http(200), false));
    }
}
