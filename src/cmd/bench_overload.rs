//! `sim bench overload`: the platform, as its own process, offered far more than it serves.
//! See `bench.rs` for what is printed.

use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sim::ecosystem::{self, EcosystemConfig, Ports};
use sim::refdata::RefData;
use sim_kit::config::IdentityFiles;
use sim_kit::soap::SoapClient;
use sim_wire::Operation;

/// Resident memory of a process, from `/proc/<pid>/status` (Linux), in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The platform process; killed when dropped.
struct Platform(std::process::Child);

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What came back, by kind.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    shed: AtomicU64,
    other_fault: AtomicU64,
    error: AtomicU64,
    not_offered: AtomicU64,
    /// The first few transport errors, as examples.
    errors: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

pub(crate) fn run(rate: u32, seconds: u64, max_outstanding: usize) -> anyhow::Result<ExitCode> {
    let state = std::env::temp_dir().join(format!("sim-bench-overload-{}", std::process::id()));
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(drive(&state, rate, seconds, max_outstanding));
    let _ = std::fs::remove_dir_all(&state);
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn drive(
    state: &std::path::Path,
    rate: u32,
    seconds: u64,
    max_outstanding: usize,
) -> anyhow::Result<()> {
    let refdata = RefData::embedded()?;
    let mut cfg = EcosystemConfig::new(state, refdata.clone());
    cfg.ports = Ports::ephemeral();
    cfg.run_platform = false;
    let eco = ecosystem::start(cfg).await?;
    let platform = start_platform(&eco, state).await?;
    let senders = Arc::new(vendor_senders(&refdata, &eco.endpoints)?);
    let pid = platform.0.id();
    println!(
        "sim bench overload: {rate} updates/s offered for {seconds} s to the platform (pid {pid}), at most {max_outstanding} outstanding"
    );
    let memory = Memory::new(pid);
    let load = Load::new(max_outstanding)?;
    let started = Instant::now();
    let total = u64::from(rate) * seconds;
    load.offer(
        &senders,
        &eco.endpoints.sp_ksd_exposure,
        rate,
        total,
        &memory,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(10)).await;
    load.print(total, elapsed);
    memory.print();
    drop(platform);
    eco.stop().await?;
    Ok(())
}

/// Runs `sim-sp` (beside this binary) as its own process on the ecosystem's platform ports
/// and waits until its admin API answers.
async fn start_platform(
    eco: &ecosystem::Running,
    state: &std::path::Path,
) -> anyhow::Result<Platform> {
    let e = &eco.endpoints;
    let data = e
        .sp_ksd_exposure
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let admin = e.sp_admin.trim_start_matches("http://").to_string();
    let file = state.join("sp-config.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&eco.sp_config)?)?;
    let exe = std::env::current_exe()?.with_file_name("sim-sp");
    let child = Command::new(&exe)
        .args([
            "--config",
            &file.to_string_lossy(),
            "--listen",
            &data,
            "--admin",
            &admin,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| {
            anyhow::anyhow!(
                "starting {}: {err} (build it: cargo build --release)",
                exe.display()
            )
        })?;
    let platform = Platform(child);
    let health = format!("{}/health", e.sp_admin);
    let admin_client = sim::admin_client::AdminClient::new(Duration::from_secs(2));
    let up = Instant::now();
    while admin_client.get(&health).await.map(|r| r.0).ok() != Some(200) {
        anyhow::ensure!(
            up.elapsed() < Duration::from_secs(20),
            "the platform did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(platform)
}

/// One vendor's sender: its client and a document template (the contract's example update
/// for a municipality it serves) whose TransaktionIdentifikator is replaced per call.
struct Sender {
    client: SoapClient,
    doc: String,
    tid: String,
}

fn vendor_senders(refdata: &RefData, e: &ecosystem::Endpoints) -> anyhow::Result<Vec<Sender>> {
    let op = Operation::SendOpdateringFravaer;
    let mut senders = Vec::new();
    for v in &refdata.vendors {
        let m = refdata.municipalities_of(&v.instance)[0];
        let mut r = sim_wire::examples::request(op);
        r.authority_context = Some(sim_wire::AuthorityContext {
            municipality_cvr: m,
        });
        let doc =
            sim_wire::write_request(&r).replace(sim_wire::examples::MYNDIGHED, &m.to_string());
        let tid = sim_wire::examples::header()
            .transaktion_identifikator
            .to_string();
        let dir = &e.certs_dir;
        let id = IdentityFiles {
            cert: dir.join(format!("systems/{}.chain.pem", v.instance)),
            key: dir.join(format!("systems/{}.key.pem", v.instance)),
        };
        let http = sim_kit::config::client(
            &id,
            std::slice::from_ref(&e.root_ca),
            Duration::from_secs(30),
        )?;
        senders.push(Sender {
            client: SoapClient::new(http),
            doc,
            tid,
        });
    }
    Ok(senders)
}

/// Resident memory of the platform process and of this one: before, peak (sampled), after.
struct Memory {
    pid: u32,
    before: Option<f64>,
    me_before: Option<f64>,
    peak: std::sync::Mutex<(f64, f64)>,
    last: std::sync::Mutex<Instant>,
}

impl Memory {
    fn new(pid: u32) -> Memory {
        let (before, me_before) = (rss_mib(pid), rss_mib(std::process::id()));
        Memory {
            pid,
            before,
            me_before,
            peak: std::sync::Mutex::new((before.unwrap_or(0.0), me_before.unwrap_or(0.0))),
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Samples both at most every 500 ms.
    fn sample(&self) {
        let mut last = self.last.lock().expect("memory lock");
        if last.elapsed() < Duration::from_millis(500) {
            return;
        }
        *last = Instant::now();
        let mut peak = self.peak.lock().expect("memory lock");
        peak.0 = peak.0.max(rss_mib(self.pid).unwrap_or(0.0));
        peak.1 = peak.1.max(rss_mib(std::process::id()).unwrap_or(0.0));
    }

    fn print(&self) {
        let mib = |v: Option<f64>| v.map_or("n/a".to_string(), |m| format!("{m:.0} MiB"));
        let (peak, me_peak) = *self.peak.lock().expect("memory lock");
        println!(
            "RSS sim-sp: before {}, peak during {}, 10 s after {}",
            mib(self.before),
            mib(Some(peak)),
            mib(rss_mib(self.pid))
        );
        println!(
            "RSS of this process (KSD, the vendors, the generator): before {}, peak during {}, 10 s after {}",
            mib(self.me_before),
            mib(Some(me_peak)),
            mib(rss_mib(std::process::id()))
        );
    }
}

/// The open-loop load: what came back, by kind, with latencies.
struct Load {
    tally: Arc<Tally>,
    outstanding: Arc<tokio::sync::Semaphore>,
    answered_us: Arc<std::sync::Mutex<Histogram<u64>>>,
    shed_us: Arc<std::sync::Mutex<Histogram<u64>>>,
}

impl Load {
    fn new(max_outstanding: usize) -> anyhow::Result<Load> {
        Ok(Load {
            tally: Arc::default(),
            outstanding: Arc::new(tokio::sync::Semaphore::new(max_outstanding)),
            answered_us: Arc::new(std::sync::Mutex::new(Histogram::new(3)?)),
            shed_us: Arc::new(std::sync::Mutex::new(Histogram::new(3)?)),
        })
    }

    /// `total` calls at `rate` a second, open loop; an arrival finding `max_outstanding`
    /// calls outstanding is counted as not offered. Returns when every call is answered.
    async fn offer(
        &self,
        senders: &Arc<Vec<Sender>>,
        url: &str,
        rate: u32,
        total: u64,
        memory: &Memory,
    ) {
        let ids = sim_kit::ids::IdStream::new(7, "bench/overload", 1);
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..total {
            let due = started + Duration::from_secs_f64(n as f64 / f64::from(rate));
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
            memory.sample();
            while tasks.try_join_next().is_some() {}
            let Ok(permit) = self.outstanding.clone().try_acquire_owned() else {
                self.tally.not_offered.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let i = n as usize % senders.len();
            let body = senders[i]
                .doc
                .replace(&senders[i].tid, &ids.next_uuid().to_string());
            let (senders, url) = (Arc::clone(senders), url.to_string());
            let (tally, answered, shed) = (
                self.tally.clone(),
                self.answered_us.clone(),
                self.shed_us.clone(),
            );
            tasks.spawn(async move {
                let op = Operation::SendOpdateringFravaer;
                let t0 = Instant::now();
                let reply = senders[i].client.call(&url, &op.soap_action(), body).await;
                tally.record(reply, t0.elapsed().as_micros() as u64, &answered, &shed);
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {
            memory.sample();
        }
    }

    fn print(&self, total: u64, elapsed: f64) {
        let t = &self.tally;
        let count = |a: &AtomicU64| a.load(Ordering::Relaxed);
        println!(
            "in {elapsed:.1} s: offered {} (not offered, generator at its limit: {}), answered with a TransportKvittering {} ({:.0}/s), shed with SP-4 {} ({:.0}/s), other faults {}, transport errors {}",
            total - count(&t.not_offered),
            count(&t.not_offered),
            count(&t.answered),
            count(&t.answered) as f64 / elapsed,
            count(&t.shed),
            count(&t.shed) as f64 / elapsed,
            count(&t.other_fault),
            count(&t.error),
        );
        for (kind, n) in t.errors.lock().expect("errors").iter() {
            println!("  transport error x{n}: {kind}");
        }
        super::bench::report(
            "answered, call to TransportKvittering",
            &self.answered_us.lock().expect("histogram"),
        );
        super::bench::report(
            "shed, call to SP-4 fault",
            &self.shed_us.lock().expect("histogram"),
        );
    }
}

impl Tally {
    /// Counts one call's outcome (and its latency in microseconds, for the two kinds timed).
    fn record(
        &self,
        reply: Result<sim_kit::soap::SoapReply, sim_kit::client::ClientError>,
        us: u64,
        answered: &std::sync::Mutex<Histogram<u64>>,
        shed: &std::sync::Mutex<Histogram<u64>>,
    ) {
        match reply {
            Ok(r) if r.transport_kvittering().is_some() => {
                self.answered.fetch_add(1, Ordering::Relaxed);
                let _ = answered.lock().expect("histogram").record(us);
            }
            Ok(r)
                if r.fault()
                    .is_some_and(|f| f.fault_string.contains("overloaded")) =>
            {
                self.shed.fetch_add(1, Ordering::Relaxed);
                let _ = shed.lock().expect("histogram").record(us);
            }
            Ok(_) => {
                self.other_fault.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.error.fetch_add(1, Ordering::Relaxed);
                let mut kinds = self.errors.lock().expect("errors");
                let key: String = e.to_string().chars().take(80).collect();
                if kinds.len() < 8 || kinds.contains_key(&key) {
                    *kinds.entry(key).or_default() += 1;
                }
            }
        }
    }
}
