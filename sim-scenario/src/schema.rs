//! The scenario file: its validated model ([`Scenario`]), [`parse`] with positioned errors,
//! defaults, flag overrides, a canonical expansion ([`Scenario::to_yaml`]) and a stable
//! [`hash`] of the text for reports.
//!
//! Every field is documented with an example in `docs/scenario-schema.md`. Parsing happens
//! in two steps: serde-saphyr reads the text into span-carrying raw types (`deny_unknown_fields`
//! everywhere, so a typo is an error, not a silently ignored key), then `build` checks every
//! value and produces these types. Both steps report line and column.

use std::fmt;
use std::str::FromStr;

use serde_saphyr::Spanned;
use sim_wire::{Cvr, OphoersAarsag};
use time::{Duration, OffsetDateTime, Weekday};

use crate::calendar::{RecurringWindow, ServiceWindowSpec, WeekOfMonth};
use crate::error::{Pos, ScenarioError};
use crate::policy::VendorPolicies;
use crate::raw::{
    RawDistribution, RawExpectations, RawFault, RawProfile, RawRecurring, RawScenario,
    RawSelection, Scalar,
};
use crate::refdata;
use crate::units::{parse_datetime, parse_duration, parse_instant, parse_time_of_day};
use sim_seed::Rng;

/// Rule KSD-13: up to 200,000 SF2095 status changes a month, nationally.
pub const DEFAULT_PER_MONTH: u64 = 200_000;

/// The length of the "month" that `volume.per_month` is per: 30 days of virtual time.
pub const MONTH: Duration = Duration::days(30);

/// A whole scenario: what traffic, over which virtual time, with which faults, judged by
/// which expectations. Everything a run does follows from it and its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Short name, printed in reports and used in file names.
    pub name: String,
    /// Free text: what the scenario is for.
    pub description: String,
    /// The run's seed; every random stream is derived from it (`sim run --seed N` overrides).
    pub seed: u64,
    /// Virtual time: when the run starts, how long it lasts, how fast it runs.
    pub clock: Clock,
    /// Which municipalities produce traffic (CVRs of the 98, resolved from kommunekoder).
    pub municipalities: Selection<Cvr>,
    /// Which jobcenter vendor instances take part (`kmd-jc`, ...).
    pub vendors: Selection<String>,
    /// How many SF2095 updates the run produces.
    pub volume: Volume,
    /// When in the week and the day they happen.
    pub profile: Profile,
    /// How long KSD takes, in virtual time, before it sends its business receipt.
    pub receipt_delay: Distribution,
    /// What goes wrong, where and when.
    pub faults: Vec<FaultRule>,
    /// What the run must achieve to pass.
    pub expectations: Expectations,
    /// Outside systems that take a seat (a vendor instance, `ksd`): the simulator calls them
    /// instead of its own program and grades them rule by rule. Empty: everything simulated.
    pub seats: Vec<Seat>,
    /// Cases KSD learns of during the run (KSD-9): each created through KSD's admin API,
    /// told to its jobcenter (SF2090) and, when its limit falls in the run, extended or not
    /// (SF2093). `None`: KSD only has the cases the jobcenters' updates name.
    pub cases: Option<CaseIntake>,
    /// The jobcenters' SF2096 look-ups during the run (KSD-12), honest and adversarial.
    /// `None`: nobody looks anything up.
    pub lookups: Option<Lookups>,
    /// The jobcenters' SF1690 messages to KY during the run (KY-1..KY-10): consistent
    /// conversations per person. `None`: nobody writes to KY.
    pub ky: Option<Ky>,
    /// STAR's sick-leave statuses (SF1612, KSD-13): STAR's event stream, the platform's job
    /// period and how KSD takes its deliveries. `None`: no STAR in the run.
    pub star: Option<Star>,
    /// How the simulated vendors acknowledge KSD's events (SF2090, KSD-10) and answer its
    /// extension requests (SF2093, KSD-11), per instance: `vendor_policies:`, the jobcenter's
    /// defaults when left out.
    pub vendor_policies: VendorPolicies,
}

/// KSD's case intake (`cases:`): cases created in KSD — from NemRefusion or by hand, until
/// SF1612 brings STAR's — at `volume`'s rate with the run's profile, each with a first day of
/// absence drawn uniformly from the `max_age_weeks` weeks before its creation, so that a run
/// starts with cases near their duration limit as a real KSD has them (`min_age_weeks` keeps
/// the newest ones out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseIntake {
    /// How many, like the updates' volume (per 30-day month nationally, or a total).
    pub volume: Volume,
    /// Share of pensioners' cases (61, their own limit).
    pub pensioner_share: f64,
    /// How recent a first day of absence may be, in weeks (0: from the day of creation): a
    /// scenario about the extension dialogue puts every case near its limit with it.
    pub min_age_weeks: u32,
    /// How far back a first day of absence may lie, in weeks.
    pub max_age_weeks: u32,
}

/// The jobcenters' case look-ups (`lookups:`, SF2096): a case worker asks KSD about a case
/// of the municipality's own (by SagIdentifikator or NemRefusionIdentifier) or lists a
/// person's cases, at `volume`'s rate with the run's profile. An `adversarial` share asks, in
/// the jobcenter's own legitimate security context, for keys of *other* municipalities —
/// real ones the run has seen (case ids, NemRefusion ids, CPRs) or guessed ones — which KSD
/// must answer exactly like keys nobody has (KSD-12).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lookups {
    /// How many, like the updates' volume (per 30-day month nationally, or a total).
    pub volume: Volume,
    /// Share of `HentSagsListe` (by person) among them; the rest are `HentSag`.
    pub list_share: f64,
    /// Share aimed at other municipalities' cases.
    pub adversarial: f64,
}

/// The jobcenters' messages to KY (`ky:`, SF1690): `volume` messages (not conversations),
/// at the run's profile, each the next step of one citizen's contact course — a course created
/// first, then its assessment group, statement, activity (with allowances in
/// `allowance_share` of them), allowances, absences, sanction requests, target-group changes,
/// changes, stops and resumes — in an order KY accepts, so that a refusal is a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ky {
    /// How many messages, like the updates' volume (per 30-day month nationally, or a total).
    pub volume: Volume,
    /// Share of the activities created with allowances (§ 82/83) in the same message.
    pub allowance_share: f64,
}

/// STAR's sick-leave statuses (`star:`, SF1612): `volume` events at the run's profile about
/// `population` persons; the platform's job fetches them every `job_every` (SP-10) and
/// publishes them through the Beskedfordeler, which hands KSD those about persons on its value
/// list (BF-1), by `delivery`. `known_share` of KSD's case intake (`cases:`) is about persons
/// STAR reports on, so that STAR's events reach cases KSD has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Star {
    /// How many events (per 30-day month nationally, 90,000 in KSD-13, or a total).
    pub volume: Volume,
    /// The platform's job period in virtual time (SP-10; 10 minutes by default).
    pub job_every: Duration,
    /// How many persons STAR's events are about.
    pub population: u64,
    /// Share of KSD's case intake drawn from STAR's persons.
    pub known_share: f64,
    /// How KSD takes its deliveries from the Beskedfordeler (BF-2).
    pub delivery: Delivery,
}

/// How a subscriber takes deliveries from the Beskedfordeler (BF-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The subscriber fetches and acknowledges.
    Pull,
    /// The Beskedfordeler posts to the subscriber's endpoint.
    Push,
}

impl Delivery {
    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pull => "pull",
            Delivery::Push => "push",
        }
    }
}

/// An outside system in a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// The seat: a vendor instance (`kmd-jc` ...) or `ksd`.
    pub name: String,
    /// Where the platform calls it (`https://`).
    pub url: String,
    /// CA files its server certificate chains to (added to what the platform trusts), as
    /// written in the file (relative to the scenario file's directory).
    pub trust: Vec<String>,
    /// The system it is when it calls the platform, `CVR[:UUID]` (a jobcenter sending updates
    /// by itself, KSD sending business receipts); `None`: the seat's simulated identity.
    pub identity: Option<String>,
}

/// Why a scenario with an outside seat cannot run at `speed`: a real system reads its own
/// clock, so virtual time must be real time. `None` when it can.
pub fn seat_speed_problem(seats: &[Seat], speed: Speed) -> Option<String> {
    if seats.is_empty() || speed == Speed::Factor(1.0) {
        return None;
    }
    let names: Vec<&str> = seats.iter().map(|s| s.name.as_str()).collect();
    Some(format!(
        "speed {speed} with an outside system in a seat ({}): it keeps its own clock, so the \
         run must be real time; use speed: 1 (or --speed 1)",
        names.join(", ")
    ))
}

/// Virtual time of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// The first virtual instant (RFC 3339 with offset in the file).
    pub start: OffsetDateTime,
    /// How much virtual time the run covers; arrivals fall in `[start, start + duration)`.
    pub duration: Duration,
    /// How fast virtual time runs against real time.
    pub speed: Speed,
}

impl Clock {
    /// The end of the run (exclusive).
    pub fn end(&self) -> OffsetDateTime {
        self.start.saturating_add(self.duration)
    }
}

/// How fast virtual time runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Virtual seconds per real second (1 = real time, 60 = an hour a minute).
    Factor(f64),
    /// As fast as the programs can go: virtual time jumps to the next due event.
    Max,
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Speed::Factor(x) => write!(f, "{x}"),
            Speed::Max => f.write_str("max"),
        }
    }
}

impl FromStr for Speed {
    type Err = String;
    /// `max` or a positive number, as the `--speed` flag takes it.
    fn from_str(s: &str) -> Result<Speed, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::Factor(x)),
            _ => Err(format!(
                "'{s}' is not a speed: `max` or a positive factor (1 = real time) expected"
            )),
        }
    }
}

/// Everything of a kind, or exactly these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection<T> {
    /// All there are.
    All,
    /// Only these, in file order, without repeats.
    Only(Vec<T>),
}

impl<T: PartialEq> Selection<T> {
    /// Whether `x` is selected.
    pub fn contains(&self, x: &T) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(v) => v.contains(x),
        }
    }
}

/// How many updates a run produces (rule KSD-13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// The national rate per 30-day month over all 98 municipalities; each municipality
    /// carries 1/98 of it, so a run over fewer municipalities produces their share, and a
    /// run of another length produces `per_month × duration / 30 d` (see `arrivals`).
    PerMonth(u64),
    /// Exactly this many expected over the whole run, shared equally by the municipalities
    /// the run drives (handy for smoke tests).
    Total(u64),
}

/// When updates happen: a weight for every local hour of the day, times a factor for the kind
/// of day (working days 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Weight of Saturdays, Sundays and half days (Grundlovsdag, Juleaften, Nytårsaften)
    /// against a working day.
    pub weekend_factor: f64,
    /// Weight of public holidays against a working day.
    pub holiday_factor: f64,
    /// Relative weight of each local hour 00–23 (any scale; only ratios matter).
    pub hourly: [f64; 24],
}

/// The default hour-of-day curve: caseworkers' hours, most traffic 06–18 (rule SP-8's peak),
/// a late-morning high, a lunch dip, and little at night (batch jobs, remote work).
pub const DEFAULT_HOURLY: [f64; 24] = [
    0.05, 0.03, 0.02, 0.02, 0.03, 0.10, // 00-05
    0.60, 1.00, 1.40, 1.60, 1.60, 1.50, // 06-11
    1.20, 1.40, 1.40, 1.20, 0.90, 0.60, // 12-17
    0.35, 0.25, 0.20, 0.15, 0.10, 0.07, // 18-23
];

impl Default for Profile {
    fn default() -> Self {
        Profile {
            weekend_factor: 0.15,
            holiday_factor: 0.10,
            hourly: DEFAULT_HOURLY,
        }
    }
}

/// A distribution of virtual delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Always this long.
    Fixed(Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
    /// Exponential with this mean (memoryless queueing), optionally capped.
    Exponential {
        /// Mean.
        mean: Duration,
        /// Longest value returned, if any.
        cap: Option<Duration>,
    },
    /// Log-normal given by its median and 99th percentile (how latencies are usually
    /// described), optionally capped.
    Lognormal {
        /// 50th percentile.
        median: Duration,
        /// 99th percentile; not below the median.
        p99: Duration,
        /// Longest value returned, if any.
        cap: Option<Duration>,
    },
}

/// z of the 99th percentile of the standard normal.
const Z99: f64 = 2.326_347_874;

impl Distribution {
    /// One delay drawn from `rng`: never negative, never above `cap` (or ten years).
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        let secs = |d: Duration| d.as_seconds_f64();
        let (x, cap) = match *self {
            Distribution::Fixed(d) => return d,
            Distribution::Uniform { min, max } => {
                (secs(min) + rng.f64() * (secs(max) - secs(min)), None)
            }
            Distribution::Exponential { mean, cap } => {
                let m = secs(mean);
                (if m > 0.0 { rng.exp(1.0 / m) } else { 0.0 }, cap)
            }
            Distribution::Lognormal { median, p99, cap } => {
                let m = secs(median);
                if m <= 0.0 {
                    (0.0, cap)
                } else {
                    let sigma = (secs(p99) / m).ln().max(0.0) / Z99;
                    (rng.lognormal(m.ln(), sigma), cap)
                }
            }
        };
        let limit = cap
            .map(secs)
            .unwrap_or(crate::units::MAX_SPAN.as_seconds_f64());
        Duration::seconds_f64(x.clamp(0.0, limit))
    }

    /// The mean (ignoring any cap): for expanded plans and sanity checks.
    pub fn mean(&self) -> Duration {
        match *self {
            Distribution::Fixed(d) => d,
            Distribution::Uniform { min, max } => (min + max) / 2,
            Distribution::Exponential { mean, .. } => mean,
            Distribution::Lognormal { median, p99, .. } => {
                let m = median.as_seconds_f64();
                if m <= 0.0 {
                    return Duration::ZERO;
                }
                let sigma = (p99.as_seconds_f64() / m).ln().max(0.0) / Z99;
                Duration::seconds_f64((m.ln() + sigma * sigma / 2.0).exp())
            }
        }
    }
}

/// The default receipt delay: KSD answers most business receipts within a fraction of a
/// second of virtual time, a few take seconds.
pub const DEFAULT_RECEIPT_DELAY: Distribution = Distribution::Lognormal {
    median: Duration::milliseconds(200),
    p99: Duration::seconds(2),
    cap: Some(Duration::seconds(30)),
};

/// The kinds of fault a scenario can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// A jobcenter resends an update with the same TransaktionIdentifikator (KSD-7).
    DuplicateUpdate,
    /// A business receipt is sent twice (KSD by default, or the platform's delivery).
    DuplicateReceipt,
    /// KSD answers late (`delay`).
    SlowKsd,
    /// A vendor's receiver answers late (`delay`).
    SlowVendor,
    /// The platform answers late (`delay`).
    SlowPlatform,
    /// The target answers after the caller's deadline (or never).
    Timeout,
    /// The sender puts a municipality in the AuthorityContext its certificate has no service
    /// agreement for (SP-5).
    CvrMismatchAgreement,
    /// The security context's municipality CVR differs from the header's Myndighed (KSD-8).
    CvrMismatchHeader,
    /// The sender uses OphoersAarsag 10 or 60–64, which KSD never accepts from outside
    /// (KSD-5).
    ForbiddenCode,
    /// The target answers (or sends) XML that is not well-formed.
    MalformedXml,
    /// The target answers with a SOAP fault.
    SoapFault,
    /// The target answers with a TransportKvittering FEJL (KSD-1, JC-1).
    FejlReceipt,
    /// The target drops the connection without an answer.
    ConnectionReset,
    /// The platform's service windows (SP-9): inside one it answers every call with a fault.
    ServiceWindow,
    /// A program crashes at `at` and restarts after `downtime`.
    Crash,
    /// A program is frozen at `at` (`SIGSTOP`, `docker pause`) and thawed after `downtime`:
    /// its sockets stay open and answer nothing. Only with the programs in processes or
    /// containers.
    Pause,
    /// A program is cut off the network at `at` (`docker network disconnect`) and connected
    /// again after `downtime`. Only with the programs in containers.
    Partition,
    /// A vendor answers the SF2093 extension requests it receives after their SvarFrist
    /// (KSD-11): KSD sets 63 at the limit and applies the late answer with a warning.
    LateExtensionAnswer,
    /// A vendor acknowledges an SF2090 event twice (KSD-10): KSD counts the second, records
    /// nothing again.
    EventAckTwice,
    /// A vendor keeps the SF2090 events it receives but does not acknowledge them (KSD-10):
    /// KSD delivers each again after its acknowledgement timeout, and a delivery outside the
    /// fault is acknowledged.
    UnacknowledgedEvent,
    /// STAR cuts its answer to a fetch after k of the sequence's n events (k drawn per
    /// sequence): the platform's job must close the sequence, and the next run publishes each
    /// event once (SP-10).
    StarCutSequence,
    /// STAR answers late (`delay`).
    SlowStar,
    /// The Beskedfordeler is down (`window`): publishing and delivering fail until it is back;
    /// nothing acknowledged is lost (BF-2).
    BrokerDown,
    /// KSD's push endpoint refuses a delivery (a SOAP fault naming BF-2): the Beskedfordeler
    /// delivers it
    /// again (BF-2).
    PushRefused,
    /// The Beskedfordeler delivers a message twice (`delay` apart): KSD processes it once.
    DuplicateDelivery,
}

impl FaultKind {
    /// Every kind, in documentation order.
    pub const ALL: [FaultKind; 25] = [
        FaultKind::DuplicateUpdate,
        FaultKind::DuplicateReceipt,
        FaultKind::SlowKsd,
        FaultKind::SlowVendor,
        FaultKind::SlowPlatform,
        FaultKind::Timeout,
        FaultKind::CvrMismatchAgreement,
        FaultKind::CvrMismatchHeader,
        FaultKind::ForbiddenCode,
        FaultKind::MalformedXml,
        FaultKind::SoapFault,
        FaultKind::FejlReceipt,
        FaultKind::ConnectionReset,
        FaultKind::ServiceWindow,
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::Partition,
        FaultKind::LateExtensionAnswer,
        FaultKind::EventAckTwice,
        FaultKind::UnacknowledgedEvent,
        FaultKind::StarCutSequence,
        FaultKind::SlowStar,
        FaultKind::BrokerDown,
        FaultKind::PushRefused,
        FaultKind::DuplicateDelivery,
    ];

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::DuplicateUpdate => "duplicate_update",
            FaultKind::DuplicateReceipt => "duplicate_receipt",
            FaultKind::SlowKsd => "slow_ksd",
            FaultKind::SlowVendor => "slow_vendor",
            FaultKind::SlowPlatform => "slow_platform",
            FaultKind::Timeout => "timeout",
            FaultKind::CvrMismatchAgreement => "cvr_mismatch_agreement",
            FaultKind::CvrMismatchHeader => "cvr_mismatch_header",
            FaultKind::ForbiddenCode => "forbidden_code",
            FaultKind::MalformedXml => "malformed_xml",
            FaultKind::SoapFault => "soap_fault",
            FaultKind::FejlReceipt => "fejl_receipt",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::ServiceWindow => "service_window",
            FaultKind::Crash => "crash",
            FaultKind::Pause => "pause",
            FaultKind::Partition => "partition",
            FaultKind::LateExtensionAnswer => "late_extension_answer",
            FaultKind::EventAckTwice => "event_ack_twice",
            FaultKind::UnacknowledgedEvent => "unacknowledged_event",
            FaultKind::StarCutSequence => "star_cut_sequence",
            FaultKind::SlowStar => "slow_star",
            FaultKind::BrokerDown => "broker_down",
            FaultKind::PushRefused => "push_refused",
            FaultKind::DuplicateDelivery => "duplicate_delivery",
        }
    }

    /// Which targets the kind may name, and the target when none is named (`None`: the file
    /// must name one).
    fn targets(self) -> (u8, Option<Target>) {
        use FaultKind::*;
        match self {
            DuplicateUpdate | SlowVendor | CvrMismatchAgreement | CvrMismatchHeader
            | ForbiddenCode | LateExtensionAnswer | EventAckTwice | UnacknowledgedEvent => {
                (T_JC | T_VENDOR, Some(Target::Jobcenter))
            }
            DuplicateReceipt => (T_KSD | T_SP, Some(Target::Ksd)),
            SlowKsd => (T_KSD, Some(Target::Ksd)),
            SlowPlatform | ServiceWindow => (T_SP, Some(Target::Sp)),
            FejlReceipt => (T_KSD | T_JC | T_VENDOR, Some(Target::Ksd)),
            Timeout | MalformedXml | SoapFault | ConnectionReset => {
                (T_SP | T_KSD | T_JC | T_VENDOR | T_STAR, None)
            }
            Crash | Pause | Partition => (T_SP | T_KSD | T_JC | T_STAR, None),
            StarCutSequence | SlowStar => (T_STAR, Some(Target::Star)),
            // The Beskedfordeler lives in the platform.
            BrokerDown | DuplicateDelivery => (T_SP, Some(Target::Sp)),
            PushRefused => (T_KSD, Some(Target::Ksd)),
        }
    }

    /// Which optional fields of a fault entry the kind takes (besides `kind` and `name`).
    fn fields(self) -> &'static [&'static str] {
        use FaultKind::*;
        match self {
            DuplicateUpdate | DuplicateReceipt | SlowKsd | SlowVendor | SlowPlatform | SlowStar => {
                &["probability", "window", "target", "delay"]
            }
            Timeout => &["probability", "window", "target", "after"],
            ForbiddenCode => &["probability", "window", "target", "codes"],
            CvrMismatchAgreement | CvrMismatchHeader | MalformedXml | SoapFault | FejlReceipt
            | ConnectionReset | LateExtensionAnswer | EventAckTwice | UnacknowledgedEvent
            | StarCutSequence | PushRefused | DuplicateDelivery => {
                &["probability", "window", "target"]
            }
            BrokerDown => &["window", "target"],
            ServiceWindow => &["window", "target", "weekly", "monthly", "quarterly"],
            Crash | Pause | Partition => &["target", "at", "downtime"],
        }
    }
}

const T_SP: u8 = 1;
const T_KSD: u8 = 2;
const T_JC: u8 = 4;
const T_VENDOR: u8 = 8;
const T_STAR: u8 = 16;

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultKind, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown fault kind `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Where a fault happens: a program, or one jobcenter vendor instance. The names are those
/// the programs use for themselves (`sp`, `ksd`, `jobcenter`, `kmd-jc` ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The platform (sim-sp).
    Sp,
    /// KSD (sim-ksd).
    Ksd,
    /// The jobcenter program, i.e. every vendor instance.
    Jobcenter,
    /// One vendor instance.
    Vendor(String),
    /// STAR's DFDG (sim-star), SF1612's source.
    Star,
}

impl Target {
    /// The name in the file.
    pub fn name(&self) -> &str {
        match self {
            Target::Sp => "sp",
            Target::Ksd => "ksd",
            Target::Jobcenter => "jobcenter",
            Target::Vendor(v) => v,
            Target::Star => "star",
        }
    }

    /// Parses a name: `sp`, `ksd`, `jobcenter`, `star`, or a vendor instance name.
    pub fn parse(name: &str) -> Result<Target, String> {
        Ok(match name {
            "sp" => Target::Sp,
            "ksd" => Target::Ksd,
            "jobcenter" => Target::Jobcenter,
            "star" => Target::Star,
            other => Target::Vendor(check_instance(other)?),
        })
    }

    /// Whether a rule aimed at `self` applies to `asked`: equal, or `jobcenter` covering any
    /// vendor instance.
    pub fn covers(&self, asked: &Target) -> bool {
        self == asked || (*self == Target::Jobcenter && matches!(asked, Target::Vendor(_)))
    }

    fn class(&self) -> u8 {
        match self {
            Target::Sp => T_SP,
            Target::Ksd => T_KSD,
            Target::Jobcenter => T_JC,
            Target::Vendor(_) => T_VENDOR,
            Target::Star => T_STAR,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn check_instance(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            "'{name}' is not a target: sp, ksd, jobcenter, star or a vendor instance name (lower case letters, digits, '-')"
        ))
    }
}

/// When a rule is active: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant.
    pub from: OffsetDateTime,
    /// First instant after.
    pub to: OffsetDateTime,
}

impl Window {
    /// Whether `at` is inside.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at < self.to
    }
}

/// What a rule needs besides kind, target, window and probability.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultParams {
    /// Nothing more.
    None,
    /// `slow_*`: how long the answer is held; `duplicate_*`: how long after the original the
    /// copy goes out.
    Delay(Distribution),
    /// `timeout`: how long the target hangs; `None` = until the caller gives up.
    Timeout {
        /// How long before the (late) answer, if ever.
        after: Option<Duration>,
    },
    /// `forbidden_code`: the codes to use instead of a valid one (rule KSD-5).
    Codes(Vec<OphoersAarsag>),
    /// `service_window`: the calendar (rule SP-9).
    Calendar(ServiceWindowSpec),
    /// `crash`: when and for how long.
    Crash {
        /// When the program dies.
        at: OffsetDateTime,
        /// How long until it is started again.
        downtime: Duration,
    },
}

/// One fault entry of the file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Unique name: the file's `name`, or `<kind>#<n>` for the n-th rule of that kind. Its
    /// random stream is derived from it, so adding a rule of another kind changes nothing
    /// here.
    pub name: String,
    /// What goes wrong.
    pub kind: FaultKind,
    /// Chance that an eligible message is hit (1 for calendar and crash rules).
    pub probability: f64,
    /// When the rule is active (default: the whole run; for a crash, its downtime).
    pub window: Window,
    /// Where.
    pub target: Target,
    /// Kind-specific parameters.
    pub params: FaultParams,
}

/// The response-time classes of rule SP-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaClass {
    /// 1 s.
    Simple,
    /// 1.5 s.
    Medium,
    /// 4 s.
    Complex,
}

impl SlaClass {
    /// The response-time limit of the class (rule SP-8).
    pub fn limit(self) -> Duration {
        match self {
            SlaClass::Simple => Duration::seconds(1),
            SlaClass::Medium => Duration::milliseconds(1500),
            SlaClass::Complex => Duration::seconds(4),
        }
    }

    /// The name in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaClass::Simple => "simple",
            SlaClass::Medium => "medium",
            SlaClass::Complex => "complex",
        }
    }
}

/// What a run must achieve. Safety bounds default to 0 (they are invariants: nothing lost,
/// nothing misrouted, nothing processed twice); the others are checked only when given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectations {
    /// Updates created but never answered by a business receipt at their vendor.
    pub max_lost: u64,
    /// Receipts delivered to a vendor not serving the municipality (SP-2, JC-3).
    pub max_misrouted: u64,
    /// Updates KSD changed a case for more than once (KSD-7).
    pub max_processed_twice: u64,
    /// Synchronous answers slower than `sla_class`'s limit (SP-8).
    pub max_sla_violations: Option<u64>,
    /// The SP-8 class synchronous answers are judged by (default simple, 1 s).
    pub sla_class: SlaClass,
    /// Median update → business receipt time, virtual.
    pub p50_roundtrip: Option<Duration>,
    /// 99th percentile update → business receipt time, virtual.
    pub p99_roundtrip: Option<Duration>,
    /// Once the last fault is over, every backlog must drain within this (virtual) time.
    pub liveness_deadline: Option<Duration>,
    /// Share of updates KSD accepted (ACCEPTERET) among those sent, 0–1.
    pub min_accepted_ratio: Option<f64>,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations {
            max_lost: 0,
            max_misrouted: 0,
            max_processed_twice: 0,
            max_sla_violations: None,
            sla_class: SlaClass::Simple,
            p50_roundtrip: None,
            p99_roundtrip: None,
            liveness_deadline: None,
            min_accepted_ratio: None,
        }
    }
}

/// The default start: Monday 2 March 2026, 00:00 in Copenhagen (a fixed instant, because
/// this crate reads no clock).
pub const DEFAULT_START: OffsetDateTime = time::macros::datetime!(2026-03-02 00:00 +01:00);
/// The default run length.
pub const DEFAULT_DURATION: Duration = Duration::hours(1);

impl Scenario {
    /// The scenario with the command line's `--seed` and `--speed` applied (flags override the
    /// file).
    pub fn with_overrides(mut self, seed: Option<u64>, speed: Option<Speed>) -> Scenario {
        if let Some(seed) = seed {
            self.seed = seed;
        }
        if let Some(speed) = speed {
            self.clock.speed = speed;
        }
        self
    }

    /// The (CVR, instance) pairs this scenario drives, given the current routing: the
    /// selected municipalities whose instance is a selected vendor, in routing order.
    pub fn assignments(&self, routing: &[(Cvr, String)]) -> Vec<(Cvr, String)> {
        routing
            .iter()
            .filter(|(cvr, inst)| self.municipalities.contains(cvr) && self.vendors.contains(inst))
            .cloned()
            .collect()
    }
}

/// Parses and validates a scenario text. Errors carry the line and column of the offending
/// node; nothing panics on any input.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    // An empty or comment-only file is a scenario of defaults.
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    let raw: RawScenario = if blank {
        serde_saphyr::from_str("{}").map_err(|e| ScenarioError::from_yaml(&e))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| ScenarioError::from_yaml(&e))?
    };
    build(raw)
}

/// A stable fingerprint of a scenario text for reports: FNV-1a 64 over the bytes, 16 hex
/// digits. Same bytes, same hash, on every platform and version.
pub fn hash(text: &str) -> String {
    format!("{:016x}", sim_seed::hash(text.as_bytes()))
}

pub(crate) fn err<T>(s: &Spanned<T>, message: impl Into<String>) -> ScenarioError {
    ScenarioError::at_loc(&s.referenced, message)
}

fn duration_at(s: &Spanned<String>) -> Result<Duration, ScenarioError> {
    parse_duration(&s.value).map_err(|m| err(s, m))
}

fn positive_duration_at(s: &Spanned<String>, what: &str) -> Result<Duration, ScenarioError> {
    let d = duration_at(s)?;
    if d <= Duration::ZERO {
        return Err(err(s, format!("{what} must be longer than 0s")));
    }
    Ok(d)
}

fn factor_at(s: &Spanned<f64>, what: &str) -> Result<f64, ScenarioError> {
    if s.value.is_finite() && s.value >= 0.0 {
        Ok(s.value)
    } else {
        Err(err(s, format!("{what} must be a number ≥ 0")))
    }
}

fn build(raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let name = match raw.name {
        Some(n) if n.value.trim().is_empty() => return Err(err(&n, "name must not be empty")),
        Some(n) => n.value,
        None => "unnamed".into(),
    };
    let clock = build_clock(raw.clock)?;
    let municipalities = match raw.municipalities {
        None => Selection::All,
        Some(sel) => build_municipalities(sel)?,
    };
    let vendors = match raw.vendors {
        None => Selection::All,
        Some(sel) => build_vendors(sel)?,
    };
    let volume = match raw.volume {
        None => Volume::PerMonth(DEFAULT_PER_MONTH),
        Some(v) => match (v.value.per_month, v.value.total) {
            (Some(_), Some(t)) => {
                return Err(err(&t, "give either per_month or total, not both"));
            }
            (Some(p), None) => Volume::PerMonth(p.value),
            (None, Some(t)) => Volume::Total(t.value),
            (None, None) => Volume::PerMonth(DEFAULT_PER_MONTH),
        },
    };
    let profile = match raw.profile {
        None => Profile::default(),
        Some(p) => build_profile(p)?,
    };
    let receipt_delay = match raw.receipt_delay {
        None => DEFAULT_RECEIPT_DELAY,
        Some(d) => build_distribution(&d)?,
    };
    let mut faults: Vec<FaultRule> = Vec::new();
    for f in raw.faults.unwrap_or_default() {
        let rule = build_fault(&f, &clock, &vendors, &faults)?;
        faults.push(rule);
    }
    let expectations = match raw.expectations {
        None => Expectations::default(),
        Some(e) => build_expectations(e)?,
    };
    let seats = match raw.seats {
        None => Vec::new(),
        Some(s) => build_seats(s, clock.speed)?,
    };
    let cases = raw.cases.map(build_cases).transpose()?;
    let lookups = raw.lookups.map(build_lookups).transpose()?;
    let ky = raw.ky.map(build_ky).transpose()?;
    let star = raw.star.map(build_star).transpose()?;
    let vendor_policies = match raw.vendor_policies {
        None => VendorPolicies::default(),
        Some(p) => crate::policy::build(p, &vendors)?,
    };
    Ok(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(0),
        clock,
        municipalities,
        vendors,
        volume,
        profile,
        receipt_delay,
        faults,
        expectations,
        seats,
        cases,
        lookups,
        ky,
        star,
        vendor_policies,
    })
}

/// `star:` — `per_month` or `total` (not both); `job_every` a positive duration (10m);
/// `population` at least 1 (10,000); `known_share` between 0 and 1 (0.5); `delivery` `pull` or
/// `push` (pull).
fn build_star(k: Spanned<crate::raw::RawStar>) -> Result<Star, ScenarioError> {
    let v = &k.value;
    let volume = match (&v.per_month, &v.total) {
        (Some(_), Some(t)) => return Err(err(t, "give either per_month or total, not both")),
        (Some(p), None) => Volume::PerMonth(p.value),
        (None, Some(t)) => Volume::Total(t.value),
        (None, None) => Volume::PerMonth(90_000),
    };
    let job_every = match &v.job_every {
        Some(d) => positive_duration_at(d, "job_every")?,
        None => Duration::minutes(10),
    };
    let population = match &v.population {
        Some(p) if p.value == 0 => return Err(err(p, "population must be at least 1")),
        Some(p) => p.value,
        None => 10_000,
    };
    let known_share = match &v.known_share {
        Some(s) if !(0.0..=1.0).contains(&s.value) => {
            return Err(err(s, "known_share must be between 0 and 1"))
        }
        Some(s) => s.value,
        None => 0.5,
    };
    let delivery = match &v.delivery {
        None => Delivery::Pull,
        Some(d) => match d.value.as_str() {
            "pull" => Delivery::Pull,
            "push" => Delivery::Push,
            other => {
                return Err(err(
                    d,
                    format!("delivery is `pull` or `push`, not `{other}`"),
                ))
            }
        },
    };
    Ok(Star {
        volume,
        job_every,
        population,
        known_share,
        delivery,
    })
}

/// `ky:` — `per_month` or `total` (not both); `allowance_share` between 0 and 1 (default 0.3).
fn build_ky(k: Spanned<crate::raw::RawKy>) -> Result<Ky, ScenarioError> {
    let v = &k.value;
    let volume = match (&v.per_month, &v.total) {
        (Some(_), Some(t)) => return Err(err(t, "give either per_month or total, not both")),
        (Some(p), None) => Volume::PerMonth(p.value),
        (None, Some(t)) => Volume::Total(t.value),
        (None, None) => return Err(err(&k, "ky: give per_month or total")),
    };
    let allowance_share = match &v.allowance_share {
        Some(s) if !(0.0..=1.0).contains(&s.value) => {
            return Err(err(s, "allowance_share must be between 0 and 1"))
        }
        Some(s) => s.value,
        None => 0.3,
    };
    Ok(Ky {
        volume,
        allowance_share,
    })
}

/// `lookups:` — `per_month` or `total` (not both); `list_share` and `adversarial` between 0
/// and 1 (defaults 0.3 and 0).
fn build_lookups(l: Spanned<crate::raw::RawLookups>) -> Result<Lookups, ScenarioError> {
    let v = &l.value;
    let volume = match (&v.per_month, &v.total) {
        (Some(_), Some(t)) => return Err(err(t, "give either per_month or total, not both")),
        (Some(p), None) => Volume::PerMonth(p.value),
        (None, Some(t)) => Volume::Total(t.value),
        (None, None) => return Err(err(&l, "lookups: give per_month or total")),
    };
    let share = |s: &Option<Spanned<f64>>, name: &str, default: f64| match s {
        Some(s) if !(0.0..=1.0).contains(&s.value) => {
            Err(err(s, format!("{name} must be between 0 and 1")))
        }
        Some(s) => Ok(s.value),
        None => Ok(default),
    };
    Ok(Lookups {
        volume,
        list_share: share(&v.list_share, "list_share", 0.3)?,
        adversarial: share(&v.adversarial, "adversarial", 0.0)?,
    })
}

/// `cases:` — `per_month` or `total` (not both), a pensioner share between 0 and 1, and at
/// most 104 weeks back (two years: older cases have long passed any limit), at least
/// `min_age_weeks` back (not more than `max_age_weeks`).
fn build_cases(c: Spanned<crate::raw::RawCases>) -> Result<CaseIntake, ScenarioError> {
    let v = &c.value;
    let volume = match (&v.per_month, &v.total) {
        (Some(_), Some(t)) => return Err(err(t, "give either per_month or total, not both")),
        (Some(p), None) => Volume::PerMonth(p.value),
        (None, Some(t)) => Volume::Total(t.value),
        (None, None) => return Err(err(&c, "cases: give per_month or total")),
    };
    let pensioner_share = match &v.pensioner_share {
        Some(s) if !(0.0..=1.0).contains(&s.value) => {
            return Err(err(s, "pensioner_share must be between 0 and 1"))
        }
        Some(s) => s.value,
        None => 0.05,
    };
    let max_age_weeks = match &v.max_age_weeks {
        Some(w) if w.value > 104 => return Err(err(w, "max_age_weeks is at most 104")),
        Some(w) => w.value,
        // Just under the 22-week limit: every case starts before it (KSD-9), the oldest a
        // week from it.
        None => 21,
    };
    let min_age_weeks = match &v.min_age_weeks {
        Some(w) if w.value > max_age_weeks => {
            return Err(err(
                w,
                format!(
                    "min_age_weeks ({}) is above max_age_weeks ({max_age_weeks})",
                    w.value
                ),
            ))
        }
        Some(w) => w.value,
        None => 0,
    };
    Ok(CaseIntake {
        volume,
        pensioner_share,
        min_age_weeks,
        max_age_weeks,
    })
}

/// `seats:` — each with an `https://` URL; not with a compressed or `max` clock.
fn build_seats(
    raw: Spanned<std::collections::BTreeMap<String, Spanned<crate::raw::RawSeat>>>,
    speed: Speed,
) -> Result<Vec<Seat>, ScenarioError> {
    let mut seats = Vec::new();
    for (name, seat) in raw.value {
        let r = seat.value;
        if name.trim().is_empty() {
            return Err(ScenarioError::at_loc(
                &seat.referenced,
                "a seat needs a name",
            ));
        }
        if !r.url.value.starts_with("https://") {
            return Err(err(
                &r.url,
                format!(
                    "seat '{name}': url must be https:// (the platform calls it over mutual TLS)"
                ),
            ));
        }
        if let Some(id) = &r.identity {
            let cvr = id.value.split(':').next().unwrap_or("");
            if cvr.len() != 8 || !cvr.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(
                    id,
                    format!("seat '{name}': identity is CVR[:UUID], 8 digits first"),
                ));
            }
        }
        seats.push(Seat {
            name,
            url: r.url.value,
            trust: r
                .trust
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.value)
                .collect(),
            identity: r.identity.map(|i| i.value),
        });
    }
    if let Some(problem) = seat_speed_problem(&seats, speed) {
        return Err(ScenarioError::at_loc(&raw.referenced, problem));
    }
    Ok(seats)
}

fn build_clock(raw: Option<crate::raw::RawClock>) -> Result<Clock, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(Clock {
            start: DEFAULT_START,
            duration: DEFAULT_DURATION,
            speed: Speed::Max,
        });
    };
    let start = match &raw.start {
        Some(s) => parse_datetime(&s.value).map_err(|m| err(s, m))?,
        None => DEFAULT_START,
    };
    let duration = match &raw.duration {
        Some(s) => positive_duration_at(s, "clock.duration")?,
        None => DEFAULT_DURATION,
    };
    if start.checked_add(duration).is_none() {
        return Err(ScenarioError::at(
            Pos { line: 1, column: 1 },
            "clock.start + clock.duration is out of range",
        ));
    }
    let speed = match &raw.speed {
        None => Speed::Max,
        Some(s) => match &s.value {
            Scalar::Str(w) => w.parse().map_err(|m: String| err(s, m))?,
            Scalar::Int(i) if *i > 0 => Speed::Factor(*i as f64),
            Scalar::Float(x) if x.is_finite() && *x > 0.0 => Speed::Factor(*x),
            other => {
                return Err(err(
                    s,
                    format!(
                    "'{other}' is not a speed: `max` or a positive factor (1 = real time) expected"
                ),
                ))
            }
        },
    };
    Ok(Clock {
        start,
        duration,
        speed,
    })
}

fn build_municipalities(sel: Spanned<RawSelection>) -> Result<Selection<Cvr>, ScenarioError> {
    let items = match sel.value {
        RawSelection::Word(w) if w == "all" => return Ok(Selection::All),
        RawSelection::Word(w) => {
            return Err(ScenarioError::at_loc(
                &sel.referenced,
                format!("municipalities: `all` or a list of CVR numbers or kommunekoder expected, not '{w}'"),
            ))
        }
        RawSelection::List(items) => items,
    };
    if items.is_empty() {
        return Err(ScenarioError::at_loc(
            &sel.referenced,
            "municipalities: the list is empty; write `all` or name at least one",
        ));
    }
    let mut out: Vec<Cvr> = Vec::with_capacity(items.len());
    for item in &items {
        let text = item.value.to_string();
        let cvr = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
            let cvr: Cvr = text.parse().map_err(|e| err(item, format!("{e}")))?;
            if !refdata::cvr_check_digit_ok(cvr) {
                return Err(err(
                    item,
                    format!("'{text}' is not a valid CVR number: the modulus-11 check fails"),
                ));
            }
            refdata::by_cvr(cvr)
                .ok_or_else(|| {
                    err(
                        item,
                        format!("CVR {text} is not one of the 98 municipalities (scenarios/municipalities.csv)"),
                    )
                })?
                .cvr
        } else if (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            let kode: u16 = text.parse().unwrap_or(0);
            refdata::by_kode(kode)
                .ok_or_else(|| {
                    err(
                        item,
                        format!("{text} is not a kommunekode of the 98 municipalities"),
                    )
                })?
                .cvr
        } else {
            return Err(err(
                item,
                format!("'{text}' is not a municipality: a CVR number (8 digits) or a kommunekode (3 digits) expected"),
            ));
        };
        if out.contains(&cvr) {
            return Err(err(item, format!("municipality {cvr} is listed twice")));
        }
        out.push(cvr);
    }
    Ok(Selection::Only(out))
}

fn build_vendors(sel: Spanned<RawSelection>) -> Result<Selection<String>, ScenarioError> {
    let items = match sel.value {
        RawSelection::Word(w) if w == "all" => return Ok(Selection::All),
        RawSelection::Word(w) => {
            return Err(ScenarioError::at_loc(
                &sel.referenced,
                format!("vendors: `all` or a list of vendor instances expected, not '{w}'"),
            ))
        }
        RawSelection::List(items) => items,
    };
    if items.is_empty() {
        return Err(ScenarioError::at_loc(
            &sel.referenced,
            "vendors: the list is empty; write `all` or name at least one",
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let name = check_instance(&item.value.to_string()).map_err(|m| {
            err(
                item,
                m.replace("is not a target: sp, ksd, jobcenter or", "is not"),
            )
        })?;
        if matches!(name.as_str(), "sp" | "ksd" | "jobcenter") {
            return Err(err(
                item,
                format!("'{name}' is a program, not a vendor instance"),
            ));
        }
        if out.contains(&name) {
            return Err(err(item, format!("vendor '{name}' is listed twice")));
        }
        out.push(name);
    }
    Ok(Selection::Only(out))
}

fn build_profile(raw: RawProfile) -> Result<Profile, ScenarioError> {
    let d = Profile::default();
    let weekend_factor = match &raw.weekend_factor {
        Some(f) => factor_at(f, "weekend_factor")?,
        None => d.weekend_factor,
    };
    let holiday_factor = match &raw.holiday_factor {
        Some(f) => factor_at(f, "holiday_factor")?,
        None => d.holiday_factor,
    };
    let hourly = match &raw.hourly {
        None => d.hourly,
        Some(h) => {
            if h.value.len() != 24 {
                return Err(err(
                    h,
                    format!(
                        "hourly needs 24 weights (hours 00–23), got {}",
                        h.value.len()
                    ),
                ));
            }
            let mut out = [0.0; 24];
            for (slot, w) in out.iter_mut().zip(&h.value) {
                *slot = factor_at(w, "an hourly weight")?;
            }
            if out.iter().all(|w| *w == 0.0) {
                return Err(err(h, "hourly: at least one weight must be above 0"));
            }
            out
        }
    };
    Ok(Profile {
        weekend_factor,
        holiday_factor,
        hourly,
    })
}

fn build_distribution(d: &Spanned<RawDistribution>) -> Result<Distribution, ScenarioError> {
    let m = match &d.value {
        RawDistribution::Fixed(text) => {
            return parse_duration(text)
                .map(Distribution::Fixed)
                .map_err(|m| err(d, m));
        }
        RawDistribution::Map(m) => m,
    };
    let kind = m.distribution.value.as_str();
    let fields: [(&str, &Option<Spanned<String>>); 7] = [
        ("value", &m.value),
        ("min", &m.min),
        ("max", &m.max),
        ("mean", &m.mean),
        ("median", &m.median),
        ("p99", &m.p99),
        ("cap", &m.cap),
    ];
    let allowed: &[&str] = match kind {
        "fixed" => &["value"],
        "uniform" => &["min", "max"],
        "exponential" => &["mean", "cap"],
        "lognormal" => &["median", "p99", "cap"],
        other => {
            return Err(err(
                &m.distribution,
                format!(
                "unknown distribution `{other}`; expected fixed, uniform, exponential or lognormal"
            ),
            ))
        }
    };
    for (name, field) in fields {
        if let Some(f) = field {
            if !allowed.contains(&name) {
                return Err(err(
                    f,
                    format!(
                        "`{name}` does not apply to a {kind} distribution (it takes {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    let need = |name: &str, f: &Option<Spanned<String>>| -> Result<Duration, ScenarioError> {
        match f {
            Some(s) => duration_at(s),
            None => Err(err(
                &m.distribution,
                format!("a {kind} distribution needs `{name}`"),
            )),
        }
    };
    let cap = m.cap.as_ref().map(duration_at).transpose()?;
    Ok(match kind {
        "fixed" => Distribution::Fixed(need("value", &m.value)?),
        "uniform" => {
            let (min, max) = (need("min", &m.min)?, need("max", &m.max)?);
            if max < min {
                return Err(err(
                    m.max.as_ref().unwrap_or(&m.distribution),
                    "max is below min",
                ));
            }
            Distribution::Uniform { min, max }
        }
        "exponential" => Distribution::Exponential {
            mean: need("mean", &m.mean)?,
            cap,
        },
        _ => {
            let (median, p99) = (need("median", &m.median)?, need("p99", &m.p99)?);
            if p99 < median {
                return Err(err(
                    m.p99.as_ref().unwrap_or(&m.distribution),
                    "p99 is below the median",
                ));
            }
            Distribution::Lognormal { median, p99, cap }
        }
    })
}

fn build_fault(
    f: &Spanned<RawFault>,
    clock: &Clock,
    vendors: &Selection<String>,
    earlier: &[FaultRule],
) -> Result<FaultRule, ScenarioError> {
    let r = &f.value;
    let kind: FaultKind = r.kind.value.parse().map_err(|m: String| err(&r.kind, m))?;
    check_fields(r, kind)?;
    let name = fault_name(f, kind, earlier)?;
    let probability = match &r.probability {
        Some(p) if p.value.is_finite() && (0.0..=1.0).contains(&p.value) => p.value,
        Some(p) => return Err(err(p, "probability must be between 0 and 1")),
        None => 1.0,
    };

    let target = fault_target(r, kind, vendors)?;
    let mut window = fault_window(r, clock)?;
    let params = fault_params(r, kind, clock, &mut window)?;
    Ok(FaultRule {
        name,
        kind,
        probability,
        window,
        target,
        params,
    })
}

/// Fields the kind does not take are errors, at the field.
fn check_fields(r: &RawFault, kind: FaultKind) -> Result<(), ScenarioError> {
    let present: [(&str, Option<&serde_saphyr::Location>); 11] = [
        ("probability", r.probability.as_ref().map(|s| &s.referenced)),
        ("window", r.window.as_ref().map(|s| &s.referenced)),
        ("target", r.target.as_ref().map(|s| &s.referenced)),
        ("delay", r.delay.as_ref().map(|s| &s.referenced)),
        ("after", r.after.as_ref().map(|s| &s.referenced)),
        ("codes", r.codes.as_ref().map(|s| &s.referenced)),
        ("weekly", r.weekly.as_ref().map(|s| &s.referenced)),
        ("monthly", r.monthly.as_ref().map(|s| &s.referenced)),
        ("quarterly", r.quarterly.as_ref().map(|s| &s.referenced)),
        ("at", r.at.as_ref().map(|s| &s.referenced)),
        ("downtime", r.downtime.as_ref().map(|s| &s.referenced)),
    ];
    let takes = kind.fields();
    for (field, loc) in present {
        if let Some(loc) = loc {
            if !takes.contains(&field) {
                return Err(ScenarioError::at_loc(
                    loc,
                    format!(
                        "`{field}` does not apply to fault kind `{kind}` (it takes {})",
                        takes.join(", ")
                    ),
                ));
            }
        }
    }

    Ok(())
}

/// The fault's name: given (non-empty, unique) or `<kind>#<n>`.
fn fault_name(
    f: &Spanned<RawFault>,
    kind: FaultKind,
    earlier: &[FaultRule],
) -> Result<String, ScenarioError> {
    let r = &f.value;
    let name = match &r.name {
        Some(n) => {
            let v = n.value.trim();
            if v.is_empty() {
                return Err(err(n, "a fault name must not be empty"));
            }
            v.to_string()
        }
        None => {
            let n = earlier.iter().filter(|e| e.kind == kind).count();
            format!("{kind}#{n}")
        }
    };
    if earlier.iter().any(|e| e.name == name) {
        let at = r
            .name
            .as_ref()
            .map(|n| n.referenced)
            .unwrap_or(f.referenced);
        return Err(ScenarioError::at_loc(
            &at,
            format!("two faults are named '{name}'"),
        ));
    }

    Ok(name)
}

/// The fault's target: given (one the kind may target; a vendor of the scenario) or the
/// kind's default.
fn fault_target(
    r: &RawFault,
    kind: FaultKind,
    vendors: &Selection<String>,
) -> Result<Target, ScenarioError> {
    let (allowed, default_target) = kind.targets();
    Ok(match &r.target {
        Some(t) => {
            let target = Target::parse(&t.value).map_err(|m| err(t, m))?;
            if target.class() & allowed == 0 {
                let mut names = Vec::new();
                for (bit, n) in [
                    (T_SP, "sp"),
                    (T_KSD, "ksd"),
                    (T_JC, "jobcenter"),
                    (T_VENDOR, "a vendor instance"),
                    (T_STAR, "star"),
                ] {
                    if allowed & bit != 0 {
                        names.push(n);
                    }
                }
                return Err(err(
                    t,
                    format!(
                        "fault kind `{kind}` cannot target '{target}' (it targets {})",
                        names.join(", ")
                    ),
                ));
            }
            if let Target::Vendor(v) = &target {
                if !vendors.contains(v) {
                    return Err(err(
                        t,
                        format!("vendor '{v}' is not among the scenario's vendors"),
                    ));
                }
            }
            target
        }
        None => default_target.ok_or_else(|| {
            ScenarioError::at_loc(
                &r.kind.referenced,
                format!("fault kind `{kind}` needs a `target`"),
            )
        })?,
    })
}

/// The fault's window: the whole run unless given; `to` after `from`.
fn fault_window(r: &RawFault, clock: &Clock) -> Result<Window, ScenarioError> {
    let mut window = Window {
        from: clock.start,
        to: clock.end(),
    };
    if let Some(w) = &r.window {
        if let Some(from) = &w.value.from {
            window.from = parse_instant(&from.value, clock.start).map_err(|m| err(from, m))?;
        }
        if let Some(to) = &w.value.to {
            window.to = parse_instant(&to.value, clock.start).map_err(|m| err(to, m))?;
        }
        if window.to <= window.from {
            let at = w
                .value
                .to
                .as_ref()
                .map(|s| s.referenced)
                .unwrap_or(w.referenced);
            return Err(ScenarioError::at_loc(
                &at,
                "window: `to` must be after `from`",
            ));
        }
    }

    Ok(window)
}

/// The kind's parameters; a crash also sets `window` to its downtime.
fn fault_params(
    r: &RawFault,
    kind: FaultKind,
    clock: &Clock,
    window: &mut Window,
) -> Result<FaultParams, ScenarioError> {
    Ok(match kind {
        FaultKind::SlowKsd
        | FaultKind::SlowVendor
        | FaultKind::SlowPlatform
        | FaultKind::SlowStar => match &r.delay {
            Some(d) => FaultParams::Delay(build_distribution(d)?),
            None => {
                return Err(ScenarioError::at_loc(
                    &r.kind.referenced,
                    format!("fault kind `{kind}` needs a `delay`, e.g. delay: 3s"),
                ))
            }
        },
        FaultKind::DuplicateUpdate | FaultKind::DuplicateReceipt => {
            FaultParams::Delay(match &r.delay {
                Some(d) => build_distribution(d)?,
                None => Distribution::Fixed(Duration::ZERO),
            })
        }
        FaultKind::Timeout => FaultParams::Timeout {
            after: r.after.as_ref().map(duration_at).transpose()?,
        },
        FaultKind::ForbiddenCode => FaultParams::Codes(forbidden_codes(r)?),
        FaultKind::ServiceWindow => FaultParams::Calendar(ServiceWindowSpec {
            weekly: build_recurring(r.weekly.as_ref(), ServiceWindowSpec::default_weekly(), true)?,
            monthly: build_recurring(
                r.monthly.as_ref(),
                ServiceWindowSpec::default_monthly(),
                false,
            )?,
            quarterly: build_recurring(
                r.quarterly.as_ref(),
                ServiceWindowSpec::default_quarterly(),
                false,
            )?,
        }),
        FaultKind::Crash | FaultKind::Pause | FaultKind::Partition => {
            let (at, downtime) = crash_at(r, clock)?;
            // A crash's window is its downtime.
            *window = Window {
                from: at,
                to: at.saturating_add(downtime),
            };
            FaultParams::Crash { at, downtime }
        }
        _ => FaultParams::None,
    })
}

/// forbidden_code's codes: given (each one a jobcenter may not send, KSD-5) or all of those.
fn forbidden_codes(r: &RawFault) -> Result<Vec<OphoersAarsag>, ScenarioError> {
    Ok(match &r.codes {
        None => sim_wire::OPHOERS_AARSAG_LIST
            .iter()
            .filter_map(|c| OphoersAarsag::new(*c))
            .filter(|a| !a.outsider_may_send())
            .collect(),
        Some(codes) => {
            if codes.value.is_empty() {
                return Err(err(
                    codes,
                    "codes: name at least one of 10, 60, 61, 62, 63, 64",
                ));
            }
            let mut out = Vec::new();
            for c in &codes.value {
                match OphoersAarsag::new(c.value) {
                        Some(a) if !a.outsider_may_send() => out.push(a),
                        Some(_) => {
                            return Err(err(
                                c,
                                format!("code {} may be sent by a jobcenter; forbidden_code takes 10 or 60–64 (KSD-5)", c.value),
                            ))
                        }
                        None => {
                            return Err(err(
                                c,
                                format!("{} is not in the Ophoersaarsag value list (KSD-5)", c.value),
                            ))
                        }
                    }
            }
            out
        }
    })
}

/// A crash's `at` and `downtime`, both required.
fn crash_at(r: &RawFault, clock: &Clock) -> Result<(OffsetDateTime, Duration), ScenarioError> {
    let at = match &r.at {
        Some(a) => parse_instant(&a.value, clock.start).map_err(|m| err(a, m))?,
        None => {
            return Err(ScenarioError::at_loc(
                &r.kind.referenced,
                "fault kind `crash` needs `at` (e.g. at: +10m)",
            ))
        }
    };
    let downtime = match &r.downtime {
        Some(d) => positive_duration_at(d, "downtime")?,
        None => {
            return Err(ScenarioError::at_loc(
                &r.kind.referenced,
                "fault kind `crash` needs `downtime` (e.g. downtime: 30s)",
            ))
        }
    };
    Ok((at, downtime))
}

fn weekday_from(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn build_recurring(
    raw: Option<&Spanned<RawRecurring>>,
    default: RecurringWindow,
    weekly: bool,
) -> Result<Option<RecurringWindow>, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(Some(default));
    };
    let r = &raw.value;
    if r.enabled == Some(false) {
        return Ok(None);
    }
    let mut w = default;
    if let Some(d) = &r.weekday {
        w.weekday = weekday_from(&d.value).ok_or_else(|| {
            err(
                d,
                format!("'{}' is not a weekday (monday ... sunday)", d.value),
            )
        })?;
    }
    if let Some(k) = &r.week {
        if weekly {
            return Err(err(k, "`week` does not apply to the weekly window"));
        }
        w.week = match &k.value {
            Scalar::Str(s) if s == "last" => WeekOfMonth::Last,
            Scalar::Int(n) if (1..=5).contains(n) => WeekOfMonth::Nth(*n as u8),
            other => {
                return Err(err(
                    k,
                    format!("week: 1–5 or `last` expected, not '{other}'"),
                ))
            }
        };
    }
    if let Some(months) = &r.months {
        if months.is_empty() {
            return Err(ScenarioError::at_loc(
                &raw.referenced,
                "months: name at least one month (1–12)",
            ));
        }
        let mut v = Vec::new();
        for m in months {
            if !(1..=12).contains(&m.value) {
                return Err(err(m, format!("{} is not a month (1–12)", m.value)));
            }
            if !v.contains(&m.value) {
                v.push(m.value);
            }
        }
        v.sort_unstable();
        w.months = v;
    }
    if let Some(from) = &r.from {
        w.from = parse_time_of_day(&from.value).map_err(|m| err(from, m))?;
    }
    if let Some(to) = &r.to {
        w.to = parse_time_of_day(&to.value).map_err(|m| err(to, m))?;
    }
    Ok(Some(w))
}

fn build_expectations(raw: RawExpectations) -> Result<Expectations, ScenarioError> {
    let d = Expectations::default();
    let dur = |s: &Option<Spanned<String>>| s.as_ref().map(duration_at).transpose();
    let sla_class = match &raw.sla_class {
        None => d.sla_class,
        Some(s) => match s.value.as_str() {
            "simple" => SlaClass::Simple,
            "medium" => SlaClass::Medium,
            "complex" => SlaClass::Complex,
            other => {
                return Err(err(
                    s,
                    format!("sla_class: simple, medium or complex expected (SP-8), not '{other}'"),
                ))
            }
        },
    };
    let min_accepted_ratio = match &raw.min_accepted_ratio {
        Some(r) if r.value.is_finite() && (0.0..=1.0).contains(&r.value) => Some(r.value),
        Some(r) => return Err(err(r, "min_accepted_ratio must be between 0 and 1")),
        None => None,
    };
    Ok(Expectations {
        max_lost: raw.max_lost.unwrap_or(d.max_lost),
        max_misrouted: raw.max_misrouted.unwrap_or(d.max_misrouted),
        max_processed_twice: raw.max_processed_twice.unwrap_or(d.max_processed_twice),
        max_sla_violations: raw.max_sla_violations,
        sla_class,
        p50_roundtrip: dur(&raw.p50_roundtrip)?,
        p99_roundtrip: dur(&raw.p99_roundtrip)?,
        liveness_deadline: dur(&raw.liveness_deadline)?,
        min_accepted_ratio,
    })
}
