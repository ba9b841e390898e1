//! The sick-leave case's duration in KSD (KSD-9), in virtual time and persisted.
//!
//! A case starts with VarighedKode 60 (61 for a pensioner) and a duration limit
//! ([`DurationRule`], defined here: the limit is the first day of absence plus a number of
//! weeks). Some days before the limit KSD asks the municipality's jobcenter for an extension
//! (SF2093, [`crate::flows::sf2093`]); a time-limited extension makes the case 62 with a new
//! limit (and a new request before it), an unlimited one 64; when the limit is reached with
//! neither, KSD sets 63 (the "technical" unlimited extension). Each of these changes is told to
//! the jobcenter as an SF2090 event ([`crate::flows::sf2090`]). A case that ends (an
//! OphoersAarsag other than the approved holiday 24) leaves the lifecycle.
//!
//! The worker ([`run`]) looks for what is due every [`TICK`] of real time and on
//! [`Lifecycle::nudge`], whatever the clock's speed: each pass does, by the virtual date,
//! everything that has come due (requests, limits, unacknowledged events), so a compressed
//! month and a manual clock in a test see the same transitions.

use std::future::Future;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use sim_store::unix_millis;
use sim_wire::{Dato, VarighedKode};
use time::OffsetDateTime;

use crate::flows::{sf2090, sf2093};
use crate::state::Ksd;

/// How often the worker looks for due work (real time).
pub const TICK: std::time::Duration = std::time::Duration::from_millis(200);

/// At most this many cases or events per kind and pass, each in its own transaction batch,
/// so a pass after a long pause does not hold the writer for long.
const BATCH: i64 = 200;

/// KSD-9's duration rule, *defined here* (the seeds name the codes, not the law's arithmetic):
/// the limit is the first day of absence plus `limit_weeks` weeks — the 22-week reassessment
/// point of the Danish sickness-benefit act, counted in calendar weeks — or
/// `pensioner_limit_weeks` for a pensioner's case (61). All values are configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRule {
    /// Weeks from the first day of absence to the limit of a case with 60.
    #[serde(default = "default_limit_weeks")]
    pub limit_weeks: u32,
    /// Weeks to the limit of a pensioner's case (61).
    #[serde(default = "default_pensioner_limit_weeks")]
    pub pensioner_limit_weeks: u32,
    /// Days before the limit that KSD sends its extension request (SF2093); the request's
    /// SvarFrist is the day before the limit.
    #[serde(default = "default_request_lead_days")]
    pub request_lead_days: u32,
    /// Virtual hours KSD waits for a jobcenter's acknowledgement of an event (SF2090) before
    /// sending it again; doubled after each resend, at most a week.
    #[serde(default = "default_ack_timeout_hours")]
    pub event_ack_timeout_hours: u32,
}

fn default_limit_weeks() -> u32 {
    22
}
fn default_pensioner_limit_weeks() -> u32 {
    13
}
fn default_request_lead_days() -> u32 {
    28
}
fn default_ack_timeout_hours() -> u32 {
    24
}

impl Default for DurationRule {
    fn default() -> Self {
        DurationRule {
            limit_weeks: default_limit_weeks(),
            pensioner_limit_weeks: default_pensioner_limit_weeks(),
            request_lead_days: default_request_lead_days(),
            event_ack_timeout_hours: default_ack_timeout_hours(),
        }
    }
}

impl DurationRule {
    /// The limit of a case that began on `first`.
    pub fn limit(&self, first: Dato, pensioner: bool) -> Dato {
        let weeks = if pensioner {
            self.pensioner_limit_weeks
        } else {
            self.limit_weeks
        };
        Dato(
            first
                .0
                .saturating_add(time::Duration::weeks(i64::from(weeks))),
        )
    }

    /// When the extension request for a limit is due.
    pub fn request_on(&self, limit: Dato) -> Dato {
        Dato(
            limit
                .0
                .saturating_sub(time::Duration::days(i64::from(self.request_lead_days))),
        )
    }

    /// The SvarFrist of a request for a limit: the day before it.
    pub fn svar_frist(&self, limit: Dato) -> Dato {
        Dato(limit.0.saturating_sub(time::Duration::days(1)))
    }

    /// How long to wait for the acknowledgement of an event sent `sends` times.
    pub fn ack_timeout(&self, sends: u32) -> time::Duration {
        let hours = i64::from(self.event_ack_timeout_hours.max(1));
        let doubled = hours.saturating_mul(1i64 << sends.saturating_sub(1).min(8));
        time::Duration::hours(doubled.min(24 * 7))
    }
}

/// The lifecycle's table: one row per case while its limit matters.
pub const LIFECYCLE_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ksd_limits (
    sag_id      TEXT PRIMARY KEY REFERENCES ksd_cases (sag_id),
    pensioner   INTEGER NOT NULL,
    graense     TEXT NOT NULL,
    request_on  TEXT,
    open        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ksd_limits_request ON ksd_limits (request_on)
    WHERE request_on IS NOT NULL;
CREATE INDEX IF NOT EXISTS ksd_limits_open ON ksd_limits (graense) WHERE open = 1;
";

/// A case's limit as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// Whether it is a pensioner's case (61 at start; 17 and 25 belong to it, KSD-14).
    pub pensioner: bool,
    /// The date the limit is reached.
    pub graense: String,
    /// When the next extension request is due, if one will be sent.
    pub request_on: Option<String>,
    /// Whether the limit still matters (the case is open and neither 63 nor 64).
    pub open: bool,
}

/// Starts the lifecycle of a case created now, beginning on `first`.
pub fn start_in(
    tx: &Transaction<'_>,
    sag_id: &str,
    first: Dato,
    pensioner: bool,
    rule: &DurationRule,
) -> rusqlite::Result<()> {
    let graense = rule.limit(first, pensioner);
    tx.prepare_cached(
        "INSERT OR IGNORE INTO ksd_limits (sag_id, pensioner, graense, request_on, open)
         VALUES (?1, ?2, ?3, ?4, 1)",
    )?
    .execute((
        sag_id,
        pensioner,
        graense.to_string(),
        rule.request_on(graense).to_string(),
    ))?;
    Ok(())
}

/// Takes an ended case out of the lifecycle: no more requests, no 63.
pub fn close_in(tx: &Transaction<'_>, sag_id: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE ksd_limits SET open = 0, request_on = NULL WHERE sag_id = ?1")?
        .execute([sag_id])?;
    Ok(())
}

/// A case's limit, if it has one.
pub fn limit(c: &Connection, sag_id: &str) -> rusqlite::Result<Option<Limit>> {
    c.prepare_cached(
        "SELECT pensioner, graense, request_on, open FROM ksd_limits WHERE sag_id = ?1",
    )?
    .query_row([sag_id], |r| {
        Ok(Limit {
            pensioner: r.get(0)?,
            graense: r.get(1)?,
            request_on: r.get(2)?,
            open: r.get(3)?,
        })
    })
    .optional()
}

/// Sets a new VarighedKode on an open case, with its history row (`transaktion_id`: the
/// message that caused it) and what the limit becomes: a new limit with its request (62), or
/// none (63, 64).
pub fn set_code_in(
    tx: &Transaction<'_>,
    sag_id: &str,
    kode: VarighedKode,
    new_limit: Option<(Dato, &DurationRule)>,
    at: OffsetDateTime,
    transaktion_id: &str,
    note: &str,
) -> rusqlite::Result<()> {
    let now = unix_millis(at);
    tx.prepare_cached(
        "UPDATE ksd_cases SET varighed_kode = ?2, updated_at = ?3 WHERE sag_id = ?1",
    )?
    .execute((sag_id, kode.as_str(), now))?;
    match new_limit {
        Some((graense, rule)) => tx
            .prepare_cached(
                "UPDATE ksd_limits SET graense = ?2, request_on = ?3, open = 1 WHERE sag_id = ?1",
            )?
            .execute((
                sag_id,
                graense.to_string(),
                rule.request_on(graense).to_string(),
            ))?,
        None => tx
            .prepare_cached("UPDATE ksd_limits SET open = 0, request_on = NULL WHERE sag_id = ?1")?
            .execute([sag_id])?,
    };
    crate::cases::own_change_in(tx, sag_id, at, transaktion_id, note)
}

/// Cases whose extension request is due on `today`.
fn requests_due(c: &Connection, today: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(
        "SELECT sag_id FROM ksd_limits
         WHERE request_on IS NOT NULL AND request_on <= ?1 AND open = 1
         ORDER BY request_on, sag_id LIMIT ?2",
    )?
    .query_map((today, BATCH), |r| r.get(0))?
    .collect()
}

/// Open cases whose limit is reached on `today`.
fn limits_reached(c: &Connection, today: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(
        "SELECT sag_id FROM ksd_limits WHERE open = 1 AND graense <= ?1
         ORDER BY graense, sag_id LIMIT ?2",
    )?
    .query_map((today, BATCH), |r| r.get(0))?
    .collect()
}

/// Runs the lifecycle until `stop` completes.
pub async fn run(k: Arc<Ksd>, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    loop {
        if let Err(e) = pass(&k).await {
            tracing::warn!(error = %e, "case lifecycle pass failed; tried again");
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(TICK) => {}
            () = k.lifecycle.notified() => {}
        }
    }
}

/// One pass: every request, limit and event resend that is due by the virtual clock.
pub async fn pass(k: &Ksd) -> Result<(), sim_store::StoreError> {
    loop {
        let now = k.now();
        let today = Dato(now.date()).to_string();
        let t = today.clone();
        let due = k.db.read(move |c| requests_due(c, &t)).await?;
        let n = due.len();
        for sag_id in due {
            // One case that cannot be handled must not stop every other case's lifecycle:
            // it is parked (no more requests) and logged.
            if let Err(e) = sf2093::request(k, &sag_id, now).await {
                tracing::error!(%sag_id, error = %e, "extension request failed; the case's requests stop");
                park(k, &sag_id).await?;
            }
        }
        let t = today.clone();
        let reached = k.db.read(move |c| limits_reached(c, &t)).await?;
        let m = reached.len();
        for sag_id in reached {
            if let Err(e) = reach_limit(k, &sag_id, now).await {
                tracing::error!(%sag_id, error = %e, "setting 63 failed; the case leaves the lifecycle");
                park(k, &sag_id).await?;
            }
        }
        let resent = sf2090::resend_unacknowledged(k, now, BATCH).await?;
        if n + m + resent == 0 {
            return Ok(());
        }
        k.outbox.notify();
    }
}

/// Takes a case the lifecycle could not handle out of it (logged by the caller), so the
/// others go on.
async fn park(k: &Ksd, sag_id: &str) -> Result<(), sim_store::StoreError> {
    let sag = sag_id.to_string();
    k.db.write(move |tx| close_in(tx, &sag)).await
}

/// KSD-9: the limit is reached without an extension (no answer, a rejection, or an answer
/// that came too late to count yet): 63, told to the jobcenter (AENDRET).
async fn reach_limit(
    k: &Ksd,
    sag_id: &str,
    now: OffsetDateTime,
) -> Result<(), sim_store::StoreError> {
    let sag = sag_id.to_string();
    let tid = k.message_ids.next_uuid();
    let (ksd_system, rule) = (k.ksd_system, k.duration);
    k.db.write(move |tx| {
        // Still open and reached (a concurrent answer may have moved it).
        let Some(l) = limit(tx, &sag)? else {
            return Ok(());
        };
        if !l.open || l.graense > Dato(now.date()).to_string() {
            return Ok(());
        }
        let note = format!(
            "duration limit {} reached without an extension: 63 (KSD-9)",
            l.graense
        );
        set_code_in(
            tx,
            &sag,
            VarighedKode::Udloebet63,
            None,
            now,
            &tid.to_string(),
            &note,
        )?;
        sf2090::event_in(
            tx,
            &sag,
            sim_wire::HaendelseType::Aendret,
            tid,
            ksd_system,
            &rule,
            now,
        )?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_22_weeks_from_the_first_day_13_for_a_pensioner_ksd9() {
        let r = DurationRule::default();
        let first: Dato = "2026-01-05".parse().unwrap();
        assert_eq!(r.limit(first, false).to_string(), "2026-06-08");
        assert_eq!(r.limit(first, true).to_string(), "2026-04-06");
        assert_eq!(
            r.request_on(r.limit(first, false)).to_string(),
            "2026-05-11"
        );
        assert_eq!(
            r.svar_frist(r.limit(first, false)).to_string(),
            "2026-06-07"
        );
    }

    #[test]
    fn the_ack_timeout_doubles_up_to_a_week() {
        let r = DurationRule::default();
        assert_eq!(r.ack_timeout(1), time::Duration::hours(24));
        assert_eq!(r.ack_timeout(2), time::Duration::hours(48));
        assert_eq!(r.ack_timeout(20), time::Duration::hours(168));
    }
}
