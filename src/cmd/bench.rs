//! `sim bench`: measured figures, printed; never asserted in tests.
//!
//! `sim bench sf2095` starts the whole ecosystem in this process on loopback (mTLS, SQLite,
//! KSD's receipt delay 0) in a temporary state directory and measures:
//! 1. round-trip latency, one update at a time: update sent → business receipt stored at the
//!    vendor, as p50/p90/p99/max;
//! 2. throughput with all vendors sending: `--concurrency` closed-loop senders for `--seconds`,
//!    each waiting for its business receipt before the next update; reports round trips per
//!    second and the latency under load.
//!
//! `sim bench overload` runs the platform as its own process (`sim-sp`, beside this binary)
//! and offers it `--rate` valid updates per second, open loop, from the three vendors'
//! certificates for `--seconds`: how many were answered, how many shed (SP-4, at once), how
//! fast each kind came back, and the platform's resident memory before, at its peak during
//! and after the load (from `/proc`), next to this process's (KSD, the vendors and the load
//! generator).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use sim::ecosystem::{self, EcosystemConfig, Ports};
use sim::refdata::RefData;
use sim_jobcenter::{UpdateSpec, UpdateStatus};

/// Arguments of `sim bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// SF2095 round trips through platform and KSD and back.
    Sf2095 {
        /// Sequential round trips for the latency figure.
        #[arg(long, default_value_t = 300)]
        samples: u32,
        /// Length of the throughput phase, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Senders in flight during the throughput phase (spread over all vendors).
        #[arg(long, default_value_t = 24)]
        concurrency: usize,
    },
    /// Overload: the platform (its own process) offered far more than it can serve.
    Overload {
        /// Updates offered per second (open loop).
        #[arg(long, default_value_t = 10_000)]
        rate: u32,
        /// How long the load lasts, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Calls the generator keeps outstanding at most; an arrival beyond it is counted as
        /// not offered (the generator, not the platform, was the limit).
        #[arg(long, default_value_t = 4_000)]
        max_outstanding: usize,
    },
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Prints a latency histogram (recorded in microseconds) as milliseconds.
pub(super) fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "{name}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms",
        h.len(),
        ms(h, 0.5),
        ms(h, 0.9),
        ms(h, 0.99),
        h.max() as f64 / 1000.0
    );
}

/// One update and its receipt; returns the round trip in microseconds.
async fn round_trip(jc: &sim_jobcenter::Jobcenter, instance: &str) -> anyhow::Result<u64> {
    let t0 = Instant::now();
    let sent = jc
        .send_update(UpdateSpec {
            instance: Some(instance.to_string()),
            ..UpdateSpec::default()
        })
        .await?;
    anyhow::ensure!(
        sent.status == UpdateStatus::Accepted,
        "update not accepted: {:?} {:?}",
        sent.status,
        sent.fault
    );
    jc.wait_for_receipt(&sent.transaktion_id, Duration::from_secs(60))
        .await
        .with_context(|| format!("no receipt for {}", sent.transaktion_id))?;
    Ok(t0.elapsed().as_micros() as u64)
}

/// Runs `sim bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::init_tracing("error");
    let (samples, seconds, concurrency) = match args.what {
        What::Sf2095 {
            samples,
            seconds,
            concurrency,
        } => (samples, seconds, concurrency),
        What::Overload {
            rate,
            seconds,
            max_outstanding,
        } => return super::bench_overload::run(rate, seconds, max_outstanding),
    };
    let state = std::env::temp_dir().join(format!("sim-bench-{}", std::process::id()));
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        let refdata = RefData::embedded()?;
        let mut cfg = EcosystemConfig::new(&state, refdata.clone());
        cfg.ports = Ports::ephemeral();
        let eco = ecosystem::start(cfg).await?;
        let jc = eco.jobcenter();
        let vendors: Vec<String> = refdata.vendors.iter().map(|v| v.instance.clone()).collect();
        println!("sim bench sf2095: {} vendors, receipt delay 0, state {}", vendors.len(), state.display());

        for i in 0..20 {
            round_trip(&jc, &vendors[i % vendors.len()]).await?; // warm-up: connections, caches
        }
        let mut seq = Histogram::<u64>::new(3)?;
        for i in 0..samples as usize {
            seq.record(round_trip(&jc, &vendors[i % vendors.len()]).await?)?;
        }
        report("round trip, one at a time (update sent -> business receipt at the vendor)", &seq);

        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..concurrency {
            let (jc, vendor) = (jc.clone(), vendors[w % vendors.len()].clone());
            workers.spawn(async move {
                let mut h = Histogram::<u64>::new(3).expect("histogram");
                while Instant::now() < deadline {
                    h.record(round_trip(&jc, &vendor).await?).expect("in range");
                }
                Ok::<_, anyhow::Error>(h)
            });
        }
        let mut load = Histogram::<u64>::new(3)?;
        while let Some(h) = workers.join_next().await {
            load.add(h??)?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "throughput, {concurrency} senders over {} vendors for {elapsed:.1} s: {} round trips = {:.0} updates/s through the platform (each with its business receipt)",
            vendors.len(),
            load.len(),
            load.len() as f64 / elapsed
        );
        report("round trip under that load", &load);
        eco.stop().await?;
        Ok::<_, anyhow::Error>(())
    });
    let _ = std::fs::remove_dir_all(&state);
    result?;
    Ok(ExitCode::SUCCESS)
}
