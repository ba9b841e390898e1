//! `sim-ksd`: the simulated KSD (Kommunernes Sygedagpengesystem) for service Sygefravaer v2.
//!
//! The platform forwards a jobcenter's SF2095 status update to KSD's receiver port as
//! `ModtagOpdateringFravaer`. KSD accepts calls only from the platform (KOMBIT's certificate,
//! SP-7), answers a repeated TransaktionIdentifikator with the very bytes it answered before
//! (KSD-7), validates the message with `sim-wire`'s rules (KSD-3/4/5/8) and answers
//! synchronously with a TransportKvittering (KSD-1). An accepted update changes KSD's
//! sick-leave case (KSD-9) and is stored together with its journal entries and its business
//! receipt in one transaction *before* the transport receipt goes out; the business receipt
//! (`SendForretningsSvar`, KSD-2) is then delivered to the platform's JC exposure from a
//! durable outbox, with retries, after a configurable virtual delay, and survives a restart.
//!
//! # Layout
//! - [`config`]: the configuration (files, the platform peer, timing, seed).
//! - `state`: the running KSD: store, id streams, outgoing client, journal and fault helpers.
//! - `port`: KSD's receiver port ([`KSD_PATH`]): reading the call, the caller check (SP-7),
//!   and the hand-over to the integration owning the operation.
//! - `flows`: one module per integration, and the match that dispatches to them (requests
//!   received, the outbox delivered); the operations this simulator does not build yet
//!   (SF2090/93/96) are refused there.
//!   - `flows::sf2095::update`: `ModtagOpdateringFravaer`: idempotency, validation,
//!     persistence.
//!   - `flows::sf2095::receipt`: the business receipt (KSD-2): building it and delivering it
//!     from the outbox.
//! - `cases`: the tables KSD owns (cases, their history, received updates) and their queries.
//! - `admin`: the JSON admin API on its own port.

pub mod config;

mod admin;
mod cases;
mod flows;
mod port;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::post;
use axum::Router;
pub use config::Config;
pub use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};

/// KSD's receiver port, where the platform forwards the KSD exposure's operations
/// (`ModtagOpdateringFravaer` ...). Mirrors the platform's `/service/KSD/Sygefravaer/2`.
pub const KSD_PATH: &str = "/ksd/Sygefravaer/2";

/// Every table batch `ksd.sqlite` is opened with, in order: the journal's, the outbox's, the
/// process's own and the cases'. Public so that tools and tests that write a KSD history
/// without running one (the checkers' fixtures) create the real tables instead of copies.
pub fn migrations() -> Vec<&'static str> {
    vec![
        sim_store::JOURNAL_MIGRATION,
        sim_store::OUTBOX_MIGRATION,
        state::META_MIGRATION,
        cases::KSD_MIGRATION,
    ]
}

/// Why KSD could not start or stopped with an error: the one error of every program's
/// `run` ([`sim_kit::program::RunError`]).
pub type KsdError = sim_kit::program::RunError;

/// Runs KSD until `shutdown` completes: the mTLS receiver port, the admin API and the
/// delivery of business receipts. Returns when all three have stopped; receipts not yet
/// delivered stay in the state directory for the next run.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), KsdError> {
    sim_kit::install_crypto_provider();
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?;
    let client = sim_kit::config::soap_client(
        &config.identity,
        &config.server_trust,
        config.call_timeout_ms,
    )?;
    let ksd = Arc::new(state::Ksd::open(&config, client).await?);

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = Router::new()
        .route(KSD_PATH, post(port::handle))
        .fallback(port::no_such_endpoint)
        .with_state(ksd.clone());
    let data = sim_kit::faults::apply(data, "ksd", &config.faults);
    let program = sim_kit::program::Program {
        data: vec![(listeners.data, server_tls, data)],
        admin: (listeners.admin, admin::router(ksd.clone())),
        workers: vec![Box::pin(flows::deliver_outbox(ksd, stop.wait()))],
    };
    sim_kit::program::serve_program(program, &stop).await?;
    Ok(())
}
