//! `sim serve <program>`: one program of the ecosystem in this process — the unit a
//! container, a supervisor or `sim run --processes` starts — with a small control API beside
//! it through which a scenario run in another process tells it what to be.
//!
//! The program is wired exactly as `sim up` wires it (the same pure derivation from the
//! certificate layout, the documented fixed ports and the reference data), so four `sim
//! serve` processes given the same ports and host names find each other. Without a run it
//! behaves as its part of `sim up` (real time, no faults). `PUT /run` hands it a scenario,
//! its overrides and the clock's epoch: it restarts on fresh state with the configuration,
//! the shared clock (virtual = start + (wall − epoch) × factor) and the receiving-side fault
//! plan every other process derives from the same inputs. The run is kept beside its state,
//! so a process killed mid-run (`kill -9`, `docker kill`) and started again resumes the same
//! run on the same clock with what it had committed. `DELETE /run` stops the program, so its
//! files hold still while a runner judges them.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use sim::ecosystem::{self, EcosystemConfig, Program, Running};
use sim::refdata::RefData;
use sim::runner::{program_config, FaultTally, ProgramRun};
use tokio::sync::Mutex;

/// Which program `sim serve` runs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// The platform, with its STAR job and the Beskedfordeler.
    Sp,
    /// KSD (and KY).
    Ksd,
    /// The jobcenter vendors' solutions.
    Jobcenter,
    /// STAR's DFDG queue (SF1612).
    Star,
}

impl Which {
    fn program(self) -> Program {
        match self {
            Which::Sp => Program::Sp,
            Which::Ksd => Program::Ksd,
            Which::Jobcenter => Program::Jobcenter,
            Which::Star => Program::Star,
        }
    }
}

/// Arguments of `sim serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The program to run in this process.
    #[arg(value_enum)]
    program: Which,
    /// The ecosystem's state root, shared by all its programs: this one keeps its files
    /// under `<dir>/<program>/` (as `sim up` does) and its run in `<dir>/run-<program>.json`.
    #[arg(long, default_value = ".sim")]
    state_dir: PathBuf,
    /// The certificate directory (made if missing; default `<state-dir>/certs`). Give every
    /// process the same one.
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// The address to bind every port to (`0.0.0.0` in a container).
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// The host name peers use for a program in URLs, `PROGRAM=NAME` (`sp`, `ksd`,
    /// `jobcenter`, `star`; the server certificates carry those names). Repeatable; a
    /// program not named is reached at the listen address (loopback for `0.0.0.0`).
    #[arg(long = "host", value_name = "PROGRAM=NAME")]
    hosts: Vec<String>,
    /// Every program on fixed ports from here (`sim up --port-base`'s layout); default the
    /// documented ports (platform 8443/8080, KSD 8444/8081, jobcenter admin 8082, vendors
    /// from 8445, STAR 8442/8083).
    #[arg(long, value_name = "PORT")]
    port_base: Option<u16>,
    /// The control API's port; default 8090 (platform), 8091 (KSD), 8092 (jobcenter),
    /// 8093 (STAR).
    #[arg(long, value_name = "PORT")]
    control_port: Option<u16>,
    /// RabbitMQ as the Beskedfordeler's broker (`amqp://…/BF`); give the platform and KSD the
    /// same.
    #[arg(long, value_name = "AMQP_URL")]
    broker: Option<String>,
    /// Seed of every id stream outside a run (give every process the same; default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Outside a run, leave STAR and the platform's job out (SF1612), as `sim up --no-star`.
    #[arg(long)]
    no_star: bool,
    /// A bearer token the program's admin API and this control API then require (all but
    /// `/health`); required when listening on an address that is not loopback.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Stop when the process with this pid is gone (`sim run --processes` gives its own, so
    /// that its children do not outlive a runner that was killed).
    #[arg(long, value_name = "PID", hide = true)]
    parent_pid: Option<u32>,
}

/// The control API's default port for a program.
pub fn default_control_port(p: Program) -> u16 {
    match p {
        Program::Sp => 8090,
        Program::Ksd => 8091,
        Program::Jobcenter => 8092,
        Program::Star => 8093,
    }
}

/// What the process hosts now.
struct Host {
    args: Args,
    refdata: RefData,
    program: Program,
    /// The program while it runs; `None` after `DELETE /run`.
    running: Option<Running>,
    /// The scenario run it takes part in; `None`: `sim up`'s behaviour.
    run: Option<ProgramRun>,
    /// What its fault layer did in this run (since this process started).
    tally: FaultTally,
}

type Shared = Arc<Mutex<Host>>;

impl Host {
    fn run_file(&self) -> PathBuf {
        run_file(&self.args.state_dir, self.program)
    }

    /// The configuration outside any run: this program's part of `sim up`.
    fn base(&self) -> anyhow::Result<EcosystemConfig> {
        let a = &self.args;
        let mut cfg = EcosystemConfig::new(&a.state_dir, self.refdata.clone());
        if let Some(c) = &a.certs {
            cfg.certs_dir = c.clone();
        }
        cfg.host = a.listen;
        if let Some(base) = a.port_base {
            cfg.ports = ecosystem::Ports::from_base(&self.refdata, base);
        }
        for h in &a.hosts {
            let (p, name) = h
                .split_once('=')
                .with_context(|| format!("--host {h}: expected PROGRAM=NAME"))?;
            let p = Program::from_short_name(p).with_context(|| format!("--host {h}"))?;
            cfg.hostnames.insert(p, name.to_string());
        }
        cfg.only = Some(self.program);
        cfg.admin_token.clone_from(&a.admin_token);
        cfg.seed = a.seed;
        cfg.bf_amqp.clone_from(&a.broker);
        if !a.no_star {
            cfg.star = Some(sim_star::EventsConfig {
                seed: cfg.seed,
                ..sim_star::EventsConfig::default()
            });
        }
        Ok(cfg)
    }

    /// Starts the program: for `self.run` when there is one, else as in `sim up`.
    async fn start(&mut self) -> anyhow::Result<()> {
        let base = self.base()?;
        let cfg = match &self.run {
            Some(run) => {
                let (mut cfg, tally) = program_config(run, base.clone())?;
                self.tally = tally;
                // The scenario decides STAR; the process decides where everything is.
                cfg.only = base.only;
                cfg
            }
            None => base,
        };
        self.running = Some(ecosystem::start(cfg).await?);
        Ok(())
    }

    /// Stops the program and waits until its databases' writer threads have committed and
    /// closed: only then do its files hold still (for the checkers, or to be wiped).
    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(r) = self.running.take() {
            r.stop().await?;
        }
        let dir = self.args.state_dir.join(self.program.state_subdir());
        let began = std::time::Instant::now();
        while sim_store::writers_open_under(&dir) > 0 {
            anyhow::ensure!(
                began.elapsed() < std::time::Duration::from_secs(30),
                "{}: its database writers did not finish within 30 s",
                self.program.name()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Keeps the run beside the state, whole or not at all (written aside, then renamed).
    fn keep_run(&self, run: &ProgramRun) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.args.state_dir)?;
        let file = self.run_file();
        let aside = file.with_extension("json.new");
        std::fs::write(&aside, serde_json::to_vec_pretty(run)?)?;
        std::fs::rename(&aside, &file)?;
        Ok(())
    }

    /// After a run that could not start: forget it and be `sim up`'s part again.
    async fn fall_back(&mut self) {
        let _ = std::fs::remove_file(self.run_file());
        self.run = None;
        if let Err(e) = self.start().await {
            tracing::error!(error = %format!("{e:#}"), "starting without a run failed too");
        }
    }
}

/// Where a program keeps the scenario run it takes part in (beside its state, so a restarted
/// process resumes it).
pub fn run_file(state_dir: &Path, p: Program) -> PathBuf {
    state_dir.join(format!("run-{}.json", p.name()))
}

/// Runs `sim serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::init_tracing("warn,sim_sp=info,sim_ksd=info,sim_jobcenter=info,sim_star=info");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        sim_kit::install_crypto_provider();
        let _ = incarnation();
        let program = args.program.program();
        let control = SocketAddr::new(
            args.listen,
            args.control_port
                .unwrap_or_else(|| default_control_port(program)),
        );
        let mut host = Host {
            refdata: RefData::embedded()?,
            program,
            running: None,
            run: None,
            tally: FaultTally::default(),
            args,
        };
        // The control API restarts the program on fresh state: open only on loopback or
        // behind the admin token; bound first, so that a program that cannot start is still
        // reachable (and a supervisor does not restart it in a loop).
        sim_kit::admin::exposure_allowed(control, host.args.admin_token.as_deref())
            .map_err(|e| anyhow::anyhow!("the control API: {e}"))?;
        let token = host.args.admin_token.clone();
        let listener = tokio::net::TcpListener::bind(control)
            .await
            .with_context(|| format!("binding the control API on {control}"))?;
        certs_once(&host)?;
        // A run left by a killed process: resume it on its clock, with what was committed.
        // One that cannot be read or started is set aside (`.failed`) and the program
        // starts without it.
        if let Ok(text) = std::fs::read_to_string(host.run_file()) {
            match serde_json::from_str::<ProgramRun>(&text) {
                Ok(run) => {
                    tracing::warn!(
                        file = run.file,
                        "resuming the scenario run this program was part of"
                    );
                    host.run = Some(run);
                }
                Err(e) => tracing::error!(error = %e, "the kept run does not read"),
            }
        }
        if let Err(e) = host.start().await {
            if host.run.is_none() {
                return Err(e);
            }
            tracing::error!(error = %format!("{e:#}"), "resuming the kept run failed; starting without it");
            let _ = std::fs::rename(host.run_file(), host.run_file().with_extension("json.failed"));
            host.run = None;
            host.start().await?;
        }
        eprintln!(
            "sim serve: {} is up; control API on http://{}",
            program.name(),
            listener.local_addr()?
        );
        let shared: Shared = Arc::new(Mutex::new(host));
        let app = sim_kit::admin::protect(
            Router::new()
                .route("/health", get(health))
                .route("/run", get(get_run).put(put_run).delete(delete_run))
                .with_state(shared.clone()),
            token,
        );
        let server = axum::serve(listener, app);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let parent = shared.lock().await.args.parent_pid;
        let outcome = tokio::select! {
            r = server => r.map(|_| None).context("the control API stopped"),
            _ = tokio::signal::ctrl_c() => Ok(None),
            _ = term.recv() => Ok(None),
            _ = parent_gone(parent) => Ok(None),
            name = stopped(shared.clone()) => Ok(Some(name)),
        };
        let mut host = shared.lock().await;
        host.stop().await?;
        match outcome? {
            Some(name) => {
                eprintln!("sim serve: {name} stopped unexpectedly");
                Ok(ExitCode::FAILURE)
            }
            None => Ok(ExitCode::SUCCESS),
        }
    })
}

/// Makes the certificates if missing, one process at a time: four processes started together
/// on one certificate directory would otherwise each write half a PKI. A lock file beside
/// the directory, created exclusively; one older than a minute is a dead process's.
fn certs_once(host: &Host) -> anyhow::Result<()> {
    let dir = host.base()?.certs_dir;
    let lock = dir.with_extension("lock");
    if let Some(parent) = lock.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let waited = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(60));
                if stale || waited.elapsed() > std::time::Duration::from_secs(120) {
                    let _ = std::fs::remove_file(&lock);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(anyhow::Error::from(e).context(format!("{}", lock.display()))),
        }
    }
    let made = ecosystem::ensure_certs(&dir, &host.refdata).map(|_| ());
    let _ = std::fs::remove_file(&lock);
    made
}

/// Resolves when the process `pid` is gone (never without one).
async fn parent_gone(pid: Option<u32>) {
    let Some(pid) = pid else {
        return std::future::pending().await;
    };
    let proc = PathBuf::from(format!("/proc/{pid}"));
    while proc.exists() {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    eprintln!("sim serve: the process that started it ({pid}) is gone; stopping");
}

/// Resolves when the hosted program stops on its own (not by `DELETE /run`).
async fn stopped(shared: Shared) -> &'static str {
    loop {
        {
            let host = shared.lock().await;
            if let Some(r) = &host.running {
                // Cheap: resolves at once only if the program has ended.
                if let Some(name) = futures_ready(r.any_stopped()).await {
                    return name;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// `Some(output)` if `f` is ready on its first poll.
async fn futures_ready<F: std::future::Future>(f: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = f => Some(out),
        _ = std::future::ready(()) => None,
    }
}

/// Which start of the program's process this is: its pid with the wall-clock millisecond it
/// started (in a container every start is pid 1), so a runner can tell a restarted process
/// from the one it killed.
fn incarnation() -> String {
    static STARTED: std::sync::OnceLock<i128> = std::sync::OnceLock::new();
    let ms =
        STARTED.get_or_init(|| sim_store::Clock::real().now().unix_timestamp_nanos() / 1_000_000);
    format!("{}@{ms}", std::process::id())
}

fn fail(status: StatusCode, e: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

async fn health(State(shared): State<Shared>) -> Response {
    // Never waits behind a `PUT /run` restarting the program: a health check must answer.
    let Ok(host) = shared.try_lock() else {
        return Json(json!({
            "status": "ok",
            "busy": true,
            "pid": std::process::id(),
        "incarnation": incarnation(),
            "incarnation": incarnation(),
            "peak_rss_bytes": sim::runner::peak_rss(),
            "cpu_seconds": sim::runner::cpu_seconds(),
        }))
        .into_response();
    };
    Json(json!({
        "status": "ok",
        "program": host.program.name(),
        "pid": std::process::id(),
        "hosting": host.running.is_some(),
        "run": host.run.as_ref().map(|r| json!({
            "file": r.file, "seed": r.seed, "speed": r.speed, "epoch_unix_ms": r.epoch_unix_ms,
        })),
        "peak_rss_bytes": sim::runner::peak_rss(),
        "cpu_seconds": sim::runner::cpu_seconds(),
    }))
    .into_response()
}

async fn get_run(State(shared): State<Shared>) -> Response {
    let host = shared.lock().await;
    match &host.run {
        Some(r) => {
            let mut body = json!(r);
            body["faults"] = json!(host.tally.rows());
            Json(body).into_response()
        }
        None => fail(StatusCode::NOT_FOUND, "no scenario run"),
    }
}

/// `PUT /run`: restart the program on fresh state for this run.
async fn put_run(State(shared): State<Shared>, body: axum::body::Bytes) -> Response {
    let run: ProgramRun = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return fail(StatusCode::BAD_REQUEST, format!("the run: {e}")),
    };
    // An epoch in milliseconds, near now: seconds given as milliseconds would be 1970.
    let now_ms = (sim_store::Clock::real().now().unix_timestamp_nanos() / 1_000_000) as i64;
    if (run.epoch_unix_ms - now_ms).abs() > 24 * 3_600_000 {
        return fail(
            StatusCode::BAD_REQUEST,
            format!(
                "epoch_unix_ms {} is more than a day from now ({now_ms}): Unix milliseconds, please",
                run.epoch_unix_ms
            ),
        );
    }
    let mut host = shared.lock().await;
    // Checked before anything stops: a scenario this process cannot run leaves it as it was.
    if let Err(e) = host.base().and_then(|b| program_config(&run, b)) {
        return fail(StatusCode::BAD_REQUEST, format!("{e:#}"));
    }
    if let Err(e) = host.stop().await {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"));
    }
    let dir = host.args.state_dir.join(host.program.state_subdir());
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: {e}", dir.display()),
            );
        }
    }
    if let Err(e) = host.keep_run(&run) {
        host.fall_back().await;
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("keeping the run: {e:#}"),
        );
    }
    host.run = Some(run);
    match host.start().await {
        Ok(()) => Json(json!({ "program": host.program.name(), "hosting": true })).into_response(),
        Err(e) => {
            // Not kept: a restart must not resume a run that cannot start.
            host.fall_back().await;
            fail(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
        }
    }
}

/// `DELETE /run`: stop the program (its files then hold still for judging); the process stays.
async fn delete_run(State(shared): State<Shared>) -> Response {
    let mut host = shared.lock().await;
    if let Err(e) = host.stop().await {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"));
    }
    let _ = std::fs::remove_file(host.run_file());
    host.run = None;
    Json(json!({ "program": host.program.name(), "hosting": false })).into_response()
}
