//! The check of SF1690 (the jobcenters' messages to KY through the platform's KY exposure).
//!
//! Liveness `ky-receipts` (KY-1, JC-1): every KY message a simulated vendor sent got a
//! TransportKvittering by the end of the run — resent through faults until one came, since a
//! vendor owns what it sends until then — and none was refused. The simulated vendors send
//! only consistent conversations (a course before what hangs off it, in an order KY accepts:
//! the runner's `traffic::ky`), and no injected fault answers a KY message with FEJL (the fault
//! layer has no KY receipt to forge: a `fejl_receipt` at KSD reaches the vendor as the
//! platform's SP-4), so a FEJL is KY's state gone wrong: each is reported with the rule its
//! FejlKode names (`KY-6.UKENDT` → KY-6).
//!
//! | leg | journal | what counts |
//! | --- | --- | --- |
//! | vendor → platform KY exposure | jobcenter, `KY/<Operation>` request out | a message sent (by TransaktionIdentifikator) |
//! | platform → vendor | jobcenter, `KY/<Operation>` response in | its receipt: OK/ADVARSEL accepted, FEJL refused |
//!
//! Read from the vendors' journal: what they sent and heard is the question, whatever sat
//! between (an outside platform too). Besides it, the vendors' own table `jc_ky_messages` for
//! messages stored but never tried: the journal cannot show those (a crash before the first
//! attempt), and they are owned as much as the others. An outside jobcenter's KY messages are graded in its
//! conformance section instead (`conformance::jobcenter`). The platform's response times for
//! KY are the SLA checker's (`sim_wire::flows` classes every KY operation simple, SP-8).

use std::collections::BTreeMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::{Outcome, Part};

use crate::history::{History, Program};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "ky-receipts";

const RULES: &str = "KY-1, JC-1";

/// Every SF1690 check.
pub(crate) fn check(h: &History, _input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    Ok(vec![receipts(&h.jc)?])
}

/// What became of one message, by TransaktionIdentifikator.
#[derive(Default)]
struct Message {
    operation: String,
    attempts: u64,
    accepted: bool,
    /// The FejlKoder of KY's FEJL, when it refused.
    refused: Option<Vec<String>>,
}

fn receipts(p: &Program) -> Result<CheckResult, CheckError> {
    let mut messages: BTreeMap<String, Message> = BTreeMap::new();
    for r in &p.rows {
        let Some(op) = r.label.ky_operation() else {
            continue;
        };
        let Some(tid) = r.tid.clone() else {
            continue;
        };
        let part = r.label.part();
        if !r.inbound && part == Part::Request {
            let m = messages.entry(tid).or_default();
            m.operation = op.name().to_string();
            m.attempts += 1;
        } else if r.inbound && part == Part::Response {
            let m = messages.entry(tid).or_default();
            match &*r.outcome {
                Outcome::Ok | Outcome::Advarsel => m.accepted = true,
                Outcome::Fejl => {
                    let raw = p.raw(r.id)?;
                    m.refused = Some(fejl_koder(&raw));
                }
                _ => {}
            }
        }
    }
    // A message stored but never tried (the vendor crashed before its first attempt was
    // journaled) is owned all the same (JC-1): the vendor's own table knows it.
    for (tid, op) in stored_pending(p) {
        messages.entry(tid).or_insert_with(|| Message {
            operation: op,
            ..Message::default()
        });
    }
    let (mut accepted, mut refused, mut unanswered) = (0u64, 0u64, 0u64);
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad = Examples::default();
    for (tid, m) in &messages {
        if m.accepted {
            accepted += 1;
        } else if let Some(codes) = &m.refused {
            refused += 1;
            let mut rules: Vec<&str> = codes
                .iter()
                .map(|c| c.split('.').next().unwrap_or(c))
                .collect();
            rules.sort_unstable();
            rules.dedup();
            for rule in &rules {
                *by_rule.entry((*rule).to_string()).or_default() += 1;
            }
            bad.push(format!(
                "{tid} ({}) refused by KY with {}: KY's state broke rule {}",
                m.operation,
                codes.join(", "),
                rules.join(", ")
            ));
        } else {
            unanswered += 1;
            bad.push(format!(
                "{tid} ({}) has no TransportKvittering after {} attempt(s) (JC-1: still owned)",
                m.operation, m.attempts
            ));
        }
    }
    let rules: Vec<String> = by_rule.iter().map(|(r, k)| format!("{r} {k}")).collect();
    let summary = format!(
        "{} sent by the simulated vendors: {accepted} accepted, {refused} refused by KY{}, {unanswered} without a TransportKvittering",
        n(messages.len() as u64, "KY message"),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join(", "))
        }
    );
    Ok(Verdict::new(NAME, CheckKind::Liveness, RULES, summary, bad)
        .measured((refused + unanswered) as f64, Some(0.0))
        .into_result())
}

/// The KY messages the vendors' table `jc_ky_messages` holds without a receipt, as
/// (TransaktionIdentifikator, operation); none when the table is absent (an older store).
fn stored_pending(p: &Program) -> Vec<(String, String)> {
    let rows = p
        .conn
        .prepare(
            "SELECT lower(transaktion_id), operation FROM jc_ky_messages WHERE status = 'pending'",
        )
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        });
    rows.unwrap_or_default()
}

/// The FejlKoder of a KY receipt (`KY-6.UKENDT` ...); `?` when it cannot be read.
fn fejl_koder(raw: &str) -> Vec<String> {
    let codes: Vec<String> = sim_wire::ky::read(raw.as_bytes(), None)
        .ok()
        .and_then(|d| d.response().cloned())
        .map(|r| {
            r.kvittering
                .fejl_liste
                .into_iter()
                .map(|f| f.fejl_kode)
                .collect()
        })
        .unwrap_or_default();
    if codes.is_empty() {
        vec!["?".into()]
    } else {
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::ky::{examples, write_response, KyOperation};

    // rule KY-1: the rule a FEJL names is read from KY's receipt.
    #[test]
    fn a_fejl_names_its_rule_ky1() {
        assert_eq!(
            fejl_koder(&write_response(&examples::response_fejl())),
            vec!["KY-6.UKENDT".to_string()]
        );
        assert_eq!(
            fejl_koder(&write_response(&examples::response_ok(
                KyOperation::Aktivitet
            ))),
            vec!["?".to_string()]
        );
    }
}
