//! The Beskedfordeler's tables in `bf.sqlite`: subscriptions, value lists, published messages
//! and their deliveries, next to the journal and (embedded broker) the push outbox.
//!
//! Every function here runs inside a caller's transaction or read connection, so a state
//! change, its journal rows and its outbox items commit together (nothing acknowledged that is
//! not committed, BF-2).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use sim_store::{from_unix_millis, unix_millis};
use time::OffsetDateTime;

/// The tables (idempotent; run at every open).
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS bf_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bf_subscriptions (
    id             TEXT PRIMARY KEY,
    subscriber_cvr TEXT NOT NULL,
    beskedtype     TEXT NOT NULL,
    value_list     TEXT NOT NULL,
    push_url       TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bf_subscriptions_match
    ON bf_subscriptions (beskedtype, subscriber_cvr, value_list);
CREATE TABLE IF NOT EXISTS bf_value_lists (
    subscriber_cvr TEXT NOT NULL,
    name           TEXT NOT NULL,
    cpr            TEXT NOT NULL,
    added_at       INTEGER NOT NULL,
    PRIMARY KEY (subscriber_cvr, name, cpr)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bf_value_lists_cpr ON bf_value_lists (cpr);
CREATE TABLE IF NOT EXISTS bf_value_list_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_cvr TEXT NOT NULL,
    name           TEXT NOT NULL,
    cpr            TEXT NOT NULL,
    added          INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    after_seq      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bf_messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    registrering_id TEXT NOT NULL UNIQUE,
    besked_id       TEXT NOT NULL,
    beskedtype      TEXT NOT NULL,
    cpr             TEXT,
    published_at    INTEGER NOT NULL,
    confirmed       INTEGER NOT NULL,
    xml             TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bf_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    message_seq     INTEGER NOT NULL,
    state           TEXT NOT NULL,
    visible_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    acked_at        INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS bf_deliveries_pair ON bf_deliveries (subscription_id, message_seq);
CREATE INDEX IF NOT EXISTS bf_deliveries_due
    ON bf_deliveries (subscription_id, state, visible_at, message_seq);
";

/// A delivery not yet acknowledged (embedded broker: fetchable or leased; push: being tried).
pub const READY: &str = "ready";
/// A delivery acknowledged: pulled and acked, or pushed and answered StatusKode 20.
pub const ACKED: &str = "acked";
/// A delivery handed to RabbitMQ: the broker holds it until its consumer acks (BF-2).
pub const QUEUED: &str = "queued";

/// One subscription (seed 004 TS105): who, which message type, which value list, how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    /// Its UUID; with RabbitMQ also the name of its queue.
    pub id: String,
    /// The subscribing organisation (its systems' certificates carry this CVR).
    pub subscriber_cvr: String,
    /// The message type it takes (`Beskedtype`).
    pub beskedtype: String,
    /// The value list its filter names: `RelateretObjekt[0]` must be a Person in it (BF-1).
    pub value_list: String,
    /// `Some(url)`: pushed there (`ModtagBesked`); `None`: pulled.
    pub push_url: Option<String>,
    /// When it was created (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The filter in seed 004 §3.1.3.1's notation, for people reading the admin API.
    pub filter: String,
}

/// The filter expression of a subscription on `value_list` (seed 004 §3.1.3.1's form).
pub fn filter_text(value_list: &str) -> String {
    format!(
        "((Haendelsesbesked.Beskedkuvert.Filtreringsdata.RelateretObjekt[0].ObjektType = \"{}\") AND (Haendelsesbesked.Beskedkuvert.Filtreringsdata.RelateretObjekt[0].ObjektId IN @{value_list}))",
        sim_wire::besked::OBJEKTTYPE_PERSON
    )
}

fn subscription(r: &rusqlite::Row<'_>) -> rusqlite::Result<Subscription> {
    let value_list: String = r.get(3)?;
    Ok(Subscription {
        id: r.get(0)?,
        subscriber_cvr: r.get(1)?,
        beskedtype: r.get(2)?,
        filter: filter_text(&value_list),
        value_list,
        push_url: r.get(4)?,
        created_at: from_unix_millis(r.get(5)?)?,
    })
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, subscriber_cvr, beskedtype, value_list, push_url, created_at";

/// Bumps and returns the start counter (keeps id streams unique across restarts).
pub fn next_epoch(tx: &Transaction<'_>) -> rusqlite::Result<u64> {
    tx.execute(
        "INSERT INTO bf_meta (key, value) VALUES ('epoch', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1",
        [],
    )?;
    let v: i64 = tx.query_row("SELECT value FROM bf_meta WHERE key = 'epoch'", [], |r| {
        r.get(0)
    })?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// Stores a new subscription.
pub fn insert_subscription(tx: &Transaction<'_>, s: &Subscription) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO bf_subscriptions (id, subscriber_cvr, beskedtype, value_list, push_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.id,
            s.subscriber_cvr,
            s.beskedtype,
            s.value_list,
            s.push_url,
            unix_millis(s.created_at)
        ],
    )?;
    Ok(())
}

/// Removes a subscription and every delivery not yet acknowledged; true if it existed.
pub fn delete_subscription(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<bool> {
    let n = tx.execute("DELETE FROM bf_subscriptions WHERE id = ?1", [id])?;
    tx.execute(
        "DELETE FROM bf_deliveries WHERE subscription_id = ?1 AND state <> 'acked'",
        [id],
    )?;
    Ok(n > 0)
}

/// Every subscription, oldest first (a page).
pub fn subscriptions(
    c: &Connection,
    offset: u64,
    limit: u32,
) -> rusqlite::Result<Vec<Subscription>> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM bf_subscriptions ORDER BY created_at, id LIMIT ?1 OFFSET ?2"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![i64::from(limit), offset_i64(offset)], subscription)?;
    rows.collect()
}

/// One subscription.
pub fn subscription_by_id(c: &Connection, id: &str) -> rusqlite::Result<Option<Subscription>> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM bf_subscriptions WHERE id = ?1");
    c.prepare_cached(&sql)?
        .query_row([id], subscription)
        .optional()
}

/// Whether an organisation has any subscription (value lists and pulls need one, BF-1).
pub fn has_subscription(c: &Connection, cvr: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM bf_subscriptions WHERE subscriber_cvr = ?1)")?
        .query_row([cvr], |r| r.get(0))
}

/// Adds (`add`) or removes CPR numbers of a value list; returns how many changed.
pub fn change_value_list(
    tx: &Transaction<'_>,
    cvr: &str,
    name: &str,
    cprs: &[String],
    add: bool,
    now: OffsetDateTime,
) -> rusqlite::Result<u32> {
    let mut n = 0usize;
    if add {
        let mut st = tx.prepare_cached(
            "INSERT INTO bf_value_lists (subscriber_cvr, name, cpr, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )?;
        for cpr in cprs {
            let changed = st.execute(params![cvr, name, cpr, unix_millis(now)])?;
            if changed > 0 {
                log_change(tx, cvr, name, cpr, true, now)?;
            }
            n += changed;
        }
    } else {
        let mut st = tx.prepare_cached(
            "DELETE FROM bf_value_lists WHERE subscriber_cvr = ?1 AND name = ?2 AND cpr = ?3",
        )?;
        for cpr in cprs {
            let changed = st.execute(params![cvr, name, cpr])?;
            if changed > 0 {
                log_change(tx, cvr, name, cpr, false, now)?;
            }
            n += changed;
        }
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Every real change of a value list, in order (`bf_value_list_log`): what lets a checker tell
/// whether a person was on a list when a message was published (BF-1), after the list changed.
/// `after_seq` is the last message stored before the change: a message `seq` was published
/// under every change with `after_seq < seq` and none after (virtual times can be equal).
fn log_change(
    tx: &Transaction<'_>,
    cvr: &str,
    name: &str,
    cpr: &str,
    added: bool,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO bf_value_list_log (subscriber_cvr, name, cpr, added, at, after_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) FROM bf_messages))",
    )?
    .execute(params![cvr, name, cpr, added, unix_millis(now)])?;
    Ok(())
}

/// The `ObjektRegistreringId` of the message a delivery carries, and how often the delivery
/// has been handed out.
pub fn registrering_of_delivery(
    c: &Connection,
    delivery_id: &str,
) -> rusqlite::Result<Option<(String, i64)>> {
    c.prepare_cached(
        "SELECT m.registrering_id, d.attempts FROM bf_deliveries d
         JOIN bf_messages m ON m.seq = d.message_seq WHERE d.id = ?1",
    )?
    .query_row([delivery_id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

/// One value-list entry, for the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct ValueListEntry {
    /// The organisation whose list it is.
    pub subscriber_cvr: String,
    /// The list's name.
    pub name: String,
    /// The CPR number.
    pub cpr: String,
    /// When it was added (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// Value-list entries, optionally of one organisation and list (a page).
pub fn value_lists(
    c: &Connection,
    cvr: Option<&str>,
    name: Option<&str>,
    offset: u64,
    limit: u32,
) -> rusqlite::Result<Vec<ValueListEntry>> {
    let mut st = c.prepare_cached(
        "SELECT subscriber_cvr, name, cpr, added_at FROM bf_value_lists
         WHERE (?1 IS NULL OR subscriber_cvr = ?1) AND (?2 IS NULL OR name = ?2)
         ORDER BY subscriber_cvr, name, cpr LIMIT ?3 OFFSET ?4",
    )?;
    let rows = st.query_map(
        params![cvr, name, i64::from(limit), offset_i64(offset)],
        |r| {
            Ok(ValueListEntry {
                subscriber_cvr: r.get(0)?,
                name: r.get(1)?,
                cpr: r.get(2)?,
                added_at: from_unix_millis(r.get(3)?)?,
            })
        },
    )?;
    rows.collect()
}

/// What storing a message found.
pub enum Stored {
    /// New: stored as `seq`.
    New(i64),
    /// Stored before as `seq`; `confirmed` whether it reached the broker.
    Known { seq: i64, confirmed: bool },
}

/// Stores a message unless its registration is known (SP-10: published once).
#[allow(clippy::too_many_arguments)]
pub fn insert_message(
    tx: &Transaction<'_>,
    registrering_id: &str,
    besked_id: &str,
    beskedtype: &str,
    cpr: Option<&str>,
    now: OffsetDateTime,
    confirmed: bool,
    xml: &str,
) -> rusqlite::Result<Stored> {
    let n = tx
        .prepare_cached(
            "INSERT INTO bf_messages (registrering_id, besked_id, beskedtype, cpr, published_at, confirmed, xml)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (registrering_id) DO NOTHING",
        )?
        .execute(params![
            registrering_id,
            besked_id,
            beskedtype,
            cpr,
            unix_millis(now),
            confirmed,
            xml
        ])?;
    if n == 1 {
        return Ok(Stored::New(tx.last_insert_rowid()));
    }
    let (seq, confirmed) = tx
        .prepare_cached("SELECT seq, confirmed FROM bf_messages WHERE registrering_id = ?1")?
        .query_row([registrering_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Stored::Known { seq, confirmed })
}

/// Marks a message as accepted by RabbitMQ (publisher-confirmed).
pub fn confirm_message(tx: &Transaction<'_>, seq: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE bf_messages SET confirmed = 1 WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// A subscription a message goes to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The subscription.
    pub subscription_id: String,
    /// Its push URL, if pushed.
    pub push_url: Option<String>,
}

/// BF-1: the subscriptions of `beskedtype` whose value list holds `cpr` now.
pub fn matching(
    tx: &Transaction<'_>,
    beskedtype: &str,
    cpr: &str,
) -> rusqlite::Result<Vec<Target>> {
    let mut st = tx.prepare_cached(
        "SELECT s.id, s.push_url FROM bf_value_lists v
         JOIN bf_subscriptions s ON s.subscriber_cvr = v.subscriber_cvr AND s.value_list = v.name
         WHERE v.cpr = ?1 AND s.beskedtype = ?2 ORDER BY s.id",
    )?;
    let rows = st.query_map(params![cpr, beskedtype], |r| {
        Ok(Target {
            subscription_id: r.get(0)?,
            push_url: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// The subscriptions a stored message was given to (to publish it again to RabbitMQ).
pub fn targets_of(tx: &Transaction<'_>, seq: i64) -> rusqlite::Result<Vec<Target>> {
    let mut st = tx.prepare_cached(
        "SELECT d.subscription_id, s.push_url FROM bf_deliveries d
         JOIN bf_subscriptions s ON s.id = d.subscription_id
         WHERE d.message_seq = ?1 ORDER BY d.subscription_id",
    )?;
    let rows = st.query_map([seq], |r| {
        Ok(Target {
            subscription_id: r.get(0)?,
            push_url: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// Records a delivery of message `seq` to a subscription.
pub fn insert_delivery(
    tx: &Transaction<'_>,
    id: &str,
    subscription_id: &str,
    seq: i64,
    state: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO bf_deliveries (id, subscription_id, message_seq, state, visible_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING",
    )?
    .execute(params![id, subscription_id, seq, state, unix_millis(now)])?;
    Ok(())
}

/// A delivery handed out by a pull.
pub struct Leased {
    /// The delivery.
    pub id: String,
    /// Times handed out, this one included.
    pub attempts: u32,
    /// The message document.
    pub xml: String,
    /// STAR's MessageIdentifier (journal).
    pub registrering_id: String,
    /// The person (journal).
    pub cpr: Option<String>,
}

/// BF-2, embedded pull: up to `limit` deliveries of `subscription_id` that are not acked and
/// not leased (their lease ended), oldest message first, each leased until `until`.
pub fn lease(
    tx: &Transaction<'_>,
    subscription_id: &str,
    limit: u32,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> rusqlite::Result<Vec<Leased>> {
    let mut st = tx.prepare_cached(
        "SELECT d.id, d.attempts, m.xml, m.registrering_id, m.cpr FROM bf_deliveries d
         JOIN bf_messages m ON m.seq = d.message_seq
         WHERE d.subscription_id = ?1 AND d.state = 'ready' AND d.visible_at <= ?2
         ORDER BY d.visible_at, d.message_seq LIMIT ?3",
    )?;
    let found: Vec<Leased> = st
        .query_map(
            params![subscription_id, unix_millis(now), i64::from(limit)],
            |r| {
                Ok(Leased {
                    id: r.get(0)?,
                    attempts: r.get::<_, u32>(1)?.saturating_add(1),
                    xml: r.get(2)?,
                    registrering_id: r.get(3)?,
                    cpr: r.get(4)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut up = tx.prepare_cached(
        "UPDATE bf_deliveries SET visible_at = ?1, attempts = attempts + 1 WHERE id = ?2",
    )?;
    for l in &found {
        up.execute(params![unix_millis(until), l.id])?;
    }
    Ok(found)
}

/// Acknowledges deliveries of `subscription_id`; returns how many changed now.
pub fn ack(
    tx: &Transaction<'_>,
    subscription_id: &str,
    ids: &[String],
    now: OffsetDateTime,
) -> rusqlite::Result<u32> {
    let mut st = tx.prepare_cached(
        "UPDATE bf_deliveries SET state = 'acked', acked_at = ?1
         WHERE id = ?2 AND subscription_id = ?3 AND state <> 'acked'",
    )?;
    let mut n = 0usize;
    for id in ids {
        n += st.execute(params![unix_millis(now), id, subscription_id])?;
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Records a failed push attempt.
pub fn push_failed(tx: &Transaction<'_>, id: &str, error: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE bf_deliveries SET attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
    )?
    .execute(params![error, id])?;
    Ok(())
}

/// Records a push answered StatusKode 20 (its attempt included).
pub fn push_acked(tx: &Transaction<'_>, id: &str, now: OffsetDateTime) -> rusqlite::Result<u32> {
    let n = tx
        .prepare_cached(
            "UPDATE bf_deliveries SET attempts = attempts + 1, state = 'acked', acked_at = ?1, last_error = NULL
             WHERE id = ?2 AND state <> 'acked'",
        )?
        .execute(params![unix_millis(now), id])?;
    Ok(u32::try_from(n).unwrap_or(0))
}

/// The message document of a stored message.
pub fn message_xml(c: &Connection, seq: i64) -> rusqlite::Result<Option<String>> {
    c.prepare_cached("SELECT xml FROM bf_messages WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()
}

/// A published message, for the admin API (without its document).
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    /// Publishing order.
    pub seq: i64,
    /// ObjektRegistreringId (STAR's MessageIdentifier).
    pub registrering_id: String,
    /// BeskedId.
    pub besked_id: String,
    /// Beskedtype.
    pub beskedtype: String,
    /// RelateretObjekt[0]'s CPR, if a person.
    pub cpr: Option<String>,
    /// When published (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Whether it is with its broker: always for the embedded one; with RabbitMQ once
    /// publisher-confirmed.
    pub confirmed: bool,
    /// Subscriptions it was given to.
    pub deliveries: u32,
}

/// Published messages, oldest first (a page).
pub fn messages(c: &Connection, offset: u64, limit: u32) -> rusqlite::Result<Vec<MessageRow>> {
    let mut st = c.prepare_cached(
        "SELECT m.seq, m.registrering_id, m.besked_id, m.beskedtype, m.cpr, m.published_at, m.confirmed,
                (SELECT COUNT(*) FROM bf_deliveries d WHERE d.message_seq = m.seq)
         FROM bf_messages m ORDER BY m.seq LIMIT ?1 OFFSET ?2",
    )?;
    let rows = st.query_map(params![i64::from(limit), offset_i64(offset)], |r| {
        Ok(MessageRow {
            seq: r.get(0)?,
            registrering_id: r.get(1)?,
            besked_id: r.get(2)?,
            beskedtype: r.get(3)?,
            cpr: r.get(4)?,
            published_at: from_unix_millis(r.get(5)?)?,
            confirmed: r.get(6)?,
            deliveries: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// One delivery, for the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    /// Its id (`LeveringId`).
    pub id: String,
    /// The subscription.
    pub subscription_id: String,
    /// The message's publishing order.
    pub message_seq: i64,
    /// ObjektRegistreringId of the message.
    pub registrering_id: String,
    /// `ready`, `acked`, or `queued` (in RabbitMQ).
    pub state: String,
    /// Times handed out or tried.
    pub attempts: u32,
    /// Why the last push failed.
    pub last_error: Option<String>,
    /// Not handed out again before this (virtual; the lease's end for a pull).
    #[serde(with = "time::serde::rfc3339")]
    pub visible_at: OffsetDateTime,
    /// When acknowledged.
    #[serde(with = "time::serde::rfc3339::option")]
    pub acked_at: Option<OffsetDateTime>,
}

/// Deliveries, optionally of one subscription and in one state, oldest first (a page).
pub fn deliveries(
    c: &Connection,
    subscription_id: Option<&str>,
    state: Option<&str>,
    offset: u64,
    limit: u32,
) -> rusqlite::Result<Vec<DeliveryRow>> {
    let mut st = c.prepare_cached(
        "SELECT d.id, d.subscription_id, d.message_seq, m.registrering_id, d.state, d.attempts,
                d.last_error, d.visible_at, d.acked_at
         FROM bf_deliveries d JOIN bf_messages m ON m.seq = d.message_seq
         WHERE (?1 IS NULL OR d.subscription_id = ?1) AND (?2 IS NULL OR d.state = ?2)
         ORDER BY d.message_seq, d.subscription_id LIMIT ?3 OFFSET ?4",
    )?;
    let rows = st.query_map(
        params![subscription_id, state, i64::from(limit), offset_i64(offset)],
        |r| {
            Ok(DeliveryRow {
                id: r.get(0)?,
                subscription_id: r.get(1)?,
                message_seq: r.get(2)?,
                registrering_id: r.get(3)?,
                state: r.get(4)?,
                attempts: r.get(5)?,
                last_error: r.get(6)?,
                visible_at: from_unix_millis(r.get(7)?)?,
                acked_at: r
                    .get::<_, Option<i64>>(8)?
                    .map(from_unix_millis)
                    .transpose()?,
            })
        },
    )?;
    rows.collect()
}

/// Counts for the admin API's `/counters`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Subscriptions.
    pub subscriptions: u64,
    /// Value-list entries, all lists.
    pub value_list_entries: u64,
    /// Messages published.
    pub messages: u64,
    /// Messages not yet publisher-confirmed by RabbitMQ.
    pub messages_unconfirmed: u64,
    /// Deliveries not yet acknowledged (embedded broker and pushes).
    pub deliveries_ready: u64,
    /// Deliveries acknowledged.
    pub deliveries_acked: u64,
    /// Deliveries handed to RabbitMQ.
    pub deliveries_queued: u64,
}

/// The counts.
pub fn counts(c: &Connection) -> rusqlite::Result<Counts> {
    let one = |sql: &str| -> rusqlite::Result<u64> {
        c.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
    };
    Ok(Counts {
        subscriptions: one("SELECT COUNT(*) FROM bf_subscriptions")?,
        value_list_entries: one("SELECT COUNT(*) FROM bf_value_lists")?,
        messages: one("SELECT COUNT(*) FROM bf_messages")?,
        messages_unconfirmed: one("SELECT COUNT(*) FROM bf_messages WHERE confirmed = 0")?,
        deliveries_ready: one("SELECT COUNT(*) FROM bf_deliveries WHERE state = 'ready'")?,
        deliveries_acked: one("SELECT COUNT(*) FROM bf_deliveries WHERE state = 'acked'")?,
        deliveries_queued: one("SELECT COUNT(*) FROM bf_deliveries WHERE state = 'queued'")?,
    })
}

/// Unconfirmed messages (RabbitMQ: published again at open).
pub fn unconfirmed(c: &Connection) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut st = c.prepare_cached(
        "SELECT seq, registrering_id FROM bf_messages WHERE confirmed = 0 ORDER BY seq LIMIT 10000",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn offset_i64(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}
