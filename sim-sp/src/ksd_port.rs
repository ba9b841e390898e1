//! The KSD exposure (`/service/KSD/Sygefravaer/2`): jobcenters call, the platform checks who
//! and for which municipality, forwards to KSD with KOMBIT's certificate and passes KSD's
//! answer back unchanged (SP-1, SP-5, SP-6, SP-7).
//!
//! Every leg a jobcenter calls is carried the same way — SF2095's status update, SF2090's and
//! SF2093's answers, SF2096's look-ups — so nothing here depends on the integration.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use sim_kit::soap::SoapCall;
use sim_store::Label;
use sim_wire::{Caller, Port, Rule};

use crate::passthrough::{self, Receiver};
use crate::state::{caller_side, peer_text, Admitted, Platform};

/// Anything sent to a path the platform does not expose (SP-4: nothing is dropped silently),
/// or with another method than POST to one it does (WIRE-1: SOAP 1.1 calls are POSTed) —
/// a journaled fault either way, never a bare 404 or 405.
pub async fn no_such_endpoint(
    State(p): State<Arc<Platform>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    call: SoapCall,
) -> Response {
    let call_uuid = p.ids.next_uuid();
    let exposed = [
        Port::Ksd.platform_path(),
        Port::Jc.platform_path(),
        sim_wire::ky::PLATFORM_PATH,
    ];
    let (rule, text) = if exposed.contains(&uri.path()) {
        (
            Rule::Wire1,
            format!(
                "{method} {}: the contract's calls are SOAP 1.1 over HTTP POST.",
                uri.path()
            ),
        )
    } else {
        (
            Rule::Sp4,
            format!(
                "No service is exposed at {}; the platform exposes {}, {} and {}.",
                uri.path(),
                exposed[0],
                exposed[1],
                exposed[2]
            ),
        )
    };
    // No operation was called: the row names what was posted where.
    let label = Label::endpoint(uri.path());
    let exchange = caller_side(&call, label, None, None, call_uuid);
    p.refuse(&call, &exchange, call_uuid, true, rule, text)
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

/// SP-1, SP-13: forwarded to KSD's receiver operation with KOMBIT's certificate (SP-7), KSD's
/// answer passed back.
async fn pass_through(p: &Platform, call: &SoapCall, a: &Admitted) -> Response {
    let ksd = Receiver {
        peer: p.ksd.url.clone(),
        name: "KSD".into(),
        url: p.ksd.url.clone(),
        jobcenter: false,
    };
    passthrough::forward(p, call, a, ksd, None).await
}
