//! `sim-jobcenter`: several jobcenter vendor solutions in one process (JC-4).
//!
//! Each configured instance (`kmd-jc`, `schultz-jc`, `netcompany-jc` ...) is a solution of
//! its own towards the outside: its own listener serving the jobcenter receiver port
//! [`JOBCENTER_PATH`], its own client certificate when it calls the platform (SP-6), its own
//! municipalities and its own id streams. Only the SQLite file, the admin API and the server
//! certificate are shared, because they are simulator plumbing, not part of any solution.
//!
//! Each instance sends and receives through the integrations under `flows`: SF2095 (updates
//! out, JC-1; business receipts in, KSD-2), SF2090 (case events in, acknowledged with
//! `SendForretningsSvar` MODTAGET, KSD-10) and SF2093 (extension requests in, answered per the
//! instance's [`VendorPolicy`] with `SendForretningsSvarForlaengelse`, KSD-11). The receiver
//! port's generic checks come first for every received call: only KOMBIT's certificate may
//! call (anything else gets a SOAP fault naming JC-2) and only for a municipality the
//! instance serves (anything else gets a TransportKvittering FEJL naming JC-3 and is not
//! processed). Everything a vendor sends — updates and business answers alike — is stored
//! before it is sent and resent from a durable queue until the platform takes it (JC-1).
//!
//! # Layout
//! - [`config`]: [`Config`] and [`VendorConfig`] with each vendor's [`VendorPolicy`]
//!   ([`VendorConfig::policy`]), plus helpers that read a certificate's UUID and the routing
//!   table.
//! - [`faults`]: [`VendorFaults`], the hook a scenario runner gives to make a vendor answer
//!   extension requests late, acknowledge an event twice or not at all (fault scenarios).
//! - [`model`]: the boundary types of the API and the admin API ([`UpdateSpec`],
//!   [`SendOutcome`], [`UpdateInfo`], [`ReceiptInfo`], [`EventInfo`],
//!   [`ExtensionRequestInfo`]).
//! - `state`: the running process ([`Jobcenter`]): store, vendors, counters, receipt waits.
//! - Randomness: generated message data is drawn from `sim_seed::Rng` (stream
//!   `jobcenter/<instance>/data`, keyed by the start epoch).
//! - `receiver`: the receiver port each instance serves: admission (JC-2), decoding,
//!   refusals, JC-3, and dispatch to the flow of the operation.
//! - `flows`: one module per integration, and the tables the generic parts reach them by
//!   (their store migrations, the receiver's operations, the resender's queue items):
//!   - `flows::sf2095`: `generate` (an [`UpdateSpec`] → a valid request), `send` (sending
//!     and resending, JC-1), `receipt` (business receipts, KSD-2), `store` (their tables
//!     and queries).
//!   - `flows::sf2090`: `receive` (case events, KSD-10), `ack` (the acknowledgement and
//!     the policy that may leave it out), `store`.
//!   - `flows::sf2093`: `receive` (extension requests, KSD-11), `policy` (the seeded
//!     decision: which answer, when), `svar` (the answer), `store`.
//!   - `flows::sf1690`: KY messages ([`Jobcenter::send_ky`], [`KyOutcome`]) through the
//!     platform's KY exposure: stored and queued before the first attempt, resent until KY's
//!     TransportKvittering (JC-1, KY-1, KY-10); a FEJL ends the sending.
//!   - `flows::sf2096`: look-ups ([`Jobcenter::lookup`], [`Lookup`]): `HentSag` and
//!     `HentSagsListe` through the platform, journaled, never stored nor resent.
//!   - `flows::answer`: a business answer owed to KSD, from decision to the platform's
//!     TransportKvittering (JC-1); `flows::heard`: reading the platform's reply.
//! - `admin`: the JSON admin API on its own port.

pub mod config;
pub mod faults;
pub mod model;

mod admin;
mod flows;
mod receiver;
mod state;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

pub use config::{
    municipalities_by_instance, system_uuid_of, AckPolicy, Config, ExtensionPolicy, VendorConfig,
    VendorPolicy,
};
pub use faults::{VendorFaultHook, VendorFaults};
pub use flows::sf1690::{KyOutcome, KyStatus};
pub use flows::sf2096::{Lookup, LookupOutcome};
pub use model::{
    AnswerInfo, AnswerState, EventInfo, ExtensionDecision, ExtensionRequestInfo, ReceiptInfo,
    SendOutcome, UpdateInfo, UpdateSpec, UpdateStatus,
};
pub use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
pub use state::Jobcenter;

/// The path of every vendor's receiver port (operations in the JC namespace:
/// `ModtagForretningsSvar`, `ModtagHaendelse`, `ModtagAnmodningForlaengelse`).
pub const JOBCENTER_PATH: &str = "/jobcenter/Sygefravaer/2";

/// Every table batch of `jobcenter.sqlite`, in the order the process runs them at open: the
/// journal's, the process's own, each integration's. Public so that tools and tests that
/// write a jobcenter history without running one (the checkers' fixtures) create the real
/// tables instead of copies.
pub fn migrations() -> Vec<&'static str> {
    let mut all = vec![
        sim_store::JOURNAL_MIGRATION,
        sim_store::OUTBOX_MIGRATION,
        state::META_MIGRATION,
    ];
    all.extend_from_slice(flows::MIGRATIONS);
    all
}

/// Why the jobcenter process could not start, or why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum JobcenterError {
    /// Certificates or keys could not be loaded, or TLS could not be set up.
    #[error("TLS setup: {0}")]
    Tls(#[from] sim_kit::TransportError),
    /// The state directory or its database could not be used.
    #[error("state: {0}")]
    Store(#[from] sim_store::StoreError),
    /// A configuration value is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// No such vendor instance.
    #[error("unknown instance '{0}'")]
    UnknownInstance(String),
    /// The instance does not serve that municipality (JC-3): it may not act for it.
    #[error("JC-3: instance '{instance}' does not serve municipality {municipality}")]
    NotServed {
        /// The instance.
        instance: String,
        /// The municipality asked for.
        municipality: String,
    },
    /// An override in an [`UpdateSpec`] is not a valid value.
    #[error("update spec: {0}")]
    Spec(String),
    /// No update with that TransaktionIdentifikator.
    #[error("no update with TransaktionIdentifikator {0}")]
    UnknownUpdate(String),
    /// The server task ended abnormally.
    #[error("task: {0}")]
    Task(String),
    /// Serving stopped with an error.
    #[error(transparent)]
    Run(#[from] sim_kit::program::RunError),
    /// Socket trouble.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// The sockets the process serves on: one mTLS listener per vendor instance (keyed by
/// instance name, each a solution the platform routes to), and the admin API.
#[derive(Debug)]
pub struct Listeners {
    /// Instance name → its receiver port's listener.
    pub vendors: BTreeMap<String, tokio::net::TcpListener>,
    /// Admin API (plain HTTP, JSON; never a vendor's port).
    pub admin: tokio::net::TcpListener,
}

impl Listeners {
    /// The bound addresses, for printing and tests.
    pub fn addrs(&self) -> std::io::Result<(BTreeMap<String, SocketAddr>, SocketAddr)> {
        let mut vendors = BTreeMap::new();
        for (name, l) in &self.vendors {
            vendors.insert(name.clone(), l.local_addr()?);
        }
        Ok((vendors, self.admin.local_addr()?))
    }
}

/// The running servers of [`start`]; await it to learn how they ended.
pub type Serving = tokio::task::JoinHandle<Result<(), JobcenterError>>;

/// Opens the state, loads every certificate and starts serving: one mTLS receiver port per
/// vendor, the admin API, and the resumption of updates and answers a previous run left
/// unsent. Returns once everything is listening, with a [`Jobcenter`] handle for sending and
/// waiting in-process (the `sim` CLI and tests) and the task that ends after `shutdown`.
/// Each instance acknowledges SF2090 events and answers SF2093 requests per its
/// [`VendorConfig::policy`].
///
/// Configuration mistakes (a listener for an unknown instance, an instance without a
/// listener, bad files, a policy that cannot be drawn from) are returned here, before
/// anything is served.
pub async fn start(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(Jobcenter, Serving), JobcenterError> {
    sim_kit::install_crypto_provider();
    for name in listeners.vendors.keys() {
        if !config.vendors.iter().any(|v| &v.instance == name) {
            return Err(JobcenterError::Config(format!(
                "a listener is given for '{name}', which is not a configured vendor instance"
            )));
        }
    }
    for v in &config.vendors {
        if !listeners.vendors.contains_key(&v.instance) {
            return Err(JobcenterError::Config(format!(
                "vendor instance '{}' has no listener",
                v.instance
            )));
        }
    }
    let server_tls = sim_kit::config::server_tls(&config.server, &config.client_trust)?;
    let jc = Jobcenter::open(&config).await?;

    let stop = sim_kit::shutdown::Shutdown::from_future(shutdown);

    let data = listeners
        .vendors
        .into_iter()
        .map(|(instance, listener)| {
            let router = receiver::router(jc.clone(), instance.clone());
            let router = sim_kit::faults::apply(router, &instance, &config.faults);
            (listener, server_tls.clone(), router)
        })
        .collect();
    let resender = jc.clone();
    let resends = jc.inner.resends.clone();
    let backoff = jc.inner.resend_backoff.clone();
    let stopped = stop.wait();
    let retention = sim_kit::program::retention_worker(
        jc.inner.journal.clone(),
        config.journal_retention,
        config.clock.clone(),
        stop.wait(),
    );
    let program = sim_kit::program::Program {
        data,
        admin: (listeners.admin, admin::router(jc.clone())),
        admin_token: config.admin_token.clone(),
        // JC-1: the background resender, never giving an update or an answer up.
        workers: vec![Box::pin(async move {
            resends
                .run(
                    backoff,
                    RESEND_CONCURRENCY,
                    move |item| flows::deliver(resender.clone(), item),
                    stopped,
                )
                .await;
        }) as sim_kit::program::Worker]
        .into_iter()
        .chain(retention)
        .collect(),
    };
    let serving = tokio::spawn(async move {
        sim_kit::program::serve_program(program, &stop)
            .await
            .map_err(JobcenterError::from)
    });
    Ok((jc, serving))
}

/// Background resends in flight at once: enough to empty the queue quickly when the platform
/// returns, few enough not to flood it the moment it does.
const RESEND_CONCURRENCY: usize = 16;

/// Runs every vendor instance and the admin API until `shutdown` completes.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), JobcenterError> {
    let (_jc, serving) = start(listeners, config, shutdown).await?;
    serving
        .await
        .map_err(|e| JobcenterError::Task(e.to_string()))?
}
