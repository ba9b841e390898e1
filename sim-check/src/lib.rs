//! `sim-check`: judges a finished run from the history the three programs wrote.
//!
//! Every program journals each message it sent or received (`sim_store::Journal`). After a run,
//! the checkers here read those journals — read-only, never calling a program — and say
//! whether the run kept the rules, as [`CheckResult`]s for the run report. As in Jepsen or
//! TigerBeetle's VOPR, *safety* (never violated, whatever the faults: nothing misrouted,
//! nothing processed twice, nothing broken accepted) is kept apart from *liveness* (once faults
//! end, the backlog drains) and from the platform's response-time *SLA*.
//!
//! Journals answer nearly everything. Where they cannot, a checker reads the program's own
//! tables, and says so in its docs: KSD's `ksd_updates`/`ksd_case_history` (what KSD recorded,
//! not only what it answered) and the jobcenter's `jc_updates`/`jc_receipts` (which vendor
//! instance sent an update or stored a receipt: no jobcenter journal row names the instance).
//!
//! # Layout
//! - `history`: opens the three SQLite files read-only and loads the journals (without raw XML),
//!   each row's label and outcome parsed into `sim_store`'s vocabulary, and the few own-table
//!   columns needed.
//! - `routing`: a municipality's route at a virtual time, from the final table and the changes.
//! - `verdict`: builds a [`CheckResult`] the same way for every checker (at most 20 examples).
//! - [`sf2095`]: the checks of SF2095's legs, one module each: [`sf2095::misrouting`]
//!   (`no-misrouting`), [`sf2095::exactly_once`] (`processed-exactly-once`),
//!   [`sf2095::refused`] (`refused-what-must-be-refused`), [`sf2095::receipts`]
//!   (`no-receipt-without-update`), [`sf2095::backlog`] (`backlog-drains`). Another
//!   integration's checks are a folder like it plus one line in `run_checks`.
//! - [`sf2090`] (`events-acknowledged`): every case event KSD sent acknowledged in time, by
//!   its own municipality (KSD-10, JC-3).
//! - [`sf2093`] (`duration-codes-follow-the-dialogue`): every case's VarighedKode is what its
//!   extension dialogue decided, 63 only past the limit (KSD-9, KSD-11, JC-3).
//! - [`sf2096`] (`no-cross-municipality-read`): no look-up answer holds a case of another
//!   municipality than the caller's (KSD-12).
//! - [`sf1690`] (`ky-receipts`): every KY message a simulated vendor sent got KY's
//!   TransportKvittering by the end, and none was refused (KY-1, JC-1).
//! - [`sla`] (`platform-response-times`): every call made to the platform, whatever its
//!   integration, by its SP-8 class from `sim_wire::flows`.
//! - [`mod@stats`]: counts for the report's totals.
//! - [`conformance`]: outside systems in seats graded rule by rule (PASS, FAIL with evidence,
//!   NOT EXERCISED), from the journals and the runner's probes.

pub mod conformance;
mod history;
mod routing;
pub mod sf1612;
pub mod sf1690;
pub mod sf2090;
pub mod sf2093;
pub mod sf2095;
pub mod sf2096;
pub mod sla;
pub mod stats;
mod verdict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use sim_report::{CheckKind, CheckResult};
use time::OffsetDateTime;

pub use sf2095::backlog::backlog_drains;
pub use sf2095::exactly_once::processed_exactly_once;
pub use sf2095::misrouting::no_misrouting;
pub use sf2095::receipts::no_receipt_without_update;
pub use sf2095::refused::refused_what_must_be_refused;
pub use sla::platform_response_times;
pub use stats::{stats, JournalRows, Stats, VendorStats};
pub use verdict::MAX_EXAMPLES;

/// The liveness deadline [`CheckInput::for_state_dir`] starts with: generous for a loopback
/// run with KSD's receipt delay 0; scenarios set their own.
pub const DEFAULT_LIVENESS_DEADLINE: Duration = Duration::from_secs(60);

/// What the checkers need besides the journals: where they are, and what the runner did.
#[derive(Debug, Clone)]
pub struct CheckInput {
    /// The platform's file, `<state>/sp/sp.sqlite`.
    pub sp_db: PathBuf,
    /// KSD's file, `<state>/ksd/ksd.sqlite`.
    pub ksd_db: PathBuf,
    /// The jobcenter vendors' file, `<state>/jobcenter/jobcenter.sqlite`.
    pub jobcenter_db: PathBuf,
    /// STAR's file, `<state>/star/star.sqlite` (SF1612; absent without STAR or with an outside
    /// one).
    pub star_db: PathBuf,
    /// The platform's Beskedfordeler, `<state>/sp/bf.sqlite` (SF1612).
    pub bf_db: PathBuf,
    /// SF1612: how long an event may take from STAR's queue to KSD (virtual) before it counts
    /// as lost — the job's period, a rolled-back sequence's timeout and the deliveries
    /// (the runner: the scenario's liveness deadline, at least STAR's sequence timeout plus a
    /// job period). Not widened at speed `max` like `liveness_deadline`: the drain waits for
    /// SF1612 to settle instead.
    pub sf1612_deadline: Duration,
    /// Municipality CVR → vendor instance, as routed at the end of the run (final table).
    pub routing: BTreeMap<String, String>,
    /// Routing changes made during the run: (virtual time, CVR, new instance), an empty
    /// instance for a removed route. Before a municipality's first change its route is unknown
    /// (the final table is after the changes), so messages judged only then are not judged.
    pub routing_changes: Vec<(OffsetDateTime, String, String)>,
    /// Messages the runner deliberately broke, so safety can demand they were refused:
    /// (TransaktionIdentifikator, kind), kind one of `cvr_mismatch_agreement`,
    /// `cvr_mismatch_header`, `forbidden_code`, `malformed_xml`.
    pub injected: Vec<(String, String)>,
    /// When the last fault ended (virtual); liveness is judged after it.
    pub faults_end: Option<OffsetDateTime>,
    /// How long after `faults_end` (or after an update was accepted, whichever is later) its
    /// business receipt may take.
    pub liveness_deadline: Duration,
    /// Platform service windows (SP-9): the SLA is not judged for calls made inside them.
    pub service_windows: Vec<(OffsetDateTime, OffsetDateTime)>,
    /// When the run's traffic ended (virtual); the history reaches at least this far.
    pub run_end: OffsetDateTime,
    /// Outside systems in seats, to grade rule by rule ([`conformance`]); a vendor seat's
    /// receipts count as stored when the seat accepted them.
    pub seats: Vec<conformance::SeatUnderTest>,
    /// Messages the runner sent to the seats on purpose, with what came back.
    pub probes: Vec<conformance::Probe>,
    /// Whether virtual time was real time (speed 1): only then are response times judged.
    pub real_time: bool,
}

impl CheckInput {
    /// Whether an outside platform takes the platform's seat (its journal is not ours).
    pub fn platform_is_outside(&self) -> bool {
        self.seats
            .iter()
            .any(|s| s.party == conformance::SeatParty::Platform)
    }

    /// Whether an outside KSD takes KSD's seat (its journal and tables are not ours).
    pub fn ksd_is_outside(&self) -> bool {
        self.seats
            .iter()
            .any(|s| s.party == conformance::SeatParty::Ksd)
    }

    /// The files of a state directory laid out as `sim up` and the tests do, with no routing,
    /// nothing injected, no faults, no service windows and [`DEFAULT_LIVENESS_DEADLINE`].
    pub fn for_state_dir(state_dir: &Path, run_end: OffsetDateTime) -> CheckInput {
        CheckInput {
            sp_db: state_dir.join("sp").join("sp.sqlite"),
            ksd_db: state_dir.join("ksd").join("ksd.sqlite"),
            jobcenter_db: state_dir.join("jobcenter").join("jobcenter.sqlite"),
            star_db: state_dir.join("star").join("star.sqlite"),
            bf_db: state_dir.join("sp").join("bf.sqlite"),
            sf1612_deadline: DEFAULT_LIVENESS_DEADLINE,
            routing: BTreeMap::new(),
            routing_changes: Vec::new(),
            injected: Vec::new(),
            faults_end: None,
            liveness_deadline: DEFAULT_LIVENESS_DEADLINE,
            service_windows: Vec::new(),
            run_end,
            seats: Vec::new(),
            probes: Vec::new(),
            real_time: false,
        }
    }
}

/// Why the history could not be judged at all (a check that *fails* is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A program's SQLite file is not there.
    #[error("{program}: no database at {path}")]
    Missing {
        /// `sim-sp`, `sim-ksd` or `sim-jobcenter`.
        program: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// SQLite could not open or read a file (not a database, no `journal` table, locked ...).
    #[error("{program}: reading {path}: {source}")]
    Sqlite {
        /// `sim-sp`, `sim-ksd` or `sim-jobcenter`.
        program: &'static str,
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: sim_store::rusqlite::Error,
    },
}

/// Runs every checker over one load of the three files, in a fixed order: safety first, then
/// liveness, then SLA.
pub fn check_all(input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    run_checks(&history::History::load(input)?, input)
}

/// [`check_all`] and [`stats()`] over one load of the files, for a runner that wants both.
pub fn check_all_with_stats(input: &CheckInput) -> Result<(Vec<CheckResult>, Stats), CheckError> {
    let h = history::History::load(input)?;
    Ok((run_checks(&h, input)?, stats::compute(&h)))
}

/// Everything a run's judgement needs, over one load of the files: the checks, the stats,
/// and the conformance of every outside seat.
pub fn judge(
    input: &CheckInput,
) -> Result<(Vec<CheckResult>, Stats, Vec<sim_report::SeatReport>), CheckError> {
    let h = history::History::load(input)?;
    let checks = run_checks(&h, input)?;
    let seats = conformance::grade(&h, input)?;
    Ok((checks, stats::compute(&h), seats))
}

/// Each integration's checks, then the platform's SLA over every call it answered.
fn run_checks(h: &history::History, input: &CheckInput) -> Result<Vec<CheckResult>, CheckError> {
    let mut results = sf2095::check(h, input)?;
    results.extend(sf2090::check(h, input)?);
    results.extend(sf2093::check(h, input)?);
    results.extend(sf2096::check(h, input)?);
    results.extend(sf1690::check(h, input)?);
    results.extend(sf1612::check(input)?);
    // Safety first, then liveness, whatever the integration (a stable sort keeps each
    // integration's order within a kind).
    results.sort_by_key(|r| match r.kind {
        CheckKind::Safety => 0,
        CheckKind::Liveness => 1,
        _ => 2,
    });
    results.push(if input.platform_is_outside() {
        sla::not_judged()
    } else {
        sla::check(h, input)
    });
    Ok(results)
}
