//! Safety `no-misrouting` (SP-2, SP-3, JC-3): what KSD sends a jobcenter — a business
//! receipt, an SF2090 event, an SF2093 extension request — only ever goes to, and a receipt is
//! only ever stored by, the vendor instance routed for its security context's municipality.
//!
//! Two sides are judged:
//! - the platform: every delivery attempt it journaled ([`Operation::ModtagForretningsSvarJc`],
//!   [`Operation::ModtagHaendelse`], [`Operation::ModtagAnmodningForlaengelse`] out, whatever
//!   the answer, since sending the bytes to the wrong vendor is the harm) names the instance
//!   in `peer` and the context in `municipality`;
//! - the vendors: every receipt stored in `jc_receipts` (the journal row of a stored receipt
//!   does not name the receiving instance, so the table is read).
//!
//! A delivery is right if its instance was the route at the platform's routing decision (when
//! it accepted KSD's call, same CallUUID) or at the delivery itself: a receipt in flight across
//! a routing change may rightly land on either side of it.

use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_wire::Operation;

use crate::history::{History, Row};
use crate::routing::{Judgement, Routes};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "no-misrouting";

/// What KSD calls the platform's JC exposure with.
const KSD_SENDS: [Operation; 3] = [
    Operation::SendForretningsSvarJc,
    Operation::SendHaendelse,
    Operation::SendAnmodningForlaengelse,
];

/// The platform's deliveries of those to a jobcenter.
const DELIVERIES: [Operation; 3] = [
    Operation::ModtagForretningsSvarJc,
    Operation::ModtagHaendelse,
    Operation::ModtagAnmodningForlaengelse,
];

/// See the module docs.
pub fn no_misrouting(input: &CheckInput) -> Result<CheckResult, CheckError> {
    Ok(check(&History::load(input)?, input))
}

pub(crate) fn check(h: &History, input: &CheckInput) -> CheckResult {
    let routes = Routes::new(input);
    // The platform's routing decisions: KSD's calls it took, by call and by TransaktionIdentifikator.
    let mut decided_by_call: HashMap<&str, i64> = HashMap::new();
    let mut decided_by_tid: HashMap<&str, Vec<i64>> = HashMap::new();
    for r in &h.sp.rows {
        if KSD_SENDS.iter().any(|op| r.is(true, *op)) && r.taken() {
            if let Some(c) = &r.call {
                decided_by_call.entry(c).or_insert(r.at);
            }
            if let Some(t) = &r.tid {
                decided_by_tid.entry(t).or_default().push(r.at);
            }
        }
    }

    let mut bad = Examples::default();
    let (mut deliveries, mut stored, mut unjudged) = (0u64, 0u64, 0u64);
    let delivery = |r: &&Row| DELIVERIES.iter().any(|op| r.is(false, *op));
    for r in h.sp.rows.iter().filter(delivery) {
        deliveries += 1;
        let (Some(m), Some(instance)) = (&r.municipality, &r.peer) else {
            // A delivery that names no municipality or no receiver cannot have been routed.
            bad.push(r.example());
            continue;
        };
        let mut times = vec![r.at];
        if let Some(t) = r.call.as_deref().and_then(|c| decided_by_call.get(c)) {
            times.push(*t);
        }
        match routes.judge(m, instance, &times) {
            Judgement::Right => {}
            Judgement::Wrong => bad.push(r.example()),
            Judgement::Unknown => unjudged += 1,
        }
    }
    let vendor_side = match &h.jc_tables {
        Some(jc) => {
            for (tid, rec) in &jc.receipts {
                stored += 1;
                let mut times = vec![rec.received_at];
                times.extend(decided_by_tid.get(tid.as_str()).into_iter().flatten());
                match routes.judge(&rec.municipality, &rec.instance, &times) {
                    Judgement::Right => {}
                    Judgement::Wrong => bad.push(tid.clone()),
                    Judgement::Unknown => unjudged += 1,
                }
            }
            String::new()
        }
        None => "; the vendors' jc_receipts table is missing, so only the platform side was judged"
            .to_string(),
    };
    let summary = format!(
        "{} to jobcenters (receipts, events, extension requests) by the platform and {} at vendors judged against the routing at the time: {} misrouted{}{vendor_side}",
        n(deliveries, "delivery"),
        n(stored, "stored receipt"),
        bad.count,
        if unjudged > 0 {
            format!(
                ", {} not judged (before its municipality's first routing change the route is unknown)",
                unjudged
            )
        } else {
            String::new()
        },
    );
    Verdict::new(NAME, CheckKind::Safety, "SP-2, SP-3, JC-3", summary, bad).into_result()
}
