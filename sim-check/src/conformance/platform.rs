//! A platform in the platform's seat, graded from what the simulated vendors and KSD saw of
//! it (an outside platform's journal is not ours):
//!
//! - `SP-1`: the TransportKvittering a vendor got for an update is KSD's (the same code).
//! - `SP-2`: every business receipt reached the vendor instance its municipality is routed to
//!   — judged where a vendor stored it, and where a vendor refused it for a municipality it
//!   does not serve (FEJL naming JC-3: the pass-through gave KSD that FEJL, and the receipt is
//!   lost).
//! - `SP-4`: every business receipt the platform accepted from KSD reached a vendor (nothing
//!   dropped).
//! - `SP-5`, `WIRE-1`: an update the runner broke on purpose (another system's municipality;
//!   malformed XML) is refused by the platform: the vendor is not answered OK and KSD never
//!   sees it.
//! - `SP-7`: KSD and the vendors never had to refuse a platform call for its certificate.
//! - `SP-8`: every update answered within 1 s as the vendor saw it (KSD's time included),
//!   judged at speed 1 only.

use std::collections::{BTreeSet, HashMap};

use sim_report::{Evidence, RuleVerdict, SeatReport};
use sim_store::{Outcome, Part};
use sim_wire::Operation;

use super::{SeatUnderTest, Tally};
use crate::history::{History, Row};
use crate::{CheckError, CheckInput};

/// SP-8's simple class (milliseconds).
const SIMPLE_MS: i64 = 1_000;

/// Evidence of one journal row of `program` (a vendor's or KSD's).
fn row_evidence(
    program: &crate::history::Program,
    r: &Row,
    what: String,
) -> Result<Evidence, CheckError> {
    Ok(Evidence {
        transaktion_id: r.tid.clone(),
        call_uuid: r.call.clone(),
        what,
        request: Some(sim_report::truncate_raw(&program.raw(r.id)?)),
        response: None,
    })
}

/// Grades the platform in `seat`.
pub(crate) fn grade(
    h: &History,
    input: &CheckInput,
    seat: &SeatUnderTest,
) -> Result<SeatReport, CheckError> {
    let mut rules = vec![sp1(h)?, sp2(h, input)?, sp4(h)?];
    rules.extend(refused(h, input)?);
    rules.push(sp7(h)?);
    rules.push(sp8(h, input)?);
    Ok(seat.report(rules))
}

/// KSD's first answer per TransaktionIdentifikator (a code, not a repeat's DUPLICATE).
fn ksd_answers(h: &History) -> HashMap<&str, &Outcome> {
    let mut out = HashMap::new();
    for r in &h.ksd.rows {
        if r.is(true, Operation::ModtagOpdateringFravaer) && r.outcome.is_kvittering() {
            if let Some(t) = r.tid.as_deref() {
                out.entry(t).or_insert(&*r.outcome);
            }
        }
    }
    out
}

fn sp1(h: &History) -> Result<RuleVerdict, CheckError> {
    let mut t = Tally::new("SP-1", "passes KSD's TransportKvittering back unchanged");
    let ksd = ksd_answers(h);
    let mut seen = BTreeSet::new();
    for r in &h.jc.rows {
        let code = r.outcome.is_kvittering();
        if !(r.is(false, Operation::SendOpdateringFravaer) && code) {
            continue;
        }
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        let Some(k) = ksd.get(tid) else { continue };
        if !seen.insert(tid) {
            continue;
        }
        if **k == *r.outcome {
            t.ok();
        } else {
            let what = format!("KSD answered {k}, the vendor got {}", r.outcome);
            t.fail(row_evidence(&h.jc, r, what)?);
        }
    }
    Ok(t.verdict(
        "updates answered",
        "no update reached KSD and came back with a receipt",
    ))
}

fn sp2(h: &History, input: &CheckInput) -> Result<RuleVerdict, CheckError> {
    let mut t = Tally::new(
        "SP-2",
        "routes each business receipt to the municipality's vendor",
    );
    let Some(tables) = &h.jc_tables else {
        return Ok(t.verdict("", "the vendors' tables are missing"));
    };
    for (tid, r) in &tables.receipts {
        match input.routing.get(&r.municipality) {
            Some(i) if *i == r.instance => t.ok(),
            Some(i) => t.fail(Evidence {
                transaktion_id: Some(tid.clone()),
                call_uuid: None,
                what: format!(
                    "municipality {} is routed to {i}, the receipt went to {}",
                    r.municipality, r.instance
                ),
                request: None,
                response: None,
            }),
            None => {}
        }
    }
    // Receipts a vendor refused because it does not serve their municipality (JC-3): the
    // platform sent them to the wrong vendor.
    for r in &h.jc.rows {
        if !(r.is_leg(false, Operation::ModtagForretningsSvarJc, Part::Response)
            && *r.outcome == Outcome::Fejl)
        {
            continue;
        }
        if h.jc.raw(r.id)?.contains("JC-3") {
            let what = "a vendor refused the receipt for a municipality it does not serve (JC-3): the platform routed it there".to_string();
            t.fail(row_evidence(&h.jc, r, what)?);
        }
    }
    Ok(t.verdict("receipts delivered", "no business receipt reached a vendor"))
}

fn sp4(h: &History) -> Result<RuleVerdict, CheckError> {
    let mut t = Tally::new(
        "SP-4",
        "delivers every business receipt it accepted from KSD",
    );
    let stored: BTreeSet<&str> =
        h.jc.rows
            .iter()
            .filter(|r| r.is(true, Operation::ModtagForretningsSvarJc) && r.outcome.is_accepting())
            .filter_map(|r| r.tid.as_deref())
            .collect();
    let mut seen = BTreeSet::new();
    for r in &h.ksd.rows {
        if !(r.is(false, Operation::SendForretningsSvarJc) && r.outcome.is_accepting()) {
            continue;
        }
        let Some(tid) = r.tid.as_deref() else {
            continue;
        };
        if !seen.insert(tid) {
            continue;
        }
        if stored.contains(tid) {
            t.ok();
        } else {
            let what = "accepted from KSD, never delivered to a vendor".to_string();
            t.fail(row_evidence(&h.ksd, r, what)?);
        }
    }
    Ok(t.verdict(
        "receipts accepted",
        "the platform accepted no business receipt",
    ))
}

fn refused(h: &History, input: &CheckInput) -> Result<Vec<RuleVerdict>, CheckError> {
    let mut sp5 = Tally::new("SP-5", "refuses an update without a service agreement");
    let mut wire1 = Tally::new("WIRE-1", "refuses a malformed message");
    let at_ksd: BTreeSet<&str> = h
        .ksd
        .rows
        .iter()
        .filter(|r| r.is(true, Operation::ModtagOpdateringFravaer))
        .filter_map(|r| r.tid.as_deref())
        .collect();
    // Updates a vendor was answered OK/ADVARSEL for: one pass, not one per injected update.
    let answered_ok: BTreeSet<&str> =
        h.jc.rows
            .iter()
            .filter(|r| r.is(false, Operation::SendOpdateringFravaer) && r.outcome.is_accepting())
            .filter_map(|r| r.tid.as_deref())
            .collect();
    for (tid, kind) in &input.injected {
        let tid = tid.to_ascii_lowercase();
        let t = match kind.as_str() {
            "cvr_mismatch_agreement" => &mut sp5,
            "malformed_xml" => &mut wire1,
            _ => continue,
        };
        if answered_ok.contains(tid.as_str()) || at_ksd.contains(tid.as_str()) {
            t.fail(Evidence {
                transaktion_id: Some(tid.clone()),
                call_uuid: None,
                what: format!("a {kind} update was not refused by the platform"),
                request: None,
                response: None,
            });
        } else {
            t.ok();
        }
    }
    Ok(vec![
        sp5.verdict(
            "broken updates",
            "the scenario injected no cvr_mismatch_agreement fault",
        ),
        wire1.verdict(
            "broken updates",
            "the scenario injected no malformed_xml fault",
        ),
    ])
}

fn sp7(h: &History) -> Result<RuleVerdict, CheckError> {
    let mut t = Tally::new(
        "SP-7",
        "calls KSD and the vendors with KOMBIT's certificate",
    );
    let calls = h
        .ksd
        .rows
        .iter()
        .filter(|r| r.is(true, Operation::ModtagOpdateringFravaer))
        .map(|r| (&h.ksd, r))
        .chain(
            h.jc.rows
                .iter()
                .filter(|r| r.is(true, Operation::ModtagForretningsSvarJc))
                .map(|r| (&h.jc, r)),
        );
    for (program, r) in calls {
        match r.outcome.fault_rule() {
            Some("SP-7") | Some("JC-2") => {
                let what = format!("refused for the platform's certificate ({})", r.outcome);
                t.fail(row_evidence(program, r, what)?);
            }
            _ => t.ok(),
        }
    }
    Ok(t.verdict(
        "calls received",
        "the platform called neither KSD nor a vendor",
    ))
}

fn sp8(h: &History, input: &CheckInput) -> Result<RuleVerdict, CheckError> {
    let mut t = Tally::new(
        "SP-8",
        "answers each update within 1 s, as the vendor saw it",
    );
    if input.real_time {
        let mut open: HashMap<(Option<&str>, Option<&str>), &Row> = HashMap::new();
        for r in &h.jc.rows {
            let key = (r.tid.as_deref(), r.call.as_deref());
            if r.is(false, Operation::SendOpdateringFravaer) {
                open.insert(key, r);
            } else if r.is_leg(true, Operation::SendOpdateringFravaer, Part::Response) {
                if let Some(out) = open.remove(&key) {
                    let ms = r.at - out.at;
                    if ms > SIMPLE_MS {
                        t.fail(row_evidence(&h.jc, out, format!("answered after {ms} ms"))?);
                    } else {
                        t.ok();
                    }
                }
            }
        }
    }
    let why = super::sla_not_exercised(input.real_time, "no update was answered");
    Ok(t.verdict("updates answered", why))
}
