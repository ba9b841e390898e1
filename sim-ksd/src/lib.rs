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
//! - `port`: KSD's receiver port ([`KSD_PATH`]): caller check, operation dispatch, and the
//!   operations this simulator does not implement yet (SF2090/93/96).
//! - `opdatering`: SF2095 `ModtagOpdateringFravaer`: idempotency, validation, persistence.
//! - `cases`: the tables KSD owns (cases, their history, received updates) and their queries.
//! - `receipt`: the business receipt (KSD-2): building it and delivering it from the outbox.
//! - `admin`: the JSON admin API on its own port.

pub mod config;

mod admin;
mod cases;
mod opdatering;
mod port;
mod receipt;
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

/// Why KSD could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum KsdError {
    /// Certificates or keys could not be loaded, or TLS could not be set up.
    #[error("TLS setup: {0}")]
    Tls(#[from] sim_kit::TransportError),
    /// The state directory or its database could not be used.
    #[error("state: {0}")]
    Store(#[from] sim_store::StoreError),
    /// A configuration value is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Socket trouble.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

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
    let timeout = std::time::Duration::from_millis(config.call_timeout_ms);
    let client = sim_kit::soap::SoapClient::new(sim_kit::config::client(
        &config.identity,
        &config.server_trust,
        timeout,
    )?);
    let ksd = Arc::new(state::Ksd::open(&config, client).await?);

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = Router::new()
        .route(KSD_PATH, post(port::handle))
        .fallback(port::no_such_endpoint)
        .with_state(ksd.clone());
    let data = sim_kit::faults::apply(data, "ksd", &config.faults);
    let admin = admin::router(ksd.clone());

    let outbox = tokio::spawn(receipt::deliver_forever(ksd.clone(), stop.wait()));
    let admin_task = {
        let stop = stop.wait();
        tokio::spawn(async move {
            axum::serve(listeners.admin, admin)
                .with_graceful_shutdown(stop)
                .await
        })
    };
    let served = sim_kit::serve(listeners.data, server_tls, data, stop.wait()).await;
    let _ = outbox.await;
    let _ = admin_task.await;
    served?;
    Ok(())
}
