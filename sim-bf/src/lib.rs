//! `sim-bf`: the simulated Beskedfordeler, KOMBIT's message broker, as a library the platform
//! embeds (SF1612, seed 004 §3.1–§3.2; `docs/spec/beskedfordeler.md`).
//!
//! The platform's STAR job [`Beskedfordeler::publish`]es one `Haendelsesbesked` per STAR event
//! (SP-11), idempotently by its `ObjektRegistreringId` (STAR's MessageIdentifier, SP-10). A
//! subscription (seed 004 TS105; it needs an approved agreement, TS103/TS104) takes one message
//! type for the persons of one value list (BF-1): a message goes to it only if
//! `RelateretObjekt[0]` is a Person whose CPR is in the subscriber's list **when the message is
//! published** — a CPR added later does not bring older messages, one removed gets nothing
//! published afterwards, and a message already handed to a subscription stays deliverable.
//! Delivery is at least once (BF-2): by **pull** (fetch leases a delivery for a visibility
//! timeout, ack ends it; unacked it comes again once the lease ends) or by **push** (an HTTPS
//! POST of `ModtagBeskedInput` with the platform's certificate, done only when answered
//! StatusKode 20, else tried again with backoff in virtual time).
//!
//! Two brokers behind one API ([`Broker`]): the embedded one keeps everything in
//! `<state_dir>/bf.sqlite` and commits before it acknowledges anything; RabbitMQ
//! ([`Broker::Amqp`]) holds one durable queue per subscription, named by its UUID, gets
//! persistent messages, and `publish` returns only once RabbitMQ confirmed them. Either way the
//! subscriptions, the value lists, the published messages (for idempotency) and the journal
//! stay in `bf.sqlite`, and filtering is done by the publisher.
//!
//! # Layout
//! - [`config`]: [`BfConfig`], [`Broker`].
//! - `store`: the tables and their queries.
//! - `publish`: publishing, both brokers.
//! - `push`: the push call and its workers (the embedded outbox; a consumer per push
//!   subscription on RabbitMQ).
//! - `amqp`: the platform's RabbitMQ connection (queues, confirmed publishing).
//! - `service`: the data-plane SOAP endpoint (value lists, pull), every refusal a journaled
//!   SOAP fault.
//! - `admin`: the JSON admin routes (subscriptions, value lists, messages, deliveries).
//! - [`client`]: what a subscriber uses: the value-list client and the pullers (HTTPS to the
//!   embedded broker, AMQP to RabbitMQ) behind one [`client::Puller`] trait.

pub mod client;
pub mod config;

mod admin;
mod amqp;
mod publish;
mod push;
mod service;
mod store;

use std::path::Path;
use std::sync::Arc;

pub use config::{BfConfig, Broker};
use sim_kit::ids::IdStream;
use sim_store::{Clock, Db, Journal, Outbox, StoreError};
use sim_wire::Cvr;
pub use store::{DeliveryRow, MessageRow, Subscription, ValueListEntry};

/// Whether an organisation has an approved agreement to subscribe (seed 004 TS103/TS104): the
/// platform answers from its agreements table.
pub type Agreements = Arc<dyn Fn(&Cvr) -> bool + Send + Sync>;

/// Why the Beskedfordeler could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BfError {
    /// `bf.sqlite` failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// RabbitMQ could not be reached or did not confirm: nothing is acknowledged; try again.
    #[error("broker: {0}")]
    Broker(String),
    /// The organisation has no approved agreement (TS103/TS104): no subscription (BF-1).
    #[error("BF-1: CVR {0} has no approved agreement for the message type; a subscription needs one (TS103-TS105)")]
    NoAgreement(String),
    /// A value given is not usable (a CVR, a URL, a type).
    #[error("{0}")]
    Invalid(String),
    /// No such subscription.
    #[error("no subscription {0}")]
    NotFound(String),
}

/// What [`Beskedfordeler::publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Published now, to this many subscriptions (BF-1).
    New {
        /// Subscriptions it was given to.
        deliveries: usize,
    },
    /// Its `ObjektRegistreringId` was published before: not again (SP-10).
    Already,
}

/// A new subscription (admin API, or the ecosystem's wiring).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The subscribing organisation's CVR: its systems' certificates carry it.
    pub subscriber_cvr: String,
    /// The message type (default: STAR_SygemeldingsStatus,
    /// [`sim_wire::besked::BESKEDTYPE_SYGEMELDINGSSTATUS`]).
    #[serde(default)]
    pub beskedtype: Option<String>,
    /// The value list the filter names (default `PersonkredsSygemeldingsstatus`).
    #[serde(default)]
    pub value_list: Option<String>,
    /// Push delivery to this `https://` URL; absent: pull.
    #[serde(default)]
    pub push_url: Option<String>,
    /// The subscription's id (a UUID), when the caller fixes it — the ecosystem's wiring does,
    /// so that KSD knows its `AbonnementId` before the platform starts; absent: drawn.
    #[serde(default)]
    pub id: Option<String>,
}

/// The running Beskedfordeler. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Beskedfordeler {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// `bf.sqlite`: tables, journal, push outbox.
    pub(crate) db: Db,
    /// Every publish, delivery attempt, ack and refusal (BF-1, BF-2).
    pub(crate) journal: Journal,
    /// The embedded broker's push deliveries (durable, backoff in virtual time).
    pub(crate) outbox: Outbox,
    /// Every stored and sent time, leases and backoff.
    pub(crate) clock: Clock,
    /// TS103/TS104: who may subscribe.
    pub(crate) agreements: Agreements,
    /// What it was opened with.
    pub(crate) config: BfConfig,
    /// Delivery ids (`LeveringId`), subscription ids and CallUUIDs: deterministic from the
    /// seed, unique across restarts by the start epoch.
    pub(crate) ids: IdStream,
    /// The platform's RabbitMQ link, with [`Broker::Amqp`].
    pub(crate) amqp: Option<amqp::Amqp>,
    /// Wakes the RabbitMQ push supervisor when subscriptions change.
    pub(crate) subscriptions_changed: tokio::sync::Notify,
}

impl Beskedfordeler {
    /// Opens (or creates) `<state_dir>/bf.sqlite`. With RabbitMQ, connects, declares every
    /// subscription's queue and publishes again what was stored but never confirmed (a crash
    /// between the commit and the confirm); if RabbitMQ is down, that waits for the next
    /// publish or connection.
    pub async fn open(
        config: BfConfig,
        clock: Clock,
        agreements: Agreements,
    ) -> Result<Self, BfError> {
        sim_kit::install_crypto_provider();
        let path = config.state_dir.join("bf.sqlite");
        let db = open_db(&path).await?;
        let epoch = db.write(store::next_epoch).await?;
        let amqp = match &config.broker {
            Broker::Embedded => None,
            Broker::Amqp { url } => Some(amqp::Amqp::new(url.clone())),
        };
        let bf = Beskedfordeler {
            inner: Arc::new(Inner {
                journal: Journal::new(db.clone()),
                outbox: Outbox::new(db.clone(), clock.clone()),
                db,
                clock,
                agreements,
                ids: IdStream::new(config.seed, "bf/ids", epoch),
                config,
                amqp,
                subscriptions_changed: tokio::sync::Notify::new(),
            }),
        };
        if bf.inner.amqp.is_some() {
            if let Err(e) = publish::republish_unconfirmed(&bf.inner).await {
                tracing::warn!(error = %e, "beskedfordeler: RabbitMQ not reachable at open; unconfirmed messages wait");
            }
        }
        Ok(bf)
    }

    /// Publishes one message (SP-11) to every subscription whose value list holds its person
    /// now (BF-1). Idempotent by `ObjektRegistreringId`: a message already published is not
    /// published again ([`Published::Already`]). Durable on `Ok`: committed in `bf.sqlite`,
    /// and with RabbitMQ persistent and publisher-confirmed in every target queue. On `Err`
    /// nothing may be assumed: publish it again (it is then published once).
    pub async fn publish(
        &self,
        besked: &sim_wire::besked::Haendelsesbesked,
    ) -> Result<Published, BfError> {
        publish::publish(&self.inner, besked).await
    }

    /// The data-plane routes, to be mounted on the platform's mTLS listener: `POST
    /// /service/Beskedfordeler/1` ([`sim_wire::besked::PLATFORM_PATH`]) for the value-list
    /// service and the embedded broker's pull. The caller is the
    /// [`sim_certs::SystemIdentity`] the mTLS server puts in the request's extensions; every
    /// refusal is a SOAP fault naming its rule, journaled under a CallUUID.
    pub fn data_router(&self) -> axum::Router {
        service::router(self.clone())
    }

    /// The admin routes (JSON, plain HTTP, merged into the platform's admin API), all under
    /// `/bf/`: `subscriptions` (GET, POST; `/{id}` GET, DELETE), `value-lists`, `messages`,
    /// `deliveries`, `counters`, `journal`. Lists are pages (`?offset=&limit=`).
    pub fn admin_router(&self) -> axum::Router {
        admin::router(self.clone())
    }

    /// The background workers, each running until `stop` fires: push delivery (the embedded
    /// outbox, or one RabbitMQ consumer per push subscription).
    pub fn workers(&self, stop: &sim_kit::shutdown::Shutdown) -> Vec<sim_kit::program::Worker> {
        push::workers(&self.inner, stop)
    }

    /// Creates a subscription (seed 004 TS105) — refused without an approved agreement
    /// (TS103/TS104), journaled either way. With RabbitMQ its queue is declared first.
    pub async fn create_subscription(&self, new: NewSubscription) -> Result<Subscription, BfError> {
        admin::create_subscription(&self.inner, new).await
    }

    /// Deletes a subscription and what it has not acknowledged (its queue, with RabbitMQ).
    pub async fn delete_subscription(&self, id: &str) -> Result<(), BfError> {
        admin::delete_subscription(&self.inner, id).await
    }

    /// Every subscription (at most 10,000).
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, BfError> {
        Ok(self
            .inner
            .db
            .read(|c| store::subscriptions(c, 0, sim_store::MAX_QUERY_LIMIT))
            .await?)
    }

    /// The journal of `bf.sqlite`.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// The broker this instance uses.
    pub fn broker(&self) -> &Broker {
        &self.inner.config.broker
    }
}

/// `bf.sqlite` with its migrations (blocking file work off the runtime's threads).
async fn open_db(path: &Path) -> Result<Db, StoreError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Db::open(
            &path,
            &[
                sim_store::JOURNAL_MIGRATION,
                sim_store::OUTBOX_MIGRATION,
                store::MIGRATION,
            ],
        )
    })
    .await
    .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
}
