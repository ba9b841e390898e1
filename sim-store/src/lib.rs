//! Persistence and time for the simulated programs (`sim-sp`, `sim-ksd`, `sim-jobcenter`).
//!
//! Every program keeps its state in one SQLite file, journals every message it sends or
//! receives, delivers what it must send through a durable outbox, and reads the time from one
//! [`Clock`], so a run can be compressed, replayed on a manual clock, or crashed and resumed.
//!
//! # Layout
//!
//! - [`clock`]: [`Clock`], real, compressed or manual virtual time, and sleeping on it. The
//!   only code in the project that reads the system time.
//! - [`db`]: [`Db`], a SQLite file in WAL mode with one writer thread that group-commits
//!   concurrent writes (each in its own savepoint) and a pool of read-only connections.
//! - [`journal`]: [`Journal`], the table of every message sent or received, with filters and
//!   counters for checkers and the admin API; its vocabulary ([`Label`], [`Outcome`]) is the
//!   one place the stored operation and outcome texts are spelled.
//! - [`outbox`]: [`Outbox`], durable at-least-once delivery with backoff, resumed after a
//!   restart on the same file.

pub mod clock;
pub mod db;
pub mod journal;
pub mod outbox;

/// The SQLite binding the closures given to [`Db::write`] and [`Db::read`] are written against,
/// re-exported so every crate uses the same version.
pub use rusqlite;

pub use clock::Clock;
pub use db::{
    abandon_writers_under, from_unix_millis, unix_millis, writers_open_under, Db, DbStats,
    StoreError,
};
pub use journal::{
    Counter, Direction, Exchange, Journal, JournalEntry, JournalFilter, JournalRow, Label, Outcome,
    Part, Retention, DEFAULT_QUERY_LIMIT, JOURNAL_MIGRATION, MAX_QUERY_LIMIT,
    TRANSIENT_FAULT_RULES,
};
pub use outbox::{
    Attempt, Backoff, NewOutboxItem, Outbox, OutboxEvent, OutboxItem, OUTBOX_MIGRATION,
};
