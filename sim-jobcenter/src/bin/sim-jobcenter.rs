//! `sim-jobcenter`: the simulated jobcenter vendor solutions as a program of their own, so
//! they can run beside a real platform or KSD. Reads a YAML config (see
//! `sim_jobcenter::Config`, with each vendor's optional `policy:`,
//! `sim_jobcenter::VendorPolicy`), binds one mTLS listener per vendor instance and the admin
//! port, and runs until Ctrl-C.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use clap::Parser;

/// Where each standard instance listens unless `--listen` says otherwise.
const DEFAULT_LISTEN: [(&str, &str); 3] = [
    ("kmd-jc", "127.0.0.1:8445"),
    ("schultz-jc", "127.0.0.1:8446"),
    ("netcompany-jc", "127.0.0.1:8447"),
];

/// Simulated jobcenter vendor solutions (Sygefravaer v2).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// YAML configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// `instance=ADDR` for a vendor instance's mTLS listener; repeat per instance. Defaults:
    /// kmd-jc=127.0.0.1:8445, schultz-jc=127.0.0.1:8446, netcompany-jc=127.0.0.1:8447.
    #[arg(long, value_parser = parse_listen)]
    listen: Vec<(String, SocketAddr)>,
    /// Admin API address (plain HTTP, JSON).
    #[arg(long, default_value = "127.0.0.1:8082")]
    admin: SocketAddr,
    /// Overrides the config's state directory.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Bearer token the admin API requires (all but /health); required when --admin is not a
    /// loopback address. Overrides the config's `admin_token`.
    #[arg(long)]
    admin_token: Option<String>,
    /// `text` (for people) or `json` (one object per line, for log collectors).
    #[arg(long, value_enum, default_value_t)]
    log_format: sim_kit::program::LogFormat,
}

fn parse_listen(s: &str) -> Result<(String, SocketAddr), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected instance=ADDR"))?;
    let addr = addr
        .parse()
        .map_err(|e| format!("'{s}': bad address: {e}"))?;
    Ok((name.to_string(), addr))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sim_kit::program::init_logging("info", args.log_format);
    let config: sim_jobcenter::Config = sim_kit::program::configure(
        &args.config,
        sim_kit::program::Overrides {
            state_dir: args.state_dir.clone(),
            admin_token: args.admin_token.clone(),
        },
    )?;
    let mut addrs: BTreeMap<String, SocketAddr> = BTreeMap::new();
    for (name, addr) in args.listen {
        addrs.insert(name, addr);
    }
    let mut vendors = BTreeMap::new();
    for v in &config.vendors {
        let addr = match addrs.remove(&v.instance) {
            Some(a) => a,
            None => match DEFAULT_LISTEN.iter().find(|(n, _)| *n == v.instance) {
                Some((_, a)) => a.parse()?,
                None => bail!(
                    "no --listen {}=ADDR given and '{}' has no default address",
                    v.instance,
                    v.instance
                ),
            },
        };
        let listener = sim_kit::program::bind(addr, &v.instance).await?;
        vendors.insert(v.instance.clone(), listener);
    }
    if let Some(name) = addrs.keys().next() {
        bail!("--listen names '{name}', which is not a vendor instance in the config");
    }
    let listeners = sim_jobcenter::Listeners {
        vendors,
        admin: sim_kit::program::bind(args.admin, "admin API").await?,
    };
    let (vendor_addrs, admin) = listeners.addrs()?;
    for (name, addr) in &vendor_addrs {
        tracing::info!(instance = %name, %addr, "vendor instance listening");
    }
    tracing::info!(%admin, "sim-jobcenter admin API listening");
    sim_jobcenter::run(listeners, config, sim_kit::program::ctrl_c()).await?;
    Ok(())
}
