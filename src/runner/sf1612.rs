//! Whether SF1612 has settled, for the drain: STAR's statuses are not the runner's traffic
//! (STAR makes them itself), so the runner reads the programs' files to know when the last of
//! them has gone the whole way — fetched, published, delivered and handled by KSD.

use std::path::Path;

use sim_store::rusqlite::{Connection, OpenFlags};
use time::OffsetDateTime;

/// SF1612's state at one look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Messages KSD has handled (grows while deliveries arrive).
    pub(crate) handled: u64,
    /// Nothing left on the way: a job run started after the stream's end terminated, STAR
    /// holds nothing, the platform has published everything it persisted, and KSD handled every
    /// delivery its subscription was given.
    pub(crate) settled: bool,
}

fn open(path: &Path) -> Option<Connection> {
    if !path.is_file() {
        return None;
    }
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
    Some(c)
}

fn count(c: &Connection, sql: &str, p: impl sim_store::rusqlite::Params) -> Option<i64> {
    c.query_row(sql, p, |r| r.get(0)).ok()
}

/// SF1612's progress in `state_dir` (laid out as the ecosystem does), the stream having ended
/// at `end`. With no STAR in the run it is settled at once; a file not there (a program in an
/// outside seat) is not waited for; a file that cannot be read yet counts as not settled.
pub(crate) fn progress(state_dir: &Path, end: OffsetDateTime) -> Progress {
    let Some(sp) = open(&state_dir.join("sp").join("sp.sqlite")) else {
        return Progress {
            handled: 0,
            settled: true,
        };
    };
    let has_job = count(
        &sp,
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sp_star_runs'",
        [],
    )
    .unwrap_or(0)
        > 0
        && count(&sp, "SELECT COUNT(*) FROM sp_star_runs", []).unwrap_or(0) > 0;
    if !has_job {
        // No job ran at all: no STAR in this run (or not yet a first run, which the drain's
        // own deadline bounds).
        let star = state_dir.join("star").join("star.sqlite");
        return Progress {
            handled: 0,
            settled: !star.is_file(),
        };
    }
    let end_ms = sim_store::unix_millis(end);
    let after_end = count(
        &sp,
        "SELECT COUNT(*) FROM sp_star_runs WHERE outcome = 'terminated' AND started_at >= ?1",
        [end_ms],
    )
    .unwrap_or(0)
        > 0;
    let unpublished = count(
        &sp,
        "SELECT COUNT(*) FROM sp_star_events WHERE published_at IS NULL",
        [],
    )
    .unwrap_or(1);
    let at_star = match open(&state_dir.join("star").join("star.sqlite")) {
        Some(c) => count(
            &c,
            "SELECT COUNT(*) FROM star_events WHERE state <> 'gone'",
            [],
        )
        .unwrap_or(1),
        None => 0,
    };
    let given = open(&state_dir.join("sp").join("bf.sqlite"))
        .and_then(|c| count(&c, "SELECT COUNT(*) FROM bf_deliveries", []))
        // Unreadable now (locked, not there yet): not settled.
        .unwrap_or(i64::MAX);
    let handled = match open(&state_dir.join("ksd").join("ksd.sqlite")) {
        Some(c) => count(&c, "SELECT COUNT(*) FROM ksd_star_events", []),
        // An outside KSD: what it handled is not ours to wait for.
        None => Some(given),
    }
    .unwrap_or(0);
    Progress {
        handled: handled.max(0) as u64,
        settled: after_end && unpublished == 0 && at_star == 0 && handled >= given,
    }
}
