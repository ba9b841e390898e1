//! SLA `platform-response-times` (SP-8): how long the platform took to answer each call made to
//! it, by complexity class, outside service windows (SP-9).
//!
//! A call is the platform's journal rows under one CallUUID: the request is the first inbound
//! row whose operation is not an answer; the response is the first outbound row labelled
//! `<request operation>#response` or `#fault`. Response time = difference of their `at`
//! (virtual milliseconds). The platform's own legs under the same CallUUID (forwarding to KSD,
//! delivering to a vendor) are neither. A call with no answer journaled (the platform stopped
//! in the middle) is counted as unanswered and not judged; a call whose request falls in a
//! service window is excluded.
//!
//! Classes: `HentSag` medium (1.5 s), `HentSagsListe` complex (4 s), everything else — every
//! `Send*` and any refused request — simple (1 s). The check fails when any call exceeds its
//! class's limit; `measured` is the number that did, with p99 per class in the summary.

use std::collections::HashMap;

use sim_report::{CheckKind, CheckResult};
use sim_store::unix_millis;

use crate::conventions::{is_answer, FAULT_SUFFIX, RESPONSE_SUFFIX};
use crate::history::History;
use crate::verdict::{n, Examples, Verdict};
use crate::{CheckError, CheckInput};

/// The check's stable name.
pub const NAME: &str = "platform-response-times";

/// An SP-8 complexity class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Simple: 1 s.
    Simple,
    /// Medium: 1.5 s.
    Medium,
    /// Complex: 4 s.
    Complex,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 3] = [Class::Simple, Class::Medium, Class::Complex];

    /// The class of an operation label such as `KSD/HentSag`.
    pub fn of(operation: &str) -> Class {
        match operation.rsplit('/').next() {
            Some("HentSag") => Class::Medium,
            Some("HentSagsListe") => Class::Complex,
            _ => Class::Simple,
        }
    }

    /// The SP-8 limit in milliseconds.
    pub fn limit_ms(self) -> i64 {
        match self {
            Class::Simple => 1_000,
            Class::Medium => 1_500,
            Class::Complex => 4_000,
        }
    }

    /// Lowercase name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            Class::Simple => "simple",
            Class::Medium => "medium",
            Class::Complex => "complex",
        }
    }
}

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

pub(crate) fn check(h: &History, input: &CheckInput) -> CheckResult {
    let windows: Vec<(i64, i64)> = input
        .service_windows
        .iter()
        .map(|(a, b)| (unix_millis(*a), unix_millis(*b)))
        .collect();
    let in_window = |t: i64| windows.iter().any(|(a, b)| *a <= t && t < *b);

    // CallUUID → (request row index, first answer's at); in journal (commit) order.
    let mut requests: Vec<(&str, usize)> = Vec::new();
    let mut request_of: HashMap<&str, usize> = HashMap::new();
    let mut answered: HashMap<&str, i64> = HashMap::new();
    for (i, r) in h.sp.rows.iter().enumerate() {
        let Some(call) = r.call.as_deref() else {
            continue;
        };
        if r.inbound && !is_answer(&r.operation) {
            if let std::collections::hash_map::Entry::Vacant(e) = request_of.entry(call) {
                e.insert(i);
                requests.push((call, i));
            }
        } else if !r.inbound {
            let Some(&req) = request_of.get(call) else {
                continue;
            };
            let op = &h.sp.rows[req].operation;
            let answers = r
                .operation
                .strip_prefix(&**op)
                .is_some_and(|s| s == RESPONSE_SUFFIX || s == FAULT_SUFFIX);
            if answers {
                answered.entry(call).or_insert(r.at);
            }
        }
    }

    let mut samples: HashMap<Class, Vec<i64>> = HashMap::new();
    let mut slow: Vec<(i64, &str)> = Vec::new();
    let (mut windowed, mut unanswered) = (0u64, 0u64);
    for (call, i) in &requests {
        let req = &h.sp.rows[*i];
        if in_window(req.at) {
            windowed += 1;
            continue;
        }
        let Some(answer_at) = answered.get(call) else {
            unanswered += 1;
            continue;
        };
        let class = Class::of(&req.operation);
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

    let judged: usize = samples.values().map(Vec::len).sum();
    let per_class = Class::ALL
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
    let passed = bad.is_empty();
    let summary = format!(
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
        slow.len(),
    );
    Verdict {
        name: NAME,
        kind: CheckKind::Sla,
        rule: "SP-8",
        passed,
        summary,
        examples: bad,
        measured: Some(slow.len() as f64),
        limit: Some(0.0),
    }
    .into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_sp8() {
        assert_eq!(Class::of("KSD/SendOpdateringFravaer"), Class::Simple);
        assert_eq!(Class::of("JC/SendForretningsSvar"), Class::Simple);
        assert_eq!(Class::of("KSD/HentSag"), Class::Medium);
        assert_eq!(Class::of("KSD/HentSagsListe"), Class::Complex);
        assert_eq!(Class::of("KSD/?"), Class::Simple);
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
