//! `sim-ksd`: the simulated KSD (Kommunernes Sygedagpengesystem) for service Sygefravaer v2.
//!
//! The platform forwards a jobcenter's SF2095 status update to KSD's receiver port as
//! `ModtagOpdateringFravaer`. KSD accepts calls only from the platform (KOMBIT's certificate,
//! SP-7), answers a repeated TransaktionIdentifikator with the very bytes it answered before
//! (KSD-7), validates the message with `sim-wire`'s rules (KSD-3/4/5/8) and answers
//! synchronously with a TransportKvittering (KSD-1). An accepted update changes KSD's
//! sick-leave case (KSD-9) and is stored together with its journal entries and its business
//! receipt in one transaction *before* the transport receipt goes out.
//!
//! KSD owns its cases' duration (KSD-9): limits, extension requests to the jobcenters
//! (SF2093, KSD-11) and 63 when a limit passes without an extension; every change the
//! jobcenter did not cause is told to it as a case event (SF2090, KSD-10). Everything KSD
//! sends — business receipts, events, requests — goes through one durable outbox to the
//! platform's JC exposure, a pass-through (SP-13): KSD owns the redelivery, across restarts.
//!
//! # Layout
//! - [`config`]: the configuration (files, the platform peer, timing, the duration rule,
//!   seed).
//! - `state`: the running KSD: store, id streams, outgoing client, journal and fault helpers.
//! - `port`: KSD's receiver port ([`KSD_PATH`]): reading the call, the caller check (SP-7),
//!   and the hand-over to the integration owning the operation.
//! - `flows`: one module per integration, and the match that dispatches to them (requests
//!   received, deliveries answered), SF2096's look-ups (KSD-12) included.
//!   - `flows::sf2095::update`: `ModtagOpdateringFravaer`: idempotency, validation,
//!     persistence; `flows::sf2095::receipt`: the business receipt (KSD-2).
//!   - `flows::sf2090`: case events, their acknowledgements (recorded once, JC-3), resends.
//!   - `flows::sf2093`: extension requests and the answers (62, 64, late, rejected).
//! - `send`: the outbox delivery of everything KSD sends, and what FEJL or a fault means.
//! - `lifecycle`: the duration rule ([`DurationRule`]) and the worker that does what the
//!   virtual date has made due.
//! - `intake`: cases created through the admin API (NemRefusion, by hand) and ends KSD sets.
//! - `cases`: the tables KSD owns (cases, their history, received updates) and their queries.
//! - `admin`: the JSON admin API on its own port.
//! - [`ky`]: the simulated KY (Kommunernes Ydelsessystem) for SF1690 — its own receiver port
//!   ([`ky::KY_PATH`]), tables and rules (KY-1..KY-10), in this program because KSD stands for
//!   the municipal benefit systems.

pub mod config;

mod admin;
mod cases;
mod flows;
mod intake;
pub mod ky;
mod lifecycle;
mod port;
mod send;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::post;
use axum::Router;
pub use config::Config;
pub use flows::sf1612::{Delivery as Sf1612Delivery, Sf1612Config};
pub use lifecycle::DurationRule;
pub use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};

/// KSD's receiver port, where the platform forwards the KSD exposure's operations
/// (`ModtagOpdateringFravaer` ...). Mirrors the platform's `/service/KSD/Sygefravaer/2`.
pub const KSD_PATH: &str = "/ksd/Sygefravaer/2";

/// KSD's push endpoint for the Beskedfordeler (SF1612, BF-2; *defined here*): a push
/// subscription's URL. `ModtagBesked` is answered StatusKode 20 once the message is handled.
pub const BF_PUSH_PATH: &str = "/ksd/Beskedfordeler/1";

/// Every table batch `ksd.sqlite` is opened with, in order: the journal's, the outbox's, the
/// process's own and the cases'. Public so that tools and tests that write a KSD history
/// without running one (the checkers' fixtures) create the real tables instead of copies.
pub fn migrations() -> Vec<&'static str> {
    vec![
        sim_store::JOURNAL_MIGRATION,
        sim_store::OUTBOX_MIGRATION,
        state::META_MIGRATION,
        cases::KSD_MIGRATION,
        lifecycle::LIFECYCLE_MIGRATION,
        flows::sf1612::MIGRATION,
        flows::sf2090::MIGRATION,
        flows::sf2093::MIGRATION,
        flows::sf2096::MIGRATION,
        ky::MIGRATION,
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
        .route(ky::KY_PATH, post(ky::handle))
        .route(BF_PUSH_PATH, post(flows::sf1612::push))
        .fallback(port::no_such_endpoint)
        .method_not_allowed_fallback(port::no_such_endpoint)
        .with_state(ksd.clone());
    let data = sim_kit::faults::apply(data, "ksd", &config.faults);
    let program = sim_kit::program::Program {
        data: vec![(listeners.data, server_tls, data)],
        admin: (listeners.admin, admin::router(ksd.clone())),
        admin_token: config.admin_token.clone(),
        workers: [
            Box::pin(send::deliver_forever(ksd.clone(), stop.wait())) as _,
            Box::pin(lifecycle::run(ksd.clone(), stop.wait())) as _,
        ]
        .into_iter()
        .chain(match &config.sf1612 {
            Some(c) => flows::sf1612::workers(
                ksd.clone(),
                c,
                sim_kit::config::client(
                    &config.identity,
                    &config.server_trust,
                    std::time::Duration::from_millis(config.call_timeout_ms),
                )?,
                &stop,
            ),
            None => Vec::new(),
        })
        .chain(sim_kit::program::retention_worker(
            ksd.journal.clone(),
            config.journal_retention,
            config.clock.clone(),
            stop.wait(),
        ))
        .collect(),
    };
    sim_kit::program::serve_program(program, &stop).await?;
    Ok(())
}
