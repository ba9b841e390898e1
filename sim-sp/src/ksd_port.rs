//! The KSD exposure (`/service/KSD/Sygefravaer/2`): jobcenters call, the platform checks who
//! and for which municipality, forwards to KSD with KOMBIT's certificate and passes KSD's
//! answer back unchanged (SP-1, SP-5, SP-6, SP-7).
//!
//! Every leg a jobcenter calls is carried the same way — SF2095's status update, SF2090's and
//! SF2093's answers, SF2096's look-ups — so nothing here depends on the integration.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sim_kit::soap::{ok_response, SoapCall, SoapReply, CONTENT_TYPE};
use sim_store::{Direction, Exchange, JournalEntry, Label, Outcome, Part};
use sim_wire::{Caller, Port, Rule};

use crate::forward::rename_element;
use crate::state::{caller_side, peer_text, Admitted, Platform};

/// Anything posted to a path the platform does not expose (SP-4: nothing is dropped silently).
pub async fn no_such_endpoint(
    State(p): State<Arc<Platform>>,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let call_uuid = p.ids.next_uuid();
    let text = format!(
        "No service is exposed at {}; the platform exposes {} and {}.",
        uri.path(),
        Port::Ksd.platform_path(),
        Port::Jc.platform_path()
    );
    // No operation was called: the row names what was posted where.
    let label = Label::endpoint(uri.path());
    let exchange = caller_side(&call, label, None, None, call_uuid);
    p.refuse(&call, &exchange, call_uuid, true, Rule::Sp4, text)
        .await
}

/// Handles one jobcenter call: admission, the calling system's authorization (SP-5), then the
/// pass-through to KSD.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let admitted = match p
        .admit(&call, Port::Ksd, Caller::Jobcenter, "jobcenters")
        .await
    {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    if let Err(refused) = authorize(&p, &call, &admitted).await {
        return refused;
    }
    pass_through(&p, &call, &admitted).await
}

/// SP-5: a client certificate, an AuthorityContext naming the municipality, a system the
/// platform knows, and a service agreement for that system and municipality.
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
    if !p.has_agreement(peer, &municipality) {
        let text = format!(
            "No service agreement allows system {} to call {} for municipality {municipality}.",
            peer_text(peer),
            crate::SERVICE
        );
        return Err(refuse(text).await);
    }
    Ok(())
}

/// Forwards an accepted call to KSD's receiver operation (SP-7) and answers the caller with
/// KSD's answer (SP-1); an unreachable KSD, or an answer that is no SOAP message, is refused
/// with SP-4 (worth resending).
async fn pass_through(p: &Platform, call: &SoapCall, a: &Admitted) -> Response {
    // Accepted: journal the request before anything else is done with it.
    let inbound = p.received(call, &a.exchange, Outcome::Received, None);
    p.journal.record_all(vec![inbound]).await;

    let target =
        a.op.forwarded_to()
            .expect("jobcenter operations are forwarded");
    let ksd = Exchange {
        label: Label::request(target),
        peer: Some(p.ksd.url.clone()),
        ..a.exchange.clone()
    };
    let forwarded = rename_element(
        &call.text(),
        &a.op.request_element(),
        &target.request_element(),
    );
    // The request's row is dated when it was sent, the answer's when it came: the receiver's
    // response time is in the journal (graded against SP-8 for an outside KSD).
    let sent_at = p.clock.now();
    let reply = match p
        .client
        .call(&p.ksd.url, &target.soap_action(), forwarded.clone())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let out = ksd.entry(
                sent_at,
                Direction::Out,
                Part::Request,
                Outcome::Unreachable,
                Some(e.to_string()),
                forwarded,
            );
            p.journal.record_all(vec![out]).await;
            let text = format!(
                "The receiver KSD at {} could not be reached: {e}",
                p.ksd.url
            );
            return p
                .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
                .await;
        }
    };
    let outcome = reply.outcome();
    let out = ksd.entry(
        sent_at,
        Direction::Out,
        Part::Request,
        outcome.clone(),
        None,
        forwarded,
    );
    let back = ksd.entry(
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
            "The receiver KSD answered HTTP {} with no readable SOAP message.",
            reply.status
        );
        return p
            .refuse(call, &a.exchange, a.call_uuid, false, Rule::Sp4, text)
            .await;
    }
    answer(p, a, &reply, vec![out, back]).await
}

/// SP-1: KSD's answer goes back unchanged but for the operation element's name, with KSD's
/// HTTP status; journaled in one commit with `legs`, the forwarding's rows.
async fn answer(
    p: &Platform,
    a: &Admitted,
    reply: &SoapReply,
    mut legs: Vec<JournalEntry>,
) -> Response {
    let target =
        a.op.forwarded_to()
            .expect("jobcenter operations are forwarded");
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
