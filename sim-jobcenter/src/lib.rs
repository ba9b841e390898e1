//! `sim-jobcenter`: several jobcenter vendor solutions in one process (JC-4).
//!
//! Each configured instance (`kmd-jc`, `schultz-jc`, `netcompany-jc` ...) is a solution of
//! its own towards the outside: its own listener serving the jobcenter receiver port
//! [`JOBCENTER_PATH`], its own client certificate when it calls the platform (SP-6), its own
//! municipalities and its own id streams. Only the SQLite file, the admin API and the server
//! certificate are shared, because they are simulator plumbing, not part of any solution.
//!
//! Sending (JC-1): [`Jobcenter::send_update`] builds a realistic SF2095 `OpdateringFravaer`,
//! persists it (the vendor owns it from then on), sends it to the platform and resends the
//! *same* message (same TransaktionIdentifikator) on a transport error or a SOAP fault, with
//! backoff, until a TransportKvittering arrives. OK/ADVARSEL means accepted, FEJL rejected.
//! JC-1's "resend until not FEJL" means *after the case worker fixed the data*: a FEJL is
//! the sender's mistake, so resending the identical message would only get FEJL again; a
//! simulated vendor has no case worker and therefore records the rejection and stops.
//!
//! Receiving (JC-2, JC-3): `ModtagForretningsSvar` is accepted only from KOMBIT's
//! certificate (anything else gets a SOAP fault naming JC-2) and only for a municipality the
//! instance serves (anything else gets a TransportKvittering FEJL naming JC-3 and is not
//! processed). An accepted receipt is persisted and journaled in one commit *before* OK is
//! answered, correlated with the update of the same TransaktionIdentifikator, and wakes
//! whoever waits for it. A repeated delivery (the platform delivers at least once) is
//! answered OK again and only counted.
//!
//! # Layout
//! - [`config`]: [`Config`] and [`VendorConfig`], plus helpers that read a certificate's UUID
//!   and the routing table.
//! - [`model`]: the boundary types of the API and the admin API ([`UpdateSpec`],
//!   [`SendOutcome`], [`UpdateInfo`], [`ReceiptInfo`]).
//! - `state`: the running process ([`Jobcenter`]): store, vendors, journal helpers, queries.
//! - `rng`: the seeded splitmix generator behind generated message data.
//! - `generate`: [`UpdateSpec`] + virtual now → a valid `SendOpdateringFravaerRequest`.
//! - `send`: sending and resending an update to the platform (JC-1).
//! - `receiver`: the receiver port each instance serves (JC-2, JC-3; KSD-10/11 not yet).
//! - `admin`: the JSON admin API on its own port.

pub mod config;
pub mod model;

mod admin;
mod generate;
mod receiver;
mod rng;
mod send;
mod state;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

pub use config::{municipalities_by_instance, system_uuid_of, Config, VendorConfig};
pub use model::{ReceiptInfo, SendOutcome, UpdateInfo, UpdateSpec, UpdateStatus};
pub use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};
pub use state::Jobcenter;

/// The path of every vendor's receiver port (operations in the JC namespace:
/// `ModtagForretningsSvar`, `ModtagHaendelse`, `ModtagAnmodningForlaengelse`).
pub const JOBCENTER_PATH: &str = "/jobcenter/Sygefravaer/2";

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
/// vendor, the admin API, and the resumption of updates a previous run left unanswered.
/// Returns once everything is listening, with a [`Jobcenter`] handle for sending and
/// waiting in-process (the `sim` CLI and tests) and the task that ends after `shutdown`.
///
/// Configuration mistakes (a listener for an unknown instance, an instance without a
/// listener, bad files) are returned here, before anything is served.
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

    let mut tasks = tokio::task::JoinSet::new();
    for (instance, listener) in listeners.vendors {
        let router = sim_kit::faults::apply(
            receiver::router(jc.clone(), instance.clone()),
            &instance,
            &config.faults,
        );
        let tls = server_tls.clone();
        let stop = stop.wait();
        tasks.spawn(async move {
            sim_kit::serve(listener, tls, router, stop)
                .await
                .map_err(JobcenterError::from)
        });
    }
    {
        let admin = admin::router(jc.clone());
        let stop = stop.wait();
        let listener = listeners.admin;
        tasks.spawn(async move {
            axum::serve(listener, admin)
                .with_graceful_shutdown(stop)
                .await
                .map_err(JobcenterError::from)
        });
    }
    jc.resume_unanswered().await?;

    let serving = tokio::spawn(async move {
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            let r = done
                .map_err(|e| JobcenterError::Task(e.to_string()))
                .and_then(|r| r);
            if let (Ok(()), Err(e)) = (&result, r) {
                result = Err(e);
            }
        }
        result
    });
    Ok((jc, serving))
}

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
