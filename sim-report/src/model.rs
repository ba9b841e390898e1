//! The report of one scenario run. Plain data: the runner and the checkers fill it, the
//! renderers only read it, and JSON round-trips it (`sim report` can re-render a saved run).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Which family a check belongs to: safety holds at every moment, liveness once faults stop,
/// SLA is about response times, expectations come from the scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// Never violated, whatever the faults (nothing misrouted, processed exactly once ...).
    Safety,
    /// Eventually true once faults stop (the backlog drains).
    Liveness,
    /// Response times per complexity class (SP-8), outside service windows.
    Sla,
    /// A scenario expectation (`max_lost: 0`, `p99_roundtrip: 2s` ...).
    Expectation,
}

/// The verdict of one checker or expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable, human-readable name, e.g. `processed-exactly-once`.
    pub name: String,
    /// Safety, liveness, SLA or expectation.
    pub kind: CheckKind,
    /// The rule ID it checks, e.g. `KSD-7`, when there is one.
    pub rule: Option<String>,
    /// Whether it held.
    pub passed: bool,
    /// One line: what was checked and what was found.
    pub summary: String,
    /// Up to 20 counterexamples (TransaktionIdentifikatorer, CallUUIDs ...) when it failed.
    pub examples: Vec<String>,
    /// The measured value, for numeric checks.
    pub measured: Option<f64>,
    /// The limit it was compared with, for numeric checks.
    pub limit: Option<f64>,
    /// Why the check was not judged in this run (e.g. SP-8 away from speed 1): it then neither
    /// passes nor fails, shows no counterexamples, and is a skipped case in JUnit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

impl CheckResult {
    /// `PASS`, `FAIL` or `NOT JUDGED`.
    pub fn status_label(&self) -> &'static str {
        if self.not_judged.is_some() {
            "NOT JUDGED"
        } else if self.passed {
            "PASS"
        } else {
            "FAIL"
        }
    }
}

/// Which scenario ran, reproducibly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// The scenario's name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// A hash of the scenario text (after flags were applied).
    pub hash: String,
    /// The seed all randomness came from.
    pub seed: u64,
    /// The git commit of the simulator, when known.
    pub git_commit: Option<String>,
    /// The speed: a factor like `60`, or `max`.
    pub speed: String,
    /// Virtual start of the run.
    #[serde(with = "time::serde::rfc3339")]
    pub virtual_start: OffsetDateTime,
    /// Virtual end of the run.
    #[serde(with = "time::serde::rfc3339")]
    pub virtual_end: OffsetDateTime,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Arrivals the load model produced.
    pub arrivals: u64,
    /// Updates sent by the vendors (first attempts).
    pub sent: u64,
    /// Updates answered OK or ADVARSEL.
    pub accepted: u64,
    /// Updates answered FEJL.
    pub rejected: u64,
    /// Updates never answered with a transport receipt.
    pub undelivered: u64,
    /// Business receipts stored at the vendors.
    pub receipts: u64,
    /// Faults injected, all kinds.
    pub faults_injected: u64,
    /// How long the vendors owned their updates (JC-1).
    #[serde(default)]
    pub ownership: Ownership,
    /// Cases KSD created from the scenario's intake (`cases:`, KSD-9).
    #[serde(default)]
    pub cases_created: u64,
    /// Per integration: messages and the platform's response times (SF2095, SF2090, SF2093).
    #[serde(default)]
    pub flows: Vec<FlowTotals>,
    /// The jobcenters' SF2096 look-ups and what came back (`lookups:`, KSD-12).
    #[serde(default)]
    pub lookups: LookupTotals,
    /// The jobcenters' SF1690 messages to KY and what KY answered (`ky:`, KY-1).
    #[serde(default)]
    pub ky: KyTotals,
}

/// The messages the simulated jobcenters sent KY (SF1690) and what came back, as they saw it.
/// Every message is owned until KY's TransportKvittering (JC-1), so `unanswered` is what was
/// still being resent when the run stopped waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KyTotals {
    /// Messages sent (each stored and owned by its vendor).
    pub sent: u64,
    /// Contact courses (citizens' conversations) they belong to.
    #[serde(default)]
    pub conversations: u64,
    /// Answered OK or ADVARSEL.
    pub accepted: u64,
    /// Answered FEJL: by the rule the FejlKode names (`KY-6` ...), each message once per rule.
    pub refused: u64,
    /// The refusals by rule.
    #[serde(default)]
    pub refused_by_rule: std::collections::BTreeMap<String, u64>,
    /// Without a TransportKvittering when the run stopped waiting (still owned, JC-1).
    pub unanswered: u64,
    /// Real (wall-clock) round trip of the messages answered at their first attempt, as the
    /// jobcenter measured it through the platform to KY, milliseconds: median and 99th
    /// percentile.
    #[serde(default)]
    pub p50_ms: u64,
    #[serde(default)]
    #[allow(missing_docs)]
    pub p99_ms: u64,
}

/// The look-ups a run made (SF2096) and what they got back, as the jobcenters saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupTotals {
    /// Look-ups made.
    pub sent: u64,
    /// Of them, aimed at other municipalities' keys (real or guessed).
    pub adversarial: u64,
    /// Answered with at least one case.
    pub found: u64,
    /// Answered "no such case" or an empty list.
    pub none: u64,
    /// Answers holding another municipality's case (KSD-12: must be 0).
    pub leaked: u64,
    /// Not answered: a fault or no connection.
    pub failed: u64,
    /// Adversarial look-ups by aim: another municipality's real SagIdentifikator, real
    /// NemRefusionIdentifier, real CPR (`HentSagsListe`), or a guessed key.
    #[serde(default)]
    pub aimed_at_cases: u64,
    #[serde(default)]
    #[allow(missing_docs)]
    pub aimed_at_nem_refusion: u64,
    #[serde(default)]
    #[allow(missing_docs)]
    pub aimed_at_persons: u64,
    #[serde(default)]
    #[allow(missing_docs)]
    pub guessed: u64,
    /// Real (wall-clock) round trip of the answered look-ups through the platform, as the
    /// jobcenter measured it, milliseconds: median and 99th percentile.
    #[serde(default)]
    pub p50_ms: u64,
    #[serde(default)]
    #[allow(missing_docs)]
    pub p99_ms: u64,
}

/// One integration's traffic through the platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowTotals {
    /// `SF2095` ...
    pub integration: String,
    /// Calls the platform took on the integration's exposed legs (first sights and resends).
    pub calls: u64,
    /// Distinct TransaktionIdentifikatorer among them.
    pub messages: u64,
    /// The platform's response time (virtual milliseconds), median.
    pub p50_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// The platform's request legs counted in `calls` (`JC/SendHaendelse` ...), in the flow
    /// table's order, so that a reader sees which messages the figures are made of (and that
    /// an exposed leg had none). Absent in reports written before the per-flow plots.
    #[serde(default)]
    pub legs: Vec<String>,
    /// Width of the buckets of `series`, in virtual seconds (0 when there is no series).
    #[serde(default)]
    pub bucket_seconds: u64,
    /// The same calls over virtual time, for the HTML page's per-flow plots: one point per
    /// bucket from the first to the last bucket in which any flow had a call, so that every
    /// flow's series lies on the same grid. Absent in reports written before the per-flow
    /// plots (the page then shows the figures above without plots).
    #[serde(default)]
    pub series: Vec<FlowPoint>,
}

/// One flow's calls in one bucket of virtual time, by the time the platform received them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPoint {
    /// Start of the bucket.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Calls the platform took and answered (first sights and resends).
    pub calls: u64,
    /// Of those, per leg, in the order of the flow's `legs`: whether the answers keep up.
    #[serde(default)]
    pub per_leg: Vec<u64>,
    /// TransaktionIdentifikatorer first seen in this bucket. A message's later legs (the
    /// receipt or acknowledgement, which carry its identifier) and resends are calls, not
    /// messages.
    pub messages: u64,
    /// The platform's response time (virtual milliseconds), median of the bucket's calls (0
    /// without calls: a plot skips such buckets rather than drawing a fast platform).
    pub p50_ms: u64,
    /// 99th percentile (nearest rank: the slowest call in a bucket of fewer than 100).
    pub p99_ms: u64,
}

/// How long updates were owned by their vendor (JC-1): from the first attempt to the attempt
/// that got a TransportKvittering, in virtual milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// Updates that got a TransportKvittering.
    pub answered: u64,
    /// Of those, owned longer than their first attempt (resent at least once).
    pub resent: u64,
    /// Median ownership of the answered ones.
    pub p50_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Longest.
    pub max_ms: u64,
    /// Updates still owned when the run ended (no TransportKvittering).
    pub still_owned: u64,
    /// The longest of those, up to the last journaled moment of the run.
    pub still_owned_max_ms: u64,
}

/// A latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// How many samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Histogram buckets for plotting: (upper bound in ms, count).
    pub buckets: Vec<(f64, u64)>,
}

/// Traffic in one bucket of virtual time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficPoint {
    /// Start of the bucket.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Updates sent.
    pub sent: u64,
    /// Updates accepted.
    pub accepted: u64,
    /// Business receipts stored.
    pub receipts: u64,
    /// Faults injected.
    pub faults: u64,
}

/// A fault as it happened (an interval, or an instant when `end` is `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// The fault kind, as the scenario names it (`duplicate_update`, `crash` ...).
    pub kind: String,
    /// The program or vendor it hit, if any.
    pub target: Option<String>,
    /// When it started (virtual time).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// When it ended (virtual time).
    #[serde(with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// How many messages it touched.
    pub count: u64,
    /// Anything worth saying.
    pub note: String,
}

/// What one program cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramStats {
    /// `sim-sp`, `sim-ksd`, `sim-jobcenter`.
    pub name: String,
    /// Peak resident memory, when measured.
    pub peak_rss_bytes: Option<u64>,
    /// Journal rows it wrote.
    pub messages_journaled: u64,
    /// CPU time it used (user + system), seconds, when it ran as its own process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
}

/// Everything a run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Which scenario, seed and commit.
    pub scenario: ScenarioInfo,
    /// Wall-clock duration of the run.
    pub wall_seconds: f64,
    /// Counts.
    pub totals: Totals,
    /// Round trip: intended send time → business receipt stored at the vendor.
    pub latency: LatencySummary,
    /// Traffic over virtual time.
    pub traffic: Vec<TrafficPoint>,
    /// Faults over virtual time.
    pub faults: Vec<FaultEvent>,
    /// Every checker's and expectation's verdict.
    pub checks: Vec<CheckResult>,
    /// Per program.
    pub programs: Vec<ProgramStats>,
    /// Every outside system in a seat, graded rule by rule (empty when everything was
    /// simulated). Absent in reports written before seats existed.
    #[serde(default)]
    pub conformance: Vec<SeatReport>,
}

impl RunReport {
    /// The run passes when every check and expectation held and no outside system in a seat
    /// broke a rule.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed) && self.conformance.iter().all(SeatReport::passed)
    }
}

/// Counterexamples kept per rule: enough to start debugging, few enough to read.
pub const MAX_EVIDENCE: usize = 20;

/// Raw messages in evidence are cut to this many bytes (a report stays readable and small).
const RAW_KEEP: usize = 4096;

/// `s` cut to its first 4 KiB (on a character boundary), saying how much was left out.
pub fn truncate_raw(s: &str) -> String {
    if s.len() <= RAW_KEEP {
        return s.to_string();
    }
    let mut end = RAW_KEEP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes more)", &s[..end], s.len() - end)
}

/// How an outside system in a seat did, rule by rule: what a vendor pre-testing its system
/// reads first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatReport {
    /// The seat: a vendor instance (`kmd-jc`), `ksd` or `platform`.
    pub seat: String,
    /// The party it plays: `jobcenter`, `ksd` or `platform`.
    pub party: String,
    /// Where the outside system was called.
    pub url: String,
    /// Every rule that applies to this seat, in report order, exercised or not.
    pub rules: Vec<RuleVerdict>,
}

impl SeatReport {
    /// (rules exercised: passed or failed, rules that apply): the run's coverage of the seat.
    pub fn coverage(&self) -> (usize, usize) {
        let exercised = self
            .rules
            .iter()
            .filter(|r| r.status != RuleStatus::NotExercised)
            .count();
        (exercised, self.rules.len())
    }

    /// No applicable rule failed.
    pub fn passed(&self) -> bool {
        self.rules.iter().all(|r| r.status != RuleStatus::Fail)
    }

    /// The rules this seat broke, in report order.
    pub fn failed_rules(&self) -> impl Iterator<Item = &RuleVerdict> {
        self.rules.iter().filter(|r| r.status == RuleStatus::Fail)
    }
}

/// Whether a rule held for a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Exercised, and every exchange kept it.
    Pass,
    /// Exercised, and at least one exchange broke it (the evidence shows which).
    Fail,
    /// The run gave the seat no occasion to show it (the summary says why).
    NotExercised,
}

impl RuleStatus {
    /// `PASS`, `FAIL`, `NOT EXERCISED`.
    pub fn label(self) -> &'static str {
        match self {
            RuleStatus::Pass => "PASS",
            RuleStatus::Fail => "FAIL",
            RuleStatus::NotExercised => "NOT EXERCISED",
        }
    }
}

/// One rule's verdict for one seat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// The rule ID (`JC-2`, `WIRE-2`, `KSD-7`, `SP-8` ...) of `docs/spec/rules.md`.
    pub rule: String,
    /// What the rule demands of this seat, one short line.
    pub title: String,
    /// Held, broken, or not exercised.
    pub status: RuleStatus,
    /// What was checked and found; for NOT EXERCISED, why not.
    pub summary: String,
    /// How many exchanges were judged under this rule.
    pub exercised: u64,
    /// Up to [`MAX_EVIDENCE`] counterexamples when it failed.
    pub evidence: Vec<Evidence>,
}

/// One exchange that broke a rule, with what is needed to find and replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The message's TransaktionIdentifikator, when it has one.
    pub transaktion_id: Option<String>,
    /// The platform's CallUUID, to look the exchange up in the journals.
    pub call_uuid: Option<String>,
    /// One line: what went wrong with this exchange.
    pub what: String,
    /// The raw message sent to (or by) the seat, cut by [`truncate_raw`].
    pub request: Option<String>,
    /// The raw answer, cut by [`truncate_raw`].
    pub response: Option<String>,
}

impl CheckKind {
    /// The lowercase name, as in JSON and as the JUnit classname.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Safety => "safety",
            CheckKind::Liveness => "liveness",
            CheckKind::Sla => "sla",
            CheckKind::Expectation => "expectation",
        }
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ScenarioInfo {
    /// Virtual time the run covered, in seconds (0 when the end is not after the start).
    pub fn virtual_seconds(&self) -> f64 {
        (self.virtual_end - self.virtual_start)
            .as_seconds_f64()
            .max(0.0)
    }
}

impl RunReport {
    /// The checks that did not hold, in report order.
    pub fn failed_checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Every rule an outside system in a seat broke, with its seat, in report order.
    pub fn failed_rules(&self) -> impl Iterator<Item = (&SeatReport, &RuleVerdict)> {
        self.conformance
            .iter()
            .flat_map(|seat| seat.failed_rules().map(move |rule| (seat, rule)))
    }

    /// [`SeatReport::coverage`] summed over every seat: (rules exercised, rules that apply).
    /// `(0, 0)` when everything was simulated.
    pub fn conformance_coverage(&self) -> (usize, usize) {
        self.conformance
            .iter()
            .map(SeatReport::coverage)
            .fold((0, 0), |(e, a), (se, sa)| (e + se, a + sa))
    }

    /// Updates sent per second of wall time: how fast the simulator drove the ecosystem. An
    /// exchange is one update with everything it causes (transport receipt, business receipt),
    /// so this is the figure to compare between runs and machines. `None` when no wall time was
    /// measured.
    pub fn exchanges_per_second(&self) -> Option<f64> {
        (self.wall_seconds.is_finite() && self.wall_seconds > 0.0)
            .then(|| self.totals.sent as f64 / self.wall_seconds)
    }
}
