//! SF2090's table: every case event an instance received, with the case state it told and
//! the event's acknowledgement; its writes (inside the caller's transaction, so the row, its
//! queue item and its journal entries commit together) and the queries the API answers from.

use rusqlite::{Row, Transaction};
use sim_store::{from_unix_millis, unix_millis};

use super::ACKNOWLEDGEMENT;
use crate::flows::answer::{self, answering_table, counted_once, Stored};
use crate::model::EventInfo;
use crate::state::Jobcenter;
use crate::JobcenterError;

/// `jc_events`: one row per (TransaktionIdentifikator, instance) — the same event may reach
/// two instances when a municipality changes vendor (SP-3), and each owes its own
/// acknowledgement — with a delivery count (the platform delivers at least once), the case
/// state the event told and the acknowledgement (`flows::answer`'s columns).
pub(crate) const MIGRATION: &str = answering_table!(
    "jc_events",
    "
    haendelse_type   TEXT NOT NULL,
    sag_id           TEXT NOT NULL,
    cpr              TEXT NOT NULL,
    status           TEXT NOT NULL,
    varighed_kode    TEXT NOT NULL,
    haendelse_at     TEXT NOT NULL,
    raw              TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    last_received_at INTEGER NOT NULL,
    deliveries       INTEGER NOT NULL,"
);

/// Stores an event as its first delivery tells it (`e`, with its acknowledgement: queued at
/// once, or never) once per (TransaktionIdentifikator, instance) and queues its
/// acknowledgement; a repeated delivery is only counted, and sends an acknowledgement that
/// already went once more.
pub(crate) fn store_event(tx: &Transaction<'_>, e: &EventInfo) -> rusqlite::Result<Stored> {
    let at = unix_millis(e.received_at);
    let a = &e.acknowledgement;
    let (deliveries, stored_state) = tx
        .prepare_cached(concat!(
            "INSERT INTO jc_events (transaktion_id, instance, municipality, haendelse_type,
                 sag_id, cpr, status, varighed_kode, haendelse_at, raw, received_at,
                 last_received_at, deliveries, answer_state, answer_due_at, answer_xml)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1, ?12, ?13, ?14)",
            counted_once!()
        ))?
        .query_row(
            rusqlite::params![
                e.transaktion_id,
                e.instance,
                e.municipality,
                e.haendelse_type,
                e.sag_id,
                e.cpr,
                e.status,
                e.varighed_kode,
                e.haendelse_at,
                e.raw,
                at,
                a.state.as_str(),
                a.due_at.map(unix_millis),
                a.xml
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    ACKNOWLEDGEMENT.settle(
        tx,
        &e.transaktion_id,
        &e.instance,
        e.received_at,
        a,
        (deliveries, stored_state, ()),
    )
}

impl Jobcenter {
    /// Events received, oldest first, optionally by one instance and about one case:
    /// `limit` of them after skipping `offset`.
    pub async fn events(
        &self,
        instance: Option<String>,
        sag_id: Option<String>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<EventInfo>, JobcenterError> {
        ACKNOWLEDGEMENT
            .list(
                self,
                EVENT_COLUMNS,
                event_row,
                instance,
                sag_id,
                offset,
                limit,
            )
            .await
    }
}

/// The columns [`event_row`] reads before the acknowledgement's.
const EVENT_COLUMNS: &str = "transaktion_id, instance, municipality, haendelse_type, sag_id,
    cpr, status, varighed_kode, haendelse_at, raw, received_at, deliveries";

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventInfo> {
    Ok(EventInfo {
        transaktion_id: r.get(0)?,
        instance: r.get(1)?,
        municipality: r.get(2)?,
        haendelse_type: r.get(3)?,
        sag_id: r.get(4)?,
        cpr: r.get(5)?,
        status: r.get(6)?,
        varighed_kode: r.get(7)?,
        haendelse_at: r.get(8)?,
        raw: r.get(9)?,
        received_at: from_unix_millis(r.get(10)?)?,
        deliveries: r.get(11)?,
        acknowledgement: answer::info(r, 12)?,
    })
}
