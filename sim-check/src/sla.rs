//! SLA `platform-response-times` (SP-8): how long the platform took to answer each call made to
//! it, by complexity class, outside service windows (SP-9).
//!
//! A call is the platform's journal rows under one CallUUID: the request is the first inbound
//! row that is not an answer; the response is the first outbound answer (the response or fault
//! part, `<request operation>#response` or `#fault`) of the request's operation. Response time = difference of their `at`
//! (virtual milliseconds). The platform's own legs under the same CallUUID (forwarding to KSD,
//! delivering to a vendor) are neither. A call with no answer journaled (the platform stopped
//! in the middle) is counted as unanswered and not judged; a call whose request falls in a
//! service window is excluded.
//!
//! Classes are SP-8's, from the flow table ([`SlaClass::of_label`]): `HentSag` medium (1.5 s),
//! `HentSagsListe` complex (4 s), everything else — every `Send*` and any refused request of
//! unknown operation — simple (1 s). The check fails when any call exceeds its class's limit;
//! `measured` is the number that did, with p99 per class in the summary.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::unix_millis;
use sim_wire::SlaClass;

use crate::history::{History, Row};
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "platform-response-times";

/// The nearest-rank 99th percentile of sorted samples (`None` when empty).
fn p99(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 99).div_ceil(100);
    Some(sorted[rank.saturating_sub(1)])
}

/// See the module docs.
pub fn platform_response_times(input: &CheckInput) -> Result<CheckResult, CheckError> {
    Ok(check(&History::load(input)?, input))
}

/// The check when an outside platform takes the seat: its own response times are in its
/// journal, not ours; its conformance section judges them as the vendors saw them (SP-8).
pub(crate) fn not_judged() -> CheckResult {
    let mut r = Verdict::new(
        NAME,
        CheckKind::Sla,
        "SP-8",
        "not judged: the platform is an outside system".into(),
        Examples::default(),
    )
    .into_result();
    r.not_judged = Some(
        "the platform is an outside system: see its conformance section (SP-8 as the vendors saw it)"
            .into(),
    );
    r
}

pub(crate) fn check(h: &History, input: &CheckInput) -> CheckResult {
    let windows: Vec<(i64, i64)> = input
        .service_windows
        .iter()
        .map(|(a, b)| (unix_millis(*a), unix_millis(*b)))
        .collect();
    let in_window = |t: i64| windows.iter().any(|(a, b)| *a <= t && t < *b);

    let calls = Calls::of(&h.sp.rows);
    let mut samples: HashMap<SlaClass, Vec<i64>> = HashMap::new();
    let mut slow: Vec<(i64, &str)> = Vec::new();
    let (mut windowed, mut unanswered) = (0u64, 0u64);
    for (call, req) in &calls.requests {
        if in_window(req.at) {
            windowed += 1;
            continue;
        }
        let Some(answer_at) = calls.answered.get(call) else {
            unanswered += 1;
            continue;
        };
        let class = SlaClass::of_label(req.label.operation());
        let took = answer_at - req.at;
        samples.entry(class).or_default().push(took);
        if took > class.limit_ms() {
            slow.push((took - class.limit_ms(), call));
        }
    }
    // Worst first: the examples a reader should look at.
    slow.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut bad = Examples::default();
    for (_, call) in &slow {
        bad.push(*call);
    }
    let summary = summary(&mut samples, windowed, unanswered, slow.len());
    Verdict::new(NAME, CheckKind::Sla, "SP-8", summary, bad)
        .measured(slow.len() as f64, Some(0.0))
        .into_result()
}

/// The platform's calls: each CallUUID's request row and its first answer's time.
struct Calls<'a> {
    /// CallUUID and request row, in journal (commit) order.
    requests: Vec<(&'a str, &'a Row)>,
    /// CallUUID → when the first answer to its request was journaled.
    answered: HashMap<&'a str, i64>,
}

impl<'a> Calls<'a> {
    fn of(rows: &'a [Row]) -> Calls<'a> {
        let mut requests = Vec::new();
        let mut request_of: HashMap<&str, &Row> = HashMap::new();
        let mut answered = HashMap::new();
        for r in rows {
            let Some(call) = r.call.as_deref() else {
                continue;
            };
            if r.inbound && !r.label.is_answer() {
                if let Entry::Vacant(e) = request_of.entry(call) {
                    e.insert(r);
                    requests.push((call, r));
                }
            } else if !r.inbound {
                let Some(req) = request_of.get(call) else {
                    continue;
                };
                // An answer to the request, not one of the platform's own legs under the call.
                if r.label.is_answer() && r.label.operation() == req.label.operation() {
                    answered.entry(call).or_insert(r.at);
                }
            }
        }
        Calls { requests, answered }
    }
}

/// `n judged: <class> n= p99= ...; k in service windows ...; m over the limit`.
fn summary(
    samples: &mut HashMap<SlaClass, Vec<i64>>,
    windowed: u64,
    unanswered: u64,
    over: usize,
) -> String {
    let judged: usize = samples.values().map(Vec::len).sum();
    let per_class = SlaClass::ALL
        .iter()
        .filter_map(|c| {
            let s = samples.get_mut(c)?;
            s.sort_unstable();
            let over = s.iter().filter(|t| **t > c.limit_ms()).count();
            Some(format!(
                "{} n={} p99={} ms (limit {} ms, {over} over)",
                c.name(),
                s.len(),
                p99(s).unwrap_or(0),
                c.limit_ms()
            ))
        })
        .collect::<Vec<_>>();
    format!(
        "{} judged{}{}{}; {} over the limit",
        n(judged as u64, "platform call"),
        if per_class.is_empty() {
            String::new()
        } else {
            format!(": {}", per_class.join("; "))
        },
        if windowed > 0 {
            format!("; {windowed} in service windows not judged")
        } else {
            String::new()
        },
        if unanswered > 0 {
            format!("; {unanswered} without an answer in the journal not judged")
        } else {
            String::new()
        },
        over,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_sp8() {
        use sim_store::Label;
        use sim_wire::{Operation, Port};
        let class = |l: Label| SlaClass::of_label(l.operation());
        let op = Label::request;
        assert_eq!(
            class(op(Operation::SendOpdateringFravaer)),
            SlaClass::Simple
        );
        assert_eq!(
            class(op(Operation::SendForretningsSvarJc)),
            SlaClass::Simple
        );
        assert_eq!(class(op(Operation::HentSag)), SlaClass::Medium);
        assert_eq!(class(op(Operation::HentSagsListe)), SlaClass::Complex);
        assert_eq!(class(Label::unknown(Port::Ksd)), SlaClass::Simple);
    }

    #[test]
    fn p99_is_nearest_rank() {
        assert_eq!(p99(&[]), None);
        assert_eq!(p99(&[5]), Some(5));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(p99(&hundred), Some(99));
        let thousand: Vec<i64> = (1..=1000).collect();
        assert_eq!(p99(&thousand), Some(990));
    }
}
