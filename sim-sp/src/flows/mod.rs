//! The integrations' own parts of the platform, one module per integration. The JC exposure
//! (`jc_port`) admits and routes a call whatever it belongs to, then dispatches here by its
//! operation's integration ([`sim_wire::flows`]); so does the outbox for each delivery. A new
//! integration is a new module plus its arm in the matches below.
//!
//! - [`sf2095`]: KSD's business receipt (`JC/SendForretningsSvar`): acknowledged to KSD,
//!   stored, delivered to the jobcenter's `JC/ModtagForretningsSvar`.
//!
//! The legs a jobcenter calls (the KSD exposure: SF2095's status update, SF2090's and
//! SF2093's answers, SF2096's look-ups) are one synchronous pass-through in `ksd_port` that
//! needs nothing of their integration, so they have no module here.

pub mod sf2095;

use axum::response::Response;
use serde::Deserialize;
use sim_kit::soap::SoapCall;
use sim_store::OutboxItem;
use sim_wire::flows::{flow_of, flow_of_label};
use sim_wire::Integration;

use crate::jc_port::Route;
use crate::state::{Admitted, Platform};

/// Answers a call KSD made on the JC exposure, admitted and routed to `route`, and queues its
/// delivery.
pub async fn accept_from_ksd(
    p: &Platform,
    call: &SoapCall,
    a: &Admitted,
    route: Route,
) -> Response {
    match flow_of(a.op).integration {
        Integration::Sf2095 => sf2095::accept(p, call, a, route).await,
        // SF2090's events and SF2093's extension requests (nothing else passes admission on
        // this port) have no module of their own yet: the platform carries them as it
        // carries SF2095's business receipt, as it always has.
        _ => sf2095::accept(p, call, a, route).await,
    }
}

/// What every outbox item's meta names: the receiver's operation label.
#[derive(Deserialize)]
struct Leg {
    operation: String,
}

/// Delivers one outbox item by the module of the integration its leg belongs to. `Err` is a
/// failed attempt, retried with backoff.
pub async fn deliver(p: &Platform, item: OutboxItem) -> Result<(), String> {
    let leg: Leg = serde_json::from_str(&item.meta).map_err(|e| format!("bad outbox meta: {e}"))?;
    match flow_of_label(&leg.operation).map(|f| f.integration) {
        Some(Integration::Sf2095) => sf2095::deliver(p, item).await,
        // As in `accept_from_ksd`: SF2090's and SF2093's deliveries are SF2095's for now.
        _ => sf2095::deliver(p, item).await,
    }
}
