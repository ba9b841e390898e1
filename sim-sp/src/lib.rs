//! `sim-sp`: the simulated Serviceplatform for service Sygefravaer v2.
//!
//! Jobcenters call the KSD exposure; the platform identifies the calling system from its
//! client certificate (SP-6), checks the security context and the service agreement (SP-5),
//! forwards to KSD with KOMBIT's certificate and passes KSD's transport receipt back unchanged
//! (SP-1). KSD calls the JC exposure; the platform routes by the municipality of the security
//! context (SP-2, SP-3), persists the message in a durable outbox *before* answering KSD, and
//! delivers it to the jobcenter solution with retries until it answers OK. Every refusal is a
//! SOAP fault with a CallUUID that can be found in the journal (SP-4).
//!
//! # Layout
//! - [`config`]: the configuration (files, peers, routing, agreements).
//! - `state`: the running platform (store, routing table, agreements, outgoing client), the
//!   admission common to both exposures (WIRE-1), refusals and the rows of received requests.
//! - `ksd_port`: the KSD exposure (`/service/KSD/Sygefravaer/2`): SP-5, then a synchronous
//!   pass-through to KSD for every operation.
//! - `jc_port`: the JC exposure (`/service/JC/Sygefravaer/2`): only KSD, routing by the
//!   security context (SP-2, SP-3, SP-4); runs the outbox.
//! - `flows`: what the platform does per integration, dispatched by operation from the
//!   exposures and the outbox; `flows::sf2095`: KSD's business receipt, acknowledged, stored
//!   and delivered to the jobcenter.
//! - `forward`: renaming an operation element for the receiver, byte-faithfully.
//! - `admin`: the JSON admin API on its own port.

pub mod config;

mod admin;
mod flows;
mod forward;
mod jc_port;
mod ksd_port;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::post;
use axum::Router;
pub use config::{Agreement, Config, SERVICE};
pub use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};
use sim_wire::Port;

/// Why the platform could not start or stopped with an error: the one error of every program's
/// `run` ([`sim_kit::program::RunError`]).
pub type SpError = sim_kit::program::RunError;

/// Runs the platform until `shutdown` completes: the mTLS data plane, the admin API and the
/// outbox delivery. Returns when all three have stopped.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SpError> {
    sim_kit::install_crypto_provider();
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?;
    let client =
        sim_kit::config::soap_client(&config.kombit, &config.server_trust, config.call_timeout_ms)?;
    let platform = Arc::new(state::Platform::open(&config, client).await?);

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = Router::new()
        .route(Port::Ksd.platform_path(), post(ksd_port::handle))
        .route(Port::Jc.platform_path(), post(jc_port::handle))
        .fallback(ksd_port::no_such_endpoint)
        .with_state(platform.clone());
    let data = sim_kit::faults::apply(data, "sp", &config.faults);
    let program = sim_kit::program::Program {
        data: vec![(listeners.data, server_tls, data)],
        admin: (listeners.admin, admin::router(platform.clone())),
        workers: vec![Box::pin(jc_port::deliver_forever(platform, stop.wait()))],
    };
    sim_kit::program::serve_program(program, &stop).await?;
    Ok(())
}
