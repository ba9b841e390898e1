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
use std::collections::{HashMap, HashSet};

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

/// Per integration with traffic: the calls the platform took on its exposed legs (answered
/// ones), the distinct TransaktionIdentifikatorer among them, and the platform's response
/// times (virtual milliseconds, nearest rank), in the flow table's order; with the same over
/// virtual time ([`Grid`]), calls per leg as well, for the report's per-flow plots.
pub(crate) fn per_flow(rows: &[Row]) -> Vec<sim_report::FlowTotals> {
    use sim_wire::flows::{flow_of_label, Integration};
    let calls = Calls::of(rows);
    let mut by: HashMap<Integration, Vec<Taken<'_>>> = HashMap::new();
    for (call, req) in &calls.requests {
        let Some(flow) = flow_of_label(req.label.operation()) else {
            continue;
        };
        let Some(answer_at) = calls.answered.get(call) else {
            continue;
        };
        by.entry(flow.integration).or_default().push(Taken {
            at: req.at,
            took: answer_at - req.at,
            tid: req.tid.as_deref(),
            leg: flow.label,
        });
    }
    // One grid for every flow, so that their plots share a time axis.
    let grid = Grid::over(by.values().flatten().map(|t| t.at));
    Integration::ALL
        .iter()
        .filter_map(|i| {
            let mut taken = by.remove(i)?;
            // By time, so that a TransaktionIdentifikator counts where it was first seen.
            taken.sort_by_key(|t| t.at);
            let mut took: Vec<i64> = taken.iter().map(|t| t.took).collect();
            took.sort_unstable();
            let tids: HashSet<&str> = taken.iter().filter_map(|t| t.tid).collect();
            // The exposed legs, answered or not (no answers at all is news too), and any other
            // leg that had calls.
            let legs: Vec<&str> = i
                .flows()
                .filter(|f| f.exposure.is_some() || taken.iter().any(|t| t.leg == f.label))
                .map(|f| f.label)
                .collect();
            Some(sim_report::FlowTotals {
                integration: i.id().to_string(),
                calls: took.len() as u64,
                messages: tids.len() as u64,
                p50_ms: ms(p50(&took)),
                p99_ms: ms(p99(&took)),
                legs: legs.iter().map(|l| l.to_string()).collect(),
                bucket_seconds: grid.as_ref().map_or(0, |g| (g.width / 1000) as u64),
                series: grid
                    .as_ref()
                    .map_or_else(Vec::new, |g| g.series(&taken, &legs)),
            })
        })
        .collect()
}

/// One answered call of a flow.
struct Taken<'a> {
    /// When the platform received the request (virtual Unix milliseconds).
    at: i64,
    /// How long it took to answer (virtual milliseconds).
    took: i64,
    /// The request's TransaktionIdentifikator, when it had one.
    tid: Option<&'a str>,
    /// Its leg's label in the flow table.
    leg: &'static str,
}

/// The nearest-rank median of sorted samples (the lower one of an even count).
fn p50(sorted: &[i64]) -> Option<i64> {
    sorted.get(sorted.len().checked_sub(1)? / 2).copied()
}

/// A response time for the report (0 for none, or for a clock that went backwards).
fn ms(t: Option<i64>) -> u64 {
    t.and_then(|t| u64::try_from(t).ok()).unwrap_or(0)
}

/// The buckets of the per-flow series: at most [`Grid::MAX_BUCKETS`] from the first call to
/// the last, of a round width (1 s, 5 min, 1 h ...) starting at multiples of it since the
/// Unix epoch, so that a bucket is "09:05–09:10", not "09:03:17 plus 1/60 of the run". The
/// checkers do not know the runner's own traffic buckets; round ones read as well.
struct Grid {
    /// Start of the first bucket (virtual Unix milliseconds).
    start: i64,
    /// Bucket width in milliseconds.
    width: i64,
    /// Number of buckets.
    n: usize,
}

impl Grid {
    /// As many points as the runner's traffic plot has: enough for a shape, few enough to
    /// keep a month's report small.
    const MAX_BUCKETS: i64 = 60;

    /// Round widths in seconds, smallest first; past a week, whole weeks.
    const WIDTHS: [i64; 20] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
        86_400, 172_800, 604_800,
    ];

    /// The grid over these request times; `None` when there are none.
    fn over(times: impl Iterator<Item = i64>) -> Option<Grid> {
        let (first, last) = times.fold(None, |acc: Option<(i64, i64)>, t| {
            Some(acc.map_or((t, t), |(a, b)| (a.min(t), b.max(t))))
        })?;
        let fits = |width: i64| {
            let start = first.div_euclid(width) * width;
            let n = (last - start) / width + 1;
            (n <= Self::MAX_BUCKETS).then_some(Grid {
                start,
                width,
                n: n as usize,
            })
        };
        Self::WIDTHS
            .iter()
            .find_map(|s| fits(s * 1000))
            .or_else(|| {
                let week = 604_800_000;
                let weeks = (last - first) / (week * (Self::MAX_BUCKETS - 1)) + 1;
                (weeks..).find_map(|w| fits(w * week))
            })
    }

    /// Calls (in all and per leg of `legs`), first sights and response times per bucket,
    /// every bucket of the grid present. `taken` is sorted by time and on the grid.
    fn series(&self, taken: &[Taken<'_>], legs: &[&str]) -> Vec<sim_report::FlowPoint> {
        let mut per: Vec<Vec<i64>> = vec![Vec::new(); self.n];
        let mut first_seen = vec![0u64; self.n];
        let mut per_leg = vec![vec![0u64; legs.len()]; self.n];
        let mut seen: HashSet<&str> = HashSet::new();
        for t in taken {
            let b = ((t.at - self.start) / self.width) as usize;
            per[b].push(t.took);
            if t.tid.is_some_and(|tid| seen.insert(tid)) {
                first_seen[b] += 1;
            }
            if let Some(l) = legs.iter().position(|l| *l == t.leg) {
                per_leg[b][l] += 1;
            }
        }
        per.into_iter()
            .zip(first_seen)
            .zip(per_leg)
            .enumerate()
            .map(|(b, ((mut took, messages), per_leg))| {
                took.sort_unstable();
                let at = self.start + self.width * b as i64;
                sim_report::FlowPoint {
                    at: sim_store::from_unix_millis(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                    calls: took.len() as u64,
                    per_leg,
                    messages,
                    p50_ms: ms(p50(&took)),
                    p99_ms: ms(p99(&took)),
                }
            })
            .collect()
    }
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

    /// The platform's rows of one answered call: the request received at `at`, answered
    /// `took` ms later.
    fn call(op: sim_wire::Operation, call: &str, tid: &str, at: i64, took: i64) -> [Row; 2] {
        use sim_store::{Label, Outcome, Part};
        use std::sync::Arc;
        let row = |inbound: bool, at: i64, label: Label| Row {
            id: 0,
            at,
            inbound,
            label: Arc::new(label),
            op: Some(op),
            tid: Some(tid.into()),
            call: Some(call.into()),
            peer: None,
            municipality: None,
            outcome: Arc::new(Outcome::Ok),
        };
        [
            row(true, at, Label::request(op)),
            row(false, at + took, Label::of(op, Part::Response)),
        ]
    }

    #[test]
    fn per_flow_counts_each_flow_with_traffic_on_one_grid() {
        use sim_wire::Operation as O;
        // 2026-03-03 08:00:00 UTC, a round hour; calls over 20 minutes.
        let t0 = 1_772_524_800_000;
        let min = 60_000;
        let mut rows = Vec::new();
        rows.extend(call(O::SendOpdateringFravaer, "c1", "u1", t0, 10));
        rows.extend(call(O::SendOpdateringFravaer, "c2", "u1", t0 + 30_000, 30));
        rows.extend(call(
            O::SendForretningsSvarJc,
            "c3",
            "u2",
            t0 + 20 * min,
            20,
        ));
        rows.extend(call(O::SendHaendelse, "c4", "h1", t0 + 10 * min + 5, 400));
        // No answer journaled: not counted.
        rows.push(call(O::SendHaendelse, "c5", "h2", t0 + 11 * min, 0)[0].clone());
        let flows = per_flow(&rows);

        let ids: Vec<&str> = flows.iter().map(|f| f.integration.as_str()).collect();
        assert_eq!(ids, ["SF2095", "SF2090"], "SF2093 had no traffic");
        let (sf2095, sf2090) = (&flows[0], &flows[1]);
        assert_eq!((sf2095.calls, sf2095.messages), (3, 2));
        assert_eq!((sf2095.p50_ms, sf2095.p99_ms), (20, 30));
        assert_eq!(
            sf2090.legs,
            ["JC/SendHaendelse", "KSD/SendForretningsSvar"],
            "the exposed legs, in the table's order"
        );
        // 20 minutes in at most 60 buckets: 30 s each, from the round hour; both flows alike.
        for f in &flows {
            assert_eq!(f.bucket_seconds, 30);
            assert_eq!(f.series.len(), 41);
            assert_eq!(sim_store::unix_millis(f.series[0].at), t0);
            assert_eq!(f.series.iter().map(|p| p.calls).sum::<u64>(), f.calls);
            assert_eq!(f.series.iter().map(|p| p.messages).sum::<u64>(), f.messages);
        }
        // The resend of u1 is a call in bucket 1 but no new message.
        let p = &sf2095.series;
        assert_eq!((p[0].calls, p[0].messages, p[0].p99_ms), (1, 1, 10));
        assert_eq!((p[1].calls, p[1].messages, p[1].p99_ms), (1, 0, 30));
        assert_eq!((p[2].calls, p[2].p50_ms, p[2].p99_ms), (0, 0, 0));
        // Per leg: the update, then KSD's receipt.
        assert_eq!(p[0].per_leg, [1, 0]);
        assert_eq!(p[40].per_leg, [0, 1]);
        let s = &sf2090.series[20];
        assert_eq!(
            (s.calls, s.per_leg.as_slice(), s.p50_ms),
            (1, &[1, 0][..], 400)
        );
    }

    #[test]
    fn grid_widths_are_round_and_at_most_sixty() {
        let width = |span_ms: i64| {
            let g = Grid::over([1_000_000_000_000 + 7, 1_000_000_000_000 + span_ms].into_iter())
                .expect("two times");
            assert!(
                g.n as i64 <= Grid::MAX_BUCKETS,
                "{span_ms}: {} buckets",
                g.n
            );
            assert_eq!(g.start % g.width, 0, "starts at a multiple of its width");
            g.width / 1000
        };
        assert_eq!(width(0), 1);
        assert_eq!(width(10 * 60_000), 15);
        assert_eq!(width(3_600_000), 120);
        assert_eq!(width(30 * 86_400_000), 86_400);
        assert_eq!(width(3 * 365 * 86_400_000), 3 * 604_800);
        assert!(Grid::over(std::iter::empty()).is_none());
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
