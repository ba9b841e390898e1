//! `sim-ksd`: the simulated KSD as a program of its own, so it can run beside real
//! systems. Reads a YAML config (see `sim_ksd::Config`), binds the data and admin ports and runs
//! until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let mut config: sim_ksd::Config = serde_saphyr::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    if let Some(dir) = args.state_dir {
        config.state_dir = dir;
    }
    let listeners = sim_ksd::Listeners {
        data: tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?,
        admin: tokio::net::TcpListener::bind(args.admin)
            .await
            .with_context(|| format!("binding {}", args.admin))?,
    };
    let (data, admin) = listeners.addrs()?;
    tracing::info!(%data, %admin, "sim-ksd listening");
    sim_ksd::run(listeners, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
