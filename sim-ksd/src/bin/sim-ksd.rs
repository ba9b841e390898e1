//! `sim-ksd`: the simulated KSD as a program of its own, so it can run beside real
//! systems. Reads a YAML config (see `sim_ksd::Config`), binds the data and admin ports and runs
//! until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// The simulated KSD (Kommunernes Sygedagpengesystem, SF2095).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// YAML configuration file.
    #[arg(long, short)]
    config: PathBuf,
    /// mTLS data-plane address (overrides nothing in the file: the file has no addresses).
    #[arg(long, default_value = "127.0.0.1:8444")]
    listen: SocketAddr,
    /// Admin API address (plain HTTP, JSON).
    #[arg(long, default_value = "127.0.0.1:8081")]
    admin: SocketAddr,
    /// Overrides the config's state directory.
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sim_kit::program::init_tracing("info");
    let args = Args::parse();
    let mut config: sim_ksd::Config = sim_kit::program::load_config(&args.config)?;
    if let Some(dir) = args.state_dir {
        config.state_dir = dir;
    }
    let listeners = sim_ksd::Listeners {
        data: sim_kit::program::bind(args.listen, "data plane").await?,
        admin: sim_kit::program::bind(args.admin, "admin API").await?,
    };
    let (data, admin) = listeners.addrs()?;
    tracing::info!(%data, %admin, "sim-ksd listening");
    sim_ksd::run(listeners, config, sim_kit::program::ctrl_c()).await?;
    Ok(())
}
