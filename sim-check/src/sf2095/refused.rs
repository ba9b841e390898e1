//! Safety `refused-what-must-be-refused` (KSD-5, KSD-8, SP-5, WIRE-1): every message the runner
//! broke on purpose was refused, and none was ever accepted.
//!
//! *Refused* means a program refused it in its **own** journal: the platform (an inbound
//! request row with a fault) or KSD (an inbound request row with FEJL, a fault, or a discard:
//! OphoersAarsag 10 from outside is thrown away by KSD-14, answered ADVARSEL naming
//! `KSD-14.KASSERET`, journaled `DISCARDED` by every program that hears it), where the
//! fault's rule is not a transient one ([`Outcome::is_refusal`], see
//! [`TRANSIENT_FAULT_RULES`](sim_store::TRANSIENT_FAULT_RULES): an unreachable KSD or a service
//! window says nothing about the message). What the sending vendor journaled is not taken as a
//! refusal, because an injected fault in front of a program answers without that program
//! journaling.
//! A message too broken to be read has no TransaktionIdentifikator in the journal; it is found
//! by its identifier in the raw XML of the refused rows.
//!
//! *Accepted* is any sign of processing: KSD answered OK/ADVARSEL/DUPLICATE, KSD recorded it
//! (`ksd_updates`), the platform passed an OK/ADVARSEL back, the vendor was answered
//! OK/ADVARSEL, or a business receipt for it reached a vendor.

use std::collections::BTreeSet;

use sim_report::{CheckKind, CheckResult};
use sim_store::{Outcome, Part};
use sim_wire::{Operation, Rule};

use crate::history::{History, Row};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "refused-what-must-be-refused";

/// The kinds of deliberately broken messages the runner injects, and the rule that refuses
/// each (for the summary; any non-transient refusal counts).
pub const INJECTED_KINDS: &[(&str, Rule)] = &[
    ("cvr_mismatch_agreement", Rule::Sp5),
    ("cvr_mismatch_header", Rule::Ksd8),
    ("forbidden_code", Rule::Ksd5),
    ("malformed_xml", Rule::Wire1),
];

/// See the module docs.
pub fn refused_what_must_be_refused(input: &CheckInput) -> Result<CheckResult, CheckError> {
    check(&History::load(input)?, input)
}

/// The check when an outside platform takes the seat: the platform's own refusals are in its
/// journal, not ours; what its vendors and KSD saw is graded in its conformance section
/// (SP-5, WIRE-1).
pub(crate) fn not_judged() -> CheckResult {
    let mut r = Verdict::new(
        NAME,
        CheckKind::Safety,
        "KSD-5, KSD-8, SP-5, WIRE-1",
        "not judged: the platform is an outside system".into(),
        Examples::default(),
    )
    .into_result();
    r.not_judged = Some(
        "the platform is an outside system: its refusals are in its own journal; see its conformance section (SP-5, WIRE-1)"
            .into(),
    );
    r
}

pub(crate) fn check(h: &History, input: &CheckInput) -> Result<CheckResult, CheckError> {
    let injected: BTreeSet<String> = input
        .injected
        .iter()
        .map(|(tid, _)| tid.to_ascii_lowercase())
        .collect();
    let code10 = carrying_code_10(h, input)?;
    let signs = Signs::of(h, &injected, &code10)?;

    let mut bad = Examples::default();
    let (mut n_accepted, mut n_unrefused) = (0u64, 0u64);
    // In the order the runner listed them, so examples follow the run.
    let mut done = BTreeSet::new();
    for (tid, _) in &input.injected {
        let tid = tid.to_ascii_lowercase();
        if !done.insert(tid.clone()) {
            continue;
        }
        if signs.accepted.contains(&tid) {
            n_accepted += 1;
            bad.push(tid);
        } else if !signs.refused.contains(&tid) {
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
    let rule = "KSD-5, KSD-8, SP-5, WIRE-1";
    Ok(Verdict::new(NAME, CheckKind::Safety, rule, summary, bad).into_result())
}

/// What the history says of the injected messages (lowercased TransaktionIdentifikatorer).
#[derive(Default)]
struct Signs {
    /// Any sign of processing (see the module docs).
    accepted: BTreeSet<String>,
    /// Refused by the platform or KSD for what it is.
    refused: BTreeSet<String>,
}

/// Whether a row is a request some program received and refused for what it is.
fn refuses(r: &Row) -> bool {
    r.inbound && !r.label.is_answer() && r.outcome.is_refusal()
}

/// The `forbidden_code` injections that carry OphoersAarsag 10 (read from the update the
/// vendor sent): KSD-14 discards them, so for them *refused* means "answered with a receipt
/// and never processed", whatever its code — a KSD that answers a plain OK and drops the
/// update discards it as well as ours with its ADVARSEL `KSD-14.KASSERET`.
fn carrying_code_10(h: &History, input: &CheckInput) -> Result<BTreeSet<String>, CheckError> {
    let forbidden: BTreeSet<String> = input
        .injected
        .iter()
        .filter(|(_, k)| k == "forbidden_code")
        .map(|(t, _)| t.to_ascii_lowercase())
        .collect();
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for r in &h.jc.rows {
        let Some(tid) = r.tid.as_deref().filter(|t| forbidden.contains(*t)) else {
            continue;
        };
        if !r.is(false, Operation::SendOpdateringFravaer) || !seen.insert(tid.to_string()) {
            continue;
        }
        let raw = h.jc.raw(r.id)?;
        if let Ok(d) = sim_wire::read(raw.as_bytes(), None) {
            if let Some(sim_wire::Payload::OpdateringFravaer(u)) = d.request().map(|q| &q.payload) {
                if u.ophoers_aarsag.discarded_from_outside() {
                    out.insert(tid.to_string());
                }
            }
        }
    }
    Ok(out)
}

impl Signs {
    fn of(
        h: &History,
        injected: &BTreeSet<String>,
        code10: &BTreeSet<String>,
    ) -> Result<Signs, CheckError> {
        let mut s = Signs::default();
        let mine = |r: &Row| r.tid.as_ref().filter(|t| injected.contains(*t)).cloned();
        for r in &h.ksd.rows {
            let Some(tid) = mine(r) else { continue };
            let answered = r.outcome.is_accepting() || *r.outcome == Outcome::Duplicate;
            if r.is(true, Operation::ModtagOpdateringFravaer) && answered && !code10.contains(&tid)
            {
                s.accepted.insert(tid.clone());
            }
            if refuses(r) {
                s.refused.insert(tid);
            }
        }
        for r in &h.sp.rows {
            let Some(tid) = mine(r) else { continue };
            let discardable = code10.contains(&tid);
            s.platform(r, tid, discardable);
        }
        for r in &h.jc.rows {
            let Some(tid) = mine(r) else { continue };
            let answered_ok = r.is(false, Operation::SendOpdateringFravaer);
            let receipt = r.is(true, Operation::ModtagForretningsSvarJc);
            if code10.contains(&tid) {
                // Discarded when answered with a receipt and never processed (a business
                // receipt, or KSD's record below, is processing).
                if receipt && r.outcome.is_accepting() {
                    s.accepted.insert(tid);
                } else if answered_ok && r.outcome.is_kvittering() {
                    s.refused.insert(tid);
                }
                continue;
            }
            if (answered_ok || receipt) && r.outcome.is_accepting() {
                s.accepted.insert(tid);
            }
        }
        if let Some(t) = &h.ksd_tables {
            let recorded = injected.iter().filter(|tid| t.updates.contains(*tid));
            s.accepted.extend(recorded.cloned());
        }
        s.unreadable(h, injected)?;
        Ok(s)
    }

    /// One platform row about an injected message; `discardable`: it carries code 10, whose
    /// accepting receipt is no processing.
    fn platform(&mut self, r: &Row, tid: String, discardable: bool) {
        let send = Operation::SendOpdateringFravaer;
        if r.is_leg(false, send, Part::Response) && r.outcome.is_accepting() && !discardable {
            self.accepted.insert(tid.clone());
        }
        // KSD's FEJL (or discard) as the platform received it: a refusal even when KSD's own
        // journal has no row (a fault layer in front of KSD answered for it).
        let ksd_answer = r.is_leg(true, Operation::ModtagOpdateringFravaer, Part::Response);
        let kode = matches!(*r.outcome, Outcome::Fejl | Outcome::Discarded);
        if refuses(r) || (ksd_answer && kode) {
            self.refused.insert(tid);
        }
    }

    /// Unreadable messages: their identifier is looked for in the bytes of the refused rows
    /// that have none.
    fn unreadable(&mut self, h: &History, injected: &BTreeSet<String>) -> Result<(), CheckError> {
        let unresolved: Vec<&String> = injected
            .iter()
            .filter(|t| !self.refused.contains(*t) && !self.accepted.contains(*t))
            .collect();
        if unresolved.is_empty() {
            return Ok(());
        }
        for program in [&h.sp, &h.ksd] {
            for (_, raw) in program.unread_refusals()? {
                for tid in &unresolved {
                    if raw.contains(tid.as_str()) {
                        self.refused.insert((*tid).clone());
                    }
                }
            }
        }
        Ok(())
    }
}
