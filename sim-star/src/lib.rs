//! `sim-star`: the simulated STAR (Styrelsen for Arbejdsmarked og Rekruttering), its DFDG
//! queue of sick-leave status changes, as the platform's periodic job sees it (SF1612, seed 004
//! §3.3, wire.md §4.1).
//!
//! Events happen at the rate of rule KSD-13 (90,000 a month by default, on the working-day
//! profile: `sim_scenario::star`) and are *queued* once the clock has passed them, never
//! before. The platform's job (SP-10) then:
//! 1. `CreateSequence` (`SubQueueIdentifier` 6) at [`WSRM_SERVICE_PATH`]: every queued event
//!    moves into a new sequence; the answer is its `Identifier` and one `ServiceItem`
//!    (`GetIllnessUpdatedVersion6`, the `ServiceEndpoint` to fetch at, `MessageCount`);
//! 2. `GetIllnessUpdatedVersion6` at [`WSRM_MESSAGE_SERVICE_PATH`] with the sequence in its
//!    `SequenceRequest` header: every event of the sequence, in order, the same answer each
//!    time it is asked;
//! 3. `TerminateSequence`: the sequence's events are gone for good; or `CloseSequence`: every
//!    one of them goes back to the queue and comes in the next sequence (never some). A
//!    sequence left open longer than `sequence_timeout_ms` (virtual) is rolled back the same
//!    way (state `expired`) when STAR is next asked anything about its queue.
//!
//! Every call must come from the platform (KOMBIT's certificate; SP-7) and carry the constant
//! headers of SP-12; refusals are SOAP faults naming the rule (SP-7, SP-12, SP-10 for an
//! unknown or ended sequence or another sub-queue, WIRE-1/WIRE-3 for what cannot be read),
//! and every call and answer is journaled. A scenario runner injects faults through the
//! generic `sim_kit::faults` layer (delay, fault, reset) and [`StarFaults`]: a fetch cut after
//! k of n events on the wire, and slowness per call.
//!
//! # Layout
//! - [`config`]: the configuration ([`Config`], [`EventsConfig`]) and the fault hook
//!   ([`StarFaults`]).
//! - `state`: the running STAR: store, clock, id streams, the generator that queues what is
//!   due, journaling and refusing.
//! - `queue`: the tables and every state transition of events and sequences, one transaction
//!   each.
//! - `port`: the two services, a call as numbered steps, and the four operations.
//! - `body`: the response body that breaks its connection after k events.
//! - `admin`: the JSON admin API on its own port.

pub mod config;

mod admin;
mod body;
mod port;
mod queue;
mod state;

use std::future::Future;
use std::sync::Arc;

use axum::routing::post;
use axum::Router;
pub use config::{Config, EventsConfig, StarFaultHook, StarFaults};
pub use queue::{Counts, EventRow, SequenceRow, SequenceState};
pub use sim_kit::config::{IdentityFiles, Listeners};

/// `WsrmService` (EP_STAR1, EP_STAR3, EP_STAR4): `CreateSequence`, `TerminateSequence`,
/// `CloseSequence`.
pub const WSRM_SERVICE_PATH: &str = "/star/WsrmService";

/// `WsrmMessageService` (EP_STAR2): `GetIllnessUpdatedVersion6`; `CreateSequence`'s
/// `ServiceEndpoint` points here.
pub const WSRM_MESSAGE_SERVICE_PATH: &str = "/star/WsrmMessageService";

/// Every table batch `star.sqlite` is opened with: the journal's and STAR's queue.
pub fn migrations() -> Vec<&'static str> {
    vec![sim_store::JOURNAL_MIGRATION, queue::QUEUE_MIGRATION]
}

/// Why STAR could not start or stopped with an error: the one error of every program's `run`.
pub type StarError = sim_kit::program::RunError;

/// Runs STAR until `shutdown` completes: its mTLS services and its admin API. Queued events,
/// open sequences and the stream's position stay in the state directory for the next run.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StarError> {
    sim_kit::install_crypto_provider();
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?;
    let star = Arc::new(state::Star::open(&config).await?);
    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = Router::new()
        .route(WSRM_SERVICE_PATH, post(port::wsrm))
        .route(WSRM_MESSAGE_SERVICE_PATH, post(port::wsrm_message))
        .fallback(port::no_such_endpoint)
        .method_not_allowed_fallback(port::no_such_endpoint)
        .with_state(star.clone());
    let data = sim_kit::faults::apply(data, "star", &config.faults);
    let program = sim_kit::program::Program {
        data: vec![(listeners.data, server_tls, data)],
        admin: (listeners.admin, admin::router(star.clone())),
        admin_token: config.admin_token.clone(),
        workers: sim_kit::program::retention_worker(
            star.journal.clone(),
            config.journal_retention,
            config.clock.clone(),
            stop.wait(),
        )
        .into_iter()
        .collect(),
    };
    sim_kit::program::serve_program(program, &stop).await?;
    Ok(())
}
