//! The running process: one store and journal, the vendor instances with their clients and
//! id streams, and the queries the API and the admin API share.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{OptionalExtension, Row};
use sim_kit::config::{Endpoint, SystemRef};
use sim_kit::ids::IdStream;
use sim_kit::soap::SoapClient;
use sim_store::{
    from_unix_millis, Backoff, Clock, Db, Direction, Journal, JournalEntry, JOURNAL_MIGRATION,
};
use sim_wire::{Cvr, Uuid};
use tokio::sync::watch;

use crate::config::Config;
use crate::model::{ReceiptInfo, UpdateInfo, UpdateStatus};
use crate::rng::SplitMix;
use crate::JobcenterError;

/// The process's own tables. `jc_updates`: every update a vendor sent (and owns until a
/// TransportKvittering, JC-1), with its business receipt's code once correlated.
/// `jc_receipts`: every business receipt received, once per TransaktionIdentifikator, with
/// a delivery count (the platform delivers at least once). `jc_meta`: the start counter that
/// keeps ids unique across restarts.
const JC_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS jc_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jc_updates (
    transaktion_id  TEXT PRIMARY KEY,
    instance        TEXT NOT NULL,
    municipality    TEXT NOT NULL,
    cpr             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    transport_code  TEXT,
    fault           TEXT,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    request_xml     TEXT NOT NULL,
    response_xml    TEXT,
    business_code   TEXT,
    business_at     INTEGER
);
CREATE INDEX IF NOT EXISTS jc_updates_status ON jc_updates (status);
CREATE TABLE IF NOT EXISTS jc_receipts (
    transaktion_id   TEXT PRIMARY KEY,
    instance         TEXT NOT NULL,
    municipality     TEXT NOT NULL,
    code             TEXT NOT NULL,
    begrundelse      TEXT,
    raw              TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    last_received_at INTEGER NOT NULL,
    deliveries       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jc_receipts_instance ON jc_receipts (instance);
";

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
    pub data: Mutex<SplitMix>,
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
    pub db: Db,
    pub journal: Journal,
    pub vendors: BTreeMap<String, Vendor>,
    /// Instance names in configured order: the first is the default sender.
    pub order: Vec<String>,
    pub platform: Endpoint,
    /// The only caller the receiver ports accept (JC-2).
    pub kombit: SystemRef,
    pub max_send_attempts: u32,
    /// Waits between attempts of one send (virtual time).
    pub backoff: Backoff,
    /// Bumped after every stored business receipt; waiters re-check when it changes.
    pub receipts: watch::Sender<u64>,
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
    /// Checks the configuration, opens the state and builds a client per instance.
    pub(crate) async fn open(config: &Config) -> Result<Jobcenter, JobcenterError> {
        if config.vendors.is_empty() {
            return Err(JobcenterError::Config("no vendor instances".into()));
        }
        config
            .kombit_system
            .cvr
            .parse::<Cvr>()
            .map_err(|e| JobcenterError::Config(format!("kombit_system: {e}")))?;
        let timeout = Duration::from_millis(config.call_timeout_ms);
        let mut checked = Vec::new();
        for v in &config.vendors {
            let what = |e: String| JobcenterError::Config(format!("vendor '{}': {e}", v.instance));
            if checked
                .iter()
                .any(|(c, ..): &(String, _, _)| c == &v.instance)
            {
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
            checked.push((v.instance.clone(), system_uuid, municipalities));
        }

        std::fs::create_dir_all(&config.state_dir)?;
        let db = Db::open(
            &config.state_dir.join("jobcenter.sqlite"),
            &[JOURNAL_MIGRATION, JC_MIGRATION],
        )?;
        let (epoch, stored_receipts): (i64, i64) = db
            .write(|tx| {
                tx.execute(
                    "INSERT INTO jc_meta (k, v) VALUES ('epoch', 1)
                     ON CONFLICT(k) DO UPDATE SET v = v + 1",
                    [],
                )?;
                let epoch =
                    tx.query_row("SELECT v FROM jc_meta WHERE k = 'epoch'", [], |r| r.get(0))?;
                let receipts =
                    tx.query_row("SELECT COUNT(*) FROM jc_receipts", [], |r| r.get(0))?;
                Ok((epoch, receipts))
            })
            .await?;
        let epoch = epoch as u64;

        let mut vendors = BTreeMap::new();
        let mut order = Vec::new();
        for (v, (_, system_uuid, municipalities)) in config.vendors.iter().zip(checked) {
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
                    data: Mutex::new(SplitMix::new(config.seed, &stream("data"), epoch)),
                },
            );
            order.push(v.instance.clone());
        }
        let (receipts, _) = watch::channel(0);
        Ok(Jobcenter {
            inner: Arc::new(Inner {
                clock: config.clock.clone(),
                journal: Journal::new(db.clone()),
                db,
                vendors,
                order,
                platform: config.platform.clone(),
                kombit: config.kombit_system.clone(),
                max_send_attempts: config.max_send_attempts.max(1),
                // A vendor resends through the platform's service windows (SP-9), which last
                // up to eight hours (the quarterly one): doubling from 100 ms up to 5 minutes
                // outlasts that within a scenario run's attempt budget, where the outboxes'
                // 10 s cap would give up after 25 minutes.
                backoff: Backoff {
                    max: std::time::Duration::from_secs(300),
                    ..Backoff::default()
                },
                receipts,
                stored_receipts: std::sync::atomic::AtomicU64::new(
                    u64::try_from(stored_receipts).unwrap_or(0),
                ),
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

    /// The update with this TransaktionIdentifikator, with its business receipt if any.
    pub async fn update(&self, transaktion_id: &str) -> Result<Option<UpdateInfo>, JobcenterError> {
        let tid = transaktion_id.to_string();
        let found = self
            .inner
            .db
            .read(move |c| {
                c.query_row(
                    &format!("{UPDATE_SELECT} WHERE transaktion_id = ?1"),
                    [&tid],
                    update_row,
                )
                .optional()
            })
            .await?;
        let Some(mut u) = found else { return Ok(None) };
        u.receipt = self.receipt(transaktion_id).await?;
        u.business_raw = u.receipt.as_ref().map(|r| r.raw.clone());
        Ok(Some(u))
    }

    /// Updates, newest first, optionally of one instance or status.
    pub async fn updates(
        &self,
        instance: Option<String>,
        status: Option<UpdateStatus>,
        limit: u32,
    ) -> Result<Vec<UpdateInfo>, JobcenterError> {
        let status = status.map(|s| s.as_str().to_string());
        Ok(self
            .inner
            .db
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{UPDATE_SELECT} WHERE (?1 IS NULL OR instance = ?1)
                     AND (?2 IS NULL OR status = ?2) ORDER BY created_at DESC, rowid DESC LIMIT ?3"
                ))?;
                let rows = st.query_map(rusqlite::params![instance, status, limit], update_row)?;
                rows.collect()
            })
            .await?)
    }

    /// The business receipt for this TransaktionIdentifikator, if one arrived.
    pub async fn receipt(
        &self,
        transaktion_id: &str,
    ) -> Result<Option<ReceiptInfo>, JobcenterError> {
        let tid = transaktion_id.to_string();
        Ok(self
            .inner
            .db
            .read(move |c| {
                c.query_row(
                    &format!("{RECEIPT_SELECT} WHERE transaktion_id = ?1"),
                    [&tid],
                    receipt_row,
                )
                .optional()
            })
            .await?)
    }

    /// Business receipts received, oldest first, optionally by one instance.
    pub async fn receipts(
        &self,
        instance: Option<String>,
    ) -> Result<Vec<ReceiptInfo>, JobcenterError> {
        Ok(self
            .inner
            .db
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{RECEIPT_SELECT} WHERE (?1 IS NULL OR instance = ?1) ORDER BY received_at, rowid"
                ))?;
                let rows = st.query_map([instance], receipt_row)?;
                rows.collect()
            })
            .await?)
    }

    /// When each stored business receipt first arrived: (TransaktionIdentifikator, virtual
    /// time), in arrival order. What a latency measurement needs, without the documents
    /// ([`Jobcenter::receipts`] of a month run holds half a gigabyte of XML).
    pub async fn receipt_times(
        &self,
    ) -> Result<Vec<(String, time::OffsetDateTime)>, JobcenterError> {
        Ok(self
            .inner
            .db
            .read(|c| {
                let mut st = c.prepare_cached(
                    "SELECT transaktion_id, received_at FROM jc_receipts
                     ORDER BY received_at, rowid",
                )?;
                let rows = st.query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, from_unix_millis(r.get(1)?)?))
                })?;
                rows.collect()
            })
            .await?)
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
    /// updates by status, receipts (distinct and deliveries).
    pub async fn counters(&self) -> Result<serde_json::Value, JobcenterError> {
        let journal = self.inner.journal.counters().await?;
        let (by_status, receipts, deliveries) = self
            .inner
            .db
            .read(|c| {
                let mut st = c.prepare_cached(
                    "SELECT instance, status, COUNT(*) FROM jc_updates GROUP BY instance, status",
                )?;
                let mut by: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
                for row in st.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })? {
                    let (i, s, n) = row?;
                    by.entry(i).or_default().insert(s, n);
                }
                let (n, d): (i64, i64) = c.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM jc_receipts",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                Ok((by, n, d))
            })
            .await?;
        Ok(serde_json::json!({
            "journal": journal,
            "updates": by_status,
            "receipts": receipts,
            "receipt_deliveries": deliveries,
        }))
    }

    /// A journal entry with the common fields filled and the virtual now.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entry(
        &self,
        direction: Direction,
        operation: String,
        transaktion_id: Option<String>,
        call_uuid: Option<String>,
        peer: Option<String>,
        municipality: Option<String>,
        cpr: Option<String>,
        outcome: String,
        detail: Option<String>,
        raw: String,
    ) -> JournalEntry {
        JournalEntry {
            at: self.inner.clock.now(),
            direction,
            operation,
            transaktion_id,
            call_uuid,
            peer,
            municipality,
            cpr,
            outcome,
            detail,
            raw,
        }
    }

    /// Journals entries in one commit; a failure is logged (the journal is evidence, not a
    /// reason to fail the exchange it describes).
    pub(crate) async fn journal_all(&self, entries: Vec<JournalEntry>) {
        let r = self
            .inner
            .db
            .write(move |tx| {
                for e in &entries {
                    Journal::record_in(tx, e)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "journal write failed");
        }
    }
}

const UPDATE_SELECT: &str = "SELECT transaktion_id, instance, municipality, cpr, status, attempts,
    transport_code, fault, created_at, request_xml, response_xml, business_code FROM jc_updates";

fn update_row(r: &Row<'_>) -> rusqlite::Result<UpdateInfo> {
    let status: String = r.get(4)?;
    Ok(UpdateInfo {
        transaktion_id: r.get(0)?,
        instance: r.get(1)?,
        municipality: r.get(2)?,
        cpr: r.get(3)?,
        status: UpdateStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown update status {status:?}").into(),
            )
        })?,
        attempts: r.get(5)?,
        transport_code: r.get(6)?,
        fault: r.get(7)?,
        created_at: from_unix_millis(r.get(8)?)?,
        request_xml: r.get(9)?,
        response_xml: r.get(10)?,
        business_code: r.get(11)?,
        business_raw: None,
        receipt: None,
    })
}

const RECEIPT_SELECT: &str = "SELECT transaktion_id, instance, municipality, code, begrundelse,
    raw, received_at, deliveries FROM jc_receipts";

fn receipt_row(r: &Row<'_>) -> rusqlite::Result<ReceiptInfo> {
    Ok(ReceiptInfo {
        transaktion_id: r.get(0)?,
        instance: r.get(1)?,
        municipality: r.get(2)?,
        code: r.get(3)?,
        begrundelse: r.get(4)?,
        raw: r.get(5)?,
        received_at: from_unix_millis(r.get(6)?)?,
        deliveries: r.get(7)?,
    })
}
