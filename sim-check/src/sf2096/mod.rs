//! The check of SF2096 (the jobcenters' synchronous case look-ups at KSD).
//!
//! Safety `no-cross-municipality-read` (KSD-12): every case in every look-up answer belongs
//! to the municipality that asked — the answer's `Myndighed` is the security context's
//! MunicipalityCVR of the call it answers. One case of another municipality in one answer is
//! a leak.
//!
//! The answers are read where they were passed on: in the platform's journal (the answer KSD
//! gave, as the platform returned it, under the caller's context), or — when an outside
//! platform takes the seat — in the simulated vendors' journals (the answer as the jobcenter
//! received it). Either way an outside KSD is judged as strictly as ours.

use sim_report::{CheckKind, CheckResult};
use sim_store::Part;
use sim_wire::{Message, Operation, ResponseBody};

use crate::history::{History, Program};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "no-cross-municipality-read";

const RULES: &str = "KSD-12";

/// Every SF2096 check.
pub(crate) fn check(h: &History, input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    let program = if input.platform_is_outside() {
        &h.jc
    } else {
        &h.sp
    };
    Ok(vec![no_cross_read(program)?])
}

/// What one answer held.
#[derive(Default)]
struct Tally {
    /// Answers read (a case, a list, or a receipt saying "none").
    answers: u64,
    /// Cases in them.
    cases: u64,
    /// Cases of another municipality than the caller's.
    leaked: u64,
    /// Answers that held a case: the caller saw data.
    found: u64,
}

fn no_cross_read(p: &Program) -> Result<CheckResult, CheckError> {
    let mut t = Tally::default();
    let mut bad = Examples::default();
    for r in &p.rows {
        let lookup = [Operation::HentSag, Operation::HentSagsListe]
            .into_iter()
            .any(|op| r.is_leg(true, op, Part::Response));
        let Some(asked_by) = r.municipality.as_deref().filter(|_| lookup) else {
            continue;
        };
        t.answers += 1;
        let raw = p.raw(r.id)?;
        let cases = cases_in(&raw);
        if !cases.is_empty() {
            t.found += 1;
        }
        for (sag, myndighed) in cases {
            t.cases += 1;
            if myndighed != asked_by {
                t.leaked += 1;
                bad.push(format!(
                    "case {sag} of {myndighed} answered to {asked_by} (call {})",
                    r.call.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    let summary = format!(
        "{} read ({} holding cases, {} in all): {} of another municipality than the caller's",
        n(t.answers, "look-up answer"),
        t.found,
        t.cases,
        t.leaked
    );
    Ok(Verdict::new(NAME, CheckKind::Safety, RULES, summary, bad).into_result())
}

/// The cases in a look-up answer, as (SagIdentifikator, Myndighed). An answer that does not
/// read as the contract's (a case missing a field, a broken list) is searched in its bytes
/// for every `Myndighed` it holds, so a sloppy answer cannot leak unseen.
pub(crate) fn cases_in(raw: &str) -> Vec<(String, String)> {
    if let Ok(d) = sim_wire::read(raw.as_bytes(), None) {
        match d.message {
            Some(Message::Response(resp)) => {
                return match resp.body {
                    ResponseBody::Sag(s) => {
                        vec![(s.sag_identifikator.to_string(), s.myndighed.to_string())]
                    }
                    ResponseBody::SagsListe(l) => l
                        .into_iter()
                        .map(|s| (s.sag_identifikator.to_string(), s.myndighed.to_string()))
                        .collect(),
                    ResponseBody::TransportKvittering(_) => Vec::new(),
                }
            }
            Some(_) => return Vec::new(),
            None => {}
        }
    }
    raw.match_indices("Myndighed>")
        .filter_map(|(i, m)| {
            let rest = &raw[i + m.len()..];
            let text = rest[..rest.find('<').unwrap_or(rest.len())].trim();
            (!text.is_empty()).then(|| ("(unreadable case)".to_string(), text.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KSD-12: a case that does not read (no ArbejdsgiverPart) still shows its Myndighed.
    #[test]
    fn an_unreadable_answer_is_searched_for_municipalities() {
        let mut r = sim_wire::examples::response(sim_wire::Operation::HentSag);
        if let ResponseBody::Sag(s) = &mut r.body {
            s.myndighed = "55133018".parse().unwrap();
        }
        let xml = sim_wire::write_response(&r);
        let start = xml.find("<sft:ArbejdsgiverPart>").unwrap();
        let end = xml.find("</sft:ArbejdsgiverPart>").unwrap() + "</sft:ArbejdsgiverPart>".len();
        let broken = format!("{}{}", &xml[..start], &xml[end..]);
        assert_eq!(cases_in(&xml)[0].1, "55133018");
        let found = cases_in(&broken);
        assert_eq!(found.len(), 1, "{broken}");
        assert_eq!(found[0].1, "55133018");
    }
}
