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
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

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
mod report;
mod traffic;

use crate::refdata::RefData;
use crashes::drive_crashes;

pub use hook::PlanHook;
use hook::Tally;
use pacing::Stall;
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
}

/// How long a call may take in scenario runs: short, so injected timeouts cost little.
pub(crate) const CALL_TIMEOUT: StdDuration = StdDuration::from_millis(2_000);
/// Default liveness deadline when the scenario gives none (virtual).
const DEFAULT_LIVENESS: time::Duration = time::Duration::minutes(10);

/// How often a message is resent while answers are transient: with backoff capped at 10 s
/// (virtual) this outlasts the longest SP-9 window a short scenario plans.
pub(crate) const RESEND_ATTEMPTS: u32 = 150;

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
    let ecosystem_peak = report::peak_rss();
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

    let (latency, traffic) = latency::summarize(&latency::Inputs {
        speed: scenario.clock.speed,
        ledger: &l,
        timeline: &timeline,
        receipts: &receipts,
        start,
        bucket_len,
        n_buckets,
        bucket: &*bucket,
    })?;
    // The scenario's expectations.
    let exp = expectations::judge(&scenario.expectations, &checks, &latency, &l);
    checks.extend(exp);

    let mut totals = Totals::default();
    stats.fill(&mut totals);
    totals.arrivals = arrivals;
    totals.faults_injected = tally.total();
    let faults = report::fault_events(&tally, &crashes);
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
        peak_rss_bytes: report::peak_rss(),
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
