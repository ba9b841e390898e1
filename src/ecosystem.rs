//! The whole ecosystem in one process: certificates, the three programs' configurations
//! derived from the reference data, and their start on real loopback sockets with mTLS.
//!
//! `sim up` uses it with the documented default ports; tests use it with port 0. Every
//! program runs the very code its own binary runs (`sim_sp::run`, `sim_ksd::run`,
//! `sim_jobcenter::run`); only the wiring lives here.
//!
//! Each program runs on a tokio runtime of its own, so that it can *crash*: [`Control::crash`]
//! drops that runtime at once (every task, connection, outbox worker and in-flight send is
//! gone mid-step, as when a process is killed; only what was committed to SQLite remains) and
//! [`Control::restart`] starts the program again on the same addresses and state, as a
//! supervisor would. Scenario runs use this for their `crash` faults.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use serde::Serialize;
use sim_certs::store::layout;
use sim_certs::PkiSpec;
use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};
use sim_store::Clock;
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::refdata::RefData;

/// KOMBIT's CVR: the platform's and KSD's organisation.
pub const KOMBIT_CVR: &str = "19435075";

/// Where each program listens. Port 0 picks a free port (tests).
#[derive(Debug, Clone, Serialize)]
pub struct Ports {
    /// Platform data plane (mTLS).
    pub sp: u16,
    /// Platform admin API.
    pub sp_admin: u16,
    /// KSD's receiver (mTLS).
    pub ksd: u16,
    /// KSD's admin API.
    pub ksd_admin: u16,
    /// The jobcenter process's admin API.
    pub jobcenter_admin: u16,
    /// Each vendor instance's receiver (mTLS), by instance; missing instances get port 0.
    pub vendors: BTreeMap<String, u16>,
}

impl Ports {
    /// The documented defaults of `sim up`.
    pub fn defaults(refdata: &RefData) -> Ports {
        Ports {
            sp: 8443,
            sp_admin: 8080,
            ksd: 8444,
            ksd_admin: 8081,
            jobcenter_admin: 8082,
            vendors: refdata
                .vendors
                .iter()
                .enumerate()
                .map(|(i, v)| (v.instance.clone(), 8445 + i as u16))
                .collect(),
        }
    }

    /// All ports 0: for tests.
    pub fn ephemeral() -> Ports {
        Ports {
            sp: 0,
            sp_admin: 0,
            ksd: 0,
            ksd_admin: 0,
            jobcenter_admin: 0,
            vendors: BTreeMap::new(),
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct EcosystemConfig {
    /// Root of all state: `certs/`, `sp/`, `ksd/`, `jobcenter/`, `ecosystem.json`.
    pub state_dir: PathBuf,
    /// The certificate directory (default `<state_dir>/certs`).
    pub certs_dir: PathBuf,
    /// The address every program binds to.
    pub host: std::net::IpAddr,
    /// Ports.
    pub ports: Ports,
    /// The reference data.
    pub refdata: RefData,
    /// Seed of every id stream.
    pub seed: u64,
    /// KSD's delay before it sends the business receipt (virtual milliseconds).
    pub receipt_delay_ms: u64,
    /// The time source all three share.
    pub clock: Clock,
    /// Start the platform in this process (false: only its configuration is made and its
    /// ports reserved, so a test can run it as a separate process and kill it).
    pub run_platform: bool,
    /// Receiver URLs that replace a vendor instance's own (a real or foreign system takes the seat).
    pub instance_urls: BTreeMap<String, String>,
    /// More CAs the platform trusts for receivers' server certificates (a swapped-in system's CA).
    pub extra_server_trust: Vec<PathBuf>,
    /// More CAs every program trusts for callers' client certificates (a swapped-in system's CA).
    pub extra_client_trust: Vec<PathBuf>,
    /// KSD's receiver URL, replacing the simulated KSD's (a real KSD takes the seat).
    pub ksd_url: Option<String>,
    /// Who may call the JC exposure as KSD (default: the simulated KSD's certificate).
    pub ksd_system: Option<SystemRef>,
    /// Fault injection for all three programs (scenario runs).
    pub faults: sim_kit::faults::Faults,
    /// How often a vendor sends an update before it gives up for this run (JC-1).
    pub max_send_attempts: u32,
    /// How long any program waits for an answer (milliseconds).
    pub call_timeout_ms: u64,
}

impl EcosystemConfig {
    /// Defaults for `state_dir`.
    pub fn new(state_dir: &Path, refdata: RefData) -> EcosystemConfig {
        EcosystemConfig {
            certs_dir: state_dir.join("certs"),
            state_dir: state_dir.to_path_buf(),
            host: std::net::Ipv4Addr::LOCALHOST.into(),
            ports: Ports::defaults(&refdata),
            refdata,
            seed: 0,
            receipt_delay_ms: 0,
            clock: Clock::real(),
            run_platform: true,
            instance_urls: BTreeMap::new(),
            extra_server_trust: Vec::new(),
            extra_client_trust: Vec::new(),
            ksd_url: None,
            ksd_system: None,
            faults: sim_kit::faults::Faults::none(),
            max_send_attempts: 5,
            call_timeout_ms: 10_000,
        }
    }
}

/// The addresses a vendor or a test needs, as `sim up` prints them and writes them to
/// `<state_dir>/ecosystem.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Endpoints {
    /// The platform's KSD exposure: where a jobcenter sends `SendOpdateringFravaer`.
    pub sp_ksd_exposure: String,
    /// The platform's JC exposure: where KSD sends `SendForretningsSvar`.
    pub sp_jc_exposure: String,
    /// The platform's admin API.
    pub sp_admin: String,
    /// KSD's receiver port.
    pub ksd: String,
    /// KSD's admin API.
    pub ksd_admin: String,
    /// Each vendor instance's receiver port.
    pub vendors: BTreeMap<String, String>,
    /// The jobcenter process's admin API.
    pub jobcenter_admin: String,
    /// The certificate directory.
    pub certs_dir: PathBuf,
    /// The trust anchor to add to a real system.
    pub root_ca: PathBuf,
}

/// One of the three programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Program {
    /// The platform, `sim-sp`.
    Sp,
    /// KSD, `sim-ksd`.
    Ksd,
    /// The jobcenter vendors, `sim-jobcenter`.
    Jobcenter,
}

impl Program {
    /// The program's name, as its binary is called.
    pub fn name(self) -> &'static str {
        match self {
            Program::Sp => "sim-sp",
            Program::Ksd => "sim-ksd",
            Program::Jobcenter => "sim-jobcenter",
        }
    }

    fn state_subdir(self) -> &'static str {
        match self {
            Program::Sp => "sp",
            Program::Ksd => "ksd",
            Program::Jobcenter => "jobcenter",
        }
    }
}

/// Why a call into the jobcenter did not finish: the program crashed (or was stopped) while it
/// ran, so whatever it had not committed is gone.
#[derive(Debug, thiserror::Error)]
#[error("sim-jobcenter crashed while the call ran")]
pub struct Crashed;

/// The jobcenter program's state as callers see it.
#[derive(Clone)]
enum SlotState {
    /// Running: its handle, the runtime it lives on, and which start of it this is.
    Up(sim_jobcenter::Jobcenter, Handle, u64),
    /// Crashed, to be restarted.
    Down,
    /// Stopped for good (the ecosystem stopped, or a restart failed).
    Gone,
}

/// The jobcenter program as it is now. Calls through it run *inside* the program (on its
/// runtime), so a crash cuts them off as it would in a real process. Holds no handle between
/// calls: a crashed program's database must be able to close.
#[derive(Clone)]
pub struct JobcenterSlot(watch::Receiver<SlotState>);

impl JobcenterSlot {
    /// Runs `f` with the current jobcenter on its runtime. Waits while the jobcenter is down;
    /// `Err(Crashed)` when it crashed while `f` ran (whatever `f` returned while its program
    /// was dying, e.g. a store closed under it, the outcome is unknown), or is gone for good.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, Crashed>
    where
        F: FnOnce(sim_jobcenter::Jobcenter) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let mut rx = self.0.clone();
        let state = match rx.wait_for(|s| !matches!(s, SlotState::Down)).await {
            Ok(s) => s.clone(),
            Err(_) => return Err(Crashed),
        };
        let SlotState::Up(jc, handle, start) = state else {
            return Err(Crashed);
        };
        let out = handle.spawn(f(jc)).await.map_err(|_| Crashed)?;
        // A crash marks the slot down before it abandons the program's store, so a result
        // produced while dying is always seen here.
        match &*self.0.borrow() {
            SlotState::Up(_, _, now) if *now == start => Ok(out),
            _ => Err(Crashed),
        }
    }

    /// The current handle, if the jobcenter is up. Do not keep it across a crash.
    pub fn current(&self) -> Option<sim_jobcenter::Jobcenter> {
        match &*self.0.borrow() {
            SlotState::Up(jc, _, _) => Some(jc.clone()),
            _ => None,
        }
    }

    /// Whether the jobcenter has stopped for good.
    pub fn is_gone(&self) -> bool {
        matches!(&*self.0.borrow(), SlotState::Gone)
    }
}

/// One program on a runtime of its own.
struct Hosted {
    program: Program,
    /// `None` once stopped or crashed.
    rt: Option<Runtime>,
    stop: Option<sim_kit::shutdown::Trigger>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Hosted {
    /// Drops the runtime at once: the crash. Its tasks are dropped where they stand.
    fn kill(&mut self) {
        self.stop = None;
        self.task = None;
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Hosted {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another's async context; this never blocks.
        self.kill();
    }
}

/// The sockets each program listens on, kept so that a restarted program binds them again.
#[derive(Debug, Clone)]
struct Addrs {
    sp: (SocketAddr, SocketAddr),
    ksd: (SocketAddr, SocketAddr),
    vendors: BTreeMap<String, SocketAddr>,
    jobcenter_admin: SocketAddr,
}

/// What it takes to start each program again.
struct Programs {
    addrs: Addrs,
    /// Listeners bound by [`start`] and not yet handed to their program.
    prebound: BTreeMap<SocketAddr, std::net::TcpListener>,
    sp: Option<sim_sp::Config>,
    ksd: sim_ksd::Config,
    jobcenter: sim_jobcenter::Config,
    state_dir: PathBuf,
    hosted: BTreeMap<Program, Hosted>,
    slot: watch::Sender<SlotState>,
    /// Starts of the jobcenter so far, to tell a call's jobcenter from a restarted one.
    jobcenter_starts: u64,
}

/// Crashes and restarts programs of a running ecosystem; cheap to clone.
#[derive(Clone)]
pub struct Control(Arc<tokio::sync::Mutex<Programs>>);

impl Control {
    /// Kills `program` at once, as `kill -9` would: its runtime and every task on it are
    /// dropped, its sockets closed; what it committed stays on disk. No-op if it is down.
    pub async fn crash(&self, program: Program) {
        let mut p = self.0.lock().await;
        if program == Program::Jobcenter {
            p.slot.send_replace(SlotState::Down);
        }
        if let Some(mut h) = p.hosted.remove(&program) {
            tracing::warn!(program = program.name(), "crash: killing the program");
            // Killed first, so that no task of it runs on to answer anyone; then the writes
            // it queued but had not committed die with it. (The other order let a dying task
            // see its journal write fail and still answer: acknowledged, never persisted.)
            h.kill();
            sim_store::abandon_writers_under(&p.state_dir.join(program.state_subdir()));
        }
    }

    /// Starts `program` again on its old addresses and state directory, once its old writer
    /// threads are gone. No-op if it is running.
    pub async fn restart(&self, program: Program) -> anyhow::Result<()> {
        let mut p = self.0.lock().await;
        if p.hosted.contains_key(&program) {
            return Ok(());
        }
        let dir = p.state_dir.join(program.state_subdir());
        let waited = Instant::now();
        while sim_store::writers_open_under(&dir) > 0 {
            if waited.elapsed() > StdDuration::from_secs(30) {
                if program == Program::Jobcenter {
                    p.slot.send_replace(SlotState::Gone);
                }
                anyhow::bail!(
                    "{}: the crashed instance's database writer did not finish within 30 s \
                     (is a handle to it still held?)",
                    program.name()
                );
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        tracing::warn!(program = program.name(), "restart after a crash");
        let started = p.start(program, true).await;
        if started.is_err() && program == Program::Jobcenter {
            p.slot.send_replace(SlotState::Gone);
        }
        started
    }
}

/// A non-blocking listener on `addr`, ready for any runtime's `TcpListener::from_std`.
fn bind_now(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Binds `addr`, retrying for a few seconds: a crashed program's listener is closed as its
/// runtime winds down, which may take a moment.
async fn bind_std(
    prebound: &mut BTreeMap<SocketAddr, std::net::TcpListener>,
    addr: SocketAddr,
    retry: bool,
) -> anyhow::Result<std::net::TcpListener> {
    if let Some(l) = prebound.remove(&addr) {
        return Ok(l);
    }
    let started = Instant::now();
    loop {
        match bind_now(addr) {
            Ok(l) => return Ok(l),
            Err(e) if retry && started.elapsed() < StdDuration::from_secs(10) => {
                tracing::debug!(%addr, error = %e, "rebinding after a crash; retrying");
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::from(e)
                    .context(format!("binding {addr} (is another `sim up` running?)")))
            }
        }
    }
}

fn new_runtime(program: Program) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(program.name())
        .enable_all()
        .build()
        .with_context(|| format!("starting a runtime for {}", program.name()))
}

/// A program's data and admin listeners, registered with the runtime this runs on.
fn listeners(
    data: std::net::TcpListener,
    admin: std::net::TcpListener,
) -> std::io::Result<Listeners> {
    Ok(Listeners {
        data: TcpListener::from_std(data)?,
        admin: TcpListener::from_std(admin)?,
    })
}

impl Programs {
    /// The data and admin sockets of a program (see [`bind_std`]).
    async fn bind_pair(
        &mut self,
        (data, admin): (SocketAddr, SocketAddr),
        rebinding: bool,
    ) -> anyhow::Result<(std::net::TcpListener, std::net::TcpListener)> {
        Ok((
            bind_std(&mut self.prebound, data, rebinding).await?,
            bind_std(&mut self.prebound, admin, rebinding).await?,
        ))
    }

    /// Starts `program` on a fresh runtime with listeners on its addresses.
    async fn start(&mut self, program: Program, rebinding: bool) -> anyhow::Result<()> {
        if program == Program::Sp && self.sp.is_none() {
            return Ok(()); // run elsewhere (`run_platform: false`)
        }
        let (stop, shutdown) = sim_kit::shutdown::Shutdown::new();
        // Held by a `Hosted` from here: if starting fails below, its drop shuts the runtime
        // down without blocking (a runtime may not simply be dropped in an async context).
        let mut hosted = Hosted {
            program,
            rt: Some(new_runtime(program)?),
            stop: Some(stop),
            task: None,
        };
        let rt = hosted.rt.as_ref().context("runtime")?.handle().clone();
        let a = self.addrs.clone();
        let task: JoinHandle<anyhow::Result<()>> = match program {
            Program::Sp => {
                let c = self.sp.clone().context("platform configuration")?;
                let (d, ad) = self.bind_pair(a.sp, rebinding).await?;
                rt.spawn(
                    async move { Ok(sim_sp::run(listeners(d, ad)?, c, shutdown.wait()).await?) },
                )
            }
            Program::Ksd => {
                let c = self.ksd.clone();
                let (d, ad) = self.bind_pair(a.ksd, rebinding).await?;
                rt.spawn(
                    async move { Ok(sim_ksd::run(listeners(d, ad)?, c, shutdown.wait()).await?) },
                )
            }
            Program::Jobcenter => {
                let c = self.jobcenter.clone();
                let mut vendors = Vec::new();
                for (name, addr) in &a.vendors {
                    vendors.push((
                        name.clone(),
                        bind_std(&mut self.prebound, *addr, rebinding).await?,
                    ));
                }
                let admin = bind_std(&mut self.prebound, a.jobcenter_admin, rebinding).await?;
                let started = rt
                    .spawn(async move {
                        let mut vl = BTreeMap::new();
                        for (name, l) in vendors {
                            vl.insert(name, TcpListener::from_std(l)?);
                        }
                        let l = sim_jobcenter::Listeners {
                            vendors: vl,
                            admin: TcpListener::from_std(admin)?,
                        };
                        anyhow::Ok(sim_jobcenter::start(l, c, shutdown.wait()).await?)
                    })
                    .await
                    .context("sim-jobcenter did not start")??;
                let (jc, serving) = started;
                self.jobcenter_starts += 1;
                self.slot
                    .send_replace(SlotState::Up(jc, rt.clone(), self.jobcenter_starts));
                rt.spawn(async move { Ok(serving.await??) })
            }
        };
        hosted.task = Some(task);
        self.hosted.insert(program, hosted);
        Ok(())
    }
}

/// A running ecosystem.
pub struct Running {
    /// Where everything is.
    pub endpoints: Endpoints,
    /// The platform's configuration (to run it elsewhere when `run_platform` is false).
    pub sp_config: sim_sp::Config,
    control: Control,
    slot: JobcenterSlot,
}

impl Running {
    /// Stops all programs that are up gracefully and waits for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        let mut p = self.control.0.lock().await;
        p.slot.send_replace(SlotState::Gone);
        let mut hosted: Vec<Hosted> = std::mem::take(&mut p.hosted).into_values().collect();
        for h in &hosted {
            if let Some(s) = &h.stop {
                s.fire();
            }
        }
        let mut result = Ok(());
        for h in &mut hosted {
            if let Some(t) = h.task.take() {
                let name = h.program.name();
                let r = match t.await {
                    Ok(r) => r.with_context(|| format!("{name} failed")),
                    Err(e) => Err(anyhow::anyhow!("{name} panicked: {e}")),
                };
                if result.is_ok() {
                    result = r;
                }
            }
        }
        drop(hosted); // each runtime is now idle; shut down without blocking
        result
    }

    /// Crashing and restarting programs (scenario `crash` faults).
    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// The jobcenter as it is now (it may have crashed and restarted).
    pub fn jobcenter_slot(&self) -> JobcenterSlot {
        self.slot.clone()
    }

    /// The jobcenter vendors, in process: send updates and wait for receipts without HTTP.
    /// A handle kept across a crash of the jobcenter keeps its old database open and blocks
    /// the restart: in runs with crashes use [`Running::jobcenter_slot`].
    ///
    /// # Panics
    /// While the jobcenter is down (crashed and not restarted).
    pub fn jobcenter(&self) -> sim_jobcenter::Jobcenter {
        self.slot.current().expect("sim-jobcenter is down")
    }

    /// Completes with the name of the first program that stops by itself (an error), while
    /// none is crashed on purpose.
    pub async fn any_stopped(&self) -> &'static str {
        loop {
            {
                let p = self.control.0.lock().await;
                for h in p.hosted.values() {
                    if h.task.as_ref().is_some_and(JoinHandle::is_finished) {
                        return h.program.name();
                    }
                }
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }
}

fn identity(f: &sim_certs::store::Files) -> IdentityFiles {
    IdentityFiles {
        cert: f.chain.clone(),
        key: f.key.clone(),
    }
}

fn system_ref(spec: &PkiSpec, stem: &str) -> anyhow::Result<SystemRef> {
    let e = spec
        .systems
        .iter()
        .find(|s| s.stem == stem)
        .with_context(|| format!("no system certificate '{stem}'"))?;
    Ok(SystemRef {
        cvr: e.subject.cvr.as_str().to_string(),
        uuid: Some(e.subject.uuid()),
    })
}

/// Makes certificates if missing, binds every socket, and starts the three programs.
pub async fn start(cfg: EcosystemConfig) -> anyhow::Result<Running> {
    sim_kit::install_crypto_provider();
    let spec = PkiSpec::standard(&cfg.refdata.vendors, false);
    let now = cfg.clock.now();
    sim_certs::store::ensure(
        &cfg.certs_dir,
        &spec,
        sim_certs::OffsetDateTime::from_unix_timestamp(now.unix_timestamp())?,
        false,
    )
    .with_context(|| format!("making certificates in {}", cfg.certs_dir.display()))?;
    let dir = &cfg.certs_dir;
    let root = layout::root_ca(dir);
    let trust: Vec<PathBuf> = std::iter::once(root.clone())
        .chain(cfg.extra_client_trust.iter().cloned())
        .collect();

    // Bound once here (port 0 picks a free one); a program restarted after a crash binds the
    // same address again.
    let mut prebound = BTreeMap::new();
    let mut bind = |port: u16| -> anyhow::Result<SocketAddr> {
        let addr = SocketAddr::new(cfg.host, port);
        let l = bind_now(addr)
            .with_context(|| format!("binding {addr} (is another `sim up` running?)"))?;
        let bound = l.local_addr()?;
        prebound.insert(bound, l);
        Ok(bound)
    };
    let addrs = Addrs {
        sp: (bind(cfg.ports.sp)?, bind(cfg.ports.sp_admin)?),
        ksd: (bind(cfg.ports.ksd)?, bind(cfg.ports.ksd_admin)?),
        vendors: cfg
            .refdata
            .vendors
            .iter()
            .map(|v| {
                let port = cfg.ports.vendors.get(&v.instance).copied().unwrap_or(0);
                Ok((v.instance.clone(), bind(port)?))
            })
            .collect::<anyhow::Result<_>>()?,
        jobcenter_admin: bind(cfg.ports.jobcenter_admin)?,
    };

    let url = |a: &SocketAddr, path: &str| format!("https://{a}{path}");
    let http = |a: &SocketAddr| format!("http://{a}");
    let endpoints = Endpoints {
        sp_ksd_exposure: url(&addrs.sp.0, sim_wire::Port::Ksd.platform_path()),
        sp_jc_exposure: url(&addrs.sp.0, sim_wire::Port::Jc.platform_path()),
        sp_admin: http(&addrs.sp.1),
        ksd: url(&addrs.ksd.0, sim_ksd::KSD_PATH),
        ksd_admin: http(&addrs.ksd.1),
        vendors: addrs
            .vendors
            .iter()
            .map(|(k, a)| (k.clone(), url(a, sim_jobcenter::JOBCENTER_PATH)))
            .collect(),
        jobcenter_admin: http(&addrs.jobcenter_admin),
        certs_dir: dir.clone(),
        root_ca: root.clone(),
    };

    let kombit = system_ref(&spec, "kombit")?;
    let ksd_system = match &cfg.ksd_system {
        Some(s) => s.clone(),
        None => system_ref(&spec, "ksd")?,
    };
    let mut agreements = vec![sim_sp::Agreement {
        system: ksd_system.clone(),
        municipality: "*".into(),
        service: sim_sp::SERVICE.into(),
    }];
    for v in &cfg.refdata.vendors {
        let system = system_ref(&spec, &v.instance)?;
        for m in cfg.refdata.municipalities_of(&v.instance) {
            agreements.push(sim_sp::Agreement {
                system: system.clone(),
                municipality: m.to_string(),
                service: sim_sp::SERVICE.into(),
            });
        }
    }
    let sp_config = sim_sp::Config {
        state_dir: cfg.state_dir.join("sp"),
        server: identity(&layout::server(dir, "sp")),
        client_trust: trust.clone(),
        kombit: identity(&layout::system(dir, "kombit")),
        server_trust: trust
            .iter()
            .chain(&cfg.extra_server_trust)
            .cloned()
            .collect(),
        ksd: Endpoint {
            url: endpoints.ksd.clone(),
        },
        ksd_system: ksd_system.clone(),
        instances: endpoints
            .vendors
            .iter()
            .map(|(k, u)| {
                (
                    k.clone(),
                    Endpoint {
                        url: cfg.instance_urls.get(k).unwrap_or(u).clone(),
                    },
                )
            })
            .collect(),
        routing: cfg
            .refdata
            .routing
            .iter()
            .map(|(c, i)| (c.to_string(), i.clone()))
            .collect(),
        agreements,
        call_timeout_ms: cfg.call_timeout_ms,
        seed: cfg.seed,
        clock: cfg.clock.clone(),
        faults: cfg.faults.clone(),
    };
    let ksd_config = sim_ksd::Config {
        state_dir: cfg.state_dir.join("ksd"),
        server: identity(&layout::server(dir, "ksd")),
        client_trust: trust.clone(),
        identity: identity(&layout::system(dir, "ksd")),
        server_trust: trust.clone(),
        platform: Endpoint {
            url: endpoints.sp_jc_exposure.clone(),
        },
        platform_system: kombit.clone(),
        ksd_system_uuid: system_ref(&spec, "ksd")?.uuid.unwrap_or_default(),
        receipt_delay_ms: cfg.receipt_delay_ms,
        call_timeout_ms: cfg.call_timeout_ms,
        seed: cfg.seed,
        clock: cfg.clock.clone(),
        faults: cfg.faults.clone(),
    };
    let mut vendors = Vec::new();
    for v in &cfg.refdata.vendors {
        vendors.push(sim_jobcenter::VendorConfig {
            instance: v.instance.clone(),
            vendor: v.vendor.clone(),
            identity: identity(&layout::system(dir, &v.instance)),
            system_uuid: system_ref(&spec, &v.instance)?.uuid.unwrap_or_default(),
            municipalities: cfg
                .refdata
                .municipalities_of(&v.instance)
                .iter()
                .map(ToString::to_string)
                .collect(),
        });
    }
    let jc_config = sim_jobcenter::Config {
        state_dir: cfg.state_dir.join("jobcenter"),
        server: identity(&layout::server(dir, "jobcenter")),
        client_trust: trust.clone(),
        server_trust: trust,
        platform: Endpoint {
            url: endpoints.sp_ksd_exposure.clone(),
        },
        kombit_system: kombit,
        vendors,
        call_timeout_ms: 10_000,
        max_send_attempts: cfg.max_send_attempts,
        seed: cfg.seed,
        clock: cfg.clock.clone(),
        faults: cfg.faults.clone(),
    };

    let (slot_tx, slot_rx) = watch::channel(SlotState::Down);
    let mut programs = Programs {
        addrs,
        prebound,
        sp: cfg.run_platform.then(|| sp_config.clone()),
        ksd: ksd_config,
        jobcenter: jc_config,
        state_dir: cfg.state_dir.clone(),
        hosted: BTreeMap::new(),
        slot: slot_tx,
        jobcenter_starts: 0,
    };
    if !cfg.run_platform {
        // Its configuration is handed out; release its sockets for whoever runs it.
        programs.prebound.remove(&programs.addrs.sp.0);
        programs.prebound.remove(&programs.addrs.sp.1);
    }
    for p in [Program::Sp, Program::Ksd, Program::Jobcenter] {
        programs.start(p, false).await?;
    }
    let slot = JobcenterSlot(slot_rx);
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::write(
        cfg.state_dir.join("ecosystem.json"),
        serde_json::to_string_pretty(&endpoints)?,
    )?;
    Ok(Running {
        endpoints,
        sp_config,
        control: Control(Arc::new(tokio::sync::Mutex::new(programs))),
        slot,
    })
}
