//! The fault plan: which fault hits which message, when programs crash, when the platform
//! is in a service window (rule SP-9), and when the last fault is over.
//!
//! Decisions are pure functions of `(seed, rule, seq)`: the same update gets the same fate in
//! every replay, whichever program asks first and however often. Each rule draws from its
//! own stream (`faults/<rule name>`), so adding a rule does not change the decisions of the
//! others.

use std::fmt;

use sim_wire::OphoersAarsag;
use time::{Duration, OffsetDateTime};

use crate::calendar::{merge, service_windows};
use crate::schema::{FaultKind, FaultParams, FaultRule, Scenario, Target};
use crate::units::{format_datetime, format_duration};
use sim_seed::{sub_seed, Rng};

/// One planned outage of a program: a crash, a pause or a partition (`kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// The rule that plans it.
    pub rule: String,
    /// `crash`, `pause` or `partition`.
    pub kind: FaultKind,
    /// The program (`sp`, `ksd` or `jobcenter`).
    pub target: Target,
    /// When it dies (virtual).
    pub at: OffsetDateTime,
    /// How long until it is started again.
    pub downtime: Duration,
}

impl Crash {
    /// When the program is started again.
    pub fn restart_at(&self) -> OffsetDateTime {
        self.at.saturating_add(self.downtime)
    }
}

/// A rule with what the plan derived from it once.
#[derive(Debug, Clone)]
struct Planned {
    rule: FaultRule,
    /// Sub-seed of the rule's stream.
    stream: u64,
    /// The intervals in which it is active: its window, or for `service_window` the calendar
    /// windows inside it, merged.
    intervals: Vec<(OffsetDateTime, OffsetDateTime)>,
}

/// The fault plan of a scenario (see the module documentation).
#[derive(Debug, Clone)]
pub struct FaultPlan {
    seed: u64,
    planned: Vec<Planned>,
}

impl FaultPlan {
    /// The plan of `scenario` (its faults under its seed).
    pub fn new(scenario: &Scenario) -> FaultPlan {
        let planned = scenario
            .faults
            .iter()
            .map(|rule| {
                let intervals = match &rule.params {
                    FaultParams::Calendar(spec) => {
                        service_windows(rule.window.from, rule.window.to, spec)
                    }
                    _ => vec![(rule.window.from, rule.window.to)],
                };
                Planned {
                    stream: sub_seed(scenario.seed, &format!("faults/{}", rule.name)),
                    rule: rule.clone(),
                    intervals,
                }
            })
            .collect();
        FaultPlan {
            seed: scenario.seed,
            planned,
        }
    }

    /// The seed the plan draws from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The rules, in file order.
    pub fn rules(&self) -> impl Iterator<Item = &FaultRule> {
        self.planned.iter().map(|p| &p.rule)
    }

    /// Whether fault `kind` hits message `seq` at `target` at instant `at`: the first rule of
    /// that kind whose target covers `target`, that is active at `at`, and whose draw for
    /// `seq` falls below its probability. Calendar-like rules (`service_window`, `crash`)
    /// hit every message while active.
    pub fn decide(
        &self,
        kind: FaultKind,
        target: &Target,
        at: OffsetDateTime,
        seq: u64,
    ) -> Option<&FaultRule> {
        self.planned
            .iter()
            .filter(|p| p.rule.kind == kind && p.rule.target.covers(target))
            .filter(|p| p.intervals.iter().any(|(s, e)| *s <= at && at < *e))
            .find(|p| {
                p.rule.probability >= 1.0
                    || Rng::from_sub_seed(p.stream, seq).f64() < p.rule.probability
            })
            .map(|p| &p.rule)
    }

    /// How long a `slow_*` rule holds message `seq`, how long after the original a
    /// `duplicate_*` copy goes out, or how long a `timeout` hangs (`None`: until the caller
    /// gives up). Deterministic per `(rule, seq)`; zero for other kinds.
    pub fn delay(&self, rule: &FaultRule, seq: u64) -> Option<Duration> {
        match &rule.params {
            FaultParams::Delay(d) => {
                let mut rng = Rng::keyed(self.seed, &format!("faults/{}/delay", rule.name), seq);
                Some(d.sample(&mut rng))
            }
            FaultParams::Timeout { after } => *after,
            _ => Some(Duration::ZERO),
        }
    }

    /// The code a `forbidden_code` rule puts into message `seq` (rule KSD-5): one of its
    /// codes, deterministic per `(rule, seq)`.
    pub fn forbidden_code(&self, rule: &FaultRule, seq: u64) -> Option<OphoersAarsag> {
        match &rule.params {
            FaultParams::Codes(codes) => {
                let mut rng = Rng::keyed(self.seed, &format!("faults/{}/code", rule.name), seq);
                rng.choose(codes).copied()
            }
            _ => None,
        }
    }

    /// Every planned outage — crash, pause, partition — by time.
    pub fn crashes(&self) -> Vec<Crash> {
        let mut out: Vec<Crash> = self
            .planned
            .iter()
            .filter_map(|p| match p.rule.params {
                FaultParams::Crash { at, downtime } => Some(Crash {
                    rule: p.rule.name.clone(),
                    kind: p.rule.kind,
                    target: p.rule.target.clone(),
                    at,
                    downtime,
                }),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| (a.at, &a.target).cmp(&(b.at, &b.target)));
        out
    }

    /// When rules of `kind` are active, sorted and merged: the calendar windows of
    /// `service_window`, the downtimes of `crash`, the windows of the others.
    pub fn windows(&self, kind: FaultKind) -> Vec<(OffsetDateTime, OffsetDateTime)> {
        merge(
            self.planned
                .iter()
                .filter(|p| p.rule.kind == kind)
                .flat_map(|p| p.intervals.iter().copied())
                .collect(),
        )
    }

    /// When the last fault of any kind is over (the end of its last active interval): the
    /// point from which liveness is judged (`expectations.liveness_deadline`). `None` with no
    /// faults, or when no rule is ever active.
    pub fn faults_end(&self) -> Option<OffsetDateTime> {
        self.planned
            .iter()
            .filter(|p| p.rule.probability > 0.0)
            .flat_map(|p| p.intervals.iter().map(|(_, e)| *e))
            .max()
    }
}

impl fmt::Display for FaultPlan {
    /// The plan as printed at the start of a run: one line per rule, and every interval.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.planned.is_empty() {
            return writeln!(f, "fault plan: no faults");
        }
        writeln!(f, "fault plan (seed {}):", self.seed)?;
        for p in &self.planned {
            let r = &p.rule;
            write!(f, "  {} kind={} target={}", r.name, r.kind, r.target)?;
            if !matches!(
                r.kind,
                FaultKind::Crash
                    | FaultKind::Pause
                    | FaultKind::Partition
                    | FaultKind::ServiceWindow
            ) {
                write!(f, " probability={}", r.probability)?;
            }
            if let FaultParams::Delay(d) = &r.params {
                // Rounded to the millisecond: the exact mean of a log-normal is noise here.
                let ms = Duration::milliseconds(d.mean().whole_milliseconds() as i64);
                write!(f, " mean_delay={}", format_duration(ms))?;
            }
            writeln!(f)?;
            for (s, e) in &p.intervals {
                writeln!(
                    f,
                    "    {} .. {} ({})",
                    format_datetime(*s),
                    format_datetime(*e),
                    format_duration(*e - *s)
                )?;
            }
        }
        Ok(())
    }
}
