//! The checks of SF2090 (KSD's case events to the jobcenters, their acknowledgements back).
//!
//! Liveness `events-acknowledged` (KSD-10, JC-3): every event KSD sent is acknowledged by the
//! municipality's jobcenter within the liveness deadline — counted from its first delivery
//! the jobcenter took after the faults ended; for one taken only inside them, from KSD's next
//! delivery as KSD recorded it (`ack_due`, which may be a day later); from its creation (or
//! the faults' end) when it never reached the jobcenter — and no acknowledgement was taken
//! from another municipality than the event's.
//!
//! KSD's own record of its events is read (`ksd_events` of `sim-ksd/src/flows/sf2090.rs`:
//! when each was written, how often sent, when first acknowledged and how many
//! acknowledgements came), because no journal row says which event an acknowledgement
//! closed; the JC-3 side is judged from KSD's journal (`ModtagForretningsSvarKsd` in, accepted,
//! against the event's municipality). Where the events went is judged by `no-misrouting`.

use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::unix_millis;
use sim_wire::Operation;

use crate::history::{sqlite_error, History};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "events-acknowledged";

/// One event as KSD recorded it.
struct Event {
    municipality: String,
    created_at: i64,
    acked: bool,
    acks: u64,
    sends: u64,
    /// When KSD delivers it again if still unacknowledged.
    ack_due: i64,
}

/// Every SF2090 check.
pub(crate) fn check(h: &History, input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    Ok(vec![acknowledged(h, input)?])
}

fn not_judged(why: &str) -> CheckResult {
    let mut r = Verdict::new(
        NAME,
        CheckKind::Liveness,
        "KSD-10, JC-3",
        format!("not judged: {why}"),
        Examples::default(),
    )
    .into_result();
    r.not_judged = Some(why.to_string());
    r
}

fn acknowledged(h: &History, input: &CheckInput) -> Result<CheckResult, CheckError> {
    if input.ksd_is_outside() {
        return Ok(not_judged(
            "KSD is an outside system: its events are in its own store",
        ));
    }
    if !h.ksd.has_table("ksd_events")? {
        return Ok(not_judged("KSD's store has no record of events"));
    }
    let events = load(h)?;
    let deadline_ms = i64::try_from(input.liveness_deadline.as_millis()).unwrap_or(i64::MAX);
    let faults_end = input.faults_end.map(unix_millis).unwrap_or(i64::MIN);
    let horizon = h.horizon(input);
    // When each event reached its jobcenter: first at all, and first after the faults ended
    // (a delivery the jobcenter took, from KSD's journal).
    let (mut reached, mut reached_clean): (HashMap<&str, i64>, HashMap<&str, i64>) =
        (HashMap::new(), HashMap::new());
    for r in &h.ksd.rows {
        if !(r.is(false, Operation::SendHaendelse) && r.outcome.is_accepting()) {
            continue;
        }
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        let first = reached.entry(tid).or_insert(r.at);
        *first = (*first).min(r.at);
        if r.at >= faults_end {
            let clean = reached_clean.entry(tid).or_insert(r.at);
            *clean = (*clean).min(r.at);
        }
    }
    let mut bad = Examples::default();
    let (mut acked, mut pending, mut overdue, mut repeated) = (0u64, 0u64, 0u64, 0u64);
    // In TransaktionIdentifikator order, so the examples are the same for the same run.
    let mut ordered: Vec<(&String, &Event)> = events.iter().collect();
    ordered.sort_by(|a, b| a.0.cmp(b.0));
    for (tid, e) in ordered {
        // The deadline runs from the first delivery outside the faults; an event that reached
        // its jobcenter only inside them (an acknowledgement withheld there, KSD's next
        // delivery a day later) is pending until KSD delivers it again. One that never reached
        // it runs from its creation (or the faults' end): KSD or the platform failed.
        let since = match (reached_clean.get(tid.as_str()), reached.get(tid.as_str())) {
            (Some(clean), _) => *clean,
            // Taken only inside the faults: from KSD's own promise to deliver it again
            // (`ack_due`), so a KSD that never redelivers, or a jobcenter that never
            // acknowledges what came before the faults ended, still fails.
            (None, Some(_)) => e.ack_due.max(faults_end),
            (None, None) => e.created_at.max(faults_end),
        };
        if e.acked {
            acked += 1;
            if e.acks > e.sends {
                repeated += 1;
            }
        } else if since.saturating_add(deadline_ms) <= horizon {
            overdue += 1;
            bad.push(tid.clone());
        } else {
            pending += 1;
        }
    }
    // JC-3: an acknowledgement KSD accepted must come from the event's municipality.
    let mut foreign = 0u64;
    for r in &h.ksd.rows {
        if !(r.is(true, Operation::ModtagForretningsSvarKsd) && r.outcome.is_accepting()) {
            continue;
        }
        let (Some(tid), Some(m)) = (r.tid.as_deref(), r.municipality.as_deref()) else {
            continue;
        };
        if events.get(tid).is_some_and(|e| e.municipality != m) {
            foreign += 1;
            bad.push(tid.to_string());
        }
    }
    let summary = format!(
        "{} sent by KSD: {acked} acknowledged ({repeated} more often than sent: duplicates absorbed), {pending} still within the deadline ({} s), {overdue} unacknowledged past it; {foreign} acknowledgements taken from another municipality than the event's",
        n(events.len() as u64, "event"),
        input.liveness_deadline.as_secs_f64(),
    );
    Ok(
        Verdict::new(NAME, CheckKind::Liveness, "KSD-10, JC-3", summary, bad)
            .measured(overdue as f64 + foreign as f64, Some(0.0))
            .into_result(),
    )
}

/// KSD's events by lowercased TransaktionIdentifikator.
fn load(h: &History) -> Result<HashMap<String, Event>, CheckError> {
    let c = &h.ksd.conn;
    let read = || -> sim_store::rusqlite::Result<HashMap<String, Event>> {
        let mut st = c.prepare(
            "SELECT transaktion_id, municipality, created_at, acked_at IS NOT NULL, acks, sends,
                 ack_due
             FROM ksd_events",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?.to_ascii_lowercase(),
                Event {
                    municipality: r.get(1)?,
                    created_at: r.get(2)?,
                    acked: r.get(3)?,
                    acks: r.get::<_, i64>(4)?.max(0) as u64,
                    sends: r.get::<_, i64>(5)?.max(0) as u64,
                    ack_due: r.get(6)?,
                },
            ))
        })?;
        rows.collect()
    };
    read().map_err(sqlite_error(h.ksd.name, &h.ksd.path))
}
