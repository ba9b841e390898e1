//! `sim run`: a scenario file turned into traffic, faults and a verdict.
//!
//! One clock drives all three programs (compressed by the scenario's factor, or a manual clock
//! the runner moves from arrival to arrival at speed `max`); one seed drives every stream:
//! arrivals and their data come from `sim-scenario` keyed by the arrival's sequence number, so
//! the same seed gives the same messages whatever the order of sending. Faults on the sending
//! side (duplicates, forbidden codes, CVR mismatches, malformed XML) are made here; faults on
//! the receiving side (slow or timed-out answers, SOAP faults, FEJL, connection resets, the
//! platform's service windows, duplicate deliveries) are decided by [`PlanHook`] inside each
//! program's fault layer, and a vendor's answers to KSD (late, twice, withheld) inside its
//! flows; the vendors answer by the scenario's `vendor_policies:`. After the traffic the backlog drains, the programs stop, and the
//! checkers of `sim-check` judge their journals; the scenario's expectations become checks too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use anyhow::Context;

use sim_kit::faults::Faults;
use sim_report::{CheckKind, ProgramStats, RunReport, ScenarioInfo, Snapshot, Totals};
use sim_scenario::{Arrivals, FaultKind, FaultPlan, Scenario, Speed};
use sim_store::Clock;
use sim_wire::Cvr;
use time::OffsetDateTime;

use crate::ecosystem::{self, EcosystemConfig, Ports};

mod crashes;
mod expectations;
mod hook;
mod latency;
mod pacing;
mod remote;
mod report;
mod seats;
mod sf1612;
mod traffic;
mod vendors;

use crate::refdata::RefData;
use crashes::drive_crashes;

use hook::Tally;
pub use hook::{PlanHook, TallyRow};
use pacing::Pace;
pub use remote::{EcosystemFile, ProgramControl};
pub use report::{cpu_seconds, peak_rss};
use traffic::sf2095::{one_arrival, soap_client};
use traffic::{Ctx, Ledger};

/// How a run is made, beyond the scenario file.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The scenario file (for the report).
    pub file: String,
    /// `--seed`: replaces the file's.
    pub seed: Option<u64>,
    /// `--speed`: replaces the file's.
    pub speed: Option<Speed>,
    /// Where the programs keep their state (a fresh directory per run).
    pub state_dir: PathBuf,
    /// Updates in flight at once (bounded, so an overloaded system slows the run instead of
    /// piling up tasks).
    pub concurrency: usize,
    /// Progress bar (`Some(true)`), plain lines (`Some(false)`), or decide by the terminal.
    pub interactive: Option<bool>,
    /// The simulator's git commit, for the report.
    pub git_commit: Option<String>,
    /// `--seat`: outside systems taking seats, beside (and replacing same-named) the
    /// scenario's `seats:`.
    pub seats: Vec<sim_scenario::Seat>,
    /// `--trust`: CA files every seat's certificates may chain to.
    pub trust: Vec<PathBuf>,
    /// The scenario file's directory: a seat's relative `trust:` paths start there.
    pub scenario_dir: PathBuf,
    /// `--certs`: the simulator's certificates (made there if missing, kept across runs), so an
    /// outside system can trust its CA once; default a fresh set in the state directory.
    pub certs_dir: Option<PathBuf>,
    /// `--platform-port`: where the platform's data plane listens (an outside KSD must know
    /// where to send its business receipts); default a free port.
    pub platform_port: Option<u16>,
    /// `--port-base`: every simulated program on fixed ports from here ([`Ports::from_base`]),
    /// for an outside platform that must know where KSD and the vendors are.
    pub port_base: Option<u16>,
    /// `--broker amqp://…/BF`: RabbitMQ as the Beskedfordeler's broker (SF1612); none: the
    /// embedded one.
    pub broker: Option<String>,
    /// The wall-clock instant the scenario's virtual start corresponds to, when the programs
    /// run in other processes and share the clock by parameters (virtual = start + (wall −
    /// epoch) × factor); `None`: the clock starts with this run, in this process.
    pub epoch: Option<OffsetDateTime>,
    /// `--processes`: every program a `sim serve` process of its own, started by this run.
    pub processes: bool,
    /// `--ecosystem FILE`: the programs are `sim serve` processes or containers already
    /// running, described by FILE ([`EcosystemFile`]).
    pub ecosystem: Option<PathBuf>,
}

impl RunOptions {
    /// Options for a run of `file` kept in `state_dir`, everything else by default.
    pub fn new(file: &str, state_dir: &std::path::Path) -> RunOptions {
        RunOptions {
            file: file.to_string(),
            seed: None,
            speed: None,
            state_dir: state_dir.to_path_buf(),
            concurrency: 64,
            interactive: Some(false),
            git_commit: None,
            seats: Vec::new(),
            trust: Vec::new(),
            scenario_dir: PathBuf::new(),
            certs_dir: None,
            platform_port: None,
            port_base: None,
            broker: None,
            epoch: None,
            processes: false,
            ecosystem: None,
        }
    }
}

/// One program's part in a scenario run across processes, as `sim serve`'s control API
/// receives it (`PUT /run`) and keeps it beside the program's state: the scenario, its
/// overrides and the clock's epoch — everything the program derives its configuration,
/// clock and receiving-side faults from, so every process decides the same plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProgramRun {
    /// The scenario file's text.
    pub scenario: String,
    /// Its name, for logs.
    #[serde(default)]
    pub file: String,
    /// `--seed`: replaces the file's.
    #[serde(default)]
    pub seed: Option<u64>,
    /// `--speed`: replaces the file's (a factor; `max` is refused across processes).
    #[serde(default)]
    pub speed: Option<String>,
    /// The wall-clock instant of the scenario's virtual start, Unix milliseconds.
    pub epoch_unix_ms: i64,
}

impl ProgramRun {
    /// The options this run is set up with in a program's own process.
    fn options(&self, state_dir: &std::path::Path) -> anyhow::Result<RunOptions> {
        let mut opts = RunOptions::new(&self.file, state_dir);
        opts.seed = self.seed;
        opts.speed = match &self.speed {
            Some(s) => Some(s.parse().map_err(|e| anyhow::anyhow!("speed: {e}"))?),
            None => None,
        };
        opts.epoch = Some(
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.epoch_unix_ms) * 1_000_000)
                .context("epoch_unix_ms")?,
        );
        Ok(opts)
    }
}

/// What speed `max` cannot do across processes, said once for `sim run` and `sim serve`.
pub const MAX_ACROSS_PROCESSES: &str = "speed max cannot run across processes: there the \
    runner moves one in-memory clock with the traffic (and when every sender waits), which \
    programs in other processes cannot follow; give a factor instead (--speed 600)";

/// The configuration one program of a scenario run across processes starts with: `base`
/// (its ports, addresses, host names, certificates, broker, `only`) with everything the
/// scenario decides — seed, shared clock, receiving-side faults, vendor policies, SF1612.
pub fn program_config(
    run: &ProgramRun,
    base: EcosystemConfig,
) -> anyhow::Result<(EcosystemConfig, FaultTally)> {
    let opts = run.options(&base.state_dir)?;
    let setup = Setup::new(&run.scenario, &opts)?;
    let tally = FaultTally(setup.tally.clone());
    Ok((setup.ecosystem_config(base), tally))
}

/// What a program's fault layer did in its own process (since that process started), for
/// the runner's report.
#[derive(Clone, Default)]
pub struct FaultTally(Arc<Tally>);

impl FaultTally {
    /// Every (kind, target) hit so far.
    pub fn rows(&self) -> Vec<TallyRow> {
        self.0.rows()
    }
}

/// How long a call may take in scenario runs: short, so injected timeouts cost little.
pub(crate) const CALL_TIMEOUT: StdDuration = StdDuration::from_millis(2_000);
/// Default liveness deadline when the scenario gives none (virtual).
const DEFAULT_LIVENESS: time::Duration = time::Duration::minutes(10);

/// How often a message is resent while answers are transient: with backoff capped at 10 s
/// (virtual) this outlasts the longest SP-9 window a short scenario plans.
pub(crate) const RESEND_ATTEMPTS: u32 = 150;

/// What a run is made of before anything starts: the scenario with its overrides, the reference
/// data, the clock, the fault plan and the hook that applies it, the traffic buckets.
struct Setup {
    scenario: Scenario,
    /// Hash of the scenario text with its effective seed and speed (reproduces the run).
    hash: String,
    refdata: RefData,
    /// (municipality, vendor instance) pairs the scenario sends for.
    assignments: Vec<(Cvr, String)>,
    start: OffsetDateTime,
    end: OffsetDateTime,
    clock: Clock,
    plan: Arc<FaultPlan>,
    tally: Arc<Tally>,
    hook: Arc<PlanHook>,
    crashes: Vec<sim_scenario::Crash>,
    /// The traffic plot's buckets over virtual time.
    n_buckets: usize,
    bucket_len: time::Duration,
    /// Outside systems in seats (the file's and `--seat`'s).
    seats: Vec<sim_scenario::Seat>,
    /// Every vendor instance's SF2090/SF2093 policy, from the scenario's `vendor_policies:`.
    vendor_policies: BTreeMap<String, sim_jobcenter::VendorPolicy>,
}

impl Setup {
    /// Parses the scenario and derives everything the run needs from it and its seed.
    fn new(text: &str, opts: &RunOptions) -> anyhow::Result<Setup> {
        let scenario: Scenario = sim_scenario::parse(text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", opts.file))?
            .with_overrides(opts.seed, opts.speed);
        let hash = sim_scenario::hash(&format!(
            "{text}\n#seed={} speed={}",
            scenario.seed, scenario.clock.speed
        ));
        let refdata = RefData::embedded()?;
        let seats = seats::merge(&scenario.seats, &opts.seats);
        seats::validate(&seats, &refdata)?;
        if let Some(problem) = sim_scenario::seat_speed_problem(&seats, scenario.clock.speed) {
            anyhow::bail!("{problem}");
        }
        let routing: Vec<(Cvr, String)> = refdata
            .routing
            .iter()
            .map(|(c, i)| (*c, i.clone()))
            .collect();
        let assignments = scenario.assignments(&routing);
        let vendor_policies = vendors::policies(&scenario.vendor_policies, &refdata)
            .map_err(|e| anyhow::anyhow!("{}: {e}", opts.file))?;
        anyhow::ensure!(
            !assignments.is_empty(),
            "the scenario selects no municipality served by a selected vendor"
        );
        let (start, end) = (scenario.clock.start, scenario.clock.end());
        let (clock, factor) = match (scenario.clock.speed, opts.epoch) {
            (Speed::Factor(f), None) => (Clock::compressed(start, f), f),
            (Speed::Factor(f), Some(epoch)) => (Clock::compressed_from(start, epoch, f), f),
            (Speed::Max, None) => (Clock::manual(start), f64::INFINITY),
            (Speed::Max, Some(_)) => anyhow::bail!("{MAX_ACROSS_PROCESSES}"),
        };
        let plan = Arc::new(FaultPlan::new(&scenario));
        let tally = Arc::new(Tally::default());
        let hook = Arc::new(PlanHook {
            seed: scenario.seed,
            receipt_delay: scenario.receipt_delay,
            plan: plan.clone(),
            clock: clock.clone(),
            factor,
            seq: AtomicU64::new(0),
            tally: tally.clone(),
        });
        let crashes = plan.crashes();
        let n_buckets = 60usize;
        let bucket_len = ((end - start) / n_buckets as i32).max(time::Duration::SECOND);
        Ok(Setup {
            scenario,
            hash,
            refdata,
            assignments,
            start,
            end,
            clock,
            plan,
            tally,
            hook,
            crashes,
            n_buckets,
            bucket_len,
            seats,
            vendor_policies,
        })
    }

    fn speed(&self) -> Speed {
        self.scenario.clock.speed
    }

    /// The traffic bucket of a virtual time.
    fn bucket(&self) -> Arc<dyn Fn(OffsetDateTime) -> usize + Send + Sync> {
        let (start, len, n) = (self.start, self.bucket_len, self.n_buckets);
        Arc::new(move |t: OffsetDateTime| {
            (((t - start).as_seconds_f64() / len.as_seconds_f64())
                .floor()
                .max(0.0) as usize)
                .min(n - 1)
        })
    }

    /// Starts the three programs on fresh state and ephemeral ports, with the run's clock,
    /// seed and fault hook.
    async fn start_ecosystem(&self, opts: &RunOptions) -> anyhow::Result<ecosystem::Running> {
        let _ = std::fs::remove_dir_all(&opts.state_dir);
        let mut base = EcosystemConfig::new(&opts.state_dir, self.refdata.clone());
        base.ports = Ports::ephemeral();
        base.bf_amqp = opts.broker.clone();
        let mut cfg = self.ecosystem_config(base);
        seats::configure(&mut cfg, &self.seats, &opts.scenario_dir, &opts.trust);
        if let Some(dir) = &opts.certs_dir {
            cfg.certs_dir = dir.clone();
        }
        if let Some(base) = opts.port_base {
            cfg.ports = Ports::from_base(&self.refdata, base);
        }
        if let Some(port) = opts.platform_port {
            cfg.ports.sp = port;
        }
        ecosystem::start(cfg).await
    }

    /// `cfg` with everything the scenario decides for the programs: the seed, the clock,
    /// the receiving-side faults, the vendors' policies, timeouts, and SF1612's stream.
    fn ecosystem_config(&self, mut cfg: EcosystemConfig) -> EcosystemConfig {
        cfg.seed = self.scenario.seed;
        cfg.clock = self.clock.clone();
        cfg.faults = Faults::with(self.hook.clone());
        cfg.vendor_faults = sim_jobcenter::VendorFaults::with(self.hook.clone());
        cfg.vendor_policies = self.vendor_policies.clone();
        // The mean is KSD's fallback; the hook draws each receipt's delay from the distribution.
        cfg.receipt_delay_ms = self
            .scenario
            .receipt_delay
            .mean()
            .whole_milliseconds()
            .max(0) as u64;
        cfg.max_send_attempts = RESEND_ATTEMPTS;
        cfg.call_timeout_ms = CALL_TIMEOUT.as_millis() as u64;
        // SF1612: STAR serves the scenario's stream; the platform's job runs at its period.
        if let Some(star) = &self.scenario.star {
            cfg.star = Some(sim_star::EventsConfig {
                seed: self.scenario.seed,
                stream: sim_scenario::star::StarStream::of_scenario(&self.scenario),
                ..sim_star::EventsConfig::default()
            });
            cfg.star_job_every_ms = star.job_every.whole_milliseconds().max(1) as u64;
            cfg.star_sequence_timeout_ms = Some(
                star_sequence_timeout(self.speed(), star.job_every.unsigned_abs()).as_millis()
                    as u64,
            );
            cfg.star_faults = sim_star::StarFaultHook::with(self.hook.clone());
            cfg.star_delivery = match star.delivery {
                sim_scenario::Delivery::Pull => sim_ksd::Sf1612Delivery::Pull,
                sim_scenario::Delivery::Push => sim_ksd::Sf1612Delivery::Push,
            };
        }
        cfg
    }

    /// What every arrival's task shares.
    fn traffic_context(&self, running: &Eco, ledger: Arc<Mutex<Ledger>>) -> anyhow::Result<Ctx> {
        let certs = &running.endpoints().certs_dir;
        let mut clients = BTreeMap::new();
        for v in &self.refdata.vendors {
            clients.insert(v.instance.clone(), soap_client(certs, &v.instance)?);
        }
        Ok(Ctx {
            jc: running.jc(),
            plan: self.plan.clone(),
            clients: Arc::new(clients),
            sp_url: running.endpoints().sp_ksd_exposure.clone(),
            seed: self.scenario.seed,
            ledger,
            tally: self.tally.clone(),
            clock: self.clock.clone(),
            others: Arc::new(self.assignments.clone()),
            bucket: self.bucket(),
            known: Arc::default(),
        })
    }

    /// The progress line's counters at virtual time `t`.
    fn snapshot(&self, l: &Ledger, t: OffsetDateTime, receipts: u64) -> Snapshot {
        Snapshot {
            virtual_seconds: (t - self.start).whole_seconds().max(0) as u64,
            sent: l.sent,
            accepted: l.accepted,
            receipts,
            faults: self.tally.total(),
        }
    }

    /// The liveness deadline the scenario gives, or the default.
    fn liveness(&self) -> time::Duration {
        self.scenario
            .expectations
            .liveness_deadline
            .unwrap_or(DEFAULT_LIVENESS)
    }
}

/// The stored receipts so far (0 while the jobcenter is down).
async fn receipt_count(running: &Eco) -> Option<u64> {
    running.jc().receipt_count().await
}

/// Business receipts delivered so far: stored by the simulated vendors, plus those the
/// outside systems in vendor seats accepted for updates the runner sent (from the platform's
/// journal; receipts for a seat's own updates are not the runner's to wait for).
async fn delivered_count(
    running: &Eco,
    setup: &Setup,
    opts: &RunOptions,
    ledger: &Mutex<Ledger>,
) -> u64 {
    let simulated = receipt_count(running).await.unwrap_or(0);
    let sp_db = opts.state_dir.join("sp").join("sp.sqlite");
    let seated = match seats::delivered(&sp_db, &setup.seats) {
        Ok(d) if !d.is_empty() => {
            let l = ledger.lock().expect("ledger lock");
            d.iter().filter(|(t, _)| l.intended.contains_key(t)).count() as u64
        }
        _ => 0,
    };
    simulated + seated
}

/// Sends every arrival of the scenario at its time, each in its own task (at most
/// `concurrency` at once), with crashes driven beside; returns how many arrivals there were
/// once every sender has ended.
async fn send_arrivals(
    setup: &Setup,
    running: &Eco,
    ctx: &Ctx,
    pace: &mut Pace,
    progress: &sim_report::Progress,
    concurrency: usize,
    side: &traffic::SideTallies,
) -> anyhow::Result<u64> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    if !setup.crashes.is_empty() {
        tasks.spawn(drive_crashes(
            running.hands(),
            setup.clock.clone(),
            setup.crashes.clone(),
            setup.tally.clone(),
            ctx.ledger.clone(),
        ));
    }
    // KSD's case intake (KSD-9), beside the updates, when KSD is ours.
    if setup.scenario.cases.is_some() && !setup.seats.iter().any(|s| s.name == "ksd") {
        tasks.spawn(traffic::cases::drive_intake(
            setup.scenario.clone(),
            setup.assignments.clone(),
            setup.clock.clone(),
            running.admin_client(StdDuration::from_secs(30)),
            running.endpoints().ksd_admin.clone(),
            side.intake.clone(),
            ctx.known.clone(),
        ));
    }
    // The jobcenters' look-ups (SF2096, KSD-12), beside the updates.
    if setup.scenario.lookups.is_some() {
        tasks.spawn(traffic::lookups::drive(traffic::lookups::Driver {
            scenario: setup.scenario.clone(),
            assignments: setup.assignments.clone(),
            clock: setup.clock.clone(),
            jc: running.jc(),
            known: ctx.known.clone(),
            tally: side.lookups.clone(),
            seated: setup.seats.iter().map(|s| s.name.clone()).collect(),
        }));
    }
    // The jobcenters' KY messages (SF1690), beside the updates — only when KY is ours: it
    // lives in the simulated KSD program, so with an outside KSD in its seat the platform has
    // no route to KY and every message would be answered SP-4 (not a failure of KY's).
    if setup.scenario.ky.is_some() && !setup.seats.iter().any(|s| s.name == "ksd") {
        let faults_end = setup.plan.faults_end();
        tasks.spawn(traffic::ky::drive(traffic::ky::Driver {
            scenario: setup.scenario.clone(),
            assignments: setup.assignments.clone(),
            clock: setup.clock.clone(),
            jc: running.jc(),
            tally: side.ky.clone(),
            seated: setup.seats.iter().map(|s| s.name.clone()).collect(),
            give_up_at: match setup.speed() {
                Speed::Max => None,
                Speed::Factor(_) => {
                    Some(faults_end.map_or(setup.end, |f| f.max(setup.end)) + setup.liveness())
                }
            },
        }));
    }
    let mut arrivals = 0u64;
    let (mut receipts_seen, mut last_count) = (0u64, Instant::now());
    for a in Arrivals::new(&setup.scenario, &setup.assignments) {
        arrivals += 1;
        let permit = pace.slot_for(a.intended_at, &permits).await?;
        let c = ctx.clone();
        tasks.spawn(async move {
            one_arrival(c, a).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
        if arrivals.is_multiple_of(256) {
            // Receipts so far: counted at the jobcenter, so at most once per real second.
            if last_count.elapsed() >= StdDuration::from_secs(1) {
                receipts_seen = receipt_count(running).await.unwrap_or(receipts_seen);
                last_count = Instant::now();
            }
            let l = ctx.ledger.lock().expect("ledger lock");
            progress.update(&setup.snapshot(&l, setup.clock.now(), receipts_seen));
        }
    }
    let faults_end = setup.plan.faults_end();
    let senders_deadline = faults_end.map_or(setup.end, |f| f.max(setup.end)) + setup.liveness();
    pace.join_senders(&mut tasks, senders_deadline).await;
    Ok(arrivals)
}

/// How long STAR keeps a sequence of this run open (virtual): three job periods, at least 15
/// minutes; at speed `max` a day, because there the clock follows the traffic (hours per real
/// second in the month) and one run of the job, publishing a thousand events, spans hours.
fn star_sequence_timeout(speed: Speed, every: StdDuration) -> StdDuration {
    match speed {
        Speed::Max => StdDuration::from_secs(24 * 3600).max(every * 3),
        Speed::Factor(_) => (every * 3).max(StdDuration::from_secs(15 * 60)),
    }
}

/// What `judge` finds: the checks, the totals, and every outside seat's conformance.
type Judgement = (
    Vec<sim_report::CheckResult>,
    sim_check::Stats,
    Vec<sim_report::SeatReport>,
);

/// The checkers' input for this run's state directory (with the seats and the probes made
/// to them), and their verdicts; SLA checks are reported as not judged away from speed 1.
fn judge(
    setup: &Setup,
    opts: &RunOptions,
    ledger: &Ledger,
    run_end: OffsetDateTime,
    probes: Vec<sim_check::conformance::Probe>,
) -> anyhow::Result<Judgement> {
    let mut input = sim_check::CheckInput::for_state_dir(&opts.state_dir, run_end);
    input.routing = setup
        .refdata
        .routing
        .iter()
        .map(|(c, i)| (c.to_string(), i.clone()))
        .collect();
    input.injected = ledger.injected.clone();
    input.faults_end = setup.plan.faults_end();
    // At speed `max` virtual time jumps from arrival to arrival, so "late" means nothing:
    // liveness then judges loss only (every receipt within the run).
    let liveness = setup.liveness().unsigned_abs();
    input.liveness_deadline = match setup.speed() {
        Speed::Max => liveness.max((run_end - setup.start).unsigned_abs()),
        Speed::Factor(_) => liveness,
    };
    // SF1612: the scenario's deadline, at least a rolled-back sequence's timeout and a job
    // period (the ecosystem's STAR times a sequence out after three periods, at least 15 min).
    if let Some(star) = &setup.scenario.star {
        let every = star.job_every.unsigned_abs();
        let timeout = star_sequence_timeout(setup.speed(), every);
        input.sf1612_deadline = liveness.max(timeout + every);
    }
    input.service_windows = setup.plan.windows(FaultKind::ServiceWindow);
    input.seats = seats::under_test(&setup.seats);
    input.probes = probes;
    input.real_time = setup.speed() == Speed::Factor(1.0);
    let (mut checks, stats, conformance) =
        sim_check::judge(&input).context("judging the journals")?;
    if setup.speed() != Speed::Factor(1.0) {
        for c in checks.iter_mut().filter(|c| c.kind == CheckKind::Sla) {
            c.passed = true;
            c.examples.clear();
            c.not_judged = Some(format!(
                "not judged at speed {}: response times in compressed virtual time are not real ones (SP-8 is judged at speed 1)",
                setup.speed()
            ));
            c.summary = format!("not judged; measured in virtual time: {}", c.summary);
        }
    }
    Ok((checks, stats, conformance))
}

/// Runs a scenario (its text) and returns the report: set up, start the programs, send the
/// arrivals, drain, stop, judge the journals, assemble the report.
pub async fn run_scenario(text: &str, opts: &RunOptions) -> anyhow::Result<RunReport> {
    if opts.processes || opts.ecosystem.is_some() {
        return run_across_processes(text, opts).await;
    }
    let setup = Setup::new(text, opts)?;
    if let Some(o) = setup.crashes.iter().find(|c| c.kind != FaultKind::Crash) {
        anyhow::bail!(
            "fault {} ({}) needs the programs in processes or containers: run with --processes or --ecosystem FILE",
            o.rule,
            o.kind
        );
    }
    let running = Eco::Local(Box::new(setup.start_ecosystem(opts).await?));
    run_with(setup, opts, running).await
}

/// A run whose programs are `sim serve` processes: started here (`--processes`) or already
/// running (`--ecosystem`). They are handed the scenario and an epoch a few seconds ahead,
/// so each has restarted on fresh state before its clock moves.
async fn run_across_processes(text: &str, opts: &RunOptions) -> anyhow::Result<RunReport> {
    // Checked before any process is touched: the scenario, speed max, seats.
    let mut probe = opts.clone();
    probe.epoch = Some(Clock::real().now());
    let pre = Setup::new(text, &probe)?;
    // TODO(issue 14): seats beside programs in other processes — `sim serve` would take the
    // seat's URL and trust files (paths valid inside its container) through `PUT /run`.
    anyhow::ensure!(
        pre.seats.is_empty(),
        "seats with programs in other processes are not supported yet: give the seat to `sim serve`'s neighbours by their URLs, or run in one process"
    );
    let place = match &opts.ecosystem {
        Some(file) => remote::Where::File(remote::EcosystemFile::locate(file).await?),
        None => remote::Where::Processes,
    };
    let remote = remote::Remote::connect(
        place,
        &pre.refdata,
        &opts.state_dir,
        opts.broker.as_deref(),
        &pre.crashes,
    )
    .await?;
    // In whole milliseconds: what the programs are handed, so that all share one epoch.
    let soon = Clock::real().now() + time::Duration::seconds(3);
    let epoch = OffsetDateTime::from_unix_timestamp_nanos(
        soon.unix_timestamp_nanos() / 1_000_000 * 1_000_000,
    )?;
    let mut opts = opts.clone();
    opts.epoch = Some(epoch);
    opts.state_dir = remote.state_dir.clone();
    let setup = Setup::new(text, &opts)?;
    let run = remote::program_run(text, &opts.file, setup.scenario.seed, setup.speed(), epoch);
    let remote = Arc::new(remote);
    let result = match remote.start_run(&run).await {
        Ok(()) => run_with(setup, &opts, Eco::Remote(remote.clone())).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Whatever failed: no program is left frozen, cut off or running the scenario.
        if let Err(e) = remote.stop().await {
            tracing::warn!(error = %format!("{e:#}"), "stopping the programs after a failed run");
        }
    }
    result
}

/// Where the programs of a run are, as the runner reaches them.
enum Eco {
    /// In this process (`ecosystem::start`).
    Local(Box<ecosystem::Running>),
    /// In other processes or containers.
    Remote(Arc<remote::Remote>),
}

impl Eco {
    fn endpoints(&self) -> &ecosystem::Endpoints {
        match self {
            Eco::Local(r) => &r.endpoints,
            Eco::Remote(r) => &r.endpoints,
        }
    }

    fn jc(&self) -> traffic::Jc {
        match self {
            Eco::Local(r) => traffic::Jc::Local(r.jobcenter_slot()),
            Eco::Remote(r) => traffic::Jc::Remote(r.jc.clone()),
        }
    }

    /// A client for the programs' admin APIs (with their token, if they want one).
    fn admin_client(&self, timeout: StdDuration) -> crate::admin_client::AdminClient {
        let c = crate::admin_client::AdminClient::new(timeout);
        match self {
            Eco::Local(_) => c,
            Eco::Remote(r) => c.with_token(r.admin_token.clone()),
        }
    }

    fn hands(&self) -> crashes::Hands {
        match self {
            Eco::Local(r) => crashes::Hands::Local(r.control()),
            Eco::Remote(r) => crashes::Hands::Remote(r.clone()),
        }
    }

    /// Stops the programs; for programs elsewhere, what each cost (memory, CPU), and the
    /// receiving-side faults their own fault layers made, added to `tally`.
    async fn stop(
        self,
        tally: &Tally,
    ) -> anyhow::Result<BTreeMap<ecosystem::Program, remote::Cost>> {
        match self {
            Eco::Local(r) => {
                r.stop().await?;
                Ok(BTreeMap::new())
            }
            Eco::Remote(r) => {
                tally.merge(&r.stop().await?);
                Ok(r.costs().await)
            }
        }
    }
}

/// The run itself, wherever its programs are: send the arrivals, drain, stop, judge, report.
async fn run_with(setup: Setup, opts: &RunOptions, running: Eco) -> anyhow::Result<RunReport> {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let ctx = setup.traffic_context(&running, ledger.clone())?;

    let duration_s = (setup.end - setup.start).whole_seconds().max(1) as u64;
    let progress = sim_report::Progress::new(duration_s, opts.interactive);
    let wall = Instant::now();
    let mut pace = Pace::new(setup.clock.clone(), setup.speed(), wall);
    let side = traffic::SideTallies::default();
    let arrivals = send_arrivals(
        &setup,
        &running,
        &ctx,
        &mut pace,
        &progress,
        opts.concurrency,
        &side,
    )
    .await?;

    // Drain: until every accepted update has its receipt, or the liveness deadline passes.
    let faults_end = setup.plan.faults_end();
    let deadline = faults_end
        .map_or(setup.end, |f| f.max(setup.end))
        .max(setup.clock.now())
        + setup.liveness();
    let accepted = ledger.lock().expect("ledger lock").accepted;
    // Bounded: the drain may take as long again as the arrivals did (at least 3 minutes).
    let real_cap = Instant::now() + wall.elapsed().max(StdDuration::from_secs(180));
    pace.drain(
        accepted,
        deadline,
        real_cap,
        || async {
            let n = delivered_count(&running, &setup, opts, &ledger).await;
            let s = sf1612::progress(&opts.state_dir, setup.end);
            (n, s.handled, s.settled)
        },
        |t, n| progress.update(&setup.snapshot(&ledger.lock().expect("ledger lock"), t, n)),
    )
    .await;
    progress.finish();
    let run_end = setup.clock.now().max(setup.end);
    let wall_seconds = wall.elapsed().as_secs_f64();
    let mut receipts = running
        .jc()
        .receipt_times()
        .await
        .context("reading receipts")?;
    let sp_db = opts.state_dir.join("sp").join("sp.sqlite");
    for (tid, at) in seats::delivered(&sp_db, &setup.seats)? {
        receipts.push((tid, sim_store::from_unix_millis(at)?));
    }
    let mut probes = Vec::new();
    for seat in &setup.seats {
        let certs = &running.endpoints().certs_dir;
        let (dir, trust) = (&opts.scenario_dir, &opts.trust);
        let (refdata, seed) = (&setup.refdata, setup.scenario.seed);
        probes.extend(seats::probe(seat, dir, trust, certs, &sp_db, refdata, seed).await?);
    }
    // The three programs (and the runner) have done their work: the peak so far is theirs,
    // before the checkers load the journals.
    let ecosystem_peak = report::peak_rss();
    let costs = running.stop(&setup.tally).await?;

    let l = ledger.lock().expect("ledger lock");
    let (mut checks, stats, conformance) = judge(&setup, opts, &l, run_end, probes)?;
    let (latency, traffic) = latency::summarize(&latency::Inputs {
        speed: setup.speed(),
        ledger: &l,
        timeline: &pace.timeline,
        receipts: &receipts,
        start: setup.start,
        bucket_len: setup.bucket_len,
        n_buckets: setup.n_buckets,
        bucket: &*setup.bucket(),
    })?;
    // The scenario's expectations.
    checks.extend(expectations::judge(
        &setup.scenario.expectations,
        &checks,
        &latency,
        &l,
    ));
    let mut totals = Totals::default();
    stats.fill(&mut totals);
    totals.arrivals = arrivals;
    totals.faults_injected = setup.tally.total();
    side.fill(&mut totals);
    Ok(RunReport {
        scenario: ScenarioInfo {
            name: setup.scenario.name.clone(),
            file: opts.file.clone(),
            hash: setup.hash.clone(),
            seed: setup.scenario.seed,
            git_commit: opts.git_commit.clone(),
            speed: setup.speed().to_string(),
            virtual_start: setup.start,
            virtual_end: run_end,
        },
        wall_seconds,
        totals,
        latency,
        traffic,
        faults: report::fault_events(&setup.tally, &setup.crashes),
        checks,
        programs: programs(&stats, ecosystem_peak, &costs),
        conformance,
    })
}

/// Per-program figures: for programs in other processes each one's peak memory and CPU;
/// in one process, the process's memory until drained and for the whole run.
fn programs(
    stats: &sim_check::Stats,
    ecosystem_peak: Option<u64>,
    costs: &BTreeMap<ecosystem::Program, remote::Cost>,
) -> Vec<ProgramStats> {
    let mut programs = stats.programs();
    if !costs.is_empty() {
        for (p, c) in costs {
            programs.push(ProgramStats {
                name: format!("{} (its own process, every incarnation)", p.name()),
                peak_rss_bytes: Some(c.peak_rss),
                messages_journaled: 0,
                cpu_seconds: Some(c.cpu_done + c.cpu_now),
            });
        }
        programs.push(ProgramStats {
            name: "sim run (the runner), whole run incl. judging the journals".into(),
            peak_rss_bytes: report::peak_rss(),
            messages_journaled: 0,
            cpu_seconds: report::cpu_seconds(),
        });
        return programs;
    }
    // The programs share one process (one clock, one fault plan), so their memory is
    // measured together: until the traffic has drained, and for the whole run.
    programs.push(ProgramStats {
        name: "sim-sp + sim-ksd + sim-jobcenter + runner, until drained (one process)".into(),
        peak_rss_bytes: ecosystem_peak,
        messages_journaled: 0,
        cpu_seconds: None,
    });
    programs.push(ProgramStats {
        name: "sim run, whole run incl. judging the journals".into(),
        peak_rss_bytes: report::peak_rss(),
        messages_journaled: 0,
        cpu_seconds: None,
    });
    programs
}
