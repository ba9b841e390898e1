//! The JC exposure (`/service/JC/Sygefravaer/2`): only KSD may call it; the platform routes
//! by the municipality of the *security context* (SP-2, SP-3), refuses what it cannot route
//! (SP-4), and hands the routed call to its integration's module ([`crate::flows`]), which
//! answers KSD and delivers to the jobcenter solution with KOMBIT's certificate (SP-7). The
//! outbox those deliveries go through is run here.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use sim_kit::soap::SoapCall;
use sim_store::{Backoff, OutboxItem};
use sim_wire::{Caller, Cvr, Port, Rule};

use crate::flows;
use crate::state::{peer_text, Admitted, Platform};

/// How many deliveries run at once.
const DELIVERY_CONCURRENCY: usize = 64;

/// Where a call KSD made goes: the jobcenter solution registered for the security context's
/// municipality (never the header's, SP-2).
pub struct Route {
    /// The municipality of the security context.
    pub municipality: Cvr,
    /// The jobcenter solution instance routed for it; it has an endpoint.
    pub instance: String,
}

/// Handles one KSD call: admission, routing, then the integration's module.
pub async fn handle(State(p): State<Arc<Platform>>, call: SoapCall) -> Response {
    let admitted = match p.admit(&call, Port::Jc, Caller::Ksd, "KSD").await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let route = match route(&p, &call, &admitted).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    flows::accept_from_ksd(&p, &call, &admitted, route).await
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
    if !p.instances.contains_key(&instance) {
        let text = format!(
            "Municipality {municipality} is routed to '{instance}', which has no endpoint."
        );
        return Err(refuse(false, Rule::Sp4, text).await);
    }
    Ok(Route {
        municipality,
        instance,
    })
}

/// Delivers outbox items until `stop` completes, each by its integration's module.
pub async fn deliver_forever(p: Arc<Platform>, stop: impl Future<Output = ()> + Send) {
    let outbox = p.outbox.clone();
    let deliver = move |item: OutboxItem| {
        let p = p.clone();
        async move { flows::deliver(&p, item).await }
    };
    outbox
        .run(Backoff::default(), DELIVERY_CONCURRENCY, deliver, stop)
        .await;
}
