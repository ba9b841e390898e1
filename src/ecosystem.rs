//! The whole ecosystem in one process: certificates, the three programs' configurations
//! derived from the reference data, and their start on real loopback sockets with mTLS.
//!
//! `sim up` uses it with the documented default ports; tests use it with port 0. Every
//! program runs the very code its own binary runs (`sim_sp::run`, `sim_ksd::run`,
//! `sim_jobcenter::run`); only the wiring lives here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use sim_certs::store::layout;
use sim_certs::PkiSpec;
use sim_kit::config::{Endpoint, IdentityFiles, Listeners, SystemRef};
use sim_store::Clock;
use tokio::net::TcpListener;
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

/// A running ecosystem.
pub struct Running {
    /// Where everything is.
    pub endpoints: Endpoints,
    /// The jobcenter vendors, in process: send updates and wait for receipts without HTTP.
    pub jobcenter: sim_jobcenter::Jobcenter,
    /// The platform's configuration (to run it elsewhere when `run_platform` is false).
    pub sp_config: sim_sp::Config,
    stop: sim_kit::shutdown::Trigger,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl Running {
    /// Stops all three programs gracefully and waits for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.fire();
        for (name, t) in self.tasks {
            t.await
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} failed"))?;
        }
        Ok(())
    }

    /// A future that completes when any program stops by itself (an error).
    pub fn programs(&mut self) -> &mut Vec<(&'static str, JoinHandle<anyhow::Result<()>>)> {
        &mut self.tasks
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

async fn bind(host: std::net::IpAddr, port: u16) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr} (is another `sim up` running?)"))
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

    let sp_l = Listeners {
        data: bind(cfg.host, cfg.ports.sp).await?,
        admin: bind(cfg.host, cfg.ports.sp_admin).await?,
    };
    let ksd_l = Listeners {
        data: bind(cfg.host, cfg.ports.ksd).await?,
        admin: bind(cfg.host, cfg.ports.ksd_admin).await?,
    };
    let mut vendor_l = BTreeMap::new();
    for v in &cfg.refdata.vendors {
        let port = cfg.ports.vendors.get(&v.instance).copied().unwrap_or(0);
        vendor_l.insert(v.instance.clone(), bind(cfg.host, port).await?);
    }
    let jc_admin = bind(cfg.host, cfg.ports.jobcenter_admin).await?;

    let url = |l: &TcpListener, path: &str| -> anyhow::Result<String> {
        Ok(format!("https://{}{path}", l.local_addr()?))
    };
    let http =
        |l: &TcpListener| -> anyhow::Result<String> { Ok(format!("http://{}", l.local_addr()?)) };
    let endpoints = Endpoints {
        sp_ksd_exposure: url(&sp_l.data, sim_wire::Port::Ksd.platform_path())?,
        sp_jc_exposure: url(&sp_l.data, sim_wire::Port::Jc.platform_path())?,
        sp_admin: http(&sp_l.admin)?,
        ksd: url(&ksd_l.data, sim_ksd::KSD_PATH)?,
        ksd_admin: http(&ksd_l.admin)?,
        vendors: vendor_l
            .iter()
            .map(|(k, l)| Ok((k.clone(), url(l, sim_jobcenter::JOBCENTER_PATH)?)))
            .collect::<anyhow::Result<_>>()?,
        jobcenter_admin: http(&jc_admin)?,
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

    let (stop, shutdown) = sim_kit::shutdown::Shutdown::new();
    let mut tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)> = Vec::new();
    if cfg.run_platform {
        let s = shutdown.wait();
        let c = sp_config.clone();
        tasks.push((
            "sim-sp",
            tokio::spawn(async move { Ok(sim_sp::run(sp_l, c, s).await?) }),
        ));
    } else {
        drop(sp_l);
    }
    let s = shutdown.wait();
    tasks.push((
        "sim-ksd",
        tokio::spawn(async move { Ok(sim_ksd::run(ksd_l, ksd_config, s).await?) }),
    ));
    let jl = sim_jobcenter::Listeners {
        vendors: vendor_l,
        admin: jc_admin,
    };
    let (jobcenter, serving) = sim_jobcenter::start(jl, jc_config, shutdown.wait()).await?;
    tasks.push((
        "sim-jobcenter",
        tokio::spawn(async move { Ok(serving.await??) }),
    ));
    std::fs::create_dir_all(&cfg.state_dir)?;
    std::fs::write(
        cfg.state_dir.join("ecosystem.json"),
        serde_json::to_string_pretty(&endpoints)?,
    )?;
    Ok(Running {
        endpoints,
        jobcenter,
        sp_config,
        stop,
        tasks,
    })
}
