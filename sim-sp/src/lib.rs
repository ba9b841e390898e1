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
//! - `state`: the running platform: store, routing table, agreements, outgoing client.
//! - `ksd_port`: the KSD exposure (`/service/KSD/Sygefravaer/2`), synchronous pass-through.
//! - `jc_port`: the JC exposure (`/service/JC/Sygefravaer/2`) and the outbox delivery.
//! - `forward`: renaming an operation element for the receiver, byte-faithfully.
//! - `admin`: the JSON admin API on its own port.

pub mod config;

mod admin;
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

/// Why the platform could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SpError {
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

/// Runs the platform until `shutdown` completes: the mTLS data plane, the admin API and the
/// outbox delivery. Returns when all three have stopped.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SpError> {
    sim_kit::install_crypto_provider();
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?;
    let timeout = std::time::Duration::from_millis(config.call_timeout_ms);
    let client = sim_kit::soap::SoapClient::new(sim_kit::config::client(
        &config.kombit,
        &config.server_trust,
        timeout,
    )?);
    let platform = Arc::new(state::Platform::open(&config, client).await?);

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = Router::new()
        .route(Port::Ksd.platform_path(), post(ksd_port::handle))
        .route(Port::Jc.platform_path(), post(jc_port::handle))
        .fallback(ksd_port::no_such_endpoint)
        .with_state(platform.clone());
    let data = sim_kit::faults::apply(data, "sp", &config.faults);
    let admin = admin::router(platform.clone());

    let outbox = tokio::spawn(jc_port::deliver_forever(platform.clone(), stop.wait()));
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
