//! The JC exposure (`/service/JC/Sygefravaer/2`): only KSD may call it; the platform routes
//! by the municipality of the *security context* (SP-2, SP-3), refuses what it cannot route
//! (SP-4), and passes the call through to the jobcenter solution routed for it with KOMBIT's
//! certificate (SP-7, SP-13): KSD gets the jobcenter's own TransportKvittering, or a fault,
//! and owns the redelivery. Every leg KSD calls is carried this way — SF2095's business
//! receipt, SF2090's events, SF2093's extension requests — so nothing here depends on the
//! integration.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use sim_kit::soap::SoapCall;
use sim_wire::{Caller, Cvr, Port, Rule};

use crate::passthrough::{self, Receiver};
use crate::state::{peer_text, Admitted, Platform};

/// Where a call KSD made goes: the jobcenter solution registered for the security context's
/// municipality (never the header's, SP-2).
pub struct Route {
    /// The municipality of the security context.
    pub municipality: Cvr,
    /// The jobcenter solution instance routed for it.
    pub instance: String,
    /// Its receiver port.
    pub url: String,
}

/// Handles one KSD call: admission, routing, then the pass-through.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let admitted = match p.admit(&call, Port::Jc, Caller::Ksd, "KSD").await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let route = match route(&p, &call, &admitted).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let to = Receiver {
        peer: route.instance.clone(),
        name: format!("the jobcenter solution '{}'", route.instance),
        url: route.url.clone(),
        jobcenter: true,
    };
    let note = mismatch(&admitted, &route);
    passthrough::forward(&p, &call, &admitted, to, note).await
}

/// KSD-8: the header's Myndighed must agree with the security context. The call is routed by
/// the context all the same (never to the header's municipality); the mismatch is noted in
/// the journal, and the receiver's own check answers it (SP-13: its answer goes back as is).
fn mismatch(a: &Admitted, route: &Route) -> Option<String> {
    let m = a.decoded.myndighed.filter(|m| *m != route.municipality)?;
    Some(format!(
        "{}: header Myndighed {m} differs from the security context's {}; routed by the context to {}",
        Rule::Ksd8.id(),
        route.municipality,
        route.instance
    ))
}

/// SP-5: only KSD's system may call; SP-2: by the municipality of its security context;
/// SP-3, SP-4: to the instance routed for that municipality, which must have an endpoint.
async fn route(p: &Platform, call: &SoapCall, a: &Admitted) -> Result<Route, Response> {
    let refuse = |client: bool, rule: Rule, text: String| {
        p.refuse(call, &a.exchange, a.call_uuid, client, rule, text)
    };
    if !call
        .peer
        .as_ref()
        .is_some_and(|id| p.ksd_system.matches(id))
    {
        let who = call
            .peer
            .as_ref()
            .map_or_else(|| "an unidentified caller".into(), peer_text);
        let text = format!(
            "{who} may not call {}: only KSD has a service agreement for it.",
            Port::Jc.platform_path()
        );
        return Err(refuse(true, Rule::Sp5, text).await);
    }
    let Some(municipality) = a.municipality else {
        let text = "Security model for the called operation was not provided: KSD's call needs an AuthorityContext naming the municipality to route to.".to_string();
        return Err(refuse(true, Rule::Sp2, text).await);
    };
    let Some(instance) = p.route(&municipality) else {
        let text =
            format!("No jobcenter solution is registered for municipality CVR {municipality}.");
        return Err(refuse(true, Rule::Sp4, text).await);
    };
    let Some(endpoint) = p.instances.get(&instance) else {
        let text = format!(
            "Municipality {municipality} is routed to '{instance}', which has no endpoint."
        );
        return Err(refuse(false, Rule::Sp4, text).await);
    };
    let url = endpoint.url.clone();
    Ok(Route {
        municipality,
        instance,
        url,
    })
}
