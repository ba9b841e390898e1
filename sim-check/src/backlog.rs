//! Liveness `backlog-drains` (SP-2, KSD-2; at least once like BF-2): once faults end, every
//! accepted update gets its business receipt, at the right vendor, within the deadline.
//!
//! - *Accepted*: the first [`UPDATE_SEND`] out row at the vendor answered OK/ADVARSEL; its `at`
//!   is `accepted_at`.
//! - *Receipt stored*: the first [`RECEIPT_RECEIVE`] in row at the vendor answered OK/ADVARSEL
//!   for the same TransaktionIdentifikator. Which instance stored it is read from
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

use crate::conventions::{is_accepting, RECEIPT_RECEIVE, RECEIPT_SEND, UPDATE_SEND};
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

    // First acceptance and first stored receipt per TransaktionIdentifikator, in journal order.
    let mut accepted: Vec<(&str, i64)> = Vec::new();
    let mut seen_accepted: HashMap<&str, ()> = HashMap::new();
    let mut stored: HashMap<&str, (i64, Option<&str>)> = HashMap::new();
    for r in &h.jc.rows {
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        if r.is(false, UPDATE_SEND) && is_accepting(&r.outcome) {
            if seen_accepted.insert(tid, ()).is_none() {
                accepted.push((tid, r.at));
            }
        } else if r.is(true, RECEIPT_RECEIVE) && is_accepting(&r.outcome) {
            stored
                .entry(tid)
                .or_insert((r.at, r.municipality.as_deref()));
        }
    }
    // The platform's view: routing decisions and successful deliveries (instance, municipality).
    let mut decided: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut delivered_to: HashMap<&str, (&str, Option<&str>)> = HashMap::new();
    for r in &h.sp.rows {
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        if r.is(true, RECEIPT_SEND) && is_accepting(&r.outcome) {
            decided.entry(tid).or_default().push(r.at);
        } else if r.is(false, RECEIPT_RECEIVE) && is_accepting(&r.outcome) {
            if let Some(peer) = r.peer.as_deref() {
                delivered_to
                    .entry(tid)
                    .or_insert((peer, r.municipality.as_deref()));
            }
        }
    }

    let mut bad = Examples::default();
    let (mut in_time, mut late, mut wrong, mut overdue, mut pending) = (0u64, 0u64, 0, 0u64, 0u64);
    for (tid, accepted_at) in &accepted {
        let deadline = (*accepted_at)
            .max(faults_end.unwrap_or(i64::MIN))
            .saturating_add(deadline_ms);
        let Some((stored_at, journal_m)) = stored.get(tid) else {
            if deadline <= horizon {
                overdue += 1;
                bad.push(*tid);
            } else {
                pending += 1;
            }
            continue;
        };
        let table = h
            .jc_tables
            .as_ref()
            .and_then(|t| t.receipts.get(*tid))
            .map(|r| (r.instance.as_str(), Some(r.municipality.as_str())));
        let at_vendor = table.or_else(|| delivered_to.get(tid).copied());
        let right = match at_vendor {
            Some((instance, m)) => match m.or(*journal_m) {
                Some(m) => {
                    let mut times = vec![*stored_at];
                    times.extend(decided.get(tid).into_iter().flatten());
                    routes.judge(m, instance, &times) != Judgement::Wrong
                }
                None => true,
            },
            None => true,
        };
        if !right {
            wrong += 1;
            bad.push(*tid);
        } else if *stored_at > deadline {
            late += 1;
            bad.push(*tid);
        } else {
            in_time += 1;
        }
    }
    let lost = overdue + pending;
    let passed = bad.is_empty();
    let summary = format!(
        "{} accepted, deadline {} s after acceptance or the end of faults: {} receipts in time, {} late, {} at the wrong vendor, {} lost{}",
        n(accepted.len() as u64, "update"),
        input.liveness_deadline.as_secs_f64(),
        in_time,
        late,
        wrong,
        lost,
        if pending > 0 {
            format!(
                " ({pending} not yet due when the history ends, not judged)"
            )
        } else {
            String::new()
        },
    );
    Verdict {
        name: NAME,
        kind: CheckKind::Liveness,
        rule: "SP-2, KSD-2",
        passed,
        summary,
        examples: bad,
        measured: Some(lost as f64),
        limit: None,
    }
    .into_result()
}
