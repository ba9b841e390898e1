//! KSD's receiver port ([`crate::KSD_PATH`]): reads the call, checks that the platform made it
//! (SP-7) and dispatches on the operation (the Body element's QName, checked against the
//! SOAPAction by `sim-wire`). Every refusal is a fault naming its rule, and journaled.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use sim_kit::config::peer_text;
use sim_kit::soap::SoapCall;
use sim_wire::{MessageKind, Operation, Port, Rule};

use crate::state::{Ksd, Seen};

/// Anything posted to a path KSD does not serve: refused, not dropped.
pub async fn no_such_endpoint(
    State(k): State<Arc<Ksd>>,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let seen = Seen {
        call_id: k.call_ids.next_uuid(),
        operation: format!("POST {}", uri.path()),
        transaktion_id: None,
        municipality: None,
        cpr: None,
        peer: call.peer.as_ref().map(peer_text),
    };
    let text = format!(
        "KSD serves no port at {}; its receiver port is {}.",
        uri.path(),
        crate::KSD_PATH
    );
    k.refuse(&seen, call.text(), true, Rule::Wire1, text).await
}

/// Handles one call to KSD's receiver port.
pub async fn handle(State(k): State<Arc<Ksd>>, call: SoapCall) -> Response {
    let mut seen = Seen {
        call_id: k.call_ids.next_uuid(),
        operation: "KSD/?".into(),
        transaktion_id: None,
        municipality: None,
        cpr: None,
        peer: call.peer.as_ref().map(peer_text),
    };
    let decoded = match call.read() {
        Ok(d) => d,
        Err(e) => {
            let text = format!("the request is not a usable SOAP 1.1 message: {e}");
            return k.refuse(&seen, call.text(), true, e.rule(), text).await;
        }
    };
    if let Some(op) = decoded.operation {
        seen.operation = op.label();
    }
    seen.transaktion_id = decoded.transaktion_id;
    seen.municipality = decoded
        .authority_context
        .as_ref()
        .map(|a| a.municipality_cvr)
        .or(decoded.myndighed)
        .map(|m| m.to_string());
    seen.cpr = decoded.sygemeldte_part.map(|c| c.to_string());

    // SP-7: the platform calls receivers with KOMBIT's certificate; nobody else reaches KSD.
    if !call
        .peer
        .as_ref()
        .is_some_and(|p| k.platform_system.matches(p))
    {
        let who = seen
            .peer
            .clone()
            .unwrap_or_else(|| "an unidentified caller".into());
        let text = format!(
            "{who} may not call KSD: only the platform, with KOMBIT's certificate (CVR {}), does.",
            k.platform_system.cvr
        );
        return k.refuse(&seen, call.text(), true, Rule::Sp7, text).await;
    }

    let op = decoded
        .operation
        .filter(|_| decoded.kind == MessageKind::Request);
    match op {
        Some(Operation::ModtagOpdateringFravaer) => {
            crate::opdatering::handle(&k, &call, decoded, seen).await
        }
        Some(
            op @ (Operation::ModtagForretningsSvarKsd
            | Operation::ModtagForretningsSvarForlaengelse
            | Operation::HentSag
            | Operation::HentSagsListe),
        ) => {
            // TODO(rule KSD-10): SF2090 — send a Haendelse on case changes and take the
            // jobcenter's acknowledgement (ModtagForretningsSvar).
            // TODO(rule KSD-11): SF2093 — ask for extensions and take the answer
            // (ModtagForretningsSvarForlaengelse), setting VarighedKode 62/64, else 63.
            // TODO(rule KSD-12): SF2096 — HentSag/HentSagsListe returning only the calling
            // municipality's cases.
            let rule = match op {
                Operation::ModtagForretningsSvarKsd => Rule::Ksd10,
                Operation::ModtagForretningsSvarForlaengelse => Rule::Ksd11,
                _ => Rule::Ksd12,
            };
            let text = format!("{} is not supported by this simulator yet.", op.name());
            k.refuse(&seen, call.text(), false, rule, text).await
        }
        _ => {
            let what = match (decoded.operation, decoded.kind) {
                (Some(op), MessageKind::Request) => {
                    format!("{} (on the {:?} port)", op.name(), op.port())
                }
                (Some(op), kind) => format!("a {kind:?} of {}", op.name()),
                (None, kind) => format!("a {kind:?}"),
            };
            let text = format!(
                "{what} is not a request KSD's port takes; it takes the {:?} port's receiver operations.",
                Port::Ksd
            );
            k.refuse(&seen, call.text(), true, Rule::Wire1, text).await
        }
    }
}
