//! Safety `processed-exactly-once` (KSD-7): however often an update was delivered, KSD
//! processed it once.
//!
//! From KSD's journal ([`Operation::ModtagOpdateringFravaer`] in): per TransaktionIdentifikator
//! at most one row answered OK/ADVARSEL (processed); every [`Outcome::Duplicate`] comes after
//! that one (a repeat answered from the store, never a first sight). A FEJL before the
//! acceptance is fine: FEJL is not processing (KSD-1).
//!
//! The journal records what KSD *answered*, not what it *recorded*, so KSD's own tables are
//! read as well: each processed update has exactly one `ksd_updates` row and one
//! `ksd_case_history` row, and no table row exists for an update the journal never shows
//! processed. Without those tables (a real KSD in the seat) only the journal is judged.

use std::collections::BTreeMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::Outcome;
use sim_wire::Operation;

use crate::history::{History, Row};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "processed-exactly-once";

/// See the module docs.
pub fn processed_exactly_once(input: &CheckInput) -> Result<CheckResult, CheckError> {
    Ok(check(&History::load(input)?))
}

/// Per TransaktionIdentifikator: how often processed, and whether a DUPLICATE came first.
#[derive(Default)]
struct Seen {
    processed: u64,
    duplicates: u64,
    /// Refused with FEJL after it was processed: the TransaktionIdentifikator reused with other
    /// content (KSD-7).
    reused: u64,
    duplicate_before_processing: bool,
}

/// The check when an outside KSD takes the seat: what it processed (not only what it
/// answered) is in its own store, which is not ours; its answers to repeated updates are
/// graded in its conformance section (KSD-7).
pub(crate) fn not_judged() -> CheckResult {
    let mut r = Verdict::new(
        NAME,
        CheckKind::Safety,
        "KSD-7",
        "not judged: KSD is an outside system".into(),
        Examples::default(),
    )
    .into_result();
    r.not_judged = Some(
        "KSD is an outside system: what it processed is in its own store; see its conformance section (KSD-7)"
            .into(),
    );
    r
}

pub(crate) fn check(h: &History) -> CheckResult {
    let mut seen: BTreeMap<&str, Seen> = BTreeMap::new();
    let received = |r: &&Row| r.is(true, Operation::ModtagOpdateringFravaer);
    for r in h.ksd.rows.iter().filter(received) {
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        if r.outcome.is_accepting() {
            seen.entry(tid).or_default().processed += 1;
        } else if *r.outcome == Outcome::Duplicate {
            let s = seen.entry(tid).or_default();
            s.duplicates += 1;
            if s.processed == 0 {
                s.duplicate_before_processing = true;
            }
        } else if *r.outcome == Outcome::Fejl {
            let s = seen.entry(tid).or_default();
            if s.processed > 0 {
                s.reused += 1;
            }
        }
    }

    let mut bad = Examples::default();
    for (tid, s) in &seen {
        if s.processed > 1 || s.duplicate_before_processing {
            bad.push(*tid);
        }
    }
    let tables = match &h.ksd_tables {
        Some(t) => {
            for (tid, s) in &seen {
                if s.processed >= 1
                    && (!t.updates.contains(*tid) || t.history.get(*tid).copied() != Some(1))
                {
                    bad.push(*tid);
                }
            }
            let processed = |tid: &str| seen.get(tid).is_some_and(|s| s.processed > 0);
            for tid in t.updates.iter().chain(t.history.keys()) {
                if !processed(tid) {
                    bad.push(tid.clone());
                }
            }
            "; KSD's ksd_updates and ksd_case_history agree".to_string()
        }
        None => "; KSD's tables are missing, so only its journal was judged".to_string(),
    };
    let processed = seen.values().filter(|s| s.processed > 0).count() as u64;
    let duplicates: u64 = seen.values().map(|s| s.duplicates).sum();
    let reused: u64 = seen.values().map(|s| s.reused).sum();
    let reused = if reused > 0 {
        format!(
            ", {} with other content refused",
            n(reused, "reused TransaktionIdentifikator")
        )
    } else {
        String::new()
    };
    let summary = if bad.is_empty() {
        format!(
            "{} processed once each, {} answered from the store{reused}{tables}",
            n(processed, "update"),
            n(duplicates, "repeat")
        )
    } else {
        format!(
            "{} processed, {} answered from the store; {} processed more than once, answered DUPLICATE unprocessed, or disagreeing with KSD's tables",
            n(processed, "update"),
            n(duplicates, "repeat"),
            n(bad.count, "violation")
        )
    };
    Verdict::new(NAME, CheckKind::Safety, "KSD-7", summary, bad).into_result()
}
