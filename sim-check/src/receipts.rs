//! Safety `no-receipt-without-update` (KSD-2): a business receipt always answers an update KSD
//! accepted, under the same TransaktionIdentifikator, and KSD only accepts updates a vendor
//! sent.
//!
//! Three inclusions over TransaktionIdentifikatorer, all from journals:
//! - receipts stored at vendors ([`RECEIPT_RECEIVE`] in, OK/ADVARSEL at the vendor) ⊆ updates
//!   KSD processed ([`UPDATE_RECEIVE`] in, OK/ADVARSEL at KSD);
//! - receipts KSD sent ([`RECEIPT_SEND`] out at KSD, any attempt) ⊆ updates KSD processed;
//! - updates KSD processed ⊆ updates vendors sent ([`UPDATE_SEND`] out at the vendor).

use std::collections::BTreeSet;

use sim_report::{CheckKind, CheckResult};

use crate::conventions::{
    is_accepting, RECEIPT_RECEIVE, RECEIPT_SEND, UPDATE_RECEIVE, UPDATE_SEND,
};
use crate::history::History;
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "no-receipt-without-update";

/// See the module docs.
pub fn no_receipt_without_update(input: &CheckInput) -> Result<CheckResult, CheckError> {
    Ok(check(&History::load(input)?))
}

pub(crate) fn check(h: &History) -> CheckResult {
    let processed: BTreeSet<&str> = h
        .ksd
        .rows
        .iter()
        .filter(|r| r.is(true, UPDATE_RECEIVE) && is_accepting(&r.outcome))
        .filter_map(|r| r.tid.as_deref())
        .collect();
    let sent: BTreeSet<&str> =
        h.jc.rows
            .iter()
            .filter(|r| r.is(false, UPDATE_SEND))
            .filter_map(|r| r.tid.as_deref())
            .collect();

    let mut bad = Examples::default();
    let (mut stored, mut orphans) = (BTreeSet::new(), 0u64);
    for r in
        h.jc.rows
            .iter()
            .filter(|r| r.is(true, RECEIPT_RECEIVE) && is_accepting(&r.outcome))
    {
        match r.tid.as_deref() {
            Some(tid) => {
                if stored.insert(tid) && !processed.contains(tid) {
                    orphans += 1;
                    bad.push(tid);
                }
            }
            None => {
                orphans += 1;
                bad.push(r.example());
            }
        }
    }
    let mut ksd_sent = BTreeSet::new();
    for r in h.ksd.rows.iter().filter(|r| r.is(false, RECEIPT_SEND)) {
        match r.tid.as_deref() {
            Some(tid) => {
                if ksd_sent.insert(tid) && !processed.contains(tid) {
                    orphans += 1;
                    bad.push(tid);
                }
            }
            None => {
                orphans += 1;
                bad.push(r.example());
            }
        }
    }
    let mut unsent = 0u64;
    for tid in &processed {
        if !sent.contains(tid) {
            unsent += 1;
            bad.push(*tid);
        }
    }
    let passed = bad.is_empty();
    let summary = format!(
        "{} stored at vendors and {} sent by KSD, for {} KSD processed: {} without a processed update, {} processed but never sent by a vendor",
        n(stored.len() as u64, "receipt"),
        n(ksd_sent.len() as u64, "receipt"),
        n(processed.len() as u64, "update"),
        orphans,
        unsent,
    );
    Verdict {
        name: NAME,
        kind: CheckKind::Safety,
        rule: "KSD-2",
        passed,
        summary,
        examples: bad,
        measured: None,
        limit: None,
    }
    .into_result()
}
