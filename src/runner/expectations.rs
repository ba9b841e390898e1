//! The scenario's expectations turned into checks beside the checkers' own.

use sim_report::{CheckKind, CheckResult};

use super::traffic::Ledger;

pub(crate) fn ms(d: time::Duration) -> f64 {
    d.as_seconds_f64() * 1000.0
}

pub(crate) fn check(
    name: &str,
    passed: bool,
    summary: String,
    measured: Option<f64>,
    limit: Option<f64>,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        kind: CheckKind::Expectation,
        rule: None,
        passed,
        summary,
        examples: vec![],
        measured,
        limit,
        not_judged: None,
    }
}

/// `max_lost`, `max_misrouted`, `max_processed_twice`: from the safety and liveness checks.
fn safety(e: &sim_scenario::Expectations, checks: &[CheckResult]) -> Vec<CheckResult> {
    let find = |name: &str| checks.iter().find(|c| c.name == name).cloned();
    let lost = find("backlog-drains")
        .and_then(|c| c.measured)
        .unwrap_or(0.0);
    let mut exp = vec![check(
        "max_lost",
        lost <= e.max_lost as f64,
        format!(
            "{lost} accepted update(s) without business receipt; at most {} allowed",
            e.max_lost
        ),
        Some(lost),
        Some(e.max_lost as f64),
    )];
    let count_failed = |name: &str| {
        find(name).map_or(0.0, |c| {
            if c.passed {
                0.0
            } else {
                c.examples.len().max(1) as f64
            }
        })
    };
    let misrouted = count_failed("no-misrouting");
    exp.push(check(
        "max_misrouted",
        misrouted <= e.max_misrouted as f64,
        format!("{misrouted} misrouted; at most {}", e.max_misrouted),
        Some(misrouted),
        Some(e.max_misrouted as f64),
    ));
    let twice = count_failed("processed-exactly-once");
    exp.push(check(
        "max_processed_twice",
        twice <= e.max_processed_twice as f64,
        format!(
            "{twice} processed more than once; at most {}",
            e.max_processed_twice
        ),
        Some(twice),
        Some(e.max_processed_twice as f64),
    ));
    exp
}

/// `p50_roundtrip`, `p99_roundtrip`: from the latency summary (real milliseconds).
fn latency_checks(
    e: &sim_scenario::Expectations,
    latency: &sim_report::LatencySummary,
) -> Vec<CheckResult> {
    let mut exp = Vec::new();
    if let Some(p) = e.p50_roundtrip {
        let lim = ms(p);
        exp.push(check(
            "p50_roundtrip",
            latency.p50_ms <= lim,
            format!(
                "p50 round trip {:.0} ms (real); at most {lim:.0} ms",
                latency.p50_ms
            ),
            Some(latency.p50_ms),
            Some(lim),
        ));
    }
    if let Some(p) = e.p99_roundtrip {
        let lim = ms(p);
        exp.push(check(
            "p99_roundtrip",
            latency.p99_ms <= lim,
            format!(
                "p99 round trip {:.0} ms (real); at most {lim:.0} ms",
                latency.p99_ms
            ),
            Some(latency.p99_ms),
            Some(lim),
        ));
    }
    exp
}

/// The scenario's expectations judged on the checkers' results, the latency and what the
/// runner itself recorded (its own send errors are a failed expectation too).
pub(crate) fn judge(
    e: &sim_scenario::Expectations,
    checks: &[CheckResult],
    latency: &sim_report::LatencySummary,
    l: &Ledger,
) -> Vec<CheckResult> {
    let find = |name: &str| checks.iter().find(|c| c.name == name).cloned();
    let mut exp = safety(e, checks);
    exp.extend(latency_checks(e, latency));
    if let Some(r) = e.min_accepted_ratio {
        let eligible = (l.sent - l.injected.len() as u64).max(1) as f64;
        let ratio = l.accepted.saturating_sub(0) as f64 / eligible;
        exp.push(check(
            "min_accepted_ratio",
            ratio >= r,
            format!(
                "{:.3} of the {eligible} well-formed updates accepted; at least {r}",
                ratio
            ),
            Some(ratio),
            Some(r),
        ));
    }
    if let Some(max) = e.max_sla_violations {
        let v = find("platform-response-times").map_or(0.0, |c| {
            if c.passed {
                0.0
            } else {
                c.measured.unwrap_or(0.0)
            }
        });
        exp.push(check(
            "max_sla_violations",
            v <= max as f64,
            format!("{v} SLA violations; at most {max}"),
            Some(v),
            Some(max as f64),
        ));
    }
    if !l.errors.is_empty() {
        exp.push(CheckResult {
            name: "runner-errors".into(),
            kind: CheckKind::Expectation,
            rule: None,
            passed: false,
            summary: format!(
                "{} update(s) could not be sent by the runner",
                l.errors.len()
            ),
            examples: l.errors.iter().take(20).cloned().collect(),
            measured: Some(l.errors.len() as f64),
            limit: Some(0.0),
            not_judged: None,
        });
    }
    exp
}
