//! Counts over a run for the report's totals: what the vendors sent and what came of it.
//!
//! Totals come from the vendors' journal (distinct TransaktionIdentifikatorer); per-vendor
//! figures from the jobcenter's own tables (`jc_updates.instance`, `jc_receipts.instance`),
//! because no jobcenter journal row names the sending or receiving instance.

use std::collections::{BTreeMap, BTreeSet};

use sim_report::{Ownership, ProgramStats, Totals};
use sim_store::Outcome;
use sim_wire::Operation;

use crate::history::History;
use crate::{CheckError, CheckInput};

/// What one vendor instance did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorStats {
    /// Updates it created and sent (each counted once, however often resent).
    pub sent: u64,
    /// Of those, answered OK or ADVARSEL.
    pub accepted: u64,
    /// Of those, answered FEJL.
    pub rejected: u64,
    /// Business receipts it stored (first delivery of each).
    pub receipts: u64,
}

/// Journal rows each program wrote: every message it sent or received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalRows {
    /// `sim-sp`.
    pub sp: u64,
    /// `sim-ksd`.
    pub ksd: u64,
    /// `sim-jobcenter`, all instances.
    pub jobcenter: u64,
}

/// Counts over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Distinct updates the vendors sent.
    pub sent: u64,
    /// Of those, answered OK or ADVARSEL at least once.
    pub accepted: u64,
    /// Of those, answered FEJL and never accepted.
    pub rejected: u64,
    /// Of those, never answered with a TransportKvittering (faults and transport errors only).
    pub undelivered: u64,
    /// Distinct business receipts stored at the vendors.
    pub receipts: u64,
    /// How long the vendors owned their updates (JC-1).
    pub ownership: Ownership,
    /// Per vendor instance, from the jobcenter's tables (empty when they are missing).
    pub per_vendor: BTreeMap<String, VendorStats>,
    /// Per program.
    pub journal_rows: JournalRows,
    /// Per integration, the calls the platform took and its response times.
    pub flows: Vec<sim_report::FlowTotals>,
}

impl Stats {
    /// Fills the counts a run report's totals take from the journals; `arrivals` and
    /// `faults_injected` are the runner's and are left as they are.
    pub fn fill(&self, totals: &mut Totals) {
        totals.sent = self.sent;
        totals.accepted = self.accepted;
        totals.rejected = self.rejected;
        totals.undelivered = self.undelivered;
        totals.receipts = self.receipts;
        totals.ownership = self.ownership.clone();
        totals.flows = self.flows.clone();
    }

    /// One [`ProgramStats`] per program with its journal rows (memory is the runner's to add).
    pub fn programs(&self) -> Vec<ProgramStats> {
        [
            ("sim-sp", self.journal_rows.sp),
            ("sim-ksd", self.journal_rows.ksd),
            ("sim-jobcenter", self.journal_rows.jobcenter),
        ]
        .into_iter()
        .map(|(name, rows)| ProgramStats {
            name: name.to_string(),
            peak_rss_bytes: None,
            messages_journaled: rows,
            cpu_seconds: None,
        })
        .collect()
    }
}

/// Counts over the run in `input`'s files.
pub fn stats(input: &CheckInput) -> Result<Stats, CheckError> {
    Ok(compute(&History::load(input)?))
}

/// Ownership over (first attempt, answered attempt) pairs; `end`: the run's last moment.
fn ownership(pairs: impl Iterator<Item = (i64, Option<i64>)>, end: i64) -> Ownership {
    let ms = |d: i64| u64::try_from(d).unwrap_or(0);
    let mut answered: Vec<u64> = Vec::new();
    let mut o = Ownership::default();
    for (first, tk) in pairs {
        match tk {
            Some(t) => answered.push(ms(t - first)),
            None => {
                o.still_owned += 1;
                o.still_owned_max_ms = o.still_owned_max_ms.max(ms(end - first));
            }
        }
    }
    answered.sort_unstable();
    let at = |q: f64| {
        let i = ((answered.len() as f64 * q).ceil() as usize).saturating_sub(1);
        answered.get(i).copied().unwrap_or(0)
    };
    o.answered = answered.len() as u64;
    o.resent = answered.iter().filter(|d| **d > 0).count() as u64;
    o.p50_ms = at(0.5);
    o.p99_ms = at(0.99);
    o.max_ms = answered.last().copied().unwrap_or(0);
    o
}

pub(crate) fn compute(h: &History) -> Stats {
    let (mut sent, mut accepted, mut fejl, mut receipts) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    // TransaktionIdentifikator → (first attempt, the attempt that got a TransportKvittering).
    let mut owned: BTreeMap<&str, (i64, Option<i64>)> = BTreeMap::new();
    for r in &h.jc.rows {
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        if r.is(false, Operation::SendOpdateringFravaer) {
            let o = owned.entry(tid).or_insert((r.at, None));
            o.0 = o.0.min(r.at);
            if r.outcome.is_kvittering() {
                o.1 = Some(o.1.map_or(r.at, |t: i64| t.min(r.at)));
            }
            sent.insert(tid);
            if r.outcome.is_accepting() {
                accepted.insert(tid);
            } else if matches!(*r.outcome, Outcome::Fejl | Outcome::Discarded) {
                // Not processed: refused, or discarded (KSD-14).
                fejl.insert(tid);
            }
        } else if r.is(true, Operation::ModtagForretningsSvarJc) && r.outcome.is_accepting() {
            receipts.insert(tid);
        }
    }
    let rejected = fejl.difference(&accepted).count() as u64;
    let mut per_vendor: BTreeMap<String, VendorStats> = BTreeMap::new();
    if let Some(t) = &h.jc_tables {
        for (instance, status) in t.updates.values() {
            let v = per_vendor.entry(instance.clone()).or_default();
            v.sent += 1;
            match status.as_str() {
                "accepted" => v.accepted += 1,
                "rejected" => v.rejected += 1,
                _ => {}
            }
        }
        for rec in t.receipts.values() {
            per_vendor.entry(rec.instance.clone()).or_default().receipts += 1;
        }
    }
    let sent_n = sent.len() as u64;
    let end = h.jc.rows.iter().map(|r| r.at).max().unwrap_or(0);
    Stats {
        ownership: ownership(owned.values().copied(), end),
        sent: sent_n,
        accepted: accepted.len() as u64,
        rejected,
        undelivered: sent_n - accepted.len() as u64 - rejected,
        receipts: receipts.len() as u64,
        per_vendor,
        journal_rows: JournalRows {
            sp: h.sp.rows.len() as u64,
            ksd: h.ksd.rows.len() as u64,
            jobcenter: h.jc.rows.len() as u64,
        },
        flows: crate::sla::per_flow(&h.sp.rows),
    }
}
