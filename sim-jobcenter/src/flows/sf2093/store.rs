//! SF2093's table: every extension request an instance received, the decision its policy
//! made and the answer; its writes (inside the caller's transaction, so the row, its queue
//! item and its journal entries commit together) and the queries the API answers from.

use std::collections::BTreeMap;

use rusqlite::{Row, Transaction};
use sim_store::{from_unix_millis, unix_millis};

use super::ANSWER;
use crate::flows::answer::{self, answering_table, counted_once, Stored};
use crate::model::{ExtensionDecision, ExtensionRequestInfo};
use crate::state::Jobcenter;
use crate::JobcenterError;

/// `jc_extension_requests`: one row per (TransaktionIdentifikator, instance), with a
/// delivery count, the decision (made once, on the first delivery) and the answer
/// (`flows::answer`'s columns; `answer_due_at` is when it is planned to go).
pub(crate) const MIGRATION: &str = answering_table!(
    "jc_extension_requests",
    "
    sag_id                TEXT NOT NULL,
    cpr                   TEXT NOT NULL,
    varighedsgraense_dato TEXT NOT NULL,
    svar_frist            TEXT NOT NULL,
    raw                   TEXT NOT NULL,
    received_at           INTEGER NOT NULL,
    last_received_at      INTEGER NOT NULL,
    deliveries            INTEGER NOT NULL,
    decision              TEXT NOT NULL,
    extension_end         TEXT,
    begrundelse           TEXT,
    late                  INTEGER NOT NULL,"
);

/// Stores a request as its first delivery tells it (`q`, with its decision and its answer:
/// due when decided, or never) once per (TransaktionIdentifikator, instance) and queues its
/// answer; a repeated delivery is only counted (its fresh decision is dropped: the first
/// stands, and is what [`Stored::kept`] tells), and sends an answer that already went once
/// more.
pub(crate) fn store_request(
    tx: &Transaction<'_>,
    q: &ExtensionRequestInfo,
) -> rusqlite::Result<Stored<ExtensionDecision>> {
    let at = unix_millis(q.received_at);
    let a = &q.answer;
    let (deliveries, stored_state, decision): (i64, String, String) = tx
        .prepare_cached(concat!(
            "INSERT INTO jc_extension_requests (transaktion_id, instance, municipality, sag_id,
                 cpr, varighedsgraense_dato, svar_frist, raw, received_at, last_received_at,
                 deliveries, decision, extension_end, begrundelse, late, answer_state,
                 answer_due_at, answer_xml)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            counted_once!(),
            ", decision"
        ))?
        .query_row(
            rusqlite::params![
                q.transaktion_id,
                q.instance,
                q.municipality,
                q.sag_id,
                q.cpr,
                q.varighedsgraense_dato,
                q.svar_frist,
                q.raw,
                at,
                q.decision.as_str(),
                q.extension_end,
                q.begrundelse,
                q.late,
                a.state.as_str(),
                a.due_at.map(unix_millis),
                a.xml,
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    let decision = ExtensionDecision::parse(&decision).unwrap_or(q.decision);
    ANSWER.settle(
        tx,
        &q.transaktion_id,
        &q.instance,
        q.received_at,
        a,
        (deliveries, stored_state, decision),
    )
}

/// Requests by decision (every decision present), for the counters.
pub(crate) fn decisions(c: &rusqlite::Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let all = [
        ExtensionDecision::TimeLimited,
        ExtensionDecision::Unlimited,
        ExtensionDecision::Rejected,
        ExtensionDecision::Never,
    ];
    answer::count_by(
        c,
        ANSWER.table,
        "decision",
        all.map(ExtensionDecision::as_str),
    )
}

impl Jobcenter {
    /// Extension requests received, oldest first, optionally by one instance and about one
    /// case: `limit` of them after skipping `offset`.
    pub async fn extension_requests(
        &self,
        instance: Option<String>,
        sag_id: Option<String>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ExtensionRequestInfo>, JobcenterError> {
        ANSWER
            .list(
                self,
                REQUEST_COLUMNS,
                request_row,
                instance,
                sag_id,
                offset,
                limit,
            )
            .await
    }
}

/// The columns [`request_row`] reads before the answer's.
const REQUEST_COLUMNS: &str = "transaktion_id, instance, municipality, sag_id, cpr,
    varighedsgraense_dato, svar_frist, raw, received_at, deliveries, decision, extension_end,
    begrundelse, late";

fn request_row(r: &Row<'_>) -> rusqlite::Result<ExtensionRequestInfo> {
    Ok(ExtensionRequestInfo {
        transaktion_id: r.get(0)?,
        instance: r.get(1)?,
        municipality: r.get(2)?,
        sag_id: r.get(3)?,
        cpr: r.get(4)?,
        varighedsgraense_dato: r.get(5)?,
        svar_frist: r.get(6)?,
        raw: r.get(7)?,
        received_at: from_unix_millis(r.get(8)?)?,
        deliveries: r.get(9)?,
        decision: answer::parsed(r, 10, "decision", ExtensionDecision::parse)?,
        extension_end: r.get(11)?,
        begrundelse: r.get(12)?,
        late: r.get(13)?,
        answer: answer::info(r, 14)?,
    })
}
