//! The running process: one store and journal, the vendor instances with their clients and
//! id streams, counters and the wait for a business receipt. What an integration stores and
//! queries lives with its flow (e.g. `flows::sf2095::store`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_kit::config::{Endpoint, SystemRef};
use sim_kit::ids::IdStream;
use sim_kit::soap::SoapClient;
use sim_store::{Backoff, Clock, Db, Journal, Outbox};
use sim_wire::{Cvr, Uuid};
use tokio::sync::watch;

use crate::config::{Config, VendorPolicy};
use crate::flows::sf2095::store;
use crate::flows::{sf2090, sf2093};
use crate::model::ReceiptInfo;
use crate::model::UpdateStatus;
use crate::JobcenterError;
use sim_seed::Rng;

/// The process's own table: `jc_meta` holds the start counter that keeps ids unique across
/// restarts. The integrations bring theirs ([`crate::flows::MIGRATIONS`]).
pub(crate) const META_MIGRATION: &str =
    "CREATE TABLE IF NOT EXISTS jc_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);";

/// One vendor solution instance, as the running process holds it.
pub(crate) struct Vendor {
    /// Instance name, e.g. `kmd-jc`.
    pub instance: String,
    /// Vendor name, e.g. `KMD`.
    pub vendor: String,
    /// `RegistreringITsystem` in its headers.
    pub system_uuid: Uuid,
    /// The municipalities it serves (JC-2, JC-3), in configured order. Changeable at run time:
    /// a municipality moving to another vendor (SP-3) moves here too.
    pub municipalities: std::sync::RwLock<Vec<Cvr>>,
    /// Calls the platform presenting this instance's own certificate (SP-6).
    pub client: SoapClient,
    /// TransaktionIdentifikatorer of its updates.
    pub tids: IdStream,
    /// Other UUIDs in its messages (NemRefusionIdentifier).
    pub ids: IdStream,
    /// CallUUIDs of the faults its receiver port answers with.
    pub calls: IdStream,
    /// CPRs, employers, dates, codes.
    pub data: Mutex<Rng>,
    /// How it acknowledges SF2090 events and answers SF2093 extension requests.
    pub policy: VendorPolicy,
}

impl Vendor {
    /// Whether the instance serves the municipality (JC-2, JC-3).
    pub fn serves(&self, m: &Cvr) -> bool {
        self.municipalities
            .read()
            .expect("municipalities lock")
            .contains(m)
    }

    /// The municipalities it serves now.
    pub fn municipalities(&self) -> Vec<Cvr> {
        self.municipalities
            .read()
            .expect("municipalities lock")
            .clone()
    }
}

/// Everything the handlers and the API need.
pub(crate) struct Inner {
    pub clock: Clock,
    /// The run's seed: every per-message decision is drawn from it (`sim_seed`).
    pub seed: u64,
    /// Injected misbehaviour towards KSD (fault scenarios), asked by the SF2090 and SF2093
    /// flows; none outside scenario runs.
    pub vendor_faults: crate::faults::VendorFaults,
    pub db: Db,
    pub journal: Journal,
    pub vendors: BTreeMap<String, Vendor>,
    /// Instance names in configured order: the first is the default sender.
    pub order: Vec<String>,
    pub platform: Endpoint,
    /// The platform's KY exposure (SF1690): where [`Jobcenter::send_ky`] calls.
    pub ky_platform: String,
    /// The only caller the receiver ports accept (JC-2).
    pub kombit: SystemRef,
    pub max_send_attempts: u32,
    /// How long one call to the platform may take: a sender's quick attempts last at most
    /// this much each, which SF1690 waits out before its resender takes a message over.
    pub call_timeout: Duration,
    /// SF1690 messages whose sender's quick attempts are running: the resender leaves them
    /// alone meanwhile (memory only: a crash ends the attempts, and the resender takes over).
    pub ky_in_flight: Mutex<std::collections::HashSet<String>>,
    /// Waits between the quick attempts while a sender waits (virtual time).
    pub backoff: Backoff,
    /// The background resender's queue (JC-1): updates without a TransportKvittering and
    /// the business answers owed to KSD (`flows::deliver` tells them apart).
    pub resends: Outbox,
    /// Its waits: doubling from a second to `resend_max_backoff_ms`, jittered.
    pub resend_backoff: Backoff,
    /// Bumped after every stored business receipt; waiters re-check when it changes.
    pub receipts: watch::Sender<u64>,
    /// Who waits for an update's TransportKvittering, by TransaktionIdentifikator: told once,
    /// after the attempt that got it has committed (no polling, however many are owned).
    pub transport_waiters:
        Mutex<std::collections::HashMap<String, Vec<tokio::sync::oneshot::Sender<UpdateStatus>>>>,
    /// Distinct business receipts stored: counted at open, then bumped after each first
    /// delivery commits, so that polling it (a run's progress and drain) reads no table.
    pub stored_receipts: std::sync::atomic::AtomicU64,
}

/// The jobcenter process, for sending and waiting in-process (the `sim` CLI, tests) while
/// [`crate::start`]'s servers run. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Jobcenter {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Jobcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobcenter")
            .field("instances", &self.inner.order)
            .finish_non_exhaustive()
    }
}

impl Jobcenter {
    /// Checks the configuration (each vendor's policy included), opens the state and builds
    /// a client per instance.
    pub(crate) async fn open(config: &Config) -> Result<Jobcenter, JobcenterError> {
        let checked = check(config)?;
        let (db, epoch, stored_receipts) = open_store(config).await?;
        let timeout = Duration::from_millis(config.call_timeout_ms);
        let mut vendors = BTreeMap::new();
        let mut order = Vec::new();
        for (v, (system_uuid, municipalities)) in config.vendors.iter().zip(checked) {
            let http = sim_kit::config::client(&v.identity, &config.server_trust, timeout)?;
            let stream = |what: &str| format!("jobcenter/{}/{what}", v.instance);
            vendors.insert(
                v.instance.clone(),
                Vendor {
                    instance: v.instance.clone(),
                    vendor: v.vendor.clone(),
                    system_uuid,
                    municipalities: std::sync::RwLock::new(municipalities),
                    client: SoapClient::new(http),
                    tids: IdStream::new(config.seed, &stream("tid"), epoch),
                    ids: IdStream::new(config.seed, &stream("ids"), epoch),
                    calls: IdStream::new(config.seed, &stream("call"), epoch),
                    data: Mutex::new(Rng::keyed(config.seed, &stream("data"), epoch)),
                    policy: v.policy.clone(),
                },
            );
            order.push(v.instance.clone());
        }
        let (receipts, _) = watch::channel(0);
        let db_for_resends = db.clone();
        Ok(Jobcenter {
            inner: Arc::new(Inner {
                clock: config.clock.clone(),
                seed: config.seed,
                vendor_faults: config.vendor_faults.clone(),
                journal: Journal::new(db.clone()),
                db,
                vendors,
                order,
                platform: config.platform.clone(),
                ky_platform: crate::flows::sf1690::ky_url(config),
                kombit: config.kombit_system.clone(),
                max_send_attempts: config.max_send_attempts.max(1),
                call_timeout: timeout,
                ky_in_flight: Mutex::default(),
                // A vendor resends through the platform's service windows (SP-9), which last
                // up to eight hours (the quarterly one): doubling from 100 ms up to 5 minutes
                // outlasts that within a scenario run's attempt budget, where the outboxes'
                // 10 s cap would give up after 25 minutes.
                backoff: Backoff {
                    max: std::time::Duration::from_secs(300),
                    ..Backoff::default()
                },
                resends: Outbox::new(db_for_resends, config.clock.clone()),
                resend_backoff: Backoff {
                    initial: Duration::from_secs(1),
                    factor: 2.0,
                    max: Duration::from_millis(config.resend_max_backoff_ms.max(1)),
                    jitter: 0.5,
                },
                receipts,
                transport_waiters: Mutex::default(),
                stored_receipts: std::sync::atomic::AtomicU64::new(stored_receipts),
            }),
        })
    }

    /// Makes `instance` serve `municipality` or stop serving it (a municipality changing
    /// vendor, SP-3); returns whether anything changed.
    pub fn set_serves(
        &self,
        instance: &str,
        municipality: Cvr,
        serves: bool,
    ) -> Result<bool, JobcenterError> {
        let v = self.vendor(instance)?;
        let mut ms = v.municipalities.write().expect("municipalities lock");
        let had = ms.contains(&municipality);
        if serves && !had {
            ms.push(municipality);
        } else if !serves && had {
            ms.retain(|m| *m != municipality);
        }
        Ok(had != serves)
    }

    /// The configured instance names, in configured order.
    pub fn instances(&self) -> Vec<String> {
        self.inner.order.clone()
    }

    pub(crate) fn vendor(&self, name: &str) -> Result<&Vendor, JobcenterError> {
        self.inner
            .vendors
            .get(name)
            .ok_or_else(|| JobcenterError::UnknownInstance(name.to_string()))
    }

    /// Waits (real time, at most `timeout`) until the business receipt of `transaktion_id`
    /// has been stored, and returns it; `None` on timeout.
    ///
    /// Real rather than virtual time because this bounds how long a *caller* waits, not a
    /// simulated event.
    pub async fn wait_for_receipt(
        &self,
        transaktion_id: &str,
        timeout: Duration,
    ) -> Option<ReceiptInfo> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.receipts.subscribe();
        loop {
            // Marked seen *before* the look-up: a receipt stored after the look-up changes
            // the value again and ends the wait below.
            rx.borrow_and_update();
            match self.receipt(transaktion_id).await {
                Ok(Some(r)) => return Some(r),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "looking up a receipt"),
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }

    /// Waits until the update has a TransportKvittering and returns its status: `accepted`
    /// or `rejected`; `sent` when `timeout` passes first (still owned, being resent); `None`
    /// for an update this vendor does not know.
    pub async fn wait_for_transport(
        &self,
        transaktion_id: &str,
        timeout: Duration,
    ) -> Result<Option<UpdateStatus>, JobcenterError> {
        // Registered *before* the look-up: an outcome recorded after it is still told.
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner
            .transport_waiters
            .lock()
            .map_err(|_| JobcenterError::Task("waiters lock poisoned".into()))?
            .entry(transaktion_id.to_string())
            .or_default()
            .push(tx);
        let done = match self.update(transaktion_id).await? {
            None => Some(None),
            Some(u) if u.status != UpdateStatus::Sent => Some(Some(u.status)),
            Some(_) => None,
        };
        let result = match done {
            Some(r) => r,
            None => Some(
                tokio::time::timeout(timeout, rx)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or(UpdateStatus::Sent),
            ),
        };
        if result != Some(UpdateStatus::Accepted) && result != Some(UpdateStatus::Rejected)
            || done.is_some()
        {
            self.forget_waiters(transaktion_id);
        }
        Ok(result)
    }

    /// Tells everyone waiting for `transaktion_id`'s TransportKvittering (after it committed).
    pub(crate) fn tell_transport(&self, transaktion_id: &str, status: UpdateStatus) {
        let waiting = self
            .inner
            .transport_waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(transaktion_id));
        for tx in waiting.into_iter().flatten() {
            let _ = tx.send(status);
        }
    }

    /// Drops the waiters of `transaktion_id` whose callers gave up (closed receivers).
    pub(crate) fn forget_waiters(&self, transaktion_id: &str) {
        if let Ok(mut w) = self.inner.transport_waiters.lock() {
            if let Some(list) = w.get_mut(transaktion_id) {
                list.retain(|tx| !tx.is_closed());
                if list.is_empty() {
                    w.remove(transaktion_id);
                }
            }
        }
    }

    /// The journal entries that match `filter` (every message sent or received).
    pub async fn journal(
        &self,
        filter: sim_store::JournalFilter,
    ) -> Result<Vec<sim_store::JournalRow>, JobcenterError> {
        Ok(self.inner.journal.query(filter).await?)
    }

    /// How many distinct business receipts are stored (cheap: for polling a backlog; no
    /// table is read).
    pub async fn receipt_count(&self) -> Result<u64, JobcenterError> {
        Ok(self
            .inner
            .stored_receipts
            .load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Counts for dashboards and checkers: journal entries by operation/direction/outcome,
    /// updates by status, receipts (distinct and deliveries), the updates the resender holds,
    /// SF2090 events with their acknowledgements and SF2093 requests with their decisions and
    /// answers.
    pub async fn counters(&self) -> Result<serde_json::Value, JobcenterError> {
        let journal = self.inner.journal.counters().await?;
        let counts = self.inner.db.read(store::counts).await?;
        let resend_pending = self.inner.db.read(store::queued_updates).await?;
        let events = self
            .inner
            .db
            .read(|c| sf2090::ACKNOWLEDGEMENT.counts(c))
            .await?;
        let (requests, decisions) = self
            .inner
            .db
            .read(|c| Ok((sf2093::ANSWER.counts(c)?, sf2093::store::decisions(c)?)))
            .await?;
        Ok(serde_json::json!({
            "journal": journal,
            "updates": counts.updates,
            "receipts": counts.receipts,
            "receipt_deliveries": counts.deliveries,
            "resend_pending": resend_pending,
            "events": {
                "received": events.received,
                "deliveries": events.deliveries,
                "acknowledgements": events.answers,
            },
            "extension_requests": {
                "received": requests.received,
                "deliveries": requests.deliveries,
                "decisions": decisions,
                "answers": requests.answers,
            },
        }))
    }
}

/// Checks what the configuration says before anything is opened: each instance's
/// `system_uuid` and municipalities, in configured order, and that each instance's policy
/// can be drawn from.
fn check(config: &Config) -> Result<Vec<(Uuid, Vec<Cvr>)>, JobcenterError> {
    if config.vendors.is_empty() {
        return Err(JobcenterError::Config("no vendor instances".into()));
    }
    for v in &config.vendors {
        if let Some(problem) = v.policy.problem() {
            return Err(JobcenterError::Config(format!(
                "vendor '{}' policy: {problem}",
                v.instance
            )));
        }
    }
    config
        .kombit_system
        .cvr
        .parse::<Cvr>()
        .map_err(|e| JobcenterError::Config(format!("kombit_system: {e}")))?;
    let mut checked = Vec::new();
    for (n, v) in config.vendors.iter().enumerate() {
        let what = |e: String| JobcenterError::Config(format!("vendor '{}': {e}", v.instance));
        if config.vendors[..n].iter().any(|c| c.instance == v.instance) {
            return Err(what("configured twice".into()));
        }
        let system_uuid: Uuid = v
            .system_uuid
            .parse()
            .map_err(|e| what(format!("system_uuid: {e}")))?;
        let municipalities = v
            .municipalities
            .iter()
            .map(|m| {
                m.parse::<Cvr>()
                    .map_err(|e| what(format!("municipality: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        checked.push((system_uuid, municipalities));
    }
    Ok(checked)
}

/// Opens `jobcenter.sqlite` with every table, counts this start (the epoch that keeps id
/// streams unique across restarts) and the business receipts already stored.
async fn open_store(config: &Config) -> Result<(Db, u64, u64), JobcenterError> {
    std::fs::create_dir_all(&config.state_dir)?;
    let now = config.clock.now();
    let db = Db::open(
        &config.state_dir.join("jobcenter.sqlite"),
        &crate::migrations(),
    )?;
    let (epoch, stored_receipts): (i64, i64) = db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO jc_meta (k, v) VALUES ('epoch', 1)
                 ON CONFLICT(k) DO UPDATE SET v = v + 1",
                [],
            )?;
            let epoch =
                tx.query_row("SELECT v FROM jc_meta WHERE k = 'epoch'", [], |r| r.get(0))?;
            let adopted = store::adopt_unanswered(tx, now)?;
            if adopted > 0 {
                tracing::info!(
                    count = adopted,
                    "updates left without a TransportKvittering: queued for resending (JC-1)"
                );
            }
            Ok((epoch, store::count_receipts(tx)?))
        })
        .await?;
    Ok((
        db,
        epoch as u64,
        u64::try_from(stored_receipts).unwrap_or(0),
    ))
}
