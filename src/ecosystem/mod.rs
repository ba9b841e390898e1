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
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use sim_certs::PkiSpec;
use sim_kit::config::SystemRef;
use sim_store::Clock;
use tokio::sync::watch;

use crate::refdata::RefData;

pub mod hosting;
pub mod wiring;

pub use hosting::{Control, Crashed, JobcenterSlot, Running};
use hosting::{Programs, SlotState};
use wiring::Addrs;

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
    /// STAR's services (mTLS; SF1612).
    pub star: u16,
    /// STAR's admin API.
    pub star_admin: u16,
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
            star: 8442,
            star_admin: 8083,
        }
    }

    /// The same layout as [`Ports::defaults`] from `base` on: platform data plane and admin
    /// at `base`, `base+1`, KSD at `base+2`, `base+3`, the jobcenter admin at `base+4`, the
    /// vendor instances from `base+5`, STAR's services and admin API after them (for an outside
    /// system that must know them in advance).
    pub fn from_base(refdata: &RefData, base: u16) -> Ports {
        let after = base + 5 + refdata.vendors.len() as u16;
        Ports {
            star: after,
            star_admin: after + 1,
            sp: base,
            sp_admin: base + 1,
            ksd: base + 2,
            ksd_admin: base + 3,
            jobcenter_admin: base + 4,
            vendors: refdata
                .vendors
                .iter()
                .enumerate()
                .map(|(i, v)| (v.instance.clone(), base + 5 + i as u16))
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
            star: 0,
            star_admin: 0,
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
    /// KSD-9's duration rule for KSD's cases (limit, extension request lead, event
    /// acknowledgement timeout).
    pub ksd_duration: sim_ksd::DurationRule,
    /// How a vendor instance acknowledges SF2090 events and answers SF2093 requests, by
    /// instance; one not named behaves as `VendorPolicy::default()`.
    pub vendor_policies: BTreeMap<String, sim_jobcenter::VendorPolicy>,
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
    /// The base URL of an outside platform in the platform's seat (`https://host:port`): the
    /// vendors and KSD call its two exposures instead of the simulated platform's, which is
    /// not started.
    pub platform_url: Option<String>,
    /// KSD's receiver URL, replacing the simulated KSD's (a real KSD takes the seat): the
    /// platform calls it and the simulated KSD is not started.
    pub ksd_url: Option<String>,
    /// KY's receiver URL (SF1690), replacing the simulated KY of the KSD program's (a real
    /// KY takes the seat): the platform's KY exposure forwards to it.
    pub ky_url: Option<String>,
    /// STAR's event stream (SF1612): `Some` starts the simulated STAR with it (unless an outside
    /// STAR takes the seat) and the platform's job (SP-10); `None`: no STAR in the ecosystem.
    pub star: Option<sim_star::EventsConfig>,
    /// STAR's `WsrmService` URL, replacing the simulated STAR's (an outside STAR takes the seat).
    pub star_url: Option<String>,
    /// The platform's STAR job period (SP-10), virtual milliseconds.
    pub star_job_every_ms: u64,
    /// STAR's own injected faults (a fetch cut after k events).
    pub star_faults: sim_star::StarFaultHook,
    /// How long STAR keeps a sequence open (virtual ms); `None`: three job periods, at least
    /// 15 minutes. A scenario at speed `max` sets a day: there the clock runs with the traffic,
    /// hours per real second, so one run of the job spans far more than its period.
    pub star_sequence_timeout_ms: Option<u64>,
    /// RabbitMQ as the Beskedfordeler's broker (`--broker amqp://…/BF`); none: embedded.
    pub bf_amqp: Option<String>,
    /// How KSD takes STAR's statuses from the Beskedfordeler (BF-2): pull or push.
    pub star_delivery: sim_ksd::Sf1612Delivery,
    /// Who may call the JC exposure as KSD (default: the simulated KSD's certificate).
    pub ksd_system: Option<SystemRef>,
    /// More service agreements (SP-5): an outside jobcenter system in a vendor's seat may send
    /// updates for that instance's municipalities with its own certificate.
    pub extra_agreements: Vec<(SystemRef, String)>,
    /// Fault injection for all three programs (scenario runs).
    pub faults: sim_kit::faults::Faults,
    /// Injected vendor misbehaviour towards KSD's events and extension requests (scenario
    /// runs), given to the jobcenter program.
    pub vendor_faults: sim_jobcenter::VendorFaults,
    /// The longest wait between a vendor's background resends of one update (JC-1; virtual
    /// milliseconds).
    pub resend_max_backoff_ms: u64,
    /// The platform's in-flight limit overall and per calling system (past them it sheds).
    pub max_in_flight: usize,
    /// See `max_in_flight`.
    pub max_in_flight_per_caller: usize,
    /// How much journal every program keeps (`sim up --journal-max-age-hours`); off by
    /// default and always off in scenario runs, whose checkers read whole journals.
    pub journal_retention: sim_store::Retention,
    /// The bearer token every program's admin API requires (`sim up --admin-token`).
    pub admin_token: Option<String>,
    /// How often a vendor sends an update before it gives up for this run (JC-1).
    pub max_send_attempts: u32,
    /// How long any program waits for an answer (milliseconds).
    pub call_timeout_ms: u64,
    /// Host only this program (`sim serve`): the others run in other processes or containers
    /// on the configured ports (which must then be fixed), so their sockets are not bound
    /// here, only their addresses derived.
    pub only: Option<Program>,
    /// The host name each program's peers use in its URLs (compose service names); default:
    /// its bound address.
    pub hostnames: BTreeMap<Program, String>,
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
            ksd_duration: sim_ksd::DurationRule::default(),
            vendor_policies: BTreeMap::new(),
            clock: Clock::real(),
            run_platform: true,
            instance_urls: BTreeMap::new(),
            extra_server_trust: Vec::new(),
            extra_client_trust: Vec::new(),
            ksd_url: None,
            ky_url: None,
            star: None,
            star_url: None,
            star_job_every_ms: 10 * 60 * 1000,
            star_faults: sim_star::StarFaultHook::default(),
            star_sequence_timeout_ms: None,
            bf_amqp: None,
            star_delivery: sim_ksd::Sf1612Delivery::Pull,
            ksd_system: None,
            platform_url: None,
            extra_agreements: Vec::new(),
            faults: sim_kit::faults::Faults::none(),
            vendor_faults: sim_jobcenter::VendorFaults::none(),
            max_send_attempts: 5,
            call_timeout_ms: 10_000,
            resend_max_backoff_ms: 300_000,
            max_in_flight: sim_kit::limits::Shedding::default().max_in_flight,
            max_in_flight_per_caller: sim_kit::limits::Shedding::default().max_in_flight_per_caller,
            journal_retention: sim_store::Retention::default(),
            admin_token: None,
            only: None,
            hostnames: BTreeMap::new(),
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
    /// The platform's KY exposure (SF1690): where a jobcenter sends its eight
    /// `KontanthjaelpServiceKY` messages.
    #[serde(default)]
    pub sp_ky_exposure: String,
    /// The platform's Beskedfordeler service (SF1612): value lists and the embedded broker's
    /// pull.
    #[serde(default)]
    pub sp_bf: String,
    /// The platform's admin API.
    pub sp_admin: String,
    /// KSD's receiver port (the seat's URL when an outside KSD takes it).
    pub ksd: String,
    /// KSD's admin API (empty when an outside KSD takes the seat).
    pub ksd_admin: String,
    /// KY's receiver port (SF1690), in the simulated KSD program; empty when an outside KSD
    /// takes KSD's seat (there is then no KY, and the platform refuses KY calls with SP-4).
    #[serde(default)]
    pub ky: String,
    /// Each vendor instance's receiver port.
    pub vendors: BTreeMap<String, String>,
    /// The jobcenter process's admin API.
    pub jobcenter_admin: String,
    /// The certificate directory.
    pub certs_dir: PathBuf,
    /// The trust anchor to add to a real system.
    pub root_ca: PathBuf,
    /// The seats outside systems take, by seat name (`ksd` or a vendor instance) → the URL the
    /// platform calls instead of the simulated program's.
    #[serde(default)]
    pub seats: BTreeMap<String, String>,
    /// The seed every id stream of this ecosystem derives from: what repeats its messages.
    #[serde(default)]
    pub seed: u64,
    /// STAR's `WsrmService` (SF1612): where the platform's job starts its sequences (the seat's
    /// URL when an outside STAR takes it); empty without STAR.
    #[serde(default)]
    pub star: String,
    /// STAR's admin API (empty for an outside STAR or none).
    #[serde(default)]
    pub star_admin: String,
}

/// One of the four programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Program {
    /// The platform, `sim-sp`.
    Sp,
    /// KSD, `sim-ksd`.
    Ksd,
    /// The jobcenter vendors, `sim-jobcenter`.
    Jobcenter,
    /// STAR's DFDG, `sim-star` (SF1612).
    Star,
}

impl Program {
    /// The program's name, as its binary is called.
    pub fn name(self) -> &'static str {
        match self {
            Program::Sp => "sim-sp",
            Program::Ksd => "sim-ksd",
            Program::Jobcenter => "sim-jobcenter",
            Program::Star => "sim-star",
        }
    }

    /// A program by the short name its state directory, `--host` and ecosystem files use
    /// (`sp`, `ksd`, `jobcenter`, `star`).
    pub fn from_short_name(name: &str) -> anyhow::Result<Program> {
        [Program::Sp, Program::Ksd, Program::Jobcenter, Program::Star]
            .into_iter()
            .find(|p| p.state_subdir() == name)
            .with_context(|| format!("'{name}' is none of sp, ksd, jobcenter, star"))
    }

    /// The program's directory under the ecosystem's state root.
    pub fn state_subdir(self) -> &'static str {
        match self {
            Program::Sp => "sp",
            Program::Ksd => "ksd",
            Program::Jobcenter => "jobcenter",
            Program::Star => "star",
        }
    }
}

/// Makes the ecosystem's certificates in `dir` if missing (idempotent) and returns their
/// layout. Certificates are checked against the real time by every TLS stack (ours and an
/// outside system's), whatever the run's virtual time: made at the scenario's virtual start
/// they could be not yet valid, or renewed on every run under an outside system that trusts
/// the CA it was given once.
pub fn ensure_certs(dir: &Path, refdata: &RefData) -> anyhow::Result<PkiSpec> {
    let spec = PkiSpec::standard(&refdata.vendors, false);
    let now = Clock::real().now();
    sim_certs::store::ensure(
        dir,
        &spec,
        sim_certs::OffsetDateTime::from_unix_timestamp(now.unix_timestamp())?,
        false,
    )
    .with_context(|| format!("making certificates in {}", dir.display()))?;
    Ok(spec)
}

/// Where every program of an ecosystem whose programs run elsewhere (`sim serve`) is reached
/// from here: the wiring's endpoints for `cfg.host` and `cfg.ports`, which must be fixed.
pub fn endpoints_of(cfg: &EcosystemConfig) -> anyhow::Result<Endpoints> {
    let spec = PkiSpec::standard(&cfg.refdata.vendors, false);
    let at = |port: u16| -> anyhow::Result<SocketAddr> {
        anyhow::ensure!(port != 0, "programs in other processes need fixed ports");
        Ok(SocketAddr::new(cfg.host, port))
    };
    let addrs = addresses(cfg, |_, port| at(port))?;
    Ok(wiring::derive(cfg, &spec, &addrs)?.endpoints)
}

/// Every simulated program's addresses, each from `at(program, port)` (binding it, or only
/// naming another process's): no KSD when an outside KSD takes the seat, STAR only when the
/// ecosystem has a simulated one.
fn addresses(
    cfg: &EcosystemConfig,
    mut at: impl FnMut(Program, u16) -> anyhow::Result<SocketAddr>,
) -> anyhow::Result<Addrs> {
    Ok(Addrs {
        sp: (
            at(Program::Sp, cfg.ports.sp)?,
            at(Program::Sp, cfg.ports.sp_admin)?,
        ),
        ksd: match cfg.ksd_url {
            Some(_) => None,
            None => Some((
                at(Program::Ksd, cfg.ports.ksd)?,
                at(Program::Ksd, cfg.ports.ksd_admin)?,
            )),
        },
        vendors: cfg
            .refdata
            .vendors
            .iter()
            .map(|v| {
                let port = cfg.ports.vendors.get(&v.instance).copied().unwrap_or(0);
                Ok((v.instance.clone(), at(Program::Jobcenter, port)?))
            })
            .collect::<anyhow::Result<_>>()?,
        jobcenter_admin: at(Program::Jobcenter, cfg.ports.jobcenter_admin)?,
        star: match (&cfg.star, &cfg.star_url) {
            (Some(_), None) => Some((
                at(Program::Star, cfg.ports.star)?,
                at(Program::Star, cfg.ports.star_admin)?,
            )),
            _ => None,
        },
    })
}

/// Makes certificates if missing, binds every socket of the simulated programs, derives their
/// configurations ([`wiring::derive`]) and starts them ([`hosting`]).
pub async fn start(cfg: EcosystemConfig) -> anyhow::Result<Running> {
    sim_kit::install_crypto_provider();
    let spec = ensure_certs(&cfg.certs_dir, &cfg.refdata)?;

    // Bound once here (port 0 picks a free one); a program restarted after a crash binds the
    // same address again. A seat taken by an outside system binds nothing (its port may be the
    // outside system's own).
    let mut prebound = BTreeMap::new();
    let mut bind = |program: Program, port: u16| -> anyhow::Result<SocketAddr> {
        let addr = SocketAddr::new(cfg.host, port);
        if cfg.only.is_some_and(|o| o != program) {
            // Another process's socket: only its address matters here.
            anyhow::ensure!(
                port != 0,
                "{} runs in another process: its ports must be fixed, not 0",
                program.name()
            );
            return Ok(addr);
        }
        let l = hosting::bind_now(addr)
            .with_context(|| format!("binding {addr} (is another `sim up` running?)"))?;
        let bound = l.local_addr()?;
        prebound.insert(bound, l);
        Ok(bound)
    };
    let addrs = addresses(&cfg, &mut bind)?;
    let w = wiring::derive(&cfg, &spec, &addrs)?;
    for (seat, url) in &w.endpoints.seats {
        tracing::info!(seat, url, "an outside system takes the seat");
    }

    let hosts = |p: Program| cfg.only.is_none_or(|o| o == p);
    let (slot_tx, slot_rx) = watch::channel(SlotState::Down);
    let mut programs = Programs {
        addrs,
        prebound,
        sp: (cfg.run_platform && hosts(Program::Sp)).then(|| w.sp.clone()),
        ksd: w.ksd.filter(|_| hosts(Program::Ksd)),
        jobcenter: hosts(Program::Jobcenter).then_some(w.jobcenter),
        star: w.star.filter(|_| hosts(Program::Star)),
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
    // STAR first: the platform's job may call it at once.
    for p in [Program::Star, Program::Sp, Program::Ksd, Program::Jobcenter] {
        programs.start(p, false).await?;
    }
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::write(
        cfg.state_dir.join("ecosystem.json"),
        serde_json::to_string_pretty(&w.endpoints)?,
    )?;
    Ok(Running {
        endpoints: w.endpoints,
        sp_config: w.sp,
        control: Control(Arc::new(tokio::sync::Mutex::new(programs))),
        slot: JobcenterSlot(slot_rx),
    })
}
