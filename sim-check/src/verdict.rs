//! Building a [`CheckResult`] the same way in every checker.

use sim_report::{CheckKind, CheckResult};

/// Counterexamples kept per check: enough to start debugging, few enough to read.
pub const MAX_EXAMPLES: usize = 20;

/// Counterexamples collected while checking: the first [`MAX_EXAMPLES`] distinct ids, in the
/// order found (journal order), plus how many there were in all.
#[derive(Debug, Default)]
pub(crate) struct Examples {
    ids: Vec<String>,
    /// Violations found, counting those beyond the kept examples and repeats of an id.
    pub count: u64,
}

impl Examples {
    /// Records one violation, identified by `id` (a TransaktionIdentifikator or CallUUID).
    pub fn push(&mut self, id: impl Into<String>) {
        self.count += 1;
        let id = id.into();
        if self.ids.len() < MAX_EXAMPLES && !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What a checker found, before it becomes a [`CheckResult`].
pub(crate) struct Verdict {
    name: &'static str,
    kind: CheckKind,
    rule: &'static str,
    passed: bool,
    summary: String,
    examples: Examples,
    measured: Option<f64>,
    limit: Option<f64>,
}

impl Verdict {
    /// A check passes exactly when it found no counterexample; most report no measure.
    pub fn new(
        name: &'static str,
        kind: CheckKind,
        rule: &'static str,
        summary: String,
        examples: Examples,
    ) -> Verdict {
        Verdict {
            name,
            kind,
            rule,
            passed: examples.is_empty(),
            summary,
            examples,
            measured: None,
            limit: None,
        }
    }

    /// With the number the check measured and, if it has one, its limit.
    pub fn measured(self, measured: f64, limit: Option<f64>) -> Verdict {
        Verdict {
            measured: Some(measured),
            limit,
            ..self
        }
    }

    pub fn into_result(self) -> CheckResult {
        CheckResult {
            name: self.name.to_string(),
            kind: self.kind,
            rule: Some(self.rule.to_string()),
            passed: self.passed,
            summary: self.summary,
            // Examples explain a failure; a passing check has none to show.
            examples: if self.passed {
                Vec::new()
            } else {
                self.examples.ids
            },
            measured: self.measured,
            limit: self.limit,
            not_judged: None,
        }
    }
}

/// A count with its noun, `1 update` / `3 updates`, `1 delivery` / `2 deliveries`.
pub(crate) fn n(count: impl Into<u64>, noun: &str) -> String {
    let count = count.into();
    if count == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{count} {stem}ies"),
        _ => format!("{count} {noun}s"),
    }
}
