//! `sim run`: a scenario file turned into traffic, faults and a verdict.
//!
//! One clock drives all three programs (compressed by the scenario's factor, or a manual clock
//! the runner moves from arrival to arrival at speed `max`); one seed drives every stream:
//! arrivals and their data come from `sim-scenario` keyed by the arrival's sequence number, so
//! the same seed gives the same messages whatever the order of sending. Faults on the sending
//! side (duplicates, forbidden codes, CVR mismatches, malformed XML) are made here; faults on
//! the receiving side (slow or timed-out answers, SOAP faults, FEJL, connection resets, the
//! platform's service windows, duplicate deliveries) are decided by [`PlanHook`] inside each
//! program's fault layer. After the traffic the backlog drains, the programs stop, and the
//! checkers of `sim-check` judge their journals; the scenario's expectations become checks too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use sim_jobcenter::{UpdateSpec, UpdateStatus};
use sim_kit::faults::{FaultAction, FaultHook, Faults, RequestInfo};
use sim_report::{
    CheckKind, CheckResult, FaultEvent, LatencySummary, ProgramStats, RunReport, ScenarioInfo,
    Snapshot, Totals, TrafficPoint,
};
use sim_scenario::{Arrival, Arrivals, FaultKind, FaultPlan, Scenario, Speed, Target, UpdateData};
use sim_store::Clock;
use sim_wire::{Cvr, Operation, Payload, Rule};
use time::OffsetDateTime;

use crate::ecosystem::{self, Control, Crashed, EcosystemConfig, JobcenterSlot, Ports, Program};
use crate::refdata::RefData;

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
}

/// How long a call may take in scenario runs: short, so injected timeouts cost little.
const CALL_TIMEOUT: StdDuration = StdDuration::from_millis(2_000);
/// Default liveness deadline when the scenario gives none (virtual).
const DEFAULT_LIVENESS: time::Duration = time::Duration::minutes(10);

/// First and last time a fault hit, and how often.
type Hits = (OffsetDateTime, OffsetDateTime, u64);

/// Counts of what the fault layer did, per (kind, target).
#[derive(Default)]
struct Tally {
    by: Mutex<BTreeMap<(String, String), Hits>>,
}

impl Tally {
    fn hit(&self, kind: FaultKind, target: &str, at: OffsetDateTime) {
        let mut by = self.by.lock().expect("tally lock");
        let e = by
            .entry((kind.as_str().to_string(), target.to_string()))
            .or_insert((at, at, 0));
        e.0 = e.0.min(at);
        e.1 = e.1.max(at);
        e.2 += 1;
    }

    fn total(&self) -> u64 {
        self.by
            .lock()
            .expect("tally lock")
            .values()
            .map(|v| v.2)
            .sum()
    }
}

/// A stable 64-bit key of a text (FNV-1a), for per-message random streams.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The receiving-side faults of a scenario, decided inside the programs' fault layers, and
/// KSD's per-update receipt delay.
pub struct PlanHook {
    seed: u64,
    receipt_delay: sim_scenario::Distribution,
    plan: Arc<FaultPlan>,
    clock: Clock,
    factor: f64,
    seq: AtomicU64,
    tally: Arc<Tally>,
}

impl PlanHook {
    fn real(&self, virtual_delay: time::Duration) -> StdDuration {
        let secs = virtual_delay.as_seconds_f64().max(0.0);
        let real = if self.factor.is_finite() {
            secs / self.factor
        } else {
            secs.min(0.2)
        };
        StdDuration::from_secs_f64(real.min(30.0))
    }
}

fn target_of(program: &str) -> Target {
    match program {
        "sp" => Target::Sp,
        "ksd" => Target::Ksd,
        v => Target::Vendor(v.to_string()),
    }
}

impl FaultHook for PlanHook {
    fn on_request(&self, r: &RequestInfo<'_>) -> FaultAction {
        let now = self.clock.now();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let target = target_of(r.program);
        let hit = |kind: FaultKind| self.plan.decide(kind, &target, now, seq);
        if target == Target::Sp && hit(FaultKind::ServiceWindow).is_some() {
            self.tally.hit(FaultKind::ServiceWindow, r.program, now);
            return FaultAction::SoapFault {
                rule: Rule::Sp9,
                text: "The platform is in a service window; try again later.".into(),
            };
        }
        if hit(FaultKind::ConnectionReset).is_some() {
            self.tally.hit(FaultKind::ConnectionReset, r.program, now);
            return FaultAction::Reset;
        }
        if hit(FaultKind::SoapFault).is_some() {
            self.tally.hit(FaultKind::SoapFault, r.program, now);
            return FaultAction::SoapFault {
                rule: Rule::Sp4,
                text: format!("injected fault at {}", r.program),
            };
        }
        // FEJL is injected only at KSD: a vendor's FEJL would end the receipt's delivery (FEJL
        // means "fix and resend"), which is a refusal, not a transient fault.
        if target == Target::Ksd && hit(FaultKind::FejlReceipt).is_some() {
            self.tally.hit(FaultKind::FejlReceipt, r.program, now);
            return FaultAction::Fejl {
                rule: Rule::Ksd1,
                text: "injected FEJL".into(),
            };
        }
        if hit(FaultKind::Timeout).is_some() {
            self.tally.hit(FaultKind::Timeout, r.program, now);
            return FaultAction::Delay(CALL_TIMEOUT + StdDuration::from_millis(300));
        }
        let slow = match target {
            Target::Sp => FaultKind::SlowPlatform,
            Target::Ksd => FaultKind::SlowKsd,
            _ => FaultKind::SlowVendor,
        };
        if let Some(rule) = hit(slow) {
            self.tally.hit(slow, r.program, now);
            let d = self.plan.delay(rule, seq).unwrap_or(time::Duration::ZERO);
            return FaultAction::Delay(self.real(d));
        }
        FaultAction::Pass
    }

    fn now(&self) -> Option<OffsetDateTime> {
        Some(self.clock.now())
    }

    fn receipt_delay(&self, key: &str) -> Option<StdDuration> {
        // Drawn per update from the scenario's distribution, keyed by its
        // TransaktionIdentifikator: the same seed gives the same delays in any order.
        let mut rng = sim_scenario::Rng::keyed(self.seed, "ksd/receipt_delay", fnv1a(key));
        let d = self.receipt_delay.sample(&mut rng);
        Some(d.unsigned_abs())
    }

    fn duplicate_delivery(&self, program: &str, key: &str) -> bool {
        let now = self.clock.now();
        let seq = fnv1a(key);
        let dup = program == "sp"
            && self
                .plan
                .decide(FaultKind::DuplicateReceipt, &Target::Sp, now, seq)
                .is_some();
        if dup {
            self.tally.hit(FaultKind::DuplicateReceipt, program, now);
        }
        dup
    }
}

/// What the runner keeps about each update it sent.
#[derive(Default)]
struct Ledger {
    /// TransaktionIdentifikator → intended send time (virtual).
    intended: BTreeMap<String, OffsetDateTime>,
    /// TransaktionIdentifikator → when it was dispatched (real time; speed `max`).
    dispatched: BTreeMap<String, Instant>,
    /// Deliberately broken messages: (TransaktionIdentifikator, kind).
    injected: Vec<(String, String)>,
    sent: u64,
    accepted: u64,
    /// Per traffic bucket: (sent, accepted).
    buckets: BTreeMap<usize, (u64, u64)>,
    errors: Vec<String>,
}

fn update_spec(d: &UpdateData, a: &Arrival) -> UpdateSpec {
    UpdateSpec {
        instance: Some(a.instance.clone()),
        municipality: Some(a.municipality.to_string()),
        cpr: Some(d.cpr.to_string()),
        arbejdsgiver: Some(d.arbejdsgiver.to_string()),
        produktionsenhed: d.produktionsenhed.map(|p| p.to_string()),
        ophoers_aarsag: Some(d.ophoers_aarsag.code()),
        foerste_fravaersdag: Some(d.foerste_fravaersdag.to_string()),
        ophoers_start_dato: Some(d.ophoers_start_dato.to_string()),
        ophoers_slut_dato: d.ophoers_slut_dato.map(|x| x.to_string()),
        jobcenter_sag_id: Some(d.jobcenter_sag_id.clone()),
        transaktion_id: Some(d.transaktion_id.to_string()),
        ..UpdateSpec::default()
    }
}

/// The raw SF2095 request of an update, for faults the simulated vendors would never send
/// themselves (another vendor's certificate, truncated XML).
fn raw_request(d: &UpdateData, m: Cvr, now: OffsetDateTime) -> String {
    let mut r = sim_wire::examples::request(Operation::SendOpdateringFravaer);
    r.call_context = None;
    r.authority_context = Some(sim_wire::AuthorityContext {
        municipality_cvr: m,
    });
    if let Payload::OpdateringFravaer(p) = &mut r.payload {
        let h = &mut p.header;
        h.transaktion_identifikator = d.transaktion_id;
        h.besked_forsendelses_dato_tid = sim_wire::DatoTid(now);
        h.registrering_fra_dato_tid = sim_wire::DatoTid(now);
        h.forretning_haendelse_dato_tid = sim_wire::DatoTid(now);
        h.myndighed = m;
        h.sygemeldte_part = d.cpr;
        h.arbejdsgiver_part = d.arbejdsgiver;
        h.arbejdsgiver_produktionsenhed = d.produktionsenhed;
        h.nem_refusion_identifier = d.nem_refusion_id;
        h.sag_identifikator = None;
        h.jobcenter_sag_id = Some(d.jobcenter_sag_id.clone());
        h.foerste_fravaersdag = d.foerste_fravaersdag;
        p.ophoers_aarsag = d.ophoers_aarsag;
        p.ophoers_start_dato = d.ophoers_start_dato;
        p.ophoers_slut_dato = d.ophoers_slut_dato;
    }
    sim_wire::write(&sim_wire::Message::Request(r))
}

fn soap_client(certs: &Path, stem: &str) -> anyhow::Result<sim_kit::soap::SoapClient> {
    let files = sim_certs::store::layout::system(certs, stem);
    let id = sim_kit::config::IdentityFiles {
        cert: files.chain,
        key: files.key,
    };
    Ok(sim_kit::soap::SoapClient::new(sim_kit::config::client(
        &id,
        &[sim_certs::store::layout::root_ca(certs)],
        CALL_TIMEOUT,
    )?))
}

/// Everything one arrival's task needs.
#[derive(Clone)]
struct Ctx {
    /// The jobcenter as it is now: it may crash and restart during the run.
    jc: JobcenterSlot,
    plan: Arc<FaultPlan>,
    clients: Arc<BTreeMap<String, sim_kit::soap::SoapClient>>,
    sp_url: String,
    seed: u64,
    ledger: Arc<Mutex<Ledger>>,
    tally: Arc<Tally>,
    clock: Clock,
    others: Arc<Vec<(Cvr, String)>>,
    bucket: Arc<dyn Fn(OffsetDateTime) -> usize + Send + Sync>,
}

async fn one_arrival(ctx: Ctx, a: Arrival) {
    let data = UpdateData::generate(ctx.seed, &a);
    let tid = data.transaktion_id.to_string();
    let vendor = Target::Vendor(a.instance.clone());
    let now = ctx.clock.now();
    let decide = |k: FaultKind| ctx.plan.decide(k, &vendor, a.intended_at, a.seq);
    let mut spec = update_spec(&data, &a);
    let mut injected = None;
    let mut raw: Option<(String, String)> = None; // (certificate stem, body)
    if let Some(rule) = decide(FaultKind::ForbiddenCode) {
        spec.ophoers_aarsag = ctx
            .plan
            .forbidden_code(rule, a.seq)
            .map(|c| c.code())
            .or(Some(60));
        injected = Some(FaultKind::ForbiddenCode);
    } else if decide(FaultKind::CvrMismatchHeader).is_some() {
        let other = ctx
            .others
            .iter()
            .map(|(c, _)| *c)
            .find(|c| *c != a.municipality)
            .unwrap_or(a.municipality);
        spec.myndighed = Some(other.to_string());
        injected = Some(FaultKind::CvrMismatchHeader);
    } else if decide(FaultKind::CvrMismatchAgreement).is_some() {
        let stranger = ctx
            .others
            .iter()
            .find(|(_, i)| *i != a.instance)
            .map(|(_, i)| i.clone());
        if let Some(stranger) = stranger {
            raw = Some((stranger, raw_request(&data, a.municipality, now)));
            injected = Some(FaultKind::CvrMismatchAgreement);
        }
    } else if decide(FaultKind::MalformedXml).is_some() {
        let body = raw_request(&data, a.municipality, now);
        let cut = body.len() * 2 / 3;
        raw = Some((a.instance.clone(), body[..cut].to_string()));
        injected = Some(FaultKind::MalformedXml);
    }
    let b = (ctx.bucket)(a.intended_at);
    {
        let mut l = ctx.ledger.lock().expect("ledger lock");
        l.sent += 1;
        l.buckets.entry(b).or_default().0 += 1;
        l.intended.insert(tid.clone(), a.intended_at);
        l.dispatched.insert(tid.clone(), Instant::now());
        if let Some(k) = injected {
            l.injected.push((tid.clone(), k.as_str().to_string()));
        }
    }
    if let Some(k) = injected {
        ctx.tally.hit(k, &a.instance, now);
    }
    let accepted = match raw {
        Some((stem, body)) => match ctx.clients.get(&stem) {
            Some(c) => send_raw(c, &ctx, body).await,
            None => false,
        },
        None => match send_via_vendor(&ctx.jc, spec, &tid).await {
            Ok(accepted) => accepted,
            Err(e) => {
                ctx.ledger
                    .lock()
                    .expect("ledger lock")
                    .errors
                    .push(format!("{tid}: {e}"));
                false
            }
        },
    };
    if accepted {
        let mut l = ctx.ledger.lock().expect("ledger lock");
        l.accepted += 1;
        l.buckets.entry(b).or_default().1 += 1;
    }
    if accepted && decide(FaultKind::DuplicateUpdate).is_some() {
        ctx.tally
            .hit(FaultKind::DuplicateUpdate, &a.instance, ctx.clock.now());
        let t = tid.clone();
        let _ = ctx
            .jc
            .run(move |jc| async move { jc.resend(&t).await })
            .await;
    }
}

/// Hands an update to its vendor's system and follows it to its TransportKvittering, also
/// across a crash of the jobcenter: if the crashed program had persisted the update, the
/// restarted one resends it by itself (JC-1) and the runner only watches; if it had not, the
/// case worker enters it again. Returns whether it was accepted (OK or ADVARSEL).
async fn send_via_vendor(jc: &JobcenterSlot, spec: UpdateSpec, tid: &str) -> Result<bool, String> {
    /// A follower gives up after this long (real time): the vendor's own attempts (JC-1) end
    /// long before.
    const FOLLOW_LIMIT: StdDuration = StdDuration::from_secs(600);
    let started = Instant::now();
    let mut submit = true;
    loop {
        if jc.is_gone() {
            return Err("sim-jobcenter is gone (a restart failed)".into());
        }
        if submit {
            let s = spec.clone();
            match jc
                .run(move |jc| async move { jc.send_update(s).await })
                .await
            {
                Ok(Ok(out)) => return Ok(out.status == UpdateStatus::Accepted),
                Ok(Err(e)) => return Err(e.to_string()),
                Err(Crashed) => submit = false,
            }
        }
        if started.elapsed() > FOLLOW_LIMIT {
            return Err("no outcome after the jobcenter crashed holding it".into());
        }
        let t = tid.to_string();
        match jc.run(move |jc| async move { jc.update(&t).await }).await {
            Ok(Ok(None)) => submit = true,
            Ok(Ok(Some(u))) => match u.status {
                UpdateStatus::Accepted => return Ok(true),
                UpdateStatus::Rejected | UpdateStatus::Undelivered => return Ok(false),
                UpdateStatus::Sent => tokio::time::sleep(StdDuration::from_millis(20)).await,
            },
            Ok(Err(e)) => return Err(e.to_string()),
            Err(Crashed) => {}
        }
    }
}

/// The program a `crash` fault names.
fn program_of(t: &Target) -> Option<Program> {
    match t {
        Target::Sp => Some(Program::Sp),
        Target::Ksd => Some(Program::Ksd),
        Target::Jobcenter => Some(Program::Jobcenter),
        Target::Vendor(_) => None,
    }
}

/// Kills and restarts programs as the scenario's `crash` faults say, in virtual time.
async fn drive_crashes(
    control: Control,
    clock: Clock,
    crashes: Vec<sim_scenario::Crash>,
    tally: Arc<Tally>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut events: Vec<(OffsetDateTime, bool, Program, String)> = Vec::new();
    for c in &crashes {
        if let Some(p) = program_of(&c.target) {
            events.push((c.at, true, p, c.target.name().to_string()));
            events.push((c.restart_at(), false, p, c.target.name().to_string()));
        }
    }
    // By time; at the same instant a restart before a crash.
    events.sort_by_key(|(at, down, p, _)| (*at, *down, *p));
    for (at, down, p, target) in events {
        clock.sleep_until(at).await;
        if down {
            control.crash(p).await;
            tally.hit(FaultKind::Crash, &target, clock.now());
        } else if let Err(e) = control.restart(p).await {
            ledger
                .lock()
                .expect("ledger lock")
                .errors
                .push(format!("restarting {}: {e:#}", p.name()));
        }
    }
}

/// Sends a message the simulated vendors would never send themselves, resending it like a
/// vendor would (JC-1) while the answer is transient (no answer, SP-4, SP-9), so that the
/// platform or KSD gets to judge it. Returns whether it was accepted.
async fn send_raw(c: &sim_kit::soap::SoapClient, ctx: &Ctx, body: String) -> bool {
    let op = Operation::SendOpdateringFravaer;
    for attempt in 0..RESEND_ATTEMPTS {
        if attempt > 0 {
            ctx.clock.sleep(StdDuration::from_secs(10)).await;
        }
        let Ok(reply) = c.call(&ctx.sp_url, &op.soap_action(), body.clone()).await else {
            continue;
        };
        if let Some(k) = reply.transport_kvittering() {
            return k.kode != sim_wire::TransportValideringsKode::Fejl;
        }
        match reply.fault().and_then(|f| f.rule()) {
            Some(Rule::Sp4 | Rule::Sp9) | None => continue,
            Some(_) => return false,
        }
    }
    false
}

/// How far the runner moves a manual clock towards the next arrival while every sender is
/// busy and nothing can happen before that arrival but sleepers waking: 1 s first, doubling
/// while the stall lasts, at most 30 s, never past the arrival. Every sender backing off
/// through an eight-hour service window (SP-9) at 1 s per 5 ms took two and a half minutes of
/// a month run; doubling crosses it in a few seconds. A sleeper wakes at most 30 virtual
/// seconds late, which at speed `max` (virtual time jumps from arrival to arrival) changes
/// nothing that is judged; past the arrival's time the runner goes back to 1 s steps, so the
/// virtual time line never races ahead of the traffic.
#[derive(Default)]
struct Stall {
    steps: u32,
}

impl Stall {
    fn next_step(&mut self) -> StdDuration {
        let secs = 1u64 << self.steps.min(5);
        self.steps = self.steps.saturating_add(1);
        StdDuration::from_secs(secs.min(30))
    }
}

/// How often a message is resent while answers are transient: with backoff capped at 10 s
/// (virtual) this outlasts the longest SP-9 window a short scenario plans.
const RESEND_ATTEMPTS: u32 = 150;

fn ms(d: time::Duration) -> f64 {
    d.as_seconds_f64() * 1000.0
}

fn check(
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

/// Runs a scenario (its text) and returns the report.
pub async fn run_scenario(text: &str, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let scenario: Scenario = sim_scenario::parse(text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", opts.file))?
        .with_overrides(opts.seed, opts.speed);
    let hash = sim_scenario::hash(&format!(
        "{text}\n#seed={} speed={}",
        scenario.seed, scenario.clock.speed
    ));
    let refdata = RefData::embedded()?;
    let routing: Vec<(Cvr, String)> = refdata
        .routing
        .iter()
        .map(|(c, i)| (*c, i.clone()))
        .collect();
    let assignments = scenario.assignments(&routing);
    anyhow::ensure!(
        !assignments.is_empty(),
        "the scenario selects no municipality served by a selected vendor"
    );
    let start = scenario.clock.start;
    let end = scenario.clock.end();
    let (clock, factor) = match scenario.clock.speed {
        Speed::Factor(f) => (Clock::compressed(start, f), f),
        Speed::Max => (Clock::manual(start), f64::INFINITY),
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

    let _ = std::fs::remove_dir_all(&opts.state_dir);
    let mut cfg = EcosystemConfig::new(&opts.state_dir, refdata.clone());
    cfg.ports = Ports::ephemeral();
    cfg.seed = scenario.seed;
    cfg.clock = clock.clone();
    cfg.faults = Faults::with(hook);
    // The mean is KSD's fallback; the hook draws each receipt's delay from the distribution.
    cfg.receipt_delay_ms = scenario.receipt_delay.mean().whole_milliseconds().max(0) as u64;
    cfg.max_send_attempts = RESEND_ATTEMPTS;
    cfg.call_timeout_ms = CALL_TIMEOUT.as_millis() as u64;
    let running = ecosystem::start(cfg).await?;
    let certs = running.endpoints.certs_dir.clone();
    let mut clients = BTreeMap::new();
    for v in &refdata.vendors {
        clients.insert(v.instance.clone(), soap_client(&certs, &v.instance)?);
    }

    let duration_s = (end - start).whole_seconds().max(1) as u64;
    let progress = sim_report::Progress::new(duration_s, opts.interactive);
    let n_buckets = 60usize;
    let bucket_len = ((end - start) / n_buckets as i32).max(time::Duration::SECOND);
    let bucket = Arc::new(move |t: OffsetDateTime| {
        (((t - start).as_seconds_f64() / bucket_len.as_seconds_f64())
            .floor()
            .max(0.0) as usize)
            .min(n_buckets - 1)
    });
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let ctx = Ctx {
        jc: running.jobcenter_slot(),
        plan: plan.clone(),
        clients: Arc::new(clients),
        sp_url: running.endpoints.sp_ksd_exposure.clone(),
        seed: scenario.seed,
        ledger: ledger.clone(),
        tally: tally.clone(),
        clock: clock.clone(),
        others: Arc::new(assignments.clone()),
        bucket: bucket.clone(),
    };

    let wall = Instant::now();
    // Speed `max`: (virtual time reached, real instant) at every advance of the manual clock,
    // to map a receipt's virtual timestamp back to real time.
    let mut timeline: Vec<(OffsetDateTime, Instant)> = vec![(clock.now(), wall)];
    let permits = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    if !crashes.is_empty() {
        tasks.spawn(drive_crashes(
            running.control(),
            clock.clone(),
            crashes.clone(),
            tally.clone(),
            ledger.clone(),
        ));
    }
    let mut arrivals = 0u64;
    let (mut receipts_seen, mut last_count) = (0u64, Instant::now());
    let snapshot = |l: &Ledger, t: OffsetDateTime, receipts: u64| Snapshot {
        virtual_seconds: (t - start).whole_seconds().max(0) as u64,
        sent: l.sent,
        accepted: l.accepted,
        receipts,
        faults: tally.total(),
    };
    for a in Arrivals::new(&scenario, &assignments) {
        arrivals += 1;
        let permit = match scenario.clock.speed {
            Speed::Factor(_) => {
                clock.sleep_until(a.intended_at).await;
                permits.clone().acquire_owned().await?
            }
            Speed::Max => {
                // Every permit may be held by a sender sleeping on the virtual clock (a resend
                // backing off through a service window); only moving time frees them.
                let mut stall = Stall::default();
                let p = loop {
                    match tokio::time::timeout(
                        StdDuration::from_millis(5),
                        permits.clone().acquire_owned(),
                    )
                    .await
                    {
                        Ok(p) => break p?,
                        Err(_) => {
                            // Up to the next arrival, faster and faster (nothing can happen
                            // before it but sleepers waking); past it, a second at a time.
                            let ahead = (a.intended_at - clock.now()).unsigned_abs();
                            let step = if a.intended_at > clock.now() {
                                stall.next_step().min(ahead).max(StdDuration::from_secs(1))
                            } else {
                                StdDuration::from_secs(1)
                            };
                            clock.advance(step);
                            timeline.push((clock.now(), Instant::now()));
                            tracing::debug!(virtual_now = %clock.now(), "all senders busy: moved the clock");
                        }
                    }
                };
                let now = clock.now();
                if a.intended_at > now {
                    clock.advance((a.intended_at - now).unsigned_abs());
                    timeline.push((clock.now(), Instant::now()));
                }
                p
            }
        };
        let c = ctx.clone();
        tasks.spawn(async move {
            one_arrival(c, a).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
        if arrivals % 256 == 0 {
            // Receipts so far: a COUNT at the jobcenter, so at most once per real second.
            if last_count.elapsed() >= StdDuration::from_secs(1) {
                if let Some(jc) = running.jobcenter_slot().current() {
                    receipts_seen = jc.receipt_count().await.unwrap_or(receipts_seen);
                }
                last_count = Instant::now();
            }
            let l = ledger.lock().expect("ledger lock");
            progress.update(&snapshot(&l, clock.now(), receipts_seen));
        }
    }
    // The last senders may be backing off on the virtual clock: at `max`, keep it moving, a
    // second at a time (the liveness deadline runs on this clock).
    loop {
        match tokio::time::timeout(StdDuration::from_millis(5), tasks.join_next()).await {
            Ok(None) => break,
            Ok(Some(_)) => {}
            Err(_) => {
                if scenario.clock.speed == Speed::Max {
                    clock.advance(StdDuration::from_secs(1));
                    timeline.push((clock.now(), Instant::now()));
                }
            }
        }
    }

    // Drain: until every accepted update has its receipt, or the liveness deadline passes.
    let liveness = scenario
        .expectations
        .liveness_deadline
        .unwrap_or(DEFAULT_LIVENESS);
    let faults_end = plan.faults_end();
    let deadline = faults_end.map_or(end, |f| f.max(end)).max(clock.now()) + liveness;
    let accepted = ledger.lock().expect("ledger lock").accepted;
    // Bounded: the drain may take as long again as the arrivals did (at least 3 minutes).
    let real_cap = Instant::now() + wall.elapsed().max(StdDuration::from_secs(180));
    loop {
        let receipts = match running.jobcenter_slot().current() {
            Some(jc) => jc.receipt_count().await.unwrap_or(0),
            None => 0,
        };
        progress.update(&snapshot(
            &ledger.lock().expect("ledger lock"),
            clock.now(),
            receipts,
        ));
        if receipts >= accepted || clock.now() >= deadline || Instant::now() >= real_cap {
            break;
        }
        match scenario.clock.speed {
            Speed::Max => {
                clock.advance(StdDuration::from_millis(500));
                timeline.push((clock.now(), Instant::now()));
                tokio::time::sleep(StdDuration::from_millis(5)).await;
            }
            Speed::Factor(_) => tokio::time::sleep(StdDuration::from_millis(50)).await,
        }
    }
    progress.finish();
    let run_end = clock.now().max(end);
    let wall_seconds = wall.elapsed().as_secs_f64();
    let receipts = running
        .jobcenter_slot()
        .current()
        .context("the jobcenter is down at the end of the run")?
        .receipt_times()
        .await
        .context("reading receipts")?;
    // The three programs (and the runner) have done their work: the peak so far is theirs,
    // before the checkers load the journals.
    let ecosystem_peak = peak_rss();
    running.stop().await?;

    // Judge the journals.
    let l = ledger.lock().expect("ledger lock");
    let mut input = sim_check::CheckInput::for_state_dir(&opts.state_dir, run_end);
    input.routing = refdata
        .routing
        .iter()
        .map(|(c, i)| (c.to_string(), i.clone()))
        .collect();
    input.injected = l.injected.clone();
    input.faults_end = faults_end;
    // At speed `max` virtual time jumps from arrival to arrival, so "late" means nothing:
    // liveness then judges loss only (every receipt within the run).
    input.liveness_deadline = match scenario.clock.speed {
        Speed::Max => liveness
            .unsigned_abs()
            .max((run_end - start).unsigned_abs()),
        Speed::Factor(_) => liveness.unsigned_abs(),
    };
    input.service_windows = plan.windows(FaultKind::ServiceWindow);
    let (mut checks, stats) =
        sim_check::check_all_with_stats(&input).context("judging the journals")?;
    if scenario.clock.speed != Speed::Factor(1.0) {
        for c in checks.iter_mut().filter(|c| c.kind == CheckKind::Sla) {
            c.passed = true;
            c.summary = format!("not judged at speed {}: response times in compressed virtual time are not real ones (SP-8 is judged at speed 1). Measured: {}", scenario.clock.speed, c.summary);
        }
    }

    // Latency in real milliseconds: at a factor, from the intended send time (the virtual
    // difference divided by the factor: no coordinated omission); at `max`, from dispatch to
    // the first clock advance after the receipt was stored (an upper bound, off by at most one
    // advance, i.e. milliseconds).
    let drained = Instant::now();
    let real_ms = |tid: &str, received: OffsetDateTime| -> Option<f64> {
        match scenario.clock.speed {
            Speed::Factor(f) => l.intended.get(tid).map(|t0| ms(received - *t0) / f),
            Speed::Max => {
                let sent = l.dispatched.get(tid)?;
                let i = timeline.partition_point(|(v, _)| *v <= received);
                let at = timeline.get(i).map_or(drained, |(_, w)| *w);
                Some(at.saturating_duration_since(*sent).as_secs_f64() * 1000.0)
            }
        }
    };
    let mut h = Histogram::<u64>::new(3)?;
    let mut traffic: Vec<TrafficPoint> = (0..n_buckets)
        .map(|i| TrafficPoint {
            at: start + bucket_len * i as i32,
            sent: 0,
            accepted: 0,
            receipts: 0,
            faults: 0,
        })
        .collect();
    for (tid, received_at) in &receipts {
        if let Some(x) = real_ms(tid, *received_at) {
            h.record(x.max(0.0).round() as u64)?;
            traffic[bucket(*received_at)].receipts += 1;
        }
    }
    for (b, (s, a)) in &l.buckets {
        traffic[*b].sent = *s;
        traffic[*b].accepted = *a;
    }
    let quantile = |q: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64
        }
    };
    let latency = LatencySummary {
        count: h.len(),
        p50_ms: quantile(0.5),
        p90_ms: quantile(0.9),
        p99_ms: quantile(0.99),
        max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 },
        buckets: if h.is_empty() {
            vec![]
        } else {
            h.iter_log(1, 2.0)
                .map(|v| (v.value_iterated_to() as f64, v.count_since_last_iteration()))
                .collect()
        },
    };

    // The scenario's expectations.
    let e = &scenario.expectations;
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
        });
    }
    checks.extend(exp);

    let mut totals = Totals::default();
    stats.fill(&mut totals);
    totals.arrivals = arrivals;
    totals.faults_injected = tally.total();
    let tallied = tally.by.lock().expect("tally lock").clone();
    // Crashes are reported as planned below, with their downtimes.
    let mut faults: Vec<FaultEvent> = tallied
        .iter()
        .filter(|((kind, _), _)| kind != FaultKind::Crash.as_str())
        .map(|((kind, target), (first, last, n))| FaultEvent {
            kind: kind.clone(),
            target: Some(target.clone()),
            start: *first,
            end: Some(*last),
            count: *n,
            note: String::new(),
        })
        .collect();
    // Each crash as planned, with its downtime; the count says whether it was done.
    for c in &crashes {
        let key = (
            FaultKind::Crash.as_str().to_string(),
            c.target.name().to_string(),
        );
        let n = tallied.get(&key).map_or(0, |hits| hits.2);
        faults.push(FaultEvent {
            kind: "crash".into(),
            target: Some(c.target.name().to_string()),
            start: c.at,
            end: Some(c.restart_at()),
            count: n,
            note: if n > 0 {
                format!(
                    "killed (its runtime dropped at once), restarted after {}",
                    c.downtime
                )
            } else {
                "planned, not done: the run ended first".into()
            },
        });
    }
    let mut programs = stats.programs();
    // The programs share one process (one clock, one fault plan), so their memory is
    // measured together: until the traffic has drained, and for the whole run.
    programs.push(ProgramStats {
        name: "sim-sp + sim-ksd + sim-jobcenter + runner, until drained (one process)".into(),
        peak_rss_bytes: ecosystem_peak,
        messages_journaled: 0,
    });
    programs.push(ProgramStats {
        name: "sim run, whole run incl. judging the journals".into(),
        peak_rss_bytes: peak_rss(),
        messages_journaled: 0,
    });
    Ok(RunReport {
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: opts.file.clone(),
            hash,
            seed: scenario.seed,
            git_commit: opts.git_commit.clone(),
            speed: scenario.clock.speed.to_string(),
            virtual_start: start,
            virtual_end: run_end,
        },
        wall_seconds,
        totals,
        latency,
        traffic,
        faults,
        checks,
        programs,
    })
}

/// This process's peak resident memory (Linux `VmHWM`), when it can be read.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_moves_the_clock_in_doubling_steps_up_to_thirty_seconds() {
        let mut s = Stall::default();
        let steps: Vec<u64> = (0..8).map(|_| s.next_step().as_secs()).collect();
        assert_eq!(steps, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn receipt_delays_are_drawn_per_update_and_reproducible_ksd2() {
        let hook = |seed| {
            PlanHook {
            seed,
            receipt_delay: sim_scenario::Distribution::Uniform {
                min: time::Duration::milliseconds(100),
                max: time::Duration::seconds(10),
            },
            plan: Arc::new(FaultPlan::new(
                &sim_scenario::parse(
                    "name: t\nseed: 1\nclock: { start: 2026-03-03T09:00:00+01:00, duration: 1m, speed: max }\nvolume: { total: 1 }\n",
                )
                .unwrap(),
            )),
            clock: Clock::manual(time::macros::datetime!(2026-03-03 08:00 UTC)),
            factor: f64::INFINITY,
            seq: AtomicU64::new(0),
            tally: Arc::new(Tally::default()),
        }
        };
        let (a, b) = (hook(7), hook(7));
        let d = |h: &PlanHook, k: &str| h.receipt_delay(k).unwrap();
        assert_eq!(d(&a, "x"), d(&b, "x"), "same seed, same delay");
        let many: std::collections::BTreeSet<_> =
            (0..50).map(|i| d(&a, &format!("tid-{i}"))).collect();
        assert!(many.len() > 40, "drawn per update, not one fixed delay");
        assert!(many
            .iter()
            .all(|x| *x >= StdDuration::from_millis(100) && *x <= StdDuration::from_secs(10)));
    }
}
