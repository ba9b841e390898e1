//! Safety `no-receipt-without-update` (KSD-2): a business receipt always answers an update KSD
//! accepted, under the same TransaktionIdentifikator, and KSD only accepts updates a vendor
//! sent.
//!
//! Three inclusions over TransaktionIdentifikatorer, all from journals:
//! - receipts stored at vendors ([`Operation::ModtagForretningsSvarJc`] in, OK/ADVARSEL at the
//!   vendor) ⊆ updates KSD processed ([`Operation::ModtagOpdateringFravaer`] in, OK/ADVARSEL at
//!   KSD);
//! - receipts KSD sent ([`Operation::SendForretningsSvarJc`] out at KSD, any attempt) ⊆
//!   updates KSD processed;
//! - updates KSD processed ⊆ updates vendors sent ([`Operation::SendOpdateringFravaer`] out at
//!   the vendor).

use std::collections::BTreeSet;

use sim_report::{CheckKind, CheckResult};
use sim_wire::Operation;

use crate::history::{History, Row};
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
        .filter(|r| r.is(true, Operation::ModtagOpdateringFravaer) && r.outcome.is_accepting())
        .filter_map(|r| r.tid.as_deref())
        .collect();
    let sent: BTreeSet<&str> =
        h.jc.rows
            .iter()
            .filter(|r| r.is(false, Operation::SendOpdateringFravaer))
            .filter_map(|r| r.tid.as_deref())
            .collect();

    let mut bad = Examples::default();
    let mut orphans = 0u64;
    let stored_ok =
        |r: &&Row| r.is(true, Operation::ModtagForretningsSvarJc) && r.outcome.is_accepting();
    let stored = receipts(
        h.jc.rows.iter().filter(stored_ok),
        &processed,
        &mut orphans,
        &mut bad,
    );
    let ksd_sends = |r: &&Row| r.is(false, Operation::SendForretningsSvarJc);
    let ksd_sent = receipts(
        h.ksd.rows.iter().filter(ksd_sends),
        &processed,
        &mut orphans,
        &mut bad,
    );
    let mut unsent = 0u64;
    for tid in &processed {
        if !sent.contains(tid) {
            unsent += 1;
            bad.push(*tid);
        }
    }
    let summary = format!(
        "{} stored at vendors and {} sent by KSD, for {} KSD processed: {} without a processed update, {} processed but never sent by a vendor",
        n(stored.len() as u64, "receipt"),
        n(ksd_sent.len() as u64, "receipt"),
        n(processed.len() as u64, "update"),
        orphans,
        unsent,
    );
    Verdict::new(NAME, CheckKind::Safety, "KSD-2", summary, bad).into_result()
}

/// The distinct receipts among `rows`; each one (and each row without a
/// TransaktionIdentifikator) that answers no processed update is an orphan, counted and kept.
fn receipts<'a>(
    rows: impl Iterator<Item = &'a Row>,
    processed: &BTreeSet<&str>,
    orphans: &mut u64,
    bad: &mut Examples,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for r in rows {
        match r.tid.as_deref() {
            Some(tid) => {
                if seen.insert(tid) && !processed.contains(tid) {
                    *orphans += 1;
                    bad.push(tid);
                }
            }
            None => {
                *orphans += 1;
                bad.push(r.example());
            }
        }
    }
    seen
}
