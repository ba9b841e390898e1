//! SQLite with one writer thread and group commit.
//!
//! SQLite allows one writer at a time. Rather than have every task fight for the write lock
//! (and sleep in `busy_timeout`), all writes are sent to one thread that owns the only write
//! connection. That thread takes every write that is waiting, runs them in one transaction,
//! each inside its own SAVEPOINT, and commits once: under load many writes share one commit
//! (group commit), and one write's error undoes only that write. Readers use their own
//! read-only connections, which WAL lets run while the writer writes.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// How long a connection waits for a lock held by another connection (another process on
/// the same file, or a checkpoint) before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes waiting for the writer thread beyond this make `write` wait to enqueue: back
/// pressure instead of unbounded memory when the disk is slower than the callers.
const QUEUE_CAPACITY: usize = 4096;

/// The most writes committed in one transaction. Large enough that a burst of a few hundred
/// writes shares one commit, small enough that one transaction stays short.
const MAX_BATCH: usize = 512;

/// Idle read connections kept for reuse; more may be open at once under load.
const MAX_IDLE_READERS: usize = 8;

/// The savepoint each write runs in. Writes run one after another, so one name suffices.
const SAVEPOINT: &str = "sim_store_write";
/// Opening and releasing it, as statements prepared once (parsing them for every write cost
/// more than the write itself for small ones).
const SAVEPOINT_SQL: &str = "SAVEPOINT sim_store_write";
const RELEASE_SQL: &str = "RELEASE sim_store_write";

/// Writer threads still running in this process, each with its database file and the flag
/// that abandons it. A program that "crashes" inside the simulator (its runtime dropped at
/// once) leaves its writer thread behind: [`abandon_writers_under`] makes that thread drop the
/// writes still queued, as a killed process would lose them, and [`writers_open_under`] tells
/// the restarted program when the thread is gone, so that two writers never contend.
static OPEN_WRITERS: LazyLock<Mutex<Vec<WriterEntry>>> = LazyLock::new(|| Mutex::new(Vec::new()));

/// Numbers registrations, to remove the right one.
static NEXT_WRITER: AtomicU64 = AtomicU64::new(0);

struct WriterEntry {
    id: u64,
    path: PathBuf,
    abandoned: Arc<AtomicBool>,
}

/// How many writer threads (of [`Db`]s in this process) still run on database files below
/// `dir`. Zero means every such `Db` has been dropped or abandoned and its thread has ended.
pub fn writers_open_under(dir: &Path) -> usize {
    OPEN_WRITERS
        .lock()
        .map(|v| v.iter().filter(|e| e.path.starts_with(dir)).count())
        .unwrap_or(0)
}

/// Makes every writer thread on a database file below `dir` stop without committing what is
/// still queued: the queued writes fail with [`StoreError::Closed`], a transaction being
/// committed right now completes or not as SQLite decides. What a killed process loses.
/// Returns how many threads were told.
pub fn abandon_writers_under(dir: &Path) -> usize {
    OPEN_WRITERS
        .lock()
        .map(|v| {
            v.iter()
                .filter(|e| e.path.starts_with(dir))
                .inspect(|e| e.abandoned.store(true, Ordering::SeqCst))
                .count()
        })
        .unwrap_or(0)
}

/// One writer thread in [`OPEN_WRITERS`], for as long as it lives.
struct WriterRegistration {
    id: u64,
    abandoned: Arc<AtomicBool>,
}

impl WriterRegistration {
    fn new(path: &Path) -> WriterRegistration {
        let id = NEXT_WRITER.fetch_add(1, Ordering::Relaxed);
        let abandoned = Arc::new(AtomicBool::new(false));
        if let Ok(mut v) = OPEN_WRITERS.lock() {
            v.push(WriterEntry {
                id,
                path: path.to_path_buf(),
                abandoned: Arc::clone(&abandoned),
            });
        }
        WriterRegistration { id, abandoned }
    }
}

impl Drop for WriterRegistration {
    fn drop(&mut self) {
        if let Ok(mut v) = OPEN_WRITERS.lock() {
            v.retain(|e| e.id != self.id);
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused: a constraint, a bad statement, a full disk, a corrupt file ...
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// One of the migrations given to [`Db::open`] failed; `index` counts from 0.
    #[error("migration {index} failed: {source}")]
    Migration {
        /// Position of the failing migration in the slice given to `open`.
        index: usize,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The write succeeded inside its savepoint but the shared COMMIT failed, so it is undone.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread or the read pool is gone (the process is shutting down).
    #[error("store is closed")]
    Closed,
    /// A closure given to `write` or `read` panicked; its work was rolled back.
    #[error("store closure panicked: {0}")]
    Panicked(String),
    /// The file system refused (creating the database directory, starting the thread).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// A SQLite database: one writer thread plus a pool of read-only connections.
///
/// Cheap to clone. The writer thread stops (and closes its connection) once every clone is
/// dropped and the writes already queued are committed.
#[derive(Clone)]
pub struct Db {
    /// Shared by clones; dropping the last one closes the queue and so ends the writer.
    inner: Arc<Inner>,
}

struct Inner {
    /// The file, for opening read connections.
    path: PathBuf,
    /// Queue to the writer thread.
    writes: mpsc::Sender<Box<dyn WriteJob>>,
    /// Idle read-only connections.
    readers: Mutex<Vec<Connection>>,
    /// Counts shared with the writer thread, for metrics and tests.
    stats: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    transactions: AtomicU64,
    writes: AtomicU64,
}

/// What the writer has done so far; see [`Db::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbStats {
    /// Transactions committed (or attempted) by the writer thread.
    pub transactions: u64,
    /// Write closures run; `writes / transactions` is the group-commit batch size.
    pub writes: u64,
    /// Writes queued and not yet taken by the writer thread.
    pub queued: u64,
}

impl Db {
    /// Opens or creates the database file, sets WAL, `synchronous=OFF`, in-memory temporary
    /// storage, a checkpoint every 40 MB of WAL, a busy timeout and foreign keys, runs
    /// `migrations` in order and starts the writer thread.
    ///
    /// Each migration is an idempotent SQL batch (`CREATE TABLE IF NOT EXISTS ...`), run in
    /// its own transaction every time the file is opened, so several components can each
    /// bring their own tables to one file without a shared version number.
    ///
    /// Durability: a write whose `write` call returned has been handed to the operating system
    /// in the WAL, so it survives the *process* crashing or being killed — the failure the
    /// simulator injects and its tests verify. `synchronous=OFF` skips the fsyncs that would
    /// also make it survive a power cut of the machine: a test ecosystem's state is
    /// reproducible from its seed and does not need that, and the fsyncs (at every WAL
    /// checkpoint) stalled the single writer thread often enough to halve throughput
    /// (measured: 479 → 808 updates/s on a 2-day slice of `scenarios/month.yaml`).
    ///
    /// Blocking (file IO and migrations): call it at startup, before serving, or from
    /// `spawn_blocking`.
    pub fn open(path: &Path, migrations: &[&str]) -> Result<Db, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // `journal_mode` answers with the mode in force; a file that cannot do WAL (some
        // network file systems) keeps working in its old mode, only without concurrent reads.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "sqlite: WAL not available");
        }
        conn.pragma_update(None, "synchronous", "OFF")?;
        // Savepoints' statement journals stay in memory instead of spilling to temporary
        // files (each write runs in a savepoint; the spill was a tenth of all CPU time).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoint every 40 MB of WAL instead of every 4 MB: a page written several times
        // between checkpoints (a table's or an index's tail) is copied to the file once.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        // Every program writes through a dozen distinct statements; keep them all prepared.
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "foreign_keys", true)?;
        for (index, sql) in migrations.iter().enumerate() {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|source| StoreError::Migration { index, source })?;
            tx.execute_batch(sql)
                .and_then(|()| tx.commit())
                .map_err(|source| StoreError::Migration { index, source })?;
        }

        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(Counters::default());
        let thread_stats = Arc::clone(&stats);
        let registration = WriterRegistration::new(path);
        std::thread::Builder::new()
            .name("sim-store-writer".into())
            .spawn(move || {
                writer_loop(conn, rx, &thread_stats, &registration.abandoned);
                drop(registration);
            })?;
        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writes: tx,
                readers: Mutex::new(Vec::new()),
                stats,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the single writer thread inside a transaction and returns after COMMIT.
    ///
    /// Concurrent calls are batched into one transaction (group commit), each inside its own
    /// SAVEPOINT, so one closure's error rolls back only its own work and is returned to its
    /// caller only. `f` must not begin or end transactions itself.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Pending { f, reply });
        self.inner
            .writes
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Runs `f` with a read-only connection on a blocking thread (WAL readers run
    /// concurrently with the writer). `f` sees every write whose `write` call has returned.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let conn = match inner.take_reader() {
                Ok(c) => c,
                Err(e) => return Err(e),
            };
            let out = f(&conn);
            // A connection left inside a transaction (a closure that began one) would hold
            // an old snapshot forever; such a connection is closed instead of reused.
            if conn.is_autocommit() {
                inner.put_reader(conn);
            }
            out.map_err(StoreError::from)
        });
        match task.await {
            Ok(r) => r,
            Err(e) if e.is_panic() => Err(StoreError::Panicked(panic_text(e.into_panic()))),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> DbStats {
        let s = &self.inner.stats;
        let writes = &self.inner.writes;
        DbStats {
            transactions: s.transactions.load(Ordering::Relaxed),
            writes: s.writes.load(Ordering::Relaxed),
            queued: (writes.max_capacity() - writes.capacity()) as u64,
        }
    }
}

impl Inner {
    fn take_reader(&self) -> Result<Connection, StoreError> {
        let idle = self.readers.lock().ok().and_then(|mut v| v.pop());
        if let Some(c) = idle {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn put_reader(&self, conn: Connection) {
        if let Ok(mut idle) = self.readers.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

/// One queued `write`, with its types erased so different writes share one queue.
trait WriteJob: Send {
    /// Runs the closure inside a savepoint of `tx`. The caller has been answered already if
    /// the closure failed; otherwise the returned completion answers it once the outcome of
    /// COMMIT is known.
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Completion;
    /// Answers the caller without running the closure (the transaction could not begin).
    fn fail(self: Box<Self>, error: StoreError);
}

/// Answers a caller once COMMIT has succeeded (`Ok`) or failed (`Err` with SQLite's text).
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

struct Pending<T, F> {
    f: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> Completion {
        let Pending { f, reply } = *self;
        let outcome = match run_cached(tx, SAVEPOINT_SQL) {
            Err(e) => Err(StoreError::Sqlite(e)),
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| f(tx))) {
                Ok(Ok(value)) => match run_cached(tx, RELEASE_SQL) {
                    Ok(()) => Ok(value),
                    Err(e) => Err(undo(tx, StoreError::Sqlite(e))),
                },
                Ok(Err(e)) => Err(undo(tx, StoreError::Sqlite(e))),
                Err(panic) => Err(undo(tx, StoreError::Panicked(panic_text(panic)))),
            },
        };
        match outcome {
            Ok(value) => Box::new(move |commit: Result<(), String>| {
                // The caller may have stopped waiting (its task was cancelled): nothing to do.
                let _ = reply.send(commit.map(|()| value).map_err(StoreError::Commit));
            }),
            Err(e) => {
                let _ = reply.send(Err(e));
                Box::new(|_| {})
            }
        }
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Runs a parameterless statement through the connection's statement cache.
fn run_cached(tx: &Transaction<'_>, sql: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Rolls back the current write's savepoint and passes its error through.
fn undo(tx: &Transaction<'_>, error: StoreError) -> StoreError {
    // If SQLite already rolled back the whole transaction (it does for some errors, e.g. a
    // full disk) the savepoint is gone; the writer loop notices through `is_autocommit`.
    if !tx.is_autocommit() {
        if let Err(e) = tx.execute_batch(&format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}")) {
            tracing::warn!(error = %e, "sqlite: rolling back a failed write");
        }
    }
    error
}

/// The writer thread: takes every queued write, runs them in one transaction, commits once,
/// then answers their callers. Ends when every `Db` clone is gone and the queue is empty, or
/// at the next write once abandoned (see [`abandon_writers_under`]).
fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Box<dyn WriteJob>>,
    stats: &Counters,
    abandoned: &AtomicBool,
) {
    while let Some(first) = rx.blocking_recv() {
        if abandoned.load(Ordering::SeqCst) {
            // The program was killed: what it queued is lost, as in a dead process.
            first.fail(StoreError::Closed);
            rx.close();
            while let Ok(job) = rx.try_recv() {
                job.fail(StoreError::Closed);
            }
            break;
        }
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut jobs = batch.into_iter();
        // Normally one round. If SQLite aborts the whole transaction in the middle (it does
        // for a few errors), the writes before the abort are answered with an error and the
        // rest get a fresh transaction.
        while jobs.len() > 0 {
            stats.transactions.fetch_add(1, Ordering::Relaxed);
            let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
                Ok(tx) => tx,
                Err(e) => {
                    let text = e.to_string();
                    tracing::error!(error = %text, "sqlite: cannot begin a write transaction");
                    for job in jobs.by_ref() {
                        job.fail(StoreError::Commit(text.clone()));
                    }
                    break;
                }
            };
            let mut done = Vec::new();
            let mut aborted = false;
            for job in jobs.by_ref() {
                stats.writes.fetch_add(1, Ordering::Relaxed);
                done.push(job.run(&tx));
                if tx.is_autocommit() {
                    aborted = true;
                    break;
                }
            }
            let outcome = if aborted {
                drop(tx);
                Err("sqlite rolled back the whole transaction after another write failed".into())
            } else {
                tx.commit().map_err(|e| e.to_string())
            };
            if let Err(text) = &outcome {
                tracing::error!(error = %text, writes = done.len(), "sqlite: group commit failed");
            }
            for complete in done {
                complete(outcome.clone());
            }
        }
    }
}

fn panic_text(panic: Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic".to_string()
    }
}

/// A time as stored in SQLite: milliseconds since the Unix epoch (UTC). Sub-millisecond
/// precision is dropped; integers sort and compare in SQL, unlike formatted text.
pub fn unix_millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    // Every `OffsetDateTime` (years -9999..=9999) fits; saturate rather than panic anyway.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The inverse of [`unix_millis`], as a column conversion error for out-of-range values so a
/// bad row is reported, not a panic.
pub fn from_unix_millis(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}
