//! SF2095's tables: the updates a vendor sent and the business receipts it received, their
//! writes (each inside the caller's transaction, so a row and its journal entries commit
//! together) and the queries the API and the admin API answer from.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, Transaction};
use sim_store::{from_unix_millis, unix_millis};
use time::OffsetDateTime;

use crate::flows::answer;
use crate::model::{ReceiptInfo, UpdateInfo, UpdateStatus};
use crate::state::Jobcenter;
use crate::JobcenterError;

/// `jc_updates`: every update a vendor sent (and owns until a TransportKvittering, JC-1),
/// with its business receipt's code once correlated. `jc_receipts`: every business receipt
/// received, once per TransaktionIdentifikator, with a delivery count (the platform delivers
/// at least once).
pub(crate) const MIGRATION: &str = "
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

/// An update as it is owned, before its first attempt.
pub(crate) struct NewUpdate {
    pub transaktion_id: String,
    pub instance: String,
    pub municipality: String,
    pub cpr: String,
    pub xml: String,
    pub created_at: OffsetDateTime,
}

/// Stores a new update as `sent` with no attempt yet; `false` (nothing stored) when its
/// TransaktionIdentifikator is already taken: an update is made once, resent as it is.
pub(crate) fn insert_update(tx: &Transaction<'_>, u: &NewUpdate) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT INTO jc_updates (transaktion_id, instance, municipality, cpr, status,
             attempts, created_at, request_xml)
         VALUES (?1, ?2, ?3, ?4, 'sent', 0, ?5, ?6)
         ON CONFLICT (transaktion_id) DO NOTHING",
        )?
        .execute(rusqlite::params![
            u.transaktion_id,
            u.instance,
            u.municipality,
            u.cpr,
            unix_millis(u.created_at),
            u.xml
        ])?;
    Ok(n == 1)
}

/// What one attempt changed about an update.
pub(crate) struct Attempted {
    pub transaktion_id: String,
    pub status: UpdateStatus,
    pub transport_code: Option<String>,
    pub fault: Option<String>,
    pub at: OffsetDateTime,
    /// The answer's body; `None` keeps the last one stored.
    pub response_xml: Option<String>,
}

/// Counts one more attempt and stores its result — unless a TransportKvittering was
/// already recorded: an attempt that ends later (a resend racing the background resender)
/// never turns an answered update back into an owned one.
pub(crate) fn record_attempt(tx: &Transaction<'_>, a: &Attempted) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE jc_updates SET attempts = attempts + 1, last_attempt_at = ?5,
             status = CASE WHEN status = 'sent' THEN ?2 ELSE status END,
             transport_code = CASE WHEN status = 'sent' THEN ?3 ELSE transport_code END,
             fault = CASE WHEN status = 'sent' THEN ?4 ELSE fault END,
             response_xml = CASE WHEN status = 'sent' THEN COALESCE(?6, response_xml)
                                 ELSE response_xml END
         WHERE transaktion_id = ?1",
    )?
    .execute(rusqlite::params![
        a.transaktion_id,
        a.status.as_str(),
        a.transport_code,
        a.fault,
        unix_millis(a.at),
        a.response_xml
    ])?;
    Ok(())
}

/// A business receipt as received, before it is stored.
pub(crate) struct NewReceipt {
    pub transaktion_id: String,
    pub instance: String,
    pub municipality: String,
    pub code: String,
    pub begrundelse: Option<String>,
    pub raw: String,
    pub at: OffsetDateTime,
}

/// What storing a receipt found.
pub(crate) struct Stored {
    /// How many times it has now been delivered (1: the first time).
    pub deliveries: i64,
    /// On a first delivery, the instance that sent the update it answers, if one did.
    pub sender: Option<String>,
}

/// Stores a receipt once per TransaktionIdentifikator (a repeated delivery is only
/// counted) and, on the first delivery, correlates it with the update it answers.
pub(crate) fn store_receipt(tx: &Transaction<'_>, r: &NewReceipt) -> rusqlite::Result<Stored> {
    let at = unix_millis(r.at);
    let deliveries: i64 = tx
        .prepare_cached(
            "INSERT INTO jc_receipts (transaktion_id, instance, municipality, code,
                 begrundelse, raw, received_at, last_received_at, deliveries)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)
             ON CONFLICT(transaktion_id) DO UPDATE
                 SET deliveries = deliveries + 1, last_received_at = excluded.last_received_at
             RETURNING deliveries",
        )?
        .query_row(
            rusqlite::params![
                r.transaktion_id,
                r.instance,
                r.municipality,
                r.code,
                r.begrundelse,
                r.raw,
                at
            ],
            |x| x.get(0),
        )?;
    if deliveries != 1 {
        return Ok(Stored {
            deliveries,
            sender: None,
        });
    }
    let sender = tx
        .prepare_cached(
            "UPDATE jc_updates SET business_code = ?2, business_at = ?3
             WHERE transaktion_id = ?1 AND business_code IS NULL
             RETURNING instance",
        )?
        .query_row(rusqlite::params![r.transaktion_id, r.code, at], |x| {
            x.get(0)
        })
        .optional()?;
    Ok(Stored { deliveries, sender })
}

/// How many distinct business receipts are stored.
pub(crate) fn count_receipts(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row("SELECT COUNT(*) FROM jc_receipts", [], |r| r.get(0))
}

/// The tables' counts, for the counters.
pub(crate) struct Counts {
    /// Updates by instance, then status.
    pub updates: BTreeMap<String, BTreeMap<String, i64>>,
    /// Distinct business receipts.
    pub receipts: i64,
    /// Their deliveries (more than `receipts`: the platform redelivered).
    pub deliveries: i64,
}

/// Updates by instance and status, distinct receipts and their deliveries.
pub(crate) fn counts(c: &rusqlite::Connection) -> rusqlite::Result<Counts> {
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
    let (receipts, deliveries) = c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM jc_receipts",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Counts {
        updates: by,
        receipts,
        deliveries,
    })
}

/// Hands an update without a TransportKvittering to the background resender (JC-1): one
/// queue item per update, first due at `due`. The item carries no copy of the document; the
/// resender reads it from `jc_updates`.
pub(crate) fn hand_over(
    tx: &Transaction<'_>,
    transaktion_id: &str,
    instance: &str,
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> rusqlite::Result<()> {
    let queued: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox WHERE key = ?1)")?
        .query_row([transaktion_id], |r| r.get(0))?;
    if !queued {
        let item = sim_store::NewOutboxItem {
            target: instance.to_string(),
            key: transaktion_id.to_string(),
            payload: String::new(),
            meta: String::new(),
        };
        sim_store::Outbox::enqueue_in_at(tx, &item, now, due)?;
    }
    Ok(())
}

/// How many updates the background resender holds (its queue also holds the business
/// answers of SF2090 and SF2093, whose items name their flow in `meta`).
pub(crate) fn queued_updates(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT COUNT(*) FROM outbox WHERE meta = ''", [], |r| {
        r.get(0)
    })
}

/// At start: every update an earlier process left without a TransportKvittering and
/// outside the resender's queue (it crashed while a sender waited, or the store predates the
/// queue) is queued, due `now`; the old "undelivered" state becomes "sent". Returns how many.
pub(crate) fn adopt_unanswered(
    tx: &Transaction<'_>,
    now: OffsetDateTime,
) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE jc_updates SET status = 'sent' WHERE status = 'undelivered'",
        [],
    )?;
    tx.execute(
        "INSERT INTO outbox (created_at, due_at, attempts, target, key, payload, meta)
         SELECT ?1, ?1, 0, u.instance, u.transaktion_id, '', ''
         FROM jc_updates u
         WHERE u.status = 'sent'
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = u.transaktion_id)
         ORDER BY u.created_at",
        [unix_millis(now)],
    )
}

impl Jobcenter {
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

    /// Updates, newest first, optionally of one instance or status: `limit` of them after
    /// skipping `offset`.
    pub async fn updates(
        &self,
        instance: Option<String>,
        status: Option<UpdateStatus>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<UpdateInfo>, JobcenterError> {
        let status = status.map(|s| s.as_str().to_string());
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        Ok(self
            .inner
            .db
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{UPDATE_SELECT} WHERE (?1 IS NULL OR instance = ?1)
                     AND (?2 IS NULL OR status = ?2) ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4"
                ))?;
                let rows = st.query_map(
                    rusqlite::params![instance, status, limit, offset],
                    update_row,
                )?;
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

    /// One page of [`Jobcenter::receipts`]: `limit` of them after skipping `offset`, in the
    /// same order (what the admin API serves: never the whole table at once).
    pub async fn receipts_page(
        &self,
        instance: Option<String>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ReceiptInfo>, JobcenterError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        Ok(self
            .inner
            .db
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{RECEIPT_SELECT} WHERE (?1 IS NULL OR instance = ?1) ORDER BY received_at, rowid LIMIT ?2 OFFSET ?3"
                ))?;
                let rows = st.query_map(
                    sim_store::rusqlite::params![instance, i64::from(limit), offset],
                    receipt_row,
                )?;
                rows.collect()
            })
            .await?)
    }

    /// Business receipts received, oldest first, optionally by one instance: all of them
    /// (the in-process API; the admin API pages).
    pub async fn receipts(
        &self,
        instance: Option<String>,
    ) -> Result<Vec<ReceiptInfo>, JobcenterError> {
        self.receipts_page(instance, 0, u32::MAX).await
    }

    /// When each stored business receipt first arrived: (TransaktionIdentifikator, virtual
    /// time), in arrival order. What a latency measurement needs, without the documents
    /// ([`Jobcenter::receipts`] of a month run holds half a gigabyte of XML).
    pub async fn receipt_times(&self) -> Result<Vec<(String, OffsetDateTime)>, JobcenterError> {
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
}

const UPDATE_SELECT: &str = "SELECT transaktion_id, instance, municipality, cpr, status, attempts,
    transport_code, fault, created_at, request_xml, response_xml, business_code FROM jc_updates";

fn update_row(r: &Row<'_>) -> rusqlite::Result<UpdateInfo> {
    Ok(UpdateInfo {
        transaktion_id: r.get(0)?,
        instance: r.get(1)?,
        municipality: r.get(2)?,
        cpr: r.get(3)?,
        status: answer::parsed(r, 4, "update status", UpdateStatus::parse)?,
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
