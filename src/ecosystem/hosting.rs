//! Hosting: each program of the ecosystem on a tokio runtime of its own, so that it can
//! *crash*. [`Control::crash`] drops that runtime at once (every task, connection, outbox worker
//! and in-flight send is gone mid-step, as when a process is killed; only what was committed to
//! SQLite remains) and [`Control::restart`] starts the program again on the same addresses and
//! state, as a supervisor would. What each program is started *with* is decided apart, by the
//! pure [`super::wiring`].

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use sim_kit::config::Listeners;
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::wiring::Addrs;
use super::{Endpoints, Program};

/// Why a call into the jobcenter did not finish: the program crashed (or was stopped) while it
/// ran, so whatever it had not committed is gone.
#[derive(Debug, thiserror::Error)]
#[error("sim-jobcenter crashed while the call ran")]
pub struct Crashed;

/// The jobcenter program's state as callers see it.
#[derive(Clone)]
pub(super) enum SlotState {
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
pub struct JobcenterSlot(pub(super) watch::Receiver<SlotState>);

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
pub(super) struct Hosted {
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

/// What it takes to start each program again.
pub(super) struct Programs {
    pub(super) addrs: Addrs,
    /// Listeners bound by [`start`] and not yet handed to their program.
    pub(super) prebound: BTreeMap<SocketAddr, std::net::TcpListener>,
    /// `None`: run elsewhere (a separate process, or an outside system in the seat).
    pub(super) sp: Option<sim_sp::Config>,
    /// `None`: an outside KSD takes the seat.
    pub(super) ksd: Option<sim_ksd::Config>,
    /// `None`: run in another process (`sim serve`).
    pub(super) jobcenter: Option<sim_jobcenter::Config>,
    /// `None`: no STAR, or an outside STAR takes the seat.
    pub(super) star: Option<sim_star::Config>,
    pub(super) state_dir: PathBuf,
    pub(super) hosted: BTreeMap<Program, Hosted>,
    pub(super) slot: watch::Sender<SlotState>,
    /// Starts of the jobcenter so far, to tell a call's jobcenter from a restarted one.
    pub(super) jobcenter_starts: u64,
}

/// Crashes and restarts programs of a running ecosystem; cheap to clone.
#[derive(Clone)]
pub struct Control(pub(super) Arc<tokio::sync::Mutex<Programs>>);

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
pub(super) fn bind_now(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
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
    pub(super) async fn start(&mut self, program: Program, rebinding: bool) -> anyhow::Result<()> {
        let elsewhere = match program {
            Program::Sp => self.sp.is_none(),
            Program::Ksd => self.ksd.is_none(),
            Program::Jobcenter => self.jobcenter.is_none(),
            Program::Star => self.star.is_none(),
        };
        if elsewhere {
            return Ok(()); // run elsewhere, or an outside system takes the seat
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
                let c = self.ksd.clone().context("KSD configuration")?;
                let (d, ad) = self
                    .bind_pair(a.ksd.context("KSD has no addresses")?, rebinding)
                    .await?;
                rt.spawn(
                    async move { Ok(sim_ksd::run(listeners(d, ad)?, c, shutdown.wait()).await?) },
                )
            }
            Program::Star => {
                let c = self.star.clone().context("STAR configuration")?;
                let (d, ad) = self
                    .bind_pair(a.star.context("STAR has no addresses")?, rebinding)
                    .await?;
                rt.spawn(
                    async move { Ok(sim_star::run(listeners(d, ad)?, c, shutdown.wait()).await?) },
                )
            }
            Program::Jobcenter => {
                let c = self.jobcenter.clone().context("jobcenter configuration")?;
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
    pub(super) control: Control,
    pub(super) slot: JobcenterSlot,
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
