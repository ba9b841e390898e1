//! The scenario's expectations turned into checks beside the checkers' own.

use sim_report::{CheckKind, CheckResult};

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
    }
}
