//! STAR's queue in `star.sqlite`: the events (queued, in a sequence, gone) and the sequences
//! (open, terminated, closed, expired), and every transition between them as one SQL
//! transaction — so an event is in exactly one state at every commit, and a sequence is
//! rolled back whole or not at all (seed 004 §3.3.7: never some of its events).
//!
//! ```text
//!            CreateSequence                TerminateSequence
//!  queued ──────────────────▶ in_sequence ──────────────────▶ gone
//!     ▲                            │
//!     └────────────────────────────┘  CloseSequence, or open longer than the timeout
//! ```

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use sim_kit::admin::Page;
use sim_store::{from_unix_millis, unix_millis};
use time::OffsetDateTime;

/// The tables. `star_events.seq` is the stream's order (the order a sequence returns them);
/// `fragment` is the event's `IllnessUpdateRegistration` as it stands in a fetch answer, so an
/// answer is its pieces concatenated (and can be cut after any of them).
pub(crate) const QUEUE_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS star_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS star_events (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    message_id   TEXT    NOT NULL UNIQUE,
    cpr          TEXT    NOT NULL,
    fragment     TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'in_sequence', 'gone')),
    sequence     TEXT,
    handed_out   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS star_events_state ON star_events (state, seq);
CREATE INDEX IF NOT EXISTS star_events_sequence ON star_events (sequence, seq);
CREATE INDEX IF NOT EXISTS star_events_cpr ON star_events (cpr);
CREATE TABLE IF NOT EXISTS star_sequences (
    id            TEXT    PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'terminated', 'closed', 'expired')),
    message_count INTEGER NOT NULL,
    ended_at      INTEGER,
    caller        TEXT
);
CREATE INDEX IF NOT EXISTS star_sequences_state ON star_sequences (state, created_at);
";

/// A sequence's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SequenceState {
    /// Created; its events are handed out to it.
    Open,
    /// Ended well: its events are gone for good.
    Terminated,
    /// Ended badly by the caller: its events went back to the queue.
    Closed,
    /// Left open too long: rolled back like a close.
    Expired,
}

impl SequenceState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SequenceState::Open => "open",
            SequenceState::Terminated => "terminated",
            SequenceState::Closed => "closed",
            SequenceState::Expired => "expired",
        }
    }

    fn parse(s: &str) -> SequenceState {
        match s {
            "terminated" => SequenceState::Terminated,
            "closed" => SequenceState::Closed,
            "expired" => SequenceState::Expired,
            _ => SequenceState::Open,
        }
    }
}

/// One event as it is stored.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub seq: u64,
    pub at: OffsetDateTime,
    pub message_id: String,
    pub cpr: String,
    pub fragment: String,
}

/// Reads a meta value.
pub(crate) fn meta(c: &Connection, k: &str) -> rusqlite::Result<Option<String>> {
    c.query_row("SELECT v FROM star_meta WHERE k = ?1", [k], |r| r.get(0))
        .optional()
}

/// Writes a meta value.
pub(crate) fn set_meta(tx: &Transaction<'_>, k: &str, v: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO star_meta (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = ?2",
        [k, v],
    )?;
    Ok(())
}

/// Queues `events` and records that the stream has been generated up to `next_seq`.
pub(crate) fn queue(
    tx: &Transaction<'_>,
    events: &[NewEvent],
    next_seq: u64,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO star_events (seq, at, message_id, cpr, fragment, state)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued')",
    )?;
    for e in events {
        insert.execute(params![
            e.seq as i64,
            unix_millis(e.at),
            e.message_id,
            e.cpr,
            e.fragment
        ])?;
    }
    set_meta(tx, "next_seq", &next_seq.to_string())
}

/// Rolls back every open sequence created at or before `deadline` (the sequence timeout):
/// all their events back on the queue, the sequence `expired`. Returns their ids.
pub(crate) fn expire_overdue(
    tx: &Transaction<'_>,
    deadline: OffsetDateTime,
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<String>> {
    let ids: Vec<String> = {
        let mut q = tx.prepare_cached(
            "SELECT id FROM star_sequences WHERE state = 'open' AND created_at <= ?1",
        )?;
        let rows = q.query_map([unix_millis(deadline)], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &ids {
        roll_back(tx, id, SequenceState::Expired, now)?;
    }
    Ok(ids)
}

/// Every event of sequence `id` back on the queue (all, never some) and the sequence ended
/// as `state`.
fn roll_back(
    tx: &Transaction<'_>,
    id: &str,
    state: SequenceState,
    now: OffsetDateTime,
) -> rusqlite::Result<u64> {
    let n = tx.execute(
        "UPDATE star_events SET state = 'queued', sequence = NULL
         WHERE sequence = ?1 AND state = 'in_sequence'",
        [id],
    )?;
    end(tx, id, state, now)?;
    Ok(n as u64)
}

fn end(
    tx: &Transaction<'_>,
    id: &str,
    state: SequenceState,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE star_sequences SET state = ?2, ended_at = ?3 WHERE id = ?1",
        params![id, state.as_str(), unix_millis(now)],
    )?;
    Ok(())
}

/// Creates sequence `id`: every queued event (the oldest `limit` if given) moves into it, in
/// stream order. Returns how many.
pub(crate) fn create_sequence(
    tx: &Transaction<'_>,
    id: &str,
    now: OffsetDateTime,
    limit: Option<u64>,
    caller: Option<&str>,
) -> rusqlite::Result<u64> {
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let n = tx.execute(
        "UPDATE star_events SET state = 'in_sequence', sequence = ?1, handed_out = handed_out + 1
         WHERE seq IN (SELECT seq FROM star_events WHERE state = 'queued' ORDER BY seq LIMIT ?2)",
        params![id, limit],
    )? as u64;
    tx.execute(
        "INSERT INTO star_sequences (id, created_at, state, message_count, caller)
         VALUES (?1, ?2, 'open', ?3, ?4)",
        params![id, unix_millis(now), n as i64, caller],
    )?;
    Ok(n)
}

/// What is known of a sequence.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceRow {
    /// Its `Identifier`.
    pub identifier: String,
    /// Where it stands.
    pub state: SequenceState,
    /// When `CreateSequence` made it (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it ended, if it has.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// How many events it holds (`MessageCount`).
    pub message_count: u64,
    /// Who created it (`CVR ... UUID:...`).
    pub caller: Option<String>,
}

fn sequence_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SequenceRow> {
    Ok(SequenceRow {
        identifier: r.get(0)?,
        created_at: from_unix_millis(r.get(1)?)?,
        state: SequenceState::parse(&r.get::<_, String>(2)?),
        message_count: r.get::<_, i64>(3)?.max(0) as u64,
        ended_at: r
            .get::<_, Option<i64>>(4)?
            .map(from_unix_millis)
            .transpose()?,
        caller: r.get(5)?,
    })
}

const SEQUENCE_COLUMNS: &str = "id, created_at, state, message_count, ended_at, caller";

/// One sequence.
pub(crate) fn sequence(c: &Connection, id: &str) -> rusqlite::Result<Option<SequenceRow>> {
    c.query_row(
        &format!("SELECT {SEQUENCE_COLUMNS} FROM star_sequences WHERE id = ?1"),
        [id],
        sequence_row,
    )
    .optional()
}

/// Sequences, newest first, optionally of one state.
pub(crate) fn sequences(
    c: &Connection,
    state: Option<&str>,
    page: Page,
) -> rusqlite::Result<Vec<SequenceRow>> {
    let mut q = c.prepare_cached(&format!(
        "SELECT {SEQUENCE_COLUMNS} FROM star_sequences WHERE (?1 IS NULL OR state = ?1)
         ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = q.query_map(
        params![state, page.limit(), page.offset() as i64],
        sequence_row,
    )?;
    rows.collect()
}

/// The stored pieces of a fetch answer: the fragments of sequence `id`'s events, in order.
pub(crate) fn fragments(c: &Connection, id: &str) -> rusqlite::Result<Vec<String>> {
    let mut q = c.prepare_cached(
        "SELECT fragment FROM star_events WHERE sequence = ?1 AND state = 'in_sequence'
         ORDER BY seq",
    )?;
    let rows = q.query_map([id], |r| r.get(0))?;
    rows.collect()
}

/// How a terminate or close of an open sequence went: the number of events it moved.
pub(crate) fn terminate(
    tx: &Transaction<'_>,
    id: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<u64> {
    let n = tx.execute(
        "UPDATE star_events SET state = 'gone' WHERE sequence = ?1 AND state = 'in_sequence'",
        [id],
    )?;
    end(tx, id, SequenceState::Terminated, now)?;
    Ok(n as u64)
}

/// CloseSequence: every event of the open sequence `id` back on the queue.
pub(crate) fn close(tx: &Transaction<'_>, id: &str, now: OffsetDateTime) -> rusqlite::Result<u64> {
    roll_back(tx, id, SequenceState::Closed, now)
}

/// Counts for the admin API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Events waiting for the next sequence.
    pub queued: u64,
    /// Events handed out to an open sequence.
    pub in_sequence: u64,
    /// Events of terminated sequences: gone for good.
    pub gone: u64,
    /// Events generated so far (the stream's next `seq`).
    pub generated: u64,
    /// Sequences by state.
    pub sequences: std::collections::BTreeMap<String, u64>,
}

pub(crate) fn counts(c: &Connection) -> rusqlite::Result<Counts> {
    let mut out = Counts::default();
    let mut q = c.prepare_cached("SELECT state, COUNT(*) FROM star_events GROUP BY state")?;
    for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        let n = n.max(0) as u64;
        match state.as_str() {
            "queued" => out.queued = n,
            "in_sequence" => out.in_sequence = n,
            _ => out.gone = n,
        }
    }
    let mut q = c.prepare_cached("SELECT state, COUNT(*) FROM star_sequences GROUP BY state")?;
    for row in q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        out.sequences.insert(state, n.max(0) as u64);
    }
    out.generated = meta(c, "next_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(out)
}

/// One event as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// Position in the stream.
    pub seq: u64,
    /// When it reached the queue (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Its `MessageIdentifier`.
    pub message_identifier: String,
    /// The person's CPR.
    pub cpr: String,
    /// `queued`, `in_sequence` or `gone`.
    pub state: String,
    /// The sequence holding it (or, once gone, that terminated it).
    pub sequence: Option<String>,
    /// How many sequences it has been handed out to (more than one: rolled back before).
    pub handed_out: u64,
}

/// Events in stream order, filtered by state, sequence and CPR.
pub(crate) fn events(
    c: &Connection,
    state: Option<&str>,
    sequence: Option<&str>,
    cpr: Option<&str>,
    page: Page,
) -> rusqlite::Result<Vec<EventRow>> {
    let mut q = c.prepare_cached(
        "SELECT seq, at, message_id, cpr, state, sequence, handed_out FROM star_events
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR sequence = ?2)
           AND (?3 IS NULL OR cpr = ?3)
         ORDER BY seq LIMIT ?4 OFFSET ?5",
    )?;
    let rows = q.query_map(
        params![state, sequence, cpr, page.limit(), page.offset() as i64],
        |r| {
            Ok(EventRow {
                seq: r.get::<_, i64>(0)?.max(0) as u64,
                at: from_unix_millis(r.get(1)?)?,
                message_identifier: r.get(2)?,
                cpr: r.get(3)?,
                state: r.get(4)?,
                sequence: r.get(5)?,
                handed_out: r.get::<_, i64>(6)?.max(0) as u64,
            })
        },
    )?;
    rows.collect()
}
