//! The outbox: durable at-least-once delivery with backoff.
//!
//! A program that must send a message (a business answer to a vendor, a forwarded call)
//! enqueues it in the same transaction as the state change that caused it, and a worker
//! ([`Outbox::run`]) delivers it until delivery succeeds. Because the item is a row, a crash
//! between the state change and the send loses nothing: the next process on the same file
//! delivers it. The price is at-least-once: a delivery that succeeded just before a crash is
//! made again, so receivers deduplicate (by `key`, the TransaktionIdentifikator).
//!
//! For the program's `/metrics` (`sim_kit::metrics`), [`Outbox::run`] counts every attempt
//! (`sim_outbox_attempts_total`, `result` `delivered` or `failed`: each failure is retried)
//! and reads how many items wait (`sim_outbox_waiting`) every [`DEPTH_EVERY`] of real time,
//! labelled with the program the database belongs to.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, Transaction};
use time::OffsetDateTime;
use tokio::sync::{broadcast, Notify, Semaphore};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::db::{from_unix_millis, unix_millis, Db, StoreError};

/// The columns [`item`] reads, in its order (a macro so that `concat!` builds each query
/// at compile time).
macro_rules! item_columns {
    () => {
        "id, created_at, due_at, attempts, target, key, payload, meta, last_error"
    };
}

/// Creates table `outbox`. Give it to [`Db::open`] before using an [`Outbox`].
///
/// Times are Unix milliseconds of virtual time. Delivered items are deleted, so the table
/// holds exactly the work still to do; the journal is where deliveries are remembered.
pub const OUTBOX_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    target     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    meta       TEXT    NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (due_at, id);
CREATE INDEX IF NOT EXISTS outbox_key ON outbox (key);
";

/// Events kept for slow [`Outbox::events`] subscribers before they see `Lagged`.
const EVENT_CAPACITY: usize = 1024;

/// How often [`Outbox::run`] reads the number of waiting items for `sim_outbox_waiting` (real
/// time: one `COUNT(*)` a second is nothing; one per delivery would be, under load).
pub const DEPTH_EVERY: Duration = Duration::from_secs(1);

/// A message waiting to be delivered.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxItem {
    /// Row id; also the delivery order among items due at the same time.
    pub id: i64,
    /// When it was enqueued (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Not delivered before this (virtual time): enqueue time, then the backoff after a failure.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Where to: a vendor instance or a URL; the `deliver` function interprets it.
    pub target: String,
    /// What the receiver deduplicates by, e.g. the TransaktionIdentifikator.
    pub key: String,
    /// The message, usually raw XML.
    pub payload: String,
    /// Opaque JSON for the `deliver` function (headers, SOAPAction ...).
    pub meta: String,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
}

/// A message to enqueue.
#[derive(Debug, Clone)]
pub struct NewOutboxItem {
    /// See [`OutboxItem::target`].
    pub target: String,
    /// See [`OutboxItem::key`].
    pub key: String,
    /// See [`OutboxItem::payload`].
    pub payload: String,
    /// See [`OutboxItem::meta`].
    pub meta: String,
}

/// How long to wait after a failed delivery: `initial * factor^(attempts-1)`, at most `max`
/// (virtual time).
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// Growth per further failure.
    pub factor: f64,
    /// The longest wait, so a peer that comes back is retried soon enough.
    pub max: Duration,
    /// The share of each wait (0 to 1) taken off at random, so that items that failed
    /// together (an outage) are not all retried at the same instant when it ends. Drawn from
    /// the item's key and attempt number: the same run waits the same.
    pub jitter: f64,
}

impl Default for Backoff {
    /// 100 ms, doubling, at most 10 s: quick enough for a simulated outage of seconds,
    /// and a dead peer costs at most one attempt per 10 s per item.
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(10),
            jitter: 0.0,
        }
    }
}

impl Backoff {
    /// The wait after the `attempts`-th failure (1 for the first). Never panics: nonsense
    /// factors or overflow give `max`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exponent = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * self.factor.powi(exponent);
        match Duration::try_from_secs_f64(secs) {
            Ok(d) => d.min(self.max),
            Err(_) => self.max,
        }
    }

    /// [`Backoff::delay`] less its jitter for this `key`: between `(1 - jitter) × delay` and
    /// `delay`, a pure function of (`key`, `attempts`).
    pub fn delay_for(&self, attempts: u32, key: &str) -> Duration {
        let d = self.delay(attempts);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return d;
        }
        let draw = sim_seed::mix(sim_seed::hash(key.as_bytes()) ^ u64::from(attempts));
        // 53 bits of the draw as a fraction in [0, 1).
        let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(1.0 - jitter * unit)
    }
}

/// What happened to one delivery attempt; published after its outcome is committed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// The item.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// Its target.
    pub target: String,
    /// Which attempt this was (1 for the first).
    pub attempt: u32,
    /// What became of it.
    pub outcome: Attempt,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered; the item is gone from the outbox.
    Delivered,
    /// Failed; the item is retried at `next_due`.
    Failed {
        /// What `deliver` said.
        error: String,
        /// When it is retried (virtual time).
        next_due: OffsetDateTime,
    },
}

/// The outbox of one program, in its database.
#[derive(Clone)]
pub struct Outbox {
    /// Opened with [`OUTBOX_MIGRATION`].
    db: Db,
    /// Enqueue times, due times and backoff sleeps are all in this clock's virtual time.
    clock: Clock,
    /// Shared by clones, so that `notify` on any clone wakes the worker of any other.
    shared: Arc<Shared>,
}

struct Shared {
    /// Wakes the worker when something was enqueued. `notify_one` keeps a permit when the
    /// worker is busy, so a wake-up between its query and its wait is not lost.
    wake: Notify,
    /// Ids being delivered right now. Shared by every `run` on this `Outbox` and its clones,
    /// which is what makes "never delivered twice concurrently" hold even for two workers.
    in_flight: std::sync::Mutex<HashSet<i64>>,
    /// Delivery outcomes, for metrics, logs and tests.
    events: broadcast::Sender<OutboxEvent>,
}

impl Outbox {
    /// An outbox in `db` (opened with [`OUTBOX_MIGRATION`]) on `clock`'s time.
    pub fn new(db: Db, clock: Clock) -> Outbox {
        Outbox {
            db,
            clock,
            shared: Arc::new(Shared {
                wake: Notify::new(),
                in_flight: std::sync::Mutex::new(HashSet::new()),
                events: broadcast::channel(EVENT_CAPACITY).0,
            }),
        }
    }

    /// Enqueues `item` inside a caller's transaction, due at `now` (use the clock's time).
    /// Call [`Outbox::notify`] after the transaction has committed.
    pub fn enqueue_in(
        tx: &Transaction<'_>,
        item: &NewOutboxItem,
        now: OffsetDateTime,
    ) -> rusqlite::Result<i64> {
        let now = unix_millis(now);
        tx.prepare_cached(
            "INSERT INTO outbox (created_at, due_at, attempts, target, key, payload, meta)
             VALUES (?1, ?1, 0, ?2, ?3, ?4, ?5)",
        )?
        .execute(rusqlite::params![
            now,
            item.target,
            item.key,
            item.payload,
            item.meta
        ])?;
        Ok(tx.last_insert_rowid())
    }

    /// Enqueues `item` inside a caller's transaction, first due at `due_at` (KSD's business
    /// receipt is sent a configurable while after the update). Call [`Outbox::notify`] after
    /// the commit; the worker also wakes by itself when `due_at` comes.
    pub fn enqueue_in_at(
        tx: &Transaction<'_>,
        item: &NewOutboxItem,
        now: OffsetDateTime,
        due_at: OffsetDateTime,
    ) -> rusqlite::Result<i64> {
        tx.prepare_cached(
            "INSERT INTO outbox (created_at, due_at, attempts, target, key, payload, meta)
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            unix_millis(now),
            unix_millis(due_at.max(now)),
            item.target,
            item.key,
            item.payload,
            item.meta
        ])?;
        Ok(tx.last_insert_rowid())
    }

    /// Removes every item with this `key` inside a caller's transaction (its message was
    /// delivered another way, e.g. by a foreground attempt). Returns how many went.
    pub fn remove_key_in(tx: &Transaction<'_>, key: &str) -> rusqlite::Result<usize> {
        tx.prepare_cached("DELETE FROM outbox WHERE key = ?1")?
            .execute([key])
    }

    /// Wakes the worker: call after a transaction with [`Outbox::enqueue_in`] committed.
    pub fn notify(&self) {
        self.shared.wake.notify_one();
    }

    /// Enqueues `item` due now, commits, then wakes the worker.
    pub async fn enqueue(&self, item: NewOutboxItem) -> Result<i64, StoreError> {
        let now = self.clock.now();
        let id = self
            .db
            .write(move |tx| Outbox::enqueue_in(tx, &item, now))
            .await?;
        self.notify();
        Ok(id)
    }

    /// Items not yet delivered.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.db
            .read(|c| c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0)))
            .await
            // COUNT(*) is never negative.
            .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// Up to `limit` items not yet delivered after skipping `offset`, soonest due first.
    pub async fn list(&self, offset: u64, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached(concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox ORDER BY due_at, id LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt.query_map([i64::from(limit), offset], item)?;
                rows.collect()
            })
            .await
    }

    /// Delivery outcomes from now on, each published after it is committed.
    pub fn events(&self) -> broadcast::Receiver<OutboxEvent> {
        self.shared.events.subscribe()
    }

    /// Delivers due items until `shutdown` resolves.
    ///
    /// At most `concurrency` (at least 1) deliveries are in flight. `deliver(item)` returning
    /// `Ok` deletes the item; `Err(text)` counts an attempt, keeps the text in `last_error`
    /// and makes the item due again after [`Backoff::delay`]; a panic in `deliver` counts as
    /// an `Err`. The worker wakes on [`Outbox::notify`], when a delivery ends and at the
    /// earliest `due_at` ([`Clock::sleep_until`]). Items left by an earlier process on the same
    /// file are delivered like new ones. An item is never delivered twice concurrently.
    ///
    /// On shutdown, deliveries still in flight are abandoned (their futures dropped) and
    /// stay in the outbox, to be made again by the next `run`: at-least-once.
    pub async fn run<F, Fut>(
        self,
        backoff: Backoff,
        concurrency: usize,
        deliver: F,
        shutdown: impl Future<Output = ()> + Send,
    ) where
        F: Fn(OutboxItem) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let concurrency = concurrency.max(1);
        let deliver = Arc::new(deliver);
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut tasks: JoinSet<()> = JoinSet::new();
        // Which item each task delivers, to clean up after a task that panicked.
        let mut task_items: HashMap<tokio::task::Id, OutboxItem> = HashMap::new();
        // Ids this `run` claimed, to release them when it ends.
        let mut mine: HashSet<i64> = HashSet::new();
        let mut depth = tokio::time::interval(DEPTH_EVERY);
        depth.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);

        loop {
            let now = self.clock.now();
            let (claimed, next_due) = self.claim_round(&slots, &mut mine, now, &backoff).await;
            for (item, permit) in claimed {
                let this = self.clone();
                let deliver = Arc::clone(&deliver);
                let backoff = backoff.clone();
                let handle = tasks.spawn({
                    let item = item.clone();
                    async move {
                        let result = deliver(item.clone()).await;
                        this.settle(&item, result, &backoff).await;
                        drop(permit);
                    }
                });
                task_items.insert(handle.id(), item);
            }

            tokio::select! {
                () = &mut shutdown => break,
                () = self.shared.wake.notified() => {}
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    match done {
                        Ok((id, ())) => {
                            if let Some(item) = task_items.remove(&id) {
                                mine.remove(&item.id);
                                self.release(item.id);
                            }
                        }
                        Err(e) => {
                            let Some(item) = task_items.remove(&e.id()) else { continue };
                            let text = if e.is_panic() { "deliver panicked" } else { "delivery task cancelled" };
                            self.settle(&item, Err(text.to_string()), &backoff).await;
                            mine.remove(&item.id);
                            self.release(item.id);
                        }
                    }
                }
                () = self.clock.sleep_until(next_due.unwrap_or(now)), if next_due.is_some() => {}
                _ = depth.tick() => self.report_depth().await,
            }
        }

        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        for id in mine {
            self.release(id);
        }
    }

    /// One round of `run`: reads the soonest items (ids and due times only), claims the due
    /// ones a free slot can take, and loads their payloads. Returns them with their slot, and
    /// when the next item falls due (or when to try again after a read failed).
    async fn claim_round(
        &self,
        slots: &Arc<Semaphore>,
        mine: &mut HashSet<i64>,
        now: OffsetDateTime,
        backoff: &Backoff,
    ) -> (
        Vec<(OutboxItem, tokio::sync::OwnedSemaphorePermit)>,
        Option<OffsetDateTime>,
    ) {
        let in_flight = self.in_flight_snapshot();
        let free = slots.available_permits();
        // Enough rows to fill every free slot and see the next due item, even if every
        // item in flight sorts first.
        let want = i64::try_from(in_flight.len() + free + 1).unwrap_or(i64::MAX);
        let mut next_due: Option<OffsetDateTime> = None;
        // Ids and due times only (an index-only scan); the payloads of the items this
        // round claims are read afterwards. Reading whole rows here re-read every
        // in-flight item's payload at each wake-up, a twentieth of all CPU under load.
        let rows = match self.db.read(move |c| soonest(c, want)).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read due items");
                // Try again after the shortest backoff: neither spin nor stall.
                next_due = Some(add(now, backoff.initial));
                Vec::new()
            }
        };
        let mut claimed = Vec::new();
        for (id, due_at) in rows {
            if in_flight.contains(&id) {
                continue;
            }
            if due_at > now {
                next_due = Some(due_at);
                break;
            }
            let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
                break; // every slot busy: a finishing delivery wakes us
            };
            if !self.claim(id) {
                continue; // another `run` on this outbox took it meanwhile
            }
            mine.insert(id);
            claimed.push((id, permit));
        }
        let items = if claimed.is_empty() {
            Ok(HashMap::new())
        } else {
            let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
            self.db.read(move |c| by_ids(c, &ids)).await
        };
        let mut items = match items {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read claimed items");
                next_due = Some(add(now, backoff.initial));
                HashMap::new()
            }
        };
        let mut out = Vec::with_capacity(claimed.len());
        for (id, permit) in claimed {
            match items.remove(&id) {
                Some(item) => out.push((item, permit)),
                None => {
                    // Delivered and deleted by another `run` meanwhile, or unreadable now:
                    // let it go; a later round sees it again if it is still there.
                    mine.remove(&id);
                    self.release(id);
                }
            }
        }
        (out, next_due)
    }

    fn in_flight_snapshot(&self) -> HashSet<i64> {
        match self.shared.in_flight.lock() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Marks `id` as being delivered; false if it already is.
    fn claim(&self, id: i64) -> bool {
        match self.shared.in_flight.lock() {
            Ok(mut set) => set.insert(id),
            Err(poisoned) => poisoned.into_inner().insert(id),
        }
    }

    fn release(&self, id: i64) {
        match self.shared.in_flight.lock() {
            Ok(mut set) => set.remove(&id),
            Err(poisoned) => poisoned.into_inner().remove(&id),
        };
    }

    /// The `program` label of this outbox's series (see [`crate::journal`]'s counting).
    fn metric_labels(&self) -> Vec<metrics::Label> {
        crate::journal::program_of_database(self.db.path())
            .map(|p| metrics::Label::new("program", p))
            .into_iter()
            .collect()
    }

    /// Sets `sim_outbox_waiting` to the items not yet delivered (unchanged if unreadable).
    async fn report_depth(&self) {
        if let Ok(n) = self.pending().await {
            metrics::gauge!("sim_outbox_waiting", self.metric_labels()).set(n as f64);
        }
    }

    /// Records the outcome of one attempt and publishes it.
    async fn settle(&self, item: &OutboxItem, result: Result<(), String>, backoff: &Backoff) {
        let attempt = item.attempts.saturating_add(1);
        let id = item.id;
        let outcome = match result {
            Ok(()) => {
                let done = self
                    .db
                    .write(move |tx| {
                        tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?
                            .execute([id])
                    })
                    .await;
                done.map(|_| Attempt::Delivered)
            }
            Err(error) => {
                let next_due = add(self.clock.now(), backoff.delay_for(attempt, &item.key));
                let (text, due) = (error.clone(), unix_millis(next_due));
                let done = self
                    .db
                    .write(move |tx| {
                        tx.prepare_cached(
                            "UPDATE outbox SET attempts = ?1, last_error = ?2, due_at = ?3
                             WHERE id = ?4",
                        )?
                        .execute(rusqlite::params![attempt, text, due, id])
                    })
                    .await;
                tracing::debug!(id, key = %item.key, attempt, %error, "outbox: delivery failed");
                done.map(|_| Attempt::Failed { error, next_due })
            }
        };
        match outcome {
            Ok(outcome) => {
                let mut labels = self.metric_labels();
                labels.push(metrics::Label::new(
                    "result",
                    match outcome {
                        Attempt::Delivered => "delivered",
                        Attempt::Failed { .. } => "failed",
                    },
                ));
                metrics::counter!("sim_outbox_attempts_total", labels).increment(1);
                // No subscriber is fine.
                let _ = self.shared.events.send(OutboxEvent {
                    id,
                    key: item.key.clone(),
                    target: item.target.clone(),
                    attempt,
                    outcome,
                });
            }
            // The item stays as it was and is delivered again: at-least-once.
            Err(e) => tracing::error!(id, error = %e, "outbox: cannot record a delivery outcome"),
        }
    }
}

/// `t + by`, saturating instead of panicking.
fn add(t: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// Up to `limit` items' ids and due times, soonest due first (covered by `outbox_due`).
fn soonest(c: &Connection, limit: i64) -> rusqlite::Result<Vec<(i64, OffsetDateTime)>> {
    let mut stmt =
        c.prepare_cached("SELECT id, due_at FROM outbox ORDER BY due_at, id LIMIT ?1")?;
    let rows = stmt.query_map([limit], |r| Ok((r.get(0)?, from_unix_millis(r.get(1)?)?)))?;
    rows.collect()
}

/// The whole items with these ids that still exist.
fn by_ids(c: &Connection, ids: &[i64]) -> rusqlite::Result<HashMap<i64, OutboxItem>> {
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        item_columns!(),
        " FROM outbox WHERE id = ?1"
    ))?;
    let mut out = HashMap::with_capacity(ids.len());
    for id in ids {
        if let Some(it) = stmt.query_row([id], item).optional()? {
            out.insert(*id, it);
        }
    }
    Ok(out)
}

fn item(r: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        created_at: from_unix_millis(r.get(1)?)?,
        due_at: from_unix_millis(r.get(2)?)?,
        attempts: r.get(3)?,
        target: r.get(4)?,
        key: r.get(5)?,
        payload: r.get(6)?,
        meta: r.get(7)?,
        last_error: r.get(8)?,
    })
}

#[cfg(test)]
mod jitter_tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn jitter_spreads_the_waits_within_bounds_and_repeats_per_key() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(300),
            jitter: 0.5,
        };
        let waits: Vec<Duration> = (0..100)
            .map(|i| b.delay_for(20, &format!("k{i}")))
            .collect();
        assert!(
            waits.iter().all(|w| *w <= b.max && *w >= b.max / 2),
            "{waits:?}"
        );
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 90, "spread: {}", distinct.len());
        assert_eq!(b.delay_for(3, "k1"), b.delay_for(3, "k1"));
        assert_eq!(
            Backoff::default().delay_for(3, "k1"),
            Backoff::default().delay(3)
        );
    }
}
