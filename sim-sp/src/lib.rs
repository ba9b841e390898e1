//! `sim-sp`: the simulated Serviceplatform for service Sygefravaer v2.
//!
//! Jobcenters call the KSD exposure; the platform identifies the calling system from its
//! client certificate (SP-6), checks the security context and the service agreement (SP-5),
//! forwards to KSD with KOMBIT's certificate and passes KSD's transport receipt back unchanged
//! (SP-1). KSD calls the JC exposure; the platform routes by the municipality of the security
//! context (SP-2, SP-3) and passes the call through to that municipality's jobcenter solution,
//! returning its answer to KSD (SP-13). Both directions are pass-throughs: the platform
//! persists nothing on the way but its journal, and the caller owns redelivery. Every refusal
//! is a SOAP fault with a CallUUID that can be found in the journal (SP-4). Jobcenters' SF1690
//! messages to KY go through a third exposure the same way.
//!
//! # Layout
//! - [`config`]: the configuration (files, peers, routing, agreements).
//! - `state`: the running platform (store, routing table, agreements, outgoing client), the
//!   admission common to both exposures (WIRE-1), refusals and the rows of received requests.
//! - `ksd_port`: the KSD exposure (`/service/KSD/Sygefravaer/2`): SP-5, then a synchronous
//!   pass-through to KSD for every operation.
//! - `jc_port`: the JC exposure (`/service/JC/Sygefravaer/2`): only KSD, routing by the
//!   security context (SP-2, SP-3, SP-4), then a pass-through to the jobcenter solution.
//! - `ky_port`: the KY exposure (`/service/KY/Kontanthjaelp/2`, SF1690): SP-5 with an
//!   agreement for `KontanthjaelpServiceKY`, then a synchronous pass-through to KY under the
//!   same operation (SP-7, SP-13).
//! - `passthrough`: the one forwarding both Sygefravaer exposures use (SP-1, SP-7, SP-13).
//! - `forward`: renaming an operation element for the receiver, byte-faithfully.
//! - `admin`: the JSON admin API on its own port.

pub mod config;
pub mod star_job;

mod admin;
mod forward;
mod jc_port;
mod ksd_port;
mod ky_port;
mod passthrough;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::post;
use axum::Router;
pub use config::{Agreement, BeskedfordelerConfig, Config, BF_SERVICE, SERVICE};
pub use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};
use sim_wire::Port;

/// Why the platform could not start or stopped with an error: the one error of every program's
/// `run` ([`sim_kit::program::RunError`]).
pub type SpError = sim_kit::program::RunError;

/// Runs the platform until `shutdown` completes: the mTLS data plane, the admin API and the
/// journal retention (when configured). Returns when all have stopped.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SpError> {
    sim_kit::install_crypto_provider();
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?
        .with_shedding(sim_kit::limits::Shedding {
            max_in_flight: config.max_in_flight,
            max_in_flight_per_caller: config.max_in_flight_per_caller,
        });
    let client =
        sim_kit::config::soap_client(&config.kombit, &config.server_trust, config.call_timeout_ms)?;
    let platform = Arc::new(state::Platform::open(&config, client).await?);
    let bf = open_beskedfordeler(&config, &platform).await?;

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = data_plane(platform.clone(), &bf, &config.faults);
    let mut workers: Vec<sim_kit::program::Worker> = bf.workers(&stop);
    if let Some(star) = &config.star {
        let http = sim_kit::config::client(
            &config.kombit,
            &config.server_trust,
            std::time::Duration::from_millis(star.timeout_ms.max(config.call_timeout_ms)),
        )?;
        let job = star_job::StarJob::new(
            star.clone(),
            http,
            platform.db.clone(),
            platform.journal.clone(),
            config.clock.clone(),
            Arc::new(sim_kit::ids::IdStream::new(
                config.seed,
                "sp/star-job",
                platform.epoch,
            )),
            bf.clone(),
        );
        workers.push(Box::pin(job.worker(stop.wait())));
    }
    workers.extend(sim_kit::program::retention_worker(
        platform.journal.clone(),
        config.journal_retention,
        config.clock.clone(),
        stop.wait(),
    ));
    let program = sim_kit::program::Program {
        data: vec![(listeners.data, server_tls, data)],
        admin: (
            listeners.admin,
            admin::router(platform.clone()).merge(bf.admin_router()),
        ),
        admin_token: config.admin_token.clone(),
        workers,
    };
    sim_kit::program::serve_program(program, &stop).await?;
    Ok(())
}

/// The platform's data-plane router as [`run`] serves it (behind mutual TLS): the platform
/// opened on `config`'s state directory, the KSD and JC exposures, the fallback for other
/// paths and methods (journaled SOAP faults), and `config.faults`. `client` is what the
/// platform calls KSD and the jobcenters with.
///
/// Public so the router can be driven without the program around it — fuzzed
/// (`sim-wire/fuzz`, target `http`) or embedded behind another server. It serves only the
/// data plane: no admin API, no journal retention (those are `run`'s).
/// The caller is the `sim_certs::SystemIdentity` the server puts in the request's extensions
/// from its verified client certificate; a request without one is an unidentified caller.
pub async fn data_router(
    config: &Config,
    client: sim_kit::soap::SoapClient,
) -> Result<Router, SpError> {
    let platform = Arc::new(state::Platform::open(config, client).await?);
    let bf = open_beskedfordeler(config, &platform).await?;
    Ok(data_plane(platform, &bf, &config.faults))
}

/// The one construction of the data-plane router, for [`run`] and [`data_router`]: the three
/// exposures and the Beskedfordeler's service (SF1612).
fn data_plane(
    platform: Arc<state::Platform>,
    bf: &sim_bf::Beskedfordeler,
    faults: &sim_kit::faults::Faults,
) -> Router {
    let data = Router::new()
        .route(Port::Ksd.platform_path(), post(ksd_port::handle))
        .route(Port::Jc.platform_path(), post(jc_port::handle))
        .route(sim_wire::ky::PLATFORM_PATH, post(ky_port::handle))
        .fallback(ksd_port::no_such_endpoint)
        .method_not_allowed_fallback(ksd_port::no_such_endpoint)
        .with_state(platform);
    let data = bf.data_router().merge(data);
    sim_kit::faults::apply(data, "sp", faults)
}

/// Opens the Beskedfordeler (SF1612) in the platform's state directory — embedded, or with
/// RabbitMQ — with the platform's agreements deciding who may subscribe (an agreement for
/// [`BF_SERVICE`]), and makes the configured subscriptions that do not exist yet.
async fn open_beskedfordeler(
    config: &Config,
    platform: &Arc<state::Platform>,
) -> Result<sim_bf::Beskedfordeler, SpError> {
    let push = sim_kit::config::client(
        &config.kombit,
        &config.server_trust,
        std::time::Duration::from_millis(config.call_timeout_ms),
    )?;
    let mut bf_config = sim_bf::BfConfig::embedded(&config.state_dir);
    if let Some(url) = &config.beskedfordeler.amqp {
        bf_config.broker = sim_bf::Broker::Amqp { url: url.clone() };
    }
    bf_config.push_client = Some(push);
    bf_config.seed = config.seed;
    bf_config.faults = config.faults.clone();
    let p = platform.clone();
    let agreements: sim_bf::Agreements = Arc::new(move |cvr: &sim_wire::Cvr| {
        p.agreements
            .read()
            .expect("agreements lock")
            .iter()
            .any(|a| a.service == BF_SERVICE && a.system.cvr == cvr.to_string())
    });
    let bf = sim_bf::Beskedfordeler::open(bf_config, config.clock.clone(), agreements)
        .await
        .map_err(|e| SpError::Config(format!("the Beskedfordeler: {e}")))?;
    let existing = bf
        .subscriptions()
        .await
        .map_err(|e| SpError::Config(format!("the Beskedfordeler: {e}")))?;
    for s in &config.beskedfordeler.subscriptions {
        if s.id
            .as_ref()
            .is_some_and(|id| existing.iter().any(|e| &e.id == id))
        {
            continue;
        }
        bf.create_subscription(s.clone())
            .await
            .map_err(|e| SpError::Config(format!("subscription for {}: {e}", s.subscriber_cvr)))?;
    }
    Ok(bf)
}
