//! Liveness `backlog-drains` (SP-2, KSD-2; at least once like BF-2): once faults end, every
//! accepted update gets its business receipt, at the right vendor, within the deadline.
//!
//! - *Accepted*: the first [`Operation::SendOpdateringFravaer`] out row at the vendor answered
//!   OK/ADVARSEL; its `at` is `accepted_at`.
//! - *Receipt stored*: the first [`Operation::ModtagForretningsSvarJc`] in row at the vendor
//!   answered OK/ADVARSEL for the same TransaktionIdentifikator. Which instance stored it is read from
//!   `jc_receipts` (the journal row does not say), else from the platform's successful
//!   delivery (`peer`).
//! - *Deadline*: `max(accepted_at, faults_end) + liveness_deadline`.
//! - *Right vendor*: the route of the receipt's municipality when the platform decided or when
//!   it was stored (as in `no-misrouting`); not judged when the route is unknown.
//!
//! `lost` (reported as `measured`) counts accepted updates with no receipt at all. The check
//! fails for a receipt later than its deadline, at the wrong vendor, or missing when its
//! deadline lies within the history (the later of `run_end` and the last journal row); a
//! missing receipt whose deadline lies beyond it is *pending*: counted as lost, named in the
//! summary, but not a failure, since the history stops before the system owed it.

use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::unix_millis;
use sim_wire::Operation;

use crate::history::History;
use crate::routing::{Judgement, Routes};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "backlog-drains";

/// See the module docs.
pub fn backlog_drains(input: &CheckInput) -> Result<CheckResult, CheckError> {
    Ok(check(&History::load(input)?, input))
}

pub(crate) fn check(h: &History, input: &CheckInput) -> CheckResult {
    let routes = Routes::new(input);
    let deadline_ms = i64::try_from(input.liveness_deadline.as_millis()).unwrap_or(i64::MAX);
    let faults_end = input.faults_end.map(unix_millis);
    let horizon = h
        .last_at()
        .unwrap_or(i64::MIN)
        .max(unix_millis(input.run_end));
    let vendors = Vendors::of(h, input);
    let platform = Platform::of(h);

    let mut bad = Examples::default();
    let mut c = Counts::default();
    for (tid, accepted_at) in &vendors.accepted {
        let deadline = (*accepted_at)
            .max(faults_end.unwrap_or(i64::MIN))
            .saturating_add(deadline_ms);
        let Some((stored_at, journal_m)) = vendors.stored.get(tid) else {
            if deadline <= horizon {
                c.overdue += 1;
                bad.push(*tid);
            } else {
                c.pending += 1;
            }
            continue;
        };
        let table = h
            .jc_tables
            .as_ref()
            .and_then(|t| t.receipts.get(*tid))
            .map(|r| (r.instance.as_str(), Some(r.municipality.as_str())));
        let at_vendor = table.or_else(|| platform.delivered_to.get(tid).copied());
        let right = match at_vendor {
            Some((instance, m)) => match m.or(*journal_m) {
                Some(m) => {
                    let mut times = vec![*stored_at];
                    times.extend(platform.decided.get(tid).into_iter().flatten());
                    routes.judge(m, instance, &times) != Judgement::Wrong
                }
                None => true,
            },
            None => true,
        };
        if !right {
            c.wrong += 1;
            bad.push(*tid);
        } else if *stored_at > deadline {
            c.late += 1;
            bad.push(*tid);
        } else {
            c.in_time += 1;
        }
    }
    let lost = c.overdue + c.pending;
    let summary = format!(
        "{} accepted, deadline {} s after acceptance or the end of faults: {} receipts in time, {} late, {} at the wrong vendor, {} lost{}",
        n(vendors.accepted.len() as u64, "update"),
        input.liveness_deadline.as_secs_f64(),
        c.in_time,
        c.late,
        c.wrong,
        lost,
        if c.pending > 0 {
            format!(" ({} not yet due when the history ends, not judged)", c.pending)
        } else {
            String::new()
        },
    );
    Verdict::new(NAME, CheckKind::Liveness, "SP-2, KSD-2", summary, bad)
        .measured(lost as f64, None)
        .into_result()
}

/// How the accepted updates fared.
#[derive(Default)]
struct Counts {
    in_time: u64,
    late: u64,
    wrong: u64,
    /// Lost, and owed within the history.
    overdue: u64,
    /// Lost, but not yet owed when the history ends.
    pending: u64,
}

/// The vendors' view: first acceptance and first stored receipt per TransaktionIdentifikator,
/// in journal order.
struct Vendors<'a> {
    /// (TransaktionIdentifikator, accepted_at), in order of acceptance.
    accepted: Vec<(&'a str, i64)>,
    /// TransaktionIdentifikator → (stored at, municipality of the journal row).
    stored: HashMap<&'a str, (i64, Option<&'a str>)>,
}

impl<'a> Vendors<'a> {
    /// A receipt counts as stored when a simulated vendor journaled it accepted, or when an
    /// outside system in a vendor's seat accepted the platform's delivery (it keeps no
    /// journal we can read).
    fn of(h: &'a History, input: &CheckInput) -> Vendors<'a> {
        let mut accepted = Vec::new();
        let mut seen_accepted: HashMap<&str, ()> = HashMap::new();
        let mut stored = HashMap::new();
        for r in &h.jc.rows {
            let Some(tid) = r.tid.as_deref() else {
                continue;
            };
            if r.is(false, Operation::SendOpdateringFravaer) && r.outcome.is_accepting() {
                if seen_accepted.insert(tid, ()).is_none() {
                    accepted.push((tid, r.at));
                }
            } else if r.is(true, Operation::ModtagForretningsSvarJc) && r.outcome.is_accepting() {
                stored
                    .entry(tid)
                    .or_insert((r.at, r.municipality.as_deref()));
            }
        }
        for r in &h.sp.rows {
            let (Some(tid), Some(peer)) = (r.tid.as_deref(), r.peer.as_deref()) else {
                continue;
            };
            if r.is(false, Operation::ModtagForretningsSvarJc)
                && r.outcome.is_accepting()
                && input.seats.iter().any(|s| s.name == peer)
            {
                stored
                    .entry(tid)
                    .or_insert((r.at, r.municipality.as_deref()));
            }
        }
        Vendors { accepted, stored }
    }
}

/// The platform's view: routing decisions and successful deliveries.
struct Platform<'a> {
    /// TransaktionIdentifikator → when the platform accepted KSD's receipt call (decided).
    decided: HashMap<&'a str, Vec<i64>>,
    /// TransaktionIdentifikator → (instance, municipality) of its first successful delivery.
    delivered_to: HashMap<&'a str, (&'a str, Option<&'a str>)>,
}

impl<'a> Platform<'a> {
    fn of(h: &'a History) -> Platform<'a> {
        let mut decided: HashMap<&str, Vec<i64>> = HashMap::new();
        let mut delivered_to = HashMap::new();
        for r in &h.sp.rows {
            let Some(tid) = r.tid.as_deref() else {
                continue;
            };
            if r.is(true, Operation::SendForretningsSvarJc) && r.taken() {
                decided.entry(tid).or_default().push(r.at);
            } else if r.is(false, Operation::ModtagForretningsSvarJc) && r.outcome.is_accepting() {
                if let Some(peer) = r.peer.as_deref() {
                    delivered_to
                        .entry(tid)
                        .or_insert((peer, r.municipality.as_deref()));
                }
            }
        }
        Platform {
            decided,
            delivered_to,
        }
    }
}
