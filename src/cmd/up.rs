//! `sim up`: the whole ecosystem with one command — certificates if missing, then the
//! platform (with its STAR job and Beskedfordeler), KSD, the jobcenter vendors and STAR over
//! real loopback mTLS, until Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sim::ecosystem::{self, EcosystemConfig, Endpoints};
use sim::refdata::RefData;
use sim_store::Clock;

/// Arguments of `sim up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// State directory: certificates, each program's SQLite file, `ecosystem.json`.
    #[arg(long, default_value = ".sim")]
    state_dir: PathBuf,
    /// Seed of every id stream and every generated value. Without it each start takes a fresh
    /// one from the clock; either way it is printed and written to `ecosystem.json`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// KSD's delay before it sends the business receipt, in milliseconds.
    #[arg(long, default_value_t = 0)]
    receipt_delay_ms: u64,
    /// Bind every port to 0 (free ports) instead of the documented defaults.
    #[arg(long)]
    ephemeral_ports: bool,
    /// Give a seat to your own system: `kmd-jc=https://host:port/path` (a vendor instance's
    /// receiver), `ksd=https://host:port/path` (KSD's receiver), `ky=https://host:port/path`
    /// (KY's receiver, SF1690), `star=https://host:port/path` (STAR's WsrmService, SF1612:
    /// the platform's job fetches from it) or `platform=https://host:port` (your platform's
    /// exposures under that base). Repeatable.
    #[arg(long, value_name = "NAME=URL")]
    seat: Vec<String>,
    /// A CA file (PEM) your system's certificates chain to; trusted for its server and client
    /// certificates. Repeatable.
    #[arg(long, value_name = "FILE")]
    trust: Vec<PathBuf>,
    /// The system allowed to call the JC exposure as KSD, when your KSD takes the seat:
    /// `CVR` or `CVR:UUID` of its certificate.
    #[arg(long, value_name = "CVR[:UUID]")]
    ksd_system: Option<String>,
    /// A bearer token every program's admin API then requires (all but /health); `sim send`
    /// must be given the same.
    #[arg(long, value_name = "TOKEN")]
    admin_token: Option<String>,
    /// Journal retention for a long-running ecosystem: every program deletes journal rows
    /// older than this many hours (virtual time), checked every minute. Off by default.
    #[arg(long, value_name = "HOURS")]
    journal_max_age_hours: Option<u64>,
    /// Journal retention: every program keeps at most this many journal rows (the newest).
    #[arg(long, value_name = "ROWS")]
    journal_max_rows: Option<u64>,
    /// RabbitMQ as the Beskedfordeler's broker (SF1612): `amqp://user:pass@host:port/BF`;
    /// default: the broker embedded in the platform.
    #[arg(long, value_name = "AMQP_URL")]
    broker: Option<String>,
    /// Start without STAR and the platform's STAR job (SF1612).
    #[arg(long)]
    no_star: bool,
}

/// Prints what a vendor needs to point a real system at the ecosystem.
pub fn print_endpoints(e: &Endpoints, refdata: &RefData, state_dir: &Path, seed: u64) {
    println!(
        "Simulated Sygefravaer ecosystem is up (state: {})",
        state_dir.display()
    );
    println!("seed: {seed} (pass --seed {seed} to reproduce)\n");
    if e.seats.contains_key(sim::ecosystem::wiring::PLATFORM_SEAT) {
        println!("Platform: an outside system takes the seat");
    } else {
        println!("Platform (Serviceplatformen)");
    }
    println!(
        "  KSD exposure, jobcenters send here:  {}",
        e.sp_ksd_exposure
    );
    println!(
        "  JC exposure, KSD sends here:         {}",
        e.sp_jc_exposure
    );
    println!(
        "  KY exposure, SF1690 to KY:            {}",
        e.sp_ky_exposure
    );
    println!("  admin:                               {}", e.sp_admin);
    if e.seats.contains_key(sim::ecosystem::wiring::KSD_SEAT) {
        println!("KSD: an outside system takes the seat");
        println!("  receiver (ModtagOpdateringFravaer):  {}", e.ksd);
    } else {
        println!("KSD");
        println!("  receiver (ModtagOpdateringFravaer):  {}", e.ksd);
        println!("  KY's receiver (SF1690):              {}", e.ky);
        println!("  admin:                               {}", e.ksd_admin);
    }
    if !e.star.is_empty() {
        println!("STAR (DFDG), SF1612's source; the platform's job fetches every 10 minutes");
        println!("  WsrmService:                         {}", e.star);
        if !e.star_admin.is_empty() {
            println!("  admin:                               {}", e.star_admin);
        }
        println!("  Beskedfordeler (value lists, pull):  {}", e.sp_bf);
    }
    println!("Jobcenter vendor solutions (admin {})", e.jobcenter_admin);
    for (instance, url) in &e.vendors {
        let seat = if e.seats.contains_key(instance) {
            ", an outside system takes the seat"
        } else {
            ""
        };
        println!(
            "  {instance:<15} {url}   ({} municipalities{seat})",
            refdata.municipalities_of(instance).len()
        );
    }
    if !e.seats.is_empty() {
        println!("Seats taken by outside systems (also in ecosystem.json, \"seats\")");
        for (seat, url) in &e.seats {
            println!("  {seat:<15} {url}");
        }
    }
    println!("Certificates: {}", e.certs_dir.display());
    println!("  trust anchor:       {}", e.root_ca.display());
    println!(
        "  KOMBIT (calls you): {}",
        sim_certs::store::layout::system(&e.certs_dir, "kombit")
            .chain
            .display()
    );
    println!("  your own system:    sim certs issue --cvr <CVR> --name <name>");
    println!(
        "  your seat's HTTPS:  sim certs issue --server --name <name> --dns <host> --ip <addr>"
    );
    println!("\nTry `sim send` in another terminal. Stop with Ctrl-C.");
}

/// Runs `sim up`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::init_tracing("warn,sim_sp=info,sim_ksd=info,sim_jobcenter=info");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let refdata = RefData::embedded()?;
        let mut cfg = EcosystemConfig::new(&args.state_dir, refdata.clone());
        cfg.seed = args.seed.unwrap_or_else(|| fresh_seed(&cfg.clock));
        cfg.receipt_delay_ms = args.receipt_delay_ms;
        cfg.admin_token.clone_from(&args.admin_token);
        cfg.journal_retention = sim_store::Retention {
            max_age_hours: args.journal_max_age_hours,
            max_rows: args.journal_max_rows,
        };
        if args.ephemeral_ports {
            cfg.ports = ecosystem::Ports::ephemeral();
        }
        // SF1612: STAR's 90,000 statuses a month (KSD-13) at real time, the job every 10
        // minutes, KSD pulling; `--no-star` leaves them out.
        if !args.no_star {
            cfg.star = Some(sim_star::EventsConfig {
                seed: cfg.seed,
                ..sim_star::EventsConfig::default()
            });
        }
        cfg.bf_amqp.clone_from(&args.broker);
        for seat in &args.seat {
            let (name, url) = seat.split_once('=').ok_or_else(|| anyhow::anyhow!("--seat {seat}: expected NAME=URL"))?;
            anyhow::ensure!(url.starts_with("https://"), "--seat {seat}: the URL must be https://");
            if name == "ksd" {
                cfg.ksd_url = Some(url.to_string());
            } else if name == sim::ecosystem::wiring::PLATFORM_SEAT {
                // An outside platform between the simulated vendors and KSD: they call its
                // exposures under this base URL; the simulated platform is not started.
                cfg.platform_url = Some(url.trim_end_matches('/').to_string());
                cfg.run_platform = false;
            } else if name == sim::ecosystem::wiring::STAR_SEAT {
                // An outside STAR (SF1612): the platform's job calls its WsrmService here.
                // TODO(rule SP-10): `sim run` does not yet grade an outside STAR rule by rule.
                cfg.star_url = Some(url.to_string());
            } else if name == sim::ecosystem::wiring::KY_SEAT {
                // An outside KY (SF1690) behind the platform's KY exposure.
                cfg.ky_url = Some(url.to_string());
            } else if refdata.vendors.iter().any(|v| v.instance == name) {
                cfg.instance_urls.insert(name.to_string(), url.to_string());
            } else {
                anyhow::bail!("--seat {seat}: '{name}' is neither ksd, platform, ky, star nor a vendor instance of scenarios/vendors.csv");
            }
        }
        cfg.extra_server_trust.clone_from(&args.trust);
        cfg.extra_client_trust.clone_from(&args.trust);
        if let Some(s) = &args.ksd_system {
            let (cvr, uuid) = match s.split_once(':') {
                Some((c, u)) => (c.to_string(), Some(u.to_string())),
                None => (s.clone(), None),
            };
            cvr.parse::<sim_wire::Cvr>().map_err(|e| anyhow::anyhow!("--ksd-system: {e}"))?;
            cfg.ksd_system = Some(sim_kit::config::SystemRef { cvr, uuid });
        }
        let seed = cfg.seed;
        let running = ecosystem::start(cfg).await?;
        print_endpoints(&running.endpoints, &refdata, &args.state_dir, seed);
        let failed = tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            name = running.any_stopped() => Some(name),
        };
        if let Some(name) = failed {
            eprintln!("sim up: {name} stopped unexpectedly; stopping the others");
        }
        running.stop().await?;
        Ok(if failed.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// The seed of a start without `--seed`: the clock's time in microseconds since 1970.
///
/// Every fresh ecosystem must draw other TransaktionIdentifikatorer than the last one did:
/// a real receiver that keeps its database across runs would otherwise see a new run's
/// messages as duplicates of the old run's. The time is read through the project's one
/// [`Clock`] (ARCHITECTURE: nothing else reads the wall clock; sim-seed: no OS entropy), and
/// the seed is printed and recorded, so any run can be repeated with `--seed`.
/// Microseconds keep two starts apart and stay below 2^53 (until the year 2255), so the
/// number survives a JSON reader that holds numbers as doubles (JavaScript, older jq).
fn fresh_seed(clock: &Clock) -> u64 {
    u64::try_from(clock.now().unix_timestamp_nanos() / 1_000).unwrap_or_default()
}
