//! KSD's receiver port ([`crate::KSD_PATH`]): reads the call, checks that the platform made it
//! (SP-7) and hands it to the integration owning its operation (the Body element's QName,
//! checked against the SOAPAction by `sim-wire`) through [`crate::flows::answer`]. Every
//! refusal is a fault naming its rule, and journaled.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use sim_kit::config::peer_text;
use sim_kit::soap::SoapCall;
use sim_store::Label;
use sim_wire::{Decoded, MessageKind, Port, Rule};

use crate::flows;
use crate::state::{Ksd, Seen};

/// Anything posted to a path KSD does not serve: refused, not dropped.
pub async fn no_such_endpoint(
    State(k): State<Arc<Ksd>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    // Not an operation of the contract: the label is what was asked for, as sent.
    let label = Label::endpoint(uri.path());
    let seen = Seen::new(
        k.call_ids.next_uuid(),
        label,
        call.peer.as_ref().map(peer_text),
    );
    let text = format!(
        "KSD serves no {method} at {}; its receiver port is POST {} (SOAP 1.1).",
        uri.path(),
        crate::KSD_PATH
    );
    k.refuse(&seen, call.text(), true, Rule::Wire1, text).await
}

/// Handles one call to KSD's receiver port: admission, then the integration owning the
/// operation ([`flows::answer`]); a message that is no request of this port is refused.
pub async fn handle(State(k): State<Arc<Ksd>>, call: SoapCall) -> Response {
    let (decoded, seen) = match admit(&k, &call).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let (operation, kind) = (decoded.operation, decoded.kind);
    if let Some(op) = operation.filter(|_| kind == MessageKind::Request) {
        if let Some(answer) = flows::answer(&k, op, &call, decoded, &seen).await {
            return answer;
        }
    }
    let what = match (operation, kind) {
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

/// Reads the call and checks its caller: the decoded message and what is known of the call,
/// or the refusal already answered (unusable SOAP, or a caller other than the platform).
async fn admit(k: &Ksd, call: &SoapCall) -> Result<(Decoded, Seen), Response> {
    let mut seen = Seen::new(
        k.call_ids.next_uuid(),
        Label::unknown(Port::Ksd),
        call.peer.as_ref().map(peer_text),
    );
    let decoded = match call.read() {
        Ok(d) => d,
        Err(e) => {
            let text = format!("the request is not a usable SOAP 1.1 message: {e}");
            return Err(k.refuse(&seen, call.text(), true, e.rule(), text).await);
        }
    };
    let x = &mut seen.exchange;
    if let Some(op) = decoded.operation {
        x.label = Label::request(op);
    }
    x.transaktion_id = decoded.transaktion_id.map(|t| t.to_string());
    x.municipality = decoded
        .authority_context
        .as_ref()
        .map(|a| a.municipality_cvr)
        .or(decoded.myndighed)
        .map(|m| m.to_string());
    x.cpr = decoded.sygemeldte_part.map(|c| c.to_string());

    // SP-7: the platform calls receivers with KOMBIT's certificate; nobody else reaches KSD.
    if !call
        .peer
        .as_ref()
        .is_some_and(|p| k.platform_system.matches(p))
    {
        let who = x
            .peer
            .clone()
            .unwrap_or_else(|| "an unidentified caller".into());
        let text = format!(
            "{who} may not call KSD: only the platform, with KOMBIT's certificate (CVR {}), does.",
            k.platform_system.cvr
        );
        return Err(k.refuse(&seen, call.text(), true, Rule::Sp7, text).await);
    }
    Ok((decoded, seen))
}
