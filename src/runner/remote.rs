//! Scenario runs across processes: the programs run as `sim serve` processes — started by
//! this run (`--processes`) or already running anywhere, containers included
//! (`--ecosystem FILE`) — and the runner reaches them only as another process would: their
//! control APIs (the run, health, memory and CPU), their admin APIs (the jobcenter's
//! traffic, KSD's intake), their data planes (raw messages) and their files (the journals,
//! read once they have stopped). Outages are real: a crash is `kill -9` or `docker kill` and
//! a new process resuming the run from its files; a pause is `SIGSTOP` or `docker pause`; a
//! partition `docker network disconnect`.
//!
//! The clock is shared by parameters: every process is given the scenario's start, factor and
//! one epoch (wall time), and computes virtual = start + (wall − epoch) × factor itself.
//! Speed `max` cannot work so (see [`super::MAX_ACROSS_PROCESSES`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use serde::Deserialize;
use sim_scenario::FaultKind;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::admin_client::AdminClient;
use crate::ecosystem::{self, EcosystemConfig, Endpoints, Ports, Program};
use crate::jobcenter_remote::RemoteJobcenter;
use crate::refdata::RefData;

use super::ProgramRun;

/// The file `sim run --ecosystem` reads: where the programs are and how to hurt them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcosystemFile {
    /// The address the runner reaches every program's published ports at.
    #[serde(default = "loopback")]
    pub host: IpAddr,
    /// The programs' ports as `sim serve --port-base` lays them out; none: the documented
    /// defaults.
    #[serde(default)]
    pub port_base: Option<u16>,
    /// The programs' shared state root as this machine sees it (a bind mount of the
    /// containers' one), relative to the file: the journals the checkers read.
    pub state_dir: PathBuf,
    /// The certificate directory (default `<state_dir>/certs`), relative to the file.
    #[serde(default)]
    pub certs_dir: Option<PathBuf>,
    /// The bearer token the programs' admin and control APIs require (`sim serve
    /// --admin-token`), if any.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// The programs by short name (`sp`, `ksd`, `jobcenter`, `star`).
    pub programs: BTreeMap<String, ProgramControl>,
}

fn loopback() -> IpAddr {
    std::net::Ipv4Addr::LOCALHOST.into()
}

/// How the runner reaches and hurts one program. Each command is an argv run as is (no
/// shell); a fault kind whose command is missing is refused before the run starts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramControl {
    /// The host name the runner reaches its ports at, when not `host` (a compose service
    /// name, for a runner inside the compose network; the server certificates carry them).
    #[serde(default)]
    pub host: Option<String>,
    /// Its `sim serve` control API, `http://host:port`.
    pub control: String,
    /// Kill it at once (`[docker, kill, -s, KILL, sim-sp]`).
    #[serde(default)]
    pub crash: Vec<String>,
    /// Start it again after a crash (`[docker, start, sim-sp]`); it resumes the run itself.
    #[serde(default)]
    pub restart: Vec<String>,
    /// Freeze it (`[docker, pause, sim-sp]`).
    #[serde(default)]
    pub pause: Vec<String>,
    /// Thaw it (`[docker, unpause, sim-sp]`).
    #[serde(default)]
    pub resume: Vec<String>,
    /// Cut it off the network (`[docker, network, disconnect, sim_net, sim-sp]`).
    #[serde(default)]
    pub partition: Vec<String>,
    /// Connect it again (`[docker, network, connect, --alias, sp, sim_net, sim-sp]`).
    #[serde(default)]
    pub heal: Vec<String>,
}

impl EcosystemFile {
    /// Reads the file; relative paths in it start at its directory.
    pub fn load(path: &Path) -> anyhow::Result<EcosystemFile> {
        let mut f: EcosystemFile = sim_kit::program::load_config(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        f.state_dir = dir.join(&f.state_dir);
        f.certs_dir = f.certs_dir.map(|c| dir.join(c));
        Ok(f)
    }

    /// Reads the file at `location`: a path, or an `http://` URL serving it (YAML or JSON; its
    /// relative paths then start at the current directory).
    pub async fn locate(location: &Path) -> anyhow::Result<EcosystemFile> {
        let text = location.to_string_lossy();
        if !text.starts_with("http://") {
            anyhow::ensure!(
                !text.starts_with("https://"),
                "--ecosystem {text}: an https URL is not supported; fetch it, or serve it over http"
            );
            return EcosystemFile::load(location);
        }
        let (status, body) = AdminClient::new(StdDuration::from_secs(30))
            .get(&text)
            .await
            .with_context(|| format!("fetching the ecosystem file {text}"))?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "fetching the ecosystem file {text}: {status}"
        );
        let f: EcosystemFile = match body {
            serde_json::Value::String(yaml) => sim_kit::program::parse_config(location, &yaml)?,
            json => serde_json::from_value(json)
                .with_context(|| format!("the ecosystem file {text}"))?,
        };
        // Its commands are run on this machine: only from a file this machine serves.
        let host = text
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        let commands = f.programs.values().any(|c| {
            [
                &c.crash,
                &c.restart,
                &c.pause,
                &c.resume,
                &c.partition,
                &c.heal,
            ]
            .iter()
            .any(|a| !a.is_empty())
        });
        anyhow::ensure!(
            !commands || matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
            "{text}: an ecosystem file with outage commands is taken over http only from this machine (127.0.0.1, localhost): its commands run here"
        );
        Ok(f)
    }

    fn certs(&self) -> PathBuf {
        self.certs_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("certs"))
    }
}

/// The programs this run started itself (`--processes`): each `sim serve` a child process,
/// killed, frozen and started again by signals.
struct Spawned {
    exe: PathBuf,
    args: BTreeMap<Program, Vec<String>>,
    children: BTreeMap<Program, Child>,
    logs: PathBuf,
}

impl Spawned {
    fn spawn(&mut self, p: Program) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{}.log", p.name())))?;
        let child = Command::new(&self.exe)
            .args(&self.args[&p])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} as a process", p.name()))?;
        self.children.insert(p, child);
        Ok(())
    }

    fn signal(&self, p: Program, signal: &str) -> anyhow::Result<()> {
        let pid = self.children.get(&p).context("not running")?.id();
        let ok = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .context("running kill")?
            .success();
        anyhow::ensure!(ok, "kill {signal} {pid} failed");
        Ok(())
    }

    fn kill(&mut self, p: Program) {
        if let Some(mut c) = self.children.remove(&p) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let all: Vec<Program> = self.children.keys().copied().collect();
        for p in all {
            // A frozen child would not die of SIGTERM; SIGKILL works on a stopped process.
            self.kill(p);
        }
    }
}

/// What one program cost over the run, across its incarnations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cost {
    /// The highest peak resident memory any incarnation reported.
    pub(crate) peak_rss: u64,
    /// CPU seconds of incarnations that ended (crashed), plus the current one's last report.
    pub(crate) cpu_done: f64,
    pub(crate) cpu_now: f64,
    /// The current incarnation (pid and start), as it reported it: a restart is a new one.
    pub(crate) incarnation: Option<String>,
}

/// Programs in other processes, driven through their control APIs.
pub(crate) struct Remote {
    pub(crate) endpoints: Endpoints,
    pub(crate) jc: Arc<RemoteJobcenter>,
    pub(crate) state_dir: PathBuf,
    /// What the programs' admin APIs require.
    pub(crate) admin_token: Option<String>,
    controls: BTreeMap<Program, ProgramControl>,
    client: AdminClient,
    /// For health samples: a paused program must not hold the runner for minutes.
    quick: AdminClient,
    spawned: Option<Mutex<Spawned>>,
    /// Outages made and not yet ended.
    active: Mutex<std::collections::BTreeSet<(Program, FaultKind)>>,
    costs: Mutex<BTreeMap<Program, Cost>>,
}

/// How the programs run: in their own processes started here, or already running elsewhere.
pub(crate) enum Where {
    /// `--processes`: `sim serve` children of this run on free ports under `state_dir`.
    Processes,
    /// `--ecosystem FILE`.
    File(EcosystemFile),
}

/// The order programs are (re)started in: STAR first, the platform's job may call it at once.
const ORDER: [Program; 4] = [Program::Star, Program::Sp, Program::Ksd, Program::Jobcenter];

impl Remote {
    /// Reaches (or starts) the programs, and checks that every outage the plan holds can be
    /// done to them — before anything is sent.
    pub(crate) async fn connect(
        place: Where,
        refdata: &RefData,
        state_dir: &Path,
        broker: Option<&str>,
        outages: &[sim_scenario::Crash],
    ) -> anyhow::Result<Remote> {
        let (file, spawned) = match place {
            Where::File(f) => (f, None),
            Where::Processes => {
                let (f, s) = spawn_all(refdata, state_dir, broker)?;
                (f, Some(Mutex::new(s)))
            }
        };
        let client =
            AdminClient::new(StdDuration::from_secs(120)).with_token(file.admin_token.clone());
        let mut controls = BTreeMap::new();
        for (name, c) in &file.programs {
            let p = Program::from_short_name(name)
                .with_context(|| format!("the ecosystem file's programs: {name}"))?;
            controls.insert(p, c.clone());
        }
        for p in ORDER {
            anyhow::ensure!(
                controls.contains_key(&p),
                "the ecosystem lists no '{}' (each of sp, ksd, jobcenter, star needs its control URL)",
                p.state_subdir()
            );
        }
        for o in outages {
            let p = super::crashes::program_of(&o.target)
                .with_context(|| format!("{}: not a program", o.rule))?;
            let c = &controls[&p];
            let missing = |argv: &Vec<String>, what: &str| -> anyhow::Result<()> {
                anyhow::ensure!(
                    !argv.is_empty() || spawned.is_some() && what != "partition",
                    "fault {} ({}): the ecosystem gives no `{what}` command for {}{}",
                    o.rule,
                    o.kind,
                    p.state_subdir(),
                    if spawned.is_some() {
                        " (programs started with --processes share this machine's network: a partition needs containers, --ecosystem)"
                    } else {
                        ""
                    }
                );
                Ok(())
            };
            match o.kind {
                FaultKind::Pause => {
                    missing(&c.pause, "pause")?;
                    missing(&c.resume, "resume")?;
                }
                FaultKind::Partition => {
                    missing(&c.partition, "partition")?;
                    missing(&c.heal, "heal")?;
                }
                _ => {
                    missing(&c.crash, "crash")?;
                    missing(&c.restart, "restart")?;
                }
            }
        }
        // Where the runner reaches them: the same derivation as theirs, from this side.
        let mut cfg = EcosystemConfig::new(&file.state_dir, refdata.clone());
        cfg.host = file.host;
        cfg.certs_dir = file.certs();
        for (p, c) in &controls {
            if let Some(h) = &c.host {
                cfg.hostnames.insert(*p, h.clone());
            }
        }
        cfg.ports = match file.port_base {
            Some(b) => Ports::from_base(refdata, b),
            None => Ports::defaults(refdata),
        };
        let endpoints = ecosystem::endpoints_of(&cfg)?;
        let jc = Arc::new(RemoteJobcenter::new(
            &endpoints.jobcenter_admin,
            client.clone(),
        ));
        let remote = Remote {
            endpoints,
            jc,
            admin_token: file.admin_token.clone(),
            state_dir: file.state_dir.clone(),
            controls,
            quick: AdminClient::new(StdDuration::from_secs(2)).with_token(file.admin_token.clone()),
            client,
            spawned,
            active: Mutex::new(std::collections::BTreeSet::new()),
            costs: Mutex::new(BTreeMap::new()),
        };
        for p in ORDER {
            remote.wait_healthy(p, StdDuration::from_secs(60)).await?;
        }
        Ok(remote)
    }

    /// Hands every program the run (the scenario, its overrides, the epoch): each restarts on
    /// fresh state with the configuration, clock and fault plan it derives from them. Every
    /// program is stopped first, so that no program of another run (or of `sim up`'s
    /// behaviour) talks to one of this run while the others start.
    pub(crate) async fn start_run(&self, run: &ProgramRun) -> anyhow::Result<()> {
        for p in ORDER.iter().rev() {
            let url = format!("{}/run", self.controls[p].control);
            let (status, answer) = self
                .client
                .delete(&url)
                .await
                .with_context(|| format!("{}: DELETE {url}", p.name()))?;
            anyhow::ensure!(
                status == 200,
                "{} did not stop ({status}): {answer}",
                p.name()
            );
        }
        let body = serde_json::to_value(run)?;
        for p in ORDER {
            let url = format!("{}/run", self.controls[&p].control);
            let (status, answer) = self
                .client
                .put(&url, &body)
                .await
                .with_context(|| format!("{}: PUT {url}", p.name()))?;
            anyhow::ensure!(
                status == 200,
                "{} refused the run ({status}): {}",
                p.name(),
                answer["error"].as_str().unwrap_or(&answer.to_string())
            );
        }
        let now_ms = (sim_store::Clock::real().now().unix_timestamp_nanos() / 1_000_000) as i64;
        if now_ms > run.epoch_unix_ms {
            tracing::warn!(
                late_ms = now_ms - run.epoch_unix_ms,
                "the programs took longer to start than the head start: the run's first virtual moments passed without traffic"
            );
        }
        Ok(())
    }

    /// A program's `/health`, asked with a short timeout (a paused program answers nothing).
    async fn health(&self, p: Program) -> Option<serde_json::Value> {
        let url = format!("{}/health", self.controls[&p].control);
        match self.quick.get(&url).await {
            Ok((200, h)) => Some(h),
            _ => None,
        }
    }

    /// Waits until a program's control API answers from an incarnation other than `not_this` (its
    /// process is up and its program started or resumed).
    async fn wait_healthy_new(
        &self,
        p: Program,
        not_this: Option<String>,
        within: StdDuration,
    ) -> anyhow::Result<()> {
        let began = Instant::now();
        loop {
            if let Some(h) = self.health(p).await {
                anyhow::ensure!(
                    h["program"].is_null() || h["program"] == p.name(),
                    "{}'s control URL answers as {}",
                    p.name(),
                    h["program"]
                );
                if not_this.is_none() || h["incarnation"].as_str() != not_this.as_deref() {
                    self.note_cost(p, &h).await;
                    return Ok(());
                }
            }
            if began.elapsed() > within {
                anyhow::bail!(
                    "{} did not answer its control API{} within {within:?}",
                    p.name(),
                    if not_this.is_some() {
                        " from a new process"
                    } else {
                        ""
                    }
                );
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }

    async fn wait_healthy(&self, p: Program, within: StdDuration) -> anyhow::Result<()> {
        self.wait_healthy_new(p, None, within).await
    }

    async fn note_cost(&self, p: Program, health: &serde_json::Value) {
        let mut costs = self.costs.lock().await;
        let c = costs.entry(p).or_default();
        if let Some(rss) = health["peak_rss_bytes"].as_u64() {
            c.peak_rss = c.peak_rss.max(rss);
        }
        if let Some(cpu) = health["cpu_seconds"].as_f64() {
            c.cpu_now = cpu;
        }
        if let Some(i) = health["incarnation"].as_str() {
            c.incarnation = Some(i.to_string());
        }
    }

    /// Reads every program's memory and CPU now.
    pub(crate) async fn sample_costs(&self) {
        for p in ORDER {
            if let Some(h) = self.health(p).await {
                self.note_cost(p, &h).await;
            }
        }
    }

    /// What each program cost, by program.
    pub(crate) async fn costs(&self) -> BTreeMap<Program, Cost> {
        self.costs.lock().await.clone()
    }

    /// Takes a program down: `crash` (kill -9), `pause` (frozen) or `partition` (off the
    /// network). A crash is done when the old process no longer answers.
    pub(crate) async fn down(&self, kind: FaultKind, p: Program) -> anyhow::Result<()> {
        // The incarnation about to die: what it cost so far, and its pid.
        if let Some(h) = self.health(p).await {
            self.note_cost(p, &h).await;
        }
        if let Some(s) = &self.spawned {
            let mut s = s.lock().await;
            match kind {
                FaultKind::Pause => s.signal(p, "-STOP")?,
                _ => s.kill(p),
            }
        } else {
            let c = &self.controls[&p];
            let argv = match kind {
                FaultKind::Pause => &c.pause,
                FaultKind::Partition => &c.partition,
                _ => &c.crash,
            };
            run_command(argv).await?;
        }
        self.active.lock().await.insert((p, kind));
        if kind == FaultKind::Crash {
            {
                let mut costs = self.costs.lock().await;
                let c = costs.entry(p).or_default();
                c.cpu_done += std::mem::take(&mut c.cpu_now);
            }
            // `docker kill` returns before the container has exited.
            let began = Instant::now();
            while self.health(p).await.is_some() && began.elapsed() < StdDuration::from_secs(10) {
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Brings a program back after `down`: a crashed one is started again (it resumes the
    /// run from its files and the run file beside them) and waited for, as a new process.
    pub(crate) async fn up(&self, kind: FaultKind, p: Program) -> anyhow::Result<()> {
        let old_pid = self
            .costs
            .lock()
            .await
            .get(&p)
            .and_then(|c| c.incarnation.clone());
        if let Some(s) = &self.spawned {
            let mut s = s.lock().await;
            match kind {
                FaultKind::Pause => s.signal(p, "-CONT")?,
                _ => s.spawn(p)?,
            }
        } else {
            let c = &self.controls[&p];
            let argv = match kind {
                FaultKind::Pause => &c.resume,
                FaultKind::Partition => &c.heal,
                _ => &c.restart,
            };
            run_command(argv).await?;
        }
        self.active.lock().await.remove(&(p, kind));
        if kind == FaultKind::Crash {
            self.wait_healthy_new(p, old_pid, StdDuration::from_secs(60))
                .await?;
        }
        Ok(())
    }

    /// Ends every outage still in force (a run cut short between an outage and its end).
    async fn end_outages(&self) {
        let active: Vec<(Program, FaultKind)> = self.active.lock().await.iter().copied().collect();
        for (p, kind) in active {
            if let Err(e) = self.up(kind, p).await {
                tracing::warn!(program = p.name(), %kind, error = %format!("{e:#}"), "ending an outage");
            }
        }
    }

    /// Ends the run: every program stops (its files then hold still for the checkers) after
    /// its cost is read; the processes this run started end.
    /// Returns the faults their fault layers made (each process's since it last started).
    /// Every outage still in force is ended first; safe to call again (an error path).
    pub(crate) async fn stop(&self) -> anyhow::Result<Vec<super::TallyRow>> {
        self.end_outages().await;
        self.sample_costs().await;
        let mut rows = Vec::new();
        let mut first_err = None;
        for p in ORDER.iter().rev() {
            let url = format!("{}/run", self.controls[p].control);
            if let Ok((200, run)) = self.client.get(&url).await {
                if let Ok(r) = serde_json::from_value::<Vec<super::TallyRow>>(run["faults"].clone())
                {
                    rows.extend(r);
                }
            }
            match self.client.delete(&url).await {
                Ok((200, _)) => {}
                Ok((status, body)) => {
                    first_err.get_or_insert(anyhow::anyhow!("{}: {status} {body}", p.name()));
                }
                Err(e) => {
                    first_err.get_or_insert(e.context(format!("{}: DELETE {url}", p.name())));
                }
            }
        }
        if let Some(s) = &self.spawned {
            let mut s = s.lock().await;
            for p in ORDER {
                s.kill(p);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(rows),
        }
    }
}

/// Runs an outage command (no shell), failing with its output when it fails.
async fn run_command(argv: &[String]) -> anyhow::Result<()> {
    let (exe, args) = argv.split_first().context("an empty command")?;
    let (exe, args) = (exe.clone(), args.to_vec());
    let out = tokio::task::spawn_blocking(move || Command::new(&exe).args(&args).output())
        .await?
        .with_context(|| format!("running {argv:?}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{argv:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// Starts the four programs as `sim serve` children of this run, on free ports, and
/// describes them as an ecosystem file would.
fn spawn_all(
    refdata: &RefData,
    state_dir: &Path,
    broker: Option<&str>,
) -> anyhow::Result<(EcosystemFile, Spawned)> {
    let _ = std::fs::remove_dir_all(state_dir);
    std::fs::create_dir_all(state_dir)?;
    // Certificates first, once: the four would otherwise each wait on the lock.
    ecosystem::ensure_certs(&state_dir.join("certs"), refdata)?;
    let span = 5 + refdata.vendors.len() as u16 + 2 + 4;
    let base = free_span(span)?;
    let control_base = base + span - 4;
    let exe = std::env::current_exe().context("finding the sim executable")?;
    let mut args = BTreeMap::new();
    let mut programs = BTreeMap::new();
    for (i, p) in ORDER.iter().enumerate() {
        let control = control_base + i as u16;
        let mut a = vec![
            "serve".to_string(),
            p.state_subdir().to_string(),
            "--state-dir".into(),
            state_dir.display().to_string(),
            "--port-base".into(),
            base.to_string(),
            "--control-port".into(),
            control.to_string(),
            // Idle until the run is handed over: no STAR job on the real clock meanwhile.
            "--no-star".into(),
            "--parent-pid".into(),
            std::process::id().to_string(),
        ];
        if let Some(b) = broker {
            a.extend(["--broker".to_string(), b.to_string()]);
        }
        args.insert(*p, a);
        programs.insert(
            p.state_subdir().to_string(),
            ProgramControl {
                control: format!("http://127.0.0.1:{control}"),
                ..ProgramControl::default()
            },
        );
    }
    let logs = state_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut spawned = Spawned {
        exe,
        args,
        children: BTreeMap::new(),
        logs,
    };
    for p in ORDER {
        spawned.spawn(p)?;
    }
    let file = EcosystemFile {
        host: loopback(),
        port_base: Some(base),
        state_dir: state_dir.to_path_buf(),
        certs_dir: None,
        admin_token: None,
        programs,
    };
    Ok((file, spawned))
}

/// The first of `n` consecutive loopback ports that are free now (from a place that depends
/// on the process id, so concurrent runs seldom try the same ones).
fn free_span(n: u16) -> anyhow::Result<u16> {
    // Below Linux's ephemeral range (32768-60999): an outgoing connection cannot take a
    // port a restarted child must bind again.
    let start = 10_000 + (std::process::id() % 200) as u16 * 100;
    let mut base = start;
    for _ in 0..300 {
        let all_free =
            (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return Ok(base);
        }
        base = if base + 2 * n >= 32_000 {
            10_000
        } else {
            base + n + 3
        };
    }
    anyhow::bail!("no {n} consecutive free ports on 127.0.0.1")
}

/// The run the programs are handed, for this scenario text and these options.
pub(crate) fn program_run(
    text: &str,
    file: &str,
    seed: u64,
    speed: sim_scenario::Speed,
    epoch: OffsetDateTime,
) -> ProgramRun {
    ProgramRun {
        scenario: text.to_string(),
        file: file.to_string(),
        seed: Some(seed),
        speed: Some(speed.to_string()),
        epoch_unix_ms: (epoch.unix_timestamp_nanos() / 1_000_000) as i64,
    }
}
