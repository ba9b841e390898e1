//! The KSD exposure (`/service/KSD/Sygefravaer/2`): jobcenters call, the platform checks who
//! and for which municipality, forwards to KSD with KOMBIT's certificate and passes KSD's
//! answer back unchanged (SP-1, SP-5, SP-6, SP-7).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sim_kit::soap::{ok_response, SoapCall, CONTENT_TYPE};
use sim_store::Direction;
use sim_wire::{Caller, Port, Rule};

use crate::forward::rename_element;
use crate::state::{peer_text, Admitted, Platform};

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
    p.refuse(
        &call,
        format!("POST {}", uri.path()),
        None,
        None,
        call_uuid,
        true,
        Rule::Sp4,
        text,
    )
    .await
}

/// Handles one jobcenter call.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let Admitted {
        call_uuid,
        tid,
        municipality,
        op,
        ..
    } = match p
        .admit(&call, Port::Ksd, Caller::Jobcenter, "jobcenters")
        .await
    {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let m_text = municipality.map(|m| m.to_string());
    let label = op.label();
    let Some(peer) = call.peer.clone() else {
        let text = "No client certificate identified the calling system.".to_string();
        return p
            .refuse(&call, label, tid, m_text, call_uuid, true, Rule::Sp5, text)
            .await;
    };
    let Some(municipality) = municipality else {
        let text = "Security model for the called operation was not provided: an AuthorityContext with the municipality's CVR is required.".to_string();
        return p
            .refuse(&call, label, tid, None, call_uuid, true, Rule::Sp5, text)
            .await;
    };
    if !p.knows_system(&peer) {
        let text = format!(
            "The calling system ({}) is not known to the platform: it has no service agreement.",
            peer_text(&peer)
        );
        return p
            .refuse(&call, label, tid, m_text, call_uuid, true, Rule::Sp5, text)
            .await;
    }
    if !p.has_agreement(&peer, &municipality) {
        let text = format!(
            "No service agreement allows system {} to call {} for municipality {municipality}.",
            peer_text(&peer),
            crate::SERVICE
        );
        return p
            .refuse(&call, label, tid, m_text, call_uuid, true, Rule::Sp5, text)
            .await;
    }

    // Accepted: journal the request before anything else is done with it.
    let target = op
        .forwarded_to()
        .expect("jobcenter operations are forwarded");
    let peer_s = peer_text(&peer);
    let inbound = p.entry(
        Direction::In,
        label.clone(),
        tid,
        call_uuid,
        Some(peer_s.clone()),
        m_text.clone(),
        "RECEIVED".into(),
        None,
        call.text(),
    );
    let inbound = Platform::arrived(&call, inbound);
    p.journal_all(vec![inbound]).await;

    let forwarded = rename_element(
        &call.text(),
        &op.request_element(),
        &target.request_element(),
    );
    let reply = p
        .client
        .call(&p.ksd.url, &target.soap_action(), forwarded.clone())
        .await;
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            let out = p.entry(
                Direction::Out,
                target.label(),
                tid,
                call_uuid,
                Some(p.ksd.url.clone()),
                m_text.clone(),
                "UNREACHABLE".into(),
                Some(e.to_string()),
                forwarded,
            );
            p.journal_all(vec![out]).await;
            let text = format!(
                "The receiver KSD at {} could not be reached: {e}",
                p.ksd.url
            );
            return p
                .refuse(&call, label, tid, m_text, call_uuid, false, Rule::Sp4, text)
                .await;
        }
    };
    let outcome = reply.outcome();
    let out = p.entry(
        Direction::Out,
        target.label(),
        tid,
        call_uuid,
        Some(p.ksd.url.clone()),
        m_text.clone(),
        outcome.clone(),
        None,
        forwarded,
    );
    let back = p.entry(
        Direction::In,
        format!("{}#response", target.label()),
        tid,
        call_uuid,
        Some(p.ksd.url.clone()),
        m_text.clone(),
        outcome.clone(),
        None,
        reply.body.clone(),
    );
    if reply.transport_kvittering().is_none()
        && reply.fault().is_none()
        && reply.decoded.as_ref().map_or(true, |d| d.message.is_none())
    {
        p.journal_all(vec![out, back]).await;
        let text = format!(
            "The receiver KSD answered HTTP {} with no readable SOAP message.",
            reply.status
        );
        return p
            .refuse(&call, label, tid, m_text, call_uuid, false, Rule::Sp4, text)
            .await;
    }
    // SP-1: KSD's answer goes back unchanged, only the operation element is renamed.
    let answer = rename_element(
        &reply.body,
        &target.response_element(),
        &op.response_element(),
    );
    let to_caller = p.entry(
        Direction::Out,
        format!("{label}#response"),
        tid,
        call_uuid,
        Some(peer_s),
        m_text,
        outcome,
        None,
        answer.clone(),
    );
    p.journal_all(vec![out, back, to_caller]).await;
    if reply.status == 200 {
        ok_response(answer)
    } else {
        let mut r = (
            axum::http::StatusCode::from_u16(reply.status)
                .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
            answer,
        )
            .into_response();
        r.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(CONTENT_TYPE),
        );
        r
    }
}
