//! Safety `refused-what-must-be-refused` (KSD-5, KSD-8, SP-5, WIRE-1): every message the runner
//! broke on purpose was refused, and none was ever accepted.
//!
//! *Refused* means a program refused it in its **own** journal: the platform (an inbound row
//! with `FAULT:<rule>`) or KSD (an inbound row with FEJL or `FAULT:<rule>`), where the rule is
//! not a transient one ([`TRANSIENT_FAULT_RULES`](crate::conventions::TRANSIENT_FAULT_RULES): an unreachable KSD or a service window says
//! nothing about the message). What the sending vendor journaled is not taken as a refusal,
//! because an injected fault in front of a program answers without that program journaling.
//! A message too broken to be read has no TransaktionIdentifikator in the journal; it is found
//! by its identifier in the raw XML of the refused rows.
//!
//! *Accepted* is any sign of processing: KSD answered OK/ADVARSEL/DUPLICATE, KSD recorded it
//! (`ksd_updates`), the platform passed an OK/ADVARSEL back, the vendor was answered
//! OK/ADVARSEL, or a business receipt for it reached a vendor.

use std::collections::BTreeSet;

use sim_report::{CheckKind, CheckResult};

use crate::conventions::{
    is_accepting, is_answer, is_refusal, DUPLICATE, RECEIPT_RECEIVE, RESPONSE_SUFFIX,
    UPDATE_RECEIVE, UPDATE_SEND,
};
use crate::history::History;
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "refused-what-must-be-refused";

/// The kinds of deliberately broken messages the runner injects, and the rule that refuses
/// each (for the summary; any non-transient refusal counts).
pub const INJECTED_KINDS: &[(&str, &str)] = &[
    ("cvr_mismatch_agreement", "SP-5"),
    ("cvr_mismatch_header", "KSD-8"),
    ("forbidden_code", "KSD-5"),
    ("malformed_xml", "WIRE-1"),
];

/// See the module docs.
pub fn refused_what_must_be_refused(input: &CheckInput) -> Result<CheckResult, CheckError> {
    check(&History::load(input)?, input)
}

pub(crate) fn check(h: &History, input: &CheckInput) -> Result<CheckResult, CheckError> {
    let response = format!("{UPDATE_SEND}{RESPONSE_SUFFIX}");
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    let mut refused: BTreeSet<String> = BTreeSet::new();
    let injected: BTreeSet<String> = input
        .injected
        .iter()
        .map(|(tid, _)| tid.to_ascii_lowercase())
        .collect();
    fn mine<'a>(injected: &BTreeSet<String>, tid: &'a Option<String>) -> Option<&'a String> {
        tid.as_ref().filter(|t| injected.contains(*t))
    }

    for r in &h.ksd.rows {
        let Some(tid) = mine(&injected, &r.tid) else {
            continue;
        };
        if r.is(true, UPDATE_RECEIVE) && (is_accepting(&r.outcome) || &*r.outcome == DUPLICATE) {
            accepted.insert(tid.clone());
        }
        if r.inbound && !is_answer(&r.operation) && is_refusal(&r.outcome) {
            refused.insert(tid.clone());
        }
    }
    for r in &h.sp.rows {
        let Some(tid) = mine(&injected, &r.tid) else {
            continue;
        };
        if r.is(false, &response) && is_accepting(&r.outcome) {
            accepted.insert(tid.clone());
        }
        if r.inbound && !is_answer(&r.operation) && is_refusal(&r.outcome) {
            refused.insert(tid.clone());
        }
        // KSD's FEJL as the platform received it: a refusal even when KSD's own journal has
        // no row (a fault layer in front of KSD answered for it).
        if r.inbound
            && *r.operation == *format!("{UPDATE_RECEIVE}{RESPONSE_SUFFIX}")
            && &*r.outcome == "FEJL"
        {
            refused.insert(tid.clone());
        }
    }
    for r in &h.jc.rows {
        let Some(tid) = mine(&injected, &r.tid) else {
            continue;
        };
        let answered_ok = r.is(false, UPDATE_SEND) && is_accepting(&r.outcome);
        let receipt = r.is(true, RECEIPT_RECEIVE) && is_accepting(&r.outcome);
        if answered_ok || receipt {
            accepted.insert(tid.clone());
        }
    }
    if let Some(t) = &h.ksd_tables {
        accepted.extend(
            injected
                .iter()
                .filter(|tid| t.updates.contains(*tid))
                .cloned(),
        );
    }
    // Unreadable messages: look for the identifier in the bytes of refused unreadable rows.
    let unresolved: Vec<&String> = injected
        .iter()
        .filter(|t| !refused.contains(*t) && !accepted.contains(*t))
        .collect();
    if !unresolved.is_empty() {
        for program in [&h.sp, &h.ksd] {
            for (_, raw) in program.unread_refusals()? {
                for tid in &unresolved {
                    if raw.contains(tid.as_str()) {
                        refused.insert((*tid).clone());
                    }
                }
            }
        }
    }

    let mut bad = Examples::default();
    let (mut n_accepted, mut n_unrefused) = (0u64, 0u64);
    // In the order the runner listed them, so examples follow the run.
    let mut done = BTreeSet::new();
    for (tid, _) in &input.injected {
        let tid = tid.to_ascii_lowercase();
        if !done.insert(tid.clone()) {
            continue;
        }
        if accepted.contains(&tid) {
            n_accepted += 1;
            bad.push(tid);
        } else if !refused.contains(&tid) {
            n_unrefused += 1;
            bad.push(tid);
        }
    }
    let kinds = INJECTED_KINDS
        .iter()
        .map(|(k, _)| (k, input.injected.iter().filter(|(_, i)| i == k).count()))
        .filter(|(_, c)| *c > 0)
        .map(|(k, c)| format!("{k} {c}"))
        .collect::<Vec<_>>();
    let passed = bad.is_empty();
    let summary = format!(
        "{} injected{}: {} refused, {} accepted, {} never seen refused by the platform or KSD",
        n(done.len() as u64, "broken message"),
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        },
        done.len() as u64 - n_accepted - n_unrefused,
        n_accepted,
        n_unrefused,
    );
    Ok(Verdict {
        name: NAME,
        kind: CheckKind::Safety,
        rule: "KSD-5, KSD-8, SP-5, WIRE-1",
        passed,
        summary,
        examples: bad,
        measured: None,
        limit: None,
    }
    .into_result())
}
