//! `sim run SCENARIO`: run a scenario file, judge it, report; exit 0 only when every check and
//! expectation holds (1 when one does not, 2 when the scenario cannot be run).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sim::runner::{run_scenario, RunOptions};

/// Arguments of `sim run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file (YAML; see docs/scenario-schema.md).
    scenario: PathBuf,
    /// Replaces the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Replaces the scenario's speed: a factor (60 = an hour a minute) or `max`.
    #[arg(long)]
    speed: Option<String>,
    /// Write JUnit XML here (one test case per check and expectation).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the whole report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML page with plots here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Where the programs keep their state (wiped first); default: a directory under the
    /// system's temp dir, kept after the run for inspection.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Updates in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Run every program as a `sim serve` process of its own (started and stopped by this
    /// run; `crash` is a real `kill -9`, `pause` a SIGSTOP). Needs a speed factor, not `max`.
    #[arg(long, conflicts_with = "ecosystem")]
    processes: bool,
    /// Drive programs that are already running — `sim serve` processes or the compose
    /// containers — as FILE describes them (control URLs, state directory, the commands for
    /// crash, pause and partition; see docs/compose.md), or an `http://` URL serving it.
    /// Needs a speed factor, not `max`.
    #[arg(long, value_name = "FILE|URL")]
    ecosystem: Option<PathBuf>,
    /// `bar` (a live progress bar), `plain` (progress lines) or `auto` (bar on a terminal).
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Put your own system in a seat: `kmd-jc=https://host:port/path` (a vendor instance's
    /// receiver), `ksd=…`, `ky=…` (SF1690) or `platform=…`. Repeatable; replaces the scenario's seat of the same name. A run with a seat
    /// runs at speed 1 (your system keeps its own clock) and is graded rule by rule.
    #[arg(long, value_name = "NAME=URL")]
    seat: Vec<String>,
    /// A CA file (PEM) your system's server and client certificates chain to. Repeatable.
    #[arg(long, value_name = "FILE")]
    trust: Vec<PathBuf>,
    /// The system your seat is when it calls the platform by itself: `NAME=CVR[:UUID]` (so
    /// the updates it sends of its own accord are graded too).
    #[arg(long, value_name = "NAME=CVR[:UUID]")]
    seat_identity: Vec<String>,
    /// The simulator's certificates: made here if missing and kept across runs, so that your
    /// system trusts its CA once (default: a fresh set in the state directory).
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// The port of the platform's data plane (default: a free one): an outside KSD in the seat
    /// sends its business receipts to `https://127.0.0.1:PORT/service/JC/Sygefravaer/2`.
    #[arg(long)]
    platform_port: Option<u16>,
    /// Every simulated program on fixed ports from N: platform N and N+1 (admin), KSD N+2 and
    /// N+3 (admin), jobcenter admin N+4, vendor instances from N+5 (kmd-jc, schultz-jc,
    /// netcompany-jc): for an outside platform in the seat, which must know where they are.
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    /// RabbitMQ as the Beskedfordeler's broker (SF1612): `amqp://user:pass@host:port/BF`, a
    /// virtual host you made for it; its queues are named by the subscriptions' UUIDs, and KSD
    /// pulls from them directly. Default: the broker embedded in the platform.
    #[arg(long, value_name = "AMQP_URL")]
    broker: Option<String>,
}

/// `--seat` and `--seat-identity` as seats.
fn seats(args: &Args) -> anyhow::Result<Vec<sim_scenario::Seat>> {
    let mut out: Vec<sim_scenario::Seat> = Vec::new();
    for s in &args.seat {
        let Some((name, url)) = s.split_once('=') else {
            anyhow::bail!("--seat {s}: expected NAME=URL");
        };
        if !url.starts_with("https://") {
            anyhow::bail!(
                "--seat {s}: the URL must be https:// (the platform calls it over mutual TLS)"
            );
        }
        out.push(sim_scenario::Seat {
            name: name.to_string(),
            url: url.to_string(),
            trust: Vec::new(),
            identity: None,
        });
    }
    for s in &args.seat_identity {
        let Some((name, id)) = s.split_once('=') else {
            anyhow::bail!("--seat-identity {s}: expected NAME=CVR[:UUID]");
        };
        match out.iter_mut().find(|seat| seat.name == name) {
            Some(seat) => seat.identity = Some(id.to_string()),
            None => anyhow::bail!("--seat-identity {s}: no --seat {name}=URL given"),
        }
    }
    Ok(out)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn write(path: &Option<PathBuf>, text: String) -> anyhow::Result<()> {
    if let Some(p) = path {
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

/// Runs `sim run`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::init_tracing("error");
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sim run: reading {}: {e}", args.scenario.display());
            return Ok(ExitCode::from(2));
        }
    };
    let speed = match args.speed.as_deref().map(str::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("sim run: --speed: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Err(e) = sim_scenario::parse(&text) {
        eprintln!("sim run: {}: {e}", args.scenario.display());
        return Ok(ExitCode::from(2));
    }
    let interactive = match args.progress.as_str() {
        "bar" => Some(true),
        "plain" => Some(false),
        _ => None,
    };
    let file = args.scenario.display().to_string();
    let stem = args
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sim-run-{stem}-{}", std::process::id()))
    });
    let cli_seats = match seats(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sim run: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let scenario_dir = args
        .scenario
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let opts = RunOptions {
        file,
        seed: args.seed,
        speed,
        state_dir: state_dir.clone(),
        concurrency: args.concurrency,
        interactive,
        git_commit: git_commit(),
        seats: cli_seats,
        trust: args.trust.clone(),
        scenario_dir,
        certs_dir: args.certs.clone(),
        platform_port: args.platform_port,
        port_base: args.port_base,
        broker: args.broker.clone(),
        epoch: None,
        processes: args.processes,
        ecosystem: args.ecosystem.clone(),
    };
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(run_scenario(&text, &opts))?;
    println!("{}", sim_report::console::summary(&report));
    eprintln!("state (journals) kept in {}", state_dir.display());
    write(&args.junit, sim_report::junit::render(&report))?;
    write(&args.json, sim_report::json::render(&report))?;
    write(&args.html, sim_report::html::render(&report))?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
